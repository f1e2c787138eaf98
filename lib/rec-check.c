/* SPDX-License-Identifier: MIT */
/*
 * rec-check.c - the ETMR wire layout of every item and marker, and the rules
 * an item must obey. Both readers and the writer go through here, so what one
 * writes the others accept, byte for byte. Offsets are those of
 * docs/FORMAT.md; reserved bytes are written as zero and ignored on input.
 */
#include "rec-wire.h"

#include <stdio.h>

size_t
etmr_wire_size(uint16_t type)
{
	switch (type) {
	case ETMR_FRAME_PROC:     return ETMR_PROC_WIRE_SIZE;
	case ETMR_FRAME_VMA:      return ETMR_VMA_WIRE_SIZE;
	case ETMR_FRAME_ROUND:    return ETMR_ROUND_WIRE_SIZE;
	case ETMR_FRAME_ACCESS:   return ETMR_ACCESS_WIRE_SIZE;
	case ETMR_FRAME_PERIOD:   return ETMR_PERIOD_WIRE_SIZE;
	case ETMR_FRAME_DECISION: return ETMR_DECISION_WIRE_SIZE;
	case ETMR_FRAME_STAT:     return ETMR_STAT_WIRE_SIZE;
	case ETMR_FRAME_END:      return ETMR_END_WIRE_SIZE;
	default:                  return 0;
	}
}

int
etmr_is_item(uint16_t type)
{
	return type == ETMR_FRAME_PROC || type == ETMR_FRAME_VMA ||
	    type == ETMR_FRAME_ACCESS || type == ETMR_FRAME_DECISION ||
	    type == ETMR_FRAME_STAT;
}

void
etmr_encode(uint8_t *p, const struct etmr_item *it)
{
	memset(p, 0, etmr_wire_size(it->type));
	switch (it->type) {
	case ETMR_FRAME_PROC: {
		const struct etmr_proc *x = &it->u.proc;

		wr64(p + 0, x->start_time);
		wr64(p + 8, x->rss_kb);
		wr64(p + 16, x->swap_kb);
		wr32(p + 24, x->pid);
		wr32(p + 28, x->flags);
		memcpy(p + 32, x->comm, ETMR_COMM_MAX);
		break;
	}
	case ETMR_FRAME_VMA: {
		const struct etmr_vma *x = &it->u.vma;

		wr64(p + 0, x->start);
		wr64(p + 8, x->end);
		wr32(p + 16, x->pid);
		wr32(p + 20, x->flags);
		wr16(p + 24, x->node);
		p[26] = x->size;
		p[27] = x->prot;
		break;
	}
	case ETMR_FRAME_ROUND: {
		const struct etmr_round *x = &it->u.round;

		wr32(p + 0, x->period);
		wr32(p + 4, x->round);
		wr32(p + 8, x->loop);
		wr64(p + 16, x->time_ns);
		break;
	}
	case ETMR_FRAME_ACCESS:
		etmr_encode_access(p, &it->u.access);
		break;
	case ETMR_FRAME_PERIOD: {
		const struct etmr_period *x = &it->u.period;

		wr32(p + 0, x->period);
		wr32(p + 4, x->rounds);
		wr64(p + 8, x->time_ns);
		wr64(p + 16, x->mem_total_kb);
		wr64(p + 24, x->mem_free_kb);
		wr64(p + 32, x->mem_available_kb);
		wr64(p + 40, x->swap_cached_kb);
		wr64(p + 48, x->swap_total_kb);
		wr64(p + 56, x->swap_free_kb);
		break;
	}
	case ETMR_FRAME_DECISION:
		etmr_encode_decision(p, &it->u.decision);
		break;
	case ETMR_FRAME_STAT: {
		const struct etmr_stat *x = &it->u.stat;

		wr32(p + 0, x->period);
		p[4] = x->stage;
		memcpy(p + 8, x->key, ETMR_STAT_KEY_MAX);
		wr64(p + 32, x->value);
		break;
	}
	case ETMR_FRAME_END:
		wr32(p + 0, it->u.end.status);
		break;
	default:
		break;
	}
}

