/* SPDX-License-Identifier: MIT */
/*
 * rank-tracker.h - the compact per-period access tracker of etmem-rank.
 *
 * The original etmem keeps one heap node per scanned page and merges rounds
 * by walking a sorted list (W-1: ~26 M nodes for a 100 GiB process). This
 * tracker keeps the same information - the sum of a page's per-round
 * weights over the rounds of one period - in flat arrays:
 *
 *  - The address space of a pid is cut into windows of 512 base pages
 *    (2 MiB with 4 KiB pages). A window that holds base pages is one
 *    "chunk"; each huge page (PMD or PUD size) is a chunk of its own.
 *  - A chunk is UNIFORM while its present pages form one run [lo, hi) with
 *    one count (the common case: the scanner reports the same extents every
 *    round), costing 24 bytes per 512 pages. It turns DENSE when rounds
 *    disagree inside it: then it owns a block of 512 counters of 4, 8 or 16
 *    bits, chosen once per period from the largest count that matters, with
 *    the all-ones value meaning "never seen this period".
 *  - Chunks live in one array; an open-addressing table of 32-bit indices
 *    finds them; dense blocks live in one pool. Nothing is allocated per
 *    page, and everything is reused from period to period.
 *
 * Counts saturate at the largest value the counter width can hold; the
 * width is chosen so that this cap is >= every threshold the engine can use,
 * so saturation never changes a hot/cold decision or a cold page's score.
 *
 * Pages missing from a round simply add nothing for it (they count 0 for
 * that round). A page size class is tracked on its own: a THP that is split
 * during a period shows up as a 2M page and as 4K pages at the same address.
 *
 * Not thread-safe; one tracker per ranker.
 */
#ifndef ETMEM_RANK_TRACKER_H
#define ETMEM_RANK_TRACKER_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define RANK_TRK_SLOTS 512u                  /* base pages per window */
#define RANK_TRK_BYTES_MAX_DEFAULT (1ull << 30) /* memory cap per period */

struct rank_trk_chunk {
	uint64_t key;           /* window << 2 | size class */
	uint32_t pid;
	uint32_t val;           /* UNIFORM: the count; DENSE: block index */
	uint16_t lo, hi;        /* UNIFORM: present slots [lo, hi) */
	uint8_t dense;
	uint8_t nslots_log;     /* 9 for base pages, 0 for a huge page */
};

struct rank_tracker {
	uint32_t page_shift;    /* log2 of the base page size */
	uint32_t bits;          /* dense counter width: 4, 8 or 16 */
	uint32_t cap;           /* counts saturate here (all-ones - 1) */
	uint64_t bytes_max;     /* refuse to grow past this (hostile input) */

	struct rank_trk_chunk *chunks;
	size_t nchunks, chunks_cap;
	uint32_t *table;        /* chunk index + 1; 0 = empty slot */
	size_t table_cap;       /* power of two */
	uint8_t *pool;          /* dense blocks of 512 counters each */
	size_t nblocks, pool_cap; /* pool_cap in bytes (the width may change) */
	size_t last;            /* index + 1 of the chunk hit last (0 = none) */

	uint32_t *order;        /* chunk indices in output order (rank_trk_sort) */
	size_t order_cap;

	uint64_t pages[3];      /* tracked pages per size class (distinct) */
	uint64_t saturated;     /* additions that hit the cap */
};

/* One maximal run of contiguous pages of one pid and size class with one
 * count, as produced by rank_trk_next(). */
struct rank_run {
	uint32_t pid;
	uint8_t size;           /* enum etmr_size */
	uint32_t count;
	uint64_t start;
	uint64_t npages;
};

/* An iterator over runs in output order: pid, then address; at one address
 * bigger pages first (so starts never decrease within a pid). */
struct rank_trk_iter {
	size_t pos;             /* index into order[] */
	uint32_t slot;          /* next slot inside the current chunk */
	int have;               /* `pending` holds a run not yet returned */
	struct rank_run pending;
};

/* rank-tracker.c */
/* page_size: the stream's base page size (power of two, 512..1 MiB). */
int rank_trk_init(struct rank_tracker *t, uint32_t page_size, struct err *e);
/* Start a new period: forget all pages (memory is kept for reuse).
 * max_count: the largest count whose exact value matters (3 * loop for
 * slide); it picks the counter width. */
void rank_trk_reset(struct rank_tracker *t, uint32_t max_count);
/* Add `weight` to npages pages of class `size` from `start` of pid.
 * -1 with EX_DATAERR if the extent is misaligned, wraps or the memory cap
 * is reached; EX_OSERR if memory runs out. Nothing is changed on error
 * except for pages of the extent already added (the caller fails the
 * stream). */
int rank_trk_add(struct rank_tracker *t, uint32_t pid, uint64_t start,
    uint64_t npages, uint8_t size, uint32_t weight, struct err *e);
/* Count of one page, or -1 if it is not tracked (tests, debugging). */
long long rank_trk_get(const struct rank_tracker *t, uint32_t pid,
    uint64_t addr, uint8_t size);
/* Sort chunks into output order; call once before iterating. */
int rank_trk_sort(struct rank_tracker *t, struct err *e);
void rank_trk_iter_init(struct rank_trk_iter *it);
/* 1: *out is the next run; 0: no more. */
int rank_trk_next(const struct rank_tracker *t, struct rank_trk_iter *it,
    struct rank_run *out);
/* Bytes of memory the tracker holds (capacity, not just use). */
uint64_t rank_trk_bytes(const struct rank_tracker *t);
void rank_trk_free(struct rank_tracker *t);

#endif /* ETMEM_RANK_TRACKER_H */
