/* SPDX-License-Identifier: MIT */
/*
 * test-scan-node.c - etmem-scan --numa-node (scan-node.c): ACCESS items get
 * their pages' node from a pluggable query, split where the node changes,
 * merged again where they continue; one query per SCAN_NODE_BATCH pages of
 * a pid. The query here is a fake with move_pages(2)'s shape: no kernel.
 */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "etmem/record.h"
#include "../../etmem-scan/scan.h"

#define MB2 (2ull << 20)
#define BASE 0x7f0000000000ull

/* The fake kernel: node of the 2 MiB window of an address, from a table
 * (index = (addr - BASE) / 2 MiB; past it, node 0). Records every call. */
struct fake {
	const int *nodes;
	size_t nnodes;
	int fail_errno;               /* whole call fails with this */
	size_t calls, max_n, total_n;
	pid_t pids[8];
};

static long
fake_query(pid_t pid, size_t n, void **pages, int *status, void *arg)
{
	struct fake *f = arg;

	if (f->calls < 8)
		f->pids[f->calls] = pid;
	f->calls++;
	f->total_n += n;
	if (n > f->max_n)
		f->max_n = n;
	if (f->fail_errno) {
		errno = f->fail_errno;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t idx = ((uint64_t)(uintptr_t)pages[i] - BASE) / MB2;

		status[i] = idx < f->nnodes ? f->nodes[idx] : 0;
	}
	return 0;
}

/* Run items through scan_node_* into a text stream; the A lines in out. */
static void
run(struct fake *f, const struct etmr_access *a, size_t n, char *out,
    size_t outsize, struct scan_node_counters *cnt)
{
	struct etmr_header h = { .version = ETMR_VERSION, .page_size = 4096 };
	FILE *fp = tmpfile();
	struct etmr_writer *w;
	struct scan_node *sn;
	struct err e = { 0 };
	ssize_t got;
	char *first;

	out[0] = '\0';
	sn = scan_node_new(4096, fake_query, f, &e);
	w = etmr_writer_open(fileno(fp), ETMR_FORM_TEXT, &h, &e);
	CHECK(sn != NULL && w != NULL);
	if (sn == NULL || w == NULL)
		return;
	scan_node_begin(sn, w);
	for (size_t i = 0; i < n; i++)
		CHECK(scan_node_add(sn, &a[i], &e) == 0);
	CHECK(scan_node_end(sn, &e) == 0);
	CHECK(etmr_writer_close(w, &e) == 0);
	*cnt = *scan_node_counters(sn);
	scan_node_free(sn);
	got = pread(fileno(fp), out, outsize - 1, 0);
	out[got > 0 ? got : 0] = '\0';
	/* Drop the header line (host and time). */
	if ((first = strchr(out, '\n')) != NULL)
		memmove(out, first + 1, strlen(first + 1) + 1);
	fclose(fp);
}

static struct etmr_access
item(uint32_t pid, uint64_t start, uint64_t npages, uint8_t size, uint32_t count,
    uint32_t flags)
{
	return (struct etmr_access){ .start = start, .npages = npages, .pid = pid,
	    .count = count, .flags = flags, .node = ETMR_NODE_NONE, .size = size };
}

static void
test_scan_node__split_where_node_changes(void)
{
	static const int nodes[] = { 0, 0, 1, 1, 1, 0, -ENOENT, 0 };
	struct fake f = { nodes, 8, 0, 0, 0, 0, { 0 } };
	struct etmr_access a = item(42, BASE, 8, ETMR_SIZE_2M, 1, ETMR_F_ANON | ETMR_F_HUGETLB);
	struct scan_node_counters c;
	char out[4096];

	run(&f, &a, 1, out, sizeof(out), &c);
	CHECK_STR(out,
	    "A 42 0x7f0000000000 2 2M 1 aH node=0\n"
	    "A 42 0x7f0000400000 3 2M 1 aH node=1\n"
	    "A 42 0x7f0000a00000 1 2M 1 aH node=0\n"
	    "A 42 0x7f0000c00000 1 2M 1 aH\n"
	    "A 42 0x7f0000e00000 1 2M 1 aH node=0\n");
	CHECK_EQ_U(f.calls, 1);
	CHECK_EQ_U(f.total_n, 8);
	CHECK_EQ_U(c.pages_located, 7);
	CHECK_EQ_U(c.pages_unknown, 1);
	CHECK_EQ_U(c.queries, 1);
}

