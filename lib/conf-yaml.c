/* SPDX-License-Identifier: MIT */
/*
 * conf-yaml.c - the YAML form of the configuration (libyaml), mapped onto
 * the same raw groups as the INI dialect (docs/CONFIG.md):
 *
 *   project: {name: p, scan_type: page, loop: 1, interval: 1, sleep: 1}
 *   engines:                  # or `engine:`; a mapping or a list of them
 *     - {project: p, name: slide}
 *   tasks:                    # or `task:`; a mapping or a list of them
 *     - {project: p, engine: slide, name: t, type: name, value: mysql, T: 1}
 *
 * Values must be scalars and are taken as text (no YAML 1.1 booleans: `yes`
 * stays "yes"); a plain `~`, `null` or empty value is the empty string.
 * Unlike INI, a duplicate key, an unknown top-level key, an alias or a
 * second document is an error: the YAML form is new, so nothing depends on
 * leniency there. libyaml's event API is used rather than its document
 * loader so that nothing deeper than our three levels is ever scanned.
 */
#include "conf-raw.h"

#include <string.h>

#include <yaml.h>

/*
 * Keys and values must be writable in the INI dialect too, so that both
 * forms describe one model: a key is what GKeyFile accepts as a key name,
 * and no control characters but tab, CR and newline (which INI escapes).
 */
static const char *
ini_unwritable(const char *key, const char *val)
{
	size_t n = strlen(key), i;

	if (n == 0 || key[0] == '#' || key[0] == ' ' || key[0] == '\t' ||
	    key[n - 1] == ' ' || key[n - 1] == '\t')
		return "not a valid key name";
	for (i = 0; i < n; i++)
		if (key[i] == '=' || key[i] == '[' || key[i] == ']' ||
		    (unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return "not a valid key name";
	for (i = 0; val[i]; i++)
		if (((unsigned char)val[i] < 0x20 && val[i] != '\t' &&
		    val[i] != '\n' && val[i] != '\r') || val[i] == 0x7f)
			return "control character in value";
	return NULL;
}

/* The parser and its current event. */
struct ystate {
	struct conf_ctx *c;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
};

static int
ev_line(const struct ystate *y)
{
	return (int)y->ev.start_mark.line + 1;
}

/* Advance to the next event; -1 (error reported) on a syntax error. */
static int
next(struct ystate *y)
{
	if (y->have_ev)
		yaml_event_delete(&y->ev);
	y->have_ev = false;
	if (!yaml_parser_parse(&y->parser, &y->ev))
		return conf_errf(y->c, CONF_REPLY_INTER_ERR,
		    (int)y->parser.problem_mark.line + 1, "YAML: %s%s%s%s",
		    y->parser.problem ? y->parser.problem : "syntax error",
		    y->parser.context ? " (" : "",
		    y->parser.context ? y->parser.context : "",
		    y->parser.context ? ")" : "");
	y->have_ev = true;
	if (y->ev.type == YAML_ALIAS_EVENT)
		return conf_errf(y->c, CONF_REPLY_INTER_ERR, ev_line(y),
		    "YAML aliases are not supported");
	return 0;
}

static bool
is_scalar(const struct ystate *y)
{
	return y->ev.type == YAML_SCALAR_EVENT;
}

/* The current scalar as text; YAML's null is "no value", like INI's `key=`. */
static const char *
scalar(const struct ystate *y)
{
	const char *s = (const char *)y->ev.data.scalar.value;

	if (y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0))
		return "";
	return s;
}

static bool
has_nul(const struct ystate *y)
{
	return strlen((const char *)y->ev.data.scalar.value) !=
	    y->ev.data.scalar.length;
}

/*
 * One group, the current event being its MAPPING_START: scalar keys to
 * scalar values. Depth never goes beyond this, which also keeps libyaml's
 * scanner (quadratic in flow nesting) from ever seeing deep input.
 */
static int
load_group(struct ystate *y, enum conf_gkind kind, struct conf_raw *raw)
{
	struct conf_ctx *c = y->c;
	struct conf_raw_group *rg;
	const char *gname = conf_gkind_name(kind);

	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
		    "[%s]: expected a mapping of keys to values", gname);
	if (raw->n >= CONF_MAX_GROUPS)
		return conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
		    "[%s]: more than %d groups in one file", gname,
		    CONF_MAX_GROUPS);
	rg = conf_raw_add(raw, kind, false, ev_line(y));
	if (rg == NULL)
		return conf_errf(c, CONF_REPLY_INTER_ERR, 0, "out of memory");
	for (;;) {
		char *key;
		int kline;
		size_t i;
		const char *vs, *why;

		if (next(y) < 0)
			return -1;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (!is_scalar(y) || has_nul(y))
			return conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
			    "[%s]: keys must be plain text", gname);
		kline = ev_line(y);
		key = strdup((const char *)y->ev.data.scalar.value);
		if (key == NULL)
			return conf_errf(c, CONF_REPLY_INTER_ERR, 0,
			    "out of memory");
		for (i = 0; i < rg->g.nkv; i++)
			if (strcmp(rg->g.kv[i].key, key) == 0) {
				conf_errf(c, CONF_REPLY_INTER_ERR, kline,
				    "key '%s' in [%s]: duplicate key (first at "
				    "line %d)", key, gname, rg->g.kv[i].line);
				free(key);
				return -1;
			}
		if (next(y) < 0) {
			free(key);
			return -1;
		}
		if (!is_scalar(y) || has_nul(y)) {
			conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
			    "key '%s' in [%s]: expected a single value", key,
			    gname);
			free(key);
			return -1;
		}
		vs = scalar(y);
		why = ini_unwritable(key, vs);
		if (why == NULL && rg->g.nkv >= CONF_MAX_KEYS)
			why = "more than 4096 keys in one group";
		if (why != NULL) {
			conf_errf(c, CONF_REPLY_INTER_ERR, kline,
			    "key '%s' in [%s]: %s", key, gname, why);
			free(key);
			return -1;
		}
		if (conf_raw_set(rg, key, strlen(key), vs, strlen(vs),
		    kline) < 0) {
			conf_errf(c, CONF_REPLY_INTER_ERR, kline, "key '%s' in "
			    "[%s]: out of memory", key, gname);
			free(key);
			return -1;
		}
		free(key);
	}
}