void
etmr_decode(const uint8_t *p, uint16_t type, struct etmr_item *it)
{
	memset(it, 0, sizeof(*it));
	it->type = type;
	switch (type) {
	case ETMR_FRAME_PROC: {
		struct etmr_proc *x = &it->u.proc;

		x->start_time = rd64(p + 0);
		x->rss_kb = rd64(p + 8);
		x->swap_kb = rd64(p + 16);
		x->pid = rd32(p + 24);
		x->flags = rd32(p + 28);
		memcpy(x->comm, p + 32, ETMR_COMM_MAX);
		break;
	}
	case ETMR_FRAME_VMA: {
		struct etmr_vma *x = &it->u.vma;

		x->start = rd64(p + 0);
		x->end = rd64(p + 8);
		x->pid = rd32(p + 16);
		x->flags = rd32(p + 20);
		x->node = rd16(p + 24);
		x->size = p[26];
		x->prot = p[27];
		break;
	}
	case ETMR_FRAME_ROUND: {
		struct etmr_round *x = &it->u.round;

		x->period = rd32(p + 0);
		x->round = rd32(p + 4);
		x->loop = rd32(p + 8);
		x->time_ns = rd64(p + 16);
		break;
	}
	case ETMR_FRAME_ACCESS:
		etmr_decode_access(p, &it->u.access);
		break;
	case ETMR_FRAME_PERIOD: {
		struct etmr_period *x = &it->u.period;

		x->period = rd32(p + 0);
		x->rounds = rd32(p + 4);
		x->time_ns = rd64(p + 8);
		x->mem_total_kb = rd64(p + 16);
		x->mem_free_kb = rd64(p + 24);
		x->mem_available_kb = rd64(p + 32);
		x->swap_cached_kb = rd64(p + 40);
		x->swap_total_kb = rd64(p + 48);
		x->swap_free_kb = rd64(p + 56);
		break;
	}
	case ETMR_FRAME_DECISION:
		etmr_decode_decision(p, &it->u.decision);
		break;
	case ETMR_FRAME_STAT: {
		struct etmr_stat *x = &it->u.stat;

		x->period = rd32(p + 0);
		x->stage = p[4];
		memcpy(x->key, p + 8, ETMR_STAT_KEY_MAX);
		x->value = rd64(p + 32);
		break;
	}
	case ETMR_FRAME_END:
		it->u.end.status = rd32(p + 0);
		break;
	default:
		break;
	}
}

/* An extent of npages pages of class `size` from `start`: the class is known,
 * npages is not 0, start is aligned to the class and the end fits in 64 bits. */
static int
check_extent(uint64_t start, uint64_t npages, uint8_t size, uint32_t page_size,
    char *why)
{
	uint64_t bytes = etmr_size_bytes(size, page_size), len, end;

	if (etmr_size_name(size) == NULL || bytes == 0) {
		snprintf(why, ETMR_WHY_MAX, "bad page size class %u (0..2)", size);
		return -1;
	}
	if (npages == 0) {
		snprintf(why, ETMR_WHY_MAX, "npages is 0");
		return -1;
	}
	/* bytes is a power of two (page_size is one, checked by the header),
	 * so a mask is the remainder: no 64-bit division per item. */
	if ((start & (bytes - 1)) != 0) {
		snprintf(why, ETMR_WHY_MAX, "start 0x%llx is not aligned to %s",
		    (unsigned long long)start, etmr_size_name(size));
		return -1;
	}
	if (__builtin_mul_overflow(npages, bytes, &len) ||
	    __builtin_add_overflow(start, len, &end)) {
		snprintf(why, ETMR_WHY_MAX, "start 0x%llx + %llu pages of %s "
		    "overflows the address space", (unsigned long long)start,
		    (unsigned long long)npages, etmr_size_name(size));
		return -1;
	}
	return 0;
}

static int
check_flags(uint32_t flags, char *why)
{
	if (flags & ~(uint32_t)ETMR_F_ALL) {
		snprintf(why, ETMR_WHY_MAX, "unknown flag bits 0x%x",
		    flags & ~(uint32_t)ETMR_F_ALL);
		return -1;
	}
	return 0;
}

/* A fixed char field holds a string, then only NULs (so text and binary
 * carry the same value). `need` = a NUL must occur (stat keys). */
static int
check_padding(const char *s, size_t n, int need)
{
	size_t len = strnlen(s, n);

	if (need && len == n)
		return -1;
	for (size_t i = len; i < n; i++)
		if (s[i] != '\0')
			return -1;
	return 0;
}

static int
check_stat(const struct etmr_stat *s, char *why)
{
	size_t len = strnlen(s->key, ETMR_STAT_KEY_MAX);

	if (s->stage < ETMR_STAGE_SCAN || s->stage > ETMR_STAGE_PSI) {
		snprintf(why, ETMR_WHY_MAX, "bad stage %u (1..5)", s->stage);
		return -1;
	}
	if (len == 0 || check_padding(s->key, ETMR_STAT_KEY_MAX, 1) != 0) {
		snprintf(why, ETMR_WHY_MAX, "bad stat key: want [a-z0-9_]{1,%u}",
		    ETMR_STAT_KEY_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s->key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
			snprintf(why, ETMR_WHY_MAX, "bad stat key: byte 0x%02x at "
			    "%zu, want [a-z0-9_]", (unsigned char)c, i);
			return -1;
		}
	}
	return 0;
}

