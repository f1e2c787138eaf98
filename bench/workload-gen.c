/* SPDX-License-Identifier: MIT */
/*
 * workload-gen.c - a workload that knows its own hot set, for measuring how
 * well etmem (or the kernel) finds cold memory and what moving it costs.
 *
 *   workload-gen --pattern fixed|zipf|phase|thp|fork [--size MIB]
 *       [--hot-percent P] [--duration SEC] [--rate N] [--vma-kib K]
 *       [--truth FILE] [--window-ms MS] [--write]
 *
 * It maps --size MiB of private anonymous memory (the arena), writes every
 * page once so all of it is resident, prints one line on stdout
 *   ready pid=<toucher> base=0x<addr> pages=<n> stride=<chunk pages> pattern=<p>
 * and then touches its hot set until --duration runs out or SIGTERM/SIGINT.
 * Patterns: fixed (a contiguous P % of the arena at 20 %), zipf (page k-th
 * most popular with weight 1/k, ranks scattered over the arena; the hot set
 * is the top P % of ranks), phase (fixed, but at half the duration the hot
 * set moves to 60 %), thp (fixed, on a 2 MiB aligned MADV_HUGEPAGE arena with
 * a 2 MiB aligned hot set), fork (fixed, but a forked child does the
 * touching, reading memory it shares copy-on-write with its parent).
 * --vma-kib K splits the arena into K KiB mappings separated by PROT_NONE
 * guard pages, so VMA-granular scanners (smaps) have something to find.
 *
 * Truth goes to --truth FILE (appended) every --window-ms and on SIGUSR1:
 *   W pid=<p> t_ns=<CLOCK_REALTIME> phase=<0|1>
 *   H 0x<start> <npages>     the designed hot set now (4K pages)
 *   T 0x<start> <npages>     pages really touched since the previous window
 *   F majflt=<n> minflt=<n> touches=<n> touches_per_sec=<x>
 * and a final F line on stdout at exit. Faults are the toucher's own
 * (getrusage), so a harness sees when swapped-out pages were wanted back.
 * Not a test helper: tests/helpers/workload.c is the simple fixed target.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ul
#define HUGE (2ul << 20)

enum pattern { PAT_FIXED, PAT_ZIPF, PAT_PHASE, PAT_THP, PAT_FORK };

struct wl {
	enum pattern pat;
	const char *pat_name;
	unsigned long size_mib, vma_kib, rate, window_ms;
	double hot_percent, duration;
	const char *truth;
	int write;
	char *base;              /* first byte of the arena */
	size_t pages;            /* 4K pages in the arena (guards excluded) */
	size_t chunk;            /* pages per mapping (= pages when unsplit) */
	size_t hot_first, hot_n; /* designed hot set, fixed patterns */
	int phase;
	uint32_t *zipf_page;     /* rank -> page (zipf) */
	double *zipf_cdf;        /* cumulative weight by rank (zipf) */
	unsigned char *touched;  /* per page: touched since the last window */
	uint64_t touches;
	double t0;
};

static volatile sig_atomic_t stop, dump;

static void on_stop(int sig) { (void)sig; stop = 1; }
static void on_dump(int sig) { (void)sig; dump = 1; }

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Address of arena page i: one guard page follows every chunk. */
static char *
page_addr(const struct wl *w, size_t i)
{
	return w->base + (i + i / w->chunk) * PAGE;
}

/* Print pages [first, first+n) as address ranges, split where guards sit. */
static void
print_range(FILE *fp, const struct wl *w, char kind, size_t first, size_t n)
{
	while (n > 0) {
		size_t left = w->chunk - first % w->chunk;
		size_t k = n < left ? n : left;

		fprintf(fp, "%c 0x%" PRIxPTR " %zu\n", kind,
		    (uintptr_t)page_addr(w, first), k);
		first += k;
		n -= k;
	}
}

