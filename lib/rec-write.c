/* SPDX-License-Identifier: MIT */
/*
 * rec-write.c - the ETMR writer, binary or text.
 *
 * Items are batched: consecutive items of one type go into one frame of at
 * most ETMR_BATCH_MAX items; another type or a marker closes the frame. The
 * frame boundaries are thus a pure function of the item sequence, which is
 * what makes binary -> text -> binary byte-identical. Output is buffered and
 * written when the buffer passes ETMR_OUT_FLUSH bytes and always on PERIOD,
 * END and flush, so a downstream stage sees whole periods promptly. Every item
 * is checked by the reader's rules first: the writer never emits a stream its
 * own reader would reject. After a write error every call fails the same way.
 */
#include "etmem/record.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "rec-wire.h"

/* The most that goes past ETMR_OUT_FLUSH before a push: a full batch of the
 * largest item, or a line. */
#define BATCH_BYTES (ETMR_FRAME_HDR_SIZE + ETMR_BATCH_MAX * ETMR_PROC_WIRE_SIZE)
#define OUT_CAP (ETMR_OUT_FLUSH + BATCH_BYTES + ETMR_LINE_MAX)

struct etmr_writer {
	int fd;
	enum etmr_form form;
	struct etmr_header h;
	struct err failed;      /* code != 0: a write failed; repeat it */
	uint16_t btype;         /* binary: type of the open batch */
	size_t bn;              /* items in it; they are built in place at
	                         * out[olen + frame header] (olen < ETMR_OUT_FLUSH
	                         * while a batch is open), so closing it copies
	                         * nothing */
	size_t olen;
	uint8_t out[OUT_CAP];
};

