/* SPDX-License-Identifier: MIT */
/*
 * source-target.c - which processes and which of their VMAs a source
 * stage's period watches.
 *
 * -p pids are fixed at start with their start time, so a reused pid is not
 * mistaken for the target; -n NAME is re-resolved every period, matches
 * plus their direct children as the original does. VMA selection follows
 * the original's anon_only rule and its --vm-flags ht (hugetlb only), and
 * always drops kernel specials such as [vvar] and PROT_NONE guards. This
 * file reads /proc only; it samples or scans nothing.
 */
#include "source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "procfs.h"

int
source_targets_init(struct source_targets *ts, const struct source_spec *spec,
    struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[128];
	struct err ignore;
	int i;

	memset(ts, 0, sizeof(*ts));
	ts->spec = *spec;
	if (spec->npids > 0) {
		ts->pids = calloc((size_t)spec->npids, sizeof(*ts->pids));
		ts->start_times = calloc((size_t)spec->npids, sizeof(*ts->start_times));
		ts->exited = calloc((size_t)spec->npids, sizeof(*ts->exited));
		if (ts->pids == NULL || ts->start_times == NULL || ts->exited == NULL)
			return err_set(e, EX_OSERR, ENOMEM, "targets");
	}
	for (i = 0; i < spec->npids; i++) {
		struct proc_stat st;
		size_t k;

		if (procfs_pid_stat(spec->pids[i], &st, e) < 0)
			return -1;      /* "no process 1234", EX_NOINPUT */
		for (k = 0; k < ts->npids && ts->pids[k] != spec->pids[i]; k++)
			;
		if (k < ts->npids)
			continue;       /* -p given twice */
		ts->pids[ts->npids] = spec->pids[i];
		ts->start_times[ts->npids++] = st.start_time;
	}
	if (spec->name != NULL) {
		pid_t one;
		int n = procfs_find_by_name(spec->name, &one, 1, e);

		if (n < 0)
			return -1;
		if (n == 0 && !spec->wait_for_name)
			return err_set(e, EX_NOINPUT, 0, "no process named '%s'",
			    spec->name);
	}
	/* THP "always" makes every anonymous VMA huge-page eligible unless it
	 * opted out (nh); no file = no THP. Read once: it rarely changes. */
	ts->spec.vma.thp_always = 0;
	if (spec->vma.thp &&
	    sysfs_path(path, sizeof(path), "kernel/mm/transparent_hugepage/enabled") == 0 &&
	    procfs_read_file(path, buf, sizeof(buf), &ignore) > 0)
		ts->spec.vma.thp_always = strstr(buf, "[always]") != NULL;
	return 0;
}

static void
free_period(struct source_targets *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->v[i].vmas);
	free(ts->v);
	ts->v = NULL;
	ts->n = 0;
}

void
source_targets_free(struct source_targets *ts)
{
	free_period(ts);
	free(ts->pids);
	free(ts->start_times);
	free(ts->exited);
	memset(ts, 0, sizeof(*ts));
}

/* Is the two-letter VmFlags token tok among the space-separated flags? */
static int
has_vmflag(const char *flags, const char *tok)
{
	const char *p = flags;

	while ((p = strstr(p, tok)) != NULL) {
		if ((p == flags || p[-1] == ' ') && (p[2] == ' ' || p[2] == '\0'))
			return 1;
		p += 2;
	}
	return 0;
}

int
source_vma_select(const struct proc_vma *pv, const struct source_vma_rules *r,
    pid_t pid, struct etmr_vma *out)
{
	int hugetlb = has_vmflag(pv->vmflags, "ht");

	if (procfs_vma_is_special(pv) || pv->end <= pv->start)
		return 0;
	if (r->anon_only && !procfs_vma_is_anon(pv))
		return 0;
	if (r->hugetlb_only && !hugetlb)
		return 0;
	if (strncmp(pv->perms, "---", 3) == 0)
		return 0;       /* guard pages: nothing can be accessed */
	memset(out, 0, sizeof(*out));
	out->start = pv->start;
	out->end = pv->end;
	out->pid = (uint32_t)pid;
	out->node = ETMR_NODE_NONE;
	out->prot = (pv->perms[0] == 'r' ? ETMR_PROT_READ : 0) |
	    (pv->perms[1] == 'w' ? ETMR_PROT_WRITE : 0) |
	    (pv->perms[2] == 'x' ? ETMR_PROT_EXEC : 0) |
	    (pv->perms[3] == 's' ? ETMR_PROT_SHARED : 0);
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
	} else if (r->thp && pv->inode == 0 && pv->perms[3] == 'p' &&
	    !has_vmflag(pv->vmflags, "nh") &&
	    (has_vmflag(pv->vmflags, "hg") || r->thp_always)) {
		/* Size stays 4K: only the 2 MiB blocks wholly inside the VMA
		 * can be huge; the user of T decides per page. */
		out->flags |= ETMR_F_THP;
	}
	return 1;
}

