/* SPDX-License-Identifier: MIT */
/*
 * main.c - etmem-migrate: options, setup and wiring; the work is in
 * migrate.c (core) and mig-*.c (one kernel interface each).
 *
 * Actions: `swap` (swap_pages / process_madvise) and `numa` (move_pages,
 * cslide's demotions and promotions).
 */
#include "migrate.h"

#include <errno.h>
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
#include "procfs.h"

static struct {
	struct opt_pids pids;
	int dry_run, text, verbose;
	const char *backend, *proc_root, *sys_root;
	long long high, low, control_fd, quota_mb;
} cfg = { .control_fd = -1 };

/* Designated initializers: the unused range fields stay 0. */
#define O(s, l, t, v, a, h) { .short_name = (s), .long_name = (l), .type = (t), \
	.value = (v), .argname = (a), .help = (h) }
#define OI(l, v, a, h, lo, hi) { .long_name = (l), .type = OPT_INT, .value = (v), \
	.argname = (a), .help = (h), .min = (lo), .max = (hi) }
static const struct opt opts[] = {
	O('p', "pid", OPT_PIDS, &cfg.pids, "PID",
	  "act only on this process (repeatable); others are counted as skipped_filtered"),
	O(0, "dry-run", OPT_FLAG, &cfg.dry_run, NULL,
	  "validate and print the plan on stderr; touch nothing"),
	O(0, "backend", OPT_STR, &cfg.backend, "NAME",
	  "auto (default: swap_pages where present, else madvise) | swap_pages | madvise"),
	OI("swapcache-high-wmark", &cfg.high, "PCT",
	  "start swapcache reclaim above PCT % of RAM (1..100; swap_pages only)", 1, 100),
	OI("swapcache-low-wmark", &cfg.low, "PCT",
	  "reclaim swapcache down to PCT % of RAM (1..100, below the high mark)", 1, 100),
	O(0, "text", OPT_FLAG, &cfg.text, NULL, "write the text form instead of binary ETMR"),
	OI("control-fd", &cfg.control_fd, "N",
	  "supervisor control socket (stats, stop)", 0, 1 << 20),
	O(0, "proc-root", OPT_STR, &cfg.proc_root, "DIR",
	  "read DIR/proc instead of /proc (fixtures; also ETMEM_PROC_ROOT)"),
	O(0, "sys-root", OPT_STR, &cfg.sys_root, "DIR",
	  "read DIR/sys instead of /sys (also ETMEM_SYS_ROOT)"),
	O('v', "verbose", OPT_FLAG, &cfg.verbose, NULL, "log debug lines"),
	OPT_END
};
/* numa: the options that make sense for move_pages. */
static const struct opt numa_opts[] = {
	O('p', "pid", OPT_PIDS, &cfg.pids, "PID",
	  "act only on this process (repeatable); others are counted as skipped_filtered"),
	O(0, "dry-run", OPT_FLAG, &cfg.dry_run, NULL,
	  "validate and print the plan on stderr; touch nothing"),
	OI("node-mig-quota", &cfg.quota_mb, "MB",
	  "per period, move at most MB MiB into or out of any one node (0 = no limit)",
	  0, 1ll << 30),
	O(0, "text", OPT_FLAG, &cfg.text, NULL, "write the text form instead of binary ETMR"),
	OI("control-fd", &cfg.control_fd, "N",
	  "supervisor control socket (stats, stop)", 0, 1 << 20),
	O(0, "proc-root", OPT_STR, &cfg.proc_root, "DIR",
	  "read DIR/proc instead of /proc (fixtures; also ETMEM_PROC_ROOT)"),
	O(0, "sys-root", OPT_STR, &cfg.sys_root, "DIR",
	  "read DIR/sys instead of /sys (also ETMEM_SYS_ROOT)"),
	O('v', "verbose", OPT_FLAG, &cfg.verbose, NULL, "log debug lines"),
	OPT_END
};
#undef O
#undef OI

