/* SPDX-License-Identifier: MIT */
/*
 * test-psi.c - etmem-psi's pure parts: the control law (floor, amount,
 * cap, page rounding, pressure gate), the rate adaptation, and the parsers
 * of the pressure and byte-count files.
 */
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "unit.h"

#include "../../etmem-psi/psi.h"

#define MiB (1024ULL * 1024)
#define GiB (1024ULL * MiB)

/* The original's defaults, 4 KiB pages. */
static struct psi_law
law_default(void)
{
	struct psi_law l = {
		.pressure = 0.1, .rate = 0.05, .rate_min = 0.01, .rate_max = 0.5,
		.reclaim_max_bytes = GiB, .limit_min_bytes = 0,
		.limit_min_ratio = 0.1, .page_size = 4096,
	};
	return l;
}

static struct psi_sample
sample(double a10, double a60, uint64_t usage, uint64_t limit)
{
	struct psi_sample s;

	memset(&s, 0, sizeof(s));
	s.avg10 = a10;
	s.avg60 = a60;
	s.usage = usage;
	s.limit = limit;
	return s;
}

static void
test_psi__floor_by_ratio_and_bytes(void)
{
	struct psi_law l = law_default();
	struct psi_sample s = sample(0, 0, 500 * MiB, GiB);

	CHECK_EQ_U(psi_law_floor(&l, &s), 107374182);   /* 0.1 x 1 GiB, truncated */
	l.limit_min_bytes = 200 * MiB;
	CHECK_EQ_U(psi_law_floor(&l, &s), 200 * MiB);
	l.limit_min_bytes = 0;
	l.limit_min_ratio = 0.25;
	CHECK_EQ_U(psi_law_floor(&l, &s), 256 * MiB);
	/* memory.min / memory.low raise it too */
	s.low = 300 * MiB;
	CHECK_EQ_U(psi_law_floor(&l, &s), 300 * MiB);
	s.min = 310 * MiB;
	CHECK_EQ_U(psi_law_floor(&l, &s), 310 * MiB);
}

static void
test_psi__unlimited_has_no_ratio_floor(void)
{
	struct psi_law l = law_default();
	struct psi_sample s = sample(0, 0, 500 * MiB, UINT64_MAX);   /* v2 "max" */

	CHECK_EQ_U(psi_law_floor(&l, &s), 0);
	s.limit = 0x7ffffffffffff000ULL;                            /* v1 unlimited */
	CHECK_EQ_U(psi_law_floor(&l, &s), 0);
	l.limit_min_bytes = 12345;
	CHECK_EQ_U(psi_law_floor(&l, &s), 12345);
	/* "max" in memory.low is not a floor of 2^64 either */
	s.low = UINT64_MAX;
	CHECK_EQ_U(psi_law_floor(&l, &s), 12345);
}

static void
test_psi__amount_exact(void)
{
	struct psi_law l = law_default();
	struct psi_sample s = sample(0.02, 0.05, 600 * MiB, GiB);
	struct psi_plan p;
	uint64_t floor = 107374182, want;

	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_RECLAIM);
	CHECK_EQ_U(p.floor, floor);
	want = (uint64_t)((double)(600 * MiB - floor) * 0.05);
	want -= want % 4096;
	CHECK_EQ_U(p.bytes, want);
	CHECK_EQ_U(p.bytes, 26087424);  /* 26088570.9 rounded down to pages */
	CHECK(p.pressure == 0.05);
	/* the rate passed in is the one used (the original used the static
	 * task rate: W-32) */
	psi_law_plan(&l, 0.10, &s, &p);
	CHECK_EQ_U(p.bytes, 52174848);
}

static void
test_psi__pressure_gate(void)
{
	struct psi_law l = law_default();
	struct psi_sample s = sample(0.09, 0.10, 600 * MiB, GiB);
	struct psi_plan p;

	psi_law_plan(&l, 0.05, &s, &p);     /* avg60 == target: not below */
	CHECK(p.verdict == PSI_V_PRESSURE);
	CHECK_EQ_U(p.bytes, 0);
	s = sample(0.50, 0.0, 600 * MiB, GiB); /* avg10 alone counts too */
	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_PRESSURE);
	s = sample(0.0, 0.0, 600 * MiB, GiB);
	l.pressure = 0;                         /* 0 means never */
	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_PRESSURE);
	l.pressure = 0.1;
	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_RECLAIM);
}

