/* SPDX-License-Identifier: MIT */
/*
 * test-rank-plugin.c - the plugin engine's host side without dlopen: the
 * library checks (absolute path, owner, mode, directory chain), the K=V
 * keys, the checks on every decision a plugin makes, its counters, and the
 * private-command relay over the control fd (TEXT then END, TEXT then
 * ERROR on failure, ERROR for a reply holding 0xFF/0xFE). Loading real
 * shared objects is tested in tests/bats/plugin.bats.
 */
#include "../../etmem-rank/rank-plugin.c"

#include <sys/socket.h>

#include "unit.h"

static char tmp[] = "/tmp/test-rank-plugin.XXXXXX";

static void
make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK(write(fd, "x", 1) == 1);
	close(fd);
	CHECK(chmod(path, mode) == 0);
}

static void
test_rank_plugin__open_lib_checks(void)
{
	char real[PATH_MAX], path[PATH_MAX], dir[PATH_MAX];
	struct err e;
	int fd;

	/* The checks want root:root files; as another user there is nothing
	 * loadable to test against. */
	if (geteuid() != 0) {
		printf("# open_lib checks skipped: not root\n");
		return;
	}
	CHECK(mkdtemp(tmp) != NULL);
	CHECK(chmod(tmp, 0700) == 0);
	snprintf(path, sizeof(path), "%s/ok.so", tmp);
	make_file(path, 0700);

	/* /tmp is world-writable but sticky: accepted. */
	err_clear(&e);
	fd = open_lib(path, real, &e);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(chmod(path, 0500) == 0);
	fd = open_lib(path, real, &e);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);

	err_clear(&e);
	CHECK(open_lib("ok.so", real, &e) < 0);
	CHECK_EQ_U(e.code, EX_USAGE);

	CHECK(chmod(path, 0755) == 0);
	err_clear(&e);
	CHECK(open_lib(path, real, &e) < 0);
	CHECK_EQ_U(e.code, EX_NOPERM);
	CHECK(strstr(e.msg, "mode 0755") != NULL);

	CHECK(chmod(path, 0700) == 0);
	CHECK(chown(path, 65534, 0) == 0);
	err_clear(&e);
	CHECK(open_lib(path, real, &e) < 0);
	CHECK_EQ_U(e.code, EX_NOPERM);
	CHECK(strstr(e.msg, "owned by 65534:0") != NULL);
	CHECK(chown(path, 0, 0) == 0);

	/* A group-writable, non-sticky directory on the way. */
	snprintf(dir, sizeof(dir), "%s/gw", tmp);
	CHECK(mkdir(dir, 0770) == 0);
	CHECK(chmod(dir, 0770) == 0);
	snprintf(path, sizeof(path), "%s/gw/lib.so", tmp);
	make_file(path, 0700);
	err_clear(&e);
	CHECK(open_lib(path, real, &e) < 0);
	CHECK_EQ_U(e.code, EX_NOPERM);
	CHECK(strstr(e.msg, "writable by its group") != NULL);

	snprintf(path, sizeof(path), "%s/missing.so", tmp);
	err_clear(&e);
	CHECK(open_lib(path, real, &e) < 0);
	CHECK_EQ_U(e.code, EX_NOINPUT);

	snprintf(path, sizeof(path), "%s/gw/lib.so", tmp);
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/ok.so", tmp);
	unlink(path);
	rmdir(tmp);
}

static void
test_rank_plugin__keys(void)
{
	struct plugin pl;
	struct err e;

	memset(&pl, 0, sizeof(pl));
	memset(&plugin_opt, 0, sizeof(plugin_opt));
	plugin_opt.engine_keys.n = 2;
	plugin_opt.engine_keys.v[0] = "a=1";
	plugin_opt.engine_keys.v[1] = "url=x=y";
	plugin_opt.task_keys.n = 1;
	plugin_opt.task_keys.v[0] = "empty=";
	err_clear(&e);
	CHECK(load_keys(&pl, &e) == 0);
	CHECK_EQ_U(pl.nekv, 2);
	CHECK_EQ_U(pl.ntkv, 1);
	if (pl.nekv == 2 && pl.ntkv == 1) {
		CHECK_STR(pl.ekv[0].key, "a");
		CHECK_STR(pl.ekv[0].value, "1");
		CHECK_STR(pl.ekv[1].key, "url");
		CHECK_STR(pl.ekv[1].value, "x=y");
		CHECK_STR(pl.tkv[0].key, "empty");
		CHECK_STR(pl.tkv[0].value, "");
	}
	free(pl.ekv);
	free(pl.tkv);
	free(pl.kvbuf);

	memset(&pl, 0, sizeof(pl));
	plugin_opt.task_keys.v[0] = "=v";
	err_clear(&e);
	CHECK(load_keys(&pl, &e) < 0);
	CHECK_EQ_U(e.code, EX_USAGE);
	CHECK(strstr(e.msg, "--task-key '=v'") != NULL);
	free(pl.ekv);
	free(pl.tkv);
	free(pl.kvbuf);
	memset(&plugin_opt, 0, sizeof(plugin_opt));
}

