/* SPDX-License-Identifier: MIT */
/*
 * conf-keys.c - the key table (cli-contract 4.5-4.7, engine-algorithms 10)
 * and the code that turns one raw group into a typed project/engine/task.
 *
 * Each key has a group, a scope (the scan types or engine types it applies
 * to), a type, a range, whether it is required, and what the original
 * replied when it was bad. Keys outside their scope are ignored, as the
 * original ignores keys it does not read. Integers follow GLib's int64
 * grammar (leading blanks, sign, decimal digits, nothing after) and are
 * range-checked on the full 64-bit value: nothing is truncated to 32 bits.
 * Keys the original clamps silently (max_threads, dram_percent, the PMU
 * rates) still clamp, so files it accepted stay accepted.
 */
#include "conf-raw.h"

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

enum ck_type {
	CK_STR,         /* string, length min..max, optional charset */
	CK_INT,         /* integer min..max */
	CK_YESNO,       /* "yes" | "no" */
	CK_DOUBLE,      /* finite double > 0 */
	CK_U64,         /* unsigned decimal string, 0..UINT64_MAX */
	CK_CHOICE,      /* one of choices[], stored as its index */
	CK_GIB,         /* swap_threshold: digits then g|G */
	CK_NODEPAIR,    /* cslide node_pair */
	CK_ENGTYPE,     /* [engine] name */
};

#define CKF_REQ 0x01    /* required within its scope */
#define CKF_ID  0x02    /* identity key: the only keys `obj del` reads */
#define CKF_PRE 0x04    /* applied before the others (decides the scope) */
#define CKF_ONE 0x08    /* <= 0 stored as 1 (the original clamps) */
#define CKF_OFF 0x10    /* outside min..max stored as 0 (original: off) */

#define P_PAGE   (1u << CONF_SCAN_PAGE)
#define P_REGION (1u << CONF_SCAN_REGION)
#define P_PSI    (1u << CONF_SCAN_PSI)
#define P_ALL    (P_PAGE | P_REGION | P_PSI)
#define E(t)     (1u << CONF_ENG_##t)
#define E_ALL    ((1u << CONF_ENG_NTYPES) - 1)

#define NOSTORE ((size_t)-1)
#define NOHAS   (-1)

struct ckey {
	const char *name;
	enum conf_gkind group;
	unsigned scope;
	enum ck_type type;
	unsigned flags;
	enum conf_reply reply;
	int64_t min, max;
	const char *const *choices;
	size_t off, size;
	ssize_t has;
};

static const char *const scan_types[] = { "page", "region", "psi", NULL };
static const char *const target_types[] = { "pid", "name", NULL };
static const char *const vm_flags_ht[] = { "ht", NULL };
static const char *const damon_actions[] = { "willneed", "cold", "pageout",
	"hugepage", "nohugepage", "stat", NULL };
static const char *const engine_types[] = { "slide", "cslide", "memdcd",
	"damon", "psi", "thirdparty", "exec", NULL };

#define INVAL CONF_REPLY_INVAL
#define INTER CONF_REPLY_INTER_ERR
#define F(st, fld) offsetof(struct st, fld), sizeof(((struct st *)0)->fld)
#define H(st, fld) (ssize_t)offsetof(struct st, fld)

