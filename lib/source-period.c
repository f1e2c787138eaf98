/* SPDX-License-Identifier: MIT */
/*
 * source-period.c - the records that frame a source stage's period around
 * its access data: the stream header, V before the passes, then P, S and
 * PERIOD. Every source writes them alike so a ranker cannot tell (and
 * need not care) which source produced the stream.
 */
#include "source.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "procfs.h"

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct etmr_writer *
source_writer_open(int text, uint32_t page_size, uint16_t backend,
    struct err *e)
{
	struct etmr_header h;

	memset(&h, 0, sizeof(h));
	h.version = ETMR_VERSION;
	h.page_size = page_size;
	h.backend = backend;
	h.start_ns = realtime_ns();
	if (gethostname(h.host, sizeof(h.host) - 1) < 0)
		snprintf(h.host, sizeof(h.host), "localhost");
	return etmr_writer_open(STDOUT_FILENO,
	    text ? ETMR_FORM_TEXT : ETMR_FORM_BINARY, &h, e);
}

int
source_write_vmas(struct etmr_writer *w, const struct source_target *t,
    size_t n, uint64_t *nvmas, struct err *e)
{
	size_t i, j;

	*nvmas = 0;
	for (i = 0; i < n; i++)
		for (j = 0; j < t[i].nvmas; j++) {
			if (etmr_write_vma(w, &t[i].vmas[j], e) < 0)
				return -1;
			(*nvmas)++;
		}
	return 0;
}

int
source_write_procs(struct etmr_writer *w, const struct source_target *t,
    size_t n, struct err *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct proc_status ps;
		struct proc_stat st;
		struct etmr_proc p;
		struct err ignore;

		if (procfs_pid_alive(t[i].pid, t[i].start_time) != 1 ||
		    procfs_pid_stat(t[i].pid, &st, &ignore) < 0 ||
		    procfs_pid_status(t[i].pid, &ps, &ignore) < 0)
			continue;       /* exited during the period */
		memset(&p, 0, sizeof(p));
		p.pid = (uint32_t)t[i].pid;
		p.start_time = t[i].start_time;
		p.rss_kb = ps.rss_kb;
		p.swap_kb = ps.swap_kb;
		memcpy(p.comm, st.comm, sizeof(p.comm) < sizeof(st.comm) ?
		    sizeof(p.comm) : sizeof(st.comm));
		if (etmr_write_proc(w, &p, e) < 0)
			return -1;
	}
	return 0;
}

int
source_write_stats(struct etmr_writer *w, uint8_t stage, uint32_t period,
    const struct source_stat *kv, size_t n, char *text, size_t textsize,
    struct err *e)
{
	size_t i, off = strnlen(text, textsize);

	for (i = 0; i < n; i++) {
		struct etmr_stat s;

		memset(&s, 0, sizeof(s));
		s.period = period;
		s.stage = stage;
		snprintf(s.key, sizeof(s.key), "%s", kv[i].key);
		s.value = kv[i].value;
		if (etmr_write_stat(w, &s, e) < 0)
			return -1;
		/* A full buffer only shortens the STATS reply. */
		if (off < textsize)
			off += (size_t)snprintf(text + off, textsize - off,
			    "%s %llu\n", kv[i].key,
			    (unsigned long long)kv[i].value);
	}
	return 0;
}

int
source_write_period(struct etmr_writer *w, uint32_t period, uint32_t rounds,
    struct err *e)
{
	struct etmr_period p;
	struct meminfo mi;

	memset(&p, 0, sizeof(p));
	if (procfs_meminfo(&mi, e) < 0)
		return -1;
	p.period = period;
	p.rounds = rounds;
	p.time_ns = realtime_ns();
	p.mem_total_kb = mi.mem_total_kb;
	p.mem_free_kb = mi.mem_free_kb;
	p.mem_available_kb = mi.mem_available_kb;
	p.swap_cached_kb = mi.swap_cached_kb;
	p.swap_total_kb = mi.swap_total_kb;
	p.swap_free_kb = mi.swap_free_kb;
	return etmr_write_period(w, &p, e);
}
