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
 *   (a task with sample_period runs etmem-pmu in etmem-scan's place)
 *   thirdparty: the slide scan | etmem-rank plugin --lib L --ops O
 *            [--engine-key K=V]... [--task-key K=V]... | the slide migrate
 *   exec:  the slide scan | etmem-rank exec --command CMD | the slide migrate
 *   cslide: etmem-scan ... --vm-flags ht --anon-only Y | etmem-rank cslide
 *            --node-pair P --hot-threshold ... | etmem-migrate numa
 *            --node-mig-quota MB (etmem-pmu in place of the scan with PMU keys)
 *   damon: etmem-scan -p A -p B ... --backend damon --sample-interval ...
 *            --damos SPEC (one scanner per project, on its oldest task)
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

/* Target (and, for etmem-scan, backend) then timing flags, shared by
 * etmem-scan and etmem-pmu. */
static void
add_target_timing(struct sup_stage *s, const struct sup_task *t,
    int backend)
{
	const struct conf_project *p = t->eng->proj->conf;
	const struct conf_task *c = t->conf;

	add(s, c->type == CONF_TARGET_PID ? "-p" : "-n");
	add(s, "%s", c->value);
	/* A named process that is not running yet skips periods, as in the
	 * original, instead of failing the stage into restart backoff. */
	if (c->type != CONF_TARGET_PID)
		add(s, "--wait-for-name");
	if (backend) {
		add(s, "--backend");
		add(s, "%s", sup.scan_backend);
	}
	add(s, "--loop"); add(s, "%d", p->loop);
	add(s, "--interval"); add(s, "%d", p->interval);
	add(s, "--sleep"); add(s, "%d", p->sleep);
	add(s, "--periods"); add(s, "0");
}

/* etmem-pmu instead of etmem-scan when the config asks for PMU sampling.
 * ETMEM_PMU_EVENT (the daemon's environment) picks a software event on
 * machines without a hardware PMU. */
static void
add_pmu(struct sup_stage *s, const struct sup_task *t, int period,
    int vma_rate, int cpu_set, int cooling)
{
	const char *ev = getenv("ETMEM_PMU_EVENT");

	add_target_timing(s, t, 0);
	add(s, "--sample-period"); add(s, "%d", period);
	add(s, "--vma-updata-rate"); add(s, "%d", vma_rate);
	add(s, "--cpu-set-size"); add(s, "%d", cpu_set);
	if (cooling >= 0) {
		add(s, "--cooling-interval");
		add(s, "%d", cooling);
	}
	if (ev != NULL && ev[0] != '\0') {
		add(s, "--event");
		add(s, "%s", ev);
	}
}

/* The page-level source of slide, thirdparty and exec tasks. */
static void
add_source(struct sup_task *t)
{
	const struct conf_task *c = t->conf;
	struct sup_stage *s;

	if (c->engine_type == CONF_ENG_SLIDE && c->has_pmu) {
		s = stage(t, "pmu", "etmem-pmu");
		add_pmu(s, t, c->sample_period, c->vma_updata_rate,
		    c->cpu_set_size, -1);
	} else {
		s = stage(t, "scan", "etmem-scan");
		add_target_timing(s, t, 1);
		if (c->swap_flag)
			add(s, "--swap-flag");
	}
	add(s, "--control-fd"); add(s, CTL_FD_STR);
}

static void
add_swap_migrate(struct sup_task *t)
{
	const struct conf_project *p = t->eng->proj->conf;
	const struct conf_task *c = t->conf;
	struct sup_stage *s = stage(t, "migrate", "etmem-migrate");

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
build_slide(struct sup_task *t)
{
	const struct conf_project *p = t->eng->proj->conf;
	const struct conf_task *c = t->conf;
	struct sup_stage *s;

	add_source(t);
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
	add_swap_migrate(t);
}

/* thirdparty: the plugin runs inside etmem-rank, never in the daemon
 * (W-39); etmem-rank checks and loads the library by fd. */
static void
build_plugin(struct sup_task *t)
{
	const struct conf_engine *e = t->eng->conf;
	const struct conf_task *c = t->conf;
	struct sup_stage *s;

	add_source(t);
	s = stage(t, "rank", "etmem-rank");
	add(s, "plugin");
	add(s, "--lib"); add(s, "%s", e->libname);
	add(s, "--ops"); add(s, "%s", e->ops_name);
	for (size_t i = 0; i < e->npriv; i++) {
		add(s, "--engine-key");
		add(s, "%s=%s", e->priv[i].key, e->priv[i].value);
	}
	for (size_t i = 0; i < c->npriv; i++) {
		add(s, "--task-key");
		add(s, "%s=%s", c->priv[i].key, c->priv[i].value);
	}
	add(s, "--control-fd"); add(s, CTL_FD_STR);
	add_swap_migrate(t);
}

static void
build_exec(struct sup_task *t)
{
	struct sup_stage *s;

	add_source(t);
	s = stage(t, "rank", "etmem-rank");
	add(s, "exec");
	add(s, "--command"); add(s, "%s", t->eng->conf->command);
	add(s, "--control-fd"); add(s, CTL_FD_STR);
	add_swap_migrate(t);
}

/* cslide: hugetlb pages between the nodes of each pair (docs/CSLIDE.md). */
static void
build_cslide(struct sup_task *t)
{
	const struct conf_engine *e = t->eng->conf;
	const struct conf_task *c = t->conf;
	struct sup_stage *s;
	char pairs[8192] = "";   /* room for 512 pairs of 4-digit nodes */

	if (e->has_pmu && e->sample_period > 0) {
		s = stage(t, "pmu", "etmem-pmu");
		add_pmu(s, t, e->sample_period, e->vma_updata_rate,
		    e->cpu_set_size, e->cooling_interval);
	} else {
		s = stage(t, "scan", "etmem-scan");
		add_target_timing(s, t, 1);
		add(s, "--vm-flags"); add(s, "ht");
	}
	add(s, "--anon-only"); add(s, c->anon_only ? "yes" : "no");
	add(s, "--control-fd"); add(s, CTL_FD_STR);

	for (size_t i = 0; i < e->npairs; i++)
		snprintf(pairs + strlen(pairs), sizeof(pairs) - strlen(pairs),
		    "%s%d,%d", i > 0 ? ";" : "", e->pairs[i].hot,
		    e->pairs[i].cold);
	s = stage(t, "rank", "etmem-rank");
	add(s, "cslide");
	add(s, "--node-pair"); add(s, "%s", pairs);
	add(s, "--hot-threshold"); add(s, "%d", e->hot_threshold);
	add(s, "--node-mig-quota"); add(s, "%d", e->node_mig_quota);
	add(s, "--node-hot-reserve"); add(s, "%d", e->node_hot_reserve);
	add(s, "--vm-flags"); add(s, "ht");
	add(s, "--anon-only"); add(s, c->anon_only ? "yes" : "no");
	add(s, "--ign-host"); add(s, c->ign_host ? "yes" : "no");
	add(s, "--control-fd"); add(s, CTL_FD_STR);

	s = stage(t, "migrate", "etmem-migrate");
	add(s, "numa");
	if (c->type == CONF_TARGET_PID) {
		add(s, "-p");
		add(s, "%s", c->value);
	}
	add(s, "--node-mig-quota"); add(s, "%d", e->node_mig_quota);
	add(s, "--control-fd"); add(s, CTL_FD_STR);
}

/*
 * damon (scan_type=region): DAMON sysfs has one owner, so the project's
 * oldest damon task (the "leader", sup_damon_leader()) runs one etmem-scan
 * for every damon task of the project; the kernel applies the scheme
 * (--damos), nothing is ranked or migrated, the stream goes to /dev/null.
 */
static void
build_damon(struct sup_task *t)
{
	const struct conf_project *p = t->eng->proj->conf;
	const struct conf_engine *e = t->eng->conf;
	struct sup_stage *s = stage(t, "scan", "etmem-scan");
	struct sup_task *o;

	TAILQ_FOREACH_REVERSE(o, &t->eng->tasks, sup_task_list, entry) {
		add(s, o->conf->type == CONF_TARGET_PID ? "-p" : "-n");
		add(s, "%s", o->conf->value);
		if (o->conf->type != CONF_TARGET_PID)
			add(s, "--wait-for-name");
	}
	add(s, "--backend"); add(s, "damon");
	add(s, "--sample-interval"); add(s, "%lld", (long long)p->sample_interval);
	add(s, "--aggr-interval"); add(s, "%lld", (long long)p->aggr_interval);
	add(s, "--update-interval"); add(s, "%lld", (long long)p->update_interval);
	add(s, "--min-nr-regions"); add(s, "%lld", (long long)p->min_nr_regions);
	add(s, "--max-nr-regions"); add(s, "%lld", (long long)p->max_nr_regions);
	add(s, "--damos");
	add(s, "action=%s,min_size=%llu,max_size=%llu,min_acc=%lu,max_acc=%lu,"
	    "min_age=%lu,max_age=%lu", conf_damon_action_name(e->action),
	    (unsigned long long)e->min_size, (unsigned long long)e->max_size,
	    (unsigned long)e->min_acc, (unsigned long)e->max_acc,
	    (unsigned long)e->min_age, (unsigned long)e->max_age);
	add(s, "--periods"); add(s, "0");
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
	case CONF_ENG_CSLIDE:
		build_cslide(t);
		break;
	case CONF_ENG_THIRDPARTY:
		build_plugin(t);
		break;
	case CONF_ENG_EXEC:
		build_exec(t);
		break;
	case CONF_ENG_DAMON:
		build_damon(t);
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
