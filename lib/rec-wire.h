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

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "etmem/record.h"

#define ETMR_WHY_MAX 160        /* room for a validation reason */
#define ETMR_LINE_MAX 4096u     /* text line bound, newline included */
#define ETMR_OUT_FLUSH (64u * 1024u) /* writer pushes its buffer past this */

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
