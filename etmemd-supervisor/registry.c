/* SPDX-License-Identifier: MIT */
/*
 * registry.c - projects -> engines -> tasks and the original's lifecycle
 * (cli-contract §4-5): obj add/del, project start/stop/show, engine
 * commands. Lists are kept newest first, as the original shows them.
 *
 * Improvements over the original, on purpose: obj add checks the whole file
 * against the registry before changing anything, and a task that cannot
 * start in a started project takes the whole add back; a project start that
 * fails stops what it started. obj del keeps the original's "carry on, reply
 * the last failure".
 */
#include "sup.h"

#include <sys/stat.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "err.h"
#include "log.h"
#include "procfs.h"

/* The one supervisor state; here, not in main.c, so tests and fuzzers that
 * link the core without main() still have it. */
struct sup sup;

static struct sup_cf *
cf_new(struct conf_file *cf)
{
	struct sup_cf *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->cf = cf;
	return c;
}

static void
cf_unref(struct sup_cf *c)
{
	if (--c->refs > 0)
		return;
	conf_free(c->cf);
	free(c);
}

const char *
sup_engine_id(const struct sup_engine *e)
{
	return conf_engine_id(e->conf);
}

struct sup_project *
sup_project_find(const char *name)
{
	struct sup_project *p;

	TAILQ_FOREACH(p, &sup.projects, entry)
		if (strcmp(p->conf->name, name) == 0)
			return p;
	return NULL;
}

struct sup_engine *
sup_engine_find(struct sup_project *p, const char *id)
{
	struct sup_engine *e;

	TAILQ_FOREACH(e, &p->engines, entry)
		if (strcmp(sup_engine_id(e), id) == 0)
			return e;
	return NULL;
}

struct sup_task *
sup_task_find(struct sup_engine *e, const char *name)
{
	struct sup_task *t;

	TAILQ_FOREACH(t, &e->tasks, entry)
		if (strcmp(t->conf->name, name) == 0)
			return t;
	return NULL;
}

/* Engines whose stage programs exist in this tree (memdcd's does not). */
static int
engine_startable(enum conf_engine_type t)
{
	return t != CONF_ENG_MEMDCD;
}

/*
 * DAMON sysfs has a single owner, so one etmem-scan serves every damon task
 * of a project: the oldest task (the list's tail) runs it with all the
 * engine's targets; the others are "followers" that never spawn. Adding or
 * removing a task restarts the leader with the new target list.
 */
struct sup_task *
sup_damon_leader(struct sup_engine *e)
{
	if (e->conf->type != CONF_ENG_DAMON)
		return NULL;
	return TAILQ_LAST(&e->tasks, sup_task_list);
}

/* Start the project's damon scanner again after its task list changed. */
static int
damon_resync(struct sup_engine *e)
{
	struct sup_task *lead = sup_damon_leader(e), *t;

	if (lead == NULL || !e->proj->started)
		return 0;
	TAILQ_FOREACH(t, &e->tasks, entry)
		if (t != lead)
			snprintf(t->last_error, sizeof(t->last_error), "monitored "
			    "by the etmem-scan of task %s", lead->conf->name);
	if (lead->state != TASK_STOPPED)
		sup_tasks_stop_wait(&lead, 1);
	return sup_task_event(lead, TEV_START);
}

static int
numa_nodes(void)
{
	char path[PROCFS_PATH_MAX];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	if (sysfs_path(path, sizeof(path), "devices/system/node") < 0 ||
	    (dir = opendir(path)) == NULL)
		return 1;
	while ((d = readdir(dir)) != NULL)
		if (strncmp(d->d_name, "node", 4) == 0 &&
		    d->d_name[4] >= '0' && d->d_name[4] <= '9')
			n++;
	closedir(dir);
	return n > 0 ? n : 1;
}