/* Write the whole buffer to the fd. */
static int
push(struct etmr_writer *w, struct err *e)
{
	size_t done = 0;

	if (w->failed.code != 0)
		goto failed;
	while (done < w->olen) {
		ssize_t n = write(w->fd, w->out + done, w->olen - done);

		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* A non-blocking fd: wait until it drains. */
			struct pollfd p = { .fd = w->fd, .events = POLLOUT };

			if (poll(&p, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		if (errno == EPIPE)
			err_set(&w->failed, EX_IOERR, 0, "cannot write the stream: "
			    "output closed");
		else
			err_set(&w->failed, EX_IOERR, errno, "cannot write the stream");
		goto failed;
	}
	w->olen = 0;
	return 0;
failed:
	if (e != NULL)
		*e = w->failed;
	return -1;
}

static int
append(struct etmr_writer *w, const void *p, size_t n, struct err *e)
{
	memcpy(w->out + w->olen, p, n);
	w->olen += n;
	return w->olen >= ETMR_OUT_FLUSH ? push(w, e) : 0;
}

/* Close the open batch into one frame in the output buffer. */
static int
close_batch(struct etmr_writer *w, struct err *e)
{
	size_t len = w->bn * etmr_wire_size(w->btype);

	if (w->bn == 0)
		return 0;
	wr16(w->out + w->olen, w->btype);
	wr16(w->out + w->olen + 2, 0);
	wr32(w->out + w->olen + 4, (uint32_t)len);
	w->bn = 0;
	w->olen += ETMR_FRAME_HDR_SIZE + len;
	return w->olen >= ETMR_OUT_FLUSH ? push(w, e) : 0;
}

/* Room for one more item of `type` (ws wire bytes) in the batch, closing
 * the open batch first if it is of another type or full; NULL if that close
 * failed. */
static inline uint8_t *
batch_slot(struct etmr_writer *w, uint16_t type, size_t ws, struct err *e)
{
	if (w->bn > 0 && (w->btype != type || w->bn == ETMR_BATCH_MAX) &&
	    close_batch(w, e) != 0)
		return NULL;
	w->btype = type;
	return w->out + w->olen + ETMR_FRAME_HDR_SIZE + w->bn++ * ws;
}

static int
write_item(struct etmr_writer *w, const struct etmr_item *it, struct err *e)
{
	char why[ETMR_WHY_MAX];
	uint8_t *slot;

	if (w->failed.code != 0)
		return push(w, e);
	if (etmr_check_item(it, w->h.page_size, why) != 0)
		return err_set(e, EX_SOFTWARE, 0, "cannot write %s item: %s",
		    etmr_frame_name(it->type), why);
	if (w->form == ETMR_FORM_TEXT) {
		char line[ETMR_LINE_MAX + 1];
		size_t n = etmr_text_format(line, it);

		return append(w, line, n, e);
	}
	if ((slot = batch_slot(w, it->type, etmr_wire_size(it->type), e)) == NULL)
		return -1;
	etmr_encode(slot, it);
	return 0;
}

/* ACCESS and DECISION, the bulk of every stream, in binary: checked and
 * encoded straight from the caller's struct (no union copy, no type switch).
 * The same rules and bytes as write_item; 1 = not handled here. */
static inline int
write_hot(struct etmr_writer *w, uint16_t type, const void *x, struct err *e)
{
	char why[ETMR_WHY_MAX];
	uint8_t *slot;
	int bad;

	if (w->form != ETMR_FORM_BINARY || w->failed.code != 0)
		return 1;
	if (type == ETMR_FRAME_ACCESS)
		bad = !etmr_access_ok(x, w->h.page_size) &&
		    etmr_check_access(x, w->h.page_size, why) != 0;
	else
		bad = !etmr_decision_ok(x, w->h.page_size) &&
		    etmr_check_decision(x, w->h.page_size, why) != 0;
	if (bad)
		return err_set(e, EX_SOFTWARE, 0, "cannot write %s item: %s",
		    etmr_frame_name(type), why);
	if (type == ETMR_FRAME_ACCESS) {
		if ((slot = batch_slot(w, type, ETMR_ACCESS_WIRE_SIZE, e)) == NULL)
			return -1;
		etmr_encode_access(slot, x);
	} else {
		if ((slot = batch_slot(w, type, ETMR_DECISION_WIRE_SIZE, e)) == NULL)
			return -1;
		etmr_encode_decision(slot, x);
	}
	return 0;
}

/* A marker closes the batch; PERIOD and END also reach the fd at once. */
static int
write_marker(struct etmr_writer *w, const struct etmr_item *it, struct err *e)
{
	uint8_t b[ETMR_FRAME_HDR_SIZE + ETMR_PERIOD_WIRE_SIZE];

	if (w->failed.code != 0 || close_batch(w, e) != 0)
		return push(w, e);
	if (w->form == ETMR_FORM_TEXT) {
		char line[ETMR_LINE_MAX + 1];
		size_t n = etmr_text_format(line, it);

		if (append(w, line, n, e) != 0)
			return -1;
	} else {
		size_t ws = etmr_wire_size(it->type);

		wr16(b, it->type);
		wr16(b + 2, 0);
		wr32(b + 4, (uint32_t)ws);
		etmr_encode(b + ETMR_FRAME_HDR_SIZE, it);
		if (append(w, b, ETMR_FRAME_HDR_SIZE + ws, e) != 0)
			return -1;
	}
	if (it->type == ETMR_FRAME_PERIOD || it->type == ETMR_FRAME_END)
		return push(w, e);
	return 0;
}

struct etmr_writer *
etmr_writer_open(int fd, enum etmr_form form, const struct etmr_header *h,
    struct err *e)
{
	struct etmr_writer *w;
	char why[ETMR_WHY_MAX];

	if (etmr_check_header(h, why) != 0) {
		err_set(e, EX_SOFTWARE, 0, "cannot write the stream header: %s", why);
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		err_set(e, EX_OSERR, errno, "cannot allocate a writer");
		return NULL;
	}
	w->fd = fd;
	etmr_pipe_grow(fd);
	w->form = form;
	w->h = *h;
	if (form == ETMR_FORM_TEXT)
		w->olen = etmr_text_format_header((char *)w->out, h);
	else {
		etmr_header_encode(w->out, h);
		w->olen = etmr_header_wire_size(h);
	}
	/* Out at once: a reader's open returns as soon as the stage starts. */
	if (push(w, e) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

int
etmr_write_proc(struct etmr_writer *w, const struct etmr_proc *p, struct err *e)
{
	struct etmr_item it = { .type = ETMR_FRAME_PROC, .u.proc = *p };

	return write_item(w, &it, e);
}

int
etmr_write_vma(struct etmr_writer *w, const struct etmr_vma *v, struct err *e)
{
	struct etmr_item it = { .type = ETMR_FRAME_VMA, .u.vma = *v };

	return write_item(w, &it, e);
}

int
etmr_write_access(struct etmr_writer *w, const struct etmr_access *a, struct err *e)
{
	struct etmr_item it;
	int rc = write_hot(w, ETMR_FRAME_ACCESS, a, e);

	if (rc != 1)
		return rc;
	it = (struct etmr_item){ .type = ETMR_FRAME_ACCESS, .u.access = *a };
	return write_item(w, &it, e);
}

int
etmr_write_decision(struct etmr_writer *w, const struct etmr_decision *d,
    struct err *e)
{
	struct etmr_item it;
	int rc = write_hot(w, ETMR_FRAME_DECISION, d, e);

	if (rc != 1)
		return rc;
	it = (struct etmr_item){ .type = ETMR_FRAME_DECISION, .u.decision = *d };
	return write_item(w, &it, e);
}

int
etmr_write_stat(struct etmr_writer *w, const struct etmr_stat *s, struct err *e)
{
	struct etmr_item it = { .type = ETMR_FRAME_STAT, .u.stat = *s };

	return write_item(w, &it, e);
}

int
etmr_write_round(struct etmr_writer *w, const struct etmr_round *rd, struct err *e)
{
	struct etmr_item it = { .type = ETMR_FRAME_ROUND, .u.round = *rd };

	return write_marker(w, &it, e);
}

int
etmr_write_period(struct etmr_writer *w, const struct etmr_period *p, struct err *e)
{
	struct etmr_item it = { .type = ETMR_FRAME_PERIOD, .u.period = *p };

	return write_marker(w, &it, e);
}

int
etmr_write_end(struct etmr_writer *w, uint32_t status, struct err *e)
{
	struct etmr_item it = { .type = ETMR_FRAME_END, .u.end.status = status };

	return write_marker(w, &it, e);
}

int
etmr_write_frame(struct etmr_writer *w, const struct etmr_frame *f, struct err *e)
{
	int rc = 0;

	switch (f->type) {
	case ETMR_FRAME_PROC:
		for (size_t i = 0; rc == 0 && i < f->n; i++)
			rc = etmr_write_proc(w, &f->u.proc[i], e);
		return rc;
	case ETMR_FRAME_VMA:
		for (size_t i = 0; rc == 0 && i < f->n; i++)
			rc = etmr_write_vma(w, &f->u.vma[i], e);
		return rc;
	case ETMR_FRAME_ACCESS:
		for (size_t i = 0; rc == 0 && i < f->n; i++)
			rc = etmr_write_access(w, &f->u.access[i], e);
		return rc;
	case ETMR_FRAME_DECISION:
		for (size_t i = 0; rc == 0 && i < f->n; i++)
			rc = etmr_write_decision(w, &f->u.decision[i], e);
		return rc;
	case ETMR_FRAME_STAT:
		for (size_t i = 0; rc == 0 && i < f->n; i++)
			rc = etmr_write_stat(w, &f->u.stat[i], e);
		return rc;
	case ETMR_FRAME_ROUND:
		return etmr_write_round(w, &f->round, e);
	case ETMR_FRAME_PERIOD:
		return etmr_write_period(w, &f->period, e);
	case ETMR_FRAME_END:
		return etmr_write_end(w, f->end.status, e);
	default:
		return err_set(e, EX_SOFTWARE, 0, "cannot write frame type %u",
		    f->type);
	}
}

int
etmr_writer_flush(struct etmr_writer *w, struct err *e)
{
	if (w->failed.code == 0 && close_batch(w, e) != 0)
		return -1;
	return push(w, e);
}

int
etmr_writer_close(struct etmr_writer *w, struct err *e)
{
	int rc;

	if (w == NULL)
		return 0;
	rc = etmr_writer_flush(w, e);
	free(w);
	return rc;
}
