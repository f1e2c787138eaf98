/* SPDX-License-Identifier: MIT */
/*
 * scan.c - etmem-scan's core: backend choice, the period loop and its
 * timing, and the per-period facts (V, ROUND, P, S, PERIOD, END).
 *
 * Timing is DESIGN.md's: `loop` passes make a period, `interval` seconds
 * pass between the passes of a period (each pass: prepare, wait interval,
 * collect), `sleep` seconds between periods. All waiting goes through
 * ctl_stage_poll() in slices, so SIGTERM and a supervisor STOP end the run
 * within a second: the current period is closed with the passes it made
 * (PERIOD rounds=k), END is written, status 0. Backends only obtain data.
 */
#include "scan.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "scan-common.h"
#include "source.h"

#define SLEEP_SLICE_MS 200   /* how often a long wait re-checks the stop flag */

const struct scan_ops *const scan_backends[] = {
	&scan_idle_pages,
	&scan_page_idle,
	&scan_damon,
	&scan_smaps,
	NULL,
};

static volatile sig_atomic_t stop_requested;

void
scan_request_stop(void)
{
	stop_requested = 1;
}

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
probe(const struct scan_ops *ops, const struct scan_env *env, struct err *e)
{
	if (ops->probe(env, e) < 0)
		return -1;
	if (ops->collect == NULL)      /* every backend in scan_backends[] has one */
		return err_set(e, EX_SOFTWARE, 0, "backend %s has no collect hook",
		    ops->name);
	return 0;
}

const struct scan_ops *
scan_pick_backend(const char *name, const struct scan_env *env, struct err *e)
{
	const struct scan_ops *const *b;

	if (strcmp(name, "auto") == 0) {
		for (b = scan_backends; *b != NULL; b++) {
			if (probe(*b, env, e) == 0) {
				log_info("scan: backend auto: using %s", (*b)->name);
				return *b;
			}
			log_debug("scan: backend auto: %s", e->msg);
		}
		err_set(e, EX_UNAVAILABLE, 0, "backend auto: no backend works "
		    "on this kernel (see --list-backends)");
		return NULL;
	}
	for (b = scan_backends; *b != NULL; b++)
		if (strcmp((*b)->name, name) == 0)
			return probe(*b, env, e) == 0 ? *b : NULL;
	err_set(e, EX_USAGE, 0, "option '--backend': unknown backend '%s' "
	    "(idle_pages, page_idle, damon, smaps, auto)", name);
	return NULL;
}

void
scan_list_backends(const struct scan_env *env, FILE *fp)
{
	const struct scan_ops *const *b;

	for (b = scan_backends; *b != NULL; b++) {
		struct err e = { 0 };

		if (probe(*b, env, &e) == 0)
			fprintf(fp, "%s\tavailable\n", (*b)->name);
		else
			fprintf(fp, "%s\tunavailable: %s\n", (*b)->name, e.msg);
	}
}

void
scan_target_gone(struct scan_ctx *ctx, const struct scan_target *t,
    const char *backend, const char *why)
{
	ctx->cnt.targets_gone++;
	log_info("scan/%s: skipping pid %d: %s", backend, (int)t->pid, why);
}

struct run {
	const struct scan_config *cfg;
	const struct scan_ops *ops;
	struct scan_ctx ctx;
	struct source_targets ts;
	struct etmr_writer *w;
	struct ctl_stage ctl;
	uint64_t vmas;
	struct scan_node *node;       /* --numa-node, else NULL */
};

/* Wait seconds, serving the control fd; 1 if asked to stop. */
static int
wait_s(struct run *r, double seconds)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);

	for (;;) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		int64_t left_ms;

		if (stop_requested || r->ctl.stop)
			return 1;
		if (now >= end)
			return 0;
		left_ms = (int64_t)((end - now + 999999) / 1000000);
		if (ctl_stage_poll(&r->ctl, left_ms > SLEEP_SLICE_MS ?
		    SLEEP_SLICE_MS : (int)left_ms) == 1)
			return 1;
	}
}

static int
stopping(struct run *r)
{
	if (r->ctl.enabled && ctl_stage_poll(&r->ctl, 0) == 1)
		return 1;
	return stop_requested || r->ctl.stop;
}

static int
write_stats(struct run *r, uint32_t rounds, uint64_t elapsed_ms, struct err *e)
{
	const struct source_stat kv[] = {
		{ "targets", r->ts.n },
		{ "vmas", r->vmas },
		{ "rounds", rounds },
		{ "pages_scanned", r->ctx.cnt.pages_scanned },
		{ "pages_accessed", r->ctx.cnt.pages_accessed },
		{ "extents", r->ctx.cnt.extents },
		{ "targets_gone", r->ctx.cnt.targets_gone },
		{ "elapsed_ms", elapsed_ms },
	};
	snprintf(r->ctl.stats, sizeof(r->ctl.stats), "backend %s\nperiod %u\n",
	    r->ops->name, r->ctx.period);
	if (source_write_stats(r->w, ETMR_STAGE_SCAN, r->ctx.period, kv,
	    sizeof(kv) / sizeof(kv[0]), r->ctl.stats, sizeof(r->ctl.stats), e) < 0)
		return -1;
	/* cslide's hugepage facts travel in the stream (replayable). */
	if (r->ctx.env->hugetlb_only && scan_node_stats(r->w, r->ctx.period, e) < 0)
		return -1;
	if (r->node != NULL) {
		const struct scan_node_counters *nc = scan_node_counters(r->node);
		const struct source_stat nkv[] = {
			{ "node_pages_located", nc->pages_located },
			{ "node_pages_unknown", nc->pages_unknown },
			{ "node_queries", nc->queries },
			{ "node_queries_failed", nc->queries_failed },
		};
		if (source_write_stats(r->w, ETMR_STAGE_SCAN, r->ctx.period, nkv,
		    sizeof(nkv) / sizeof(nkv[0]), r->ctl.stats,
		    sizeof(r->ctl.stats), e) < 0)
			return -1;
	}
	return 0;
}