/* Checks of an engine that need the machine (conf.h leaves them to us). */
static int
engine_check(const struct conf_engine *ce, struct err *e)
{
	char real[PATH_MAX];
	struct stat st;
	int n;

	switch (ce->type) {
	case CONF_ENG_CSLIDE:
		n = numa_nodes();
		if (n % 2 != 0 || (size_t)n != ce->npairs * 2)
			return err_set(e, 78, 0, "engine cslide: this machine has "
			    "%d NUMA node(s), node_pair describes %zu; cslide "
			    "needs an even number of nodes, every node paired "
			    "(DRAM,AEP)", n, ce->npairs * 2);
		return 0;
	case CONF_ENG_PSI:
		if (access("/proc/pressure/memory", R_OK) != 0)
			return err_set(e, 69, errno, "engine psi: "
			    "/proc/pressure/memory unavailable (CONFIG_PSI)");
		return 0;
	case CONF_ENG_THIRDPARTY:
		if (realpath(ce->libname, real) == NULL)
			return err_set(e, 66, errno, "engine %s: libname '%s'",
			    ce->eng_name, ce->libname);
		if (stat(real, &st) < 0)
			return err_set(e, 66, errno, "engine %s: '%s'",
			    ce->eng_name, real);
		if (st.st_uid != 0 || st.st_gid != 0 ||
		    ((st.st_mode & 0777) != 0700 && (st.st_mode & 0777) != 0500))
			return err_set(e, 77, 0, "engine %s: '%s' must be "
			    "root:root with mode 0700 or 0500", ce->eng_name, real);
		/* No dlopen here: a plugin's constructors would run as root
		 * inside the daemon (W-39). etmem-rank plugin checks the file
		 * again and loads it by fd; a bad library fails the start. */
		return 0;
	default:
		return 0;
	}
}

/* The registry project a file's object belongs to, or whether the file
 * itself brings it. */
static struct sup_project *
owner(const struct conf_file *cf, const char *proj, int *in_file)
{
	*in_file = cf->project != NULL && strcmp(cf->project->name, proj) == 0;
	return sup_project_find(proj);
}

/* Everything obj add would reject, in the original's order, before any
 * change: project, then engines, then tasks. */
static enum rpc_result
add_check(const struct conf_file *cf, struct err *e)
{
	struct sup_project *p;
	struct sup_engine *se;
	int in_file;

	if (cf->project != NULL && sup_project_find(cf->project->name) != NULL) {
		err_set(e, 65, 0, "project '%s' already exists", cf->project->name);
		return RPC_PRO_EXISTED;
	}
	for (size_t i = 0; i < cf->nengines; i++) {
		const struct conf_engine *ce = &cf->engines[i];

		p = owner(cf, ce->project, &in_file);
		if (p == NULL && !in_file) {
			err_set(e, 65, 0, "engine %s: project '%s' does not exist",
			    conf_engine_id(ce), ce->project);
			return RPC_PRO_NOEXIST;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(cf->engines[j].project, ce->project) == 0 &&
			    strcmp(conf_engine_id(&cf->engines[j]),
			    conf_engine_id(ce)) == 0)
				goto eng_dup;
		if (p != NULL && sup_engine_find(p, conf_engine_id(ce)) != NULL) {
eng_dup:
			err_set(e, 65, 0, "engine '%s' already exists in project "
			    "'%s'", conf_engine_id(ce), ce->project);
			return RPC_ENG_EXISTED;
		}
		if (engine_check(ce, e) < 0)
			return RPC_INTER_ERR;
	}
	for (size_t i = 0; i < cf->ntasks; i++) {
		const struct conf_task *ct = &cf->tasks[i];

		p = owner(cf, ct->project, &in_file);
		if (p == NULL && !in_file) {
			err_set(e, 65, 0, "task %s: project '%s' does not exist",
			    ct->name, ct->project);
			return RPC_PRO_NOEXIST;
		}
		se = p != NULL ? sup_engine_find(p, ct->engine) : NULL;
		if (se == NULL && conf_find_engine(cf, ct->project, ct->engine) == NULL) {
			err_set(e, 65, 0, "task %s: engine '%s' does not exist in "
			    "project '%s'", ct->name, ct->engine, ct->project);
			return RPC_ENG_NOEXIST;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(cf->tasks[j].project, ct->project) == 0 &&
			    strcmp(cf->tasks[j].engine, ct->engine) == 0 &&
			    strcmp(cf->tasks[j].name, ct->name) == 0)
				goto task_dup;
		if (se != NULL && sup_task_find(se, ct->name) != NULL) {
task_dup:
			err_set(e, 65, 0, "task '%s' already exists in engine '%s' "
			    "of project '%s'", ct->name, ct->engine, ct->project);
			return RPC_TASK_EXISTED;
		}
		if (p != NULL && !in_file &&
		    conf_task_check_project(cf->name, ct, p->conf, e) < 0)
			return RPC_INTER_ERR;
	}
	return RPC_OK;
}

