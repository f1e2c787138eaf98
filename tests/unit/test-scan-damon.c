/* SPDX-License-Identifier: MIT */
/*
 * test-scan-damon.c - the DAMON backend's sysfs protocol, against a fixture
 * tree of regular files standing in for /sys/kernel/mm/damon (--sys-root).
 * Never touches the real DAMON sysfs. The fixture plays the kernel's part
 * by hand: directories exist up front, `state` is reset to "on" after the
 * commands the kernel would not echo, tried_regions are written by the test.
 */
#include "unit.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "opt.h"
#include "procfs.h"
#include "../../etmem-scan/scan.h"

#define KD "sys/kernel/mm/damon/admin/kdamonds"
#define CTX KD "/0/contexts/0"

static char root[64];

/* Write s to root/rel, creating parent directories. */
static void
fput(const char *rel, const char *fmt, ...)
{
	char path[512], val[256], *p;
	va_list ap;
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	va_start(ap, fmt);
	vsnprintf(val, sizeof val, fmt, ap);
	va_end(ap);
	fp = fopen(path, "w");
	if (fp == NULL) {
		printf("# cannot create %s\n", path);
		return;
	}
	fputs(val, fp);
	fclose(fp);
}

/* Contents of root/rel without the trailing newline ("<absent>" if none). */
static const char *
fget(const char *rel)
{
	static char buf[4][512];
	static int slot;
	char path[512], *b = buf[slot++ % 4];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	if ((fp = fopen(path, "r")) == NULL)
		return "<absent>";
	n = fread(b, 1, 511, fp);
	fclose(fp);
	b[n] = '\0';
	while (n > 0 && b[n - 1] == '\n')
		b[--n] = '\0';
	return b;
}

/* A fresh kernel-like tree: no kdamond, dirs for 3 targets and 5 schemes. */
static void
fixture_new(void)
{
	char rel[256];
	int i, j, k;

	strcpy(root, "/tmp/etmem-damon.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	fput(KD "/nr_kdamonds", "0\n");
	fput(KD "/0/state", "off\n");
	fput(KD "/0/pid", "-1\n");
	fput(KD "/0/contexts/nr_contexts", "0\n");
	fput(CTX "/avail_operations", "vaddr\nfvaddr\npaddr\n");
	fput(CTX "/operations", "vaddr\n");
	fput(CTX "/monitoring_attrs/intervals/sample_us", "5000\n");
	fput(CTX "/monitoring_attrs/intervals/aggr_us", "100000\n");
	fput(CTX "/monitoring_attrs/intervals/update_us", "1000000\n");
	fput(CTX "/monitoring_attrs/nr_regions/min", "10\n");
	fput(CTX "/monitoring_attrs/nr_regions/max", "1000\n");
	fput(CTX "/targets/nr_targets", "0\n");
	for (i = 0; i < 3; i++) {
		snprintf(rel, sizeof rel, CTX "/targets/%d/pid_target", i);
		fput(rel, "0\n");
	}
	fput(CTX "/schemes/nr_schemes", "0\n");
	for (i = 0; i < 5; i++) {
		snprintf(rel, sizeof rel, CTX "/schemes/%d/action", i);
		fput(rel, "stat\n");
		snprintf(rel, sizeof rel, CTX "/schemes/%d/filters/nr_filters", i);
		fput(rel, "0\n");
		for (j = 0; j < 3; j++) {
			static const char *const f[] = { "type", "matching", "damon_target_idx" };
			static const char *const v[] = { "anon\n", "N\n", "0\n" };

			for (k = 0; k < 3; k++) {
				snprintf(rel, sizeof rel, CTX "/schemes/%d/filters/%d/%s",
				    i, j, f[k]);
				fput(rel, "%s", v[k]);
			}
		}
		for (j = 0; j < 6; j++) {
			static const char *const d[] = { "sz", "nr_accesses", "age" };

			snprintf(rel, sizeof rel, CTX "/schemes/%d/access_pattern/%s/%s",
			    i, d[j / 2], j % 2 ? "max" : "min");
			fput(rel, "0\n");
		}
		snprintf(rel, sizeof rel, CTX "/schemes/%d/tried_regions/total_bytes", i);
		fput(rel, "0\n");
	}
	procfs_init("", root, NULL);
}

static void
fixture_free(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", root);
	procfs_init("", "", NULL);
}

static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* init + first prepare; 0 (and the reason printed) if either failed. */
static int
start(struct scan_ctx *ctx, struct err *e)
{
	if (scan_damon.init(ctx, e) < 0 || scan_damon.prepare(ctx, e) < 0) {
		printf("# start: %s\n", e->msg);
		unit_cur_failed++;
		if (ctx->priv)
			scan_damon.fini(ctx);
		return 0;
	}
	return 1;
}

/* Targets must be live processes (dead ones are not monitored). */
static pid_t pa, pb, pc;        /* us, our parent, a sleeping child */
static char sa[16], sb[16], sc[16];

static void
pids_init(void)
{
	pa = getpid();
	pb = getppid();
	if ((pc = fork()) == 0) {
		/* dies with us even if a failed check aborts the test */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != pa)
			_exit(0);
		pause();
		_exit(0);
	}
	snprintf(sa, sizeof sa, "%d", (int)pa);
	snprintf(sb, sizeof sb, "%d", (int)pb);
	snprintf(sc, sizeof sc, "%d", (int)pc);
}

