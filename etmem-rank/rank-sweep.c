/* SPDX-License-Identifier: MIT */
/*
 * rank-sweep.c - `etmem-rank slide --sweep`: a policy simulator. It replays
 * a scanner capture under a range of slide settings (T = 0..3*loop, and
 * optionally several dram_percent budgets) and prints, per setting, the
 * bytes that would have been swapped out and the regret the same capture
 * predicts: pages swapped out in one period and seen accessed in a later
 * one (each such return is a major fault the workload would have taken).
 *
 * The model, per setting, period by period: a page that is out and shows a
 * count > 0 comes back (regret += its bytes); then the period's resident
 * pages with count < T go out (moved += bytes), coldest first and only up
 * to the budget when --dram-percent is given (the pid keeps P % of the
 * pages the capture has seen of it resident). The system and per-process
 * gates of slide are not simulated: they depend on memory facts the
 * replayed decisions would themselves have changed. The capture should come
 * from an unmanaged run (accesses to pages that a real run had swapped out
 * are only visible as page faults, not in a capture).
 *
 * Pages are simulated one by one (4K, or a 2M/1G page as one unit), so a
 * capture is bounded to SWEEP_UNITS_MAX distinct pages (EX_DATAERR beyond).
 * Not the slide engine: it writes no stream and never reads /proc.
 */
#include "rank.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "opt.h"

#define SWEEP_UNITS_MAX (16u << 20)   /* 64 GiB of 4K pages */
#define SWEEP_DRAM_MAX 16

struct unit {                  /* one page of the capture */
	uint64_t addr;
	uint32_t pid;
	uint32_t bytes;        /* 4 KiB, 2 MiB (1 GiB pages: see unit_bytes) */
};

struct obs {                   /* one page seen in one period */
	uint32_t period;       /* 0-based index */
	uint32_t unit;         /* index into the unit table (after sorting) */
	uint32_t count;        /* summed over the period's rounds */
	struct unit u;
};

struct sweep {
	struct obs *o;
	size_t n, cap;
	struct unit *units;
	size_t nunits;
	uint32_t *pfirst;      /* per unit: index of its pid's first unit */
	uint64_t *ptot;        /* per first unit: bytes of the pid seen */
	uint32_t periods, loop, cur_loop;
	uint32_t page_size;
};

static struct {
	int sweep, csv;
	const char *dram;
} sw_cfg;

static const struct opt sweep_opts[] = {
	{ 0, "sweep", OPT_FLAG, &sw_cfg.sweep, NULL,
	  "simulate instead of ranking (this mode)", 0, 0, 0, 0, NULL },
	{ 0, "dram-percent", OPT_STR, &sw_cfg.dram, "P[,P...]",
	  "also sweep these dram_percent budgets (1..100; default: off only)", 0, 0, 0, 0, NULL },
	{ 0, "csv", OPT_FLAG, &sw_cfg.csv, NULL,
	  "print CSV instead of an aligned table", 0, 0, 0, 0, NULL },
	OPT_END
};

static const struct opt_cmd sweep_cmd = {
	"etmem-rank slide --sweep", "[--dram-percent P[,P...]] [--csv] < capture",
	"Replays a scanner capture under every hot threshold T = 0..3*loop (and\n"
	"each --dram-percent budget, plus none) and prints per setting the bytes\n"
	"slide would have swapped out over the capture (moved), the average bytes\n"
	"kept out per period (saved) and the regret the capture predicts: bytes\n"
	"swapped out in one period and accessed in a later one (returned), also\n"
	"as a share of moved. Gates (--sysmem-threshold, --swap-threshold) are not\n"
	"simulated. Use a capture of an unmanaged run.",
	sweep_opts,
	"Output columns: T dram_percent (off, 0 in CSV) moved_bytes saved_bytes\n"
	"returned_bytes regret_pct periods.\n\n"
	"Exit status: 0 done, 64 usage, 65 bad or oversized capture, 71 out of memory.\n\n"
	"Example:\n"
	"  etmem-scan -p 42 --loop 3 --periods 20 > cap.etmr\n"
	"  etmem-rank slide --sweep --dram-percent 50,80 --csv < cap.etmr\n"
};

