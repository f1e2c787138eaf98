/* SPDX-License-Identifier: MIT */
/*
 * pmu-events.c - which perf events to sample, as perf_event_attr.
 *
 * Hardware events are encoded by libpfm4 with PFM_OS_PERF_EVENT_EXT, which
 * fills a whole perf_event_attr (type, config, config1) instead of the
 * original's concatenation of raw codes 4 bits apart (right only for one
 * code). Only samplers that report a data address are useful: Intel PEBS
 * memory events, AMD IBS op; the arm64 core PMU gives no address and SPE
 * writes an AUX area this build does not decode, so both are reported as
 * unavailable rather than sampled into nothing. The software page-fault
 * event needs no PMU at all and is the portable, weaker signal.
 * This file opens no event; pmu.c does (and retries precise_ip).
 */
#include "pmu.h"

#include <sys/syscall.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <perfmon/pfmlib_perf_event.h>

#include "err.h"
#include "opt.h"
#include "procfs.h"

int
pmu_perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
    unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

/* Settings every event shares: counting starts on ENABLE, user space only
 * (what perf_event_paranoid=2 allows), follow new threads (inherit), and
 * sample the thread and the data address. */
static void
attr_common(struct perf_event_attr *a, uint64_t period)
{
	a->size = sizeof(*a);
	a->sample_period = period;
	a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_ADDR;
	a->disabled = 1;
	a->inherit = 1;
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
}

static int
sw_event(const char *name, uint64_t config, uint64_t period,
    struct pmu_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->name, sizeof(ev->name), "%s", name);
	ev->attr.type = PERF_TYPE_SOFTWARE;
	ev->attr.config = config;
	attr_common(&ev->attr, period);
	return 1;
}

/* Encode one libpfm4 event string; 0 ok, else the pfm error code. */
static int
pfm_event(const char *name, uint64_t period, struct pmu_event *ev)
{
	pfm_perf_encode_arg_t arg;
	int rc;

	memset(ev, 0, sizeof(*ev));
	memset(&arg, 0, sizeof(arg));
	arg.attr = &ev->attr;
	arg.size = sizeof(arg);
	rc = pfm_get_os_event_encoding(name, PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
	if (rc != PFM_SUCCESS)
		return rc;
	snprintf(ev->name, sizeof(ev->name), "%s", name);
	attr_common(&ev->attr, period);
	/* libpfm4 also names the kernel's software events (perf::...). */
	ev->hw = ev->attr.type != PERF_TYPE_SOFTWARE &&
	    ev->attr.type != PERF_TYPE_TRACEPOINT;
	return 0;
}

static int
pfm_ready(struct err *e)
{
	int rc = pfm_initialize();

	if (rc != PFM_SUCCESS)
		return err_set(e, EX_UNAVAILABLE, 0, "libpfm4: cannot initialize: %s",
		    pfm_strerror(rc));
	return 0;
}

static int
have_dev(const char *fmt, const char *arg)
{
	char sub[256], path[PROCFS_PATH_MAX];

	snprintf(sub, sizeof(sub), fmt, arg);
	if (sysfs_path(path, sizeof(path), "bus/event_source/devices/%s", sub) < 0)
		return 0;
	return access(path, F_OK) == 0;
}

/* Intel PEBS: loads and stores, newest event names first. */
static int
intel_events(uint64_t period, struct pmu_event *ev, struct err *e)
{
	static const char *const pairs[][2] = {
		{ "MEM_INST_RETIRED:ALL_LOADS", "MEM_INST_RETIRED:ALL_STORES" },
		{ "MEM_UOPS_RETIRED:ALL_LOADS", "MEM_UOPS_RETIRED:ALL_STORES" },
	};
	size_t i;
	int rc = 0;

	if (pfm_ready(e) < 0)
		return -1;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if ((rc = pfm_event(pairs[i][0], period, &ev[0])) == 0 &&
		    (rc = pfm_event(pairs[i][1], period, &ev[1])) == 0)
			return 2;
	}
	return err_set(e, EX_UNAVAILABLE, 0, "event auto: an Intel PMU with "
	    "mem-loads is present but libpfm4 encodes none of "
	    "MEM_INST_RETIRED/MEM_UOPS_RETIRED ALL_LOADS/ALL_STORES: %s",
	    pfm_strerror(rc));
}

