/* SPDX-License-Identifier: MIT */
/*
 * scan.h - etmem-scan's core/backend split (DAMON's ops shape).
 *
 * The core (scan.c) owns the loop, the timing, target resolution, VMA
 * selection, the PROC facts and the PERIOD frame (the last four through
 * lib/source.h, shared with etmem-pmu). A backend
 * (scan-<name>.c) only knows how to obtain access data from one kernel
 * interface: it exports one const struct scan_ops and keeps its state in
 * ctx->priv. The hooks below are called in this order per period:
 *   probe (once) -> init (once) -> [prepare -> collect] x loop -> ... -> fini
 */
#ifndef ETMEM_SCAN_H
#define ETMEM_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "etmem/record.h"
#include "opt.h"
#include "source.h"

struct err;

/* One target process of the current period: lib/source.h's, which
 * etmem-pmu shares; backends keep calling it scan_target. */
#define scan_target source_target

/* Settings the core passes to every backend. */
struct scan_env {
	uint32_t page_size;
	int swap_flag;          /* only VMAs marked MADV_SWAPFLAG (idle_pages) */
	int hugetlb_only;       /* vm_flags=ht */
	int anon_only;
	/* DAMON monitoring attributes (0 = backend default) */
	uint64_t sample_us, aggr_us, update_us;
	uint64_t min_nr_regions, max_nr_regions;
	/* DAMON: DAMOS schemes the kernel applies itself (`--damos SPEC`,
	 * repeatable; the damon engine). Each SPEC is
	 * "action=A,min_size=N,max_size=N,min_acc=N,max_acc=N,min_age=N,max_age=N"
	 * with optional "pids=P:P..." restricting it to some targets; see
	 * docs/DAMON.md. main.c may validate each with scan_damon_check_spec()
	 * at option time (EX_USAGE). NULL/0 = monitor only. */
	const char *const *damos;
	size_t ndamos;
};

/* What one pass saw, in base pages (the core turns it into S items). */
struct scan_counters {
	uint64_t pages_scanned;
	uint64_t pages_accessed;
	uint64_t extents;             /* ACCESS items written */
	uint64_t targets_gone;        /* targets skipped because they exited */
	uint64_t bytes_read;          /* kernel interface bytes (idle_pages) */
};

