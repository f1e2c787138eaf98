/* SPDX-License-Identifier: MIT */
/*
 * rec-read.c - the ETMR reader: binary or text, told apart by the magic.
 *
 * Hostile input is the normal case here (captures, pipes, fuzzers): every
 * length is checked before it is used, a frame's payload is read into a
 * buffer of at most ETMR_FRAME_MAX bytes, unknown frames are skipped through
 * the fixed input buffer, and a text line is bounded by ETMR_LINE_MAX. Every
 * error names the input, the byte offset (or line) and the frame type. The
 * reader holds one frame at a time; its items live until the next etmr_read.
 */
#include "etmem/record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "rec-wire.h"

/* 256 KiB: a quarter of the pipe etmr_pipe_grow asks for, so one read
 * takes many frames and a stage wakes its writer less often. */
#define IN_BUF_SIZE (256u * 1024u)

struct etmr_reader {
	int fd;
	char *name;
	enum etmr_form form;
	struct etmr_header h;
	uint8_t in[IN_BUF_SIZE];
	size_t pos, len;        /* unread input is in[pos..len) */
	int eof;
	uint64_t off;           /* stream offset of in[pos] */
	uint64_t line;          /* text: number of the last line taken */
	int ended;              /* END was read */
	uint8_t *payload;       /* binary: the current frame's payload */
	size_t payload_cap;
	void *items;            /* decoded items of the current frame */
	size_t items_cap;       /* bytes */
	char text[ETMR_LINE_MAX + 1];
};

/* ---- input buffer ---- */

