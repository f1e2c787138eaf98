/* SPDX-License-Identifier: MIT */
/*
 * test-procfs.c - lib/procfs.c against a fixture tree built in a temp dir:
 * a comm with spaces and ')', maps with a path containing spaces, smaps
 * fields, status, meminfo, children by ppid, name lookup and bad input.
 */
#include "procfs.h"

#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "fixture.h"
#include "unit.h"

static char root[256];

/* Paths relative to root/proc. */
static void
put(const char *rel, const char *text)
{
	char r[600];

	snprintf(r, sizeof(r), "proc/%s", rel);
	fixture_put(root, r, text);
}

static void
put_stat(int pid, const char *comm, int ppid, unsigned long long start)
{
	fixture_put_stat(root, "proc", pid, comm, ppid, start);
}

static void
setup(void)
{
	char tmpl[] = "/tmp/test-procfs.XXXXXX";
	struct err e;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(root, sizeof(root), "%s", tmpl);
	put_stat(100, "my prog) x", 1, 4242);
	put_stat(101, "child", 100, 5000);
	put_stat(102, "grandchild", 101, 5001);
	put_stat(200, "my prog) x", 1, 777);
	put_stat(300, "other", 1, 1);
	put("100/maps",
	    "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"
	    "00651000-00652000 rw-p 00051000 08:02 173521      /usr/bin/dbus-daemon\n"
	    "00e03000-00e24000 rw-p 00000000 00:00 0           [heap]\n"
	    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	    "7f0000200000-7f0000300000 rw-s 00000000 00:05 99   /dev/shm/with space (deleted)\n"
	    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0   [stack]\n"
	    "7ffd00100000-7ffd00104000 r--p 00000000 00:00 0   [vvar]\n"
	    "7ffd00104000-7ffd00106000 r-xp 00000000 00:00 0   [vdso]\n"
	    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n");
	put("100/smaps",
	    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	    "Size:               1024 kB\n"
	    "KernelPageSize:        4 kB\n"
	    "Rss:                 512 kB\n"
	    "Referenced:          128 kB\n"
	    "Swap:                 64 kB\n"
	    "VmFlags: rd wr mr mw me ac \n"
	    "7f4000000000-7f4040000000 rw-p 00000000 00:0f 12  /dev/hugepages/x\n"
	    "Size:            1048576 kB\n"
	    "KernelPageSize:     2048 kB\n"
	    "Rss:                   0 kB\n"
	    "Referenced:            0 kB\n"
	    "VmFlags: rd wr mr mw me ht \n");
	put("100/status", "Name:\tmy prog) x\nVmPeak:\t  9000 kB\nVmRSS:\t   1234 kB\n"
	    "RssAnon:\t  1000 kB\nVmSwap:\t     56 kB\n");
	put("300/status", "Name:\tother\nState:\tS (sleeping)\n");
	put("300/maps", "00400000-00452000 r-xp 00000000 08:02 1 /bin/x\nnot a maps line\n");
	put("meminfo", "MemTotal:        8000000 kB\nMemFree:         1000000 kB\n"
	    "MemAvailable:    4000000 kB\nBuffers:           10 kB\nSwapCached:          12 kB\n"
	    "SwapTotal:        524284 kB\nSwapFree:         500000 kB\n");
	if (procfs_init(root, root, &e) < 0) {
		printf("# procfs_init: %s\n", e.msg);
		exit(2);
	}
}

static void
test_procfs__paths(void)
{
	char buf[512], want[512];

	CHECK(procfs_path(buf, sizeof(buf), "%d/maps", 42) == 0);
	snprintf(want, sizeof(want), "%s/proc/42/maps", root);
	CHECK_STR(buf, want);
	CHECK(sysfs_path(buf, sizeof(buf), "kernel/mm/page_idle/bitmap") == 0);
	snprintf(want, sizeof(want), "%s/sys/kernel/mm/page_idle/bitmap", root);
	CHECK_STR(buf, want);
	CHECK(procfs_path(buf, 20, "%d/maps", 42) == -1);
}

static void
test_procfs__stat_comm_with_paren(void)
{
	struct proc_stat st;
	struct err e;

	CHECK(procfs_pid_stat(100, &st, &e) == 0);
	CHECK_EQ_U(st.pid, 100);
	CHECK_STR(st.comm, "my prog) x");
	CHECK_EQ_U(st.ppid, 1);
	CHECK(st.state == 'S');
	CHECK_EQ_U(st.start_time, 4242);
	CHECK(procfs_pid_alive(100, 4242) == 1);
	CHECK(procfs_pid_alive(100, 4243) == 0);
	CHECK(procfs_pid_alive(100, 0) == 1);
	CHECK(procfs_pid_alive(999, 0) == 0);
}

static void
test_procfs__missing_pid(void)
{
	struct proc_stat st;
	struct err e;

	CHECK(procfs_pid_stat(999, &st, &e) == -1);
	CHECK_EQ_U(e.code, EX_NOINPUT);
	CHECK_STR(e.msg, "no process 999");
}

static void
test_procfs__status(void)
{
	struct proc_status ps;
	struct err e;

	CHECK(procfs_pid_status(100, &ps, &e) == 0);
	CHECK_EQ_U(ps.rss_kb, 1234);
	CHECK_EQ_U(ps.swap_kb, 56);
	/* a kernel thread has no Vm lines: zeros, not an error */
	CHECK(procfs_pid_status(300, &ps, &e) == 0);
	CHECK_EQ_U(ps.rss_kb, 0);
}

static void
test_procfs__meminfo(void)
{
	struct meminfo mi;
	struct err e;

	CHECK(procfs_meminfo(&mi, &e) == 0);
	CHECK_EQ_U(mi.mem_total_kb, 8000000);
	CHECK_EQ_U(mi.mem_free_kb, 1000000);
	CHECK_EQ_U(mi.mem_available_kb, 4000000);
	CHECK_EQ_U(mi.swap_cached_kb, 12);
	CHECK_EQ_U(mi.swap_total_kb, 524284);
	CHECK_EQ_U(mi.swap_free_kb, 500000);
}

struct collect {
	struct proc_vma v[16];
	int n;
};

static int
collect_fn(const struct proc_vma *v, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16)
		c->v[c->n++] = *v;
	return 0;
}

