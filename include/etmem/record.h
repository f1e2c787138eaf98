/* SPDX-License-Identifier: MIT */
/*
 * etmem/record.h - the ETMR record stream, the one contract every etmem stage
 * shares (scanner -> ranker -> migrator). docs/FORMAT.md describes the bytes;
 * this header is the C view of the same thing.
 *
 * A stream is a header followed by frames. A frame is {u16 type, u16 flags,
 * u32 len} and `len` payload bytes, all little-endian. Item frames (PROC, VMA,
 * ACCESS, DECISION, STAT) carry an array of fixed-size items; marker frames
 * (ROUND, PERIOD, END) carry one fixed struct. Unknown frame types are
 * skipped by readers. The structs below are the decoded, host-order view;
 * their wire size is given by ETMR_*_WIRE_SIZE and the codec in libetmem
 * encodes field by field (no struct is ever written raw).
 *
 * Ordering, per period:  scanner  VMA* (ROUND ACCESS*)* PROC* STAT* PERIOD
 *                        ranker   PROC* DECISION* STAT* PERIOD
 *                        migrator STAT* PERIOD
 * and END last. A PERIOD closes everything since the previous PERIOD: the
 * rounds, and the PROC items (the facts about the period's processes: start
 * time, VmRSS, VmSwap, measured at its end). A period can thus be acted on as
 * soon as its PERIOD frame arrives while the upstream stage keeps streaming.
 *
 * Self-contained C11; additive changes only; bump ETMR_VERSION on any change
 * to an existing layout.
 */
#ifndef ETMEM_RECORD_H
#define ETMEM_RECORD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ETMR_MAGIC          "ETMR"
#define ETMR_VERSION        1
#define ETMR_HEADER_SIZE    32u           /* fixed part; hostname follows */
#define ETMR_HOST_MAX       255u
#define ETMR_FRAME_HDR_SIZE 8u
#define ETMR_FRAME_MAX      (1u << 20)    /* payload bound for any frame */
#define ETMR_BATCH_MAX      1024u         /* items a writer puts in one frame */

/* Frame types. Never renumber; new types get new numbers. */
enum etmr_frame_type {
	ETMR_FRAME_PROC = 1,      /* items: struct etmr_proc */
	ETMR_FRAME_VMA = 2,       /* items: struct etmr_vma */
	ETMR_FRAME_ROUND = 3,     /* marker: struct etmr_round (a scan pass begins) */
	ETMR_FRAME_ACCESS = 4,    /* items: struct etmr_access (of the current round) */
	ETMR_FRAME_PERIOD = 5,    /* marker: struct etmr_period (the period is complete) */
	ETMR_FRAME_DECISION = 6,  /* items: struct etmr_decision */
	ETMR_FRAME_STAT = 7,      /* items: struct etmr_stat */
	ETMR_FRAME_END = 8,       /* marker: struct etmr_end (last frame) */
};

/* Where the access data came from (header field). */
enum etmr_backend {
	ETMR_BACKEND_NONE = 0,       /* hand-written or derived */
	ETMR_BACKEND_IDLE_PAGES = 1, /* openEuler /proc/PID/idle_pages */
	ETMR_BACKEND_PAGE_IDLE = 2,  /* mainline page_idle bitmap + pagemap */
	ETMR_BACKEND_DAMON = 3,      /* DAMON vaddr regions */
	ETMR_BACKEND_SMAPS = 4,      /* clear_refs + smaps Referenced, per VMA */
	ETMR_BACKEND_PMU = 5,        /* sampled accesses (etmem-pmu) */
};

/* Page size class of an extent: npages counts pages of this size. */
enum etmr_size {
	ETMR_SIZE_4K = 0,
	ETMR_SIZE_2M = 1,
	ETMR_SIZE_1G = 2,
};

#define ETMR_NODE_NONE 0xffffu

/* Access and VMA flags. Text letters in docs/FORMAT.md, in this order. */
#define ETMR_F_ANON     0x0001u  /* 'a' anonymous memory */
#define ETMR_F_FILE     0x0002u  /* 'f' file-backed */
#define ETMR_F_DIRTY    0x0004u  /* 'd' written (weight 3 in slide) */
#define ETMR_F_IDLE     0x0008u  /* 'i' seen and not accessed */
#define ETMR_F_HOLE     0x0010u  /* 'h' not present */
#define ETMR_F_SWAPPED  0x0020u  /* 's' swapped out */
#define ETMR_F_VMA      0x0040u  /* 'v' granularity is the whole VMA (smaps) */
#define ETMR_F_REGION   0x0080u  /* 'r' granularity is an adaptive region (DAMON) */
#define ETMR_F_HUGETLB  0x0100u  /* 'H' hugetlbfs */
#define ETMR_F_THP      0x0200u  /* 'T' transparent huge page */
#define ETMR_F_SAMPLED  0x0400u  /* 'p' counts are samples (PMU) */
#define ETMR_F_SWAPFLAG 0x0800u  /* 'w' VMA opted in with MADV_SWAPFLAG */
#define ETMR_F_SHARED   0x1000u  /* 'S' shared mapping */
#define ETMR_F_ALL      0x1fffu

