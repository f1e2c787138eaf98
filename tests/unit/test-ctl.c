/* SPDX-License-Identifier: MIT */
/* test-ctl.c - control-frame codec and the stage helper (lib/ctl.c). */
#include <sys/socket.h>
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "unit.h"

static void
test_ctl__roundtrip(void)
{
	struct ctl_conn *c = malloc(sizeof(*c));
	struct ctl_msg m;
	struct err e;
	uint32_t v = 0;
	char s[16];
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ctl_conn_init(c, sv[1]);
	CHECK(ctl_send(sv[0], CTL_MSG_STATS, 7, 42, NULL, 0, &e) == 0);
	CHECK(ctl_sendf(sv[0], CTL_MSG_TEXT, 7, 43, &e, "pages %d", 12) == 0);
	v = 0x01020304;
	CHECK(ctl_send(sv[0], CTL_MSG_END, 7, 43, &v, sizeof(v), &e) == 0);
	CHECK(ctl_conn_fill(c, &e) == 1);
	CHECK(ctl_conn_next(c, &m, &e) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_STATS);
	CHECK_EQ_U(m.task, 7);
	CHECK_EQ_U(m.seq, 42);
	CHECK_EQ_U(m.len, 0);
	CHECK(ctl_conn_next(c, &m, &e) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_TEXT);
	CHECK(ctl_get_str(&m, s, sizeof(s)) == 0);
	CHECK_STR(s, "pages 12");
	CHECK(ctl_get_str(&m, s, 4) == -1);     /* too long for the buffer */
	CHECK(ctl_conn_next(c, &m, &e) == 1);
	CHECK(ctl_get(&m, &v, 2) == -1);        /* length must be exact */
	v = 0;
	CHECK(ctl_get(&m, &v, sizeof(v)) == 0);
	CHECK_EQ_U(v, 0x01020304);
	CHECK(ctl_conn_next(c, &m, &e) == 0);   /* nothing more */
	close(sv[0]);
	CHECK(ctl_conn_fill(c, &e) == 0);       /* EOF */
	close(sv[1]);
	free(c);
}

