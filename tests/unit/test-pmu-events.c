/* SPDX-License-Identifier: MIT */
/*
 * test-pmu-events.c - --event to perf_event_attr: the software events'
 * attrs, libpfm4 names (known, unknown), and the "auto" verdicts on
 * --sys-root fixture trees (no PMU, SPE only).
 */
#include "unit.h"

#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "../../etmem-pmu/pmu.h"
#include "err.h"
#include "procfs.h"

static void
test_pmu_events__page_faults(void)
{
	struct pmu_event ev[PMU_EVENTS_MAX];
	struct err e = { 0 };

	CHECK_EQ_U(pmu_events_resolve("page-faults", 7, ev, &e), 1);
	CHECK_STR(ev[0].name, "page-faults");
	CHECK_EQ_U(ev[0].attr.type, PERF_TYPE_SOFTWARE);
	CHECK_EQ_U(ev[0].attr.config, PERF_COUNT_SW_PAGE_FAULTS);
	CHECK_EQ_U(ev[0].attr.sample_period, 7);
	CHECK_EQ_U(ev[0].attr.sample_type, PERF_SAMPLE_TID | PERF_SAMPLE_ADDR);
	CHECK(ev[0].attr.disabled && ev[0].attr.inherit);
	CHECK(ev[0].attr.exclude_kernel && ev[0].attr.exclude_hv);
	CHECK(!ev[0].hw);
	CHECK_EQ_U(pmu_events_resolve("major-faults", 1, ev, &e), 1);
	CHECK_EQ_U(ev[0].attr.config, PERF_COUNT_SW_PAGE_FAULTS_MAJ);
}

static void
test_pmu_events__libpfm(void)
{
	struct pmu_event ev[PMU_EVENTS_MAX];
	struct err e = { 0 };

	CHECK_EQ_U(pmu_events_resolve("perf::PAGE-FAULTS", 3, ev, &e), 1);
	CHECK_EQ_U(ev[0].attr.type, PERF_TYPE_SOFTWARE);
	CHECK_EQ_U(ev[0].attr.config, PERF_COUNT_SW_PAGE_FAULTS);
	CHECK_EQ_U(ev[0].attr.sample_period, 3);
	CHECK(!ev[0].hw);
	CHECK_EQ_U(pmu_events_resolve("no_such_event_xyz", 3, ev, &e), -1);
	CHECK_EQ_U(e.code, EX_USAGE);
	CHECK(strstr(e.msg, "no_such_event_xyz") != NULL);
}

/* A sys tree with the given event_source devices under a new root[64]. */
static char *
fixture(char *root, const char *const *devs)
{
	char path[512];
	size_t i;

	snprintf(root, 64, "/tmp/test-pmu-events.XXXXXX");
	if (mkdtemp(root) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/sys", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/bus", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/bus/event_source", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/bus/event_source/devices", root);
	mkdir(path, 0755);
	for (i = 0; devs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/sys/bus/event_source/devices/%s",
		    root, devs[i]);
		mkdir(path, 0755);
	}
	return root;
}

static void
cleanup(const char *root)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
}

static void
test_pmu_events__auto(void)
{
	static const char *const none[] = { "software", "tracepoint", NULL };
	static const char *const spe[] = { "software", "arm_spe_0", NULL };
	struct pmu_event ev[PMU_EVENTS_MAX];
	struct err e = { 0 };
	char buf[64], *root;

	if ((root = fixture(buf, none)) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	CHECK(procfs_init("", root, &e) == 0);
	CHECK_EQ_U(pmu_events_resolve("auto", 5000, ev, &e), -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "no hardware PMU") != NULL);
	CHECK(strstr(e.msg, "ibs_op") != NULL);
	CHECK(strstr(e.msg, "perf_event_open(PERF_TYPE_HARDWARE") != NULL);
	CHECK(strstr(e.msg, "software") != NULL);   /* what was found */
	cleanup(root);

	if ((root = fixture(buf, spe)) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	CHECK(procfs_init("", root, &e) == 0);
	CHECK_EQ_U(pmu_events_resolve("auto", 5000, ev, &e), -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "arm_spe_0 is present") != NULL);
	cleanup(root);
	CHECK(procfs_init("", "", &e) == 0);
}

int
main(void)
{
	RUN(test_pmu_events__page_faults);
	RUN(test_pmu_events__libpfm);
	RUN(test_pmu_events__auto);
	return unit_done();
}
