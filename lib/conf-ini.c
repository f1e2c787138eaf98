/* SPDX-License-Identifier: MIT */
/*
 * conf-ini.c - the original's INI dialect: GLib GKeyFile syntax, as
 * g_key_file_load_from_file(G_KEY_FILE_NONE) accepts it (cli-contract 4.2),
 * written without GLib.
 *
 * Lines end at '\n' (a '\r' before it is dropped). A line is blank, a
 * comment (first non-blank char '#'), a group header "[name]" (blanks/tabs
 * may follow the ']'), or "key=value": leading blanks and blanks around '='
 * go, trailing blanks of the value stay. Anything else - a ';' comment, a
 * key before the first group, a line without '=' - is a syntax error.
 * Duplicate groups merge and a repeated key keeps its last value. Localised
 * keys (name[xx]) are syntax-checked and dropped. GLib's refusal of an
 * `Encoding` other than UTF-8 in the first group is not copied: the key
 * means nothing to etmem, and the canonical dump reorders groups, so the
 * rule would make a dump unreadable. Values are stored raw;
 * string keys are unescaped later (conf_ini_unescape), as GLib does only in
 * its string getter. Only [project], [engine] and [task] are kept.
 */
#include "conf-raw.h"

#include <stdlib.h>
#include <string.h>

/* g_ascii_isspace: space, \t, \n, \v, \f, \r. */
static bool
is_space(char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static bool
is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

/* g_utf8_validate: no overlongs, no surrogates, nothing above U+10FFFF. */
bool
conf_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p, n, cp, i;

		if (c < 0x80) {
			if (c == 0)
				return false;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n)
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		p += n + 1;
	}
	return true;
}

/* GKeyFile's value unescaping for string getters. */
char *
conf_ini_unescape(const char *s, const char **why)
{
	char *out = malloc(strlen(s) + 1), *q = out;

	if (out == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (; *s; s++) {
		if (*s != '\\') {
			*q++ = *s;
			continue;
		}
		switch (*++s) {
		case 's': *q++ = ' '; break;
		case 'n': *q++ = '\n'; break;
		case 't': *q++ = '\t'; break;
		case 'r': *q++ = '\r'; break;
		case '\\': *q++ = '\\'; break;
		case '\0':
			*why = "escape character at end of value";
			free(out);
			return NULL;
		default:
			*why = "invalid escape sequence";
			free(out);
			return NULL;
		}
	}
	*q = '\0';
	return out;
}

/* g_key_file_is_group_name: non-empty, no '[' ']' or control chars. */
static bool
group_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '[' || ch == ']' || ch < 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

/*
 * g_key_file_is_key_name: a non-empty name without '=' '[' ']' that neither
 * starts nor ends with a space, optionally followed by "[locale]" of
 * alnum and "-_.@". *locale tells whether the suffix was there.
 */
static bool
key_name_ok(const char *s, size_t n, bool *locale)
{
	size_t q = 0;

	*locale = false;
	while (q < n && s[q] != '=' && s[q] != '[' && s[q] != ']')
		q++;
	if (q == 0 || s[0] == ' ' || s[q - 1] == ' ')
		return false;
	if (q < n && s[q] == '[') {
		q++;
		while (q < n && (is_alnum(s[q]) || s[q] == '-' || s[q] == '_' ||
		    s[q] == '.' || s[q] == '@'))
			q++;
		if (q >= n || s[q] != ']')
			return false;
		q++;
		*locale = true;
	}
	return q == n;
}

static int
gkind_of(const char *s, size_t n, enum conf_gkind *k)
{
	static const char *const names[] = { "project", "engine", "task" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
			*k = (enum conf_gkind)i;
			return 0;
		}
	}
	return -1;
}

/* Parse one line (without its newline); *cur is the current group. */
static int
parse_line(struct conf_ctx *c, struct conf_raw *raw, const char *line,
    size_t len, int lineno, struct conf_raw_group **cur, int *ingroup)
{
	const char *eq, *kend, *v;
	bool locale;
	size_t i = 0;

	while (i < len && is_space(line[i]))
		i++;
	line += i;
	len -= i;
	if (len == 0 || line[0] == '#')
		return 0;
	if (line[0] == '[') {
		const char *close = memchr(line, ']', len);
		enum conf_gkind k;
		size_t j;

		if (close == NULL)
			goto bad_line;
		for (j = (size_t)(close - line) + 1; j < len; j++)
			if (line[j] != ' ' && line[j] != '\t')
				goto bad_line;
		if (!group_name_ok(line + 1, (size_t)(close - line) - 1))
			return conf_errf(c, CONF_REPLY_INTER_ERR, lineno,
			    "invalid group name '%.*s'",
			    (int)(close - line) - 1, line + 1);
		*ingroup = 1;
		*cur = NULL;
		if (gkind_of(line + 1, (size_t)(close - line) - 1, &k) == 0) {
			/* Duplicate groups merge into the first one. */
			for (j = 0; j < raw->n; j++)
				if (raw->groups[j].kind == k)
					*cur = &raw->groups[j];
			if (*cur == NULL) {
				*cur = conf_raw_add(raw, k, true, lineno);
				if (*cur == NULL)
					return conf_errf(c, CONF_REPLY_INTER_ERR,
					    lineno, "out of memory");
			}
		}
		return 0;
	}
	eq = memchr(line, '=', len);
	if (eq == NULL || eq == line)
		goto bad_line;
	if (!*ingroup)
		return conf_errf(c, CONF_REPLY_INTER_ERR, lineno,
		    "key '%.*s' before the first [group]", (int)(eq - line),
		    line);
	kend = eq;
	while (kend > line && is_space(kend[-1]))
		kend--;
	if (!key_name_ok(line, (size_t)(kend - line), &locale))
		return conf_errf(c, CONF_REPLY_INTER_ERR, lineno,
		    "invalid key name '%.*s'", (int)(kend - line), line);
	v = eq + 1;
	while (v < line + len && is_space(*v))
		v++;
	if (locale || *cur == NULL)
		return 0;
	switch (conf_raw_set(*cur, line, (size_t)(kend - line), v,
	    (size_t)(line + len - v), lineno)) {
	case 0:
		return 0;
	case -2:
		return conf_errf(c, CONF_REPLY_INTER_ERR, lineno, "key '%.*s': "
		    "more than %d keys in one group", (int)(kend - line), line,
		    CONF_MAX_KEYS);
	default:
		return conf_errf(c, CONF_REPLY_INTER_ERR, lineno,
		    "out of memory");
	}

bad_line:
	return conf_errf(c, CONF_REPLY_INTER_ERR, lineno,
	    "line is not a [group], key=value or # comment: '%.*s'",
	    len > 60 ? 60 : (int)len, line);
}

/* Parse buf into raw groups; -1 with the error in c on a syntax error. */
int
conf_ini_parse(struct conf_ctx *c, const char *buf, size_t len,
    struct conf_raw *raw)
{
	struct conf_raw_group *cur = NULL;
	int lineno = 0, ingroup = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, n = end - pos;

		lineno++;
		if (memchr(buf + pos, '\0', n) != NULL)
			return conf_errf(c, CONF_REPLY_INTER_ERR, lineno,
			    "NUL byte in line");
		if (nl != NULL && n > 0 && buf[end - 1] == '\r')
			n--;            /* as GLib: only a CR before the LF */
		if (parse_line(c, raw, buf + pos, n, lineno, &cur, &ingroup) < 0)
			return -1;
		pos = end + 1;
	}
	return 0;
}
