/* SPDX-License-Identifier: MIT */
/*
 * ctl.c - framing for the supervisor <-> stage control socket; see ctl.h.
 *
 * Both ends use the same buffered reader, which never allocates: a frame is
 * at most CTL_HDR_SIZE + CTL_PAYLOAD_MAX bytes and that is the buffer.
 */
#include "ctl.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | ((uint32_t)get16(p + 2) << 16);
}

void
ctl_conn_init(struct ctl_conn *c, int fd)
{
	c->fd = fd;
	c->have = 0;
	c->used = 0;
}

int
ctl_conn_fill(struct ctl_conn *c, struct err *e)
{
	ssize_t n;

	/* Drop consumed bytes first so a whole frame always fits. */
	if (c->used > 0) {
		memmove(c->buf, c->buf + c->used, c->have - c->used);
		c->have -= c->used;
		c->used = 0;
	}
	if (c->have == sizeof(c->buf))
		return 1;
	do
		n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		return err_set(e, EX_IOERR, errno, "control fd %d: read", c->fd);
	}
	if (n == 0)
		return 0;
	c->have += (size_t)n;
	return 1;
}

int
ctl_conn_next(struct ctl_conn *c, struct ctl_msg *m, struct err *e)
{
	const uint8_t *p = c->buf + c->used;
	size_t avail = c->have - c->used;
	uint32_t len;

	if (avail < CTL_HDR_SIZE)
		return 0;
	len = get32(p + 4);
	if (len > CTL_PAYLOAD_MAX)
		return err_set(e, EX_DATAERR, 0,
		    "control fd %d: %s frame of %u bytes exceeds %u",
		    c->fd, ctl_type_name(get16(p)), len, CTL_PAYLOAD_MAX);
	if (avail < CTL_HDR_SIZE + len)
		return 0;
	m->type = get16(p);
	m->flags = get16(p + 2);
	m->len = len;
	m->task = get32(p + 8);
	m->seq = get32(p + 12);
	m->data = p + CTL_HDR_SIZE;
	c->used += CTL_HDR_SIZE + len;
	return 1;
}

int
ctl_send(int fd, uint16_t type, uint32_t task, uint32_t seq,
    const void *data, size_t len, struct err *e)
{
	uint8_t hdr[CTL_HDR_SIZE];
	struct iovec iov[2];
	size_t total, done = 0;

	if (len > CTL_PAYLOAD_MAX)
		return err_set(e, EX_SOFTWARE, 0, "control %s frame of %zu bytes exceeds %u",
		    ctl_type_name(type), len, CTL_PAYLOAD_MAX);
	put16(hdr, type);
	put16(hdr + 2, 0);
	put32(hdr + 4, (uint32_t)len);
	put32(hdr + 8, task);
	put32(hdr + 12, seq);
	total = sizeof(hdr) + len;
	while (done < total) {
		struct msghdr mh = { 0 };
		ssize_t n;
		int k = 0;

		if (done < sizeof(hdr)) {
			iov[k].iov_base = hdr + done;
			iov[k++].iov_len = sizeof(hdr) - done;
			if (len > 0) {
				iov[k].iov_base = (void *)(uintptr_t)data;
				iov[k++].iov_len = len;
			}
		} else {
			iov[k].iov_base = (uint8_t *)(uintptr_t)data + (done - sizeof(hdr));
			iov[k++].iov_len = total - done;
		}
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)k;
		/* sendmsg for MSG_NOSIGNAL on sockets; fall back to writev on pipes. */
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = writev(fd, iov, k);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				(void)poll(&pfd, 1, 1000);
				continue;
			}
			return err_set(e, EX_IOERR, errno, "control fd %d: send %s",
			    fd, ctl_type_name(type));
		}
		done += (size_t)n;
	}
	return 0;
}

