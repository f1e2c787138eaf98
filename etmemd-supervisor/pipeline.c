/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c - the command lines a task runs, derived from its config, so
 * that anyone can re-run them by hand (they are logged at debug and shown by
 * `etmem project show --verbose`):
 *
 *   slide: etmem-scan {-p PID|-n NAME} --backend B --loop L --interval I
 *            --sleep S --periods 0 [--swap-flag] --control-fd 3
 *        | etmem-rank slide -T T [--swap-threshold Ng] [--sysmem-threshold P]
 *            [--dram-percent P] --control-fd 3
 *        | etmem-migrate swap [-p PID] [--swapcache-high-wmark H
 *            --swapcache-low-wmark L] --control-fd 3
 *   psi:   etmem-psi --cg-dir DIR --interval S --pressure P ... --periods 0
 *            --control-fd 3
 *
 * Every stage finds its control socket at fd 3 (spawn.c puts it there).
 */
#include "sup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"

#define CTL_FD_STR "3"

static int
add(struct sup_stage *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
add(struct sup_stage *s, const char *fmt, ...)
{
	va_list ap;
	char *str;

	if (s->argc >= SUP_ARGV_MAX - 1)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&str, fmt, ap) < 0)
		str = NULL;
	va_end(ap);
	if (str == NULL)
		return -1;
	s->argv[s->argc++] = str;
	s->argv[s->argc] = NULL;
	return 0;
}

static struct sup_stage *
stage(struct sup_task *t, const char *name, const char *prog)
{
	struct sup_stage *s = &t->st[t->nstages++];

	s->name = name;
	s->argc = 0;
	add(s, "%s/%s", sup.exe_dir, prog);
	return s;
}

static void
build_slide(struct sup_task *t)
{
	const struct conf_project *p = t->eng->proj->conf;
	const struct conf_task *c = t->conf;
	struct sup_stage *s;

	s = stage(t, "scan", "etmem-scan");
	add(s, c->type == CONF_TARGET_PID ? "-p" : "-n");
	add(s, "%s", c->value);
	add(s, "--backend");
	add(s, "%s", sup.scan_backend);
	add(s, "--loop"); add(s, "%d", p->loop);
	add(s, "--interval"); add(s, "%d", p->interval);
	add(s, "--sleep"); add(s, "%d", p->sleep);
	add(s, "--periods"); add(s, "0");
	if (c->swap_flag)
		add(s, "--swap-flag");
	add(s, "--control-fd"); add(s, CTL_FD_STR);

	s = stage(t, "rank", "etmem-rank");
	add(s, "slide");
	add(s, "-T"); add(s, "%d", c->T);
	if (c->has_swap_threshold) {
		add(s, "--swap-threshold");
		add(s, "%llug", (unsigned long long)c->swap_threshold_gib);
	}
	if (p->has_sysmem_threshold) {
		add(s, "--sysmem-threshold");
		add(s, "%d", p->sysmem_threshold);
	}
	if (c->dram_percent > 0) {
		add(s, "--dram-percent");
		add(s, "%d", c->dram_percent);
	}
	add(s, "--control-fd"); add(s, CTL_FD_STR);

	s = stage(t, "migrate", "etmem-migrate");
	add(s, "swap");
	/* Belt and braces: a pid task's migrator acts on that pid only. */
	if (c->type == CONF_TARGET_PID) {
		add(s, "-p");
		add(s, "%s", c->value);
	}
	if (p->has_swapcache_wmark) {
		add(s, "--swapcache-high-wmark");
		add(s, "%d", p->swapcache_high_wmark);
		add(s, "--swapcache-low-wmark");
		add(s, "%d", p->swapcache_low_wmark);
	}
	add(s, "--control-fd"); add(s, CTL_FD_STR);
}

static void
build_psi(struct sup_task *t)
{
	const struct conf_project *p = t->eng->proj->conf;
	const struct conf_task *c = t->conf;
	struct sup_stage *s = stage(t, "psi", "etmem-psi");

	add(s, "--cg-dir"); add(s, "%s", c->cg_dir);
	add(s, "--interval"); add(s, "%d", p->interval);
	add(s, "--pressure"); add(s, "%g", c->pressure);
	add(s, "--reclaim-rate"); add(s, "%g", c->reclaim_rate);
	add(s, "--reclaim-rate-min"); add(s, "%g", c->reclaim_rate_min);
	add(s, "--reclaim-rate-max"); add(s, "%g", c->reclaim_rate_max);
	add(s, "--reclaim-max-bytes");
	add(s, "%llu", (unsigned long long)c->reclaim_max_bytes);
	add(s, "--limit-min-bytes");
	add(s, "%llu", (unsigned long long)c->limit_min_bytes);
	add(s, "--limit-min-ratio"); add(s, "%g", c->limit_min_ratio);
	add(s, "--periods"); add(s, "0");
	add(s, "--control-fd"); add(s, CTL_FD_STR);
}

void
sup_pipeline_clear(struct sup_task *t)
{
	for (int i = 0; i < t->nstages; i++) {
		for (int j = 0; j < t->st[i].argc; j++)
			free(t->st[i].argv[j]);
		t->st[i].argc = 0;
		t->st[i].argv[0] = NULL;
	}
	t->nstages = 0;
}

int
sup_pipeline_build(struct sup_task *t, char *msg, size_t msglen)
{
	sup_pipeline_clear(t);
	switch (t->eng->conf->type) {
	case CONF_ENG_SLIDE:
		build_slide(t);
		break;
	case CONF_ENG_PSI:
		build_psi(t);
		break;
	default:
		snprintf(msg, msglen, "engine %s has no stage programs in this "
		    "build", t->eng->conf->name);
		return -1;
	}
	for (int i = 0; i < t->nstages; i++) {
		if (t->st[i].argc >= SUP_ARGV_MAX - 1) {
			snprintf(msg, msglen, "stage %s: too many arguments",
			    t->st[i].name);
			return -1;
		}
		if (access(t->st[i].argv[0], X_OK) != 0) {
			snprintf(msg, msglen, "stage program '%s' is not "
			    "executable: %s", t->st[i].argv[0], strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Quote a word only when a shell would need it. */
static void
word(struct evbuffer *out, const char *w)
{
	if (w[0] != '\0' && strspn(w, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789%+,-./:=@_") == strlen(w)) {
		evbuffer_add_printf(out, "%s", w);
		return;
	}
	evbuffer_add_printf(out, "'");
	for (; *w != '\0'; w++)
		evbuffer_add_printf(out, *w == '\'' ? "'\\''" : "%c", *w);
	evbuffer_add_printf(out, "'");
}

void
sup_pipeline_format(const struct sup_task *t, struct evbuffer *out)
{
	for (int i = 0; i < t->nstages; i++) {
		if (i > 0)
			evbuffer_add_printf(out, " | ");
		for (int j = 0; j < t->st[i].argc; j++) {
			if (j > 0)
				evbuffer_add_printf(out, " ");
			word(out, t->st[i].argv[j]);
		}
	}
}

void
sup_pipeline_log(const struct sup_task *t)
{
	struct evbuffer *b = evbuffer_new();
	char *line;
	size_t n;

	if (b == NULL)
		return;
	sup_pipeline_format(t, b);
	n = evbuffer_get_length(b);
	line = malloc(n + 1);
	if (line != NULL) {
		evbuffer_remove(b, line, n);
		line[n] = '\0';
		log_debug("task %s: pgid %d: %s", sup_task_label(t), (int)t->pgid,
		    line);
		free(line);
	}
	evbuffer_free(b);
}