int
etmr_check_access(const struct etmr_access *a, uint32_t page_size, char *why)
{
	if (etmr_access_ok(a, page_size))
		return 0;
	if (check_flags(a->flags, why) != 0)
		return -1;
	return check_extent(a->start, a->npages, a->size, page_size, why);
}

int
etmr_check_decision(const struct etmr_decision *d, uint32_t page_size, char *why)
{
	if (etmr_decision_ok(d, page_size))
		return 0;
	if (d->action < ETMR_ACT_SWAP || d->action > ETMR_ACT_PROMOTE) {
		snprintf(why, ETMR_WHY_MAX, "bad action %u (1..3)", d->action);
		return -1;
	}
	return check_extent(d->start, d->npages, d->size, page_size, why);
}

int
etmr_check_item(const struct etmr_item *it, uint32_t page_size, char *why)
{
	switch (it->type) {
	case ETMR_FRAME_PROC:
		if (it->u.proc.flags != 0) {
			snprintf(why, ETMR_WHY_MAX, "reserved flags 0x%x are not 0",
			    it->u.proc.flags);
			return -1;
		}
		if (check_padding(it->u.proc.comm, ETMR_COMM_MAX, 0) != 0) {
			snprintf(why, ETMR_WHY_MAX, "comm has bytes after its NUL");
			return -1;
		}
		return 0;
	case ETMR_FRAME_VMA: {
		const struct etmr_vma *v = &it->u.vma;

		if (check_flags(v->flags, why) != 0)
			return -1;
		if (etmr_size_name(v->size) == NULL) {
			snprintf(why, ETMR_WHY_MAX, "bad page size class %u (0..2)", v->size);
			return -1;
		}
		if (v->prot & ~0xfu) {
			snprintf(why, ETMR_WHY_MAX, "unknown prot bits 0x%x", v->prot & ~0xfu);
			return -1;
		}
		if (v->start >= v->end) {
			snprintf(why, ETMR_WHY_MAX, "empty range 0x%llx-0x%llx",
			    (unsigned long long)v->start, (unsigned long long)v->end);
			return -1;
		}
		if (v->start % page_size != 0 || v->end % page_size != 0) {
			snprintf(why, ETMR_WHY_MAX, "range 0x%llx-0x%llx is not aligned "
			    "to the page size %u", (unsigned long long)v->start,
			    (unsigned long long)v->end, page_size);
			return -1;
		}
		return 0;
	}
	case ETMR_FRAME_ACCESS:
		return etmr_check_access(&it->u.access, page_size, why);
	case ETMR_FRAME_DECISION:
		return etmr_check_decision(&it->u.decision, page_size, why);
	case ETMR_FRAME_STAT:
		return check_stat(&it->u.stat, why);
	default:
		/* Markers: every value is meaningful. */
		return 0;
	}
}

int
etmr_check_header(const struct etmr_header *h, char *why)
{
	uint32_t ps = h->page_size;

	if (h->version != ETMR_VERSION) {
		snprintf(why, ETMR_WHY_MAX, "unsupported version %u (this reader "
		    "knows %u)", h->version, ETMR_VERSION);
		return -1;
	}
	if (ps < 4096 || ps > 65536 || (ps & (ps - 1)) != 0) {
		snprintf(why, ETMR_WHY_MAX, "page size %u is not a power of two "
		    "in 4096..65536", ps);
		return -1;
	}
	if (etmr_backend_name(h->backend) == NULL) {
		snprintf(why, ETMR_WHY_MAX, "unknown backend %u", h->backend);
		return -1;
	}
	if (memchr(h->host, '\0', ETMR_HOST_MAX + 1) == NULL) {
		snprintf(why, ETMR_WHY_MAX, "host name is not terminated");
		return -1;
	}
	return 0;
}

size_t
etmr_header_wire_size(const struct etmr_header *h)
{
	return ETMR_HEADER_SIZE + strnlen(h->host, ETMR_HOST_MAX);
}

void
etmr_header_encode(uint8_t *p, const struct etmr_header *h)
{
	size_t hl = strnlen(h->host, ETMR_HOST_MAX);

	memset(p, 0, ETMR_HEADER_SIZE);
	memcpy(p, ETMR_MAGIC, 4);
	wr16(p + 4, h->version);
	wr16(p + 6, (uint16_t)(ETMR_HEADER_SIZE + hl));
	wr32(p + 8, h->page_size);
	wr16(p + 12, h->backend);
	p[14] = (uint8_t)hl;
	wr64(p + 16, h->start_ns);
	memcpy(p + ETMR_HEADER_SIZE, h->host, hl);
}