static void
test_procfs__maps(void)
{
	struct collect c = { .n = 0 };
	struct err e;

	CHECK(procfs_maps_each(100, collect_fn, &c, &e) == 0);
	CHECK_EQ_U(c.n, 9);
	CHECK_EQ_U(c.v[0].start, 0x400000);
	CHECK_EQ_U(c.v[0].end, 0x452000);
	CHECK_STR(c.v[0].perms, "r-xp");
	CHECK_EQ_U(c.v[0].inode, 173521);
	CHECK_STR(c.v[0].path, "/usr/bin/dbus-daemon");
	CHECK_EQ_U(c.v[1].offset, 0x51000);
	CHECK_STR(c.v[3].path, "");
	CHECK_STR(c.v[4].path, "/dev/shm/with space (deleted)");
	CHECK_EQ_U(c.v[8].start, 0xffffffffff600000ULL);
	/* anon_only: text no, .data yes (private writable file), heap, anon yes,
	 * shared no, stack yes, vvar/vdso/vsyscall no */
	CHECK(!procfs_vma_is_anon(&c.v[0]));
	CHECK(procfs_vma_is_anon(&c.v[1]));
	CHECK(procfs_vma_is_anon(&c.v[2]));
	CHECK(procfs_vma_is_anon(&c.v[3]));
	CHECK(!procfs_vma_is_anon(&c.v[4]));
	CHECK(procfs_vma_is_anon(&c.v[5]));
	CHECK(!procfs_vma_is_anon(&c.v[6]));
	CHECK(procfs_vma_is_special(&c.v[6]));
	CHECK(!procfs_vma_is_anon(&c.v[7]));
	CHECK(!procfs_vma_is_anon(&c.v[8]));
	CHECK(!procfs_vma_is_special(&c.v[2]));
}

