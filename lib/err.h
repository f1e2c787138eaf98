/* SPDX-License-Identifier: MIT */
/*
 * err.h - how lib/ reports failure.
 *
 * Library functions never print and never exit: they return -1 and fill a
 * struct err with a message, the errno that caused it (0 if none) and the
 * sysexits code the caller should exit with. Only main() turns it into a log
 * line and an exit status (git's error() without die()).
 */
#ifndef ETMEM_ERR_H
#define ETMEM_ERR_H

#include <stdarg.h>

#define ERR_MSG_MAX 512

struct err {
	int code;               /* sysexits.h value, e.g. EX_DATAERR */
	int errnum;             /* errno at the failure, 0 = none */
	char msg[ERR_MSG_MAX];  /* complete sentence, no trailing newline */
};

/* err.c */
/* Fill e (may be NULL) and return -1; msg gets ": strerror" if errnum != 0. */
int err_set(struct err *e, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int err_setv(struct err *e, int code, int errnum, const char *fmt, va_list ap);
/* Prepend "prefix: " to an existing message (adds context on the way up). */
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);

#endif /* ETMEM_ERR_H */
