/* SPDX-License-Identifier: MIT */
/*
 * conf-raw.h - private to lib/conf*.c: the untyped groups both syntaxes
 * produce, and the key table that turns them into the typed model.
 *
 * conf-ini.c and conf-yaml.c only know syntax: they yield a list of raw
 * groups (kind, line, key/value/line triples). conf.c applies the key table
 * of conf-keys.c to each, so both formats share every check and message.
 */
#ifndef ETMEM_CONF_RAW_H
#define ETMEM_CONF_RAW_H

#include "conf.h"

#include <stdarg.h>

struct err;

enum conf_gkind { CONF_G_PROJECT, CONF_G_ENGINE, CONF_G_TASK };

/* Bounds that keep a 10 MiB file from costing quadratic time. */
#define CONF_MAX_GROUPS 4096    /* groups (YAML list items) in a file */
#define CONF_MAX_KEYS 4096      /* distinct keys in one group */

struct conf_raw_group {
	enum conf_gkind kind;
	bool ini;               /* values still need GKeyFile unescaping */
	struct conf_group g;    /* kv owned here until moved into the model */
	size_t cap;
	uint32_t *slots;        /* key hash -> kv index + 1 (0 = empty) */
	size_t nslots;          /* power of two, > 2 * nkv */
};

struct conf_raw {
	struct conf_raw_group *groups;
	size_t n, cap;
};

/* What a syntax error reports: the original gave INTER_ERR for those. */
struct conf_ctx {
	const char *name;
	struct err *e;
	enum conf_reply reply;
	unsigned flags;
};

/* conf.c */
int conf_errf(struct conf_ctx *c, enum conf_reply r, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
struct conf_raw_group *conf_raw_add(struct conf_raw *raw, enum conf_gkind k,
    bool ini, int line);
/*
 * Set key (last occurrence wins, line updated). 0; -1 out of memory; -2
 * more than CONF_MAX_KEYS distinct keys. Hashed: a 10 MiB file of repeated
 * keys stays linear.
 */
int conf_raw_set(struct conf_raw_group *rg, const char *key, size_t klen,
    const char *val, size_t vlen, int line);
void conf_raw_free(struct conf_raw *raw);
void conf_kv_free(struct conf_kv *kv, size_t n);
const char *conf_gkind_name(enum conf_gkind k);

/* conf-ini.c */
int conf_ini_parse(struct conf_ctx *c, const char *buf, size_t len,
    struct conf_raw *raw);
/* GKeyFile string unescaping (\s \n \t \r \\); NULL + *why on a bad escape. */
char *conf_ini_unescape(const char *s, const char **why);
bool conf_utf8_valid(const char *s, size_t len);

/* conf-yaml.c */
int conf_yaml_parse(struct conf_ctx *c, const char *buf, size_t len,
    struct conf_raw *raw);

/* conf-keys.c */
int conf_build_project(struct conf_ctx *c, struct conf_raw_group *rg,
    struct conf_project *p);
int conf_build_engine(struct conf_ctx *c, struct conf_raw_group *rg,
    struct conf_engine *eng);
int conf_build_task(struct conf_ctx *c, struct conf_raw_group *rg,
    struct conf_task *t);
void conf_project_clear(struct conf_project *p);
void conf_engine_clear(struct conf_engine *eng);
void conf_task_clear(struct conf_task *t);

/* conf-print.c */
void conf_print_project(const struct conf_project *p, FILE *fp);
void conf_print_engine(const struct conf_engine *eng, FILE *fp);
void conf_print_task(const struct conf_task *t, FILE *fp);

#endif /* ETMEM_CONF_RAW_H */
