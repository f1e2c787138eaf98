/* SPDX-License-Identifier: MIT */
/*
 * rank-tracker.c - per-period page counters in flat arrays; see
 * rank-tracker.h for the representation and why it replaces the original's
 * page list. This file knows nothing of streams or policies.
 */
#include "rank-tracker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

#define CHUNKS_MIN 1024u
#define TABLE_MIN 2048u
#define BLOCKS_MIN 64u
#define WINDOW_LOG 9u                     /* log2(RANK_TRK_SLOTS) */

static const char *const size_names[] = { "4K", "2M", "1G" };

/* log2 of the bytes of one page of class `size`: the kernel's PMD/PUD
 * arithmetic (2 MiB and 1 GiB for 4 KiB base pages). */
static uint32_t
class_shift(const struct rank_tracker *t, uint8_t size)
{
	uint32_t s = t->page_shift;

	if (size == 1)
		return (s - 3) * 2 + 3;
	if (size == 2)
		return (s - 3) * 3 + 3;
	return s;
}

static uint32_t
window_shift(const struct rank_tracker *t)
{
	return t->page_shift + WINDOW_LOG;
}

static uint32_t
absent(const struct rank_tracker *t)
{
	return (1u << t->bits) - 1;
}

static size_t
block_bytes(const struct rank_tracker *t)
{
	return RANK_TRK_SLOTS * t->bits / 8;
}

static uint32_t
sat(const struct rank_tracker *t, uint64_t v)
{
	return v > t->cap ? t->cap : (uint32_t)v;
}

/* Counter i of a block of `bits`-wide counters. Always inlined: callers
 * pass a constant width (see the switches below) so the hot loops compile
 * to plain byte/nibble/word code. */
static inline __attribute__((always_inline)) uint32_t
cget_w(const uint8_t *b, uint32_t i, const uint32_t bits)
{
	if (bits == 4)
		return (b[i >> 1] >> ((i & 1) * 4)) & 0xf;
	if (bits == 8)
		return b[i];
	{
		uint16_t v;

		memcpy(&v, b + 2 * i, 2);
		return v;
	}
}

static inline __attribute__((always_inline)) void
cset_w(uint8_t *b, uint32_t i, uint32_t v, const uint32_t bits)
{
	if (bits == 4) {
		unsigned sh = (i & 1) * 4;

		b[i >> 1] = (uint8_t)((b[i >> 1] & ~(0xfu << sh)) | (v << sh));
	} else if (bits == 8) {
		b[i] = (uint8_t)v;
	} else {
		uint16_t w = (uint16_t)v;

		memcpy(b + 2 * i, &w, 2);
	}
}

static uint32_t
cget(const struct rank_tracker *t, const uint8_t *b, uint32_t i)
{
	return t->bits == 4 ? cget_w(b, i, 4) : t->bits == 8 ? cget_w(b, i, 8) : cget_w(b, i, 16);
}

static void
cset(const struct rank_tracker *t, uint8_t *b, uint32_t i, uint32_t v)
{
	if (t->bits == 4)
		cset_w(b, i, v, 4);
	else if (t->bits == 8)
		cset_w(b, i, v, 8);
	else
		cset_w(b, i, v, 16);
}

/* Add w to counters [a, b) of a dense block; returns pages newly seen. */
static inline __attribute__((always_inline)) uint32_t
dense_add_w(struct rank_tracker *t, uint8_t *blk, uint32_t a, uint32_t b, uint32_t w,
    const uint32_t bits)
{
	uint32_t i, v, fresh = 0, none = (1u << bits) - 1, cap = none - 1;

	for (i = a; i < b; i++) {
		v = cget_w(blk, i, bits);
		if (v == none) {
			v = 0;
			fresh++;
		}
		v += w;
		if (v > cap || v < w) {
			t->saturated++;
			v = cap;
		}
		cset_w(blk, i, v, bits);
	}
	return fresh;
}

