/* SPDX-License-Identifier: MIT */
/*
 * pmu.h - etmem-pmu's pieces: the perf ring-buffer parser (pmu-ring.c), the
 * event encoding (pmu-events.c), the address -> page counter (pmu-map.c) and
 * the core loop (pmu.c). Private to etmem-pmu; unit tests include it.
 *
 * Data flow: perf_event_open fds (one per target thread and CPU) write into
 * one ring per CPU; pmu.c polls the rings, pmu-ring.c turns their bytes into
 * samples, pmu-map.c credits each sample to a page of a selected VMA of its
 * target, and at the end of a pass pmu.c writes the counted pages as ACCESS
 * items with flag `p`.
 */
#ifndef ETMEM_PMU_H
#define ETMEM_PMU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/perf_event.h>

#include "etmem/record.h"
#include "source.h"

struct err;

/* ---- pmu-ring.c: the pure perf ring-buffer parser --------------------- */

/* One decoded PERF_RECORD_SAMPLE (only the fields we ask for). */
struct pmu_sample {
	uint32_t pid, tid;      /* PERF_SAMPLE_TID; 0 if not selected */
	uint32_t cpu;           /* PERF_SAMPLE_CPU; 0 if not selected */
	uint64_t addr;          /* PERF_SAMPLE_ADDR: the data address */
};

/* What a parse saw; counters only grow (the caller zeroes them). */
struct pmu_ring_stats {
	uint64_t records;       /* every record header consumed */
	uint64_t samples;       /* PERF_RECORD_SAMPLE handed to the callback */
	uint64_t no_addr;       /* samples without a data address (dropped) */
	uint64_t lost;          /* samples the kernel dropped (PERF_RECORD_LOST) */
	uint64_t lost_records;  /* PERF_RECORD_LOST records */
	uint64_t throttle;      /* THROTTLE/UNTHROTTLE records */
	uint64_t unknown;       /* other record types, skipped */
	uint64_t truncated;     /* a record shorter than its fields need */
	uint64_t corrupt;       /* size < header, size past head, head-tail > size:
	                         * the rest up to head is dropped */
};

typedef void (*pmu_sample_fn)(const struct pmu_sample *s, void *arg);

/*
 * Parse the records in [tail, head) of a ring's data area (`data`, `size`
 * bytes, a power of two; positions are free-running u64 byte counters as in
 * perf_event_mmap_page, taken modulo size, so they may wrap around 2^64).
 * A record that runs past the end of the area is copied out and parsed
 * whole. `sample_type` is the attr's, telling which fields a sample has.
 * Returns the new tail, which is always head: the kernel only publishes
 * whole records, so bytes that do not parse are counted as corrupt and
 * skipped rather than waited for (waiting would stall the ring for good).
 */
uint64_t pmu_ring_parse(const uint8_t *data, uint64_t size, uint64_t tail,
    uint64_t head, uint64_t sample_type, pmu_sample_fn fn, void *arg,
    struct pmu_ring_stats *st);
/*
 * Drain one mmap'ed ring: load data_head with acquire semantics (the
 * records before it are then visible), parse, and store data_tail with
 * release semantics (our reads are done before the kernel may overwrite).
 */
void pmu_ring_drain(struct perf_event_mmap_page *pg, const uint8_t *data,
    uint64_t sample_type, pmu_sample_fn fn, void *arg,
    struct pmu_ring_stats *st);

/* ---- pmu-events.c: what to sample ------------------------------------- */

#define PMU_EVENTS_MAX 2        /* loads + stores */

struct pmu_event {
	char name[64];          /* for messages: "page-faults", "MEM_INST_RETIRED.ALL_LOADS" */
	struct perf_event_attr attr;
	int hw;                 /* a hardware PMU event: try precise_ip 3..1 */
};

/*
 * Turn --event SPEC into up to PMU_EVENTS_MAX attrs (disabled, user space
 * only, sampling PERF_SAMPLE_TID|ADDR every `period` events):
 *   auto         a hardware sampler that gives data addresses: Intel PEBS
 *                loads+stores (cpu/cpu_core with events/mem-loads, encoded by
 *                libpfm4), AMD IBS op (ibs_op); none -> EX_UNAVAILABLE naming
 *                what was looked for and the perf_event_open error
 *   page-faults  PERF_TYPE_SOFTWARE/PAGE_FAULTS: the faulting address; works
 *                without a PMU (a weaker signal: first touches and refaults)
 *   major-faults PERF_COUNT_SW_PAGE_FAULTS_MAJ: refaults from swap/files only
 *   other        a libpfm4 event string ("MEM_INST_RETIRED:ALL_STORES")
 * Returns the count or -1 with e.
 */
int pmu_events_resolve(const char *spec, uint64_t period,
    struct pmu_event *ev, struct err *e);
/* perf_event_open(2); -1 with errno. */
int pmu_perf_open(struct perf_event_attr *attr, pid_t pid, int cpu,
    int group_fd, unsigned long flags);

/* ---- pmu-map.c: address -> page, counts, cooling ----------------------- */

