/* SPDX-License-Identifier: MIT */
/*
 * conf.h - the configuration model: what one `obj add|del` file describes.
 *
 * A file is written either in the original's INI dialect (GKeyFile rules,
 * usually with a `.yaml` extension) or in real YAML; the format is detected
 * from the content and both give the same model (docs/CONFIG.md).
 *
 * The INI dialect merges duplicate groups, so an INI file holds at most one
 * [project], one [engine] and one [task]. The YAML form may list several
 * engines and tasks; both forms hold at most one project. The supervisor
 * applies a file in the order project -> engines -> tasks for `obj add`
 * and tasks -> engines -> project for `obj del` (cli-contract 4.3).
 *
 * Loading is all-or-nothing: a rejected file yields NULL and an error naming
 * file:line, the key, and the allowed range; it never yields a partial model.
 * The loader checks everything a file can check on its own (syntax, required
 * keys, ranges, cross-key rules inside the file). What needs the daemon's
 * state or the machine is left to the caller and documented per field:
 * project/engine existence, the NUMA node count for node_pair, the thirdparty
 * library's owner/mode, and T <= 3*loop when the task's project is
 * not in the same file (conf_task_check_project()).
 *
 * No GLib or libyaml type appears here; the model is plain C, owned by the
 * struct conf_file and freed with conf_free().
 */
#ifndef ETMEM_CONF_H
#define ETMEM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct err;

#define CONF_NAME_MAX 64                 /* project/engine/task names, bytes */
#define CONF_VALUE_MAX 15                /* task `value` (comm length) */
#define CONF_CG_DIR_MAX 63               /* psi `cg_dir` */
#define CONF_SOCK_MAX 107                /* memdcd `Sock`, bytes */
#define CONF_FILE_MAX_BYTES (10u << 20)  /* 10 MiB, as the original */

enum conf_format { CONF_FMT_INI, CONF_FMT_YAML };

enum conf_scan_type { CONF_SCAN_PAGE, CONF_SCAN_REGION, CONF_SCAN_PSI };

enum conf_engine_type {
	CONF_ENG_SLIDE,
	CONF_ENG_CSLIDE,
	CONF_ENG_MEMDCD,
	CONF_ENG_DAMON,
	CONF_ENG_PSI,
	CONF_ENG_THIRDPARTY,
	CONF_ENG_EXEC,                   /* etmem-rank exec --command CMD */
	CONF_ENG_NTYPES
};

enum conf_target_type { CONF_TARGET_PID, CONF_TARGET_NAME };

/* DAMON actions, numbered as the original's debugfs encoding (0..5). */
enum conf_damon_action {
	CONF_DAMON_WILLNEED,
	CONF_DAMON_COLD,
	CONF_DAMON_PAGEOUT,
	CONF_DAMON_HUGEPAGE,
	CONF_DAMON_NOHUGEPAGE,
	CONF_DAMON_STAT
};

/*
 * What the original etmemd would have replied for the first error found
 * (cli-contract 4.5-4.7): the supervisor may pass it on in its reply text.
 */
enum conf_reply { CONF_REPLY_OK, CONF_REPLY_INVAL, CONF_REPLY_INTER_ERR };

/*
 * One key as written. In conf_group.kv the value is the raw text (INI: before
 * GKeyFile unescaping); in the priv lists it is the string value (unescaped).
 */
struct conf_kv {
	char *key;
	char *value;
	int line;               /* 1-based line of the (last) occurrence */
};

/* Every group keeps all its keys, known and unknown, with their lines. */
struct conf_group {
	int line;               /* line of the (first) group header / list item */
	struct conf_kv *kv;
	size_t nkv;
};

struct conf_project {
	struct conf_group g;
	char *name;                      /* 1..64 bytes */
	enum conf_scan_type scan_type;   /* default page */
	/* page: loop 1..120, interval 1..1200 s between scans within a period,
	 * sleep 1..1200 s between periods (DESIGN.md "Timing").
	 * psi: interval 1..1200 s; loop/sleep unset (0). */
	int loop, interval, sleep;
	/* region (DAMON): intervals in microseconds, 1..INT32_MAX;
	 * regions 3..INT32_MAX, min < max */
	int64_t sample_interval, aggr_interval, update_interval;
	int64_t min_nr_regions, max_nr_regions;
	bool has_sysmem_threshold;
	int sysmem_threshold;            /* 0..100 (% free memory) */
	bool has_swapcache_wmark;        /* both or neither; high > low */
	int swapcache_high_wmark;        /* 1..100 */
	int swapcache_low_wmark;         /* 1..100 */
};

struct conf_node_pair { int hot, cold; };

struct conf_engine {
	struct conf_group g;
	char *project;                   /* identity, 1..64 bytes */
	char *name;                      /* the type as written: slide, cslide, ... */
	enum conf_engine_type type;
	char *eng_name;                  /* thirdparty only (identity), else NULL */
	/* cslide */
	struct conf_node_pair *pairs;    /* parsed node_pair; nodes 0..2*npairs-1,
					  * each once; caller checks npairs*2 ==
					  * number of NUMA nodes */
	size_t npairs;
	int hot_threshold;               /* 0..INT32_MAX; runtime caps at 3*loop+1 */
	int node_mig_quota;              /* MiB, 0..INT32_MAX */
	int node_hot_reserve;            /* MiB, 0..INT32_MAX */
	bool has_pmu;                    /* all four PMU keys given (all or none) */
	int sample_period;               /* 0..INT32_MAX, 0 = idle-page scan */
	int vma_updata_rate;             /* 0..INT32_MAX, 0 stored as 1 */
	int cpu_set_size;                /* 0..INT32_MAX, 0 stored as 1 */
	int cooling_interval;            /* 0..INT32_MAX */
	/* damon: min <= max for each pair */
	uint64_t min_size, max_size;     /* bytes, 0..INT64_MAX */
	uint32_t min_acc, max_acc;       /* 0..UINT32_MAX */
	uint32_t min_age, max_age;       /* 0..UINT32_MAX */
	enum conf_damon_action action;
	/* thirdparty: caller does realpath, root:root 0700|0500; etmem-rank
	 * plugin loads it (never the daemon) */
	char *libname, *ops_name;
	struct conf_kv *priv;            /* every other key, for the plugin */
	size_t npriv;
	/* exec: the policy program, run with /bin/sh -c; 1..4095 bytes */
	char *command;
};

