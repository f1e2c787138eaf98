/* SPDX-License-Identifier: MIT */
/*
 * test-pmu-ring.c - the perf ring-buffer parser against crafted buffers:
 * records split across the end of the area, LOST records, truncated and
 * corrupt sizes, unknown types, free-running positions that wrap 2^64, and
 * the drain through a fake control page.
 */
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../etmem-pmu/pmu.h"

#define RING 256u       /* a small power-of-two data area */
#define TYPE (PERF_SAMPLE_TID | PERF_SAMPLE_ADDR)

struct seen {
	size_t n;
	struct pmu_sample s[32];
};

static void
collect(const struct pmu_sample *s, void *arg)
{
	struct seen *v = arg;

	if (v->n < 32)
		v->s[v->n++] = *s;
}

/* Write len bytes at free-running position pos of the ring, wrapping. */
static void
put(uint8_t *ring, uint64_t pos, const void *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		ring[(pos + i) & (RING - 1)] = ((const uint8_t *)src)[i];
}

/* A TID|ADDR sample record at pos; returns its size (24). */
static uint64_t
put_sample(uint8_t *ring, uint64_t pos, uint32_t pid, uint64_t addr)
{
	struct perf_event_header h = { PERF_RECORD_SAMPLE, 0, 24 };
	uint32_t tid[2] = { pid, pid + 1 };

	put(ring, pos, &h, sizeof(h));
	put(ring, pos + 8, tid, sizeof(tid));
	put(ring, pos + 16, &addr, sizeof(addr));
	return 24;
}

static uint64_t
put_lost(uint8_t *ring, uint64_t pos, uint64_t lost)
{
	struct perf_event_header h = { PERF_RECORD_LOST, 0, 24 };
	uint64_t id = 7;

	put(ring, pos, &h, sizeof(h));
	put(ring, pos + 8, &id, sizeof(id));
	put(ring, pos + 16, &lost, sizeof(lost));
	return 24;
}

static void
test_pmu_ring__plain(void)
{
	uint8_t ring[RING] = { 0 };
	struct pmu_ring_stats st = { 0 };
	struct seen v = { 0 };
	uint64_t pos = 0, tail;

	pos += put_sample(ring, pos, 42, 0x7f0000001234ull);
	pos += put_sample(ring, pos, 43, 0x7f0000005000ull);
	tail = pmu_ring_parse(ring, RING, 0, pos, TYPE, collect, &v, &st);
	CHECK_EQ_U(tail, pos);
	CHECK_EQ_U(v.n, 2);
	CHECK_EQ_U(v.s[0].pid, 42);
	CHECK_EQ_U(v.s[0].tid, 43);
	CHECK_EQ_U(v.s[0].addr, 0x7f0000001234ull);
	CHECK_EQ_U(v.s[1].addr, 0x7f0000005000ull);
	CHECK_EQ_U(st.samples, 2);
	CHECK_EQ_U(st.corrupt + st.truncated + st.unknown, 0);
}

/* A record split across the end of the area is reassembled, including a
 * split inside the header itself. */
static void
test_pmu_ring__wrap(void)
{
	uint64_t starts[] = { RING - 12, RING - 4, RING - 20 };
	size_t i;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint8_t ring[RING];
		struct pmu_ring_stats st = { 0 };
		struct seen v = { 0 };
		uint64_t pos = starts[i], head;

		memset(ring, 0xee, sizeof(ring));
		head = pos + put_sample(ring, pos, 9, 0xdeadbeef000ull);
		head += put_sample(ring, head, 10, 0xcafe000ull);
		CHECK_EQ_U(pmu_ring_parse(ring, RING, pos, head, TYPE, collect,
		    &v, &st), head);
		CHECK_EQ_U(v.n, 2);
		CHECK_EQ_U(v.s[0].pid, 9);
		CHECK_EQ_U(v.s[0].addr, 0xdeadbeef000ull);
		CHECK_EQ_U(v.s[1].addr, 0xcafe000ull);
		CHECK_EQ_U(st.corrupt + st.truncated, 0);
	}
}