/* Decision actions. */
enum etmr_action {
	ETMR_ACT_SWAP = 1,     /* swap out (swap_pages or MADV_PAGEOUT) */
	ETMR_ACT_DEMOTE = 2,   /* move to the slower node `node` */
	ETMR_ACT_PROMOTE = 3,  /* move to the faster node `node` */
};

/* Which stage wrote a STAT item. */
enum etmr_stage {
	ETMR_STAGE_SCAN = 1,
	ETMR_STAGE_RANK = 2,
	ETMR_STAGE_MIGRATE = 3,
	ETMR_STAGE_PMU = 4,
	ETMR_STAGE_PSI = 5,
};

/* Stream header. Wire: "ETMR" u16 version, u16 hdr_len, u32 page_size,
 * u16 backend, u8 host_len, u8 0, u64 start_ns, u64 0, host[host_len]. */
struct etmr_header {
	uint16_t version;
	uint32_t page_size;           /* base page size in bytes, e.g. 4096 */
	uint16_t backend;             /* enum etmr_backend */
	uint64_t start_ns;            /* CLOCK_REALTIME at stream start */
	char host[ETMR_HOST_MAX + 1]; /* NUL-terminated */
};

/* A process of the period. Wire 48 bytes. */
#define ETMR_PROC_WIRE_SIZE 48u
#define ETMR_COMM_MAX 16u
struct etmr_proc {
	uint64_t start_time;    /* /proc/PID/stat field 22, clock ticks since boot */
	uint64_t rss_kb;        /* VmRSS */
	uint64_t swap_kb;       /* VmSwap */
	uint32_t pid;
	uint32_t flags;         /* reserved, 0 */
	char comm[ETMR_COMM_MAX]; /* NUL-padded, may lack the NUL if 16 long */
};

/* A mapping of a process. Wire 32 bytes. */
#define ETMR_VMA_WIRE_SIZE 32u
#define ETMR_PROT_READ   0x1u
#define ETMR_PROT_WRITE  0x2u
#define ETMR_PROT_EXEC   0x4u
#define ETMR_PROT_SHARED 0x8u
struct etmr_vma {
	uint64_t start;
	uint64_t end;           /* exclusive */
	uint32_t pid;
	uint32_t flags;         /* ETMR_F_* */
	uint16_t node;          /* ETMR_NODE_NONE if unknown */
	uint8_t size;           /* enum etmr_size: page size mapping the VMA */
	uint8_t prot;           /* ETMR_PROT_* */
};

/* Start of one scan pass. Wire 24 bytes. */
#define ETMR_ROUND_WIRE_SIZE 24u
struct etmr_round {
	uint32_t period;        /* 1-based period number */
	uint32_t round;         /* 1-based pass within the period */
	uint32_t loop;          /* passes per period */
	uint64_t time_ns;       /* CLOCK_REALTIME when the pass began */
};

/* An access extent: npages pages of `size` from `start`. Wire 40 bytes. */
#define ETMR_ACCESS_WIRE_SIZE 40u
struct etmr_access {
	uint64_t start;
	uint64_t npages;
	uint32_t pid;
	uint32_t count;         /* weight this pass (0 idle, 1 accessed, 3 dirty) or samples */
	uint32_t age;           /* DAMON: aggregation intervals the pattern held */
	uint32_t flags;         /* ETMR_F_* */
	uint16_t node;          /* ETMR_NODE_NONE if unknown */
	uint8_t size;           /* enum etmr_size */
};

/* End of a period, with the machine facts a policy needs. Wire 64 bytes. */
#define ETMR_PERIOD_WIRE_SIZE 64u
struct etmr_period {
	uint32_t period;
	uint32_t rounds;        /* passes that were made (== loop unless cut short) */
	uint64_t time_ns;
	uint64_t mem_total_kb;  /* /proc/meminfo */
	uint64_t mem_free_kb;
	uint64_t mem_available_kb;
	uint64_t swap_cached_kb;
	uint64_t swap_total_kb;
	uint64_t swap_free_kb;
};

/* A decision: do `action` to npages pages of `size` from `start`. Wire 40. */
#define ETMR_DECISION_WIRE_SIZE 40u
struct etmr_decision {
	uint64_t start;
	uint64_t npages;
	uint64_t start_time;    /* process identity; 0 = not checked (hand-written) */
	uint32_t pid;
	uint32_t score;         /* lower = colder; ranker-defined, for ordering */
	uint16_t node;          /* target node for DEMOTE/PROMOTE, else NODE_NONE */
	uint8_t size;           /* enum etmr_size */
	uint8_t action;         /* enum etmr_action */
};

