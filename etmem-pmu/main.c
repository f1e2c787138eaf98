/* SPDX-License-Identifier: MIT */
/*
 * etmem-pmu - which pages of which processes were accessed, from sampled
 * memory accesses (perf_event_open), as an ETMR stream on stdout. A drop-in
 * source stage beside etmem-scan: same target and timing flags, same
 * records. main.c is the options table and the wiring; the loop is pmu.c.
 */
#include "pmu.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "log.h"
#include "opt.h"
#include "procfs.h"

#define SAMPLE_PERIOD_HW_DEFAULT 5000   /* the original's opening period */
#define COOLING_MIN 10000               /* the original's documented range */

static struct {
	struct opt_pids pids;
	const char *name, *event, *anon_only, *proc_root, *sys_root;
	long long loop, periods, control_fd, sample_period, cooling;
	long long vma_rate, cpu_set_size;
	double interval, sleep;
	int text, verbose, wait_for_name;
} cfg = { .event = "auto", .anon_only = "yes", .loop = 1, .control_fd = -1,
	  .interval = 1.0, .sleep = 1.0, .vma_rate = 1, .cpu_set_size = 1 };

static const struct opt opts[] = {
	{ 'p', "pid", OPT_PIDS, &cfg.pids, "PID", "target process (repeatable); its threads and later children are sampled", 0, 0, 0, 0, NULL },
	{ 'n', "name", OPT_STR, &cfg.name, "NAME", "every process named NAME and its direct children, re-resolved each period", 0, 0, 0, 0, NULL },
	{ 0, "wait-for-name", OPT_FLAG, &cfg.wait_for_name, NULL, "with -n: no such process yet is not an error; periods without targets pass until one appears", 0, 0, 0, 0, NULL },
	{ 0, "loop", OPT_INT, &cfg.loop, "N", "sampling passes per period, 1..120 (default 1)", 1, 120, 0, 0, NULL },
	{ 0, "interval", OPT_DOUBLE, &cfg.interval, "SEC", "length of one pass in seconds (default 1; fractions allowed)", 0, 0, 0, 1200, NULL },
	{ 0, "sleep", OPT_DOUBLE, &cfg.sleep, "SEC", "seconds between periods, events off (default 1)", 0, 0, 0, 1200, NULL },
	{ 0, "periods", OPT_INT, &cfg.periods, "N", "stop after N periods; 0 = run until stopped (default)", 0, 1000000000, 0, 0, NULL },
	{ 0, "event", OPT_STR, &cfg.event, "EVENT", "auto (hardware PMU with data addresses), page-faults, major-faults, or a libpfm4 event name (default auto)", 0, 0, 0, 0, NULL },
	{ 0, "sample-period", OPT_INT, &cfg.sample_period, "N", "one sample every N events: 1000..10000 for hardware events (default 5000), 1..10000 for page-faults (default 1)", 1, 10000, 0, 0, NULL },
	{ 0, "cooling-interval", OPT_INT, &cfg.cooling, "N", "halve the pass's counts every N counted samples, 10000..1000000; 0 = never (default)", 0, 1000000, 0, 0, NULL },
	{ 0, "vma-updata-rate", OPT_INT, &cfg.vma_rate, "N", "re-read the VMAs every N periods, 0..50 (0 and 1: every period; default 1)", 0, 50, 0, 0, NULL },
	{ 0, "cpu-set-size", OPT_INT, &cfg.cpu_set_size, "N", "accepted for the original's configs; one poll loop serves every CPU", 1, 4096, 0, 0, NULL },
	{ 0, "anon-only", OPT_STR, &cfg.anon_only, "yes|no", "only private non-exec anonymous or writable VMAs (default yes)", 0, 0, 0, 0, NULL },
	{ 0, "text", OPT_FLAG, &cfg.text, NULL, "write the text form of the stream", 0, 0, 0, 0, NULL },
	{ 0, "control-fd", OPT_INT, &cfg.control_fd, "FD", "control socket from etmemd", 0, 65535, 0, 0, NULL },
	{ 0, "proc-root", OPT_STR, &cfg.proc_root, "DIR", "read DIR/proc instead of /proc (also ETMEM_PROC_ROOT)", 0, 0, 0, 0, NULL },
	{ 0, "sys-root", OPT_STR, &cfg.sys_root, "DIR", "read DIR/sys instead of /sys (also ETMEM_SYS_ROOT)", 0, 0, 0, 0, NULL },
	{ 'v', "verbose", OPT_FLAG, &cfg.verbose, NULL, "debug log on stderr", 0, 0, 0, 0, NULL },
	OPT_END };

