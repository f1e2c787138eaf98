/* SPDX-License-Identifier: MIT */
/*
 * rec-wire.h - private helpers of the ETMR codec (lib/rec-*.c only).
 *
 * The little-endian encoders and decoders of every item and marker, field by
 * field at the offsets docs/FORMAT.md gives (no struct is ever copied raw, so
 * host padding and byte order never reach the wire), the one-item union the
 * text parser and the writer pass around, and the shared validation rules:
 * one rule set, so the binary reader, the text reader and the writer accept
 * exactly the same items.
 */
#ifndef ETMEM_REC_WIRE_H
#define ETMEM_REC_WIRE_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "etmem/record.h"

#define ETMR_WHY_MAX 160        /* room for a validation reason */
#define ETMR_LINE_MAX 4096u     /* text line bound, newline included */
#define ETMR_OUT_FLUSH (64u * 1024u) /* writer pushes its buffer past this */

/* Pipe capacity the reader and writer ask for (best effort). Each
 * handover between two stages on different CPUs costs a wake-up and, at a
 * few hundred MB/s, weighs more than the decoding. bench/pipeline.sh (5 M
 * records, 2 CPUs): 64 KiB 0.56x of one process, 256 KiB 0.82-0.87x,
 * 1 MiB 0.86-0.87x. 1 MiB is what an unprivileged process may ask for
 * (/proc/sys/fs/pipe-max-size); past its pipe-user-pages-soft share the
 * kernel refuses, and the pipe keeps its size. */
#define ETMR_PIPE_SIZE (1024 * 1024)

/* One item or marker, decoded. */
struct etmr_item {
	uint16_t type;          /* enum etmr_frame_type */
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

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static inline void
wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static inline uint64_t
rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Grow fd's pipe to ETMR_PIPE_SIZE if it is a pipe; failure is harmless
 * (an unprivileged user past the limit keeps the 64 KiB default). */
static inline void
etmr_pipe_grow(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    fcntl(fd, F_GETPIPE_SZ) < ETMR_PIPE_SIZE)
		(void)fcntl(fd, F_SETPIPE_SZ, ETMR_PIPE_SIZE);
}

/* The hot item types, field by field (etmr_encode and etmr_decode use these
 * too, so there is one layout). Decoding fills the whole struct, padding
 * included, as a memset item would. */
static inline void
etmr_encode_access(uint8_t *p, const struct etmr_access *x)
{
	memset(p, 0, ETMR_ACCESS_WIRE_SIZE);
	wr64(p + 0, x->start);
	wr64(p + 8, x->npages);
	wr32(p + 16, x->pid);
	wr32(p + 20, x->count);
	wr32(p + 24, x->age);
	wr32(p + 28, x->flags);
	wr16(p + 32, x->node);
	p[34] = x->size;
}

static inline void
etmr_decode_access(const uint8_t *p, struct etmr_access *x)
{
	memset(x, 0, sizeof(*x));
	x->start = rd64(p + 0);
	x->npages = rd64(p + 8);
	x->pid = rd32(p + 16);
	x->count = rd32(p + 20);
	x->age = rd32(p + 24);
	x->flags = rd32(p + 28);
	x->node = rd16(p + 32);
	x->size = p[34];
}

static inline void
etmr_encode_decision(uint8_t *p, const struct etmr_decision *x)
{
	memset(p, 0, ETMR_DECISION_WIRE_SIZE);
	wr64(p + 0, x->start);
	wr64(p + 8, x->npages);
	wr64(p + 16, x->start_time);
	wr32(p + 24, x->pid);
	wr32(p + 28, x->score);
	wr16(p + 32, x->node);
	p[34] = x->size;
	p[35] = x->action;
}

static inline void
etmr_decode_decision(const uint8_t *p, struct etmr_decision *x)
{
	memset(x, 0, sizeof(*x));
	x->start = rd64(p + 0);
	x->npages = rd64(p + 8);
	x->start_time = rd64(p + 16);
	x->pid = rd32(p + 24);
	x->score = rd32(p + 28);
	x->node = rd16(p + 32);
	x->size = p[34];
	x->action = p[35];
}

