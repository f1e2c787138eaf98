/* SPDX-License-Identifier: MIT */
/*
 * rank-cslide.c - the cslide policy: keep the hot 2 MiB hugetlb pages of
 * each process on the DRAM node of its pair and the cold ones on the AEP
 * node (engine-algorithms.md §4), as DECISION items with action
 * promote/demote and the target node, for `etmem-migrate numa`.
 *
 * Per period: every resident ACCESS item (hugetlb only: --vm-flags ht) is
 * cut into 2 MiB windows; a window's count is, summed over the rounds, the
 * largest count any part of it had in that round (a huge page is accessed
 * when any part of it is: the original's SCAN_AS_HUGE view); its node is
 * the one its latest ACCESS item gives. At the PERIOD the nodes still
 * unknown are asked of the kernel, the hugepage facts are read
 * (rank-cslide-facts.c), the plan is made (rank-cslide-plan.c), the show
 * picture is kept (rank-cslide-show.c) and the decisions written in (pid,
 * address) order, promotions to the pair's DRAM node, demotions to its AEP
 * node. docs/CSLIDE.md says what differs from the original and why.
 */
#include "rank-cslide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "log.h"
#include "opt.h"
#include "procfs.h"
#include "rank.h"

#define CSLIDE_SEEN_MAX (1u << 24)   /* windows x rounds per period (384 MiB) */
#define CSLIDE_MB_MAX (1ll << 30)

/* Option values land here; init copies them (tests parse many times). */
static struct cslide_cfg opt_cfg = { .hot_threshold = -1, .quota_mb = -1, .reserve_mb = -1 };
#define CSLIDE_CFG_DEFAULT ((struct cslide_cfg){ .hot_threshold = -1, \
	.quota_mb = -1, .reserve_mb = -1 })

static const struct opt cslide_opts[] = {
	{ 0, "node-pair", OPT_STR, &opt_cfg.node_pair, "DRAM,AEP[;DRAM,AEP]...",
	  "node pairs (required): the first node of each pair is the DRAM (hot) node, "
	  "the second the AEP (cold) node, as the original's node_pair", 0, 0, 0, 0, NULL },
	{ 0, "hot-threshold", OPT_INT, &opt_cfg.hot_threshold, "N",
	  "(required) a page whose count is >= N is hot; clamped to 3*loop+1", 0,
	  2147483647, 0, 0, NULL },
	{ 0, "node-mig-quota", OPT_INT, &opt_cfg.quota_mb, "MB",
	  "(required) MiB moved per pair per period, both directions together", 0,
	  CSLIDE_MB_MAX, 0, 0, NULL },
	{ 0, "node-hot-reserve", OPT_INT, &opt_cfg.reserve_mb, "MB",
	  "(required) MiB of DRAM hugepages to keep free for hot pages", 0,
	  CSLIDE_MB_MAX, 0, 0, NULL },
	{ 0, "vm-flags", OPT_STR, &opt_cfg.vm_flags, "ht",
	  "which mappings count; only 'ht' (hugetlb), as the original (default ht)",
	  0, 0, 0, 0, NULL },
	{ 0, "anon-only", OPT_STR, &opt_cfg.anon_only, "yes|no",
	  "accepted for config symmetry; the scanner filters (etmem-scan --anon-only)",
	  0, 0, 0, 0, NULL },
	{ 0, "ign-host", OPT_STR, &opt_cfg.ign_host, "yes|no",
	  "accepted for config symmetry; the scanner's idle_pages flag", 0, 0, 0, 0, NULL },
	{ 0, "sys-root", OPT_STR, &opt_cfg.sys_root, "DIR",
	  "read DIR/sys instead of /sys for nodes and hugepages (also ETMEM_SYS_ROOT)",
	  0, 0, 0, 0, NULL },
	OPT_END
};