static const struct opt_cmd cmd = {
	"etmem-pmu", "(-p PID | -n NAME)... [--event EVENT] [--sample-period N] [--loop N] [--interval SEC] [--sleep SEC] [--periods N] [--text]",
	"Sample the memory accesses of target processes with perf_event_open and\n"
	"write an ETMR stream to stdout, record for record like etmem-scan: per\n"
	"period the selected VMAs (V), per pass a ROUND and one A item per sampled\n"
	"page (flag p, count = samples of that page in the pass), the processes'\n"
	"facts (P), counters (S pmu ...) and a PERIOD; END last. Samples are mapped\n"
	"to pages through their VMA: hugetlb pages and 2M THP blocks count whole.\n"
	"Hardware sampling needs a PMU that reports data addresses (Intel PEBS,\n"
	"AMD IBS op); --event page-faults works on any kernel, sampling the address\n"
	"of each page fault (first touches and refaults: a weaker signal).",
	opts,
	"Exit status: 0 done or stopped (SIGTERM, STOP, every -p target exited),\n"
	"64 usage, 66 no such process, 69 no usable PMU or event (names the\n"
	"/sys/bus/event_source devices looked for and the perf_event_open error),\n"
	"71/74 OS or I/O error, 77 permission (kernel.perf_event_paranoid).\n\n"
	"Examples:\n  etmem-pmu -p 1234 --event page-faults --interval 2 --text\n"
	"  etmem-pmu -n memcached --sample-period 2000 --loop 3 --sleep 10" };

static int
is_sw_event(const char *ev)
{
	return strcmp(ev, "page-faults") == 0 || strcmp(ev, "major-faults") == 0;
}

static int
setup(struct pmu_config *pc, struct err *e)
{
	if (strcmp(cfg.anon_only, "yes") != 0 && strcmp(cfg.anon_only, "no") != 0)
		return err_set(e, EX_USAGE, 0, "option '--anon-only': '%s' is not "
		    "yes or no", cfg.anon_only);
	if (cfg.cooling != 0 && cfg.cooling < COOLING_MIN)
		return err_set(e, EX_USAGE, 0, "option '--cooling-interval': %lld "
		    "is not 0 or in %d..1000000", cfg.cooling, COOLING_MIN);
	if (cfg.pids.n == 0 && cfg.name == NULL)
		return err_set(e, EX_USAGE, 0, "no target: give -p PID or -n NAME");
	memset(pc, 0, sizeof(*pc));
	pc->pids = cfg.pids.v;
	pc->npids = cfg.pids.n;
	pc->name = cfg.name;
	pc->wait_for_name = cfg.wait_for_name;
	pc->loop = cfg.loop;
	pc->interval_s = cfg.interval;
	pc->sleep_s = cfg.sleep;
	pc->periods = cfg.periods;
	pc->event = cfg.event;
	pc->sample_period = (uint64_t)(cfg.sample_period ? cfg.sample_period :
	    is_sw_event(cfg.event) ? 1 : SAMPLE_PERIOD_HW_DEFAULT);
	pc->cooling_interval = (uint64_t)cfg.cooling;
	pc->vma_updata_rate = cfg.vma_rate;
	pc->cpu_set_size = cfg.cpu_set_size;
	pc->anon_only = strcmp(cfg.anon_only, "yes") == 0;
	pc->text = cfg.text;
	pc->control_fd = (int)cfg.control_fd;
	return procfs_init(cfg.proc_root, cfg.sys_root, e);
}

int
main(int argc, char **argv)
{
	struct pmu_config pc;
	struct err e = { 0 };
	int i;

	log_init("etmem-pmu", LOG_LEVEL_INFO, 0);
	i = opt_parse(&cmd, argc, argv, &e);
	if (i == OPT_HELP) {
		opt_usage(&cmd, stdout);
		return 0;
	}
	if (i >= 0 && i < argc)
		err_set(&e, EX_USAGE, 0, "unexpected argument '%s'", argv[i]);
	if (i < 0 || i < argc || setup(&pc, &e) < 0) {
		log_err(&e);
		if (e.code == EX_USAGE)
			opt_synopsis(&cmd, stderr);
		return e.code ? e.code : EX_USAGE;
	}
	if (cfg.verbose)
		log_setlevel(LOG_LEVEL_DEBUG);
	return pmu_run(&pc);
}