static int
unit_cmp(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Observations by period, then page (so counts of a period merge). */
static int
obs_cmp(const void *a, const void *b)
{
	const struct obs *x = a, *y = b;

	if (x->period != y->period)
		return x->period < y->period ? -1 : 1;
	return unit_cmp(&x->u, &y->u);
}

/* Coldest first, then pid and address: slide's order. */
static int
obs_cold_cmp(const void *a, const void *b)
{
	const struct obs *x = *(struct obs *const *)a, *y = *(struct obs *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	return unit_cmp(&x->u, &y->u);
}

static int
add_access(struct sweep *s, const struct etmr_access *a, uint64_t where, struct err *e)
{
	uint64_t bytes = etmr_size_bytes(a->size, s->page_size), i;

	if (a->flags & (ETMR_F_HOLE | ETMR_F_SWAPPED))
		return 0;   /* not resident: nothing to move, no access seen */
	if (bytes == 0 || bytes > UINT32_MAX)
		return err_set(e, EX_DATAERR, 0, "item at %" PRIu64 ": page size class %u not simulated",
		    where, a->size);
	if (a->npages > SWEEP_UNITS_MAX || s->n + a->npages > SWEEP_UNITS_MAX)
		return err_set(e, EX_DATAERR, 0, "item at %" PRIu64 ": capture has more than %u pages; "
		    "--sweep simulates page by page", where, SWEEP_UNITS_MAX);
	if (s->n + a->npages > s->cap) {
		size_t ncap = s->cap ? s->cap : 4096;
		struct obs *no;

		while (ncap < s->n + a->npages)
			ncap *= 2;
		no = realloc(s->o, ncap * sizeof(*no));
		if (!no)
			return err_set(e, EX_OSERR, 0, "out of memory for %zu pages", ncap);
		s->o = no;
		s->cap = ncap;
	}
	for (i = 0; i < a->npages; i++) {
		struct obs *o = &s->o[s->n++];

		o->period = s->periods;
		o->count = a->count;
		o->u = (struct unit){ a->start + i * bytes, a->pid, (uint32_t)bytes };
	}
	return 0;
}

static int
load(struct sweep *s, struct etmr_reader *r, struct err *e)
{
	struct etmr_frame f;
	size_t i;
	int rc;

	s->page_size = etmr_reader_header(r)->page_size;
	while ((rc = etmr_read(r, &f, e)) == 1) {
		switch (f.type) {
		case ETMR_FRAME_ROUND:
			s->cur_loop = f.round.loop;
			break;
		case ETMR_FRAME_ACCESS:
			for (i = 0; i < f.n; i++)
				if (add_access(s, &f.u.access[i], f.offset, e) < 0)
					return -1;
			break;
		case ETMR_FRAME_PERIOD:
			if (s->cur_loop > s->loop)
				s->loop = s->cur_loop;
			s->periods++;
			break;
		case ETMR_FRAME_END:
			return 0;
		}
	}
	return rc;
}

/* Merge a period's rounds into one observation per page and number pages. */
static int
index_units(struct sweep *s, struct err *e)
{
	size_t i, j, k;

	/* Items after the last PERIOD belong to no complete period. */
	for (i = j = 0; i < s->n; i++)
		if (s->o[i].period < s->periods)
			s->o[j++] = s->o[i];
	if (j < s->n)
		log_warnx("input ended inside period %u (no PERIOD frame): its %zu pages are not simulated",
		    s->periods + 1, s->n - j);
	s->n = j;
	qsort(s->o, s->n, sizeof(*s->o), obs_cmp);
	for (i = j = 0; i < s->n; i++) {
		if (j > 0 && s->o[j - 1].period == s->o[i].period &&
		    unit_cmp(&s->o[j - 1].u, &s->o[i].u) == 0)
			s->o[j - 1].count += s->o[i].count;
		else
			s->o[j++] = s->o[i];
	}
	s->n = j;
	s->units = malloc((s->n ? s->n : 1) * sizeof(*s->units));
	if (!s->units)
		return err_set(e, EX_OSERR, 0, "out of memory");
	for (i = 0; i < s->n; i++)
		s->units[i] = s->o[i].u;
	qsort(s->units, s->n, sizeof(*s->units), unit_cmp);
	for (i = k = 0; i < s->n; i++)
		if (k == 0 || unit_cmp(&s->units[k - 1], &s->units[i]) != 0)
			s->units[k++] = s->units[i];
	s->nunits = k;
	for (i = 0; i < s->n; i++) {
		struct unit *u = bsearch(&s->o[i].u, s->units, s->nunits,
		    sizeof(*s->units), unit_cmp);

		s->o[i].unit = (uint32_t)(u - s->units);
	}
	s->pfirst = malloc((s->nunits ? s->nunits : 1) * sizeof(*s->pfirst));
	s->ptot = calloc(s->nunits ? s->nunits : 1, sizeof(*s->ptot));
	if (!s->pfirst || !s->ptot)
		return err_set(e, EX_OSERR, 0, "out of memory");
	for (i = 0; i < s->nunits; i++) {
		k = i > 0 && s->units[i - 1].pid == s->units[i].pid ? s->pfirst[i - 1] : i;
		s->pfirst[i] = (uint32_t)k;
		s->ptot[k] += s->units[i].bytes;
	}
	return 0;
}

struct result {
	uint64_t moved, returned, saved_sum;
};

/* Replay one setting. dram = 0: no budget. */
static int
simulate(const struct sweep *s, uint32_t t, unsigned dram, struct result *res, struct err *e)
{
	size_t nu = s->nunits ? s->nunits : 1;
	unsigned char *out = calloc(nu, 1);
	uint64_t *pout = calloc(nu, sizeof(*pout));   /* bytes out, per pid */
	struct obs **cand = malloc((s->n ? s->n : 1) * sizeof(*cand));
	uint64_t out_bytes = 0;
	size_t i = 0, j, nc, end;

	memset(res, 0, sizeof(*res));
	if (!out || !cand || !pout) {
		free(out); free(cand); free(pout);
		return err_set(e, EX_OSERR, 0, "out of memory");
	}
	while (i < s->n) {
		uint32_t p = s->o[i].period;

		/* Returns first: an out page accessed in this period. */
		for (j = i, nc = 0; j < s->n && s->o[j].period == p; j++) {
			struct obs *o = &s->o[j];

			if (out[o->unit] && o->count > 0) {
				out[o->unit] = 0;
				pout[s->pfirst[o->unit]] -= o->u.bytes;
				res->returned += o->u.bytes;
				out_bytes -= o->u.bytes;
			}
			if (!out[o->unit] && o->count < t)
				cand[nc++] = o;
		}
		end = j;
		if (dram)
			qsort(cand, nc, sizeof(*cand), obs_cold_cmp);
		for (j = 0; j < nc; j++) {
			uint32_t u = cand[j]->unit, f = s->pfirst[u];
			uint64_t b = cand[j]->u.bytes;

			/* The budget: a pid keeps dram % of the bytes the
			 * capture has shown of it resident. */
			if (dram && s->ptot[f] - pout[f] < s->ptot[f] / 100 * dram + b)
				continue;
			out[u] = 1;
			pout[f] += b;
			res->moved += b;
			out_bytes += b;
		}
		res->saved_sum += out_bytes;
		i = end;
	}
	free(out);
	free(cand);
	free(pout);
	return 0;
}

static int
parse_dram(const char *spec, unsigned *v, size_t *n, struct err *e)
{
	char buf[256], *tok, *save;
	long long x;

	*n = 0;
	v[(*n)++] = 0;
	if (!spec)
		return 0;
	if (strlen(spec) >= sizeof(buf))
		return err_set(e, EX_USAGE, 0, "--dram-percent: list too long");
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (opt_parse_ll(tok, 1, 100, &x) < 0)
			return err_set(e, EX_USAGE, 0, "--dram-percent: '%s' is not a percentage 1..100", tok);
		if (*n == SWEEP_DRAM_MAX)
			return err_set(e, EX_USAGE, 0, "--dram-percent: at most %d values", SWEEP_DRAM_MAX - 1);
		v[(*n)++] = (unsigned)x;
	}
	return 0;
}

static int
report(const struct sweep *s, const unsigned *dram, size_t ndram, struct err *e)
{
	struct result r;
	uint32_t t, tmax = 3 * (s->loop ? s->loop : 1);
	size_t d;

	if (sw_cfg.csv)
		printf("T,dram_percent,moved_bytes,saved_bytes,returned_bytes,regret_pct,periods\n");
	else
		printf("%3s %5s %14s %14s %14s %7s %7s\n", "T", "dram%", "moved_bytes",
		    "saved_bytes", "returned_bytes", "regret%", "periods");
	for (d = 0; d < ndram; d++)
		for (t = 0; t <= tmax; t++) {
			double pct;
			uint64_t saved;

			if (simulate(s, t, dram[d], &r, e) < 0)
				return -1;
			pct = r.moved ? 100.0 * (double)r.returned / (double)r.moved : 0.0;
			saved = s->periods ? r.saved_sum / s->periods : 0;
			if (sw_cfg.csv)
				printf("%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.2f,%u\n", t, dram[d],
				    r.moved, saved, r.returned, pct, s->periods);
			else if (dram[d])
				printf("%3u %5u %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %7.2f %7u\n",
				    t, dram[d], r.moved, saved, r.returned, pct, s->periods);
			else
				printf("%3u %5s %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %7.2f %7u\n",
				    t, "off", r.moved, saved, r.returned, pct, s->periods);
		}
	return fflush(stdout) == 0 ? 0 : err_set(e, EX_IOERR, 0, "cannot write <stdout>");
}

int
rank_sweep_wanted(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--sweep"))
			return 1;
	return 0;
}

/* `etmem-rank slide --sweep ...`: argv[0] is "slide". */
int
rank_sweep_main(int argc, char **argv)
{
	struct sweep s;
	struct etmr_reader *r;
	unsigned dram[SWEEP_DRAM_MAX];
	size_t ndram;
	struct err e;
	int idx, rc = -1;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	idx = opt_parse(&sweep_cmd, argc, argv, &e);
	if (idx == OPT_HELP) {
		opt_usage(&sweep_cmd, stdout);
		return 0;
	}
	if (idx >= 0 && idx < argc)
		err_set(&e, EX_USAGE, 0, "unexpected operand '%s'", argv[idx]);
	if (idx < 0 || idx < argc || parse_dram(sw_cfg.dram, dram, &ndram, &e) < 0) {
		log_err(&e);
		opt_synopsis(&sweep_cmd, stderr);
		return EX_USAGE;
	}
	r = etmr_reader_open(STDIN_FILENO, "<stdin>", &e);
	if (r == NULL) {
		log_err(&e);
		return e.code ? e.code : EX_DATAERR;
	}
	if (load(&s, r, &e) == 0 && index_units(&s, &e) == 0 && report(&s, dram, ndram, &e) == 0)
		rc = 0;
	if (rc < 0)
		log_err(&e);
	etmr_reader_close(r);
	free(s.o);
	free(s.units);
	free(s.pfirst);
	free(s.ptot);
	return rc == 0 ? 0 : e.code ? e.code : EX_SOFTWARE;
}
