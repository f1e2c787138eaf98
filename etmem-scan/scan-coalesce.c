/* SPDX-License-Identifier: MIT */
/*
 * scan-coalesce.c - merge adjacent ACCESS items of equal state into extents.
 *
 * Backends hand over items in address order per pid; this keeps one pending
 * extent and extends it while the next item continues it exactly (same pid,
 * size class, count, flags, node and age, starting where it ends). Anything
 * else closes it. That is what makes a cold 1 TiB range one record.
 */
#include "scan.h"

#include <string.h>

#include "etmem/record.h"

void
scan_coalesce_init(struct scan_coalesce *c, struct etmr_writer *w,
    uint32_t page_size, struct scan_counters *cnt)
{
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->page_size = page_size;
	c->cnt = cnt;
}

static int
continues(const struct etmr_access *cur, const struct etmr_access *a,
    uint32_t page_size)
{
	uint64_t bytes = etmr_size_bytes(cur->size, page_size);

	return cur->pid == a->pid && cur->size == a->size &&
	    cur->count == a->count && cur->flags == a->flags &&
	    cur->node == a->node && cur->age == a->age &&
	    cur->start + cur->npages * bytes == a->start;
}

int
scan_coalesce_add(struct scan_coalesce *c, const struct etmr_access *a,
    struct err *e)
{
	if (a->npages == 0)
		return 0;
	if (c->cnt != NULL) {
		uint64_t base = a->npages *
		    (etmr_size_bytes(a->size, c->page_size) / c->page_size);

		c->cnt->pages_scanned += base;
		if (a->count > 0)
			c->cnt->pages_accessed += base;
	}
	if (c->have && continues(&c->cur, a, c->page_size)) {
		c->cur.npages += a->npages;
		return 0;
	}
	if (scan_coalesce_flush(c, e) < 0)
		return -1;
	c->cur = *a;
	c->have = 1;
	return 0;
}

int
scan_coalesce_flush(struct scan_coalesce *c, struct err *e)
{
	if (!c->have)
		return 0;
	c->have = 0;
	if (c->cnt != NULL)
		c->cnt->extents++;
	return etmr_write_access(c->w, &c->cur, e);
}