/* A period with pid 100 (a PROC item) and pid 200 (pages only). */
static void
period_setup(struct plugin *pl, struct rank_ctx *ctx, struct rank_period *per,
    struct err *e)
{
	static struct etmr_proc procs[] = { { .pid = 100, .start_time = 555 } };
	static struct etmr_access ext[] = { { .pid = 200, .start = 0x1000, .npages = 1 } };

	memset(pl, 0, sizeof(*pl));
	memset(ctx, 0, sizeof(*ctx));
	memset(per, 0, sizeof(*per));
	ctx->page_size = 4096;
	per->procs = procs;
	per->nprocs = 1;
	pl->ctx = ctx;
	pl->per = per;
	pl->ext = ext;
	pl->next = 1;
	pl->perr = e;
	snprintf(pl->name, sizeof(pl->name), "t");
	pl->host = (struct etmem_plugin_host){ .host_priv = pl, .decide = host_decide,
	    .stat = host_stat, .log = host_log };
}

static void
test_rank_plugin__decisions_checked(void)
{
	struct plugin pl;
	struct rank_ctx ctx;
	struct rank_period per;
	struct etmr_decision d = { .pid = 100, .start = 0x2000, .npages = 3,
	    .action = ETMR_ACT_SWAP, .node = 7, .size = ETMR_SIZE_4K };
	struct err e;

	err_clear(&e);
	period_setup(&pl, &ctx, &per, &e);
	CHECK(pl.host.decide(&pl.host, &d) == 0);
	CHECK_EQ_U(ctx.ndec, 1);
	if (ctx.ndec == 1) {
		CHECK_EQ_U(ctx.dec[0].start_time, 555);    /* identity filled in */
		CHECK_EQ_U(ctx.dec[0].node, ETMR_NODE_NONE);
	}
	d.pid = 200;                                    /* known by its pages */
	CHECK(pl.host.decide(&pl.host, &d) == 0);
	CHECK_EQ_U(ctx.ndec, 2);
	if (ctx.ndec == 2)
		CHECK_EQ_U(ctx.dec[1].start_time, 0);

	d.pid = 300;
	CHECK(pl.host.decide(&pl.host, &d) < 0);
	CHECK(pl.refused);
	CHECK_EQ_U(e.code, EX_SOFTWARE);
	CHECK(strstr(e.msg, "pid is not in this period's stream") != NULL);

	pl.refused = 0;
	err_clear(&e);
	d.pid = 100;
	d.start = 0x2001;
	CHECK(pl.host.decide(&pl.host, &d) < 0);
	CHECK(strstr(e.msg, "misaligned") != NULL);

	pl.refused = 0;
	d.start = 0x200000;
	d.size = ETMR_SIZE_2M;
	d.action = ETMR_ACT_DEMOTE;
	d.node = ETMR_NODE_NONE;
	CHECK(pl.host.decide(&pl.host, &d) < 0);
	pl.refused = 0;
	d.node = 1;
	CHECK(pl.host.decide(&pl.host, &d) == 0);
	d.action = 9;
	CHECK(pl.host.decide(&pl.host, &d) < 0);
	CHECK_EQ_U(ctx.ndec, 3);

	/* Outside period(): refused without a word. */
	pl.per = NULL;
	d.action = ETMR_ACT_SWAP;
	CHECK(pl.host.decide(&pl.host, &d) < 0);
	free(ctx.dec);
}

