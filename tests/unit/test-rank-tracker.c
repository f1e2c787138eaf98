/* SPDX-License-Identifier: MIT */
/* test-rank-tracker.c - the compact tracker of etmem-rank: sums over rounds,
 * varying extents, size classes, saturation, memory per page, bad input. */
#include <stdlib.h>
#include <sysexits.h>

#include "err.h"
#include "unit.h"
#include "../../etmem-rank/rank-tracker.h"

#define K4 0
#define M2 1
#define PG 4096ull

/* Collect all runs (at most n). */
static size_t
runs(struct rank_tracker *t, struct rank_run *out, size_t n)
{
	struct rank_trk_iter it;
	struct rank_run r;
	size_t i = 0;

	if (rank_trk_sort(t, NULL) < 0)
		return 0;
	rank_trk_iter_init(&it);
	while (rank_trk_next(t, &it, &r)) {
		if (i < n)
			out[i] = r;
		i++;
	}
	return i;
}

/* The same extent every round: one uniform run, counts add up. */
static void
test_rank_tracker__same_extent(void)
{
	struct rank_tracker t;
	struct rank_run r[4];

	CHECK(rank_trk_init(&t, 4096, NULL) == 0);
	rank_trk_reset(&t, 9);
	CHECK(rank_trk_add(&t, 7, 0x100000, 2000, K4, 1, NULL) == 0);
	CHECK(rank_trk_add(&t, 7, 0x100000, 2000, K4, 0, NULL) == 0);
	CHECK(rank_trk_add(&t, 7, 0x100000, 2000, K4, 3, NULL) == 0);
	CHECK_EQ_U(rank_trk_get(&t, 7, 0x100000, K4), 4);
	CHECK_EQ_U(rank_trk_get(&t, 7, 0x100000 + 1999 * PG, K4), 4);
	CHECK(rank_trk_get(&t, 7, 0x100000 + 2000 * PG, K4) == -1);
	CHECK(rank_trk_get(&t, 8, 0x100000, K4) == -1);
	CHECK_EQ_U(t.pages[K4], 2000);
	CHECK_EQ_U(t.nblocks, 0);             /* stayed uniform: no counters */
	CHECK_EQ_U(runs(&t, r, 4), 1);        /* merged across 5 windows */
	CHECK_EQ_U(r[0].start, 0x100000);
	CHECK_EQ_U(r[0].npages, 2000);
	CHECK_EQ_U(r[0].count, 4);
	rank_trk_free(&t);
}

/* Extents that differ between rounds; pages missing from a round count 0. */
static void
test_rank_tracker__varying_extents(void)
{
	struct rank_tracker t;
	struct rank_run r[8];
	uint64_t b = 0x7f0000000000ull;

	CHECK(rank_trk_init(&t, 4096, NULL) == 0);
	rank_trk_reset(&t, 6);
	/* round 1: [0,600) idle, [600,700) accessed */
	CHECK(rank_trk_add(&t, 1, b, 600, K4, 0, NULL) == 0);
	CHECK(rank_trk_add(&t, 1, b + 600 * PG, 100, K4, 1, NULL) == 0);
	/* round 2: [300,650) accessed as one coalesced run; rest not reported */
	CHECK(rank_trk_add(&t, 1, b + 300 * PG, 350, K4, 1, NULL) == 0);
	/* round 3: page 10 alone, dirty */
	CHECK(rank_trk_add(&t, 1, b + 10 * PG, 1, K4, 3, NULL) == 0);
	CHECK_EQ_U(rank_trk_get(&t, 1, b, K4), 0);
	CHECK_EQ_U(rank_trk_get(&t, 1, b + 10 * PG, K4), 3);
	CHECK_EQ_U(rank_trk_get(&t, 1, b + 299 * PG, K4), 0);
	CHECK_EQ_U(rank_trk_get(&t, 1, b + 300 * PG, K4), 1);
	CHECK_EQ_U(rank_trk_get(&t, 1, b + 599 * PG, K4), 1);
	CHECK_EQ_U(rank_trk_get(&t, 1, b + 600 * PG, K4), 2);
	CHECK_EQ_U(rank_trk_get(&t, 1, b + 649 * PG, K4), 2);
	CHECK_EQ_U(rank_trk_get(&t, 1, b + 650 * PG, K4), 1);
	CHECK_EQ_U(t.pages[K4], 700);
	CHECK_EQ_U(runs(&t, r, 8), 6);
	CHECK_EQ_U(r[0].npages, 10);  CHECK_EQ_U(r[0].count, 0);
	CHECK_EQ_U(r[1].npages, 1);   CHECK_EQ_U(r[1].count, 3);
	CHECK_EQ_U(r[2].start, b + 11 * PG);
	CHECK_EQ_U(r[2].npages, 289); CHECK_EQ_U(r[2].count, 0);
	CHECK_EQ_U(r[3].npages, 300); CHECK_EQ_U(r[3].count, 1);   /* crosses window 512 */
	CHECK_EQ_U(r[4].npages, 50);  CHECK_EQ_U(r[4].count, 2);
	CHECK_EQ_U(r[5].npages, 50);  CHECK_EQ_U(r[5].count, 1);
	rank_trk_free(&t);
}

