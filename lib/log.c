/* SPDX-License-Identifier: MIT */
/* log.c - stderr/syslog logging for every etmem program; see log.h. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "err.h"

static const char *log_name = "etmem";
static int log_level = LOG_LEVEL_INFO;
static int log_syslog;

void
log_init(const char *name, int level, int use_syslog)
{
	log_name = name;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_syslog_open(const char *ident, int facility)
{
	closelog();
	openlog(ident, LOG_PID | LOG_NDELAY, facility);
	log_syslog = 1;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

const char *
log_procname(void)
{
	return log_name;
}

static void
log_vemit(int level, int errnum, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (errnum != 0 && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
	if (log_syslog)
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "%s: %s\n", log_name, line);
}

#define LOG_BODY(level, errnum)                         \
	do {                                            \
		int saved = errno;                      \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		log_vemit((level), (errnum), fmt, ap);  \
		va_end(ap);                             \
		errno = saved;                          \
	} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, errno); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, 0); }

void
log_err(const struct err *e)
{
	log_warnx("%s", e->msg);
}

void
fatal(int code, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, errno);
	exit(code);
}

void
fatalx(int code, const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(code);
}

static void log_error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
log_error_line(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
}

void
fatal_err(const struct err *e)
{
	log_error_line("%s", e->msg);
	exit(e->code != 0 ? e->code : 70 /* EX_SOFTWARE */);
}

void
log_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "%s: BUG at %s:%d: %s\n", log_name, file, line, msg);
	abort();
}
