/* SPDX-License-Identifier: MIT */
/*
 * task.c - one task's life as a [state][event] table (s6-supervise style):
 * start its pipeline, notice readiness (every stage said HELLO), restart a
 * crashed pipeline with exponential backoff, end it when a type=pid target
 * exits, and stop it within a second.
 *
 * A type=pid target is pinned with a pidfd and its start time when the task
 * starts: a recycled pid is never taken for the target, and the pidfd tells
 * the loop the moment the target exits. Claims: two running tasks never
 * target one process (by pid, by name, or a pid whose comm a name task
 * targets).
 */
#include "sup.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"
#include "procfs.h"

static const char *const state_names[TASK_NSTATES] = {
	[TASK_STOPPED] = "stopped",
	[TASK_STARTING] = "starting",
	[TASK_RUNNING] = "running",
	[TASK_STOPPING] = "stopping",
	[TASK_BACKOFF] = "backoff",
	[TASK_EXITED] = "exited",
};

static const char *const event_names[TEV_NEVENTS] = {
	[TEV_START] = "START",
	[TEV_READY] = "READY",
	[TEV_CHILD_EXITED] = "CHILD_EXITED",
	[TEV_STOP] = "STOP",
	[TEV_TIMER] = "TIMER",
	[TEV_TARGET_GONE] = "TARGET_GONE",
};

const char *
sup_task_state_name(enum task_state s)
{
	return (unsigned)s < TASK_NSTATES ? state_names[s] : "?";
}

