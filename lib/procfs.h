/* SPDX-License-Identifier: MIT */
/*
 * procfs.h - every /proc and /sys read of etmem goes through here.
 *
 * Paths are built under two root prefixes (--proc-root / --sys-root, or the
 * ETMEM_PROC_ROOT / ETMEM_SYS_ROOT environment variables; default "") so a
 * fixture tree can stand in for a kernel: procfs_path(buf, n, "%d/maps", 42)
 * gives "<proc-root>/proc/42/maps". A process is (pid, start time): callers
 * keep the start time from procfs_pid_stat() and check it before acting.
 */
#ifndef ETMEM_PROCFS_H
#define ETMEM_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

#define PROCFS_COMM_MAX 16      /* TASK_COMM_LEN, incl. NUL */
#define PROCFS_PATH_MAX 4096
#define PROCFS_MAPS_PATH_MAX 256 /* a maps line's path is cut to this */

/* procfs.c */
/* Set the roots; NULL takes the environment, then "". Copies the strings. */
int procfs_init(const char *proc_root, const char *sys_root, struct err *e);
const char *procfs_proc_root(void);
const char *procfs_sys_root(void);
/* "<proc-root>/proc/" + fmt; -1 (ENAMETOOLONG) if it does not fit. */
int procfs_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "<sys-root>/sys/" + fmt. */
int sysfs_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read a whole small file (NUL-terminated, at most len-1 bytes; a longer file
 * is an error, not a silent cut). Returns bytes read or -1. */
ssize_t procfs_read_file(const char *path, char *buf, size_t len, struct err *e);
/* Write a string to a file with one write(2); -1 with errno kept in e. */
int procfs_write_file(const char *path, const char *s, struct err *e);

struct proc_stat {
	pid_t pid;
	pid_t ppid;
	char state;
	char comm[PROCFS_COMM_MAX];
	uint64_t start_time;    /* field 22, clock ticks since boot */
};
/* /proc/PID/stat. A missing pid is EX_NOINPUT with "no process PID". */
int procfs_pid_stat(pid_t pid, struct proc_stat *st, struct err *e);
/* 1 if pid exists and (start_time == 0 or it matches), 0 if not, -1 error. */
int procfs_pid_alive(pid_t pid, uint64_t start_time);

struct proc_status {
	uint64_t rss_kb;        /* VmRSS */
	uint64_t swap_kb;       /* VmSwap */
};
int procfs_pid_status(pid_t pid, struct proc_status *st, struct err *e);

struct meminfo {
	uint64_t mem_total_kb, mem_free_kb, mem_available_kb;
	uint64_t swap_cached_kb, swap_total_kb, swap_free_kb;
};
int procfs_meminfo(struct meminfo *mi, struct err *e);

/* One line of /proc/PID/maps (plus VmFlags when read from smaps). */
struct proc_vma {
	uint64_t start, end, offset, inode;
	char perms[5];          /* "rw-p" */
	char path[PROCFS_MAPS_PATH_MAX]; /* "" for anonymous; "[heap]" etc */
	char vmflags[128];      /* only from procfs_smaps_each(); "" otherwise */
	uint64_t referenced_kb; /* only from procfs_smaps_each() */
	uint64_t rss_kb;        /* only from procfs_smaps_each() */
	uint64_t swap_kb;       /* only from procfs_smaps_each() */
	uint64_t kernel_page_kb; /* KernelPageSize (smaps only) */
};
/* Call fn for every VMA of pid in address order; fn returns <0 to stop with
 * that error. A malformed line is EX_DATAERR naming the file and line. */
int procfs_maps_each(pid_t pid, int (*fn)(const struct proc_vma *v, void *arg),
    void *arg, struct err *e);
int procfs_smaps_each(pid_t pid, int (*fn)(const struct proc_vma *v, void *arg),
    void *arg, struct err *e);
/* The original's anon_only rule (private, not exec, inode 0 or writable),
 * minus [vvar], [vvar_vclock], [vsyscall], [vdso] and other specials. */
int procfs_vma_is_anon(const struct proc_vma *v);
/* True for kernel special mappings that must never be scanned or acted on. */
int procfs_vma_is_special(const struct proc_vma *v);

/* Every pid whose comm equals name, plus the direct children of each, in
 * ascending pid order without duplicates. Returns the count (may exceed max;
 * only max are stored) or -1. */
int procfs_find_by_name(const char *name, pid_t *pids, size_t max, struct err *e);
/* Direct children of pid (from /proc/PID/task/TID/children, or by ppid). */
int procfs_children(pid_t pid, pid_t *pids, size_t max, struct err *e);

#endif /* ETMEM_PROCFS_H */
