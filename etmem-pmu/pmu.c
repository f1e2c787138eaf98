/* SPDX-License-Identifier: MIT */
/*
 * pmu.c - etmem-pmu's core: the period loop, its timing, and the records
 * (V, ROUND, A, P, S, PERIOD, END) in the same order and with the same
 * timing flags as etmem-scan, the counts coming from sampled accesses.
 *
 * One thread and one poll loop serve every ring, the control fd and the
 * timers. The original ran nprocs/cpu_set_size threads that busy-spun over
 * their CPUs (100 % CPU each, W-16), shared unlocked counters (W-21) and
 * never polled the leftover CPUs (W-22). Here poll(2) sleeps until a ring
 * is a quarter full or 100 ms pass, so an idle target costs nothing, counts
 * need no atomics, and every online CPU has its ring. --cpu-set-size is
 * accepted for configuration compatibility only.
 *
 * Timing: a period is `loop` passes of `interval` seconds each; events are
 * enabled for the whole period and disabled during `sleep`. A pass ends
 * with ROUND (its start time) and one A item per sampled page with flag `p`
 * and count = the samples of that pass (halved every --cooling-interval
 * samples). SIGTERM or STOP ends the current period with the passes that
 * completed (a cut pass is dropped, as etmem-scan does), then END, status 0.
 */
#include "pmu.h"

#include <sys/types.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "log.h"

#define POLL_SLICE_MS 100    /* longest sleep between drains and stop checks */

static volatile sig_atomic_t stop_requested;

