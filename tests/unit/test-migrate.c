/* SPDX-License-Identifier: MIT */
/*
 * test-migrate.c - etmem-migrate's core: validating decisions against a
 * process's mappings (mig_clip), the swapcache trigger and the counters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "err.h"
#include "../../etmem-migrate/migrate.h"

#define PG 4096u

static const struct mig_vma vmas[] = {
	{ 0x10000, 0x20000, MIG_VMA_OK },       /* 16 pages */
	{ 0x30000, 0x34000, MIG_VMA_OK },       /* gap 0x20000-0x30000 before it */
	{ 0x34000, 0x35000, MIG_VMA_SPECIAL },
	{ 0x35000, 0x36000, MIG_VMA_SHARED },
	{ 0x36000, 0x37000, MIG_VMA_LOCKED },
	{ 0x40000000, 0xc0400000, MIG_VMA_OK }, /* 2 GiB + 4 MiB */
};
#define NV (sizeof(vmas) / sizeof(vmas[0]))

static struct etmr_decision
dec(uint64_t start, uint64_t npages, uint8_t size)
{
	struct etmr_decision d = { .start = start, .npages = npages, .pid = 1,
	    .size = size, .action = ETMR_ACT_SWAP, .node = ETMR_NODE_NONE };

	return d;
}

static void
test_migrate__clip_inside_one_vma(void)
{
	struct mig_ranges r = { 0 };
	struct mig_stats st = { 0 };
	struct etmr_decision d = dec(0x12000, 4, ETMR_SIZE_4K);

	CHECK(mig_clip(&d, PG, PG, vmas, NV, &r, &st, NULL) == 0);
	CHECK_EQ_U(r.n, 1);
	CHECK_EQ_U(r.v[0].start, 0x12000);
	CHECK_EQ_U(r.v[0].npages, 4);
	CHECK_EQ_U(st.bytes_skipped, 0);
	mig_ranges_free(&r);
}

static void
test_migrate__clip_across_gap_and_specials(void)
{
	struct mig_ranges r = { 0 };
	struct mig_stats st = { 0 };
	/* 0x1c000 .. 0x38000: 4 pages of the first VMA, the 64 KiB gap, the
	 * 4 usable pages of the second, special, shared, locked, then 1 page
	 * of nothing. */
	struct etmr_decision d = dec(0x1c000, (0x38000 - 0x1c000) / PG, ETMR_SIZE_4K);

	CHECK(mig_clip(&d, PG, PG, vmas, NV, &r, &st, NULL) == 0);
	CHECK_EQ_U(r.n, 2);
	CHECK_EQ_U(r.v[0].start, 0x1c000);
	CHECK_EQ_U(r.v[0].npages, 4);
	CHECK_EQ_U(r.v[1].start, 0x30000);
	CHECK_EQ_U(r.v[1].npages, 4);
	CHECK_EQ_U(st.skipped_unmapped, 2);
	CHECK_EQ_U(st.skipped_special, 1);
	CHECK_EQ_U(st.skipped_shared, 1);
	CHECK_EQ_U(st.skipped_locked, 1);
	CHECK_EQ_U(st.bytes_skipped, 0x10000 + 3 * PG + PG);
	mig_ranges_free(&r);
}

static void
test_migrate__clip_nothing_mapped(void)
{
	struct mig_ranges r = { 0 };
	struct mig_stats st = { 0 };
	struct etmr_decision d = dec(0x7f0000000000, 8, ETMR_SIZE_4K);

	CHECK(mig_clip(&d, PG, PG, vmas, NV, &r, &st, NULL) == 0);
	CHECK_EQ_U(r.n, 0);
	CHECK_EQ_U(st.skipped_unmapped, 1);
	CHECK_EQ_U(st.bytes_skipped, 8 * PG);
	/* And with no VMAs at all (the process has none left). */
	memset(&st, 0, sizeof(st));
	CHECK(mig_clip(&d, PG, PG, vmas, 0, &r, &st, NULL) == 0);
	CHECK_EQ_U(r.n, 0);
	CHECK_EQ_U(st.skipped_unmapped, 1);
	mig_ranges_free(&r);
}

