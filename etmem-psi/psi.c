/* SPDX-License-Identifier: MIT */
/*
 * psi.c - etmem-psi's core: the rounds. Every interval it re-expands the
 * cg_dir patterns, keeps one adaptive rate per cgroup (keyed by name and the
 * directory's inode, so a cgroup deleted and re-created starts afresh), runs
 * the control law for each, writes the request through the backend, reads
 * usage back to count what was really reclaimed, and publishes the counters
 * (log, --text lines, the supervisor's STATS). A failing cgroup is logged and
 * skipped; it never stops the others (the original aborted the whole pass:
 * W-34). It is not the law (psi-law.c) nor the kernel files (psi-cgroup-*).
 */
#include "psi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "procfs.h"

#define SLEEP_SLICE_MS 200      /* SIGTERM is seen within this, well under 1 s */

/* One tracked cgroup. */
struct psi_cg {
	char *name;                 /* relative to env->root */
	uint64_t ino;
	int failing;                /* its last failure was logged; quiet until it recovers */
	struct psi_rate rate;
	/* the last round */
	const char *outcome;        /* verdict, or partial / vanished / error */
	double pressure, rate_used;
	uint64_t usage, floor, asked, reclaimed;
	/* since tracking began */
	uint64_t asked_total, reclaimed_total;
};

struct psi_round {
	unsigned long long n;       /* 1-based */
	size_t cgroups, reclaimed_cgs, pressured, at_floor, errors, vanished;
	uint64_t asked, reclaimed;
};

struct psi_state {
	const struct psi_cfg *cfg;
	const struct psi_cg_ops *ops;
	const struct psi_env *env;
	struct psi_names names;
	struct psi_cg *cgs;         /* in names order */
	size_t ncgs;
	struct psi_round round;
	unsigned long long rounds_done;
	uint64_t asked_total, reclaimed_total;
	size_t errors_total;
};

int
psi_probe(const char *base, const struct psi_cg_ops **ops, struct psi_env *env,
    struct err *e)
{
	static const struct psi_cg_ops *const order[] = { &psi_cgroup_v2, &psi_cgroup_v1 };
	char why[ERR_MSG_MAX] = "";
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct err pe;

		err_clear(&pe);
		if (order[i]->probe(base, env, &pe) == 0) {
			*ops = order[i];
			return 0;
		}
		/* Keep every reason: the user needs to know what each lacks. */
		if (snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s",
		    why[0] != '\0' ? "; " : "", pe.msg) < 0)
			break;
	}
	return err_set(e, EX_UNAVAILABLE, 0, "no usable cgroup memory controller: %s", why);
}