/* First slot >= s in [s, n) whose counter is not v (n if none). */
static inline __attribute__((always_inline)) uint32_t
skip_equal_w(const uint8_t *blk, uint32_t s, uint32_t n, uint32_t v, const uint32_t bits)
{
	while (s < n && cget_w(blk, s, bits) == v)
		s++;
	return s;
}

static uint32_t
skip_equal(const struct rank_tracker *t, const uint8_t *blk, uint32_t s, uint32_t n, uint32_t v)
{
	if (t->bits == 4)
		return skip_equal_w(blk, s, n, v, 4);
	if (t->bits == 8)
		return skip_equal_w(blk, s, n, v, 8);
	return skip_equal_w(blk, s, n, v, 16);
}

int
rank_trk_init(struct rank_tracker *t, uint32_t page_size, struct err *e)
{
	memset(t, 0, sizeof(*t));
	if (page_size < 512 || page_size > (1u << 20) || (page_size & (page_size - 1)))
		return err_set(e, EX_DATAERR, 0, "page size %u is not a power of two in 512..1M",
		    page_size);
	t->page_shift = (uint32_t)__builtin_ctz(page_size);
	t->bytes_max = RANK_TRK_BYTES_MAX_DEFAULT;
	rank_trk_reset(t, 254);
	return 0;
}

void
rank_trk_reset(struct rank_tracker *t, uint32_t max_count)
{
	t->bits = max_count <= 14 ? 4 : max_count <= 254 ? 8 : 16;
	t->cap = (1u << t->bits) - 2;
	t->nchunks = 0;
	t->nblocks = 0;
	t->last = 0;
	if (t->table)
		memset(t->table, 0, t->table_cap * sizeof(*t->table));
	memset(t->pages, 0, sizeof(t->pages));
	t->saturated = 0;
}

uint64_t
rank_trk_bytes(const struct rank_tracker *t)
{
	return sizeof(*t) + t->chunks_cap * sizeof(*t->chunks) +
	    t->table_cap * sizeof(*t->table) + t->pool_cap +
	    t->order_cap * sizeof(*t->order);
}

/* Refuse growth past the cap: a hostile stream must not make us allocate
 * without bound. */
static int
check_cap(const struct rank_tracker *t, uint64_t more, struct err *e)
{
	if (rank_trk_bytes(t) + more > t->bytes_max)
		return err_set(e, EX_DATAERR, 0,
		    "tracker memory limit of %llu MiB reached: the period describes too many pages",
		    (unsigned long long)(t->bytes_max >> 20));
	return 0;
}

static uint64_t
hash(uint32_t pid, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull ^ ((uint64_t)pid * 0xc2b2ae3d27d4eb4full);

	return h ^ (h >> 29);
}

static int
table_grow(struct rank_tracker *t, struct err *e)
{
	size_t ncap = t->table_cap ? t->table_cap * 2 : TABLE_MIN, i;
	uint32_t *nt;

	if (check_cap(t, ncap * sizeof(*nt), e) < 0)
		return -1;
	nt = calloc(ncap, sizeof(*nt));
	if (nt == NULL)
		return err_set(e, EX_OSERR, errno, "cannot grow the tracker table");
	for (i = 0; i < t->nchunks; i++) {
		const struct rank_trk_chunk *c = &t->chunks[i];
		size_t h = hash(c->pid, c->key) & (ncap - 1);

		while (nt[h] != 0)
			h = (h + 1) & (ncap - 1);
		nt[h] = (uint32_t)(i + 1);
	}
	free(t->table);
	t->table = nt;
	t->table_cap = ncap;
	return 0;
}

/* Find the chunk (pid, key), creating it with the run [lo, hi) = count
 * `weight` if absent. *created tells which. NULL on error. */
static struct rank_trk_chunk *
chunk_get(struct rank_tracker *t, uint32_t pid, uint64_t key, int *created,
    struct err *e)
{
	struct rank_trk_chunk *c;
	size_t h;