static void
test_migrate__clip_huge_size_class_and_unaligned(void)
{
	struct mig_ranges r = { 0 };
	struct mig_stats st = { 0 };
	/* One 2M page counts as 512 base pages. */
	struct etmr_decision d = dec(0x40200000, 1, ETMR_SIZE_2M);

	CHECK(mig_clip(&d, PG, PG, vmas, NV, &r, &st, NULL) == 0);
	CHECK_EQ_U(r.n, 1);
	CHECK_EQ_U(r.v[0].npages, 512);
	mig_ranges_free(&r);
	/* An unaligned start widens to whole pages. */
	d = dec(0x12345, 1, ETMR_SIZE_4K);
	CHECK(mig_clip(&d, PG, PG, vmas, NV, &r, &st, NULL) == 0);
	CHECK_EQ_U(r.n, 1);
	CHECK_EQ_U(r.v[0].start, 0x12000);
	CHECK_EQ_U(r.v[0].npages, 2);
	mig_ranges_free(&r);
}

static void
test_migrate__clip_splits_big_ranges(void)
{
	struct mig_ranges r = { 0 };
	struct mig_stats st = { 0 };
	uint64_t total = 0;
	struct etmr_decision d = dec(0x40000000, (0xc0400000 - 0x40000000) / PG, ETMR_SIZE_4K);

	CHECK(mig_clip(&d, PG, PG, vmas, NV, &r, &st, NULL) == 0);
	CHECK_EQ_U(r.n, 3);
	for (size_t i = 0; i < r.n; i++) {
		CHECK(r.v[i].npages * PG <= MIG_RANGE_BYTES_MAX);
		if (i > 0)
			CHECK_EQ_U(r.v[i].start, r.v[i - 1].start + r.v[i - 1].npages * PG);
		total += r.v[i].npages;
	}
	CHECK_EQ_U(total, d.npages);
	CHECK_EQ_U(st.bytes_skipped, 0);
	mig_ranges_free(&r);
}

static void
test_migrate__clip_overflowing_count(void)
{
	struct mig_ranges r = { 0 };
	struct mig_stats st = { 0 };
	/* A hostile page count must neither wrap nor allocate without bound. */
	struct etmr_decision d = dec(0x36000, UINT64_MAX / 2, ETMR_SIZE_1G);

	CHECK(mig_clip(&d, PG, PG, vmas, NV, &r, &st, NULL) == 0);
	CHECK_EQ_U(st.skipped_locked, 1);
	CHECK_EQ_U(r.n, 3);      /* the 2 GiB + 4 MiB VMA, split in 1 GiB pieces */
	CHECK_EQ_U(st.skipped_unmapped, 2);
	mig_ranges_free(&r);
}

static void
test_migrate__swapcache_trigger(void)
{
	/* The original's integer form (1000/300 = 3 < 100/30 = 3 is false)
	 * misses 30.1 %; ours fires above high % exactly. */
	CHECK(!mig_swapcache_due(1000, 300, 30));
	CHECK(mig_swapcache_due(1000, 301, 30));
	CHECK(!mig_swapcache_due(1000, 0, 30));
	CHECK(!mig_swapcache_due(1000, 500, 0));
	CHECK(mig_swapcache_due(1000, 1000, 100) == 0);
}

static void
test_migrate__stats_text(void)
{
	struct mig_stats st = { 0 };
	char buf[2048];

	st.bytes_requested = 4096;
	st.skipped_recycled = 2;
	mig_stats_text(&st, buf, sizeof(buf));
	CHECK(strstr(buf, "bytes_requested 4096\n") != NULL);
	CHECK(strstr(buf, "skipped_recycled 2\n") != NULL);
	CHECK(strstr(buf, "skipped_vanished 0\n") != NULL);
	/* Every key fits the stream's key limit. */
	for (size_t i = 0; i < mig_stat_nkeys; i++)
		CHECK(strlen(mig_stat_keys[i].key) < ETMR_STAT_KEY_MAX);
}

int
main(void)
{
	RUN(test_migrate__clip_inside_one_vma);
	RUN(test_migrate__clip_across_gap_and_specials);
	RUN(test_migrate__clip_nothing_mapped);
	RUN(test_migrate__clip_huge_size_class_and_unaligned);
	RUN(test_migrate__clip_splits_big_ranges);
	RUN(test_migrate__clip_overflowing_count);
	RUN(test_migrate__swapcache_trigger);
	RUN(test_migrate__stats_text);
	return unit_done();
}
