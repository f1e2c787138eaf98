/* SPDX-License-Identifier: MIT */
/*
 * migrate.c - etmem-migrate's core: the stream loop, per-period grouping of
 * decisions by process, identity checks, validation against the current
 * mappings, batching and counting. It never moves a page itself: the
 * backends (mig-*.c) do, through struct mig_ops. It is not the decision
 * maker either: it does exactly what the DECISION items say, or counts why
 * it did not.
 */
#include "migrate.h"

#include <sys/syscall.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "procfs.h"

#define MIG_DECISIONS_MAX (16u << 20)  /* per period; bounds a hostile stream */

volatile sig_atomic_t mig_stopping;

#define K(f) { #f, offsetof(struct mig_stats, f) }
const struct mig_stat_key mig_stat_keys[] = {
	K(decisions), K(processes), K(bytes_requested), K(bytes_accepted),
	K(bytes_swapped), K(bytes_skipped), K(skipped_vanished),
	K(skipped_recycled), K(skipped_filtered), K(skipped_unmapped),
	K(skipped_special), K(skipped_shared), K(skipped_locked),
	K(skipped_unsupported), K(skipped_failed), K(skipped_stopped),
	K(swapcache_reclaims), K(pages_moved), K(pages_already), K(pages_busy),
	K(pages_swapped), K(pages_unmapped), K(pages_failed), K(pages_over_quota),
};
#undef K
const size_t mig_stat_nkeys = sizeof(mig_stat_keys) / sizeof(mig_stat_keys[0]);

static uint64_t *
stat_at(struct mig_stats *st, size_t i)
{
	return (uint64_t *)((char *)st + mig_stat_keys[i].off);
}

void
mig_stats_text(const struct mig_stats *st, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < mig_stat_nkeys && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s %" PRIu64 "\n",
		    mig_stat_keys[i].key, *stat_at((struct mig_stats *)st, i));
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

int
mig_swapcache_due(uint64_t mem_total_kb, uint64_t swap_cached_kb, unsigned high)
{
	/* The original fires when MemTotal / SwapCached < 100 / high in integer
	 * arithmetic (about 33 % for high = 30, W-14); this is what it meant:
	 * the swap cache holds more than high % of RAM. */
	if (swap_cached_kb == 0 || high == 0)
		return 0;
	return swap_cached_kb * 100 > mem_total_kb * (uint64_t)high;
}

void
mig_ranges_free(struct mig_ranges *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

static int
ranges_push(struct mig_ranges *r, uint64_t start, uint64_t npages, struct err *e)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct mig_range *v = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return err_set(e, EX_OSERR, errno, "cannot grow the range list to %zu", cap);
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct mig_range){ start, npages };
	return 0;
}

/* Byte sums saturate: a hostile page count must not wrap a counter. */
static void
add_sat(uint64_t *a, uint64_t b)
{
	*a = *a > UINT64_MAX - b ? UINT64_MAX : *a + b;
}

/* Count a skipped piece [s, e) under the counter that says why. */
static void
skip(struct mig_stats *st, uint64_t *counter, uint64_t s, uint64_t e)
{
	(*counter)++;
	add_sat(&st->bytes_skipped, e - s);
}