/* `engines:`/`tasks:` value: one mapping or a sequence of mappings. */
static int
load_groups(struct ystate *y, enum conf_gkind kind, struct conf_raw *raw)
{
	if (y->ev.type != YAML_SEQUENCE_START_EVENT)
		return load_group(y, kind, raw);
	for (;;) {
		if (next(y) < 0)
			return -1;
		if (y->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (load_group(y, kind, raw) < 0)
			return -1;
	}
}

/* The document's root, the current event being its first. */
static int
load_root(struct ystate *y, struct conf_raw *raw)
{
	static const struct {
		const char *name;
		enum conf_gkind kind;
		bool list;
	} tops[] = {
		{ "project", CONF_G_PROJECT, false },
		{ "engine", CONF_G_ENGINE, true },
		{ "engines", CONF_G_ENGINE, true },
		{ "task", CONF_G_TASK, true },
		{ "tasks", CONF_G_TASK, true },
	};
	struct conf_ctx *c = y->c;
	int seen[3] = { 0, 0, 0 };
	size_t i;

	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
		    "the top level must be a mapping with project, engines, "
		    "tasks");
	for (;;) {
		const char *ks;

		if (next(y) < 0)
			return -1;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (!is_scalar(y))
			return conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
			    "top-level keys must be plain text");
		ks = (const char *)y->ev.data.scalar.value;
		for (i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
			if (strcmp(tops[i].name, ks) == 0)
				break;
		if (i == sizeof(tops) / sizeof(tops[0]))
			return conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
			    "unknown top-level key '%.64s' (expected project, "
			    "engines, tasks)", ks);
		if (seen[tops[i].kind]++)
			return conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(y),
			    "'%s': %s given twice", tops[i].name,
			    conf_gkind_name(tops[i].kind));
		if (next(y) < 0)
			return -1;
		if (is_scalar(y) && scalar(y)[0] == '\0')
			continue;       /* `tasks:` with nothing under it */
		if (tops[i].list ? load_groups(y, tops[i].kind, raw) :
		    load_group(y, tops[i].kind, raw))
			return -1;
	}
}

int
conf_yaml_parse(struct conf_ctx *c, const char *buf, size_t len,
    struct conf_raw *raw)
{
	struct ystate y = { .c = c };
	int rc = -1;

	if (!yaml_parser_initialize(&y.parser))
		return conf_errf(c, CONF_REPLY_INTER_ERR, 0, "out of memory");
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)buf, len);
	if (next(&y) < 0 || next(&y) < 0)       /* STREAM_START, DOCUMENT_START */
		goto out;
	if (y.ev.type == YAML_STREAM_END_EVENT) {
		rc = 0;         /* empty: "no group" is reported by the caller */
		goto out;
	}
	if (next(&y) < 0 || load_root(&y, raw) < 0 || next(&y) < 0)
		goto out;
	/* A second document would be silently ignored: refuse it. */
	if (next(&y) < 0)
		goto out;
	if (y.ev.type != YAML_STREAM_END_EVENT) {
		conf_errf(c, CONF_REPLY_INTER_ERR, ev_line(&y),
		    "only one YAML document is allowed");
		goto out;
	}
	rc = 0;
out:
	if (y.have_ev)
		yaml_event_delete(&y.ev);
	yaml_parser_delete(&y.parser);
	return rc;
}
