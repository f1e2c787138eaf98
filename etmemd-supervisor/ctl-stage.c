/* SPDX-License-Identifier: MIT */
/*
 * ctl-stage.c - the supervisor's side of each stage's control socket and
 * stderr pipe. HELLO (right version) makes the stage ready, and when every
 * stage of a task is ready the task is RUNNING; STATS is polled every
 * SUP_STATS_PERIOD_S and the last complete answer kept for show --verbose;
 * a stage's stderr is relayed line by line as "task/<name>/<stage>[pid]: ...".
 * A frame that breaks the rules kills that stage (its task restarts it);
 * the daemon itself is never at risk.
 */
#include "sup.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"

static int
task_ready(const struct sup_task *t)
{
	for (int i = 0; i < t->nstages; i++)
		if (!t->st[i].hello)
			return 0;
	return 1;
}

static void
bad_stage(struct sup_stage *s, const char *why)
{
	log_warnx("task/%s/%s[%d]: control: %s; killing the stage",
	    s->task->conf->name, s->name, (int)s->pid, why);
	if (s->ev_ctl != NULL)
		event_del(s->ev_ctl);
	if (s->pid > 0)
		kill(s->pid, SIGKILL);
}

static void
on_frame(struct sup_stage *s, const struct ctl_msg *m)
{
	struct sup_task *t = s->task;
	uint32_t ver = 0;
	size_t have;
	struct err e;

	switch (m->type) {
	case CTL_MSG_HELLO:
		if (m->len >= 4)
			ver = (uint32_t)m->data[0] | (uint32_t)m->data[1] << 8 |
			    (uint32_t)m->data[2] << 16 | (uint32_t)m->data[3] << 24;
		if (ver != CTL_VERSION) {
			uint8_t v[4] = { CTL_VERSION & 0xff, 0, 0, 0 };

			ctl_send(s->ctl_fd, CTL_MSG_VERSION, 0, m->seq, v, 4, &e);
			bad_stage(s, "HELLO with an unknown version");
			return;
		}
		s->hello = 1;
		log_debug("task/%s/%s[%d]: ready", t->conf->name, s->name,
		    (int)s->pid);
		/* Counters from the start, not only after the first poll. */
		ctl_send(s->ctl_fd, CTL_MSG_STATS, 0, ++s->seq, NULL, 0, &e);
		if (t->state == TASK_STARTING && task_ready(t))
			sup_task_event(t, TEV_READY);
		break;
	case CTL_MSG_TEXT:
		if (s->waiter != NULL && m->seq == s->waiter_seq) {
			sup_client_text(s->waiter, m->data, m->len);
			break;
		}
		have = strlen(s->stats_next);
		if (m->seq == s->seq && have + m->len < sizeof(s->stats_next)) {
			memcpy(s->stats_next + have, m->data, m->len);
			s->stats_next[have + m->len] = '\0';
		}
		break;
	case CTL_MSG_END:
		if (s->waiter != NULL && m->seq == s->waiter_seq) {
			sup_client_finish(s->waiter, RPC_OK);
			break;
		}
		if (m->seq == s->seq)
			memcpy(s->stats, s->stats_next, sizeof(s->stats));
		s->stats_next[0] = '\0';
		break;
	case CTL_MSG_ERROR:
		if (s->waiter != NULL && m->seq == s->waiter_seq) {
			/* The original: handler output, then failure. */
			log_warnx("task/%s/%s[%d]: command failed: %.*s",
			    t->conf->name, s->name, (int)s->pid, (int)m->len,
			    (const char *)m->data);
			sup_client_finish(s->waiter, RPC_INVAL);
			break;
		}
		have = m->len < sizeof(t->last_error) - 1 ? m->len :
		    sizeof(t->last_error) - 1;
		memcpy(t->last_error, m->data, have);
		t->last_error[have] = '\0';
		if (memchr(t->last_error, '\0', have) != NULL)
			t->last_error[0] = '\0';
		s->stats_next[0] = '\0';
		break;
	default:
		log_debug("task/%s/%s[%d]: control: %s frame ignored",
		    t->conf->name, s->name, (int)s->pid, ctl_type_name(m->type));
		break;
	}
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct sup_stage *s = arg;
	struct ctl_msg m;
	struct err e;
	int r;

	(void)fd;
	(void)what;
	r = ctl_conn_fill(s->conn, &e);
	if (r <= 0) {
		/* EOF: the stage is exiting; SIGCHLD tells the rest. */
		event_del(s->ev_ctl);
		return;
	}
	while (s->conn != NULL && (r = ctl_conn_next(s->conn, &m, &e)) == 1)
		on_frame(s, &m);
	if (r < 0)
		bad_stage(s, e.msg);
}

