/* SPDX-License-Identifier: MIT */
/* test-rank-slide.c - the slide policy's decisions: the T rule, the gates,
 * the dram_percent budget (W-15 fixed), ordering, coalescing, determinism. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "opt.h"
#include "unit.h"
#include "../../etmem-rank/rank.h"

#define PG 4096ull
#define GIB_KB (1ull << 20)

struct fixture {
	struct rank_ctx ctx;
	struct rank_tracker trk;
	struct etmr_period facts;
	struct etmr_proc procs[8];
	size_t nprocs;
	uint32_t loop;
	struct etmr_decision out[64];   /* ordered decisions */
	size_t nout;
};

/* Parse "slide"'s command line (space-separated) and init the engine. */
static int
setup(struct fixture *fx, const char *args, uint32_t loop, struct err *e)
{
	char buf[256], *argv[16], *tok, *save = NULL;
	struct opt_cmd cmd = { "etmem-rank slide", "", NULL, rank_slide.opts, NULL };
	int argc = 0, idx;
	struct etmr_round rd = { 1, 1, 0, 0 };

	memset(fx, 0, sizeof(*fx));
	snprintf(buf, sizeof(buf), "slide %s", args);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 15; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	idx = opt_parse(&cmd, argc, argv, e);
	if (idx < 0 || rank_ctx_init(&fx->ctx, &rank_slide, 4096, e) < 0)
		return -1;
	rank_trk_init(&fx->trk, 4096, NULL);
	fx->loop = loop;
	rd.loop = loop;
	if (rank_slide.round(&fx->ctx, &rd, 7, ETMR_FORM_TEXT, e) < 0)
		return -1;
	rank_trk_reset(&fx->trk, rank_slide.max_count(&fx->ctx, loop));
	/* a machine under pressure, unless a test says otherwise */
	fx->facts = (struct etmr_period){ .period = 1, .rounds = loop, .mem_total_kb = 1000,
	    .mem_free_kb = 10 };
	return 0;
}

static void
proc(struct fixture *fx, uint32_t pid, uint64_t rss, uint64_t swap)
{
	fx->procs[fx->nprocs++] = (struct etmr_proc){ .pid = pid, .start_time = 1000 + pid,
	    .rss_kb = rss, .swap_kb = swap };
}

/* Run the period; the ordered decisions land in fx->out. */
static int
decide(struct fixture *fx)
{
	struct rank_period per = { &fx->facts, fx->procs, fx->nprocs, fx->loop, 4096, &fx->trk };
	uint32_t idx[64];
	size_t i;

	fx->ctx.ndec = fx->ctx.nstats = 0;
	if (rank_trk_sort(&fx->trk, NULL) < 0 || rank_slide.period(&fx->ctx, &per, NULL) < 0)
		return -1;
	if (fx->ctx.ndec > 64 || rank_order(&fx->ctx, idx, NULL) < 0)
		return -1;
	for (i = 0; i < fx->ctx.ndec; i++)
		fx->out[i] = fx->ctx.dec[idx[i]];
	fx->nout = fx->ctx.ndec;
	return 0;
}

static void
teardown(struct fixture *fx)
{
	rank_ctx_free(&fx->ctx);
	rank_trk_free(&fx->trk);
}

static uint64_t
stat_of(const struct fixture *fx, const char *key)
{
	size_t i;

	for (i = 0; i < fx->ctx.nstats; i++)
		if (strcmp(fx->ctx.stats[i].key, key) == 0)
			return fx->ctx.stats[i].value;
	return ~0ull;
}

static int
dec_eq(const struct etmr_decision *a, const struct etmr_decision *b)
{
	return a->start == b->start && a->npages == b->npages && a->start_time == b->start_time &&
	    a->pid == b->pid && a->score == b->score && a->node == b->node &&
	    a->size == b->size && a->action == b->action;
}

/* Two rounds over pages idle twice (0), once (1), never (2 accesses). */
static void
two_rounds(struct fixture *fx)
{
	rank_trk_add(&fx->trk, 10, 0x10000, 4, 0, 0, NULL);
	rank_trk_add(&fx->trk, 10, 0x20000, 4, 0, 1, NULL);
	rank_trk_add(&fx->trk, 10, 0x30000, 4, 0, 1, NULL);
	rank_trk_add(&fx->trk, 10, 0x10000, 4, 0, 0, NULL);
	rank_trk_add(&fx->trk, 10, 0x20000, 4, 0, 0, NULL);
	rank_trk_add(&fx->trk, 10, 0x30000, 4, 0, 1, NULL);
}

