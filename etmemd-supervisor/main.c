/* SPDX-License-Identifier: MIT */
/*
 * main.c - etmemd-supervisor, also installed as etmemd: the original's
 * command line (cli-contract §1.1, its exit codes included), -m fork mode,
 * logging, and the one libevent loop every other file hangs off.
 *
 * Not here: the CLI wire (ctl-cli.c), the registry (registry.c), stage
 * processes (task.c, spawn.c, ctl-stage.c).
 */
#include "sup.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <syslog.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"
#include "procfs.h"

#define EXIT_CLI 255            /* the original's -1 for a bad command line */
#define PID_FILE "/run/etmemd.pid"



struct args {
	const char *sock;
	int level;              /* -l: 0 debug .. 3 error */
	int fork_mode;
	int help;
	int log_stderr;
};

static void
usage(void)
{
	printf("\nUsage:\n"
	    "    etmemd [options]\n"
	    "\nOptions:\n"
	    "    -l|--log-level <log-level>       Log level: 0 debug, 1 info,\n"
	    "                                     2 warning, 3 error (default)\n"
	    "    -s|--socket <socket-name>        Abstract unix socket to listen on\n"
	    "                                     (1..106 bytes; required)\n"
	    "    -m|--mode-systemctl              Fork mode for systemd: the parent\n"
	    "                                     writes the child's pid to\n"
	    "                                     " PID_FILE " and exits 0 once the\n"
	    "                                     child listens (1 if it failed)\n"
	    "    -h|--help                        Show this message\n"
	    "\nAlso: --log-stderr (or ETMEMD_LOG_STDERR=1) logs to stderr instead\n"
	    "of syslog. Only root (uid 0, gid 0) may talk to the socket.\n"
	    "Exit status: 0 help or clean shutdown (SIGTERM/SIGINT); 1 the socket\n"
	    "name is in use or the -m child failed; 255 bad command line.\n");
}

/* The original's rules, in its order (cli-contract §1.1). */
static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "mode-systemctl", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, nopts = 0;
	long v;
	char *end;

	if (argc > 6) {
		printf("etmemd: too many parameters\n");
		return -1;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:l:mh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (a->sock != NULL) {
				printf("etmemd: socket name is repeated\n");
				return -1;
			}
			a->sock = optarg;
			break;
		case 'l':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0') {
				printf("etmemd: log level '%s' is not a number\n",
				    optarg);
				return -1;
			}
			if (v < 0 || v > 3) {
				printf("etmemd: log level %ld out of range; use 0 "
				    "(debug), 1 (info), 2 (warning) or 3 (error)\n", v);
				return -1;
			}
			a->level = (int)v;
			break;
		case 'm':
			a->fork_mode = 1;
			break;
		case 'h':
			usage();
			if (argc > 2) {
				printf("etmemd: useless parameters passed in\n");
				return -1;
			}
			a->help = 1;
			return 0;
		default:
			printf("etmemd: error parsing parameters\n");
			usage();
			return -1;
		}
		nopts++;
	}
	if ((nopts == 0 && argc > 1) || (nopts > 0 && argc - 1 > 2 * nopts)) {
		printf("etmemd: useless parameters passed in\n");
		return -1;
	}
	if (a->sock == NULL) {
		printf("etmemd: socket name must be provided\n");
		usage();
		return -1;
	}
	if (a->sock[0] == '\0' || strlen(a->sock) > RPC_SOCK_NAME_MAX) {
		printf("etmemd: socket name must be 1..%d bytes\n",
		    RPC_SOCK_NAME_MAX);
		return -1;
	}
	return 0;
}

/* --log-stderr is ours: take it out so the original's argv rules apply to
 * the rest unchanged. */
static int
strip_log_stderr(int argc, char **argv, int *flag)
{
	int j = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--log-stderr") == 0)
			*flag = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	return j;
}

static void
on_terminate(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_info("signal %d: stopping every project", (int)sig);
	sup_registry_clear();
	event_base_loopbreak(sup.base);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	sup_reap_children();
}