/* The table; order = order of checks inside a group. */
static const struct ckey keys[] = {
	{ "name", CONF_G_PROJECT, P_ALL, CK_STR, CKF_REQ | CKF_ID, INVAL,
	  1, CONF_NAME_MAX, NULL, F(conf_project, name), NOHAS },
	{ "scan_type", CONF_G_PROJECT, P_ALL, CK_CHOICE, CKF_PRE, INVAL,
	  0, 0, scan_types, F(conf_project, scan_type), NOHAS },
	{ "loop", CONF_G_PROJECT, P_PAGE, CK_INT, CKF_REQ, INVAL,
	  1, 120, NULL, F(conf_project, loop), NOHAS },
	{ "interval", CONF_G_PROJECT, P_PAGE | P_PSI, CK_INT, CKF_REQ, INVAL,
	  1, 1200, NULL, F(conf_project, interval), NOHAS },
	{ "sleep", CONF_G_PROJECT, P_PAGE, CK_INT, CKF_REQ, INVAL,
	  1, 1200, NULL, F(conf_project, sleep), NOHAS },
	{ "sample_interval", CONF_G_PROJECT, P_REGION, CK_INT, CKF_REQ, INVAL,
	  1, INT32_MAX, NULL, F(conf_project, sample_interval), NOHAS },
	{ "aggr_interval", CONF_G_PROJECT, P_REGION, CK_INT, CKF_REQ, INVAL,
	  1, INT32_MAX, NULL, F(conf_project, aggr_interval), NOHAS },
	{ "update_interval", CONF_G_PROJECT, P_REGION, CK_INT, CKF_REQ, INVAL,
	  1, INT32_MAX, NULL, F(conf_project, update_interval), NOHAS },
	{ "min_nr_regions", CONF_G_PROJECT, P_REGION, CK_INT, CKF_REQ, INVAL,
	  3, INT32_MAX, NULL, F(conf_project, min_nr_regions), NOHAS },
	{ "max_nr_regions", CONF_G_PROJECT, P_REGION, CK_INT, CKF_REQ, INVAL,
	  3, INT32_MAX, NULL, F(conf_project, max_nr_regions), NOHAS },
	{ "sysmem_threshold", CONF_G_PROJECT, P_ALL, CK_INT, 0, INVAL,
	  0, 100, NULL, F(conf_project, sysmem_threshold),
	  H(conf_project, has_sysmem_threshold) },
	{ "swapcache_high_wmark", CONF_G_PROJECT, P_ALL, CK_INT, 0, INVAL,
	  1, 100, NULL, F(conf_project, swapcache_high_wmark), NOHAS },
	{ "swapcache_low_wmark", CONF_G_PROJECT, P_ALL, CK_INT, 0, INVAL,
	  1, 100, NULL, F(conf_project, swapcache_low_wmark), NOHAS },

	{ "project", CONF_G_ENGINE, E_ALL, CK_STR, CKF_REQ | CKF_ID, INVAL,
	  1, CONF_NAME_MAX, NULL, F(conf_engine, project), NOHAS },
	{ "name", CONF_G_ENGINE, E_ALL, CK_ENGTYPE, CKF_REQ | CKF_ID, INTER,
	  0, 0, engine_types, F(conf_engine, name), NOHAS },
	{ "eng_name", CONF_G_ENGINE, E(THIRDPARTY), CK_STR, CKF_REQ | CKF_ID,
	  INVAL, 1, CONF_NAME_MAX, NULL, F(conf_engine, eng_name), NOHAS },
	{ "node_pair", CONF_G_ENGINE, E(CSLIDE), CK_NODEPAIR, CKF_REQ, INTER,
	  0, 0, NULL, NOSTORE, 0, NOHAS },
	{ "hot_threshold", CONF_G_ENGINE, E(CSLIDE), CK_INT, CKF_REQ, INTER,
	  0, INT32_MAX, NULL, F(conf_engine, hot_threshold), NOHAS },
	{ "node_mig_quota", CONF_G_ENGINE, E(CSLIDE), CK_INT, CKF_REQ, INTER,
	  0, INT32_MAX, NULL, F(conf_engine, node_mig_quota), NOHAS },
	{ "node_hot_reserve", CONF_G_ENGINE, E(CSLIDE), CK_INT, CKF_REQ, INTER,
	  0, INT32_MAX, NULL, F(conf_engine, node_hot_reserve), NOHAS },
	{ "sample_period", CONF_G_ENGINE, E(CSLIDE), CK_INT, 0, INTER,
	  0, INT32_MAX, NULL, F(conf_engine, sample_period), NOHAS },
	{ "vma_updata_rate", CONF_G_ENGINE, E(CSLIDE), CK_INT, CKF_ONE, INTER,
	  0, INT32_MAX, NULL, F(conf_engine, vma_updata_rate), NOHAS },
	{ "cpu_set_size", CONF_G_ENGINE, E(CSLIDE), CK_INT, CKF_ONE, INTER,
	  0, INT32_MAX, NULL, F(conf_engine, cpu_set_size), NOHAS },
	{ "cooling_interval", CONF_G_ENGINE, E(CSLIDE), CK_INT, 0, INTER,
	  0, INT32_MAX, NULL, F(conf_engine, cooling_interval), NOHAS },
	{ "min_size", CONF_G_ENGINE, E(DAMON), CK_INT, CKF_REQ, INTER,
	  0, INT64_MAX, NULL, F(conf_engine, min_size), NOHAS },
	{ "max_size", CONF_G_ENGINE, E(DAMON), CK_INT, CKF_REQ, INTER,
	  0, INT64_MAX, NULL, F(conf_engine, max_size), NOHAS },
	{ "min_acc", CONF_G_ENGINE, E(DAMON), CK_INT, CKF_REQ, INTER,
	  0, UINT32_MAX, NULL, F(conf_engine, min_acc), NOHAS },
	{ "max_acc", CONF_G_ENGINE, E(DAMON), CK_INT, CKF_REQ, INTER,
	  0, UINT32_MAX, NULL, F(conf_engine, max_acc), NOHAS },
	{ "min_age", CONF_G_ENGINE, E(DAMON), CK_INT, CKF_REQ, INTER,
	  0, UINT32_MAX, NULL, F(conf_engine, min_age), NOHAS },
	{ "max_age", CONF_G_ENGINE, E(DAMON), CK_INT, CKF_REQ, INTER,
	  0, UINT32_MAX, NULL, F(conf_engine, max_age), NOHAS },
	{ "action", CONF_G_ENGINE, E(DAMON), CK_CHOICE, CKF_REQ, INTER,
	  0, 0, damon_actions, F(conf_engine, action), NOHAS },
	{ "libname", CONF_G_ENGINE, E(THIRDPARTY), CK_STR, CKF_REQ, INTER,
	  1, 4095, NULL, F(conf_engine, libname), NOHAS },
	{ "ops_name", CONF_G_ENGINE, E(THIRDPARTY), CK_STR, CKF_REQ, INTER,
	  1, 255, NULL, F(conf_engine, ops_name), NOHAS },
	{ "command", CONF_G_ENGINE, E(EXEC), CK_STR, CKF_REQ, INTER,
	  1, 4095, NULL, F(conf_engine, command), NOHAS },

	{ "project", CONF_G_TASK, E_ALL, CK_STR, CKF_REQ | CKF_ID, INVAL,
	  1, CONF_NAME_MAX, NULL, F(conf_task, project), NOHAS },
	{ "engine", CONF_G_TASK, E_ALL, CK_STR, CKF_REQ | CKF_ID, INVAL,
	  1, CONF_NAME_MAX, NULL, F(conf_task, engine), NOHAS },
	{ "name", CONF_G_TASK, E_ALL, CK_STR, CKF_REQ | CKF_ID, INVAL,
	  1, CONF_NAME_MAX, NULL, F(conf_task, name), NOHAS },
	{ "type", CONF_G_TASK, E_ALL, CK_CHOICE, CKF_REQ, INTER,
	  0, 0, target_types, F(conf_task, type), NOHAS },
	{ "value", CONF_G_TASK, E_ALL, CK_STR, CKF_REQ, INTER,
	  1, CONF_VALUE_MAX, NULL, F(conf_task, value), NOHAS },
	{ "swap_flag", CONF_G_TASK, E_ALL, CK_YESNO, 0, INTER,
	  0, 0, NULL, F(conf_task, swap_flag), NOHAS },
	{ "max_threads", CONF_G_TASK, E_ALL, CK_INT, CKF_ONE, INTER,
	  INT32_MIN, INT32_MAX, NULL, F(conf_task, max_threads), NOHAS },
	{ "T", CONF_G_TASK, E(SLIDE), CK_INT, CKF_REQ, INTER,
	  0, 3 * 120, NULL, F(conf_task, T), NOHAS },
	{ "swap_threshold", CONF_G_TASK, E(SLIDE), CK_GIB, 0, INTER,
	  0, 0, NULL, F(conf_task, swap_threshold_gib),
	  H(conf_task, has_swap_threshold) },
	{ "dram_percent", CONF_G_TASK, E(SLIDE), CK_INT, CKF_OFF, INTER,
	  1, 100, NULL, F(conf_task, dram_percent), NOHAS },
	{ "sample_period", CONF_G_TASK, E(SLIDE), CK_INT, 0, INTER,
	  1, INT32_MAX, NULL, F(conf_task, sample_period),
	  H(conf_task, has_pmu) },
	{ "vma_updata_rate", CONF_G_TASK, E(SLIDE), CK_INT, CKF_ONE, INTER,
	  INT32_MIN, INT32_MAX, NULL, F(conf_task, vma_updata_rate), NOHAS },
	{ "cpu_set_size", CONF_G_TASK, E(SLIDE), CK_INT, CKF_ONE, INTER,
	  INT32_MIN, INT32_MAX, NULL, F(conf_task, cpu_set_size), NOHAS },
	{ "vm_flags", CONF_G_TASK, E(CSLIDE), CK_CHOICE, CKF_REQ, INTER,
	  0, 0, vm_flags_ht, NOSTORE, 0, NOHAS },
	{ "anon_only", CONF_G_TASK, E(CSLIDE), CK_YESNO, CKF_REQ, INTER,
	  0, 0, NULL, F(conf_task, anon_only), NOHAS },
	{ "ign_host", CONF_G_TASK, E(CSLIDE), CK_YESNO, CKF_REQ, INTER,
	  0, 0, NULL, F(conf_task, ign_host), NOHAS },
	{ "Sock", CONF_G_TASK, E(MEMDCD), CK_STR, CKF_REQ, INTER,
	  1, CONF_SOCK_MAX, NULL, F(conf_task, sock), NOHAS },
	{ "cg_dir", CONF_G_TASK, E(PSI), CK_STR, CKF_REQ, INTER,
	  1, CONF_CG_DIR_MAX, NULL, F(conf_task, cg_dir), NOHAS },
	{ "pressure", CONF_G_TASK, E(PSI), CK_DOUBLE, 0, INTER,
	  0, 0, NULL, F(conf_task, pressure), NOHAS },
	{ "reclaim_rate", CONF_G_TASK, E(PSI), CK_DOUBLE, 0, INTER,
	  0, 0, NULL, F(conf_task, reclaim_rate), NOHAS },
	{ "reclaim_rate_max", CONF_G_TASK, E(PSI), CK_DOUBLE, 0, INTER,
	  0, 0, NULL, F(conf_task, reclaim_rate_max), NOHAS },
	{ "reclaim_rate_min", CONF_G_TASK, E(PSI), CK_DOUBLE, 0, INTER,
	  0, 0, NULL, F(conf_task, reclaim_rate_min), NOHAS },
	{ "limit_min_ratio", CONF_G_TASK, E(PSI), CK_DOUBLE, 0, INTER,
	  0, 0, NULL, F(conf_task, limit_min_ratio), NOHAS },
	{ "limit_min_bytes", CONF_G_TASK, E(PSI), CK_U64, 0, INTER,
	  0, 0, NULL, F(conf_task, limit_min_bytes), NOHAS },
	{ "reclaim_max_bytes", CONF_G_TASK, E(PSI), CK_U64, 0, INTER,
	  0, 0, NULL, F(conf_task, reclaim_max_bytes), NOHAS },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *
conf_engine_type_name(enum conf_engine_type t)
{
	return (unsigned)t < CONF_ENG_NTYPES ? engine_types[t] : "?";
}

int
conf_engine_type_from_name(const char *s)
{
	int i;

	for (i = 0; engine_types[i] != NULL; i++)
		if (strcmp(engine_types[i], s) == 0)
			return i;
	return -1;
}

const char *
conf_scan_type_name(enum conf_scan_type t)
{
	return (unsigned)t <= CONF_SCAN_PSI ? scan_types[t] : "?";
}

const char *
conf_damon_action_name(enum conf_damon_action a)
{
	return (unsigned)a <= CONF_DAMON_STAT ? damon_actions[a] : "?";
}

/* "key 'K' in [G]: " context for a message. */
static int
kerr(struct conf_ctx *c, const struct ckey *k, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
kerr(struct conf_ctx *c, const struct ckey *k, int line, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return conf_errf(c, k->reply, line, "key '%s' in [%s]: %s", k->name,
	    conf_gkind_name(k->group), msg);
}

static const struct conf_kv *
find_kv(const struct conf_raw_group *rg, const char *key)
{
	size_t i;

	for (i = 0; i < rg->g.nkv; i++)
		if (strcmp(rg->g.kv[i].key, key) == 0)
			return &rg->g.kv[i];
	return NULL;
}

/* GLib's int64 grammar; 0 ok, -1 not a number, -2 beyond int64. */
static int
parse_i64(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, lim;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (*s < '0' || *s > '9')
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (lim - d) / 10) {
			while (*s >= '0' && *s <= '9')
				s++;
			return *s ? -1 : -2;
		}
		v = v * 10 + d;
	}
	if (*s)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Plain unsigned decimal (psi byte counts); 0 ok, -1 bad, -2 too big. */
static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	if (*s)
		return -1;
	*out = v;
	return 0;
}