static void
test_ctl__oversized_frame_rejected(void)
{
	struct ctl_conn *c = malloc(sizeof(*c));
	uint8_t hdr[CTL_HDR_SIZE] = { 200, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f };
	struct ctl_msg m;
	struct err e;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ctl_conn_init(c, sv[1]);
	CHECK(write(sv[0], hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
	CHECK(ctl_conn_fill(c, &e) == 1);
	CHECK(ctl_conn_next(c, &m, &e) == -1);
	CHECK(strstr(e.msg, "STATS frame of 2147483647 bytes exceeds") != NULL);
	close(sv[0]);
	close(sv[1]);
	free(c);
}

static void
test_ctl__partial_frame_waits(void)
{
	struct ctl_conn *c = malloc(sizeof(*c));
	uint8_t frame[CTL_HDR_SIZE + 3] = { 204, 0, 0, 0, 3, 0, 0, 0 };
	struct ctl_msg m;
	struct err e;
	int sv[2];

	memcpy(frame + CTL_HDR_SIZE, "abc", 3);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ctl_conn_init(c, sv[1]);
	CHECK(write(sv[0], frame, 10) == 10);
	CHECK(ctl_conn_fill(c, &e) == 1);
	CHECK(ctl_conn_next(c, &m, &e) == 0);
	CHECK(write(sv[0], frame + 10, sizeof(frame) - 10) == (ssize_t)(sizeof(frame) - 10));
	CHECK(ctl_conn_fill(c, &e) == 1);
	CHECK(ctl_conn_next(c, &m, &e) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_RELOAD);
	CHECK_EQ_U(m.len, 3);
	CHECK(memcmp(m.data, "abc", 3) == 0);
	close(sv[0]);
	close(sv[1]);
	free(c);
}

static void
test_ctl__stage_serves_stats_and_stop(void)
{
	struct ctl_stage *s = malloc(sizeof(*s));
	struct ctl_conn *sup = malloc(sizeof(*sup));
	struct ctl_msg m;
	struct err e;
	char text[64];
	uint32_t ver;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(ctl_stage_open(s, sv[1], "etmem-test", &e) == 0);
	ctl_conn_init(sup, sv[0]);
	CHECK(ctl_conn_fill(sup, &e) == 1);
	CHECK(ctl_conn_next(sup, &m, &e) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_HELLO);
	memcpy(&ver, m.data, 4);
	CHECK_EQ_U(ver, CTL_VERSION);
	CHECK(m.len == 4 + strlen("etmem-test") && memcmp(m.data + 4, "etmem-test", 10) == 0);

	snprintf(s->stats, sizeof(s->stats), "pages_cold 5\n");
	CHECK(ctl_send(sv[0], CTL_MSG_STATS, 1, 9, NULL, 0, &e) == 0);
	CHECK(ctl_send(sv[0], CTL_MSG_PLUGIN_CMD, 1, 10, "x", 1, &e) == 0);
	CHECK(ctl_stage_poll(s, 100) == 0);
	CHECK(ctl_conn_fill(sup, &e) == 1);
	CHECK(ctl_conn_next(sup, &m, &e) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_TEXT);
	CHECK_EQ_U(m.seq, 9);
	CHECK(ctl_get_str(&m, text, sizeof(text)) == 0);
	CHECK_STR(text, "pages_cold 5\n");
	CHECK(ctl_conn_next(sup, &m, &e) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_END);
	CHECK(ctl_conn_next(sup, &m, &e) == 1);
	CHECK_EQ_U(m.type, CTL_MSG_ERROR);      /* no handler for PLUGIN_CMD */
	CHECK_EQ_U(m.seq, 10);

	CHECK(ctl_send(sv[0], CTL_MSG_STOP, 1, 11, NULL, 0, &e) == 0);
	CHECK(ctl_stage_poll(s, 1000) == 1);
	close(sv[0]);
	ctl_stage_close(s);
	free(s);
	free(sup);
}

static void
test_ctl__stage_disabled_sleeps(void)
{
	struct ctl_stage *s = malloc(sizeof(*s));
	struct err e;

	CHECK(ctl_stage_open(s, -1, "x", &e) == 0);
	CHECK(s->enabled == 0);
	CHECK(ctl_stage_poll(s, 10) == 0);
	ctl_stage_close(s);
	free(s);
}

static void
test_ctl__peer_gone_means_stop(void)
{
	struct ctl_stage *s = malloc(sizeof(*s));
	struct err e;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(ctl_stage_open(s, sv[1], "x", &e) == 0);
	close(sv[0]);
	CHECK(ctl_stage_poll(s, 1000) == 1);
	ctl_stage_close(s);
	free(s);
}

/* A stage blocked waiting for input still answers STATS, then sees input. */
static void
test_ctl__wait_fd_serves_requests(void)
{
	struct ctl_stage *s = malloc(sizeof(*s));
	struct ctl_conn *sup = malloc(sizeof(*sup));
	struct ctl_msg m;
	struct err e;
	int sv[2], in[2];
	pid_t pid;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(pipe(in) == 0);
	CHECK(ctl_stage_open(s, sv[1], "t", &e) == 0);
	ctl_conn_init(sup, sv[0]);
	CHECK(ctl_conn_fill(sup, &e) == 1);
	CHECK(ctl_conn_next(sup, &m, &e) == 1);         /* HELLO */
	snprintf(s->stats, sizeof(s->stats), "k 1\n");
	pid = fork();
	if (pid == 0) {
		/* The "supervisor": ask for STATS, wait for the answer, then
		 * feed the input pipe. */
		struct ctl_msg r;

		ctl_send(sv[0], CTL_MSG_STATS, 0, 5, NULL, 0, NULL);
		while (ctl_conn_fill(sup, NULL) == 1)
			if (ctl_conn_next(sup, &r, NULL) == 1 && r.type == CTL_MSG_TEXT)
				break;
		_exit(write(in[1], "x", 1) == 1 ? 0 : 1);
	}
	CHECK(ctl_stage_wait_fd(s, in[0]) == 0);        /* returns only on input */
	{
		char c;

		CHECK(read(in[0], &c, 1) == 1 && c == 'x');
	}
	CHECK(ctl_send(sv[0], CTL_MSG_STOP, 0, 6, NULL, 0, &e) == 0);
	CHECK(ctl_stage_wait_fd(s, in[0]) == 1);        /* STOP while waiting */
	waitpid(pid, NULL, 0);
	close(in[0]);
	close(in[1]);
	close(sv[0]);
	ctl_stage_close(s);
	free(s);
	free(sup);
}

int
main(void)
{
	RUN(test_ctl__roundtrip);
	RUN(test_ctl__oversized_frame_rejected);
	RUN(test_ctl__partial_frame_waits);
	RUN(test_ctl__stage_serves_stats_and_stop);
	RUN(test_ctl__stage_disabled_sleeps);
	RUN(test_ctl__peer_gone_means_stop);
	RUN(test_ctl__wait_fd_serves_requests);
	return unit_done();
}
