/* SPDX-License-Identifier: MIT */
/*
 * scan-node.c - per-node 2 MiB hugepage facts for cslide, carried in the
 * stream so that the ranker decides from its input alone (a capture
 * replays): at the end of each period of a --vm-flags ht scan, one STAT
 * pair per NUMA node, huge2m_total_n<N> and huge2m_free_n<N> (pages), read
 * from <sys-root>/sys/devices/system/node/node<N>/hugepages/hugepages-2048kB.
 * A node without that directory (no 2 MiB hugepage support) is left out.
 *
 * Not here: which node a page is on (the ACCESS items' node field).
 */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etmem/record.h"
#include "procfs.h"

#define SCAN_NODES_MAX 64

static int
read_pages(int node, const char *file, uint64_t *out)
{
	char path[PROCFS_PATH_MAX], buf[64], *end;

	if (sysfs_path(path, sizeof(path),
	    "devices/system/node/node%d/hugepages/hugepages-2048kB/%s", node, file) < 0 ||
	    procfs_read_file(path, buf, sizeof(buf), NULL) < 0)
		return -1;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return errno != 0 || end == buf ? -1 : 0;
}

static int
put(struct etmr_writer *w, uint32_t period, const char *key, unsigned node,
    uint64_t v, struct err *e)
{
	struct etmr_stat s;

	memset(&s, 0, sizeof(s));
	s.period = period;
	s.stage = ETMR_STAGE_SCAN;
	/* key is at most 14 characters and node < 64: fits in 23. */
	snprintf(s.key, sizeof(s.key), "%.14s%u", key, node % SCAN_NODES_MAX);
	s.value = v;
	return etmr_write_stat(w, &s, e);
}

int
scan_node_stats(struct etmr_writer *w, uint32_t period, struct err *e)
{
	for (int n = 0; n < SCAN_NODES_MAX; n++) {
		uint64_t total, free_;

		if (read_pages(n, "nr_hugepages", &total) < 0 ||
		    read_pages(n, "free_hugepages", &free_) < 0)
			continue;
		if (put(w, period, "huge2m_total_n", (unsigned)n, total, e) < 0 ||
		    put(w, period, "huge2m_free_n", (unsigned)n, free_, e) < 0)
			return -1;
	}
	return 0;
}
