/* SPDX-License-Identifier: MIT */
/*
 * pmu-open.c - open the sampling events and map their ring buffers.
 *
 * One event per (event, target thread, online CPU), opened with inherit so
 * threads and children created later are sampled too. The kernel refuses
 * to mmap an inherited per-task event with cpu = -1, hence per CPU (as the
 * original and perf record do). All events of one CPU write into a single
 * ring through PERF_EVENT_IOC_SET_OUTPUT, so the core polls one fd per
 * CPU, not one per event. The ring is sized from the real page size (the
 * original hard-coded 4096, wrong on 64 KiB-page arm64). Nothing is read
 * here; pmu-ring.c parses the rings.
 */
#include "pmu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "procfs.h"

/* Online CPUs from sysfs ("0-3,5"); all configured CPUs if unreadable. */
static int
online_cpus(struct pmu_evset *s, struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[4096], *p;
	struct err ignore;
	long n = sysconf(_SC_NPROCESSORS_CONF);
	size_t cap = n > 0 ? (size_t)n : 1;

	if ((s->cpus = calloc(cap, sizeof(*s->cpus))) == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "CPU list");
	s->ncpus = 0;
	if (sysfs_path(path, sizeof(path), "devices/system/cpu/online") == 0 &&
	    procfs_read_file(path, buf, sizeof(buf), &ignore) > 0) {
		for (p = buf; *p != '\0' && *p != '\n';) {
			char *end;
			long a = strtol(p, &end, 10), b = a;

			if (end == p)
				break;
			if (*end == '-')
				b = strtol(end + 1, &end, 10);
			for (; a <= b && s->ncpus < cap; a++)
				s->cpus[s->ncpus++] = (int)a;
			p = *end == ',' ? end + 1 : end;
		}
	}
	if (s->ncpus == 0)
		for (; s->ncpus < cap; s->ncpus++)
			s->cpus[s->ncpus] = (int)s->ncpus;
	return 0;
}

static int
add_fd(struct pmu_evset *s, int fd)
{
	if (s->nfds == s->capfds) {
		size_t ncap = s->capfds ? s->capfds * 2 : 64;
		int *nf = realloc(s->fds, ncap * sizeof(*nf));

		if (nf == NULL)
			return -1;
		s->fds = nf;
		s->capfds = ncap;
	}
	s->fds[s->nfds++] = fd;
	return 0;
}

static int
open_error(int errnum, const struct pmu_event *ev, pid_t tid, int cpu,
    struct err *e)
{
	char path[PROCFS_PATH_MAX], buf[32] = "?";
	struct err ignore;

	if (errnum == EACCES || errnum == EPERM) {
		if (procfs_path(path, sizeof(path), "sys/kernel/perf_event_paranoid") == 0 &&
		    procfs_read_file(path, buf, sizeof(buf), &ignore) > 0)
			buf[strcspn(buf, "\n")] = '\0';
		return err_set(e, EX_NOPERM, errnum, "perf_event_open(%s, pid %d, "
		    "cpu %d) (kernel.perf_event_paranoid=%s; sampling another "
		    "process needs ptrace access or CAP_PERFMON)", ev->name,
		    (int)tid, cpu, buf);
	}
	return err_set(e, errnum == EMFILE || errnum == ENFILE || errnum == ENOMEM ?
	    EX_OSERR : EX_UNAVAILABLE, errnum, "perf_event_open(%s, pid %d, cpu %d)",
	    ev->name, (int)tid, cpu);
}

static int
map_ring(struct pmu_evset *s, int fd, int cpu, uint32_t page_size,
    struct err *e)
{
	struct pmu_ring *r = &s->rings[s->nrings];

	r->len = (size_t)(1 + PMU_RING_PAGES) * page_size;
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		return err_set(e, errno == EPERM ? EX_NOPERM : EX_OSERR, errno,
		    "mmap of the perf ring for cpu %d (%zu bytes; see "
		    "kernel.perf_event_mlock_kb)", cpu, r->len);
	}
	r->fd = fd;
	r->cpu = cpu;
	r->hup = 0;
	s->nrings++;
	return 0;
}

/*
 * Open ev for tid on cpu. A hardware event first gets the highest
 * precise_ip the CPU takes (PEBS needs >= 1 for a data address); the level
 * that works is kept in ev for the following opens. 0 ok, 1 thread gone.
 */