/* A named counter. Wire 40 bytes. */
#define ETMR_STAT_WIRE_SIZE 40u
#define ETMR_STAT_KEY_MAX 24u   /* incl. NUL; [a-z0-9_], 1..23 chars */
struct etmr_stat {
	uint32_t period;
	uint8_t stage;          /* enum etmr_stage */
	char key[ETMR_STAT_KEY_MAX];
	uint64_t value;
};

/* Last frame. Wire 8 bytes. */
#define ETMR_END_WIRE_SIZE 8u
struct etmr_end {
	uint32_t status;        /* the writer's exit status (0 = complete) */
};

/* A decoded frame as handed out by the reader. Item arrays stay valid until
 * the next etmr_read() on the same reader. */
struct etmr_frame {
	uint16_t type;          /* enum etmr_frame_type */
	uint64_t offset;        /* byte offset of the frame (binary) or line number (text) */
	size_t n;               /* number of items (item frames), 1 for markers */
	union {
		const struct etmr_proc *proc;
		const struct etmr_vma *vma;
		const struct etmr_access *access;
		const struct etmr_decision *decision;
		const struct etmr_stat *stat;
	} u;
	struct etmr_round round;
	struct etmr_period period;
	struct etmr_end end;
};

enum etmr_form {
	ETMR_FORM_BINARY = 0,
	ETMR_FORM_TEXT = 1,
};

/*
 * Reader and writer (libetmem). Errors fill `struct err` (lib/err.h, not part
 * of this ABI: callers pass a pointer they got from the library or NULL).
 */
struct err;
struct etmr_reader;
struct etmr_writer;

/* Open a reader on fd; the form is told apart by the magic. `name` is used in
 * messages ("<stdin>"). Reads and validates the header (text streams may lack
 * one: defaults are then used). NULL on error. */
struct etmr_reader *etmr_reader_open(int fd, const char *name, struct err *e);
/* 1: a frame was read; 0: clean end of input; -1: error (EX_DATAERR for bad
 * data, with the byte offset or line and the frame type in the message). */
int etmr_read(struct etmr_reader *r, struct etmr_frame *f, struct err *e);
const struct etmr_header *etmr_reader_header(const struct etmr_reader *r);
/* The fd the reader reads, and whether it already holds input (or has seen
 * EOF) so that etmr_read() can make progress without blocking on the fd: a
 * caller that waits on the fd together with other fds checks this first. */
int etmr_reader_fd(const struct etmr_reader *r);
int etmr_reader_buffered(const struct etmr_reader *r);
enum etmr_form etmr_reader_form(const struct etmr_reader *r);
void etmr_reader_close(struct etmr_reader *r);

/* Open a writer on fd and write the header. */
struct etmr_writer *etmr_writer_open(int fd, enum etmr_form form,
    const struct etmr_header *h, struct err *e);
/* Items are batched: consecutive items of one type share a frame of at most
 * ETMR_BATCH_MAX items; a different type or a marker closes the batch. */
int etmr_write_proc(struct etmr_writer *w, const struct etmr_proc *p, struct err *e);
int etmr_write_vma(struct etmr_writer *w, const struct etmr_vma *v, struct err *e);
int etmr_write_access(struct etmr_writer *w, const struct etmr_access *a, struct err *e);
int etmr_write_decision(struct etmr_writer *w, const struct etmr_decision *d, struct err *e);
int etmr_write_stat(struct etmr_writer *w, const struct etmr_stat *s, struct err *e);
int etmr_write_round(struct etmr_writer *w, const struct etmr_round *rd, struct err *e);
/* PERIOD and END also push everything buffered to the fd, so a downstream
 * stage can act on a complete period while the upstream keeps running. */
int etmr_write_period(struct etmr_writer *w, const struct etmr_period *p, struct err *e);
int etmr_write_end(struct etmr_writer *w, uint32_t status, struct err *e);
/* Write any decoded frame (pass-through, conversion). */
int etmr_write_frame(struct etmr_writer *w, const struct etmr_frame *f, struct err *e);
int etmr_writer_flush(struct etmr_writer *w, struct err *e);
/* Flush and free (does not close fd, does not write END). */
int etmr_writer_close(struct etmr_writer *w, struct err *e);

/* Helpers shared by every stage. */
/* Bytes in one page of size class `size` for base page size `page_size`. */
uint64_t etmr_size_bytes(uint8_t size, uint32_t page_size);
const char *etmr_size_name(uint8_t size);          /* "4K" "2M" "1G", NULL if bad */
const char *etmr_backend_name(uint16_t backend);   /* "smaps", ..., NULL if bad */
const char *etmr_action_name(uint8_t action);      /* "swap" "demote" "promote" */
const char *etmr_frame_name(uint16_t type);        /* "ACCESS", ..., "UNKNOWN" */
/* Fill a header for a new stream: version 1, the running kernel's base page
 * size, `backend`, this host's name and CLOCK_REALTIME now. */
void etmr_header_init(struct etmr_header *h, uint16_t backend);

#ifdef __cplusplus
}
#endif

#endif /* ETMEM_RECORD_H */