/* 4K and 2M pages: tracked per class; at one address the 2M page first;
 * pids in ascending order whatever the insertion order. */
static void
test_rank_tracker__huge_and_order(void)
{
	struct rank_tracker t;
	struct rank_run r[8];

	CHECK(rank_trk_init(&t, 4096, NULL) == 0);
	rank_trk_reset(&t, 3);
	CHECK(rank_trk_add(&t, 9, 0x400000, 4, K4, 1, NULL) == 0);
	CHECK(rank_trk_add(&t, 5, 0x200000, 3, M2, 0, NULL) == 0);
	CHECK(rank_trk_add(&t, 5, 0x200000, 2, K4, 1, NULL) == 0);  /* split THP */
	CHECK(rank_trk_add(&t, 5, 0x400000, 1, M2, 1, NULL) == 0);  /* 2nd round */
	CHECK(rank_trk_add(&t, 5, 0x201000, 1, M2, 0, NULL) < 0);   /* misaligned */
	CHECK_EQ_U(t.pages[M2], 3);
	CHECK_EQ_U(t.pages[K4], 6);
	CHECK_EQ_U(rank_trk_get(&t, 5, 0x400000, M2), 1);
	CHECK_EQ_U(runs(&t, r, 8), 5);
	CHECK(r[0].pid == 5 && r[0].size == M2 && r[0].start == 0x200000 && r[0].count == 0);
	CHECK_EQ_U(r[0].npages, 1);
	CHECK(r[1].pid == 5 && r[1].size == K4 && r[1].start == 0x200000 && r[1].npages == 2);
	CHECK(r[2].pid == 5 && r[2].size == M2 && r[2].start == 0x400000 && r[2].count == 1);
	CHECK(r[3].pid == 5 && r[3].size == M2 && r[3].start == 0x600000 && r[3].count == 0);
	CHECK(r[4].pid == 9 && r[4].npages == 4);
	rank_trk_free(&t);
}

/* Counters saturate at the width's cap, never wrap; width follows max_count. */
static void
test_rank_tracker__saturation(void)
{
	struct rank_tracker t;
	int i;

	CHECK(rank_trk_init(&t, 4096, NULL) == 0);
	rank_trk_reset(&t, 14);
	CHECK_EQ_U(t.bits, 4);
	/* dense chunk: alternate pages */
	for (i = 0; i < 10; i++) {
		CHECK(rank_trk_add(&t, 1, 0, 1, K4, 3, NULL) == 0);
		CHECK(rank_trk_add(&t, 1, PG, 1, K4, 0, NULL) == 0);
		CHECK(rank_trk_add(&t, 1, 2 * PG, 1, K4, 1, NULL) == 0);
	}
	CHECK_EQ_U(rank_trk_get(&t, 1, 0, K4), 14);
	CHECK_EQ_U(rank_trk_get(&t, 1, PG, K4), 0);
	CHECK_EQ_U(rank_trk_get(&t, 1, 2 * PG, K4), 10);
	CHECK(t.saturated > 0);
	/* uniform chunk saturates the same way */
	CHECK(rank_trk_add(&t, 1, 0x10000000, 512, K4, 100, NULL) == 0);
	CHECK_EQ_U(rank_trk_get(&t, 1, 0x10000000, K4), 14);

	rank_trk_reset(&t, 300);
	CHECK_EQ_U(t.bits, 16);
	CHECK_EQ_U(t.pages[K4], 0);
	CHECK(rank_trk_get(&t, 1, 0, K4) == -1);    /* reset forgot everything */
	for (i = 0; i < 120; i++) {
		CHECK(rank_trk_add(&t, 1, 0, 1, K4, 3, NULL) == 0);
		CHECK(rank_trk_add(&t, 1, PG, 1, K4, 0, NULL) == 0);
	}
	CHECK_EQ_U(rank_trk_get(&t, 1, 0, K4), 360);
	rank_trk_reset(&t, 200);
	CHECK_EQ_U(t.bits, 8);
	rank_trk_free(&t);
}

