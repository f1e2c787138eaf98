/* SPDX-License-Identifier: MIT */
/*
 * rank-cslide-show.c - cslide's `showtaskpages` and `showhostpages`: the
 * picture of the last period (where each pid's 2 MiB pages were, hot and
 * cold, before that period's moves) kept by the engine and printed in the
 * original's layout (engine-algorithms.md §4.5), served over the control
 * fd. The core and this file run in one thread, so the picture never
 * changes under a reader (the original's W-29 race cannot happen).
 *
 * Differences from the original, on purpose: numbers are 64-bit (the
 * original printed 32-bit values with %d, negative past 2 TiB); the
 * timestamp is the PERIOD's, in local time, without asctime's newline.
 */
#include "rank-cslide.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "rank.h"

static struct cslide_usage *
usage_of(struct cslide *cs, uint32_t pid)
{
	if (cs->nuse > 0 && cs->use[cs->nuse - 1].pid == pid)
		return &cs->use[cs->nuse - 1];
	if (cs->nuse == cs->use_cap) {
		size_t cap = cs->use_cap ? cs->use_cap * 2 : 8;
		struct cslide_usage *v = realloc(cs->use, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		cs->use = v;
		cs->use_cap = cap;
	}
	memset(&cs->use[cs->nuse], 0, sizeof(cs->use[0]));
	cs->use[cs->nuse].pid = pid;
	return &cs->use[cs->nuse++];
}

int
cslide_snapshot(struct cslide *cs, uint32_t hot_threshold, uint64_t time_ns)
{
	cs->nuse = 0;
	cs->have_snap = 0;
	for (size_t i = 0; i < cs->npages; i++) {
		const struct cslide_page *pg = &cs->pages[i];
		struct cslide_usage *u;

		if (pg->node >= CSLIDE_NODES_MAX)
			continue;
		if ((u = usage_of(cs, pg->pid)) == NULL)
			return -1;
		if (pg->count >= hot_threshold)
			u->hot_kb[pg->node] += CSLIDE_HUGE_BYTES >> 10;
		else
			u->cold_kb[pg->node] += CSLIDE_HUGE_BYTES >> 10;
	}
	cs->snap_time_ns = time_ns;
	cs->have_snap = cs->nuse > 0;
	return 0;
}

/* "[Wed Nov 25 18:29:59 2026] " or "" if the time cannot be shown. */
static void
stamp(uint64_t time_ns, char *buf, size_t len)
{
	time_t t = (time_t)(time_ns / 1000000000u);
	struct tm tm;
	char a[64];

	buf[0] = '\0';
	if (localtime_r(&t, &tm) == NULL || asctime_r(&tm, a) == NULL)
		return;
	a[strcspn(a, "\n")] = '\0';
	snprintf(buf, len, "[%s] ", a);
}

static int
put(char *buf, size_t len, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
put(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

int
cslide_show_task(const struct cslide *cs, uint32_t pid, char *buf, size_t len)
{
	const struct cslide_usage *u = NULL;
	char ts[96];
	size_t o = 0;

	if (!cs->have_snap)
		return -1;
	for (size_t i = 0; i < cs->nuse && u == NULL; i++)
		if (pid == 0 || cs->use[i].pid == pid)
			u = &cs->use[i];
	if (u == NULL)
		return -1;
	stamp(cs->snap_time_ns, ts, sizeof(ts));
	if (put(buf, len, &o, "%stask %u pages info (KB):\n", ts, u->pid) < 0 ||
	    put(buf, len, &o, "%5s %10s %10s %10s\n", "node", "used", "hot", "cold") < 0)
		return -1;
	for (int n = 0; n < cs->nnodes; n++)
		if (put(buf, len, &o, "%5d %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", n,
		    u->hot_kb[n] + u->cold_kb[n], u->hot_kb[n], u->cold_kb[n]) < 0)
			return -1;
	return (int)o;
}

int
cslide_show_host(const struct cslide *cs, char *buf, size_t len)
{
	char ts[96];
	size_t o = 0;

	if (!cs->have_snap)
		return -1;
	stamp(cs->snap_time_ns, ts, sizeof(ts));
	if (put(buf, len, &o, "%shost pages info (KB):\n", ts) < 0 ||
	    put(buf, len, &o, "%5s %10s %10s %10s %10s\n", "node", "total", "used",
	    "hot", "cold") < 0)
		return -1;
	for (int n = 0; n < cs->nnodes; n++) {
		uint64_t hot = 0, cold = 0;

		for (size_t i = 0; i < cs->nuse; i++) {
			hot += cs->use[i].hot_kb[n];
			cold += cs->use[i].cold_kb[n];
		}
		if (put(buf, len, &o, "%5d %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		    " %10" PRIu64 "\n", n, cs->mem[n].total >> 10, hot + cold, hot, cold) < 0)
			return -1;
	}
	return (int)o;
}

/* Reply with one TEXT chunk and END, or ERROR. */
static int
reply(struct ctl_stage *s, const struct ctl_msg *m, const char *text, int n)
{
	struct err e;
	uint8_t cnt[4] = { 1, 0, 0, 0 };

	if (n < 0) {
		if (ctl_sendf(s->conn.fd, CTL_MSG_ERROR, m->task, m->seq, &e, "%s", text) < 0) {
			log_err(&e);
			return -1;
		}
		return 0;
	}
	if (ctl_send(s->conn.fd, CTL_MSG_TEXT, m->task, m->seq, text, (size_t)n, &e) < 0 ||
	    ctl_send(s->conn.fd, CTL_MSG_END, m->task, m->seq, cnt, sizeof(cnt), &e) < 0) {
		log_err(&e);
		return -1;
	}
	return 0;
}

int
cslide_ctl(struct rank_ctx *ctx, struct ctl_stage *s, const struct ctl_msg *m)
{
	const struct cslide *cs = ctx->priv;
	char buf[CTL_PAYLOAD_MAX / 2], arg[64], *p, *end;
	unsigned long pid = 0;
	int n;

	switch (m->type) {
	case CTL_MSG_SHOW_TASK_PAGES:
		/* Payload: "[showtaskpages] [PID]" (the supervisor sends the
		 * command word); no pid = the first, as the original. */
		if (m->len > 0) {
			if (ctl_get_str(m, arg, sizeof(arg)) < 0)
				return reply(s, m, "showtaskpages: bad payload", -1);
			p = arg + strspn(arg, " ");
			if (strncmp(p, "showtaskpages", 13) == 0)
				p += 13;
			p += strspn(p, " ");
			if (*p != '\0' && ((pid = strtoul(p, &end, 10)) == 0 || *end != '\0'))
				return reply(s, m, "showtaskpages: the payload is not "
				    "'[showtaskpages] [PID]'", -1);
		}
		n = cslide_show_task(cs, (uint32_t)pid, buf, sizeof(buf));
		return reply(s, m, n < 0 ? "showtaskpages: no working pid in cslide yet "
		    "(no period has been ranked)" : buf, n);
	case CTL_MSG_SHOW_HOST_PAGES:
		n = cslide_show_host(cs, buf, sizeof(buf));
		return reply(s, m, n < 0 ? "showhostpages: no working pid in cslide yet "
		    "(no period has been ranked)" : buf, n);
	default:
		return reply(s, m, "cslide: unsupported request", -1);
	}
}