/* Print the pages whose flag in v is set, as ranges. */
static void
print_set(FILE *fp, const struct wl *w, char kind, const unsigned char *v)
{
	size_t i = 0, j;

	while (i < w->pages) {
		if (!v[i]) {
			i++;
			continue;
		}
		for (j = i; j < w->pages && v[j]; j++)
			;
		print_range(fp, w, kind, i, j - i);
		i = j;
	}
}

static void
print_faults(FILE *fp, const struct wl *w)
{
	struct rusage ru;
	double dt = now() - w->t0;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(fp, "F majflt=%ld minflt=%ld touches=%" PRIu64
	    " touches_per_sec=%.0f\n", ru.ru_majflt, ru.ru_minflt, w->touches,
	    dt > 0 ? w->touches / dt : 0.0);
}

/* Append one truth window and start the next. */
static void
write_truth(struct wl *w)
{
	FILE *fp;
	unsigned char *hot;
	size_t i, nhot;

	if (!w->truth)
		return;
	fp = fopen(w->truth, "a");
	if (!fp) {
		fprintf(stderr, "workload-gen: cannot open '%s': %s\n",
		    w->truth, strerror(errno));
		return;
	}
	fprintf(fp, "W pid=%d t_ns=%" PRIu64 " phase=%d\n", (int)getpid(),
	    realtime_ns(), w->phase);
	if (w->pat == PAT_ZIPF) {
		hot = calloc(w->pages, 1);
		if (hot) {
			nhot = (size_t)(w->pages * w->hot_percent / 100.0);
			for (i = 0; i < nhot; i++)
				hot[w->zipf_page[i]] = 1;
			print_set(fp, w, 'H', hot);
			free(hot);
		}
	} else {
		print_range(fp, w, 'H', w->hot_first, w->hot_n);
	}
	print_set(fp, w, 'T', w->touched);
	print_faults(fp, w);
	fclose(fp);
	memset(w->touched, 0, w->pages);
}

static void
touch(struct wl *w, size_t i)
{
	volatile char *p = page_addr(w, i);

	if (w->write)
		*p += 1;
	else
		(void)*p;
	w->touched[i] = 1;
	w->touches++;
}

/* Place the fixed hot set at `at` (fraction of the arena); 2M units for thp. */
static void
place_hot(struct wl *w, double at)
{
	size_t unit = w->pat == PAT_THP ? HUGE / PAGE : 1;

	w->hot_n = (size_t)(w->pages * w->hot_percent / 100.0);
	w->hot_first = (size_t)(w->pages * at);
	w->hot_first -= w->hot_first % unit;
	w->hot_n += (unit - w->hot_n % unit) % unit;
	if (w->hot_n == 0)
		w->hot_n = unit;
	if (w->hot_first + w->hot_n > w->pages)
		w->hot_first = w->pages - w->hot_n;
}

/* Zipf (s = 1) over ranks, ranks scattered by a permutation of the pages. */
static int
zipf_setup(struct wl *w)
{
	size_t i, j;
	double sum = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	w->zipf_page = malloc(w->pages * sizeof(*w->zipf_page));
	w->zipf_cdf = malloc(w->pages * sizeof(*w->zipf_cdf));
	if (!w->zipf_page || !w->zipf_cdf)
		return -1;
	for (i = 0; i < w->pages; i++)
		w->zipf_page[i] = (uint32_t)i;
	for (i = w->pages - 1; i > 0; i--) {   /* Fisher-Yates, fixed seed */
		uint32_t t;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		j = x % (i + 1);
		t = w->zipf_page[i];
		w->zipf_page[i] = w->zipf_page[j];
		w->zipf_page[j] = t;
	}
	for (i = 0; i < w->pages; i++) {
		sum += 1.0 / (double)(i + 1);
		w->zipf_cdf[i] = sum;
	}
	for (i = 0; i < w->pages; i++)
		w->zipf_cdf[i] /= sum;
	return 0;
}

static size_t
zipf_draw(struct wl *w, uint64_t *x)
{
	double u;
	size_t lo = 0, hi = w->pages - 1;

	*x ^= *x << 13; *x ^= *x >> 7; *x ^= *x << 17;
	u = (double)(*x >> 11) / 9007199254740992.0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return w->zipf_page[lo];
}

