/* SPDX-License-Identifier: MIT */
/*
 * rank-slide.c - the slide policy: swap out what was idle in the period.
 *
 * The original's etmemd_slide.c as a pure function of the stream: each
 * page's count is the sum of its weights over the period's rounds (idle 0,
 * accessed 1, dirty 3; the scanner puts the weight in the ACCESS count);
 * count >= T is hot, the rest is cold and goes to swap, coldest first. The
 * system and per-process gates and the dram_percent budget are decided from
 * the PERIOD's facts and the PROC items only - never from /proc - so a
 * replayed capture decides exactly as the live run did. What the original
 * did is kept, including its oddities (W-8), except W-15: a huge page costs
 * its size in base pages in the dram_percent budget.
 *
 * This file does not read or write the stream; rank.c does.
 */
#include "rank.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "log.h"
#include "opt.h"

#define SWAP_THRESHOLD_CHARS_MAX 10  /* the original's config rule */

struct slide_cfg {
	long long t;                /* -T; -1 = not given */
	long long swap_threshold_kb; /* 0 = unset (as the original) */
	long long sysmem_threshold; /* -1 = unset */
	long long dram_percent;     /* 0 = off */
	int swap_flag;              /* accepted, the scanner filters */
};

#define SLIDE_CFG_DEFAULT ((struct slide_cfg){ -1, 0, -1, 0, 0 })

/* Option values land here; init copies them into ctx->priv. */
static struct slide_cfg slide_opt = { -1, 0, -1, 0, 0 };

struct slide_run {
	struct rank_run r;
	uint64_t take;              /* pages of r chosen in dram_percent mode */
};

struct slide {
	struct slide_cfg cfg;
	struct slide_run *runs;     /* cold runs of the pid being decided */
	size_t nruns, runs_cap;
	uint32_t *idx;              /* scratch for the budget walk */
	size_t idx_cap;
	uint64_t *bucket;           /* counting-sort buckets, T + 1 */
	/* counters of the current period */
	uint64_t pids, pids_gated, seen, hot, cold, decided, bytes;
};

/* --swap-threshold: 1..10 characters, digits then g or G; GiB ("g" = 0). */
static int
parse_swap_threshold(const struct opt *o, const char *arg, struct err *e)
{
	size_t n = strlen(arg), i;
	unsigned long long v = 0;

	(void)o;
	if (n == 0 || n > SWAP_THRESHOLD_CHARS_MAX || (arg[n - 1] != 'g' && arg[n - 1] != 'G'))
		return err_set(e, EX_USAGE, 0,
		    "option '--swap-threshold': '%s' is not <N>g (1..%d characters, digits then g or G)",
		    arg, SWAP_THRESHOLD_CHARS_MAX);
	for (i = 0; i + 1 < n; i++) {
		if (arg[i] < '0' || arg[i] > '9')
			return err_set(e, EX_USAGE, 0,
			    "option '--swap-threshold': '%s' is not <N>g (digits then g or G)", arg);
		v = v * 10 + (unsigned)(arg[i] - '0');
	}
	slide_opt.swap_threshold_kb = (long long)(v << 20);  /* GiB -> kB */
	return 0;
}

static int
parse_swap_flag(const struct opt *o, const char *arg, struct err *e)
{
	(void)o;
	if (strcmp(arg, "yes") == 0)
		slide_opt.swap_flag = 1;
	else if (strcmp(arg, "no") == 0)
		slide_opt.swap_flag = 0;
	else
		return err_set(e, EX_USAGE, 0, "option '--swap-flag': '%s' is not yes or no", arg);
	return 0;
}

static const struct opt slide_opts[] = {
	{ 'T', NULL, OPT_INT, &slide_opt.t, "N",
	  "hot threshold (required): a page whose count is >= N is hot; 0..3*loop",
	  0, 2147483647, 0, 0, NULL },
	{ 0, "swap-threshold", OPT_CB, NULL, "Ng",
	  "with --sysmem-threshold: act on a process only if VmRSS > N GiB", 0, 0, 0, 0,
	  parse_swap_threshold },
	{ 0, "sysmem-threshold", OPT_INT, &slide_opt.sysmem_threshold, "P",
	  "act only while MemFree is below P% of MemTotal (0..100)", 0, 100, 0, 0, NULL },
	{ 0, "dram-percent", OPT_INT, &slide_opt.dram_percent, "P",
	  "keep P% of VmRSS+VmSwap resident, coldest out first (1..100; else off)",
	  0, 0, 0, 0, NULL },
	{ 0, "swap-flag", OPT_CB, NULL, "yes|no",
	  "accepted for config symmetry; the scanner does the filtering", 0, 0, 0, 0,
	  parse_swap_flag },
	OPT_END
};

