/* SPDX-License-Identifier: MIT */
/*
 * source.h - what every source stage (etmem-scan, etmem-pmu) shares: which
 * processes and which of their VMAs a period watches (source-target.c),
 * and the records that frame a period besides its access data: the stream
 * header, V, P, S and PERIOD (source-period.c).
 *
 * Both stages must agree on these rules, or the same -p/-n/--anon-only
 * would mean different pages depending on the source; one copy keeps them
 * agreeing. Like all of lib/, nothing here prints: what a caller may want
 * to log (a -p target that exited, an -n NAME that matched too many) is
 * left in struct source_targets for it.
 */
#ifndef ETMEM_SOURCE_H
#define ETMEM_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "etmem/record.h"

struct err;
struct proc_vma;

#define SOURCE_TARGETS_MAX 1024    /* processes per period (-p plus -n) */

/* The original's VMA rules, shared so both sources select the same VMAs. */
struct source_vma_rules {
	int anon_only;          /* private, not exec, anonymous or writable */
	int hugetlb_only;       /* --vm-flags ht */
	int thp;                /* mark THP-eligible VMAs T (etmem-pmu counts
	                         * whole 2M blocks); costs reading smaps */
	int thp_always;         /* transparent_hugepage/enabled is [always]:
	                         * set by source_targets_init() when thp */
};

/* Which processes: what the stage's options said. */
struct source_spec {
	const pid_t *pids;      /* -p, in the order given */
	int npids;
	const char *name;       /* -n NAME, NULL = none */
	struct source_vma_rules vma;
	/* -n NAME that is not running yet is no error: periods pass without
	 * targets until it appears (the original just skips the round). */
	int wait_for_name;
};

/* One target process of the current period. */
struct source_target {
	pid_t pid;
	uint64_t start_time;    /* identity: /proc/PID/stat field 22 */
	struct etmr_vma *vmas;  /* selected VMAs, address order */
	size_t nvmas;
};

struct source_targets {
	struct source_target *v;  /* this period's, sorted by pid */
	size_t n;
	struct source_spec spec;  /* a copy; its pointers are the caller's */
	pid_t *pids;              /* -p targets still alive */
	uint64_t *start_times;    /* their start times when we began */
	size_t npids;
	/* What the last refresh saw, for the caller to log. */
	pid_t *exited;            /* -p targets it dropped for good */
	size_t nexited;
	size_t name_matches;      /* processes -n NAME matched (with children) */
	size_t name_kept;         /* of those, taken (SOURCE_TARGETS_MAX bound) */
};

/* source-target.c */
/* Check the -p pids (EX_NOINPUT "no process N") and that -n NAME matches
 * something now (EX_NOINPUT), keep their start times, copy *spec. */
int source_targets_init(struct source_targets *ts, const struct source_spec *spec,
    struct err *e);
/*
 * This period's targets: -p pids still alive with their first start time
 * (a reused pid is not the target; a gone one is dropped for good and
 * listed in ts->exited) and -n NAME re-resolved (matches and their direct
 * children). *changed = 1 if the set of pids differs from the last
 * period's. VMAs are re-read when load_vmas is set or the set changed;
 * else the last ones are kept. Returns the count or -1 with e.
 */
int source_targets_refresh(struct source_targets *ts, int load_vmas,
    int *changed, struct err *e);
void source_targets_free(struct source_targets *ts);
/* One maps/smaps entry as a V item (1) or not selected (0): kernel
 * specials, PROT_NONE guards and empty ranges never; anon_only and
 * hugetlb_only per r; hugetlb marked H with its page size; with r->thp,
 * private anonymous VMAs that may be THP (VmFlags hg, or THP "always"
 * without nh) marked T. */
int source_vma_select(const struct proc_vma *pv, const struct source_vma_rules *r,
    pid_t pid, struct etmr_vma *out);

/* source-period.c */
/* The stream header (this host, now) and writer on stdout. NULL with e. */
struct etmr_writer *source_writer_open(int text, uint32_t page_size,
    uint16_t backend, struct err *e);
/* V items of every target; *nvmas gets how many. */
int source_write_vmas(struct etmr_writer *w, const struct source_target *t,
    size_t n, uint64_t *nvmas, struct err *e);
/* P items: each target's facts at the period's end (those that exited
 * during the period are left out). */
int source_write_procs(struct etmr_writer *w, const struct source_target *t,
    size_t n, struct err *e);
/* One S item per kv, each also appended to text (the control socket's
 * STATS reply, "key value" lines after what text already holds). */
struct source_stat {
	const char *key;
	uint64_t value;
};
int source_write_stats(struct etmr_writer *w, uint8_t stage, uint32_t period,
    const struct source_stat *kv, size_t n, char *text, size_t textsize,
    struct err *e);
/* PERIOD with the system's memory facts (/proc/meminfo) and the time now. */
int source_write_period(struct etmr_writer *w, uint32_t period, uint32_t rounds,
    struct err *e);

#endif /* ETMEM_SOURCE_H */
