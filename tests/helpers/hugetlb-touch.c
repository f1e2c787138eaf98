/* SPDX-License-Identifier: MIT */
/*
 * hugetlb-touch.c - a cslide test target and a page-by-page node probe.
 *
 *   hugetlb-touch --pages N [--node K] [--hot H] [--ready-file F]
 *       Map N 2 MiB hugetlb pages (MAP_PRIVATE | MAP_ANONYMOUS |
 *       MAP_HUGETLB), allocate them on node K (mbind MPOL_BIND while they
 *       are faulted in, then the default policy again so they may move),
 *       write each once, print "pid=<pid> base=0x<addr> pages=<N>" (also
 *       atomically to F), then wait for SIGTERM/SIGINT (exit 0); with
 *       --hot H, meanwhile keep writing pages 0..H-1 (one cache line each,
 *       every millisecond) so a scanner sees them hot and the rest cold;
 *       before each write the page is made read-only and writable again:
 *       that flushes its TLB entry, so the write walks the page table and
 *       sets the accessed bit DAMON cleared (DAMON does not flush the TLB
 *       when it clears it; a real workload's TLB churn evicts the entry, a
 *       loop over four pages under qemu TCG would keep it for ever; the
 *       mapping ends up split into several VMAs, which is harmless). The
 *       pages need hugepages reserved beforehand (nr_hugepages).
 *   hugetlb-touch --where PID ADDR N
 *       Print the node of each of N 2 MiB pages of PID from ADDR, one line
 *       each ("<index> <node>", or a negative errno), with
 *       move_pages(pid, n, pages, NULL, status, 0): query only.
 *
 * Exit: 0, 64 usage, 69 no hugepages to map or no NUMA, 71 other errors.
 */
#include <sys/mman.h>
#include <errno.h>
#include <numaif.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define HUGE_BYTES (2ul << 20)
#define PAGES_MAX 4096

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned long
num(const char *s, int base)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || end == s) {
		fprintf(stderr, "hugetlb-touch: '%s' is not a number\n", s);
		exit(EX_USAGE);
	}
	return v;
}

static int
where(pid_t pid, uintptr_t addr, unsigned long n)
{
	static void *pages[PAGES_MAX];
	static int status[PAGES_MAX];

	if (n == 0 || n > PAGES_MAX) {
		fprintf(stderr, "hugetlb-touch: 1..%d pages\n", PAGES_MAX);
		return EX_USAGE;
	}
	for (unsigned long i = 0; i < n; i++) {
		pages[i] = (void *)(addr + i * HUGE_BYTES);
		status[i] = INT32_MIN;
	}
	if (move_pages(pid, n, pages, NULL, status, 0) < 0) {
		fprintf(stderr, "hugetlb-touch: move_pages(%d): %s\n", (int)pid, strerror(errno));
		return errno == ENOSYS ? EX_UNAVAILABLE : EX_OSERR;
	}
	for (unsigned long i = 0; i < n; i++)
		printf("%lu %d\n", i, status[i]);
	return 0;
}

static int
ready(const char *file, const char *line)
{
	char tmp[4096];
	FILE *fp;

	printf("%s\n", line);
	fflush(stdout);
	if (file == NULL)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if ((fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%s\n", line) < 0 ||
	    fclose(fp) != 0 || rename(tmp, file) != 0) {
		fprintf(stderr, "hugetlb-touch: cannot write '%s': %s\n", file, strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

static int
hold(unsigned long n, long node, unsigned long hot, const char *file)
{
	struct sigaction sa;
	char line[128];
	char *a;

	if (n == 0 || n > PAGES_MAX) {
		fprintf(stderr, "hugetlb-touch: --pages 1..%d\n", PAGES_MAX);
		return EX_USAGE;
	}
	a = mmap(NULL, n * HUGE_BYTES, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (a == MAP_FAILED) {
		fprintf(stderr, "hugetlb-touch: cannot map %lu hugetlb pages: %s "
		    "(reserve them in /proc/sys/vm/nr_hugepages)\n", n, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (node >= 0) {
		unsigned long mask = 1ul << node;

		if (mbind(a, n * HUGE_BYTES, MPOL_BIND, &mask, sizeof(mask) * 8, 0) < 0) {
			fprintf(stderr, "hugetlb-touch: mbind node %ld: %s\n", node, strerror(errno));
			return EX_UNAVAILABLE;
		}
	}
	/* Fault every page in; a SIGBUS here means the pool ran dry. */
	for (unsigned long i = 0; i < n; i++)
		memset(a + i * HUGE_BYTES, (int)(i + 1), 64);
	if (node >= 0 && mbind(a, n * HUGE_BYTES, MPOL_DEFAULT, NULL, 0, 0) < 0) {
		fprintf(stderr, "hugetlb-touch: mbind default: %s\n", strerror(errno));
		return EX_OSERR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	snprintf(line, sizeof(line), "pid=%d base=%p pages=%lu", (int)getpid(), (void *)a, n);
	if (ready(file, line) != 0)
		return EX_OSERR;
	if (hot > n)
		hot = n;
	while (!stop) {
		if (hot == 0) {
			pause();
			continue;
		}
		for (unsigned long i = 0; i < hot; i++) {
			char *p = a + i * HUGE_BYTES;

			if (mprotect(p, HUGE_BYTES, PROT_READ) < 0 ||
			    mprotect(p, HUGE_BYTES, PROT_READ | PROT_WRITE) < 0) {
				fprintf(stderr, "hugetlb-touch: mprotect: %s\n", strerror(errno));
				return EX_OSERR;
			}
			((volatile char *)p)[0]++;
		}
		usleep(1000);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	unsigned long n = 0, hot = 0;
	long node = -1;

	if (argc == 5 && strcmp(argv[1], "--where") == 0)
		return where((pid_t)num(argv[2], 10), (uintptr_t)num(argv[3], 0),
		    num(argv[4], 10));
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--pages") == 0)
			n = num(argv[++i], 10);
		else if (i + 1 < argc && strcmp(argv[i], "--node") == 0)
			node = (long)num(argv[++i], 10);
		else if (i + 1 < argc && strcmp(argv[i], "--hot") == 0)
			hot = num(argv[++i], 10);
		else if (i + 1 < argc && strcmp(argv[i], "--ready-file") == 0)
			file = argv[++i];
		else {
			fprintf(stderr, "usage: hugetlb-touch --pages N [--node K] "
			    "[--hot H] [--ready-file F]\n       hugetlb-touch --where PID ADDR N\n");
			return EX_USAGE;
		}
	}
	if (node > 63) {
		fprintf(stderr, "hugetlb-touch: --node 0..63\n");
		return EX_USAGE;
	}
	return hold(n, node, hot, file);
}
