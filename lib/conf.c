/* SPDX-License-Identifier: MIT */
/*
 * conf.c - load a configuration file: the original's file checks, format
 * detection, the two syntaxes into raw groups, the key table into a fresh
 * model. Nothing here touches daemon state: the caller swaps the model in
 * only when loading succeeded, so a rejected file changes nothing.
 */
#include "conf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf-raw.h"
#include "err.h"

const char *
conf_gkind_name(enum conf_gkind k)
{
	static const char *const names[] = { "project", "engine", "task" };

	return names[k];
}

/* "NAME:LINE: message" (line 0: "NAME: message"); records the verdict. */
int
conf_errf(struct conf_ctx *c, enum conf_reply r, int line, const char *fmt,
    ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->reply = r;
	if (line > 0)
		return err_set(c->e, EX_DATAERR, 0, "%s:%d: %s", c->name, line,
		    msg);
	return err_set(c->e, EX_DATAERR, 0, "%s: %s", c->name, msg);
}

struct conf_raw_group *
conf_raw_add(struct conf_raw *raw, enum conf_gkind k, bool ini, int line)
{
	struct conf_raw_group *rg;

	if (raw->n == raw->cap) {
		size_t cap = raw->cap ? raw->cap * 2 : 4;
		struct conf_raw_group *ng = realloc(raw->groups,
		    cap * sizeof(*ng));

		if (ng == NULL)
			return NULL;
		raw->groups = ng;
		raw->cap = cap;
	}
	rg = &raw->groups[raw->n++];
	memset(rg, 0, sizeof(*rg));
	rg->kind = k;
	rg->ini = ini;
	rg->g.line = line;
	return rg;
}

static uint32_t
key_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u;       /* FNV-1a */

	while (n--)
		h = (h ^ (unsigned char)*k++) * 16777619u;
	return h;
}

/* Slot holding key, or the empty slot where it would go. */
static uint32_t *
key_slot(struct conf_raw_group *rg, const char *key, size_t klen)
{
	size_t mask = rg->nslots - 1, i = key_hash(key, klen) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = rg->slots[i];

		if (s == 0)
			return &rg->slots[i];
		if (strlen(rg->g.kv[s - 1].key) == klen &&
		    memcmp(rg->g.kv[s - 1].key, key, klen) == 0)
			return &rg->slots[i];
	}
}

/* Double the table (keeps it at most half full). */
static int
rehash(struct conf_raw_group *rg)
{
	size_t n = rg->nslots ? rg->nslots * 2 : 32, i;
	uint32_t *old = rg->slots;

	rg->slots = calloc(n, sizeof(*rg->slots));
	if (rg->slots == NULL) {
		rg->slots = old;
		return -1;
	}
	rg->nslots = n;
	for (i = 0; i < rg->g.nkv; i++) {
		const char *k = rg->g.kv[i].key;

		*key_slot(rg, k, strlen(k)) = (uint32_t)i + 1;
	}
	free(old);
	return 0;
}

int
conf_raw_set(struct conf_raw_group *rg, const char *key, size_t klen,
    const char *val, size_t vlen, int line)
{
	struct conf_kv *kv;
	uint32_t *slot;
	char *v;

	if ((rg->g.nkv + 1) * 2 > rg->nslots && rehash(rg) < 0)
		return -1;
	slot = key_slot(rg, key, klen);
	v = strndup(val, vlen);
	if (v == NULL)
		return -1;
	if (*slot == 0) {
		if (rg->g.nkv >= CONF_MAX_KEYS) {
			free(v);
			return -2;
		}
		if (rg->g.nkv == rg->cap) {
			size_t cap = rg->cap ? rg->cap * 2 : 8;
			struct conf_kv *nk = realloc(rg->g.kv, cap * sizeof(*nk));

			if (nk == NULL) {
				free(v);
				return -1;
			}
			rg->g.kv = nk;
			rg->cap = cap;
		}
		kv = &rg->g.kv[rg->g.nkv];
		kv->key = strndup(key, klen);
		if (kv->key == NULL) {
			free(v);
			return -1;
		}
		kv->value = NULL;
		*slot = (uint32_t)++rg->g.nkv;
	} else {
		kv = &rg->g.kv[*slot - 1];
	}
	free(kv->value);
	kv->value = v;
	kv->line = line;
	return 0;
}

