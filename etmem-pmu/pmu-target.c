/* SPDX-License-Identifier: MIT */
/*
 * pmu-target.c - the processes a period samples and the VMAs whose pages
 * get counts.
 *
 * Same rules as etmem-scan: -p pids are fixed at start with their start
 * time (a reused pid is not the target), -n NAME is re-resolved each period
 * (matches plus their direct children), VMAs follow the original's
 * anon_only rule without kernel specials or PROT_NONE guards. VMAs come
 * from smaps because the page size depends on VmFlags (ht, hg, nh) and
 * KernelPageSize; they are re-read only every --vma-updata-rate periods
 * or when the set of targets changes, as the original did. This logic
 * mirrors etmem-scan/scan-target.c and belongs in lib/ once both agree.
 */
#include "pmu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "log.h"
#include "procfs.h"

int
pmu_targets_init(struct pmu_targets *ts, const struct pmu_config *cfg,
    struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[128];
	struct err ignore;
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
			return -1;      /* "no process N", EX_NOINPUT */
		for (k = 0; k < ts->npids && ts->pids[k] != cfg->pids[i]; k++)
			;
		if (k < ts->npids)
			continue;
		ts->pids[ts->npids] = cfg->pids[i];
		ts->start_times[ts->npids++] = st.start_time;
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
	/* THP "always" makes every anonymous VMA huge-page eligible unless it
	 * opted out (nh); absent file = no THP. */
	if (sysfs_path(path, sizeof(path), "kernel/mm/transparent_hugepage/enabled") == 0 &&
	    procfs_read_file(path, buf, sizeof(buf), &ignore) > 0)
		ts->thp_always = strstr(buf, "[always]") != NULL;
	return 0;
}

static void
free_targets(struct pmu_targets *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->v[i].vmas);
	free(ts->v);
	ts->v = NULL;
	ts->n = 0;
}

void
pmu_targets_free(struct pmu_targets *ts)
{
	free_targets(ts);
	free(ts->pids);
	free(ts->start_times);
	memset(ts, 0, sizeof(*ts));
}

/* Is the two-letter VmFlags token among the space-separated flags? */
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
pmu_vma_select(const struct proc_vma *pv, int anon_only, int thp_always,
    pid_t pid, struct etmr_vma *out)
{
	if (procfs_vma_is_special(pv) || pv->end <= pv->start)
		return 0;
	if (anon_only && !procfs_vma_is_anon(pv))
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
	if (has_vmflag(pv->vmflags, "ht")) {
		out->flags |= ETMR_F_HUGETLB;
		if (pv->kernel_page_kb == 2048)
			out->size = ETMR_SIZE_2M;
		else if (pv->kernel_page_kb == 1048576)
			out->size = ETMR_SIZE_1G;
	} else if (pv->inode == 0 && pv->perms[3] == 'p' &&
	    !has_vmflag(pv->vmflags, "nh") &&
	    (has_vmflag(pv->vmflags, "hg") || thp_always)) {
		/* Size stays 4K: only the 2 MiB blocks wholly inside the VMA
		 * can be huge; pmu-map.c decides per sample. */
		out->flags |= ETMR_F_THP;
	}
	return 1;
}

struct vma_list {
	struct pmu_target *t;
	int anon_only, thp_always;
	size_t cap;
};

static int
vma_add(const struct proc_vma *pv, void *arg)
{
	struct vma_list *l = arg;
	struct etmr_vma v;

	if (!pmu_vma_select(pv, l->anon_only, l->thp_always, l->t->pid, &v))
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

/* Fill one target; 0 ok, 1 gone, -1 error. */
static int
target_load(struct pmu_targets *ts, struct pmu_target *t, pid_t pid,
    uint64_t want_start, int anon_only, struct err *e)
{
	struct vma_list l = { t, anon_only, ts->thp_always, 0 };
	struct proc_stat st;
	int rc;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (procfs_pid_stat(pid, &st, e) < 0)
		return e->code == EX_NOINPUT ? 1 : -1;
	if ((want_start != 0 && st.start_time != want_start) || st.state == 'Z')
		return 1;
	t->start_time = st.start_time;
	rc = procfs_smaps_each(pid, vma_add, &l, e);
	if (rc == -ENOMEM)
		rc = err_set(e, EX_OSERR, ENOMEM, "VMAs of %d", (int)pid);
	if (rc < 0) {
		free(t->vmas);
		memset(t, 0, sizeof(*t));
		return e->code == EX_NOINPUT ? 1 : -1;
	}
	return 0;
}

/* The sorted, unique pids of this period; returns the count or -1. */
static int
resolve(struct pmu_targets *ts, const struct pmu_config *cfg, pid_t *pids,
    struct err *e)
{
	size_t n = 0, i, o = 0;

	for (i = 0; i < ts->npids; i++) {
		if (procfs_pid_alive(ts->pids[i], ts->start_times[i]) == 1) {
			pids[n++] = ts->pids[i];
			continue;
		}
		log_info("pmu: target %d has exited", (int)ts->pids[i]);
		ts->pids[i] = ts->pids[ts->npids - 1];
		ts->start_times[i] = ts->start_times[ts->npids - 1];
		ts->npids--;
		i--;
	}
	if (cfg->name != NULL) {
		int m = procfs_find_by_name(cfg->name, pids + n,
		    PMU_TARGETS_MAX - n, e);

		if (m < 0)
			return -1;
		if ((size_t)m > PMU_TARGETS_MAX - n) {
			log_warnx("pmu: '%s' matches %d processes; sampling the "
			    "first %zu", cfg->name, m, PMU_TARGETS_MAX - n);
			m = (int)(PMU_TARGETS_MAX - n);
		}
		n += (size_t)m;
	}
	qsort(pids, n, sizeof(*pids), pid_cmp);
	for (i = 0; i < n; i++)
		if (o == 0 || pids[o - 1] != pids[i])
			pids[o++] = pids[i];
	return (int)o;
}

int
pmu_targets_refresh(struct pmu_targets *ts, const struct pmu_config *cfg,
    int load_vmas, int *changed, struct err *e)
{
	pid_t *pids = calloc(PMU_TARGETS_MAX, sizeof(*pids));
	int n, rc = 0;
	size_t i, k;

	*changed = 0;
	if (pids == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "targets");
	if ((n = resolve(ts, cfg, pids, e)) < 0) {
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
	free_targets(ts);
	if ((ts->v = calloc((size_t)n + 1, sizeof(*ts->v))) == NULL) {
		free(pids);
		return err_set(e, EX_OSERR, ENOMEM, "targets");
	}
	for (i = 0; i < (size_t)n; i++) {
		uint64_t want = 0;
		int r;

		for (k = 0; k < ts->npids; k++)
			if (ts->pids[k] == pids[i])
				want = ts->start_times[k];
		r = target_load(ts, &ts->v[ts->n], pids[i], want, cfg->anon_only, e);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r == 0)
			ts->n++;
		else
			*changed = 1;   /* gone between resolve and load */
	}
	free(pids);
	return rc < 0 ? -1 : (int)ts->n;
}
