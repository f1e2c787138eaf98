/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - every /proc and /sys read of etmem, under a configurable root.
 *
 * The roots exist so fixture trees can stand in for a kernel: nothing here
 * assumes the files are the live kernel's (a fixture's stat may be written
 * by hand), so every parser checks what it reads and names the file and line
 * at fault. This file only reads and parses; it never decides what to scan.
 */
#include "procfs.h"

#include <sys/stat.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"

static char proc_root[PROCFS_PATH_MAX];
static char sys_root[PROCFS_PATH_MAX];

/* Copy a root, dropping trailing slashes so "<root>/proc" has one slash. */
static int
root_set(char *dst, const char *src, const char *what, struct err *e)
{
	size_t n = strlen(src);

	while (n > 0 && src[n - 1] == '/')
		n--;
	if (n >= PROCFS_PATH_MAX - 64)
		return err_set(e, EX_USAGE, ENAMETOOLONG, "%s '%s'", what, src);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int
procfs_init(const char *proc, const char *sys, struct err *e)
{
	if (proc == NULL)
		proc = getenv("ETMEM_PROC_ROOT");
	if (sys == NULL)
		sys = getenv("ETMEM_SYS_ROOT");
	if (root_set(proc_root, proc ? proc : "", "proc root", e) < 0 ||
	    root_set(sys_root, sys ? sys : "", "sys root", e) < 0)
		return -1;
	return 0;
}

const char *
procfs_proc_root(void)
{
	return proc_root;
}

const char *
procfs_sys_root(void)
{
	return sys_root;
}

static int
path_v(char *buf, size_t len, const char *root, const char *dir,
    const char *fmt, va_list ap)
{
	int n, m;

	n = snprintf(buf, len, "%s/%s/", root, dir);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	if (m < 0 || (size_t)m >= len - (size_t)n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
procfs_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = path_v(buf, len, proc_root, "proc", fmt, ap);
	va_end(ap);
	return r;
}

int
sysfs_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = path_v(buf, len, sys_root, "sys", fmt, ap);
	va_end(ap);
	return r;
}

/* The sysexits code an errno from open/read deserves. */
static int
errno_code(int errnum)
{
	switch (errnum) {
	case ENOENT:
	case ESRCH:
		return EX_NOINPUT;
	case EACCES:
	case EPERM:
		return EX_NOPERM;
	default:
		return EX_IOERR;
	}
}

ssize_t
procfs_read_file(const char *path, char *buf, size_t len, struct err *e)
{
	size_t have = 0;
	ssize_t n;
	int fd;

	if (len == 0)
		return err_set(e, EX_SOFTWARE, 0, "cannot read '%s': no buffer", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno_code(errno), errno, "cannot read '%s'", path);
	for (;;) {
		if (have == len - 1) {
			/* One more byte tells "exactly full" from "too long". */
			char c;

			n = read(fd, &c, 1);
			if (n == 0)
				break;
			close(fd);
			return err_set(e, EX_DATAERR, 0,
			    "cannot read '%s': longer than %zu bytes", path, len - 1);
		}
		n = read(fd, buf + have, len - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			close(fd);
			return err_set(e, errno_code(saved), saved, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	return (ssize_t)have;
}

int
procfs_write_file(const char *path, const char *s, struct err *e)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno_code(errno), errno, "cannot open '%s' for writing", path);
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int saved = n < 0 ? errno : EIO;

		close(fd);
		return err_set(e, errno_code(saved), saved, "cannot write '%s'", path);
	}
	if (close(fd) < 0)
		return err_set(e, EX_IOERR, errno, "cannot write '%s'", path);
	return 0;
}

/* Parse a /proc/PID/stat text. comm may hold spaces and ')' — it ends at the
 * LAST ')' of the line, as the kernel prints nothing after it but numbers. */
static int
stat_parse(const char *path, const char *buf, struct proc_stat *st, struct err *e)
{
	const char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
	const char *p;
	size_t clen;
	int field;
	char *end;
	long long pid;

	if (open_p == NULL || close_p == NULL || close_p < open_p)
		return err_set(e, EX_DATAERR, 0, "%s: line 1: no '(comm)'", path);
	pid = strtoll(buf, &end, 10);
	if (end == buf || pid <= 0)
		return err_set(e, EX_DATAERR, 0, "%s: line 1: bad pid", path);
	memset(st, 0, sizeof(*st));
	st->pid = (pid_t)pid;
	clen = (size_t)(close_p - open_p - 1);
	if (clen >= PROCFS_COMM_MAX)
		clen = PROCFS_COMM_MAX - 1;
	memcpy(st->comm, open_p + 1, clen);
	st->comm[clen] = '\0';

	/* Field 3 (state) follows ") ". */
	p = close_p + 1;
	for (field = 3; field <= 22; field++) {
		unsigned long long v;

		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			return err_set(e, EX_DATAERR, 0,
			    "%s: line 1: field %d missing", path, field);
		if (field == 3) {
			st->state = *p++;
			continue;
		}
		errno = 0;
		v = strtoull(p, &end, 10);
		if (end == p && *p != '-')
			return err_set(e, EX_DATAERR, 0,
			    "%s: line 1: field %d is not a number", path, field);
		if (end == p) /* negative fields (tty_nr etc.): skip the token */
			v = (unsigned long long)strtoll(p, &end, 10);
		if (field == 4)
			st->ppid = (pid_t)v;
		else if (field == 22)
			st->start_time = v;
		p = end;
	}
	return 0;
}

int
procfs_pid_stat(pid_t pid, struct proc_stat *st, struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[2048];

	if (procfs_path(path, sizeof(path), "%d/stat", (int)pid) < 0)
		return err_set(e, EX_USAGE, errno, "/proc path for %d", (int)pid);
	if (procfs_read_file(path, buf, sizeof(buf), e) < 0) {
		if (e != NULL && e->code == EX_NOINPUT)
			return err_set(e, EX_NOINPUT, 0, "no process %d", (int)pid);
		return -1;
	}
	return stat_parse(path, buf, st, e);
}

int
procfs_pid_alive(pid_t pid, uint64_t start_time)
{
	struct proc_stat st;
	struct err e;

	if (procfs_pid_stat(pid, &st, &e) < 0)
		return e.code == EX_NOINPUT ? 0 : -1;
	/* A zombie has no memory left to scan: treat as gone. */
	if (st.state == 'Z' || st.state == 'X')
		return 0;
	return start_time == 0 || st.start_time == start_time;
}

/* Find "Key:" at a line start in buf and parse its number (kB). */
static int
kv_u64(const char *buf, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = buf;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			char *end;

			p += klen + 1;
			errno = 0;
			*out = strtoull(p, &end, 10);
			if (end == p || errno != 0)
				return -1;
			return 1;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return 0;
}

int
procfs_pid_status(pid_t pid, struct proc_status *st, struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[8192];

	if (procfs_path(path, sizeof(path), "%d/status", (int)pid) < 0)
		return err_set(e, EX_USAGE, errno, "/proc path for %d", (int)pid);
	if (procfs_read_file(path, buf, sizeof(buf), e) < 0) {
		if (e != NULL && e->code == EX_NOINPUT)
			return err_set(e, EX_NOINPUT, 0, "no process %d", (int)pid);
		return -1;
	}
	memset(st, 0, sizeof(*st));
	/* Kernel threads and zombies lack the Vm* lines: 0 is right for them. */
	if (kv_u64(buf, "VmRSS", &st->rss_kb) < 0)
		return err_set(e, EX_DATAERR, 0, "%s: bad VmRSS value", path);
	if (kv_u64(buf, "VmSwap", &st->swap_kb) < 0)
		return err_set(e, EX_DATAERR, 0, "%s: bad VmSwap value", path);
	return 0;
}

int
procfs_meminfo(struct meminfo *mi, struct err *e)
{
	static const struct { const char *key; size_t off; int required; } keys[] = {
		{ "MemTotal", offsetof(struct meminfo, mem_total_kb), 1 },
		{ "MemFree", offsetof(struct meminfo, mem_free_kb), 1 },
		{ "MemAvailable", offsetof(struct meminfo, mem_available_kb), 0 },
		{ "SwapCached", offsetof(struct meminfo, swap_cached_kb), 0 },
		{ "SwapTotal", offsetof(struct meminfo, swap_total_kb), 0 },
		{ "SwapFree", offsetof(struct meminfo, swap_free_kb), 0 },
	};
	char path[PROCFS_PATH_MAX], buf[16384];
	size_t i;

	if (procfs_path(path, sizeof(path), "meminfo") < 0)
		return err_set(e, EX_USAGE, errno, "/proc/meminfo path");
	if (procfs_read_file(path, buf, sizeof(buf), e) < 0)
		return -1;
	memset(mi, 0, sizeof(*mi));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t *dst = (uint64_t *)(void *)((char *)mi + keys[i].off);
		int r = kv_u64(buf, keys[i].key, dst);

		if (r < 0 || (r == 0 && keys[i].required))
			return err_set(e, EX_DATAERR, 0, "%s: %s key '%s'", path,
			    r < 0 ? "bad value for" : "missing", keys[i].key);
	}
	return 0;
}

