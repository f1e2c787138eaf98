/* SPDX-License-Identifier: MIT */
/*
 * test-migrate-numa.c - the move_pages backend on the real kernel, against
 * this test's own memory. The development host has one NUMA node, so the
 * cases are what one node can show: a move to node 0 is "already there", a
 * move to node 1 is refused (ENODEV) and counted without stopping the
 * batch, unmapped and never-touched pages are told apart, the quota guard
 * cuts and refunds, and a vanished process is ESRCH. Real moves between two
 * nodes are tested in the VM lane (tests/vm/scenarios/cslide.sh).
 */
#include "../../etmem-migrate/mig-move-pages.c"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define PG 4096u

static char *
touched(size_t pages)
{
	char *a = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a != MAP_FAILED)
		memset(a, 1, pages * PG);
	return a == MAP_FAILED ? NULL : a;
}

static void
ctx_init(struct mig_ctx *ctx, const struct mig_env *env, pid_t pid, int node)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->env = env;
	ctx->pid = pid;
	ctx->pidfd = -1;
	ctx->node = (uint16_t)node;
	ctx->size = ETMR_SIZE_4K;
	ctx->action = ETMR_ACT_DEMOTE;
}

static void
test_migrate_numa__probe(void)
{
	struct mig_env env = { .page_size = PG };

	CHECK(mp_probe(&env, NULL) == 0);
}

static void
test_migrate_numa__already_there_counted(void)
{
	struct mig_env env = { .page_size = PG };
	struct mig_stats st = { 0 };
	struct mig_ctx ctx;
	char *a = touched(16);
	struct mig_range r = { (uintptr_t)a, 16 };

	CHECK(a != NULL);
	ctx_init(&ctx, &env, getpid(), 0);
	CHECK(mp_open(&ctx, NULL) == 0);
	CHECK_EQ_U(mp_apply(&ctx, &r, 1, &st, NULL), 0);
	CHECK_EQ_U(st.pages_already, 16);
	CHECK_EQ_U(st.pages_moved, 0);
	CHECK_EQ_U(st.pages_failed, 0);
	CHECK_EQ_U(st.node_bytes[0], 0);     /* no quota spent on no move */
	mp_close(&ctx);
	CHECK(ctx.priv == NULL);
	munmap(a, 16 * PG);
}

static void
test_migrate_numa__missing_node_counted_batch_goes_on(void)
{
	struct mig_env env = { .page_size = PG };
	struct mig_stats st = { 0 };
	struct mig_ctx ctx;
	char *a = touched(48);
	struct mig_range r[3];

	CHECK(a != NULL);
	/* A hole in the middle, as if unmapped after validation. */
	CHECK(munmap(a + 16 * PG, 16 * PG) == 0);
	r[0] = (struct mig_range){ (uintptr_t)a, 16 };
	r[1] = (struct mig_range){ (uintptr_t)a + 16 * PG, 16 };
	r[2] = (struct mig_range){ (uintptr_t)a + 32 * PG, 16 };
	ctx_init(&ctx, &env, getpid(), 1);   /* no node 1 on this host */
	CHECK(mp_open(&ctx, NULL) == 0);
	/* Not -1: a refused node costs its pages, not the process. */
	CHECK_EQ_U(mp_apply(&ctx, r, 3, &st, NULL), 0);
	CHECK_EQ_U(st.pages_failed, 32);
	CHECK_EQ_U(st.pages_unmapped, 16);
	CHECK_EQ_U(st.pages_moved, 0);
	CHECK_EQ_U(st.bytes_skipped, 48 * PG);
	CHECK_EQ_U(st.node_bytes[0], 0);     /* refunded */
	CHECK_EQ_U(st.node_bytes[1], 0);
	mp_close(&ctx);
	munmap(a, 16 * PG);
	munmap(a + 32 * PG, 16 * PG);
}