static struct sup_project *
project_new(const struct conf_project *c, struct sup_cf *cf)
{
	struct sup_project *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->conf = c;
	p->cf = cf;
	cf->refs++;
	TAILQ_INIT(&p->engines);
	TAILQ_INSERT_HEAD(&sup.projects, p, entry);
	return p;
}

static struct sup_engine *
engine_new(struct sup_project *p, const struct conf_engine *c,
    struct sup_cf *cf)
{
	struct sup_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->proj = p;
	e->conf = c;
	e->cf = cf;
	cf->refs++;
	TAILQ_INIT(&e->tasks);
	TAILQ_INSERT_HEAD(&p->engines, e, entry);
	return e;
}

static struct sup_task *
task_new(struct sup_engine *e, const struct conf_task *c, struct sup_cf *cf)
{
	struct sup_task *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->eng = e;
	t->conf = c;
	t->cf = cf;
	cf->refs++;
	sup_task_init(t);
	TAILQ_INSERT_HEAD(&e->tasks, t, entry);
	return t;
}

/* Stop (bounded wait) and free every task of the list given. */
static void
tasks_remove(struct sup_task **v, size_t n)
{
	sup_tasks_stop_wait(v, n);
	for (size_t i = 0; i < n; i++) {
		struct sup_cf *cf = v[i]->cf;

		TAILQ_REMOVE(&v[i]->eng->tasks, v[i], entry);
		log_info("task %s removed", sup_task_label(v[i]));
		sup_task_free(v[i]);
		cf_unref(cf);
	}
}

/* Collect the tasks of a project (eng NULL: all engines). */
static size_t
collect(struct sup_project *p, struct sup_engine *only, struct sup_task ***out)
{
	struct sup_engine *e;
	struct sup_task *t;
	size_t n = 0, i = 0;

	TAILQ_FOREACH(e, &p->engines, entry)
		if (only == NULL || e == only)
			TAILQ_FOREACH(t, &e->tasks, entry)
				n++;
	*out = calloc(n + 1, sizeof(**out));
	if (*out == NULL)
		return 0;
	TAILQ_FOREACH(e, &p->engines, entry)
		if (only == NULL || e == only)
			TAILQ_FOREACH(t, &e->tasks, entry)
				(*out)[i++] = t;
	return n;
}

static void
engine_remove(struct sup_engine *e)
{
	struct sup_task **v;
	size_t n = collect(e->proj, e, &v);

	tasks_remove(v, n);
	free(v);
	TAILQ_REMOVE(&e->proj->engines, e, entry);
	log_info("engine %s removed from project %s", sup_engine_id(e),
	    e->proj->conf->name);
	cf_unref(e->cf);
	free(e);
}

static void
project_remove(struct sup_project *p)
{
	struct sup_task **v;
	struct sup_engine *e;
	size_t n = collect(p, NULL, &v);

	/* One bounded wait for the whole project, not one per engine. */
	tasks_remove(v, n);
	free(v);
	while ((e = TAILQ_FIRST(&p->engines)) != NULL)
		engine_remove(e);
	TAILQ_REMOVE(&sup.projects, p, entry);
	log_info("project %s removed", p->conf->name);
	cf_unref(p->cf);
	free(p);
}

static enum rpc_result
load_reply(enum conf_reply r)
{
	return r == CONF_REPLY_INTER_ERR ? RPC_INTER_ERR : RPC_INVAL;
}