/* The string value of kv: unescaped for INI, UTF-8 checked. */
static char *
string_value(struct conf_ctx *c, const struct conf_raw_group *rg,
    const struct ckey *k, const struct conf_kv *kv)
{
	const char *why = NULL;
	char *s;

	if (!conf_utf8_valid(kv->value, strlen(kv->value))) {
		kerr(c, k, kv->line, "value is not valid UTF-8");
		return NULL;
	}
	if (!rg->ini)
		s = strdup(kv->value);
	else
		s = conf_ini_unescape(kv->value, &why);
	if (s == NULL)
		kerr(c, k, kv->line, "%s", why ? why : "out of memory");
	return s;
}

static const char *
range_str(const struct ckey *k, char *buf, size_t n)
{
	snprintf(buf, n, "%" PRId64 "..%" PRId64, k->min, k->max);
	return buf;
}

static void
store_int(const struct ckey *k, void *base, int64_t v)
{
	char *p = (char *)base + k->off;

	if (k->size == 8) {
		memcpy(p, &v, 8);
	} else if (k->max > INT32_MAX) {
		uint32_t u = (uint32_t)v;

		memcpy(p, &u, 4);
	} else {
		int32_t i = (int32_t)v;

		memcpy(p, &i, 4);
	}
}

static int
apply_int(struct conf_ctx *c, const struct ckey *k, const struct conf_kv *kv,
    void *base)
{
	char r[64];
	int64_t v = 0;
	int rc = parse_i64(kv->value, &v);

	if (rc == -1)
		return kerr(c, k, kv->line, "'%s' is not an integer (allowed %s)",
		    kv->value, range_str(k, r, sizeof(r)));
	if (k->flags & CKF_OFF) {
		/* The original turns the feature off instead of failing. */
		if (rc == -2 || v < k->min || v > k->max)
			v = 0;
		store_int(k, base, v);
		return 0;
	}
	if (rc == -2 || v < k->min || v > k->max)
		return kerr(c, k, kv->line, "%s is out of range %s", kv->value,
		    range_str(k, r, sizeof(r)));
	if ((k->flags & CKF_ONE) && v <= 0)
		v = 1;
	store_int(k, base, v);
	return 0;
}