static int
yes_no(const char *opt, const char *v, struct err *e)
{
	if (v != NULL && strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return err_set(e, EX_USAGE, 0, "option '--%s': '%s' is not yes or no", opt, v);
	return 0;
}

/* Options: required ones given, values in range, the pairs' nodes exist. */
static int
check_cfg(struct cslide_cfg *c, struct err *e)
{
	static const char *const req[] = { "node-pair", "hot-threshold",
	    "node-mig-quota", "node-hot-reserve" };
	int missing = c->node_pair == NULL ? 0 : c->hot_threshold < 0 ? 1 :
	    c->quota_mb < 0 ? 2 : c->reserve_mb < 0 ? 3 : -1;
	int nodes;

	if (missing >= 0)
		return err_set(e, EX_USAGE, 0, "cslide needs --%s", req[missing]);
	if (c->vm_flags != NULL && strcmp(c->vm_flags, "ht") != 0)
		return err_set(e, EX_USAGE, 0, "option '--vm-flags': '%s': cslide "
		    "supports only 'ht' (hugetlb)", c->vm_flags);
	if (yes_no("anon-only", c->anon_only, e) < 0 || yes_no("ign-host", c->ign_host, e) < 0)
		return -1;
	if (cslide_parse_pairs(c->node_pair, &c->pairs, e) < 0)
		return -1;
	if (procfs_init(NULL, c->sys_root, e) < 0)
		return -1;
	nodes = cslide_node_count();
	for (size_t i = 0; i < c->pairs.n; i++) {
		int ids[2] = { c->pairs.v[i].hot, c->pairs.v[i].cold };

		for (int k = 0; k < 2; k++)
			if (!cslide_node_exists(ids[k]))
				return err_set(e, EX_UNAVAILABLE, 0, "option '--node-pair': "
				    "'%s': NUMA node %d does not exist: this host has %d NUMA "
				    "node%s (%s/sys/devices/system/node); cslide needs a DRAM "
				    "node and an AEP node for each pair", c->node_pair, ids[k],
				    nodes, nodes == 1 ? "" : "s", procfs_sys_root());
	}
	return 0;
}

static int
cslide_init(struct rank_ctx *ctx, struct err *e)
{
	struct cslide_cfg c = opt_cfg;
	struct cslide *cs;

	opt_cfg = CSLIDE_CFG_DEFAULT;
	if (check_cfg(&c, e) < 0)
		return -1;
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return err_set(e, EX_OSERR, errno, "out of memory");
	cs->cfg = c;
	cs->nnodes = cslide_node_count();
	for (size_t i = 0; i < c.pairs.n; i++) {
		int hi = c.pairs.v[i].hot > c.pairs.v[i].cold ? c.pairs.v[i].hot : c.pairs.v[i].cold;

		if (hi + 1 > cs->nnodes)
			cs->nnodes = hi + 1;
	}
	ctx->priv = cs;
	return 0;
}

static void
cslide_fini(struct rank_ctx *ctx)
{
	struct cslide *cs = ctx->priv;

	if (cs == NULL)
		return;
	free(cs->seen);
	free(cs->pages);
	free(cs->use);
	free(cs);
	ctx->priv = NULL;
}

static int
cslide_round(struct rank_ctx *ctx, const struct etmr_round *r, uint64_t where,
    enum etmr_form form, struct err *e)
{
	struct cslide *cs = ctx->priv;

	(void)where;
	(void)form;
	(void)e;
	cs->round = r->round;
	return 0;
}

static int
seen_add(struct cslide *cs, const struct cslide_seen *s, struct err *e)
{
	if (cs->nseen == cs->seen_cap) {
		size_t cap = cs->seen_cap ? cs->seen_cap * 2 : 1024;
		struct cslide_seen *v;

		if (cs->nseen >= CSLIDE_SEEN_MAX)
			return err_set(e, EX_DATAERR, 0, "cslide: more than %u 2 MiB windows "
			    "x rounds in one period", CSLIDE_SEEN_MAX);
		if ((v = realloc(cs->seen, cap * sizeof(*v))) == NULL)
			return err_set(e, EX_OSERR, errno, "cslide: out of memory");
		cs->seen = v;
		cs->seen_cap = cap;
	}
	cs->seen[cs->nseen++] = *s;
	return 0;
}

/* One resident ACCESS item: note each 2 MiB window it touches. */
static int
cslide_access(struct rank_ctx *ctx, const struct etmr_access *a, struct err *e)
{
	struct cslide *cs = ctx->priv;
	uint64_t hp = etmr_size_bytes(ETMR_SIZE_2M, ctx->page_size);
	uint64_t unit = etmr_size_bytes(a->size, ctx->page_size), end, w;

	if (!(a->flags & ETMR_F_HUGETLB) || unit == 0 || hp == 0) {
		cs->skipped_other += a->npages;
		return 0;
	}
	if (a->size == ETMR_SIZE_1G) {
		/* A 1 GiB page cannot move as 2 MiB pages; the original ignored
		 * them too (W-23). */
		cs->skipped_1g += a->npages;
		return 0;
	}
	if (a->npages > (UINT64_MAX - a->start) / unit)
		return err_set(e, EX_DATAERR, 0, "cslide: ACCESS extent of pid %u at "
		    "0x%llx wraps", a->pid, (unsigned long long)a->start);
	end = a->start + a->npages * unit;
	for (w = a->start & ~(hp - 1); w < end; w += hp) {
		struct cslide_seen s = { .win = w, .pid = a->pid, .round = cs->round,
		    .count = a->count, .node = a->node };

		/* Consecutive items of one window in one round: keep the max. */
		if (cs->nseen > 0) {
			struct cslide_seen *l = &cs->seen[cs->nseen - 1];

			if (l->pid == s.pid && l->win == s.win && l->round == s.round) {
				if (s.count > l->count)
					l->count = s.count;
				if (s.node != ETMR_NODE_NONE)
					l->node = s.node;
				continue;
			}
		}
		if (seen_add(cs, &s, e) < 0)
			return -1;
	}
	return 0;
}

static int
seen_cmp(const void *pa, const void *pb)
{
	const struct cslide_seen *a = pa, *b = pb;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->win != b->win)
		return a->win < b->win ? -1 : 1;
	if (a->round != b->round)
		return a->round < b->round ? -1 : 1;
	return 0;
}