struct vma_list {
	struct source_target *t;
	const struct source_vma_rules *rules;
	size_t cap;
};

static int
vma_add(const struct proc_vma *pv, void *arg)
{
	struct vma_list *l = arg;
	struct etmr_vma v;

	if (!source_vma_select(pv, l->rules, l->t->pid, &v))
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
target_load(const struct source_targets *ts, struct source_target *t,
    pid_t pid, uint64_t want_start, struct err *e)
{
	const struct source_vma_rules *r = &ts->spec.vma;
	struct vma_list l = { t, r, 0 };
	struct proc_stat st;
	int rc;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (procfs_pid_stat(pid, &st, e) < 0)
		return e->code == EX_NOINPUT ? 1 : -1;
	if ((want_start != 0 && st.start_time != want_start) || st.state == 'Z')
		return 1;
	t->start_time = st.start_time;
	/* smaps costs a page-table walk; only VmFlags and KernelPageSize
	 * (hugetlb, THP) need it. */
	rc = r->hugetlb_only || r->thp ? procfs_smaps_each(pid, vma_add, &l, e) :
	    procfs_maps_each(pid, vma_add, &l, e);
	if (rc == -ENOMEM)
		rc = err_set(e, EX_OSERR, ENOMEM, "VMAs of %d", (int)pid);
	if (rc < 0) {
		free(t->vmas);
		memset(t, 0, sizeof(*t));
		return e->code == EX_NOINPUT ? 1 : -1;
	}
	return 0;
}

/* Forget -p target i for good and note it for the caller's log. */
static void
drop_pid(struct source_targets *ts, size_t i)
{
	ts->exited[ts->nexited++] = ts->pids[i];
	ts->pids[i] = ts->pids[ts->npids - 1];
	ts->start_times[i] = ts->start_times[ts->npids - 1];
	ts->npids--;
}

/* The sorted, unique pids of this period; returns the count or -1. */
static int
resolve(struct source_targets *ts, pid_t *pids, struct err *e)
{
	size_t n = 0, i, o = 0;

	for (i = 0; i < ts->npids; i++) {
		/* -1 (an odd /proc error) is left for target_load to report. */
		if (procfs_pid_alive(ts->pids[i], ts->start_times[i]) != 0) {
			pids[n++] = ts->pids[i];
			continue;
		}
		drop_pid(ts, i);
		i--;
	}
	if (ts->spec.name != NULL) {
		int m = procfs_find_by_name(ts->spec.name, pids + n,
		    SOURCE_TARGETS_MAX - n, e);

		if (m < 0)
			return -1;
		ts->name_matches = (size_t)m;
		if ((size_t)m > SOURCE_TARGETS_MAX - n)
			m = (int)(SOURCE_TARGETS_MAX - n);
		ts->name_kept = (size_t)m;
		n += (size_t)m;
	}
	qsort(pids, n, sizeof(*pids), pid_cmp);
	for (i = 0; i < n; i++)
		if (o == 0 || pids[o - 1] != pids[i])
			pids[o++] = pids[i];
	return (int)o;
}

int
source_targets_refresh(struct source_targets *ts, int load_vmas, int *changed,
    struct err *e)
{
	pid_t *pids = calloc(SOURCE_TARGETS_MAX, sizeof(*pids));
	int n, rc = 0;
	size_t i, k;

	*changed = 0;
	ts->nexited = 0;
	ts->name_matches = ts->name_kept = 0;
	if (pids == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "targets");
	if ((n = resolve(ts, pids, e)) < 0) {
		free(pids);
		return -1;
	}
	if ((size_t)n != ts->n)
		*changed = 1;
	for (i = 0; i < ts->n && !*changed; i++)
		if (ts->v[i].pid != pids[i])
			*changed = 1;
	if (!*changed && !load_vmas) {
		free(pids);
		return (int)ts->n;
	}
	free_period(ts);
	if ((ts->v = calloc((size_t)n + 1, sizeof(*ts->v))) == NULL) {
		free(pids);
		return err_set(e, EX_OSERR, ENOMEM, "targets");
	}
	for (i = 0; i < (size_t)n; i++) {
		uint64_t want = 0;
		int r;

		for (k = 0; k < ts->npids && ts->pids[k] != pids[i]; k++)
			;
		if (k < ts->npids)
			want = ts->start_times[k];
		r = target_load(ts, &ts->v[ts->n], pids[i], want, e);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r == 0) {
			ts->n++;
			continue;
		}
		/* Gone between resolve and load: a -p target is gone for good. */
		*changed = 1;
		if (k < ts->npids)
			drop_pid(ts, k);
	}
	free(pids);
	return rc < 0 ? -1 : (int)ts->n;
}