/*
 * Bytes of one page of size class `size` under base page `page_size`; 0 if
 * either is bad. The classes are the base page and the two huge page levels
 * above it: a page table holds page_size / 8 entries, so a PMD maps
 * page_size * entries and a PUD that times entries again. With 4 KiB pages
 * that is 4K, 2M and 1G, the classes' names; with 64 KiB pages (arm64) 64K,
 * 512M and 4T. The one definition: etmr_size_bytes() (public) is this, and
 * the per-item fast path below inlines it.
 */
static inline uint64_t
etmr_class_bytes(uint8_t size, uint32_t page_size)
{
	uint64_t ps = page_size, entries = ps / 8;

	if (ps == 0 || (ps & (ps - 1)) != 0 || ps > 65536)
		return 0;
	switch (size) {
	case ETMR_SIZE_4K: return ps;
	case ETMR_SIZE_2M: return ps * entries;
	case ETMR_SIZE_1G: return ps * entries * entries;
	default:           return 0;
	}
}

/* The common case of the extent rule of rec-check.c (check_extent), cheap
 * enough to run on every item: 1 if the extent is certainly valid. 0 sends
 * the caller to the full check, which finds and words the reason. */
static inline int
etmr_extent_ok(uint64_t start, uint64_t npages, uint8_t size, uint32_t page_size)
{
	uint64_t bytes = etmr_class_bytes(size, page_size), len, end;

	return bytes != 0 && npages != 0 && (start & (bytes - 1)) == 0 &&
	    !__builtin_mul_overflow(npages, bytes, &len) &&
	    !__builtin_add_overflow(start, len, &end);
}

/* The common case of etmr_check_access / etmr_check_decision, inline:
 * 1 = certainly valid; 0 = ask the full check (it words the reason). */
static inline int
etmr_access_ok(const struct etmr_access *a, uint32_t page_size)
{
	return (a->flags & ~(uint32_t)ETMR_F_ALL) == 0 &&
	    etmr_extent_ok(a->start, a->npages, a->size, page_size);
}

static inline int
etmr_decision_ok(const struct etmr_decision *d, uint32_t page_size)
{
	return d->action >= ETMR_ACT_SWAP && d->action <= ETMR_ACT_PROMOTE &&
	    etmr_extent_ok(d->start, d->npages, d->size, page_size);
}

/* rec-check.c */
/* Wire size of one item or marker of `type`; 0 for an unknown type. */
size_t etmr_wire_size(uint16_t type);
/* 1 for item frame types (PROC VMA ACCESS DECISION STAT), else 0. */
int etmr_is_item(uint16_t type);
/* Encode it->u into exactly etmr_wire_size(it->type) bytes at p. */
void etmr_encode(uint8_t *p, const struct etmr_item *it);
/* Decode one item of `type` from p (reserved bytes are ignored). */
void etmr_decode(const uint8_t *p, uint16_t type, struct etmr_item *it);
/* The rules every item obeys; -1 with the reason in why[ETMR_WHY_MAX]. */
int etmr_check_item(const struct etmr_item *it, uint32_t page_size, char *why);
/* etmr_check_item of one ACCESS or DECISION, without the union around it. */
int etmr_check_access(const struct etmr_access *a, uint32_t page_size, char *why);
int etmr_check_decision(const struct etmr_decision *d, uint32_t page_size,
    char *why);
int etmr_check_header(const struct etmr_header *h, char *why);
/* Bytes of the binary header for h (32 + host length). */
size_t etmr_header_wire_size(const struct etmr_header *h);
void etmr_header_encode(uint8_t *p, const struct etmr_header *h);

/* rec-text.c */
/* Parse one line (NUL-terminated, no newline). Returns 0 for a blank or
 * comment line, 1 for an item or marker in *it, 2 for a header line in *h,
 * -1 with why[ETMR_WHY_MAX] set (it->type names the line kind, 0 if unknown). */
int etmr_text_parse(char *line, struct etmr_item *it, struct etmr_header *h,
    char *why);
/* Format one line, newline included, into buf[ETMR_LINE_MAX]; its length. */
size_t etmr_text_format(char *buf, const struct etmr_item *it);
size_t etmr_text_format_header(char *buf, const struct etmr_header *h);

#endif /* ETMEM_REC_WIRE_H */