void
conf_raw_free(struct conf_raw *raw)
{
	size_t i;

	for (i = 0; i < raw->n; i++) {
		conf_kv_free(raw->groups[i].g.kv, raw->groups[i].g.nkv);
		free(raw->groups[i].slots);
	}
	free(raw->groups);
	raw->groups = NULL;
	raw->n = raw->cap = 0;
}

/*
 * INI when the first line that is not blank or a '#' comment opens a group,
 * is a ';' comment, or has '=' before any ':'; YAML otherwise. An empty file
 * is INI (and then fails for having no group, as the original).
 */
static enum conf_format
detect(const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, i = pos;

		while (i < end && (buf[i] == ' ' || buf[i] == '\t' ||
		    buf[i] == '\r'))
			i++;
		if (i < end && buf[i] != '#') {
			const char *eq = memchr(buf + i, '=', end - i);
			const char *co = memchr(buf + i, ':', end - i);

			if (buf[i] == '[' || buf[i] == ';' ||
			    (eq != NULL && (co == NULL || eq < co)))
				return CONF_FMT_INI;
			return CONF_FMT_YAML;
		}
		pos = end + 1;
	}
	return CONF_FMT_INI;
}

/* Two groups of one file must not describe the same engine or task. */
static int
check_duplicates(struct conf_ctx *c, const struct conf_file *cf)
{
	size_t i, j;

	for (i = 0; i < cf->nengines; i++)
		for (j = 0; j < i; j++)
			if (strcmp(cf->engines[i].project, cf->engines[j].project) == 0 &&
			    strcmp(conf_engine_id(&cf->engines[i]),
			    conf_engine_id(&cf->engines[j])) == 0)
				return conf_errf(c, CONF_REPLY_INTER_ERR,
				    cf->engines[i].g.line, "[engine]: engine '%s'"
				    " of project '%s' is already defined at line %d",
				    conf_engine_id(&cf->engines[i]),
				    cf->engines[i].project, cf->engines[j].g.line);
	for (i = 0; i < cf->ntasks; i++)
		for (j = 0; j < i; j++)
			if (strcmp(cf->tasks[i].project, cf->tasks[j].project) == 0 &&
			    strcmp(cf->tasks[i].engine, cf->tasks[j].engine) == 0 &&
			    strcmp(cf->tasks[i].name, cf->tasks[j].name) == 0)
				return conf_errf(c, CONF_REPLY_INTER_ERR,
				    cf->tasks[i].g.line, "[task]: task '%s' of "
				    "engine '%s' is already defined at line %d",
				    cf->tasks[i].name, cf->tasks[i].engine,
				    cf->tasks[j].g.line);
	return 0;
}

/* Raw groups into a fresh model; NULL (and nothing kept) on any error. */
static struct conf_file *
build(struct conf_ctx *c, struct conf_raw *raw, enum conf_format fmt)
{
	struct conf_file *cf = calloc(1, sizeof(*cf));
	size_t i, ne = 0, nt = 0;

	if (cf == NULL || (cf->name = strdup(c->name)) == NULL) {
		free(cf);
		conf_errf(c, CONF_REPLY_INTER_ERR, 0, "out of memory");
		return NULL;
	}
	cf->format = fmt;
	if (raw->n == 0) {
		conf_errf(c, CONF_REPLY_INVAL, 0, "no [project], [engine] or "
		    "[task] group");
		goto fail;
	}
	for (i = 0; i < raw->n; i++) {
		ne += raw->groups[i].kind == CONF_G_ENGINE;
		nt += raw->groups[i].kind == CONF_G_TASK;
	}
	cf->engines = calloc(ne ? ne : 1, sizeof(*cf->engines));
	cf->tasks = calloc(nt ? nt : 1, sizeof(*cf->tasks));
	if (cf->engines == NULL || cf->tasks == NULL) {
		conf_errf(c, CONF_REPLY_INTER_ERR, 0, "out of memory");
		goto fail;
	}
	/* The original's order: project, then engines, then tasks. */
	for (i = 0; i < raw->n; i++) {
		struct conf_raw_group *rg = &raw->groups[i];

		if (rg->kind != CONF_G_PROJECT)
			continue;
		if (cf->project != NULL) {
			conf_errf(c, CONF_REPLY_INVAL, rg->g.line, "[project]: "
			    "a file holds at most one project");
			goto fail;
		}
		cf->project = calloc(1, sizeof(*cf->project));
		if (cf->project == NULL) {
			conf_errf(c, CONF_REPLY_INTER_ERR, 0, "out of memory");
			goto fail;
		}
		if (conf_build_project(c, rg, cf->project) < 0)
			goto fail;
	}
	for (i = 0; i < raw->n; i++)
		if (raw->groups[i].kind == CONF_G_ENGINE &&
		    conf_build_engine(c, &raw->groups[i],
		    &cf->engines[cf->nengines++]) < 0)
			goto fail;
	for (i = 0; i < raw->n; i++)
		if (raw->groups[i].kind == CONF_G_TASK &&
		    conf_build_task(c, &raw->groups[i],
		    &cf->tasks[cf->ntasks++]) < 0)
			goto fail;
	if (check_duplicates(c, cf) < 0)
		goto fail;
	if (cf->project != NULL && !(c->flags & CONF_IDENTITY_ONLY))
		for (i = 0; i < cf->ntasks; i++)
			if (strcmp(cf->tasks[i].project, cf->project->name) == 0 &&
			    conf_task_check_project(c->name, &cf->tasks[i],
			    cf->project, c->e) < 0) {
				c->reply = CONF_REPLY_INTER_ERR;
				goto fail;
			}
	return cf;
fail:
	conf_free(cf);
	return NULL;
}

