/* SPDX-License-Identifier: MIT */
/*
 * test-scan-idle.c - the idle_pages decoder and read loop of etmem-scan.
 *
 * The decoder is checked bit-exact on the worked example of
 * kernel-interfaces.md §1.7 and on streams written by the independent
 * encoder in tests/helpers/gen-idle-pages.c (4K/2M/1G units, holes,
 * PMD_IDLE_PTES, chunk-start address commands, a truncated trailing
 * command). The walk is run against an in-memory "kernel" that stops early
 * when the buffer is full and moves the position, as the real one does.
 */
#define GEN_IDLE_NO_MAIN
#include "../helpers/gen-idle-pages.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "etmem/record.h"
#include "../../etmem-scan/scan.h"
#include "unit.h"

struct runs {
	struct scan_idle_run v[64];
	int n;
};

static int
keep_run(const struct scan_idle_run *r, void *arg)
{
	struct runs *rs = arg;

	if (rs->n < 64)
		rs->v[rs->n++] = *r;
	return 0;
}

static void
test_scan_idle__worked_example(void)
{
	static const uint8_t buf[] = {
		0xA0, 0x00, 0x00, 0x7F, 0x12, 0x34, 0x56, 0x70, 0x00, 0x03, 0x52,
		0x82, 0x31, 0xA0, 0x00, 0x00, 0x7F, 0x12, 0x34, 0x80, 0x00, 0x00,
		0x11, 0x61, 0x71 };
	static const struct { uint64_t start, npages; uint8_t size; uint32_t count, flags; } want[] = {
		{ 0x7f1234567000ull, 3, ETMR_SIZE_4K, 1, 0 },
		{ 0x7f123456a000ull, 2, ETMR_SIZE_4K, 0, ETMR_F_IDLE },
		{ 0x7f123456e000ull, 1, ETMR_SIZE_4K, 3, ETMR_F_DIRTY },
		{ 0x7f1234800000ull, 1, ETMR_SIZE_2M, 1, 0 },
		{ 0x7f1234a00000ull, 1, ETMR_SIZE_2M, 0, ETMR_F_IDLE },
		{ 0x7f1234c00000ull, 512, ETMR_SIZE_4K, 0, ETMR_F_IDLE },
	};
	struct scan_idle_stats st = { 0 };
	struct runs rs = { .n = 0 };
	struct err e;
	uint64_t end = 0;
	int i, k = 0;

	CHECK(scan_idle_decode(buf, sizeof(buf), 0, 4096, keep_run, &rs, &end,
	    &st, &e) == 0);
	CHECK_EQ_U(end, 0x7f1234e00000ull);
	CHECK_EQ_U(st.cmds, 2);
	CHECK_EQ_U(st.holes, 1);
	CHECK_EQ_U(rs.n, 7);    /* 6 records + the hole run */
	CHECK_EQ_U(rs.v[2].type, SCAN_IDLE_PTE_HOLE);
	CHECK_EQ_U(rs.v[2].start, 0x7f123456c000ull);
	CHECK_EQ_U(rs.v[2].units, 2);
	for (i = 0; i < rs.n; i++) {
		struct etmr_access a;

		if (scan_idle_access(&rs.v[i], 4096, &a) < 0)
			continue;
		if (k >= 6)
			break;
		CHECK_EQ_U(a.start, want[k].start);
		CHECK_EQ_U(a.npages, want[k].npages);
		CHECK_EQ_U(a.size, want[k].size);
		CHECK_EQ_U(a.count, want[k].count);
		CHECK_EQ_U(a.flags, want[k].flags);
		k++;
	}
	CHECK_EQ_U(k, 6);
}

static void
test_scan_idle__bad_byte_names_offset(void)
{
	static const uint8_t buf[] = { 0xA0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0x01, 0xB3 };
	struct err e;

	CHECK(scan_idle_decode(buf, sizeof(buf), 0, 4096, NULL, NULL, NULL,
	    NULL, &e) == -1);
	CHECK_EQ_U(e.code, EX_DATAERR);
	CHECK(strstr(e.msg, "byte offset 10") != NULL);
}

/* Expand decoded runs back into per-unit (addr, type), holes dropped. */
static int
expand_run(const struct scan_idle_run *r, void *arg)
{
	struct gen_units *u = arg;
	uint64_t i;

	if (r->type == SCAN_IDLE_PTE_HOLE || r->type == SCAN_IDLE_PMD_HOLE)
		return 0;
	for (i = 0; i < r->units; i++)
		if (gen_push(u, r->start + i * r->unit_bytes, r->type) < 0)
			return -1;
	return 0;
}

