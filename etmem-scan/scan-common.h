/* SPDX-License-Identifier: MIT */
/*
 * scan-common.h - helpers shared by etmem-scan's core and backends; private
 * to etmem-scan (never included by another tool or by a public header).
 */
#ifndef ETMEM_SCAN_COMMON_H
#define ETMEM_SCAN_COMMON_H

#include "scan.h"

#include "etmem/record.h"

/* The flags an ACCESS item inherits from its VMA (anon/file/shared/hugetlb/
 * swapflag); granularity and state flags are the backend's. */
static inline uint32_t
scan_vma_item_flags(const struct etmr_vma *v)
{
	return v->flags & (ETMR_F_ANON | ETMR_F_FILE | ETMR_F_SHARED |
	    ETMR_F_HUGETLB | ETMR_F_SWAPFLAG);
}

/* Base pages of a VMA. */
static inline uint64_t
scan_vma_pages(const struct etmr_vma *v, uint32_t page_size)
{
	return (v->end - v->start) / page_size;
}

/* scan.c */
/* Log (at info, once per target and period) that a target went away and
 * count it; backends call this instead of failing the pass. */
void scan_target_gone(struct scan_ctx *ctx, const struct scan_target *t,
    const char *backend, const char *why);

#endif /* ETMEM_SCAN_COMMON_H */
