/* SPDX-License-Identifier: MIT */
/*
 * rank-plugin.c - the `plugin` engine: a third-party ranking policy in a
 * shared object (include/etmem/plugin.h), the original's `thirdparty`
 * engine (engine-algorithms.md §7) moved out of the daemon into the ranker.
 *
 * Loading is checked as the original does and tighter (docs/PLUGINS.md):
 * the path must be absolute; every directory on its real path must be owned
 * by root and not writable by group or others (a root-owned sticky
 * directory such as /tmp is accepted: nobody else can rename what is in
 * it); the file must be a regular file owned by root:root with mode exactly
 * 0700 or 0500. The file is opened once and that descriptor is what gets
 * dlopen()ed (through /proc/self/fd), so there is no window between the
 * check and the load (the original's W-39). Then the ops symbol must exist
 * and carry an ABI version and size this host understands.
 *
 * This file is not the place for the policy: it only adapts the core's
 * period (tracker runs, PROC items, PERIOD facts) to the plugin's view and
 * validates what comes back.
 */
#include "rank.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "etmem/plugin.h"

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "opt.h"

#define PLUGIN_REPLY_MAX (1u << 20)     /* bytes a mgmt reply may have */
#define PLUGIN_STATS_MAX 16u            /* plugin counters per period */
#define PLUGIN_CMD_MAX 4096u

static struct {
	const char *lib;
	const char *ops;
	struct opt_list engine_keys;
	struct opt_list task_keys;
} plugin_opt;

struct plugin {
	void *dl;
	const struct etmem_plugin_ops *ops;
	void *ppriv;                    /* the plugin's state */
	int inited;                     /* init succeeded: fini is owed */
	struct etmem_plugin_host host;
	struct rank_ctx *ctx;
	struct etmem_plugin_kv *ekv, *tkv;
	size_t nekv, ntkv;
	char *kvbuf;                    /* copies of the K=V strings, split */
	/* The current period, during period() only. */
	const struct rank_period *per;
	struct etmr_access *ext;
	size_t next, ext_cap;
	unsigned nstats;
	int refused;                    /* a decide() was refused this period */
	struct err *perr;               /* where decide() reports */
	char name[64];
};

/* ---- loading ---- */

/* Every directory from / down to the file's must be root's and closed to
 * others; `real` is a canonical path (realpath). */
static int
check_dirs(const char *real, struct err *e)
{
	char dir[PATH_MAX];
	size_t i, len = strlen(real);

	for (i = 0; i < len; i++) {
		struct stat st;

		if (real[i] != '/')
			continue;
		memcpy(dir, real, i ? i : 1);
		dir[i ? i : 1] = '\0';
		if (stat(dir, &st) < 0)
			return err_set(e, EX_NOINPUT, errno, "cannot stat '%s'", dir);
		if (st.st_uid != 0)
			return err_set(e, EX_NOPERM, 0,
			    "directory '%s' of plugin '%s' is owned by uid %u, not root",
			    dir, real, (unsigned)st.st_uid);
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
			return err_set(e, EX_NOPERM, 0,
			    "directory '%s' of plugin '%s' is writable by %s (mode %04o)",
			    dir, real, (st.st_mode & S_IWOTH) ? "others" : "its group",
			    (unsigned)(st.st_mode & 07777));
	}
	return 0;
}

/* Open the library for loading: absolute, safe directories, root:root,
 * 0700|0500. Returns an fd (O_RDONLY) or -1. */