/* Read more input; 1 more bytes, 0 EOF, -1 error. */
static int
fill(struct etmr_reader *r, struct err *e)
{
	ssize_t n;

	if (r->eof)
		return 0;
	if (r->pos > 0) {
		memmove(r->in, r->in + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == sizeof(r->in))
		return 1;
	do
		n = read(r->fd, r->in + r->len, sizeof(r->in) - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(e, EX_IOERR, errno, "%s: cannot read", r->name);
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	r->len += (size_t)n;
	return 1;
}

/* Copy up to n bytes to dst (NULL: discard); the count copied, -1 on error.
 * Less than n means the input ended. */
static ssize_t
take(struct etmr_reader *r, void *dst, size_t n, struct err *e)
{
	size_t got = 0;

	while (got < n) {
		size_t have = r->len - r->pos, k = n - got < have ? n - got : have;

		if (k == 0) {
			int rc = fill(r, e);

			if (rc < 0)
				return -1;
			if (rc == 0)
				break;
			continue;
		}
		if (dst != NULL)
			memcpy((uint8_t *)dst + got, r->in + r->pos, k);
		r->pos += k;
		r->off += k;
		got += k;
	}
	return (ssize_t)got;
}

static int
grow(void **p, size_t *cap, size_t want, struct err *e)
{
	void *n;

	if (*cap >= want)
		return 0;
	n = realloc(*p, want);
	if (n == NULL)
		return err_set(e, EX_OSERR, errno, "cannot allocate %zu bytes", want);
	*p = n;
	*cap = want;
	return 0;
}

/* ---- frames out of items ---- */

static size_t
item_struct_size(uint16_t type)
{
	switch (type) {
	case ETMR_FRAME_PROC:     return sizeof(struct etmr_proc);
	case ETMR_FRAME_VMA:      return sizeof(struct etmr_vma);
	case ETMR_FRAME_ACCESS:   return sizeof(struct etmr_access);
	case ETMR_FRAME_DECISION: return sizeof(struct etmr_decision);
	case ETMR_FRAME_STAT:     return sizeof(struct etmr_stat);
	default:                  return 0;
	}
}

/* Put item number idx of the current frame in place (space is reserved). */
static void
store_item(struct etmr_reader *r, size_t idx, const struct etmr_item *it)
{
	size_t sz = item_struct_size(it->type);

	memcpy((char *)r->items + idx * sz, &it->u, sz);
}

static void
frame_begin(struct etmr_frame *f, uint16_t type, uint64_t offset)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->offset = offset;
}

/* Point f at the items, or copy the marker into it. */
static void
frame_finish(struct etmr_reader *r, struct etmr_frame *f,
    const struct etmr_item *marker, size_t n)
{
	f->n = n;
	switch (f->type) {
	case ETMR_FRAME_PROC:     f->u.proc = r->items; break;
	case ETMR_FRAME_VMA:      f->u.vma = r->items; break;
	case ETMR_FRAME_ACCESS:   f->u.access = r->items; break;
	case ETMR_FRAME_DECISION: f->u.decision = r->items; break;
	case ETMR_FRAME_STAT:     f->u.stat = r->items; break;
	case ETMR_FRAME_ROUND:    f->round = marker->u.round; break;
	case ETMR_FRAME_PERIOD:   f->period = marker->u.period; break;
	case ETMR_FRAME_END:      f->end = marker->u.end; break;
	default:                  break;
	}
}

/* ---- binary ---- */

static int
bin_err(struct etmr_reader *r, struct err *e, uint64_t off, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "<name>: byte N: WHAT: reason", EX_DATAERR. */
static int
bin_err(struct etmr_reader *r, struct err *e, uint64_t off, const char *what,
    const char *fmt, ...)
{
	char why[ETMR_WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err_set(e, EX_DATAERR, 0, "%s: byte %llu: %s: %s", r->name,
	    (unsigned long long)off, what, why);
}

static int
bin_header(struct etmr_reader *r, struct err *e)
{
	uint8_t b[ETMR_HEADER_SIZE];
	uint16_t hdr_len;
	uint8_t host_len;
	ssize_t n;
	char why[ETMR_WHY_MAX];

	if ((n = take(r, b, sizeof(b), e)) < 0)
		return -1;
	if ((size_t)n < sizeof(b))
		return bin_err(r, e, (uint64_t)n, "header", "truncated header "
		    "(%zd of %u bytes)", n, ETMR_HEADER_SIZE);
	r->h.version = rd16(b + 4);
	if (r->h.version != ETMR_VERSION)
		return bin_err(r, e, 4, "header", "unsupported version %u (this "
		    "reader knows %u)", r->h.version, ETMR_VERSION);
	hdr_len = rd16(b + 6);
	host_len = b[14];
	if (hdr_len != ETMR_HEADER_SIZE + host_len)
		return bin_err(r, e, 6, "header", "header length %u does not match "
		    "host length %u (want %u)", hdr_len, host_len,
		    ETMR_HEADER_SIZE + host_len);
	r->h.page_size = rd32(b + 8);
	r->h.backend = rd16(b + 12);
	r->h.start_ns = rd64(b + 16);
	if ((n = take(r, r->h.host, host_len, e)) < 0)
		return -1;
	if ((size_t)n < host_len)
		return bin_err(r, e, r->off, "header", "truncated header (%zd of "
		    "%u host name bytes)", n, host_len);
	r->h.host[host_len] = '\0';
	if (strlen(r->h.host) != host_len)
		return bin_err(r, e, ETMR_HEADER_SIZE + strlen(r->h.host), "header",
		    "NUL byte in host name");
	if (etmr_check_header(&r->h, why) != 0) {
		uint32_t ps = r->h.page_size;
		int ps_ok = ps >= 4096 && ps <= 65536 && (ps & (ps - 1)) == 0;

		/* Name the field the reason is about: page size first. */
		return bin_err(r, e, ps_ok ? 12 : 8, "header", "%s", why);
	}
	return 0;
}

/* Read and drop an unknown frame's payload through the input buffer. */
static int
bin_skip(struct etmr_reader *r, uint64_t off, uint16_t type, uint32_t len,
    struct err *e)
{
	ssize_t n = take(r, NULL, len, e);

	if (n < 0)
		return -1;
	if ((size_t)n < len)
		return bin_err(r, e, off, "UNKNOWN frame", "type %u: truncated "
		    "payload (%zd of %u bytes)", type, n, len);
	return 0;
}

/* The payload of len bytes: in place in the input buffer whenever it fits
 * there (reading on until it is all in; a frame that straddles the end of
 * one read is the common case on a pipe), else, for frames larger than the
 * buffer, gathered into r->payload. */
static const uint8_t *
payload(struct etmr_reader *r, uint64_t off, const char *what, uint32_t len,
    struct err *e)
{
	ssize_t got;
	int rc;

	while (len <= sizeof(r->in) && r->len - r->pos < len)
		if ((rc = fill(r, e)) <= 0) {
			if (rc < 0)
				return NULL;
			break;   /* EOF: take() below reports the truncation */
		}
	if (r->len - r->pos >= len) {
		const uint8_t *p = r->in + r->pos;

		r->pos += len;
		r->off += len;
		return p;
	}
	if (grow((void **)&r->payload, &r->payload_cap, len, e) != 0)
		return NULL;
	if ((got = take(r, r->payload, len, e)) < 0)
		return NULL;
	if ((size_t)got < len) {
		bin_err(r, e, off, what, "truncated payload (%zd of %u bytes)", got,
		    len);
		return NULL;
	}
	return r->payload;
}

/* Decode and check n ACCESS or DECISION items straight into r->items (the
 * bulk of every stream: no union, no per-item copy). The index of the first
 * bad item with why set, or n. */
static size_t
bin_hot(struct etmr_reader *r, uint16_t type, const uint8_t *p, size_t n,
    char *why)
{
	if (type == ETMR_FRAME_ACCESS) {
		struct etmr_access *a = r->items;

		for (size_t i = 0; i < n; i++) {
			etmr_decode_access(p + i * ETMR_ACCESS_WIRE_SIZE, &a[i]);
			if (!etmr_access_ok(&a[i], r->h.page_size) &&
			    etmr_check_access(&a[i], r->h.page_size, why) != 0)
				return i;
		}
		return n;
	}
	struct etmr_decision *d = r->items;

	for (size_t i = 0; i < n; i++) {
		etmr_decode_decision(p + i * ETMR_DECISION_WIRE_SIZE, &d[i]);
		if (!etmr_decision_ok(&d[i], r->h.page_size) &&
		    etmr_check_decision(&d[i], r->h.page_size, why) != 0)
			return i;
	}
	return n;
}

static int
bin_read(struct etmr_reader *r, struct etmr_frame *f, struct err *e)
{
	uint8_t fh[ETMR_FRAME_HDR_SIZE] = { 0 };
	char what[32], why[ETMR_WHY_MAX];
	struct etmr_item it;

	for (;;) {
		uint64_t off = r->off;
		const uint8_t *p;
		uint16_t type;
		uint32_t len;
		size_t ws, n, bad;
		ssize_t got;

		if ((got = take(r, fh, sizeof(fh), e)) < 0)
			return -1;
		if (got == 0 && r->ended)
			return 0;
		if (r->ended)
			return bin_err(r, e, off, "END frame", "data after the END frame");
		if (got == 0)
			return err_set(e, EX_DATAERR, 0, "%s: stream ends at byte %llu "
			    "without END frame", r->name, (unsigned long long)off);
		type = rd16(fh);
		snprintf(what, sizeof(what), "%s frame",
		    got >= 2 ? etmr_frame_name(type) : "UNKNOWN");
		if ((size_t)got < sizeof(fh))
			return bin_err(r, e, off, what, "truncated frame header "
			    "(%zd of %u bytes)", got, ETMR_FRAME_HDR_SIZE);
		len = rd32(fh + 4);
		if (len > ETMR_FRAME_MAX)
			return bin_err(r, e, off, what, "length %u exceeds the "
			    "frame limit of %u bytes", len, ETMR_FRAME_MAX);
		ws = etmr_wire_size(type);
		if (ws == 0) {
			/* A newer writer's frame: skip it, as the format promises. */
			if (bin_skip(r, off, type, len, e) != 0)
				return -1;
			continue;
		}
		if (etmr_is_item(type) && (len == 0 || len % ws != 0))
			return bin_err(r, e, off, what, "length %u is not a non-zero "
			    "multiple of %zu", len, ws);
		if (!etmr_is_item(type) && len != ws)
			return bin_err(r, e, off, what, "length %u is not %zu", len, ws);
		if ((p = payload(r, off, what, len, e)) == NULL)
			return -1;
		n = len / ws;
		frame_begin(f, type, off);
		if (etmr_is_item(type) &&
		    grow(&r->items, &r->items_cap, n * item_struct_size(type), e) != 0)
			return -1;
		if (type == ETMR_FRAME_ACCESS || type == ETMR_FRAME_DECISION) {
			if ((bad = bin_hot(r, type, p, n, why)) < n)
				return bin_err(r, e, off + ETMR_FRAME_HDR_SIZE + bad * ws,
				    what, "item %zu: %s", bad, why);
			frame_finish(r, f, NULL, n);
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			etmr_decode(p + i * ws, type, &it);
			if (etmr_check_item(&it, r->h.page_size, why) != 0)
				return bin_err(r, e, off + ETMR_FRAME_HDR_SIZE + i * ws,
				    what, "item %zu: %s", i, why);
			if (etmr_is_item(type))
				store_item(r, i, &it);
		}
		if (type == ETMR_FRAME_END)
			r->ended = 1;
		frame_finish(r, f, &it, n);
		return 1;
	}
}

/* ---- text ---- */

/* Find the next line: its length without the newline in *len, the bytes to
 * consume in *adv. 1 found, 0 end of input, -1 error. With `nowait`, only
 * what is already buffered is looked at (0 if no complete line is there). */
static int
text_peek(struct etmr_reader *r, size_t *len, size_t *adv, int nowait,
    struct err *e)
{
	for (;;) {
		size_t have = r->len - r->pos;
		size_t look = have < ETMR_LINE_MAX ? have : ETMR_LINE_MAX;
		const uint8_t *nl = memchr(r->in + r->pos, '\n', look);
		int rc;

		if (nl != NULL) {
			*len = (size_t)(nl - (r->in + r->pos));
			*adv = *len + 1;
			return 1;
		}
		if (have >= ETMR_LINE_MAX)
			return err_set(e, EX_DATAERR, 0, "%s:%llu: line longer than "
			    "%u bytes", r->name, (unsigned long long)r->line + 1,
			    ETMR_LINE_MAX - 1);
		if (r->eof) {
			if (have == 0)
				return 0;
			*len = *adv = have;  /* last line without a newline */
			return 1;
		}
		if (nowait)
			return 0;
		if ((rc = fill(r, e)) < 0)
			return -1;
	}
}

/* Copy the peeked line into r->text and parse it (see etmr_text_parse). */
static int
text_parse(struct etmr_reader *r, size_t len, struct etmr_item *it,
    struct etmr_header *h, char *why)
{
	memcpy(r->text, r->in + r->pos, len);
	r->text[len] = '\0';
	if (strlen(r->text) != len) {
		memset(it, 0, sizeof(*it));
		snprintf(why, ETMR_WHY_MAX, "NUL byte in line");
		return -1;
	}
	return etmr_text_parse(r->text, it, h, why);
}

static void
text_consume(struct etmr_reader *r, size_t adv)
{
	r->pos += adv;
	r->off += adv;
	r->line++;
}

static int
text_err(struct etmr_reader *r, struct err *e, uint16_t type, const char *why)
{
	if (type == 0)
		return err_set(e, EX_DATAERR, 0, "%s:%llu: %s", r->name,
		    (unsigned long long)r->line, why);
	return err_set(e, EX_DATAERR, 0, "%s:%llu: %s line: %s", r->name,
	    (unsigned long long)r->line, etmr_frame_name(type), why);
}

/* The optional header line: first line that is not blank or a comment. */
static int
text_header(struct etmr_reader *r, struct err *e)
{
	char why[ETMR_WHY_MAX];
	struct etmr_item it;
	struct etmr_header h;
	size_t len, adv;
	int rc;

	etmr_header_init(&r->h, ETMR_BACKEND_NONE);
	/* A hand-written stream has no start time; a fixed one keeps the
	 * output of every stage a pure function of its input. */
	r->h.start_ns = 0;
	for (;;) {
		if ((rc = text_peek(r, &len, &adv, 0, e)) <= 0)
			return rc;
		/* Only lines that begin "ETMR" are taken here; anything else
		 * is left for etmr_read, errors included. */
		if (len >= 4 && memcmp(r->in + r->pos, "ETMR", 4) == 0 &&
		    (len == 4 || r->in[r->pos + 4] == ' ' || r->in[r->pos + 4] == '\t')) {
			rc = text_parse(r, len, &it, &h, why);
			text_consume(r, adv);
			if (rc < 0)
				return err_set(e, EX_DATAERR, 0, "%s:%llu: header line: %s",
				    r->name, (unsigned long long)r->line, why);
			r->h = h;
			return 0;
		}
		rc = text_parse(r, len, &it, &h, why);
		if (rc != 0)
			return 0;
		text_consume(r, adv);
	}
}

static int
text_read(struct etmr_reader *r, struct etmr_frame *f, struct err *e)
{
	char why[ETMR_WHY_MAX];
	struct etmr_item it;
	struct etmr_header h;
	size_t len, adv, n = 1;
	int rc;

	for (;;) {
		if ((rc = text_peek(r, &len, &adv, 0, e)) <= 0)
			return rc;
		rc = text_parse(r, len, &it, &h, why);
		text_consume(r, adv);
		if (rc < 0)
			return text_err(r, e, it.type, why);
		if (rc == 2)
			return err_set(e, EX_DATAERR, 0, "%s:%llu: header line: must "
			    "be the first line", r->name, (unsigned long long)r->line);
		if (rc == 0)
			continue;
		if (r->ended)
			return text_err(r, e, it.type, "after the END line");
		if (etmr_check_item(&it, r->h.page_size, why) != 0)
			return text_err(r, e, it.type, why);
		break;
	}
	frame_begin(f, it.type, r->line);
	if (!etmr_is_item(it.type)) {
		if (it.type == ETMR_FRAME_END)
			r->ended = 1;
		frame_finish(r, f, &it, 1);
		return 1;
	}
	if (grow(&r->items, &r->items_cap,
	    ETMR_BATCH_MAX * item_struct_size(it.type), e) != 0)
		return -1;
	store_item(r, 0, &it);
	/* Batch the following lines of the same kind that are already buffered
	 * (never wait for more input: a period must not be held back). A line
	 * that does not fit is left for the next call, errors included. */
	while (n < ETMR_BATCH_MAX && text_peek(r, &len, &adv, 1, NULL) == 1) {
		struct etmr_item nx;

		rc = text_parse(r, len, &nx, &h, why);
		if (rc == 1 && (nx.type != it.type ||
		    etmr_check_item(&nx, r->h.page_size, why) != 0))
			break;
		if (rc != 1 && rc != 0)
			break;
		text_consume(r, adv);
		if (rc == 1)
			store_item(r, n++, &nx);
	}
	frame_finish(r, f, &it, n);
	return 1;
}

/* ---- API ---- */

int
etmr_reader_fd(const struct etmr_reader *r)
{
	return r->fd;
}

int
etmr_reader_buffered(const struct etmr_reader *r)
{
	return r->len > r->pos || r->eof;
}

struct etmr_reader *
etmr_reader_open(int fd, const char *name, struct err *e)
{
	struct etmr_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL) {
		err_set(e, EX_OSERR, errno, "cannot allocate a reader");
		return NULL;
	}
	r->fd = fd;
	etmr_pipe_grow(fd);
	r->name = strdup(name != NULL ? name : "<input>");
	if (r->name == NULL) {
		err_set(e, EX_OSERR, errno, "cannot allocate a reader");
		goto fail;
	}
	while (r->len < 5 && (rc = fill(r, e)) != 0)
		if (rc < 0)
			goto fail;
	if (r->len >= 4 && memcmp(r->in, ETMR_MAGIC, 4) == 0 &&
	    (r->len == 4 || r->in[4] != ' ')) {
		r->form = ETMR_FORM_BINARY;
		rc = bin_header(r, e);
	} else {
		r->form = ETMR_FORM_TEXT;
		rc = text_header(r, e);
	}
	if (rc < 0)
		goto fail;
	return r;
fail:
	etmr_reader_close(r);
	return NULL;
}

int
etmr_read(struct etmr_reader *r, struct etmr_frame *f, struct err *e)
{
	if (r->form == ETMR_FORM_BINARY)
		return bin_read(r, f, e);
	return text_read(r, f, e);
}

const struct etmr_header *
etmr_reader_header(const struct etmr_reader *r)
{
	return &r->h;
}

enum etmr_form
etmr_reader_form(const struct etmr_reader *r)
{
	return r->form;
}

void
etmr_reader_close(struct etmr_reader *r)
{
	if (r == NULL)
		return;
	free(r->payload);
	free(r->items);
	free(r->name);
	free(r);
}
