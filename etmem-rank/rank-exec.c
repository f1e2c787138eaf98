/* SPDX-License-Identifier: MIT */
/*
 * rank-exec.c - the `exec` engine: the policy is any program that reads an
 * ETMR stream on stdin and writes decisions on stdout, so policies can be
 * written in any language (`etmem-rank exec --command 'CMD ARGS'`).
 *
 * The ranker stays in the pipeline and the program runs beneath it, rather
 * than the supervisor running the program in the ranker's place: that way
 * every byte the program writes is parsed and checked here before anything
 * reaches etmem-migrate, the control fd keeps working (stats, stop), and
 * the output order and counters are the same as any built-in engine's.
 *
 * Per period the program gets, in the text form (docs/PLUGINS.md):
 *   ETMR header (once) · P* · ROUND (one, loop=L) · A* · PERIOD
 * where the A items are the period's resident pages with their count
 * summed over the period's rounds (the same view a plugin gets), and it must
 * answer with D items (P and S items are allowed and ignored) and the same
 * PERIOD line; binary output works too. Anything else — garbage, an ACCESS
 * item, a decision for a pid not in the period, a missing PERIOD — fails the
 * run with exit 65 before any of that period's decisions are written.
 *
 * The period is written by a short-lived thread while this thread reads the
 * answer, so a program that answers while it still reads cannot deadlock
 * against full pipes.
 */
#include "rank.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "opt.h"

#define EXEC_WAIT_MS 2000     /* how long fini waits before SIGKILL */

static struct {
	const char *command;
} exec_opt;

struct exec {
	pid_t pid;
	int to_fd, from_fd;               /* the program's stdin, stdout */
	struct etmr_writer *w;            /* on to_fd, text */
	struct etmr_reader *r;            /* on from_fd, opened at the first period */
	uint32_t *pids;                   /* the period's pids, sorted */
	size_t npids, pids_cap;
	/* Feeder thread's inputs and result. */
	const struct rank_period *per;
	struct rank_ctx *ctx;
	struct err ferr;
	int frc;
};