static const struct opt_cmd numa_cmd = {
	.name = "etmem-migrate numa",
	.synopsis = "[-p PID]... [--dry-run] [--node-mig-quota MB] [--text] [OPTIONS] < decisions",
	.description =
	    "Move the pages that DECISION items with action demote or promote name to\n"
	    "the decision's node, with move_pages(2), one period at a time (see\n"
	    "'etmem-migrate swap --help' for the period, identity and validation rules,\n"
	    "which are the same). Demotions go first, then promotions. Each page (one per\n"
	    "page of the decision's size, e.g. one per 2 MiB hugetlb page) is located\n"
	    "first: pages already on the target are counted (pages_already), swapped or\n"
	    "unmapped ones counted and left; the others are moved and each page's status\n"
	    "is read back: pages_moved, pages_busy, pages_failed (e.g. no such node). A\n"
	    "refused page never stops the rest of the batch. --node-mig-quota is a second\n"
	    "guard behind etmem-rank cslide: per period, at most MB MiB are moved into or\n"
	    "out of any one node (with disjoint node pairs: the per-pair budget of both\n"
	    "directions); pages beyond it are counted in pages_over_quota. Only pages the\n"
	    "process maps alone are moved (MPOL_MF_MOVE); shared mappings are skipped.",
	.opts = numa_opts,
	.footer =
	    "Exit status: 0 done, 64 usage, 65 bad input stream, 69 no NUMA support in\n"
	    "this kernel, 71 OS error, 74 output error.\n\n"
	    "Example:\n"
	    "  etmem-scan -p 42 --node ... | etmem-rank cslide --node-pair 0,1 ... |\n"
	    "      etmem-migrate numa --node-mig-quota 1024 --text\n\n"
	    "See etmem-migrate(8) and docs/CSLIDE.md.",
};

static const struct opt_cmd cmd = {
	.name = "etmem-migrate swap",
	.synopsis = "[-p PID]... [--dry-run] [--backend NAME] [--text] [OPTIONS] < decisions",
	.description =
	    "Swap out the pages that the ranker's DECISION items name, one period at a\n"
	    "time: a period's decisions are acted on when its PERIOD arrives (and any left\n"
	    "at END or end of input). Each decision applies only to the process it names\n"
	    "(pid and start time; start_time 0 is not checked), is validated against that\n"
	    "process's current mappings and is cut to them; special, shared and locked\n"
	    "mappings, vanished or recycled pids and unmapped ranges are counted and\n"
	    "skipped. Pages go out through openEuler's /proc/PID/swap_pages when present,\n"
	    "else process_madvise(MADV_PAGEOUT). Input is binary ETMR or its text form.\n"
	    "Output, per period: the upstream STAT items, this stage's counters (S migrate\n"
	    "...: decisions, bytes_requested, bytes_accepted, bytes_swapped, skipped_*)\n"
	    "and the PERIOD; END last. One info line per period on stderr.",
	.opts = opts,
	.footer =
	    "Exit status: 0 done (also after SIGTERM: the current batch is finished, END\n"
	    "written), 64 usage, 65 bad input stream, 69 no swap-out interface in this\n"
	    "kernel, 71 OS error, 74 output error.\n\n"
	    "Example:\n"
	    "  etmem-scan -p 42 --loop 2 --interval 0.5 --periods 1 | etmem-rank slide -T 1 |\n"
	    "      etmem-migrate swap --text\n\n"
	    "See etmem-migrate(8).",
};

static volatile sig_atomic_t devnull_fd = -1;

/* SIGTERM: stop after the current batch. Standard input is replaced by
 * /dev/null so a read blocked in the stream library ends as end of input
 * even if the library retries on EINTR. */
static void
on_term(int sig)
{
	(void)sig;
	mig_stopping = 1;
	if (devnull_fd >= 0)
		dup2(devnull_fd, STDIN_FILENO);
}

static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;       /* no SA_RESTART: reads return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);      /* a closed downstream is a write error */
	devnull_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static const struct mig_ops *
backend(const char *name)
{
	if (name == NULL || strcmp(name, "auto") == 0)
		return NULL;
	if (strcmp(name, "swap_pages") == 0)
		return &mig_swap_pages;
	if (strcmp(name, "madvise") == 0)
		return &mig_madvise;
	fprintf(stderr, "%s: option '--backend': unknown backend '%s' "
	    "(auto, swap_pages, madvise)\n", log_procname(), name);
	opt_synopsis(&cmd, stderr);
	exit(EX_USAGE);
}

