/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - start a task's stages as one process group, like a shell runs a
 * pipeline: stage i's stdout is stage i+1's stdin, the first reads
 * /dev/null, the last writes /dev/null. Each stage gets a control socketpair
 * end at fd 3 and its stderr on a pipe the loop relays. The child resets
 * signals, closes every other fd and execs; a failed exec exits 127.
 */
#include "sup.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define STAGE_CTL_FD 3

int64_t
sup_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sup_stage_close(struct sup_stage *s)
{
	if (s->waiter != NULL)
		sup_client_finish(s->waiter, RPC_INTER_ERR);
	if (s->ev_ctl != NULL)
		event_free(s->ev_ctl);
	s->ev_ctl = NULL;
	if (s->ev_err != NULL)
		event_free(s->ev_err);
	s->ev_err = NULL;
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	s->ctl_fd = -1;
	if (s->err_fd >= 0)
		close(s->err_fd);
	s->err_fd = -1;
	free(s->conn);
	s->conn = NULL;
}

void
sup_pipeline_kill(struct sup_task *t, int sig)
{
	if (t->pgid > 0)
		kill(-t->pgid, sig);
	/* A stage that has not joined the group yet still gets it. */
	for (int i = 0; i < t->nstages; i++)
		if (t->st[i].pid > 0)
			kill(t->st[i].pid, sig);
}

/* In the child: never returns. */
static void __attribute__((noreturn))
child(struct sup_stage *s, pid_t pgid, int in, int out, int err, int ctl)
{
	sigset_t all;

	setpgid(0, pgid);
	/* Still blocked (see sup_spawn_pipeline): default handlers first,
	 * then an empty mask, so no inherited handler can ever run here. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Move the fds out of the way of 0..3 before placing them. */
	in = fcntl(in, F_DUPFD, 10);
	out = fcntl(out, F_DUPFD, 10);
	err = fcntl(err, F_DUPFD, 10);
	ctl = fcntl(ctl, F_DUPFD, 10);
	if (in < 0 || out < 0 || err < 0 || ctl < 0 ||
	    dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
	    dup2(ctl, STAGE_CTL_FD) < 0)
		_exit(126);
	close_range(STAGE_CTL_FD + 1, ~0u, 0);
	execv(s->argv[0], s->argv);
	dprintf(2, "cannot exec '%s': %s\n", s->argv[0], strerror(errno));
	_exit(127);
}

int
sup_spawn_pipeline(struct sup_task *t, char *msg, size_t msglen)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int prev = -1, pfd[2], cfd[2], efd[2];
	sigset_t all, old;
	pid_t pid;

	if (devnull < 0) {
		snprintf(msg, msglen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	t->pgid = 0;
	prev = fcntl(devnull, F_DUPFD_CLOEXEC, 0);
	for (int i = 0; i < t->nstages; i++) {
		struct sup_stage *s = &t->st[i];
		int last = i == t->nstages - 1;

		pfd[0] = pfd[1] = -1;
		if (!last && pipe2(pfd, O_CLOEXEC) < 0)
			goto fail;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cfd) < 0)
			goto fail_p;
		if (pipe2(efd, O_CLOEXEC) < 0)
			goto fail_c;
		/*
		 * Signals stay blocked from fork until the child has reset its
		 * handlers: a SIGTERM (say, the pipeline's group being stopped)
		 * that reached the child before that would run libevent's
		 * handler there, which writes into the socketpair the child
		 * inherited, and the daemon would take it for its own SIGTERM.
		 */
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		pid = fork();
		if (pid == 0)
			child(s, t->pgid, prev, last ? devnull : pfd[1], efd[1],
			    cfd[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid < 0)
			goto fail_e;
		if (t->pgid == 0)
			t->pgid = pid;
		setpgid(pid, t->pgid);  /* both sides: no race with the exec */
		s->pid = pid;
		s->hello = 0;
		s->stats[0] = s->stats_next[0] = '\0';
		close(cfd[1]);
		close(efd[1]);
		close(prev);
		if (!last)
			close(pfd[1]);
		prev = last ? -1 : pfd[0];
		s->ctl_fd = cfd[0];
		s->err_fd = efd[0];
		fcntl(s->ctl_fd, F_SETFL, O_NONBLOCK);
		fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
		sup_stage_ctl_attach(s);
		sup_stage_err_attach(s);
		log_debug("task %s: stage %s started, pid %d", sup_task_label(t),
		    s->name, (int)pid);
		continue;
fail_e:
		close(efd[0]);
		close(efd[1]);
fail_c:
		close(cfd[0]);
		close(cfd[1]);
fail_p:
		if (!last) {
			close(pfd[0]);
			close(pfd[1]);
		}
		goto fail;
	}
	if (prev >= 0)
		close(prev);
	close(devnull);
	return 0;
fail:
	snprintf(msg, msglen, "cannot start the pipeline: %s", strerror(errno));
	if (prev >= 0)
		close(prev);
	close(devnull);
	/* Take back what was started: nothing may be left running. */
	sup_pipeline_kill(t, SIGKILL);
	for (int i = 0; i < t->nstages; i++) {
		int status;

		if (t->st[i].pid > 0)
			waitpid(t->st[i].pid, &status, 0);
		t->st[i].pid = 0;
		sup_stage_close(&t->st[i]);
	}
	t->pgid = 0;
	return -1;
}