struct conf_file *
conf_parse_buffer_ex(const char *name, const char *buf, size_t len,
    unsigned flags, enum conf_reply *reply, struct err *e)
{
	struct conf_ctx c = { name, e, CONF_REPLY_OK, flags };
	struct conf_raw raw = { NULL, 0, 0 };
	enum conf_format fmt = flags & CONF_FORCE_INI ? CONF_FMT_INI :
	    flags & CONF_FORCE_YAML ? CONF_FMT_YAML : detect(buf, len);
	struct conf_file *cf = NULL;
	int rc;

	if (fmt == CONF_FMT_INI)
		rc = conf_ini_parse(&c, buf, len, &raw);
	else
		rc = conf_yaml_parse(&c, buf, len, &raw);
	if (rc == 0)
		cf = build(&c, &raw, fmt);
	conf_raw_free(&raw);
	if (reply != NULL)
		*reply = cf ? CONF_REPLY_OK : c.reply;
	return cf;
}

struct conf_file *
conf_parse_buffer(const char *name, const char *buf, size_t len,
    struct err *e)
{
	return conf_parse_buffer_ex(name, buf, len, 0, NULL, e);
}

/* Read the whole file after the original's checks, on the opened fd. */
static char *
read_checked(const char *path, size_t *lenp, struct err *e)
{
	char *real, *buf = NULL;
	struct stat st;
	size_t len = 0;
	int fd;

	real = realpath(path, NULL);
	if (real == NULL)
		return err_set(e, errno == ENOENT || errno == ENOTDIR ?
		    EX_NOINPUT : EX_NOPERM, errno, "cannot resolve '%s'", path),
		    NULL;
	fd = open(real, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err_set(e, errno == ENOENT ? EX_NOINPUT : EX_NOPERM, errno,
		    "cannot open '%s'", real);
		goto out;
	}
	/* Checked on the descriptor we read: no swap after the check. */
	if (fstat(fd, &st) < 0) {
		err_set(e, EX_NOINPUT, errno, "cannot stat '%s'", real);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, EX_NOINPUT, 0, "'%s' is not a regular file", real);
		goto out;
	}
	if (st.st_uid != 0 || st.st_gid != 0) {
		err_set(e, EX_NOPERM, 0, "'%s' must be owned by root:root "
		    "(is %u:%u)", real, (unsigned)st.st_uid, (unsigned)st.st_gid);
		goto out;
	}
	if ((st.st_mode & 0777) != 0600 && (st.st_mode & 0777) != 0400) {
		err_set(e, EX_NOPERM, 0, "'%s' must have mode 0600 or 0400 "
		    "(is %04o)", real, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (st.st_size > (off_t)CONF_FILE_MAX_BYTES) {
		err_set(e, EX_DATAERR, 0, "'%s' is %lld bytes, more than the "
		    "limit of %u", real, (long long)st.st_size,
		    CONF_FILE_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		err_set(e, EX_OSERR, errno, "cannot read '%s'", real);
		goto out;
	}
	/* Read one byte past the size seen: a file that grew is refused. */
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(e, EX_IOERR, errno, "cannot read '%s'", real);
			free(buf);
			buf = NULL;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size) {
			err_set(e, EX_DATAERR, 0, "'%s' changed while read", real);
			free(buf);
			buf = NULL;
			goto out;
		}
	}
	buf[len] = '\0';
	*lenp = len;
out:
	if (fd >= 0)
		close(fd);
	free(real);
	return buf;
}

