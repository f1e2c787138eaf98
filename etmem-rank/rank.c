/* SPDX-License-Identifier: MIT */
/*
 * rank.c - etmem-rank's core: read the stream, group it into periods, feed
 * the tracker, let the engine decide at each PERIOD, then write the period
 * out in the ranker's order:  PROC* DECISION* STAT* PERIOD, and END last.
 *
 * The output is a function of the input only (no clock, no /proc, no hash
 * order): the same stream gives byte-identical decisions, so a capture
 * replays exactly. The policy itself lives in rank-<engine>.c.
 */
#include "rank.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "err.h"
#include "log.h"

#define COUNTING_SORT_SCORE_MAX (1u << 16)

const struct rank_ops *const rank_engines[] = { &rank_slide, &rank_cslide, &rank_plugin, &rank_exec, NULL };

const struct rank_ops *
rank_engine(const char *name)
{
	size_t i;

	for (i = 0; rank_engines[i] != NULL; i++)
		if (strcmp(rank_engines[i]->name, name) == 0)
			return rank_engines[i];
	return NULL;
}

int
rank_ctx_init(struct rank_ctx *ctx, const struct rank_ops *ops, uint32_t page_size,
    struct err *e)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->ops = ops;
	ctx->page_size = page_size;
	if (ops->init != NULL && ops->init(ctx, e) < 0)
		return -1;
	return 0;
}

void
rank_ctx_free(struct rank_ctx *ctx)
{
	if (ctx->ops != NULL && ctx->ops->fini != NULL)
		ctx->ops->fini(ctx);
	free(ctx->dec);
	ctx->dec = NULL;
	ctx->ndec = ctx->dec_cap = 0;
}

static uint64_t
class_bytes(uint32_t page_size, uint8_t size)
{
	uint32_t sh = (uint32_t)__builtin_ctz(page_size);

	if (size == 1)
		return 1ull << ((sh - 3) * 2 + 3);
	if (size == 2)
		return 1ull << ((sh - 3) * 3 + 3);
	return page_size;
}

int
rank_decide(struct rank_ctx *ctx, const struct etmr_decision *d, struct err *e)
{
	if (ctx->ndec > 0) {
		struct etmr_decision *p = &ctx->dec[ctx->ndec - 1];

		if (p->pid == d->pid && p->size == d->size && p->action == d->action &&
		    p->node == d->node && p->score == d->score &&
		    p->start_time == d->start_time &&
		    p->start + p->npages * class_bytes(ctx->page_size, p->size) == d->start) {
			p->npages += d->npages;
			return 0;
		}
	}
	if (ctx->ndec == ctx->dec_cap) {
		size_t ncap = ctx->dec_cap ? ctx->dec_cap * 2 : 1024;
		struct etmr_decision *nd;

		/* Bounded like the tracker: a hostile stream of alternating
		 * pages must not make us allocate without limit. */
		if (ctx->ndec >= RANK_DECISIONS_MAX)
			return err_set(e, EX_DATAERR, 0, "more than %u decisions in one period",
			    RANK_DECISIONS_MAX);
		if (ncap > RANK_DECISIONS_MAX)
			ncap = RANK_DECISIONS_MAX;
		nd = realloc(ctx->dec, ncap * sizeof(*nd));
		if (nd == NULL)
			return err_set(e, EX_OSERR, errno, "cannot grow the decision list");
		ctx->dec = nd;
		ctx->dec_cap = ncap;
	}
	ctx->dec[ctx->ndec++] = *d;
	return 0;
}

void
rank_stat(struct rank_ctx *ctx, const char *key, uint64_t value)
{
	struct etmr_stat *s;

	if (ctx->nstats >= RANK_STATS_MAX)
		BUG("too many rank counters");
	s = &ctx->stats[ctx->nstats++];
	memset(s, 0, sizeof(*s));
	s->period = ctx->period;
	s->stage = ETMR_STAGE_RANK;
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->value = value;
}

