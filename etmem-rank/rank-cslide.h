/* SPDX-License-Identifier: MIT */
/*
 * rank-cslide.h - private to the cslide engine: the pure planning step
 * (rank-cslide-plan.c) and the per-node facts it works from.
 *
 * The plan knows nothing of streams, sysfs or move_pages: it takes the
 * period's 2 MiB pages (pid, address, count, current node), the node pairs,
 * each node's hugepage totals and the three knobs, and marks which pages
 * move where (engine-algorithms.md §4.3: promote, prefetch, demote). The
 * engine (rank-cslide.c) gathers the inputs and turns marks into decisions.
 */
#ifndef ETMEM_RANK_CSLIDE_H
#define ETMEM_RANK_CSLIDE_H

#include <stddef.h>
#include <stdint.h>

#include "etmem/record.h"

struct err;

#define CSLIDE_NODES_MAX 64u           /* node ids 0..63 */
#define CSLIDE_HUGE_BYTES (2ull << 20) /* the only page size cslide counts */
#define CSLIDE_NODE_NONE 0xffffu

/* A pair: hot is the DRAM node, cold the AEP/PMEM node (the original's
 * order: "2,0;3,1" is DRAM 2 with AEP 0, DRAM 3 with AEP 1). */
struct cslide_pair {
	int hot, cold;
};

struct cslide_pairs {
	struct cslide_pair v[CSLIDE_NODES_MAX / 2];
	size_t n;
};

/* Hugepage facts of a node, in bytes (2 MiB pages only, as the original). */
struct cslide_node_mem {
	uint64_t total, free;
	int known;                  /* facts were available for this node */
};

/* One 2 MiB page of the period. */
struct cslide_page {
	uint64_t addr;
	uint32_t pid;
	uint32_t count;             /* accesses over the period's rounds */
	uint16_t node;              /* where it is now; CSLIDE_NODE_NONE = unknown */
	uint8_t act;                /* out: enum cslide_act */
	uint8_t pad;
};

enum cslide_act {
	CSLIDE_KEEP = 0,
	CSLIDE_PROMOTE,             /* phase A: hot, AEP -> DRAM */
	CSLIDE_PREFETCH,            /* phase B: warm, AEP -> DRAM */
	CSLIDE_DEMOTE,              /* phase C: cold, DRAM -> AEP */
};

struct cslide_params {
	uint32_t hot_threshold;     /* count >= this is hot (clamped to max_count + 1) */
	uint32_t max_count;         /* largest count (3 * loop) */
	uint64_t quota;             /* bytes per pair per period, both directions */
	uint64_t reserve;           /* bytes of DRAM hugepages to keep free */
};

/* What the plan did for one pair (bytes). */
struct cslide_pair_result {
	uint64_t promoted, prefetched, demoted;
	uint64_t quota_left;
};

/* ---- the engine's state (rank-cslide.c, -facts.c, -show.c) ---- */

/* One (pid, 2 MiB window) as seen in one round of the period. */
struct cslide_seen {
	uint64_t win;               /* 2 MiB-aligned address */
	uint32_t pid;
	uint32_t round;
	uint32_t count;             /* largest count of any part this round */
	uint16_t node;              /* from the ACCESS item; NODE_NONE if unset */
};

/* Where a pid's pages were, before the period's moves (show commands). */
struct cslide_usage {
	uint32_t pid;
	uint64_t hot_kb[CSLIDE_NODES_MAX], cold_kb[CSLIDE_NODES_MAX];
};

struct cslide_cfg {
	struct cslide_pairs pairs;
	long long hot_threshold, quota_mb, reserve_mb;  /* -1 = not given */
	const char *node_pair, *vm_flags, *anon_only, *ign_host, *sys_root;
};

struct cslide {
	struct cslide_cfg cfg;
	uint32_t round;             /* of the period being read */
	struct cslide_seen *seen;
	size_t nseen, seen_cap;
	struct cslide_page *pages;
	size_t npages, pages_cap;
	uint64_t skipped_1g, skipped_other; /* items of the period not counted */
	uint64_t locate_refused;    /* pids not asked: not the PROC item's process */
	int warned_live;            /* logged once: live locating is not replayable */
	/* The last period's picture, for showtaskpages/showhostpages. */
	int have_snap;
	uint64_t snap_time_ns;
	int nnodes;                 /* rows to show: nodes 0..nnodes-1 */
	struct cslide_node_mem mem[CSLIDE_NODES_MAX];
	struct cslide_usage *use;   /* by ascending pid */
	size_t nuse, use_cap;
};

/* rank-cslide-facts.c */
/* Whether <sys-root>/sys/devices/system/node/node<N> exists; the number of
 * such nodes (highest id + 1) in *nnodes. */
int cslide_node_exists(int node);
int cslide_node_count(void);
/* Hugepage facts of nodes 0..nnodes-1: from the upstream STAT items
 * huge2m_total_n<N> / huge2m_free_n<N> (pages) when the stream has them,
 * else from sysfs now. Returns 1 if taken from the stream, 0 from sysfs,
 * -1 if a node of a pair has no facts at all (e filled). */
int cslide_node_mem(struct cslide_node_mem *mem, int nnodes,
    const struct etmr_stat *us, size_t nus, const struct cslide_pairs *pairs,
    struct err *e);
/* Fill the node of pages[0..n) of pid whose node is unknown, asking the
 * kernel (move_pages with no target). Returns pages located, -1 if the
 * process is gone (pages stay unknown). */
long cslide_locate(uint32_t pid, struct cslide_page *pages, size_t n);

/* rank-cslide-show.c */
struct ctl_stage;
struct ctl_msg;
struct rank_ctx;
/* Rebuild the usage picture from the period's pages (before moves). */
int cslide_snapshot(struct cslide *cs, uint32_t hot_threshold, uint64_t time_ns);
/* The original's two tables (engine-algorithms.md §4.5) into buf. */
int cslide_show_task(const struct cslide *cs, uint32_t pid, char *buf, size_t len);
int cslide_show_host(const struct cslide *cs, char *buf, size_t len);
/* rank_ops.ctl: SHOW_TASK_PAGES (payload: optional pid) / SHOW_HOST_PAGES. */
int cslide_ctl(struct rank_ctx *ctx, struct ctl_stage *s, const struct ctl_msg *m);

/* rank-cslide-plan.c */
/* Parse "hot,cold;hot,cold" (';' or ' ' between pairs, ',' or ' ' inside).
 * -1 with EX_USAGE naming the bad part: not two numbers, a node twice, an
 * id >= CSLIDE_NODES_MAX. Existence of the nodes is checked elsewhere. */
int cslide_parse_pairs(const char *s, struct cslide_pairs *out, struct err *e);
/*
 * Mark pages[].act for one period. pages must be in (pid, address) order;
 * mem[node] for every node of every pair. Pages on a node of no pair, or
 * whose node is unknown, stay CSLIDE_KEEP. res (may be NULL) gets one
 * entry per pair. Deterministic: the same input gives the same marks.
 */
void cslide_plan(const struct cslide_params *p, const struct cslide_pairs *pairs,
    const struct cslide_node_mem *mem, struct cslide_page *pages, size_t n,
    struct cslide_pair_result *res);

#endif /* ETMEM_RANK_CSLIDE_H */
