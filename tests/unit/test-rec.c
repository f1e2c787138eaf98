/* SPDX-License-Identifier: MIT */
/*
 * test-rec.c - the ETMR reader and writer: round trips between the forms for
 * every frame type, batching, determinism, and every class of malformed
 * input (each must fail with EX_DATAERR and a message naming where and which
 * frame). Streams live in memfds so the real fd paths are exercised.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "etmem/record.h"
#include "err.h"
#include "rec-wire.h"
#include "unit.h"

#define NACC 2500   /* > 2 * ETMR_BATCH_MAX: three ACCESS frames */

static struct etmr_header
test_header(void)
{
	struct etmr_header h;

	memset(&h, 0, sizeof(h));
	h.version = ETMR_VERSION;
	h.page_size = 4096;
	h.backend = ETMR_BACKEND_SMAPS;
	h.start_ns = 1700000000123456789ull;
	strcpy(h.host, "testhost");
	return h;
}

static int
memfd(void)
{
	return memfd_create("test-rec", MFD_CLOEXEC);
}

static int
memfd_with(const void *p, size_t n)
{
	int fd = memfd();

	if (fd >= 0 && (write(fd, p, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole content of fd (rewound); caller frees. */
static char *
slurp(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *p = malloc((size_t)end + 1);

	*n = 0;
	if (p == NULL || pread(fd, p, (size_t)end, 0) != end) {
		free(p);
		return NULL;
	}
	p[end] = '\0';
	*n = (size_t)end;
	return p;
}

/* Every frame type, ACCESS over several batches, and each optional field. */
static int
write_sample(int fd, enum etmr_form form)
{
	struct etmr_header h = test_header();
	struct etmr_writer *w = etmr_writer_open(fd, form, &h, NULL);
	struct etmr_vma v = { .start = 0x7f0000000000, .end = 0x7f0000400000,
		.pid = 42, .flags = ETMR_F_ANON | ETMR_F_SWAPFLAG, .node = 0,
		.size = ETMR_SIZE_4K, .prot = ETMR_PROT_READ | ETMR_PROT_WRITE };
	struct etmr_round rd = { 1, 1, 2, 111 };
	struct etmr_proc p = { .start_time = 99, .rss_kb = 1024, .swap_kb = 8,
		.pid = 42, .comm = "a b%c\tdefghijklm" };
	struct etmr_stat s = { .period = 1, .stage = ETMR_STAGE_SCAN,
		.key = "pages_scanned", .value = 12345 };
	struct etmr_period pe = { 1, 1, 222, 1, 2, 3, 4, 5, 6 };
	struct etmr_decision d = { .start = 0x7f0000200000, .npages = 1,
		.start_time = 99, .pid = 42, .score = 7, .node = 1,
		.size = ETMR_SIZE_2M, .action = ETMR_ACT_DEMOTE };
	int rc = 0;

	if (w == NULL)
		return -1;
	rc |= etmr_write_vma(w, &v, NULL);
	v.node = ETMR_NODE_NONE;
	v.prot = ETMR_PROT_READ | ETMR_PROT_EXEC | ETMR_PROT_SHARED;
	v.flags = ETMR_F_ALL;
	rc |= etmr_write_vma(w, &v, NULL);
	rc |= etmr_write_round(w, &rd, NULL);
	for (uint64_t i = 0; i < NACC; i++) {
		struct etmr_access a = { .start = 0x7f0000000000 + i * 4096,
			.npages = 1 + i % 3, .pid = 42, .count = (uint32_t)(i % 4),
			.age = (uint32_t)(i % 5), .flags = (uint32_t)(i & ETMR_F_ALL),
			.node = i % 7 == 0 ? ETMR_NODE_NONE : (uint16_t)(i % 2),
			.size = ETMR_SIZE_4K };

		rc |= etmr_write_access(w, &a, NULL);
	}
	rc |= etmr_write_proc(w, &p, NULL);
	rc |= etmr_write_stat(w, &s, NULL);
	rc |= etmr_write_period(w, &pe, NULL);
	rc |= etmr_write_decision(w, &d, NULL);
	d.node = ETMR_NODE_NONE;
	d.action = ETMR_ACT_SWAP;
	d.score = 0;
	d.start_time = 0;
	d.size = ETMR_SIZE_1G;
	d.start = 0x40000000;
	rc |= etmr_write_decision(w, &d, NULL);
	rc |= etmr_write_end(w, 3, NULL);
	rc |= etmr_writer_close(w, NULL);
	return rc;
}

/* Convert everything in `in` to `form` through a reader and a writer. */
static int
convert(int in, int out, enum etmr_form form, struct err *e)
{
	struct etmr_reader *r = etmr_reader_open(in, "conv", e);
	struct etmr_writer *w;
	struct etmr_frame f;
	int rc;

	if (r == NULL)
		return -1;
	w = etmr_writer_open(out, form, etmr_reader_header(r), e);
	if (w == NULL) {
		etmr_reader_close(r);
		return -1;
	}
	while ((rc = etmr_read(r, &f, e)) == 1)
		if (etmr_write_frame(w, &f, e) != 0) {
			rc = -1;
			break;
		}
	if (etmr_writer_close(w, rc < 0 ? NULL : e) != 0)
		rc = -1;
	etmr_reader_close(r);
	return rc;
}

/* Read all of a stream given as bytes; 0 clean, -1 error (in e). Frame
 * counts by type go to counts[] (items for item frames) when given. */
static int
read_bytes(const void *p, size_t n, struct err *e, uint64_t *counts)
{
	int fd = memfd_with(p, n), rc;
	struct etmr_reader *r;
	struct etmr_frame f;

	err_clear(e);
	if ((r = etmr_reader_open(fd, "t", e)) == NULL) {
		close(fd);
		return -1;
	}
	while ((rc = etmr_read(r, &f, e)) == 1)
		if (counts != NULL && f.type < 16)
			counts[f.type] += f.n;
	etmr_reader_close(r);
	close(fd);
	return rc;
}

static void
test_rec__roundtrip_binary_text_binary(void)
{
	int b1 = memfd(), t1 = memfd(), b2 = memfd(), t2 = memfd();
	char *pb1, *pb2, *pt1, *pt2;
	size_t nb1, nb2, nt1, nt2;
	struct err e = { 0 };

	CHECK(write_sample(b1, ETMR_FORM_BINARY) == 0);
	lseek(b1, 0, SEEK_SET);
	CHECK(convert(b1, t1, ETMR_FORM_TEXT, &e) == 0);
	lseek(t1, 0, SEEK_SET);
	CHECK(convert(t1, b2, ETMR_FORM_BINARY, &e) == 0);
	lseek(b2, 0, SEEK_SET);
	CHECK(convert(b2, t2, ETMR_FORM_TEXT, &e) == 0);
	pb1 = slurp(b1, &nb1);
	pb2 = slurp(b2, &nb2);
	pt1 = slurp(t1, &nt1);
	pt2 = slurp(t2, &nt2);
	CHECK(pb1 != NULL && pb2 != NULL && pt1 != NULL && pt2 != NULL);
	CHECK_EQ_U(nb1, nb2);
	CHECK(nb1 == nb2 && memcmp(pb1, pb2, nb1) == 0);
	CHECK(nt1 == nt2 && memcmp(pt1, pt2, nt1) == 0);
	/* The text the library writes: canonical spelling of each field. */
	CHECK(strstr(pt1, "ETMR 1 page_size=4096 backend=smaps host=testhost "
	    "start_ns=1700000000123456789\n") == pt1);
	CHECK(strstr(pt1, "\nV 42 0x7f0000000000 0x7f0000400000 rw-p 4K aw node=0\n"));
	CHECK(strstr(pt1, "\nV 42 0x7f0000000000 0x7f0000400000 r-xs 4K "
	    "afdihsvrHTpwS\n"));
	CHECK(strstr(pt1, "\nROUND period=1 round=1 loop=2 time_ns=111\n"));
	CHECK(strstr(pt1, "\nA 42 0x7f0000000000 1 4K 0 -\n"));
	CHECK(strstr(pt1, "\nA 42 0x7f0000001000 2 4K 1 a age=1 node=1\n"));
	CHECK(strstr(pt1, "\nP 42 start_time=99 rss_kb=1024 swap_kb=8 "
	    "comm=a%20b%25c%09defghijklm\n"));
	CHECK(strstr(pt1, "\nS scan 1 pages_scanned 12345\n"));
	CHECK(strstr(pt1, "\nPERIOD period=1 rounds=1 time_ns=222 mem_total_kb=1 "
	    "mem_free_kb=2 mem_available_kb=3 swap_cached_kb=4 swap_total_kb=5 "
	    "swap_free_kb=6\n"));
	CHECK(strstr(pt1, "\nD 42 0x7f0000200000 1 2M demote 1 score=7 start_time=99\n"));
	CHECK(strstr(pt1, "\nD 42 0x40000000 1 1G swap -\nEND status=3\n"));
	free(pb1);
	free(pb2);
	free(pt1);
	free(pt2);
	close(b1);
	close(t1);
	close(b2);
	close(t2);
}

/* The decoded items equal what was written, field by field. */
static void
test_rec__items_survive(void)
{
	int fd = memfd();
	struct etmr_reader *r;
	struct etmr_frame f;
	struct err e = { 0 };
	uint64_t seen = 0, frames = 0;
	int rc, ok = 1;

	CHECK(write_sample(fd, ETMR_FORM_TEXT) == 0);
	lseek(fd, 0, SEEK_SET);
	r = etmr_reader_open(fd, "t", &e);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(etmr_reader_form(r) == ETMR_FORM_TEXT);
	CHECK_STR(etmr_reader_header(r)->host, "testhost");
	CHECK_EQ_U(etmr_reader_header(r)->start_ns, 1700000000123456789ull);
	while ((rc = etmr_read(r, &f, &e)) == 1) {
		frames++;
		if (f.type == ETMR_FRAME_ACCESS) {
			for (size_t i = 0; i < f.n; i++, seen++) {
				const struct etmr_access *a = &f.u.access[i];

				ok &= a->start == 0x7f0000000000 + seen * 4096;
				ok &= a->npages == 1 + seen % 3 && a->count == seen % 4;
				ok &= a->age == seen % 5 && a->flags == (seen & ETMR_F_ALL);
				ok &= a->node == (seen % 7 == 0 ? ETMR_NODE_NONE : seen % 2);
			}
		}
		if (f.type == ETMR_FRAME_PROC) {
			CHECK(memcmp(f.u.proc[0].comm, "a b%c\tdefghijklm", 16) == 0);
			CHECK_EQ_U(f.u.proc[0].rss_kb, 1024);
		}
		if (f.type == ETMR_FRAME_END)
			CHECK_EQ_U(f.end.status, 3);
	}
	CHECK(rc == 0);
	CHECK(ok);
	CHECK_EQ_U(seen, NACC);
	etmr_reader_close(r);
	close(fd);
}

/* Batches hold at most ETMR_BATCH_MAX items and are cut by type changes. */
static void
test_rec__batching(void)
{
	int fd = memfd();
	struct etmr_reader *r;
	struct etmr_frame f;
	size_t acc[8], nacc = 0;
	int rc;

	CHECK(write_sample(fd, ETMR_FORM_BINARY) == 0);
	lseek(fd, 0, SEEK_SET);
	r = etmr_reader_open(fd, "t", NULL);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(etmr_reader_form(r) == ETMR_FORM_BINARY);
	while ((rc = etmr_read(r, &f, NULL)) == 1) {
		if (f.type == ETMR_FRAME_ACCESS && nacc < 8)
			acc[nacc++] = f.n;
		if (f.type == ETMR_FRAME_VMA)
			CHECK_EQ_U(f.n, 2);
		if (f.type == ETMR_FRAME_DECISION)
			CHECK_EQ_U(f.n, 2);
		if (f.type == ETMR_FRAME_PROC || f.type == ETMR_FRAME_STAT)
			CHECK_EQ_U(f.n, 1);   /* cut by the next type */
	}
	CHECK(rc == 0);
	CHECK_EQ_U(nacc, 3);
	CHECK_EQ_U(acc[0], ETMR_BATCH_MAX);
	CHECK_EQ_U(acc[1], ETMR_BATCH_MAX);
	CHECK_EQ_U(acc[2], NACC - 2 * ETMR_BATCH_MAX);
	etmr_reader_close(r);
	close(fd);
}

/* Same items, same bytes. */
static void
test_rec__deterministic(void)
{
	int a = memfd(), b = memfd();
	size_t na, nb;
	char *pa, *pb;

	CHECK(write_sample(a, ETMR_FORM_BINARY) == 0);
	CHECK(write_sample(b, ETMR_FORM_BINARY) == 0);
	pa = slurp(a, &na);
	pb = slurp(b, &nb);
	CHECK(pa != NULL && pb != NULL && na == nb && memcmp(pa, pb, na) == 0);
	free(pa);
	free(pb);
	close(a);
	close(b);
}

/* ---- malformed binary input ---- */

struct buf {
	uint8_t b[8192];
	size_t n;
};

static void
p8(struct buf *b, uint8_t v)
{
	b->b[b->n++] = v;
}

static void
p16(struct buf *b, uint16_t v)
{
	p8(b, (uint8_t)v);
	p8(b, (uint8_t)(v >> 8));
}

static void
p32(struct buf *b, uint32_t v)
{
	p16(b, (uint16_t)v);
	p16(b, (uint16_t)(v >> 16));
}

static void
p64(struct buf *b, uint64_t v)
{
	p32(b, (uint32_t)v);
	p32(b, (uint32_t)(v >> 32));
}

/* A 34-byte header: host "hh". */
static void
hdr(struct buf *b, uint16_t version, uint32_t page_size)
{
	b->n = 0;
	memcpy(b->b, "ETMR", 4);
	b->n = 4;
	p16(b, version);
	p16(b, 34);
	p32(b, page_size);
	p16(b, ETMR_BACKEND_DAMON);
	p8(b, 2);
	p8(b, 0);
	p64(b, 5);
	p64(b, 0);
	p8(b, 'h');
	p8(b, 'h');
}

static void
fhdr(struct buf *b, uint16_t type, uint32_t len)
{
	p16(b, type);
	p16(b, 0);
	p32(b, len);
}

static void
access_item(struct buf *b, uint64_t start, uint64_t npages, uint32_t flags,
    uint8_t size)
{
	p64(b, start);
	p64(b, npages);
	p32(b, 1);      /* pid */
	p32(b, 1);      /* count */
	p32(b, 0);      /* age */
	p32(b, flags);
	p16(b, ETMR_NODE_NONE);
	p8(b, size);
	p8(b, 0);
	p32(b, 0);
}

static void
decision_item(struct buf *b, uint64_t start, uint8_t action)
{
	p64(b, start);
	p64(b, 1);
	p64(b, 0);
	p32(b, 1);
	p32(b, 0);
	p16(b, ETMR_NODE_NONE);
	p8(b, ETMR_SIZE_4K);
	p8(b, action);
	p32(b, 0);
}

static void
stat_item(struct buf *b, const char *key)
{
	char k[ETMR_STAT_KEY_MAX] = { 0 };

	memcpy(k, key, strlen(key));
	p32(b, 1);
	p8(b, ETMR_STAGE_RANK);
	p8(b, 0);
	p16(b, 0);
	memcpy(b->b + b->n, k, sizeof(k));
	b->n += sizeof(k);
	p64(b, 1);
}

static void
end_frame(struct buf *b)
{
	fhdr(b, ETMR_FRAME_END, 8);
	p64(b, 0);
}

/* b must fail with EX_DATAERR and a message holding each of the strings. */
static int
bad(const struct buf *b, const char *s1, const char *s2)
{
	struct err e;
	int ok = read_bytes(b->b, b->n, &e, NULL) == -1 && e.code == EX_DATAERR &&
	    strstr(e.msg, s1) != NULL && (s2 == NULL || strstr(e.msg, s2) != NULL);

	if (!ok)
		printf("# want '%s' '%s', got %d: %s\n", s1, s2 ? s2 : "", e.code, e.msg);
	return ok;
}

static void
test_rec__bad_header(void)
{
	struct buf b;

	hdr(&b, 1, 4096);
	memcpy(b.b, "ETMX", 4);
	end_frame(&b);
	/* "ETMX" is not the magic: read as text, which rejects it. */
	CHECK(bad(&b, "t:1: ", NULL));
	hdr(&b, 7, 4096);
	CHECK(bad(&b, "byte 4", "unsupported version 7"));
	hdr(&b, 1, 4096);
	b.b[6] = 40;
	CHECK(bad(&b, "byte 6", "header length 40"));
	hdr(&b, 1, 4096);
	b.n = 20;
	CHECK(bad(&b, "byte 20", "truncated header"));
	hdr(&b, 1, 4096);
	b.n = 33;
	CHECK(bad(&b, "byte 33", "truncated header"));
	hdr(&b, 1, 12288);
	end_frame(&b);
	CHECK(bad(&b, "byte 8", "page size 12288"));
	hdr(&b, 1, 1024);
	end_frame(&b);
	CHECK(bad(&b, "byte 8", "page size 1024"));
	hdr(&b, 1, 4096);
	b.b[12] = 77;
	end_frame(&b);
	CHECK(bad(&b, "byte 12", "unknown backend 77"));
	hdr(&b, 1, 4096);
	b.b[33] = 0;
	end_frame(&b);
	CHECK(bad(&b, "byte 33", "NUL byte in host"));
}

static void
test_rec__bad_frames(void)
{
	struct buf b;

	hdr(&b, 1, 4096);
	CHECK(bad(&b, "stream ends at byte 34 without END frame", NULL));
	p16(&b, ETMR_FRAME_ACCESS);
	p16(&b, 0);
	CHECK(bad(&b, "byte 34: ACCESS frame", "truncated frame header"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 1001);
	CHECK(bad(&b, "byte 34: ACCESS frame", "length 1001 is not a non-zero multiple of 40"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 0);
	CHECK(bad(&b, "byte 34: ACCESS frame", "length 0"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 80);
	access_item(&b, 0x1000, 1, 0, 0);
	CHECK(bad(&b, "byte 34: ACCESS frame", "truncated payload (40 of 80"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_DECISION, ETMR_FRAME_MAX + 40);
	CHECK(bad(&b, "byte 34: DECISION frame", "exceeds the frame limit"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_PERIOD, 128);
	CHECK(bad(&b, "byte 34: PERIOD frame", "length 128 is not 64"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_END, 4);
	p32(&b, 0);
	CHECK(bad(&b, "byte 34: END frame", "length 4 is not 8"));
	hdr(&b, 1, 4096);
	end_frame(&b);
	end_frame(&b);
	CHECK(bad(&b, "byte 50: END frame", "data after the END frame"));
}

static void
test_rec__bad_items(void)
{
	struct buf b;

	/* The offset named is the bad item's, the second in the frame. */
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 80);
	access_item(&b, 0x1000, 1, 0, 0);
	access_item(&b, 0x2000, 1, 0, 3);
	end_frame(&b);
	CHECK(bad(&b, "byte 82: ACCESS frame: item 1", "bad page size class 3"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 40);
	access_item(&b, 0x1000, 1, 0x2000, 0);
	end_frame(&b);
	CHECK(bad(&b, "byte 42: ACCESS frame", "unknown flag bits 0x2000"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 40);
	access_item(&b, 0x1000, 0, 0, 0);
	end_frame(&b);
	CHECK(bad(&b, "byte 42: ACCESS frame", "npages is 0"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 40);
	access_item(&b, 0x201000, 1, 0, ETMR_SIZE_2M);
	end_frame(&b);
	CHECK(bad(&b, "byte 42: ACCESS frame", "not aligned to 2M"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_ACCESS, 40);
	access_item(&b, 0xffffffffc0000000ull, 2, 0, ETMR_SIZE_1G);
	end_frame(&b);
	CHECK(bad(&b, "byte 42: ACCESS frame", "overflows"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_DECISION, 40);
	decision_item(&b, 0x1000, 4);
	end_frame(&b);
	CHECK(bad(&b, "byte 42: DECISION frame", "bad action 4"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_DECISION, 40);
	decision_item(&b, 0x1000, 0);
	end_frame(&b);
	CHECK(bad(&b, "byte 42: DECISION frame", "bad action 0"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_STAT, 40);
	stat_item(&b, "Bad-key");
	end_frame(&b);
	CHECK(bad(&b, "byte 42: STAT frame", "bad stat key"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_STAT, 40);
	stat_item(&b, "");
	end_frame(&b);
	CHECK(bad(&b, "byte 42: STAT frame", "bad stat key"));
	hdr(&b, 1, 4096);
	fhdr(&b, ETMR_FRAME_STAT, 40);
	stat_item(&b, "abcdefghijklmnopqrstuvwx");  /* 24 chars: no NUL */
	end_frame(&b);
	CHECK(bad(&b, "byte 42: STAT frame", "bad stat key"));
}

/* A frame type from a newer writer is skipped, whatever its size. */
static void
test_rec__unknown_frame_skipped(void)
{
	uint64_t counts[16] = { 0 };
	size_t big = 300000;    /* more than the reader's input buffer */
	struct buf b, tail;
	struct err e;
	uint8_t *p;

	hdr(&b, 1, 4096);
	fhdr(&b, 99, 5);
	memcpy(b.b + b.n, "abcde", 5);
	b.n += 5;
	fhdr(&b, 100, (uint32_t)big);
	tail.n = 0;
	fhdr(&tail, ETMR_FRAME_ACCESS, 40);
	access_item(&tail, 0x1000, 1, 0, 0);
	end_frame(&tail);
	p = calloc(1, b.n + big + tail.n);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	memcpy(p, b.b, b.n);
	memcpy(p + b.n + big, tail.b, tail.n);
	CHECK(read_bytes(p, b.n + big + tail.n, &e, counts) == 0);
	CHECK_EQ_U(counts[ETMR_FRAME_ACCESS], 1);
	CHECK_EQ_U(counts[ETMR_FRAME_END], 1);
	free(p);
	/* An unknown frame cut short is still an error naming its place. */
	hdr(&b, 1, 4096);
	fhdr(&b, 99, 5);
	CHECK(bad(&b, "byte 34: UNKNOWN frame", "truncated payload"));
}

/* ---- text input ---- */

static int
bad_text(const char *text, const char *s1, const char *s2)
{
	struct buf b;

	b.n = strlen(text);
	memcpy(b.b, text, b.n);
	return bad(&b, s1, s2);
}

static int
text_ok(const char *text, uint64_t *counts)
{
	struct err e;
	int rc = read_bytes(text, strlen(text), &e, counts);

	if (rc != 0)
		printf("# unexpected: %s\n", e.msg);
	return rc == 0;
}

static void
test_rec__text_input(void)
{
	uint64_t c[16] = { 0 };
	char longline[5000];

	CHECK(text_ok("", c));
	CHECK(text_ok("# only a comment\n\n", c));
	CHECK(text_ok("A 1 0x1000 1 4K 0 -\nA 1 0x2000 1 4K 0 ia node=3 age=2", c));
	CHECK_EQ_U(c[ETMR_FRAME_ACCESS], 2);
	CHECK(text_ok("ETMR 1 page_size=65536 backend=pmu host=x start_ns=1\n"
	    "A 1 0x10000 1 4K 0 -\nEND status=0\n# trailing comment\n", NULL));
	CHECK(bad_text("A 1 0x1000 1 4K 0 -\nETMR 1\n", "t:2: header line", NULL));
	CHECK(bad_text("ETMR 2 page_size=4096\n", "t:1: header line", "unsupported version 2"));
	CHECK(bad_text("ETMR 1 page_size=4000\n", "t:1: header line", "page size 4000"));
	CHECK(bad_text("ETMR 1 backend=foo\n", "t:1: header line", "unknown backend"));
	CHECK(bad_text("ETMR 1 page_size=65536\nA 1 0x1000 1 4K 0 -\n",
	    "t:2: ACCESS line", "not aligned"));
	CHECK(bad_text("\n# x\nA 1 0x1000 1 8K 0 -\n", "t:3: ACCESS line", "bad page size"));
	CHECK(bad_text("A 1 1000 1 4K 0 -\n", "t:1: ACCESS line", "bad start"));
	CHECK(bad_text("A 1 0x1000 1 4K 0\n", "t:1: ACCESS line", "too few fields"));
	CHECK(bad_text("A 1 0x1000 1 4K 0 - node=70000\n", "ACCESS line", "bad node"));
	CHECK(bad_text("A 1 0x1000 1 4K 0 - node=1 node=2\n", "ACCESS line", "twice"));
	CHECK(bad_text("A 1 0x1000 1 4K 0 - colour=red\n", "ACCESS line", "unknown key"));
	CHECK(bad_text("A 1 0x1000 18446744073709551616 4K 0 -\n", "ACCESS line", "bad npages"));
	CHECK(bad_text("V 1 0x2000 0x1000 rw-p 4K -\n", "t:1: VMA line", "empty range"));
	CHECK(bad_text("V 1 0x1000 0x2000 rwzp 4K -\n", "t:1: VMA line", "bad perms"));
	CHECK(bad_text("D 1 0x1000 1 4K swap x\n", "t:1: DECISION line", "bad node"));
	CHECK(bad_text("D 1 0x1000 1 4K drop -\n", "t:1: DECISION line", "bad action"));
	CHECK(bad_text("S scan 1 Key 1\n", "t:1: STAT line", "bad stat key"));
	CHECK(bad_text("S nope 1 key 1\n", "t:1: STAT line", "bad stage"));
	CHECK(bad_text("P 1 comm=abcdefghijklmnopq\n", "t:1: PROC line", "bad comm"));
	CHECK(bad_text("P 1 comm=a%00b\n", "t:1: PROC line", "bad comm"));
	CHECK(bad_text("ROUND period=x\n", "t:1: ROUND line", "bad period"));
	CHECK(bad_text("END status=0\nA 1 0x1000 1 4K 0 -\n", "t:2: ACCESS line",
	    "after the END line"));
	CHECK(bad_text("Z 1\n", "t:1:", "unknown line kind 'Z'"));
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	CHECK(bad_text(longline, "t:1:", "line longer than 4095 bytes"));
	{
		static const char nul[] = "A 1 0x1000 1 4K 0 -\nA 1 0x1000\0 1 4K 0 -\n";
		struct buf b;

		b.n = sizeof(nul) - 1;
		memcpy(b.b, nul, b.n);
		CHECK(bad(&b, "t:2: ", "NUL byte in line"));
	}
}

/* A hand-written text stream has no header: defaults are used. */
static void
test_rec__text_default_header(void)
{
	int fd = memfd_with("A 1 0x1000 1 4K 0 -\n", 20);
	struct etmr_reader *r = etmr_reader_open(fd, "t", NULL);

	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_EQ_U(etmr_reader_header(r)->version, 1);
		CHECK_EQ_U(etmr_reader_header(r)->page_size, (uint64_t)sysconf(_SC_PAGESIZE));
		CHECK_EQ_U(etmr_reader_header(r)->backend, ETMR_BACKEND_NONE);
		CHECK_EQ_U(etmr_reader_header(r)->start_ns, 0);  /* deterministic */
	}
	etmr_reader_close(r);
	close(fd);
}

/* The writer refuses items its reader would reject, and says why. */
static void
test_rec__writer_validates(void)
{
	struct etmr_header h = test_header();
	int fd = memfd();
	struct etmr_writer *w = etmr_writer_open(fd, ETMR_FORM_BINARY, &h, NULL);
	struct etmr_access a = { .start = 0x1000, .npages = 0 };
	struct etmr_stat s = { .stage = 9, .key = "x" };
	struct err e = { 0 };

	CHECK(w != NULL);
	if (w == NULL)
		return;
	CHECK(etmr_write_access(w, &a, &e) == -1);
	CHECK(e.code == EX_SOFTWARE && strstr(e.msg, "npages is 0") != NULL);
	CHECK(etmr_write_stat(w, &s, &e) == -1);
	CHECK(strstr(e.msg, "bad stage 9") != NULL);
	CHECK(etmr_writer_close(w, &e) == 0);
	h.page_size = 3;
	CHECK(etmr_writer_open(fd, ETMR_FORM_TEXT, &h, &e) == NULL);
	CHECK(strstr(e.msg, "page size 3") != NULL);
	close(fd);
}

/* A closed pipe is EX_IOERR "output closed" (SIGPIPE ignored, as stages do). */
static void
test_rec__writer_epipe(void)
{
	struct etmr_header h = test_header();
	struct etmr_writer *w;
	struct err e = { 0 };
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	CHECK(pipe(p) == 0);
	close(p[0]);
	w = etmr_writer_open(p[1], ETMR_FORM_BINARY, &h, &e);
	CHECK(w == NULL && e.code == EX_IOERR && strstr(e.msg, "output closed"));
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);
}

/* A reader or a writer on a pipe grows it to ETMR_PIPE_SIZE (as root;
 * the unprivileged limits would let the kernel refuse). */
static void
test_rec__pipe_grown(void)
{
	struct etmr_header h = test_header();
	struct etmr_reader *r;
	struct etmr_writer *w;
	int p[2], q[2];

	CHECK(pipe(p) == 0 && pipe(q) == 0);
	CHECK(fcntl(p[1], F_GETPIPE_SZ) < ETMR_PIPE_SIZE);
	w = etmr_writer_open(p[1], ETMR_FORM_BINARY, &h, NULL);
	CHECK(w != NULL);
	if (geteuid() == 0)
		CHECK_EQ_U(fcntl(p[1], F_GETPIPE_SZ), ETMR_PIPE_SIZE);
	CHECK(etmr_writer_close(w, NULL) == 0);
	/* the reader side, on a pipe that already holds a header */
	CHECK(write(q[1], "ETMR 1\n", 7) == 7);
	close(q[1]);
	r = etmr_reader_open(q[0], "pipe", NULL);
	CHECK(r != NULL);
	if (geteuid() == 0)
		CHECK_EQ_U(fcntl(q[0], F_GETPIPE_SZ), ETMR_PIPE_SIZE);
	etmr_reader_close(r);
	close(p[0]);
	close(p[1]);
	close(q[0]);
}

/* PERIOD reaches the fd at once; items alone stay buffered. */
static void
test_rec__period_flushes(void)
{
	struct etmr_header h = test_header();
	struct etmr_access a = { .start = 0x1000, .npages = 1 };
	struct etmr_period pe = { .period = 1 };
	int fd = memfd();
	struct etmr_writer *w = etmr_writer_open(fd, ETMR_FORM_BINARY, &h, NULL);

	CHECK(w != NULL);
	if (w == NULL)
		return;
	CHECK_EQ_U(lseek(fd, 0, SEEK_END), 40);  /* the header */
	CHECK(etmr_write_access(w, &a, NULL) == 0);
	CHECK_EQ_U(lseek(fd, 0, SEEK_END), 40);
	CHECK(etmr_write_period(w, &pe, NULL) == 0);
	CHECK_EQ_U(lseek(fd, 0, SEEK_END), 40 + 8 + 40 + 8 + 64);
	CHECK(etmr_writer_close(w, NULL) == 0);
	close(fd);
}

/* A reader on a pipe gets each period as soon as its PERIOD is written,
 * while the writer keeps the pipe open (alarm: a hang fails the test). */
static void
test_rec__streaming_pipe(void)
{
	for (int form = ETMR_FORM_BINARY; form <= ETMR_FORM_TEXT; form++) {
		struct etmr_header h = test_header();
		struct etmr_access a = { .start = 0x1000, .npages = 1 };
		struct etmr_period pe = { .period = 1 };
		struct etmr_reader *r = NULL;
		struct etmr_writer *w;
		struct etmr_frame f;
		int p[2];

		CHECK(pipe(p) == 0);
		alarm(10);
		w = etmr_writer_open(p[1], (enum etmr_form)form, &h, NULL);
		CHECK(w != NULL);
		if (w == NULL)
			break;
		CHECK(etmr_write_access(w, &a, NULL) == 0);
		CHECK(etmr_write_access(w, &a, NULL) == 0);
		CHECK(etmr_write_period(w, &pe, NULL) == 0);
		r = etmr_reader_open(p[0], "pipe", NULL);
		CHECK(r != NULL);
		if (r != NULL) {
			CHECK(etmr_read(r, &f, NULL) == 1 && f.type == ETMR_FRAME_ACCESS);
			CHECK(etmr_read(r, &f, NULL) == 1 && f.type == ETMR_FRAME_PERIOD);
			CHECK_EQ_U(f.period.period, 1);
		}
		alarm(0);
		CHECK(etmr_write_end(w, 0, NULL) == 0);
		CHECK(etmr_writer_close(w, NULL) == 0);
		close(p[1]);
		if (r != NULL) {
			CHECK(etmr_read(r, &f, NULL) == 1 && f.type == ETMR_FRAME_END);
			CHECK(etmr_read(r, &f, NULL) == 0);
		}
		etmr_reader_close(r);
		close(p[0]);
	}
}

/* Feed `n` bytes of p into a pipe from a child in chunks of 1, 7, 4093,
 * ... bytes (a frame straddles many reads), convert what the reader makes
 * of it to `form` into out. The child's exit is checked by the caller. */
static pid_t
dribble(const char *p, size_t n, int *rfd)
{
	static const size_t chunk[] = { 1, 7, 4093, 65536, 3 };
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		size_t off = 0;

		close(fds[0]);
		for (size_t i = 0; off < n; i++) {
			size_t k = chunk[i % 5] < n - off ? chunk[i % 5] : n - off;

			if (write(fds[1], p + off, k) != (ssize_t)k)
				_exit(1);
			off += k;
		}
		_exit(0);
	}
	close(fds[1]);
	*rfd = fds[0];
	return pid;
}

/* A stream that arrives a few bytes at a time decodes exactly as the same
 * bytes read from a file; and a frame cut short at EOF on a pipe is named
 * with its offset, as from a file. */
static void
test_rec__dribbled_pipe(void)
{
	int src = memfd(), want = memfd(), got = memfd(), rfd, status;
	char *ps, *pw, *pg;
	size_t ns, nw, ng;
	struct err e = { 0 };
	pid_t pid;

	CHECK(write_sample(src, ETMR_FORM_BINARY) == 0);
	lseek(src, 0, SEEK_SET);
	CHECK(convert(src, want, ETMR_FORM_TEXT, &e) == 0);
	ps = slurp(src, &ns);
	pw = slurp(want, &nw);
	CHECK(ps != NULL && pw != NULL);
	if (ps == NULL || pw == NULL)
		goto out;
	alarm(20);
	CHECK((pid = dribble(ps, ns, &rfd)) > 0);
	CHECK(convert(rfd, got, ETMR_FORM_TEXT, &e) == 0);
	CHECK(waitpid(pid, &status, 0) == pid && status == 0);
	close(rfd);
	pg = slurp(got, &ng);
	CHECK(pg != NULL && ng == nw && memcmp(pg, pw, nw) == 0);
	free(pg);

	/* Cut inside the second ACCESS frame's payload. Frames start after
	 * the header (its length at byte 6): type u16, 2 bytes, length u32. */
	size_t first = 0, cut, seen = 0;

	for (size_t i = (uint8_t)ps[6] | (size_t)(uint8_t)ps[7] << 8; i + 8 <= ns;) {
		uint32_t type = (uint8_t)ps[i] | (uint32_t)(uint8_t)ps[i + 1] << 8;
		uint32_t len = (uint8_t)ps[i + 4] | (uint32_t)(uint8_t)ps[i + 5] << 8 |
		    (uint32_t)(uint8_t)ps[i + 6] << 16 |
		    (uint32_t)(uint8_t)ps[i + 7] << 24;

		if (type == ETMR_FRAME_ACCESS && ++seen == 2) {
			first = i;
			break;
		}
		i += 8 + len;
	}
	cut = first + 8 + 1000;
	CHECK(first > 0 && cut < ns);
	CHECK((pid = dribble(ps, cut, &rfd)) > 0);
	CHECK(convert(rfd, got, ETMR_FORM_TEXT, &e) == -1);
	CHECK(waitpid(pid, &status, 0) == pid && status == 0);
	close(rfd);
	CHECK_EQ_U(e.code, EX_DATAERR);
	char where[64];
	snprintf(where, sizeof where, "byte %zu: ACCESS frame", first);
	CHECK(strstr(e.msg, where) != NULL && strstr(e.msg, "truncated payload"));
	alarm(0);
out:
	free(ps);
	free(pw);
	close(src);
	close(want);
	close(got);
}

static void
test_rec__names(void)
{
	CHECK_EQ_U(etmr_size_bytes(ETMR_SIZE_4K, 4096), 4096);
	CHECK_EQ_U(etmr_size_bytes(ETMR_SIZE_2M, 4096), 2u << 20);
	CHECK_EQ_U(etmr_size_bytes(ETMR_SIZE_1G, 4096), 1u << 30);
	CHECK_EQ_U(etmr_size_bytes(ETMR_SIZE_2M, 65536), 512u << 20);
	CHECK_EQ_U(etmr_size_bytes(3, 4096), 0);
	CHECK_EQ_U(etmr_size_bytes(ETMR_SIZE_4K, 1000), 0);
	CHECK_STR(etmr_size_name(ETMR_SIZE_2M), "2M");
	CHECK(etmr_size_name(3) == NULL);
	CHECK_STR(etmr_backend_name(ETMR_BACKEND_PAGE_IDLE), "page_idle");
	CHECK(etmr_backend_name(6) == NULL);
	CHECK_STR(etmr_action_name(ETMR_ACT_PROMOTE), "promote");
	CHECK(etmr_action_name(0) == NULL);
	CHECK_STR(etmr_frame_name(ETMR_FRAME_DECISION), "DECISION");
	CHECK_STR(etmr_frame_name(42), "UNKNOWN");
}

int
main(void)
{
	RUN(test_rec__roundtrip_binary_text_binary);
	RUN(test_rec__items_survive);
	RUN(test_rec__batching);
	RUN(test_rec__deterministic);
	RUN(test_rec__bad_header);
	RUN(test_rec__bad_frames);
	RUN(test_rec__bad_items);
	RUN(test_rec__unknown_frame_skipped);
	RUN(test_rec__text_input);
	RUN(test_rec__text_default_header);
	RUN(test_rec__writer_validates);
	RUN(test_rec__writer_epipe);
	RUN(test_rec__period_flushes);
	RUN(test_rec__streaming_pipe);
	RUN(test_rec__dribbled_pipe);
	RUN(test_rec__pipe_grown);
	RUN(test_rec__names);
	return unit_done();
}
