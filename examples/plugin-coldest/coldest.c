/* SPDX-License-Identifier: MIT */
/*
 * coldest.c - an example etmem ranking plugin (include/etmem/plugin.h):
 * swap out each process's coldest pages.
 *
 * Keys (from the config's engine/task sections, or --engine-key/--task-key):
 *   engine: threshold=N   a page whose count over the period is <= N is cold
 *                         (default 0: not touched in any round)
 *   task:   max_pages=N   at most N base pages per process and period
 *                         (default 0: no limit)
 * Private commands (etmem engine CMD ...): `keys` lists the keys it was
 * given, `stats` prints its counters, `fail` answers and then fails (to
 * show how failure reaches the CLI).
 *
 * It is a starting point, not a policy to run as is: no hysteresis, no
 * regard for memory pressure. Build: make (examples/examples.mk) gives
 * build/examples/plugin-coldest.so, root:root 0700 as etmem-rank requires.
 */
/* dprintf(3), also for a plain `cc -std=c11` build. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etmem/plugin.h"

struct coldest {
	uint64_t threshold;
	uint64_t max_pages;
	uint64_t periods, decided;
	char keys[1024];        /* "k=v k=v" as given, for `keys` */
};

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static void
say(const struct etmem_plugin_host *h, int level, const char *fmt, const char *a,
    const char *b)
{
	char line[1100];   /* fits "keys: " and all of keys[] */

	snprintf(line, sizeof(line), fmt, a, b);
	h->log(h, level, line);
}

/* Remember the keys; refuse values that are not numbers. */
static int
take_keys(struct coldest *c, const struct etmem_plugin_kv *kv, size_t n,
    const char *which, const struct etmem_plugin_host *h)
{
	size_t i, len;

	for (i = 0; i < n; i++) {
		uint64_t *dst = NULL;

		if (strcmp(kv[i].key, "threshold") == 0)
			dst = &c->threshold;
		else if (strcmp(kv[i].key, "max_pages") == 0)
			dst = &c->max_pages;
		if (dst != NULL && parse_u64(kv[i].value, dst) < 0) {
			say(h, ETMEM_PLUGIN_LOG_ERR, "key %s=%s: not a number", kv[i].key,
			    kv[i].value);
			return -1;
		}
		len = strlen(c->keys);
		snprintf(c->keys + len, sizeof(c->keys) - len, "%s%s:%s=%s", len ? " " : "",
		    which, kv[i].key, kv[i].value);
	}
	return 0;
}

static int
coldest_init(void **priv, const struct etmem_plugin_kv *ekeys, size_t ne,
    const struct etmem_plugin_kv *tkeys, size_t nt, const struct etmem_plugin_host *h)
{
	struct coldest *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	if (take_keys(c, ekeys, ne, "engine", h) < 0 || take_keys(c, tkeys, nt, "task", h) < 0) {
		free(c);
		return -1;
	}
	say(h, ETMEM_PLUGIN_LOG_INFO, "keys: %s%s", c->keys[0] ? c->keys : "(none)", "");
	*priv = c;
	return 0;
}

/* Extents come sorted by pid, then address: one pass, a budget per pid. */
static int
coldest_period(void *priv, const struct etmem_plugin_period *p,
    const struct etmem_plugin_host *h)
{
	struct coldest *c = priv;
	uint64_t left = 0, n = 0;
	uint32_t pid = 0;
	size_t i;

	for (i = 0; i < p->nextents; i++) {
		const struct etmr_access *a = &p->extents[i];
		struct etmr_decision d;
		uint64_t base = a->size == ETMR_SIZE_4K ? 1 : a->size == ETMR_SIZE_2M ? 512 :
		    512 * 512;   /* base pages per page, for 4 KiB base pages */
		uint64_t take = a->npages;

		if (i == 0 || a->pid != pid) {
			pid = a->pid;
			left = c->max_pages ? c->max_pages : UINT64_MAX;
		}
		if (a->count > c->threshold || left < base)
			continue;
		if (take > left / base)
			take = left / base;
		left -= take * base;
		memset(&d, 0, sizeof(d));
		d.pid = a->pid;
		d.start = a->start;
		d.npages = take;
		d.size = a->size;
		d.action = ETMR_ACT_SWAP;
		d.node = ETMR_NODE_NONE;
		d.score = a->count;
		if (h->decide(h, &d) != 0)
			return -1;
		n += take;
	}
	c->periods++;
	c->decided += n;
	h->stat(h, "coldest_pages", n);
	return 0;
}

static int
coldest_mgmt(void *priv, const char *cmd, int fd)
{
	struct coldest *c = priv;

	if (strcmp(cmd, "keys") == 0) {
		dprintf(fd, "%s\n", c->keys);
		return 0;
	}
	if (strcmp(cmd, "stats") == 0) {
		dprintf(fd, "periods %llu\npages %llu\n", (unsigned long long)c->periods,
		    (unsigned long long)c->decided);
		return 0;
	}
	if (strcmp(cmd, "fail") == 0) {
		dprintf(fd, "failing on purpose\n");
		return 1;
	}
	dprintf(fd, "unknown command '%s' (keys, stats, fail)\n", cmd);
	return 1;
}

static void
coldest_fini(void *priv)
{
	free(priv);
}

const struct etmem_plugin_ops coldest_ops = {
	ETMEM_PLUGIN_OPS_INIT,
	.name = "coldest",
	.init = coldest_init,
	.period = coldest_period,
	.mgmt = coldest_mgmt,
	.fini = coldest_fini,
};
