/* SPDX-License-Identifier: MIT */
/*
 * test-psi-run.c - etmem-psi's core loop (psi.c) against a fake backend
 * (what a fixture file cannot do: EAGAIN, usage that drops after a reclaim)
 * and against the supervisor's side of --control-fd (HELLO, STATS, STOP).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "unit.h"

#include "../../etmem-psi/psi.h"

#define MiB (1024ULL * 1024)

/* Fake cgroups "a" (reclaims in full) and "b" (kernel says EAGAIN and
 * gives only half). Usage drops by what was taken. */
static uint64_t fake_usage[2];

static int
fake_idx(const char *rel)
{
	return rel[0] == 'a' ? 0 : 1;
}

static int
fake_lookup(const struct psi_env *env, const char *rel, uint64_t *ino, struct err *e)
{
	char path[PATH_MAX];
	struct stat st;

	if (psi_cg_path(path, sizeof(path), env->root, rel, NULL, e) < 0)
		return -1;
	if (stat(path, &st) < 0)
		return err_set(e, EX_NOINPUT, errno, "cannot stat '%s'", path);
	*ino = st.st_ino;
	return 0;
}

static int
fake_sample(const struct psi_env *env, const char *rel, struct psi_sample *s,
    struct err *e)
{
	(void)env;
	(void)e;
	memset(s, 0, sizeof(*s));
	s->usage = fake_usage[fake_idx(rel)];
	s->limit = UINT64_MAX;
	return 0;
}

static int
fake_usage_fn(const struct psi_env *env, const char *rel, uint64_t *usage,
    struct err *e)
{
	(void)env;
	(void)e;
	*usage = fake_usage[fake_idx(rel)];
	return 0;
}

static int
fake_reclaim(const struct psi_env *env, const char *rel, uint64_t bytes,
    struct err *e)
{
	int i = fake_idx(rel);

	(void)env;
	(void)e;
	if (i == 0) {
		fake_usage[0] -= bytes;
		return 0;
	}
	fake_usage[1] -= bytes / 2;
	return 1;
}

static const struct psi_cg_ops fake_ops = {
	.name = "fake",
	.probe = NULL,
	.lookup = fake_lookup,
	.sample = fake_sample,
	.usage = fake_usage_fn,
	.reclaim = fake_reclaim,
};

static struct psi_law
law_default(void)
{
	struct psi_law l = {
		.pressure = 0.1, .rate = 0.05, .rate_min = 0.01, .rate_max = 0.5,
		.reclaim_max_bytes = 1ULL << 30, .limit_min_bytes = 0,
		.limit_min_ratio = 0.1, .page_size = 4096,
	};
	return l;
}

static void
mkdirs(char *tmpl, const char *const *subs)
{
	char path[PATH_MAX];

	if (mkdtemp(tmpl) == NULL)
		abort();
	for (; *subs != NULL; subs++)
		if (psi_cg_path(path, sizeof(path), tmpl, *subs, NULL, NULL) < 0 ||
		    mkdir(path, 0755) < 0)
			abort();
}

static void
rmtree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", dir);
}