/* The stage programs live beside our own executable. */
static int
find_exe_dir(void)
{
	ssize_t n = readlink("/proc/self/exe", sup.exe_dir,
	    sizeof(sup.exe_dir) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	sup.exe_dir[n] = '\0';
	slash = strrchr(sup.exe_dir, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	return 0;
}

/* -m: the parent waits on a socketpair until the child listens, writes the
 * pid file, exits 0 (1 when the child died first). Returns in the child. */
static int
fork_mode(void)
{
	const char *pidfile = getenv("ETMEMD_PID_FILE");
	int sv[2], fd, len;
	char buf[32], c;
	pid_t pid;

	if (pidfile == NULL || pidfile[0] == '\0')
		pidfile = PID_FILE;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		printf("etmemd: socketpair failed: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		printf("etmemd: fork failed: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		close(sv[0]);
		return sv[1];
	}
	close(sv[1]);
	fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	len = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (fd < 0 || write(fd, buf, (size_t)len) != len) {
		printf("etmemd: cannot write '%s': %s\n", pidfile,
		    strerror(errno));
		kill(pid, SIGTERM);
		exit(1);
	}
	close(fd);
	do
		len = (int)read(sv[0], &c, 1);
	while (len < 0 && errno == EINTR);
	exit(len == 1 && c == 'R' ? 0 : 1);
}

int
main(int argc, char **argv)
{
	struct args a = { .level = 3 };
	struct event *evs[4];
	const char *env;
	struct err e;
	int fd, ready_fd = -1, n = 0;

	env = getenv("ETMEMD_LOG_STDERR");
	if (env != NULL && strcmp(env, "1") == 0)
		a.log_stderr = 1;
	argc = strip_log_stderr(argc, argv, &a.log_stderr);
	if (parse_args(argc, argv, &a) < 0) {
		printf("etmemd: failed to parse parameters\n");
		return EXIT_CLI;
	}
	if (a.help)
		return 0;
	/* -l 0 is debug; log.h counts the other way. */
	log_init("etmemd", LOG_LEVEL_DEBUG - a.level, 0);
	if (!a.log_stderr)      /* the original's ident and facility (cli-contract 1.6) */
		log_syslog_open("[etmemd] ", LOG_USER);
	signal(SIGPIPE, SIG_IGN);
	if (find_exe_dir() < 0)
		fatal(71, "cannot resolve /proc/self/exe");
	env = getenv("ETMEM_SCAN_BACKEND");
	sup.scan_backend = env != NULL && env[0] != '\0' ? env : "auto";
	/* ETMEM_PROC_ROOT/ETMEM_SYS_ROOT: the daemon's machine checks (NUMA
	 * nodes for cslide) see the same tree as the stages it starts. */
	if (procfs_init(NULL, NULL, &e) < 0)
		fatalx(64, "%s", e.msg);
	TAILQ_INIT(&sup.projects);
	if (a.fork_mode)
		ready_fd = fork_mode();
	fd = sup_listen(a.sock, &e);
	if (fd < 0) {
		printf("etmemd: failed to start rpc server: %s\n", e.msg);
		log_err(&e);
		return 1;
	}
	sup.base = event_base_new();
	if (sup.base == NULL)
		fatalx(71, "event_base_new failed");
	evs[n++] = evsignal_new(sup.base, SIGTERM, on_terminate, NULL);
	evs[n++] = evsignal_new(sup.base, SIGINT, on_terminate, NULL);
	evs[n++] = evsignal_new(sup.base, SIGCHLD, on_sigchld, NULL);
	for (int i = 0; i < n; i++)
		event_add(evs[i], NULL);
	sup_listener_start(fd);
	sup_stats_timer_start();
	log_info("listening on @%s", a.sock);
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1)
			log_warn("cannot report readiness to the -m parent");
		close(ready_fd);
	}
	event_base_dispatch(sup.base);
	sup_registry_clear();
	for (int i = 0; i < n; i++)
		event_free(evs[i]);
	if (sup.ev_stats != NULL)
		event_free(sup.ev_stats);
	sup_listener_start(-1);
	close(fd);
	event_base_free(sup.base);
	log_info("stopped");
	return 0;
}