/* Parse one maps header line: "start-end perms offset dev inode [path]". */
static int
maps_line(const char *line, struct proc_vma *v)
{
	unsigned long long start, end, off, ino;
	char perms[8];
	int n = 0;
	const char *p;
	size_t plen;

	if (sscanf(line, "%llx-%llx %7s %llx %*x:%*x %llu%n", &start, &end,
	    perms, &off, &ino, &n) != 5 || n == 0)
		return -1;
	if (strlen(perms) != 4 || end < start)
		return -1;
	memset(v, 0, sizeof(*v));
	v->start = start;
	v->end = end;
	v->offset = off;
	v->inode = ino;
	memcpy(v->perms, perms, 5);
	p = line + n;
	while (*p == ' ' || *p == '\t')
		p++;
	plen = strcspn(p, "\n");
	if (plen >= sizeof(v->path))
		plen = sizeof(v->path) - 1;
	memcpy(v->path, p, plen);
	v->path[plen] = '\0';
	return 0;
}

/* A smaps field line is "Key:<spaces>value..."; its key has no '-'. */
static int
is_field_line(const char *line)
{
	const char *colon = strchr(line, ':');
	const char *sp = strpbrk(line, " \t");

	return colon != NULL && (sp == NULL || colon < sp);
}

static void
smaps_field(struct proc_vma *v, const char *line)
{
	uint64_t val;

	if (strncmp(line, "VmFlags:", 8) == 0) {
		const char *p = line + 8;
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, "\n");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n >= sizeof(v->vmflags))
			n = sizeof(v->vmflags) - 1;
		memcpy(v->vmflags, p, n);
		v->vmflags[n] = '\0';
	} else if (kv_u64(line, "Referenced", &val) == 1) {
		v->referenced_kb = val;
	} else if (kv_u64(line, "Rss", &val) == 1) {
		v->rss_kb = val;
	} else if (kv_u64(line, "Swap", &val) == 1) {
		v->swap_kb = val;
	} else if (kv_u64(line, "KernelPageSize", &val) == 1) {
		v->kernel_page_kb = val;
	}
}