#define PMU_MAP_PAGES_MAX (1u << 20)  /* distinct pages counted per pass */

/* The selected VMAs of one target (sorted by start, not overlapping). */
struct pmu_map_target {
	pid_t pid;
	struct etmr_vma *vmas;  /* owned by the map */
	size_t nvmas;
};

struct pmu_map_entry {
	uint64_t start;         /* page start (of its size class) */
	uint32_t pid;
	uint32_t count;         /* 0 = free slot */
	uint32_t flags;         /* ETMR_F_* of the VMA, plus SAMPLED */
	uint8_t size;           /* enum etmr_size */
};

struct pmu_map_stats {
	uint64_t counted;       /* samples credited to a page */
	uint64_t foreign;       /* pid is not a target (an inherited child) */
	uint64_t unmapped;      /* address in no selected VMA */
	uint64_t dropped;       /* table full (PMU_MAP_PAGES_MAX pages) */
	uint64_t coolings;      /* halvings done */
};

struct pmu_map {
	uint32_t page_size;
	uint64_t cooling_interval;   /* samples between halvings; 0 = never */
	uint64_t since_cool;
	struct pmu_map_target *targets;
	size_t ntargets;
	struct pmu_map_entry *tab;   /* open addressing, power-of-two cap */
	size_t cap, used;
	struct pmu_map_stats st;
};

void pmu_map_init(struct pmu_map *m, uint32_t page_size,
    uint64_t cooling_interval);
/* Replace the VMA list of pid (copied; sorted here). Counts are keyed by
 * address, never by VMA, so they survive a refresh. */
int pmu_map_set_target(struct pmu_map *m, pid_t pid,
    const struct etmr_vma *vmas, size_t n, struct err *e);
/* Forget every target (counts stay). */
void pmu_map_clear_targets(struct pmu_map *m);
/* Credit one sample. 1 counted; 0 ignored (counted in st). */
int pmu_map_add(struct pmu_map *m, uint32_t pid, uint64_t addr);
/* Halve every count, dropping pages that reach 0 (exponential decay). */
void pmu_map_cool(struct pmu_map *m);
/* Pages with a count, ordered by (pid, start); the array is the caller's to
 * free(). *n gets the count; -1 with e on ENOMEM. */
int pmu_map_collect(struct pmu_map *m, struct etmr_access **out, size_t *n,
    struct err *e);
/* Zero every count (a new pass begins). */
void pmu_map_reset(struct pmu_map *m);
void pmu_map_free(struct pmu_map *m);

/* ---- lib/source.h: which processes, which VMAs ------------------------ */

/* A target of the period: lib/source.h's, which etmem-scan shares. */
#define pmu_target source_target

/* ---- pmu-open.c: event fds and their rings ----------------------------- */

#define PMU_RING_PAGES 128      /* data pages per ring (a power of two) */

struct pmu_ring {
	int fd;                 /* the event whose buffer this is */
	int cpu;
	void *base;             /* mmap: control page + data */
	size_t len;
	int hup;                /* POLLHUP seen: drained, no longer polled */
};

struct pmu_evset {
	int *fds;
	size_t nfds, capfds;
	struct pmu_ring *rings; /* one per CPU; other fds SET_OUTPUT into it */
	size_t nrings;
	int *cpus;
	size_t ncpus;
	uint64_t sample_type;
};

/* Open every event for every thread of every target on every online CPU.
 * A thread or target that vanished meanwhile is skipped. -1 with e:
 * EX_NOPERM (names kernel.perf_event_paranoid), EX_UNAVAILABLE. */
int pmu_evset_open(struct pmu_evset *s, struct pmu_event *ev, int nev,
    const struct pmu_target *t, size_t nt, uint32_t page_size,
    struct err *e);
int pmu_evset_enable(struct pmu_evset *s, int on, struct err *e);
void pmu_evset_drain(struct pmu_evset *s, pmu_sample_fn fn, void *arg,
    struct pmu_ring_stats *st);
void pmu_evset_close(struct pmu_evset *s);

/* ---- pmu.c: the core --------------------------------------------------- */

/* What main() parsed. */
struct pmu_config {
	const pid_t *pids;
	int npids;
	const char *name;             /* -n, NULL = none */
	int wait_for_name;            /* --wait-for-name */
	long long loop;               /* passes per period */
	double interval_s, sleep_s;
	long long periods;            /* 0 = until stopped */
	const char *event;            /* --event */
	uint64_t sample_period;
	uint64_t cooling_interval;    /* 0 = off */
	long long vma_updata_rate;    /* VMAs re-read every N periods (0,1 = each) */
	long long cpu_set_size;       /* accepted; see pmu.c */
	int anon_only;
	int text;
	int control_fd;
};

/* Ask pmu_run to stop at the next check (signal-safe). */
void pmu_request_stop(void);
/* Run until --periods, SIGTERM, STOP or every -p target gone. Returns the
 * exit status (errors already logged). */
int pmu_run(const struct pmu_config *cfg);

#endif /* ETMEM_PMU_H */