void
sup_stage_ctl_attach(struct sup_stage *s)
{
	s->conn = malloc(sizeof(*s->conn));
	if (s->conn == NULL)
		return;
	ctl_conn_init(s->conn, s->ctl_fd);
	s->ev_ctl = event_new(sup.base, s->ctl_fd, EV_READ | EV_PERSIST, on_ctl,
	    s);
	event_add(s->ev_ctl, NULL);
}

void
sup_stage_send_stop(struct sup_stage *s)
{
	struct err e;

	if (s->ctl_fd >= 0)
		ctl_send(s->ctl_fd, CTL_MSG_STOP, 0, ++s->seq, NULL, 0, &e);
}

static void
relay_line(struct sup_stage *s, const char *line)
{
	log_info("task/%s/%s[%d]: %s", s->task->conf->name, s->name,
	    (int)s->pid, line);
}

/* Read what is there; 0 at EOF. Lines longer than the buffer are cut. */
static int
err_read(struct sup_stage *s)
{
	char buf[1024];
	ssize_t n;

	for (;;) {
		n = read(s->err_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : 1;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || s->nerr == sizeof(s->errline) - 1) {
				s->errline[s->nerr] = '\0';
				relay_line(s, s->errline);
				s->nerr = 0;
				if (buf[i] == '\n')
					continue;
			}
			s->errline[s->nerr++] = buf[i];
		}
	}
}

static void
on_err(evutil_socket_t fd, short what, void *arg)
{
	struct sup_stage *s = arg;

	(void)fd;
	(void)what;
	if (err_read(s) == 0)
		event_del(s->ev_err);
}

void
sup_stage_err_attach(struct sup_stage *s)
{
	s->nerr = 0;
	s->ev_err = event_new(sup.base, s->err_fd, EV_READ | EV_PERSIST, on_err,
	    s);
	event_add(s->ev_err, NULL);
}

void
sup_stage_err_drain(struct sup_stage *s)
{
	if (s->err_fd < 0)
		return;
	err_read(s);
	if (s->nerr > 0) {
		s->errline[s->nerr] = '\0';
		relay_line(s, s->errline);
		s->nerr = 0;
	}
}

static void
on_stats_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sup_project *p;
	struct sup_engine *e;
	struct sup_task *t;
	struct err err;

	(void)fd;
	(void)what;
	(void)arg;
	TAILQ_FOREACH(p, &sup.projects, entry)
		TAILQ_FOREACH(e, &p->engines, entry)
			TAILQ_FOREACH(t, &e->tasks, entry)
				for (int i = 0; i < t->nstages; i++) {
					struct sup_stage *s = &t->st[i];

					if (s->pid <= 0 || !s->hello || s->ctl_fd < 0)
						continue;
					s->stats_next[0] = '\0';
					ctl_send(s->ctl_fd, CTL_MSG_STATS, 0, ++s->seq,
					    NULL, 0, &err);
				}
}

void
sup_stats_timer_start(void)
{
	struct timeval tv = { .tv_sec = SUP_STATS_PERIOD_S };

	sup.ev_stats = event_new(sup.base, -1, EV_PERSIST, on_stats_timer, NULL);
	event_add(sup.ev_stats, &tv);
}
