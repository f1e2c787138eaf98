/* SPDX-License-Identifier: MIT */
/*
 * migrate.h - etmem-migrate's core/backend split (DAMON's ops shape).
 *
 * The core (migrate.c) reads the ranker's stream, keeps a period's DECISION
 * items until its PERIOD arrives, then for each process named in them:
 * pins it with a pidfd, checks its start time, validates every decision
 * against the process's current mappings (clipping it to the VMAs it may
 * touch), batches the result, hands each batch to a backend, and counts.
 * A backend (mig-<name>.c) only knows how to move pages through one kernel
 * interface; it exports one const struct mig_ops and keeps per-process state
 * in ctx->priv. What a backend cannot do is counted, never dropped silently.
 *
 * Hooks per process and period: open -> apply x batches -> [swapcache] -> close.
 */
#ifndef ETMEM_MIGRATE_H
#define ETMEM_MIGRATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "etmem/record.h"

struct ctl_stage;
struct err;
struct mig_stats;

#define MIG_BATCH_MAX 1024u              /* ranges per apply(): the iovec limit */
#define MIG_RANGE_BYTES_MAX (1ull << 30) /* one range; keeps a batch far below MAX_RW_COUNT */
#define MIG_WMARK_MAX 100u

/* Settings of one run (from the command line). */
struct mig_env {
	uint32_t page_size;           /* base page size of this system */
	int dry_run;                  /* validate and print the plan; touch nothing */
	const pid_t *only;            /* -p PID restriction; n_only == 0: none */
	size_t n_only;
	const struct mig_ops *force;  /* --backend; NULL = choose per process */
	unsigned wmark_high, wmark_low; /* swapcache watermarks in %; 0 = unset */
	uint64_t node_quota_bytes;    /* numa: per node and period; 0 = none */
};

/* A validated piece of a decision: whole base pages inside one VMA that the
 * process owns privately, at most MIG_RANGE_BYTES_MAX long. */
struct mig_range {
	uint64_t start;
	uint64_t npages;              /* base pages */
};

/* The process a backend acts on; the core owns pid, pidfd and env. */
struct mig_ctx {
	const struct mig_env *env;
	pid_t pid;
	int pidfd;                    /* pins the process (pidfd_open) */
	void *priv;                   /* backend state, from open to close */
	/* Every range of one apply() comes from decisions with this action,
	 * node and page size class (numa: the target node and the stride of
	 * move_pages; swap ignores them). Set by the core before each call. */
	uint16_t node;
	uint8_t size;
	uint8_t action;
};

struct mig_ops {
	const char *name;             /* "swap_pages", "madvise" */
	uint8_t action;               /* enum etmr_action it performs */
	/* Can this kernel serve us at all? 0 yes; -1 with e->code =
	 * EX_UNAVAILABLE and a message naming the module or kernel option. */
	int (*probe)(const struct mig_env *env, struct err *e);
	/* Does it serve this process (e.g. its swap_pages file exists)? 1/0. */
	int (*usable)(const struct mig_env *env, pid_t pid);
	/* Before the first batch for ctx->pid. NULL = nothing. -1 with
	 * e->errnum = ESRCH when the process is gone. */
	int (*open)(struct mig_ctx *ctx, struct err *e);
	/* Act on n <= MIG_BATCH_MAX validated ranges. Returns the base pages the
	 * kernel accepted (>= 0; failed pieces are counted in st->skipped_failed
	 * and st->bytes_skipped), or -1 when nothing more can be done for this
	 * process (e->errnum ESRCH: it vanished; EPERM/EACCES: no permission). */
	long long (*apply)(struct mig_ctx *ctx, const struct mig_range *r, size_t n,
	    struct mig_stats *st, struct err *e);
	/* Swapcache watermarks (openEuler etmem_swap): set them (first != 0)
	 * and start reclaim. NULL = unsupported by this backend. */
	int (*swapcache)(struct mig_ctx *ctx, unsigned high, unsigned low,
	    int first, struct err *e);
	/* After the last batch, also after errors. NULL = nothing. */
	void (*close)(struct mig_ctx *ctx);
};

extern const struct mig_ops mig_swap_pages;
extern const struct mig_ops mig_madvise;
extern const struct mig_ops mig_move_pages;   /* numa: demote/promote */

#define MIG_NODES_MAX 256u            /* numa: nodes the quota ledger tracks */

