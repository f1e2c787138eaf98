/* SPDX-License-Identifier: MIT */
/*
 * mig-swap-pages.c - swap out through openEuler's /proc/PID/swap_pages
 * (etmem_swap module; kernel-interfaces §2).
 *
 * The kernel parses each write(2) on its own, one hex address per line, and
 * silently drops what it cannot parse. The original wrote through stdio,
 * whose 1024-byte flushes on procfs cut lines in two and lost about one
 * address in 68 (W-6). Here every write(2) is a whole number of `0x%lx\n`
 * lines and at most SWAP_BATCH_BYTES long (one kernel page for the kernel's
 * copy). The kernel answers every write with its full length and reports no
 * per-page result: the core measures the effect through VmSwap.
 *
 * Not here: deciding what to swap, validating addresses (migrate.c did).
 */
#include "migrate.h"

#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "procfs.h"

#define SWAP_BATCH_BYTES 4096u
#define SWAP_LINE_MAX 20u                 /* "0x" + 16 hex + "\n" + NUL */

/* etmem_swap's ioctls on the swap_pages file (kernel-interfaces §2.3). */
#define RECLAIM_SWAPCACHE_ON _IOW(0x77, 0x1, unsigned int)
#define SET_SWAPCACHE_WMARK  _IOW(0x77, 0x2, unsigned int)

struct swap_priv {
	int fd;
	char path[PROCFS_PATH_MAX];
	size_t len;                      /* bytes in buf */
	char buf[SWAP_BATCH_BYTES];
};

static int
swap_path(char *buf, size_t len, const char *who)
{
	return procfs_path(buf, len, "%s/swap_pages", who);
}

static int
swap_probe(const struct mig_env *env, struct err *e)
{
	char path[PROCFS_PATH_MAX];

	(void)env;
	if (swap_path(path, sizeof(path), "self") < 0)
		return err_set(e, EX_USAGE, errno, "swap_pages path");
	if (access(path, F_OK) < 0)
		return err_set(e, EX_UNAVAILABLE, 0, "no '%s': openEuler's etmem_swap "
		    "module is not loaded (CONFIG_ETMEM_SWAP; modprobe etmem_swap)", path);
	return 0;
}

static int
swap_usable(const struct mig_env *env, pid_t pid)
{
	char path[PROCFS_PATH_MAX], who[16];

	(void)env;
	snprintf(who, sizeof(who), "%d", (int)pid);
	return swap_path(path, sizeof(path), who) == 0 && access(path, F_OK) == 0;
}

static int
swap_open(struct mig_ctx *ctx, struct err *e)
{
	struct swap_priv *p = calloc(1, sizeof(*p));
	char who[16];

	if (p == NULL)
		return err_set(e, EX_OSERR, errno, "swap_pages state");
	snprintf(who, sizeof(who), "%d", (int)ctx->pid);
	if (swap_path(p->path, sizeof(p->path), who) < 0) {
		free(p);
		return err_set(e, EX_USAGE, errno, "swap_pages path for %s", who);
	}
	/* Read-write as the original's "r+": the ioctls use the same fd. */
	p->fd = open(p->path, O_RDWR | O_CLOEXEC);
	if (p->fd < 0) {
		/* ENOENT: the /proc/PID directory went away with the process. */
		int errnum = errno == ENOENT ? ESRCH : errno;

		err_set(e, errnum == ENODEV ? EX_UNAVAILABLE : EX_OSERR, errnum,
		    "cannot open '%s'", p->path);
		free(p);
		return -1;
	}
	ctx->priv = p;
	return 0;
}

/* One write(2) of the whole lines in p->buf. */
static int
swap_flush(struct swap_priv *p, struct err *e)
{
	ssize_t n;

	if (p->len == 0)
		return 0;
	do
		n = write(p->fd, p->buf, p->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(e, EX_IOERR, errno, "write to '%s'", p->path);
	if ((size_t)n != p->len)
		return err_set(e, EX_IOERR, 0, "short write to '%s': %zd of %zu bytes",
		    p->path, n, p->len);
	p->len = 0;
	return 0;
}

static long long
swap_apply(struct mig_ctx *ctx, const struct mig_range *r, size_t n,
    struct mig_stats *st, struct err *e)
{
	struct swap_priv *p = ctx->priv;
	uint64_t ps = ctx->env->page_size;
	long long pages = 0;

	(void)st;
	for (size_t i = 0; i < n; i++) {
		for (uint64_t k = 0; k < r[i].npages; k++) {
			char line[SWAP_LINE_MAX];
			int len = snprintf(line, sizeof(line), "0x%" PRIx64 "\n",
			    r[i].start + k * ps);

			if (p->len + (size_t)len > sizeof(p->buf) && swap_flush(p, e) < 0)
				return -1;
			memcpy(p->buf + p->len, line, (size_t)len);
			p->len += (size_t)len;
			pages++;
		}
	}
	/* A batch ends with its last write: the caller may stop after it. */
	if (swap_flush(p, e) < 0)
		return -1;
	return pages;
}

static int
swap_swapcache(struct mig_ctx *ctx, unsigned high, unsigned low, int first,
    struct err *e)
{
	struct swap_priv *p = ctx->priv;
	unsigned int arg = low | (high << 8), on = 0;

	/* The watermarks are global to the module, not per process; the
	 * original sent them once per project, so do we (once per run). */
	if (first && ioctl(p->fd, SET_SWAPCACHE_WMARK, &arg) < 0)
		return err_set(e, EX_OSERR, errno, "SET_SWAPCACHE_WMARK on '%s'", p->path);
	if (ioctl(p->fd, RECLAIM_SWAPCACHE_ON, &on) < 0)
		return err_set(e, EX_OSERR, errno, "RECLAIM_SWAPCACHE_ON on '%s'", p->path);
	return 0;
}

static void
swap_close(struct mig_ctx *ctx)
{
	struct swap_priv *p = ctx->priv;

	if (p == NULL)
		return;
	close(p->fd);
	free(p);
	ctx->priv = NULL;
}

const struct mig_ops mig_swap_pages = {
	.name = "swap_pages",
	.action = ETMR_ACT_SWAP,
	.probe = swap_probe,
	.usable = swap_usable,
	.open = swap_open,
	.apply = swap_apply,
	.swapcache = swap_swapcache,
	.close = swap_close,
};
