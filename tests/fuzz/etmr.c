/* SPDX-License-Identifier: MIT */
/*
 * etmr.c - libFuzzer target for the ETMR reader (both forms, auto-detected).
 *
 * Any input must either read to a clean end or fail with EX_DATAERR, without
 * a crash, leak or unbounded allocation. Every input that reads fine is then
 * written back in binary and in text and read again: the header and the
 * sequence of items and markers must come back identical (frame boundaries
 * may differ, since the writer re-batches). A mismatch aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include "etmem/record.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ev {
	uint16_t type;
	union {
		struct etmr_proc proc;
		struct etmr_vma vma;
		struct etmr_access access;
		struct etmr_decision decision;
		struct etmr_stat stat;
		struct etmr_round round;
		struct etmr_period period;
		struct etmr_end end;
	} u;
};

struct evs {
	struct etmr_header h;
	struct ev *v;
	size_t n, cap;
};

static void
push(struct evs *s, const struct ev *e)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = *e;
}

/* Flatten a frame into events. */
static void
add_frame(struct evs *s, const struct etmr_frame *f)
{
	struct ev e;

	for (size_t i = 0; i < f->n; i++) {
		memset(&e, 0, sizeof(e));
		e.type = f->type;
		switch (f->type) {
		case ETMR_FRAME_PROC:     e.u.proc = f->u.proc[i]; break;
		case ETMR_FRAME_VMA:      e.u.vma = f->u.vma[i]; break;
		case ETMR_FRAME_ACCESS:   e.u.access = f->u.access[i]; break;
		case ETMR_FRAME_DECISION: e.u.decision = f->u.decision[i]; break;
		case ETMR_FRAME_STAT:     e.u.stat = f->u.stat[i]; break;
		case ETMR_FRAME_ROUND:    e.u.round = f->round; break;
		case ETMR_FRAME_PERIOD:   e.u.period = f->period; break;
		case ETMR_FRAME_END:      e.u.end = f->end; break;
		default:                  abort();  /* unknown types are skipped */
		}
		push(s, &e);
	}
}

/* Read all of fd into s; the etmr_read result (0 clean end, -1 error). */
static int
read_all(int fd, struct evs *s, struct err *e)
{
	struct etmr_reader *r = etmr_reader_open(fd, "fuzz", e);
	struct etmr_frame f;
	int rc;

	if (r == NULL)
		return -1;
	s->h = *etmr_reader_header(r);
	while ((rc = etmr_read(r, &f, e)) == 1) {
		if (f.n == 0 || (f.n > 1 && f.type != ETMR_FRAME_PROC &&
		    f.type != ETMR_FRAME_VMA && f.type != ETMR_FRAME_ACCESS &&
		    f.type != ETMR_FRAME_DECISION && f.type != ETMR_FRAME_STAT))
			abort();
		add_frame(s, &f);
	}
	etmr_reader_close(r);
	return rc;
}

static int
same_ev(const struct ev *a, const struct ev *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case ETMR_FRAME_PROC: {
		const struct etmr_proc *x = &a->u.proc, *y = &b->u.proc;

		return x->start_time == y->start_time && x->rss_kb == y->rss_kb &&
		    x->swap_kb == y->swap_kb && x->pid == y->pid &&
		    x->flags == y->flags && memcmp(x->comm, y->comm, sizeof(x->comm)) == 0;
	}
	case ETMR_FRAME_VMA: {
		const struct etmr_vma *x = &a->u.vma, *y = &b->u.vma;

		return x->start == y->start && x->end == y->end && x->pid == y->pid &&
		    x->flags == y->flags && x->node == y->node &&
		    x->size == y->size && x->prot == y->prot;
	}
	case ETMR_FRAME_ACCESS: {
		const struct etmr_access *x = &a->u.access, *y = &b->u.access;

		return x->start == y->start && x->npages == y->npages &&
		    x->pid == y->pid && x->count == y->count && x->age == y->age &&
		    x->flags == y->flags && x->node == y->node && x->size == y->size;
	}
	case ETMR_FRAME_DECISION: {
		const struct etmr_decision *x = &a->u.decision, *y = &b->u.decision;

		return x->start == y->start && x->npages == y->npages &&
		    x->start_time == y->start_time && x->pid == y->pid &&
		    x->score == y->score && x->node == y->node &&
		    x->size == y->size && x->action == y->action;
	}
	case ETMR_FRAME_STAT: {
		const struct etmr_stat *x = &a->u.stat, *y = &b->u.stat;

		return x->period == y->period && x->stage == y->stage &&
		    memcmp(x->key, y->key, sizeof(x->key)) == 0 && x->value == y->value;
	}
	case ETMR_FRAME_ROUND: {
		const struct etmr_round *x = &a->u.round, *y = &b->u.round;

		return x->period == y->period && x->round == y->round &&
		    x->loop == y->loop && x->time_ns == y->time_ns;
	}
	case ETMR_FRAME_PERIOD:
		return memcmp(&a->u.period, &b->u.period, sizeof(a->u.period)) == 0;
	case ETMR_FRAME_END:
		return a->u.end.status == b->u.end.status;
	default:
		return 0;
	}
}