static int
vmas_each(pid_t pid, const char *file, int smaps,
    int (*fn)(const struct proc_vma *v, void *arg), void *arg, struct err *e)
{
	char path[PROCFS_PATH_MAX];
	struct proc_vma cur;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int have = 0, r = 0;
	FILE *fp;

	if (procfs_path(path, sizeof(path), "%d/%s", (int)pid, file) < 0)
		return err_set(e, EX_USAGE, errno, "/proc path for %d", (int)pid);
	fp = fopen(path, "re");
	if (fp == NULL) {
		if (errno == ENOENT || errno == ESRCH)
			return err_set(e, EX_NOINPUT, 0, "no process %d", (int)pid);
		return err_set(e, errno_code(errno), errno, "cannot read '%s'", path);
	}
	while ((len = getline(&line, &cap, fp)) > 0) {
		lineno++;
		if (smaps && have && is_field_line(line)) {
			smaps_field(&cur, line);
			continue;
		}
		if (have && (r = fn(&cur, arg)) < 0)
			goto out;
		have = 0;
		if (maps_line(line, &cur) < 0) {
			r = err_set(e, EX_DATAERR, 0, "%s: line %lu: malformed",
			    path, lineno);
			goto out;
		}
		have = 1;
	}
	if (ferror(fp)) {
		/* A process that exits mid-read gives ESRCH or an empty tail. */
		r = err_set(e, errno == ESRCH ? EX_NOINPUT : EX_IOERR, errno,
		    "cannot read '%s'", path);
		goto out;
	}
	if (have)
		r = fn(&cur, arg);
out:
	free(line);
	fclose(fp);
	return r < 0 ? r : 0;
}

