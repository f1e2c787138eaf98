/* SPDX-License-Identifier: MIT */
/*
 * pmu-map.c - credit sampled addresses to pages of the targets' VMAs.
 *
 * A sample's page is found through its VMA (binary search), so the page size
 * is the VMA's: hugetlb VMAs count whole huge pages, THP VMAs (flag T) count
 * the 2 MiB blocks that lie wholly inside the VMA and base pages at its
 * unaligned edges, everything else base pages of the running kernel's size
 * (the original hard-coded 4 KiB and indexed 4 KiB slots with 2 MiB
 * offsets, W-20). Counts live in a hash table keyed by (pid, page), never
 * by pointers into a VMA list, so re-reading the VMAs cannot leave dangling
 * references (W-21) and memory grows with the pages sampled, not with the
 * size of the address space. Single-threaded by design: pmu.c has one poll
 * loop, so no counter needs to be atomic.
 */
#include "pmu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

#define THP_BYTES (2ull << 20)

void
pmu_map_init(struct pmu_map *m, uint32_t page_size, uint64_t cooling_interval)
{
	memset(m, 0, sizeof(*m));
	m->page_size = page_size;
	m->cooling_interval = cooling_interval;
}

static int
vma_cmp(const void *a, const void *b)
{
	const struct etmr_vma *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

int
pmu_map_set_target(struct pmu_map *m, pid_t pid, const struct etmr_vma *vmas,
    size_t n, struct err *e)
{
	struct pmu_map_target *t = NULL;
	struct etmr_vma *copy = NULL;
	size_t i;

	for (i = 0; i < m->ntargets; i++)
		if (m->targets[i].pid == pid)
			t = &m->targets[i];
	if (n > 0) {
		if ((copy = malloc(n * sizeof(*copy))) == NULL)
			return err_set(e, EX_OSERR, ENOMEM, "VMAs of %d", (int)pid);
		memcpy(copy, vmas, n * sizeof(*copy));
		qsort(copy, n, sizeof(*copy), vma_cmp);
	}
	if (t == NULL) {
		struct pmu_map_target *nt = realloc(m->targets,
		    (m->ntargets + 1) * sizeof(*nt));

		if (nt == NULL) {
			free(copy);
			return err_set(e, EX_OSERR, ENOMEM, "targets");
		}
		m->targets = nt;
		t = &m->targets[m->ntargets++];
		t->vmas = NULL;
	}
	free(t->vmas);
	t->pid = pid;
	t->vmas = copy;
	t->nvmas = n;
	return 0;
}

void
pmu_map_clear_targets(struct pmu_map *m)
{
	size_t i;

	for (i = 0; i < m->ntargets; i++)
		free(m->targets[i].vmas);
	free(m->targets);
	m->targets = NULL;
	m->ntargets = 0;
}

static const struct etmr_vma *
vma_find(const struct pmu_map_target *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nvmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct etmr_vma *v = &t->vmas[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}

/* The page holding addr in v: its start, size class and flags. */
static void
page_of(const struct pmu_map *m, const struct etmr_vma *v, uint64_t addr,
    struct pmu_map_entry *pe)
{
	uint64_t bytes = m->page_size;

	pe->size = ETMR_SIZE_4K;
	pe->flags = (v->flags & (ETMR_F_ANON | ETMR_F_FILE | ETMR_F_SHARED |
	    ETMR_F_HUGETLB | ETMR_F_SWAPFLAG)) | ETMR_F_SAMPLED;
	if (v->flags & ETMR_F_HUGETLB) {
		pe->size = v->size;
		bytes = etmr_size_bytes(v->size, m->page_size);
	} else if (v->flags & ETMR_F_THP) {
		uint64_t b = addr & ~(THP_BYTES - 1);

		if (b >= v->start && b + THP_BYTES <= v->end) {
			pe->size = ETMR_SIZE_2M;
			pe->flags |= ETMR_F_THP;
			bytes = THP_BYTES;
		}
	}
	pe->start = addr & ~(bytes - 1);
}

static size_t
slot_of(uint32_t pid, uint64_t start, size_t cap)
{
	uint64_t h = (start >> 12) ^ ((uint64_t)pid << 40);

	h *= 0x9e3779b97f4a7c15ull;     /* Fibonacci hashing */
	return (size_t)(h >> 32) & (cap - 1);
}

/* Insert or find; NULL when full. */
static struct pmu_map_entry *
slot_get(struct pmu_map_entry *tab, size_t cap, uint32_t pid, uint64_t start)
{
	size_t i = slot_of(pid, start, cap), k;

	for (k = 0; k < cap; k++, i = (i + 1) & (cap - 1)) {
		struct pmu_map_entry *pe = &tab[i];

		if (pe->count == 0 || (pe->pid == pid && pe->start == start))
			return pe;
	}
	return NULL;
}

/* Rehash the live entries into a table of ncap slots. */
static int
rehash(struct pmu_map *m, size_t ncap)
{
	struct pmu_map_entry *nt = calloc(ncap, sizeof(*nt));
	size_t i;

	if (nt == NULL)
		return -1;
	m->used = 0;
	for (i = 0; i < m->cap; i++) {
		struct pmu_map_entry *pe = &m->tab[i];

		if (pe->count == 0)
			continue;
		*slot_get(nt, ncap, pe->pid, pe->start) = *pe;
		m->used++;
	}
	free(m->tab);
	m->tab = nt;
	m->cap = ncap;
	return 0;
}

int
pmu_map_add(struct pmu_map *m, uint32_t pid, uint64_t addr)
{
	const struct pmu_map_target *t = NULL;
	const struct etmr_vma *v;
	struct pmu_map_entry key, *pe;
	size_t i;

	for (i = 0; i < m->ntargets && t == NULL; i++)
		if ((uint32_t)m->targets[i].pid == pid)
			t = &m->targets[i];
	if (t == NULL) {
		m->st.foreign++;
		return 0;
	}
	if ((v = vma_find(t, addr)) == NULL) {
		m->st.unmapped++;
		return 0;
	}
	page_of(m, v, addr, &key);
	/* Keep the load under 1/2 so probes stay short. */
	if ((m->used + 1) * 2 > m->cap && m->cap < 2 * (size_t)PMU_MAP_PAGES_MAX &&
	    rehash(m, m->cap ? m->cap * 2 : 1024) < 0) {
		m->st.dropped++;
		return 0;
	}
	pe = slot_get(m->tab, m->cap, pid, key.start);
	if (pe == NULL || (pe->count == 0 && m->used >= PMU_MAP_PAGES_MAX)) {
		m->st.dropped++;
		return 0;
	}
	if (pe->count == 0) {
		key.pid = pid;
		key.count = 0;
		*pe = key;
		m->used++;
	}
	if (pe->count < UINT32_MAX)
		pe->count++;
	m->st.counted++;
	if (m->cooling_interval != 0 && ++m->since_cool >= m->cooling_interval)
		pmu_map_cool(m);
	return 1;
}

void
pmu_map_cool(struct pmu_map *m)
{
	size_t i;

	m->since_cool = 0;
	m->st.coolings++;
	for (i = 0; i < m->cap; i++)
		m->tab[i].count /= 2;
	/* Entries that reached 0 became free slots, which would cut the probe
	 * chains of entries behind them: rehash. Should that allocation fail,
	 * start empty (the pass loses its counts, never its correctness). */
	if (m->cap != 0 && rehash(m, m->cap) < 0) {
		memset(m->tab, 0, m->cap * sizeof(*m->tab));
		m->used = 0;
	}
}

static int
access_cmp(const void *a, const void *b)
{
	const struct etmr_access *x = a, *y = b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->start > y->start) - (x->start < y->start);
}

int
pmu_map_collect(struct pmu_map *m, struct etmr_access **out, size_t *n,
    struct err *e)
{
	struct etmr_access *v;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (m->used == 0)
		return 0;
	if ((v = calloc(m->used, sizeof(*v))) == NULL)
		return err_set(e, EX_OSERR, ENOMEM, "sampled pages");
	for (i = 0; i < m->cap && k < m->used; i++) {
		const struct pmu_map_entry *pe = &m->tab[i];

		if (pe->count == 0)
			continue;
		v[k].start = pe->start;
		v[k].npages = 1;
		v[k].pid = pe->pid;
		v[k].count = pe->count;
		v[k].flags = pe->flags;
		v[k].node = ETMR_NODE_NONE;
		v[k].size = pe->size;
		k++;
	}
	qsort(v, k, sizeof(*v), access_cmp);
	*out = v;
	*n = k;
	return 0;
}

void
pmu_map_reset(struct pmu_map *m)
{
	if (m->tab != NULL)
		memset(m->tab, 0, m->cap * sizeof(*m->tab));
	m->used = 0;
}

void
pmu_map_free(struct pmu_map *m)
{
	pmu_map_clear_targets(m);
	free(m->tab);
	memset(m, 0, sizeof(*m));
}