static int
open_one(struct pmu_evset *s, struct pmu_event *ev, pid_t tid, int cpu,
    uint32_t page_size, int *ring_fd, struct err *e)
{
	int fd;

	for (;;) {
		fd = pmu_perf_open(&ev->attr, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno == ESRCH)
			return 1;
		if (ev->hw && ev->attr.precise_ip > 1 &&
		    (errno == EOPNOTSUPP || errno == EINVAL)) {
			ev->attr.precise_ip--;
			continue;
		}
		return open_error(errno, ev, tid, cpu, e);
	}
	if (add_fd(s, fd) < 0) {
		close(fd);
		return err_set(e, EX_OSERR, ENOMEM, "event fds");
	}
	if (*ring_fd < 0) {
		/* The kernel redirects only into a buffer that exists: map
		 * the ring before any SET_OUTPUT names it. */
		*ring_fd = fd;
		return map_ring(s, fd, cpu, page_size, e);
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, *ring_fd) < 0)
		return err_set(e, EX_UNAVAILABLE, errno, "PERF_EVENT_IOC_SET_OUTPUT "
		    "(%s, pid %d, cpu %d)", ev->name, (int)tid, cpu);
	return 0;
}

/* The threads of pid from /proc/PID/task; count or -1 (gone: 0). */
static int
threads_of(pid_t pid, pid_t *tids, size_t max)
{
	char path[PROCFS_PATH_MAX];
	struct dirent *d;
	size_t n = 0;
	DIR *dp;

	if (procfs_path(path, sizeof(path), "%d/task", (int)pid) < 0 ||
	    (dp = opendir(path)) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL && n < max) {
		long t = strtol(d->d_name, NULL, 10);

		if (t > 0)
			tids[n++] = (pid_t)t;
	}
	closedir(dp);
	return (int)n;
}

int
pmu_evset_open(struct pmu_evset *s, struct pmu_event *ev, int nev,
    const struct pmu_target *t, size_t nt, uint32_t page_size, struct err *e)
{
	enum { TIDS_MAX = 4096 };
	pid_t *tids = calloc(TIDS_MAX, sizeof(*tids));
	size_t c, i;
	int k, rc = 0;

	memset(s, 0, sizeof(*s));
	if (tids == NULL || online_cpus(s, e) < 0) {
		free(tids);
		return tids == NULL ? err_set(e, EX_OSERR, ENOMEM, "threads") : -1;
	}
	s->sample_type = ev[0].attr.sample_type;
	if ((s->rings = calloc(s->ncpus, sizeof(*s->rings))) == NULL) {
		free(tids);
		return err_set(e, EX_OSERR, ENOMEM, "rings");
	}
	for (k = 0; k < nev; k++) {
		/* Wake the poll when a quarter of the ring is full; the poll
		 * timeout drains the rest. */
		ev[k].attr.watermark = 1;
		ev[k].attr.wakeup_watermark = PMU_RING_PAGES * page_size / 4;
		if (ev[k].hw && ev[k].attr.precise_ip == 0)
			ev[k].attr.precise_ip = 3;
	}
	for (c = 0; c < s->ncpus && rc == 0; c++) {
		int ring_fd = -1;

		for (i = 0; i < nt && rc == 0; i++) {
			int nth = threads_of(t[i].pid, tids, TIDS_MAX), j;

			for (j = 0; j < nth && rc == 0; j++)
				for (k = 0; k < nev && rc == 0; k++)
					rc = open_one(s, &ev[k], tids[j],
					    s->cpus[c], page_size, &ring_fd,
					    e) < 0 ? -1 : 0;
		}
	}
	free(tids);
	if (rc < 0) {
		pmu_evset_close(s);
		return -1;
	}
	log_debug("pmu: %zu events on %zu CPUs, %zu rings", s->nfds, s->ncpus,
	    s->nrings);
	return 0;
}

int
pmu_evset_enable(struct pmu_evset *s, int on, struct err *e)
{
	size_t i;

	for (i = 0; i < s->nfds; i++)
		if (ioctl(s->fds[i], on ? PERF_EVENT_IOC_ENABLE :
		    PERF_EVENT_IOC_DISABLE, 0) < 0)
			return err_set(e, EX_OSERR, errno, "PERF_EVENT_IOC_%s",
			    on ? "ENABLE" : "DISABLE");
	return 0;
}

void
pmu_evset_drain(struct pmu_evset *s, pmu_sample_fn fn, void *arg,
    struct pmu_ring_stats *st)
{
	size_t i;

	for (i = 0; i < s->nrings; i++) {
		struct perf_event_mmap_page *pg = s->rings[i].base;
		uint64_t off = pg->data_offset ? pg->data_offset : (uint64_t)
		    (s->rings[i].len / (1 + PMU_RING_PAGES));

		/* data_size/data_offset are filled by kernels >= 4.1. */
		if (pg->data_size == 0)
			continue;
		pmu_ring_drain(pg, (const uint8_t *)s->rings[i].base + off,
		    s->sample_type, fn, arg, st);
	}
}

void
pmu_evset_close(struct pmu_evset *s)
{
	size_t i;

	for (i = 0; i < s->nrings; i++)
		if (s->rings[i].base != NULL)
			munmap(s->rings[i].base, s->rings[i].len);
	for (i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	free(s->rings);
	free(s->fds);
	free(s->cpus);
	memset(s, 0, sizeof(*s));
}
