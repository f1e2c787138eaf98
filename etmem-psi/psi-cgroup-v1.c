/* SPDX-License-Identifier: MIT */
/*
 * psi-cgroup-v1.c - openEuler's cgroup v1 extensions, what the original psi
 * engine drove: per-cgroup PSI in cpuacct/<cg>/memory.pressure
 * (CONFIG_PSI_CGROUP_V1, boot with psi=1 psi_v1=1) and memory/<cg>/
 * memory.reclaim (CONFIG_MEMCG_V1_RECLAIM), next to the mainline
 * memory.usage_in_bytes and memory.limit_in_bytes; memory.min/low when the
 * kernel exports them to v1. cg_dir patterns expand below cpuacct/, and a
 * match counts only if memory/ has the same directory (as the original).
 * A mainline v1 hierarchy has neither extension; probe says which is missing.
 */
#include "psi.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"

static int
v1_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];

	return psi_cg_path(path, sizeof(path), dir, file, NULL, NULL) == 0 &&
	    access(path, F_OK) == 0;
}

static int
v1_probe(const char *base, struct psi_env *env, struct err *e)
{
	char cpuacct[PATH_MAX], memory[PATH_MAX];
	int has_reclaim, has_pressure;

	if (psi_cg_path(cpuacct, sizeof(cpuacct), base, "cpuacct", NULL, e) < 0 ||
	    psi_cg_path(memory, sizeof(memory), base, "memory", NULL, e) < 0)
		return -1;
	if (!v1_exists(memory, "memory.usage_in_bytes"))
		return err_set(e, EX_UNAVAILABLE, 0,
		    "no cgroup v1 memory hierarchy at '%s'", memory);
	if (!v1_exists(cpuacct, "cpuacct.usage") &&
	    !v1_exists(cpuacct, "cgroup.procs"))
		return err_set(e, EX_UNAVAILABLE, 0,
		    "no cgroup v1 cpuacct hierarchy at '%s'", cpuacct);
	has_reclaim = v1_exists(memory, "memory.reclaim");
	has_pressure = v1_exists(cpuacct, "memory.pressure");
	if (!has_reclaim || !has_pressure)
		return err_set(e, EX_UNAVAILABLE, 0,
		    "cgroup v1 without openEuler's extensions: %s%s%s",
		    has_pressure ? "" : "no memory.pressure in cpuacct "
		    "(CONFIG_PSI_CGROUP_V1, boot with psi=1 psi_v1=1)",
		    !has_pressure && !has_reclaim ? ", " : "",
		    has_reclaim ? "" : "no memory.reclaim in memory "
		    "(CONFIG_MEMCG_V1_RECLAIM)");
	snprintf(env->root, sizeof(env->root), "%s", cpuacct);
	snprintf(env->mem_root, sizeof(env->mem_root), "%s", memory);
	return 0;
}

static int
v1_dir(const char *root, const char *rel, struct stat *st, struct err *e)
{
	char path[PATH_MAX];

	if (psi_cg_path(path, sizeof(path), root, rel, NULL, e) < 0)
		return -1;
	if (stat(path, st) < 0)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_OSERR, errno,
		    "cannot stat cgroup '%s'", path);
	if (!S_ISDIR(st->st_mode)) {
		errno = ENOTDIR;
		return err_set(e, EX_NOINPUT, ENOTDIR, "cgroup '%s'", path);
	}
	return 0;
}

static int
v1_lookup(const struct psi_env *env, const char *rel, uint64_t *ino, struct err *e)
{
	struct stat st, mst;

	if (v1_dir(env->root, rel, &st, e) < 0 || v1_dir(env->mem_root, rel, &mst, e) < 0)
		return -1;
	*ino = (uint64_t)st.st_ino;  /* the original keyed cgroups by this one */
	return 0;
}

static int
v1_optional(const struct psi_env *env, const char *rel, const char *file,
    uint64_t *out, struct err *e)
{
	char path[PATH_MAX];

	*out = 0;
	if (psi_cg_path(path, sizeof(path), env->mem_root, rel, file, e) < 0)
		return -1;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	return psi_read_bytes(path, out, e);
}

static int
v1_usage(const struct psi_env *env, const char *rel, uint64_t *usage, struct err *e)
{
	char path[PATH_MAX];

	if (psi_cg_path(path, sizeof(path), env->mem_root, rel,
	    "memory.usage_in_bytes", e) < 0)
		return -1;
	return psi_read_bytes(path, usage, e);
}

static int
v1_sample(const struct psi_env *env, const char *rel, struct psi_sample *s,
    struct err *e)
{
	char path[PATH_MAX];

	if (psi_cg_path(path, sizeof(path), env->root, rel, "memory.pressure", e) < 0 ||
	    psi_read_pressure(path, &s->avg10, &s->avg60, e) < 0)
		return -1;
	if (v1_usage(env, rel, &s->usage, e) < 0)
		return -1;
	if (psi_cg_path(path, sizeof(path), env->mem_root, rel,
	    "memory.limit_in_bytes", e) < 0 ||
	    psi_read_bytes(path, &s->limit, e) < 0)
		return -1;
	if (v1_optional(env, rel, "memory.min", &s->min, e) < 0 ||
	    v1_optional(env, rel, "memory.low", &s->low, e) < 0)
		return -1;
	return 0;
}

static int
v1_reclaim(const struct psi_env *env, const char *rel, uint64_t bytes, struct err *e)
{
	char path[PATH_MAX];

	if (psi_cg_path(path, sizeof(path), env->mem_root, rel, "memory.reclaim", e) < 0)
		return -1;
	return psi_write_reclaim(path, bytes, e);
}

const struct psi_cg_ops psi_cgroup_v1 = {
	.name = "cgroup1-openeuler",
	.probe = v1_probe,
	.lookup = v1_lookup,
	.sample = v1_sample,
	.usage = v1_usage,
	.reclaim = v1_reclaim,
};
