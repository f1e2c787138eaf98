/* SPDX-License-Identifier: MIT */
/*
 * etmem/plugin.h - the ABI of third-party ranking engines, loaded by
 * `etmem-rank plugin --lib PATH --ops SYMBOL` (config: engine name=thirdparty,
 * libname=PATH, ops_name=SYMBOL). docs/PLUGINS.md is the guide.
 *
 * A plugin is a shared object exporting one `const struct etmem_plugin_ops`
 * under the name given by --ops. It runs inside etmem-rank (one process per
 * task), not inside the daemon: a crash takes down one task's ranker, which
 * the supervisor restarts. The host (etmem-rank) reads
 * the scanner's stream, groups it into periods and, at each period's end,
 * hands the plugin the period's pages; the plugin answers with decisions
 * through host->decide(). The host validates every decision (pid present in
 * the period, page-aligned, known action) before it reaches etmem-migrate.
 *
 * The period's data uses the record types of etmem/record.h, so a plugin
 * sees exactly what the text form shows: access extents (struct
 * etmr_access, count = the sum of the period's rounds, sorted by pid then
 * address, holes and swapped pages left out), the PERIOD facts (struct
 * etmr_period) and the processes (struct etmr_proc, sorted by pid).
 *
 * Versioning: the ops struct starts with the ABI version and the size the
 * plugin was built with (ETMEM_PLUGIN_OPS_INIT fills both). The host
 * refuses a plugin whose version is 0 or newer than its own, or whose size is
 * smaller than that version's struct. Changes are additive only: new members
 * go at the end of a struct and bump ETMEM_PLUGIN_ABI_VERSION; nothing is
 * renamed, reordered or removed. Self-contained C11, fixed-width types.
 */
#ifndef ETMEM_PLUGIN_H
#define ETMEM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "etmem/record.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ETMEM_PLUGIN_ABI_VERSION 1u

/* Log levels for host->log(). */
#define ETMEM_PLUGIN_LOG_ERR   0
#define ETMEM_PLUGIN_LOG_WARN  1
#define ETMEM_PLUGIN_LOG_INFO  2
#define ETMEM_PLUGIN_LOG_DEBUG 3

/* A private key from the configuration (engine_private_key=..., given to
 * etmem-rank as --engine-key K=V / --task-key K=V). Strings are
 * NUL-terminated and live until fini returns. */
struct etmem_plugin_kv {
	const char *key;
	const char *value;
};

/* What the host hands the plugin at each PERIOD. Valid during the call. */
struct etmem_plugin_period {
	uint32_t size;                       /* sizeof as the host built it */
	uint32_t page_size;                  /* base page size of the stream */
	uint32_t loop;                       /* rounds per period (ROUND loop=) */
	uint32_t reserved;                   /* 0 */
	const struct etmr_period *facts;     /* number, rounds, time, meminfo */
	const struct etmr_proc *procs;       /* by pid, one per pid */
	size_t nprocs;
	const struct etmr_access *extents;   /* by pid, then address */
	size_t nextents;
};

/* Services of the host, valid from init until fini returns. */
struct etmem_plugin_host {
	uint32_t abi_version;                /* the host's ETMEM_PLUGIN_ABI_VERSION */
	uint32_t size;                       /* sizeof as the host built it */
	void *host_priv;                     /* the host's; do not touch */
	/* Decide to move npages pages of d->size from d->start of d->pid
	 * (action ETMR_ACT_*, node for demote/promote, score: lower = colder,
	 * moved first). d->start_time 0 = the host fills in the pid's identity
	 * from the period. Only during period(). 0 ok; -1 refused (the host has
	 * logged why; the period then fails). */
	int (*decide)(const struct etmem_plugin_host *h, const struct etmr_decision *d);
	/* A counter of this period (key [a-z0-9_]{1,23}, at most 16 per period),
	 * written as an `S rank` item. Only during period(). 0 ok, -1 refused. */
	int (*stat)(const struct etmem_plugin_host *h, const char *key, uint64_t value);
	/* One line to etmem-rank's stderr (the supervisor's log), prefixed with
	 * the plugin's name. */
	void (*log)(const struct etmem_plugin_host *h, int level, const char *msg);
};

/*
 * The plugin's operation table. Every hook may be NULL except period.
 * All calls come from one thread, never concurrently.
 */
struct etmem_plugin_ops {
	uint32_t abi_version;                /* ETMEM_PLUGIN_ABI_VERSION */
	uint32_t size;                       /* sizeof(struct etmem_plugin_ops) */
	const char *name;                    /* short name for log lines */
	/* Once, before the stream is read. *priv is the plugin's state, handed
	 * to every later call. Non-zero refuses the keys: etmem-rank exits 78
	 * (EX_CONFIG) after the plugin's log lines. */
	int (*init)(void **priv, const struct etmem_plugin_kv *engine_keys, size_t nengine,
	    const struct etmem_plugin_kv *task_keys, size_t ntask,
	    const struct etmem_plugin_host *host);
	/* At each PERIOD: call host->decide() for what should move. Non-zero
	 * fails the run (exit 70), nothing of this period is written. */
	int (*period)(void *priv, const struct etmem_plugin_period *p,
	    const struct etmem_plugin_host *host);
	/* An engine-private command (`etmem engine CMD -n P -e E [-t T]`):
	 * write the reply as text to fd (a memory file, at most 1 MiB; it is
	 * never the client socket). The bytes 0xFF and 0xFE are the CLI wire's
	 * terminators: a reply containing one is refused by the host. 0 = success,
	 * non-zero = failure (the text is still shown, then the error). Called
	 * between periods. */
	int (*mgmt)(void *priv, const char *cmd, int fd);
	/* Once at exit (also after errors); free priv. */
	void (*fini)(void *priv);
};

/* Opening of a plugin's table: `const struct etmem_plugin_ops my_ops = {
 * ETMEM_PLUGIN_OPS_INIT, .name = "mine", .period = my_period };` */
#define ETMEM_PLUGIN_OPS_INIT \
	.abi_version = ETMEM_PLUGIN_ABI_VERSION, .size = sizeof(struct etmem_plugin_ops)

/* Size of version 1 of struct etmem_plugin_ops (the smallest the host takes). */
#define ETMEM_PLUGIN_OPS_SIZE_V1 \
	(offsetof(struct etmem_plugin_ops, fini) + sizeof(void (*)(void *)))

#ifdef __cplusplus
}
#endif

#endif /* ETMEM_PLUGIN_H */
