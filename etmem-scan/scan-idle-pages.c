/* SPDX-License-Identifier: MIT */
/*
 * scan-idle-pages.c - the openEuler /proc/PID/idle_pages backend.
 *
 * Protocol per kernel-interfaces.md §1.2-1.4: open once per pass (the TLB
 * flush happens on close, so an open kept across passes under-reports),
 * optional scan flags by ioctl, then lseek to a VA and read; the kernel sets
 * the position to the next unscanned VA. Unlike the original, which reads
 * once per VMA and silently loses what did not fit, the walk keeps reading
 * until every selected VMA is covered (scan-idle-walk.c). Reading clears
 * the A-bits, so a pass is both "collect" and "prepare" of the next; round 1
 * needs a warm-up read.
 */
#include "scan.h"

#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "procfs.h"
#include "scan-common.h"

#define IDLE_SCAN_ADD_FLAGS 0x40046600u   /* _IOW(0x66, 0, unsigned int) */
#define VMA_SCAN_ADD_FLAGS  0x40046602u   /* _IOW(0x66, 2, unsigned int) */
#define VMA_SCAN_FLAG       0x1000u        /* only VM_SWAPFLAG VMAs */
#define IDLE_READ_MAX       (256u * 1024u) /* bytes per read: 8 GiB of VA */
#define IDLE_NEED_MODULE \
	"needs an openEuler kernel with CONFIG_ETMEM and the etmem_scan module " \
	"(modprobe etmem_scan)"

struct idle_priv {
	int has_idle_ioctl, has_vma_ioctl;
};

/* The real source: lseek + read on an open idle_pages fd. */
static ssize_t
fd_read(void *arg, uint8_t *buf, size_t len, uint64_t pos, uint64_t *next)
{
	int fd = *(int *)arg;
	ssize_t n;
	off_t off;

	if (lseek(fd, (off_t)pos, SEEK_SET) < 0)
		return -1;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	off = lseek(fd, 0, SEEK_CUR);
	if (off < 0)
		return -1;
	*next = (uint64_t)off;
	return n;
}

static int
idle_open(pid_t pid, int *fdp, struct err *e)
{
	char path[PROCFS_PATH_MAX];
	int fd;

	if (procfs_path(path, sizeof(path), "%d/idle_pages", (int)pid) < 0)
		return err_set(e, EX_USAGE, errno, "idle_pages path for %d", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		*fdp = fd;
		return 0;
	}
	switch (errno) {
	case ENOENT:
		if (pid == 0 || procfs_pid_alive(pid, 0) == 1)
			return err_set(e, EX_UNAVAILABLE, 0, "backend idle_pages: "
			    "'%s' does not exist: " IDLE_NEED_MODULE, path);
		return err_set(e, EX_NOINPUT, 0, "no process %d", (int)pid);
	case ESRCH:
		return err_set(e, EX_NOINPUT, 0, "no process %d", (int)pid);
	case ENODEV:
		return err_set(e, EX_UNAVAILABLE, 0, "backend idle_pages: "
		    "cannot open '%s': the etmem_scan module is not loaded "
		    "(modprobe etmem_scan)", path);
	case EPERM:
	case EACCES:
		return err_set(e, EX_NOPERM, errno, "backend idle_pages: cannot "
		    "open '%s' (needs CAP_SYS_ADMIN)", path);
	default:
		return err_set(e, EX_IOERR, errno, "cannot open '%s'", path);
	}
}

static int
idle_probe(const struct scan_env *env, struct err *e)
{
	char path[PROCFS_PATH_MAX];
	int fd;

	(void)env;
	if (procfs_path(path, sizeof(path), "self/idle_pages") < 0)
		return err_set(e, EX_USAGE, errno, "idle_pages path");
	if (access(path, F_OK) < 0)
		return err_set(e, EX_UNAVAILABLE, 0, "backend idle_pages: '%s' "
		    "does not exist: " IDLE_NEED_MODULE, path);
	if (idle_open(getpid(), &fd, e) < 0)
		return -1;
	close(fd);
	return 0;
}

static int
idle_init(struct scan_ctx *ctx, struct err *e)
{
	struct idle_priv *p;
	unsigned zero = 0;
	int fd;

	if (idle_open(getpid(), &fd, e) < 0)
		return -1;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		close(fd);
		return err_set(e, EX_OSERR, ENOMEM, "idle_pages state");
	}
	/* The module ABI differs between kernels: ask which ioctls exist. */
	p->has_idle_ioctl = ioctl(fd, IDLE_SCAN_ADD_FLAGS, &zero) == 0;
	p->has_vma_ioctl = ioctl(fd, VMA_SCAN_ADD_FLAGS, &zero) == 0;
	close(fd);
	log_debug("scan/idle_pages: ioctls: IDLE_SCAN %s, VMA_SCAN %s",
	    p->has_idle_ioctl ? "yes" : "no", p->has_vma_ioctl ? "yes" : "no");
	ctx->priv = p;
	if (ctx->env->swap_flag && !p->has_vma_ioctl && !p->has_idle_ioctl)
		return err_set(e, EX_UNAVAILABLE, 0, "backend idle_pages: "
		    "--swap-flag needs the VMA_SCAN_ADD_FLAGS ioctl, which this "
		    "etmem_scan module lacks");
	return 0;
}

