/* SPDX-License-Identifier: MIT */
/*
 * etmem-scan - which pages of which processes were accessed, as an ETMR
 * stream on stdout. main.c is the options table and the wiring; the loop
 * is scan.c, each kernel interface one scan-<backend>.c.
 */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "opt.h"
#include "procfs.h"

static struct {
	struct opt_pids pids;
	const char *name, *backend, *vm_flags, *anon_only;
	const char *decode, *address, *proc_root, *sys_root;
	long long loop, periods, control_fd;
	double interval, sleep;
	int text, verbose, swap_flag, list, numa_node, wait_for_name;
} cfg = { .backend = "auto", .anon_only = "yes", .loop = 1, .control_fd = -1,
	  .interval = 1.0, .sleep = 1.0 };

static const struct opt opts[] = {
	{ 'p', "pid", OPT_PIDS, &cfg.pids, "PID", "target process (repeatable)", 0, 0, 0, 0, NULL },
	{ 'n', "name", OPT_STR, &cfg.name, "NAME", "every process named NAME and its direct children, re-resolved each period", 0, 0, 0, 0, NULL },
	{ 0, "wait-for-name", OPT_FLAG, &cfg.wait_for_name, NULL, "with -n: no such process yet is not an error; periods without targets pass until one appears", 0, 0, 0, 0, NULL },
	{ 0, "loop", OPT_INT, &cfg.loop, "N", "scan passes per period, 1..120 (default 1)", 1, 120, 0, 0, NULL },
	{ 0, "interval", OPT_DOUBLE, &cfg.interval, "SEC", "seconds between the passes of a period (default 1; fractions allowed)", 0, 0, 0, 1200, NULL },
	{ 0, "sleep", OPT_DOUBLE, &cfg.sleep, "SEC", "seconds between periods (default 1)", 0, 0, 0, 1200, NULL },
	{ 0, "periods", OPT_INT, &cfg.periods, "N", "stop after N periods; 0 = run until stopped (default)", 0, 1000000000, 0, 0, NULL },
	{ 0, "backend", OPT_STR, &cfg.backend, "NAME", "idle_pages|page_idle|damon|smaps|auto (default auto)", 0, 0, 0, 0, NULL },
	{ 0, "list-backends", OPT_FLAG, &cfg.list, NULL, "print each backend and whether this kernel has it, then exit", 0, 0, 0, 0, NULL },
	{ 0, "anon-only", OPT_STR, &cfg.anon_only, "yes|no", "only private non-exec anonymous or writable VMAs (default yes)", 0, 0, 0, 0, NULL },
	{ 0, "vm-flags", OPT_STR, &cfg.vm_flags, "ht", "only VMAs with these VmFlags (ht = hugetlb)", 0, 0, 0, 0, NULL },
	{ 0, "numa-node", OPT_FLAG, &cfg.numa_node, NULL, "fill each ACCESS item's node (one move_pages query per 64 Ki pages per pass; on with --vm-flags ht)", 0, 0, 0, 0, NULL },
	{ 0, "swap-flag", OPT_FLAG, &cfg.swap_flag, NULL, "only VMAs marked MADV_SWAPFLAG (idle_pages only)", 0, 0, 0, 0, NULL },
	{ 0, "text", OPT_FLAG, &cfg.text, NULL, "write the text form of the stream", 0, 0, 0, 0, NULL },
	{ 0, "control-fd", OPT_INT, &cfg.control_fd, "FD", "control socket from etmemd", 0, 65535, 0, 0, NULL },
	{ 0, "proc-root", OPT_STR, &cfg.proc_root, "DIR", "read DIR/proc instead of /proc (also ETMEM_PROC_ROOT)", 0, 0, 0, 0, NULL },
	{ 0, "sys-root", OPT_STR, &cfg.sys_root, "DIR", "read DIR/sys instead of /sys (also ETMEM_SYS_ROOT)", 0, 0, 0, 0, NULL },
	{ 0, "decode-idle-pages", OPT_STR, &cfg.decode, "FILE", "decode a raw idle_pages capture to ACCESS records and exit", 0, 0, 0, 0, NULL },
	{ 0, "address", OPT_STR, &cfg.address, "ADDR", "with --decode-idle-pages: the VA the capture was read from", 0, 0, 0, 0, NULL },
	{ 'v', "verbose", OPT_FLAG, &cfg.verbose, NULL, "debug log on stderr", 0, 0, 0, 0, NULL },
	OPT_END };

/* The tool's options followed by the DAMON backend's (scan-damon.c). */
static struct opt all_opts[64];

static struct opt_cmd cmd = {
	"etmem-scan", "(-p PID | -n NAME)... [--backend NAME] [--loop N] [--interval SEC] [--sleep SEC] [--periods N] [--text]",
	"Scan the memory of target processes for accesses and write an ETMR stream\n"
	"to stdout: per period the selected VMAs (V), per pass a ROUND and its access\n"
	"extents (A), the processes' facts (P), counters (S) and a PERIOD; END last.\n"
	"Backends: idle_pages (openEuler etmem_scan), page_idle (CONFIG_IDLE_PAGE_TRACKING),\n"
	"damon (CONFIG_DAMON_VADDR), smaps (clear_refs + Referenced, any kernel).",
	all_opts,
	"Exit status: 0 done or stopped (SIGTERM, STOP, every -p target exited),\n"
	"64 usage, 65 bad capture, 66 no such process, 69 backend unavailable\n"
	"(names the kernel option or module), 71/74 OS or I/O error, 77 permission.\n\n"
	"Examples:\n  etmem-scan -p 1234 --loop 3 --interval 0.5 --sleep 10 --text\n"
	"  etmem-scan --decode-idle-pages cap.bin --address 0x7f0000000000 --text" };

