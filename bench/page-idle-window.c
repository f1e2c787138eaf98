/* SPDX-License-Identifier: MIT */
/*
 * page-idle-window.c - etmem-scan's page_idle backend over one window of a
 * known access pattern, with a simulated kernel: bench/accuracy.sh's stand-in
 * for a machine with CONFIG_IDLE_PAGE_TRACKING (neither this host nor the VM
 * kernel has one).
 *
 *   page-idle-window [--pid PID] PATTERN... | -
 *
 * PATTERN is gen-idle-pages' token language (tests/helpers/gen-idle-pages.c;
 * its parser is reused): "@0xADDR" starts a VMA, A/I are accessed/idle 4K
 * pages, M/m accessed/idle 2M pages. The tool builds a fixture tree (a
 * pagemap and a page_idle bitmap under a temporary --proc-root/--sys-root),
 * then runs the backend's real prepare and collect with the "kernel" in
 * between: it clears the idle bit of every accessed page's PFN (for a THP,
 * the head PFN only, as the kernel tracks it). 4K pages get scattered PFNs,
 * 2M pages 512 contiguous aligned ones, so the backend's THP detection is
 * exercised. The ACCESS items go to stdout as a text stream.
 *
 * What this measures is the backend's marking, THP grouping and reading
 * against a faithful bitmap, plus the ranker; not the kernel's fidelity.
 */
#define GEN_IDLE_NO_MAIN
/* Only the token parser is used here, not the encoder. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../tests/helpers/gen-idle-pages.c"
#pragma GCC diagnostic pop

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "err.h"
#include "etmem/record.h"
#include "procfs.h"
#include "../etmem-scan/scan.h"

#define PRESENT (1ull << 63)
#define PFN_4K_BASE 0x1000ull      /* 4K page i: PFN_4K_BASE + 3 i */
#define PFN_2M_BASE 0x400000ull    /* 2M page j: 512 PFNs from here + 512 j */

static char root[64];