/* AMD IBS op: its own PMU type, config 0 = sample every period ops. */
static int
ibs_event(uint64_t period, struct pmu_event *ev, struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[32];
	long long type;

	if (sysfs_path(path, sizeof(path), "bus/event_source/devices/ibs_op/type") < 0 ||
	    procfs_read_file(path, buf, sizeof(buf), e) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (opt_parse_ll(buf, 0, UINT32_MAX, &type) < 0)
		return err_set(e, EX_UNAVAILABLE, 0, "%s: '%s' is not a PMU type",
		    path, buf);
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->name, sizeof(ev->name), "ibs_op");
	ev->attr.type = (uint32_t)type;
	attr_common(&ev->attr, period);
	return 1;
}

/* The entries of dir, space-separated, for a message. */
static void
list_dir(const char *dir, char *out, size_t len)
{
	struct dirent *d;
	size_t off = 0;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL && off < len) {
		if (d->d_name[0] == '.')
			continue;
		off += (size_t)snprintf(out + off, len - off, "%s%s",
		    off ? " " : "", d->d_name);
	}
	closedir(dp);
}

/* Nothing that samples data addresses: say what was looked for. */
static int
no_pmu(struct err *e)
{
	struct perf_event_attr a;
	char found[256] = "", path[PROCFS_PATH_MAX];
	int fd, saved;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_CPU_CYCLES;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	fd = pmu_perf_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (sysfs_path(path, sizeof(path), "bus/event_source/devices") == 0)
		list_dir(path, found, sizeof(found));
	return err_set(e, EX_UNAVAILABLE, 0, "event auto: no hardware PMU that "
	    "samples data addresses: looked for cpu (with events/mem-loads), "
	    "cpu_core, ibs_op, arm_spe_0 in %s (found: %s); perf_event_open("
	    "PERF_TYPE_HARDWARE, cycles): %s; --event page-faults samples "
	    "page faults without a PMU", path, found[0] ? found : "nothing",
	    fd >= 0 ? "works, but gives no data addresses" : strerror(saved));
}

static int
auto_events(uint64_t period, struct pmu_event *ev, struct err *e)
{
	if ((have_dev("%s", "cpu") && have_dev("%s/events/mem-loads", "cpu")) ||
	    (have_dev("%s", "cpu_core") && have_dev("%s/events/mem-loads", "cpu_core")))
		return intel_events(period, ev, e);
	if (have_dev("%s", "ibs_op"))
		return ibs_event(period, ev, e);
	if (have_dev("%s", "arm_spe_0"))
		return err_set(e, EX_UNAVAILABLE, 0, "event auto: arm_spe_0 is "
		    "present, but SPE records come through the AUX area, which "
		    "this build does not decode; the arm64 core PMU gives no data "
		    "addresses; use --event page-faults");
	return no_pmu(e);
}

int
pmu_events_resolve(const char *spec, uint64_t period, struct pmu_event *ev,
    struct err *e)
{
	int rc;

	if (strcmp(spec, "auto") == 0)
		return auto_events(period, ev, e);
	if (strcmp(spec, "page-faults") == 0)
		return sw_event(spec, PERF_COUNT_SW_PAGE_FAULTS, period, ev);
	if (strcmp(spec, "major-faults") == 0)
		return sw_event(spec, PERF_COUNT_SW_PAGE_FAULTS_MAJ, period, ev);
	if (pfm_ready(e) < 0)
		return -1;
	if ((rc = pfm_event(spec, period, ev)) != 0)
		return err_set(e, rc == PFM_ERR_NOTFOUND ? EX_USAGE : EX_UNAVAILABLE,
		    0, "option '--event': libpfm4 cannot encode '%s': %s", spec,
		    pfm_strerror(rc));
	return 1;
}
