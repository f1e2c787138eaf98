/* SPDX-License-Identifier: MIT */
/*
 * main.c - etmem-rank: options and wiring. `etmem-rank ENGINE [OPTIONS]`
 * reads a scanner's stream on stdin and writes the engine's decisions on
 * stdout; rank.c is the loop, rank-<engine>.c the policy.
 */
#include "rank.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "opt.h"

#define OPTS_MAX 64

static struct {
	int text;
	long long control_fd;
	int verbose;
} cfg = { 0, -1, 0 };

static const struct opt common_opts[] = {
	{ 0, "text", OPT_FLAG, &cfg.text, NULL,
	  "write the text form instead of binary ETMR", 0, 0, 0, 0, NULL },
	{ 0, "control-fd", OPT_INT, &cfg.control_fd, "N",
	  "control socket to etmemd-supervisor (stats, stop)", 0, 1 << 20, 0, 0, NULL },
	{ 'v', "verbose", OPT_FLAG, &cfg.verbose, NULL,
	  "log debug messages to stderr", 0, 0, 0, 0, NULL },
	OPT_END
};

static struct opt opts[OPTS_MAX];   /* engine options + common_opts */
static volatile sig_atomic_t stopping;

/* SIGTERM: stop reading. The reader retries reads interrupted by signals,
 * so point stdin at /dev/null: the loop then sees the end of input,
 * finishes what it already has and writes END. All async-signal-safe. */
static void
on_term(int sig)
{
	int fd;

	(void)sig;
	stopping = 1;
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

static void
list_engines(FILE *fp)
{
	size_t i;

	fprintf(fp, "Engines:\n");
	for (i = 0; rank_engines[i] != NULL; i++)
		fprintf(fp, "  %-10s  %s\n", rank_engines[i]->name, rank_engines[i]->summary);
}

static void
top_usage(FILE *fp)
{
	fprintf(fp, "usage: etmem-rank ENGINE [OPTIONS] < stream > decisions\n\n"
	    "Ranks the pages in an ETMR stream (from etmem-scan or etmem-pmu) and\n"
	    "writes what should move, per period, for etmem-migrate. Input is binary\n"
	    "or text ETMR (auto-detected); output is binary unless --text.\n"
	    "'etmem-rank ENGINE --help' describes an engine and its options.\n\n");
	list_engines(fp);
}

/* The engine's options followed by the common ones, as one table. */
static void
merge_opts(struct opt *out, const struct opt *a, const struct opt *b)
{
	size_t n = 0;

	for (; a && a->type != OPT_END_ && n < OPTS_MAX - 1; a++)
		out[n++] = *a;
	for (; b->type != OPT_END_ && n < OPTS_MAX - 1; b++)
		out[n++] = *b;
	out[n] = (struct opt)OPT_END;
}

static int
engine_ctl(struct ctl_stage *s, const struct ctl_msg *m, void *arg)
{
	struct rank_ctx *ctx = arg;

	return ctx->ops->ctl(ctx, s, m);
}

int
main(int argc, char **argv)
{
	const struct rank_ops *ops;
	struct opt_cmd cmd;
	struct ctl_stage ctl;
	struct rank_ctx ctx;
	struct rank_io io;
	struct etmr_header h;
	struct sigaction sa;
	char name[64];
	struct err e;
	int idx, rc;

	log_init("etmem-rank", LOG_LEVEL_INFO, 0);
	err_clear(&e);
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			top_usage(stdout);
			return 0;
		}
		fprintf(stderr, "etmem-rank: an ENGINE is needed first\n");
		top_usage(stderr);
		return EX_USAGE;
	}
	if ((ops = rank_engine(argv[1])) == NULL) {
		fprintf(stderr, "etmem-rank: unknown engine '%s'\n", argv[1]);
		list_engines(stderr);
		return EX_USAGE;
	}
	if (ops == &rank_slide && rank_sweep_wanted(argc - 1, argv + 1))
		return rank_sweep_main(argc - 1, argv + 1);   /* rank-sweep.c */
	snprintf(name, sizeof(name), "etmem-rank %s", ops->name);
	merge_opts(opts, ops->opts, common_opts);
	cmd = (struct opt_cmd){ name, ops->synopsis, ops->description, opts, ops->footer };
	idx = opt_parse(&cmd, argc - 1, argv + 1, &e);
	if (idx == OPT_HELP) {
		opt_usage(&cmd, stdout);
		return 0;
	}
	if (idx < 0 || idx < argc - 1) {
		if (idx >= 0)
			err_set(&e, EX_USAGE, 0, "unexpected operand '%s'", argv[idx + 1]);
		log_err(&e);
		opt_synopsis(&cmd, stderr);
		return EX_USAGE;
	}
	if (cfg.verbose)
		log_setlevel(LOG_LEVEL_DEBUG);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Options are checked before anything is read. */
	if (rank_ctx_init(&ctx, ops, 4096, &e) < 0) {
		log_err(&e);
		if (e.code == EX_USAGE)
			opt_synopsis(&cmd, stderr);
		rank_ctx_free(&ctx);
		return e.code ? e.code : EX_SOFTWARE;
	}
	/* Ready: tell the supervisor before blocking on the upstream. */
	if (ctl_stage_open(&ctl, (int)cfg.control_fd, "etmem-rank", &e) < 0) {
		rank_ctx_free(&ctx);
		fatal_err(&e);
	}
	if (ops->ctl != NULL) {
		/* Engine-private requests (cslide's show commands). */
		ctl.fn = engine_ctl;
		ctl.arg = &ctx;
	}
	memset(&io, 0, sizeof(io));
	io.stop = &stopping;
	io.ctl = &ctl;
	io.in = etmr_reader_open(STDIN_FILENO, "<stdin>", &e);
	if (io.in == NULL) {
		ctl_stage_close(&ctl);
		rank_ctx_free(&ctx);
		fatal_err(&e);
	}
	h = *etmr_reader_header(io.in);
	ctx.page_size = h.page_size;
	io.out = etmr_writer_open(STDOUT_FILENO, cfg.text ? ETMR_FORM_TEXT : ETMR_FORM_BINARY,
	    &h, &e);
	if (io.out == NULL) {
		etmr_reader_close(io.in);
		ctl_stage_close(&ctl);
		rank_ctx_free(&ctx);
		fatal_err(&e);
	}

	rc = rank_run(&ctx, &io, &e);
	if (rc < 0)
		log_err(&e);
	if (etmr_writer_close(io.out, rc < 0 ? NULL : &e) < 0 && rc == 0) {
		log_err(&e);
		rc = -1;
	}
	etmr_reader_close(io.in);
	ctl_stage_close(&ctl);
	rank_ctx_free(&ctx);
	if (rc < 0)
		return e.code ? e.code : EX_SOFTWARE;
	return 0;
}