enum rpc_result
sup_obj_add(const char *path)
{
	struct sup_project *p = NULL, *np = NULL;
	struct sup_engine **ne = NULL;
	struct sup_task **nt = NULL;
	size_t nstart = 0;
	enum conf_reply rep = CONF_REPLY_INVAL;
	enum rpc_result r;
	struct conf_file *cf;
	struct sup_cf *sc;
	struct err e;

	cf = conf_load_ex(path, 0, &rep, &e);
	if (cf == NULL) {
		log_warnx("obj add: %s", e.msg);
		return load_reply(rep);
	}
	if (cf->project == NULL && cf->nengines == 0 && cf->ntasks == 0) {
		log_warnx("obj add: %s: no [project], [engine] or [task] group",
		    path);
		conf_free(cf);
		return RPC_INVAL;
	}
	r = add_check(cf, &e);
	if (r != RPC_OK) {
		log_warnx("obj add: %s: %s", path, e.msg);
		conf_free(cf);
		return r;
	}
	sc = cf_new(cf);
	if (sc != NULL)
		sc->refs = 1;   /* ours until the end of this function */
	ne = calloc(cf->nengines + 1, sizeof(*ne));
	nt = calloc(cf->ntasks + 1, sizeof(*nt));
	if (sc == NULL || ne == NULL || nt == NULL)
		goto oom;
	if (cf->project != NULL && (np = project_new(cf->project, sc)) == NULL)
		goto oom;
	for (size_t i = 0; i < cf->nengines; i++) {
		p = sup_project_find(cf->engines[i].project);
		if ((ne[i] = engine_new(p, &cf->engines[i], sc)) == NULL)
			goto oom;
	}
	for (size_t i = 0; i < cf->ntasks; i++) {
		struct sup_engine *se;

		p = sup_project_find(cf->tasks[i].project);
		se = sup_engine_find(p, cf->tasks[i].engine);
		if ((nt[i] = task_new(se, &cf->tasks[i], sc)) == NULL)
			goto oom;
	}
	/* A task added to a started project starts at once; if one cannot,
	 * the file is taken back whole. */
	for (size_t i = 0; i < cf->ntasks; i++) {
		struct sup_task *t = nt[i];

		if (!t->eng->proj->started)
			continue;
		if (!engine_startable(t->eng->conf->type)) {
			snprintf(t->last_error, sizeof(t->last_error), "engine %s "
			    "has no stage programs in this build",
			    t->eng->conf->name);
			log_warnx("obj add: task %s: %s", sup_task_label(t),
			    t->last_error);
			goto undo;
		}
		if (t->eng->conf->type == CONF_ENG_DAMON) {
			/* The one scanner restarts with every target. */
			if (damon_resync(t->eng) < 0) {
				log_warnx("obj add: task %s: the damon scanner "
				    "cannot restart: %s", sup_task_label(t),
				    sup_damon_leader(t->eng)->last_error);
				goto undo;
			}
			nstart++;
			continue;
		}
		if (sup_task_event(t, TEV_START) < 0) {
			log_warnx("obj add: task %s cannot start: %s",
			    sup_task_label(t), t->last_error);
			goto undo;
		}
		nstart++;
	}
	log_info("obj add: %s: %s%zu engine(s), %zu task(s)", path,
	    np != NULL ? "project, " : "", cf->nengines, cf->ntasks);
	free(ne);
	free(nt);
	cf_unref(sc);
	return RPC_OK;
undo:
	r = RPC_INTER_ERR;
	goto rollback;
oom:
	r = RPC_INTER_ERR;
	log_warnx("obj add: %s: out of memory", path);
	if (sc == NULL || ne == NULL || nt == NULL) {
		free(ne);
		free(nt);
		if (sc != NULL)
			cf_unref(sc);
		else
			conf_free(cf);
		return r;
	}
rollback:
	log_debug("obj add: %s: taking back %zu started task(s)", path, nstart);
	{
		size_t n = 0;

		while (n < cf->ntasks && nt[n] != NULL)
			n++;
		tasks_remove(nt, n);
	}
	for (size_t i = cf->nengines; i-- > 0;)
		if (ne[i] != NULL)
			engine_remove(ne[i]);
	if (np != NULL)
		project_remove(np);
	free(ne);
	free(nt);
	cf_unref(sc);
	return r;
}