/* "hot,cold;hot,cold": blanks also separate; every node 0..2n-1 once. */
static int
apply_node_pair(struct conf_ctx *c, const struct ckey *k,
    const struct conf_kv *kv, const char *s, struct conf_engine *eng)
{
	size_t n = 0, cap = 0, i;
	struct conf_node_pair *pairs = NULL;
	const char *p = s;
	unsigned char *seen = NULL;

	for (;;) {
		long v[2];
		int j;

		while (*p == ';' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (j = 0; j < 2; j++) {
			char *end;

			if (*p < '0' || *p > '9')
				goto bad;
			errno = 0;
			v[j] = strtol(p, &end, 10);
			if (errno || v[j] > 4095)
				goto bad;
			p = end;
			if (j == 0 && *p++ != ',')
				goto bad;
		}
		if (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t')
			goto bad;
		if (n == cap) {
			struct conf_node_pair *np;

			cap = cap ? cap * 2 : 4;
			np = realloc(pairs, cap * sizeof(*np));
			if (np == NULL)
				goto bad;
			pairs = np;
		}
		pairs[n].hot = (int)v[0];
		pairs[n].cold = (int)v[1];
		n++;
	}
	if (n == 0)
		goto bad;
	seen = calloc(2 * n, 1);
	if (seen == NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		int nodes[2] = { pairs[i].hot, pairs[i].cold }, j;

		for (j = 0; j < 2; j++) {
			if ((size_t)nodes[j] >= 2 * n || seen[nodes[j]]) {
				free(seen);
				free(pairs);
				return kerr(c, k, kv->line, "'%s': every node "
				    "0..%zu must appear exactly once", s,
				    2 * n - 1);
			}
			seen[nodes[j]] = 1;
		}
	}
	free(seen);
	eng->pairs = pairs;
	eng->npairs = n;
	return 0;
bad:
	free(pairs);
	return kerr(c, k, kv->line, "'%s' is not a list of hot,cold node "
	    "pairs separated by ';'", s);
}

/* Parse and store one present key. */
static int
apply_kv(struct conf_ctx *c, const struct conf_raw_group *rg,
    const struct ckey *k, const struct conf_kv *kv, void *base)
{
	char *p = (char *)base + (k->off == NOSTORE ? 0 : k->off);
	char *s = NULL;
	int rc = 0;

	if (k->type == CK_INT)
		rc = apply_int(c, k, kv, base);
	else if (k->type == CK_DOUBLE) {
		char *end;
		double d;

		errno = 0;
		d = strtod(kv->value, &end);
		if (kv->value[0] == '\0' || *end != '\0' || !isfinite(d) ||
		    !(d > 0))
			return kerr(c, k, kv->line, "'%s' is not a number > 0",
			    kv->value);
		memcpy(p, &d, sizeof(d));
	} else {
		s = string_value(c, rg, k, kv);
		if (s == NULL)
			return -1;
	}
	switch (k->type) {
	case CK_INT:
	case CK_DOUBLE:
		break;
	case CK_STR: {
		size_t len = strlen(s), i;

		if ((int64_t)len < k->min || (int64_t)len > k->max) {
			rc = kerr(c, k, kv->line, "'%s' is %zu bytes long, "
			    "allowed %" PRId64 "..%" PRId64, s, len, k->min,
			    k->max);
			break;
		}
		/* Task values name a comm or a pid: the original's charset. */
		if (k->group == CONF_G_TASK && strcmp(k->name, "value") == 0) {
			for (i = 0; i < len; i++) {
				char ch = s[i];

				if (!((ch >= 'a' && ch <= 'z') ||
				    (ch >= 'A' && ch <= 'Z') ||
				    (ch >= '0' && ch <= '9') || ch == '.' ||
				    ch == '%' || ch == '/' || ch == '_' ||
				    ch == '-')) {
					rc = kerr(c, k, kv->line, "'%s' may "
					    "only hold A-Z a-z 0-9 . %% / _ -",
					    s);
					break;
				}
			}
			if (rc < 0)
				break;
		}
		free(*(char **)p);
		*(char **)p = s;
		s = NULL;
		break;
	}
	case CK_YESNO:
		if (strcmp(s, "yes") != 0 && strcmp(s, "no") != 0) {
			rc = kerr(c, k, kv->line, "'%s' must be yes or no", s);
			break;
		}
		*(bool *)p = s[0] == 'y';
		break;
	case CK_U64: {
		uint64_t u = 0;
		int r = parse_u64(s, &u);

		if (r == -2)
			rc = kerr(c, k, kv->line, "%s is out of range "
			    "0..18446744073709551615", s);
		else if (r < 0)
			rc = kerr(c, k, kv->line, "'%s' is not an unsigned "
			    "decimal integer", s);
		else
			memcpy(p, &u, sizeof(u));
		break;
	}
	case CK_CHOICE:
	case CK_ENGTYPE: {
		char list[128] = "";
		int i;

		for (i = 0; k->choices[i] != NULL; i++) {
			if (strcmp(k->choices[i], s) == 0)
				break;
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
			    "%s%s", i ? ", " : "", k->choices[i]);
		}
		if (k->choices[i] == NULL) {
			rc = kerr(c, k, kv->line, "'%s' is not one of %s", s,
			    list);
			break;
		}
		if (k->type == CK_ENGTYPE) {
			struct conf_engine *eng = base;

			eng->type = (enum conf_engine_type)i;
			free(eng->name);
			eng->name = s;
			s = NULL;
		} else if (k->off != NOSTORE) {
			int v = i;

			memcpy(p, &v, sizeof(v));
		}
		break;
	}
	case CK_GIB: {
		size_t len = strlen(s), i;
		uint64_t g = 0;

		if (len < 1 || len > 10 || (s[len - 1] != 'g' &&
		    s[len - 1] != 'G'))
			goto bad_gib;
		for (i = 0; i + 1 < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				goto bad_gib;
			g = g * 10 + (uint64_t)(s[i] - '0');
		}
		memcpy(p, &g, sizeof(g));
		break;
bad_gib:
		rc = kerr(c, k, kv->line, "'%s' must be 0 to 9 digits followed "
		    "by g or G (GiB)", s);
		break;
	}
	case CK_NODEPAIR:
		rc = apply_node_pair(c, k, kv, s, base);
		break;
	}
	free(s);
	if (rc == 0 && k->has != NOHAS)
		*(bool *)((char *)base + k->has) = true;
	return rc;
}

static const char *
scope_word(const struct ckey *k, unsigned scope)
{
	int i;

	if (k->group == CONF_G_PROJECT) {
		if ((k->scope & P_ALL) == P_ALL)
			return NULL;
		for (i = 0; i <= CONF_SCAN_PSI; i++)
			if (scope & (1u << i))
				return scan_types[i];
	} else {
		if ((k->scope & E_ALL) == E_ALL)
			return NULL;
		for (i = 0; i < CONF_ENG_NTYPES; i++)
			if (scope & (1u << i))
				return engine_types[i];
	}
	return NULL;
}

/* Apply one key (present or required-and-missing) of the table. */
static int
apply_key(struct conf_ctx *c, const struct conf_raw_group *rg,
    const struct ckey *k, unsigned scope, void *base)
{
	const struct conf_kv *kv = find_kv(rg, k->name);
	const char *w;

	if (kv != NULL)
		return apply_kv(c, rg, k, kv, base);
	if (!(k->flags & CKF_REQ))
		return 0;
	w = scope_word(k, scope);
	if (k->flags & CKF_ID)          /* missing identity: INVAL */
		return conf_errf(c, CONF_REPLY_INVAL, rg->g.line,
		    "key '%s' in [%s]: required key is missing", k->name,
		    conf_gkind_name(k->group));
	if (w == NULL)
		return kerr(c, k, rg->g.line, "required key is missing");
	return kerr(c, k, rg->g.line, "required key is missing (%s=%s)",
	    k->group == CONF_G_PROJECT ? "scan_type" :
	    k->group == CONF_G_ENGINE ? "name" : "engine", w);
}

static const struct ckey *
lookup(enum conf_gkind g, const char *name, unsigned scope)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].group == g && (keys[i].scope & scope) &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
apply_named(struct conf_ctx *c, const struct conf_raw_group *rg,
    const char *name, unsigned scope, void *base)
{
	return apply_key(c, rg, lookup(rg->kind, name, scope), scope, base);
}

