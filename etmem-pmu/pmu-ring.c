/* SPDX-License-Identifier: MIT */
/*
 * pmu-ring.c - the perf ring-buffer reader: bytes in, samples out.
 *
 * No syscalls here, so the unit tests can feed crafted buffers. The layout
 * is perf_event_open(2)'s: records {u32 type, u16 misc, u16 size} laid end
 * to end in a power-of-two data area addressed by free-running u64
 * positions. Unlike the original reader this one copies out records that
 * wrap past the end of the area, orders its loads after data_head (acquire)
 * and its tail store after its reads (release), counts LOST records and
 * parses every record of a drain, not one per call.
 */
#include "pmu.h"

#include <string.h>

#define REC_HDR_SIZE 8u

/* Copy len bytes at position pos of the ring (mod size), wrapping. */
static void
ring_copy(const uint8_t *data, uint64_t size, uint64_t pos, void *out,
    size_t len)
{
	uint64_t off = pos & (size - 1);
	size_t first = len;

	if (off + len > size)
		first = (size_t)(size - off);
	memcpy(out, data + off, first);
	memcpy((uint8_t *)out + first, data, len - first);
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Decode a sample body. The fields come in the order perf_event_open(2)
 * lists them; we read up to PERIOD and ignore whatever follows (weight,
 * data_src, phys_addr...), which needs no knowledge of those fields.
 * 0 ok, -1 if the body is too short for the fields sample_type selects.
 */
static int
sample_decode(const uint8_t *p, size_t len, uint64_t type,
    struct pmu_sample *s)
{
	static const struct { uint64_t bit; unsigned bytes; } order[] = {
		{ PERF_SAMPLE_IDENTIFIER, 8 }, { PERF_SAMPLE_IP, 8 },
		{ PERF_SAMPLE_TID, 8 }, { PERF_SAMPLE_TIME, 8 },
		{ PERF_SAMPLE_ADDR, 8 }, { PERF_SAMPLE_ID, 8 },
		{ PERF_SAMPLE_STREAM_ID, 8 }, { PERF_SAMPLE_CPU, 8 },
		{ PERF_SAMPLE_PERIOD, 8 },
	};
	size_t i, off = 0;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(type & order[i].bit))
			continue;
		if (len - off < order[i].bytes)
			return -1;
		if (order[i].bit == PERF_SAMPLE_TID) {
			s->pid = get_u32(p + off);
			s->tid = get_u32(p + off + 4);
		} else if (order[i].bit == PERF_SAMPLE_ADDR) {
			s->addr = get_u64(p + off);
		} else if (order[i].bit == PERF_SAMPLE_CPU) {
			s->cpu = get_u32(p + off);
		}
		off += order[i].bytes;
	}
	return 0;
}

/* One whole record (header included) at rec. */
static void
record(const uint8_t *rec, uint32_t type, size_t size, uint64_t sample_type,
    pmu_sample_fn fn, void *arg, struct pmu_ring_stats *st)
{
	const uint8_t *body = rec + REC_HDR_SIZE;
	size_t blen = size - REC_HDR_SIZE;
	struct pmu_sample s;

	st->records++;
	switch (type) {
	case PERF_RECORD_SAMPLE:
		if (sample_decode(body, blen, sample_type, &s) < 0) {
			st->truncated++;
			return;
		}
		if (s.addr == 0) {
			st->no_addr++;
			return;
		}
		st->samples++;
		fn(&s, arg);
		return;
	case PERF_RECORD_LOST:
		/* struct { u64 id; u64 lost; } (+ sample_id when sample_id_all) */
		st->lost_records++;
		if (blen < 16) {
			st->truncated++;
			return;
		}
		st->lost += get_u64(body + 8);
		return;
	case PERF_RECORD_LOST_SAMPLES:
		/* struct { u64 lost; }: samples the PMU driver dropped */
		st->lost_records++;
		if (blen < 8) {
			st->truncated++;
			return;
		}
		st->lost += get_u64(body);
		return;
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		st->throttle++;
		return;
	default:
		st->unknown++;
		return;
	}
}

uint64_t
pmu_ring_parse(const uint8_t *data, uint64_t size, uint64_t tail,
    uint64_t head, uint64_t sample_type, pmu_sample_fn fn, void *arg,
    struct pmu_ring_stats *st)
{
	/* Unsigned differences stay right when the positions wrap 2^64. */
	if (head - tail > size) {
		st->corrupt++;
		return head;
	}
	while (head - tail >= REC_HDR_SIZE) {
		struct perf_event_header h;
		uint8_t buf[UINT16_MAX + 1];
		uint64_t off = tail & (size - 1);
		const uint8_t *rec;

		ring_copy(data, size, tail, &h, sizeof(h));
		if (h.size < REC_HDR_SIZE || h.size > head - tail) {
			st->corrupt++;
			return head;
		}
		if (off + h.size <= size) {
			rec = data + off;
		} else {
			ring_copy(data, size, tail, buf, h.size);
			rec = buf;
		}
		record(rec, h.type, h.size, sample_type, fn, arg, st);
		tail += h.size;
	}
	if (head != tail)
		st->corrupt++;          /* a piece smaller than a header */
	return head;
}

void
pmu_ring_drain(struct perf_event_mmap_page *pg, const uint8_t *data,
    uint64_t sample_type, pmu_sample_fn fn, void *arg,
    struct pmu_ring_stats *st)
{
	uint64_t head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = pg->data_tail;  /* only we write it */

	if (head == tail)
		return;
	tail = pmu_ring_parse(data, pg->data_size, tail, head, sample_type,
	    fn, arg, st);
	__atomic_store_n(&pg->data_tail, tail, __ATOMIC_RELEASE);
}
