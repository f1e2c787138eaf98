/* SPDX-License-Identifier: MIT */
/*
 * mig-move-pages.c - NUMA demotion and promotion through move_pages(2)
 * (libnuma's numaif.h; kernel-interfaces §3.6), for cslide's decisions.
 *
 * Each validated range is cut into pages of the decision's size class (one
 * address per 2 MiB hugetlb page, not 512). A chunk of pages is first
 * queried (nodes = NULL) so that pages already on their target are counted
 * as such and cost no quota, and unmapped or swapped ones are counted and
 * left alone; the rest is moved, one target node per call, and every page's
 * status read back and counted. A positive return (pages not migrated) or
 * an error for one target node (ENODEV: no such node, EACCES: not in the
 * cpuset) costs only those pages: the rest of the batch goes on (unlike the
 * original, which dropped the round, W-27).
 *
 * Quota (--node-mig-quota, the second guard behind the ranker): per period,
 * the bytes moved into or out of any one node stay within the quota. Pairs
 * are disjoint, so this is the original's per-pair budget shared by both
 * directions without the migrator having to know the pairs.
 *
 * MPOL_MF_MOVE, not the original's MOVE_ALL: only pages this process maps
 * alone are moved, never memory shared with other processes (the core has
 * already skipped shared mappings).
 */
#include "migrate.h"

#include <errno.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "log.h"

#define MP_CHUNK 4096u   /* pages per move_pages call */

struct mp_priv {
	void *addr[MP_CHUNK];
	int node[MP_CHUNK];
	int status[MP_CHUNK];
	uint64_t bytes[MP_CHUNK];  /* page size of each entry */
	void *qaddr[MP_CHUNK];     /* query buffer */
	int qstatus[MP_CHUNK];
	uint64_t qbytes[MP_CHUNK];
	int qnode[MP_CHUNK];
	size_t nq;
};

static int
mp_probe(const struct mig_env *env, struct err *e)
{
	(void)env;
	if (numa_available() < 0)
		return err_set(e, EX_UNAVAILABLE, 0, "move_pages: this kernel has no "
		    "NUMA support (CONFIG_NUMA, CONFIG_MIGRATION)");
	return 0;
}

static int
mp_usable(const struct mig_env *env, pid_t pid)
{
	(void)env;
	(void)pid;
	return 1;
}

static int
mp_open(struct mig_ctx *ctx, struct err *e)
{
	struct mp_priv *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return err_set(e, EX_OSERR, errno, "move_pages: no memory for buffers");
	ctx->priv = p;
	return 0;
}

static void
mp_close(struct mig_ctx *ctx)
{
	free(ctx->priv);
	ctx->priv = NULL;
}

/* Count one page that was not moved, by the status the kernel gave. */
static void
count_refused(struct mig_stats *st, int status, uint64_t bytes)
{
	switch (status) {
	case -EBUSY:
		st->pages_busy++;
		break;
	case -ENOENT:
		st->pages_swapped++;
		break;
	case -EFAULT:
		st->pages_unmapped++;
		break;
	default:
		st->pages_failed++;
		break;
	}
	st->bytes_skipped += bytes;
}

static uint64_t *
ledger(struct mig_stats *st, int node)
{
	return node >= 0 && (unsigned)node < MIG_NODES_MAX ? &st->node_bytes[node] : NULL;
}

/* Whether moving `bytes` from node `from` to node `to` fits the quota; if
 * so it is charged (refunded by the caller when the move fails). */
static int
quota_take(const struct mig_env *env, struct mig_stats *st, int from, int to,
    uint64_t bytes)
{
	uint64_t *a = ledger(st, from), *b = ledger(st, to), q = env->node_quota_bytes;

	if (q == 0)
		return 1;
	if ((a != NULL && *a + bytes > q) || (b != NULL && *b + bytes > q))
		return 0;
	if (a != NULL)
		*a += bytes;
	if (b != NULL)
		*b += bytes;
	return 1;
}

static void
quota_refund(struct mig_stats *st, int from, int to, uint64_t bytes)
{
	uint64_t *a = ledger(st, from), *b = ledger(st, to);

	if (a != NULL)
		*a -= bytes < *a ? bytes : *a;
	if (b != NULL)
		*b -= bytes < *b ? bytes : *b;
}

/*
 * Move the n pages in p->addr to p->node[0] (one target per call). Returns
 * base pages moved, or -1 when nothing more can be done for the process.
 * p->status holds the source node of each page on entry (from the query).
 */
static long long
move_chunk(struct mig_ctx *ctx, struct mp_priv *p, size_t n, int *src,
    struct mig_stats *st, struct err *e)
{
	long rc;
	long long moved = 0;
	int target = p->node[0];

