/* SPDX-License-Identifier: MIT */
/*
 * test-migrate-run.c - etmem-migrate's stream loop in-process: periods are
 * acted on at PERIOD, counters reach the stream and the control socket
 * (HELLO, `stats` text), and a STOP that is already waiting ends the run
 * before any decision is acted on, with END written and status 0.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "procfs.h"
#include "../../etmem-migrate/migrate.h"

#define PERIOD_LINE "PERIOD period=3 rounds=1 time_ns=0 mem_total_kb=0 " \
	"mem_free_kb=0 mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0\n"

/* A temp file holding s, positioned at its start. */
static int
input(const char *s)
{
	char path[] = "/tmp/test-migrate-run.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		return -1;
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Everything written to fd (a temp file) as a string; caller frees. */
static char *
slurp(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)n + 1);

	if (buf != NULL && pread(fd, buf, (size_t)n, 0) != n)
		buf[0] = '\0';
	return buf;
}

static struct ctl_stage ctl;

static void
test_migrate_run__period_counters_and_stats(void)
{
	struct mig_env env = { .page_size = 4096 };
	struct mig_run_opts o = { .env = &env, .text = 1, .ctl = &ctl };
	int in = input("D 4194304 0x10000 2 4K swap -\nD 4194304 0x20000 1 4K promote 0\n"
	    PERIOD_LINE "END status=0\n");
	int out = input("");
	int sv[2];
	struct ctl_msg m;
	struct ctl_conn *peer = malloc(sizeof(*peer));
	char *text;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(ctl_stage_open(&ctl, sv[0], "etmem-migrate", NULL) == 0);
	CHECK_EQ_U(mig_run(&o, in, out, NULL), 0);
	/* HELLO came first, with our name. */
	ctl_conn_init(peer, sv[1]);
	CHECK(ctl_conn_fill(peer, NULL) == 1);
	CHECK(ctl_conn_next(peer, &m, NULL) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_HELLO);
	CHECK(m.len > 4 && memcmp(m.data + 4, "etmem-migrate", 13) == 0);
	/* The last period's counters are what `stats` answers. */
	CHECK(strstr(ctl.stats, "decisions 2\n") != NULL);
	CHECK(strstr(ctl.stats, "skipped_vanished 1\n") != NULL);
	CHECK(strstr(ctl.stats, "skipped_unsupported 1\n") != NULL);
	text = slurp(out);
	CHECK(text != NULL && strstr(text, "S migrate 3 bytes_requested 12288\n") != NULL);
	CHECK(text != NULL && strstr(text, "S migrate 3 skipped_vanished 1\n") != NULL);
	CHECK(text != NULL && strstr(text, "PERIOD period=3 ") != NULL);
	CHECK(text != NULL && strstr(text, "END status=0\n") != NULL);
	free(text);
	free(peer);
	ctl_stage_close(&ctl);
	close(sv[1]);
	close(in);
	close(out);
}

static void
test_migrate_run__stop_before_reading(void)
{
	struct mig_env env = { .page_size = 4096 };
	struct mig_run_opts o = { .env = &env, .text = 1, .ctl = &ctl };
	int in = input("D 4194304 0x10000 2 4K swap -\n" PERIOD_LINE);
	int out = input("");
	int sv[2];
	char *text;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(ctl_stage_open(&ctl, sv[0], "etmem-migrate", NULL) == 0);
	CHECK(ctl_send(sv[1], CTL_MSG_STOP, 0, 1, NULL, 0, NULL) == 0);
	CHECK_EQ_U(mig_run(&o, in, out, NULL), 0);
	text = slurp(out);
	CHECK(text != NULL && strstr(text, "S migrate") == NULL);
	CHECK(text != NULL && strstr(text, "END status=0\n") != NULL);
	free(text);
	ctl_stage_close(&ctl);
	close(sv[1]);
	close(in);
	close(out);
	mig_stopping = 0;
}

/* STOP in the middle of a period: the period is finished, then END. */
static void
test_migrate_run__stop_finishes_the_period(void)
{
	struct mig_env env = { .page_size = 4096 };
	struct mig_run_opts o = { .env = &env, .text = 1, .ctl = &ctl };
	int out = input("");
	int sv[2], pfd[2];
	char *text;
	pid_t feeder;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(pipe(pfd) == 0);
	feeder = fork();
	if (feeder == 0) {
		static const char d1[] = "D 4194304 0x10000 1 4K swap -\n";
		static const char d2[] = "D 4194304 0x20000 1 4K swap -\n";
		static const char rest[] = PERIOD_LINE "D 4194304 0x30000 1 4K swap -\n"
		    "PERIOD period=4 rounds=1 time_ns=0 mem_total_kb=0 mem_free_kb=0 "
		    "mem_available_kb=0 swap_cached_kb=0 swap_total_kb=0 swap_free_kb=0\n";

		close(pfd[0]);
		if (write(pfd[1], d1, sizeof(d1) - 1) < 0)
			_exit(1);
		usleep(100000);
		ctl_send(sv[1], CTL_MSG_STOP, 0, 1, NULL, 0, NULL);
		usleep(100000);
		if (write(pfd[1], d2, sizeof(d2) - 1) < 0)
			_exit(1);
		usleep(100000);
		if (write(pfd[1], rest, sizeof(rest) - 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	CHECK(ctl_stage_open(&ctl, sv[0], "etmem-migrate", NULL) == 0);
	CHECK_EQ_U(mig_run(&o, pfd[0], out, NULL), 0);
	waitpid(feeder, NULL, 0);
	text = slurp(out);
	/* Both decisions of period 3 were acted on (the pid is gone: counted
	 * vanished, not stopped); period 4 was never started. */
	CHECK(text != NULL && strstr(text, "S migrate 3 skipped_vanished 2\n") != NULL);
	CHECK(text != NULL && strstr(text, "S migrate 3 skipped_stopped 0\n") != NULL);
	CHECK(text != NULL && strstr(text, "S migrate 4") == NULL);
	CHECK(text != NULL && strstr(text, "END status=0\n") != NULL);
	free(text);
	ctl_stage_close(&ctl);
	close(sv[1]);
	close(pfd[0]);
	close(out);
}

static void
test_migrate_run__bad_stream_acts_on_nothing(void)
{
	struct mig_env env = { .page_size = 4096 };
	struct mig_run_opts o = { .env = &env, .text = 1, .ctl = &ctl };
	int in = input("D 4194304 0x10000 2 4K swap -\nD 1 0x1000 x 4K swap -\n" PERIOD_LINE);
	int out = input("");
	struct err e = { 0 };
	char *text;

	CHECK(ctl_stage_open(&ctl, -1, "etmem-migrate", NULL) == 0);
	CHECK_EQ_U(mig_run(&o, in, out, &e), 65);
	CHECK(strstr(e.msg, "<stdin>:2") != NULL);
	text = slurp(out);
	CHECK(text != NULL && strstr(text, "S migrate") == NULL);
	CHECK(text != NULL && strstr(text, "END status=65\n") != NULL);
	free(text);
	close(in);
	close(out);
}

int
main(void)
{
	log_init("test-migrate-run", LOG_LEVEL_ERROR, 0);
	procfs_init(NULL, NULL, NULL);
	RUN(test_migrate_run__period_counters_and_stats);
	RUN(test_migrate_run__stop_before_reading);
	RUN(test_migrate_run__stop_finishes_the_period);
	RUN(test_migrate_run__bad_stream_acts_on_nothing);
	return unit_done();
}
