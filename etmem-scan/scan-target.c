/* SPDX-License-Identifier: MIT */
/*
 * scan-target.c - which processes and which of their VMAs a period scans.
 *
 * -p pids are fixed at start (with their start time, so a reused pid is not
 * mistaken for the target); -n NAME is re-resolved every period, matches
 * plus their direct children as the original does. VMA selection follows the
 * original's anon_only rule (private, not exec, anonymous or writable) and
 * its --vm-flags ht (hugetlb only), and always drops kernel specials such as
 * [vvar] and [vsyscall]. This file does not scan anything.
 */
#include "scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "log.h"
#include "procfs.h"

int
scan_targets_init(struct scan_targets *ts, const struct scan_config *cfg,
    struct err *e)
{
	int i;

	memset(ts, 0, sizeof(*ts));
	if (cfg->npids > 0) {
		ts->pids = calloc((size_t)cfg->npids, sizeof(*ts->pids));
		ts->start_times = calloc((size_t)cfg->npids, sizeof(*ts->start_times));
		if (ts->pids == NULL || ts->start_times == NULL)
			return err_set(e, EX_OSERR, ENOMEM, "targets");
	}
	for (i = 0; i < cfg->npids; i++) {
		struct proc_stat st;
		size_t k;

		if (procfs_pid_stat(cfg->pids[i], &st, e) < 0)
			return -1;      /* "no process 1234", EX_NOINPUT */
		for (k = 0; k < ts->npids; k++)
			if (ts->pids[k] == cfg->pids[i])
				break;
		if (k < ts->npids)
			continue;       /* -p given twice */
		ts->pids[ts->npids] = cfg->pids[i];
		ts->start_times[ts->npids] = st.start_time;
		ts->npids++;
	}
	if (cfg->name != NULL) {
		pid_t one;
		int n = procfs_find_by_name(cfg->name, &one, 1, e);

		if (n < 0)
			return -1;
		if (n == 0)
			return err_set(e, EX_NOINPUT, 0, "no process named '%s'",
			    cfg->name);
	}
	return 0;
}

void
scan_targets_free(struct scan_targets *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->v[i].vmas);
	free(ts->v);
	free(ts->pids);
	free(ts->start_times);
	memset(ts, 0, sizeof(*ts));
}

static uint8_t
prot_of(const char *perms)
{
	uint8_t p = 0;

	if (perms[0] == 'r')
		p |= ETMR_PROT_READ;
	if (perms[1] == 'w')
		p |= ETMR_PROT_WRITE;
	if (perms[2] == 'x')
		p |= ETMR_PROT_EXEC;
	if (perms[3] == 's')
		p |= ETMR_PROT_SHARED;
	return p;
}