enum rpc_result
sup_obj_del(const char *path)
{
	enum conf_reply rep = CONF_REPLY_INVAL;
	enum rpc_result last = RPC_OK;
	struct sup_project *p;
	struct sup_engine *se;
	struct sup_task *t;
	struct conf_file *cf;
	struct err e;

	cf = conf_load_ex(path, CONF_IDENTITY_ONLY, &rep, &e);
	if (cf == NULL) {
		log_warnx("obj del: %s", e.msg);
		return load_reply(rep);
	}
	if (cf->project == NULL && cf->nengines == 0 && cf->ntasks == 0) {
		log_warnx("obj del: %s: no [project], [engine] or [task] group",
		    path);
		conf_free(cf);
		return RPC_INVAL;
	}
	/* The original's order and its "carry on, reply the last failure". */
	for (size_t i = 0; i < cf->ntasks; i++) {
		const struct conf_task *ct = &cf->tasks[i];

		if ((p = sup_project_find(ct->project)) == NULL)
			last = RPC_PRO_NOEXIST;
		else if ((se = sup_engine_find(p, ct->engine)) == NULL)
			last = RPC_ENG_NOEXIST;
		else if ((t = sup_task_find(se, ct->name)) == NULL)
			last = RPC_TASK_NOEXIST;
		else {
			tasks_remove(&t, 1);
			if (se->conf->type == CONF_ENG_DAMON &&
			    damon_resync(se) < 0)
				log_warnx("obj del: the damon scanner of project "
				    "%s cannot restart", p->conf->name);
		}
		if (last != RPC_OK)
			log_warnx("obj del: task %s/%s/%s: %s", ct->project,
			    ct->engine, ct->name, rpc_result_text(last));
	}
	for (size_t i = 0; i < cf->nengines; i++) {
		const struct conf_engine *ce = &cf->engines[i];

		if ((p = sup_project_find(ce->project)) == NULL)
			last = RPC_PRO_NOEXIST;
		else if ((se = sup_engine_find(p, conf_engine_id(ce))) == NULL)
			last = RPC_ENG_NOEXIST;
		else
			engine_remove(se);
	}
	if (cf->project != NULL) {
		if ((p = sup_project_find(cf->project->name)) == NULL)
			last = RPC_PRO_NOEXIST;
		else
			project_remove(p);
	}
	conf_free(cf);
	return last;
}

enum rpc_result
sup_project_start(const char *name)
{
	struct sup_project *p = sup_project_find(name);
	struct sup_task **v;
	struct sup_engine *e;
	size_t n, i;

	if (p == NULL)
		return RPC_PRO_NOEXIST;
	if (p->started)
		return RPC_PRO_STARTED;
	TAILQ_FOREACH(e, &p->engines, entry) {
		if ((p->conf->scan_type == CONF_SCAN_REGION) !=
		    (e->conf->type == CONF_ENG_DAMON)) {
			/* Wording kept from when damon had no stages at all
			 * (tests/bats/cli.bats L16 looks for it). */
			log_warnx("project %s: engine %s %s; not started", name,
			    sup_engine_id(e), e->conf->type == CONF_ENG_DAMON ?
			    "has no stage programs in a scan_type=page project "
			    "(it needs scan_type=region)" :
			    "cannot run in a scan_type=region (DAMON) project");
			return RPC_INTER_ERR;
		}
		if (!engine_startable(e->conf->type)) {
			log_warnx("project %s: engine %s has no stage programs "
			    "in this build; not started", name, sup_engine_id(e));
			return RPC_INTER_ERR;
		}
	}
	n = collect(p, NULL, &v);
	p->started = 1;
	for (i = 0; i < n; i++) {
		struct sup_task *lead = sup_damon_leader(v[i]->eng);

		if (lead != NULL && lead != v[i]) {
			snprintf(v[i]->last_error, sizeof(v[i]->last_error),
			    "monitored by the etmem-scan of task %s",
			    lead->conf->name);
			continue;
		}
		if (sup_task_event(v[i], TEV_START) < 0) {
			log_warnx("project %s: task %s cannot start: %s; "
			    "stopping what was started", name,
			    sup_task_label(v[i]), v[i]->last_error);
			sup_tasks_stop_wait(v, i + 1);
			p->started = 0;
			free(v);
			return RPC_INTER_ERR;
		}
	}
	free(v);
	log_info("project %s started", name);
	return RPC_OK;
}