int
procfs_maps_each(pid_t pid, int (*fn)(const struct proc_vma *v, void *arg),
    void *arg, struct err *e)
{
	return vmas_each(pid, "maps", 0, fn, arg, e);
}

int
procfs_smaps_each(pid_t pid, int (*fn)(const struct proc_vma *v, void *arg),
    void *arg, struct err *e)
{
	return vmas_each(pid, "smaps", 1, fn, arg, e);
}

int
procfs_vma_is_special(const struct proc_vma *v)
{
	/* Bracketed names are kernel-made mappings. Of those only the heap, the
	 * stacks and prctl-named anonymous memory are ordinary process memory;
	 * [vvar], [vvar_vclock], [vdso], [vsyscall], [uprobes] and future
	 * specials are not ours to scan or move. */
	if (v->path[0] != '[')
		return 0;
	if (strcmp(v->path, "[heap]") == 0 ||
	    strncmp(v->path, "[stack", 6) == 0 ||
	    strncmp(v->path, "[anon:", 6) == 0 ||
	    strncmp(v->path, "[anon_shmem:", 12) == 0)
		return 0;
	return 1;
}

int
procfs_vma_is_anon(const struct proc_vma *v)
{
	if (procfs_vma_is_special(v))
		return 0;
	return v->perms[3] == 'p' && v->perms[2] != 'x' &&
	    (v->inode == 0 || v->perms[1] == 'w');
}

static int
pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Sort, drop duplicates; returns the new count. */
static size_t
pids_uniq(pid_t *v, size_t n)
{
	size_t i, o = 0;

	qsort(v, n, sizeof(*v), pid_cmp);
	for (i = 0; i < n; i++)
		if (o == 0 || v[o - 1] != v[i])
			v[o++] = v[i];
	return o;
}

/* A /proc directory entry that names a process: all digits, > 0. */
static int
pid_name(const char *s, long long *out)
{
	long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || v > 100000000LL)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Every process as (pid, ppid, comm): one pass over /proc. */
struct proc_ent {
	pid_t pid, ppid;
	char comm[PROCFS_COMM_MAX];
};

static int
proc_list(struct proc_ent **out, size_t *nout, struct err *e)
{
	char path[PROCFS_PATH_MAX];
	struct proc_ent *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;

	if (procfs_path(path, sizeof(path), "%s", "") < 0)
		return err_set(e, EX_USAGE, errno, "/proc path");
	dir = opendir(path);
	if (dir == NULL)
		return err_set(e, errno_code(errno), errno, "cannot list '%s'", path);
	while ((d = readdir(dir)) != NULL) {
		struct proc_stat st;
		long long pid;

		if (pid_name(d->d_name, &pid) < 0)
			continue;
		/* A process may exit between readdir and the read: skip it. */
		if (procfs_pid_stat((pid_t)pid, &st, NULL) < 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct proc_ent *nv = realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				free(v);
				closedir(dir);
				return err_set(e, EX_OSERR, ENOMEM, "listing processes");
			}
			v = nv;
			cap = ncap;
		}
		v[n].pid = st.pid;
		v[n].ppid = st.ppid;
		memcpy(v[n].comm, st.comm, sizeof(st.comm));
		n++;
	}
	closedir(dir);
	*out = v;
	*nout = n;
	return 0;
}