/*
 * Counters of one period. skipped_* count decision pieces (a decision cut by
 * a VMA boundary can be skipped in part); their bytes add up in
 * bytes_skipped. bytes_accepted is what the kernel took (swap_pages: pages
 * written; madvise: bytes advised); bytes_swapped is what really left RAM
 * (the targets' VmSwap growth).
 */
struct mig_stats {
	uint64_t decisions;
	uint64_t bytes_requested;
	uint64_t bytes_accepted;
	uint64_t bytes_swapped;
	uint64_t bytes_skipped;
	uint64_t processes;
	uint64_t skipped_vanished;    /* pid gone */
	uint64_t skipped_recycled;    /* pid reused: start time differs */
	uint64_t skipped_filtered;    /* not in -p */
	uint64_t skipped_unmapped;    /* no mapping there now */
	uint64_t skipped_special;     /* [vdso], [vvar], ... */
	uint64_t skipped_shared;      /* MAP_SHARED: other processes' memory too */
	uint64_t skipped_locked;      /* mlocked VMA */
	uint64_t skipped_unsupported; /* action this subcommand cannot do */
	uint64_t skipped_failed;      /* the kernel refused the range */
	uint64_t skipped_stopped;     /* SIGTERM/STOP came first */
	uint64_t swapcache_reclaims;  /* RECLAIM_SWAPCACHE_ON sent */
	/* numa (move_pages), per page of the decision's size class. */
	uint64_t pages_moved;
	uint64_t pages_already;       /* already on the target node */
	uint64_t pages_busy;          /* -EBUSY */
	uint64_t pages_swapped;       /* -ENOENT: not present */
	uint64_t pages_unmapped;      /* -EFAULT */
	uint64_t pages_failed;        /* any other refusal (ENODEV, ENOMEM...) */
	uint64_t pages_over_quota;    /* cut by --node-mig-quota */
	/* Quota ledger of the period: bytes moved into or out of each node.
	 * Lives here because it has the period's lifetime (reset with the
	 * counters); not a reported key. */
	uint64_t node_bytes[MIG_NODES_MAX];
};

/* The counters as (key, offset) for the stream and for `stats`. */
struct mig_stat_key {
	const char *key;
	size_t off;
};
extern const struct mig_stat_key mig_stat_keys[];
extern const size_t mig_stat_nkeys;

/* One VMA as the validator sees it. */
enum mig_vma_kind {
	MIG_VMA_OK = 0,
	MIG_VMA_SPECIAL,
	MIG_VMA_SHARED,
	MIG_VMA_LOCKED,
};
struct mig_vma {
	uint64_t start, end;
	enum mig_vma_kind kind;
};

/* A growable array of ranges. */
struct mig_ranges {
	struct mig_range *v;
	size_t n, cap;
};

/* Set by the SIGTERM handler / a STOP request: finish the batch, then stop. */
extern volatile sig_atomic_t mig_stopping;

/* migrate.c */
/* Clip decision d (pages of `stream_page` based size classes) against the
 * address-ordered VMAs v: usable parts are appended to out as base-page
 * ranges of at most MIG_RANGE_BYTES_MAX, the rest counted in st. -1 only
 * when out of memory. */
int mig_clip(const struct etmr_decision *d, uint32_t stream_page,
    uint32_t page_size, const struct mig_vma *v, size_t nv,
    struct mig_ranges *out, struct mig_stats *st, struct err *e);
void mig_ranges_free(struct mig_ranges *r);
/* Render the counters as "key value\n" lines (for ctl `stats`). */
void mig_stats_text(const struct mig_stats *st, char *buf, size_t len);
/* Whether the swapcache trigger fires (exact form of the original's check,
 * engine-algorithms §2.1 step 5, without its integer-division error). */
int mig_swapcache_due(uint64_t mem_total_kb, uint64_t swap_cached_kb,
    unsigned high);

/* The core, run by main(): reads in_fd, writes out_fd. Returns the exit
 * status (0, or EX_DATAERR and others with e filled). */
struct mig_run_opts {
	const struct mig_env *env;
	int text;                     /* --text output */
	struct ctl_stage *ctl;        /* may be disabled */
};
int mig_run(const struct mig_run_opts *o, int in_fd, int out_fd, struct err *e);

#endif /* ETMEM_MIGRATE_H */
