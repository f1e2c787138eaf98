/* SPDX-License-Identifier: MIT */
/*
 * test-pmu-map.c - sampled addresses to page counts: counting per page,
 * cooling by halving, THP and hugetlb pages counted whole, addresses in no
 * VMA and pids that are no target ignored, counts surviving a VMA refresh.
 * (VMA selection from smaps lines is lib/source-target.c: test-source.c.)
 */
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../etmem-pmu/pmu.h"
#include "err.h"

#define MB (1ull << 20)

static struct etmr_vma
vma(uint64_t start, uint64_t end, uint32_t flags, uint8_t size)
{
	struct etmr_vma v;

	memset(&v, 0, sizeof(v));
	v.start = start;
	v.end = end;
	v.flags = flags;
	v.size = size;
	v.node = ETMR_NODE_NONE;
	return v;
}

/* The collected pages of m (freed by the caller). */
static struct etmr_access *
pages(struct pmu_map *m, size_t *n)
{
	struct etmr_access *a = NULL;
	struct err e;

	CHECK(pmu_map_collect(m, &a, n, &e) == 0);
	return a;
}

static void
test_pmu_map__count(void)
{
	struct etmr_vma v[2] = {
		vma(0x20000, 0x30000, ETMR_F_ANON, ETMR_SIZE_4K),
		vma(0x10000, 0x14000, ETMR_F_ANON, ETMR_SIZE_4K),   /* unsorted */
	};
	struct pmu_map m;
	struct etmr_access *a;
	struct err e;
	size_t n;

	pmu_map_init(&m, 4096, 0);
	CHECK(pmu_map_set_target(&m, 7, v, 2, &e) == 0);
	CHECK_EQ_U(pmu_map_add(&m, 7, 0x20010), 1);
	CHECK_EQ_U(pmu_map_add(&m, 7, 0x20ff8), 1);
	CHECK_EQ_U(pmu_map_add(&m, 7, 0x21000), 1);
	CHECK_EQ_U(pmu_map_add(&m, 7, 0x13fff), 1);
	CHECK_EQ_U(pmu_map_add(&m, 7, 0x14000), 0);     /* end is exclusive */
	CHECK_EQ_U(pmu_map_add(&m, 7, 0x0fff0), 0);     /* below every VMA */
	CHECK_EQ_U(pmu_map_add(&m, 7, 0x30000), 0);
	CHECK_EQ_U(pmu_map_add(&m, 8, 0x20010), 0);     /* not a target */
	CHECK_EQ_U(m.st.unmapped, 3);
	CHECK_EQ_U(m.st.foreign, 1);
	CHECK_EQ_U(m.st.counted, 4);
	a = pages(&m, &n);
	CHECK_EQ_U(n, 3);
	if (n == 3) {
		/* ordered by address, one base page each, flag p */
		CHECK_EQ_U(a[0].start, 0x13000);
		CHECK_EQ_U(a[0].count, 1);
		CHECK_EQ_U(a[1].start, 0x20000);
		CHECK_EQ_U(a[1].count, 2);
		CHECK_EQ_U(a[2].start, 0x21000);
		CHECK_EQ_U(a[1].npages, 1);
		CHECK_EQ_U(a[1].size, ETMR_SIZE_4K);
		CHECK_EQ_U(a[1].flags, ETMR_F_ANON | ETMR_F_SAMPLED);
		CHECK_EQ_U(a[1].pid, 7);
	}
	free(a);
	pmu_map_reset(&m);
	a = pages(&m, &n);
	CHECK_EQ_U(n, 0);
	free(a);
	pmu_map_free(&m);
}

/* Every cooling_interval counted samples, all counts halve; pages that
 * reach 0 disappear. */
static void
test_pmu_map__cooling(void)
{
	struct etmr_vma v = vma(0x100000, 0x200000, ETMR_F_ANON, ETMR_SIZE_4K);
	struct pmu_map m;
	struct etmr_access *a;
	struct err e;
	size_t n, i;

	pmu_map_init(&m, 4096, 10);
	CHECK(pmu_map_set_target(&m, 1, &v, 1, &e) == 0);
	for (i = 0; i < 9; i++)
		pmu_map_add(&m, 1, 0x100000);           /* hot page: 9 */
	CHECK_EQ_U(m.st.coolings, 0);
	pmu_map_add(&m, 1, 0x101000);                   /* 10th: cool */
	CHECK_EQ_U(m.st.coolings, 1);
	a = pages(&m, &n);
	CHECK_EQ_U(n, 1);                               /* 1/2 = 0 dropped */
	if (n == 1) {
		CHECK_EQ_U(a[0].start, 0x100000);
		CHECK_EQ_U(a[0].count, 4);              /* 9/2 */
	}
	free(a);
	for (i = 0; i < 10; i++)
		pmu_map_add(&m, 1, 0x102000 + i * 4096);
	CHECK_EQ_U(m.st.coolings, 2);
	a = pages(&m, &n);
	CHECK_EQ_U(n, 1);
	if (n == 1)
		CHECK_EQ_U(a[0].count, 2);
	free(a);
	pmu_map_free(&m);
}

