/* SPDX-License-Identifier: MIT */
/*
 * psi-law.c - the pressure-feedback control law, pure: numbers in, numbers
 * out, no I/O. This is what the original's psi engine meant to compute
 * (specs/engine-algorithms.md §5.3); its code compared pointers instead of
 * values and never reclaimed (W-31), and sized requests with the static rate
 * instead of the adaptive one (W-32). Both are fixed by construction here:
 * the caller passes the per-cgroup rate and the values themselves.
 */
#include "psi.h"

#include <math.h>
#include <sysexits.h>

#include "err.h"

int
psi_law_check(const struct psi_law *law, struct err *e)
{
	if (!(law->rate_min > 0 && law->rate_min <= law->rate_max))
		return err_set(e, EX_USAGE, 0,
		    "reclaim_rate_min %g must be > 0 and <= reclaim_rate_max %g",
		    law->rate_min, law->rate_max);
	if (law->rate_max > 1)
		return err_set(e, EX_USAGE, 0,
		    "reclaim_rate_max %g is above 1 (the whole excess)", law->rate_max);
	if (law->rate < law->rate_min || law->rate > law->rate_max)
		return err_set(e, EX_USAGE, 0,
		    "reclaim_rate %g is outside reclaim_rate_min..reclaim_rate_max (%g..%g)",
		    law->rate, law->rate_min, law->rate_max);
	if (law->limit_min_ratio < 0 || law->limit_min_ratio > 1)
		return err_set(e, EX_USAGE, 0,
		    "limit_min_ratio %g is outside 0..1", law->limit_min_ratio);
	if (law->pressure < 0 || !isfinite(law->pressure))
		return err_set(e, EX_USAGE, 0, "pressure %g is negative", law->pressure);
	if (law->page_size == 0 || (law->page_size & (law->page_size - 1)) != 0)
		return err_set(e, EX_SOFTWARE, 0, "page size %llu is not a power of 2",
		    (unsigned long long)law->page_size);
	return 0;
}

uint64_t
psi_law_floor(const struct psi_law *law, const struct psi_sample *s)
{
	uint64_t floor = law->limit_min_bytes;

	/* An unlimited cgroup has no ratio floor: 10 % of "max" is nonsense. */
	if (s->limit <= PSI_LIMIT_UNLIMITED) {
		uint64_t by_ratio = (uint64_t)((double)s->limit * law->limit_min_ratio);

		if (by_ratio > floor)
			floor = by_ratio;
	}
	/* The kernel protects memory.min/low anyway; asking below them would
	 * only earn EAGAIN (the original counted them too). */
	if (s->min > floor && s->min <= PSI_LIMIT_UNLIMITED)
		floor = s->min;
	if (s->low > floor && s->low <= PSI_LIMIT_UNLIMITED)
		floor = s->low;
	return floor;
}

void
psi_law_plan(const struct psi_law *law, double rate, const struct psi_sample *s,
    struct psi_plan *p)
{
	double want;
	uint64_t bytes, excess;

	p->pressure = s->avg10 > s->avg60 ? s->avg10 : s->avg60;
	p->floor = psi_law_floor(law, s);
	p->bytes = 0;
	/* Strictly below: pressure=0 therefore never reclaims. */
	if (!(p->pressure < law->pressure)) {
		p->verdict = PSI_V_PRESSURE;
		return;
	}
	if (s->usage <= p->floor) {
		p->verdict = PSI_V_FLOOR;
		return;
	}
	excess = s->usage - p->floor;
	want = (double)excess * rate;
	if (want >= (double)law->reclaim_max_bytes)
		bytes = law->reclaim_max_bytes;
	else
		bytes = (uint64_t)want;
	if (bytes > excess)     /* rate <= 1 makes this impossible; stay safe */
		bytes = excess;
	bytes &= ~(law->page_size - 1);
	if (bytes == 0) {
		p->verdict = PSI_V_SMALL;
		return;
	}
	p->verdict = PSI_V_RECLAIM;
	p->bytes = bytes;
}

/* Keep the rate on the 1e-6 grid so repeated ±0.01 steps stay the decimal
 * values a person expects (0.06, not 0.060000000000000005). */
static double
rate_round(double r)
{
	return round(r * 1e6) / 1e6;
}

/*
 * The original's streak counter (§5.3 step 6): calm rounds count up,
 * pressured rounds count down; +5 raises the rate one step, -2 lowers it.
 * One deliberate difference: in the original the first round of the other
 * sign only zeroes the counter, so pressure after a calm streak needed three
 * rounds to lower the rate. Here that round starts the new streak, so the
 * rate drops after exactly two consecutive pressured rounds (and rises after
 * exactly five calm ones) whatever came before: the controller answers
 * pressure one interval sooner, which is when it matters. Neutral rounds
 * (floor, too small, EAGAIN) leave the streak alone. Returns 1 if the rate
 * moved.
 */
int
psi_law_adapt(const struct psi_law *law, struct psi_rate *r, enum psi_feedback fb)
{
	double old = r->rate;

	switch (fb) {
	case PSI_FB_NEUTRAL:
		return 0;
	case PSI_FB_CALM:
		r->gather = (r->gather > 0 ? r->gather : 0) + 1;
		if (r->gather >= PSI_CALM_STREAK) {
			r->rate = rate_round(r->rate + PSI_RATE_STEP);
			if (r->rate > law->rate_max)
				r->rate = law->rate_max;
			r->gather = 0;
		}
		break;
	case PSI_FB_PRESSURED:
		r->gather = (r->gather < 0 ? r->gather : 0) - 1;
		if (r->gather <= -PSI_PRESSURED_STREAK) {
			r->rate = rate_round(r->rate - PSI_RATE_STEP);
			if (r->rate < law->rate_min)
				r->rate = law->rate_min;
			r->gather = 0;
		}
		break;
	}
	return r->rate != old;
}

const char *
psi_verdict_name(enum psi_verdict v)
{
	switch (v) {
	case PSI_V_RECLAIM:
		return "reclaim";
	case PSI_V_PRESSURE:
		return "pressure";
	case PSI_V_FLOOR:
		return "floor";
	case PSI_V_SMALL:
		return "small";
	}
	return "?";
}