/* Items of one pid share a query; consecutive pieces on one node merge
 * again (the backend's coalescing is kept). */
static void
test_scan_node__one_query_per_pass_and_merge(void)
{
	static const int nodes[] = { 1, 1, 1, 1 };
	struct fake f = { nodes, 4, 0, 0, 0, 0, { 0 } };
	struct etmr_access a[] = {
		item(7, BASE, 2, ETMR_SIZE_2M, 3, ETMR_F_HUGETLB),
		item(7, BASE + 2 * MB2, 2, ETMR_SIZE_2M, 0, ETMR_F_HUGETLB | ETMR_F_IDLE),
	};
	struct scan_node_counters c;
	char out[4096];

	run(&f, a, 2, out, sizeof(out), &c);
	CHECK_STR(out,
	    "A 7 0x7f0000000000 2 2M 3 H node=1\n"
	    "A 7 0x7f0000400000 2 2M 0 iH node=1\n");
	CHECK_EQ_U(f.calls, 1);
	CHECK_EQ_U(f.total_n, 4);
}

/* More than SCAN_NODE_BATCH pages: one call per batch, never larger; the
 * pieces merge back into one extent. */
static void
test_scan_node__batches_of_64ki_pages(void)
{
	struct fake f = { NULL, 0, 0, 0, 0, 0, { 0 } };
	uint64_t n = 2ull * SCAN_NODE_BATCH + 5;
	struct etmr_access a = item(9, BASE, n, ETMR_SIZE_4K, 0, ETMR_F_ANON);
	struct scan_node_counters c;
	char out[4096], want[128];

	run(&f, &a, 1, out, sizeof(out), &c);
	snprintf(want, sizeof(want), "A 9 0x7f0000000000 %llu 4K 0 a node=0\n",
	    (unsigned long long)n);
	CHECK_STR(out, want);
	CHECK_EQ_U(f.calls, 3);
	CHECK_EQ_U(f.max_n, SCAN_NODE_BATCH);
	CHECK_EQ_U(f.total_n, n);
	CHECK_EQ_U(c.pages_located, n);
}

/* A new pid closes the batch: each query names its own pid. */
static void
test_scan_node__pid_change_flushes(void)
{
	static const int nodes[] = { 1, 0 };
	struct fake f = { nodes, 2, 0, 0, 0, 0, { 0 } };
	struct etmr_access a[] = {
		item(5, BASE, 2, ETMR_SIZE_2M, 1, ETMR_F_HUGETLB),
		item(6, BASE, 2, ETMR_SIZE_2M, 1, ETMR_F_HUGETLB),
	};
	struct scan_node_counters c;
	char out[4096];

	run(&f, a, 2, out, sizeof(out), &c);
	CHECK_EQ_U(f.calls, 2);
	CHECK_EQ_U(f.pids[0], 5);
	CHECK_EQ_U(f.pids[1], 6);
	CHECK_STR(out,
	    "A 5 0x7f0000000000 1 2M 1 H node=1\n"
	    "A 5 0x7f0000200000 1 2M 1 H node=0\n"
	    "A 6 0x7f0000000000 1 2M 1 H node=1\n"
	    "A 6 0x7f0000200000 1 2M 1 H node=0\n");
}

/* Holes, swapped pages and items that already have a node are not asked
 * about, and keep their place in the output. */
static void
test_scan_node__holes_and_known_pass_through(void)
{
	static const int nodes[] = { 1, 1, 1, 1 };
	struct fake f = { nodes, 4, 0, 0, 0, 0, { 0 } };
	struct etmr_access a[] = {
		item(3, BASE, 1, ETMR_SIZE_2M, 0, ETMR_F_HOLE),
		item(3, BASE + MB2, 1, ETMR_SIZE_2M, 1, 0),
		item(3, BASE + 2 * MB2, 1, ETMR_SIZE_2M, 0, ETMR_F_SWAPPED),
		item(3, BASE + 3 * MB2, 1, ETMR_SIZE_2M, 2, 0),
	};
	struct scan_node_counters c;
	char out[4096];

	a[3].node = 0;              /* says 0, the fake would say 1 */
	run(&f, a, 4, out, sizeof(out), &c);
	CHECK_STR(out,
	    "A 3 0x7f0000000000 1 2M 0 h\n"
	    "A 3 0x7f0000200000 1 2M 1 - node=1\n"
	    "A 3 0x7f0000400000 1 2M 0 s\n"
	    "A 3 0x7f0000600000 1 2M 2 - node=0\n");
	CHECK_EQ_U(f.calls, 1);
	CHECK_EQ_U(f.total_n, 1);
	CHECK_EQ_U(c.pages_unknown, 2);
}

