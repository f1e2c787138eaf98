/* SPDX-License-Identifier: MIT */
/*
 * scan.h - etmem-scan's core/backend split (DAMON's ops shape).
 *
 * The core (scan.c) owns the loop, the timing, target resolution, VMA
 * selection, the PROC facts and the PERIOD frame. A backend
 * (scan-<name>.c) only knows how to obtain access data from one kernel
 * interface: it exports one const struct scan_ops and keeps its state in
 * ctx->priv. The hooks below are called in this order per period:
 *   probe (once) -> init (once) -> [prepare -> collect] x loop -> ... -> fini
 */
#ifndef ETMEM_SCAN_H
#define ETMEM_SCAN_H

#include <stdint.h>
#include <sys/types.h>

#include "etmem/record.h"

struct err;

#define SCAN_TARGETS_MAX 1024

/* One target process of the current period. */
struct scan_target {
	pid_t pid;
	uint64_t start_time;    /* identity: /proc/PID/stat field 22 */
	struct etmr_vma *vmas;  /* selected VMAs, address order (core-owned) */
	size_t nvmas;
};

/* Settings the core passes to every backend. */
struct scan_env {
	uint32_t page_size;
	int swap_flag;          /* only VMAs marked MADV_SWAPFLAG (idle_pages) */
	int hugetlb_only;       /* vm_flags=ht */
	int anon_only;
	/* DAMON monitoring attributes (0 = backend default) */
	uint64_t sample_us, aggr_us, update_us;
	uint64_t min_nr_regions, max_nr_regions;
};

struct scan_ctx {
	const struct scan_env *env;
	struct scan_target *targets;  /* core-owned, refreshed each period */
	size_t ntargets;
	uint32_t period, round, loop; /* current position */
	void *priv;                   /* backend state */
};

struct scan_ops {
	const char *name;             /* "idle_pages", "page_idle", "damon", "smaps" */
	uint16_t backend;             /* enum etmr_backend for the stream header */
	/* Can this kernel serve us? 0 yes; -1 with e->code = EX_UNAVAILABLE and a
	 * message naming the kernel option or module, or EX_NOPERM. */
	int (*probe)(const struct scan_env *env, struct err *e);
	/* Once, after probe, before the first period. NULL = nothing. */
	int (*init)(struct scan_ctx *ctx, struct err *e);
	/* At the start of each pass, before the core waits `interval`: start a
	 * fresh window (clear_refs, mark idle). A backend whose collect already
	 * resets the bits (idle_pages) only needs to act when ctx->round == 1.
	 * NULL = nothing. */
	int (*prepare)(struct scan_ctx *ctx, struct err *e);
	/* One pass: write the ACCESS items of every target to w. A target that
	 * vanished is skipped (logged), not an error. */
	int (*collect)(struct scan_ctx *ctx, struct etmr_writer *w, struct err *e);
	/* Once at exit, also after errors and SIGTERM. NULL = nothing. */
	void (*fini)(struct scan_ctx *ctx);
};

/* Backends in --backend auto order. */
extern const struct scan_ops scan_idle_pages;
extern const struct scan_ops scan_page_idle;
extern const struct scan_ops scan_damon;
extern const struct scan_ops scan_smaps;

#endif /* ETMEM_SCAN_H */