int
ctl_sendf(int fd, uint16_t type, uint32_t task, uint32_t seq, struct err *e,
    const char *fmt, ...)
{
	char buf[CTL_PAYLOAD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_set(e, EX_SOFTWARE, 0, "control: bad format");
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	return ctl_send(fd, type, task, seq, buf, (size_t)n, e);
}

int
ctl_get(const struct ctl_msg *m, void *out, size_t len)
{
	if (m->len != len)
		return -1;
	memcpy(out, m->data, len);
	return 0;
}

int
ctl_get_str(const struct ctl_msg *m, char *buf, size_t len)
{
	if (m->len >= len || memchr(m->data, '\0', m->len) != NULL)
		return -1;
	memcpy(buf, m->data, m->len);
	buf[m->len] = '\0';
	return 0;
}

const char *
ctl_type_name(uint16_t type)
{
	switch (type) {
	case CTL_MSG_HELLO: return "HELLO";
	case CTL_MSG_VERSION: return "VERSION";
	case CTL_MSG_STATS: return "STATS";
	case CTL_MSG_SHOW_TASK_PAGES: return "SHOW_TASK_PAGES";
	case CTL_MSG_SHOW_HOST_PAGES: return "SHOW_HOST_PAGES";
	case CTL_MSG_PLUGIN_CMD: return "PLUGIN_CMD";
	case CTL_MSG_RELOAD: return "RELOAD";
	case CTL_MSG_STOP: return "STOP";
	case CTL_MSG_TEXT: return "TEXT";
	case CTL_MSG_DATA: return "DATA";
	case CTL_MSG_END: return "END";
	case CTL_MSG_ERROR: return "ERROR";
	}
	return "UNKNOWN";
}

int
ctl_stage_open(struct ctl_stage *s, int fd, const char *name, struct err *e)
{
	uint8_t hello[4 + 64];
	size_t nlen = strlen(name);

	memset(s, 0, sizeof(*s));
	ctl_conn_init(&s->conn, fd);
	if (fd < 0)
		return 0;
	if (nlen > 64)
		nlen = 64;
	put32(hello, CTL_VERSION);
	memcpy(hello + 4, name, nlen);
	if (ctl_send(fd, CTL_MSG_HELLO, 0, 0, hello, 4 + nlen, e) < 0)
		return -1;
	s->enabled = 1;
	return 0;
}

/* Answer one request; anything the stage does not handle gets ERROR. */
static void
ctl_stage_dispatch(struct ctl_stage *s, const struct ctl_msg *m)
{
	int fd = s->conn.fd;
	uint32_t one = 1;
	uint8_t cnt[4];

	switch (m->type) {
	case CTL_MSG_STOP:
		s->stop = 1;
		return;
	case CTL_MSG_VERSION:
		/* The supervisor speaks another version: it will close; stop. */
		s->stop = 1;
		return;
	case CTL_MSG_STATS:
		(void)ctl_send(fd, CTL_MSG_TEXT, m->task, m->seq, s->stats,
		    strlen(s->stats), NULL);
		put32(cnt, one);
		(void)ctl_send(fd, CTL_MSG_END, m->task, m->seq, cnt, sizeof(cnt), NULL);
		return;
	default:
		if (s->fn != NULL && s->fn(s, m, s->arg) == 0)
			return;
		(void)ctl_sendf(fd, CTL_MSG_ERROR, m->task, m->seq, NULL,
		    "%s is not supported by this stage", ctl_type_name(m->type));
		return;
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ctl_stage_poll(struct ctl_stage *s, int timeout_ms)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd;
		struct ctl_msg m;
		int rc;

		if (s->stop)
			return 1;
		if (left < 0)
			left = 0;
		if (!s->enabled) {
			struct timespec ts = { left / 1000, (left % 1000) * 1000000 };

			/* EINTR ends the sleep early so a signal flag is seen. */
			(void)nanosleep(&ts, NULL);
			return 0;
		}
		pfd.fd = s->conn.fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0)
			return errno == EINTR ? 0 : 1;
		if (rc == 0)
			return 0;
		rc = ctl_conn_fill(&s->conn, NULL);
		if (rc <= 0) {
			s->stop = 1;    /* supervisor gone: nobody to report to */
			return 1;
		}
		while ((rc = ctl_conn_next(&s->conn, &m, NULL)) == 1)
			ctl_stage_dispatch(s, &m);
		if (rc < 0) {
			s->stop = 1;
			return 1;
		}
		if (timeout_ms <= 0)
			return s->stop;
	}
}

int
ctl_stage_wait_fd(struct ctl_stage *s, int fd)
{
	for (;;) {
		struct pollfd pfd[2];
		struct ctl_msg m;
		int rc;

		if (s->stop)
			return 1;
		if (!s->enabled)
			return 0;
		pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->conn.fd, .events = POLLIN };
		rc = poll(pfd, 2, -1);
		if (rc < 0)
			return errno == EINTR ? 0 : 1;
		if (pfd[1].revents != 0) {
			if (ctl_conn_fill(&s->conn, NULL) <= 0) {
				s->stop = 1;    /* supervisor gone */
				return 1;
			}
			while ((rc = ctl_conn_next(&s->conn, &m, NULL)) == 1)
				ctl_stage_dispatch(s, &m);
			if (rc < 0) {
				s->stop = 1;
				return 1;
			}
		}
		if (pfd[0].revents != 0)
			return s->stop;
	}
}

void
ctl_stage_close(struct ctl_stage *s)
{
	if (s->enabled && s->conn.fd >= 0)
		close(s->conn.fd);
	s->enabled = 0;
	s->conn.fd = -1;
}