static int
slide_init(struct rank_ctx *ctx, struct err *e)
{
	struct slide *s;

	if (slide_opt.t < 0) {
		slide_opt = SLIDE_CFG_DEFAULT;
		return err_set(e, EX_USAGE, 0, "slide needs -T N (the hot threshold)");
	}
	if (slide_opt.dram_percent != 0 &&
	    (slide_opt.dram_percent < 1 || slide_opt.dram_percent > 100)) {
		/* The original turns an invalid dram_percent off with a warning. */
		log_warnx("--dram-percent %lld is outside 1..100: dram_percent mode is off",
		    slide_opt.dram_percent);
		slide_opt.dram_percent = 0;
	}
	if (slide_opt.swap_threshold_kb != 0 && slide_opt.sysmem_threshold < 0)
		log_warnx("--swap-threshold has no effect without --sysmem-threshold (as in the original)");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return err_set(e, EX_OSERR, 0, "out of memory");
	s->cfg = slide_opt;
	/* The table's storage is reused by the next parse (tests parse many
	 * command lines in one process): start it from the defaults again. */
	slide_opt = SLIDE_CFG_DEFAULT;
	s->bucket = calloc((size_t)s->cfg.t + 2, sizeof(*s->bucket));
	if (s->bucket == NULL) {
		free(s);
		return err_set(e, EX_OSERR, 0, "out of memory");
	}
	ctx->priv = s;
	return 0;
}

static void
slide_fini(struct rank_ctx *ctx)
{
	struct slide *s = ctx->priv;

	if (s == NULL)
		return;
	free(s->runs);
	free(s->idx);
	free(s->bucket);
	free(s);
	ctx->priv = NULL;
}

/* T must lie in 0..3*loop (the original checks at task add; we check at
 * every ROUND because the loop comes from the stream). */
static int
slide_round(struct rank_ctx *ctx, const struct etmr_round *r, uint64_t where,
    enum etmr_form form, struct err *e)
{
	struct slide *s = ctx->priv;

	if (r->loop == 0 || (uint64_t)s->cfg.t > 3ull * r->loop)
		return err_set(e, EX_DATAERR, 0,
		    "T=%lld is out of range 0..%llu for loop=%u of the ROUND at %s %llu",
		    s->cfg.t, 3ull * r->loop, r->loop,
		    form == ETMR_FORM_TEXT ? "line" : "byte offset", (unsigned long long)where);
	return 0;
}

/* Only counts below T need to be exact: everything at or above is hot. */
static uint32_t
slide_max_count(const struct rank_ctx *ctx, uint32_t loop)
{
	const struct slide *s = ctx->priv;

	(void)loop;
	return (uint32_t)s->cfg.t;
}

static uint32_t
class_log(uint32_t page_size, uint8_t size)
{
	uint32_t sh = (uint32_t)__builtin_ctz(page_size);

	if (size == 1)
		return (sh - 3) * 2 + 3 - sh;
	if (size == 2)
		return (sh - 3) * 3 + 3 - sh;
	return 0;
}

/*
 * The system gate (check_should_swap): with --sysmem-threshold, act only
 * while MemFree*100/MemTotal < P (MemFree, not MemAvailable, as the
 * original; integer arithmetic). MemTotal 0 = facts missing = don't act.
 */
static int
system_gate(const struct slide *s, const struct etmr_period *f)
{
	if (s->cfg.sysmem_threshold < 0)
		return 1;
	if (f->mem_total_kb == 0)
		return 0;
	return (long long)(f->mem_free_kb * 100 / f->mem_total_kb) < s->cfg.sysmem_threshold;
}

/* The per-process gate of check_should_swap; no PROC item = a read error =
 * don't act. */
static int
process_gate(const struct slide *s, const struct etmr_proc *p)
{
	if (s->cfg.sysmem_threshold < 0)
		return 1;
	if (p == NULL)
		return 0;
	if (s->cfg.swap_threshold_kb > 0)
		return p->rss_kb > (uint64_t)s->cfg.swap_threshold_kb;
	return (p->rss_kb + p->swap_kb) / 100 * (uint64_t)s->cfg.sysmem_threshold > p->swap_kb;
}

