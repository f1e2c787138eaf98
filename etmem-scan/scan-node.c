/* SPDX-License-Identifier: MIT */
/*
 * scan-node.c - per-node 2 MiB hugepage facts for cslide, carried in the
 * stream so that the ranker decides from its input alone (a capture
 * replays): at the end of each period of a --vm-flags ht scan, one STAT
 * pair per NUMA node, huge2m_total_n<N> and huge2m_free_n<N> (pages), read
 * from <sys-root>/sys/devices/system/node/node<N>/hugepages/hugepages-2048kB.
 * A node without that directory (no 2 MiB hugepage support) is left out.
 *
 * And with --numa-node (on with --vm-flags ht): which node each page of an
 * ACCESS item is on (below).
 */
#include "scan.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "etmem/record.h"
#include "log.h"
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

/*
 * --numa-node: which node each page of an ACCESS item is on, asked once
 * per pass with move_pages(pid, n, pages, NULL, status, 0) (query only:
 * nothing moves) for up to SCAN_NODE_BATCH pages at a time, so that the
 * ranker never has to ask the kernel itself (its answer would not replay).
 *
 * The backend's collect writes its pass to a memfd; the pass is read back,
 * each item's pages are queried in batches of one pid and the items are
 * split where the node changes, then re-merged (scan_coalesce) into the
 * real writer. Items that are holes, swapped out or already carry a node
 * pass through as they are; a page the query cannot place (not present,
 * not mapped, process gone) keeps ETMR_NODE_NONE.
 */
struct scan_node {
	scan_node_query_fn query;
	void *qarg;
	uint32_t page_size;
	struct scan_coalesce co;          /* output: merged, to the real writer */
	/* Pending pieces of items, all of one pid, and their pages. */
	struct etmr_access items[SCAN_NODE_BATCH_ITEMS];
	size_t nitems;
	void *addr[SCAN_NODE_BATCH];
	int status[SCAN_NODE_BATCH];
	size_t npages;
	struct scan_node_counters cnt;    /* this period */
	int memfd;
};

static long
query_kernel(pid_t pid, size_t n, void **pages, int *status, void *arg)
{
	(void)arg;
	/* libc's move_pages() lives in libnuma; the syscall is all we need. */
	return syscall(SYS_move_pages, (long)pid, (unsigned long)n, pages,
	    (const int *)NULL, status, 0);
}

struct scan_node *
scan_node_new(uint32_t page_size, scan_node_query_fn query, void *arg,
    struct err *e)
{
	struct scan_node *sn = calloc(1, sizeof(*sn));

	if (sn == NULL) {
		err_set(e, EX_OSERR, errno, "--numa-node: out of memory");
		return NULL;
	}
	sn->query = query != NULL ? query : query_kernel;
	sn->qarg = arg;
	sn->page_size = page_size;
	sn->memfd = -1;
	return sn;
}

void
scan_node_free(struct scan_node *sn)
{
	if (sn == NULL)
		return;
	if (sn->memfd >= 0)
		close(sn->memfd);
	free(sn);
}

const struct scan_node_counters *
scan_node_counters(struct scan_node *sn)
{
	return &sn->cnt;
}

void
scan_node_reset(struct scan_node *sn)
{
	memset(&sn->cnt, 0, sizeof(sn->cnt));
}

void
scan_node_begin(struct scan_node *sn, struct etmr_writer *w)
{
	scan_coalesce_init(&sn->co, w, sn->page_size, NULL);
	sn->nitems = sn->npages = 0;
}

/* A query's status as a node: errors (not present, ...) are no node. */
static uint16_t
node_of(int status)
{
	return status >= 0 && status < (int)ETMR_NODE_NONE ? (uint16_t)status :
	    ETMR_NODE_NONE;
}

/* Emit one piece of an item: runs of equal node, each one item. */
static int
emit_piece(struct scan_node *sn, const struct etmr_access *a, const int *st,
    struct err *e)
{
	uint64_t unit = etmr_size_bytes(a->size, sn->page_size);
	uint64_t i = 0;

