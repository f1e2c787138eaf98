/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - typed, length-prefixed frames between etmemd-supervisor and its
 * stages over the --control-fd socketpair (imsg-like).
 *
 * Header, little-endian, 16 bytes: u16 type, u16 flags, u32 len, u32 task,
 * u32 seq; then len payload bytes, len <= CTL_PAYLOAD_MAX. Types are numbered
 * by family and never reused: 1xx handshake, 2xx requests (supervisor ->
 * stage), 3xx replies (stage -> supervisor). A request's reply echoes its
 * seq; a list reply is TEXT/DATA frames then END (payload: u32 count).
 *
 * Stage side: send HELLO (payload: u32 CTL_VERSION, then the stage name) once
 * the stage is ready; the supervisor answers a mismatch with VERSION and
 * closes. Text payloads are not NUL-terminated on the wire.
 */
#ifndef ETMEM_CTL_H
#define ETMEM_CTL_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define CTL_VERSION 1u
#define CTL_HDR_SIZE 16u
#define CTL_PAYLOAD_MAX (64u * 1024u)

enum ctl_type {
	CTL_MSG_HELLO = 100,           /* stage -> sup: u32 version + name */
	CTL_MSG_VERSION = 101,         /* sup -> stage: u32 version it speaks */
	CTL_MSG_STATS = 200,           /* counters of the last period, as TEXT "key value" lines */
	CTL_MSG_SHOW_TASK_PAGES = 201, /* cslide showtaskpages */
	CTL_MSG_SHOW_HOST_PAGES = 202, /* cslide showhostpages */
	CTL_MSG_PLUGIN_CMD = 203,      /* engine-private command line (payload: text) */
	CTL_MSG_RELOAD = 204,          /* re-read parameters (payload: text argv, NUL-separated) */
	CTL_MSG_STOP = 205,            /* finish the current period, write END, exit 0 */
	CTL_MSG_TEXT = 300,            /* reply text chunk */
	CTL_MSG_DATA = 301,            /* reply binary chunk */
	CTL_MSG_END = 302,             /* end of a reply; payload u32 count of chunks */
	CTL_MSG_ERROR = 303,           /* failed request; payload text */
};

struct ctl_msg {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t task;
	uint32_t seq;
	const uint8_t *data;    /* valid until the next ctl_conn_next/fill */
};

/* A buffered connection; works on blocking and non-blocking fds. */
struct ctl_conn {
	int fd;
	size_t have;            /* bytes in buf */
	size_t used;            /* bytes of buf consumed by ctl_conn_next */
	uint8_t buf[CTL_HDR_SIZE + CTL_PAYLOAD_MAX];
};

/* ctl.c */
void ctl_conn_init(struct ctl_conn *c, int fd);
/* Read what is available. 1: got bytes (or buffer full), 0: EOF, -1: error
 * (EAGAIN is not an error: returns 1 with nothing new). */
int ctl_conn_fill(struct ctl_conn *c, struct err *e);
/* Take one complete frame. 1: *m filled; 0: need more bytes; -1: a frame that
 * breaks the rules (length over the bound) — close the peer. */
int ctl_conn_next(struct ctl_conn *c, struct ctl_msg *m, struct err *e);
/* Send one frame with a single writev (retried on EINTR/partial). */
int ctl_send(int fd, uint16_t type, uint32_t task, uint32_t seq,
    const void *data, size_t len, struct err *e);
int ctl_sendf(int fd, uint16_t type, uint32_t task, uint32_t seq,
    struct err *e, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Copy an exactly-sized payload; -1 if m->len != len. */
int ctl_get(const struct ctl_msg *m, void *out, size_t len);
/* Copy a text payload into buf as a C string; -1 if too long or has a NUL. */
int ctl_get_str(const struct ctl_msg *m, char *buf, size_t len);
const char *ctl_type_name(uint16_t type);

/*
 * Stage helper: a stage calls ctl_stage_poll() wherever it would sleep; it
 * waits up to timeout_ms for requests, answers STATS from the text the stage
 * keeps up to date in `stats`, hands other requests to `fn` (may be NULL),
 * and returns 1 if STOP (or EOF on the control fd) was seen.
 */
struct ctl_stage {
	struct ctl_conn conn;
	int enabled;            /* 0 when no --control-fd was given */
	int stop;               /* STOP received or supervisor gone */
	char stats[4096];       /* "key value\n" lines, the stage's last counters */
	/* Other requests; reply with ctl_send(..., m->seq). 0 ok, -1 error. */
	int (*fn)(struct ctl_stage *s, const struct ctl_msg *m, void *arg);
	void *arg;
};
/* fd < 0: disabled (every call is a plain sleep). Sends HELLO. */
int ctl_stage_open(struct ctl_stage *s, int fd, const char *name, struct err *e);
/* Sleep up to timeout_ms (0 = just poll), serving requests. 1 = stop asked. */
int ctl_stage_poll(struct ctl_stage *s, int timeout_ms);
/* Block until fd is readable (or hung up) while serving requests, so a stage
 * waiting for input still answers STATS and engine commands at once.
 * 1 = stop asked; 0 = fd ready, or a signal interrupted the wait. */
int ctl_stage_wait_fd(struct ctl_stage *s, int fd);
void ctl_stage_close(struct ctl_stage *s);

#endif /* ETMEM_CTL_H */
