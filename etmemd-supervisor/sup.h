/* SPDX-License-Identifier: MIT */
/*
 * sup.h - etmemd-supervisor's private model: the registry (projects ->
 * engines -> tasks, newest first as the original shows them), each task's
 * pipeline of stage processes, and the prototypes of the supervisor's files.
 *
 * Ownership: every added config file stays loaded (struct sup_cf, counted)
 * while an object that came from it exists; objects point into it.
 * Everything runs on one libevent loop (sup.base); nothing here is shared
 * with another thread.
 */
#ifndef ETMEM_SUP_H
#define ETMEM_SUP_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "ctl.h"
#include "rpc.h"

struct event;
struct event_base;
struct evbuffer;

#define SUP_STAGES_MAX 3
#define SUP_ARGV_MAX 160          /* plugins pass their private keys */
#define SUP_STOP_GRACE_MS 700     /* STOP+SIGTERM, then SIGKILL: all gone < 1 s */
#define SUP_BACKOFF_MIN_S 1
#define SUP_BACKOFF_MAX_S 30
#define SUP_BACKOFF_RESET_S 30    /* running this long resets the backoff */
#define SUP_STATS_PERIOD_S 2      /* STATS poll of running stages */
#define SUP_CLIENT_TIMEOUT_S 10   /* per connection, read and write */
#define SUP_CLIENTS_MAX 64

/* A loaded config file shared by the objects added from it. */
struct sup_cf {
	struct conf_file *cf;
	int refs;
};

enum task_state {
	TASK_STOPPED,           /* project stopped, or never started */
	TASK_STARTING,          /* stages spawned, waiting for every HELLO */
	TASK_RUNNING,           /* every stage said HELLO */
	TASK_STOPPING,          /* STOP sent, waiting for every stage to exit */
	TASK_BACKOFF,           /* a stage died; restart timer armed */
	TASK_EXITED,            /* the target process is gone: nothing to do */
	TASK_NSTATES
};

enum task_event {
	TEV_START,
	TEV_READY,
	TEV_CHILD_EXITED,
	TEV_STOP,
	TEV_TIMER,
	TEV_TARGET_GONE,
	TEV_NEVENTS
};

struct sup_task;
struct sup_client;

/* sup_cli_dispatch(): the reply comes later (an engine command in flight). */
#define SUP_PENDING RPC_RESULT_MAX_
#define SUP_ENGINE_CMD_TIMEOUT_S 5

struct sup_stage {
	struct sup_task *task;
	const char *name;               /* "scan", "rank", "migrate", "psi" */
	char *argv[SUP_ARGV_MAX];       /* owned; argv[0] is the full path */
	int argc;
	pid_t pid;                      /* 0 when not running */
	int ctl_fd;                     /* our end of the control socketpair */
	struct event *ev_ctl;
	struct ctl_conn *conn;
	int err_fd;                     /* read end of the stage's stderr */
	struct event *ev_err;
	char errline[512];
	size_t nerr;
	int hello;
	uint32_t seq;
	char stats[2048];               /* last complete STATS reply */
	char stats_next[2048];          /* being received */
	int last_status;                /* wait status of the last exit, -1 none */
	struct sup_client *waiter;      /* client of an engine command in flight */
	uint32_t waiter_seq;
};

struct sup_engine;

struct sup_task {
	TAILQ_ENTRY(sup_task) entry;
	struct sup_engine *eng;
	const struct conf_task *conf;
	struct sup_cf *cf;
	enum task_state state;
	struct sup_stage st[SUP_STAGES_MAX];
	int nstages;
	pid_t pgid;                     /* the pipeline's process group */
	int restart;                    /* STOPPING towards BACKOFF, not STOPPED */
	int target_gone;                /* STOPPING towards EXITED */
	pid_t target;                   /* type=pid: resolved pid, else 0 */
	uint64_t target_start;          /* its start time (pid identity) */
	int pidfd;                      /* pidfd of target, -1 none */
	struct event *ev_pidfd;
	struct event *ev_timer;         /* backoff and stop deadline */
	int backoff_s;
	int64_t running_since_ms;
	unsigned restarts;
	char last_error[256];
};
TAILQ_HEAD(sup_task_list, sup_task);

struct sup_project;

struct sup_engine {
	TAILQ_ENTRY(sup_engine) entry;
	struct sup_project *proj;
	const struct conf_engine *conf;
	struct sup_cf *cf;
	struct sup_task_list tasks;
};
TAILQ_HEAD(sup_engine_list, sup_engine);

