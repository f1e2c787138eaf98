/* SPDX-License-Identifier: MIT */
/*
 * rank-cslide-facts.c - what cslide needs to know about the machine: which
 * NUMA nodes exist, each node's 2 MiB hugepage totals, and which node a
 * page is on.
 *
 * Replay first: the hugepage facts are taken from the stream when an
 * upstream stage put them there (STAT items huge2m_total_n<N> and
 * huge2m_free_n<N>, in pages), and a page's node from its ACCESS item's
 * node field. Only what the stream lacks is read from the live system, and
 * then at the PERIOD, after the scan (the original took its free-memory
 * snapshot before the loop*sleep scan, W-26). Every path goes under
 * --sys-root.
 */
#include "rank-cslide.h"

#include <errno.h>
#include <inttypes.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "procfs.h"

#define LOCATE_CHUNK 4096u

int
cslide_node_exists(int node)
{
	char path[PROCFS_PATH_MAX];

	if (sysfs_path(path, sizeof(path), "devices/system/node/node%d", node) < 0)
		return 0;
	return access(path, F_OK) == 0;
}

int
cslide_node_count(void)
{
	int n = 0;

	for (int i = 0; i < (int)CSLIDE_NODES_MAX; i++)
		if (cslide_node_exists(i))
			n = i + 1;
	return n;
}

static int
read_u64(int node, const char *file, uint64_t *out)
{
	char path[PROCFS_PATH_MAX], buf[64], *end;
	unsigned long long v;

	if (sysfs_path(path, sizeof(path),
	    "devices/system/node/node%d/hugepages/hugepages-2048kB/%s", node, file) < 0 ||
	    procfs_read_file(path, buf, sizeof(buf), NULL) < 0)
		return -1;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf)
		return -1;
	*out = v;
	return 0;
}

/* "huge2m_free_n3" -> 3 for prefix "huge2m_free_n"; -1 if not that key. */
static int
key_node(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncmp(key, prefix, n) != 0 || key[n] < '0' || key[n] > '9')
		return -1;
	v = strtol(key + n, &end, 10);
	return *end == '\0' && v < (long)CSLIDE_NODES_MAX ? (int)v : -1;
}

int
cslide_node_mem(struct cslide_node_mem *mem, int nnodes,
    const struct etmr_stat *us, size_t nus, const struct cslide_pairs *pairs,
    struct err *e)
{
	int from_stream = 0;

	memset(mem, 0, CSLIDE_NODES_MAX * sizeof(*mem));
	for (size_t i = 0; i < nus; i++) {
		int tn = key_node(us[i].key, "huge2m_total_n");
		int fn = key_node(us[i].key, "huge2m_free_n");

		if (tn >= 0) {
			mem[tn].total = us[i].value * CSLIDE_HUGE_BYTES;
			mem[tn].known = 1;
			from_stream = 1;
		} else if (fn >= 0) {
			mem[fn].free = us[i].value * CSLIDE_HUGE_BYTES;
			mem[fn].known = 1;
			from_stream = 1;
		}
	}
	if (!from_stream) {
		for (int n = 0; n < nnodes && n < (int)CSLIDE_NODES_MAX; n++) {
			uint64_t t, f;

			if (read_u64(n, "nr_hugepages", &t) < 0 ||
			    read_u64(n, "free_hugepages", &f) < 0)
				continue;
			mem[n] = (struct cslide_node_mem){ t * CSLIDE_HUGE_BYTES,
			    f * CSLIDE_HUGE_BYTES, 1 };
		}
	}
	for (size_t i = 0; i < pairs->n; i++) {
		int a = pairs->v[i].hot, b = pairs->v[i].cold;

		if (!mem[a].known || !mem[b].known)
			return err_set(e, EX_UNAVAILABLE, 0, "no 2 MiB hugepage facts for "
			    "node %d (%s)", mem[a].known ? b : a, from_stream ?
			    "the stream has huge2m_* counters for other nodes only" :
			    "cannot read <sys-root>/sys/devices/system/node/node<N>/"
			    "hugepages/hugepages-2048kB");
	}
	return from_stream;
}

long
cslide_locate(uint32_t pid, struct cslide_page *pages, size_t n)
{
	void *addr[LOCATE_CHUNK];
	int status[LOCATE_CHUNK];
	size_t map[LOCATE_CHUNK];
	long found = 0;
	size_t i = 0;

	while (i < n) {
		size_t k = 0;

		for (; i < n && k < LOCATE_CHUNK; i++) {
			if (pages[i].node != CSLIDE_NODE_NONE)
				continue;
			addr[k] = (void *)(uintptr_t)pages[i].addr;
			status[k] = INT32_MIN;
			map[k++] = i;
		}
		if (k == 0)
			break;
		/* nodes == NULL: query only, nothing moves. */
		if (move_pages((int)pid, k, addr, NULL, status, 0) < 0) {
			log_debug("cslide: pid %u: move_pages query: %s", pid, strerror(errno));
			return errno == ESRCH ? -1 : found;
		}
		for (size_t j = 0; j < k; j++) {
			if (status[j] >= 0 && status[j] < (int)CSLIDE_NODES_MAX) {
				pages[map[j]].node = (uint16_t)status[j];
				found++;
			}
		}
	}
	return found;
}