	if (t->last) {
		c = &t->chunks[t->last - 1];
		if (c->key == key && c->pid == pid) {
			*created = 0;
			return c;
		}
	}
	if ((t->nchunks + 1) * 2 > t->table_cap && table_grow(t, e) < 0)
		return NULL;
	h = hash(pid, key) & (t->table_cap - 1);
	while (t->table[h] != 0) {
		c = &t->chunks[t->table[h] - 1];
		if (c->key == key && c->pid == pid) {
			t->last = t->table[h];
			*created = 0;
			return c;
		}
		h = (h + 1) & (t->table_cap - 1);
	}
	if (t->nchunks == t->chunks_cap) {
		size_t ncap = t->chunks_cap ? t->chunks_cap * 2 : CHUNKS_MIN;
		struct rank_trk_chunk *nc;

		if (ncap > UINT32_MAX - 1)
			return err_set(e, EX_DATAERR, 0, "too many tracker chunks"), NULL;
		if (check_cap(t, (ncap - t->chunks_cap) * sizeof(*nc), e) < 0)
			return NULL;
		nc = realloc(t->chunks, ncap * sizeof(*nc));
		if (nc == NULL)
			return err_set(e, EX_OSERR, errno, "cannot grow the tracker"), NULL;
		t->chunks = nc;
		t->chunks_cap = ncap;
	}
	c = &t->chunks[t->nchunks++];
	memset(c, 0, sizeof(*c));
	c->key = key;
	c->pid = pid;
	t->table[h] = (uint32_t)t->nchunks;
	t->last = t->nchunks;
	*created = 1;
	return c;
}

/* Turn a UNIFORM chunk into a DENSE one with its own counter block. */
static int
make_dense(struct rank_tracker *t, struct rank_trk_chunk *c, struct err *e)
{
	size_t bb = block_bytes(t);
	uint32_t i, n = 1u << c->nslots_log;
	uint8_t *b;

	if ((t->nblocks + 1) * bb > t->pool_cap) {
		size_t ncap = t->pool_cap ? t->pool_cap * 2 : BLOCKS_MIN * bb;
		uint8_t *np;

		while (ncap < (t->nblocks + 1) * bb)
			ncap *= 2;
		if (check_cap(t, ncap - t->pool_cap, e) < 0)
			return -1;
		np = realloc(t->pool, ncap);
		if (np == NULL)
			return err_set(e, EX_OSERR, errno, "cannot grow the tracker pool");
		t->pool = np;
		t->pool_cap = ncap;
	}
	b = t->pool + t->nblocks * bb;
	memset(b, 0xff, bb);       /* all-ones = absent, for every width */
	for (i = c->lo; i < c->hi && i < n; i++)
		cset(t, b, i, c->val);
	c->val = (uint32_t)t->nblocks++;
	c->dense = 1;
	return 0;
}

/* Add weight w to slots [a, b) of chunk c. */
static int
chunk_add(struct rank_tracker *t, struct rank_trk_chunk *c, uint32_t a,
    uint32_t b, uint32_t w, uint8_t size, struct err *e)
{
	uint8_t *blk;

	if (!c->dense) {
		if (a == c->lo && b == c->hi) {
			if ((uint64_t)c->val + w > t->cap)
				t->saturated++;
			c->val = sat(t, (uint64_t)c->val + w);
			return 0;
		}
		if (w == 0 && a >= c->lo && b <= c->hi)
			return 0;
		/* Counts 0 before: the union stays one count when it is one run. */
		if (c->val == 0 && a <= c->lo && b >= c->hi) {
			t->pages[size] += (b - a) - (uint32_t)(c->hi - c->lo);
			c->lo = (uint16_t)a;
			c->hi = (uint16_t)b;
			c->val = sat(t, w);
			return 0;
		}
		if (c->val == 0 && w == 0 && a <= c->hi && b >= c->lo) {
			uint32_t lo = a < c->lo ? a : c->lo, hi = b > c->hi ? b : c->hi;

			t->pages[size] += (hi - lo) - (uint32_t)(c->hi - c->lo);
			c->lo = (uint16_t)lo;
			c->hi = (uint16_t)hi;
			return 0;
		}
		if (make_dense(t, c, e) < 0)
			return -1;
	}
	blk = t->pool + (size_t)c->val * block_bytes(t);
	if (t->bits == 4)
		t->pages[size] += dense_add_w(t, blk, a, b, w, 4);
	else if (t->bits == 8)
		t->pages[size] += dense_add_w(t, blk, a, b, w, 8);
	else
		t->pages[size] += dense_add_w(t, blk, a, b, w, 16);
	return 0;
}