struct conf_file *
conf_load_ex(const char *path, unsigned flags, enum conf_reply *reply,
    struct err *e)
{
	struct conf_file *cf;
	size_t len = 0;
	char *buf = read_checked(path, &len, e);

	if (buf == NULL) {
		if (reply != NULL)
			*reply = CONF_REPLY_INVAL;
		return NULL;
	}
	cf = conf_parse_buffer_ex(path, buf, len, flags, reply, e);
	free(buf);
	return cf;
}

struct conf_file *
conf_load(const char *path, struct err *e)
{
	return conf_load_ex(path, 0, NULL, e);
}

void
conf_free(struct conf_file *cf)
{
	size_t i;

	if (cf == NULL)
		return;
	if (cf->project != NULL) {
		conf_project_clear(cf->project);
		free(cf->project);
	}
	for (i = 0; i < cf->nengines; i++)
		conf_engine_clear(&cf->engines[i]);
	for (i = 0; i < cf->ntasks; i++)
		conf_task_clear(&cf->tasks[i]);
	free(cf->engines);
	free(cf->tasks);
	free(cf->name);
	free(cf);
}

const char *
conf_engine_id(const struct conf_engine *eng)
{
	return eng->type == CONF_ENG_THIRDPARTY && eng->eng_name ?
	    eng->eng_name : eng->name;
}

const struct conf_engine *
conf_find_engine(const struct conf_file *cf, const char *project,
    const char *id)
{
	size_t i;

	for (i = 0; i < cf->nengines; i++)
		if (strcmp(cf->engines[i].project, project) == 0 &&
		    strcmp(conf_engine_id(&cf->engines[i]), id) == 0)
			return &cf->engines[i];
	return NULL;
}

const struct conf_task *
conf_find_task(const struct conf_file *cf, const char *project,
    const char *engine, const char *name)
{
	size_t i;

	for (i = 0; i < cf->ntasks; i++)
		if (strcmp(cf->tasks[i].project, project) == 0 &&
		    strcmp(cf->tasks[i].engine, engine) == 0 &&
		    strcmp(cf->tasks[i].name, name) == 0)
			return &cf->tasks[i];
	return NULL;
}

const char *
conf_group_get(const struct conf_group *g, const char *key, int *line)
{
	size_t i;

	for (i = 0; i < g->nkv; i++)
		if (strcmp(g->kv[i].key, key) == 0) {
			if (line != NULL)
				*line = g->kv[i].line;
			return g->kv[i].value;
		}
	if (line != NULL)
		*line = 0;
	return NULL;
}

int
conf_task_check_project(const char *cf_name, const struct conf_task *t,
    const struct conf_project *p, struct err *e)
{
	int line = 0;

	if (t->engine_type != CONF_ENG_SLIDE || p->scan_type != CONF_SCAN_PAGE)
		return 0;
	if (t->T > 3 * p->loop) {
		conf_group_get(&t->g, "T", &line);
		return err_set(e, EX_DATAERR, 0, "%s:%d: key 'T' in [task]: %d "
		    "is out of range 0..%d (3 x loop of project '%s')",
		    cf_name, line ? line : t->g.line, t->T, 3 * p->loop,
		    p->name);
	}
	return 0;
}

void
conf_print(const struct conf_file *cf, FILE *fp)
{
	size_t i;

	if (cf->project != NULL)
		conf_print_project(cf->project, fp);
	for (i = 0; i < cf->nengines; i++)
		conf_print_engine(&cf->engines[i], fp);
	for (i = 0; i < cf->ntasks; i++)
		conf_print_task(&cf->tasks[i], fp);
}