/* Apply every non-early key in scope, in table order. */
static int
apply_rest(struct conf_ctx *c, const struct conf_raw_group *rg,
    unsigned scope, void *base)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];

		if (k->group != rg->kind || !(k->scope & scope) ||
		    (k->flags & (CKF_ID | CKF_PRE)))
			continue;
		if (apply_key(c, rg, k, scope, base) < 0)
			return -1;
	}
	return 0;
}

/* Keys no table entry in scope claims: the plugin's private keys. */
static int
collect_priv(struct conf_ctx *c, const struct conf_raw_group *rg,
    unsigned scope, struct conf_kv **out, size_t *nout)
{
	size_t i;

	*out = calloc(rg->g.nkv ? rg->g.nkv : 1, sizeof(**out));
	if (*out == NULL)
		return conf_errf(c, CONF_REPLY_INTER_ERR, rg->g.line,
		    "out of memory");
	for (i = 0; i < rg->g.nkv; i++) {
		const struct conf_kv *kv = &rg->g.kv[i];
		struct conf_kv *d = &(*out)[*nout];
		const char *why = NULL;

		if (lookup(rg->kind, kv->key, scope) != NULL)
			continue;
		d->key = strdup(kv->key);
		/* An invalid escape only matters if the plugin asks: keep raw. */
		d->value = rg->ini ? conf_ini_unescape(kv->value, &why) : NULL;
		if (d->value == NULL)
			d->value = strdup(kv->value);
		d->line = kv->line;
		(*nout)++;
		if (d->key == NULL || d->value == NULL)
			return conf_errf(c, CONF_REPLY_INTER_ERR, kv->line,
			    "out of memory");
	}
	return 0;
}