const struct etmr_proc *
rank_proc(const struct rank_period *p, uint32_t pid)
{
	size_t lo = 0, hi = p->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->procs[mid].pid == pid)
			return &p->procs[mid];
		if (p->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
dec_cmp(const void *pa, const void *pb, void *arg)
{
	const struct etmr_decision *dec = arg;
	const struct etmr_decision *a = &dec[*(const uint32_t *)pa];
	const struct etmr_decision *b = &dec[*(const uint32_t *)pb];

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

/*
 * Decisions arrive in (pid, address) order, so a stable counting sort by
 * score gives (score, pid, address) in linear time; that matters when a
 * fragmented process yields millions of runs. Large scores (other engines)
 * fall back to a comparison sort with the same order.
 */
int
rank_order(const struct rank_ctx *ctx, uint32_t *idx, struct err *e)
{
	uint32_t max = 0, *count;
	size_t i;

	for (i = 0; i < ctx->ndec; i++)
		if (ctx->dec[i].score > max)
			max = ctx->dec[i].score;
	if (max >= COUNTING_SORT_SCORE_MAX) {
		for (i = 0; i < ctx->ndec; i++)
			idx[i] = (uint32_t)i;
		qsort_r(idx, ctx->ndec, sizeof(*idx), dec_cmp, ctx->dec);
		return 0;
	}
	count = calloc((size_t)max + 2, sizeof(*count));
	if (count == NULL)
		return err_set(e, EX_OSERR, errno, "cannot order the decisions");
	for (i = 0; i < ctx->ndec; i++)
		count[ctx->dec[i].score + 1]++;
	for (i = 1; i <= (size_t)max + 1; i++)
		count[i] += count[i - 1];
	for (i = 0; i < ctx->ndec; i++)
		idx[count[ctx->dec[i].score]++] = (uint32_t)i;
	free(count);
	return 0;
}

/* ---- the stream loop ---- */

struct period_state {
	int in_period;          /* a ROUND was seen since the last PERIOD */
	uint32_t loop;
	uint64_t loop_where;    /* where the period's first ROUND was */
	struct etmr_proc *procs;  /* as read (forwarded in input order) */
	size_t nprocs, procs_cap;
	struct etmr_proc *sorted; /* by pid, one per pid, for the engine */
	size_t nsorted, sorted_cap;
	struct etmr_stat *ustats; /* upstream STAT items, forwarded */
	size_t nustats, ustats_cap;
	uint32_t *idx;          /* scratch: PROC order, then decision order */
	size_t idx_cap;
};

static int
grow(void **p, size_t *cap, size_t want, size_t elem, struct err *e)
{
	size_t ncap;
	void *n;

	if (*cap >= want)
		return 0;
	ncap = *cap ? *cap : 64;
	while (ncap < want)
		ncap *= 2;
	n = realloc(*p, ncap * elem);
	if (n == NULL)
		return err_set(e, EX_OSERR, errno, "out of memory");
	*p = n;
	*cap = ncap;
	return 0;
}

/* Order PROC indices by pid, then by position in the input. */
static int
proc_idx_cmp(const void *pa, const void *pb, void *arg)
{
	const struct etmr_proc *procs = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	if (procs[a].pid != procs[b].pid)
		return procs[a].pid < procs[b].pid ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* The engine's view of the PROC items: by pid, one per pid (the last one
 * read wins if a pid is listed twice). O(n log n) whatever the input. */
static int
sort_procs(struct period_state *ps, struct err *e)
{
	size_t i, n = 0;

	if (grow((void **)&ps->sorted, &ps->sorted_cap, ps->nprocs, sizeof(*ps->sorted), e) < 0 ||
	    grow((void **)&ps->idx, &ps->idx_cap, ps->nprocs, sizeof(*ps->idx), e) < 0)
		return -1;
	for (i = 0; i < ps->nprocs; i++)
		ps->idx[i] = (uint32_t)i;
	if (ps->nprocs > 1)     /* idx may still be NULL for a period without P items */
		qsort_r(ps->idx, ps->nprocs, sizeof(*ps->idx), proc_idx_cmp, ps->procs);
	for (i = 0; i < ps->nprocs; i++) {
		const struct etmr_proc *p = &ps->procs[ps->idx[i]];

		if (n > 0 && ps->sorted[n - 1].pid == p->pid)
			ps->sorted[n - 1] = *p;
		else
			ps->sorted[n++] = *p;
	}
	ps->nsorted = n;
	return 0;
}

static const char *
where_word(const struct rank_io *io)
{
	return etmr_reader_form(io->in) == ETMR_FORM_TEXT ? "line" : "byte offset";
}

static int
on_round(struct rank_ctx *ctx, struct rank_io *io, struct period_state *ps,
    struct rank_tracker *trk, const struct etmr_frame *f, struct err *e)
{
	const struct etmr_round *r = &f->round;

	if (ctx->ops->round != NULL &&
	    ctx->ops->round(ctx, r, f->offset, etmr_reader_form(io->in), e) < 0)
		return -1;
	if (!ps->in_period) {
		uint32_t maxc = ctx->ops->max_count ? ctx->ops->max_count(ctx, r->loop)
		    : (r->loop > UINT32_MAX / 3 ? UINT32_MAX : 3 * r->loop);

		ps->in_period = 1;
		ps->loop = r->loop;
		ps->loop_where = f->offset;
		rank_trk_reset(trk, maxc);
		return 0;
	}
	if (r->loop != ps->loop)
		return err_set(e, EX_DATAERR, 0,
		    "ROUND at %s %llu has loop=%u, but this period's ROUND at %s %llu has loop=%u",
		    where_word(io), (unsigned long long)f->offset, r->loop, where_word(io),
		    (unsigned long long)ps->loop_where, ps->loop);
	return 0;
}

static int
on_access(struct rank_ctx *ctx, struct rank_io *io, struct period_state *ps,
    struct rank_tracker *trk, const struct etmr_frame *f, struct err *e)
{
	size_t i;

	if (!ps->in_period)
		return err_set(e, EX_DATAERR, 0, "ACCESS at %s %llu comes before any ROUND of its period",
		    where_word(io), (unsigned long long)f->offset);
	for (i = 0; i < f->n; i++) {
		const struct etmr_access *a = &f->u.access[i];

		/* Holes and swapped-out pages are not resident: nothing to rank. */
		if (a->flags & (ETMR_F_HOLE | ETMR_F_SWAPPED))
			continue;
		if (rank_trk_add(trk, a->pid, a->start, a->npages, a->size, a->count, e) < 0 ||
		    (ctx->ops->access != NULL && ctx->ops->access(ctx, a, e) < 0))
			return err_prefix(e, "ACCESS at %s %llu (item %zu, pid %u)", where_word(io),
			    (unsigned long long)f->offset, i, a->pid);
	}
	return 0;
}

static void
update_ctl_stats(struct rank_ctx *ctx, struct ctl_stage *ctl)
{
	size_t i, off = 0;

	if (ctl == NULL)
		return;
	off += (size_t)snprintf(ctl->stats, sizeof(ctl->stats), "period %u\n", ctx->period);
	for (i = 0; i < ctx->nstats && off < sizeof(ctl->stats); i++)
		off += (size_t)snprintf(ctl->stats + off, sizeof(ctl->stats) - off, "%s %llu\n",
		    ctx->stats[i].key, (unsigned long long)ctx->stats[i].value);
}

/* A PERIOD: decide, then write PROC* DECISION* STAT* PERIOD. */
static int
on_period(struct rank_ctx *ctx, struct rank_io *io, struct period_state *ps,
    struct rank_tracker *trk, const struct etmr_frame *f, struct err *e)
{
	struct rank_period per;
	size_t i;

	ctx->period = f->period.period;
	ctx->ndec = 0;
	ctx->nstats = 0;
	if (!ps->in_period)
		rank_trk_reset(trk, 0);  /* a period without rounds: no pages */
	if (rank_trk_sort(trk, e) < 0)
		return -1;
	if (sort_procs(ps, e) < 0)
		return -1;
	per = (struct rank_period){
		.facts = &f->period, .procs = ps->sorted, .nprocs = ps->nsorted,
		.loop = ps->loop, .page_size = ctx->page_size, .trk = trk,
	};
	ctx->ustats = ps->ustats;
	ctx->nustats = ps->nustats;
	if (ctx->ops->period(ctx, &per, e) < 0)
		return err_prefix(e, "PERIOD %u at %s %llu", f->period.period, where_word(io),
		    (unsigned long long)f->offset);
	rank_stat(ctx, "decisions", ctx->ndec);
	rank_stat(ctx, "tracker_bytes", rank_trk_bytes(trk));

	if (grow((void **)&ps->idx, &ps->idx_cap, ctx->ndec, sizeof(*ps->idx), e) < 0 ||
	    rank_order(ctx, ps->idx, e) < 0)
		return -1;
	for (i = 0; i < ps->nprocs; i++)
		if (etmr_write_proc(io->out, &ps->procs[i], e) < 0)
			return -1;
	for (i = 0; i < ctx->ndec; i++)
		if (etmr_write_decision(io->out, &ctx->dec[ps->idx[i]], e) < 0)
			return -1;
	for (i = 0; i < ps->nustats; i++)
		if (etmr_write_stat(io->out, &ps->ustats[i], e) < 0)
			return -1;
	for (i = 0; i < ctx->nstats; i++)
		if (etmr_write_stat(io->out, &ctx->stats[i], e) < 0)
			return -1;
	if (etmr_write_period(io->out, &f->period, e) < 0)
		return -1;
	update_ctl_stats(ctx, io->ctl);
	log_debug("period %u: %zu decisions", f->period.period, ctx->ndec);

	ps->in_period = 0;
	ps->nprocs = 0;
	ps->nustats = 0;
	return 0;
}

static int
on_frame(struct rank_ctx *ctx, struct rank_io *io, struct period_state *ps,
    struct rank_tracker *trk, const struct etmr_frame *f, struct err *e)
{
	switch (f->type) {
	case ETMR_FRAME_ROUND:
		return on_round(ctx, io, ps, trk, f, e);
	case ETMR_FRAME_ACCESS:
		return on_access(ctx, io, ps, trk, f, e);
	case ETMR_FRAME_PROC:
		if (grow((void **)&ps->procs, &ps->procs_cap, ps->nprocs + f->n,
		    sizeof(*ps->procs), e) < 0)
			return -1;
		memcpy(ps->procs + ps->nprocs, f->u.proc, f->n * sizeof(*ps->procs));
		ps->nprocs += f->n;
		return 0;
	case ETMR_FRAME_STAT:
		if (grow((void **)&ps->ustats, &ps->ustats_cap, ps->nustats + f->n,
		    sizeof(*ps->ustats), e) < 0)
			return -1;
		memcpy(ps->ustats + ps->nustats, f->u.stat, f->n * sizeof(*ps->ustats));
		ps->nustats += f->n;
		return 0;
	case ETMR_FRAME_PERIOD:
		return on_period(ctx, io, ps, trk, f, e);
	default:
		/* VMA: the scanner's view, not needed to rank. DECISION from
		 * upstream: not ours to forward. Unknown: skipped. */
		return 0;
	}
}

int
rank_run(struct rank_ctx *ctx, struct rank_io *io, struct err *e)
{
	struct period_state ps;
	struct rank_tracker trk;
	struct etmr_frame f;
	int rc = 0, stop_after_period = 0;

	memset(&ps, 0, sizeof(ps));
	if (rank_trk_init(&trk, ctx->page_size, e) < 0)
		return -1;
	for (;;) {
		int r;

		/* SIGTERM (main() has pointed stdin at /dev/null, so the input
		 * ends after what was buffered) or STOP: finish the period in
		 * progress, if any, then end. */
		if (io->stop && *io->stop)
			stop_after_period = 1;
		if (io->ctl && io->ctl->enabled && ctl_stage_poll(io->ctl, 0) == 1)
			stop_after_period = 1;
		if (stop_after_period && !ps.in_period)
			break;
		/* Wait for input here rather than inside etmr_read(), so
		 * engine commands are answered while the scanner sleeps. */
		if (io->ctl && io->ctl->enabled && !etmr_reader_buffered(io->in) &&
		    ctl_stage_wait_fd(io->ctl, etmr_reader_fd(io->in)) == 1) {
			stop_after_period = 1;
			if (!ps.in_period)
				break;
		}
		r = etmr_read(io->in, &f, e);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r == 0 || f.type == ETMR_FRAME_END)
			break;
		if (on_frame(ctx, io, &ps, &trk, &f, e) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ps.in_period)
		log_warnx("input ended inside period (no PERIOD frame): its rounds are dropped");
	if (etmr_write_end(io->out, rc == 0 ? 0 : (uint32_t)(e && e->code ? e->code : EX_SOFTWARE),
	    rc == 0 ? e : NULL) < 0 && rc == 0)
		rc = -1;
	rank_trk_free(&trk);
	free(ps.procs);
	free(ps.sorted);
	free(ps.ustats);
	free(ps.idx);
	return rc;
}