static int
exec_init(struct rank_ctx *ctx, struct err *e)
{
	struct exec *x;
	int in[2], out[2];

	if (exec_opt.command == NULL || exec_opt.command[0] == '\0')
		return err_set(e, EX_USAGE, 0, "--command CMD is required");
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return err_set(e, EX_OSERR, errno, "out of memory");
	x->to_fd = x->from_fd = -1;
	x->pid = -1;
	ctx->priv = x;
	if (pipe2(in, O_CLOEXEC) < 0)
		return err_set(e, EX_OSERR, errno, "cannot create a pipe");
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return err_set(e, EX_OSERR, errno, "cannot create a pipe");
	}
	x->pid = fork();
	if (x->pid < 0) {
		err_set(e, EX_OSERR, errno, "cannot fork");
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		return -1;
	}
	if (x->pid == 0) {
		/* The program gets the stream and stderr, nothing else of ours
		 * (not the control fd): reset what we ignore, then exec. */
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(126);
		closefrom(3);
		execl("/bin/sh", "sh", "-c", exec_opt.command, (char *)NULL);
		dprintf(2, "etmem-rank exec: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	x->to_fd = in[1];
	x->from_fd = out[0];
	log_debug("exec engine: started [%d] sh -c '%s'", (int)x->pid, exec_opt.command);
	return 0;
}

/* The period's input, written by the feeder thread. */
static int
feed_period(struct exec *x, struct err *e)
{
	const struct rank_period *per = x->per;
	struct etmr_round rd;
	struct rank_trk_iter it;
	struct rank_run run;
	size_t i;

	if (x->w == NULL) {
		struct etmr_header h;

		memset(&h, 0, sizeof(h));
		h.version = ETMR_VERSION;
		h.page_size = x->ctx->page_size;
		x->w = etmr_writer_open(x->to_fd, ETMR_FORM_TEXT, &h, e);
		if (x->w == NULL)
			return -1;
	}
	for (i = 0; i < per->nprocs; i++)
		if (etmr_write_proc(x->w, &per->procs[i], e) < 0)
			return -1;
	rd = (struct etmr_round){ .period = per->facts->period, .round = 1,
	    .loop = per->loop ? per->loop : 1, .time_ns = per->facts->time_ns };
	if (etmr_write_round(x->w, &rd, e) < 0)
		return -1;
	rank_trk_iter_init(&it);
	while (rank_trk_next(per->trk, &it, &run)) {
		struct etmr_access a = {
			.start = run.start, .npages = run.npages, .pid = run.pid,
			.count = run.count, .node = ETMR_NODE_NONE, .size = run.size,
		};

		if (etmr_write_access(x->w, &a, e) < 0)
			return -1;
	}
	return etmr_write_period(x->w, per->facts, e);
}

static void *
feeder(void *arg)
{
	struct exec *x = arg;

	err_clear(&x->ferr);
	x->frc = feed_period(x, &x->ferr);
	return NULL;
}

/* Every pid of the period (PROC items and tracked pages), sorted, unique. */
static int
collect_pids(struct exec *x, const struct rank_period *per, struct err *e)
{
	struct rank_trk_iter it;
	struct rank_run run;
	size_t i, need = per->nprocs;

	x->npids = 0;
	rank_trk_iter_init(&it);
	for (;;) {
		int more = rank_trk_next(per->trk, &it, &run);

		if (x->npids + need + 1 > x->pids_cap) {
			size_t ncap = (x->pids_cap ? x->pids_cap * 2 : 256) + need;
			uint32_t *n = realloc(x->pids, ncap * sizeof(*n));

			if (n == NULL)
				return err_set(e, EX_OSERR, errno, "out of memory");
			x->pids = n;
			x->pids_cap = ncap;
		}
		if (!more)
			break;
		if (x->npids == 0 || x->pids[x->npids - 1] != run.pid)
			x->pids[x->npids++] = run.pid;
	}
	for (i = 0; i < per->nprocs; i++)
		x->pids[x->npids++] = per->procs[i].pid;
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
where_is(const struct exec *x, uint64_t off, char *buf, size_t len)
{
	return snprintf(buf, len, "%s %llu",
	    etmr_reader_form(x->r) == ETMR_FORM_TEXT ? "line" : "byte offset",
	    (unsigned long long)off);
}

/* Check one decision of the program and hand it to the core. */
static int
take_decision(struct exec *x, struct rank_ctx *ctx, const struct rank_period *per,
    const struct etmr_frame *f, size_t i, struct err *e)
{
	struct etmr_decision d = f->u.decision[i];
	const struct etmr_proc *p;
	const char *why = NULL;
	uint64_t bytes = etmr_size_bytes(d.size, ctx->page_size);
	char at[48];

	if (d.size > ETMR_SIZE_1G || bytes == 0)
		why = "unknown page size class";
	else if (d.npages == 0 || d.start % bytes != 0 ||
	    d.npages > (UINT64_MAX - d.start) / bytes)
		why = "empty, misaligned or wrapping range";
	else if (d.action < ETMR_ACT_SWAP || d.action > ETMR_ACT_PROMOTE)
		why = "unknown action";
	else if (d.action != ETMR_ACT_SWAP && d.node == ETMR_NODE_NONE)
		why = "demote/promote without a target node";
	else if (bsearch(&d.pid, x->pids, x->npids, sizeof(*x->pids), u32_cmp) == NULL)
		why = "pid is not in this period's stream";
	if (why != NULL) {
		where_is(x, f->offset, at, sizeof(at));
		return err_set(e, EX_DATAERR, 0,
		    "exec engine output at %s (item %zu): decision pid %u 0x%llx+%llu: %s",
		    at, i, d.pid, (unsigned long long)d.start, (unsigned long long)d.npages, why);
	}
	if (d.action == ETMR_ACT_SWAP)
		d.node = ETMR_NODE_NONE;
	if (d.start_time == 0 && (p = rank_proc(per, d.pid)) != NULL)
		d.start_time = p->start_time;
	return rank_decide(ctx, &d, e);
}

/* Read the program's answer for this period, up to its PERIOD. */
static int
read_answer(struct exec *x, struct rank_ctx *ctx, const struct rank_period *per,
    struct err *e)
{
	struct etmr_frame f;
	char at[48];
	size_t i;
	int r;

	if (x->r == NULL && (x->r = etmr_reader_open(x->from_fd, "exec engine output", e)) == NULL)
		return err_prefix(e, "exec engine '%s'", exec_opt.command);
	for (;;) {
		if ((r = etmr_read(x->r, &f, e)) < 0)
			return err_prefix(e, "exec engine '%s'", exec_opt.command);
		if (r == 0 || f.type == ETMR_FRAME_END)
			return err_set(e, EX_DATAERR, 0,
			    "exec engine '%s' ended its output before PERIOD %u",
			    exec_opt.command, per->facts->period);
		switch (f.type) {
		case ETMR_FRAME_DECISION:
			for (i = 0; i < f.n; i++)
				if (take_decision(x, ctx, per, &f, i, e) < 0)
					return -1;
			break;
		case ETMR_FRAME_PROC:
		case ETMR_FRAME_STAT:
			break;  /* the core writes its own */
		case ETMR_FRAME_PERIOD:
			if (f.period.period == per->facts->period)
				return 0;
			where_is(x, f.offset, at, sizeof(at));
			return err_set(e, EX_DATAERR, 0,
			    "exec engine output at %s: PERIOD %u, expected PERIOD %u",
			    at, f.period.period, per->facts->period);
		default:
			where_is(x, f.offset, at, sizeof(at));
			return err_set(e, EX_DATAERR, 0,
			    "exec engine output at %s: a %s frame; only D, P, S and PERIOD may come back",
			    at, etmr_frame_name(f.type));
		}
	}
}

/* Stop the program now (after an error: the feeder may be blocked on it). */
static void
exec_kill(struct exec *x)
{
	if (x->pid > 0)
		kill(x->pid, SIGKILL);
}

static int
exec_period(struct rank_ctx *ctx, const struct rank_period *per, struct err *e)
{
	struct exec *x = ctx->priv;
	pthread_t th;
	int rc, terr;

	if (collect_pids(x, per, e) < 0)
		return -1;
	qsort(x->pids, x->npids, sizeof(*x->pids), u32_cmp);
	x->per = per;
	x->ctx = ctx;
	if ((terr = pthread_create(&th, NULL, feeder, x)) != 0)
		return err_set(e, EX_OSERR, terr, "cannot start the feeder thread");
	rc = read_answer(x, ctx, per, e);
	if (rc < 0)
		exec_kill(x);
	pthread_join(th, NULL);
	x->per = NULL;
	if (rc == 0 && x->frc < 0) {
		*e = x->ferr;
		return err_prefix(e, "writing to exec engine '%s'", exec_opt.command);
	}
	return rc;
}

/* Wait up to EXEC_WAIT_MS for the program, then kill it; report how it ended. */
static void
reap(struct exec *x)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int st = 0, waited = 0;
	pid_t r;

	while ((r = waitpid(x->pid, &st, WNOHANG)) == 0 && waited < EXEC_WAIT_MS) {
		nanosleep(&ts, NULL);
		waited += 10;
	}
	if (r == 0) {
		log_warnx("exec engine [%d] still running after %d ms: killed", (int)x->pid,
		    EXEC_WAIT_MS);
		kill(x->pid, SIGKILL);
		r = waitpid(x->pid, &st, 0);
	}
	if (r < 0)
		return;
	if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
		log_warnx("exec engine [%d] killed by signal %d", (int)x->pid, WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		log_warnx("exec engine [%d] exited %d", (int)x->pid, WEXITSTATUS(st));
}

/* Read and drop what the program still writes (its END), up to EOF or
 * EXEC_WAIT_MS, so that it is not killed by SIGPIPE for answering END. */
static void
drain(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	int waited = 0;

	while (waited < EXEC_WAIT_MS) {
		int r = poll(&p, 1, 50);

		if (r < 0 && errno != EINTR)
			return;
		if (r <= 0) {
			waited += 50;
			continue;
		}
		if (read(fd, buf, sizeof(buf)) <= 0)
			return;
	}
}

static void
exec_fini(struct rank_ctx *ctx)
{
	struct exec *x = ctx->priv;

	if (x == NULL)
		return;
	if (x->w != NULL) {
		/* END tells the program the stream is over; a program that
		 * already quit makes this fail, which is fine. */
		(void)etmr_write_end(x->w, 0, NULL);
		(void)etmr_writer_close(x->w, NULL);
	}
	if (x->to_fd >= 0)
		close(x->to_fd);
	if (x->r != NULL)
		etmr_reader_close(x->r);
	if (x->from_fd >= 0) {
		drain(x->from_fd);
		close(x->from_fd);
	}
	if (x->pid > 0)
		reap(x);
	free(x->pids);
	free(x);
	ctx->priv = NULL;
}

static const struct opt exec_opts[] = {
	{ 0, "command", OPT_STR, &exec_opt.command, "CMD",
	  "the policy program, run with /bin/sh -c (config command=)", 0, 0, 0, 0, NULL },
	OPT_END
};

const struct rank_ops rank_exec = {
	.name = "exec",
	.summary = "a policy program in any language, over stdin/stdout",
	.synopsis = "--command 'CMD ARGS' [OPTIONS]",
	.description =
	    "Runs CMD with /bin/sh -c and makes it the policy. At every period the\n"
	    "program reads, in the text form: the header (once), the P items, one\n"
	    "ROUND with the period's loop, the period's resident pages as A items\n"
	    "(count summed over its rounds, by pid then address) and the PERIOD\n"
	    "line. It answers with D items and the same PERIOD line (text or binary;\n"
	    "P and S items are ignored), and gets END when the stream is over.\n\n"
	    "Every answer is checked before it goes on: a frame of another kind,\n"
	    "garbage, a decision for a pid that is not in the period, a misaligned\n"
	    "range or an unknown action fails the run (exit 65) and none of that\n"
	    "period's decisions are written. D items without start_time= get the\n"
	    "pid's identity from the period's P item.",
	.footer =
	    "Exit status: 0 ok; 64 no --command; 65 bad input stream or bad answer\n"
	    "from the program (the line or byte offset is named); 71 cannot start it.\n\n"
	    "Example:\n"
	    "  etmem-scan --backend smaps -p 1234 | \\\n"
	    "      etmem-rank exec --command 'python3 exec-engine.py --max-pages 256' | \\\n"
	    "      etmem-migrate swap\n"
	    "See docs/PLUGINS.md.",
	.opts = exec_opts,
	.init = exec_init,
	.period = exec_period,
	.fini = exec_fini,
};