static int
same_units_without_holes(const struct gen_units *a, const struct gen_units *b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->n && a->v[i].type >= 8)
			i++;
		while (j < b->n && b->v[j].type >= 8)
			j++;
		if (i == a->n || j == b->n)
			return i == a->n && j == b->n;
		if (a->v[i].addr != b->v[j].addr || a->v[i].type != b->v[j].type) {
			printf("# unit mismatch: 0x%llx type %u vs 0x%llx type %u\n",
			    (unsigned long long)a->v[i].addr, a->v[i].type,
			    (unsigned long long)b->v[j].addr, b->v[j].type);
			return 0;
		}
		i++;
		j++;
	}
}

static void
roundtrip(const char *pattern, size_t chunk, int truncate, uint64_t *cmds)
{
	struct gen_units in = { 0 }, out = { 0 };
	struct gen_buf buf = { 0 };
	struct scan_idle_stats st = { 0 };
	struct err e;
	uint64_t cursor = 0;

	CHECK(gen_parse(pattern, &in, &cursor) == 0);
	CHECK(gen_encode(&in, chunk, truncate, &buf) == 0);
	CHECK(scan_idle_decode(buf.v, buf.n, 0, 4096, expand_run, &out, NULL,
	    &st, &e) == 0);
	CHECK(same_units_without_holes(&in, &out));
	CHECK_EQ_U(st.truncated_cmd, truncate ? 1 : 0);
	CHECK_EQ_U(st.misaligned, 0);
	if (cmds != NULL)
		*cmds = st.cmds;
	free(in.v);
	free(out.v);
	free(buf.v);
}

static void
test_scan_idle__roundtrip_sizes_and_holes(void)
{
	uint64_t cmds = 0;

	roundtrip("@0x7f0000000000 A40 I17 H3 D2 A1 H449 h2 M3 m20 P2 W1 "
	    "@0x7f4000000000 U2 @0x7f8000000000 H5 A1", 8000, 0, &cmds);
	/* three explicit discontinuities; the leading hole is swallowed */
	CHECK_EQ_U(cmds, 3);
	roundtrip("@0x1000 A1 I1 A1 I1 @0x200000 P1 I512 M1", 8000, 1, NULL);
}

static void
test_scan_idle__roundtrip_chunks(void)
{
	char *pat = malloc(200000), *p;
	uint64_t cmds = 0;
	int i;

	/* 20000 alternating pages need 20000 run bytes: three 8000-byte kernel
	 * chunks, each starting with its own address command. */
	p = pat + sprintf(pat, "@0x7f0000000000 ");
	for (i = 0; i < 10000; i++)
		p += sprintf(p, "A1 I1 ");
	roundtrip(pat, 8000, 1, &cmds);
	CHECK_EQ_U(cmds, 3);
	free(pat);
}

static void
test_scan_idle__decode_file_text_is_exact(void)
{
	const char *pattern = "@0x7f0000000000 A3 I700 H2 D1 @0x7f0000400000 M2 m1 P1 I5 U0";
	struct gen_units in = { 0 };
	struct gen_buf buf = { 0 };
	char raw[] = "/tmp/test-scan-idle.XXXXXX", *expect = NULL, got[8192];
	size_t elen = 0;
	uint64_t cursor = 0;
	struct etmr_header h = { .version = ETMR_VERSION, .page_size = 4096,
		.backend = ETMR_BACKEND_IDLE_PAGES };
	struct etmr_writer *w;
	struct err e;
	FILE *ef, *out = tmpfile();
	int fd = mkstemp(raw);
	ssize_t n;

	CHECK(gen_parse(pattern, &in, &cursor) == 0);
	CHECK(gen_encode(&in, 8000, 1, &buf) == 0);
	CHECK(write(fd, buf.v, buf.n) == (ssize_t)buf.n);
	close(fd);
	ef = open_memstream(&expect, &elen);
	gen_expect(&in, 42, ef);
	fclose(ef);

	w = etmr_writer_open(fileno(out), ETMR_FORM_TEXT, &h, &e);
	CHECK(w != NULL);
	if (w != NULL) {
		CHECK(scan_decode_file(raw, 0x7f0000000000ull, 42, 4096, w, &e) == 0);
		CHECK(etmr_writer_close(w, &e) == 0);
	}
	n = pread(fileno(out), got, sizeof(got) - 1, 0);
	got[n > 0 ? n : 0] = '\0';
	/* Only the A lines: the header line carries host and time. */
	{
		char *nl = strstr(got, "\nA ");

		CHECK(nl != NULL);
		CHECK_STR(nl ? nl + 1 : "", expect);
	}
	fclose(out);
	unlink(raw);
	free(expect);
	free(in.v);
	free(buf.v);
}

/* An in-memory idle_pages "kernel": reads encode the units of the coverage
 * window, stop when the user buffer (or an artificial cap) is full, and set
 * the position to the first unit not emitted. */