enum rpc_result
sup_project_stop(const char *name)
{
	struct sup_project *p = sup_project_find(name);
	struct sup_task **v;
	size_t n;

	if (p == NULL)
		return RPC_PRO_NOEXIST;
	if (!p->started)
		return RPC_PRO_STOPPED;
	n = collect(p, NULL, &v);
	sup_tasks_stop_wait(v, n);
	free(v);
	p->started = 0;
	log_info("project %s stopped", name);
	return RPC_OK;
}

static void
show_task_verbose(const struct sup_task *t, struct evbuffer *out)
{
	evbuffer_add_printf(out, "    state: %s  restarts: %u",
	    sup_task_state_name(t->state), t->restarts);
	if (t->target > 0)
		evbuffer_add_printf(out, "  target: pid %d", (int)t->target);
	evbuffer_add_printf(out, "\n");
	if (t->nstages > 0 && t->pgid > 0) {
		evbuffer_add_printf(out, "    pids:");
		for (int i = 0; i < t->nstages; i++)
			evbuffer_add_printf(out, " %s=%d", t->st[i].name,
			    (int)t->st[i].pid);
		evbuffer_add_printf(out, "\n");
	}
	for (int i = 0; i < t->nstages; i++) {
		const char *s = t->st[i].stats;

		if (s[0] == '\0')
			continue;
		/* "key value" lines become "key=value" words on one line. */
		evbuffer_add_printf(out, "    %s:", t->st[i].name);
		while (*s != '\0') {
			size_t len = strcspn(s, "\n"), k = strcspn(s, " ");

			if (len > 0 && k < len)
				evbuffer_add_printf(out, " %.*s=%.*s", (int)k, s,
				    (int)(len - k - 1), s + k + 1);
			else if (len > 0)
				evbuffer_add_printf(out, " %.*s", (int)len, s);
			s += len + (s[len] == '\n');
		}
		evbuffer_add_printf(out, "\n");
	}
	if (t->last_error[0] != '\0')
		evbuffer_add_printf(out, "    last error: %s\n", t->last_error);
	if (t->nstages > 0) {
		evbuffer_add_printf(out, "    command: ");
		sup_pipeline_format(t, out);
		evbuffer_add_printf(out, "\n");
	}
}

/* The original's layout exactly (cli-contract §3.6); verbose adds indented
 * lines under each task row. */
void
sup_project_show(const char *name, int verbose, struct evbuffer *out)
{
	struct sup_project *p;
	struct sup_engine *e;
	struct sup_task *t;
	int shown = 0;

	TAILQ_FOREACH(p, &sup.projects, entry) {
		if (name != NULL && strcmp(p->conf->name, name) != 0)
			continue;
		shown++;
		evbuffer_add_printf(out, "project: %s\n", p->conf->name);
		evbuffer_add_printf(out, "%-8s %-8s %-16s %-16s %-16s %-8s\n",
		    "number", "type", "value", "name", "engine", "started");
		TAILQ_FOREACH(e, &p->engines, entry) {
			int i = 1;

			TAILQ_FOREACH(t, &e->tasks, entry) {
				evbuffer_add_printf(out,
				    "%-8d %-8s %-16s %-16s %-16s %-8s\n", i++,
				    t->conf->type == CONF_TARGET_PID ? "pid" : "name",
				    t->conf->value, t->conf->name, sup_engine_id(e),
				    p->started ? "true" : "false");
				if (verbose)
					show_task_verbose(t, out);
			}
		}
	}
	if (shown > 0)
		return;
	if (name != NULL)
		evbuffer_add_printf(out, "project: project %s is not existed\n\n",
		    name);
	else
		evbuffer_add_printf(out, "no project exists\n\n");
}

/* The stage that answers engine commands: the ranker, or a lone stage. */
static struct sup_stage *
command_stage(struct sup_task *t)
{
	return &t->st[t->nstages == 3 ? 1 : 0];
}

