/* SPDX-License-Identifier: MIT */
/*
 * scan-page-idle.c - mainline idle page tracking (CONFIG_IDLE_PAGE_TRACKING):
 * /proc/PID/pagemap gives each page's PFN, /sys/kernel/mm/page_idle/bitmap
 * marks PFNs idle (write) and tells which stayed idle (read).
 *
 * prepare (every pass): read the PFNs of the selected VMAs, write their
 * idle bits. collect: re-read pagemap, drop pages whose PFN changed
 * (migrated or reused: their bit says nothing), read the bits. Per
 * kernel-interfaces.md §3.1 only a THP's head PFN is tracked, so a 2 MiB
 * aligned block of 512 present, physically contiguous, 512-aligned PFNs is
 * treated as one THP (that is how a THP looks in pagemap) and reported as
 * one 2M unit. Not present pages give no record.
 */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "procfs.h"
#include "scan-common.h"

#define PM_PRESENT    (1ull << 63)
#define PM_PFN_MASK   ((1ull << 55) - 1)
#define PM_BATCH      4096u       /* pagemap entries per pread */
#define THP_PAGES     512u

struct pi_target {
	pid_t pid;
	uint64_t *pfn;                /* per base page of the selected VMAs; 0 = none */
	size_t npages;
};

struct pi_priv {
	int bitmap_fd;
	struct pi_target *t;
	size_t nt;
};

static int
bitmap_path(char *buf, size_t len)
{
	return sysfs_path(buf, len, "kernel/mm/page_idle/bitmap");
}

static int
pi_probe(const struct scan_env *env, struct err *e)
{
	char path[PROCFS_PATH_MAX];

	(void)env;
	if (bitmap_path(path, sizeof(path)) < 0)
		return err_set(e, EX_USAGE, errno, "page_idle path");
	if (access(path, F_OK) < 0)
		return err_set(e, EX_UNAVAILABLE, 0, "backend page_idle: '%s' "
		    "does not exist: needs a kernel built with "
		    "CONFIG_IDLE_PAGE_TRACKING", path);
	if (access(path, R_OK | W_OK) < 0)
		return err_set(e, EX_NOPERM, errno, "backend page_idle: cannot "
		    "open '%s' (root only)", path);
	return 0;
}

static int
pi_init(struct scan_ctx *ctx, struct err *e)
{
	char path[PROCFS_PATH_MAX];
	struct pi_priv *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "page_idle state");
	ctx->priv = p;
	if (bitmap_path(path, sizeof(path)) < 0)
		return err_set(e, EX_USAGE, errno, "page_idle path");
	p->bitmap_fd = open(path, O_RDWR | O_CLOEXEC);
	if (p->bitmap_fd < 0)
		return err_set(e, EX_NOPERM, errno, "cannot open '%s'", path);
	return 0;
}

static void
pi_free_targets(struct pi_priv *p)
{
	size_t i;

	for (i = 0; i < p->nt; i++)
		free(p->t[i].pfn);
	free(p->t);
	p->t = NULL;
	p->nt = 0;
}

static void
pi_fini(struct scan_ctx *ctx)
{
	struct pi_priv *p = ctx->priv;

	if (p == NULL)
		return;
	pi_free_targets(p);
	if (p->bitmap_fd >= 0)
		close(p->bitmap_fd);
	free(p);
	ctx->priv = NULL;
}

/* PFNs of every page of t's selected VMAs into out[] (0 = not present).
 * 1 = target gone, 0 ok, -1 error. */