static void
test_migrate_numa__untouched_pages_are_not_present(void)
{
	struct mig_env env = { .page_size = PG };
	struct mig_stats st = { 0 };
	struct mig_ctx ctx;
	char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mig_range r = { (uintptr_t)a, 8 };

	CHECK(a != MAP_FAILED);
	a[0] = 1;                            /* one present page */
	ctx_init(&ctx, &env, getpid(), 0);
	CHECK(mp_open(&ctx, NULL) == 0);
	CHECK_EQ_U(mp_apply(&ctx, &r, 1, &st, NULL), 0);
	CHECK_EQ_U(st.pages_already, 1);
	/* Never faulted in: -ENOENT (counted as not present) or, on kernels
	 * that map the zero page for the query, -EFAULT. */
	CHECK_EQ_U(st.pages_swapped + st.pages_unmapped, 7);
	mp_close(&ctx);
	munmap(a, 8 * PG);
}

static void
test_migrate_numa__quota_guard(void)
{
	struct mig_env env = { .page_size = PG, .node_quota_bytes = 8 * PG };
	struct mig_stats st = { 0 };
	struct mig_ctx ctx;
	char *a = touched(16);
	struct mig_range r = { (uintptr_t)a, 16 };

	CHECK(a != NULL);
	ctx_init(&ctx, &env, getpid(), 1);
	CHECK(mp_open(&ctx, NULL) == 0);
	CHECK_EQ_U(mp_apply(&ctx, &r, 1, &st, NULL), 0);
	/* 8 pages fit the quota and were tried (and refused: no node 1);
	 * the other 8 were never tried. */
	CHECK_EQ_U(st.pages_failed, 8);
	CHECK_EQ_U(st.pages_over_quota, 8);
	mp_close(&ctx);
	/* The ledger itself: both ends are charged, refunds give back. */
	memset(&st, 0, sizeof(st));
	CHECK(quota_take(&env, &st, 0, 1, 6 * PG) == 1);
	CHECK(quota_take(&env, &st, 1, 0, 4 * PG) == 0);   /* 6 + 4 > 8 */
	CHECK(quota_take(&env, &st, 2, 3, 8 * PG) == 1);   /* another pair */
	CHECK_EQ_U(st.node_bytes[0], 6 * PG);
	CHECK_EQ_U(st.node_bytes[1], 6 * PG);
	quota_refund(&st, 0, 1, 6 * PG);
	CHECK(quota_take(&env, &st, 1, 0, 8 * PG) == 1);
	munmap(a, 16 * PG);
}

static void
test_migrate_numa__huge_stride(void)
{
	struct mig_env env = { .page_size = PG };
	struct mig_stats st = { 0 };
	struct mig_ctx ctx;
	char *a = touched(1024);
	struct mig_range r = { (uintptr_t)a, 1024 };

	/* A 2M-class decision is one move_pages entry per 2 MiB, whatever
	 * backs it: 4 MiB = 2 pages counted, not 1024. */
	CHECK(a != NULL);
	ctx_init(&ctx, &env, getpid(), 0);
	ctx.size = ETMR_SIZE_2M;
	CHECK(mp_open(&ctx, NULL) == 0);
	CHECK_EQ_U(mp_apply(&ctx, &r, 1, &st, NULL), 0);
	CHECK_EQ_U(st.pages_already, 2);
	mp_close(&ctx);
	munmap(a, 1024 * PG);
}

static void
test_migrate_numa__vanished_process(void)
{
	struct mig_env env = { .page_size = PG };
	struct mig_stats st = { 0 };
	struct mig_ctx ctx;
	struct err e = { 0 };
	char *a = touched(4);
	struct mig_range r = { (uintptr_t)a, 4 };
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	CHECK(pid > 0);
	waitpid(pid, NULL, 0);
	ctx_init(&ctx, &env, pid, 0);
	CHECK(mp_open(&ctx, NULL) == 0);
	CHECK(mp_apply(&ctx, &r, 1, &st, &e) == -1);
	CHECK_EQ_U(e.errnum, ESRCH);
	mp_close(&ctx);
	munmap(a, 4 * PG);
}

int
main(void)
{
	RUN(test_migrate_numa__probe);
	RUN(test_migrate_numa__already_there_counted);
	RUN(test_migrate_numa__missing_node_counted_batch_goes_on);
	RUN(test_migrate_numa__untouched_pages_are_not_present);
	RUN(test_migrate_numa__quota_guard);
	RUN(test_migrate_numa__huge_stride);
	RUN(test_migrate_numa__vanished_process);
	return unit_done();
}
