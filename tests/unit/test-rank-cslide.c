/* SPDX-License-Identifier: MIT */
/*
 * test-rank-cslide.c - cslide's planning arithmetic on synthetic periods:
 * the three phases and their order, quota exhaustion (one budget per pair
 * shared by both directions), the reserve, ties between pids, pairs with
 * unequal loads, one and two pairs, and the --node-pair parser.
 */
#include "../../etmem-rank/rank-cslide-plan.c"

#include "unit.h"

#define MB (1ull << 20)
#define HP CSLIDE_HUGE_BYTES

static struct cslide_page pg[4096];
static size_t npg;

/* n pages of pid at node with count, at consecutive addresses. */
static void
add(uint32_t pid, uint16_t node, uint32_t count, size_t n)
{
	static uint64_t next = 0x40000000;

	for (size_t i = 0; i < n; i++, next += HP)
		pg[npg++] = (struct cslide_page){ .addr = next, .pid = pid,
		    .count = count, .node = node };
}

static size_t
marked(uint8_t act, uint32_t pid, uint16_t node)
{
	size_t k = 0;

	for (size_t i = 0; i < npg; i++)
		if (pg[i].act == act && (pid == 0 || pg[i].pid == pid) &&
		    (node == CSLIDE_NODE_NONE || pg[i].node == node))
			k++;
	return k;
}

static struct cslide_pairs
pairs1(int hot, int cold)
{
	struct cslide_pairs p = { .n = 1 };

	p.v[0] = (struct cslide_pair){ hot, cold };
	return p;
}

static void
reset(void)
{
	npg = 0;
}

static void
test_rank_cslide__parse_pairs(void)
{
	struct cslide_pairs p;
	struct err e;

	CHECK(cslide_parse_pairs("2,0;3,1", &p, &e) == 0);
	CHECK_EQ_U(p.n, 2);
	CHECK_EQ_U(p.v[0].hot, 2);   /* first of a pair: DRAM */
	CHECK_EQ_U(p.v[0].cold, 0);
	CHECK_EQ_U(p.v[1].hot, 3);
	CHECK_EQ_U(p.v[1].cold, 1);
	CHECK(cslide_parse_pairs("0 1 2 3", &p, &e) == 0);  /* spaces as the original */
	CHECK_EQ_U(p.n, 2);
	CHECK_EQ_U(p.v[1].cold, 3);
	CHECK(cslide_parse_pairs("0,1;", &p, &e) == 0);
	CHECK_EQ_U(p.n, 1);
	CHECK(cslide_parse_pairs("0,1;1,2", &p, &e) == -1);
	CHECK_EQ_U(e.code, EX_USAGE);
	CHECK(strstr(e.msg, "node 1 appears twice") != NULL);
	CHECK(cslide_parse_pairs("0,0", &p, &e) == -1);
	CHECK(cslide_parse_pairs("0", &p, &e) == -1);
	CHECK(strstr(e.msg, "'DRAM,AEP'") != NULL);
	CHECK(cslide_parse_pairs("0,x", &p, &e) == -1);
	CHECK(cslide_parse_pairs("", &p, &e) == -1);
	CHECK(cslide_parse_pairs("0,99", &p, &e) == -1);
	CHECK(cslide_parse_pairs("0,1,2", &p, &e) == -1);
}

/* The spec's worked example: free 0, quota 1024 MiB, plenty of AEP space
 * and cold DRAM pages: 512 MiB promoted and 512 MiB demoted. */
static void
test_rank_cslide__quota_shared_by_both_directions(void)
{
	struct cslide_params p = { .hot_threshold = 2, .max_count = 3,
	    .quota = 1024 * MB, .reserve = 0 };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 2048 * MB, 0, 1 }, { 4096 * MB, 4096 * MB, 1 } };
	struct cslide_pair_result r;

	reset();
	add(10, 1, 3, 600);   /* hot on AEP */
	add(10, 0, 0, 600);   /* cold on DRAM */
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.promoted, 512 * MB);
	CHECK_EQ_U(r.demoted, 512 * MB);
	CHECK_EQ_U(r.prefetched, 0);
	CHECK_EQ_U(marked(CSLIDE_PROMOTE, 10, 1), 256);
	CHECK_EQ_U(marked(CSLIDE_DEMOTE, 10, 0), 256);
	CHECK_EQ_U(r.quota_left, 0);
}