/* The group's kv list moves into the model (lines for later messages). */
static void
take_group(struct conf_raw_group *rg, struct conf_group *g)
{
	*g = rg->g;
	rg->g.kv = NULL;
	rg->g.nkv = 0;
	rg->cap = 0;
}

int
conf_build_project(struct conf_ctx *c, struct conf_raw_group *rg,
    struct conf_project *p)
{
	const struct conf_kv *hi, *lo;

	p->g.line = rg->g.line;
	if (apply_named(c, rg, "name", P_ALL, p) < 0)
		return -1;
	if (!(c->flags & CONF_IDENTITY_ONLY)) {
		if (apply_named(c, rg, "scan_type", P_ALL, p) < 0 ||
		    apply_rest(c, rg, 1u << p->scan_type, p) < 0)
			return -1;
		hi = find_kv(rg, "swapcache_high_wmark");
		lo = find_kv(rg, "swapcache_low_wmark");
		if ((hi == NULL) != (lo == NULL))
			return conf_errf(c, CONF_REPLY_INVAL, (hi ? hi : lo)->line,
			    "key '%s' in [project]: set both swapcache_high_wmark"
			    " and swapcache_low_wmark, or neither",
			    (hi ? hi : lo)->key);
		if (hi != NULL && p->swapcache_high_wmark <= p->swapcache_low_wmark)
			return conf_errf(c, CONF_REPLY_INVAL, hi->line,
			    "key 'swapcache_high_wmark' in [project]: %d must be "
			    "greater than swapcache_low_wmark (%d)",
			    p->swapcache_high_wmark, p->swapcache_low_wmark);
		p->has_swapcache_wmark = hi != NULL;
		if (p->scan_type == CONF_SCAN_REGION &&
		    p->min_nr_regions >= p->max_nr_regions)
			return conf_errf(c, CONF_REPLY_INVAL,
			    find_kv(rg, "max_nr_regions")->line,
			    "key 'max_nr_regions' in [project]: %" PRId64 " must "
			    "be greater than min_nr_regions (%" PRId64 ")",
			    p->max_nr_regions, p->min_nr_regions);
	}
	take_group(rg, &p->g);
	return 0;
}

