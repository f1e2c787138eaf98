/* SPDX-License-Identifier: MIT */
/*
 * scan-smaps.c - the universal fallback: /proc/PID/clear_refs + smaps.
 *
 * prepare writes "1" to clear_refs (clears the accessed bits of every page
 * of the process); collect reads smaps and reports each selected VMA as one
 * extent (flag v): count 1 if its Referenced is > 0, else 0 (flag i). That
 * is all a mainline kernel without page_idle or DAMON vaddr can tell.
 * Caveat (kernel-interfaces.md §3.3): clear_refs 1 does not flush the TLB,
 * so accesses through cached translations can be missed — VMAs touched only
 * lightly may read as idle; the ranker's loop averaging absorbs some of it.
 */
#include "scan.h"

#include <errno.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "procfs.h"
#include "scan-common.h"

static int
smaps_probe(const struct scan_env *env, struct err *e)
{
	char path[PROCFS_PATH_MAX];

	(void)env;
	if (procfs_path(path, sizeof(path), "self/clear_refs") < 0)
		return err_set(e, EX_USAGE, errno, "clear_refs path");
	if (access(path, W_OK) < 0)
		return err_set(e, errno == ENOENT ? EX_UNAVAILABLE : EX_NOPERM,
		    errno, "backend smaps: cannot write '%s' (needs "
		    "CONFIG_PROC_PAGE_MONITOR)", path);
	return 0;
}

static int
smaps_prepare(struct scan_ctx *ctx, struct err *e)
{
	size_t i;

	for (i = 0; i < ctx->ntargets; i++) {
		struct scan_target *t = &ctx->targets[i];
		char path[PROCFS_PATH_MAX];

		if (procfs_path(path, sizeof(path), "%d/clear_refs", (int)t->pid) < 0)
			return err_set(e, EX_USAGE, errno, "clear_refs path");
		if (procfs_write_file(path, "1", e) < 0) {
			if (e->code == EX_NOINPUT || e->errnum == ESRCH) {
				scan_target_gone(ctx, t, "smaps", e->msg);
				continue;
			}
			return -1;
		}
	}
	return 0;
}

struct smaps_walk {
	struct scan_ctx *ctx;
	struct scan_target *t;
	struct scan_coalesce co;
	size_t next;            /* first selected VMA not yet matched */
	struct err *e;
};

static int
smaps_vma(const struct proc_vma *pv, void *arg)
{
	struct smaps_walk *sw = arg;
	const struct etmr_vma *v;
	struct etmr_access a;
	uint64_t unit;

	/* Both lists are in address order: advance past VMAs that vanished. */
	while (sw->next < sw->t->nvmas && sw->t->vmas[sw->next].end <= pv->start)
		sw->next++;
	if (sw->next >= sw->t->nvmas)
		return 0;
	v = &sw->t->vmas[sw->next];
	/* A VMA that changed shape since the period began is not reported:
	 * its V item no longer describes it. */
	if (v->start != pv->start || v->end != pv->end)
		return 0;
	sw->next++;
	unit = etmr_size_bytes(v->size, sw->ctx->env->page_size);
	memset(&a, 0, sizeof(a));
	a.pid = v->pid;
	a.start = v->start;
	a.npages = (v->end - v->start) / unit;
	a.size = v->size;
	a.node = ETMR_NODE_NONE;
	a.count = pv->referenced_kb > 0 ? 1 : 0;
	a.flags = ETMR_F_VMA | scan_vma_item_flags(v) |
	    (a.count == 0 ? ETMR_F_IDLE : 0);
	/* One record per VMA: never merged with the next. */
	if (scan_coalesce_add(&sw->co, &a, sw->e) < 0 ||
	    scan_coalesce_flush(&sw->co, sw->e) < 0)
		return -EIO;
	return 0;
}

static int
smaps_collect(struct scan_ctx *ctx, struct etmr_writer *w, struct err *e)
{
	size_t i;

	for (i = 0; i < ctx->ntargets; i++) {
		struct smaps_walk sw;
		int rc;

		memset(&sw, 0, sizeof(sw));
		sw.ctx = ctx;
		sw.t = &ctx->targets[i];
		sw.e = e;
		scan_coalesce_init(&sw.co, w, ctx->env->page_size, &ctx->cnt);
		rc = procfs_smaps_each(sw.t->pid, smaps_vma, &sw, e);
		if (rc < 0 && rc != -EIO && e->code == EX_NOINPUT) {
			scan_target_gone(ctx, sw.t, "smaps", e->msg);
			continue;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

const struct scan_ops scan_smaps = {
	.name = "smaps",
	.backend = ETMR_BACKEND_SMAPS,
	.probe = smaps_probe,
	.init = NULL,
	.prepare = smaps_prepare,
	.collect = smaps_collect,
	.fini = NULL,
};