/* Enough free DRAM: promotions are limited by the quota alone, nothing is
 * demoted (reserve 0), and the hottest go first. */
static void
test_rank_cslide__promote_hottest_first(void)
{
	struct cslide_params p = { .hot_threshold = 1, .max_count = 3,
	    .quota = 10 * HP, .reserve = 0 };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 1024 * MB, 1024 * MB, 1 }, { 1024 * MB, 0, 1 } };
	struct cslide_pair_result r;

	reset();
	add(1, 1, 1, 8);      /* warm-hot, listed first */
	add(1, 1, 3, 8);      /* hottest */
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.promoted, 10 * HP);
	for (size_t i = 8; i < 16; i++)
		CHECK(pg[i].act == CSLIDE_PROMOTE);
	CHECK_EQ_U(marked(CSLIDE_PROMOTE, 1, 1), 10);
	/* Within a count, address order: the first two of the count-1 run. */
	CHECK(pg[0].act == CSLIDE_PROMOTE && pg[1].act == CSLIDE_PROMOTE);
	CHECK(pg[2].act == CSLIDE_KEEP);
	CHECK_EQ_U(r.demoted, 0);
}

/* Phase B fills free DRAM down to the reserve with the warmest cold-class
 * pages; phase C demotes the coldest DRAM pages to restore the reserve. */
static void
test_rank_cslide__prefetch_and_reserve(void)
{
	struct cslide_params p = { .hot_threshold = 3, .max_count = 3,
	    .quota = 1024 * MB, .reserve = 10 * HP };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 1024 * MB, 14 * HP, 1 }, { 1024 * MB, 512 * MB, 1 } };
	struct cslide_pair_result r;

	reset();
	add(1, 1, 0, 5);      /* coldest on AEP */
	add(1, 1, 2, 3);      /* warmest cold-class on AEP */
	add(1, 1, 1, 3);
	add(1, 0, 0, 6);      /* cold on DRAM */
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.promoted, 0);
	/* free 14 > reserve 10: 4 pages prefetched, warmest first. */
	CHECK_EQ_U(r.prefetched, 4 * HP);
	for (size_t i = 5; i < 8; i++)
		CHECK(pg[i].act == CSLIDE_PREFETCH);
	CHECK(pg[8].act == CSLIDE_PREFETCH && pg[9].act == CSLIDE_KEEP);
	CHECK_EQ_U(marked(CSLIDE_PREFETCH, 1, 1), 4);
	/* Now free == reserve: nothing to demote. */
	CHECK_EQ_U(r.demoted, 0);

	/* Below the reserve: demote up to it, coldest first. */
	mem[0].free = 6 * HP;
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.prefetched, 0);
	CHECK_EQ_U(r.demoted, 4 * HP);
	CHECK_EQ_U(marked(CSLIDE_DEMOTE, 1, 0), 4);
}

/* Phase A uses the reserve: hot pages come in even when DRAM is at or
 * below it, and the overflow is demoted. */
static void
test_rank_cslide__hot_may_consume_reserve(void)
{
	struct cslide_params p = { .hot_threshold = 2, .max_count = 3,
	    .quota = 8 * HP, .reserve = 100 * HP };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 1024 * MB, 2 * HP, 1 }, { 1024 * MB, 100 * HP, 1 } };
	struct cslide_pair_result r;

	reset();
	add(1, 1, 3, 20);
	add(1, 0, 0, 20);
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	/* cap = free + (quota - free)/2 = 2 + 3 = 5 pages. */
	CHECK_EQ_U(r.promoted, 5 * HP);
	/* quota left = 8 - (2 + 2*3) = 0: only the 3 displaced are demoted. */
	CHECK_EQ_U(r.demoted, 3 * HP);
	CHECK_EQ_U(r.quota_left, 0);
}