/* THP: 2 MiB blocks inside the VMA count as one 2M page (flag T); the
 * unaligned edges stay base pages. hugetlb: the VMA's page size. */
static void
test_pmu_map__thp(void)
{
	struct etmr_vma v[2] = {
		/* 0x1ff000 .. 0x600000: head page, blocks 2M and 4M */
		vma(0x1ff000, 0x600000, ETMR_F_ANON | ETMR_F_THP, ETMR_SIZE_4K),
		vma(0x40000000, 0x40000000 + 4 * MB, ETMR_F_ANON | ETMR_F_HUGETLB,
		    ETMR_SIZE_2M),
	};
	struct pmu_map m;
	struct etmr_access *a;
	struct err e;
	size_t n;

	pmu_map_init(&m, 4096, 0);
	CHECK(pmu_map_set_target(&m, 3, v, 2, &e) == 0);
	pmu_map_add(&m, 3, 0x1ff800);                   /* head: 4K */
	pmu_map_add(&m, 3, 0x200000);                   /* block 2M */
	pmu_map_add(&m, 3, 0x3fffff);                   /* same block */
	pmu_map_add(&m, 3, 0x400000 + 12345);           /* block 4M */
	pmu_map_add(&m, 3, 0x40000000 + 2 * MB + 1);    /* second huge page */
	pmu_map_add(&m, 3, 0x40000000 + 4 * MB - 1);
	a = pages(&m, &n);
	CHECK_EQ_U(n, 4);
	if (n == 4) {
		CHECK_EQ_U(a[0].start, 0x1ff000);
		CHECK_EQ_U(a[0].size, ETMR_SIZE_4K);
		CHECK(!(a[0].flags & ETMR_F_THP));
		CHECK_EQ_U(a[1].start, 0x200000);
		CHECK_EQ_U(a[1].size, ETMR_SIZE_2M);
		CHECK_EQ_U(a[1].count, 2);
		CHECK(a[1].flags & ETMR_F_THP);
		CHECK_EQ_U(a[2].start, 0x400000);
		CHECK_EQ_U(a[3].start, 0x40000000 + 2 * MB);
		CHECK_EQ_U(a[3].size, ETMR_SIZE_2M);
		CHECK_EQ_U(a[3].count, 2);
		CHECK(a[3].flags & ETMR_F_HUGETLB);
		CHECK(a[3].flags & ETMR_F_SAMPLED);
	}
	free(a);
	pmu_map_free(&m);
}

/* Counts are keyed by address: a VMA refresh keeps them, and a sample in
 * a VMA that went away is ignored from then on. */
static void
test_pmu_map__refresh(void)
{
	struct etmr_vma v1 = vma(0x10000, 0x20000, ETMR_F_ANON, ETMR_SIZE_4K);
	struct etmr_vma v2 = vma(0x10000, 0x18000, ETMR_F_ANON, ETMR_SIZE_4K);
	struct pmu_map m;
	struct etmr_access *a;
	struct err e;
	size_t n;

	pmu_map_init(&m, 4096, 0);
	CHECK(pmu_map_set_target(&m, 5, &v1, 1, &e) == 0);
	pmu_map_add(&m, 5, 0x11000);
	CHECK(pmu_map_set_target(&m, 5, &v2, 1, &e) == 0);
	CHECK_EQ_U(m.ntargets, 1);
	pmu_map_add(&m, 5, 0x11000);
	CHECK_EQ_U(pmu_map_add(&m, 5, 0x19000), 0);
	a = pages(&m, &n);
	CHECK_EQ_U(n, 1);
	if (n == 1)
		CHECK_EQ_U(a[0].count, 2);
	free(a);
	pmu_map_clear_targets(&m);
	CHECK_EQ_U(pmu_map_add(&m, 5, 0x11000), 0);
	pmu_map_free(&m);
}

/* Many distinct pages: the table grows and keeps every count. */
static void
test_pmu_map__many(void)
{
	struct etmr_vma v = vma(0x100000000ull, 0x100000000ull + 64 * MB,
	    ETMR_F_ANON, ETMR_SIZE_4K);
	struct pmu_map m;
	struct etmr_access *a;
	struct err e;
	size_t n, i, bad = 0;

	pmu_map_init(&m, 4096, 0);
	CHECK(pmu_map_set_target(&m, 9, &v, 1, &e) == 0);
	for (i = 0; i < 5000; i++) {
		pmu_map_add(&m, 9, v.start + i * 4096 * 3);
		pmu_map_add(&m, 9, v.start + i * 4096 * 3 + 8);
	}
	a = pages(&m, &n);
	CHECK_EQ_U(n, 5000);
	for (i = 0; i < n; i++)
		if (a[i].count != 2 || a[i].start != v.start + i * 4096 * 3)
			bad++;
	CHECK_EQ_U(bad, 0);
	free(a);
	pmu_map_free(&m);
}

int
main(void)
{
	RUN(test_pmu_map__count);
	RUN(test_pmu_map__cooling);
	RUN(test_pmu_map__thp);
	RUN(test_pmu_map__refresh);
	RUN(test_pmu_map__many);
	return unit_done();
}
