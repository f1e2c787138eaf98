/* SPDX-License-Identifier: MIT */
/*
 * test-scan-page-idle.c - the page_idle backend against a fixture tree:
 * a pagemap file and a page_idle bitmap file under temp --proc-root and
 * --sys-root. Between prepare and collect the test plays the kernel: it
 * clears the idle bits of "accessed" PFNs and moves one page to a new PFN.
 * Checked: marking writes the right bits, a THP is one 2M unit judged by its
 * head PFN, a moved page gives no record, absent pages give none, extents
 * are coalesced.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "etmem/record.h"
#include "procfs.h"
#include "../../etmem-scan/scan.h"
#include "unit.h"

#define PS 4096u
#define PRESENT (1ull << 63)

static char root[256];

static void
write_at(const char *rel, uint64_t off, const void *buf, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || pwrite(fd, buf, len, (off_t)off) != (ssize_t)len) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static uint64_t
read_word(uint64_t word)
{
	char path[512];
	uint64_t v = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/sys/kernel/mm/page_idle/bitmap", root);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &v, 8, (off_t)(word * 8)) != 8)
			v = 0;
		close(fd);
	}
	return v;
}

static void
set_pfn(uint64_t va, uint64_t pfn)
{
	uint64_t e = pfn ? PRESENT | pfn : 0;

	write_at("proc/100/pagemap", va / PS * 8, &e, 8);
}

static void
clear_bit(uint64_t pfn)
{
	uint64_t w = read_word(pfn / 64);

	w &= ~(1ull << (pfn % 64));
	write_at("sys/kernel/mm/page_idle/bitmap", pfn / 64 * 8, &w, 8);
}

static void
test_scan_page_idle__thp_moves_and_extents(void)
{
	char tmpl[] = "/tmp/test-page-idle.XXXXXX", cmd[1024], *out = NULL;
	static uint8_t zero[8192];
	struct scan_env env = { .page_size = PS, .anon_only = 1 };
	struct etmr_vma vmas[2];
	struct scan_target t;
	struct scan_ctx ctx;
	struct etmr_header h = { .version = 1, .page_size = PS };
	struct etmr_writer *w;
	struct err e = { 0 };
	FILE *fp = tmpfile();
	size_t i, olen = 0;
	char buf[4096];
	ssize_t n;

	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(root, sizeof(root), "%s", tmpl);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/proc/100 %s/sys/kernel/mm/page_idle", root, root);
	CHECK(system(cmd) == 0);
	write_at("sys/kernel/mm/page_idle/bitmap", 0, zero, sizeof(zero));
	/* VMA 0: one THP at 0x200000 (PFNs 0x1000.., contiguous, aligned).
	 * VMA 1: 512 4K pages at 0x400000, PFN 0x2000 + 3i; page 5 absent. */
	for (i = 0; i < 512; i++) {
		set_pfn(0x200000 + i * PS, 0x1000 + i);
		set_pfn(0x400000 + i * PS, i == 5 ? 0 : 0x2000 + 3 * i);
	}
	CHECK(procfs_init(root, root, &e) == 0);
	memset(vmas, 0, sizeof(vmas));
	vmas[0].start = 0x200000; vmas[0].end = 0x400000;
	vmas[1].start = 0x400000; vmas[1].end = 0x600000;
	vmas[0].flags = vmas[1].flags = ETMR_F_ANON;
	vmas[0].pid = vmas[1].pid = 100;
	t.pid = 100; t.start_time = 1; t.vmas = vmas; t.nvmas = 2;
	memset(&ctx, 0, sizeof(ctx));
	ctx.env = &env; ctx.targets = &t; ctx.ntargets = 1; ctx.loop = 1;
	ctx.period = 1; ctx.round = 1;

	CHECK(scan_page_idle.probe(&env, &e) == 0);
	CHECK(scan_page_idle.init(&ctx, &e) == 0);
	CHECK(scan_page_idle.prepare(&ctx, &e) == 0);
	/* marked: every THP PFN word, and 0x2000+3*10 */
	CHECK_EQ_U(read_word(0x1000 / 64), UINT64_MAX);
	CHECK(read_word((0x2000 + 30) / 64) >> ((0x2000 + 30) % 64) & 1);
	CHECK(!(read_word((0x2000 + 15) / 64) >> ((0x2000 + 15) % 64) & 1));

	/* the "kernel": THP head and page 10 accessed; page 20 migrated */
	clear_bit(0x1000);
	clear_bit(0x2000 + 3 * 10);
	set_pfn(0x400000 + 20 * PS, 0x9000);

	w = etmr_writer_open(fileno(fp), ETMR_FORM_TEXT, &h, &e);
	CHECK(w != NULL);
	CHECK(scan_page_idle.collect(&ctx, w, &e) == 0);
	CHECK(etmr_writer_close(w, &e) == 0);
	scan_page_idle.fini(&ctx);
	n = pread(fileno(fp), buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	out = strstr(buf, "\nA ");
	olen = out ? strlen(out + 1) : 0;
	CHECK(olen > 0);
	CHECK_STR(out ? out + 1 : "",
	    "A 100 0x200000 1 2M 1 aT\n"
	    "A 100 0x400000 5 4K 0 ai\n"
	    "A 100 0x406000 4 4K 0 ai\n"
	    "A 100 0x40a000 1 4K 1 a\n"
	    "A 100 0x40b000 9 4K 0 ai\n"
	    "A 100 0x415000 491 4K 0 ai\n");
	CHECK_EQ_U(ctx.cnt.pages_accessed, 512 + 1);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
}

int
main(void)
{
	RUN(test_scan_page_idle__thp_moves_and_extents);
	return unit_done();
}
