/* SPDX-License-Identifier: MIT */
/*
 * main.c - etmem-psi: options, setup and wiring. The rounds are psi.c's, the
 * control law psi-law.c's, the kernel files psi-cgroup-v2.c / -v1.c's.
 */
#include "psi.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "opt.h"
#include "procfs.h"

static struct {
	struct opt_list cg_dirs;
	double interval, pressure, rate, rate_min, rate_max, ratio;
	long long max_bytes, min_bytes, periods, control_fd;
	const char *sys_root, *cgroup_root;
	int text, verbose;
} cfg = {
	.interval = 10, .pressure = 0.1, .rate = 0.05, .rate_min = 0.01,
	.rate_max = 0.5, .ratio = 0.1, .max_bytes = 1LL << 30, .min_bytes = 0,
	.periods = 0, .control_fd = -1,
};

static const struct opt opts[] = {
	{ 0, "cg-dir", OPT_LIST, &cfg.cg_dirs, "DIR",
	  "cgroup below the root, glob and {a,b} allowed, e.g. 'isulad/*' (repeatable; required)", 0, 0, 0, 0, NULL },
	{ 0, "interval", OPT_DOUBLE, &cfg.interval, "S",
	  "seconds between rounds, fractions allowed (default 10)", 0, 0, 0.01, 1200, NULL },
	{ 0, "pressure", OPT_DOUBLE, &cfg.pressure, "P",
	  "reclaim only while max(some avg10, avg60) < P, in PSI percent (default 0.1)", 0, 0, 0, 100, NULL },
	{ 0, "reclaim-rate", OPT_DOUBLE, &cfg.rate, "R",
	  "initial fraction of (usage - floor) asked per round (default 0.05)", 0, 0, 0.0001, 1, NULL },
	{ 0, "reclaim-rate-min", OPT_DOUBLE, &cfg.rate_min, "R",
	  "lowest adaptive rate (default 0.01)", 0, 0, 0.0001, 1, NULL },
	{ 0, "reclaim-rate-max", OPT_DOUBLE, &cfg.rate_max, "R",
	  "highest adaptive rate (default 0.5)", 0, 0, 0.0001, 1, NULL },
	{ 0, "reclaim-max-bytes", OPT_INT, &cfg.max_bytes, "N",
	  "at most N bytes per cgroup per round (default 1073741824)", 1, INT64_MAX, 0, 0, NULL },
	{ 0, "limit-min-bytes", OPT_INT, &cfg.min_bytes, "N",
	  "never push a cgroup below N bytes (default 0)", 0, INT64_MAX, 0, 0, NULL },
	{ 0, "limit-min-ratio", OPT_DOUBLE, &cfg.ratio, "F",
	  "nor below F x its memory limit, when limited (default 0.1)", 0, 0, 0, 1, NULL },
	{ 0, "periods", OPT_INT, &cfg.periods, "N",
	  "stop after N rounds; 0 = run until stopped (default)", 0, INT64_MAX, 0, 0, NULL },
	{ 0, "control-fd", OPT_INT, &cfg.control_fd, "FD",
	  "supervisor control socket (etmemd-supervisor passes it)", 0, 65535, 0, 0, NULL },
	{ 0, "sys-root", OPT_STR, &cfg.sys_root, "DIR",
	  "read /sys below DIR (fixtures; default $ETMEM_SYS_ROOT or /)", 0, 0, 0, 0, NULL },
	{ 0, "cgroup-root", OPT_STR, &cfg.cgroup_root, "DIR",
	  "the cgroup mount directory instead of <sys-root>/sys/fs/cgroup", 0, 0, 0, 0, NULL },
	{ 0, "text", OPT_FLAG, &cfg.text, NULL,
	  "print one line per cgroup and per round on stdout", 0, 0, 0, 0, NULL },
	{ 'v', "verbose", OPT_FLAG, &cfg.verbose, NULL,
	  "log every cgroup's decision (debug)", 0, 0, 0, 0, NULL },
	OPT_END
};