/* One period. 1 = stop after it, 0 = go on, -1 = error. */
static int
period(struct run *r, struct err *e)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	uint32_t rounds = 0, round;
	int stop = 0;

	memset(&r->ctx.cnt, 0, sizeof(r->ctx.cnt));
	if (r->node != NULL)
		scan_node_reset(r->node);
	if (source_write_vmas(r->w, r->ts.v, r->ts.n, &r->vmas, e) < 0)
		return -1;
	for (round = 1; round <= r->ctx.loop; round++) {
		struct etmr_round rd;

		r->ctx.round = round;
		rd.period = r->ctx.period;
		rd.round = round;
		rd.loop = r->ctx.loop;
		rd.time_ns = now_ns(CLOCK_REALTIME);
		if (r->ops->prepare != NULL && r->ops->prepare(&r->ctx, e) < 0)
			return -1;
		if (wait_s(r, r->cfg->interval_s)) {
			stop = 1;
			break;
		}
		if (etmr_write_round(r->w, &rd, e) < 0 ||
		    (r->node != NULL ?
		    scan_node_collect(r->node, &r->ctx, r->ops, r->w, e) :
		    r->ops->collect(&r->ctx, r->w, e)) < 0)
			return -1;
		rounds++;
		log_debug("scan: period %u round %u: %llu pages, %llu accessed",
		    r->ctx.period, round,
		    (unsigned long long)r->ctx.cnt.pages_scanned,
		    (unsigned long long)r->ctx.cnt.pages_accessed);
	}
	if (source_write_procs(r->w, r->ts.v, r->ts.n, e) < 0 ||
	    write_stats(r, rounds, (now_ns(CLOCK_MONOTONIC) - t0) / 1000000, e) < 0 ||
	    source_write_period(r->w, r->ctx.period, rounds, e) < 0)
		return -1;
	return stop;
}

/* This period's targets, VMAs re-read every period (a backend scans them
 * all); the log lines lib/ leaves to us. */
static int
refresh(struct run *r, struct err *e)
{
	size_t i;
	int changed, n = source_targets_refresh(&r->ts, 1, &changed, e);

	for (i = 0; i < r->ts.nexited; i++)
		log_info("scan: target %d has exited", (int)r->ts.exited[i]);
	if (r->ts.name_matches > r->ts.name_kept)
		log_warnx("scan: '%s' matches %zu processes; scanning the first %zu",
		    r->cfg->name, r->ts.name_matches, r->ts.name_kept);
	return n;
}

static int
run_loop(struct run *r, struct err *e)
{
	int rc;

	for (r->ctx.period = 1;; r->ctx.period++) {
		int n = refresh(r, e);

		if (n < 0)
			return -1;
		if (n == 0 && r->cfg->name == NULL) {
			log_info("scan: every target has exited");
			return 0;
		}
		r->ctx.targets = r->ts.v;
		r->ctx.ntargets = r->ts.n;
		rc = period(r, e);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		if (r->cfg->periods != 0 &&
		    r->ctx.period >= (uint32_t)r->cfg->periods)
			return 0;
		if (stopping(r) || wait_s(r, r->cfg->sleep_s))
			return 0;
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int
scan_run(const struct scan_config *cfg, const struct scan_ops *ops,
    const struct scan_env *env)
{
	struct source_spec spec = { cfg->pids, cfg->npids, cfg->name,
		{ env->anon_only, env->hugetlb_only, 0, 0 }, cfg->wait_for_name };
	struct sigaction sa;
	struct run r;
	struct err e = { 0 };
	int rc = -1, inited = 0;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.ops = ops;
	r.ctx.env = env;
	r.ctx.loop = (uint32_t)cfg->loop;
	/* No SA_RESTART: a signal must cut a sleep short. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (source_targets_init(&r.ts, &spec, &e) < 0)
		goto out;
	if (ops->init != NULL && ops->init(&r.ctx, &e) < 0)
		goto out;
	inited = 1;
	if ((r.w = source_writer_open(cfg->text, env->page_size, ops->backend,
	    &e)) == NULL)
		goto out;
	if (ctl_stage_open(&r.ctl, cfg->control_fd, "etmem-scan", &e) < 0)
		goto out;
	if (cfg->numa_node &&
	    (r.node = scan_node_new(env->page_size, NULL, NULL, &e)) == NULL)
		goto out;
	rc = run_loop(&r, &e);
	if (rc == 0 && etmr_write_end(r.w, 0, &e) < 0)
		rc = -1;
out:
	if (rc < 0)
		log_err(&e);
	if (r.w != NULL) {
		struct err ignore;

		if (rc < 0)
			(void)etmr_write_end(r.w, (uint32_t)(e.code ? e.code : EX_SOFTWARE),
			    &ignore);
		(void)etmr_writer_close(r.w, &ignore);
	}
	if (inited && ops->fini != NULL)
		ops->fini(&r.ctx);
	ctl_stage_close(&r.ctl);
	scan_node_free(r.node);
	source_targets_free(&r.ts);
	return rc < 0 ? (e.code ? e.code : EX_SOFTWARE) : 0;
}