/* `name` with bytes outside '!'..'~' and '%' as %XX, for one-token fields. */
static const char *
esc(const char *name, char *buf, size_t len)
{
	size_t o = 0;

	for (; *name != '\0' && o + 4 < len; name++) {
		unsigned char c = (unsigned char)*name;

		if (c < '!' || c > '~' || c == '%')
			o += (size_t)snprintf(buf + o, len - o, "%%%02X", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static struct psi_cg *
find_cg(struct psi_cg *cgs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cgs[i].name != NULL && strcmp(cgs[i].name, name) == 0)
			return &cgs[i];
	return NULL;
}

/*
 * Re-expand the patterns and rebuild the tracked list in name order: kept
 * cgroups keep their rate, new ones start at the configured rate, the ones
 * no longer matched are dropped.
 */
static int
discover(struct psi_state *st, struct err *e)
{
	const struct psi_cfg *cfg = st->cfg;
	struct psi_cg *next;
	size_t i, n = 0;

	if (psi_expand(st->env->root, cfg->patterns, cfg->npatterns, &st->names, e) < 0)
		return -1;
	next = calloc(st->names.n ? st->names.n : 1, sizeof(*next));
	if (next == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "cannot track cgroups");
	for (i = 0; i < st->names.n; i++) {
		const char *name = st->names.v[i];
		struct psi_cg *old = find_cg(st->cgs, st->ncgs, name);
		struct err le;
		uint64_t ino;

		/* Matched, but gone already or (v1) missing in memory/. */
		if (st->ops->lookup(st->env, name, &ino, &le) < 0) {
			log_debug("cgroup '%s' skipped: %s", name, le.msg);
			continue;
		}
		if (old != NULL && old->ino == ino) {
			next[n] = *old;
			old->name = NULL;       /* moved */
		} else {
			if (old != NULL)
				log_info("cgroup '%s' was re-created; its rate starts afresh", name);
			else
				log_info("cgroup '%s': tracking (rate %g)", name, cfg->law.rate);
			next[n].name = strdup(name);
			if (next[n].name == NULL) {
				free(next);
				return err_set(e, EX_OSERR, ENOMEM, "cannot track cgroups");
			}
			next[n].ino = ino;
			next[n].rate.rate = cfg->law.rate;
		}
		n++;
	}
	for (i = 0; i < st->ncgs; i++) {
		if (st->cgs[i].name == NULL)
			continue;
		if (find_cg(next, n, st->cgs[i].name) == NULL)
			log_info("cgroup '%s' is gone; dropped", st->cgs[i].name);
		free(st->cgs[i].name);
	}
	free(st->cgs);
	st->cgs = next;
	st->ncgs = n;
	return 0;
}

/* After a failure on cg: was it the cgroup going away under us? */
static int
vanished(struct psi_state *st, const struct psi_cg *cg)
{
	struct err le;
	uint64_t ino;

	return st->ops->lookup(st->env, cg->name, &ino, &le) < 0 ||
	    ino != cg->ino;
}

/* A failure on one cgroup: log it (once per failing streak) and go on. */
static void
cg_failed(struct psi_state *st, struct psi_cg *cg, const struct err *le)
{
	if (vanished(st, cg)) {
		log_info("cgroup '%s' vanished during the round; skipped", cg->name);
		cg->outcome = "vanished";
		st->round.vanished++;
		return;
	}
	if (!cg->failing)
		log_warnx("cgroup '%s': %s", cg->name, le->msg);
	else
		log_debug("cgroup '%s': %s", cg->name, le->msg);
	cg->failing = 1;
	cg->outcome = "error";
	st->round.errors++;
}

/* One cgroup's round. Returns -1 only when a stop interrupted the write. */
static int
control(struct psi_state *st, struct psi_cg *cg, volatile sig_atomic_t *stop)
{
	const struct psi_law *law = &st->cfg->law;
	enum psi_feedback fb = PSI_FB_NEUTRAL;
	struct psi_sample s;
	struct psi_plan p;
	struct err le;
	uint64_t after;
	int r;

	memset(&s, 0, sizeof(s));
	cg->asked = cg->reclaimed = 0;
	cg->rate_used = cg->rate.rate;
	if (st->ops->sample(st->env, cg->name, &s, &le) < 0) {
		cg_failed(st, cg, &le);
		return 0;
	}
	psi_law_plan(law, cg->rate.rate, &s, &p);
	cg->pressure = p.pressure;
	cg->usage = s.usage;
	cg->floor = p.floor;
	cg->outcome = psi_verdict_name(p.verdict);
	switch (p.verdict) {
	case PSI_V_PRESSURE:
		fb = PSI_FB_PRESSURED;
		st->round.pressured++;
		break;
	case PSI_V_FLOOR:
	case PSI_V_SMALL:
		st->round.at_floor++;
		break;
	case PSI_V_RECLAIM:
		r = st->ops->reclaim(st->env, cg->name, p.bytes, &le);
		if (r < 0) {
			if (le.code == EX_TEMPFAIL && *stop)
				return -1;      /* EINTR from SIGTERM */
			cg_failed(st, cg, &le);
			return 0;
		}
		cg->asked = p.bytes;
		/* What usage says, not what was asked: the kernel may
		 * reclaim less (EAGAIN) and the workload keeps running. */
		if (st->ops->usage(st->env, cg->name, &after, &le) < 0) {
			cg_failed(st, cg, &le);
			cg->asked_total += cg->asked;
			st->round.asked += cg->asked;
			return 0;
		}
		cg->reclaimed = s.usage > after ? s.usage - after : 0;
		cg->usage = after;
		if (r == 1)
			cg->outcome = "partial";
		/* EAGAIN: the kernel found less to take than we asked; raising
		 * the rate would only ask for more of what is not there. */
		fb = r == 0 ? PSI_FB_CALM : PSI_FB_NEUTRAL;
		st->round.reclaimed_cgs++;
		break;
	}
	cg->failing = 0;
	cg->asked_total += cg->asked;
	cg->reclaimed_total += cg->reclaimed;
	st->round.asked += cg->asked;
	st->round.reclaimed += cg->reclaimed;
	psi_law_adapt(law, &cg->rate, fb);
	log_debug("cgroup '%s': pressure %.2f (target %g) usage %" PRIu64
	    " floor %" PRIu64 ": %s, asked %" PRIu64 " reclaimed %" PRIu64
	    ", rate now %g", cg->name, p.pressure, law->pressure, cg->usage,
	    p.floor, cg->outcome, cg->asked, cg->reclaimed, cg->rate.rate);
	return 0;
}

/* The --text lines of a round (format in etmem-psi(8)). */
static void
text_round(const struct psi_state *st, FILE *fp)
{
	const struct psi_round *rd = &st->round;
	char name[PATH_MAX * 3];
	size_t i;

	for (i = 0; i < st->ncgs; i++) {
		const struct psi_cg *cg = &st->cgs[i];

		if (cg->outcome == NULL)
			continue;
		fprintf(fp, "C %llu %s %s pressure=%.2f rate=%g usage=%" PRIu64
		    " floor=%" PRIu64 " asked=%" PRIu64 " reclaimed=%" PRIu64 "\n",
		    rd->n, esc(cg->name, name, sizeof(name)), cg->outcome,
		    cg->pressure, cg->rate_used, cg->usage, cg->floor, cg->asked,
		    cg->reclaimed);
	}
	fprintf(fp, "R %llu cgroups=%zu asked=%" PRIu64 " reclaimed=%" PRIu64
	    " pressured=%zu floor=%zu vanished=%zu errors=%zu\n", rd->n,
	    rd->cgroups, rd->asked, rd->reclaimed, rd->pressured, rd->at_floor,
	    rd->vanished, rd->errors);
	fflush(fp);
}

/* The supervisor's STATS text: totals, then one line per cgroup. */
static void
publish(const struct psi_state *st, struct ctl_stage *ctl)
{
	char *b = ctl->stats, name[512];
	size_t len = sizeof(ctl->stats), o, i, hidden = 0;

	o = (size_t)snprintf(b, len,
	    "rounds %llu\ncgroups %zu\nasked_bytes %" PRIu64 "\nreclaimed_bytes %"
	    PRIu64 "\nerrors %zu\n", st->rounds_done, st->ncgs, st->asked_total,
	    st->reclaimed_total, st->errors_total);
	for (i = 0; i < st->ncgs && o < len; i++) {
		const struct psi_cg *cg = &st->cgs[i];
		char line[768];
		int n;

		n = snprintf(line, sizeof(line), "cgroup %s pressure=%.2f rate=%g "
		    "reclaimed_bytes=%" PRIu64 " asked_bytes=%" PRIu64 " last=%s\n",
		    esc(cg->name, name, sizeof(name)), cg->pressure, cg->rate.rate,
		    cg->reclaimed_total, cg->asked_total,
		    cg->outcome != NULL ? cg->outcome : "none");
		/* Leave room for the "not shown" line. */
		if (n < 0 || o + (size_t)n + 40 >= len) {
			hidden = st->ncgs - i;
			break;
		}
		memcpy(b + o, line, (size_t)n + 1);
		o += (size_t)n;
	}
	if (hidden > 0 && o < len)
		snprintf(b + o, len - o, "cgroups_not_shown %zu\n", hidden);
}

static int
one_round(struct psi_state *st, volatile sig_atomic_t *stop, struct err *e)
{
	struct psi_round *rd = &st->round;
	size_t i;

	memset(rd, 0, sizeof(*rd));
	rd->n = st->rounds_done + 1;
	if (discover(st, e) < 0)
		return -1;
	rd->cgroups = st->ncgs;
	for (i = 0; i < st->ncgs && !*stop; i++)
		if (control(st, &st->cgs[i], stop) < 0)
			break;
	if (*stop)
		return 0;       /* an interrupted round is not reported as one */
	st->rounds_done++;
	st->asked_total += rd->asked;
	st->reclaimed_total += rd->reclaimed;
	st->errors_total += rd->errors;
	if (rd->cgroups == 0)
		log_info("round %llu: no cgroup matches cg_dir", rd->n);
	else
		log_info("round %llu: %zu cgroups: reclaimed %" PRIu64 " of %" PRIu64
		    " bytes asked from %zu; %zu under pressure, %zu at floor, "
		    "%zu vanished, %zu errors", rd->n, rd->cgroups, rd->reclaimed,
		    rd->asked, rd->reclaimed_cgs, rd->pressured, rd->at_floor,
		    rd->vanished, rd->errors);
	if (st->cfg->text != NULL)
		text_round(st, st->cfg->text);
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep until `until`, serving the control fd. 1 if asked to stop. */
static int
wait_until(struct ctl_stage *ctl, int64_t until, volatile sig_atomic_t *stop)
{
	for (;;) {
		int64_t left = until - now_ms();

		if (*stop)
			return 1;
		if (left <= 0)
			return 0;
		if (ctl_stage_poll(ctl, left < SLEEP_SLICE_MS ? (int)left : SLEEP_SLICE_MS))
			return 1;
	}
}

int
psi_run(const struct psi_cfg *cfg, const struct psi_cg_ops *ops,
    const struct psi_env *env, struct ctl_stage *ctl,
    volatile sig_atomic_t *stop, struct err *e)
{
	struct psi_state st;
	int64_t interval_ms = (int64_t)(cfg->interval_s * 1000.0 + 0.5);
	int64_t next = now_ms();
	int ret = 0;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.ops = ops;
	st.env = env;
	for (;;) {
		/* The cadence is fixed; a round longer than the interval
		 * starts the next one at once rather than queueing up. */
		if (one_round(&st, stop, e) < 0) {
			ret = -1;
			break;
		}
		publish(&st, ctl);
		if (cfg->periods != 0 && st.rounds_done >= cfg->periods)
			break;
		next += interval_ms;
		if (next < now_ms())
			next = now_ms();
		if (*stop || wait_until(ctl, next, stop)) {
			log_info("stopping after %llu rounds", st.rounds_done);
			break;
		}
	}
	for (i = 0; i < st.ncgs; i++)
		free(st.cgs[i].name);
	free(st.cgs);
	psi_names_free(&st.names);
	return ret;
}
