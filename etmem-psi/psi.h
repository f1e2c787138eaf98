/* SPDX-License-Identifier: MIT */
/*
 * psi.h - etmem-psi's split: pure control law, cgroup backends, core loop.
 *
 * psi-law.c decides (pressure, usage, limits, rate -> bytes to reclaim; rate
 * adaptation) and touches nothing. psi-cgroup-v2.c / psi-cgroup-v1.c know
 * where one kernel flavour keeps the files (an ops table, DAMON's shape);
 * psi-cgfile.c parses and writes those files; psi-expand.c turns the cg_dir
 * patterns into cgroup names; psi.c owns the rounds, the per-cgroup state,
 * the timing, logging and stats. Nothing here knows about options (main.c).
 */
#ifndef ETMEM_PSI_H
#define ETMEM_PSI_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct err;
struct ctl_stage;

/* A limit above this is "unlimited" (v1 reports 0x7ffffffffffff000, v2
 * "max"); the original used LONG_MAX/2 the same way. */
#define PSI_LIMIT_UNLIMITED ((uint64_t)INT64_MAX / 2)
/* The rate moves in steps of this, after PSI_CALM_STREAK calm rounds or
 * PSI_PRESSURED_STREAK pressured ones (the original's 5 and 2). */
#define PSI_RATE_STEP 0.01
#define PSI_CALM_STREAK 5
#define PSI_PRESSURED_STREAK 2

/* The task's parameters (config keys), fixed for the run. */
struct psi_law {
	double pressure;            /* target, PSI percent (max of some avg10/avg60) */
	double rate;                /* initial per-cgroup rate */
	double rate_min, rate_max;
	uint64_t reclaim_max_bytes; /* cap per cgroup per round */
	uint64_t limit_min_bytes;   /* absolute floor */
	double limit_min_ratio;     /* floor as a fraction of the limit */
	uint64_t page_size;         /* requests are rounded down to this */
};

/* What one round read from a cgroup. */
struct psi_sample {
	double avg10, avg60;        /* "some" line of memory.pressure */
	uint64_t usage;             /* memory.current / memory.usage_in_bytes */
	uint64_t limit;             /* memory.max / limit_in_bytes; UINT64_MAX = max */
	uint64_t min, low;          /* memory.min / memory.low; 0 if absent */
};

enum psi_verdict {
	PSI_V_RECLAIM = 0,  /* ask for plan.bytes */
	PSI_V_PRESSURE,     /* pressure at or above target: leave it alone */
	PSI_V_FLOOR,        /* usage already at or below the floor */
	PSI_V_SMALL,        /* the amount rounds down to 0 pages */
};

struct psi_plan {
	enum psi_verdict verdict;
	double pressure;            /* max(avg10, avg60) */
	uint64_t floor;             /* bytes the cgroup is never pushed below */
	uint64_t bytes;             /* to write to memory.reclaim (RECLAIM only) */
};

/* How a round went, for the rate. */
enum psi_feedback {
	PSI_FB_NEUTRAL = 0, /* nothing learnt (floor, too small, kernel EAGAIN) */
	PSI_FB_CALM,        /* reclaimed in full and pressure stayed under target */
	PSI_FB_PRESSURED,   /* pressure at or above target */
};

/* Per-cgroup adaptive state. */
struct psi_rate {
	double rate;
	int gather;                 /* signed streak: >0 calm rounds, <0 pressured */
};

/* psi-law.c */
/* Check the parameters against each other (the original did not: W-35). */
int psi_law_check(const struct psi_law *law, struct err *e);
/* The floor: max(limit_min_bytes, ratio * limit (if limited), min, low). */
uint64_t psi_law_floor(const struct psi_law *law, const struct psi_sample *s);
/* Decide one cgroup's round at the given rate. */
void psi_law_plan(const struct psi_law *law, double rate,
    const struct psi_sample *s, struct psi_plan *p);
/* Move the rate after a round; returns 1 if the rate changed. */
int psi_law_adapt(const struct psi_law *law, struct psi_rate *r,
    enum psi_feedback fb);