/* Promotion is capped by what DRAM can make room for: free + cold. */
static void
test_rank_cslide__promotion_capped_by_cold_on_dram(void)
{
	struct cslide_params p = { .hot_threshold = 2, .max_count = 3,
	    .quota = 100 * HP, .reserve = 0 };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 1024 * MB, 1 * HP, 1 }, { 1024 * MB, 100 * HP, 1 } };
	struct cslide_pair_result r;

	reset();
	add(1, 1, 3, 50);
	add(1, 0, 0, 2);      /* only 2 cold pages on DRAM */
	add(1, 0, 3, 10);     /* hot on DRAM: never displaced */
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.promoted, 3 * HP);
	CHECK_EQ_U(r.demoted, 2 * HP);
	CHECK_EQ_U(marked(CSLIDE_DEMOTE, 1, 0), 2);
	for (size_t i = 52; i < 62; i++)
		CHECK(pg[i].act == CSLIDE_KEEP);
}

/* Ties: at one count level, pids in ascending order, addresses in order. */
static void
test_rank_cslide__ties_ascending_pid(void)
{
	struct cslide_params p = { .hot_threshold = 1, .max_count = 3,
	    .quota = 3 * HP, .reserve = 0 };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 1024 * MB, 1024 * MB, 1 }, { 1024 * MB, 0, 1 } };

	reset();
	add(5, 1, 2, 2);
	add(7, 1, 2, 2);
	cslide_plan(&p, &pr, mem, pg, npg, NULL);
	CHECK_EQ_U(marked(CSLIDE_PROMOTE, 5, 1), 2);
	CHECK_EQ_U(marked(CSLIDE_PROMOTE, 7, 1), 1);
	CHECK(pg[2].act == CSLIDE_PROMOTE && pg[3].act == CSLIDE_KEEP);
	/* Same input, same plan. */
	cslide_plan(&p, &pr, mem, pg, npg, NULL);
	CHECK(pg[2].act == CSLIDE_PROMOTE && pg[3].act == CSLIDE_KEEP);
}

/* Two pairs, unbalanced: each has its own quota and numbers; the pair
 * order of the original ("2,0;3,1": DRAM 2 and 3, AEP 0 and 1). Pages on a
 * node of no pair or of unknown node are left alone. */
static void
test_rank_cslide__two_unbalanced_pairs(void)
{
	struct cslide_params p = { .hot_threshold = 2, .max_count = 6,
	    .quota = 4 * HP, .reserve = 2 * HP };
	struct cslide_pairs pr;
	struct cslide_node_mem mem[5] = {
		{ 1024 * MB, 500 * HP, 1 },     /* 0: AEP of 2 */
		{ 1024 * MB, 0, 1 },            /* 1: AEP of 3, full */
		{ 1024 * MB, 100 * HP, 1 },     /* 2: DRAM, roomy */
		{ 1024 * MB, 0, 1 },            /* 3: DRAM, full */
		{ 1024 * MB, 100 * HP, 1 },     /* 4: in no pair */
	};
	struct cslide_pair_result r[2];
	struct err e;

	CHECK(cslide_parse_pairs("2,0;3,1", &pr, &e) == 0);
	reset();
	add(1, 0, 5, 10);     /* hot on AEP 0 -> DRAM 2 */
	add(1, 1, 5, 10);     /* hot on AEP 1, but AEP 1 is full: no room */
	add(1, 3, 0, 10);     /* cold on DRAM 3 */
	add(1, 4, 0, 10);     /* node 4: no pair */
	add(1, CSLIDE_NODE_NONE, 6, 3);
	cslide_plan(&p, &pr, mem, pg, npg, r);
	CHECK_EQ_U(r[0].promoted, 4 * HP);  /* quota < free: the quota */
	CHECK_EQ_U(r[0].demoted, 0);
	/* Pair 1: free 0, cold_free 0: cap = min(0 + 2, 0 + 0) = 0. Nothing
	 * promoted; reserve wants 2 pages but AEP 1 has no free space. */
	CHECK_EQ_U(r[1].promoted, 0);
	CHECK_EQ_U(r[1].demoted, 0);
	CHECK_EQ_U(marked(CSLIDE_KEEP, 0, 4), 10);
	CHECK_EQ_U(marked(CSLIDE_KEEP, 0, CSLIDE_NODE_NONE) , npg - 4);

	/* Give AEP 1 room: now pair 1 trades 2 + 2 within its own quota,
	 * and pair 0 is unchanged. */
	mem[1].free = 50 * HP;
	cslide_plan(&p, &pr, mem, pg, npg, r);
	CHECK_EQ_U(r[0].promoted, 4 * HP);
	CHECK_EQ_U(r[1].promoted, 2 * HP);
	CHECK_EQ_U(r[1].demoted, 2 * HP);
	CHECK_EQ_U(marked(CSLIDE_PROMOTE, 1, 1), 2);
	CHECK_EQ_U(marked(CSLIDE_DEMOTE, 1, 3), 2);
}