static int
same_header(const struct etmr_header *a, const struct etmr_header *b)
{
	return a->version == b->version && a->page_size == b->page_size &&
	    a->backend == b->backend && a->start_ns == b->start_ns &&
	    strcmp(a->host, b->host) == 0;
}

/* Write s in `form` to a memfd and read it back into out. */
static void
reencode(const struct evs *s, enum etmr_form form, struct evs *out)
{
	int fd = memfd_create("fuzz-out", MFD_CLOEXEC);
	struct etmr_writer *w;
	struct err e;

	if (fd < 0)
		abort();
	if ((w = etmr_writer_open(fd, form, &s->h, &e)) == NULL) {
		fprintf(stderr, "writer: %s\n", e.msg);
		abort();
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct ev *v = &s->v[i];
		struct etmr_frame f;

		memset(&f, 0, sizeof(f));
		f.type = v->type;
		f.n = 1;
		switch (v->type) {
		case ETMR_FRAME_PROC:     f.u.proc = &v->u.proc; break;
		case ETMR_FRAME_VMA:      f.u.vma = &v->u.vma; break;
		case ETMR_FRAME_ACCESS:   f.u.access = &v->u.access; break;
		case ETMR_FRAME_DECISION: f.u.decision = &v->u.decision; break;
		case ETMR_FRAME_STAT:     f.u.stat = &v->u.stat; break;
		case ETMR_FRAME_ROUND:    f.round = v->u.round; break;
		case ETMR_FRAME_PERIOD:   f.period = v->u.period; break;
		case ETMR_FRAME_END:      f.end = v->u.end; break;
		default:                  abort();
		}
		if (etmr_write_frame(w, &f, &e) != 0) {
			fprintf(stderr, "write: %s\n", e.msg);
			abort();
		}
	}
	if (etmr_writer_close(w, &e) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if (read_all(fd, out, &e) != 0) {
		fprintf(stderr, "re-read (%s): %s\n", form ? "text" : "binary", e.msg);
		abort();
	}
	close(fd);
}

static void
compare(const struct evs *a, const struct evs *b)
{
	if (!same_header(&a->h, &b->h) || a->n != b->n)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (!same_ev(&a->v[i], &b->v[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evs in = { 0 }, bin = { 0 }, txt = { 0 };
	int fd = memfd_create("fuzz-in", MFD_CLOEXEC);
	struct err e = { 0 };

	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if (read_all(fd, &in, &e) != 0) {
		/* Refused: it must be a data error, with a message. */
		if (e.code != EX_DATAERR || strncmp(e.msg, "fuzz", 4) != 0)
			abort();
		goto out;
	}
	/* A text stream may end at EOF; binary needs the END it then gets. */
	if (in.n == 0 || in.v[in.n - 1].type != ETMR_FRAME_END) {
		struct ev end = { .type = ETMR_FRAME_END };

		push(&in, &end);
	}
	reencode(&in, ETMR_FORM_BINARY, &bin);
	reencode(&in, ETMR_FORM_TEXT, &txt);
	compare(&in, &bin);
	compare(&in, &txt);
out:
	free(in.v);
	free(bin.v);
	free(txt.v);
	close(fd);
	return 0;
}