	while (i < a->npages) {
		struct etmr_access out = *a;
		uint16_t node = node_of(st[i]);
		uint64_t j = i + 1;

		while (j < a->npages && node_of(st[j]) == node)
			j++;
		out.start = a->start + i * unit;
		out.npages = j - i;
		out.node = node;
		if (node == ETMR_NODE_NONE)
			sn->cnt.pages_unknown += j - i;
		else
			sn->cnt.pages_located += j - i;
		if (scan_coalesce_add(&sn->co, &out, e) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* Ask where the pending pages are (one call) and emit their items. */
static int
flush_batch(struct scan_node *sn, struct err *e)
{
	size_t off = 0;

	if (sn->nitems == 0)
		return 0;
	for (size_t i = 0; i < sn->npages; i++)
		sn->status[i] = -ENOENT;
	sn->cnt.queries++;
	if (sn->query((pid_t)sn->items[0].pid, sn->npages, sn->addr, sn->status,
	    sn->qarg) < 0) {
		/* Gone, or not ours to ask: its pages stay without a node. */
		log_debug("scan: --numa-node: pid %u: move_pages query: %s",
		    sn->items[0].pid, strerror(errno));
		sn->cnt.queries_failed++;
		for (size_t i = 0; i < sn->npages; i++)
			sn->status[i] = -ENOENT;
	}
	for (size_t k = 0; k < sn->nitems; k++) {
		if (emit_piece(sn, &sn->items[k], sn->status + off, e) < 0)
			return -1;
		off += sn->items[k].npages;
	}
	sn->nitems = sn->npages = 0;
	return 0;
}

int
scan_node_add(struct scan_node *sn, const struct etmr_access *a, struct err *e)
{
	uint64_t unit = etmr_size_bytes(a->size, sn->page_size), done = 0;

	if (a->npages == 0)
		return 0;
	if (unit == 0 || a->node != ETMR_NODE_NONE ||
	    (a->flags & (ETMR_F_HOLE | ETMR_F_SWAPPED))) {
		/* Nothing to ask; keep the output in address order. */
		if (flush_batch(sn, e) < 0)
			return -1;
		if (a->node == ETMR_NODE_NONE)
			sn->cnt.pages_unknown += a->npages;
		return scan_coalesce_add(&sn->co, a, e);
	}
	if (sn->nitems > 0 && sn->items[0].pid != a->pid && flush_batch(sn, e) < 0)
		return -1;
	while (done < a->npages) {
		struct etmr_access *p;
		uint64_t k = a->npages - done;

		if (k > SCAN_NODE_BATCH - sn->npages)
			k = SCAN_NODE_BATCH - sn->npages;
		p = &sn->items[sn->nitems++];
		*p = *a;
		p->start = a->start + done * unit;
		p->npages = k;
		for (uint64_t i = 0; i < k; i++)
			sn->addr[sn->npages++] = (void *)(uintptr_t)(p->start + i * unit);
		done += k;
		if ((sn->npages == SCAN_NODE_BATCH || sn->nitems == SCAN_NODE_BATCH_ITEMS) &&
		    flush_batch(sn, e) < 0)
			return -1;
	}
	return 0;
}

int
scan_node_end(struct scan_node *sn, struct err *e)
{
	if (flush_batch(sn, e) < 0)
		return -1;
	return scan_coalesce_flush(&sn->co, e);
}

/* One pass of ops->collect through the node lookup: the backend writes to
 * a memfd, which is read back here item by item. */
int
scan_node_collect(struct scan_node *sn, struct scan_ctx *ctx,
    const struct scan_ops *ops, struct etmr_writer *w, struct err *e)
{
	struct etmr_header h = { .version = ETMR_VERSION, .page_size = sn->page_size,
		.backend = ops->backend };
	struct etmr_writer *mw;
	struct etmr_reader *rd = NULL;
	struct etmr_frame f;
	int rc = -1, got;

	if (sn->memfd < 0 &&
	    (sn->memfd = memfd_create("etmem-scan-pass", MFD_CLOEXEC)) < 0)
		return err_set(e, EX_OSERR, errno, "--numa-node: memfd_create");
	if (ftruncate(sn->memfd, 0) < 0 || lseek(sn->memfd, 0, SEEK_SET) < 0)
		return err_set(e, EX_OSERR, errno, "--numa-node: memfd reset");
	if ((mw = etmr_writer_open(sn->memfd, ETMR_FORM_BINARY, &h, e)) == NULL)
		return -1;
	/* The END only closes the memfd stream (readers want one). */
	if (ops->collect(ctx, mw, e) < 0 || etmr_write_end(mw, 0, e) < 0) {
		(void)etmr_writer_close(mw, NULL);
		return -1;
	}
	if (etmr_writer_close(mw, e) < 0)
		return -1;
	if (lseek(sn->memfd, 0, SEEK_SET) < 0)
		return err_set(e, EX_OSERR, errno, "--numa-node: memfd seek");
	if ((rd = etmr_reader_open(sn->memfd, "<pass>", e)) == NULL)
		return -1;
	scan_node_begin(sn, w);
	while ((got = etmr_read(rd, &f, e)) == 1) {
		if (f.type == ETMR_FRAME_ACCESS) {
			for (size_t i = 0; i < f.n; i++)
				if (scan_node_add(sn, &f.u.access[i], e) < 0)
					goto out;
			continue;
		}
		if (f.type == ETMR_FRAME_END)
			break;
		/* Anything else a backend writes goes on, in order. */
		if (scan_node_end(sn, e) < 0 || etmr_write_frame(w, &f, e) < 0)
			goto out;
	}
	if (got >= 0)
		rc = scan_node_end(sn, e);
out:
	etmr_reader_close(rd);
	return rc;
}