const char *
sup_task_label(const struct sup_task *t)
{
	static char buf[3 * (CONF_NAME_MAX + 1) + 1];

	snprintf(buf, sizeof(buf), "%s/%s/%s", t->eng->proj->conf->name,
	    sup_engine_id(t->eng), t->conf->name);
	return buf;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

void
sup_task_init(struct sup_task *t)
{
	t->state = TASK_STOPPED;
	t->pidfd = -1;
	t->backoff_s = SUP_BACKOFF_MIN_S;
	for (int i = 0; i < SUP_STAGES_MAX; i++) {
		t->st[i].task = t;
		t->st[i].ctl_fd = -1;
		t->st[i].err_fd = -1;
		t->st[i].last_status = -1;
	}
	t->ev_timer = evtimer_new(sup.base, on_timer, t);
}

static int
alive_stages(const struct sup_task *t)
{
	int n = 0;

	for (int i = 0; i < t->nstages; i++)
		n += t->st[i].pid > 0;
	return n;
}

static void
arm(struct sup_task *t, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(t->ev_timer, &tv);
}

static void
target_close(struct sup_task *t)
{
	if (t->ev_pidfd != NULL)
		event_free(t->ev_pidfd);
	t->ev_pidfd = NULL;
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
}

static void
on_pidfd(evutil_socket_t fd, short what, void *arg)
{
	struct sup_task *t = arg;

	(void)fd;
	(void)what;
	log_info("task %s: target process %d exited", sup_task_label(t),
	    (int)t->target);
	target_close(t);
	sup_task_event(t, TEV_TARGET_GONE);
}

/* Pin a type=pid target: pidfd first, then the start time, so the pid we
 * watch is the process we checked. 0 ok, -1 target missing. */
static int
target_pin(struct sup_task *t)
{
	struct proc_stat st;
	struct err e;
	char *end;
	long v;
	int fd;

	t->target = 0;
	errno = 0;
	v = strtol(t->conf->value, &end, 10);
	if (*end != '\0' || v <= 0 || v > 4194304 || errno != 0) {
		snprintf(t->last_error, sizeof(t->last_error), "pid '%s' is not "
		    "a process id", t->conf->value);
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_open, (pid_t)v, 0);
	if (fd < 0 || procfs_pid_stat((pid_t)v, &st, &e) < 0) {
		snprintf(t->last_error, sizeof(t->last_error), "process %ld "
		    "does not exist", v);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	t->target = (pid_t)v;
	t->target_start = st.start_time;
	t->pidfd = fd;
	t->ev_pidfd = event_new(sup.base, fd, EV_READ, on_pidfd, t);
	event_add(t->ev_pidfd, NULL);
	return 0;
}

/* comm of a pid task's target, for claims against name tasks. */
static int
target_comm(const struct sup_task *t, char *buf, size_t len)
{
	struct proc_stat st;
	struct err e;

	if (t->target <= 0 || procfs_pid_stat(t->target, &st, &e) < 0 ||
	    st.start_time != t->target_start)
		return -1;
	snprintf(buf, len, "%s", st.comm);
	return 0;
}

/* psi tasks act on cgroups: they neither pin nor claim a process. */
static int
has_target(const struct sup_task *t)
{
	return t->eng->conf->type != CONF_ENG_PSI;
}

static int
pid_target(const struct sup_task *t)
{
	return has_target(t) && t->conf->type == CONF_TARGET_PID;
}

static int
claims_overlap(const struct sup_task *a, const struct sup_task *b)
{
	char comm[PROCFS_COMM_MAX];

	if (!has_target(a) || !has_target(b))
		return 0;

	if (a->conf->type == b->conf->type)
		return strcmp(a->conf->value, b->conf->value) == 0;
	if (a->conf->type == CONF_TARGET_NAME)
		return target_comm(b, comm, sizeof(comm)) == 0 &&
		    strcmp(comm, a->conf->value) == 0;
	return target_comm(a, comm, sizeof(comm)) == 0 &&
	    strcmp(comm, b->conf->value) == 0;
}

struct sup_task *
sup_task_claimed_by(const struct sup_task *t)
{
	struct sup_project *p;
	struct sup_engine *e;
	struct sup_task *o;

	TAILQ_FOREACH(p, &sup.projects, entry)
		TAILQ_FOREACH(e, &p->engines, entry)
			TAILQ_FOREACH(o, &e->tasks, entry)
				if (o != t && o->state != TASK_STOPPED &&
				    o->state != TASK_EXITED &&
				    claims_overlap(t, o))
					return o;
	return NULL;
}

static int
spawn(struct sup_task *t)
{
	char msg[256];

	if (sup_pipeline_build(t, msg, sizeof(msg)) < 0 ||
	    sup_spawn_pipeline(t, msg, sizeof(msg)) < 0) {
		snprintf(t->last_error, sizeof(t->last_error), "%s", msg);
		return -1;
	}
	sup_pipeline_log(t);
	t->state = TASK_STARTING;
	return 0;
}

static void
begin_stop(struct sup_task *t)
{
	for (int i = 0; i < t->nstages; i++)
		if (t->st[i].pid > 0)
			sup_stage_send_stop(&t->st[i]);
	sup_pipeline_kill(t, SIGTERM);
	t->state = TASK_STOPPING;
	arm(t, SUP_STOP_GRACE_MS);
	if (alive_stages(t) == 0)
		sup_task_event(t, TEV_CHILD_EXITED);
}

static void
enter_backoff(struct sup_task *t)
{
	t->restarts++;
	log_info("task %s: restarting in %d s (restart %u)", sup_task_label(t),
	    t->backoff_s, t->restarts);
	t->state = TASK_BACKOFF;
	arm(t, (int64_t)t->backoff_s * 1000);
	t->backoff_s = t->backoff_s * 2 > SUP_BACKOFF_MAX_S ?
	    SUP_BACKOFF_MAX_S : t->backoff_s * 2;
}

/* Every stage is gone: decide where the task goes. */
static void
finish_stop(struct sup_task *t)
{
	evtimer_del(t->ev_timer);
	t->pgid = 0;
	if (t->target_gone) {
		target_close(t);
		t->state = TASK_EXITED;
		if (t->last_error[0] == '\0')
			snprintf(t->last_error, sizeof(t->last_error),
			    "target process %d exited", (int)t->target);
	} else if (t->restart) {
		enter_backoff(t);
	} else {
		target_close(t);
		t->state = TASK_STOPPED;
	}
	t->restart = 0;
	t->target_gone = 0;
}

/* --- handlers: [state][event] --- */

static int
h_start(struct sup_task *t)
{
	struct sup_task *o;

	t->last_error[0] = '\0';
	t->restarts = 0;
	t->backoff_s = SUP_BACKOFF_MIN_S;
	if (pid_target(t) && target_pin(t) < 0) {
		/* As the original: the start succeeds, the task has nothing
		 * to do. */
		log_info("task %s: %s", sup_task_label(t), t->last_error);
		t->state = TASK_EXITED;
		return 0;
	}
	if ((o = sup_task_claimed_by(t)) != NULL) {
		snprintf(t->last_error, sizeof(t->last_error), "target %s %s "
		    "is already claimed by task %s",
		    t->conf->type == CONF_TARGET_PID ? "pid" : "name",
		    t->conf->value, sup_task_label(o));
		target_close(t);
		return -1;
	}
	if (spawn(t) < 0) {
		target_close(t);
		return -1;
	}
	return 0;
}

static int
h_ready(struct sup_task *t)
{
	t->state = TASK_RUNNING;
	t->running_since_ms = sup_now_ms();
	log_info("task %s: running", sup_task_label(t));
	return 0;
}

/* A stage exited while the task should be running. */
static int
h_crash(struct sup_task *t)
{
	if (t->state == TASK_RUNNING &&
	    sup_now_ms() - t->running_since_ms > SUP_BACKOFF_RESET_S * 1000)
		t->backoff_s = SUP_BACKOFF_MIN_S;
	if (pid_target(t) && (t->pidfd < 0 ||
	    procfs_pid_alive(t->target, t->target_start) != 1))
		t->target_gone = 1;
	else
		t->restart = 1;
	begin_stop(t);
	return 0;
}

static int
h_stopping_exit(struct sup_task *t)
{
	if (alive_stages(t) == 0)
		finish_stop(t);
	return 0;
}

static int
h_stop(struct sup_task *t)
{
	t->restart = 0;
	t->target_gone = 0;
	begin_stop(t);
	return 0;
}

static int
h_stopping_stop(struct sup_task *t)
{
	t->restart = 0;
	t->target_gone = 0;
	return 0;
}

static int
h_to_stopped(struct sup_task *t)
{
	evtimer_del(t->ev_timer);
	target_close(t);
	t->state = TASK_STOPPED;
	return 0;
}

static int
h_stop_deadline(struct sup_task *t)
{
	log_warnx("task %s: stages still running after %d ms, killing",
	    sup_task_label(t), SUP_STOP_GRACE_MS);
	sup_pipeline_kill(t, SIGKILL);
	return 0;
}

static int
h_backoff_timer(struct sup_task *t)
{
	if (pid_target(t) &&
	    (t->pidfd < 0 || procfs_pid_alive(t->target, t->target_start) != 1)) {
		target_close(t);
		t->state = TASK_EXITED;
		return 0;
	}
	if (spawn(t) < 0) {
		log_warnx("task %s: restart failed: %s", sup_task_label(t),
		    t->last_error);
		enter_backoff(t);
	}
	return 0;
}

static int
h_gone(struct sup_task *t)
{
	t->target_gone = 1;
	t->restart = 0;
	begin_stop(t);
	return 0;
}

static int
h_stopping_gone(struct sup_task *t)
{
	if (t->restart) {
		t->restart = 0;
		t->target_gone = 1;
	}
	return 0;
}

static int
h_backoff_gone(struct sup_task *t)
{
	evtimer_del(t->ev_timer);
	t->state = TASK_EXITED;
	return 0;
}

static int
h_ignore(struct sup_task *t)
{
	(void)t;
	return 0;
}

static int (*const handlers[TASK_NSTATES][TEV_NEVENTS])(struct sup_task *) = {
	[TASK_STOPPED] = {
		[TEV_START] = h_start,
		[TEV_STOP] = h_ignore,
		[TEV_TARGET_GONE] = h_ignore,
	},
	[TASK_STARTING] = {
		[TEV_READY] = h_ready,
		[TEV_CHILD_EXITED] = h_crash,
		[TEV_STOP] = h_stop,
		[TEV_TARGET_GONE] = h_gone,
	},
	[TASK_RUNNING] = {
		[TEV_READY] = h_ignore,
		[TEV_CHILD_EXITED] = h_crash,
		[TEV_STOP] = h_stop,
		[TEV_TARGET_GONE] = h_gone,
	},
	[TASK_STOPPING] = {
		[TEV_READY] = h_ignore,
		[TEV_CHILD_EXITED] = h_stopping_exit,
		[TEV_STOP] = h_stopping_stop,
		[TEV_TIMER] = h_stop_deadline,
		[TEV_TARGET_GONE] = h_stopping_gone,
	},
	[TASK_BACKOFF] = {
		[TEV_STOP] = h_to_stopped,
		[TEV_TIMER] = h_backoff_timer,
		[TEV_TARGET_GONE] = h_backoff_gone,
	},
	[TASK_EXITED] = {
		[TEV_START] = h_start,
		[TEV_STOP] = h_to_stopped,
		[TEV_TARGET_GONE] = h_ignore,
	},
};

int
sup_task_event(struct sup_task *t, enum task_event ev)
{
	int (*h)(struct sup_task *) = handlers[t->state][ev];

	log_debug("task %s: %s in state %s", sup_task_label(t),
	    event_names[ev], state_names[t->state]);
	if (h == NULL) {
		/* Illegal pairs: one place, never a crash. */
		log_warnx("task %s: event %s ignored in state %s",
		    sup_task_label(t), event_names[ev], state_names[t->state]);
		return ev == TEV_START ? -1 : 0;
	}
	return h(t);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sup_task_event(arg, TEV_TIMER);
}

static struct sup_stage *
stage_by_pid(pid_t pid)
{
	struct sup_project *p;
	struct sup_engine *e;
	struct sup_task *t;

	TAILQ_FOREACH(p, &sup.projects, entry)
		TAILQ_FOREACH(e, &p->engines, entry)
			TAILQ_FOREACH(t, &e->tasks, entry)
				for (int i = 0; i < t->nstages; i++)
					if (t->st[i].pid == pid)
						return &t->st[i];
	return NULL;
}

void
sup_child_reaped(pid_t pid, int status)
{
	struct sup_stage *s = stage_by_pid(pid);
	struct sup_task *t;
	char how[64];

	if (s == NULL)
		return;
	t = s->task;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited %d", WEXITSTATUS(status));
	sup_stage_err_drain(s);
	if (t->state == TASK_STOPPING)
		log_info("task/%s/%s[%d]: %s", t->conf->name, s->name, (int)pid,
		    how);
	else {
		log_warnx("task/%s/%s[%d]: %s", t->conf->name, s->name, (int)pid,
		    how);
		snprintf(t->last_error, sizeof(t->last_error), "%s[%d] %s",
		    s->name, (int)pid, how);
	}
	s->pid = 0;
	s->last_status = status;
	s->hello = 0;
	sup_stage_close(s);
	sup_task_event(t, TEV_CHILD_EXITED);
}

void
sup_reap_children(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		sup_child_reaped(pid, status);
}

void
sup_tasks_stop_wait(struct sup_task **v, size_t n)
{
	int64_t deadline;
	int busy;

	for (size_t i = 0; i < n; i++)
		sup_task_event(v[i], TEV_STOP);
	/* Bounded, outside the loop: a stop reply means nothing is left. */
	deadline = sup_now_ms() + SUP_STOP_GRACE_MS;
	for (;;) {
		busy = 0;
		sup_reap_children();
		for (size_t i = 0; i < n; i++)
			busy |= alive_stages(v[i]) > 0;
		if (!busy)
			break;
		if (sup_now_ms() >= deadline) {
			for (size_t i = 0; i < n; i++)
				if (alive_stages(v[i]) > 0)
					sup_task_event(v[i], TEV_TIMER);
			for (size_t i = 0; i < n; i++)
				for (int j = 0; j < v[i]->nstages; j++) {
					int status;
					pid_t pid = v[i]->st[j].pid;

					if (pid > 0 && waitpid(pid, &status, 0) == pid)
						sup_child_reaped(pid, status);
				}
			break;
		}
		usleep(5000);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->state == TASK_STOPPING || v[i]->state == TASK_BACKOFF ||
		    v[i]->state == TASK_EXITED)
			h_to_stopped(v[i]);
}

void
sup_task_free(struct sup_task *t)
{
	for (int i = 0; i < t->nstages; i++)
		sup_stage_close(&t->st[i]);
	sup_pipeline_clear(t);
	target_close(t);
	if (t->ev_timer != NULL)
		event_free(t->ev_timer);
	free(t);
}
