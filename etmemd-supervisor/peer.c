/* SPDX-License-Identifier: MIT */
/*
 * peer.c - the CLI socket: bind the abstract name, accept without blocking,
 * refuse every peer but uid 0/gid 0 (SO_PEERCRED), and give each client its
 * own bufferevent with a read and a write timeout, so a silent or slow client
 * never holds up another. One request per connection, read the way the
 * original does (what the first read brings, at most RPC_REQ_MAX bytes);
 * the reply is flushed and the connection closed.
 */
#include "sup.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "err.h"
#include "log.h"

#define LISTEN_BACKLOG 64

struct sup_client {
	struct bufferevent *bev;
	int done;               /* reply queued: close once it is flushed */
	struct sup_stage *waiting;      /* engine command in flight */
	struct event *ev_wait;
	TAILQ_ENTRY(sup_client) entry;
};

/* Every open connection, so shutdown can free them. */
static TAILQ_HEAD(, sup_client) clients = TAILQ_HEAD_INITIALIZER(clients);

static struct event *ev_listen;

int
sup_listen(const char *name, struct err *e)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int fd;

	if (rpc_sockaddr(name, &sa, &salen, e) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, EX_OSERR, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		err_set(e, EX_UNAVAILABLE, errno, "cannot bind '@%s'%s", name,
		    errno == EADDRINUSE ? " (another etmemd serves it)" : "");
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		err_set(e, EX_OSERR, errno, "listen on '@%s'", name);
		close(fd);
		return -1;
	}
	return fd;
}

int
sup_peer_allowed(int fd, uid_t *uid, gid_t *gid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -1;
	*uid = cr.uid;
	*gid = cr.gid;
	return cr.uid == 0 && cr.gid == 0 ? 0 : -1;
}

static void
client_free(struct sup_client *c)
{
	if (c->waiting != NULL)
		c->waiting->waiter = NULL;
	if (c->ev_wait != NULL)
		event_free(c->ev_wait);
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&clients, c, entry);
	free(c);
	sup.nclients--;
}

void
sup_client_finish(struct sup_client *c, enum rpc_result r)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	unsigned char tag;

	if (c->waiting != NULL)
		c->waiting->waiter = NULL;
	c->waiting = NULL;
	if (c->ev_wait != NULL)
		evtimer_del(c->ev_wait);
	if (r != RPC_OK)
		evbuffer_add_printf(out, "%s", rpc_result_text(r));
	tag = r == RPC_OK ? RPC_TAG_OK : RPC_TAG_FAIL;
	evbuffer_add(out, &tag, 1);
	c->done = 1;
	bufferevent_enable(c->bev, EV_WRITE);
}

void
sup_client_text(struct sup_client *c, const void *p, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const unsigned char *b = p;

	/* 0xFF/0xFE end a reply on the wire: a stage must not forge one. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = b[i] == RPC_TAG_OK || b[i] == RPC_TAG_FAIL ||
		    b[i] == 0 ? '?' : b[i];

		evbuffer_add(out, &ch, 1);
	}
}

static void
on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct sup_client *c = arg;

	(void)fd;
	(void)what;
	log_warnx("client: engine command got no answer in %d s",
	    SUP_ENGINE_CMD_TIMEOUT_S);
	sup_client_finish(c, RPC_INTER_ERR);
}

void
sup_client_wait(struct sup_client *c, struct sup_stage *s)
{
	struct timeval tv = { .tv_sec = SUP_ENGINE_CMD_TIMEOUT_S };

	c->waiting = s;
	if (c->ev_wait == NULL)
		c->ev_wait = evtimer_new(sup.base, on_wait_timeout, c);
	evtimer_add(c->ev_wait, &tv);
}

static void
client_reply(struct sup_client *c, const char *buf, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int r;

	bufferevent_disable(c->bev, EV_READ);
	r = sup_cli_dispatch(buf, len, out, c);
	if (r == SUP_PENDING)
		return;
	sup_client_finish(c, (enum rpc_result)r);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct sup_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char buf[RPC_REQ_MAX + 1];
	size_t n = evbuffer_get_length(in);

	if (c->done)
		return;
	/* The original parses what one recv brings; a request is one send of
	 * at most 512 bytes, so more than that is garbage, not a partial. */
	if (n > RPC_REQ_MAX) {
		log_warnx("client: request of more than %d bytes refused",
		    RPC_REQ_MAX);
		evbuffer_drain(in, n);
		client_reply(c, "", 0);
		return;
	}
	evbuffer_remove(in, buf, n);
	client_reply(c, buf, n);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct sup_client *c = arg;

	(void)bev;
	if (c->done)
		client_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sup_client *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_info("client: %s timeout, closing",
		    (what & BEV_EVENT_READING) ? "read" : "write");
	else if (what & BEV_EVENT_ERROR)
		log_debug("client: connection error: %s", strerror(errno));
	client_free(c);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval tv = { .tv_sec = SUP_CLIENT_TIMEOUT_S };
	struct sup_client *c;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int fd;

	(void)what;
	(void)arg;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept");
			return;
		}
		if (sup_peer_allowed(fd, &uid, &gid) < 0) {
			log_warnx("client uid %u gid %u refused: only root "
			    "(uid 0, gid 0) may use etmemd", (unsigned)uid,
			    (unsigned)gid);
			close(fd);
			continue;
		}
		if (sup.nclients >= SUP_CLIENTS_MAX) {
			log_warnx("client refused: %d connections already open",
			    sup.nclients);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->bev = bufferevent_socket_new(sup.base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			free(c);
			close(fd);
			continue;
		}
		sup.nclients++;
		TAILQ_INSERT_TAIL(&clients, c, entry);
		bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
		bufferevent_set_timeouts(c->bev, &tv, &tv);
		bufferevent_enable(c->bev, EV_READ);
	}
}

/* fd < 0: tear the listener down. */
void
sup_listener_start(int fd)
{
	if (fd < 0) {
		while (!TAILQ_EMPTY(&clients))
			client_free(TAILQ_FIRST(&clients));
		if (ev_listen != NULL)
			event_free(ev_listen);
		ev_listen = NULL;
		return;
	}
	ev_listen = event_new(sup.base, fd, EV_READ | EV_PERSIST, on_accept,
	    NULL);
	event_add(ev_listen, NULL);
}
