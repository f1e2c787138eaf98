/* SPDX-License-Identifier: MIT */
/*
 * psi-expand.c - cg_dir patterns to cgroup names. A pattern is a path below
 * the cgroup root with glob(7) wildcards and {a,b} braces, as the original
 * (isulad/ followed by a star: every child of isulad). It is expanded afresh
 * every round so containers started later are picked up. A name never leaves the root:
 * '..' is refused in the pattern, and each match is resolved (symlinks
 * included) and dropped unless it lies below the root. A leading '/' means
 * the root itself, as in the original, which pasted cg_dir after
 * "/sys/fs/cgroup/cpuacct/". The result is sorted so rounds are reproducible.
 */
#include "psi.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "err.h"

int
psi_pattern_check(const char *pattern, struct err *e)
{
	size_t off = strspn(pattern, "/");
	const char *p;

	if (pattern[off] == '\0')
		return err_set(e, EX_USAGE, 0,
		    "cg_dir '%s' names the cgroup root itself, not a cgroup below it",
		    pattern);
	/* A ".." component, also one produced by brace expansion ({..,x}). */
	for (p = pattern; (p = strstr(p, "..")) != NULL; p += 2) {
		int before = p == pattern || strchr("/{,", p[-1]) != NULL;
		int after = p[2] == '\0' || strchr("/},", p[2]) != NULL;

		if (before && after)
			return err_set(e, EX_USAGE, 0,
			    "cg_dir '%s': '..' would leave the cgroup root", pattern);
	}
	return (int)off;
}

/* Normalise a match below root into "a/b": no repeated, leading or trailing
 * '/', no "." component. Returns NULL for "." / ".." names (".*" matches). */
static char *
rel_name(const char *match, size_t rootlen)
{
	const char *p = match + rootlen;
	char *out, *o;

	out = o = malloc(strlen(p) + 1);
	if (out == NULL)
		return NULL;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return NULL;
		}
		if (!(n == 1 && p[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	if (o == out) {
		free(out);
		return NULL;
	}
	return out;
}

/* Does the resolved match lie strictly below the resolved root? */
static int
below_root(const char *real_root, const char *match)
{
	char real[PATH_MAX];
	size_t n = strlen(real_root);

	if (realpath(match, real) == NULL)
		return 0;       /* vanished meanwhile: not ours to track */
	if (n == 1)             /* root is "/" */
		return real[1] != '\0';
	return strncmp(real, real_root, n) == 0 && real[n] == '/';
}

static int
names_add(struct psi_names *names, char *name, struct err *e)
{
	if (names->n == names->cap) {
		size_t cap = names->cap ? names->cap * 2 : 16;
		char **v = realloc(names->v, cap * sizeof(*v));

		if (v == NULL) {
			free(name);
			return err_set(e, EX_OSERR, ENOMEM, "cannot list cgroups");
		}
		names->v = v;
		names->cap = cap;
	}
	names->v[names->n++] = name;
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Unreadable directories are skipped, not fatal: cgroups come and go. */
static int
glob_err(const char *path, int errnum)
{
	(void)path;
	(void)errnum;
	return 0;
}

static int
expand_one(const char *root, const char *real_root, const char *pattern,
    struct psi_names *out, struct err *e)
{
	char pat[PATH_MAX];
	glob_t g;
	size_t i;
	int off, r;

	if ((off = psi_pattern_check(pattern, e)) < 0)
		return -1;
	r = snprintf(pat, sizeof(pat), "%s/%s", root, pattern + off);
	if (r < 0 || (size_t)r >= sizeof(pat))
		return err_set(e, EX_USAGE, ENAMETOOLONG, "cg_dir '%s'", pattern);
	memset(&g, 0, sizeof(g));
	r = glob(pat, GLOB_BRACE | GLOB_ONLYDIR | GLOB_NOSORT, glob_err, &g);
	if (r == GLOB_NOSPACE) {
		globfree(&g);
		return err_set(e, EX_OSERR, ENOMEM, "cannot expand cg_dir '%s'", pattern);
	}
	for (i = 0; r == 0 && i < g.gl_pathc; i++) {
		const char *m = g.gl_pathv[i];
		struct stat st;
		char *name;

		/* GLOB_ONLYDIR is only a hint to glob(3). */
		if (stat(m, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    !below_root(real_root, m))
			continue;
		if ((name = rel_name(m, strlen(root))) == NULL)
			continue;
		if (names_add(out, name, e) < 0) {
			globfree(&g);
			return -1;
		}
	}
	globfree(&g);
	return 0;
}

int
psi_expand(const char *root, const char *const *patterns, size_t npat,
    struct psi_names *out, struct err *e)
{
	char real_root[PATH_MAX];
	size_t i, j;

	for (i = 0; i < out->n; i++)   /* the last round's names */
		free(out->v[i]);
	out->n = 0;
	/* The root is pasted into the glob pattern: keep it literal. */
	if (root[strcspn(root, "*?[]{}\\")] != '\0')
		return err_set(e, EX_USAGE, 0,
		    "cgroup root '%s' contains glob characters", root);
	if (realpath(root, real_root) == NULL)
		return err_set(e, EX_UNAVAILABLE, errno, "cgroup root '%s'", root);
	for (i = 0; i < npat; i++)
		if (expand_one(root, real_root, patterns[i], out, e) < 0)
			return -1;
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_name);
	/* Overlapping patterns name a cgroup once. */
	for (i = j = 0; i < out->n; i++) {
		if (j > 0 && strcmp(out->v[j - 1], out->v[i]) == 0)
			free(out->v[i]);
		else
			out->v[j++] = out->v[i];
	}
	out->n = j;
	return 0;
}

void
psi_names_free(struct psi_names *names)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = names->cap = 0;
}