int
sup_engine_cmd(const struct rpc_req *req, struct sup_client *c)
{
	struct sup_project *p;
	struct sup_engine *e;
	struct sup_task *t = NULL, *it;
	struct sup_stage *s;
	uint16_t type = CTL_MSG_PLUGIN_CMD;
	char payload[sizeof(req->eng_cmd) + 32];
	struct err err;

	if (req->proj[0] == '\0' || req->eng[0] == '\0' ||
	    req->eng_cmd[0] == '\0')
		return RPC_INVAL;
	if ((p = sup_project_find(req->proj)) == NULL)
		return RPC_PRO_NOEXIST;
	if (!p->started) {
		log_warnx("engine %s %s: project %s is not started", req->eng,
		    req->eng_cmd, req->proj);
		return RPC_INVAL;
	}
	if ((e = sup_engine_find(p, req->eng)) == NULL)
		return RPC_ENG_NOEXIST;
	if (req->task[0] != '\0' && (t = sup_task_find(e, req->task)) == NULL)
		return RPC_TASK_NOEXIST;
	/* Only cslide and plugins have private commands (cli-contract
	 * 3.4): the others fail INVAL without asking a stage. */
	if (e->conf->type == CONF_ENG_CSLIDE) {
		if (strcmp(req->eng_cmd, "showtaskpages") == 0)
			type = CTL_MSG_SHOW_TASK_PAGES;
		else if (strcmp(req->eng_cmd, "showhostpages") == 0)
			type = CTL_MSG_SHOW_HOST_PAGES;
		else {
			log_warnx("engine cslide: unknown command '%s'",
			    req->eng_cmd);
			return RPC_INVAL;
		}
		if (type == CTL_MSG_SHOW_TASK_PAGES && t == NULL) {
			log_warnx("engine cslide showtaskpages: -t TASK is "
			    "required");
			return RPC_INVAL;
		}
	}
	/* Other engines: the stage decides what it supports; slide's and
	 * exec's rankers answer ERROR, the original's INVAL. */
	if (t == NULL)
		TAILQ_FOREACH(it, &e->tasks, entry)
			if (it->state == TASK_RUNNING) {
				t = it;
				break;
			}
	if (t == NULL || t->state != TASK_RUNNING) {
		log_warnx("engine %s %s: no running task to ask", req->eng,
		    req->eng_cmd);
		return RPC_INVAL;
	}
	s = command_stage(t);
	if (s->waiter != NULL || s->ctl_fd < 0) {
		log_warnx("engine %s %s: task %s is busy with another command",
		    req->eng, req->eng_cmd, sup_task_label(t));
		return RPC_INVAL;
	}
	/* showtaskpages names the task's pinned pid (the ranker's default is
	 * its first pid, which a name task may have several of). */
	if (type == CTL_MSG_SHOW_TASK_PAGES && t->target > 0)
		snprintf(payload, sizeof(payload), "showtaskpages %d",
		    (int)t->target);
	else
		snprintf(payload, sizeof(payload), "%s", req->eng_cmd);
	if (ctl_send(s->ctl_fd, type, 0, ++s->seq, payload, strlen(payload),
	    &err) < 0) {
		log_err(&err);
		return RPC_INTER_ERR;
	}
	s->waiter = c;
	s->waiter_seq = s->seq;
	sup_client_wait(c, s);
	return SUP_PENDING;
}

void
sup_registry_clear(void)
{
	struct sup_project *p;
	struct sup_task **all = NULL, **v;
	size_t n = 0, k;

	/* Stop everything in one bounded wait, then free. */
	TAILQ_FOREACH(p, &sup.projects, entry) {
		k = collect(p, NULL, &v);
		all = reallocarray(all, n + k + 1, sizeof(*all));
		if (all != NULL && k > 0)
			memcpy(all + n, v, k * sizeof(*v));
		n += k;
		free(v);
		if (all == NULL)
			n = 0;
	}
	sup_tasks_stop_wait(all, n);
	free(all);
	while ((p = TAILQ_FIRST(&sup.projects)) != NULL)
		project_remove(p);
}
