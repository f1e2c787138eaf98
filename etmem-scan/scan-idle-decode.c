/* SPDX-License-Identifier: MIT */
/*
 * scan-idle-decode.c - the openEuler idle_pages byte stream -> runs.
 *
 * Pure: no I/O, no state between calls. The format (kernel-interfaces.md
 * §1.6): a byte is a run (high nibble type, low nibble count) or the address
 * command 0xA0 followed by the VA in 8 big-endian bytes. Every run advances
 * the cursor by count units, holes included. This file does not decide what
 * a run means for ranking beyond the weight table of the original
 * (scan_idle_access); clipping to VMAs is the walker's job.
 */
#include "scan.h"

#include <sysexits.h>

#include "err.h"

/* Unit size of a run type: the page-table geometry of the base page size
 * (4K pages -> PTE 4 KiB, PMD 2 MiB, PUD 1 GiB; 64K -> 64K/512M/4T). */
static uint64_t
unit_bytes(uint8_t type, uint32_t page_size)
{
	unsigned shift = 0;

	while ((1u << shift) < page_size)
		shift++;
	switch (type) {
	case SCAN_IDLE_PTE_ACCESSED:
	case SCAN_IDLE_PTE_DIRTY:
	case SCAN_IDLE_PTE_IDLE:
	case SCAN_IDLE_PTE_HOLE:
		return page_size;
	case SCAN_IDLE_PMD_ACCESSED:
	case SCAN_IDLE_PMD_DIRTY:
	case SCAN_IDLE_PMD_IDLE:
	case SCAN_IDLE_PMD_IDLE_PTES:
	case SCAN_IDLE_PMD_HOLE:
		return 1ull << ((shift - 3) * 2 + 3);
	case SCAN_IDLE_PUD_PRESENT:
		return 1ull << ((shift - 3) * 3 + 3);
	default:
		return 0;
	}
}

int
scan_idle_decode(const uint8_t *buf, size_t len, uint64_t pos,
    uint32_t page_size, scan_idle_emit_fn fn, void *arg, uint64_t *end,
    struct scan_idle_stats *st, struct err *e)
{
	struct scan_idle_stats dummy = { 0 };
	uint64_t cursor = pos;
	size_t i = 0;
	int r;

	if (st == NULL)
		st = &dummy;
	while (i < len) {
		uint8_t b = buf[i], type = b >> 4, count = b & 0xf;
		struct scan_idle_run run;

		if (b == SCAN_IDLE_CMD_BYTE) {
			uint64_t va = 0;
			unsigned k;

			if (len - i < SCAN_IDLE_CMD_LEN) {
				/* The original stops here too; the walker
				 * re-reads from the kernel's position. */
				st->truncated_cmd++;
				break;
			}
			for (k = 1; k < SCAN_IDLE_CMD_LEN; k++)
				va = va << 8 | buf[i + k];
			cursor = va;
			st->cmds++;
			i += SCAN_IDLE_CMD_LEN;
			continue;
		}
		if (type > SCAN_IDLE_PMD_HOLE)
			return err_set(e, EX_DATAERR, 0,
			    "idle_pages byte offset %zu: bad byte 0x%02x (type %u)",
			    i, b, type);
		i++;
		if (count == 0)
			continue;   /* never written by the kernel; harmless */
		run.type = type;
		run.units = count;
		run.unit_bytes = unit_bytes(type, page_size);
		run.start = cursor;
		if (cursor + count * run.unit_bytes < cursor)
			return err_set(e, EX_DATAERR, 0,
			    "idle_pages byte offset %zu: run at 0x%llx wraps the "
			    "address space", i - 1, (unsigned long long)cursor);
		cursor += count * run.unit_bytes;
		if (type == SCAN_IDLE_PTE_HOLE || type == SCAN_IDLE_PMD_HOLE)
			st->holes++;
		else if (run.start % run.unit_bytes != 0) {
			st->misaligned++;
			continue;
		}
		st->runs++;
		if (fn != NULL && (r = fn(&run, arg)) < 0)
			return r;
	}
	if (end != NULL)
		*end = cursor;
	return 0;
}

int
scan_idle_access(const struct scan_idle_run *r, uint32_t page_size,
    struct etmr_access *a)
{
	a->start = r->start;
	a->node = ETMR_NODE_NONE;
	a->age = 0;
	a->flags = 0;
	a->count = 0;
	a->npages = r->units;
	switch (r->type) {
	case SCAN_IDLE_PTE_ACCESSED:
		a->size = ETMR_SIZE_4K;
		a->count = 1;
		break;
	case SCAN_IDLE_PTE_DIRTY:
		a->size = ETMR_SIZE_4K;
		a->count = 3;
		a->flags = ETMR_F_DIRTY;
		break;
	case SCAN_IDLE_PTE_IDLE:
		a->size = ETMR_SIZE_4K;
		a->flags = ETMR_F_IDLE;
		break;
	case SCAN_IDLE_PMD_ACCESSED:
		a->size = ETMR_SIZE_2M;
		a->count = 1;
		break;
	case SCAN_IDLE_PMD_DIRTY:
		a->size = ETMR_SIZE_2M;
		a->count = 3;
		a->flags = ETMR_F_DIRTY;
		break;
	case SCAN_IDLE_PMD_IDLE:
		a->size = ETMR_SIZE_2M;
		a->flags = ETMR_F_IDLE;
		break;
	case SCAN_IDLE_PMD_IDLE_PTES:
		/* A PTE table seen as a whole: its base pages, all idle. */
		a->size = ETMR_SIZE_4K;
		a->npages = r->units * (r->unit_bytes / page_size);
		a->flags = ETMR_F_IDLE;
		break;
	case SCAN_IDLE_PUD_PRESENT:
		/* The kernel gives no access bit for PUD mappings. Reporting
		 * them accessed keeps 1 GiB pages out of every cold set (they
		 * cannot be swapped anyway); the ranker sees size 1G. */
		a->size = ETMR_SIZE_1G;
		a->count = 1;
		break;
	default:
		return -1;
	}
	return 0;
}
