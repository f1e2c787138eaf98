/* SPDX-License-Identifier: MIT */
/*
 * rank-cslide-plan.c - cslide's planning arithmetic, as a pure function:
 * which 2 MiB pages to promote, prefetch and demote between each DRAM/AEP
 * node pair in one period (engine-algorithms.md §4.3).
 *
 * Kept from the original, on purpose: the three phases in their fixed
 * order; the capacity formulas (a promotion beyond the DRAM node's free
 * space costs twice, since an equal demotion must make room; phase A may eat
 * into the reserve; phase C restores the reserve and makes room for phase
 * A's overflow); one quota per pair per period shared by both directions;
 * capacity charged by requested size. Differences: pids are visited in
 * ascending order at each count level (the stream has no "factory list"
 * order, and ascending is deterministic for replays); all pages are the same
 * size, so "a bucket stops at the first page that no longer fits" is "take
 * whole pages while they fit".
 *
 * No I/O here; rank-cslide.c gathers the inputs and writes the decisions.
 */
#include "rank-cslide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

/* ---- --node-pair ---- */

static int
parse_node(const char *s, const char **end, const char *all, struct err *e)
{
	long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return err_set(e, EX_USAGE, 0, "option '--node-pair': '%s': expected a "
		    "node number at '%s'", all, *p ? p : "(end)");
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (v >= (long)CSLIDE_NODES_MAX)
			return err_set(e, EX_USAGE, 0, "option '--node-pair': '%s': node "
			    "ids go up to %u", all, CSLIDE_NODES_MAX - 1);
	}
	*end = p;
	return (int)v;
}

int
cslide_parse_pairs(const char *s, struct cslide_pairs *out, struct err *e)
{
	unsigned char seen[CSLIDE_NODES_MAX] = { 0 };
	const char *p = s;

	memset(out, 0, sizeof(*out));
	while (*p == ' ' || *p == ';')
		p++;
	while (*p != '\0') {
		int hot, cold;

		if (out->n == sizeof(out->v) / sizeof(out->v[0]))
			return err_set(e, EX_USAGE, 0, "option '--node-pair': '%s': more "
			    "than %zu pairs", s, sizeof(out->v) / sizeof(out->v[0]));
		if ((hot = parse_node(p, &p, s, e)) < 0)
			return -1;
		if (*p != ',' && *p != ' ')
			return err_set(e, EX_USAGE, 0, "option '--node-pair': '%s': a pair "
			    "is 'DRAM,AEP' (two node numbers)", s);
		p++;
		if ((cold = parse_node(p, &p, s, e)) < 0)
			return -1;
		if (*p != '\0' && *p != ';' && *p != ' ')
			return err_set(e, EX_USAGE, 0, "option '--node-pair': '%s': "
			    "unexpected '%c' after pair %zu", s, *p, out->n + 1);
		if (seen[hot] || seen[cold] || hot == cold)
			return err_set(e, EX_USAGE, 0, "option '--node-pair': '%s': node "
			    "%d appears twice (each node belongs to one pair)", s,
			    seen[hot] || hot == cold ? hot : cold);
		seen[hot] = seen[cold] = 1;
		out->v[out->n++] = (struct cslide_pair){ hot, cold };
		while (*p == ' ' || *p == ';')
			p++;
	}
	if (out->n == 0)
		return err_set(e, EX_USAGE, 0, "option '--node-pair': '%s': no pair "
		    "(expected 'DRAM,AEP[;DRAM,AEP]...')", s);
	return 0;
}

/* ---- the plan ---- */

/* Per pair, the original's running numbers (bytes). */
struct pstate {
	uint64_t free;              /* DRAM hugepages free */
	uint64_t cold_free;         /* AEP hugepages free */
	uint64_t cold;              /* cold-class pages on DRAM, all pids */
	uint64_t quota;
	uint64_t cold_replaced;
	uint64_t cap;               /* of the phase running */
	uint64_t moved;             /* by the phase running */
};

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t
sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