static void
test_psi__floor_small_cap(void)
{
	struct psi_law l = law_default();
	struct psi_sample s = sample(0, 0, 100 * MiB, GiB);
	struct psi_plan p;

	psi_law_plan(&l, 0.05, &s, &p);     /* 100 MiB < 102.4 MiB floor */
	CHECK(p.verdict == PSI_V_FLOOR);
	s.usage = 107374182;                /* exactly the floor */
	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_FLOOR);
	s.usage = 107374182 + 81919;        /* 5% of it is 4095.95: no page */
	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_SMALL);
	s.usage = 107374182 + 81920;        /* 4096 exactly */
	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_RECLAIM);
	CHECK_EQ_U(p.bytes, 4096);
	/* the cap applies before page rounding */
	l.reclaim_max_bytes = 10 * MiB + 100;
	s = sample(0, 0, 900 * MiB, GiB);
	psi_law_plan(&l, 0.5, &s, &p);
	CHECK_EQ_U(p.bytes, 10 * MiB);
	/* never more than the excess, and usage - bytes stays >= floor */
	l = law_default();
	l.rate_max = 1;
	s = sample(0, 0, 200 * MiB, GiB);
	psi_law_plan(&l, 1.0, &s, &p);
	CHECK(s.usage - p.bytes >= p.floor);
	/* 64 KiB pages round coarser */
	l = law_default();
	l.page_size = 65536;
	s = sample(0, 0, 107374182 + 40 * 65536, GiB);
	psi_law_plan(&l, 0.05, &s, &p);
	CHECK(p.verdict == PSI_V_RECLAIM);
	CHECK_EQ_U(p.bytes, 2 * 65536);     /* 131072 exactly */
}

static void
test_psi__adapt_up_after_five_calm(void)
{
	struct psi_law l = law_default();
	struct psi_rate r = { .rate = 0.05, .gather = 0 };
	int i;

	for (i = 0; i < 4; i++)
		CHECK(psi_law_adapt(&l, &r, PSI_FB_CALM) == 0);
	CHECK(r.rate == 0.05);
	CHECK(psi_law_adapt(&l, &r, PSI_FB_CALM) == 1);
	CHECK(r.rate == 0.06);              /* exactly, not 0.060000000000000005 */
	CHECK(r.gather == 0);
	/* neutral rounds neither count nor break the streak */
	for (i = 0; i < 4; i++) {
		psi_law_adapt(&l, &r, PSI_FB_CALM);
		psi_law_adapt(&l, &r, PSI_FB_NEUTRAL);
	}
	CHECK(r.rate == 0.06);
	psi_law_adapt(&l, &r, PSI_FB_CALM);
	CHECK(r.rate == 0.07);
}

static void
test_psi__adapt_down_after_two_pressured(void)
{
	struct psi_law l = law_default();
	struct psi_rate r = { .rate = 0.05, .gather = 0 };

	CHECK(psi_law_adapt(&l, &r, PSI_FB_PRESSURED) == 0);
	CHECK(psi_law_adapt(&l, &r, PSI_FB_PRESSURED) == 1);
	CHECK(r.rate == 0.04);
	/* a pressured pair right after a calm streak: two rounds suffice */
	psi_law_adapt(&l, &r, PSI_FB_CALM);
	psi_law_adapt(&l, &r, PSI_FB_CALM);
	psi_law_adapt(&l, &r, PSI_FB_CALM);
	psi_law_adapt(&l, &r, PSI_FB_PRESSURED);
	psi_law_adapt(&l, &r, PSI_FB_PRESSURED);
	CHECK(r.rate == 0.03);
	/* and a calm round after pressure restarts the calm count at 1 */
	psi_law_adapt(&l, &r, PSI_FB_PRESSURED);
	CHECK(r.gather == -1);
	psi_law_adapt(&l, &r, PSI_FB_CALM);
	CHECK(r.gather == 1);
}

static void
test_psi__adapt_clamps(void)
{
	struct psi_law l = law_default();
	struct psi_rate r = { .rate = 0.015, .gather = 0 };
	int i;

	for (i = 0; i < 20; i++)
		psi_law_adapt(&l, &r, PSI_FB_PRESSURED);
	CHECK(r.rate == 0.01);
	r.rate = 0.495;
	for (i = 0; i < 50; i++)
		psi_law_adapt(&l, &r, PSI_FB_CALM);
	CHECK(r.rate == 0.5);
	CHECK(psi_law_adapt(&l, &r, PSI_FB_NEUTRAL) == 0);
}

