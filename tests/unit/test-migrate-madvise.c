/* SPDX-License-Identifier: MIT */
/*
 * test-migrate-madvise.c - the process_madvise backend on the real kernel,
 * against this test's own memory: partial progress is resubmitted, a range
 * that fails is counted and skipped, a vanished process is ESRCH.
 */
#include "../../etmem-migrate/mig-madvise.c"

#include <sys/wait.h>

#include "unit.h"

#define PG 4096u

static int
self_pidfd(void)
{
	return (int)syscall(SYS_pidfd_open, getpid(), 0);
}

static void
test_migrate_madvise__probe(void)
{
	struct mig_env env = { .page_size = PG };

	CHECK(madv_probe(&env, NULL) == 0);
}

static void
test_migrate_madvise__skips_failed_range_and_goes_on(void)
{
	struct mig_env env = { .page_size = PG };
	struct mig_ctx ctx = { .env = &env, .pid = getpid() };
	struct mig_stats st = { 0 };
	char *a = mmap(NULL, 48 * PG, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mig_range r[3];

	CHECK(a != MAP_FAILED);
	memset(a, 1, 48 * PG);
	/* A hole in the middle, as if unmapped after validation. */
	CHECK(munmap(a + 16 * PG, 16 * PG) == 0);
	r[0] = (struct mig_range){ (uintptr_t)a, 16 };
	r[1] = (struct mig_range){ (uintptr_t)a + 16 * PG, 16 };
	r[2] = (struct mig_range){ (uintptr_t)a + 32 * PG, 16 };
	ctx.pidfd = self_pidfd();
	CHECK(ctx.pidfd >= 0);
	/* The kernel returns 16 pages for [0] (then fails on [1]); [1] alone
	 * fails with ENOMEM and is counted; [2] is done on the third call. */
	CHECK_EQ_U(madv_apply(&ctx, r, 3, &st, NULL), 32);
	CHECK_EQ_U(st.skipped_failed, 1);
	CHECK_EQ_U(st.bytes_skipped, 16 * PG);
	close(ctx.pidfd);
	munmap(a, 48 * PG);
}

static void
test_migrate_madvise__vanished_process(void)
{
	struct mig_env env = { .page_size = PG };
	struct mig_ctx ctx = { .env = &env };
	struct mig_stats st = { 0 };
	struct mig_range r = { 0x10000, 1 };
	struct err e = { 0 };
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	ctx.pid = child;
	ctx.pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	CHECK(ctx.pidfd >= 0);
	waitpid(child, NULL, 0);
	CHECK(madv_apply(&ctx, &r, 1, &st, &e) == -1);
	CHECK_EQ_U(e.errnum, ESRCH);
	close(ctx.pidfd);
}

int
main(void)
{
	RUN(test_migrate_madvise__probe);
	RUN(test_migrate_madvise__skips_failed_range_and_goes_on);
	RUN(test_migrate_madvise__vanished_process);
	return unit_done();
}
