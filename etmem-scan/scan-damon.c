/* SPDX-License-Identifier: MIT */
/*
 * scan-damon.c - etmem-scan's DAMON backend: access data from the kernel's
 * DAMON vaddr monitor, driven through its sysfs interface, in a kdamond of
 * our own.
 *
 * Layout we build (one kdamond, one context, N targets, N + M schemes):
 *   targets/i            one per target process, in ctx->targets order
 *   schemes/i  (i < N)   action "stat", matches everything, target filters
 *                        excluding every other target: its tried_regions
 *                        are exactly target i's regions (nr_accesses, age)
 *   schemes/N+j          the j-th --damos SPEC (the damon engine): the
 *                        kernel applies that action itself
 * Each collect asks the kernel to refresh tried_regions and turns them into
 * ACCESS items (flag 'r'), clipped to the VMAs the core selected.
 *
 * Ownership: DAMON sysfs is effectively single-owner (nr_kdamonds cannot
 * change while any kdamond runs, and writing it recreates every kdamond
 * directory). So we only ever create kdamonds when there are none, and we
 * claim ours with a marker file, <sys-root>/run/etmem/damon.kdamond, naming
 * the kdamond index, our pid and start time, and the kdamond's thread pid.
 * Anything not claimed by a dead owner's marker is someone else's: we
 * refuse (EX_UNAVAILABLE) and change nothing. A stale claim (the owner
 * crashed) is cleaned up by the next start. An flock on damon.lock beside
 * the marker, held for the process's life, serialises etmem-scans that
 * start at the same moment. This file does not decide when
 * to scan (scan.c does) nor what is cold (the rankers do).
 */
#include "scan.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "opt.h"
#include "procfs.h"

#define KD "kernel/mm/damon/admin/kdamonds"
#define CTX KD "/0/contexts/0"
#define DAMON_TARGETS_MAX 64    /* filters grow as N^2: keep N sane */
#define DAMON_SPECS_MAX 16
#define DAMON_SPEC_PIDS_MAX 64
#define DAMON_VAL_MAX 64
#define MARKER_NAME "damon.kdamond"

/* One --damos SPEC, parsed. */
struct damos_spec {
	char action[16];
	uint64_t min_sz, max_sz;
	uint64_t min_acc, max_acc;
	uint64_t min_age, max_age;
	pid_t pids[DAMON_SPEC_PIDS_MAX];  /* empty = every target */
	size_t npids;
};

/* One tried region of one target. */
struct damon_region {
	uint64_t start, end;
	uint32_t nr_accesses, age;
};

struct damon_priv {
	int created;            /* we wrote nr_kdamonds=1: fini must undo it */
	int lock_fd;            /* damon.lock, held while we may own a kdamond */
	int running;            /* we turned state on and have not seen it stop */
	pid_t want[DAMON_TARGETS_MAX]; /* ctx->targets when we last started */
	size_t nwant;
	pid_t pids[DAMON_TARGETS_MAX]; /* the kdamond's targets (the live ones
	                                * of want[]), in its order */
	size_t npids;
	struct damos_spec specs[DAMON_SPECS_MAX];
	size_t nspecs;
	struct damon_region *regs;     /* scratch for one target's regions */
	size_t cap;
};

static const char *const damos_actions[] = {
	"willneed", "cold", "pageout", "hugepage", "nohugepage", "stat",
	"lru_prio", "lru_deprio", NULL,
};