/* Fold the period's windows into pages: count = sum over rounds of the
 * round's max; node = the latest known. */
static int
build_pages(struct cslide *cs, struct err *e)
{
	size_t i, j;

	cs->npages = 0;
	if (cs->nseen > 1)
		qsort(cs->seen, cs->nseen, sizeof(*cs->seen), seen_cmp);
	for (i = 0; i < cs->nseen; i = j) {
		struct cslide_page pg = { .addr = cs->seen[i].win, .pid = cs->seen[i].pid,
		    .node = CSLIDE_NODE_NONE };
		uint32_t round_max = 0;

		for (j = i; j < cs->nseen && cs->seen[j].pid == pg.pid &&
		    cs->seen[j].win == pg.addr; j++) {
			const struct cslide_seen *s = &cs->seen[j];

			if (s->count > round_max)
				round_max = s->count;
			if (j + 1 == cs->nseen || cs->seen[j + 1].round != s->round ||
			    cs->seen[j + 1].pid != s->pid || cs->seen[j + 1].win != s->win) {
				pg.count += round_max;
				round_max = 0;
			}
			if (s->node < CSLIDE_NODES_MAX)
				pg.node = s->node;
		}
		if (cs->npages == cs->pages_cap) {
			size_t cap = cs->pages_cap ? cs->pages_cap * 2 : 1024;
			struct cslide_page *v = realloc(cs->pages, cap * sizeof(*v));

			if (v == NULL)
				return err_set(e, EX_OSERR, errno, "cslide: out of memory");
			cs->pages = v;
			cs->pages_cap = cap;
		}
		cs->pages[cs->npages++] = pg;
	}
	cs->nseen = 0;
	return 0;
}

/* Whether some page of pages[0..n) has no node yet. */
static int
any_unknown(const struct cslide_page *pg, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pg[i].node == CSLIDE_NODE_NONE)
			return 1;
	return 0;
}

/* Whether the scanner looked the nodes up (etmem-scan --numa-node, on
 * with --vm-flags ht): it then says so with its node_pages_* counters, and
 * a page without a node is one the kernel could not place either (not
 * present); asking again at rank time would only make the decision depend
 * on when the stream is read. */
static int
stream_has_nodes(const struct rank_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nustats; i++)
		if (ctx->ustats[i].stage == ETMR_STAGE_SCAN &&
		    strcmp(ctx->ustats[i].key, "node_pages_located") == 0)
			return 1;
	return 0;
}

/* Nodes the stream did not give (an old capture, or a source without
 * --numa-node): ask the kernel, one pid at a time, but
 * only a process that is still the one the period's PROC item names (a
 * replayed capture or a recycled pid must not be asked about another
 * process's memory). */