/* damon: each min must not exceed its max. */
static int
check_min_max(struct conf_ctx *c, const struct conf_raw_group *rg,
    const char *what, uint64_t min, uint64_t max)
{
	char key[16];

	if (min <= max)
		return 0;
	snprintf(key, sizeof(key), "min_%s", what);
	return conf_errf(c, CONF_REPLY_INTER_ERR, find_kv(rg, key)->line,
	    "key '%s' in [engine]: %" PRIu64 " is greater than max_%s (%"
	    PRIu64 ")", key, min, what, max);
}

int
conf_build_engine(struct conf_ctx *c, struct conf_raw_group *rg,
    struct conf_engine *eng)
{
	unsigned scope;

	eng->g.line = rg->g.line;
	eng->vma_updata_rate = eng->cpu_set_size = 1;
	if (apply_named(c, rg, "project", E_ALL, eng) < 0 ||
	    apply_named(c, rg, "name", E_ALL, eng) < 0)
		return -1;
	scope = 1u << eng->type;
	if (eng->type == CONF_ENG_THIRDPARTY &&
	    apply_named(c, rg, "eng_name", scope, eng) < 0)
		return -1;
	/* Tasks name their engine; a plugin named "slide" would be ambiguous. */
	if (eng->type == CONF_ENG_THIRDPARTY &&
	    conf_engine_type_from_name(eng->eng_name) >= 0)
		return conf_errf(c, CONF_REPLY_INVAL,
		    find_kv(rg, "eng_name")->line, "key 'eng_name' in [engine]: "
		    "'%s' is the name of an engine type", eng->eng_name);
	if (!(c->flags & CONF_IDENTITY_ONLY)) {
		if (apply_rest(c, rg, scope, eng) < 0)
			return -1;
		if (eng->type == CONF_ENG_CSLIDE) {
			static const char *const pmu[] = { "sample_period",
				"vma_updata_rate", "cpu_set_size",
				"cooling_interval" };
			const struct conf_kv *first = NULL;
			int i, n = 0;

			for (i = 0; i < 4; i++)
				if (find_kv(rg, pmu[i]) != NULL) {
					n++;
					first = first ? first : find_kv(rg, pmu[i]);
				}
			for (i = 0; n > 0 && n < 4; i++)
				if (find_kv(rg, pmu[i]) == NULL)
					return conf_errf(c, CONF_REPLY_INTER_ERR,
					    first->line, "key '%s' in [engine]: "
					    "required with '%s' (the PMU keys "
					    "go together)", pmu[i], first->key);
			eng->has_pmu = n == 4;
		}
		if (eng->type == CONF_ENG_DAMON &&
		    (check_min_max(c, rg, "size", eng->min_size, eng->max_size) < 0 ||
		    check_min_max(c, rg, "acc", eng->min_acc, eng->max_acc) < 0 ||
		    check_min_max(c, rg, "age", eng->min_age, eng->max_age) < 0))
			return -1;
		if (eng->type == CONF_ENG_THIRDPARTY &&
		    collect_priv(c, rg, scope, &eng->priv, &eng->npriv) < 0)
			return -1;
	}
	take_group(rg, &eng->g);
	return 0;
}