/* First VMA whose end is above addr (v is address ordered). */
static size_t
vma_lower(const struct mig_vma *v, size_t nv, uint64_t addr)
{
	size_t lo = 0, hi = nv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
mig_clip(const struct etmr_decision *d, uint32_t stream_page, uint32_t page_size,
    const struct mig_vma *v, size_t nv, struct mig_ranges *out,
    struct mig_stats *st, struct err *e)
{
	uint64_t unit = etmr_size_bytes(d->size, stream_page);
	uint64_t mask = (uint64_t)page_size - 1, start, end, cur;
	size_t i;

	if (unit == 0 || d->npages == 0)
		return 0;
	/* A range past the top of the address space is cut there: no mapping
	 * can lie beyond it anyway. */
	start = d->start & ~mask;
	if (d->npages > (UINT64_MAX - d->start) / unit)
		end = UINT64_MAX & ~mask;
	else
		end = d->start + d->npages * unit;
	if (end & mask)
		end = end > (UINT64_MAX & ~mask) ? (UINT64_MAX & ~mask) : (end | mask) + 1;
	cur = start;
	for (i = vma_lower(v, nv, start); i < nv && cur < end; i++) {
		uint64_t s = v[i].start > cur ? v[i].start : cur;
		uint64_t t = v[i].end < end ? v[i].end : end;

		if (s >= end)
			break;
		if (s > cur)
			skip(st, &st->skipped_unmapped, cur, s);
		switch (v[i].kind) {
		case MIG_VMA_SPECIAL:
			skip(st, &st->skipped_special, s, t);
			break;
		case MIG_VMA_SHARED:
			skip(st, &st->skipped_shared, s, t);
			break;
		case MIG_VMA_LOCKED:
			skip(st, &st->skipped_locked, s, t);
			break;
		case MIG_VMA_OK:
			/* Pieces never cross a VMA (one iovec, one VMA) and stay
			 * small enough that a batch cannot be cut short by the
			 * kernel's MAX_RW_COUNT. */
			for (uint64_t a = s; a < t; ) {
				uint64_t n = t - a > MIG_RANGE_BYTES_MAX ? MIG_RANGE_BYTES_MAX : t - a;

				if (ranges_push(out, a, n / page_size, e) < 0)
					return -1;
				a += n;
			}
			break;
		}
		cur = t;
	}
	if (cur < end)
		skip(st, &st->skipped_unmapped, cur, end);
	return 0;
}

/* ---- one process ---- */

struct vma_load {
	struct mig_vma *v;
	size_t n, cap;
	int smaps;
};

static int
vma_has_flag(const char *vmflags, const char *flag)
{
	size_t n = strlen(flag);
	const char *p = vmflags;

	while ((p = strstr(p, flag)) != NULL) {
		if ((p == vmflags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static int
vma_add(const struct proc_vma *pv, void *arg)
{
	struct vma_load *l = arg;
	enum mig_vma_kind kind = MIG_VMA_OK;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct mig_vma *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (procfs_vma_is_special(pv))
		kind = MIG_VMA_SPECIAL;
	else if (pv->perms[3] == 's')
		kind = MIG_VMA_SHARED;
	else if (l->smaps && vma_has_flag(pv->vmflags, "lo"))
		kind = MIG_VMA_LOCKED;
	l->v[l->n++] = (struct mig_vma){ pv->start, pv->end, kind };
	return 0;
}

/* VmLck of pid in kB; 0 when unknown (then no VMA is treated as locked). */
static uint64_t
vm_locked_kb(pid_t pid)
{
	char path[PROCFS_PATH_MAX], buf[8192];
	const char *p;

	if (procfs_path(path, sizeof(path), "%d/status", (int)pid) < 0 ||
	    procfs_read_file(path, buf, sizeof(buf), NULL) < 0)
		return 0;
	p = strstr(buf, "\nVmLck:");
	return p ? strtoull(p + 7, NULL, 10) : 0;
}

/* Per-run state of the core. */
struct mig {
	const struct mig_env *env;
	struct ctl_stage *ctl;
	uint32_t stream_page;
	struct etmr_decision *pend;     /* decisions of the open period */
	size_t npend, cappend;
	struct mig_stats st;            /* the period being acted on */
	int madvise_ok;                 /* mig_madvise.probe passed */
	int wmark_sent;                 /* SET_SWAPCACHE_WMARK done this run */
	int swapcache_checked;          /* this period */
	int meminfo_warned;
	int stop_asked;                 /* ctl STOP: end after this period */
};

static int
dec_cmp(const void *a, const void *b)
{
	const struct etmr_decision *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start_time != y->start_time)
		return x->start_time < y->start_time ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static uint64_t
dec_bytes(const struct mig *m, const struct etmr_decision *d)
{
	uint64_t unit = etmr_size_bytes(d->size, m->stream_page);

	if (unit == 0 || d->npages > UINT64_MAX / unit)
		return UINT64_MAX;
	return d->npages * unit;
}

/* Skip a whole group under one counter. */
static void
skip_group(struct mig *m, const struct etmr_decision *d, size_t n, uint64_t *counter)
{
	for (size_t i = 0; i < n; i++) {
		(*counter)++;
		add_sat(&m->st.bytes_skipped, dec_bytes(m, &d[i]));
	}
}

static int
pid_allowed(const struct mig_env *env, pid_t pid)
{
	if (env->n_only == 0)
		return 1;
	for (size_t i = 0; i < env->n_only; i++)
		if (env->only[i] == pid)
			return 1;
	return 0;
}

static const struct mig_ops *
choose_ops(const struct mig *m, pid_t pid)
{
	if (m->env->force != NULL)
		return m->env->force;
	if (mig_swap_pages.usable(m->env, pid))
		return &mig_swap_pages;
	return m->madvise_ok ? &mig_madvise : NULL;
}

static void
print_plan(const struct mig_ctx *ctx, const struct mig_ops *ops,
    const struct mig_ranges *r)
{
	for (size_t i = 0; i < r->n; i++) {
		uint64_t bytes = r->v[i].npages * ctx->env->page_size;

		const char *act = etmr_action_name(ctx->action);
		char node[16] = "";

		if (ctx->action != ETMR_ACT_SWAP && act != NULL)
			snprintf(node, sizeof(node), " node %u", ctx->node);
		fprintf(stderr, "plan: pid %d %s%s 0x%" PRIx64 "-0x%" PRIx64
		    " %" PRIu64 " pages (%" PRIu64 " KiB) via %s\n",
		    (int)ctx->pid, act ? act : "swap", node, r->v[i].start,
		    r->v[i].start + bytes, r->v[i].npages, bytes >> 10, ops->name);
	}
}

static void
swapcache_check(struct mig *m, const struct mig_ops *ops, struct mig_ctx *ctx)
{
	const struct mig_env *env = m->env;
	struct meminfo mi;
	struct err e;

	if (env->wmark_high == 0 || ops->swapcache == NULL || m->swapcache_checked)
		return;
	m->swapcache_checked = 1;
	if (procfs_meminfo(&mi, &e) < 0) {
		if (!m->meminfo_warned++)
			log_warnx("swapcache: %s", e.msg);
		return;
	}
	if (!mig_swapcache_due(mi.mem_total_kb, mi.swap_cached_kb, env->wmark_high))
		return;
	if (ops->swapcache(ctx, env->wmark_high, env->wmark_low, !m->wmark_sent, &e) < 0) {
		log_warnx("swapcache: %s", e.msg);
		return;
	}
	m->wmark_sent = 1;
	m->st.swapcache_reclaims++;
}

/* Hand the ranges to ops in batches; stop early on SIGTERM/STOP. */
static void
apply_batches(struct mig *m, const struct mig_ops *ops, struct mig_ctx *ctx,
    const struct mig_ranges *r)
{
	struct err e;
	size_t i = 0;

	while (i < r->n) {
		size_t n = r->n - i > MIG_BATCH_MAX ? MIG_BATCH_MAX : r->n - i;
		long long got;

		if (m->ctl != NULL && m->ctl->enabled && ctl_stage_poll(m->ctl, 0) == 1)
			mig_stopping = 1;
		if (mig_stopping)
			break;
		err_clear(&e);
		got = ops->apply(ctx, r->v + i, n, &m->st, &e);
		if (got < 0) {
			uint64_t *why = e.errnum == ESRCH ? &m->st.skipped_vanished
			    : &m->st.skipped_failed;

			if (e.errnum != ESRCH)
				log_warnx("pid %d: %s", (int)ctx->pid, e.msg);
			for (; i < r->n; i++)
				skip(&m->st, why, 0, r->v[i].npages * m->env->page_size);
			return;
		}
		m->st.bytes_accepted += (uint64_t)got * m->env->page_size;
		i += n;
	}
	for (; i < r->n; i++)
		skip(&m->st, &m->st.skipped_stopped, 0, r->v[i].npages * m->env->page_size);
}

/*
 * Whether the process the pidfd names still holds its pid. A pidfd keeps
 * the struct pid, not the number: once the process is reaped the number can
 * be reused. So what we read or opened by /proc/PID path is known to be
 * the pinned process's only if it is still alive (or a zombie, which keeps
 * its pid) after the read or open.
 */
static int
still_ours(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* Pin pid with a pidfd and check its start time; -1 = skipped (counted). */
static int
pin(struct mig *m, const struct etmr_decision *d, size_t n, struct mig_ctx *ctx)
{
	struct err e = { 0 };
	struct proc_stat ps;

	/* The pidfd pins the process: process_madvise acts on it whatever
	 * happens to the pid number, and still_ours() tells whether what we
	 * read or opened by path was really this process's. */
	ctx->pidfd = (int)syscall(SYS_pidfd_open, ctx->pid, 0);
	if (ctx->pidfd < 0) {
		if (errno != ESRCH)
			log_warn("pid %d: pidfd_open", (int)ctx->pid);
		skip_group(m, d, n, &m->st.skipped_vanished);
		return -1;
	}
	if (procfs_pid_stat(ctx->pid, &ps, &e) < 0 || !still_ours(ctx->pidfd)) {
		if (e.code != 0 && e.code != EX_NOINPUT && still_ours(ctx->pidfd))
			log_err(&e);
		skip_group(m, d, n, &m->st.skipped_vanished);
		return -1;
	}
	if (d[0].start_time != 0 && d[0].start_time != ps.start_time) {
		log_debug("pid %d: start time %" PRIu64 ", decisions name %" PRIu64,
		    (int)ctx->pid, ps.start_time, d[0].start_time);
		skip_group(m, d, n, &m->st.skipped_recycled);
		return -1;
	}
	return 0;
}

/* The current mappings of the pinned process; -1 if it vanished. */
static int
load_vmas(const struct mig_ctx *ctx, struct vma_load *vl)
{
	struct err e = { 0 };
	int rc;

	/* Locked VMAs are only visible in smaps' VmFlags, which costs a page
	 * table walk: read smaps only when the process has locked memory. */
	vl->smaps = vm_locked_kb(ctx->pid) > 0;
	rc = vl->smaps ? procfs_smaps_each(ctx->pid, vma_add, vl, &e)
	    : procfs_maps_each(ctx->pid, vma_add, vl, &e);
	if (rc < 0 && e.code != EX_NOINPUT && still_ours(ctx->pidfd))
		log_err(&e);
	return rc < 0 || !still_ours(ctx->pidfd) ? -1 : 0;
}

/* Open the backend for the process, apply all ranges, close. */
static void
act_ranges(struct mig *m, const struct mig_ops *ops, struct mig_ctx *ctx,
    const struct mig_ranges *r)
{
	uint64_t ps = m->env->page_size;
	struct err e = { 0 };
	uint64_t *why = &m->st.skipped_vanished;

	if (ops->open != NULL && ops->open(ctx, &e) < 0) {
		if (e.errnum != ESRCH) {
			log_warnx("pid %d: %s", (int)ctx->pid, e.msg);
			why = &m->st.skipped_failed;
		}
		for (size_t i = 0; i < r->n; i++)
			skip(&m->st, why, 0, r->v[i].npages * ps);
		return;
	}
	if (!still_ours(ctx->pidfd)) {
		/* What open() opened by path may be another process's. */
		for (size_t i = 0; i < r->n; i++)
			skip(&m->st, why, 0, r->v[i].npages * ps);
	} else {
		apply_batches(m, ops, ctx, r);
		swapcache_check(m, ops, ctx);
	}
	if (ops->close != NULL)
		ops->close(ctx);
}

/* Whether this subcommand does action a. */
static int
action_pass(const struct mig *m, uint8_t a)
{
	if (m->env->force == &mig_move_pages)
		return a == ETMR_ACT_DEMOTE || a == ETMR_ACT_PROMOTE;
	return a == ETMR_ACT_SWAP;
}

/* numa order within a process: demotions first, as the original, so the
 * promoted pages find the room the demotions made. */
static int
numa_cmp(const void *a, const void *b)
{
	const struct etmr_decision *x = a, *y = b;

	if (x->action != y->action)
		return x->action == ETMR_ACT_DEMOTE ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Decisions a backend can take in one apply(): numa needs one action, node
 * and size class per call; swap takes any. */
static int
same_group(const struct mig *m, const struct etmr_decision *a,
    const struct etmr_decision *b)
{
	if (m->env->force != &mig_move_pages)
		return 1;
	return a->action == b->action && a->node == b->node && a->size == b->size;
}

/* Validate and act on the decisions of one (pid, start time). */
static void
do_process(struct mig *m, const struct etmr_decision *d, size_t n)
{
	const struct mig_env *env = m->env;
	struct mig_ctx ctx = { .env = env, .pid = (pid_t)d[0].pid, .pidfd = -1 };
	struct vma_load vl = { 0 };
	struct mig_ranges r = { 0 };
	struct proc_status before, after;
	const struct mig_ops *ops;
	struct err e = { 0 };
	int have_before;

	if (!pid_allowed(env, ctx.pid)) {
		skip_group(m, d, n, &m->st.skipped_filtered);
		return;
	}
	if (pin(m, d, n, &ctx) < 0)
		goto out;
	if ((ops = choose_ops(m, ctx.pid)) == NULL) {
		skip_group(m, d, n, &m->st.skipped_unsupported);
		goto out;
	}
	m->st.processes++;
	have_before = procfs_pid_status(ctx.pid, &before, NULL) == 0;
	if (load_vmas(&ctx, &vl) < 0) {
		skip_group(m, d, n, &m->st.skipped_vanished);
		goto out;
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && same_group(m, &d[i], &d[j]); j++)
			;
		r.n = 0;
		for (size_t k = i; k < j; k++) {
			if (mig_clip(&d[k], m->stream_page, env->page_size, vl.v, vl.n,
			    &r, &m->st, &e) < 0) {
				log_err(&e);
				skip_group(m, d + k, n - k, &m->st.skipped_failed);
				goto out;
			}
		}
		ctx.node = d[i].node;
		ctx.size = d[i].size;
		ctx.action = d[i].action;
		if (env->dry_run)
			print_plan(&ctx, ops, &r);
		else if (r.n > 0)
			act_ranges(m, ops, &ctx, &r);
	}
	if (!env->dry_run && have_before &&
	    procfs_pid_status(ctx.pid, &after, NULL) == 0 && after.swap_kb > before.swap_kb)
		m->st.bytes_swapped += (after.swap_kb - before.swap_kb) << 10;
out:
	mig_ranges_free(&r);
	free(vl.v);
	if (ctx.pidfd >= 0)
		close(ctx.pidfd);
}

/* Act on every pending decision; the counters go to m->st. */
static void
act(struct mig *m)
{
	size_t i = 0, j;

	m->swapcache_checked = 0;
	if (m->npend > 1)
		qsort(m->pend, m->npend, sizeof(*m->pend), dec_cmp);
	for (i = 0; i < m->npend; i++) {
		m->st.decisions++;
		add_sat(&m->st.bytes_requested, dec_bytes(m, &m->pend[i]));
	}
	for (i = 0; i < m->npend; i = j) {
		size_t n;

		for (j = i + 1; j < m->npend && m->pend[j].pid == m->pend[i].pid &&
		    m->pend[j].start_time == m->pend[i].start_time; j++)
			;
		if (mig_stopping) {
			skip_group(m, m->pend + i, j - i, &m->st.skipped_stopped);
			continue;
		}
		/* Actions this subcommand cannot do are counted, not dropped:
		 * move them out of the group first (stable: same pid anyway). */
		n = 0;
		for (size_t k = i; k < j; k++) {
			if (action_pass(m, m->pend[k].action) != 0)
				m->pend[i + n++] = m->pend[k];
			else
				skip_group(m, &m->pend[k], 1, &m->st.skipped_unsupported);
		}
		/* numa: demotions (action 2) before promotions (3), one target
		 * node and page size at a time (do_process groups them). */
		if (m->env->force == &mig_move_pages && n > 1)
			qsort(m->pend + i, n, sizeof(*m->pend), numa_cmp);
		if (n > 0)
			do_process(m, m->pend + i, n);
	}
	m->npend = 0;
}

static void
log_period(const struct mig *m, uint32_t period)
{
	const struct mig_stats *st = &m->st;
	char skips[512] = "";
	size_t o = 0;

	for (size_t i = 0; i < mig_stat_nkeys; i++) {
		const char *k = mig_stat_keys[i].key;
		uint64_t v = *stat_at((struct mig_stats *)st, i);

		if (strncmp(k, "skipped_", 8) != 0 || v == 0 || o >= sizeof(skips))
			continue;
		o += (size_t)snprintf(skips + o, sizeof(skips) - o, "%s%s %" PRIu64,
		    o ? ", " : "; skipped: ", k + 8, v);
	}
	log_info("period %u: %" PRIu64 " decisions for %" PRIu64 " processes, "
	    "requested %" PRIu64 " KiB, accepted %" PRIu64 " KiB, swapped %" PRIu64
	    " KiB%s%s", period, st->decisions, st->processes, st->bytes_requested >> 10,
	    st->bytes_accepted >> 10, st->bytes_swapped >> 10,
	    m->env->dry_run ? " (dry run)" : "", skips);
}

static int
write_stats(struct mig *m, struct etmr_writer *w, uint32_t period, struct err *e)
{
	for (size_t i = 0; i < mig_stat_nkeys; i++) {
		struct etmr_stat s = { .period = period, .stage = ETMR_STAGE_MIGRATE,
		    .value = *stat_at(&m->st, i) };

		snprintf(s.key, sizeof(s.key), "%s", mig_stat_keys[i].key);
		if (etmr_write_stat(w, &s, e) < 0)
			return -1;
	}
	log_period(m, period);
	if (m->ctl != NULL)
		mig_stats_text(&m->st, m->ctl->stats, sizeof(m->ctl->stats));
	memset(&m->st, 0, sizeof(m->st));
	return 0;
}

static int
pend_add(struct mig *m, const struct etmr_frame *f, struct err *e)
{
	if (f->n > MIG_DECISIONS_MAX - m->npend)
		return err_set(e, EX_DATAERR, 0, "<stdin>: %s frame at %" PRIu64
		    ": more than %u decisions in one period", etmr_frame_name(f->type),
		    f->offset, MIG_DECISIONS_MAX);
	if (m->npend + f->n > m->cappend) {
		size_t cap = m->cappend ? m->cappend : 1024;
		struct etmr_decision *v;

		while (cap < m->npend + f->n)
			cap *= 2;
		v = realloc(m->pend, cap * sizeof(*v));
		if (v == NULL)
			return err_set(e, EX_OSERR, errno, "cannot keep %zu decisions", cap);
		m->pend = v;
		m->cappend = cap;
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct etmr_decision *d = &f->u.decision[i];

		if (etmr_size_name(d->size) == NULL)
			return err_set(e, EX_DATAERR, 0, "<stdin>: DECISION frame at %" PRIu64
			    ": item %zu: bad page size class %u", f->offset, i, d->size);
		m->pend[m->npend++] = *d;
	}
	return 0;
}

/* One frame of the input: keep decisions, pass counters on, act at PERIOD.
 * PROC, VMA, ROUND, ACCESS are not ours: decisions carry the identity. */
static int
frame(struct mig *m, struct etmr_writer *w, const struct etmr_frame *f,
    uint32_t *last, struct err *e)
{
	switch (f->type) {
	case ETMR_FRAME_DECISION:
		return pend_add(m, f, e);
	case ETMR_FRAME_STAT:
		/* Upstream counters travel on, so the end of the pipe sees
		 * every stage's view of the period. */
		return etmr_write_frame(w, f, e);
	case ETMR_FRAME_PERIOD:
		act(m);
		*last = f->period.period;
		if (write_stats(m, w, *last, e) < 0)
			return -1;
		return etmr_write_frame(w, f, e);
	default:
		return 0;
	}
}

int
mig_run(const struct mig_run_opts *o, int in_fd, int out_fd, struct err *e)
{
	struct mig m = { .env = o->env, .ctl = o->ctl };
	struct etmr_reader *r = NULL;
	struct etmr_writer *w = NULL;
	struct etmr_header h;
	struct etmr_frame f;
	struct err pe;
	uint32_t last = 0;
	int status = 0, rc;

	m.madvise_ok = mig_madvise.probe(o->env, &pe) == 0;
	if (!m.madvise_ok && o->env->force == NULL)
		log_debug("%s", pe.msg);
	if ((r = etmr_reader_open(in_fd, "<stdin>", e)) == NULL) {
		if (!mig_stopping)
			return e->code ? e->code : EX_DATAERR;
		/* SIGTERM before the first byte: still end the stream. */
		memset(&h, 0, sizeof(h));
		h.version = ETMR_VERSION;
		h.page_size = o->env->page_size;
		if ((w = etmr_writer_open(out_fd, o->text ? ETMR_FORM_TEXT
		    : ETMR_FORM_BINARY, &h, e)) == NULL)
			return e->code ? e->code : EX_IOERR;
		goto end;
	}
	h = *etmr_reader_header(r);
	m.stream_page = h.page_size ? h.page_size : o->env->page_size;
	if (m.stream_page != o->env->page_size) {
		err_set(e, EX_DATAERR, 0, "<stdin>: stream page size %u is not "
		    "this system's %u: the decisions are for another host",
		    m.stream_page, o->env->page_size);
		status = EX_DATAERR;
		goto out;
	}
	if ((w = etmr_writer_open(out_fd, o->text ? ETMR_FORM_TEXT : ETMR_FORM_BINARY,
	    &h, e)) == NULL) {
		status = e->code ? e->code : EX_IOERR;
		goto out;
	}
	for (;;) {
		/* STOP (ctl.h): finish the current period, then END. */
		if (o->ctl != NULL && o->ctl->enabled && ctl_stage_poll(o->ctl, 0) == 1)
			m.stop_asked = 1;
		if (mig_stopping || (m.stop_asked && m.npend == 0))
			break;
		/* Wait for input here, serving STATS meanwhile. */
		if (o->ctl != NULL && o->ctl->enabled && !etmr_reader_buffered(r) &&
		    ctl_stage_wait_fd(o->ctl, etmr_reader_fd(r)) == 1) {
			m.stop_asked = 1;
			if (m.npend == 0)
				break;
		}
		rc = etmr_read(r, &f, e);
		if (rc < 0 && mig_stopping)
			break;   /* read interrupted by SIGTERM */
		if (rc < 0) {
			status = e->code ? e->code : EX_DATAERR;
			m.npend = 0;  /* bad input changes nothing */
			break;
		}
		if (rc == 0 || f.type == ETMR_FRAME_END) {
			if (rc == 1 && f.end.status != 0)
				log_warnx("upstream ended with status %u", f.end.status);
			break;
		}
		if ((rc = frame(&m, w, &f, &last, e)) < 0) {
			status = e->code ? e->code : EX_IOERR;
			m.npend = 0;
			break;
		}
		if (f.type == ETMR_FRAME_PERIOD && m.stop_asked)
			break;
	}
	if (m.npend > 0) {
		/* Decisions without their PERIOD: the upstream ended early.
		 * They are still decisions, so act (or count them stopped). */
		act(&m);
		if (write_stats(&m, w, last + 1, e) < 0 && status == 0)
			status = e->code ? e->code : EX_IOERR;
	}
end:
	if (etmr_write_end(w, (uint32_t)status, &pe) < 0 && status == 0) {
		*e = pe;
		status = e->code ? e->code : EX_IOERR;
	}
out:
	if (w != NULL)
		etmr_writer_close(w, &pe);
	if (r != NULL)
		etmr_reader_close(r);
	free(m.pend);
	return status;
}