const char *psi_verdict_name(enum psi_verdict v);

/* psi-cgfile.c: the file formats both cgroup flavours share. */
/* Parse the "some avg10=… avg60=…" line of a pressure file. */
int psi_parse_pressure(const char *buf, double *avg10, double *avg60);
/* Parse a byte count file: decimal, or "max" (= UINT64_MAX). */
int psi_parse_bytes(const char *buf, uint64_t *out);
int psi_read_pressure(const char *path, double *avg10, double *avg60,
    struct err *e);
int psi_read_bytes(const char *path, uint64_t *out, struct err *e);
/* "<root>/<rel>/<file>" (file may be NULL); -1 if it does not fit. */
int psi_cg_path(char *buf, size_t len, const char *root, const char *rel,
    const char *file, struct err *e);
/* Write the request to a memory.reclaim file. 0: done in full; 1: the kernel
 * could not reclaim all of it (EAGAIN); -1: error (e). */
int psi_write_reclaim(const char *path, uint64_t bytes, struct err *e);

/* Where the cgroup files are; filled by a backend's probe. */
struct psi_env {
	char root[PATH_MAX];        /* cg_dir patterns expand below this */
	char mem_root[PATH_MAX];    /* v1: the memory hierarchy; v2: == root */
};

struct psi_cg_ops {
	const char *name;           /* "cgroup2", "cgroup1-openeuler" */
	/* Find the hierarchy below base (the cgroup mount directory, already
	 * under --sys-root). 0 and env filled; -1 with e->code EX_UNAVAILABLE
	 * and a message naming what is missing. */
	int (*probe)(const char *base, struct psi_env *env, struct err *e);
	/* Is rel (relative to env->root) a cgroup we can drive? 0 and its
	 * identity (inode of its directory); -1 with errno ENOENT when gone. */
	int (*lookup)(const struct psi_env *env, const char *rel, uint64_t *ino,
	    struct err *e);
	/* Read everything the law needs. -1 names the file at fault. */
	int (*sample)(const struct psi_env *env, const char *rel,
	    struct psi_sample *s, struct err *e);
	/* Current usage only (read back after a reclaim). */
	int (*usage)(const struct psi_env *env, const char *rel, uint64_t *usage,
	    struct err *e);
	/* As psi_write_reclaim(). */
	int (*reclaim)(const struct psi_env *env, const char *rel, uint64_t bytes,
	    struct err *e);
};

extern const struct psi_cg_ops psi_cgroup_v2;
extern const struct psi_cg_ops psi_cgroup_v1;

/* psi-expand.c */
struct psi_names {
	size_t n, cap;
	char **v;                   /* relative to the root, sorted, unique */
};
/* Reject a pattern that could leave the root ('..' components); a leading
 * '/' is made relative. Returns the offset of the relative part or -1. */
int psi_pattern_check(const char *pattern, struct err *e);
/* Expand the patterns (glob, braces) below root into directory names. No
 * match is not an error (the cgroups may come later). */
int psi_expand(const char *root, const char *const *patterns, size_t npat,
    struct psi_names *out, struct err *e);
void psi_names_free(struct psi_names *names);

/* psi.c */
struct psi_cfg {
	struct psi_law law;
	const char *const *patterns;
	size_t npatterns;
	double interval_s;
	unsigned long long periods;  /* 0 = until stopped */
	FILE *text;                  /* per-round lines, or NULL */
};
/* Pick the backend for base ("<sys-root>/sys/fs/cgroup" or --cgroup-root). */
int psi_probe(const char *base, const struct psi_cg_ops **ops,
    struct psi_env *env, struct err *e);
/* Run the rounds until periods are done or stop is set / asked for over
 * ctl. Returns 0, or -1 on a fatal error (e). */
int psi_run(const struct psi_cfg *cfg, const struct psi_cg_ops *ops,
    const struct psi_env *env, struct ctl_stage *ctl,
    volatile sig_atomic_t *stop, struct err *e);

#endif /* ETMEM_PSI_H */