struct sup_project {
	TAILQ_ENTRY(sup_project) entry;
	const struct conf_project *conf;
	struct sup_cf *cf;
	int started;
	struct sup_engine_list engines;
};
TAILQ_HEAD(sup_project_list, sup_project);

struct sup {
	struct event_base *base;
	struct sup_project_list projects;
	char exe_dir[4096];             /* where the stage programs live */
	const char *scan_backend;       /* --backend value */
	int nclients;
	struct event *ev_stats;
};

extern struct sup sup;

/* A reply under construction for one CLI request. */
struct sup_reply {
	struct evbuffer *out;           /* text before the tag */
	enum rpc_result result;
};

/* registry.c */
struct sup_project *sup_project_find(const char *name);
struct sup_engine *sup_engine_find(struct sup_project *p, const char *id);
struct sup_task *sup_task_find(struct sup_engine *e, const char *name);
enum rpc_result sup_obj_add(const char *path);
enum rpc_result sup_obj_del(const char *path);
enum rpc_result sup_project_start(const char *name);
enum rpc_result sup_project_stop(const char *name);
void sup_project_show(const char *name, int verbose, struct evbuffer *out);
/* RPC_* or SUP_PENDING (then the stage's answer finishes the client). */
int sup_engine_cmd(const struct rpc_req *req, struct sup_client *c);
void sup_registry_clear(void);
/* The damon task that runs the engine's one etmem-scan; NULL for other
 * engines or no task. */
struct sup_task *sup_damon_leader(struct sup_engine *e);
/* Name of an engine as the CLI addresses it and show prints it. */
const char *sup_engine_id(const struct sup_engine *e);

/* task.c */
void sup_task_init(struct sup_task *t);
/* Feed one event to the task's state machine; START returns -1 on failure
 * (last_error says why). */
int sup_task_event(struct sup_task *t, enum task_event ev);
/* Stop every listed task and wait (bounded by SUP_STOP_GRACE_MS + a SIGKILL)
 * until none has a stage left. */
void sup_tasks_stop_wait(struct sup_task **v, size_t n);
void sup_task_free(struct sup_task *t);
const char *sup_task_state_name(enum task_state s);
/* "proj/engine/task" for messages. */
const char *sup_task_label(const struct sup_task *t);
/* The task that already claims this task's target, or NULL. */
struct sup_task *sup_task_claimed_by(const struct sup_task *t);
/* A child was reaped (from SIGCHLD or the stop wait). */
void sup_child_reaped(pid_t pid, int status);
void sup_reap_children(void);

/* pipeline.c */
/* Fill t->st[*].argv from the config; -1 with msg for engines without
 * stage programs. */
int sup_pipeline_build(struct sup_task *t, char *msg, size_t msglen);
void sup_pipeline_clear(struct sup_task *t);
/* "a | b | c", as a shell would take it. */
void sup_pipeline_format(const struct sup_task *t, struct evbuffer *out);
void sup_pipeline_log(const struct sup_task *t);

/* spawn.c */
/* Start every stage of t as one process group; -1 with msg on failure
 * (nothing left running). */
int sup_spawn_pipeline(struct sup_task *t, char *msg, size_t msglen);
/* Signal a pipeline's process group. */
void sup_pipeline_kill(struct sup_task *t, int sig);
/* Close a stage's fds and events (after it exited). */
void sup_stage_close(struct sup_stage *s);
int64_t sup_now_ms(void);

/* ctl-stage.c */
void sup_stage_ctl_attach(struct sup_stage *s);
void sup_stage_err_attach(struct sup_stage *s);
/* Read the rest of a stage's stderr (after it exited). */
void sup_stage_err_drain(struct sup_stage *s);
void sup_stage_send_stop(struct sup_stage *s);
void sup_stats_timer_start(void);

/* ctl-cli.c */
/* Dispatch one request; the reply text goes to out. Returns an rpc_result
 * or SUP_PENDING. */
int sup_cli_dispatch(const char *buf, size_t len, struct evbuffer *out,
    struct sup_client *c);

/* peer.c */
int sup_listen(const char *name, struct err *e);
void sup_listener_start(int fd);
/* 0 when the peer is uid 0 and gid 0. */
int sup_peer_allowed(int fd, uid_t *uid, gid_t *gid);
/* An engine command's answer, streamed from a stage to its client. */
void sup_client_wait(struct sup_client *c, struct sup_stage *s);
void sup_client_text(struct sup_client *c, const void *p, size_t n);
void sup_client_finish(struct sup_client *c, enum rpc_result r);

#endif /* ETMEM_SUP_H */
