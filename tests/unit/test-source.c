/* SPDX-License-Identifier: MIT */
/*
 * test-source.c - lib/source-*.c, what etmem-scan and etmem-pmu share,
 * against a fixture /proc in a temp dir: VMA selection under both stages'
 * rules, -p identity by start time (a reused pid is dropped for good and
 * reported), -n NAME with its direct children, VMAs kept or re-read, and
 * the P, S and PERIOD records a period ends with.
 */
#include "source.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "procfs.h"
#include "fixture.h"
#include "unit.h"

static char root[256];

static void
put(const char *rel, const char *text)
{
	fixture_put(root, rel, text);
}

/* A process: stat (comm, ppid, start time = field 22), status, maps. */
static void
put_proc(int pid, const char *comm, int ppid, unsigned long long start)
{
	char rel[64], buf[512];

	fixture_put_stat(root, "proc", pid, comm, ppid, start);
	snprintf(rel, sizeof(rel), "proc/%d/status", pid);
	snprintf(buf, sizeof(buf), "Name:\t%s\nVmRSS:\t%d kB\nVmSwap:\t%d kB\n",
	    comm, pid * 10, pid);
	put(rel, buf);
	snprintf(rel, sizeof(rel), "proc/%d/maps", pid);
	put(rel,
	    "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/app\n"
	    "00e03000-00e24000 rw-p 00000000 00:00 0           [heap]\n"
	    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	    "7f0000100000-7f0000101000 ---p 00000000 00:00 0 \n"
	    "7ffd00100000-7ffd00104000 r--p 00000000 00:00 0   [vvar]\n");
}

static void
setup(void)
{
	char tmpl[] = "/tmp/test-source.XXXXXX";
	struct err e;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(root, sizeof(root), "%s", tmpl);
	put_proc(100, "app", 1, 4242);
	put_proc(101, "worker", 100, 5000);
	put_proc(102, "grandchild", 101, 5001);
	put_proc(200, "db", 1, 777);
	put("proc/meminfo", "MemTotal:        8000000 kB\nMemFree:         1000000 kB\n"
	    "MemAvailable:    4000000 kB\nSwapCached:          12 kB\n"
	    "SwapTotal:        524284 kB\nSwapFree:         500000 kB\n");
	if (procfs_init(root, root, &e) < 0) {
		printf("# procfs_init: %s\n", e.msg);
		exit(2);
	}
}

static struct proc_vma
pv(const char *perms, uint64_t inode, const char *path, const char *flags,
    uint64_t kps)
{
	struct proc_vma p;

	memset(&p, 0, sizeof(p));
	p.start = 0x200000;
	p.end = 0x800000;
	p.inode = inode;
	snprintf(p.perms, sizeof(p.perms), "%s", perms);
	snprintf(p.path, sizeof(p.path), "%s", path);
	snprintf(p.vmflags, sizeof(p.vmflags), "%s", flags);
	p.kernel_page_kb = kps;
	return p;
}

/* etmem-pmu's rules: anon_only as given, THP marked. */
static int
sel(const struct proc_vma *p, int anon_only, int thp_always, struct etmr_vma *o)
{
	struct source_vma_rules r = { anon_only, 0, 1, thp_always };

	return source_vma_select(p, &r, 4, o);
}

static void
test_source__select_pmu_rules(void)
{
	struct etmr_vma o;
	struct proc_vma p;

	p = pv("rw-p", 0, "", "rd wr mr mw me ac hg", 4);
	CHECK_EQ_U(sel(&p, 1, 0, &o), 1);
	CHECK(o.flags & ETMR_F_THP);
	CHECK_EQ_U(o.size, ETMR_SIZE_4K);
	p = pv("rw-p", 0, "", "rd wr mr mw me ac nh", 4);
	CHECK_EQ_U(sel(&p, 1, 1, &o), 1);
	CHECK(!(o.flags & ETMR_F_THP));                 /* opted out */
	p = pv("rw-p", 0, "", "rd wr mr mw me ac", 4);
	CHECK_EQ_U(sel(&p, 1, 1, &o), 1);
	CHECK(o.flags & ETMR_F_THP);                    /* THP always */
	p = pv("rw-s", 5, "/dev/hugepages/x", "rd wr sh mr mw me ms de ht", 2048);
	CHECK_EQ_U(sel(&p, 0, 0, &o), 1);
	CHECK(o.flags & ETMR_F_HUGETLB);
	CHECK_EQ_U(o.size, ETMR_SIZE_2M);
	CHECK_EQ_U(sel(&p, 1, 0, &o), 0); /* shared: not anon */
	p = pv("r--p", 0, "[vvar]", "", 4);
	CHECK_EQ_U(sel(&p, 0, 0, &o), 0);
	p = pv("---p", 0, "", "", 4);
	CHECK_EQ_U(sel(&p, 0, 0, &o), 0);
}

