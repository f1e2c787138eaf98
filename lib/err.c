/* SPDX-License-Identifier: MIT */
/* err.c - fill struct err; see err.h. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
err_setv(struct err *e, int code, int errnum, const char *fmt, va_list ap)
{
	size_t n;

	if (e == NULL)
		return -1;
	e->code = code;
	e->errnum = errnum;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	n = strlen(e->msg);
	if (errnum != 0 && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return -1;
}

int
err_set(struct err *e, int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_setv(e, code, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	char old[ERR_MSG_MAX];
	va_list ap;
	int n;

	if (e == NULL)
		return -1;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n + 2 < sizeof(e->msg)) {
		size_t left = sizeof(e->msg) - (size_t)n;

		e->msg[n] = ':';
		e->msg[n + 1] = ' ';
		strncpy(e->msg + n + 2, old, left - 3);
		e->msg[sizeof(e->msg) - 1] = '\0';
	}
	return -1;
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->errnum = 0;
	e->msg[0] = '\0';
}