int
rank_trk_add(struct rank_tracker *t, uint32_t pid, uint64_t start,
    uint64_t npages, uint8_t size, uint32_t weight, struct err *e)
{
	uint32_t cs, ws = window_shift(t);
	struct rank_trk_chunk *c;
	int created;

	if (size > 2)
		return err_set(e, EX_DATAERR, 0, "page size class %u is not 4K, 2M or 1G", size);
	cs = class_shift(t, size);
	if (start & ((1ull << cs) - 1))
		return err_set(e, EX_DATAERR, 0, "address 0x%llx is not aligned to its %s page",
		    (unsigned long long)start, size_names[size]);
	if (npages == 0)
		return 0;
	if (npages - 1 > ((UINT64_MAX - start) >> cs))
		return err_set(e, EX_DATAERR, 0, "extent 0x%llx + %llu %s pages wraps the address space",
		    (unsigned long long)start, (unsigned long long)npages, size_names[size]);

	if (size != 0) {
		/* Each huge page is a chunk of one slot. */
		uint64_t i;

		for (i = 0; i < npages; i++) {
			uint64_t addr = start + (i << cs);

			c = chunk_get(t, pid, (addr >> ws) << 2 | size, &created, e);
			if (c == NULL)
				return -1;
			if (created) {
				c->nslots_log = 0;
				c->lo = 0;
				c->hi = 1;
				c->val = sat(t, weight);
				t->saturated += weight > t->cap;
				t->pages[size]++;
			} else if (chunk_add(t, c, 0, 1, weight, size, e) < 0) {
				return -1;
			}
		}
		return 0;
	}

	/* Base pages: one window at a time. */
	{
		uint64_t first = start >> cs, end = first + npages, p = first;

		while (p < end) {
			uint64_t w = p >> WINDOW_LOG, wend = (w + 1) << WINDOW_LOG;
			uint32_t a = (uint32_t)(p & (RANK_TRK_SLOTS - 1));
			uint32_t b = wend <= end ? RANK_TRK_SLOTS : (uint32_t)(end & (RANK_TRK_SLOTS - 1));

			c = chunk_get(t, pid, w << 2, &created, e);
			if (c == NULL)
				return -1;
			if (created) {
				c->nslots_log = WINDOW_LOG;
				c->lo = (uint16_t)a;
				c->hi = (uint16_t)b;
				c->val = sat(t, weight);
				t->saturated += weight > t->cap;
				t->pages[0] += b - a;
			} else if (chunk_add(t, c, a, b, weight, 0, e) < 0) {
				return -1;
			}
			p = wend;
		}
	}
	return 0;
}

long long
rank_trk_get(const struct rank_tracker *t, uint32_t pid, uint64_t addr, uint8_t size)
{
	uint32_t ws = window_shift(t), slot;
	uint64_t key;
	size_t h;

	if (size > 2 || t->table_cap == 0)
		return -1;
	key = (addr >> ws) << 2 | size;
	slot = size == 0 ? (uint32_t)((addr >> t->page_shift) & (RANK_TRK_SLOTS - 1)) : 0;
	h = hash(pid, key) & (t->table_cap - 1);
	while (t->table[h] != 0) {
		const struct rank_trk_chunk *c = &t->chunks[t->table[h] - 1];

		if (c->key == key && c->pid == pid) {
			uint32_t v;

			if (!c->dense)
				return slot >= c->lo && slot < c->hi ? (long long)c->val : -1;
			v = cget(t, t->pool + (size_t)c->val * block_bytes(t), slot);
			return v == absent(t) ? -1 : (long long)v;
		}
		h = (h + 1) & (t->table_cap - 1);
	}
	return -1;
}

