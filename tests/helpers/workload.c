/* SPDX-License-Identifier: MIT */
/*
 * workload.c - a target process with known hot and cold anonymous memory.
 *
 *   workload [--hot MB] [--cold MB] [--touch-ms N] [--ready-file F] [--thp]
 *
 * The cold region is mapped first and written once (resident, then never
 * touched again); a PROT_NONE guard page follows so the kernel cannot merge
 * it with the hot region, which is written one byte per page every
 * --touch-ms ms until SIGTERM/SIGINT (exit 0). When both are populated it
 * prints one line, also written atomically (temp + rename) to --ready-file:
 *   pid=<pid> hot=0x<start>-0x<end> cold=0x<start>-0x<end>
 * Other engineers' tests parse exactly that line; do not change it.
 */
#include <sys/mman.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
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
		fprintf(stderr, "workload: option '%s': '%s' is not a number in %ld..%ld\n",
		    opt, s, min, max);
		exit(EX_USAGE);
	}
	return v;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: workload [--hot MB] [--cold MB] [--touch-ms N] "
	    "[--ready-file F] [--thp]\n");
}

static int
write_ready(const char *file, const char *line)
{
	char tmp[4096];
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", file, (int)getpid()) >= (int)sizeof(tmp))
		return -1;
	fp = fopen(tmp, "w");
	if (fp == NULL)
		return -1;
	if (fputs(line, fp) == EOF || fclose(fp) == EOF) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, file) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "hot", required_argument, NULL, 'H' },
		{ "cold", required_argument, NULL, 'C' },
		{ "touch-ms", required_argument, NULL, 't' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "thp", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long hot_mb = 16, cold_mb = 32, touch_ms = 50;
	const char *ready = NULL;
	int thp = 0, c;
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), hot_len, cold_len, i;
	struct sigaction sa;
	char line[256];
	uint8_t *cold, *hot, *guard;
	unsigned gen = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': hot_mb = arg_num("--hot", optarg, 0, 1 << 20); break;
		case 'C': cold_mb = arg_num("--cold", optarg, 0, 1 << 20); break;
		case 't': touch_ms = arg_num("--touch-ms", optarg, 1, 3600000); break;
		case 'r': ready = optarg; break;
		case 'T': thp = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	/* Zero-sized regions still get one page so the line has real ranges. */
	hot_len = hot_mb ? (size_t)hot_mb << 20 : ps;
	cold_len = cold_mb ? (size_t)cold_mb << 20 : ps;
	cold = mmap(NULL, cold_len + ps + hot_len, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cold == MAP_FAILED) {
		perror("workload: mmap");
		return EX_OSERR;
	}
	/* One reservation, then three distinct mappings inside it: cold, a
	 * PROT_NONE guard page, hot. Different protections keep them three VMAs. */
	guard = cold + cold_len;
	hot = guard + ps;
	if (mmap(cold, cold_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ||
	    mmap(hot, hot_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		perror("workload: mmap");
		return EX_OSERR;
	}
	if (!thp) {
		(void)madvise(cold, cold_len, MADV_NOHUGEPAGE);
		(void)madvise(hot, hot_len, MADV_NOHUGEPAGE);
	} else {
		(void)madvise(cold, cold_len, MADV_HUGEPAGE);
		(void)madvise(hot, hot_len, MADV_HUGEPAGE);
	}
	for (i = 0; i < cold_len; i += ps)
		cold[i] = (uint8_t)(i / ps + 1);
	for (i = 0; i < hot_len; i += ps)
		hot[i] = 1;

	snprintf(line, sizeof(line), "pid=%d hot=0x%lx-0x%lx cold=0x%lx-0x%lx\n",
	    (int)getpid(), (unsigned long)(uintptr_t)hot,
	    (unsigned long)(uintptr_t)(hot + hot_len),
	    (unsigned long)(uintptr_t)cold, (unsigned long)(uintptr_t)(cold + cold_len));
	if (ready != NULL && write_ready(ready, line) < 0) {
		fprintf(stderr, "workload: cannot write '%s': %s\n", ready, strerror(errno));
		return EX_CANTCREAT;
	}
	fputs(line, stdout);
	fflush(stdout);

	while (!stop) {
		struct timespec ts = { touch_ms / 1000, (touch_ms % 1000) * 1000000L };

		gen++;
		/*
		 * A round trip through read-only flushes the hot range's TLB
		 * entries. Access-bit scanners (DAMON, clear_refs) clear the
		 * bit without a flush, and a TLB that never evicts (qemu TCG's
		 * soft TLB, a big STLB) would then keep hitting the stale
		 * entry: the page would look idle although it is written
		 * every cycle. Real programs get this from context switches.
		 */
		(void)mprotect(hot, hot_len, PROT_READ);
		(void)mprotect(hot, hot_len, PROT_READ | PROT_WRITE);
		for (i = 0; i < hot_len && !stop; i += ps)
			((volatile uint8_t *)hot)[i] = (uint8_t)gen;
		nanosleep(&ts, NULL);
	}
	munmap(cold, cold_len + ps + hot_len);
	return 0;
}
