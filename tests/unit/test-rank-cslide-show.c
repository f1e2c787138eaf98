/* SPDX-License-Identifier: MIT */
/*
 * test-rank-cslide-show.c - cslide's showtaskpages/showhostpages: the
 * picture kept from a period's pages, the original's table layout (the
 * original's test drops lines with "pages" or "node" and splits the rest on
 * blanks, so those words must stay in the title and header lines), and the
 * control-fd exchange: TEXT then END(count 1), or ERROR before any period.
 */
#include "../../etmem-rank/rank-cslide-show.c"

#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

static struct cslide cs;

static void
pages(void)
{
	static struct cslide_page pg[] = {
		{ .addr = 0x40000000, .pid = 7, .count = 3, .node = 0 },
		{ .addr = 0x40200000, .pid = 7, .count = 0, .node = 0 },
		{ .addr = 0x40400000, .pid = 7, .count = 0, .node = 1 },
		{ .addr = 0x40000000, .pid = 9, .count = 2, .node = 1 },
		{ .addr = 0x40200000, .pid = 9, .count = 2, .node = CSLIDE_NODE_NONE },
	};

	memset(&cs, 0, sizeof(cs));
	cs.pages = pg;
	cs.npages = sizeof(pg) / sizeof(pg[0]);
	cs.nnodes = 2;
	cs.mem[0].total = 100 * CSLIDE_HUGE_BYTES;
	cs.mem[1].total = 50 * CSLIDE_HUGE_BYTES;
}

static void
test_rank_cslide_show__task_and_host_tables(void)
{
	char buf[1024];
	const char *body;

	pages();
	CHECK(cslide_show_host(&cs, buf, sizeof(buf)) == -1);   /* no period yet */
	CHECK(cslide_snapshot(&cs, 2, 0) == 0);
	CHECK(cs.have_snap);
	CHECK(cslide_show_task(&cs, 0, buf, sizeof(buf)) > 0);
	/* The first pid; unknown-node pages are not counted. */
	body = strchr(buf, '\n');
	CHECK(strstr(buf, "task 7 pages info (KB):\n") != NULL);
	CHECK(buf[0] == '[');
	CHECK_STR(body + 1,
	    " node       used        hot       cold\n"
	    "    0       4096       2048       2048\n"
	    "    1       2048          0       2048\n");
	CHECK(cslide_show_task(&cs, 9, buf, sizeof(buf)) > 0);
	CHECK_STR(strchr(buf, '\n') + 1,
	    " node       used        hot       cold\n"
	    "    0          0          0          0\n"
	    "    1       2048       2048          0\n");
	CHECK(cslide_show_task(&cs, 8, buf, sizeof(buf)) == -1);
	CHECK(cslide_show_host(&cs, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "] host pages info (KB):\n") != NULL);
	CHECK_STR(strchr(buf, '\n') + 1,
	    " node      total       used        hot       cold\n"
	    "    0     204800       4096       2048       2048\n"
	    "    1     102400       4096       2048       2048\n");
	/* Too small a buffer fails instead of cutting a row. */
	CHECK(cslide_show_host(&cs, buf, 40) == -1);
	free(cs.use);
}

/* Read one frame from fd. */
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
test_rank_cslide_show__control_requests(void)
{
	static struct ctl_stage st;
	static struct ctl_conn peer;
	struct rank_ctx ctx = { .priv = &cs };
	struct ctl_msg m = { .type = CTL_MSG_SHOW_HOST_PAGES, .seq = 5 }, r;
	int sv[2];
	uint32_t cnt;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	st.conn.fd = sv[0];
	ctl_conn_init(&peer, sv[1]);
	pages();
	/* Before any period: ERROR, as the original fails without a pid. */
	CHECK(cslide_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_ERROR);
	CHECK_EQ_U(r.seq, 5);
	CHECK(cslide_snapshot(&cs, 2, 1764095000ull * 1000000000ull) == 0);
	CHECK(cslide_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_TEXT);
	CHECK(r.len > 0 && memmem(r.data, r.len, "host pages info (KB)", 20) != NULL);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_END);
	CHECK(ctl_get(&r, &cnt, sizeof(cnt)) == 0);
	CHECK_EQ_U(cnt, 1);
	/* showtaskpages with a pid payload; a bad payload is an ERROR. */
	m.type = CTL_MSG_SHOW_TASK_PAGES;
	m.data = (const uint8_t *)"9";
	m.len = 1;
	CHECK(cslide_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_TEXT);
	CHECK(memmem(r.data, r.len, "task 9 pages", 12) != NULL);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_END);
	/* What the supervisor sends: the command word (the first pid). */
	m.data = (const uint8_t *)"showtaskpages";
	m.len = 13;
	CHECK(cslide_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_TEXT);
	CHECK(memmem(r.data, r.len, "task 7 pages", 12) != NULL);
	CHECK(next(&peer, &r) == 1);
	m.data = (const uint8_t *)"showtaskpages 9";
	m.len = 15;
	CHECK(cslide_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK(memmem(r.data, r.len, "task 9 pages", 12) != NULL);
	CHECK(next(&peer, &r) == 1);
	m.data = (const uint8_t *)"x9";
	m.len = 2;
	CHECK(cslide_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_ERROR);
	m.type = CTL_MSG_PLUGIN_CMD;
	CHECK(cslide_ctl(&ctx, &st, &m) == 0);
	CHECK(next(&peer, &r) == 1);
	CHECK_EQ_U(r.type, CTL_MSG_ERROR);
	free(cs.use);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	RUN(test_rank_cslide_show__task_and_host_tables);
	RUN(test_rank_cslide_show__control_requests);
	return unit_done();
}