struct plan {
	const struct cslide_params *p;
	const struct cslide_pairs *pairs;
	struct cslide_page *pages;
	size_t n;
	uint32_t *idx;              /* page indices by count, then (pid, address) */
	size_t *lvl;                /* lvl[c]..lvl[c+1]: pages of count c in idx */
	int pair_of[CSLIDE_NODES_MAX]; /* node -> pair index, -1 none */
	struct pstate st[CSLIDE_NODES_MAX / 2];
};

static uint32_t
count_of(const struct plan *pl, const struct cslide_page *pg)
{
	return pg->count > pl->p->max_count ? pl->p->max_count : pg->count;
}

/* Visit one count level: take each page still kept that sits on its pair's
 * `from` node (hot or cold side) while the pair's capacity holds it. */
static void
take_level(struct plan *pl, uint32_t c, int from_cold, uint8_t act)
{
	for (size_t k = pl->lvl[c]; k < pl->lvl[c + 1]; k++) {
		struct cslide_page *pg = &pl->pages[pl->idx[k]];
		const struct cslide_pair *pr;
		struct pstate *s;
		int pi;

		if (pg->act != CSLIDE_KEEP || pg->node >= CSLIDE_NODES_MAX ||
		    (pi = pl->pair_of[pg->node]) < 0)
			continue;
		pr = &pl->pairs->v[pi];
		if (pg->node != (from_cold ? pr->cold : pr->hot))
			continue;
		s = &pl->st[pi];
		if (s->cap < CSLIDE_HUGE_BYTES)
			continue;
		s->cap -= CSLIDE_HUGE_BYTES;
		s->moved += CSLIDE_HUGE_BYTES;
		pg->act = act;
	}
}

/* Phase A: hottest first, AEP -> DRAM; may use the reserve. */
static void
promote(struct plan *pl, uint32_t t)
{
	size_t i;

	for (i = 0; i < pl->pairs->n; i++) {
		struct pstate *s = &pl->st[i];

		if (s->quota < s->free)
			s->cap = s->quota;
		else
			s->cap = min64(s->free + (s->quota - s->free) / 2, s->free + s->cold_free);
		s->cap = min64(s->cap, s->free + s->cold);
		s->moved = 0;
	}
	for (uint32_t c = pl->p->max_count + 1; c-- > t; )
		take_level(pl, c, 1, CSLIDE_PROMOTE);
	for (i = 0; i < pl->pairs->n; i++) {
		struct pstate *s = &pl->st[i];

		if (s->moved > s->free) {
			/* The overflow displaces as many cold pages, which phase C
			 * must demote: it costs quota twice. */
			s->cold_replaced = s->moved - s->free;
			s->quota = sub0(s->quota, s->free + 2 * s->cold_replaced);
			s->cold_free += s->free;
			s->free = 0;
		} else {
			s->free -= s->moved;
			s->quota = sub0(s->quota, s->moved);
			s->cold_free += s->moved;
		}
	}
}

/* Phase B: warmest of the cold class, AEP -> DRAM, only into free space
 * above the reserve. */
static void
prefetch(struct plan *pl, uint32_t t)
{
	size_t i;

	for (i = 0; i < pl->pairs->n; i++) {
		struct pstate *s = &pl->st[i];

		s->cap = s->free > pl->p->reserve ? min64(s->free - pl->p->reserve, s->quota) : 0;
		s->moved = 0;
	}
	for (uint32_t c = t; c-- > 0; )
		take_level(pl, c, 1, CSLIDE_PREFETCH);
	for (i = 0; i < pl->pairs->n; i++) {
		struct pstate *s = &pl->st[i];

		s->free = sub0(s->free, s->moved);
		s->quota = sub0(s->quota, s->moved);
		s->cold_free += s->moved;
	}
}

/* Phase C: coldest first, DRAM -> AEP: room for phase A's overflow, then
 * back up to the reserve within the quota and the AEP free space. */