int
procfs_find_by_name(const char *name, pid_t *pids, size_t max, struct err *e)
{
	struct proc_ent *all;
	pid_t *found;
	size_t n, i, j, nf = 0, nmatch;
	int count;

	if (proc_list(&all, &n, e) < 0)
		return -1;
	found = calloc(n ? n : 1, sizeof(*found));
	if (found == NULL) {
		free(all);
		return err_set(e, EX_OSERR, ENOMEM, "listing processes");
	}
	for (i = 0; i < n; i++)
		if (strncmp(all[i].comm, name, PROCFS_COMM_MAX - 1) == 0 &&
		    strlen(name) < PROCFS_COMM_MAX)
			found[nf++] = all[i].pid;
	nmatch = nf;
	/* Direct children only, as the original: grandchildren are not added. */
	for (i = 0; i < n; i++)
		for (j = 0; j < nmatch; j++)
			if (all[i].ppid == found[j]) {
				found[nf++] = all[i].pid;
				break;
			}
	nf = pids_uniq(found, nf);
	for (i = 0; i < nf && i < max; i++)
		pids[i] = found[i];
	count = (int)nf;
	free(found);
	free(all);
	return count;
}

/* Children from /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN); -2 if
 * the kernel (or fixture) has no such files, -1 on error. */
static int
children_files(pid_t pid, pid_t **out, size_t *nout, struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[65536];
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	int seen = 0;
	DIR *dir;

	if (procfs_path(path, sizeof(path), "%d/task", (int)pid) < 0)
		return err_set(e, EX_USAGE, errno, "/proc path for %d", (int)pid);
	dir = opendir(path);
	if (dir == NULL) {
		if (errno == ENOENT || errno == ESRCH)
			return -2;  /* the caller tells "gone" from "no task dir" */
		return err_set(e, errno_code(errno), errno, "cannot list '%s'", path);
	}
	while ((d = readdir(dir)) != NULL) {
		long long tid;
		char *p, *end;

		if (pid_name(d->d_name, &tid) < 0)
			continue;
		if (procfs_path(path, sizeof(path), "%d/task/%lld/children",
		    (int)pid, tid) < 0)
			continue;
		if (procfs_read_file(path, buf, sizeof(buf), NULL) < 0)
			continue;   /* thread gone, or no CONFIG_PROC_CHILDREN */
		seen = 1;
		for (p = buf;; p = end) {
			long long c = strtoll(p, &end, 10);

			if (end == p)
				break;
			if (c <= 0)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				pid_t *nv = realloc(v, ncap * sizeof(*v));

				if (nv == NULL) {
					free(v);
					closedir(dir);
					return err_set(e, EX_OSERR, ENOMEM, "children of %d", (int)pid);
				}
				v = nv;
				cap = ncap;
			}
			v[n++] = (pid_t)c;
		}
	}
	closedir(dir);
	if (!seen) {
		free(v);
		return -2;
	}
	*out = v;
	*nout = n;
	return 0;
}

int
procfs_children(pid_t pid, pid_t *pids, size_t max, struct err *e)
{
	pid_t *v = NULL;
	size_t n = 0, i;
	int count;

	int r = children_files(pid, &v, &n, e);

	if (r == -1)
		return -1;
	if (r == -2) {
		struct proc_ent *all;
		struct proc_stat st;
		size_t nall;

		if (procfs_pid_stat(pid, &st, e) < 0)
			return -1;
		/* No children files: fall back to matching every ppid. */
		if (proc_list(&all, &nall, e) < 0)
			return -1;
		v = calloc(nall ? nall : 1, sizeof(*v));
		if (v == NULL) {
			free(all);
			return err_set(e, EX_OSERR, ENOMEM, "children of %d", (int)pid);
		}
		for (i = 0; i < nall; i++)
			if (all[i].ppid == pid)
				v[n++] = all[i].pid;
		free(all);
	}
	n = pids_uniq(v, n);
	for (i = 0; i < n && i < max; i++)
		pids[i] = v[i];
	count = (int)n;
	free(v);
	return count;
}