static int
read_pfns(const struct scan_target *t, uint32_t ps, uint64_t *out, struct err *e)
{
	char path[PROCFS_PATH_MAX];
	uint64_t buf[PM_BATCH];
	size_t i, k = 0;
	int fd;

	if (procfs_path(path, sizeof(path), "%d/pagemap", (int)t->pid) < 0)
		return err_set(e, EX_USAGE, errno, "pagemap path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return 1;
		return err_set(e, EX_NOPERM, errno, "cannot open '%s'", path);
	}
	for (i = 0; i < t->nvmas; i++) {
		uint64_t va = t->vmas[i].start;

		while (va < t->vmas[i].end) {
			uint64_t n = (t->vmas[i].end - va) / ps, j;
			ssize_t got;

			if (n > PM_BATCH)
				n = PM_BATCH;
			got = pread(fd, buf, n * 8, (off_t)(va / ps * 8));
			if (got < 0) {
				int saved = errno;

				close(fd);
				if (saved == ESRCH)
					return 1;
				return err_set(e, EX_IOERR, saved, "cannot read '%s' "
				    "at offset %llu", path,
				    (unsigned long long)(va / ps * 8));
			}
			if (got == 0)
				break;
			n = (uint64_t)got / 8;
			for (j = 0; j < n; j++)
				out[k++] = buf[j] & PM_PRESENT ? buf[j] & PM_PFN_MASK : 0;
			va += n * ps;
		}
		/* A short pagemap (VMA shrank) leaves the rest as not present. */
		while (va < t->vmas[i].end) {
			out[k++] = 0;
			va += ps;
		}
	}
	close(fd);
	return 0;
}

static size_t
target_pages(const struct scan_target *t, uint32_t ps)
{
	size_t i, n = 0;

	for (i = 0; i < t->nvmas; i++)
		n += (size_t)scan_vma_pages(&t->vmas[i], ps);
	return n;
}

