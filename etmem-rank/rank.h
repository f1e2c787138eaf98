/* SPDX-License-Identifier: MIT */
/*
 * rank.h - etmem-rank's core/engine split (DAMON's ops shape).
 *
 * The core (rank.c) reads the stream, groups it into periods, feeds every
 * ACCESS item into the compact tracker (rank-tracker.h), forwards the PROC
 * items and the PERIOD marker, orders and writes the decisions and keeps
 * the counters. An engine (rank-<name>.c) is only the policy: at the end of
 * each period it looks at the tracked pages and the period's facts and
 * calls rank_decide() for what should move. It exports one const struct
 * rank_ops; its state lives in ctx->priv.
 *
 * Hooks, in call order:
 *   init (once, after options) -> [round (each ROUND) ... period] x N -> fini
 * The core never calls period() for a period without a PERIOD frame.
 */
#ifndef ETMEM_RANK_H
#define ETMEM_RANK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "etmem/record.h"
#include "rank-tracker.h"

struct err;
struct opt;
struct ctl_stage;
struct ctl_msg;

#define RANK_STATS_MAX 32
#define RANK_DECISIONS_MAX (1u << 26)  /* per period: 2.5 GiB of decisions */

/* What the core hands an engine when a PERIOD frame arrives. */
struct rank_period {
	const struct etmr_period *facts;  /* MemTotal, MemFree, ... of the PERIOD */
	const struct etmr_proc *procs;    /* the period's PROC items, by pid */
	size_t nprocs;
	uint32_t loop;                    /* from the period's ROUND frames */
	uint32_t page_size;               /* base page size of the stream */
	const struct rank_tracker *trk;   /* the period's pages, sorted */
};

struct rank_ctx {
	const struct rank_ops *ops;
	void *priv;                       /* engine state */
	uint32_t page_size;
	uint32_t period;                  /* number of the current period */
	/* The current period's output, owned by the core. */
	struct etmr_decision *dec;
	size_t ndec, dec_cap;
	struct etmr_stat stats[RANK_STATS_MAX];
	size_t nstats;
	/* The current period's upstream STAT items (set before period()). */
	const struct etmr_stat *ustats;
	size_t nustats;
};

struct rank_ops {
	const char *name;          /* "slide": the ENGINE operand */
	const char *summary;       /* one line for the engine list */
	const char *synopsis;      /* after "etmem-rank NAME" */
	const char *description;   /* --help text: what the policy does */
	const char *footer;        /* --help text after the options */
	const struct opt *opts;    /* engine options, OPT_END-terminated */
	/* Once, after the options were parsed and before the stream is read
	 * (so ctx->page_size is not known yet): check the options (-1 with
	 * EX_USAGE and a message naming the option) and set up ctx->priv. */
	int (*init)(struct rank_ctx *ctx, struct err *e);
	/* At every ROUND frame; `where` is its byte offset (binary) or line
	 * (text), `form` says which. May reject the stream (EX_DATAERR).
	 * NULL = accept any. */
	int (*round)(struct rank_ctx *ctx, const struct etmr_round *r,
	    uint64_t where, enum etmr_form form, struct err *e);
	/* The largest count whose exact value the policy needs for a period of
	 * `loop` rounds (picks the tracker's counter width). NULL = 3 * loop. */
	uint32_t (*max_count)(const struct rank_ctx *ctx, uint32_t loop);
	/* At every PERIOD: call rank_decide() in (pid, address) order and
	 * rank_stat() for the engine's counters. -1 fails the run. */
	int (*period)(struct rank_ctx *ctx, const struct rank_period *p, struct err *e);
	/* Once at exit, also after errors. NULL = nothing. */
	void (*fini)(struct rank_ctx *ctx);
	/* Every resident ACCESS item (not hole, not swapped), in stream order,
	 * as it is added to the tracker; for engines that need more than the
	 * count (cslide: the node). NULL = none. -1 fails the run. */
	int (*access)(struct rank_ctx *ctx, const struct etmr_access *a, struct err *e);
	/* A control request other than STATS/STOP (e.g. SHOW_TASK_PAGES):
	 * reply with ctl_send(s->conn.fd, ..., m->seq). NULL = ERROR reply.
	 * Called between frames, never during period(). */
	int (*ctl)(struct rank_ctx *ctx, struct ctl_stage *s, const struct ctl_msg *m);
};

/* Engines, in the order `etmem-rank --help` lists them. */
extern const struct rank_ops rank_slide;
extern const struct rank_ops rank_cslide;
extern const struct rank_ops rank_plugin, rank_exec;  /* rank-plugin.c, rank-exec.c */
extern const struct rank_ops *const rank_engines[];

/* rank.c */
/* The engine named `name`, or NULL. */
const struct rank_ops *rank_engine(const char *name);
int rank_ctx_init(struct rank_ctx *ctx, const struct rank_ops *ops,
    uint32_t page_size, struct err *e);
void rank_ctx_free(struct rank_ctx *ctx);
/* Engine side: add a decision. Calls must come in (pid, address) order
 * within a period; a decision that continues the previous one (same pid,
 * class, action, node, score and identity, adjacent) is merged into it. */
int rank_decide(struct rank_ctx *ctx, const struct etmr_decision *d, struct err *e);
/* Engine side: set a counter of this period (key: [a-z0-9_]{1,23}). */
void rank_stat(struct rank_ctx *ctx, const char *key, uint64_t value);
/* The PROC item of pid in the period, or NULL. */
const struct etmr_proc *rank_proc(const struct rank_period *p, uint32_t pid);
/* Order the period's decisions: ascending score, then pid, then address
 * (stable). Fills idx[0..ndec) with indices into ctx->dec. */
int rank_order(const struct rank_ctx *ctx, uint32_t *idx, struct err *e);

/* Everything the core's loop needs. */
struct rank_io {
	struct etmr_reader *in;
	struct etmr_writer *out;
	struct ctl_stage *ctl;            /* may be disabled */
	volatile sig_atomic_t *stop;      /* set by SIGTERM */
};
/* Read the stream to its end (or a stop request), acting on every period,
 * then write END. 0 ok; -1 with e filled (EX_DATAERR: bad stream). */
int rank_run(struct rank_ctx *ctx, struct rank_io *io, struct err *e);

/* rank-sweep.c */
/* `etmem-rank slide --sweep ...` (argv[0] = "slide"): the policy simulator.
 * Returns the exit status. */
int rank_sweep_main(int argc, char **argv);
/* Is --sweep among the options (argv[0] = "slide")? */
int rank_sweep_wanted(int argc, char **argv);

#endif /* ETMEM_RANK_H */