/* Positions are free-running u64: head may have wrapped past 2^64 while
 * tail has not; head - tail is still the byte count. */
static void
test_pmu_ring__u64_wrap(void)
{
	uint8_t ring[RING] = { 0 };
	struct pmu_ring_stats st = { 0 };
	struct seen v = { 0 };
	uint64_t tail = UINT64_MAX - 15, head;  /* 16 bytes before the wrap */

	head = tail + put_sample(ring, tail, 1, 0x1000);
	head += put_sample(ring, head, 2, 0x2000);
	CHECK(head < tail);
	CHECK_EQ_U(pmu_ring_parse(ring, RING, tail, head, TYPE, collect, &v,
	    &st), head);
	CHECK_EQ_U(v.n, 2);
	CHECK_EQ_U(v.s[1].addr, 0x2000);
}

static void
test_pmu_ring__lost(void)
{
	struct perf_event_header ls = { PERF_RECORD_LOST_SAMPLES, 0, 16 };
	uint64_t five = 5;
	uint8_t ring[RING] = { 0 };
	struct pmu_ring_stats st = { 0 };
	struct seen v = { 0 };
	uint64_t pos = 0;

	pos += put_sample(ring, pos, 1, 0x1000);
	pos += put_lost(ring, pos, 17);
	pos += put_lost(ring, pos, 3);
	put(ring, pos, &ls, sizeof(ls));
	put(ring, pos + 8, &five, sizeof(five));
	pos += 16;
	pos += put_sample(ring, pos, 1, 0x2000);
	pmu_ring_parse(ring, RING, 0, pos, TYPE, collect, &v, &st);
	CHECK_EQ_U(st.lost, 25);
	CHECK_EQ_U(st.lost_records, 3);
	CHECK_EQ_U(v.n, 2);
}

/* Unknown types (MMAP, COMM, a future one) and throttling are skipped by
 * their size; a sample without an address is counted, not passed on. */
static void
test_pmu_ring__skip(void)
{
	uint8_t ring[RING] = { 0 };
	struct pmu_ring_stats st = { 0 };
	struct seen v = { 0 };
	struct perf_event_header h = { 999, 0, 40 };
	struct perf_event_header th = { PERF_RECORD_THROTTLE, 0, 32 };
	uint64_t pos = 0;

	put(ring, pos, &h, sizeof(h));
	pos += 40;
	put(ring, pos, &th, sizeof(th));
	pos += 32;
	pos += put_sample(ring, pos, 5, 0);
	pos += put_sample(ring, pos, 5, 0x5000);
	CHECK_EQ_U(pmu_ring_parse(ring, RING, 0, pos, TYPE, collect, &v, &st), pos);
	CHECK_EQ_U(st.unknown, 1);
	CHECK_EQ_U(st.throttle, 1);
	CHECK_EQ_U(st.no_addr, 1);
	CHECK_EQ_U(v.n, 1);
	CHECK_EQ_U(v.s[0].addr, 0x5000);
	CHECK_EQ_U(st.records, 4);
}

/* A size past data_head, a size below the header, a sample too short for
 * its fields, a tail piece smaller than a header, and head - tail beyond
 * the area: each counted, never read out of bounds, tail ends at head. */