static void
test_procfs__maps_bad_line(void)
{
	struct collect c = { .n = 0 };
	struct err e;

	CHECK(procfs_maps_each(300, collect_fn, &c, &e) == -1);
	CHECK_EQ_U(e.code, EX_DATAERR);
	CHECK(strstr(e.msg, "/proc/300/maps: line 2: malformed") != NULL);
	CHECK(procfs_maps_each(999, collect_fn, &c, &e) == -1);
	CHECK_EQ_U(e.code, EX_NOINPUT);
}

static void
test_procfs__smaps(void)
{
	struct collect c = { .n = 0 };
	struct err e;

	CHECK(procfs_smaps_each(100, collect_fn, &c, &e) == 0);
	CHECK_EQ_U(c.n, 2);
	CHECK_EQ_U(c.v[0].referenced_kb, 128);
	CHECK_EQ_U(c.v[0].rss_kb, 512);
	CHECK_EQ_U(c.v[0].swap_kb, 64);
	CHECK_EQ_U(c.v[0].kernel_page_kb, 4);
	CHECK_STR(c.v[0].vmflags, "rd wr mr mw me ac");
	CHECK_EQ_U(c.v[1].kernel_page_kb, 2048);
	CHECK_STR(c.v[1].vmflags, "rd wr mr mw me ht");
	CHECK_STR(c.v[1].path, "/dev/hugepages/x");
}

static void
test_procfs__find_by_name(void)
{
	pid_t pids[8];
	struct err e;
	int n;

	n = procfs_find_by_name("my prog) x", pids, 8, &e);
	CHECK_EQ_U(n, 3);    /* 100, 200 and 100's child 101; not grandchild 102 */
	CHECK_EQ_U(pids[0], 100);
	CHECK_EQ_U(pids[1], 101);
	CHECK_EQ_U(pids[2], 200);
	CHECK_EQ_U(procfs_find_by_name("nothing", pids, 8, &e), 0);
	n = procfs_find_by_name("my prog) x", pids, 1, &e);
	CHECK_EQ_U(n, 3);
	CHECK_EQ_U(pids[0], 100);
}

static void
test_procfs__children_by_ppid(void)
{
	pid_t pids[8];
	struct err e;

	/* the fixture has no task/TID/children files: ppid fallback */
	CHECK_EQ_U(procfs_children(100, pids, 8, &e), 1);
	CHECK_EQ_U(pids[0], 101);
	CHECK_EQ_U(procfs_children(102, pids, 8, &e), 0);
}

static void
test_procfs__read_file_too_long(void)
{
	char path[512], buf[8];
	struct err e;

	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	CHECK(procfs_read_file(path, buf, sizeof(buf), &e) == -1);
	CHECK_EQ_U(e.code, EX_DATAERR);
	snprintf(path, sizeof(path), "%s/proc/nope", root);
	CHECK(procfs_read_file(path, buf, sizeof(buf), &e) == -1);
	CHECK_EQ_U(e.code, EX_NOINPUT);
	CHECK(strstr(e.msg, "/proc/nope") != NULL);
}

static void
test_procfs__write_file(void)
{
	char path[512], buf[64];
	struct err e;

	put("1/clear_refs", "");
	snprintf(path, sizeof(path), "%s/proc/1/clear_refs", root);
	CHECK(procfs_write_file(path, "1", &e) == 0);
	CHECK(procfs_read_file(path, buf, sizeof(buf), &e) == 1);
	CHECK_STR(buf, "1");
}

int
main(void)
{
	char cmd[300];

	setup();
	RUN(test_procfs__paths);
	RUN(test_procfs__stat_comm_with_paren);
	RUN(test_procfs__missing_pid);
	RUN(test_procfs__status);
	RUN(test_procfs__meminfo);
	RUN(test_procfs__maps);
	RUN(test_procfs__maps_bad_line);
	RUN(test_procfs__smaps);
	RUN(test_procfs__find_by_name);
	RUN(test_procfs__children_by_ppid);
	RUN(test_procfs__read_file_too_long);
	RUN(test_procfs__write_file);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	return unit_done();
}