	for (size_t i = 0; i < n; i++)
		p->status[i] = INT32_MIN;  /* sentinel: untouched by the kernel */
	rc = move_pages(ctx->pid, n, p->addr, p->node, p->status, MPOL_MF_MOVE);
	if (rc < 0) {
		int err = errno;

		if (err == ESRCH)
			return err_set(e, EX_NOINPUT, err, "move_pages");
		if (err == EPERM)
			return err_set(e, EX_NOPERM, err, "move_pages (needs ptrace "
			    "access to the target and CAP_SYS_NICE)");
		/* ENODEV (no such node / no memory on it), EINVAL, EACCES
		 * (cpuset), ENOMEM, E2BIG: these pages only. */
		log_debug("pid %d: move_pages of %zu pages to node %d: %s",
		    (int)ctx->pid, n, target, strerror(err));
		for (size_t i = 0; i < n; i++) {
			quota_refund(st, src[i], target, p->bytes[i]);
			count_refused(st, -err, p->bytes[i]);
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (p->status[i] == target) {
			st->pages_moved++;
			moved += (long long)(p->bytes[i] / ctx->env->page_size);
			continue;
		}
		quota_refund(st, src[i], target, p->bytes[i]);
		/* A non-negative status other than the target: the kernel left
		 * the page where it was (counted in a positive return). */
		count_refused(st, p->status[i] >= 0 || p->status[i] == INT32_MIN
		    ? -EAGAIN : p->status[i], p->bytes[i]);
	}
	return moved;
}

/* Query the queued pages' nodes, count the ones that need no move, and move
 * the others, grouped by target node. */
static long long
flush(struct mig_ctx *ctx, struct mp_priv *p, struct mig_stats *st, struct err *e)
{
	static const size_t none = (size_t)-1;
	int src[MP_CHUNK];
	long long total = 0, got;
	size_t n = p->nq, done = 0;

	if (n == 0)
		return 0;
	p->nq = 0;
	for (size_t i = 0; i < n; i++)
		p->qstatus[i] = INT32_MIN;
	if (move_pages(ctx->pid, n, p->qaddr, NULL, p->qstatus, 0) < 0) {
		if (errno == ESRCH)
			return err_set(e, EX_NOINPUT, errno, "move_pages");
		return err_set(e, errno == EPERM ? EX_NOPERM : EX_OSERR, errno,
		    "move_pages (query of %zu pages)", n);
	}
	/* Pages to move, one target node at a time, in queue order. */
	while (done < n) {
		size_t k = 0, first = none;

		for (size_t i = 0; i < n; i++) {
			int s = p->qstatus[i];

			if (p->qaddr[i] == NULL)
				continue;          /* already handled */
			if (first == none)
				first = i;
			if (p->qnode[i] != p->qnode[first])
				continue;
			done++;
			if (s < 0) {
				count_refused(st, s, p->qbytes[i]);
			} else if (s == p->qnode[i]) {
				st->pages_already++;
			} else if (!quota_take(ctx->env, st, s, p->qnode[i], p->qbytes[i])) {
				st->pages_over_quota++;
				st->bytes_skipped += p->qbytes[i];
			} else {
				p->addr[k] = p->qaddr[i];
				p->node[k] = p->qnode[i];
				p->bytes[k] = p->qbytes[i];
				src[k++] = s;
			}
			p->qaddr[i] = NULL;
		}
		if (k == 0)
			continue;
		if ((got = move_chunk(ctx, p, k, src, st, e)) < 0)
			return -1;
		total += got;
	}
	return total;
}

static long long
mp_apply(struct mig_ctx *ctx, const struct mig_range *r, size_t n,
    struct mig_stats *st, struct err *e)
{
	struct mp_priv *p = ctx->priv;
	long long total = 0, got;
	uint64_t ps = ctx->env->page_size;

	if (p == NULL)
		BUG("move_pages apply without open");
	for (size_t i = 0; i < n; i++) {
		uint64_t stride = etmr_size_bytes(ctx->size, (uint32_t)ps);
		uint64_t end = r[i].start + r[i].npages * ps;

		if (stride < ps)
			stride = ps;
		for (uint64_t a = r[i].start; a < end; a += stride) {
			p->qaddr[p->nq] = (void *)(uintptr_t)a;
			p->qnode[p->nq] = ctx->node;
			p->qbytes[p->nq] = end - a < stride ? end - a : stride;
			if (++p->nq == MP_CHUNK) {
				if ((got = flush(ctx, p, st, e)) < 0)
					return -1;
				total += got;
			}
		}
	}
	if ((got = flush(ctx, p, st, e)) < 0)
		return -1;
	return total + got;
}

const struct mig_ops mig_move_pages = {
	.name = "move_pages",
	.action = ETMR_ACT_DEMOTE,   /* and ETMR_ACT_PROMOTE: migrate.c */
	.probe = mp_probe,
	.usable = mp_usable,
	.open = mp_open,
	.apply = mp_apply,
	.swapcache = NULL,
	.close = mp_close,
};