static void
test_psi__law_check(void)
{
	struct psi_law l = law_default();
	struct err e;

	CHECK(psi_law_check(&l, &e) == 0);
	l.rate = 0.6;
	CHECK(psi_law_check(&l, &e) == -1);
	CHECK(e.code == EX_USAGE);
	CHECK(strncmp(e.msg, "reclaim_rate 0.6 is outside", 27) == 0);
	l = law_default();
	l.rate_min = 0.2;
	l.rate_max = 0.1;
	CHECK(psi_law_check(&l, &e) == -1);
	l = law_default();
	l.limit_min_ratio = 1.5;
	CHECK(psi_law_check(&l, &e) == -1);
	l = law_default();
	l.page_size = 3000;
	CHECK(psi_law_check(&l, &e) == -1);
}

static void
test_psi__parse_pressure(void)
{
	double a10 = -1, a60 = -1;

	CHECK(psi_parse_pressure("some avg10=0.12 avg60=3.40 avg300=0.00 total=123\n"
	    "full avg10=9.00 avg60=9.00 avg300=0.00 total=5\n", &a10, &a60) == 0);
	CHECK(a10 == 0.12);
	CHECK(a60 == 3.40);
	/* "full" first is not mistaken for "some" */
	CHECK(psi_parse_pressure("full avg10=9.00 avg60=9.00 avg300=0.00 total=5\n"
	    "some avg10=1.00 avg60=2.00 avg300=0.00 total=1\n", &a10, &a60) == 0);
	CHECK(a10 == 1.0 && a60 == 2.0);
	CHECK(psi_parse_pressure("full avg10=9.00 avg60=9.00\n", &a10, &a60) == -1);
	CHECK(psi_parse_pressure("some avg10=x avg60=1\n", &a10, &a60) == -1);
	CHECK(psi_parse_pressure("some avg10=1.0 xavg60=1\n", &a10, &a60) == -1);
	CHECK(psi_parse_pressure("some avg10=-1 avg60=1\n", &a10, &a60) == -1);
	CHECK(psi_parse_pressure("", &a10, &a60) == -1);
}

static void
test_psi__parse_bytes(void)
{
	uint64_t v = 0;

	CHECK(psi_parse_bytes("123456\n", &v) == 0);
	CHECK_EQ_U(v, 123456);
	CHECK(psi_parse_bytes("max\n", &v) == 0);
	CHECK(v == UINT64_MAX);
	CHECK(psi_parse_bytes("9223372036854771712\n", &v) == 0);
	CHECK_EQ_U(v, 9223372036854771712ULL);
	CHECK(psi_parse_bytes("-1\n", &v) == -1);
	CHECK(psi_parse_bytes("12k\n", &v) == -1);
	CHECK(psi_parse_bytes("12\n13\n", &v) == -1);
	CHECK(psi_parse_bytes("", &v) == -1);
	CHECK(psi_parse_bytes("99999999999999999999999\n", &v) == -1);
}

static void
test_psi__pattern_check(void)
{
	struct err e;

	CHECK(psi_pattern_check("isulad/*", &e) == 0);
	CHECK(psi_pattern_check("/isulad/*", &e) == 1);
	CHECK(psi_pattern_check("a..b/c", &e) == 0);   /* a name, not '..' */
	CHECK(psi_pattern_check("..", &e) == -1);
	CHECK(e.code == EX_USAGE);
	CHECK(psi_pattern_check("a/../../etc", &e) == -1);
	CHECK(psi_pattern_check("a/{x,..}/b", &e) == -1);
	CHECK(psi_pattern_check("a/..", &e) == -1);
	CHECK(psi_pattern_check("/", &e) == -1);
	CHECK(psi_pattern_check("", &e) == -1);
}

int
main(void)
{
	RUN(test_psi__floor_by_ratio_and_bytes);
	RUN(test_psi__unlimited_has_no_ratio_floor);
	RUN(test_psi__amount_exact);
	RUN(test_psi__pressure_gate);
	RUN(test_psi__floor_small_cap);
	RUN(test_psi__adapt_up_after_five_calm);
	RUN(test_psi__adapt_down_after_two_pressured);
	RUN(test_psi__adapt_clamps);
	RUN(test_psi__law_check);
	RUN(test_psi__parse_pressure);
	RUN(test_psi__parse_bytes);
	RUN(test_psi__pattern_check);
	return unit_done();
}
