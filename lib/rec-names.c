/* SPDX-License-Identifier: MIT */
/*
 * rec-names.c - the names of ETMR enums (as the text form spells them), the
 * byte size of a page size class, and a fresh stream header. Pure lookups:
 * nothing here reads or writes a stream.
 */
#include "etmem/record.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rec-wire.h"

/* rec-wire.h has the rule (etmr_class_bytes) and why. */
uint64_t
etmr_size_bytes(uint8_t size, uint32_t page_size)
{
	return etmr_class_bytes(size, page_size);
}

const char *
etmr_size_name(uint8_t size)
{
	static const char *const names[] = { "4K", "2M", "1G" };

	return size < 3 ? names[size] : NULL;
}

const char *
etmr_backend_name(uint16_t backend)
{
	static const char *const names[] = {
		[ETMR_BACKEND_NONE] = "none",
		[ETMR_BACKEND_IDLE_PAGES] = "idle_pages",
		[ETMR_BACKEND_PAGE_IDLE] = "page_idle",
		[ETMR_BACKEND_DAMON] = "damon",
		[ETMR_BACKEND_SMAPS] = "smaps",
		[ETMR_BACKEND_PMU] = "pmu",
	};

	return backend < sizeof(names) / sizeof(names[0]) ? names[backend] : NULL;
}

const char *
etmr_action_name(uint8_t action)
{
	switch (action) {
	case ETMR_ACT_SWAP:    return "swap";
	case ETMR_ACT_DEMOTE:  return "demote";
	case ETMR_ACT_PROMOTE: return "promote";
	default:               return NULL;
	}
}

const char *
etmr_frame_name(uint16_t type)
{
	switch (type) {
	case ETMR_FRAME_PROC:     return "PROC";
	case ETMR_FRAME_VMA:      return "VMA";
	case ETMR_FRAME_ROUND:    return "ROUND";
	case ETMR_FRAME_ACCESS:   return "ACCESS";
	case ETMR_FRAME_PERIOD:   return "PERIOD";
	case ETMR_FRAME_DECISION: return "DECISION";
	case ETMR_FRAME_STAT:     return "STAT";
	case ETMR_FRAME_END:      return "END";
	default:                  return "UNKNOWN";
	}
}

void
etmr_header_init(struct etmr_header *h, uint16_t backend)
{
	struct timespec ts;
	long ps = sysconf(_SC_PAGESIZE);

	memset(h, 0, sizeof(*h));
	h->version = ETMR_VERSION;
	h->page_size = ps > 0 ? (uint32_t)ps : 4096;
	h->backend = backend;
	if (gethostname(h->host, ETMR_HOST_MAX) != 0)
		h->host[0] = '\0';
	h->host[ETMR_HOST_MAX] = '\0';
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		h->start_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