static int
at(char *buf, size_t len, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", root, rel);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
cleanup(pid_t pid)
{
	char p[256], rel[64];

	snprintf(rel, sizeof rel, "proc/%d/pagemap", (int)pid);
	if (at(p, sizeof p, rel) == 0) unlink(p);
	snprintf(rel, sizeof rel, "proc/%d", (int)pid);
	if (at(p, sizeof p, rel) == 0) rmdir(p);
	if (at(p, sizeof p, "proc") == 0) rmdir(p);
	if (at(p, sizeof p, "sys/kernel/mm/page_idle/bitmap") == 0) unlink(p);
	if (at(p, sizeof p, "sys/kernel/mm/page_idle") == 0) rmdir(p);
	if (at(p, sizeof p, "sys/kernel/mm") == 0) rmdir(p);
	if (at(p, sizeof p, "sys/kernel") == 0) rmdir(p);
	if (at(p, sizeof p, "sys") == 0) rmdir(p);
	rmdir(root);
}

static int
mkdirs(pid_t pid)
{
	char pid_dir[32], p[256];
	const char *dirs[] = { "proc", pid_dir, "sys", "sys/kernel",
		"sys/kernel/mm", "sys/kernel/mm/page_idle" };

	snprintf(pid_dir, sizeof pid_dir, "proc/%d", (int)pid);
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (at(p, sizeof p, dirs[i]) < 0 || mkdir(p, 0755) < 0)
			return -1;
	return 0;
}

/* The fixture's PFN of unit k, page `sub` within it (0 for 4K units). */
static uint64_t
pfn_of(const struct gen_unit *u, size_t n4k, size_t n2m, unsigned sub)
{
	if (gen_unit_bytes(u->type) == GEN_PMD)
		return PFN_2M_BASE + 512 * n2m + sub;
	return PFN_4K_BASE + 3 * n4k;
}

/* Write the pagemap, build one VMA per run of contiguous units, clear the
 * accessed pages' bits into *clear (PFN list). */
static int
build(const struct gen_units *g, pid_t pid, struct etmr_vma **vmas,
    size_t *nvmas, uint64_t **clear, size_t *nclear, uint64_t *max_pfn)
{
	char p[256], rel[64];
	size_t n4k = 0, n2m = 0;
	int fd;

	snprintf(rel, sizeof rel, "proc/%d/pagemap", (int)pid);
	if (at(p, sizeof p, rel) < 0 ||
	    (fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	*vmas = calloc(g->n ? g->n : 1, sizeof(**vmas));
	*clear = calloc(g->n ? g->n : 1, sizeof(**clear));
	if (*vmas == NULL || *clear == NULL) {
		close(fd);
		return -1;
	}
	*nvmas = *nclear = 0;
	*max_pfn = 0;
	for (size_t k = 0; k < g->n; k++) {
		const struct gen_unit *u = &g->v[k];
		uint64_t bytes = gen_unit_bytes(u->type);
		unsigned pages = (unsigned)(bytes / GEN_PAGE);
		uint64_t e[512];
		struct etmr_vma *v = *nvmas ? &(*vmas)[*nvmas - 1] : NULL;

		if (bytes != GEN_PAGE && bytes != GEN_PMD)
			continue;   /* holes and 1G units: not in this lane */
		for (unsigned i = 0; i < pages; i++)
			e[i] = PRESENT | pfn_of(u, n4k, n2m, i);
		if (pwrite(fd, e, pages * 8, (off_t)(u->addr / GEN_PAGE * 8)) !=
		    (ssize_t)(pages * 8)) {
			close(fd);
			return -1;
		}
		if (u->type == 0 || u->type == 1)   /* A or M: accessed */
			(*clear)[(*nclear)++] = e[0] & ~PRESENT;
		if ((e[pages - 1] & ~PRESENT) > *max_pfn)
			*max_pfn = e[pages - 1] & ~PRESENT;
		if (v == NULL || v->end != u->addr) {
			v = &(*vmas)[(*nvmas)++];
			v->start = u->addr;
			v->pid = (uint32_t)pid;
			v->flags = ETMR_F_ANON;
			v->prot = ETMR_PROT_READ | ETMR_PROT_WRITE;
			v->node = ETMR_NODE_NONE;
		}
		v->end = u->addr + bytes;
		if (bytes == GEN_PMD)
			n2m++;
		else
			n4k++;
	}
	return close(fd);
}

/* The kernel's part: an accessed page's idle bit is cleared. */
static int
play_kernel(const uint64_t *clear, size_t n, uint64_t max_pfn)
{
	char p[256];
	size_t words = (size_t)(max_pfn / 64 + 1);
	uint64_t *bm = calloc(words, 8);
	int fd, rc = -1;

	if (bm == NULL || at(p, sizeof p, "sys/kernel/mm/page_idle/bitmap") < 0 ||
	    (fd = open(p, O_RDWR)) < 0) {
		free(bm);
		return -1;
	}
	if (pread(fd, bm, words * 8, 0) >= 0) {
		for (size_t i = 0; i < n; i++)
			bm[clear[i] / 64] &= ~(1ull << (clear[i] % 64));
		rc = pwrite(fd, bm, words * 8, 0) == (ssize_t)(words * 8) ? 0 : -1;
	}
	close(fd);
	free(bm);
	return rc;
}

static int
run(const struct gen_units *g, pid_t pid)
{
	struct scan_env env = { .page_size = GEN_PAGE };
	struct etmr_header h = { .version = ETMR_VERSION, .page_size = GEN_PAGE,
		.backend = ETMR_BACKEND_PAGE_IDLE };
	struct etmr_vma *vmas = NULL;
	uint64_t *clear = NULL, max_pfn;
	size_t nvmas, nclear;
	struct scan_target t = { .pid = pid, .start_time = 1 };
	struct scan_ctx ctx = { .env = &env, .targets = &t, .ntargets = 1,
		.loop = 1, .period = 1, .round = 1 };
	struct etmr_writer *w = NULL;
	struct err e = { 0 };
	char p[256];
	int fd, rc = -1;

	if (mkdirs(pid) < 0 || build(g, pid, &vmas, &nvmas, &clear, &nclear,
	    &max_pfn) < 0) {
		fprintf(stderr, "page-idle-window: cannot build the fixture in %s: "
		    "%s\n", root, strerror(errno));
		goto out;
	}
	/* An empty bitmap file as large as the PFNs we use (the kernel's is
	 * as large as memory). */
	if (at(p, sizeof p, "sys/kernel/mm/page_idle/bitmap") < 0 ||
	    (fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    ftruncate(fd, (off_t)((max_pfn / 64 + 1) * 8)) < 0 || close(fd) < 0)
		goto out;
	t.vmas = vmas;
	t.nvmas = nvmas;
	if (procfs_init(root, root, &e) < 0 ||
	    scan_page_idle.probe(&env, &e) < 0 ||
	    scan_page_idle.init(&ctx, &e) < 0 ||
	    scan_page_idle.prepare(&ctx, &e) < 0)
		goto err;
	if (play_kernel(clear, nclear, max_pfn) < 0) {
		fprintf(stderr, "page-idle-window: cannot play the kernel: %s\n",
		    strerror(errno));
		goto out;
	}
	if ((w = etmr_writer_open(STDOUT_FILENO, ETMR_FORM_TEXT, &h, &e)) == NULL ||
	    scan_page_idle.collect(&ctx, w, &e) < 0 ||
	    etmr_write_end(w, 0, &e) < 0)
		goto err;
	rc = 0;
	goto out;
err:
	fprintf(stderr, "page-idle-window: %s\n", e.msg);
out:
	if (w != NULL && etmr_writer_close(w, rc == 0 ? &e : NULL) < 0 && rc == 0) {
		fprintf(stderr, "page-idle-window: %s\n", e.msg);
		rc = -1;
	}
	scan_page_idle.fini(&ctx);
	free(vmas);
	free(clear);
	return rc;
}

int
main(int argc, char **argv)
{
	struct gen_units g = { 0 };
	uint64_t cursor = 0;
	pid_t pid = 1;
	int i = 1, rc;

	if (i + 1 < argc && strcmp(argv[i], "--pid") == 0) {
		pid = (pid_t)strtol(argv[i + 1], NULL, 10);
		i += 2;
	}
	if (i >= argc || pid <= 0 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: page-idle-window [--pid PID] PATTERN... | -\n"
		    "Runs etmem-scan's page_idle backend over one window of the "
		    "pattern\n(gen-idle-pages tokens: @0xADDR, A/I 4K, M/m 2M) "
		    "against a simulated\nkernel and prints the ACCESS items as "
		    "a text ETMR stream.\n");
		return EX_USAGE;
	}
	for (; i < argc; i++) {
		int bad = 0;

		if (strcmp(argv[i], "-") == 0) {
			char line[4096];

			while (!bad && fgets(line, sizeof(line), stdin) != NULL)
				bad = gen_parse(line, &g, &cursor) < 0;
		} else {
			bad = gen_parse(argv[i], &g, &cursor) < 0;
		}
		if (bad) {
			fprintf(stderr, "page-idle-window: bad pattern token near "
			    "unit %zu\n", g.n);
			free(g.v);
			return EX_DATAERR;
		}
	}
	snprintf(root, sizeof root, "/tmp/etmem-page-idle.XXXXXX");
	if (mkdtemp(root) == NULL) {
		fprintf(stderr, "page-idle-window: mkdtemp: %s\n", strerror(errno));
		free(g.v);
		return EX_CANTCREAT;
	}
	rc = run(&g, pid);
	cleanup(pid);
	free(g.v);
	return rc == 0 ? 0 : EX_SOFTWARE;
}