static const struct scan_env env0 = {
	.page_size = 4096, .sample_us = 2000, .aggr_us = 40000,
	.update_us = 400000, .min_nr_regions = 5, .max_nr_regions = 200,
};

static struct etmr_vma vmas_a[] = {
	{ .start = 0x2000, .end = 0x8000, .pid = 0, .flags = ETMR_F_ANON },
	{ .start = 0x10000, .end = 0x12000, .pid = 0, .flags = ETMR_F_ANON },
};

static void
test_scan_damon__probe_absent(void)
{
	struct err e = { 0 };

	strcpy(root, "/tmp/etmem-damon.XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	procfs_init("", root, NULL);
	CHECK(scan_damon.probe(&env0, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "CONFIG_DAMON_SYSFS") != NULL);
	fixture_free();
}

/* A kdamond nobody claimed: refuse, and every file keeps its value. */
static void
test_scan_damon__foreign_kdamond(void)
{
	struct scan_target t[1] = { { .pid = pa } };
	struct scan_ctx ctx = { .env = &env0, .targets = t, .ntargets = 1 };
	struct err e = { 0 };

	fixture_new();
	fput(KD "/nr_kdamonds", "1\n");
	fput(KD "/0/state", "on\n");
	fput(CTX "/operations", "paddr\n");
	CHECK(scan_damon.probe(&env0, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "DAMON is in use by another owner") != NULL);
	CHECK(scan_damon.init(&ctx, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "in use by another owner") != NULL);
	CHECK(ctx.priv == NULL);
	CHECK_STR(fget(KD "/nr_kdamonds"), "1");
	CHECK_STR(fget(KD "/0/state"), "on");
	CHECK_STR(fget(CTX "/operations"), "paddr");
	CHECK_STR(fget("run/etmem/damon.kdamond"), "<absent>");
	fixture_free();
}

/* Another live etmem-scan owns the kdamond: refuse, naming its pid. */
static void
test_scan_damon__live_owner(void)
{
	struct err e = { 0 };
	struct proc_stat st;
	char want[64];

	fixture_new();
	CHECK(procfs_pid_stat(getppid(), &st, &e) == 0);
	fput(KD "/nr_kdamonds", "1\n");
	fput(KD "/0/state", "on\n");
	fput("run/etmem/damon.kdamond", "kdamond=0 pid=%d start_time=%llu kdamond_pid=77\n",
	    (int)getppid(), (unsigned long long)st.start_time);
	CHECK(scan_damon.probe(&env0, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	snprintf(want, sizeof want, "another etmem-scan (pid %d", (int)getppid());
	CHECK(strstr(e.msg, want) != NULL);
	CHECK_STR(fget(KD "/0/state"), "on");
	fixture_free();
}

/* Two targets and one damon-engine scheme: the whole layout we write. */
static void
test_scan_damon__start_layout(void)
{
	char spec[128];
	const char *specs[] = { spec };
	struct scan_env env = env0;
	struct scan_target t[2] = { { .pid = pa }, { .pid = pb } };
	struct scan_ctx ctx = { .env = &env, .targets = t, .ntargets = 2, .round = 1 };
	struct err e = { 0 };
	char want[64];

	snprintf(spec, sizeof spec, "action=pageout,min_size=8192,min_age=5,max_acc=0,pids=%d", (int)pb);
	env.damos = specs;
	env.ndamos = 1;
	fixture_new();
	CHECK(scan_damon.probe(&env, &e) == 0);
	if (!start(&ctx, &e))
		return fixture_free();
	CHECK_STR(fget(KD "/nr_kdamonds"), "1");
	CHECK_STR(fget(KD "/0/contexts/nr_contexts"), "1");
	CHECK_STR(fget(CTX "/operations"), "vaddr");
	CHECK_STR(fget(CTX "/monitoring_attrs/intervals/sample_us"), "2000");
	CHECK_STR(fget(CTX "/monitoring_attrs/intervals/aggr_us"), "40000");
	CHECK_STR(fget(CTX "/monitoring_attrs/intervals/update_us"), "400000");
	CHECK_STR(fget(CTX "/monitoring_attrs/nr_regions/min"), "5");
	CHECK_STR(fget(CTX "/monitoring_attrs/nr_regions/max"), "200");
	CHECK_STR(fget(CTX "/targets/nr_targets"), "2");
	CHECK_STR(fget(CTX "/targets/0/pid_target"), sa);
	CHECK_STR(fget(CTX "/targets/1/pid_target"), sb);
	CHECK_STR(fget(CTX "/schemes/nr_schemes"), "3");
	/* scheme 0: stat for target 0 only, matching everything */
	CHECK_STR(fget(CTX "/schemes/0/action"), "stat");
	CHECK_STR(fget(CTX "/schemes/0/access_pattern/sz/max"), "18446744073709551615");
	CHECK_STR(fget(CTX "/schemes/0/access_pattern/nr_accesses/max"), "4294967295");
	CHECK_STR(fget(CTX "/schemes/0/access_pattern/age/max"), "4294967295");
	CHECK_STR(fget(CTX "/schemes/0/access_pattern/age/min"), "0");
	CHECK_STR(fget(CTX "/schemes/0/filters/nr_filters"), "1");
	CHECK_STR(fget(CTX "/schemes/0/filters/0/type"), "target");
	CHECK_STR(fget(CTX "/schemes/0/filters/0/matching"), "Y");
	CHECK_STR(fget(CTX "/schemes/0/filters/0/damon_target_idx"), "1");
	CHECK_STR(fget(CTX "/schemes/1/filters/0/damon_target_idx"), "0");
	/* scheme 2: the damon engine's pageout, restricted to our parent */
	CHECK_STR(fget(CTX "/schemes/2/action"), "pageout");
	CHECK_STR(fget(CTX "/schemes/2/access_pattern/sz/min"), "8192");
	CHECK_STR(fget(CTX "/schemes/2/access_pattern/sz/max"), "9223372036854775807");
	CHECK_STR(fget(CTX "/schemes/2/access_pattern/nr_accesses/max"), "0");
	CHECK_STR(fget(CTX "/schemes/2/access_pattern/age/min"), "5");
	CHECK_STR(fget(CTX "/schemes/2/filters/nr_filters"), "1");
	CHECK_STR(fget(CTX "/schemes/2/filters/0/damon_target_idx"), "0");
	CHECK_STR(fget(KD "/0/state"), "on");
	snprintf(want, sizeof want, "kdamond=0 pid=%d ", (int)getpid());
	CHECK(strncmp(fget("run/etmem/damon.kdamond"), want, strlen(want)) == 0);

	/* fini: off, no kdamond, no claim */
	scan_damon.fini(&ctx);
	CHECK(ctx.priv == NULL);
	CHECK_STR(fget(KD "/0/state"), "off");
	CHECK_STR(fget(KD "/nr_kdamonds"), "0");
	CHECK_STR(fget("run/etmem/damon.kdamond"), "<absent>");
	fixture_free();
}

/* tried_regions become ACCESS items, sorted and clipped to the VMAs. */
static void
test_scan_damon__collect(void)
{
	struct scan_target t[1] = { { .pid = pa, .vmas = vmas_a, .nvmas = 2 } };
	struct scan_ctx ctx = { .env = &env0, .targets = t, .ntargets = 1, .round = 1 };
	struct etmr_header h;
	struct etmr_writer *w;
	struct err e = { 0 };
	char path[128], out[1024] = "", want[256];
	FILE *fp;
	int fd;

	fixture_new();
	if (!start(&ctx, &e))
		return fixture_free();
	CHECK_STR(fget(CTX "/schemes/0/filters/nr_filters"), "0");
	/* the kernel's answer, listed out of address order, and numbered
	 * as 6.12 does: not from 0 (the numbers run across schemes) */
	fput(CTX "/schemes/0/tried_regions/10/start", "%d\n", 0x5000);
	fput(CTX "/schemes/0/tried_regions/10/end", "%d\n", 0x11000);
	fput(CTX "/schemes/0/tried_regions/10/nr_accesses", "7\n");
	fput(CTX "/schemes/0/tried_regions/10/age", "1\n");
	fput(CTX "/schemes/0/tried_regions/12/start", "%d\n", 0x1000);
	fput(CTX "/schemes/0/tried_regions/12/end", "%d\n", 0x5000);
	fput(CTX "/schemes/0/tried_regions/12/nr_accesses", "0\n");
	fput(CTX "/schemes/0/tried_regions/12/age", "3\n");
	snprintf(path, sizeof path, "%s/out.txt", root);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	etmr_header_init(&h, ETMR_BACKEND_DAMON);
	w = etmr_writer_open(fd, ETMR_FORM_TEXT, &h, &e);
	CHECK(w != NULL);
	CHECK(scan_damon.collect(&ctx, w, &e) == 0);
	CHECK_STR(fget(KD "/0/state"), "update_schemes_tried_regions");
	CHECK(etmr_writer_close(w, &e) == 0);
	close(fd);
	if ((fp = fopen(path, "r")) != NULL) {
		char line[256];

		while (fgets(line, sizeof line, fp))
			if (line[0] == 'A')
				strcat(out, line);
		fclose(fp);
	}
	snprintf(want, sizeof want,
	    "A %d 0x2000 3 4K 0 air age=3\n"
	    "A %d 0x5000 3 4K 7 ar age=1\n"
	    "A %d 0x10000 1 4K 7 ar age=1\n", (int)pa, (int)pa, (int)pa);
	CHECK_STR(out, want);
	fput(KD "/0/state", "on\n");            /* what the kernel shows again */
	/* a region the kernel could not have written: an error naming it */
	fput(CTX "/schemes/0/tried_regions/12/end", "%d\n", 0x1000);
	fd = open("/dev/null", O_WRONLY);
	w = etmr_writer_open(fd, ETMR_FORM_TEXT, &h, &e);
	CHECK(scan_damon.collect(&ctx, w, &e) == -1);
	CHECK_EQ_U(e.code, EX_DATAERR);
	CHECK(strstr(e.msg, "tried_regions/12': bad region 4096-4096") != NULL);
	etmr_writer_close(w, NULL);
	close(fd);
	fput(KD "/0/state", "on\n");
	scan_damon.fini(&ctx);
	CHECK_STR(fget(KD "/nr_kdamonds"), "0");
	fixture_free();
}

/* A new target set between periods restarts the kdamond with it. */
static void
test_scan_damon__retarget(void)
{
	struct scan_target t[2] = { { .pid = pa }, { .pid = pc } };
	struct scan_ctx ctx = { .env = &env0, .targets = t, .ntargets = 1, .round = 1 };
	struct err e = { 0 };

	fixture_new();
	if (!start(&ctx, &e))
		return fixture_free();
	CHECK_STR(fget(CTX "/targets/nr_targets"), "1");
	fput(CTX "/targets/nr_targets", "sentinel\n");
	CHECK(scan_damon.prepare(&ctx, &e) == 0);       /* same set: untouched */
	CHECK_STR(fget(CTX "/targets/nr_targets"), "sentinel");
	ctx.ntargets = 2;
	CHECK(scan_damon.prepare(&ctx, &e) == 0);
	CHECK_STR(fget(CTX "/targets/nr_targets"), "2");
	CHECK_STR(fget(CTX "/targets/1/pid_target"), sc);
	CHECK_STR(fget(CTX "/schemes/nr_schemes"), "2");
	CHECK_STR(fget(KD "/0/state"), "on");
	/* the kdamond stopped by itself (targets exited): restarted */
	fput(KD "/0/state", "off\n");
	fput(CTX "/targets/nr_targets", "sentinel\n");
	CHECK(scan_damon.prepare(&ctx, &e) == 0);
	CHECK_STR(fget(CTX "/targets/nr_targets"), "2");
	CHECK_STR(fget(KD "/0/state"), "on");
	scan_damon.fini(&ctx);
	fixture_free();
}

/* A target that died is left out of the kdamond (state=on would fail for
 * all); the same target list does not restart it every pass. */
static void
test_scan_damon__dead_target(void)
{
	struct scan_target t[2] = { { .pid = 0 }, { .pid = 0 } };
	struct scan_ctx ctx = { .env = &env0, .targets = t, .ntargets = 2, .round = 1 };
	struct err e = { 0 };

	t[0].pid = dead_pid();
	t[1].pid = pa;
	fixture_new();
	if (!start(&ctx, &e))
		return fixture_free();
	CHECK_STR(fget(CTX "/targets/nr_targets"), "1");
	CHECK_STR(fget(CTX "/targets/0/pid_target"), sa);
	CHECK_STR(fget(CTX "/schemes/nr_schemes"), "1");
	/* every target gone: nothing started, and no retry for the same list */
	t[1].pid = t[0].pid;
	fput(KD "/0/state", "off\n");
	CHECK(scan_damon.prepare(&ctx, &e) == 0);
	fput(CTX "/targets/nr_targets", "sentinel\n");
	CHECK(scan_damon.prepare(&ctx, &e) == 0);
	CHECK_STR(fget(CTX "/targets/nr_targets"), "sentinel");
	CHECK_STR(fget(KD "/0/state"), "off");
	scan_damon.fini(&ctx);
	fixture_free();
}

/* Two etmem-scans starting at once: the second cannot take damon.lock and
 * refuses before it writes anything, naming the first. */
static void
test_scan_damon__lock(void)
{
	struct scan_target t[1] = { { .pid = 0 } };
	struct scan_ctx c1 = { .env = &env0, .targets = t, .ntargets = 1 };
	struct scan_ctx c2 = c1;
	struct err e = { 0 };
	char want[64];

	t[0].pid = pa;
	fixture_new();
	CHECK(scan_damon.init(&c1, &e) == 0);
	/* as if the kernel had not created the kdamond yet: no EBUSY to help */
	fput(KD "/nr_kdamonds", "0\n");
	fput(CTX "/operations", "sentinel\n");
	CHECK(scan_damon.init(&c2, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	snprintf(want, sizeof want, "another etmem-scan (pid %d owns", (int)pa);
	CHECK(strstr(e.msg, want) != NULL);
	CHECK_STR(fget(CTX "/operations"), "sentinel");
	CHECK(c2.priv == NULL);
	scan_damon.fini(&c1);
	CHECK(scan_damon.init(&c2, &e) == 0);   /* released with the first */
	scan_damon.fini(&c2);
	fixture_free();
}

/* Our own kdamond left by a crashed etmem-scan is removed; a kdamond whose
 * thread pid differs from the stale claim is not ours and is left alone. */
static void
test_scan_damon__stale(void)
{
	struct scan_target t[1] = { { .pid = pa } };
	struct scan_ctx ctx = { .env = &env0, .targets = t, .ntargets = 1 };
	struct err e = { 0 };
	pid_t dead = dead_pid();

	fixture_new();
	fput(KD "/nr_kdamonds", "1\n");
	fput(KD "/0/state", "on\n");
	fput(KD "/0/pid", "4242\n");
	fput("run/etmem/damon.kdamond", "kdamond=0 pid=%d start_time=1 kdamond_pid=999\n",
	    (int)dead);
	CHECK(scan_damon.init(&ctx, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "kdamond 0 runs as pid 4242") != NULL);
	CHECK_STR(fget(KD "/0/state"), "on");
	CHECK_STR(fget(KD "/nr_kdamonds"), "1");

	fput("run/etmem/damon.kdamond", "kdamond=0 pid=%d start_time=1 kdamond_pid=4242\n",
	    (int)dead);
	CHECK(scan_damon.probe(&env0, &e) == 0);
	CHECK_STR(fget(KD "/0/state"), "on");   /* probe writes nothing */
	err_clear(&e);
	CHECK(scan_damon.init(&ctx, &e) == 0);
	if (e.msg[0])
		printf("# %s\n", e.msg);
	CHECK_STR(fget(KD "/0/state"), "off");
	CHECK_STR(fget(KD "/nr_kdamonds"), "1");        /* recreated, ours now */
	CHECK(strstr(fget("run/etmem/damon.kdamond"), "kdamond_pid=0") != NULL);
	scan_damon.fini(&ctx);
	CHECK_STR(fget("run/etmem/damon.kdamond"), "<absent>");
	fixture_free();
}

/* No vaddr: refuse with the config option, and leave no kdamond behind. */
static void
test_scan_damon__no_vaddr(void)
{
	struct scan_target t[1] = { { .pid = pa } };
	struct scan_ctx ctx = { .env = &env0, .targets = t, .ntargets = 1 };
	struct err e = { 0 };

	fixture_new();
	fput(CTX "/avail_operations", "paddr\n");
	CHECK(scan_damon.init(&ctx, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "CONFIG_DAMON_VADDR") != NULL);
	CHECK(ctx.priv == NULL);
	CHECK_STR(fget(KD "/nr_kdamonds"), "0");
	CHECK_STR(fget("run/etmem/damon.kdamond"), "<absent>");
	fixture_free();
}

static void
test_scan_damon__spec_errors(void)
{
	static const struct { const char *spec, *msg; } bad[] = {
		{ "min_size=1", "action= is required" },
		{ "action=swap", "unknown action 'swap'" },
		{ "action=cold,min_age=9,max_age=3", "min_ value is above" },
		{ "action=cold,min_acc=x", "min_acc=x: not a number" },
		{ "action=cold,colour=red", "unknown key 'colour'" },
		{ "action=cold,pids=1:zero", "'zero' is not a pid" },
		{ "action=cold,max_age", "'max_age' is not key=value" },
	};
	struct err e;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&e);
		CHECK(scan_damon_check_spec(bad[i].spec, &e) == -1);
		CHECK_EQ_U(e.code, EX_USAGE);
		if (strstr(e.msg, bad[i].msg) == NULL)
			CHECK_STR(e.msg, bad[i].msg);
	}
	CHECK(scan_damon_check_spec("action=pageout,min_size=4096,max_size=1048576,"
	    "min_acc=0,max_acc=0,min_age=10,max_age=4294967295", &e) == 0);
}

/* The options main.c splices in: parsed by the shared table code, checked
 * and copied into scan_env by scan_damon_setup(). */
static void
test_scan_damon__options(void)
{
	static const struct opt_cmd cmd = { "etmem-scan", "", "", scan_damon_opts, NULL };
	char *ok_argv[] = { "etmem-scan", "--sample-interval", "2000", "--aggr-interval",
		"40000", "--min-nr-regions", "5", "--max-nr-regions", "50",
		"--damos", "action=cold,min_age=3", "--damos", "action=pageout", NULL };
	char *bad_argv[] = { "etmem-scan", "--max-nr-regions", "5", NULL };
	char *low_argv[] = { "etmem-scan", "--min-nr-regions", "2", NULL };
	char *slow_argv[] = { "etmem-scan", "--sample-interval", "50000",
		"--max-nr-regions", "100", NULL };
	struct scan_env env = { 0 };
	struct err e = { 0 };

	CHECK(opt_parse(&cmd, 13, ok_argv, &e) == 13);
	CHECK(scan_damon_setup(&env, "smaps", &e) == -1);
	CHECK(strstr(e.msg, "'--damos' needs --backend damon") != NULL);
	CHECK(scan_damon_setup(&env, "damon", &e) == 0);
	CHECK_EQ_U(env.sample_us, 2000);
	CHECK_EQ_U(env.aggr_us, 40000);
	CHECK_EQ_U(env.update_us, 0);           /* kernel default kept */
	CHECK_EQ_U(env.min_nr_regions, 5);
	CHECK_EQ_U(env.max_nr_regions, 50);
	CHECK_EQ_U(env.ndamos, 2);
	CHECK_STR(env.damos[1], "action=pageout");
	/* max not above min (the original's rule: min >= 3, max > min) */
	CHECK(opt_parse(&cmd, 3, bad_argv, &e) == 3);
	CHECK(scan_damon_setup(&env, "damon", &e) == -1);
	CHECK_EQ_U(e.code, EX_USAGE);
	CHECK(strstr(e.msg, "'--max-nr-regions': 5 is not above --min-nr-regions 5") != NULL);
	CHECK(opt_parse(&cmd, 3, low_argv, &e) == -1);
	CHECK_EQ_U(e.code, EX_USAGE);
	/* sampling slower than aggregation (earlier options still set) */
	CHECK(opt_parse(&cmd, 5, slow_argv, &e) == 5);
	CHECK(scan_damon_setup(&env, "damon", &e) == -1);
	CHECK(strstr(e.msg, "'--sample-interval': 50000 us is longer than the "
	    "aggregation interval 40000 us") != NULL);
}

int
main(void)
{
	log_init("test-scan-damon", LOG_LEVEL_ERROR, 0);
	pids_init();
	RUN(test_scan_damon__probe_absent);
	RUN(test_scan_damon__foreign_kdamond);
	RUN(test_scan_damon__live_owner);
	RUN(test_scan_damon__start_layout);
	RUN(test_scan_damon__collect);
	RUN(test_scan_damon__retarget);
	RUN(test_scan_damon__dead_target);
	RUN(test_scan_damon__lock);
	RUN(test_scan_damon__stale);
	RUN(test_scan_damon__no_vaddr);
	RUN(test_scan_damon__spec_errors);
	RUN(test_scan_damon__options);
	kill(pc, SIGKILL);
	waitpid(pc, NULL, 0);
	return unit_done();
}
