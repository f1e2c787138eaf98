/* SPDX-License-Identifier: MIT */
/*
 * gen-idle-pages.c - write openEuler idle_pages byte streams from a page
 * pattern, as the kernel's encoder would (kernel-interfaces.md §1.6), so the
 * decoder can be tested bit-exact without an openEuler kernel.
 *
 *   gen-idle-pages [--chunk N] [--truncate] [--expect] [--pid PID] PATTERN...
 *
 * PATTERN tokens (4K base pages): "@0xADDR" moves the cursor; "<T><n>" is n
 * units of type T:  A accessed 4K, I idle 4K, D dirty 4K, H hole 4K,
 * M accessed 2M, m idle 2M, W dirty 2M, P PMD_IDLE_PTES (512 idle 4K),
 * h hole 2M, U PUD present 1G. "-" reads the tokens from stdin.
 *
 * Kernel behaviours reproduced: runs grow in place up to 15; an address
 * command (0xA0 + 8 bytes big-endian) at every --chunk boundary (default
 * 8000, PAGE_IDLE_KBUF_SIZE) and at every discontinuity; holes at a chunk
 * start or after a discontinuity are swallowed. --truncate appends an
 * address command cut short, as a full user buffer can leave.
 * --expect prints instead the ACCESS text lines an exact decoder must give
 * (computed from the pattern, not by decoding), with adjacent equal pages
 * merged into extents.
 *
 * Unit tests #include this file with GEN_IDLE_NO_MAIN to reach the encoder.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define GEN_PAGE 4096ull
#define GEN_PMD (512ull * GEN_PAGE)
#define GEN_PUD (512ull * GEN_PMD)

struct gen_unit {
	uint64_t addr;
	uint8_t type;           /* kernel type 0..9 */
};

struct gen_units {
	struct gen_unit *v;
	size_t n, cap;
};

static int
gen_type(char c, uint8_t *type, uint64_t *bytes)
{
	static const struct { char c; uint8_t t; uint64_t b; } tab[] = {
		{ 'A', 0, GEN_PAGE }, { 'M', 1, GEN_PMD }, { 'U', 2, GEN_PUD },
		{ 'D', 3, GEN_PAGE }, { 'W', 4, GEN_PMD }, { 'I', 5, GEN_PAGE },
		{ 'm', 6, GEN_PMD }, { 'P', 7, GEN_PMD }, { 'H', 8, GEN_PAGE },
		{ 'h', 9, GEN_PMD },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].c == c) {
			*type = tab[i].t;
			*bytes = tab[i].b;
			return 0;
		}
	return -1;
}

static uint64_t
gen_unit_bytes(uint8_t type)
{
	static const uint64_t b[] = { GEN_PAGE, GEN_PMD, GEN_PUD, GEN_PAGE,
		GEN_PMD, GEN_PAGE, GEN_PMD, GEN_PMD, GEN_PAGE, GEN_PMD };

	return type < 10 ? b[type] : 0;
}

static int
gen_push(struct gen_units *u, uint64_t addr, uint8_t type)
{
	if (u->n == u->cap) {
		size_t ncap = u->cap ? u->cap * 2 : 1024;
		struct gen_unit *nv = realloc(u->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		u->v = nv;
		u->cap = ncap;
	}
	u->v[u->n].addr = addr;
	u->v[u->n].type = type;
	u->n++;
	return 0;
}

/* Parse whitespace-separated tokens; *cursor persists across calls. */
static int
gen_parse(const char *s, struct gen_units *u, uint64_t *cursor)
{
	while (*s != '\0') {
		char tok[64], *end;
		size_t n = strcspn(s, " \t\n");

		if (n == 0) {
			s++;
			continue;
		}
		if (n >= sizeof(tok))
			return -1;
		memcpy(tok, s, n);
		tok[n] = '\0';
		s += n;
		if (tok[0] == '@') {
			errno = 0;
			*cursor = strtoull(tok + 1, &end, 0);
			if (errno != 0 || *end != '\0' || end == tok + 1)
				return -1;
		} else {
			uint8_t type;
			uint64_t bytes, cnt, i;

			if (gen_type(tok[0], &type, &bytes) < 0)
				return -1;
			errno = 0;
			cnt = strtoull(tok + 1, &end, 10);
			if (errno != 0 || *end != '\0' || end == tok + 1)
				return -1;
			for (i = 0; i < cnt; i++) {
				if (gen_push(u, *cursor, type) < 0)
					return -1;
				*cursor += bytes;
			}
		}
	}
	return 0;
}

struct gen_buf {
	uint8_t *v;
	size_t n, cap;
};

static int
gen_byte(struct gen_buf *b, uint8_t c)
{
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4096;
		uint8_t *nv = realloc(b->v, ncap);

		if (nv == NULL)
			return -1;
		b->v = nv;
		b->cap = ncap;
	}
	b->v[b->n++] = c;
	return 0;
}

static int
gen_cmd(struct gen_buf *b, uint64_t addr, unsigned nbytes)
{
	unsigned k;

	if (gen_byte(b, 0xA0) < 0)
		return -1;
	for (k = 0; k < nbytes; k++)
		if (gen_byte(b, (uint8_t)(addr >> (56 - 8 * k))) < 0)
			return -1;
	return 0;
}

/* Encode units as the kernel would; chunk = kernel buffer size. */
static int
gen_encode(const struct gen_units *u, size_t chunk, int truncate,
    struct gen_buf *out)
{
	size_t i, chunk_start = 0, last_run = (size_t)-1;
	uint64_t cursor = 0;
	int need_cmd = 1;       /* the start of the stream is a chunk start */