/* Memory: uniform extents cost almost nothing per page; a per-page pattern
 * costs about one byte per page (8-bit counters) or half (4-bit). */
static void
test_rank_tracker__memory_per_page(void)
{
	struct rank_tracker t;
	uint64_t p, npages = 1u << 20;
	double per;

	CHECK(rank_trk_init(&t, 4096, NULL) == 0);
	rank_trk_reset(&t, 6);
	CHECK(rank_trk_add(&t, 1, 0x10000000, npages, K4, 0, NULL) == 0);
	CHECK(rank_trk_add(&t, 1, 0x10000000, npages, K4, 1, NULL) == 0);
	per = (double)rank_trk_bytes(&t) / (double)npages;
	CHECK(per < 0.2);

	rank_trk_reset(&t, 100);  /* 8-bit */
	for (p = 0; p < npages; p += 2)
		CHECK(rank_trk_add(&t, 1, 0x10000000 + p * PG, 1, K4, 1, NULL) == 0);
	CHECK_EQ_U(t.pages[K4], npages / 2);
	CHECK_EQ_U(rank_trk_get(&t, 1, 0x10000000 + 2 * PG, K4), 1);
	CHECK(rank_trk_get(&t, 1, 0x10000000 + PG, K4) == -1);
	for (p = 1; p < npages; p += 2)
		CHECK(rank_trk_add(&t, 1, 0x10000000 + p * PG, 1, K4, 0, NULL) == 0);
	per = (double)rank_trk_bytes(&t) / (double)npages;
	CHECK(per <= 1.25);
	CHECK(per >= 1.0);
	rank_trk_free(&t);
}

/* Hostile extents are refused with EX_DATAERR, memory stays bounded. */
static void
test_rank_tracker__bad_input(void)
{
	struct rank_tracker t;
	struct err e;

	CHECK(rank_trk_init(&t, 4096, NULL) == 0);
	CHECK(rank_trk_init(&t, 3000, &e) < 0);
	CHECK(rank_trk_init(&t, 4096, NULL) == 0);
	rank_trk_reset(&t, 3);
	CHECK(rank_trk_add(&t, 1, 0x1001, 1, K4, 0, &e) < 0);
	CHECK_EQ_U(e.code, EX_DATAERR);
	CHECK(rank_trk_add(&t, 1, 0xfffffffffffff000ull, 2, K4, 0, &e) < 0);
	CHECK(strstr(e.msg, "wraps") != NULL);
	CHECK(rank_trk_add(&t, 1, 0, 1, 3, 0, &e) < 0);
	CHECK(rank_trk_add(&t, 1, 0xfffffffffffff000ull, 1, K4, 0, NULL) == 0);
	t.bytes_max = 1u << 20;   /* a 1 TiB extent of 2M pages would need more */
	CHECK(rank_trk_add(&t, 2, 0, 1u << 19, M2, 0, &e) < 0);
	CHECK_EQ_U(e.code, EX_DATAERR);
	CHECK(strstr(e.msg, "limit") != NULL);
	CHECK(rank_trk_bytes(&t) <= (1u << 20));
	rank_trk_free(&t);
}

int
main(void)
{
	RUN(test_rank_tracker__same_extent);
	RUN(test_rank_tracker__varying_extents);
	RUN(test_rank_tracker__huge_and_order);
	RUN(test_rank_tracker__saturation);
	RUN(test_rank_tracker__memory_per_page);
	RUN(test_rank_tracker__bad_input);
	return unit_done();
}