static void
put(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	if (psi_cg_path(path, sizeof(path), dir, file, NULL, NULL) < 0)
		abort();
	fp = fopen(path, "w");
	if (fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
}

static void
test_psi_run__eagain_is_partial_and_neutral(void)
{
	static const char *const subs[] = { "a", "b", NULL };
	static const char *const pats[] = { "*" };
	char dir[] = "/tmp/test-psi-run.XXXXXX";
	struct ctl_stage ctl;
	volatile sig_atomic_t stop = 0;
	struct psi_env env;
	struct psi_cfg cfg;
	struct err e;
	char *text = NULL;
	size_t tlen = 0;
	uint64_t u0 = 400 * MiB, asked, want_a = 0;
	int i;

	mkdirs(dir, subs);
	snprintf(env.root, sizeof(env.root), "%s", dir);
	snprintf(env.mem_root, sizeof(env.mem_root), "%s", dir);
	fake_usage[0] = fake_usage[1] = u0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.law = law_default();
	cfg.patterns = pats;
	cfg.npatterns = 1;
	cfg.interval_s = 0.001;
	cfg.periods = 6;
	cfg.text = open_memstream(&text, &tlen);
	CHECK(ctl_stage_open(&ctl, -1, "psi", &e) == 0);
	CHECK(psi_run(&cfg, &fake_ops, &env, &ctl, &stop, &e) == 0);
	fclose(cfg.text);
	/* a: five rounds at 0.05 on a shrinking usage, the sixth at 0.06 */
	for (i = 0; i < 6; i++) {
		uint64_t u = u0 - want_a;

		asked = (uint64_t)((double)u * (i < 5 ? 0.05 : 0.06)) & ~4095ULL;
		want_a += asked;
	}
	CHECK_EQ_U(fake_usage[0], u0 - want_a);
	CHECK(strstr(text, "C 5 a reclaim pressure=0.00 rate=0.05 ") != NULL);
	CHECK(strstr(text, "C 6 a reclaim pressure=0.00 rate=0.06 ") != NULL);
	/* b: EAGAIN every round: "partial", only what usage lost counted as
	 * reclaimed, and the rate never rises */
	CHECK(strstr(text, "C 6 b partial pressure=0.00 rate=0.05 ") != NULL);
	{
		uint64_t first = (uint64_t)((double)u0 * 0.05) & ~4095ULL;
		char want[256];

		snprintf(want, sizeof(want), "C 1 b partial pressure=0.00 rate=0.05 "
		    "usage=%llu floor=0 asked=%llu reclaimed=%llu\n",
		    (unsigned long long)(u0 - first / 2), (unsigned long long)first,
		    (unsigned long long)(first / 2));
		CHECK(strstr(text, want) != NULL);
		if (strstr(text, want) == NULL)
			printf("# want %s# got:\n%s", want, text);
	}
	/* the STATS text is kept current even without a supervisor */
	CHECK(strncmp(ctl.stats, "rounds 6\ncgroups 2\n", 19) == 0);
	CHECK(strstr(ctl.stats, "\ncgroup a pressure=0.00 rate=0.06 ") != NULL);
	CHECK(strstr(ctl.stats, "\ncgroup b pressure=0.00 rate=0.05 ") != NULL);
	free(text);
	rmtree(dir);
}

/* Read frames until one of `type` arrives; -1 on EOF or timeout. */
static int
recv_type(struct ctl_conn *c, uint16_t type, struct ctl_msg *m)
{
	struct err e;
	int r, tries;

	for (tries = 0; tries < 100; tries++) {
		while ((r = ctl_conn_next(c, m, &e)) == 1)
			if (m->type == type)
				return 0;
		if (r < 0 || ctl_conn_fill(c, &e) <= 0)
			return -1;
	}
	return -1;
}

static void
test_psi_run__control_fd_stats_and_stop(void)
{
	static const char *const subs[] = { "pod", "pod/a", NULL };
	static const char *const pats[] = { "pod/*" };
	static struct ctl_conn conn;
	char dir[] = "/tmp/test-psi-ctl.XXXXXX", sub[PATH_MAX + 8], buf[4096];
	const struct psi_cg_ops *ops = NULL;
	struct ctl_msg m;
	struct psi_env env;
	struct err e;
	int sv[2], status = -1;
	pid_t pid;

	mkdirs(dir, subs);
	put(dir, "cgroup.controllers", "cpu memory\n");
	put(dir, "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	snprintf(sub, sizeof(sub), "%s/pod/a", dir);
	put(sub, "memory.pressure", "some avg10=0.03 avg60=0.01 avg300=0.00 total=0\n");
	put(sub, "memory.current", "104857600\n");
	put(sub, "memory.max", "max\n");
	put(sub, "memory.reclaim", "");
	CHECK(psi_probe(dir, &ops, &env, &e) == 0);
	CHECK(ops == &psi_cgroup_v2);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	if (pid == 0) {
		static struct ctl_stage ctl;
		volatile sig_atomic_t stop = 0;
		struct psi_cfg cfg;

		close(sv[0]);
		log_init("test-psi-run", LOG_LEVEL_WARN, 0);
		memset(&cfg, 0, sizeof(cfg));
		cfg.law = law_default();
		cfg.patterns = pats;
		cfg.npatterns = 1;
		cfg.interval_s = 100;   /* STOP must cut the sleep short */
		if (ctl_stage_open(&ctl, sv[1], "psi", &e) < 0)
			_exit(70);
		_exit(psi_run(&cfg, ops, &env, &ctl, &stop, &e) == 0 ? 0 : 1);
	}
	close(sv[1]);
	ctl_conn_init(&conn, sv[0]);
	CHECK(recv_type(&conn, CTL_MSG_HELLO, &m) == 0);
	CHECK(m.len == 4 + 3 && memcmp(m.data + 4, "psi", 3) == 0);
	/* the first round is done before the sleep; give it a moment */
	usleep(200 * 1000);
	CHECK(ctl_send(sv[0], CTL_MSG_STATS, 7, 42, NULL, 0, &e) == 0);
	CHECK(recv_type(&conn, CTL_MSG_TEXT, &m) == 0);
	CHECK(m.seq == 42);
	CHECK(ctl_get_str(&m, buf, sizeof(buf)) == 0);
	/* (100 MiB - 0) x 0.05 = 5242880, a page multiple */
	CHECK(strstr(buf, "rounds 1\ncgroups 1\nasked_bytes 5242880\n") != NULL);
	CHECK(strstr(buf, "cgroup pod/a pressure=0.03 rate=0.05 reclaimed_bytes=0 "
	    "asked_bytes=5242880 last=reclaim\n") != NULL);
	CHECK(recv_type(&conn, CTL_MSG_END, &m) == 0);
	CHECK(ctl_send(sv[0], CTL_MSG_STOP, 7, 43, NULL, 0, &e) == 0);
	{
		int i;

		for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
			usleep(10 * 1000);
		if (i == 100) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
	rmtree(dir);
}

int
main(void)
{
	log_init("test-psi-run", LOG_LEVEL_WARN, 0);
	RUN(test_psi_run__eagain_is_partial_and_neutral);
	RUN(test_psi_run__control_fd_stats_and_stop);
	return unit_done();
}