static const struct opt_cmd cmd = {
	.name = "etmem-psi",
	.synopsis = "--cg-dir DIR... [--interval S] [--pressure P] [OPTIONS]",
	.description =
	    "Pressure-driven proactive reclaim for cgroups. Every interval, for\n"
	    "each cgroup matching a --cg-dir pattern (re-expanded every round),\n"
	    "read the memory pressure (max of avg10 and avg60 of \"some\"); if it\n"
	    "is below --pressure, write (usage - floor) x rate bytes, capped by\n"
	    "--reclaim-max-bytes and rounded down to pages, to memory.reclaim,\n"
	    "where floor = max(--limit-min-bytes, --limit-min-ratio x limit,\n"
	    "memory.min, memory.low). Each cgroup's rate rises by 0.01 after 5\n"
	    "calm rounds and falls by 0.01 after 2 pressured ones, within\n"
	    "--reclaim-rate-min..max. Uses cgroup v2 (/sys/fs/cgroup, or\n"
	    "/sys/fs/cgroup/unified on hybrid hosts) or openEuler's cgroup v1\n"
	    "extensions (cpuacct/<cg>/memory.pressure, memory/<cg>/memory.reclaim).",
	.opts = opts,
	.footer =
	    "--text lines:\n"
	    "  C <round> <cgroup> <outcome> pressure=P rate=R usage=N floor=N asked=N reclaimed=N\n"
	    "  R <round> cgroups=N asked=N reclaimed=N pressured=N floor=N vanished=N errors=N\n"
	    "outcome: reclaim, partial (kernel EAGAIN), pressure, floor, small, vanished, error.\n"
	    "\n"
	    "Exit status: 0 done or stopped (SIGTERM, SIGINT, supervisor STOP);\n"
	    "64 bad usage; 69 no usable cgroup memory controller (names what is\n"
	    "missing); 71 out of memory.\n"
	    "\n"
	    "Example: etmem-psi --cg-dir 'isulad/*' --interval 5 --pressure 0.2 -v\n",
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static struct ctl_stage ctl;   /* large: not on the stack */
	const struct psi_cg_ops *ops;
	struct psi_env env;
	struct psi_cfg pc;
	struct sigaction sa;
	char base[PATH_MAX];
	struct err e;
	int i, r;

	log_init("etmem-psi", LOG_LEVEL_INFO, 0);
	err_clear(&e);
	r = opt_parse(&cmd, argc, argv, &e);
	if (r == OPT_HELP) {
		opt_usage(&cmd, stdout);
		return 0;
	}
	if (r >= 0 && r < argc)
		r = err_set(&e, EX_USAGE, 0, "unexpected operand '%s'", argv[r]);
	else if (r >= 0 && cfg.cg_dirs.n == 0)
		r = err_set(&e, EX_USAGE, 0, "--cg-dir is required");
	for (i = 0; r >= 0 && i < cfg.cg_dirs.n; i++)
		if (psi_pattern_check(cfg.cg_dirs.v[i], &e) < 0)
			r = -1;
	memset(&pc, 0, sizeof(pc));
	pc.law = (struct psi_law){ .pressure = cfg.pressure, .rate = cfg.rate,
	    .rate_min = cfg.rate_min, .rate_max = cfg.rate_max,
	    .reclaim_max_bytes = (uint64_t)cfg.max_bytes,
	    .limit_min_bytes = (uint64_t)cfg.min_bytes,
	    .limit_min_ratio = cfg.ratio, .page_size = (uint64_t)sysconf(_SC_PAGESIZE) };
	if (r >= 0 && psi_law_check(&pc.law, &e) < 0)
		r = -1;
	if (r < 0) {
		fprintf(stderr, "etmem-psi: %s\n", e.msg);
		opt_synopsis(&cmd, stderr);
		return EX_USAGE;
	}
	log_setlevel(cfg.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	if (procfs_init(NULL, cfg.sys_root, &e) < 0)
		fatal_err(&e);
	if (cfg.cgroup_root != NULL)
		snprintf(base, sizeof(base), "%s", cfg.cgroup_root);
	else if (sysfs_path(base, sizeof(base), "fs/cgroup") < 0)
		fatalx(EX_USAGE, "--sys-root '%s' is too long", procfs_sys_root());
	if (psi_probe(base, &ops, &env, &e) < 0)
		fatal_err(&e);
	if (strcmp(env.root, env.mem_root) != 0)
		log_info("%s at '%s' and '%s'", ops->name, env.root, env.mem_root);
	else
		log_info("%s at '%s'", ops->name, env.root);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;     /* no SA_RESTART: a reclaim write returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (ctl_stage_open(&ctl, (int)cfg.control_fd, "psi", &e) < 0)
		fatal_err(&e);

	pc.patterns = cfg.cg_dirs.v;
	pc.npatterns = (size_t)cfg.cg_dirs.n;
	pc.interval_s = cfg.interval;
	pc.periods = (unsigned long long)cfg.periods;
	pc.text = cfg.text ? stdout : NULL;
	r = psi_run(&pc, ops, &env, &ctl, &stop, &e);
	ctl_stage_close(&ctl);
	if (r < 0)
		fatal_err(&e);
	return 0;
}