int
conf_build_task(struct conf_ctx *c, struct conf_raw_group *rg,
    struct conf_task *t)
{
	unsigned scope;
	int et;

	t->g.line = rg->g.line;
	t->max_threads = 1;
	t->vma_updata_rate = t->cpu_set_size = 1;
	t->pressure = 0.1;
	t->reclaim_rate = 0.05;
	t->reclaim_rate_max = 0.5;
	t->reclaim_rate_min = 0.01;
	t->limit_min_ratio = 0.1;
	t->reclaim_max_bytes = 1ull << 30;
	if (apply_named(c, rg, "project", E_ALL, t) < 0 ||
	    apply_named(c, rg, "engine", E_ALL, t) < 0 ||
	    apply_named(c, rg, "name", E_ALL, t) < 0)
		return -1;
	/* Built-in engines are named by type; any other name is a plugin's. */
	et = conf_engine_type_from_name(t->engine);
	t->engine_type = et < 0 ? CONF_ENG_THIRDPARTY : (enum conf_engine_type)et;
	scope = 1u << t->engine_type;
	if (!(c->flags & CONF_IDENTITY_ONLY)) {
		if (apply_rest(c, rg, scope, t) < 0)
			return -1;
		if (t->engine_type == CONF_ENG_THIRDPARTY &&
		    collect_priv(c, rg, scope, &t->priv, &t->npriv) < 0)
			return -1;
	}
	take_group(rg, &t->g);
	return 0;
}

void
conf_kv_free(struct conf_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void
conf_project_clear(struct conf_project *p)
{
	conf_kv_free(p->g.kv, p->g.nkv);
	free(p->name);
}

void
conf_engine_clear(struct conf_engine *eng)
{
	conf_kv_free(eng->g.kv, eng->g.nkv);
	conf_kv_free(eng->priv, eng->npriv);
	free(eng->project);
	free(eng->name);
	free(eng->eng_name);
	free(eng->pairs);
	free(eng->libname);
	free(eng->ops_name);
	free(eng->command);
}

void
conf_task_clear(struct conf_task *t)
{
	conf_kv_free(t->g.kv, t->g.nkv);
	conf_kv_free(t->priv, t->npriv);
	free(t->project);
	free(t->engine);
	free(t->name);
	free(t->value);
	free(t->sock);
	free(t->cg_dir);
}
