/* SPDX-License-Identifier: MIT */
/*
 * rec-text.c - the text form of ETMR: one line per item or marker.
 *
 * Parsing and formatting of single lines only; rec-read.c and rec-write.c
 * own the I/O. The formatter is canonical (one spelling per value: fixed
 * fields, then key=value fields in a fixed order, item keys only when not
 * default) so text -> binary -> text reproduces canonical text exactly. The
 * parser is strict about values (ranges, hex, escapes) and lenient about key
 * order, as hand-written test inputs want.
 */
#include "rec-wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define TOK_MAX 16

static const char flag_letters[] = "afdihsvrHTpwS"; /* bit i = letter i */

static const char *const stage_names[] = {
	[ETMR_STAGE_SCAN] = "scan", [ETMR_STAGE_RANK] = "rank",
	[ETMR_STAGE_MIGRATE] = "migrate", [ETMR_STAGE_PMU] = "pmu",
	[ETMR_STAGE_PSI] = "psi",
};

/* ---- formatting ---- */

static void
fmt_flags(char *out, uint32_t flags)
{
	size_t n = 0;

	for (size_t i = 0; flag_letters[i] != '\0'; i++)
		if (flags & (1u << i))
			out[n++] = flag_letters[i];
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
}

/* %XX-escape bytes outside '!'..'~' and '%' itself (so values hold no blank). */
static void
fmt_escaped(char *out, const char *s, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (size_t i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < '!' || c > '~' || c == '%') {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
}

static void
fmt_perms(char *out, uint8_t prot)
{
	out[0] = (prot & ETMR_PROT_READ) ? 'r' : '-';
	out[1] = (prot & ETMR_PROT_WRITE) ? 'w' : '-';
	out[2] = (prot & ETMR_PROT_EXEC) ? 'x' : '-';
	out[3] = (prot & ETMR_PROT_SHARED) ? 's' : 'p';
	out[4] = '\0';
}

static const char *
size_or_q(uint8_t size)
{
	const char *s = etmr_size_name(size);

	return s != NULL ? s : "?";
}

/* Append printf output at buf+n, bounded by ETMR_LINE_MAX. */
static size_t __attribute__((format(printf, 3, 4)))
app(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (n >= ETMR_LINE_MAX - 1)
		return n;
	va_start(ap, fmt);
	r = vsnprintf(buf + n, ETMR_LINE_MAX - 1 - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return n;
	n += (size_t)r;
	return n < ETMR_LINE_MAX - 1 ? n : ETMR_LINE_MAX - 2;
}

typedef unsigned long long ull;

size_t
etmr_text_format(char *buf, const struct etmr_item *it)
{
	char fl[32], esc[3 * ETMR_HOST_MAX + 1];
	size_t n = 0;

	switch (it->type) {
	case ETMR_FRAME_VMA: {
		const struct etmr_vma *v = &it->u.vma;
		char perms[5];

		fmt_perms(perms, v->prot);
		fmt_flags(fl, v->flags);
		n = app(buf, n, "V %u 0x%llx 0x%llx %s %s %s", v->pid, (ull)v->start,
		    (ull)v->end, perms, size_or_q(v->size), fl);
		if (v->node != ETMR_NODE_NONE)
			n = app(buf, n, " node=%u", v->node);
		break;
	}
	case ETMR_FRAME_ROUND: {
		const struct etmr_round *r = &it->u.round;

		n = app(buf, n, "ROUND period=%u round=%u loop=%u time_ns=%llu",
		    r->period, r->round, r->loop, (ull)r->time_ns);
		break;
	}
	case ETMR_FRAME_ACCESS: {
		const struct etmr_access *a = &it->u.access;

		fmt_flags(fl, a->flags);
		n = app(buf, n, "A %u 0x%llx %llu %s %u %s", a->pid, (ull)a->start,
		    (ull)a->npages, size_or_q(a->size), a->count, fl);
		if (a->age != 0)
			n = app(buf, n, " age=%u", a->age);
		if (a->node != ETMR_NODE_NONE)
			n = app(buf, n, " node=%u", a->node);
		break;
	}
	case ETMR_FRAME_PROC: {
		const struct etmr_proc *p = &it->u.proc;

		fmt_escaped(esc, p->comm, ETMR_COMM_MAX);
		n = app(buf, n, "P %u start_time=%llu rss_kb=%llu swap_kb=%llu comm=%s",
		    p->pid, (ull)p->start_time, (ull)p->rss_kb, (ull)p->swap_kb, esc);
		break;
	}
	case ETMR_FRAME_STAT: {
		const struct etmr_stat *s = &it->u.stat;
		const char *st = s->stage >= 1 && s->stage <= 5 ? stage_names[s->stage] : "?";

		fmt_escaped(esc, s->key, ETMR_STAT_KEY_MAX);
		n = app(buf, n, "S %s %u %s %llu", st, s->period, esc, (ull)s->value);
		break;
	}
	case ETMR_FRAME_PERIOD: {
		const struct etmr_period *p = &it->u.period;

		n = app(buf, n, "PERIOD period=%u rounds=%u time_ns=%llu "
		    "mem_total_kb=%llu mem_free_kb=%llu mem_available_kb=%llu "
		    "swap_cached_kb=%llu swap_total_kb=%llu swap_free_kb=%llu",
		    p->period, p->rounds, (ull)p->time_ns, (ull)p->mem_total_kb,
		    (ull)p->mem_free_kb, (ull)p->mem_available_kb,
		    (ull)p->swap_cached_kb, (ull)p->swap_total_kb, (ull)p->swap_free_kb);
		break;
	}
	case ETMR_FRAME_DECISION: {
		const struct etmr_decision *d = &it->u.decision;
		const char *act = etmr_action_name(d->action);

		n = app(buf, n, "D %u 0x%llx %llu %s %s ", d->pid, (ull)d->start,
		    (ull)d->npages, size_or_q(d->size), act != NULL ? act : "?");
		if (d->node == ETMR_NODE_NONE)
			n = app(buf, n, "-");
		else
			n = app(buf, n, "%u", d->node);
		if (d->score != 0)
			n = app(buf, n, " score=%u", d->score);
		if (d->start_time != 0)
			n = app(buf, n, " start_time=%llu", (ull)d->start_time);
		break;
	}
	case ETMR_FRAME_END:
		n = app(buf, n, "END status=%u", it->u.end.status);
		break;
	default:
		n = app(buf, n, "# frame type %u", it->type);
		break;
	}
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

size_t
etmr_text_format_header(char *buf, const struct etmr_header *h)
{
	char esc[3 * ETMR_HOST_MAX + 1];
	const char *b = etmr_backend_name(h->backend);
	size_t n;

	fmt_escaped(esc, h->host, ETMR_HOST_MAX);
	n = app(buf, 0, "ETMR %u page_size=%u backend=%s host=%s start_ns=%llu",
	    h->version, h->page_size, b != NULL ? b : "?", esc, (ull)h->start_ns);
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

/* ---- parsing ---- */

static int __attribute__((format(printf, 2, 3)))
why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, ETMR_WHY_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* Decimal, digits only, at most max. */
static int
parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* 0x followed by 1..16 hex digits. */
static int
parse_addr(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	if (s[0] != '0' || s[1] != 'x')
		return -1;
	for (s += 2; *s != '\0'; s++, n++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (n >= 16)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo fmt_escaped into out[max]: at most max - 1 bytes, NUL-padded; no NUL
 * may be escaped in (a NUL ends the value in both forms). */
static int
parse_escaped(const char *s, char *out, size_t max)
{
	size_t n = 0;

	memset(out, 0, max);
	while (*s != '\0') {
		int c = (unsigned char)*s;

		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = hi << 4 | lo;
			s += 3;
		} else {
			s++;
		}
		if (n + 1 >= max)
			return -1;
		out[n++] = (char)c;
	}
	return 0;
}

static int
parse_flags(const char *s, uint32_t *out)
{
	uint32_t f = 0;

	if (strcmp(s, "-") == 0) {
		*out = 0;
		return 0;
	}
	for (; *s != '\0'; s++) {
		const char *p = strchr(flag_letters, *s);

		if (p == NULL)
			return -1;
		f |= 1u << (p - flag_letters);
	}
	*out = f;
	return 0;
}

static int
parse_size(const char *s, uint8_t *out)
{
	for (uint8_t i = 0; i < 3; i++)
		if (strcmp(s, etmr_size_name(i)) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

static int
parse_perms(const char *s, uint8_t *out)
{
	uint8_t p = 0;

	if (strlen(s) != 4)
		return -1;
	if (s[0] == 'r')
		p |= ETMR_PROT_READ;
	else if (s[0] != '-')
		return -1;
	if (s[1] == 'w')
		p |= ETMR_PROT_WRITE;
	else if (s[1] != '-')
		return -1;
	if (s[2] == 'x')
		p |= ETMR_PROT_EXEC;
	else if (s[2] != '-')
		return -1;
	if (s[3] == 's')
		p |= ETMR_PROT_SHARED;
	else if (s[3] != 'p')
		return -1;
	*out = p;
	return 0;
}

enum kv_type { KV_U16, KV_U32, KV_U64, KV_STR };

struct kv {
	const char *key;
	enum kv_type type;
	void *val;
	size_t max;             /* KV_STR: buffer size */
	int seen;
};

/* key=value fields in any order, each at most once, all known; missing = 0. */
static int
parse_kvs(char **tok, int ntok, struct kv *kv, char *why)
{
	for (int i = 0; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');
		struct kv *k = NULL;
		uint64_t v;

		if (eq == NULL)
			return why_set(why, "unexpected field '%.40s'", tok[i]);
		*eq = '\0';
		for (struct kv *p = kv; p->key != NULL; p++)
			if (strcmp(p->key, tok[i]) == 0)
				k = p;
		if (k == NULL)
			return why_set(why, "unknown key '%.40s'", tok[i]);
		if (k->seen++)
			return why_set(why, "key '%s' given twice", k->key);
		switch (k->type) {
		case KV_STR:
			if (parse_escaped(eq + 1, k->val, k->max) != 0)
				return why_set(why, "bad %s value '%.40s' (at most %zu "
				    "bytes, %%XX escapes, no NUL)", k->key, eq + 1,
				    k->max - 1);
			break;
		case KV_U16:
			if (parse_dec(eq + 1, UINT16_MAX, &v) != 0)
				return why_set(why, "bad %s value '%.40s' (0..65535)",
				    k->key, eq + 1);
			*(uint16_t *)k->val = (uint16_t)v;
			break;
		case KV_U32:
			if (parse_dec(eq + 1, UINT32_MAX, &v) != 0)
				return why_set(why, "bad %s value '%.40s' (0..%u)",
				    k->key, eq + 1, UINT32_MAX);
			*(uint32_t *)k->val = (uint32_t)v;
			break;
		case KV_U64:
			if (parse_dec(eq + 1, UINT64_MAX, &v) != 0)
				return why_set(why, "bad %s value '%.40s' (decimal u64)",
				    k->key, eq + 1);
			*(uint64_t *)k->val = v;
			break;
		}
	}
	return 0;
}

static int
fixed_pid(const char *s, uint32_t *pid, char *why)
{
	uint64_t v;

	if (parse_dec(s, UINT32_MAX, &v) != 0)
		return why_set(why, "bad pid '%.40s'", s);
	*pid = (uint32_t)v;
	return 0;
}

static int
fixed_addr(const char *s, const char *what, uint64_t *out, char *why)
{
	if (parse_addr(s, out) != 0)
		return why_set(why, "bad %s '%.40s' (want 0x and hex digits)", what, s);
	return 0;
}

static int
fixed_npages(const char *s, uint64_t *out, char *why)
{
	if (parse_dec(s, UINT64_MAX, out) != 0)
		return why_set(why, "bad npages '%.40s'", s);
	return 0;
}

static int
fixed_size(const char *s, uint8_t *out, char *why)
{
	if (parse_size(s, out) != 0)
		return why_set(why, "bad page size '%.40s' (4K|2M|1G)", s);
	return 0;
}

static int
fixed_flags(const char *s, uint32_t *out, char *why)
{
	if (parse_flags(s, out) != 0)
		return why_set(why, "bad flags '%.40s' (letters of %s, or -)", s,
		    flag_letters);
	return 0;
}

static int
need(int ntok, int nfixed, const char *shape, char *why)
{
	if (ntok < nfixed)
		return why_set(why, "too few fields: want %s", shape);
	return 0;
}

static int
parse_vma(char **t, int n, struct etmr_vma *v, char *why)
{
	struct kv kv[] = { { "node", KV_U16, &v->node, 0, 0 }, { NULL, 0, NULL, 0, 0 } };

	v->node = ETMR_NODE_NONE;
	if (need(n, 7, "V <pid> <start> <end> <perms> <4K|2M|1G> <flags>", why) ||
	    fixed_pid(t[1], &v->pid, why) || fixed_addr(t[2], "start", &v->start, why) ||
	    fixed_addr(t[3], "end", &v->end, why))
		return -1;
	if (parse_perms(t[4], &v->prot) != 0)
		return why_set(why, "bad perms '%.40s' (like rw-p)", t[4]);
	if (fixed_size(t[5], &v->size, why) || fixed_flags(t[6], &v->flags, why))
		return -1;
	return parse_kvs(t + 7, n - 7, kv, why);
}

static int
parse_access(char **t, int n, struct etmr_access *a, char *why)
{
	struct kv kv[] = { { "age", KV_U32, &a->age, 0, 0 },
		{ "node", KV_U16, &a->node, 0, 0 }, { NULL, 0, NULL, 0, 0 } };
	uint64_t v;

	a->node = ETMR_NODE_NONE;
	if (need(n, 7, "A <pid> <start> <npages> <4K|2M|1G> <count> <flags>", why) ||
	    fixed_pid(t[1], &a->pid, why) || fixed_addr(t[2], "start", &a->start, why) ||
	    fixed_npages(t[3], &a->npages, why) || fixed_size(t[4], &a->size, why))
		return -1;
	if (parse_dec(t[5], UINT32_MAX, &v) != 0)
		return why_set(why, "bad count '%.40s'", t[5]);
	a->count = (uint32_t)v;
	if (fixed_flags(t[6], &a->flags, why))
		return -1;
	return parse_kvs(t + 7, n - 7, kv, why);
}

static int
parse_decision(char **t, int n, struct etmr_decision *d, char *why)
{
	struct kv kv[] = { { "score", KV_U32, &d->score, 0, 0 },
		{ "start_time", KV_U64, &d->start_time, 0, 0 }, { NULL, 0, NULL, 0, 0 } };
	uint64_t v;

	if (need(n, 7, "D <pid> <start> <npages> <4K|2M|1G> <action> <node|->", why) ||
	    fixed_pid(t[1], &d->pid, why) || fixed_addr(t[2], "start", &d->start, why) ||
	    fixed_npages(t[3], &d->npages, why) || fixed_size(t[4], &d->size, why))
		return -1;
	for (uint8_t i = ETMR_ACT_SWAP; i <= ETMR_ACT_PROMOTE; i++)
		if (strcmp(t[5], etmr_action_name(i)) == 0)
			d->action = i;
	if (d->action == 0)
		return why_set(why, "bad action '%.40s' (swap|demote|promote)", t[5]);
	if (strcmp(t[6], "-") == 0)
		d->node = ETMR_NODE_NONE;
	else if (parse_dec(t[6], UINT16_MAX, &v) == 0)
		d->node = (uint16_t)v;
	else
		return why_set(why, "bad node '%.40s' (0..65535 or -)", t[6]);
	return parse_kvs(t + 7, n - 7, kv, why);
}

static int
parse_stat(char **t, int n, struct etmr_stat *s, char *why)
{
	uint64_t v;

	if (need(n, 5, "S <stage> <period> <key> <value>", why))
		return -1;
	if (n > 5)
		return why_set(why, "unexpected field '%.40s'", t[5]);
	for (uint8_t i = ETMR_STAGE_SCAN; i <= ETMR_STAGE_PSI; i++)
		if (strcmp(t[1], stage_names[i]) == 0)
			s->stage = i;
	if (s->stage == 0)
		return why_set(why, "bad stage '%.40s' (scan|rank|migrate|pmu|psi)", t[1]);
	if (parse_dec(t[2], UINT32_MAX, &v) != 0)
		return why_set(why, "bad period '%.40s'", t[2]);
	s->period = (uint32_t)v;
	if (strlen(t[3]) >= ETMR_STAT_KEY_MAX)
		return why_set(why, "bad stat key '%.40s': want [a-z0-9_]{1,%u}", t[3],
		    ETMR_STAT_KEY_MAX - 1);
	memcpy(s->key, t[3], strlen(t[3]));
	if (parse_dec(t[4], UINT64_MAX, &s->value) != 0)
		return why_set(why, "bad value '%.40s'", t[4]);
	return 0;
}

static int
parse_proc(char **t, int n, struct etmr_proc *p, char *why)
{
	/* comm may fill all 16 bytes: parse into a buffer one longer, then copy. */
	char comm[ETMR_COMM_MAX + 1] = "";
	struct kv kv[] = { { "start_time", KV_U64, &p->start_time, 0, 0 },
		{ "rss_kb", KV_U64, &p->rss_kb, 0, 0 },
		{ "swap_kb", KV_U64, &p->swap_kb, 0, 0 },
		{ "comm", KV_STR, comm, sizeof(comm), 0 },
		{ NULL, 0, NULL, 0, 0 } };

	if (need(n, 2, "P <pid> [start_time=N] [rss_kb=N] [swap_kb=N] [comm=S]", why) ||
	    fixed_pid(t[1], &p->pid, why) || parse_kvs(t + 2, n - 2, kv, why))
		return -1;
	memcpy(p->comm, comm, ETMR_COMM_MAX);
	return 0;
}

static int
parse_header(char **t, int n, struct etmr_header *h, char *why)
{
	char backend[16] = "";
	struct kv kv[] = { { "page_size", KV_U32, &h->page_size, 0, 0 },
		{ "backend", KV_STR, backend, sizeof(backend), 0 },
		{ "host", KV_STR, h->host, ETMR_HOST_MAX + 1, 0 },
		{ "start_ns", KV_U64, &h->start_ns, 0, 0 }, { NULL, 0, NULL, 0, 0 } };
	uint64_t v;

	memset(h, 0, sizeof(*h));
	if (need(n, 2, "ETMR <version> page_size=N backend=NAME host=NAME start_ns=N", why))
		return -1;
	if (parse_dec(t[1], UINT16_MAX, &v) != 0)
		return why_set(why, "bad version '%.40s'", t[1]);
	h->version = (uint16_t)v;
	if (h->version != ETMR_VERSION)
		return why_set(why, "unsupported version %u (this reader knows %u)",
		    h->version, ETMR_VERSION);
	h->page_size = 4096;
	if (parse_kvs(t + 2, n - 2, kv, why) != 0)
		return -1;
	for (uint16_t i = 0; etmr_backend_name(i) != NULL; i++)
		if (strcmp(backend, etmr_backend_name(i)) == 0)
			h->backend = i;
	if (kv[1].seen && strcmp(backend, etmr_backend_name(h->backend)) != 0)
		return why_set(why, "unknown backend '%.40s'", backend);
	return etmr_check_header(h, why);
}

int
etmr_text_parse(char *line, struct etmr_item *it, struct etmr_header *h,
    char *why)
{
	char *t[TOK_MAX], *save = NULL, *s;
	int n = 0;

	memset(it, 0, sizeof(*it));
	for (s = strtok_r(line, " \t\r", &save); s != NULL;
	    s = strtok_r(NULL, " \t\r", &save)) {
		if (n == 0 && s[0] == '#')
			return 0;
		if (n == TOK_MAX)
			return why_set(why, "more than %d fields", TOK_MAX);
		t[n++] = s;
	}
	if (n == 0)
		return 0;
	if (strcmp(t[0], "ETMR") == 0)
		return parse_header(t, n, h, why) == 0 ? 2 : -1;
	if (strcmp(t[0], "V") == 0) {
		it->type = ETMR_FRAME_VMA;
		return parse_vma(t, n, &it->u.vma, why) == 0 ? 1 : -1;
	}
	if (strcmp(t[0], "A") == 0) {
		it->type = ETMR_FRAME_ACCESS;
		return parse_access(t, n, &it->u.access, why) == 0 ? 1 : -1;
	}
	if (strcmp(t[0], "D") == 0) {
		it->type = ETMR_FRAME_DECISION;
		return parse_decision(t, n, &it->u.decision, why) == 0 ? 1 : -1;
	}
	if (strcmp(t[0], "P") == 0) {
		it->type = ETMR_FRAME_PROC;
		return parse_proc(t, n, &it->u.proc, why) == 0 ? 1 : -1;
	}
	if (strcmp(t[0], "S") == 0) {
		it->type = ETMR_FRAME_STAT;
		return parse_stat(t, n, &it->u.stat, why) == 0 ? 1 : -1;
	}
	if (strcmp(t[0], "ROUND") == 0) {
		struct etmr_round *r = &it->u.round;
		struct kv kv[] = { { "period", KV_U32, &r->period, 0, 0 },
			{ "round", KV_U32, &r->round, 0, 0 },
			{ "loop", KV_U32, &r->loop, 0, 0 },
			{ "time_ns", KV_U64, &r->time_ns, 0, 0 }, { NULL, 0, NULL, 0, 0 } };

		it->type = ETMR_FRAME_ROUND;
		return parse_kvs(t + 1, n - 1, kv, why) == 0 ? 1 : -1;
	}
	if (strcmp(t[0], "PERIOD") == 0) {
		struct etmr_period *p = &it->u.period;
		struct kv kv[] = { { "period", KV_U32, &p->period, 0, 0 },
			{ "rounds", KV_U32, &p->rounds, 0, 0 },
			{ "time_ns", KV_U64, &p->time_ns, 0, 0 },
			{ "mem_total_kb", KV_U64, &p->mem_total_kb, 0, 0 },
			{ "mem_free_kb", KV_U64, &p->mem_free_kb, 0, 0 },
			{ "mem_available_kb", KV_U64, &p->mem_available_kb, 0, 0 },
			{ "swap_cached_kb", KV_U64, &p->swap_cached_kb, 0, 0 },
			{ "swap_total_kb", KV_U64, &p->swap_total_kb, 0, 0 },
			{ "swap_free_kb", KV_U64, &p->swap_free_kb, 0, 0 },
			{ NULL, 0, NULL, 0, 0 } };

		it->type = ETMR_FRAME_PERIOD;
		return parse_kvs(t + 1, n - 1, kv, why) == 0 ? 1 : -1;
	}
	if (strcmp(t[0], "END") == 0) {
		struct kv kv[] = { { "status", KV_U32, &it->u.end.status, 0, 0 },
			{ NULL, 0, NULL, 0, 0 } };

		it->type = ETMR_FRAME_END;
		return parse_kvs(t + 1, n - 1, kv, why) == 0 ? 1 : -1;
	}
	return why_set(why, "unknown line kind '%.40s'", t[0]);
}