static void
test_pmu_ring__truncated(void)
{
	uint8_t ring[RING] = { 0 };
	struct pmu_ring_stats st = { 0 };
	struct seen v = { 0 };
	struct perf_event_header big = { PERF_RECORD_SAMPLE, 0, 200 };
	struct perf_event_header tiny = { PERF_RECORD_SAMPLE, 0, 4 };
	struct perf_event_header shortrec = { PERF_RECORD_SAMPLE, 0, 16 };
	uint64_t pos;

	pos = put_sample(ring, 0, 1, 0x1000);
	put(ring, pos, &big, sizeof(big));
	CHECK_EQ_U(pmu_ring_parse(ring, RING, 0, pos + 24, TYPE, collect, &v,
	    &st), pos + 24);
	CHECK_EQ_U(v.n, 1);             /* the good one before it counts */
	CHECK_EQ_U(st.corrupt, 1);

	memset(&st, 0, sizeof(st));
	put(ring, 0, &tiny, sizeof(tiny));
	CHECK_EQ_U(pmu_ring_parse(ring, RING, 0, 48, TYPE, collect, &v, &st), 48);
	CHECK_EQ_U(st.corrupt, 1);

	memset(&st, 0, sizeof(st));
	put(ring, 0, &shortrec, sizeof(shortrec));      /* TID but no ADDR */
	pos = 16 + put_sample(ring, 16, 2, 0x2000);
	v.n = 0;
	CHECK_EQ_U(pmu_ring_parse(ring, RING, 0, pos, TYPE, collect, &v, &st), pos);
	CHECK_EQ_U(st.truncated, 1);
	CHECK_EQ_U(v.n, 1);
	CHECK_EQ_U(v.s[0].addr, 0x2000);

	memset(&st, 0, sizeof(st));
	pos = put_sample(ring, 0, 3, 0x3000);
	v.n = 0;
	CHECK_EQ_U(pmu_ring_parse(ring, RING, 0, pos + 5, TYPE, collect, &v,
	    &st), pos + 5);
	CHECK_EQ_U(v.n, 1);
	CHECK_EQ_U(st.corrupt, 1);

	memset(&st, 0, sizeof(st));
	v.n = 0;
	CHECK_EQ_U(pmu_ring_parse(ring, RING, 0, RING + 8, TYPE, collect, &v,
	    &st), RING + 8);
	CHECK_EQ_U(v.n, 0);
	CHECK_EQ_U(st.corrupt, 1);
}

/* Fields before and after ADDR are stepped over in perf's order. */
static void
test_pmu_ring__fields(void)
{
	uint8_t ring[RING] = { 0 };
	struct pmu_ring_stats st = { 0 };
	struct seen v = { 0 };
	uint64_t type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
	    PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR | PERF_SAMPLE_CPU |
	    PERF_SAMPLE_WEIGHT;
	struct perf_event_header h = { PERF_RECORD_SAMPLE, 0, 8 + 7 * 8 };
	uint64_t body[7] = { 11, 0x400000, 0, 99, 0xabc000, 0, 250 };

	body[2] = 77 | (78ull << 32);
	body[5] = 1;                    /* cpu 1, res 0 */
	put(ring, 0, &h, sizeof(h));
	put(ring, 8, body, sizeof(body));
	pmu_ring_parse(ring, RING, 0, h.size, type, collect, &v, &st);
	CHECK_EQ_U(v.n, 1);
	CHECK_EQ_U(v.s[0].pid, 77);
	CHECK_EQ_U(v.s[0].tid, 78);
	CHECK_EQ_U(v.s[0].addr, 0xabc000);
	CHECK_EQ_U(v.s[0].cpu, 1);
}

/* The drain reads data_head and advances data_tail in the control page. */
static void
test_pmu_ring__drain(void)
{
	struct perf_event_mmap_page *pg = calloc(1, sizeof(*pg));
	uint8_t ring[RING] = { 0 };
	struct pmu_ring_stats st = { 0 };
	struct seen v = { 0 };
	uint64_t pos;

	CHECK(pg != NULL);
	if (pg == NULL)
		return;
	pg->data_size = RING;
	pg->data_tail = 1000;
	pos = 1000 + put_sample(ring, 1000, 4, 0x4000);
	pg->data_head = pos;
	pmu_ring_drain(pg, ring, TYPE, collect, &v, &st);
	CHECK_EQ_U(pg->data_tail, pos);
	CHECK_EQ_U(v.n, 1);
	pmu_ring_drain(pg, ring, TYPE, collect, &v, &st);   /* nothing new */
	CHECK_EQ_U(v.n, 1);
	free(pg);
}

int
main(void)
{
	RUN(test_pmu_ring__plain);
	RUN(test_pmu_ring__wrap);
	RUN(test_pmu_ring__u64_wrap);
	RUN(test_pmu_ring__lost);
	RUN(test_pmu_ring__skip);
	RUN(test_pmu_ring__truncated);
	RUN(test_pmu_ring__fields);
	RUN(test_pmu_ring__drain);
	return unit_done();
}