/*
 * dram_percent mode: keep (VmRSS+VmSwap)/100*P kB resident; the rest of
 * VmRSS, in base pages, is the budget. Walk the cold runs coldest first
 * (address order within a count) and take whole pages while they fit: a
 * 2 MiB page costs 512 base pages (the original counted it as one, W-15).
 */
static void
dram_select(struct slide *s, const struct etmr_proc *p, uint32_t page_size)
{
	uint64_t keep, budget, c;
	size_t i, T = (size_t)s->cfg.t;

	for (i = 0; i < s->nruns; i++)
		s->runs[i].take = 0;
	if (p == NULL)
		return;
	keep = (p->rss_kb + p->swap_kb) / 100 * (uint64_t)s->cfg.dram_percent;
	if (keep > p->rss_kb)
		return;
	budget = (p->rss_kb - keep) * 1024 / page_size;

	/* Counting sort of the runs by count (all < T), stable. */
	memset(s->bucket, 0, (T + 2) * sizeof(*s->bucket));
	for (i = 0; i < s->nruns; i++)
		s->bucket[s->runs[i].r.count + 1]++;
	for (c = 1; c <= T + 1; c++)
		s->bucket[c] += s->bucket[c - 1];
	for (i = 0; i < s->nruns; i++)
		s->idx[s->bucket[s->runs[i].r.count]++] = (uint32_t)i;

	for (i = 0; i < s->nruns && budget > 0; i++) {
		struct slide_run *r = &s->runs[s->idx[i]];
		uint64_t per = 1ull << class_log(page_size, r->r.size);
		uint64_t n = budget / per;

		r->take = n < r->r.npages ? n : r->r.npages;
		budget -= r->take * per;
	}
}

/* Decide the buffered cold runs of one pid. */
static int
decide_pid(struct rank_ctx *ctx, const struct rank_period *per, uint32_t pid,
    struct err *e)
{
	struct slide *s = ctx->priv;
	const struct etmr_proc *p = rank_proc(per, pid);
	size_t i;

	if (!process_gate(s, p)) {
		s->pids_gated++;
		return 0;
	}
	if (s->cfg.dram_percent > 0)
		dram_select(s, p, per->page_size);
	for (i = 0; i < s->nruns; i++) {
		const struct slide_run *r = &s->runs[i];
		struct etmr_decision d = {
			.start = r->r.start,
			.npages = s->cfg.dram_percent > 0 ? r->take : r->r.npages,
			.start_time = p ? p->start_time : 0,
			.pid = pid,
			.score = r->r.count,
			.node = ETMR_NODE_NONE,
			.size = r->r.size,
			.action = ETMR_ACT_SWAP,
		};

		if (d.npages == 0)
			continue;
		if (rank_decide(ctx, &d, e) < 0)
			return -1;
		s->decided += d.npages;
		s->bytes += d.npages * ((uint64_t)per->page_size << class_log(per->page_size, d.size));
	}
	return 0;
}

static int
push_run(struct slide *s, const struct rank_run *r, struct err *e)
{
	if (s->nruns == s->runs_cap) {
		size_t ncap = s->runs_cap ? s->runs_cap * 2 : 256;
		struct slide_run *nr = realloc(s->runs, ncap * sizeof(*nr));
		uint32_t *ni;

		if (nr == NULL)
			return err_set(e, EX_OSERR, 0, "out of memory");
		s->runs = nr;
		s->runs_cap = ncap;
		ni = realloc(s->idx, ncap * sizeof(*ni));
		if (ni == NULL)
			return err_set(e, EX_OSERR, 0, "out of memory");
		s->idx = ni;
		s->idx_cap = ncap;
	}
	s->runs[s->nruns].r = *r;
	s->runs[s->nruns].take = 0;
	s->nruns++;
	return 0;
}