static void
demote(struct plan *pl, uint32_t t)
{
	for (size_t i = 0; i < pl->pairs->n; i++) {
		struct pstate *s = &pl->st[i];
		uint64_t want = sub0(pl->p->reserve, s->free);

		s->cap = min64(min64(s->quota, want), s->cold_free) + s->cold_replaced;
		s->moved = 0;
	}
	for (uint32_t c = 0; c < t; c++)
		take_level(pl, c, 0, CSLIDE_DEMOTE);
	for (size_t i = 0; i < pl->pairs->n; i++) {
		struct pstate *s = &pl->st[i];

		s->quota = sub0(s->quota, sub0(s->moved, s->cold_replaced));
	}
}

/* idx = page indices ordered by count, stable (so (pid, address) within a
 * count); lvl[c] = first position of count c. Counting sort. */
static int
levels(struct plan *pl)
{
	uint32_t m = pl->p->max_count;

	pl->lvl = calloc((size_t)m + 2, sizeof(*pl->lvl));
	pl->idx = malloc((pl->n ? pl->n : 1) * sizeof(*pl->idx));
	if (pl->lvl == NULL || pl->idx == NULL)
		return -1;
	for (size_t i = 0; i < pl->n; i++)
		pl->lvl[count_of(pl, &pl->pages[i]) + 1]++;
	for (uint32_t c = 0; c <= m; c++)
		pl->lvl[c + 1] += pl->lvl[c];
	{
		size_t *pos = malloc(((size_t)m + 1) * sizeof(*pos));

		if (pos == NULL)
			return -1;
		memcpy(pos, pl->lvl, ((size_t)m + 1) * sizeof(*pos));
		for (size_t i = 0; i < pl->n; i++)
			pl->idx[pos[count_of(pl, &pl->pages[i])]++] = (uint32_t)i;
		free(pos);
	}
	return 0;
}

void
cslide_plan(const struct cslide_params *p, const struct cslide_pairs *pairs,
    const struct cslide_node_mem *mem, struct cslide_page *pages, size_t n,
    struct cslide_pair_result *res)
{
	struct plan pl = { .p = p, .pairs = pairs, .pages = pages, .n = n };
	uint32_t t = p->hot_threshold > p->max_count + 1 ? p->max_count + 1 : p->hot_threshold;
	size_t i;

	for (i = 0; i < CSLIDE_NODES_MAX; i++)
		pl.pair_of[i] = -1;
	for (i = 0; i < pairs->n; i++) {
		const struct cslide_pair *pr = &pairs->v[i];

		pl.pair_of[pr->hot] = pl.pair_of[pr->cold] = (int)i;
		pl.st[i] = (struct pstate){ .free = mem[pr->hot].free,
		    .cold_free = mem[pr->cold].free, .quota = p->quota };
	}
	for (i = 0; i < n; i++) {
		pages[i].act = CSLIDE_KEEP;
		if (pages[i].node < CSLIDE_NODES_MAX && pl.pair_of[pages[i].node] >= 0 &&
		    pairs->v[pl.pair_of[pages[i].node]].hot == pages[i].node &&
		    count_of(&pl, &pages[i]) < t)
			pl.st[pl.pair_of[pages[i].node]].cold += CSLIDE_HUGE_BYTES;
	}
	if (res != NULL)
		memset(res, 0, pairs->n * sizeof(*res));
	if (levels(&pl) < 0) {
		/* Out of memory: plan nothing rather than half a plan. */
		free(pl.lvl);
		free(pl.idx);
		return;
	}
	promote(&pl, t);
	if (res != NULL)
		for (i = 0; i < pairs->n; i++)
			res[i].promoted = pl.st[i].moved;
	prefetch(&pl, t);
	if (res != NULL)
		for (i = 0; i < pairs->n; i++)
			res[i].prefetched = pl.st[i].moved;
	demote(&pl, t);
	if (res != NULL)
		for (i = 0; i < pairs->n; i++) {
			res[i].demoted = pl.st[i].moved;
			res[i].quota_left = pl.st[i].quota;
		}
	free(pl.lvl);
	free(pl.idx);
}
