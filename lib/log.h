/* SPDX-License-Identifier: MIT */
/*
 * log.h - logging, in the shape of OpenBSD's log.c.
 *
 * Stages log to stderr only (stdout carries the stream). The daemon may send
 * the same lines to syslog. Every line starts with the program name given to
 * log_init(); a file may add its own prefix (as DAMON's pr_fmt) by passing it
 * in the format. log_warn appends strerror(errno); errno is preserved by all.
 */
#ifndef ETMEM_LOG_H
#define ETMEM_LOG_H

#include <stdarg.h>

struct err;

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* log.c */
/* name: program name for the prefix; level: most verbose level printed. */
void log_init(const char *name, int level, int use_syslog);
/* Syslog under another ident and facility than log_init's (name, LOG_DAEMON):
 * etmemd keeps the original's "[etmemd] " ident and LOG_USER. */
void log_syslog_open(const char *ident, int facility);
void log_setlevel(int level);
int log_getlevel(void);
const char *log_procname(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an error message from lib/ as a warning line. */
void log_err(const struct err *e);
/* main() only: print and exit(code). */
void fatal(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void fatalx(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* main() only: print e->msg and exit(e->code, or EX_SOFTWARE if unset). */
void fatal_err(const struct err *e) __attribute__((noreturn));

/* BUG(): a broken invariant; file:line and abort(). */
#define BUG(msg) log_bug(__FILE__, __LINE__, (msg))
void log_bug(const char *file, int line, const char *msg)
	__attribute__((noreturn));

#endif /* ETMEM_LOG_H */