struct conf_task {
	struct conf_group g;
	char *project, *engine, *name;   /* identity, each 1..64 bytes */
	/* engine type implied by `engine`: a built-in type name, else thirdparty */
	enum conf_engine_type engine_type;
	enum conf_target_type type;
	char *value;                     /* 1..15 bytes of [A-Za-z0-9.%/_-] */
	bool swap_flag;                  /* yes|no, default no */
	int max_threads;                 /* default 1; <= 0 stored as 1; caller
					  * clamps to 2*ncpu+1 */
	/* slide */
	int T;                           /* 0..3*loop (loop checked when known) */
	bool has_swap_threshold;
	uint64_t swap_threshold_gib;     /* "<digits>g": GiB; "g" alone = 0 */
	int dram_percent;                /* 1..100; 0 = off (so is any other) */
	bool has_pmu;                    /* sample_period given */
	int sample_period;               /* 1..INT32_MAX */
	int vma_updata_rate;             /* <= 0 stored as 1, default 1 */
	int cpu_set_size;                /* <= 0 stored as 1, default 1 */
	/* cslide */
	bool anon_only, ign_host;        /* vm_flags must be "ht" */
	/* memdcd: "-" = default socket @_memdcd.server */
	char *sock;
	/* psi: doubles finite and > 0 */
	char *cg_dir;                    /* 1..63 bytes */
	double pressure;                 /* default 0.1 */
	double reclaim_rate;             /* default 0.05 */
	double reclaim_rate_max;         /* default 0.5 */
	double reclaim_rate_min;         /* default 0.01 */
	double limit_min_ratio;          /* default 0.1 */
	uint64_t limit_min_bytes;        /* default 0 */
	uint64_t reclaim_max_bytes;      /* default 1 GiB */
	/* thirdparty: every non-common key, for the plugin */
	struct conf_kv *priv;
	size_t npriv;
};

struct conf_file {
	char *name;                      /* the name errors use */
	enum conf_format format;
	struct conf_project *project;    /* NULL when the file has none */
	struct conf_engine *engines;
	size_t nengines;
	struct conf_task *tasks;
	size_t ntasks;
};

/* conf_load_ex / conf_parse_buffer_ex flags */
#define CONF_IDENTITY_ONLY 0x1  /* `obj del`: only identity keys are read */
#define CONF_FORCE_INI     0x2  /* skip format detection (fuzzers, tests) */
#define CONF_FORCE_YAML    0x4

/* conf.c */
/*
 * Check the file (realpath first; root:root, mode & 0777 exactly 0600 or
 * 0400, not a directory, <= 10 MiB), parse and validate it. NULL on failure
 * with e->code EX_NOINPUT (missing), EX_NOPERM (owner/mode), EX_DATAERR
 * (size, syntax, keys) and a message "FILE:LINE: key 'K' in [G]: ...".
 */
struct conf_file *conf_load(const char *path, struct err *e);
/* As conf_load, with CONF_* flags; *reply (may be NULL): the original's verdict. */
struct conf_file *conf_load_ex(const char *path, unsigned flags,
    enum conf_reply *reply, struct err *e);
/* Parse and validate a buffer (no file checks); name is used in messages. */
struct conf_file *conf_parse_buffer(const char *name, const char *buf,
    size_t len, struct err *e);
struct conf_file *conf_parse_buffer_ex(const char *name, const char *buf,
    size_t len, unsigned flags, enum conf_reply *reply, struct err *e);
void conf_free(struct conf_file *cf);
/* Canonical dump, identical for the INI and YAML forms of one model. */
void conf_print(const struct conf_file *cf, FILE *fp);

/* The engine's identity inside its project: eng_name or the type name. */
const char *conf_engine_id(const struct conf_engine *eng);
const char *conf_engine_type_name(enum conf_engine_type t);
/* -1 when s names no built-in type ("thirdparty" itself counts). */
int conf_engine_type_from_name(const char *s);
const char *conf_scan_type_name(enum conf_scan_type t);
const char *conf_damon_action_name(enum conf_damon_action a);
/* Find by identity; NULL when absent. */
const struct conf_engine *conf_find_engine(const struct conf_file *cf,
    const char *project, const char *id);
const struct conf_task *conf_find_task(const struct conf_file *cf,
    const char *project, const char *engine, const char *name);
/* Value and line of a key as written in a group; NULL/0 when absent. */
const char *conf_group_get(const struct conf_group *g, const char *key,
    int *line);
/*
 * Checks that need the task's project when it was added from another file:
 * slide T <= 3*loop. Message names cf_name:line:key like the loader's.
 */
int conf_task_check_project(const char *cf_name, const struct conf_task *t,
    const struct conf_project *p, struct err *e);

#endif /* ETMEM_CONF_H */
