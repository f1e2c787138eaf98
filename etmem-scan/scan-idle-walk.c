/* SPDX-License-Identifier: MIT */
/*
 * scan-idle-walk.c - the idle_pages read loop and raw-capture decoding,
 * independent of where the bytes come from.
 *
 * The walk reads through a pluggable source (the kernel file in
 * scan-idle-pages.c, an in-memory fake in the unit tests), because the
 * kernel may stop early when the user buffer fills and only its file
 * position says where: the walk continues from there until each selected VMA
 * is covered, and never reads an address twice in a pass (a read clears the
 * accessed bits, so a second read would call everything idle).
 */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "log.h"

/* Clip one decoded run to the selected VMAs: pass on the units that start
 * inside one. vmas are sorted and disjoint. */
struct clip {
	const struct etmr_vma *vmas;
	size_t n, next;         /* first VMA that may still overlap */
	scan_idle_vma_fn fn;
	void *arg;
};

static int
clip_run(const struct scan_idle_run *r, void *arg)
{
	struct clip *c = arg;
	uint64_t a = r->start, b = r->start + r->units * r->unit_bytes;
	size_t j;
	int rc;

	if (c->fn == NULL || r->type == SCAN_IDLE_PTE_HOLE ||
	    r->type == SCAN_IDLE_PMD_HOLE)
		return 0;
	/* Runs come in address order within a read and reads move forward,
	 * but an address command may jump back: restart the search then. */
	if (c->next > 0 && c->next <= c->n && c->vmas[c->next - 1].end > a)
		c->next = 0;
	for (j = c->next; j < c->n && c->vmas[j].start < b; j++) {
		uint64_t lo, hi, k0, k1;
		struct scan_idle_run sub;

		if (c->vmas[j].end <= a) {
			c->next = j + 1;
			continue;
		}
		lo = a > c->vmas[j].start ? a : c->vmas[j].start;
		hi = b < c->vmas[j].end ? b : c->vmas[j].end;
		k0 = (lo - a + r->unit_bytes - 1) / r->unit_bytes;
		k1 = (hi - a + r->unit_bytes - 1) / r->unit_bytes;
		if (k1 <= k0)
			continue;
		sub = *r;
		sub.start = a + k0 * r->unit_bytes;
		sub.units = k1 - k0;
		if ((rc = c->fn(&sub, &c->vmas[j], c->arg)) < 0)
			return rc;
	}
	return 0;
}

int
scan_idle_walk(const struct scan_idle_src *src, const struct etmr_vma *vmas,
    size_t nvmas, uint32_t page_size, size_t buf_max, scan_idle_vma_fn fn,
    void *arg, struct scan_idle_stats *st, struct err *e)
{
	struct clip c = { vmas, nvmas, 0, fn, arg };
	uint64_t covered = 0;
	uint8_t *buf;
	size_t i;
	int rc = 0;

	if (buf_max < SCAN_IDLE_BUF_MIN)
		buf_max = SCAN_IDLE_BUF_MIN;
	buf = malloc(buf_max);
	if (buf == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "idle_pages buffer");
	for (i = 0; i < nvmas && rc == 0; i++) {
		uint64_t pos = vmas[i].start > covered ? vmas[i].start : covered;

		while (pos < vmas[i].end) {
			/* One byte covers 8 pages; the kernel wants >= 20. A
			 * minimum-size read may run past the VMA (into later
			 * ones: hence `covered`) and, within 640 KiB of the top
			 * of the address space, returns 0: the loop ends. */
			uint64_t pages = (vmas[i].end - pos) / page_size;
			size_t want = (size_t)((pages + 7) / 8 < buf_max ?
			    (pages + 7) / 8 : buf_max);
			uint64_t next = pos;
			ssize_t n;

			if (want < SCAN_IDLE_BUF_MIN)
				want = SCAN_IDLE_BUF_MIN;
			n = src->read(src->arg, buf, want, pos, &next);
			if (n < 0) {
				rc = err_set(e, errno == ESRCH ? EX_NOINPUT : EX_IOERR,
				    errno, "idle_pages read at 0x%llx",
				    (unsigned long long)pos);
				break;
			}
			if (n > 0 && (rc = scan_idle_decode(buf, (size_t)n, pos,
			    page_size, clip_run, &c, NULL, st, e)) < 0)
				break;
			/* No progress means nothing walkable is left here. */
			if (next <= pos)
				break;
			pos = next;
			if (pos > covered)
				covered = pos;
		}
	}
	free(buf);
	return rc;
}

/* --decode-idle-pages: a raw capture (one read's bytes, from VA addr). */
struct file_emit {
	struct scan_coalesce co;
	pid_t pid;
	uint32_t page_size;
	struct err *e;
};

static int
file_emit_run(const struct scan_idle_run *r, void *arg)
{
	struct file_emit *fe = arg;
	struct etmr_access a;

	if (scan_idle_access(r, fe->page_size, &a) < 0)
		return 0;       /* holes */
	a.pid = (uint32_t)fe->pid;
	return scan_coalesce_add(&fe->co, &a, fe->e);
}

int
scan_decode_file(const char *file, uint64_t addr, pid_t pid,
    uint32_t page_size, struct etmr_writer *w, struct err *e)
{
	struct scan_idle_stats st = { 0 };
	struct file_emit fe;
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	FILE *fp;
	int rc;

	fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	if (fp == NULL)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR, errno,
		    "cannot read '%s'", file);
	for (;;) {
		size_t got;

		if (n == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > (1u << 30) || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				if (fp != stdin)
					fclose(fp);
				return err_set(e, EX_DATAERR, 0, "'%s': capture "
				    "larger than 1 GiB or out of memory", file);
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	rc = ferror(fp) ? err_set(e, EX_IOERR, errno, "cannot read '%s'", file) : 0;
	if (fp != stdin)
		fclose(fp);
	if (rc == 0) {
		memset(&fe, 0, sizeof(fe));
		scan_coalesce_init(&fe.co, w, page_size, NULL);
		fe.pid = pid;
		fe.page_size = page_size;
		fe.e = e;
		rc = scan_idle_decode(buf, n, addr, page_size, file_emit_run, &fe,
		    NULL, &st, e);
		if (rc < 0)
			err_prefix(e, "%s", file);
		else
			rc = scan_coalesce_flush(&fe.co, e);
	}
	if (rc == 0 && st.truncated_cmd)
		log_warnx("%s: ends in a truncated address command (ignored)", file);
	if (rc == 0 && st.misaligned)
		log_warnx("%s: %llu runs not aligned to their page size (dropped)",
		    file, (unsigned long long)st.misaligned);
	free(buf);
	return rc;
}