static int
map_arena(struct wl *w)
{
	size_t guards, len, i;
	char *p;

	w->pages = w->size_mib * (1ul << 20) / PAGE;
	w->chunk = w->vma_kib ? w->vma_kib * 1024 / PAGE : w->pages;
	guards = w->vma_kib ? (w->pages + w->chunk - 1) / w->chunk : 0;
	len = (w->pages + guards) * PAGE;
	/* Over-map by 2 MiB so the arena can start on a huge page boundary. */
	p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	w->base = (char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (w->base > p)
		munmap(p, (size_t)(w->base - p));
	munmap(w->base + len, (size_t)(p + HUGE - w->base));
	for (i = 0; i < guards; i++) {
		/* Chunk i is followed by its guard; the last may be short. */
		size_t n = i + 1 < guards ? w->chunk : w->pages - i * w->chunk;

		if (mprotect(w->base + (i * (w->chunk + 1) + n) * PAGE, PAGE,
		    PROT_NONE) < 0)
			return -1;
	}
	madvise(w->base, len, w->pat == PAT_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (i = 0; i < w->pages; i++)
		*page_addr(w, i) = (char)i;
	return 0;
}

/* The touch loop of the toucher process. */
static void
run(struct wl *w)
{
	double next_window, end = w->t0 + w->duration;
	uint64_t x = 88172645463325252ull, batch;
	size_t i, cursor = 0;

	next_window = w->t0 + w->window_ms / 1000.0;
	while (!stop && (w->duration <= 0 || now() < end)) {
		if (w->pat == PAT_PHASE && !w->phase &&
		    now() >= w->t0 + w->duration / 2) {
			w->phase = 1;
			place_hot(w, 0.6);
		}
		batch = 4096;
		for (i = 0; i < batch; i++) {
			if (w->pat == PAT_ZIPF) {
				touch(w, zipf_draw(w, &x));
			} else {
				touch(w, w->hot_first + cursor);
				cursor = (cursor + 1) % w->hot_n;
			}
		}
		if (w->rate) {
			/* Sleep off what the batch was ahead of the rate. */
			double due = w->t0 + w->touches / (double)w->rate;
			double ahead = due - now();

			if (ahead > 0) {
				struct timespec ts = { (time_t)ahead,
				    (long)((ahead - (time_t)ahead) * 1e9) };
				nanosleep(&ts, NULL);
			}
		}
		if (dump || (w->window_ms && now() >= next_window)) {
			dump = 0;
			write_truth(w);
			next_window = now() + w->window_ms / 1000.0;
		}
	}
	write_truth(w);
	print_faults(stdout, w);
	fflush(stdout);
}

static void
usage(FILE *fp)
{
	fputs("usage: workload-gen --pattern fixed|zipf|phase|thp|fork [--size MIB]\n"
	    "    [--hot-percent P] [--duration SEC] [--rate N] [--vma-kib K]\n"
	    "    [--truth FILE] [--window-ms MS] [--write]\n\n"
	    "A workload with a known hot set (see the comment at the top of\n"
	    "bench/workload-gen.c). Prints 'ready pid=.. base=0x.. pages=.. stride=.. pattern=..'\n"
	    "once the arena is resident and a final 'F majflt=.. minflt=.. touches=..\n"
	    "touches_per_sec=..' line at exit; truth windows go to --truth.\n\n"
	    "  --pattern P       fixed, zipf, phase, thp or fork\n"
	    "  --size MIB        arena size (default 64)\n"
	    "  --hot-percent P   share of the arena that is hot (default 10)\n"
	    "  --duration SEC    run time; 0 = until SIGTERM (default 0)\n"
	    "  --rate N          at most N page touches per second (default: no limit)\n"
	    "  --vma-kib K       split the arena into K KiB mappings with guard pages\n"
	    "  --truth FILE      append truth windows (W/H/T/F lines) to FILE\n"
	    "  --window-ms MS    write a truth window every MS ms (default 0: only on\n"
	    "                    SIGUSR1 and at exit)\n"
	    "  --write           touch by writing (default: reading)\n\n"
	    "Exit status: 0 done, 64 usage, 71 cannot map or fork.\n", fp);
}

static int
num(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < min || *out > max ? -1 : 0;
}

static int
parse(struct wl *w, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pattern", 1, 0, 'p' }, { "size", 1, 0, 's' },
		{ "hot-percent", 1, 0, 'P' }, { "duration", 1, 0, 'd' },
		{ "rate", 1, 0, 'r' }, { "vma-kib", 1, 0, 'k' },
		{ "truth", 1, 0, 't' }, { "window-ms", 1, 0, 'w' },
		{ "write", 0, 0, 'W' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	static const char *names[] = { "fixed", "zipf", "phase", "thp", "fork" };
	double v;
	int c;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			for (i = 0; i < 5 && strcmp(optarg, names[i]); i++)
				;
			if (i == 5)
				goto bad;
			w->pat = (enum pattern)i;
			w->pat_name = names[i];
			break;
		case 's': if (num(optarg, 1, 65536, &v)) goto bad; w->size_mib = (unsigned long)v; break;
		case 'P': if (num(optarg, 0.01, 100, &v)) goto bad; w->hot_percent = v; break;
		case 'd': if (num(optarg, 0, 86400, &v)) goto bad; w->duration = v; break;
		case 'r': if (num(optarg, 1, 1e12, &v)) goto bad; w->rate = (unsigned long)v; break;
		case 'k': if (num(optarg, 8, 1 << 30, &v) || (unsigned long)v % 4) goto bad; w->vma_kib = (unsigned long)v; break;
		case 't': w->truth = optarg; break;
		case 'w': if (num(optarg, 1, 3600000, &v)) goto bad; w->window_ms = (unsigned long)v; break;
		case 'W': w->write = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || !w->pat_name) {
		fprintf(stderr, "workload-gen: --pattern is required and no operands are taken\n");
		usage(stderr);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "workload-gen: bad value '%s' for --%s\n", optarg,
	    lo[c == 'p' ? 0 : c == 's' ? 1 : c == 'P' ? 2 : c == 'd' ? 3 :
	    c == 'r' ? 4 : c == 'k' ? 5 : 7].name);
	usage(stderr);
	return -1;
}

int
main(int argc, char **argv)
{
	struct wl w = { .size_mib = 64, .hot_percent = 10 };
	struct sigaction sa = { .sa_handler = on_stop };
	pid_t child = 0;
	int status = 0;

	if (parse(&w, argc, argv) < 0)
		return EX_USAGE;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_dump;
	sigaction(SIGUSR1, &sa, NULL);
	if (map_arena(&w) < 0) {
		fprintf(stderr, "workload-gen: cannot map %lu MiB: %s\n",
		    w.size_mib, strerror(errno));
		return EX_OSERR;
	}
	w.touched = calloc(w.pages, 1);
	if (!w.touched || (w.pat == PAT_ZIPF && zipf_setup(&w) < 0)) {
		fprintf(stderr, "workload-gen: out of memory\n");
		return EX_OSERR;
	}
	place_hot(&w, 0.2);
	if (w.pat == PAT_FORK) {
		fflush(stdout);
		child = fork();
		if (child < 0) {
			fprintf(stderr, "workload-gen: fork: %s\n", strerror(errno));
			return EX_OSERR;
		}
		if (child > 0) {
			/* The parent only holds its share of the memory and
			 * passes the stop signal on. */
			while (waitpid(child, &status, 0) < 0 && errno == EINTR)
				if (stop)
					kill(child, SIGTERM);
			free(w.touched);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
	}
	printf("ready pid=%d base=0x%" PRIxPTR " pages=%zu stride=%zu pattern=%s\n",
	    (int)getpid(), (uintptr_t)w.base, w.pages, w.chunk, w.pat_name);
	fflush(stdout);
	w.t0 = now();
	run(&w);
	free(w.touched);
	free(w.zipf_page);
	free(w.zipf_cdf);
	return 0;
}