/* Output order: pid, window, then bigger page classes first, so that run
 * starts never go down within a pid. */
static int
chunk_cmp(const void *pa, const void *pb, void *arg)
{
	const struct rank_trk_chunk *chunks = arg;
	const struct rank_trk_chunk *a = &chunks[*(const uint32_t *)pa];
	const struct rank_trk_chunk *b = &chunks[*(const uint32_t *)pb];

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if ((a->key >> 2) != (b->key >> 2))
		return (a->key >> 2) < (b->key >> 2) ? -1 : 1;
	if ((a->key & 3) != (b->key & 3))
		return (a->key & 3) > (b->key & 3) ? -1 : 1;
	return 0;
}

int
rank_trk_sort(struct rank_tracker *t, struct err *e)
{
	size_t i;

	if (t->order_cap < t->nchunks) {
		uint32_t *no;

		if (check_cap(t, (t->nchunks - t->order_cap) * sizeof(*no), e) < 0)
			return -1;
		no = realloc(t->order, t->nchunks * sizeof(*no));
		if (no == NULL)
			return err_set(e, EX_OSERR, errno, "cannot sort the tracker");
		t->order = no;
		t->order_cap = t->nchunks;
	}
	for (i = 0; i < t->nchunks; i++)
		t->order[i] = (uint32_t)i;
	if (t->nchunks > 1)
		qsort_r(t->order, t->nchunks, sizeof(*t->order), chunk_cmp, t->chunks);
	return 0;
}

void
rank_trk_iter_init(struct rank_trk_iter *it)
{
	memset(it, 0, sizeof(*it));
}

/* The next run of equal counts inside one chunk, in slot order. */
static int
next_segment(const struct rank_tracker *t, struct rank_trk_iter *it, struct rank_run *r)
{
	while (it->pos < t->nchunks) {
		const struct rank_trk_chunk *c = &t->chunks[t->order[it->pos]];
		uint8_t size = (uint8_t)(c->key & 3);
		uint64_t base = (c->key >> 2) << window_shift(t);
		uint32_t n = 1u << c->nslots_log, s, v, none = absent(t);
		const uint8_t *blk;

		r->pid = c->pid;
		r->size = size;
		if (!c->dense) {
			it->pos++;
			r->start = base + ((uint64_t)c->lo << t->page_shift);
			r->npages = (uint64_t)(c->hi - c->lo);
			r->count = c->val;
			return 1;
		}
		blk = t->pool + (size_t)c->val * block_bytes(t);
		s = skip_equal(t, blk, it->slot, n, none);
		if (s == n) {
			it->pos++;
			it->slot = 0;
			continue;
		}
		v = cget(t, blk, s);
		r->start = base + ((uint64_t)s << t->page_shift);
		r->count = v;
		it->slot = s;
		s = skip_equal(t, blk, s, n, v);
		r->npages = s - it->slot;
		it->slot = s;
		if (s == n) {
			it->pos++;
			it->slot = 0;
		}
		return 1;
	}
	return 0;
}

int
rank_trk_next(const struct rank_tracker *t, struct rank_trk_iter *it, struct rank_run *out)
{
	struct rank_run seg;

	while (next_segment(t, it, &seg)) {
		struct rank_run *p = &it->pending;

		if (it->have && p->pid == seg.pid && p->size == seg.size &&
		    p->count == seg.count &&
		    p->start + (p->npages << class_shift(t, p->size)) == seg.start) {
			p->npages += seg.npages;
			continue;
		}
		if (it->have) {
			*out = *p;
			*p = seg;
			return 1;
		}
		*p = seg;
		it->have = 1;
	}
	if (it->have) {
		*out = it->pending;
		it->have = 0;
		return 1;
	}
	return 0;
}

void
rank_trk_free(struct rank_tracker *t)
{
	free(t->chunks);
	free(t->table);
	free(t->pool);
	free(t->order);
	memset(t, 0, sizeof(*t));
}