static int
open_lib(const char *path, char *real, struct err *e)
{
	struct stat st;
	int fd;

	if (path == NULL || path[0] != '/')
		return err_set(e, EX_USAGE, 0, "--lib '%s' is not an absolute path",
		    path ? path : "");
	if (realpath(path, real) == NULL)
		return err_set(e, EX_NOINPUT, errno, "cannot resolve plugin '%s'", path);
	if (check_dirs(real, e) < 0)
		return -1;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(e, EX_NOINPUT, errno, "cannot open plugin '%s'", real);
	if (fstat(fd, &st) < 0) {
		err_set(e, EX_OSERR, errno, "cannot stat plugin '%s'", real);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, EX_NOPERM, 0, "plugin '%s' is not a regular file", real);
		goto fail;
	}
	if (st.st_uid != 0 || st.st_gid != 0) {
		err_set(e, EX_NOPERM, 0, "plugin '%s' is owned by %u:%u, not root:root",
		    real, (unsigned)st.st_uid, (unsigned)st.st_gid);
		goto fail;
	}
	if ((st.st_mode & 0777) != 0700 && (st.st_mode & 0777) != 0500) {
		err_set(e, EX_NOPERM, 0, "plugin '%s' has mode %04o, not 0700 or 0500",
		    real, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Split each "K=V" of `l` into kv[]; the strings point into *buf. */
static int
parse_keys(const struct opt_list *l, const char *flag, struct etmem_plugin_kv **kv,
    size_t *n, char **buf, size_t *used, struct err *e)
{
	int i;

	*kv = calloc((size_t)l->n + 1, sizeof(**kv));
	if (*kv == NULL)
		return err_set(e, EX_OSERR, errno, "out of memory");
	for (i = 0; i < l->n; i++) {
		const char *eq = strchr(l->v[i], '=');
		size_t len = strlen(l->v[i]);
		char *k = *buf + *used;

		if (eq == NULL || eq == l->v[i])
			return err_set(e, EX_USAGE, 0, "%s '%s': expected KEY=VALUE", flag, l->v[i]);
		memcpy(k, l->v[i], len + 1);
		k[eq - l->v[i]] = '\0';
		(*kv)[i].key = k;
		(*kv)[i].value = k + (eq - l->v[i]) + 1;
		*used += len + 1;
	}
	*n = (size_t)l->n;
	return 0;
}

static int
load_keys(struct plugin *pl, struct err *e)
{
	size_t total = 1, used = 0;
	int i;

	for (i = 0; i < plugin_opt.engine_keys.n; i++)
		total += strlen(plugin_opt.engine_keys.v[i]) + 1;
	for (i = 0; i < plugin_opt.task_keys.n; i++)
		total += strlen(plugin_opt.task_keys.v[i]) + 1;
	if ((pl->kvbuf = malloc(total)) == NULL)
		return err_set(e, EX_OSERR, errno, "out of memory");
	if (parse_keys(&plugin_opt.engine_keys, "--engine-key", &pl->ekv, &pl->nekv,
	    &pl->kvbuf, &used, e) < 0 ||
	    parse_keys(&plugin_opt.task_keys, "--task-key", &pl->tkv, &pl->ntkv,
	    &pl->kvbuf, &used, e) < 0)
		return -1;
	return 0;
}

/* Find the ops table and check that this host can drive it. */
static int
bind_ops(struct plugin *pl, const char *real, struct err *e)
{
	const struct etmem_plugin_ops *ops;

	dlerror();
	ops = dlsym(pl->dl, plugin_opt.ops);
	if (ops == NULL)
		return err_set(e, EX_DATAERR, 0, "plugin '%s' has no symbol '%s'", real,
		    plugin_opt.ops);
	if (ops->abi_version == 0 || ops->abi_version > ETMEM_PLUGIN_ABI_VERSION)
		return err_set(e, EX_UNAVAILABLE, 0,
		    "plugin '%s' (%s) was built for ABI version %u; this etmem-rank speaks 1..%u",
		    real, plugin_opt.ops, ops->abi_version, ETMEM_PLUGIN_ABI_VERSION);
	if (ops->size < ETMEM_PLUGIN_OPS_SIZE_V1)
		return err_set(e, EX_UNAVAILABLE, 0,
		    "plugin '%s' (%s): ops size %u is smaller than ABI version 1's %zu",
		    real, plugin_opt.ops, ops->size, (size_t)ETMEM_PLUGIN_OPS_SIZE_V1);
	if (ops->period == NULL)
		return err_set(e, EX_DATAERR, 0, "plugin '%s' (%s) has no period hook", real,
		    plugin_opt.ops);
	pl->ops = ops;
	snprintf(pl->name, sizeof(pl->name), "%s",
	    ops->name != NULL && ops->name[0] != '\0' ? ops->name : plugin_opt.ops);
	return 0;
}

/* ---- host services ---- */

static void
host_log(const struct etmem_plugin_host *h, int level, const char *msg)
{
	const struct plugin *pl = h->host_priv;

	switch (level) {
	case ETMEM_PLUGIN_LOG_ERR:
	case ETMEM_PLUGIN_LOG_WARN:
		log_warnx("plugin/%s: %s", pl->name, msg ? msg : "(null)");
		break;
	case ETMEM_PLUGIN_LOG_INFO:
		log_info("plugin/%s: %s", pl->name, msg ? msg : "(null)");
		break;
	default:
		log_debug("plugin/%s: %s", pl->name, msg ? msg : "(null)");
		break;
	}
}

/* Is pid part of this period (a PROC item or an access extent)? */
static int
pid_known(const struct plugin *pl, uint32_t pid)
{
	size_t lo = 0, hi = pl->next;

	if (rank_proc(pl->per, pid) != NULL)
		return 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pl->ext[mid].pid == pid)
			return 1;
		if (pl->ext[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
host_refuse(struct plugin *pl, const char *fmt, const struct etmr_decision *d)
{
	if (!pl->refused)
		err_set(pl->perr, EX_SOFTWARE, 0, "plugin %s: decision pid %u 0x%llx+%llu: %s",
		    pl->name, d->pid, (unsigned long long)d->start,
		    (unsigned long long)d->npages, fmt);
	pl->refused = 1;
	return -1;
}

static int
host_decide(const struct etmem_plugin_host *h, const struct etmr_decision *d)
{
	struct plugin *pl = h->host_priv;
	struct etmr_decision c;
	const struct etmr_proc *p;
	uint64_t bytes;

	if (pl->per == NULL || d == NULL)
		return -1;
	c = *d;
	if (c.action < ETMR_ACT_SWAP || c.action > ETMR_ACT_PROMOTE)
		return host_refuse(pl, "unknown action", d);
	if (c.size > ETMR_SIZE_1G)
		return host_refuse(pl, "unknown page size class", d);
	bytes = etmr_size_bytes(c.size, pl->ctx->page_size);
	if (c.npages == 0 || c.start % bytes != 0 ||
	    c.npages > (UINT64_MAX - c.start) / bytes)
		return host_refuse(pl, "empty, misaligned or wrapping range", d);
	if (!pid_known(pl, c.pid))
		return host_refuse(pl, "pid is not in this period's stream", d);
	if (c.action == ETMR_ACT_SWAP)
		c.node = ETMR_NODE_NONE;
	else if (c.node == ETMR_NODE_NONE)
		return host_refuse(pl, "demote/promote without a target node", d);
	if (c.start_time == 0 && (p = rank_proc(pl->per, c.pid)) != NULL)
		c.start_time = p->start_time;
	if (rank_decide(pl->ctx, &c, pl->perr) < 0) {
		pl->refused = 1;
		return -1;
	}
	return 0;
}

static int
host_stat(const struct etmem_plugin_host *h, const char *key, uint64_t value)
{
	struct plugin *pl = h->host_priv;
	size_t i, len;

	if (pl->per == NULL || key == NULL || pl->nstats >= PLUGIN_STATS_MAX)
		return -1;
	len = strlen(key);
	if (len == 0 || len >= ETMR_STAT_KEY_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
		    key[i] == '_'))
			return -1;
	rank_stat(pl->ctx, key, value);
	pl->nstats++;
	return 0;
}

/* ---- engine hooks ---- */

static int
plugin_init(struct rank_ctx *ctx, struct err *e)
{
	char real[PATH_MAX];
	char path[64];
	struct plugin *pl;
	int fd, rc;

	if (plugin_opt.lib == NULL)
		return err_set(e, EX_USAGE, 0, "--lib PATH is required");
	if (plugin_opt.ops == NULL || plugin_opt.ops[0] == '\0')
		return err_set(e, EX_USAGE, 0, "--ops SYMBOL is required");
	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return err_set(e, EX_OSERR, errno, "out of memory");
	ctx->priv = pl;
	pl->ctx = ctx;
	if (load_keys(pl, e) < 0)
		return -1;
	if ((fd = open_lib(plugin_opt.lib, real, e)) < 0)
		return -1;
	/* Our own descriptor, not a path a fixture tree could stand in for:
	 * the real /proc, not procfs_path(). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pl->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	close(fd);
	if (pl->dl == NULL)
		return err_set(e, EX_DATAERR, 0, "cannot load plugin '%s': %s", real, dlerror());
	if (bind_ops(pl, real, e) < 0)
		return -1;
	pl->host = (struct etmem_plugin_host){
		.abi_version = ETMEM_PLUGIN_ABI_VERSION, .size = sizeof(pl->host),
		.host_priv = pl, .decide = host_decide, .stat = host_stat, .log = host_log,
	};
	if (pl->ops->init != NULL) {
		rc = pl->ops->init(&pl->ppriv, pl->ekv, pl->nekv, pl->tkv, pl->ntkv, &pl->host);
		if (rc != 0)
			return err_set(e, EX_CONFIG, 0, "plugin %s refused its keys (init returned %d)",
			    pl->name, rc);
	}
	pl->inited = 1;
	log_debug("plugin %s loaded from '%s' (ABI %u)", pl->name, real, pl->ops->abi_version);
	return 0;
}

/* The period's pages as access extents, sorted by pid then address. */
static int
collect_extents(struct plugin *pl, const struct rank_period *per, struct err *e)
{
	struct rank_trk_iter it;
	struct rank_run r;

	pl->next = 0;
	rank_trk_iter_init(&it);
	while (rank_trk_next(per->trk, &it, &r)) {
		if (pl->next == pl->ext_cap) {
			size_t ncap = pl->ext_cap ? pl->ext_cap * 2 : 1024;
			struct etmr_access *n = realloc(pl->ext, ncap * sizeof(*n));

			if (n == NULL)
				return err_set(e, EX_OSERR, errno, "out of memory");
			pl->ext = n;
			pl->ext_cap = ncap;
		}
		pl->ext[pl->next++] = (struct etmr_access){
			.start = r.start, .npages = r.npages, .pid = r.pid, .count = r.count,
			.node = ETMR_NODE_NONE, .size = r.size,
		};
	}
	return 0;
}

static int
plugin_period(struct rank_ctx *ctx, const struct rank_period *per, struct err *e)
{
	struct plugin *pl = ctx->priv;
	struct etmem_plugin_period pp;
	int rc;

	if (collect_extents(pl, per, e) < 0)
		return -1;
	pp = (struct etmem_plugin_period){
		.size = sizeof(pp), .page_size = per->page_size, .loop = per->loop,
		.facts = per->facts, .procs = per->procs, .nprocs = per->nprocs,
		.extents = pl->ext, .nextents = pl->next,
	};
	pl->per = per;
	pl->perr = e;
	pl->refused = 0;
	pl->nstats = 0;
	rc = pl->ops->period(pl->ppriv, &pp, &pl->host);
	pl->per = NULL;
	if (pl->refused)
		return -1;
	if (rc != 0)
		return err_set(e, EX_SOFTWARE, 0, "plugin %s failed the period (returned %d)",
		    pl->name, rc);
	return 0;
}

static void
plugin_fini(struct rank_ctx *ctx)
{
	struct plugin *pl = ctx->priv;

	if (pl == NULL)
		return;
	if (pl->inited && pl->ops->fini != NULL)
		pl->ops->fini(pl->ppriv);
	if (pl->dl != NULL)
		dlclose(pl->dl);
	free(pl->ekv);
	free(pl->tkv);
	free(pl->kvbuf);
	free(pl->ext);
	free(pl);
	ctx->priv = NULL;
}

/* ---- private commands ---- */

static int
reply_error(struct ctl_stage *s, const struct ctl_msg *m, const char *text)
{
	struct err e;

	err_clear(&e);
	if (ctl_sendf(s->conn.fd, CTL_MSG_ERROR, m->task, m->seq, &e, "%s", text) < 0)
		log_err(&e);
	return 0;
}

/*
 * Run the plugin's mgmt hook into a memory file, then relay: TEXT chunks
 * and END (count) on success, TEXT chunks and ERROR on failure. A reply
 * holding 0xFF or 0xFE is refused whole: those bytes end a reply on the CLI
 * wire, so passing them on would cut the answer short or flip its status.
 */
static int
run_mgmt(struct plugin *pl, struct ctl_stage *s, const struct ctl_msg *m, const char *cmd)
{
	char msg[256], *buf = NULL;
	struct stat st;
	uint32_t count = 0;
	size_t off;
	struct err e;
	int fd, rc;

	err_clear(&e);
	if ((fd = memfd_create("etmem-plugin-reply", MFD_CLOEXEC)) < 0) {
		snprintf(msg, sizeof(msg), "cannot create a reply buffer: %s", strerror(errno));
		return reply_error(s, m, msg);
	}
	rc = pl->ops->mgmt(pl->ppriv, cmd, fd);
	if (fstat(fd, &st) < 0 || st.st_size > (off_t)PLUGIN_REPLY_MAX) {
		close(fd);
		snprintf(msg, sizeof(msg), "plugin %s: reply to '%.64s' is over %u bytes", pl->name,
		    cmd, PLUGIN_REPLY_MAX);
		return reply_error(s, m, msg);
	}
	if (st.st_size > 0 && ((buf = malloc((size_t)st.st_size)) == NULL ||
	    pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)) {
		free(buf);
		close(fd);
		return reply_error(s, m, "cannot read the plugin's reply");
	}
	close(fd);
	for (off = 0; off < (size_t)st.st_size; off++)
		if ((unsigned char)buf[off] == 0xFF || (unsigned char)buf[off] == 0xFE) {
			snprintf(msg, sizeof(msg),
			    "plugin %s: reply to '%.64s' has the reserved byte 0x%02X at offset %zu",
			    pl->name, cmd, (unsigned char)buf[off], off);
			log_warnx("%s", msg);
			free(buf);
			return reply_error(s, m, msg);
		}
	for (off = 0; off < (size_t)st.st_size; off += CTL_PAYLOAD_MAX, count++) {
		size_t n = (size_t)st.st_size - off;

		if (ctl_send(s->conn.fd, CTL_MSG_TEXT, m->task, m->seq, buf + off,
		    n < CTL_PAYLOAD_MAX ? n : CTL_PAYLOAD_MAX, &e) < 0) {
			log_err(&e);
			free(buf);
			return 0;
		}
	}
	free(buf);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "plugin %s: command '%.64s' failed (%d)", pl->name, cmd, rc);
		return reply_error(s, m, msg);
	}
	if (ctl_send(s->conn.fd, CTL_MSG_END, m->task, m->seq, &count, sizeof(count), &e) < 0)
		log_err(&e);
	return 0;
}

static int
plugin_ctl(struct rank_ctx *ctx, struct ctl_stage *s, const struct ctl_msg *m)
{
	struct plugin *pl = ctx->priv;
	char cmd[PLUGIN_CMD_MAX];

	if (m->type != CTL_MSG_PLUGIN_CMD)
		return -1;      /* the stage helper answers ERROR */
	if (ctl_get_str(m, cmd, sizeof(cmd)) < 0 || cmd[0] == '\0')
		return reply_error(s, m, "plugin command: empty, too long or holds a NUL");
	if (pl->ops->mgmt == NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "plugin %s has no private commands", pl->name);
		return reply_error(s, m, msg);
	}
	return run_mgmt(pl, s, m, cmd);
}

static const struct opt plugin_opts[] = {
	{ 0, "lib", OPT_STR, &plugin_opt.lib, "PATH",
	  "the plugin: absolute path, root:root, mode 0700 or 0500 (config libname)",
	  0, 0, 0, 0, NULL },
	{ 0, "ops", OPT_STR, &plugin_opt.ops, "SYMBOL",
	  "its struct etmem_plugin_ops symbol (config ops_name)", 0, 0, 0, 0, NULL },
	{ 0, "engine-key", OPT_LIST, &plugin_opt.engine_keys, "K=V",
	  "an engine private key for the plugin (repeatable)", 0, 0, 0, 0, NULL },
	{ 0, "task-key", OPT_LIST, &plugin_opt.task_keys, "K=V",
	  "a task private key for the plugin (repeatable)", 0, 0, 0, 0, NULL },
	OPT_END
};

const struct rank_ops rank_plugin = {
	.name = "plugin",
	.summary = "a third-party policy in a shared object (etmem/plugin.h)",
	.synopsis = "--lib PATH --ops SYMBOL [--engine-key K=V]... [--task-key K=V]... [OPTIONS]",
	.description =
	    "Loads a ranking policy from a shared object built against\n"
	    "<etmem/plugin.h> and lets it decide, at every period, which pages move.\n"
	    "The host hands it the period's access extents (count summed over the\n"
	    "period's rounds), processes and PERIOD facts, and checks each decision\n"
	    "(known pid, aligned range, valid action) before writing it.\n\n"
	    "The library is checked before it is loaded: an absolute path, every\n"
	    "directory on its real path owned by root and not writable by group or\n"
	    "others (sticky directories excepted), the file itself root:root with\n"
	    "mode 0700 or 0500. Engine-private commands (etmem engine CMD ...) reach\n"
	    "the plugin through --control-fd.",
	.footer =
	    "Exit status: 0 ok; 64 bad option or relative --lib; 65 bad input stream,\n"
	    "the library cannot be loaded, the symbol is missing or has no period\n"
	    "hook; 66 the library does not exist; 69 ABI version or size mismatch;\n"
	    "70 the plugin failed a period or made an invalid decision; 77 owner,\n"
	    "mode or directory check failed; 78 the plugin refused its keys.\n\n"
	    "Example:\n"
	    "  etmem-scan -p 1234 --loop 3 | etmem-rank plugin --lib /usr/lib/etmem/coldest.so \\\n"
	    "      --ops coldest_ops --task-key max_pages=512 | etmem-migrate swap\n"
	    "See docs/PLUGINS.md.",
	.opts = plugin_opts,
	.init = plugin_init,
	.period = plugin_period,
	.fini = plugin_fini,
	.ctl = plugin_ctl,
};