static void
test_rank_slide__t_rule(void)
{
	struct fixture fx;

	/* T=0: everything is hot */
	CHECK(setup(&fx, "-T 0", 2, NULL) == 0);
	two_rounds(&fx);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 0);
	CHECK_EQ_U(stat_of(&fx, "pages_hot"), 12);
	teardown(&fx);

	/* T=1: only the pages idle in both passes */
	CHECK(setup(&fx, "-T 1", 2, NULL) == 0);
	two_rounds(&fx);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	CHECK_EQ_U(fx.out[0].start, 0x10000);
	CHECK_EQ_U(fx.out[0].npages, 4);
	CHECK_EQ_U(fx.out[0].score, 0);
	CHECK_EQ_U(fx.out[0].action, ETMR_ACT_SWAP);
	CHECK_EQ_U(fx.out[0].node, ETMR_NODE_NONE);
	CHECK_EQ_U(fx.out[0].start_time, 0);   /* no PROC item: unchecked identity */
	teardown(&fx);

	/* T=3 > loop=2: every scanned page, coldest first */
	CHECK(setup(&fx, "-T 3", 2, NULL) == 0);
	proc(&fx, 10, 100, 0);
	two_rounds(&fx);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 3);
	CHECK(fx.out[0].start == 0x10000 && fx.out[0].score == 0);
	CHECK(fx.out[1].start == 0x20000 && fx.out[1].score == 1);
	CHECK(fx.out[2].start == 0x30000 && fx.out[2].score == 2);
	CHECK_EQ_U(fx.out[0].start_time, 1010);
	CHECK_EQ_U(stat_of(&fx, "bytes_decided"), 12 * PG);
	teardown(&fx);
}

/* T is checked against the stream's loop: 0..3*loop. */
static void
test_rank_slide__t_range(void)
{
	struct fixture fx;
	struct err e;

	CHECK(setup(&fx, "-T 3", 1, &e) == 0);
	teardown(&fx);
	err_clear(&e);
	CHECK(setup(&fx, "-T 4", 1, &e) < 0);
	CHECK_EQ_U(e.code, EX_DATAERR);
	CHECK(strstr(e.msg, "T=4") != NULL);
	CHECK(strstr(e.msg, "loop=1") != NULL);
	CHECK(strstr(e.msg, "line 7") != NULL);
	teardown(&fx);
	CHECK(setup(&fx, "", 1, &e) < 0);      /* -T missing */
	CHECK_EQ_U(e.code, EX_USAGE);
	teardown(&fx);
}

/* --sysmem-threshold: MemFree*100/MemTotal >= P means no pressure. */
static void
test_rank_slide__sysmem_gate(void)
{
	struct fixture fx;

	CHECK(setup(&fx, "-T 1 --sysmem-threshold 40", 1, NULL) == 0);
	proc(&fx, 10, 1000, 0);
	rank_trk_add(&fx.trk, 10, 0x10000, 4, 0, 0, NULL);
	fx.facts.mem_free_kb = 400;           /* exactly 40%: skip */
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 0);
	CHECK_EQ_U(stat_of(&fx, "pids_gated"), 1);
	fx.facts.mem_free_kb = 399;           /* 39%: act */
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	fx.facts.mem_available_kb = 900;      /* MemAvailable is not looked at */
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	fx.facts.mem_total_kb = 0;            /* facts missing: don't act */
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 0);
	teardown(&fx);

	/* a gate without the pid's PROC item does not act */
	CHECK(setup(&fx, "-T 1 --sysmem-threshold 40", 1, NULL) == 0);
	rank_trk_add(&fx.trk, 10, 0x10000, 4, 0, 0, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 0);
	teardown(&fx);
}