/* The process went away: its items go out without a node, no error. */
static void
test_scan_node__query_fails(void)
{
	struct fake f = { NULL, 0, ESRCH, 0, 0, 0, { 0 } };
	struct etmr_access a = item(4, BASE, 3, ETMR_SIZE_2M, 1, ETMR_F_HUGETLB);
	struct scan_node_counters c;
	char out[4096];

	run(&f, &a, 1, out, sizeof(out), &c);
	CHECK_STR(out, "A 4 0x7f0000000000 3 2M 1 H\n");
	CHECK_EQ_U(c.queries_failed, 1);
	CHECK_EQ_U(c.pages_unknown, 3);
	CHECK_EQ_U(c.pages_located, 0);
}

/* scan_node_collect: a backend's pass goes through the memfd and comes
 * out with nodes; other frames it writes keep their order. */
static int
fake_collect(struct scan_ctx *ctx, struct etmr_writer *w, struct err *e)
{
	struct etmr_access a = item(11, BASE, 4, ETMR_SIZE_2M, 1, ETMR_F_HUGETLB);
	struct etmr_stat s = { .period = 1, .stage = ETMR_STAGE_SCAN, .key = "x",
		.value = 5 };

	(void)ctx;
	return etmr_write_access(w, &a, e) < 0 || etmr_write_stat(w, &s, e) < 0 ? -1 : 0;
}

static void
test_scan_node__collect_through_memfd(void)
{
	static const int nodes[] = { 0, 1, 1, 0 };
	struct fake f = { nodes, 4, 0, 0, 0, 0, { 0 } };
	const struct scan_ops ops = { .name = "fake", .collect = fake_collect };
	struct etmr_header h = { .version = ETMR_VERSION, .page_size = 4096 };
	struct scan_ctx ctx;
	struct scan_node *sn;
	struct etmr_writer *w;
	struct err e = { 0 };
	FILE *fp = tmpfile();
	char out[4096], *nl;
	ssize_t got;

	memset(&ctx, 0, sizeof(ctx));
	sn = scan_node_new(4096, fake_query, &f, &e);
	w = etmr_writer_open(fileno(fp), ETMR_FORM_TEXT, &h, &e);
	CHECK(sn != NULL && w != NULL);
	if (sn == NULL || w == NULL)
		return;
	/* Twice: the memfd is reused and must start empty each pass. */
	CHECK(scan_node_collect(sn, &ctx, &ops, w, &e) == 0);
	CHECK(scan_node_collect(sn, &ctx, &ops, w, &e) == 0);
	CHECK(etmr_writer_close(w, &e) == 0);
	CHECK_EQ_U(scan_node_counters(sn)->pages_located, 8);
	scan_node_free(sn);
	got = pread(fileno(fp), out, sizeof(out) - 1, 0);
	out[got > 0 ? got : 0] = '\0';
	nl = strchr(out, '\n');
	CHECK_STR(nl ? nl + 1 : "",
	    "A 11 0x7f0000000000 1 2M 1 H node=0\n"
	    "A 11 0x7f0000200000 2 2M 1 H node=1\n"
	    "A 11 0x7f0000600000 1 2M 1 H node=0\n"
	    "S scan 1 x 5\n"
	    "A 11 0x7f0000000000 1 2M 1 H node=0\n"
	    "A 11 0x7f0000200000 2 2M 1 H node=1\n"
	    "A 11 0x7f0000600000 1 2M 1 H node=0\n"
	    "S scan 1 x 5\n");
	CHECK_EQ_U(f.calls, 2);
	fclose(fp);
}

int
main(void)
{
	RUN(test_scan_node__split_where_node_changes);
	RUN(test_scan_node__one_query_per_pass_and_merge);
	RUN(test_scan_node__batches_of_64ki_pages);
	RUN(test_scan_node__pid_change_flushes);
	RUN(test_scan_node__holes_and_known_pass_through);
	RUN(test_scan_node__query_fails);
	RUN(test_scan_node__collect_through_memfd);
	return unit_done();
}