struct emit_arg {
	struct scan_coalesce co;
	pid_t pid;
	uint32_t page_size;
	struct err *e;
};

static int
emit_run(const struct scan_idle_run *r, const struct etmr_vma *v, void *arg)
{
	struct emit_arg *ea = arg;
	struct etmr_access a;

	if (scan_idle_access(r, ea->page_size, &a) < 0)
		return 0;
	a.pid = (uint32_t)ea->pid;
	a.flags |= scan_vma_item_flags(v);
	if (a.size == ETMR_SIZE_2M && !(v->flags & ETMR_F_HUGETLB))
		a.flags |= ETMR_F_THP;
	return scan_coalesce_add(&ea->co, &a, ea->e);
}

/* One pass over one target; w NULL = warm-up (reset the A-bits only). */
static int
idle_pass_target(struct scan_ctx *ctx, struct scan_target *t,
    struct etmr_writer *w, struct err *e)
{
	struct idle_priv *p = ctx->priv;
	struct scan_idle_src src;
	struct emit_arg ea;
	struct scan_idle_stats st = { 0 };
	int fd, rc;

	if (idle_open(t->pid, &fd, e) < 0) {
		if (e->code == EX_NOINPUT) {
			scan_target_gone(ctx, t, "idle_pages", e->msg);
			return 0;
		}
		return -1;
	}
	if (ctx->env->swap_flag) {
		unsigned flags = VMA_SCAN_FLAG;

		if (ioctl(fd, p->has_vma_ioctl ? VMA_SCAN_ADD_FLAGS :
		    IDLE_SCAN_ADD_FLAGS, &flags) < 0) {
			rc = err_set(e, EX_IOERR, errno, "idle_pages of %d: "
			    "cannot set VMA_SCAN_FLAG", (int)t->pid);
			close(fd);
			return rc;
		}
	}
	src.read = fd_read;
	src.arg = &fd;
	memset(&ea, 0, sizeof(ea));
	scan_coalesce_init(&ea.co, w, ctx->env->page_size, &ctx->cnt);
	ea.pid = t->pid;
	ea.page_size = ctx->env->page_size;
	ea.e = e;
	rc = scan_idle_walk(&src, t->vmas, t->nvmas, ctx->env->page_size,
	    IDLE_READ_MAX, w != NULL ? emit_run : NULL, &ea, &st, e);
	if (rc == 0 && w != NULL)
		rc = scan_coalesce_flush(&ea.co, e);
	/* close() is what flushes the target's TLB: once per pass. */
	close(fd);
	if (st.misaligned > 0)
		log_warnx("scan/idle_pages: pid %d: %llu misaligned runs dropped",
		    (int)t->pid, (unsigned long long)st.misaligned);
	if (rc < 0 && e->code == EX_NOINPUT) {
		scan_target_gone(ctx, t, "idle_pages", e->msg);
		return 0;
	}
	return rc;
}

static int
idle_prepare(struct scan_ctx *ctx, struct err *e)
{
	size_t i;

	/* Later rounds start where the previous collect cleared the bits. */
	if (ctx->round != 1)
		return 0;
	for (i = 0; i < ctx->ntargets; i++) {
		struct scan_target *t = &ctx->targets[i];
		struct scan_idle_src src;
		int fd, rc;

		if (idle_open(t->pid, &fd, e) < 0) {
			if (e->code == EX_NOINPUT)
				continue;
			return -1;
		}
		src.read = fd_read;
		src.arg = &fd;
		rc = scan_idle_walk(&src, t->vmas, t->nvmas, ctx->env->page_size,
		    IDLE_READ_MAX, NULL, NULL, NULL, e);
		close(fd);
		if (rc < 0 && e->code != EX_NOINPUT)
			return -1;
	}
	return 0;
}

static int
idle_collect(struct scan_ctx *ctx, struct etmr_writer *w, struct err *e)
{
	size_t i;

	for (i = 0; i < ctx->ntargets; i++)
		if (idle_pass_target(ctx, &ctx->targets[i], w, e) < 0)
			return -1;
	return 0;
}

static void
idle_fini(struct scan_ctx *ctx)
{
	free(ctx->priv);
	ctx->priv = NULL;
}

const struct scan_ops scan_idle_pages = {
	.name = "idle_pages",
	.backend = ETMR_BACKEND_IDLE_PAGES,
	.probe = idle_probe,
	.init = idle_init,
	.prepare = idle_prepare,
	.collect = idle_collect,
	.fini = idle_fini,
};