/* Is the two-letter VmFlags token tok among the space-separated flags? */
static int
has_vmflag(const char *flags, const char *tok)
{
	size_t n = strlen(tok);
	const char *p = flags;

	while ((p = strstr(p, tok)) != NULL) {
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

int
scan_vma_select(const struct proc_vma *pv, const struct scan_env *env,
    pid_t pid, struct etmr_vma *out)
{
	int hugetlb = has_vmflag(pv->vmflags, "ht");

	if (procfs_vma_is_special(pv) || pv->end <= pv->start)
		return 0;
	if (env->anon_only && !procfs_vma_is_anon(pv))
		return 0;
	if (env->hugetlb_only && !hugetlb)
		return 0;
	/* A PROT_NONE mapping (guard pages) has no accessible memory. */
	if (strncmp(pv->perms, "---", 3) == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->start = pv->start;
	out->end = pv->end;
	out->pid = (uint32_t)pid;
	out->node = ETMR_NODE_NONE;
	out->prot = prot_of(pv->perms);
	out->flags = pv->inode == 0 ? ETMR_F_ANON : ETMR_F_FILE;
	if (pv->perms[3] == 's')
		out->flags |= ETMR_F_SHARED;
	out->size = ETMR_SIZE_4K;
	if (hugetlb) {
		out->flags |= ETMR_F_HUGETLB;
		if (pv->kernel_page_kb == 2048)
			out->size = ETMR_SIZE_2M;
		else if (pv->kernel_page_kb == 1048576)
			out->size = ETMR_SIZE_1G;
	}
	return 1;
}

struct vma_list {
	struct scan_target *t;
	const struct scan_env *env;
	size_t cap;
};

static int
vma_add(const struct proc_vma *pv, void *arg)
{
	struct vma_list *l = arg;
	struct etmr_vma v;

	if (!scan_vma_select(pv, l->env, l->t->pid, &v))
		return 0;
	if (l->t->nvmas == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct etmr_vma *nv = realloc(l->t->vmas, ncap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		l->t->vmas = nv;
		l->cap = ncap;
	}
	l->t->vmas[l->t->nvmas++] = v;
	return 0;
}

static int
pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Fill one target; 0 ok, 1 gone (skip it), -1 error. */
static int
target_load(struct scan_target *t, pid_t pid, uint64_t want_start,
    const struct scan_env *env, struct err *e)
{
	struct vma_list l = { t, env, 0 };
	struct proc_stat st;
	int rc;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (procfs_pid_stat(pid, &st, e) < 0)
		return e->code == EX_NOINPUT ? 1 : -1;
	if ((want_start != 0 && st.start_time != want_start) || st.state == 'Z')
		return 1;
	t->start_time = st.start_time;
	/* smaps costs a page-table walk; only VmFlags needs it. */
	rc = env->hugetlb_only ? procfs_smaps_each(pid, vma_add, &l, e) :
	    procfs_maps_each(pid, vma_add, &l, e);
	if (rc == -ENOMEM)
		rc = err_set(e, EX_OSERR, ENOMEM, "VMAs of %d", (int)pid);
	if (rc < 0) {
		free(t->vmas);
		t->vmas = NULL;
		t->nvmas = 0;
		return e->code == EX_NOINPUT ? 1 : -1;
	}
	return 0;
}

int
scan_targets_refresh(struct scan_targets *ts, const struct scan_config *cfg,
    const struct scan_env *env, struct err *e)
{
	pid_t *pids;
	size_t n = 0, i, k;
	int rc = 0;

	for (i = 0; i < ts->n; i++)
		free(ts->v[i].vmas);
	free(ts->v);
	ts->v = NULL;
	ts->n = 0;
	pids = calloc(SCAN_TARGETS_MAX, sizeof(*pids));
	ts->v = calloc(SCAN_TARGETS_MAX, sizeof(*ts->v));
	if (pids == NULL || ts->v == NULL) {
		free(pids);
		return err_set(e, EX_OSERR, ENOMEM, "targets");
	}
	for (i = 0; i < ts->npids; i++)
		pids[n++] = ts->pids[i];
	if (cfg->name != NULL) {
		int m = procfs_find_by_name(cfg->name, pids + n,
		    SCAN_TARGETS_MAX - n, e);

		if (m < 0) {
			free(pids);
			return -1;
		}
		if ((size_t)m > SCAN_TARGETS_MAX - n) {
			log_warnx("scan: '%s' matches %d processes; scanning the "
			    "first %zu", cfg->name, m, SCAN_TARGETS_MAX - n);
			m = (int)(SCAN_TARGETS_MAX - n);
		}
		n += (size_t)m;
	}
	qsort(pids, n, sizeof(*pids), pid_cmp);
	for (i = 0; i < n; i++) {
		uint64_t want = 0;
		int r;

		if (i > 0 && pids[i] == pids[i - 1])
			continue;
		for (k = 0; k < ts->npids; k++)
			if (ts->pids[k] == pids[i])
				want = ts->start_times[k];
		r = target_load(&ts->v[ts->n], pids[i], want, env, e);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r == 0) {
			ts->n++;
			continue;
		}
		/* Gone: a -p target is dropped for good. */
		for (k = 0; k < ts->npids; k++)
			if (ts->pids[k] == pids[i]) {
				log_info("scan: target %d has exited", (int)pids[i]);
				ts->pids[k] = ts->pids[ts->npids - 1];
				ts->start_times[k] = ts->start_times[ts->npids - 1];
				ts->npids--;
				break;
			}
	}
	free(pids);
	return rc < 0 ? -1 : (int)ts->n;
}