static uint64_t
locate(struct cslide *cs, const struct rank_period *p)
{
	uint64_t n = 0;

	for (size_t i = 0, j; i < cs->npages; i = j) {
		const struct etmr_proc *proc = rank_proc(p, cs->pages[i].pid);
		long got;

		for (j = i; j < cs->npages && cs->pages[j].pid == cs->pages[i].pid; j++)
			;
		if (!any_unknown(cs->pages + i, j - i))
			continue;
		if (!cs->warned_live) {
			log_warnx("cslide: the stream carries no page nodes (etmem-scan "
			    "--numa-node); asking the kernel with move_pages(2) now: "
			    "these decisions are not replayable");
			cs->warned_live = 1;
		}
		if (proc != NULL && proc->start_time != 0 &&
		    procfs_pid_alive((pid_t)cs->pages[i].pid, proc->start_time) != 1) {
			cs->locate_refused++;
			continue;
		}
		if ((got = cslide_locate(cs->pages[i].pid, cs->pages + i, j - i)) > 0)
			n += (uint64_t)got;
	}
	return n;
}

static int
decide(struct rank_ctx *ctx, const struct rank_period *p, struct err *e)
{
	struct cslide *cs = ctx->priv;
	const struct cslide_pairs *pr = &cs->cfg.pairs;
	for (size_t i = 0; i < cs->npages; i++) {
		const struct cslide_page *pg = &cs->pages[i];
		const struct etmr_proc *proc;
		struct etmr_decision d;
		size_t k;

		if (pg->act == CSLIDE_KEEP)
			continue;
		for (k = 0; k < pr->n; k++)
			if (pr->v[k].hot == pg->node || pr->v[k].cold == pg->node)
				break;
		if (k == pr->n)
			BUG("cslide plan moved a page of no pair");
		proc = rank_proc(p, pg->pid);
		d = (struct etmr_decision){ .start = pg->addr, .npages = 1, .pid = pg->pid,
		    .start_time = proc ? proc->start_time : 0, .score = pg->count,
		    .size = ETMR_SIZE_2M,
		    .action = pg->act == CSLIDE_DEMOTE ? ETMR_ACT_DEMOTE : ETMR_ACT_PROMOTE,
		    .node = (uint16_t)(pg->act == CSLIDE_DEMOTE ? pr->v[k].cold : pr->v[k].hot) };
		if (rank_decide(ctx, &d, e) < 0)
			return -1;
	}
	return 0;
}

static int
cslide_period(struct rank_ctx *ctx, const struct rank_period *p, struct err *e)
{
	struct cslide *cs = ctx->priv;
	struct cslide_pair_result res[CSLIDE_NODES_MAX / 2];
	struct cslide_params par;
	uint64_t located, sum[3] = { 0 };
	uint32_t loop = p->loop ? p->loop : 1;
	int src;

	if (build_pages(cs, e) < 0)
		return -1;
	located = stream_has_nodes(ctx) ? 0 : locate(cs, p);
	if ((src = cslide_node_mem(cs->mem, cs->nnodes, ctx->ustats, ctx->nustats,
	    &cs->cfg.pairs, e)) < 0)
		return -1;
	par = (struct cslide_params){ .max_count = 3 * loop,
	    .quota = (uint64_t)cs->cfg.quota_mb << 20,
	    .reserve = (uint64_t)cs->cfg.reserve_mb << 20 };
	par.hot_threshold = (uint64_t)cs->cfg.hot_threshold > par.max_count + 1 ?
	    par.max_count + 1 : (uint32_t)cs->cfg.hot_threshold;
	cslide_plan(&par, &cs->cfg.pairs, cs->mem, cs->pages, cs->npages, res);
	if (cslide_snapshot(cs, par.hot_threshold, p->facts->time_ns) < 0)
		return err_set(e, EX_OSERR, errno, "cslide: out of memory");
	if (decide(ctx, p, e) < 0)
		return -1;
	for (size_t i = 0; i < cs->cfg.pairs.n; i++) {
		sum[0] += res[i].promoted;
		sum[1] += res[i].prefetched;
		sum[2] += res[i].demoted;
	}
	rank_stat(ctx, "huge_pages", cs->npages);
	rank_stat(ctx, "located_live", located);
	rank_stat(ctx, "facts_from_stream", (uint64_t)src);
	rank_stat(ctx, "bytes_promoted", sum[0]);
	rank_stat(ctx, "bytes_prefetched", sum[1]);
	rank_stat(ctx, "bytes_demoted", sum[2]);
	rank_stat(ctx, "locate_not_same_pid", cs->locate_refused);
	rank_stat(ctx, "skipped_1g_pages", cs->skipped_1g);
	rank_stat(ctx, "skipped_not_hugetlb", cs->skipped_other);
	cs->skipped_1g = cs->skipped_other = cs->locate_refused = 0;
	log_debug("cslide: period %u: %zu huge pages (%llu located live), promote %llu "
	    "prefetch %llu demote %llu KiB", ctx->period, cs->npages,
	    (unsigned long long)located, (unsigned long long)(sum[0] >> 10),
	    (unsigned long long)(sum[1] >> 10), (unsigned long long)(sum[2] >> 10));
	return 0;
}