static int
slide_period(struct rank_ctx *ctx, const struct rank_period *per, struct err *e)
{
	struct slide *s = ctx->priv;
	int act = system_gate(s, per->facts), have_pid = 0;
	uint32_t pid = 0;
	struct rank_trk_iter it;
	struct rank_run r;

	s->pids = s->pids_gated = s->seen = s->hot = s->cold = 0;
	s->decided = s->bytes = 0;
	s->nruns = 0;
	rank_trk_iter_init(&it);
	while (rank_trk_next(per->trk, &it, &r)) {
		if (!have_pid || r.pid != pid) {
			if (have_pid && act && decide_pid(ctx, per, pid, e) < 0)
				return -1;
			if (have_pid && !act)
				s->pids_gated++;
			s->nruns = 0;
			pid = r.pid;
			have_pid = 1;
			s->pids++;
		}
		s->seen += r.npages;
		if (r.count >= (uint64_t)s->cfg.t) {
			s->hot += r.npages;
			continue;
		}
		s->cold += r.npages;
		if (act && push_run(s, &r, e) < 0)
			return -1;
	}
	if (have_pid && act && decide_pid(ctx, per, pid, e) < 0)
		return -1;
	if (have_pid && !act)
		s->pids_gated++;

	rank_stat(ctx, "pids", s->pids);
	rank_stat(ctx, "pids_gated", s->pids_gated);
	rank_stat(ctx, "pages_seen", s->seen);
	rank_stat(ctx, "pages_hot", s->hot);
	rank_stat(ctx, "pages_cold", s->cold);
	rank_stat(ctx, "pages_decided", s->decided);
	rank_stat(ctx, "bytes_decided", s->bytes);
	return 0;
}

const struct rank_ops rank_slide = {
	.name = "slide",
	.summary = "swap out pages idle in the period (the original's slide)",
	.synopsis = "-T N [--sysmem-threshold P] [--swap-threshold Ng] [--dram-percent P] [OPTIONS]",
	.description =
"Ranks the pages of each period for swapping, as openEuler etmem's slide\n"
"engine does, from a scanner's stream on stdin; writes decisions on stdout.\n"
"\n"
"Count. A page's count is the sum of its weights over the period's ROUNDs:\n"
"idle 0, accessed 1, dirty 3 (the scanner's ACCESS count); a page missing\n"
"from a round adds 0 for it. count >= T is hot and kept; count < T is cold.\n"
"So T=0 swaps nothing, T=1 swaps pages idle in every pass, T > loop swaps\n"
"every scanned page. T must lie in 0..3*loop, where loop comes from the\n"
"stream's ROUND frames; otherwise the stream is rejected (exit 65).\n"
"\n"
"Gates, from the PERIOD frame and the PROC items only (never /proc, so a\n"
"replay decides as the live run did). Without --sysmem-threshold every pid\n"
"is ranked. With it, nothing is done while MemFree*100/MemTotal >= P\n"
"(MemFree, not MemAvailable, as the original). Otherwise a pid is ranked\n"
"only if VmRSS > N GiB when --swap-threshold Ng is given, else only while\n"
"VmSwap < (VmRSS+VmSwap)/100*P (the same percentage reused as a cap on the\n"
"swapped share). As in the original, --swap-threshold has no effect\n"
"without --sysmem-threshold. A pid without a PROC item is not ranked when\n"
"a gate needs its facts.\n"
"\n"
"Selection. By default every cold page is swapped. With --dram-percent P,\n"
"(VmRSS+VmSwap)/100*P kB stay resident: the rest of VmRSS, in base pages,\n"
"is a budget filled with cold pages, lowest count first (address order\n"
"within a count), whole pages only. Unlike the original (which counted\n"
"every entry as one base page, overshooting up to 512x) a 2 MiB page costs\n"
"512 base pages of the budget.\n"
"\n"
"Output per period: the PROC items, then one swap decision (D) per run of\n"
"adjacent cold pages of one pid, size class and count, coldest first\n"
"(ascending score = count, then pid, then address), then S rank counters\n"
"(pids, pids_gated, pages_seen, pages_hot, pages_cold, pages_decided,\n"
"bytes_decided, decisions, tracker_bytes), then the PERIOD. Pages are\n"
"tracked in flat arrays (about 1 byte per page at most, far less for\n"
"uniform extents); a period needing more than 1 GiB of tracker is rejected.\n"
"\n"
"Policy simulator: 'etmem-rank slide --sweep < capture' replays a capture\n"
"under every T and prints bytes moved and predicted regret per setting\n"
"('etmem-rank slide --sweep --help').",
	.footer =
"Exit status: 0 done (END written, also after SIGTERM or a STOP request),\n"
"64 bad usage, 65 bad stream (message names the byte offset or line),\n"
"71 out of memory, 74 write error.\n"
"\n"
"Example:\n"
"  etmem-scan -p 42 --loop 3 | etmem-rank slide -T 1 | etmem-migrate swap\n"
"  etmem-rank slide -T 2 --dram-percent 80 --text < capture.etmr",
	.opts = slide_opts,
	.init = slide_init,
	.round = slide_round,
	.max_count = slide_max_count,
	.period = slide_period,
	.fini = slide_fini,
};