/* etmem-scan's rules: no THP marks (its V items never had T); --vm-flags ht
 * keeps hugetlb VMAs only. */
static void
test_source__select_scan_rules(void)
{
	struct source_vma_rules r = { 1, 0, 0, 1 };
	struct etmr_vma o;
	struct proc_vma p;

	p = pv("rw-p", 0, "", "rd wr mr mw me ac hg", 4);
	CHECK_EQ_U(source_vma_select(&p, &r, 7, &o), 1);
	CHECK_EQ_U(o.flags, ETMR_F_ANON);
	CHECK_EQ_U(o.pid, 7);
	CHECK_EQ_U(o.prot, ETMR_PROT_READ | ETMR_PROT_WRITE);
	CHECK_EQ_U(o.node, ETMR_NODE_NONE);
	r.hugetlb_only = 1;
	CHECK_EQ_U(source_vma_select(&p, &r, 7, &o), 0);
	p = pv("rw-p", 0, "", "rd wr mr mw me ht", 1048576);
	CHECK_EQ_U(source_vma_select(&p, &r, 7, &o), 1);
	CHECK_EQ_U(o.flags, ETMR_F_ANON | ETMR_F_HUGETLB);
	CHECK_EQ_U(o.size, ETMR_SIZE_1G);
	/* "ht" must be a whole token, not part of another. */
	p = pv("rw-p", 0, "", "rd wr xht htx", 4);
	CHECK_EQ_U(source_vma_select(&p, &r, 7, &o), 0);
	/* anon_only: a writable private file mapping counts, exec text not. */
	r.hugetlb_only = 0;
	p = pv("rw-p", 9, "/usr/lib/x.so", "", 4);
	CHECK_EQ_U(source_vma_select(&p, &r, 7, &o), 1);
	CHECK_EQ_U(o.flags, ETMR_F_FILE);
	p = pv("r-xp", 9, "/usr/lib/x.so", "", 4);
	CHECK_EQ_U(source_vma_select(&p, &r, 7, &o), 0);
	r.anon_only = 0;
	CHECK_EQ_U(source_vma_select(&p, &r, 7, &o), 1);
}

static size_t
find(const struct source_targets *ts, pid_t pid)
{
	size_t i;

	for (i = 0; i < ts->n && ts->v[i].pid != pid; i++)
		;
	return i;
}

static void
test_source__targets(void)
{
	const pid_t pids[] = { 200, 200 };
	struct source_spec spec = { pids, 2, "app", { 1, 0, 0, 0 }, 0 };
	struct source_targets ts;
	struct err e = { 0 };
	int changed;

	CHECK_EQ_U(source_targets_init(&ts, &spec, &e), 0);
	CHECK_EQ_U(ts.npids, 1);                        /* -p given twice */
	CHECK_EQ_U(source_targets_refresh(&ts, 0, &changed, &e), 3);
	CHECK_EQ_U(changed, 1);
	/* Sorted; app, its direct child, the -p pid; no grandchild. */
	CHECK_EQ_U(ts.v[0].pid, 100);
	CHECK_EQ_U(ts.v[1].pid, 101);
	CHECK_EQ_U(ts.v[2].pid, 200);
	CHECK_EQ_U(ts.v[0].start_time, 4242);
	CHECK_EQ_U(ts.name_matches, 2);
	CHECK_EQ_U(ts.name_kept, 2);
	/* [heap] and the anonymous VMA; not the text, guard or [vvar]. */
	CHECK_EQ_U(ts.v[0].nvmas, 2);
	CHECK_EQ_U(ts.v[0].vmas[0].start, 0xe03000);
	CHECK_EQ_U(ts.v[0].vmas[1].start, 0x7f0000000000ull);
	CHECK_EQ_U(ts.v[0].vmas[1].pid, 100);

	/* Same pids, no reload asked: the last VMAs stay. */
	ts.v[0].vmas[0].start = 1;
	CHECK_EQ_U(source_targets_refresh(&ts, 0, &changed, &e), 3);
	CHECK_EQ_U(changed, 0);
	CHECK_EQ_U(ts.v[0].vmas[0].start, 1);
	CHECK_EQ_U(source_targets_refresh(&ts, 1, &changed, &e), 3);
	CHECK_EQ_U(changed, 0);
	CHECK_EQ_U(ts.v[0].vmas[0].start, 0xe03000);

	/* pid 200 reused by another process: dropped for good, reported once. */
	put_proc(200, "db", 1, 778);
	CHECK_EQ_U(source_targets_refresh(&ts, 0, &changed, &e), 2);
	CHECK_EQ_U(changed, 1);
	CHECK_EQ_U(ts.nexited, 1);
	CHECK_EQ_U(ts.exited[0], 200);
	CHECK_EQ_U(ts.npids, 0);
	CHECK_EQ_U(find(&ts, 200), ts.n);
	put_proc(200, "db", 1, 777);
	CHECK_EQ_U(source_targets_refresh(&ts, 1, &changed, &e), 2);
	CHECK_EQ_U(ts.nexited, 0);
	CHECK_EQ_U(find(&ts, 200), ts.n);
	source_targets_free(&ts);
}