	for (i = 0; i < u->n; i++) {
		const struct gen_unit *x = &u->v[i];
		int hole = x->type == 8 || x->type == 9;
		uint64_t bytes = gen_unit_bytes(x->type);

		if (x->addr != cursor) {
			need_cmd = 1;
			last_run = (size_t)-1;
		}
		if (hole && need_cmd) {
			/* A hole never starts a sequence: swallowed. */
			cursor = x->addr + bytes;
			continue;
		}
		if (!need_cmd && last_run != (size_t)-1 &&
		    out->v[last_run] >> 4 == x->type && (out->v[last_run] & 0xf) < 15) {
			out->v[last_run]++;
			cursor = x->addr + bytes;
			continue;
		}
		/* A new byte (plus a command if needed) must fit in the chunk. */
		if (out->n - chunk_start + (need_cmd ? 10u : 1u) > chunk) {
			chunk_start = out->n;
			need_cmd = 1;
			last_run = (size_t)-1;
			if (hole) {
				cursor = x->addr + bytes;
				continue;
			}
		}
		if (need_cmd) {
			if (gen_cmd(out, x->addr, 8) < 0)
				return -1;
			need_cmd = 0;
		}
		last_run = out->n;
		if (gen_byte(out, (uint8_t)(x->type << 4 | 1)) < 0)
			return -1;
		cursor = x->addr + bytes;
	}
	if (truncate && gen_cmd(out, cursor, 3) < 0)
		return -1;
	return 0;
}

/* The ACCESS text lines an exact decoder gives for the pattern. */
static void
gen_expect(const struct gen_units *u, unsigned pid, FILE *fp)
{
	uint64_t start = 0, npages = 0;
	const char *size = NULL, *flags = NULL;
	unsigned count = 0;
	size_t i;

	for (i = 0; i <= u->n; i++) {
		const char *s = NULL, *f = NULL;
		uint64_t addr = 0, np = 0, unit = 0;
		unsigned c = 0;

		if (i < u->n) {
			addr = u->v[i].addr;
			switch (u->v[i].type) {
			case 0: s = "4K"; c = 1; f = "-"; np = 1; unit = GEN_PAGE; break;
			case 1: s = "2M"; c = 1; f = "-"; np = 1; unit = GEN_PMD; break;
			case 2: s = "1G"; c = 1; f = "-"; np = 1; unit = GEN_PUD; break;
			case 3: s = "4K"; c = 3; f = "d"; np = 1; unit = GEN_PAGE; break;
			case 4: s = "2M"; c = 3; f = "d"; np = 1; unit = GEN_PMD; break;
			case 5: s = "4K"; c = 0; f = "i"; np = 1; unit = GEN_PAGE; break;
			case 6: s = "2M"; c = 0; f = "i"; np = 1; unit = GEN_PMD; break;
			case 7: s = "4K"; c = 0; f = "i"; np = 512; unit = GEN_PAGE; break;
			default: continue;      /* holes give no record */
			}
			if (addr % (np * unit == GEN_PMD ? GEN_PMD : unit) != 0)
				continue;       /* misaligned: the decoder drops it */
			if (size != NULL && s == size && f == flags && c == count &&
			    start + npages * (s[1] == 'K' ? GEN_PAGE : s[1] == 'M' ?
			    GEN_PMD : GEN_PUD) == addr) {
				npages += np;
				continue;
			}
		}
		if (size != NULL)
			fprintf(fp, "A %u 0x%" PRIx64 " %" PRIu64 " %s %u %s\n",
			    pid, start, npages, size, count, flags);
		size = s;
		flags = f;
		count = c;
		start = addr;
		npages = np;
	}
}

#ifndef GEN_IDLE_NO_MAIN
int
main(int argc, char **argv)
{
	struct gen_units u = { 0 };
	struct gen_buf out = { 0 };
	uint64_t cursor = 0;
	size_t chunk = 8000;
	int truncate = 0, expect = 0, i, rc = 0;
	unsigned pid = 0;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--truncate") == 0)
			truncate = 1;
		else if (strcmp(argv[i], "--expect") == 0)
			expect = 1;
		else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
			chunk = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc)
			pid = (unsigned)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: gen-idle-pages [--chunk N] [--truncate] "
			    "[--expect] [--pid PID] PATTERN... | -\n");
			return EX_USAGE;
		}
	}
	if (chunk < 10) {
		fprintf(stderr, "gen-idle-pages: --chunk must be >= 10\n");
		return EX_USAGE;
	}
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			char line[4096];

			while (fgets(line, sizeof(line), stdin) != NULL)
				if (gen_parse(line, &u, &cursor) < 0)
					goto bad;
		} else if (gen_parse(argv[i], &u, &cursor) < 0) {
			goto bad;
		}
	}
	if (expect) {
		gen_expect(&u, pid, stdout);
	} else if (gen_encode(&u, chunk, truncate, &out) < 0 ||
	    fwrite(out.v, 1, out.n, stdout) != out.n) {
		fprintf(stderr, "gen-idle-pages: out of memory or write error\n");
		rc = EX_OSERR;
	}
	free(u.v);
	free(out.v);
	return rc;
bad:
	fprintf(stderr, "gen-idle-pages: bad pattern token near unit %zu\n", u.n);
	free(u.v);
	return EX_DATAERR;
}
#endif
