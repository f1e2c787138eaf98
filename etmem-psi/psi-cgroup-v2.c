/* SPDX-License-Identifier: MIT */
/*
 * psi-cgroup-v2.c - cgroup v2: every file of a cgroup in its one directory
 * (memory.pressure, memory.current, memory.max, memory.min, memory.low,
 * memory.reclaim). The hierarchy is /sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on a hybrid host; it is usable when the root lists "memory" in
 * cgroup.controllers and has memory.pressure (PSI on). Files are recognised
 * by name, not by statfs, so a fixture tree under --sys-root passes too.
 * memory.reclaim needs Linux 5.19.
 */
#include "psi.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "procfs.h"

/* 1 if the cgroup.controllers file in dir lists memory, 0 if not, -1 if
 * there is no such file (not a cgroup2 root). */
static int
v2_has_memory(const char *dir, char *list, size_t len)
{
	char path[PATH_MAX], copy[512];
	struct err e;
	char *tok, *save;

	if (psi_cg_path(path, sizeof(path), dir, "cgroup.controllers", NULL, &e) < 0 ||
	    procfs_read_file(path, list, len, &e) < 0)
		return -1;
	list[strcspn(list, "\n")] = '\0';
	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		if (strcmp(tok, "memory") == 0)
			return 1;
	return 0;
}

static int
v2_probe(const char *base, struct psi_env *env, struct err *e)
{
	char dir[PATH_MAX], list[512], path[PATH_MAX];
	const char *at = dir;
	int r;

	/* Pure v2 first, then the hybrid layout's unified mount. */
	snprintf(dir, sizeof(dir), "%s", base);
	r = v2_has_memory(dir, list, sizeof(list));
	if (r < 0 && psi_cg_path(dir, sizeof(dir), base, "unified", NULL, e) == 0)
		r = v2_has_memory(dir, list, sizeof(list));
	if (r < 0)
		return err_set(e, EX_UNAVAILABLE, 0,
		    "no cgroup2 hierarchy at '%s' or '%s/unified' (no cgroup.controllers)",
		    base, base);
	if (r == 0)
		return err_set(e, EX_UNAVAILABLE, 0,
		    "cgroup2 at '%s' has no memory controller (cgroup.controllers: %s)",
		    at, list[0] != '\0' ? list : "empty");
	if (psi_cg_path(path, sizeof(path), at, "memory.pressure", NULL, e) < 0)
		return -1;
	if (access(path, R_OK) != 0)
		return err_set(e, EX_UNAVAILABLE, errno,
		    "cgroup2 at '%s' has no memory.pressure (CONFIG_PSI, boot with psi=1)",
		    at);
	snprintf(env->root, sizeof(env->root), "%s", at);
	snprintf(env->mem_root, sizeof(env->mem_root), "%s", at);
	return 0;
}

static int
v2_lookup(const struct psi_env *env, const char *rel, uint64_t *ino, struct err *e)
{
	char path[PATH_MAX];
	struct stat st;

	if (psi_cg_path(path, sizeof(path), env->root, rel, NULL, e) < 0)
		return -1;
	if (stat(path, &st) < 0)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_OSERR, errno,
		    "cannot stat cgroup '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return err_set(e, EX_NOINPUT, ENOTDIR, "cgroup '%s'", path);
	}
	*ino = (uint64_t)st.st_ino;
	return 0;
}

/* Read one optional protection (min/low): absent means 0. */
static int
v2_optional(const struct psi_env *env, const char *rel, const char *file,
    uint64_t *out, struct err *e)
{
	char path[PATH_MAX];

	*out = 0;
	if (psi_cg_path(path, sizeof(path), env->root, rel, file, e) < 0)
		return -1;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	return psi_read_bytes(path, out, e);
}

static int
v2_usage(const struct psi_env *env, const char *rel, uint64_t *usage, struct err *e)
{
	char path[PATH_MAX];

	if (psi_cg_path(path, sizeof(path), env->root, rel, "memory.current", e) < 0)
		return -1;
	return psi_read_bytes(path, usage, e);
}

static int
v2_sample(const struct psi_env *env, const char *rel, struct psi_sample *s,
    struct err *e)
{
	char path[PATH_MAX];

	if (psi_cg_path(path, sizeof(path), env->root, rel, "memory.pressure", e) < 0 ||
	    psi_read_pressure(path, &s->avg10, &s->avg60, e) < 0)
		return -1;
	if (v2_usage(env, rel, &s->usage, e) < 0) {
		/* The directory is there but the file is not: the parent
		 * does not delegate the memory controller to it. */
		if (e->errnum == ENOENT)
			err_prefix(e, "memory controller not enabled for '%s' "
			    "(add +memory to its parent's cgroup.subtree_control)", rel);
		return -1;
	}
	if (psi_cg_path(path, sizeof(path), env->root, rel, "memory.max", e) < 0 ||
	    psi_read_bytes(path, &s->limit, e) < 0)
		return -1;
	if (v2_optional(env, rel, "memory.min", &s->min, e) < 0 ||
	    v2_optional(env, rel, "memory.low", &s->low, e) < 0)
		return -1;
	return 0;
}

static int
v2_reclaim(const struct psi_env *env, const char *rel, uint64_t bytes, struct err *e)
{
	char path[PATH_MAX];

	if (psi_cg_path(path, sizeof(path), env->root, rel, "memory.reclaim", e) < 0)
		return -1;
	return psi_write_reclaim(path, bytes, e);
}

const struct psi_cg_ops psi_cgroup_v2 = {
	.name = "cgroup2",
	.probe = v2_probe,
	.lookup = v2_lookup,
	.sample = v2_sample,
	.usage = v2_usage,
	.reclaim = v2_reclaim,
};