struct scan_ctx {
	const struct scan_env *env;
	struct scan_target *targets;  /* core-owned, refreshed each period */
	size_t ntargets;
	uint32_t period, round, loop; /* current position */
	struct scan_counters cnt;     /* this period so far; the core resets it */
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
/* NULL-terminated, in --backend auto priority order (scan.c). */
extern const struct scan_ops *const scan_backends[];

/*
 * The openEuler idle_pages byte stream (kernel-interfaces.md §1.6), decoded
 * without any I/O so the scanner, --decode-idle-pages and the unit tests
 * share one decoder (scan-idle-decode.c).
 */
enum scan_idle_type {
	SCAN_IDLE_PTE_ACCESSED = 0,
	SCAN_IDLE_PMD_ACCESSED = 1,
	SCAN_IDLE_PUD_PRESENT = 2,
	SCAN_IDLE_PTE_DIRTY = 3,
	SCAN_IDLE_PMD_DIRTY = 4,
	SCAN_IDLE_PTE_IDLE = 5,
	SCAN_IDLE_PMD_IDLE = 6,
	SCAN_IDLE_PMD_IDLE_PTES = 7,
	SCAN_IDLE_PTE_HOLE = 8,
	SCAN_IDLE_PMD_HOLE = 9,
	SCAN_IDLE_CMD = 10,          /* 0xA0 + 8 bytes big-endian VA */
};
#define SCAN_IDLE_CMD_BYTE 0xA0u
#define SCAN_IDLE_CMD_LEN 9u
#define SCAN_IDLE_BUF_MIN 20u       /* etmem's minimum read size */

/* One decoded run: `units` units of `type` from `start`, or for a hole the
 * range skipped. Holes are reported too (callers usually drop them). */
struct scan_idle_run {
	uint64_t start;
	uint64_t units;
	uint64_t unit_bytes;
	uint8_t type;                 /* enum scan_idle_type, never CMD */
};

struct scan_idle_stats {
	uint64_t runs, cmds, holes, misaligned, truncated_cmd;
};

/* A run callback: 0 to go on, <0 to stop the decode with that value. */
typedef int (*scan_idle_emit_fn)(const struct scan_idle_run *r, void *arg);

/*
 * Decode buf[0..len), one read's output from VA pos (runs before the first
 * address command start at pos; the kernel always begins with one), with
 * base page size page_size. Runs whose start is not aligned to their
 * unit are dropped and counted (as the original does). A trailing address
 * command without its 8 bytes ends the decode (counted). *end (may be NULL)
 * gets the address after the last unit. Returns 0, the callback's negative
 * value, or -1 with e (EX_DATAERR, naming the byte offset) for a byte no
 * kernel writes (type 11..15, 0xA1..0xAF) or an address that wraps.
 */
int scan_idle_decode(const uint8_t *buf, size_t len, uint64_t pos,
    uint32_t page_size,
    scan_idle_emit_fn fn, void *arg, uint64_t *end,
    struct scan_idle_stats *st, struct err *e);

/* Access weight and flags of a run type (count 0 idle / 1 accessed / 3
 * dirty); the ETMR size class; -1 for holes. */
int scan_idle_access(const struct scan_idle_run *r, uint32_t page_size,
    struct etmr_access *a);

/*
 * Where the idle_pages walk reads from. read() returns the bytes produced for
 * a read of up to len bytes at VA pos and sets *next to the position the
 * kernel left the file at (the next unscanned VA); 0 = nothing produced.
 * The real source is lseek+read on /proc/PID/idle_pages; tests plug in an
 * in-memory one that returns short reads.
 */
struct scan_idle_src {
	ssize_t (*read)(void *arg, uint8_t *buf, size_t len, uint64_t pos,
	    uint64_t *next);
	void *arg;
};

/*
 * scan-idle-walk.c: one pass over the selected VMAs (address order): read
 * until each VMA is covered (never re-reading an address: the read clears
 * A-bits), decode, and
 * call fn for each run clipped to the selected VMAs (the units that start
 * inside one; v is that VMA). Holes are not passed on. buf_max bounds one
 * read (>= SCAN_IDLE_BUF_MIN). Returns 0, fn's negative value, or -1 with e.
 */
typedef int (*scan_idle_vma_fn)(const struct scan_idle_run *r,
    const struct etmr_vma *v, void *arg);
int scan_idle_walk(const struct scan_idle_src *src, const struct etmr_vma *vmas,
    size_t nvmas, uint32_t page_size, size_t buf_max, scan_idle_vma_fn fn,
    void *arg, struct scan_idle_stats *st, struct err *e);

/* scan-coalesce.c: adjacent ACCESS items of equal pid/size/count/flags/node
 * merge into one extent, so a cold 1 TiB range is one record. */
struct scan_coalesce {
	struct etmr_access cur;
	int have;
	uint32_t page_size;
	struct etmr_writer *w;
	struct scan_counters *cnt;    /* may be NULL */
};
void scan_coalesce_init(struct scan_coalesce *c, struct etmr_writer *w,
    uint32_t page_size, struct scan_counters *cnt);
int scan_coalesce_add(struct scan_coalesce *c, const struct etmr_access *a,
    struct err *e);
int scan_coalesce_flush(struct scan_coalesce *c, struct err *e);

/* What main() parsed; the core reads it (scan.c). */
struct scan_config {
	const pid_t *pids;            /* -p, in the order given */
	int npids;
	const char *name;             /* -n, NULL = none */
	long long loop;               /* passes per period, 1..120 */
	double interval_s;            /* between passes of a period */
	double sleep_s;               /* between periods */
	long long periods;            /* 0 = until stopped */
	const char *backend;          /* "auto" or a name */
	int text;                     /* --text */
	int control_fd;               /* -1 = none */
	int swap_flag, hugetlb_only, anon_only;
	int numa_node;                /* --numa-node: fill A items' node */
	int wait_for_name;            /* --wait-for-name */
};

/* scan.c */
/* Pick the backend: a name or "auto" (says which on stderr). NULL with e
 * (EX_USAGE unknown name, EX_UNAVAILABLE/EX_NOPERM from probe). */
const struct scan_ops *scan_pick_backend(const char *name,
    const struct scan_env *env, struct err *e);
/* --list-backends: each name and its probe verdict. */
void scan_list_backends(const struct scan_env *env, FILE *fp);
/* Run the scanner until --periods, SIGTERM, STOP, or every -p target gone.
 * Returns the exit status (0, or the code of the error already logged). */
int scan_run(const struct scan_config *cfg, const struct scan_ops *ops,
    const struct scan_env *env);
/* Ask scan_run to stop at the next check (signal-safe). */
void scan_request_stop(void);

/* scan-node.c */
/* --vm-flags ht: the period's per-node 2 MiB hugepage facts as STAT items
 * huge2m_total_n<N> / huge2m_free_n<N> (pages), for etmem-rank cslide. */
int scan_node_stats(struct etmr_writer *w, uint32_t period, struct err *e);

/* --numa-node: every ACCESS item's node, from one batched query per
 * SCAN_NODE_BATCH pages of a pid; items are split where the node changes.
 * The query has move_pages(pid, n, pages, NULL, status, 0)'s shape (status[i]
 * a node or a negative errno; -1 with errno for the whole call); NULL = the
 * kernel's. Tests plug in a fake one. */
#define SCAN_NODE_BATCH (64u * 1024u)      /* pages per query */
#define SCAN_NODE_BATCH_ITEMS 16384u       /* item pieces per query */
typedef long (*scan_node_query_fn)(pid_t pid, size_t n, void **pages,
    int *status, void *arg);
struct scan_node_counters {
	uint64_t pages_located;       /* pages given a node */
	uint64_t pages_unknown;       /* left ETMR_NODE_NONE */
	uint64_t queries, queries_failed;
};
struct scan_node;
struct scan_node *scan_node_new(uint32_t page_size, scan_node_query_fn query,
    void *arg, struct err *e);
void scan_node_free(struct scan_node *sn);
/* Items in address order per pid go in with add(), out to w (merged again
 * where they continue each other) by add() and end(). */
void scan_node_begin(struct scan_node *sn, struct etmr_writer *w);
int scan_node_add(struct scan_node *sn, const struct etmr_access *a, struct err *e);
int scan_node_end(struct scan_node *sn, struct err *e);
/* One pass: ops->collect into a memfd, read back through add()/end() to w. */
int scan_node_collect(struct scan_node *sn, struct scan_ctx *ctx,
    const struct scan_ops *ops, struct etmr_writer *w, struct err *e);
/* The period's counters (S scan node_pages_located, ...); reset() zeroes. */
const struct scan_node_counters *scan_node_counters(struct scan_node *sn);
void scan_node_reset(struct scan_node *sn);

/* scan-idle-walk.c: --decode-idle-pages FILE --address ADDR: decode a raw
 * capture (one read's bytes, from VA addr; "-" = stdin) to w. */
int scan_decode_file(const char *file, uint64_t addr, pid_t pid,
    uint32_t page_size, struct etmr_writer *w, struct err *e);

/* scan-damon.c */
/* Validate one --damos SPEC; -1 with EX_USAGE naming the bad key. */
int scan_damon_check_spec(const char *spec, struct err *e);
/* The DAMON options (--sample-interval, --aggr-interval, --update-interval,
 * --min-nr-regions, --max-nr-regions, --damos SPEC...), OPT_END-terminated:
 * main.c splices them into its table; after opt_parse(), call
 * scan_damon_setup() to check them and fill env's DAMON fields (-1 with
 * EX_USAGE on a bad value, or --damos without --backend damon). */
extern const struct opt scan_damon_opts[];
int scan_damon_setup(struct scan_env *env, const char *backend, struct err *e);

#endif /* ETMEM_SCAN_H */