/* Is pages[k..k+512) a THP: 2M-aligned VA, contiguous 512-aligned PFNs? */
static int
is_thp(const uint64_t *pfn, size_t k, size_t n, uint64_t va, uint32_t ps)
{
	size_t j;

	if (va % ((uint64_t)THP_PAGES * ps) != 0 || k + THP_PAGES > n ||
	    pfn[k] == 0 || pfn[k] % THP_PAGES != 0)
		return 0;
	for (j = 1; j < THP_PAGES; j++)
		if (pfn[k + j] != pfn[k] + j)
			return 0;
	return 1;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Set the idle bit of every tracked PFN: one pwrite per word. */
static int
mark_idle(struct pi_priv *p, const struct scan_ctx *ctx, struct err *e)
{
	uint32_t ps = ctx->env->page_size;
	uint64_t *pf;
	size_t total = 0, n = 0, i, j;

	for (i = 0; i < p->nt; i++)
		total += p->t[i].npages;
	pf = malloc((total ? total : 1) * sizeof(*pf));
	if (pf == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "page_idle PFN list");
	for (i = 0; i < p->nt; i++) {
		const struct pi_target *pt = &p->t[i];
		const struct scan_target *t = &ctx->targets[i];
		size_t k = 0, v;

		for (v = 0; v < t->nvmas; v++) {
			uint64_t va;

			for (va = t->vmas[v].start; va < t->vmas[v].end; va += ps, k++)
				if (pt->pfn[k] != 0)
					pf[n++] = pt->pfn[k];
		}
	}
	qsort(pf, n, sizeof(*pf), u64_cmp);
	for (i = 0; i < n; i = j) {
		uint64_t word = pf[i] / 64, bits = 0;

		for (j = i; j < n && pf[j] / 64 == word; j++)
			bits |= 1ull << (pf[j] % 64);
		if (pwrite(p->bitmap_fd, &bits, 8, (off_t)(word * 8)) != 8) {
			/* Non-LRU pages cannot be marked: EINVAL-free skip. */
			if (errno != ENXIO && errno != EINVAL) {
				free(pf);
				return err_set(e, EX_IOERR, errno, "page_idle "
				    "bitmap write at offset %llu",
				    (unsigned long long)(word * 8));
			}
		}
	}
	free(pf);
	return 0;
}

static int
pi_prepare(struct scan_ctx *ctx, struct err *e)
{
	struct pi_priv *p = ctx->priv;
	size_t i;

	pi_free_targets(p);
	p->t = calloc(ctx->ntargets ? ctx->ntargets : 1, sizeof(*p->t));
	if (p->t == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "page_idle state");
	p->nt = ctx->ntargets;
	for (i = 0; i < ctx->ntargets; i++) {
		struct pi_target *pt = &p->t[i];
		int r;

		pt->pid = ctx->targets[i].pid;
		pt->npages = target_pages(&ctx->targets[i], ctx->env->page_size);
		pt->pfn = calloc(pt->npages ? pt->npages : 1, sizeof(*pt->pfn));
		if (pt->pfn == NULL)
			return err_set(e, EX_OSERR, ENOMEM, "page_idle PFNs");
		r = read_pfns(&ctx->targets[i], ctx->env->page_size, pt->pfn, e);
		if (r < 0)
			return -1;
		if (r == 1)
			memset(pt->pfn, 0, pt->npages * sizeof(*pt->pfn));
	}
	return mark_idle(p, ctx, e);
}

/* Is PFN's idle bit still set? Caches the last word read. */
static int
bit_idle(struct pi_priv *p, uint64_t pfn, uint64_t *cw, uint64_t *cval,
    struct err *e)
{
	if (*cw != pfn / 64) {
		if (pread(p->bitmap_fd, cval, 8, (off_t)(pfn / 64 * 8)) != 8)
			return err_set(e, EX_IOERR, errno, "page_idle bitmap read "
			    "at offset %llu", (unsigned long long)(pfn / 64 * 8));
		*cw = pfn / 64;
	}
	return (*cval >> (pfn % 64)) & 1;
}

static int
pi_collect_target(struct scan_ctx *ctx, struct pi_target *pt,
    const struct scan_target *t, struct etmr_writer *w, struct err *e)
{
	struct pi_priv *p = ctx->priv;
	uint32_t ps = ctx->env->page_size;
	struct scan_coalesce co;
	uint64_t *now, cw = UINT64_MAX, cval = 0;
	size_t k = 0, v;
	int r;

	now = calloc(pt->npages ? pt->npages : 1, sizeof(*now));
	if (now == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "page_idle PFNs");
	r = read_pfns(t, ps, now, e);
	if (r != 0) {
		free(now);
		if (r == 1)
			scan_target_gone(ctx, t, "page_idle", "exited");
		return r < 0 ? -1 : 0;
	}
	scan_coalesce_init(&co, w, ps, &ctx->cnt);
	for (v = 0; v < t->nvmas; v++) {
		const struct etmr_vma *vma = &t->vmas[v];
		size_t first = k, n = (size_t)scan_vma_pages(vma, ps);

		while (k < first + n) {
			uint64_t va = vma->start + (uint64_t)(k - first) * ps;
			struct etmr_access a;
			int idle, thp = is_thp(now, k, first + n, va, ps);

			if (now[k] == 0 || now[k] != pt->pfn[k]) {
				k++;
				continue;
			}
			if ((idle = bit_idle(p, now[k], &cw, &cval, e)) < 0) {
				free(now);
				return -1;
			}
			memset(&a, 0, sizeof(a));
			a.pid = (uint32_t)t->pid;
			a.start = va;
			a.npages = 1;
			a.size = thp ? ETMR_SIZE_2M : ETMR_SIZE_4K;
			a.node = ETMR_NODE_NONE;
			a.count = idle ? 0 : 1;
			a.flags = scan_vma_item_flags(vma) | (idle ? ETMR_F_IDLE : 0) |
			    (thp ? ETMR_F_THP : 0);
			if (scan_coalesce_add(&co, &a, e) < 0) {
				free(now);
				return -1;
			}
			k += thp ? THP_PAGES : 1;
		}
	}
	free(now);
	return scan_coalesce_flush(&co, e);
}

static int
pi_collect(struct scan_ctx *ctx, struct etmr_writer *w, struct err *e)
{
	struct pi_priv *p = ctx->priv;
	size_t i;

	for (i = 0; i < ctx->ntargets && i < p->nt; i++)
		if (pi_collect_target(ctx, &p->t[i], &ctx->targets[i], w, e) < 0)
			return -1;
	return 0;
}

const struct scan_ops scan_page_idle = {
	.name = "page_idle",
	.backend = ETMR_BACKEND_PAGE_IDLE,
	.probe = pi_probe,
	.init = pi_init,
	.prepare = pi_prepare,
	.collect = pi_collect,
	.fini = pi_fini,
};
