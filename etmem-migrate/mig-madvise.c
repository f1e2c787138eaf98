/* SPDX-License-Identifier: MIT */
/*
 * mig-madvise.c - swap out through process_madvise(pidfd, MADV_PAGEOUT), the
 * mainline way (5.10+; kernel-interfaces §3.5).
 *
 * One call takes up to 1024 iovecs (UIO_MAXIOV); the core hands us batches
 * of at most that many ranges, each inside one VMA. The kernel walks them in
 * order and, when one fails after others succeeded, returns the bytes done
 * so far: we resubmit from there, and when the first remaining iovec fails
 * outright (-1) we count it as failed and go on with the next, so one
 * range unmapped since validation costs only itself. PAGEOUT reclaims
 * synchronously, in our context; the core measures what really reached swap.
 *
 * Not here: deciding or validating ranges (migrate.c did).
 */
#include "migrate.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#define MADV_EAGAIN_TRIES 3

static ssize_t
pmadvise(int pidfd, const struct iovec *iov, size_t n)
{
	return syscall(SYS_process_madvise, pidfd, iov, n, MADV_PAGEOUT, 0u);
}

static int
madv_probe(const struct mig_env *env, struct err *e)
{
	int fd;
	ssize_t rc;

	(void)env;
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd < 0)
		return err_set(e, errno == ENOSYS ? EX_UNAVAILABLE : EX_OSERR, errno,
		    "pidfd_open (Linux 5.3+)");
	/* An empty vector on ourselves costs nothing and tells whether the
	 * syscall exists (ENOSYS before 5.10 or without CONFIG_ADVISE_SYSCALLS). */
	rc = pmadvise(fd, NULL, 0);
	close(fd);
	if (rc < 0 && errno == ENOSYS)
		return err_set(e, EX_UNAVAILABLE, errno, "process_madvise (Linux 5.10+, "
		    "CONFIG_ADVISE_SYSCALLS)");
	return 0;
}

static int
madv_usable(const struct mig_env *env, pid_t pid)
{
	(void)env;
	(void)pid;
	return 1;
}

static long long
madv_apply(struct mig_ctx *ctx, const struct mig_range *r, size_t n,
    struct mig_stats *st, struct err *e)
{
	struct iovec iov[MIG_BATCH_MAX];
	unsigned long long done = 0;
	size_t i = 0;
	int tries = 0;

	if (n > MIG_BATCH_MAX)
		BUG("madvise batch larger than the iovec limit");
	for (size_t k = 0; k < n; k++) {
		iov[k].iov_base = (void *)(uintptr_t)r[k].start;
		iov[k].iov_len = (size_t)(r[k].npages * ctx->env->page_size);
	}
	while (i < n) {
		ssize_t got = pmadvise(ctx->pidfd, iov + i, n - i);

		if (got < 0) {
			if (errno == EINTR || (errno == EAGAIN && ++tries < MADV_EAGAIN_TRIES))
				continue;
			if (errno == ESRCH)
				return err_set(e, EX_NOINPUT, errno, "process_madvise");
			if (errno == EPERM || errno == EACCES)
				return err_set(e, EX_NOPERM, errno, "process_madvise "
				    "(needs CAP_SYS_NICE and ptrace access to the target)");
			if (errno == ENOSYS)
				return err_set(e, EX_UNAVAILABLE, errno, "process_madvise");
			/* ENOMEM (unmapped since we validated), EINVAL, ...:
			 * this range only. */
			log_debug("pid %d: process_madvise 0x%lx+%zu: %s", (int)ctx->pid,
			    (unsigned long)(uintptr_t)iov[i].iov_base, iov[i].iov_len,
			    strerror(errno));
			st->skipped_failed++;
			st->bytes_skipped += iov[i].iov_len;
			i++;
			tries = 0;
			continue;
		}
		if (got == 0 && iov[i].iov_len > 0) {
			/* No progress without an error: do not spin on it. */
			st->skipped_failed++;
			st->bytes_skipped += iov[i].iov_len;
			i++;
			continue;
		}
		done += (unsigned long long)got;
		/* Partial progress: drop what was done, resubmit the rest. */
		while (got > 0 && i < n) {
			if ((size_t)got >= iov[i].iov_len) {
				got -= (ssize_t)iov[i].iov_len;
				i++;
			} else {
				iov[i].iov_base = (char *)iov[i].iov_base + got;
				iov[i].iov_len -= (size_t)got;
				got = 0;
			}
		}
		while (i < n && iov[i].iov_len == 0)
			i++;
		tries = 0;
	}
	return (long long)(done / ctx->env->page_size);
}

const struct mig_ops mig_madvise = {
	.name = "madvise",
	.action = ETMR_ACT_SWAP,
	.probe = madv_probe,
	.usable = madv_usable,
	.open = NULL,
	.apply = madv_apply,
	.swapcache = NULL,
	.close = NULL,
};