/* --decode-idle-pages: no kernel involved, just the decoder. */
static int
decode_mode(const struct scan_env *env, struct err *e)
{
	struct etmr_header h = { .version = ETMR_VERSION, .page_size = env->page_size,
		.backend = ETMR_BACKEND_IDLE_PAGES };
	struct etmr_writer *w;
	unsigned long long addr;
	char *end;
	int rc;

	errno = 0;
	addr = cfg.address ? strtoull(cfg.address, &end, 16) : 0;
	if (cfg.address == NULL || errno != 0 || *end != '\0' || addr % env->page_size)
		return err_set(e, EX_USAGE, 0, "--decode-idle-pages needs --address "
		    "ADDR, a page-aligned hex address");
	if ((w = etmr_writer_open(STDOUT_FILENO, cfg.text ? ETMR_FORM_TEXT :
	    ETMR_FORM_BINARY, &h, e)) == NULL)
		return -1;
	rc = scan_decode_file(cfg.decode, addr, cfg.pids.n ? cfg.pids.v[0] : 0,
	    env->page_size, w, e);
	if (rc == 0)
		rc = etmr_write_end(w, 0, e);
	if (etmr_writer_close(w, rc == 0 ? e : NULL) < 0)
		rc = -1;
	return rc;
}

/* Settings that need checking beyond the option table. */
static int
setup(struct scan_env *env, struct scan_config *sc, struct err *e)
{
	memset(env, 0, sizeof(*env));
	env->page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	env->swap_flag = cfg.swap_flag;
	if (strcmp(cfg.anon_only, "yes") != 0 && strcmp(cfg.anon_only, "no") != 0)
		return err_set(e, EX_USAGE, 0, "option '--anon-only': '%s' is not yes or no", cfg.anon_only);
	env->anon_only = strcmp(cfg.anon_only, "yes") == 0;
	if (cfg.vm_flags != NULL && strcmp(cfg.vm_flags, "ht") != 0)
		return err_set(e, EX_USAGE, 0, "option '--vm-flags': '%s' is not supported (only ht)", cfg.vm_flags);
	env->hugetlb_only = cfg.vm_flags != NULL;
	memset(sc, 0, sizeof(*sc));
	sc->pids = cfg.pids.v;
	sc->npids = cfg.pids.n;
	sc->name = cfg.name;
	sc->wait_for_name = cfg.wait_for_name;
	sc->loop = cfg.loop;
	sc->interval_s = cfg.interval;
	sc->sleep_s = cfg.sleep;
	sc->periods = cfg.periods;
	sc->backend = cfg.backend;
	sc->text = cfg.text;
	sc->control_fd = (int)cfg.control_fd;
	sc->swap_flag = cfg.swap_flag;
	/* cslide needs every page's node, from the stream (replayable). */
	sc->numa_node = cfg.numa_node || env->hugetlb_only;
	if (scan_damon_setup(env, cfg.backend, e) < 0)
		return -1;
	if (procfs_init(cfg.proc_root, cfg.sys_root, e) < 0)
		return -1;
	if (!cfg.list && cfg.decode == NULL && sc->npids == 0 && sc->name == NULL)
		return err_set(e, EX_USAGE, 0, "no target: give -p PID or -n NAME");
	return 0;
}

int
main(int argc, char **argv)
{
	const struct scan_ops *ops;
	struct scan_config sc;
	struct scan_env env;
	struct err e = { 0 };
	int i;

	log_init("etmem-scan", LOG_LEVEL_INFO, 0);
	if (opt_join(all_opts, sizeof(all_opts) / sizeof(all_opts[0]), opts, scan_damon_opts) < 0)
		BUG("option table too small");
	i = opt_parse(&cmd, argc, argv, &e);
	if (i == OPT_HELP) {
		opt_usage(&cmd, stdout);
		return 0;
	}
	if (i >= 0 && i < argc)
		err_set(&e, EX_USAGE, 0, "unexpected argument '%s'", argv[i]);
	if (i < 0 || i < argc || setup(&env, &sc, &e) < 0) {
		log_err(&e);
		if (e.code == EX_USAGE)
			opt_synopsis(&cmd, stderr);
		return e.code ? e.code : EX_USAGE;
	}
	if (cfg.verbose)
		log_setlevel(LOG_LEVEL_DEBUG);
	if (cfg.list) {
		scan_list_backends(&env, stdout);
		return 0;
	}
	if (cfg.decode != NULL)
		return decode_mode(&env, &e) < 0 ? (log_err(&e), e.code) : 0;
	if ((ops = scan_pick_backend(cfg.backend, &env, &e)) == NULL)
		fatal_err(&e);
	if (cfg.swap_flag && ops != &scan_idle_pages)
		fatalx(EX_UNAVAILABLE, "--swap-flag needs the idle_pages backend "
		    "(MADV_SWAPFLAG exists only on openEuler kernels)");
	return scan_run(&sc, ops, &env);
}