/* --swap-threshold Ng: VmRSS > N GiB (strict), only with --sysmem-threshold. */
static void
test_rank_slide__swap_threshold(void)
{
	struct fixture fx;
	struct err e;

	CHECK(setup(&fx, "-T 1 --sysmem-threshold 50 --swap-threshold 2g", 1, NULL) == 0);
	proc(&fx, 10, 2 * GIB_KB, 0);
	proc(&fx, 11, 2 * GIB_KB + 1, 0);
	rank_trk_add(&fx.trk, 10, 0x10000, 4, 0, 0, NULL);
	rank_trk_add(&fx.trk, 11, 0x10000, 4, 0, 0, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	CHECK_EQ_U(fx.out[0].pid, 11);
	teardown(&fx);

	/* ignored without --sysmem-threshold (the original's rule) */
	CHECK(setup(&fx, "-T 1 --swap-threshold 5G", 1, NULL) == 0);
	proc(&fx, 10, 1, 0);
	rank_trk_add(&fx.trk, 10, 0x10000, 4, 0, 0, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	teardown(&fx);

	CHECK(setup(&fx, "-T 1 --swap-threshold 10m", 1, &e) < 0);
	CHECK_EQ_U(e.code, EX_USAGE);
	teardown(&fx);
	CHECK(setup(&fx, "-T 1 --swap-threshold 12345678910g", 1, &e) < 0);
	teardown(&fx);
	CHECK(setup(&fx, "-T 1 --swap-threshold 1234", 1, &e) < 0);
	teardown(&fx);
}

/* swap_threshold unset: act only while VmSwap < (VmRSS+VmSwap)/100*P. */
static void
test_rank_slide__swap_share_fallback(void)
{
	struct fixture fx;

	CHECK(setup(&fx, "-T 1 --sysmem-threshold 20", 1, NULL) == 0);
	proc(&fx, 10, 1000, 100);   /* 1100/100*20 = 220 > 100: act */
	proc(&fx, 11, 1000, 300);   /* 1300/100*20 = 260 > 300? no */
	proc(&fx, 12, 1000, 260);   /* 1260/100*20 = 240 > 260? no */
	rank_trk_add(&fx.trk, 10, 0x10000, 1, 0, 0, NULL);
	rank_trk_add(&fx.trk, 11, 0x10000, 1, 0, 0, NULL);
	rank_trk_add(&fx.trk, 12, 0x10000, 1, 0, 0, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	CHECK_EQ_U(fx.out[0].pid, 10);
	CHECK_EQ_U(stat_of(&fx, "pids_gated"), 2);
	teardown(&fx);
}

/* --dram-percent: keep P% of RSS+swap, coldest out first, 2M = 512 pages. */
static void
test_rank_slide__dram_budget(void)
{
	struct fixture fx;

	/* keep = 1000/100*90 = 900 kB; budget (1000-900)*1024/4096 = 25 pages */
	CHECK(setup(&fx, "-T 2 --dram-percent 90", 2, NULL) == 0);
	proc(&fx, 10, 1000, 0);
	rank_trk_add(&fx.trk, 10, 0x100000, 20, 0, 1, NULL);   /* count 1 */
	rank_trk_add(&fx.trk, 10, 0x200000, 20, 0, 0, NULL);   /* count 0 */
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 2);
	CHECK(fx.out[0].start == 0x200000 && fx.out[0].npages == 20 && fx.out[0].score == 0);
	CHECK(fx.out[1].start == 0x100000 && fx.out[1].npages == 5 && fx.out[1].score == 1);
	CHECK_EQ_U(stat_of(&fx, "pages_decided"), 25);
	teardown(&fx);

	/* keep > VmRSS: nothing */
	CHECK(setup(&fx, "-T 2 --dram-percent 90", 2, NULL) == 0);
	proc(&fx, 10, 1000, 1000);
	rank_trk_add(&fx.trk, 10, 0x200000, 20, 0, 0, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 0);
	teardown(&fx);

	/* a cold 2 MiB page costs 512 base pages (W-15): budget 600 pages =
	 * the THP + 88 of the 4K pages; with a budget of 500 the THP does not
	 * fit and 4K pages are taken instead */
	CHECK(setup(&fx, "-T 2 --dram-percent 50", 2, NULL) == 0);
	proc(&fx, 10, 4800, 0);     /* keep 2400, budget 2400 kB = 600 pages */
	rank_trk_add(&fx.trk, 10, 0x40000000, 1, 1, 0, NULL);   /* THP, count 0 */
	rank_trk_add(&fx.trk, 10, 0x100000, 1000, 0, 1, NULL);  /* 4K, count 1 */
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 2);
	CHECK(fx.out[0].size == 1 && fx.out[0].npages == 1);
	CHECK(fx.out[1].size == 0 && fx.out[1].npages == 88);
	teardown(&fx);
	CHECK(setup(&fx, "-T 2 --dram-percent 50", 2, NULL) == 0);
	proc(&fx, 10, 4000, 0);     /* budget 500 pages */
	rank_trk_add(&fx.trk, 10, 0x40000000, 1, 1, 0, NULL);
	rank_trk_add(&fx.trk, 10, 0x100000, 1000, 0, 1, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	CHECK(fx.out[0].size == 0 && fx.out[0].npages == 500);
	teardown(&fx);

	/* out of range: off (every cold page) */
	CHECK(setup(&fx, "-T 2 --dram-percent 101", 2, NULL) == 0);
	proc(&fx, 10, 1000, 1000);
	rank_trk_add(&fx.trk, 10, 0x200000, 20, 0, 0, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 1);
	teardown(&fx);
}

/* Coldest first, then pid, then address; adjacent equal runs coalesce. */
static void
test_rank_slide__order_and_coalesce(void)
{
	struct fixture fx, fx2;
	size_t i;

	CHECK(setup(&fx, "-T 3", 1, NULL) == 0);
	/* pid 20: two extents that meet (one D), one count-1 page */
	rank_trk_add(&fx.trk, 20, 0x5000, 3, 0, 0, NULL);
	rank_trk_add(&fx.trk, 20, 0x8000, 2, 0, 0, NULL);
	rank_trk_add(&fx.trk, 20, 0x1000, 1, 0, 1, NULL);
	/* pid 3: count 1 at a high address, count 0 at a higher one */
	rank_trk_add(&fx.trk, 3, 0x90000, 1, 0, 1, NULL);
	rank_trk_add(&fx.trk, 3, 0xa0000, 1, 0, 0, NULL);
	/* pid 20 2M page next to nothing */
	rank_trk_add(&fx.trk, 20, 0x200000, 1, 1, 0, NULL);
	CHECK(decide(&fx) == 0);
	CHECK_EQ_U(fx.nout, 5);
	CHECK(fx.out[0].pid == 3 && fx.out[0].start == 0xa0000 && fx.out[0].score == 0);
	CHECK(fx.out[1].pid == 20 && fx.out[1].start == 0x5000 && fx.out[1].npages == 5);
	CHECK(fx.out[2].pid == 20 && fx.out[2].start == 0x200000 && fx.out[2].size == 1);
	CHECK(fx.out[3].pid == 3 && fx.out[3].score == 1);
	CHECK(fx.out[4].pid == 20 && fx.out[4].start == 0x1000);

	/* determinism: the same input in another order gives the same bytes */
	CHECK(setup(&fx2, "-T 3", 1, NULL) == 0);
	rank_trk_add(&fx2.trk, 20, 0x200000, 1, 1, 0, NULL);
	rank_trk_add(&fx2.trk, 3, 0xa0000, 1, 0, 0, NULL);
	rank_trk_add(&fx2.trk, 3, 0x90000, 1, 0, 1, NULL);
	rank_trk_add(&fx2.trk, 20, 0x1000, 1, 0, 1, NULL);
	rank_trk_add(&fx2.trk, 20, 0x8000, 2, 0, 0, NULL);
	rank_trk_add(&fx2.trk, 20, 0x5000, 3, 0, 0, NULL);
	CHECK(decide(&fx2) == 0);
	CHECK_EQ_U(fx2.nout, fx.nout);
	for (i = 0; i < fx.nout; i++)
		CHECK(dec_eq(&fx.out[i], &fx2.out[i]));
	teardown(&fx);
	teardown(&fx2);
}

/* The core's order for scores too large to bucket (other engines): the
 * same (score, pid, address) order by comparison sort; and merging of
 * continuing decisions only when everything but the address matches. */
static void
test_rank_slide__order_large_scores(void)
{
	struct rank_ctx ctx;
	struct etmr_decision d = { .npages = 1, .node = ETMR_NODE_NONE, .action = ETMR_ACT_SWAP };
	uint32_t idx[8];

	memset(&ctx, 0, sizeof(ctx));
	ctx.page_size = 4096;
	d.pid = 1; d.start = 0x1000; d.score = 70000;
	CHECK(rank_decide(&ctx, &d, NULL) == 0);
	d.start = 0x2000;                       /* continues: merged */
	CHECK(rank_decide(&ctx, &d, NULL) == 0);
	d.start = 0x3000; d.start_time = 9;     /* other identity: not merged */
	CHECK(rank_decide(&ctx, &d, NULL) == 0);
	d.pid = 2; d.start = 0x1000; d.score = 5; d.start_time = 0;
	CHECK(rank_decide(&ctx, &d, NULL) == 0);
	d.pid = 0; d.start = 0x9000; d.score = 70000;
	CHECK(rank_decide(&ctx, &d, NULL) == 0);
	CHECK_EQ_U(ctx.ndec, 4);
	CHECK_EQ_U(ctx.dec[0].npages, 2);
	CHECK(rank_order(&ctx, idx, NULL) == 0);
	CHECK(ctx.dec[idx[0]].pid == 2);
	CHECK(ctx.dec[idx[1]].pid == 0);
	CHECK(ctx.dec[idx[2]].pid == 1 && ctx.dec[idx[2]].start == 0x1000);
	CHECK(ctx.dec[idx[3]].pid == 1 && ctx.dec[idx[3]].start == 0x3000);
	rank_ctx_free(&ctx);
}

int
main(void)
{
	RUN(test_rank_slide__t_rule);
	RUN(test_rank_slide__t_range);
	RUN(test_rank_slide__sysmem_gate);
	RUN(test_rank_slide__swap_threshold);
	RUN(test_rank_slide__swap_share_fallback);
	RUN(test_rank_slide__dram_budget);
	RUN(test_rank_slide__order_and_coalesce);
	RUN(test_rank_slide__order_large_scores);
	return unit_done();
}