/* Kernel support: fail before reading a byte if nothing can swap. */
static void
probe(struct mig_env *env)
{
	struct err e, e2;
	int sp = mig_swap_pages.probe(env, &e) == 0;

	if (env->force != NULL && env->force->probe(env, &e2) < 0)
		fatal_err(&e2);
	if (env->force == NULL && !sp && mig_madvise.probe(env, &e2) < 0)
		fatalx(EX_UNAVAILABLE, "no swap-out interface: %s; %s", e.msg, e2.msg);
	if (env->wmark_high && (env->force == &mig_madvise || !sp)) {
		/* Said once, here: the watermarks are an etmem_swap feature. */
		log_warnx("swapcache watermarks are unsupported on this kernel: they need "
		    "openEuler's etmem_swap (%s); ignoring --swapcache-high-wmark/"
		    "--swapcache-low-wmark", sp ? "--backend madvise was given" : e.msg);
		env->wmark_high = env->wmark_low = 0;
	}
}

static const struct opt_cmd *the_cmd = &cmd;

static void
usage_exit(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", log_procname());
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	opt_synopsis(the_cmd, stderr);
	exit(EX_USAGE);
}

static void
top_help(FILE *fp)
{
	fprintf(fp, "usage: etmem-migrate swap|numa [OPTIONS] < decisions\n\n"
	    "Move the memory that etmem-rank decided on. Actions:\n"
	    "  swap    swap out (openEuler swap_pages, else process_madvise PAGEOUT)\n"
	    "  numa    demote/promote between NUMA nodes (move_pages)\n\n"
	    "Run 'etmem-migrate ACTION --help' for the options.\n");
}

int
main(int argc, char **argv)
{
	static struct ctl_stage ctl;
	struct mig_env env = { 0 };
	struct mig_run_opts ro = { .env = &env, .ctl = &ctl };
	struct err e;
	int rc;

	log_init("etmem-migrate", LOG_LEVEL_INFO, 0);
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			top_help(stdout);
			return 0;
		}
		top_help(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "numa") == 0)
		the_cmd = &numa_cmd;
	else if (strcmp(argv[1], "swap") != 0)
		usage_exit("unknown action '%s' (swap, numa)", argv[1]);
	rc = opt_parse(the_cmd, argc - 1, argv + 1, &e);
	if (rc == OPT_HELP) {
		opt_usage(the_cmd, stdout);
		return 0;
	}
	if (rc < 0)
		usage_exit("%s", e.msg);
	if (rc < argc - 1)
		usage_exit("unexpected argument '%s'", argv[rc + 1]);
	if ((cfg.high != 0) != (cfg.low != 0) || (cfg.high && cfg.high <= cfg.low))
		usage_exit("%s", "--swapcache-high-wmark and --swapcache-low-wmark go "
		    "together, with high > low");
	log_setlevel(cfg.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (procfs_init(cfg.proc_root, cfg.sys_root, &e) < 0)
		fatal_err(&e);
	env.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	env.dry_run = cfg.dry_run;
	env.only = cfg.pids.v;
	env.n_only = (size_t)cfg.pids.n;
	env.force = backend(cfg.backend);
	env.wmark_high = (unsigned)cfg.high;
	env.wmark_low = (unsigned)cfg.low;
	ro.text = cfg.text;
	if (the_cmd == &numa_cmd) {
		env.force = &mig_move_pages;
		env.node_quota_bytes = (uint64_t)cfg.quota_mb << 20;
		if (mig_move_pages.probe(&env, &e) < 0)
			fatal_err(&e);
	} else {
		probe(&env);
	}
	signals();
	if (ctl_stage_open(&ctl, (int)cfg.control_fd, "etmem-migrate", &e) < 0)
		fatal_err(&e);
	rc = mig_run(&ro, STDIN_FILENO, STDOUT_FILENO, &e);
	if (rc != 0)
		log_err(&e);
	ctl_stage_close(&ctl);
	return rc;
}