void
pmu_request_stop(void)
{
	stop_requested = 1;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Counters of the run so far; a period reports the difference. */
struct totals {
	struct pmu_ring_stats ring;
	struct pmu_map_stats map;
	uint64_t pages;         /* A items written */
};

struct run {
	const struct pmu_config *cfg;
	struct pmu_event ev[PMU_EVENTS_MAX];
	int nev;
	uint32_t page_size;
	struct source_targets ts;
	struct pmu_evset es;
	int es_open;
	struct pmu_map map;
	struct pmu_ring_stats rs;
	uint64_t pages;
	struct etmr_writer *w;
	struct ctl_stage ctl;
	uint32_t period;
	uint64_t vmas;
	int sampling;           /* count samples (else drain and discard) */
};

static void
on_sample(const struct pmu_sample *s, void *arg)
{
	struct run *r = arg;

	if (r->sampling)
		(void)pmu_map_add(&r->map, s->pid, s->addr);
}

static int
stopping(struct run *r)
{
	return stop_requested || r->ctl.stop;
}

/*
 * Wait `seconds`, draining the rings into the map, serving the control
 * fd; 1 if asked to stop. Never spins: poll(2) sleeps on the rings and the
 * control fd, at most POLL_SLICE_MS so SIGTERM and the deadline are seen.
 */
static int
wait_s(struct run *r, double seconds)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);
	struct pollfd *pfd;
	size_t i, n;
	int rc = 0;

	if ((pfd = calloc(r->es.nrings + 1, sizeof(*pfd))) == NULL) {
		log_warnx("pmu: out of memory for poll; sleeping instead");
		return ctl_stage_poll(&r->ctl, (int)(seconds * 1000));
	}
	for (;;) {
		uint64_t now;
		int64_t left_ms;

		pmu_evset_drain(&r->es, on_sample, r, &r->rs);
		if (stopping(r)) {
			rc = 1;
			break;
		}
		if ((now = now_ns(CLOCK_MONOTONIC)) >= end)
			break;
		left_ms = (int64_t)((end - now + 999999) / 1000000);
		n = 0;
		for (i = 0; i < r->es.nrings; i++) {
			if (r->es.rings[i].hup)
				continue;
			pfd[n].fd = r->es.rings[i].fd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		if (r->ctl.enabled) {
			pfd[n].fd = r->ctl.conn.fd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		if (poll(pfd, n, left_ms > POLL_SLICE_MS ? POLL_SLICE_MS :
		    (int)left_ms) < 0 && errno != EINTR) {
			log_warn("pmu: poll");
			rc = 1;
			break;
		}
		/* A ring whose owning thread exited reports POLLHUP forever;
		 * stop polling it (the timeout still drains it) or poll
		 * would spin. */
		for (i = 0; i < n; i++) {
			size_t k;

			if (!(pfd[i].revents & (POLLHUP | POLLERR)) ||
			    (r->ctl.enabled && pfd[i].fd == r->ctl.conn.fd))
				continue;
			for (k = 0; k < r->es.nrings; k++)
				if (r->es.rings[k].fd == pfd[i].fd)
					r->es.rings[k].hup = 1;
		}
		if (r->ctl.enabled && ctl_stage_poll(&r->ctl, 0) == 1) {
			rc = 1;
			break;
		}
	}
	free(pfd);
	return rc;
}

/* Drop whatever the rings hold (samples from outside a pass). */
static void
discard(struct run *r)
{
	r->sampling = 0;
	pmu_evset_drain(&r->es, on_sample, r, &r->rs);
}

/* One pass: ROUND and the sampled pages. 1 = stopped (pass dropped). */
static int
pass(struct run *r, uint32_t round, struct err *e)
{
	struct etmr_round rd = { r->period, round, (uint32_t)r->cfg->loop,
		now_ns(CLOCK_REALTIME) };
	struct etmr_access *a;
	size_t n, i;

	pmu_map_reset(&r->map);
	r->sampling = 1;
	if (wait_s(r, r->cfg->interval_s)) {
		r->sampling = 0;
		return 1;
	}
	r->sampling = 0;
	if (etmr_write_round(r->w, &rd, e) < 0 ||
	    pmu_map_collect(&r->map, &a, &n, e) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (etmr_write_access(r->w, &a[i], e) < 0) {
			free(a);
			return -1;
		}
	free(a);
	r->pages += n;
	log_debug("pmu: period %u round %u: %zu pages sampled", r->period,
	    round, n);
	return 0;
}

static int
write_stats(struct run *r, const struct totals *t0, uint32_t rounds,
    uint64_t elapsed_ms, struct err *e)
{
	const struct pmu_ring_stats *a = &r->rs, *b = &t0->ring;
	const struct pmu_map_stats *m = &r->map.st, *mb = &t0->map;
	const struct source_stat kv[] = {
		{ "targets", r->ts.n },
		{ "vmas", r->vmas },
		{ "events", r->es.nfds },
		{ "rings", r->es.nrings },
		{ "rounds", rounds },
		{ "samples", a->samples - b->samples },
		{ "samples_counted", m->counted - mb->counted },
		{ "samples_unmapped", m->unmapped - mb->unmapped },
		{ "samples_foreign", m->foreign - mb->foreign },
		{ "samples_dropped", m->dropped - mb->dropped },
		{ "samples_no_addr", a->no_addr - b->no_addr },
		{ "lost", a->lost - b->lost },
		{ "lost_records", a->lost_records - b->lost_records },
		{ "throttle", a->throttle - b->throttle },
		{ "bad_records", a->truncated - b->truncated +
		    a->corrupt - b->corrupt },
		{ "coolings", m->coolings - mb->coolings },
		{ "pages_sampled", r->pages - t0->pages },
		{ "elapsed_ms", elapsed_ms },
	};
	snprintf(r->ctl.stats, sizeof(r->ctl.stats), "event %s\nperiod %u\n",
	    r->ev[0].name, r->period);
	return source_write_stats(r->w, ETMR_STAGE_PMU, r->period, kv,
	    sizeof(kv) / sizeof(kv[0]), r->ctl.stats, sizeof(r->ctl.stats), e);
}

/* Targets of this period; the events follow the set of targets. */
static int
refresh(struct run *r, struct err *e)
{
	long long rate = r->cfg->vma_updata_rate > 0 ? r->cfg->vma_updata_rate : 1;
	int changed, n;
	size_t i;

	n = source_targets_refresh(&r->ts, (r->period - 1) % (uint64_t)rate == 0,
	    &changed, e);
	/* lib/ does not log; what it saw is ours to say. */
	for (i = 0; i < r->ts.nexited; i++)
		log_info("pmu: target %d has exited", (int)r->ts.exited[i]);
	if (r->ts.name_matches > r->ts.name_kept)
		log_warnx("pmu: '%s' matches %zu processes; sampling the first %zu",
		    r->cfg->name, r->ts.name_matches, r->ts.name_kept);
	if (n < 0)
		return -1;
	pmu_map_clear_targets(&r->map);
	for (i = 0; i < r->ts.n; i++)
		if (pmu_map_set_target(&r->map, r->ts.v[i].pid, r->ts.v[i].vmas,
		    r->ts.v[i].nvmas, e) < 0)
			return -1;
	if (changed || !r->es_open) {
		if (r->es_open)
			pmu_evset_close(&r->es);
		r->es_open = 0;
		if (pmu_evset_open(&r->es, r->ev, r->nev, r->ts.v, r->ts.n,
		    r->page_size, e) < 0)
			return -1;
		r->es_open = 1;
		if (r->ts.n > 0)
			log_info("pmu: sampling %s of %zu target(s) on %zu CPU(s), "
			    "one sample every %llu events", r->ev[0].name, r->ts.n,
			    r->es.ncpus,
			    (unsigned long long)r->ev[0].attr.sample_period);
	}
	return n;
}

/* One period. 1 = stop after it, 0 = go on, -1 = error. */
static int
period(struct run *r, struct err *e)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	struct totals before = { r->rs, r->map.st, r->pages };
	uint32_t rounds = 0, round;
	int stop = 0, rc;

	if (source_write_vmas(r->w, r->ts.v, r->ts.n, &r->vmas, e) < 0)
		return -1;
	discard(r);
	if (pmu_evset_enable(&r->es, 1, e) < 0)
		return -1;
	for (round = 1; round <= (uint32_t)r->cfg->loop; round++) {
		if ((rc = pass(r, round, e)) < 0)
			return -1;
		if (rc == 1) {
			stop = 1;
			break;
		}
		rounds++;
	}
	if (pmu_evset_enable(&r->es, 0, e) < 0)
		return -1;
	if (source_write_procs(r->w, r->ts.v, r->ts.n, e) < 0 ||
	    write_stats(r, &before, rounds,
	    (now_ns(CLOCK_MONOTONIC) - t0) / 1000000, e) < 0 ||
	    source_write_period(r->w, r->period, rounds, e) < 0)
		return -1;
	return stop;
}

/* The first period's targets were resolved by setup (before the stream). */
static int
run_loop(struct run *r, struct err *e)
{
	int rc, n = (int)r->ts.n;

	for (r->period = 1;; r->period++) {
		if (r->period > 1 && (n = refresh(r, e)) < 0)
			return -1;
		if (n == 0 && r->cfg->name == NULL) {
			log_info("pmu: every target has exited");
			return 0;
		}
		if ((rc = period(r, e)) != 0)
			return rc < 0 ? -1 : 0;
		if (r->cfg->periods != 0 && r->period >= (uint64_t)r->cfg->periods)
			return 0;
		if (wait_s(r, r->cfg->sleep_s))
			return 0;
	}
}

/* Setup that can fail before the first frame: targets, then events. */
static int
setup(struct run *r, struct err *e)
{
	/* Always smaps: THP marks need VmFlags, and pmu-map.c counts
	 * hugetlb and THP pages whole. */
	struct source_spec spec = { r->cfg->pids, r->cfg->npids, r->cfg->name,
		{ r->cfg->anon_only, 0, 1, 0 }, r->cfg->wait_for_name };

	if (source_targets_init(&r->ts, &spec, e) < 0)
		return -1;
	if ((r->nev = pmu_events_resolve(r->cfg->event, r->cfg->sample_period,
	    r->ev, e)) < 0)
		return -1;
	if (r->ev[0].hw && r->cfg->sample_period < 1000)
		return err_set(e, EX_USAGE, 0, "option '--sample-period': %llu is "
		    "below 1000, too fast for hardware event %s (1000..10000)",
		    (unsigned long long)r->cfg->sample_period, r->ev[0].name);
	log_debug("pmu: one poll loop over all CPUs (--cpu-set-size %lld "
	    "accepted, not needed)", r->cfg->cpu_set_size);
	return 0;
}

int
pmu_run(const struct pmu_config *cfg)
{
	struct sigaction sa;
	struct run *r;
	struct err e = { 0 };
	int rc = -1;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warnx("pmu: out of memory");
		return EX_OSERR;
	}
	r->cfg = cfg;
	r->page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	r->ctl.conn.fd = -1;
	pmu_map_init(&r->map, r->page_size, cfg->cooling_interval);
	/* No SA_RESTART: a signal must cut a poll short. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup(r, &e) < 0)
		goto out;
	/* Open the events before the first frame: 69/77 leave no stream. */
	r->period = 1;
	if (refresh(r, &e) < 0)
		goto out;
	if ((r->w = source_writer_open(cfg->text, r->page_size,
	    ETMR_BACKEND_PMU, &e)) == NULL)
		goto out;
	if (ctl_stage_open(&r->ctl, cfg->control_fd, "etmem-pmu", &e) < 0)
		goto out;
	rc = run_loop(r, &e);
	if (rc == 0 && etmr_write_end(r->w, 0, &e) < 0)
		rc = -1;
out:
	if (rc < 0)
		log_err(&e);
	if (r->w != NULL) {
		struct err ignore;

		if (rc < 0)
			(void)etmr_write_end(r->w, (uint32_t)(e.code ? e.code :
			    EX_SOFTWARE), &ignore);
		(void)etmr_writer_close(r->w, &ignore);
	}
	if (r->es_open)
		pmu_evset_close(&r->es);
	ctl_stage_close(&r->ctl);
	source_targets_free(&r->ts);
	pmu_map_free(&r->map);
	rc = rc < 0 ? (e.code ? e.code : EX_SOFTWARE) : 0;
	free(r);
	return rc;
}
