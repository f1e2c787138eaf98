/* SPDX-License-Identifier: MIT */
/*
 * pmu-touch.c - a target whose page faults are known in advance, for the
 * etmem-pmu tests.
 *
 *   pmu-touch --pages N [--every K] [--threads T] --ready-file F --touched-file G
 *
 * Maps N anonymous pages between two guard pages (MADV_NOHUGEPAGE, so each first write is one base
 * page fault) without touching them, writes "pid=<pid> start=0x<addr>
 * pages=<N>" to F (temp + rename), waits for SIGUSR1, then writes one byte
 * to every K-th page (0, K, 2K, ...), each a first touch and thus exactly
 * one page fault, and lists the touched page addresses, one 0x... per line,
 * in G (temp + rename, after the touches). Then it waits for SIGTERM/SIGINT
 * and exits 0. With --threads T the touches are shared among T threads
 * that exist before F is written (the k-th touched page goes to thread
 * k mod T), so a sampler must follow every thread.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static volatile sig_atomic_t go, stop;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go;
	uint8_t *p;
	long pages, every, nthreads, psz;
} sh = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL, 0, 1, 1, 0 };

/* Thread k: wait for the go, then touch its share of the pages. */
static void *
toucher(void *arg)
{
	long k = (long)(intptr_t)arg, i, n;

	pthread_mutex_lock(&sh.mu);
	while (!sh.go)
		pthread_cond_wait(&sh.cv, &sh.mu);
	pthread_mutex_unlock(&sh.mu);
	for (i = 0, n = 0; i < sh.pages; i += sh.every, n++)
		if (n % sh.nthreads == k)
			sh.p[i * sh.psz] = 1;
	return NULL;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = 1;
	else
		stop = 1;
}

static long
arg_num(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "pmu-touch: option '%s': '%s' is not a number in "
		    "%ld..%ld\n", opt, s, min, max);
		exit(EX_USAGE);
	}
	return v;
}

/* Write text to path atomically (readers never see half a file). */
static void
write_atomic(const char *path, const char *text)
{
	char tmp[4096];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) == EOF || rename(tmp, path) < 0) {
		perror(path);
		exit(EX_CANTCREAT);
	}
}

int
main(int argc, char **argv)
{
	const char *ready = NULL, *touched = NULL;
	long pages = 0, every = 1, nthreads = 1, i;
	pthread_t th[64];
	long psz = sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	sigset_t block, old;
	char *buf, *text;
	size_t off = 0, cap;
	uint8_t *p;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "pmu-touch: option '%s' needs a value\n", argv[i]);
			return EX_USAGE;
		}
		if (strcmp(argv[i], "--pages") == 0)
			pages = arg_num(argv[i], argv[i + 1], 1, 1 << 20);
		else if (strcmp(argv[i], "--every") == 0)
			every = arg_num(argv[i], argv[i + 1], 1, 1 << 20);
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = arg_num(argv[i], argv[i + 1], 1, 64);
		else if (strcmp(argv[i], "--ready-file") == 0)
			ready = argv[i + 1];
		else if (strcmp(argv[i], "--touched-file") == 0)
			touched = argv[i + 1];
		else {
			fprintf(stderr, "pmu-touch: unknown option '%s'\n", argv[i]);
			return EX_USAGE;
		}
		i++;
	}
	if (pages == 0 || ready == NULL || touched == NULL) {
		fprintf(stderr, "usage: pmu-touch --pages N [--every K] "
		    "--ready-file F --touched-file G\n");
		return EX_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Block the signals so none is lost between the check and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);

	/* PROT_NONE guard pages on both sides keep the kernel from merging
	 * the region with a neighbour (thread stacks): its VMA is exactly
	 * the region. */
	p = mmap(NULL, (size_t)((pages + 2) * psz), PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + psz, (size_t)(pages * psz),
	    PROT_READ | PROT_WRITE) < 0) {
		perror("pmu-touch: mmap");
		return EX_OSERR;
	}
	p += psz;
	(void)madvise(p, (size_t)(pages * psz), MADV_NOHUGEPAGE);
	sh.p = p;
	sh.pages = pages;
	sh.every = every;
	sh.nthreads = nthreads;
	sh.psz = psz;
	/* Threads start with the signals blocked (inherited mask). */
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, toucher, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "pmu-touch: cannot create thread %ld\n", i);
			return EX_OSERR;
		}
	/* Everything the touch phase needs is allocated (faulted in) now. */
	cap = (size_t)(pages / every + 1) * 24 + 1;
	if ((text = malloc(cap)) == NULL || (buf = malloc(256)) == NULL)
		return EX_OSERR;
	memset(text, 0, cap);
	snprintf(buf, 256, "pid=%d start=%p pages=%ld\n", (int)getpid(),
	    (void *)p, pages);
	write_atomic(ready, buf);

	while (!go && !stop)
		sigsuspend(&old);
	pthread_mutex_lock(&sh.mu);
	sh.go = 1;
	pthread_cond_broadcast(&sh.cv);
	pthread_mutex_unlock(&sh.mu);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (go && !stop) {
		for (i = 0; i < pages; i += every)
			off += (size_t)snprintf(text + off, cap - off, "%p\n",
			    (void *)(p + i * psz));
		write_atomic(touched, text);
	}
	while (!stop)
		sigsuspend(&old);
	free(text);
	free(buf);
	munmap(p - psz, (size_t)((pages + 2) * psz));
	return 0;
}