static void
test_source__targets_bad(void)
{
	const pid_t gone[] = { 999 };
	struct source_spec spec = { gone, 1, NULL, { 1, 0, 0, 0 }, 0 };
	struct source_targets ts;
	struct err e = { 0 };

	CHECK_EQ_U(source_targets_init(&ts, &spec, &e), (uint64_t)-1);
	CHECK_EQ_U(e.code, EX_NOINPUT);
	source_targets_free(&ts);
	spec.npids = 0;
	spec.name = "nosuch";
	CHECK_EQ_U(source_targets_init(&ts, &spec, &e), (uint64_t)-1);
	CHECK_EQ_U(e.code, EX_NOINPUT);
	CHECK(strstr(e.msg, "nosuch") != NULL);
	source_targets_free(&ts);
	/* --wait-for-name: not running yet is an empty period, not an error. */
	spec.wait_for_name = 1;
	CHECK_EQ_U(source_targets_init(&ts, &spec, &e), 0);
	{
		int changed;

		CHECK_EQ_U(source_targets_refresh(&ts, 0, &changed, &e), 0);
	}
	source_targets_free(&ts);
}

/* P (exited targets left out), S with the STATS text, PERIOD. */
static void
test_source__period_records(void)
{
	struct source_target t[2] = { { .pid = 100, .start_time = 4242 },
		{ .pid = 200, .start_time = 1 } };     /* 200 was reused */
	const struct source_stat kv[] = { { "targets", 2 }, { "rounds", 3 } };
	struct etmr_header h = { .version = ETMR_VERSION, .page_size = 4096 };
	char text[64] = "period 5\n", out[4096];
	struct etmr_writer *w;
	struct err e = { 0 };
	int fd = memfd_create("test-source", 0);
	ssize_t n;

	CHECK(fd >= 0);
	w = etmr_writer_open(fd, ETMR_FORM_TEXT, &h, &e);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	CHECK_EQ_U(source_write_procs(w, t, 2, &e), 0);
	CHECK_EQ_U(source_write_stats(w, ETMR_STAGE_PMU, 5, kv, 2, text,
	    sizeof(text), &e), 0);
	CHECK_EQ_U(source_write_period(w, 5, 3, &e), 0);
	CHECK_EQ_U(etmr_writer_close(w, &e), 0);
	CHECK_STR(text, "period 5\ntargets 2\nrounds 3\n");
	n = pread(fd, out, sizeof(out) - 1, 0);
	CHECK(n > 0);
	out[n > 0 ? n : 0] = '\0';
	CHECK(strstr(out, "\nP 100 start_time=4242 rss_kb=1000 swap_kb=100 comm=app\n") != NULL);
	CHECK(strstr(out, "\nP 200") == NULL);
	CHECK(strstr(out, "\nS pmu 5 targets 2\nS pmu 5 rounds 3\n") != NULL);
	CHECK(strstr(out, "\nPERIOD period=5 rounds=3 ") != NULL);
	CHECK(strstr(out, " mem_total_kb=8000000 mem_free_kb=1000000 "
	    "mem_available_kb=4000000 swap_cached_kb=12 swap_total_kb=524284 "
	    "swap_free_kb=500000") != NULL);
	close(fd);
}

int
main(void)
{
	char cmd[300];

	setup();
	RUN(test_source__select_pmu_rules);
	RUN(test_source__select_scan_rules);
	RUN(test_source__targets);
	RUN(test_source__targets_bad);
	RUN(test_source__period_records);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	return unit_done();
}