/* "<sys-root>/run/etmem": fixture trees get their own marker directory. */
static int
marker_path(char *buf, size_t len, int dir_only)
{
	int n = snprintf(buf, len, "%s/run/etmem%s", procfs_sys_root(),
	    dir_only ? "" : "/" MARKER_NAME);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * DAMON sysfs takes its one global mutex with a trylock in several
 * handlers (kdamond state writes, pid reads, ...) and answers EBUSY while
 * kdamond's own callback or another reader holds it. That is contention,
 * not refusal: retry for a while (under TCG a callback can hold it for
 * tens of milliseconds) before calling DAMON unavailable. The VM lane saw
 * both: a state write (exit 69) and a pid read (exit 74) failing once.
 */
#define DAMON_BUSY_TRIES 200
#define DAMON_BUSY_WAIT_NS (10 * 1000 * 1000)

static int
busy_wait(int attempt)
{
	struct timespec ts = { 0, DAMON_BUSY_WAIT_NS };

	if (attempt + 1 >= DAMON_BUSY_TRIES)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/* Write value to the sysfs file KD-relative fmt. O_TRUNC: sysfs ignores it,
 * and a fixture tree of regular files then holds exactly the last value. */
static int
dwrite(struct err *e, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int
dwrite(struct err *e, const char *value, const char *fmt, ...)
{
	char rel[PROCFS_PATH_MAX], path[PROCFS_PATH_MAX];
	size_t len = strlen(value);
	va_list ap;
	ssize_t n;
	int fd, saved;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	if (sysfs_path(path, sizeof path, "%s", rel) < 0)
		return err_set(e, EX_SOFTWARE, ENAMETOOLONG, "path too long: %s", rel);
	for (int attempt = 0;; attempt++) {
		fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0) {
			saved = errno;
			return err_set(e, saved == EACCES || saved == EPERM ?
			    EX_NOPERM : EX_UNAVAILABLE, saved, "cannot open '%s' "
			    "for writing", path);
		}
		do
			n = write(fd, value, len);
		while (n < 0 && errno == EINTR);
		saved = n < 0 ? errno : EIO;
		close(fd);
		if (!(n < 0 && saved == EBUSY && busy_wait(attempt)))
			break;
	}
	if (n < 0 || (size_t)n != len)
		return err_set(e, saved == EBUSY ? EX_UNAVAILABLE : EX_OSERR, saved,
		    "cannot write '%s' to '%s'", value, path);
	return 0;
}

static int
dwrite_u64(struct err *e, uint64_t v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int
dwrite_u64(struct err *e, uint64_t v, const char *fmt, ...)
{
	char rel[PROCFS_PATH_MAX], val[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	snprintf(val, sizeof val, "%" PRIu64, v);
	return dwrite(e, val, "%s", rel);
}

/* Read a small sysfs file (trailing newline cut). -1 if it cannot be read. */
static int
dread(char *buf, size_t len, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int
dread(char *buf, size_t len, struct err *e, const char *fmt, ...)
{
	char rel[PROCFS_PATH_MAX], path[PROCFS_PATH_MAX];
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	if (sysfs_path(path, sizeof path, "%s", rel) < 0)
		return err_set(e, EX_SOFTWARE, ENAMETOOLONG, "path too long: %s", rel);
	for (int attempt = 0;; attempt++) {
		n = procfs_read_file(path, buf, len, e);
		if (!(n < 0 && e->errnum == EBUSY && busy_wait(attempt)))
			break;
	}
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* Read a decimal sysfs number; a malformed one is EX_DATAERR naming the file. */
static int
dread_ll(long long *out, struct err *e, const char *rel)
{
	char buf[DAMON_VAL_MAX], path[PROCFS_PATH_MAX];

	if (dread(buf, sizeof buf, e, "%s", rel) < 0)
		return -1;
	if (opt_parse_ll(buf, LLONG_MIN, LLONG_MAX, out) < 0) {
		sysfs_path(path, sizeof path, "%s", rel);
		return err_set(e, EX_DATAERR, 0, "'%s': not a number: '%s'", path, buf);
	}
	return 0;
}

/* The claim a marker file makes. */
struct marker {
	int kdamond;
	pid_t pid;
	uint64_t start_time;
	long long kdamond_pid;  /* 0: not known yet (written before state=on) */
};

/* 1 and *m filled if the marker exists and parses, 0 if absent, -1 error. */
static int
marker_read(struct marker *m, struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[256];
	long long pid;

	if (marker_path(path, sizeof path, 0) < 0)
		return err_set(e, EX_SOFTWARE, ENAMETOOLONG, "marker path too long");
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 :
		    err_set(e, EX_OSERR, errno, "cannot access '%s'", path);
	if (procfs_read_file(path, buf, sizeof buf, e) < 0)
		return -1;
	if (sscanf(buf, "kdamond=%d pid=%lld start_time=%" SCNu64 " kdamond_pid=%lld",
	    &m->kdamond, &pid, &m->start_time, &m->kdamond_pid) != 4 || pid <= 0)
		return err_set(e, EX_DATAERR, 0, "'%s': malformed marker '%.60s'",
		    path, buf);
	m->pid = (pid_t)pid;
	return 1;
}

/* Create <root>/run/etmem (and <root>/run: a fixture root may lack it). */
static int
marker_dir(struct err *e)
{
	char path[PROCFS_PATH_MAX];

	if (marker_path(path, sizeof path, 1) < 0)
		return err_set(e, EX_SOFTWARE, ENAMETOOLONG, "marker path too long");
	*strrchr(path, '/') = '\0';
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(e, EX_OSERR, errno, "cannot create '%s'", path);
	path[strlen(path)] = '/';
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(e, EX_OSERR, errno, "cannot create '%s'", path);
	return 0;
}

/*
 * Hold <root>/run/etmem/damon.lock for the process's life: two etmem-scans
 * starting at once would otherwise both see no kdamond and both write
 * nr_kdamonds (the second wiping the first's configuration, as the kernel
 * only refuses once a kdamond runs). Returns the fd, or -1.
 */
static int
lock_take(struct err *e)
{
	char path[PROCFS_PATH_MAX + 8];
	int fd;

	if (marker_dir(e) < 0)
		return -1;
	marker_path(path, sizeof path, 1);
	strcat(path, "/damon.lock");
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return err_set(e, EX_OSERR, errno, "cannot open '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;

		struct marker m;

		close(fd);
		if (saved == EWOULDBLOCK && marker_read(&m, e) == 1)
			return err_set(e, EX_UNAVAILABLE, 0, "DAMON is in use by "
			    "another etmem-scan (pid %d owns kdamond %d); run one "
			    "etmem-scan with several targets instead", (int)m.pid,
			    m.kdamond);
		if (saved == EWOULDBLOCK)
			return err_set(e, EX_UNAVAILABLE, 0, "DAMON is in use by "
			    "another etmem-scan (it holds '%s'); run one etmem-scan "
			    "with several targets instead", path);
		return err_set(e, EX_OSERR, saved, "cannot lock '%s'", path);
	}
	return fd;
}

static int
marker_write(long long kdamond_pid, struct err *e)
{
	char path[PROCFS_PATH_MAX], tmp[PROCFS_PATH_MAX + 8], buf[160];
	struct proc_stat st;
	FILE *fp;

	if (procfs_pid_stat(getpid(), &st, e) < 0)
		return -1;
	if (marker_dir(e) < 0)
		return -1;
	marker_path(path, sizeof path, 0);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	snprintf(buf, sizeof buf, "kdamond=0 pid=%d start_time=%" PRIu64
	    " kdamond_pid=%lld\n", (int)getpid(), st.start_time, kdamond_pid);
	/* Write then rename: a crash never leaves a half-written claim. */
	if ((fp = fopen(tmp, "w")) == NULL)
		return err_set(e, EX_OSERR, errno, "cannot create '%s'", tmp);
	if (fputs(buf, fp) == EOF || fclose(fp) == EOF) {
		unlink(tmp);
		return err_set(e, EX_IOERR, errno, "cannot write '%s'", tmp);
	}
	if (rename(tmp, path) < 0)
		return err_set(e, EX_OSERR, errno, "cannot rename '%s'", tmp);
	return 0;
}

static void
marker_remove(void)
{
	char path[PROCFS_PATH_MAX];

	if (marker_path(path, sizeof path, 0) == 0)
		unlink(path);
}

/*
 * Decide whether DAMON sysfs is free for us. Returns 0 when there are no
 * kdamonds (after removing our own stale one when `cleanup`), -1 with
 * EX_UNAVAILABLE when someone else holds it. With cleanup == 0 nothing is
 * written (probe).
 */
static int
damon_claimable(int cleanup, struct err *e)
{
	char state[DAMON_VAL_MAX], path[PROCFS_PATH_MAX];
	long long nr, kpid = -1;
	struct marker m;
	int r;

	if (dread_ll(&nr, e, KD "/nr_kdamonds") < 0)
		return -1;
	r = marker_read(&m, e);
	if (r < 0)
		return -1;
	if (nr == 0) {
		if (r == 1 && cleanup)
			marker_remove();        /* claims nothing any more */
		return 0;
	}
	sysfs_path(path, sizeof path, KD);
	if (r == 0)
		return err_set(e, EX_UNAVAILABLE, 0, "DAMON is in use by another "
		    "owner: %lld kdamond(s) under '%s' that etmem did not create; "
		    "changing nothing", nr, path);
	if (procfs_pid_alive(m.pid, m.start_time) == 1)
		return err_set(e, EX_UNAVAILABLE, 0, "DAMON is in use by another "
		    "etmem-scan (pid %d owns kdamond %d); run one etmem-scan with "
		    "several targets instead", (int)m.pid, m.kdamond);
	if (nr != 1 || m.kdamond != 0)
		return err_set(e, EX_UNAVAILABLE, 0, "DAMON is in use by another "
		    "owner: %lld kdamonds exist, a stale etmem marker claims only "
		    "kdamond %d; changing nothing", nr, m.kdamond);
	if (dread(state, sizeof state, e, KD "/0/state") < 0)
		return -1;
	if (strcmp(state, "on") == 0 && m.kdamond_pid != 0 &&
	    (dread_ll(&kpid, e, KD "/0/pid") < 0 || kpid != m.kdamond_pid))
		return err_set(e, EX_UNAVAILABLE, 0, "DAMON is in use by another "
		    "owner: kdamond 0 runs as pid %lld, not the kdamond %lld a "
		    "stale etmem marker names; changing nothing", kpid, m.kdamond_pid);
	if (!cleanup)
		return 0;
	/* Ours, left by a crashed etmem-scan: undo it. */
	log_info("scan/damon: removing kdamond 0 left by dead etmem-scan pid %d",
	    (int)m.pid);
	if (strcmp(state, "off") != 0 && dwrite(e, "off", KD "/0/state") < 0)
		return -1;
	if (dwrite(e, "0", KD "/nr_kdamonds") < 0)
		return -1;
	marker_remove();
	return 0;
}

static int
damon_probe(const struct scan_env *env, struct err *e)
{
	char path[PROCFS_PATH_MAX], ops[256];
	long long nr;

	(void)env;
	sysfs_path(path, sizeof path, KD "/nr_kdamonds");
	if (access(path, F_OK) < 0)
		return err_set(e, EX_UNAVAILABLE, 0, "backend damon: '%s' not found: "
		    "the kernel lacks DAMON sysfs (CONFIG_DAMON_SYSFS, Linux 5.18+)", path);
	if (access(path, W_OK) < 0)
		return err_set(e, EX_NOPERM, errno, "backend damon: '%s' is not "
		    "writable (DAMON needs root)", path);
	if (dread_ll(&nr, e, KD "/nr_kdamonds") < 0)
		return -1;
	/* An existing context tells whether vaddr is built, without writing. */
	if (nr > 0 && dread(ops, sizeof ops, e, CTX "/avail_operations") == 0 &&
	    strstr(ops, "vaddr") == NULL)
		return err_set(e, EX_UNAVAILABLE, 0, "backend damon: DAMON offers "
		    "no vaddr operations (CONFIG_DAMON_VADDR)");
	err_clear(e);
	return damon_claimable(0, e);
}

/* Parse "key=N" values of a spec into the matching field. */
static int
spec_num(const char *key, const char *val, uint64_t max, uint64_t *out,
    const char *spec, struct err *e)
{
	long long v;

	if (opt_parse_ll(val, 0, max > LLONG_MAX ? LLONG_MAX : (long long)max, &v) < 0)
		return err_set(e, EX_USAGE, 0, "--damos '%s': %s=%s: not a number "
		    "in 0..%" PRIu64, spec, key, val, max);
	*out = (uint64_t)v;
	return 0;
}

/* Parse one --damos SPEC into s (see scan.h and docs/DAMON.md). */
static int
spec_parse(const char *spec, struct damos_spec *s, struct err *e)
{
	char buf[1024], *tok, *save = NULL;
	int i;

	memset(s, 0, sizeof *s);
	s->max_sz = (uint64_t)LLONG_MAX;
	s->max_acc = UINT32_MAX;
	s->max_age = UINT32_MAX;
	if (strlen(spec) >= sizeof buf)
		return err_set(e, EX_USAGE, 0, "--damos: spec longer than %zu bytes",
		    sizeof buf - 1);
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');
		int r = 0;

		if (val == NULL)
			return err_set(e, EX_USAGE, 0, "--damos '%s': '%s' is not "
			    "key=value", spec, tok);
		*val++ = '\0';
		if (strcmp(tok, "action") == 0) {
			for (i = 0; damos_actions[i] && strcmp(damos_actions[i], val); i++)
				;
			if (damos_actions[i] == NULL)
				return err_set(e, EX_USAGE, 0, "--damos '%s': unknown "
				    "action '%s' (willneed, cold, pageout, hugepage, "
				    "nohugepage, stat, lru_prio, lru_deprio)", spec, val);
			strcpy(s->action, val);
		} else if (strcmp(tok, "min_size") == 0) {
			r = spec_num(tok, val, (uint64_t)LLONG_MAX, &s->min_sz, spec, e);
		} else if (strcmp(tok, "max_size") == 0) {
			r = spec_num(tok, val, (uint64_t)LLONG_MAX, &s->max_sz, spec, e);
		} else if (strcmp(tok, "min_acc") == 0) {
			r = spec_num(tok, val, UINT32_MAX, &s->min_acc, spec, e);
		} else if (strcmp(tok, "max_acc") == 0) {
			r = spec_num(tok, val, UINT32_MAX, &s->max_acc, spec, e);
		} else if (strcmp(tok, "min_age") == 0) {
			r = spec_num(tok, val, UINT32_MAX, &s->min_age, spec, e);
		} else if (strcmp(tok, "max_age") == 0) {
			r = spec_num(tok, val, UINT32_MAX, &s->max_age, spec, e);
		} else if (strcmp(tok, "pids") == 0) {
			char *p, *psave = NULL;
			long long v;

			for (p = strtok_r(val, ":", &psave); p; p = strtok_r(NULL, ":", &psave)) {
				if (opt_parse_ll(p, 1, INT_MAX, &v) < 0)
					return err_set(e, EX_USAGE, 0, "--damos '%s': "
					    "pids: '%s' is not a pid", spec, p);
				if (s->npids == DAMON_SPEC_PIDS_MAX)
					return err_set(e, EX_USAGE, 0, "--damos '%s': "
					    "more than %d pids", spec, DAMON_SPEC_PIDS_MAX);
				s->pids[s->npids++] = (pid_t)v;
			}
		} else {
			return err_set(e, EX_USAGE, 0, "--damos '%s': unknown key '%s' "
			    "(action, min_size, max_size, min_acc, max_acc, min_age, "
			    "max_age, pids)", spec, tok);
		}
		if (r < 0)
			return -1;
	}
	if (s->action[0] == '\0')
		return err_set(e, EX_USAGE, 0, "--damos '%s': action= is required", spec);
	/* The original accepted min > max (W-37); such a scheme matches nothing. */
	if (s->min_sz > s->max_sz || s->min_acc > s->max_acc || s->min_age > s->max_age)
		return err_set(e, EX_USAGE, 0, "--damos '%s': a min_ value is above "
		    "its max_", spec);
	return 0;
}

int
scan_damon_check_spec(const char *spec, struct err *e)
{
	struct damos_spec s;

	return spec_parse(spec, &s, e);
}

/* The project keys of scan_type=region, as etmem-scan options. */
static struct {
	long long sample, aggr, update, min_nr, max_nr;
	struct opt_list damos;
} damon_cfg;

const struct opt scan_damon_opts[] = {
	{ 0, "sample-interval", OPT_INT, &damon_cfg.sample, "US",
	  "damon: sampling interval, microseconds (kernel default 5000)", 1, 1000000000, 0, 0, NULL },
	{ 0, "aggr-interval", OPT_INT, &damon_cfg.aggr, "US",
	  "damon: aggregation interval, microseconds (default 100000)", 1, 1000000000, 0, 0, NULL },
	{ 0, "update-interval", OPT_INT, &damon_cfg.update, "US",
	  "damon: target update interval, microseconds (default 1000000)", 1, 1000000000, 0, 0, NULL },
	{ 0, "min-nr-regions", OPT_INT, &damon_cfg.min_nr, "N",
	  "damon: minimum number of regions, >= 3 (default 10)", 3, 1000000000, 0, 0, NULL },
	{ 0, "max-nr-regions", OPT_INT, &damon_cfg.max_nr, "N",
	  "damon: maximum number of regions, > min (default 1000)", 3, 1000000000, 0, 0, NULL },
	{ 0, "damos", OPT_LIST, &damon_cfg.damos, "SPEC",
	  "damon: a DAMOS scheme the kernel applies (damon engine; repeatable): "
	  "action=A,min_size=B,max_size=B,min_acc=N,max_acc=N,min_age=N,"
	  "max_age=N,pids=P:P (all but action optional; docs/DAMON.md)", 0, 0, 0, 0, NULL },
	OPT_END
};

int
scan_damon_setup(struct scan_env *env, const char *backend, struct err *e)
{
	int i;

	if (damon_cfg.min_nr && damon_cfg.max_nr && damon_cfg.max_nr <= damon_cfg.min_nr)
		return err_set(e, EX_USAGE, 0, "option '--max-nr-regions': %lld is not "
		    "above --min-nr-regions %lld", damon_cfg.max_nr, damon_cfg.min_nr);
	/* The kernel refuses state=on with a bare EINVAL when sampling is
	 * slower than aggregation; say which options conflict instead. */
	if ((damon_cfg.sample ? damon_cfg.sample : 5000) >
	    (damon_cfg.aggr ? damon_cfg.aggr : 100000))
		return err_set(e, EX_USAGE, 0, "option '--sample-interval': %lld us "
		    "is longer than the aggregation interval %lld us",
		    damon_cfg.sample ? damon_cfg.sample : 5000,
		    damon_cfg.aggr ? damon_cfg.aggr : 100000);
	for (i = 0; i < damon_cfg.damos.n; i++)
		if (scan_damon_check_spec(damon_cfg.damos.v[i], e) < 0)
			return -1;
	if (damon_cfg.damos.n > DAMON_SPECS_MAX)
		return err_set(e, EX_USAGE, 0, "option '--damos': at most %d schemes",
		    DAMON_SPECS_MAX);
	/* DAMOS needs DAMON: silently monitoring without acting would hide it. */
	if (damon_cfg.damos.n && (backend == NULL || strcmp(backend, "damon") != 0))
		return err_set(e, EX_USAGE, 0, "option '--damos' needs --backend damon");
	env->sample_us = (uint64_t)damon_cfg.sample;
	env->aggr_us = (uint64_t)damon_cfg.aggr;
	env->update_us = (uint64_t)damon_cfg.update;
	env->min_nr_regions = (uint64_t)damon_cfg.min_nr;
	env->max_nr_regions = (uint64_t)damon_cfg.max_nr;
	env->damos = damon_cfg.damos.v;
	env->ndamos = (size_t)damon_cfg.damos.n;
	return 0;
}

static void damon_fini(struct scan_ctx *ctx);

static int
damon_init_kdamond(struct scan_ctx *ctx, struct err *e)
{
	const struct scan_env *env = ctx->env;
	struct damon_priv *p;
	char ops[256];
	size_t i;

	if (env->ndamos > DAMON_SPECS_MAX)
		return err_set(e, EX_USAGE, 0, "at most %d --damos schemes",
		    DAMON_SPECS_MAX);
	p = ctx->priv;
	for (i = 0; i < env->ndamos; i++)
		if (spec_parse(env->damos[i], &p->specs[i], e) < 0)
			return -1;
	p->nspecs = env->ndamos;
	if ((p->lock_fd = lock_take(e)) < 0)
		return -1;
	if (damon_claimable(1, e) < 0)
		return -1;
	if (dwrite(e, "1", KD "/nr_kdamonds") < 0) {
		if (e->errnum == EBUSY)
			err_set(e, EX_UNAVAILABLE, EBUSY, "DAMON is in use by another "
			    "owner (a kdamond appeared while we started); changing nothing");
		return -1;
	}
	p->created = 1;
	if (marker_write(0, e) < 0)
		return -1;
	if (dwrite(e, "1", KD "/0/contexts/nr_contexts") < 0)
		return -1;
	if (dread(ops, sizeof ops, e, CTX "/avail_operations") == 0 &&
	    strstr(ops, "vaddr") == NULL)
		return err_set(e, EX_UNAVAILABLE, 0, "backend damon: DAMON offers "
		    "no vaddr operations (CONFIG_DAMON_VADDR)");
	if (dwrite(e, "vaddr", CTX "/operations") < 0)
		return -1;
	/* 0 keeps the kernel default (5 ms / 100 ms / 1 s, 10..1000 regions). */
	if ((env->sample_us && dwrite_u64(e, env->sample_us, CTX "/monitoring_attrs/intervals/sample_us") < 0) ||
	    (env->aggr_us && dwrite_u64(e, env->aggr_us, CTX "/monitoring_attrs/intervals/aggr_us") < 0) ||
	    (env->update_us && dwrite_u64(e, env->update_us, CTX "/monitoring_attrs/intervals/update_us") < 0) ||
	    (env->max_nr_regions && dwrite_u64(e, env->max_nr_regions, CTX "/monitoring_attrs/nr_regions/max") < 0) ||
	    (env->min_nr_regions && dwrite_u64(e, env->min_nr_regions, CTX "/monitoring_attrs/nr_regions/min") < 0))
		return -1;
	return 0;
}

static int
damon_init(struct scan_ctx *ctx, struct err *e)
{
	struct damon_priv *p;

	if ((p = ctx->priv = calloc(1, sizeof(struct damon_priv))) == NULL)
		return err_set(e, EX_OSERR, errno, "out of memory");
	p->lock_fd = -1;
	if (damon_init_kdamond(ctx, e) < 0) {
		/* Leave DAMON as we found it even if the core skips fini. */
		struct err saved = *e;

		damon_fini(ctx);
		*e = saved;
		return -1;
	}
	return 0;
}

/* Write one scheme: action, access pattern, and target filters that exclude
 * every kdamond target not in keep[] (NULL = keep all). */
static int
scheme_write(struct damon_priv *p, size_t idx, const char *action,
    const struct damos_spec *s, const pid_t *keep, size_t nkeep, struct err *e)
{
	static const char *const dims[] = { "sz", "nr_accesses", "age" };
	uint64_t lo[3] = { 0, 0, 0 }, hi[3] = { UINT64_MAX, UINT32_MAX, UINT32_MAX };
	size_t i, j, nf = 0;
	const char *S = CTX "/schemes";

	if (s != NULL) {
		lo[0] = s->min_sz; hi[0] = s->max_sz;
		lo[1] = s->min_acc; hi[1] = s->max_acc;
		lo[2] = s->min_age; hi[2] = s->max_age;
	}
	if (dwrite(e, action, "%s/%zu/action", S, idx) < 0)
		return -1;
	/* max before min: the defaults are 0..0 and some kernels check order. */
	for (i = 0; i < 3; i++)
		if (dwrite_u64(e, hi[i], "%s/%zu/access_pattern/%s/max", S, idx, dims[i]) < 0 ||
		    dwrite_u64(e, lo[i], "%s/%zu/access_pattern/%s/min", S, idx, dims[i]) < 0)
			return -1;
	for (i = 0; keep && i < p->npids; i++) {
		for (j = 0; j < nkeep && keep[j] != p->pids[i]; j++)
			;
		nf += j == nkeep;
	}
	if (dwrite_u64(e, nf, "%s/%zu/filters/nr_filters", S, idx) < 0)
		return -1;
	/* type=target, matching=Y filters OUT target i (file damon_target_idx, 6.3+; unchanged by the
	 * 6.14 `allow` file, whose default N keeps this a reject filter). */
	for (i = 0, nf = 0; keep && i < p->npids; i++) {
		for (j = 0; j < nkeep && keep[j] != p->pids[i]; j++)
			;
		if (j < nkeep)
			continue;
		if (dwrite(e, "target", "%s/%zu/filters/%zu/type", S, idx, nf) < 0 ||
		    dwrite(e, "Y", "%s/%zu/filters/%zu/matching", S, idx, nf) < 0 ||
		    dwrite_u64(e, i, "%s/%zu/filters/%zu/damon_target_idx", S, idx, nf) < 0)
			return -1;
		nf++;
	}
	return 0;
}

/* (Re)build targets and schemes for ctx->targets and turn the kdamond on. */
static int
damon_start(struct scan_ctx *ctx, struct err *e)
{
	struct damon_priv *p = ctx->priv;
	long long kpid;
	size_t i;

	if (ctx->ntargets > DAMON_TARGETS_MAX)
		return err_set(e, EX_USAGE, 0, "backend damon monitors at most %d "
		    "processes, got %zu", DAMON_TARGETS_MAX, ctx->ntargets);
	if (p->running) {
		if (dwrite(e, "off", KD "/0/state") < 0)
			return -1;
		p->running = 0;
	}
	p->nwant = p->npids = 0;
	for (i = 0; i < ctx->ntargets; i++) {
		const struct scan_target *t = &ctx->targets[i];

		p->want[p->nwant++] = t->pid;
		/* A dead pid would make state=on fail for all the others. */
		if (procfs_pid_alive(t->pid, t->start_time) == 1)
			p->pids[p->npids++] = t->pid;
		else
			log_info("scan/damon: pid %d is gone; not monitored", (int)t->pid);
	}
	if (p->npids == 0)
		return 0;       /* nothing to watch until the targets change */
	if (dwrite_u64(e, p->npids, CTX "/targets/nr_targets") < 0)
		return -1;
	for (i = 0; i < p->npids; i++)
		if (dwrite_u64(e, (uint64_t)p->pids[i], CTX "/targets/%zu/pid_target", i) < 0)
			return -1;
	if (dwrite_u64(e, p->npids + p->nspecs, CTX "/schemes/nr_schemes") < 0)
		return -1;
	for (i = 0; i < p->npids; i++)
		if (scheme_write(p, i, "stat", NULL, &p->pids[i], 1, e) < 0)
			return -1;
	for (i = 0; i < p->nspecs; i++) {
		const struct damos_spec *s = &p->specs[i];

		if (scheme_write(p, p->npids + i, s->action, s,
		    s->npids ? s->pids : NULL, s->npids, e) < 0)
			return -1;
	}
	if (dwrite(e, "on", KD "/0/state") < 0)
		return err_prefix(e, "starting kdamond 0 for %zu target(s)", p->npids);
	p->running = 1;
	if (dread_ll(&kpid, e, KD "/0/pid") < 0 || marker_write(kpid, e) < 0)
		return -1;
	log_debug("scan/damon: kdamond 0 (pid %lld) on, %zu target(s), %zu scheme(s)",
	    kpid, p->npids, p->nspecs);
	return 0;
}

/* 1 if the kdamond was started for exactly ctx->targets, in order, and
 * still runs (or there was nothing alive to run it for). */
static int
damon_current(struct scan_ctx *ctx, struct err *e)
{
	struct damon_priv *p = ctx->priv;
	char state[DAMON_VAL_MAX];
	size_t i;

	if (p->nwant != ctx->ntargets)
		return 0;
	for (i = 0; i < p->nwant; i++)
		if (p->want[i] != ctx->targets[i].pid)
			return 0;
	if (p->npids == 0)
		return 1;       /* same targets, none alive: nothing to restart */
	if (dread(state, sizeof state, e, KD "/0/state") < 0)
		return -1;
	/* A kdamond stops by itself once every target has exited. */
	if (strcmp(state, "on") != 0)
		p->running = 0;
	return p->running;
}

static int
damon_prepare(struct scan_ctx *ctx, struct err *e)
{
	int r = damon_current(ctx, e);

	if (r < 0)
		return -1;
	return r ? 0 : damon_start(ctx, e);
}

static int
region_cmp(const void *a, const void *b)
{
	const struct damon_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Read every schemes/<idx>/tried_regions/<n>/ into p->regs, sorted by
 * address. The <n> are not 0-based per scheme: 6.12 numbers them across
 * schemes (scheme 1's may start at 10), so the directory is listed.
 */
static ssize_t
regions_read(struct damon_priv *p, size_t idx, struct err *e)
{
	static const char *const f[] = { "start", "end", "nr_accesses", "age" };
	char rel[PROCFS_PATH_MAX], path[PROCFS_PATH_MAX];
	struct dirent *de;
	size_t n = 0, k;
	long long v[4], id;
	DIR *d;

	snprintf(rel, sizeof rel, CTX "/schemes/%zu/tried_regions", idx);
	sysfs_path(path, sizeof path, "%s", rel);
	if ((d = opendir(path)) == NULL)
		return err_set(e, EX_UNAVAILABLE, errno, "cannot list '%s' (tried "
		    "regions need Linux 6.2+)", path);
	while ((de = readdir(d)) != NULL) {
		char frel[PROCFS_PATH_MAX + 64];

		if (opt_parse_ll(de->d_name, 0, INT_MAX, &id) < 0)
			continue;       /* total_bytes, ".", ".." */
		for (k = 0; k < 4; k++) {
			snprintf(frel, sizeof frel, "%s/%lld/%s", rel, id, f[k]);
			if (dread_ll(&v[k], e, frel) < 0)
				goto fail;
		}
		if (v[0] < 0 || v[1] <= v[0] || v[2] < 0 || v[3] < 0) {
			err_set(e, EX_DATAERR, 0, "'%s/%lld': bad region %lld-%lld",
			    path, id, v[0], v[1]);
			goto fail;
		}
		if (n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 64;
			struct damon_region *r = realloc(p->regs, cap * sizeof *r);

			if (r == NULL) {
				err_set(e, EX_OSERR, errno, "out of memory");
				goto fail;
			}
			p->regs = r;
			p->cap = cap;
		}
		p->regs[n].start = (uint64_t)v[0];
		p->regs[n].end = (uint64_t)v[1];
		p->regs[n].nr_accesses = v[2] > UINT32_MAX ? UINT32_MAX : (uint32_t)v[2];
		p->regs[n].age = v[3] > UINT32_MAX ? UINT32_MAX : (uint32_t)v[3];
		n++;
	}
	closedir(d);
	qsort(p->regs, n, sizeof *p->regs, region_cmp);
	return (ssize_t)n;
fail:
	closedir(d);
	return -1;
}

/* Emit regions r[0..n) of target t, clipped to its selected VMAs. */
static int
regions_emit(const struct scan_ctx *ctx, const struct scan_target *t,
    const struct damon_region *r, size_t n, struct etmr_writer *w, struct err *e)
{
	uint64_t ps = ctx->env->page_size ? ctx->env->page_size : 4096;
	size_t i, v = 0;

	for (i = 0; i < n; i++) {
		/* VMAs and regions are both sorted: advance v monotonically. */
		while (v < t->nvmas && t->vmas[v].end <= r[i].start)
			v++;
		for (size_t k = v; k < t->nvmas && t->vmas[k].start < r[i].end; k++) {
			const struct etmr_vma *vm = &t->vmas[k];
			uint64_t s = r[i].start > vm->start ? r[i].start : vm->start;
			uint64_t end = r[i].end < vm->end ? r[i].end : vm->end;
			struct etmr_access a = {
				.start = s,
				.npages = (end - s) / ps,
				.pid = (uint32_t)t->pid,
				.count = r[i].nr_accesses,
				.age = r[i].age,
				.flags = ETMR_F_REGION | (vm->flags & (ETMR_F_ANON |
				    ETMR_F_FILE | ETMR_F_SHARED | ETMR_F_HUGETLB |
				    ETMR_F_SWAPFLAG)) | (r[i].nr_accesses ? 0 : ETMR_F_IDLE),
				.node = ETMR_NODE_NONE,
				.size = ETMR_SIZE_4K,
			};

			if (a.npages == 0)
				continue;
			if (etmr_write_access(w, &a, e) < 0)
				return -1;
		}
	}
	return 0;
}

static int
damon_collect(struct scan_ctx *ctx, struct etmr_writer *w, struct err *e)
{
	struct damon_priv *p = ctx->priv;
	size_t i, j;
	ssize_t n;
	int r;

	if ((r = damon_current(ctx, e)) < 0)
		return -1;
	if (r == 0 && damon_prepare(ctx, e) < 0)
		return -1;
	if (!p->running)
		return 0;
	/* Synchronous: returns once the kdamond has refilled tried_regions. */
	if (dwrite(e, "update_schemes_tried_regions", KD "/0/state") < 0) {
		if (damon_current(ctx, e) == 0) {
			log_info("scan/damon: kdamond stopped (targets exited)");
			err_clear(e);
			return 0;
		}
		return -1;
	}
	for (i = 0; i < ctx->ntargets; i++) {
		const struct scan_target *t = &ctx->targets[i];

		for (j = 0; j < p->npids && p->pids[j] != t->pid; j++)
			;
		if (j == p->npids)
			continue;
		if ((n = regions_read(p, j, e)) < 0)
			return -1;
		if (regions_emit(ctx, t, p->regs, (size_t)n, w, e) < 0)
			return -1;
	}
	return 0;
}

static void
damon_fini(struct scan_ctx *ctx)
{
	struct damon_priv *p = ctx->priv;
	char state[DAMON_VAL_MAX];
	struct err e;

	if (p == NULL)
		return;
	if (p->created) {
		/* Check the state rather than trust p->running: it may have
		 * stopped by itself, or been started just before an error. */
		if (dread(state, sizeof state, &e, KD "/0/state") == 0 &&
		    strcmp(state, "off") != 0 && dwrite(&e, "off", KD "/0/state") < 0)
			log_err(&e);
		if (dwrite(&e, "0", KD "/nr_kdamonds") < 0)
			log_err(&e);
		else
			marker_remove();
	}
	if (p->lock_fd >= 0)
		close(p->lock_fd);      /* after the marker is gone */
	free(p->regs);
	free(p);
	ctx->priv = NULL;
}

const struct scan_ops scan_damon = {
	.name = "damon",
	.backend = ETMR_BACKEND_DAMON,
	.probe = damon_probe,
	.init = damon_init,
	.prepare = damon_prepare,
	.collect = damon_collect,
	.fini = damon_fini,
};