static void
test_rank_plugin__stats_checked(void)
{
	struct plugin pl;
	struct rank_ctx ctx;
	struct rank_period per;
	struct err e;
	unsigned i;

	err_clear(&e);
	period_setup(&pl, &ctx, &per, &e);
	CHECK(pl.host.stat(&pl.host, "cold_pages", 42) == 0);
	CHECK_EQ_U(ctx.nstats, 1);
	CHECK_STR(ctx.stats[0].key, "cold_pages");
	CHECK(pl.host.stat(&pl.host, "Bad-Key", 1) < 0);
	CHECK(pl.host.stat(&pl.host, "", 1) < 0);
	CHECK(pl.host.stat(&pl.host, "a23456789012345678901234", 1) < 0);
	for (i = 1; i < PLUGIN_STATS_MAX; i++)
		CHECK(pl.host.stat(&pl.host, "k", i) == 0);
	CHECK(pl.host.stat(&pl.host, "k", 99) < 0);  /* the core's table stays safe */
	CHECK_EQ_U(ctx.nstats, PLUGIN_STATS_MAX);
}

static int mgmt_rc;
static const char *mgmt_text;
static size_t mgmt_len;
static char mgmt_seen[64];

static int
fake_mgmt(void *priv, const char *cmd, int fd)
{
	(void)priv;
	snprintf(mgmt_seen, sizeof(mgmt_seen), "%s", cmd);
	if (mgmt_len > 0 && write(fd, mgmt_text, mgmt_len) != (ssize_t)mgmt_len)
		return 99;
	return mgmt_rc;
}

static int
next(struct ctl_conn *c, struct ctl_msg *m)
{
	int rc;

	while ((rc = ctl_conn_next(c, m, NULL)) == 0)
		if (ctl_conn_fill(c, NULL) <= 0)
			return -1;
	return rc;
}

static void
test_rank_plugin__mgmt_relay(void)
{
	static struct ctl_stage st;
	static struct ctl_conn peer;
	struct etmem_plugin_ops ops = { ETMEM_PLUGIN_OPS_INIT, .mgmt = fake_mgmt };
	struct plugin pl;
	struct rank_ctx ctx;
	struct ctl_msg m, r;
	uint32_t count;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	memset(&st, 0, sizeof(st));
	ctl_conn_init(&st.conn, sv[0]);
	ctl_conn_init(&peer, sv[1]);
	memset(&pl, 0, sizeof(pl));
	memset(&ctx, 0, sizeof(ctx));
	snprintf(pl.name, sizeof(pl.name), "fake");
	pl.ops = &ops;
	ctx.priv = &pl;
	memset(&m, 0, sizeof(m));
	m.type = CTL_MSG_PLUGIN_CMD;
	m.seq = 7;
	m.data = (const uint8_t *)"stats now";
	m.len = 9;

	mgmt_text = "a=1\n";
	mgmt_len = 4;
	mgmt_rc = 0;
	CHECK(plugin_ctl(&ctx, &st, &m) == 0);
	CHECK_STR(mgmt_seen, "stats now");
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_TEXT);
	CHECK_EQ_U(r.seq, 7);
	CHECK(r.len == 4 && memcmp(r.data, "a=1\n", 4) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_END);
	CHECK(ctl_get(&r, &count, sizeof(count)) == 0);
	CHECK_EQ_U(count, 1);

	/* Failure: the text still goes first, then ERROR. */
	mgmt_rc = 1;
	CHECK(plugin_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_TEXT);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_ERROR);
	CHECK(memmem(r.data, r.len, "failed (1)", 10) != NULL);

	/* The CLI wire's terminators never get through. */
	mgmt_text = "ok\n\xfe";
	mgmt_rc = 0;
	CHECK(plugin_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_ERROR);
	CHECK(memmem(r.data, r.len, "0xFE at offset 3", 16) != NULL);

	/* No mgmt hook; an empty command; a request that is not ours. */
	ops.mgmt = NULL;
	CHECK(plugin_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_ERROR);
	CHECK(memmem(r.data, r.len, "no private commands", 19) != NULL);
	m.len = 0;
	CHECK(plugin_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_ERROR);
	m.type = CTL_MSG_SHOW_TASK_PAGES;
	CHECK(plugin_ctl(&ctx, &st, &m) == -1);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	log_init("test-rank-plugin", LOG_LEVEL_INFO, 0);
	RUN(test_rank_plugin__open_lib_checks);
	RUN(test_rank_plugin__keys);
	RUN(test_rank_plugin__decisions_checked);
	RUN(test_rank_plugin__stats_checked);
	RUN(test_rank_plugin__mgmt_relay);
	return unit_done();
}