struct fake_kernel {
	struct gen_units all;
	size_t cap;             /* output bytes per read, below the request */
	int reads;
	uint64_t last_next;
	int overlap;            /* a read started below an earlier position */
};

static ssize_t
fake_read(void *arg, uint8_t *buf, size_t len, uint64_t pos, uint64_t *next)
{
	struct fake_kernel *k = arg;
	uint64_t wend = pos + (uint64_t)len * 8 * 4096;
	struct gen_units win = { 0 };
	struct gen_buf out = { 0 };
	size_t i, lo, hi, limit = len < k->cap ? len : k->cap;

	k->reads++;
	if (pos < k->last_next)
		k->overlap = 1;
	for (i = 0; i < k->all.n; i++)
		if (k->all.v[i].addr >= pos && k->all.v[i].addr < wend)
			gen_push(&win, k->all.v[i].addr, k->all.v[i].type);
	/* Largest prefix whose encoding fits: the kernel stops when full. */
	lo = 0;
	hi = win.n;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		struct gen_units pre = { win.v, mid, mid };

		out.n = 0;
		gen_encode(&pre, 8000, 0, &out);
		if (out.n <= limit)
			lo = mid;
		else
			hi = mid - 1;
	}
	{
		struct gen_units pre = { win.v, lo, lo };

		out.n = 0;
		gen_encode(&pre, 8000, 0, &out);
	}
	memcpy(buf, out.v, out.n);
	*next = lo < win.n ? win.v[lo].addr : wend;
	k->last_next = *next;
	free(win.v);
	free(out.v);
	return (ssize_t)out.n;
}

static int
collect_walk(const struct scan_idle_run *r, const struct etmr_vma *v, void *arg)
{
	struct gen_units *u = arg;
	uint64_t i;

	(void)v;
	for (i = 0; i < r->units; i++)
		gen_push(u, r->start + i * r->unit_bytes, r->type);
	return 0;
}

static void
test_scan_idle__walk_short_reads_cover_every_vma(void)
{
	struct fake_kernel k = { .cap = 40 };
	struct etmr_vma vmas[3];
	struct gen_units got = { 0 }, want = { 0 };
	struct scan_idle_src src = { fake_read, &k };
	char *pat = malloc(100000), *p;
	uint64_t cursor = 0;
	struct err e;
	size_t i;
	int j;

	/* VMA 0: 3000 alternating pages (~3000 bytes, far over any budget);
	 * an unselected VMA in between; VMA 1 small, within 640 KiB of VMA 0's
	 * end; VMA 2: a THP region. */
	p = pat + sprintf(pat, "@0x7f0000000000 ");
	for (j = 0; j < 1500; j++)
		p += sprintf(p, "A1 I1 ");
	sprintf(p, "@0x7f0000c00000 A16 @0x7f0000c20000 I4 A4 "
	    "@0x7f0040000000 M3 m5 P1");
	CHECK(gen_parse(pat, &k.all, &cursor) == 0);
	memset(vmas, 0, sizeof(vmas));
	vmas[0].start = 0x7f0000000000ull; vmas[0].end = 0x7f0000000000ull + 3000 * 4096;
	vmas[1].start = 0x7f0000c20000ull; vmas[1].end = 0x7f0000c28000ull;
	vmas[2].start = 0x7f0040000000ull; vmas[2].end = 0x7f0041200000ull;
	CHECK(scan_idle_walk(&src, vmas, 3, 4096, 4096, collect_walk, &got,
	    NULL, &e) == 0);
	/* expected: every unit inside a selected VMA, nothing else */
	for (i = 0; i < k.all.n; i++)
		for (j = 0; j < 3; j++)
			if (k.all.v[i].addr >= vmas[j].start && k.all.v[i].addr < vmas[j].end)
				gen_push(&want, k.all.v[i].addr, k.all.v[i].type);
	CHECK_EQ_U(want.n, 3000 + 8 + 9);
	CHECK(same_units_without_holes(&want, &got));
	CHECK(k.reads > 3000 / 40);     /* it kept reading after short reads */
	CHECK(!k.overlap);              /* and never re-read a cleared A-bit */
	free(pat);
	free(k.all.v);
	free(got.v);
	free(want.v);
}

int
main(void)
{
	RUN(test_scan_idle__worked_example);
	RUN(test_scan_idle__bad_byte_names_offset);
	RUN(test_scan_idle__roundtrip_sizes_and_holes);
	RUN(test_scan_idle__roundtrip_chunks);
	RUN(test_scan_idle__decode_file_text_is_exact);
	RUN(test_scan_idle__walk_short_reads_cover_every_vma);
	return unit_done();
}