const struct rank_ops rank_cslide = {
	.name = "cslide",
	.summary = "keep hot hugetlb pages on DRAM, cold on AEP (the original's cslide)",
	.synopsis = "--node-pair DRAM,AEP[;...] --hot-threshold N --node-mig-quota MB "
	    "--node-hot-reserve MB [OPTIONS]",
	.description =
"Tiers the 2 MiB hugetlb pages of the scanned processes between the nodes of\n"
"each pair, as openEuler etmem's cslide engine does: the first node of a pair\n"
"is DRAM (hot), the second AEP/PMEM (cold); '2,0;3,1' pairs DRAM 2 with AEP 0\n"
"and DRAM 3 with AEP 1. A page's count is, summed over the period's rounds,\n"
"its largest count in the round; count >= --hot-threshold is hot.\n"
"\n"
"Each period, per pair, in this order: (A) promote the hottest pages from AEP\n"
"to DRAM, (B) prefetch the warmest cold pages into DRAM free space above the\n"
"reserve, (C) demote the coldest DRAM pages to make room for A and to restore\n"
"--node-hot-reserve MiB of free DRAM hugepages. --node-mig-quota MiB is one\n"
"budget per pair per period for all three (a promotion beyond the free DRAM\n"
"costs twice: it forces a demotion). Output: one DECISION per 2 MiB page,\n"
"action promote (to the DRAM node) or demote (to the AEP node), for\n"
"'etmem-migrate numa'.\n"
"\n"
"Facts: a page's node comes from its ACCESS item (node=N, etmem-scan\n"
"--numa-node, on with --vm-flags ht); a stream that carries nodes (upstream S\n"
"node_pages_located) is never completed from the kernel. Only without them are\n"
"pages located with move_pages(2) at the PERIOD (needs the live process: not\n"
"replayable; warned once). Per-node hugepage totals come from upstream STAT items\n"
"huge2m_total_nN / huge2m_free_nN (pages; etmem-scan --vm-flags ht writes\n"
"them every period) when present, else from\n"
"<sys-root>/sys/devices/system/node/nodeN/hugepages/hugepages-2048kB, read at\n"
"the PERIOD (after the scan). See docs/CSLIDE.md.",
	.footer =
"Counters (S rank): huge_pages, located_live, facts_from_stream, bytes_promoted,\n"
"bytes_prefetched, bytes_demoted, locate_not_same_pid (pids not located: gone\n"
"or not the process of the PROC item), skipped_1g_pages, skipped_not_hugetlb.\n"
"Control requests: showtaskpages (payload: optional pid) and showhostpages\n"
"print the original's tables for the last period.\n"
"\n"
"Exit status: 0 done, 64 usage (bad or missing option), 65 bad stream, 69 a\n"
"node of --node-pair does not exist or has no hugepage facts, 71 OS error.\n"
"\n"
"Example:\n"
"  etmem-scan -p 42 --vm-flags ht --loop 3 | etmem-rank cslide --node-pair 0,1 \\\n"
"      --hot-threshold 2 --node-mig-quota 1024 --node-hot-reserve 512 |\n"
"      etmem-migrate numa --node-mig-quota 1024",
	.opts = cslide_opts,
	.init = cslide_init,
	.round = cslide_round,
	.max_count = NULL,
	.period = cslide_period,
	.fini = cslide_fini,
	.access = cslide_access,
	.ctl = cslide_ctl,
};