/* hot_threshold 0: everything is hot, so no prefetch and no demotion;
 * above 3*loop it is clamped to 3*loop + 1: nothing is hot. */
static void
test_rank_cslide__threshold_edges(void)
{
	struct cslide_params p = { .hot_threshold = 0, .max_count = 3,
	    .quota = 1024 * MB, .reserve = 1000 * HP };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 1024 * MB, 0, 1 }, { 1024 * MB, 100 * HP, 1 } };
	struct cslide_pair_result r;

	reset();
	add(1, 1, 0, 4);
	add(1, 0, 0, 4);
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	/* All hot: but free 0 and no cold on DRAM: cap = 0 + 0. */
	CHECK_EQ_U(r.promoted + r.prefetched + r.demoted, 0);
	p.hot_threshold = 99;
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.promoted, 0);
	CHECK_EQ_U(r.demoted, 4 * HP);      /* all cold; reserve wants them out */
	/* Counts above max_count are treated as max_count. */
	reset();
	p.hot_threshold = 3;
	mem[0].free = 100 * HP;
	add(1, 1, 50, 2);
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.promoted, 2 * HP);
}

/* Quota exhaustion across phases: promotions eat it, prefetch gets the
 * rest, demotion none beyond the displaced pages. */
static void
test_rank_cslide__quota_exhaustion_across_phases(void)
{
	struct cslide_params p = { .hot_threshold = 2, .max_count = 3,
	    .quota = 6 * HP, .reserve = 0 };
	struct cslide_pairs pr = pairs1(0, 1);
	struct cslide_node_mem mem[2] = { { 1024 * MB, 100 * HP, 1 }, { 1024 * MB, 100 * HP, 1 } };
	struct cslide_pair_result r;

	reset();
	add(1, 1, 3, 4);
	add(1, 1, 1, 10);
	add(1, 0, 0, 10);
	cslide_plan(&p, &pr, mem, pg, npg, &r);
	CHECK_EQ_U(r.promoted, 4 * HP);
	CHECK_EQ_U(r.prefetched, 2 * HP);
	CHECK_EQ_U(r.demoted, 0);
	CHECK_EQ_U(r.quota_left, 0);
	CHECK_EQ_U(marked(CSLIDE_PROMOTE, 0, CSLIDE_NODE_NONE) +
	    marked(CSLIDE_PREFETCH, 0, CSLIDE_NODE_NONE) +
	    marked(CSLIDE_DEMOTE, 0, CSLIDE_NODE_NONE), 6);
}

int
main(void)
{
	RUN(test_rank_cslide__parse_pairs);
	RUN(test_rank_cslide__quota_shared_by_both_directions);
	RUN(test_rank_cslide__promote_hottest_first);
	RUN(test_rank_cslide__prefetch_and_reserve);
	RUN(test_rank_cslide__hot_may_consume_reserve);
	RUN(test_rank_cslide__promotion_capped_by_cold_on_dram);
	RUN(test_rank_cslide__ties_ascending_pid);
	RUN(test_rank_cslide__two_unbalanced_pairs);
	RUN(test_rank_cslide__threshold_edges);
	RUN(test_rank_cslide__quota_exhaustion_across_phases);
	return unit_done();
}
