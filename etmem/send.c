/* SPDX-License-Identifier: MIT */
/*
 * send.c - one request to etmemd and its reply, byte-compatible with the
 * original client: recv in chunks of at most 511 bytes, and only the last
 * byte of each chunk is looked at for the 0xFF/0xFE tag (cli-contract §2.4).
 */
#include "etmem.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "rpc.h"

#define RECV_CHUNK 511

int
etmem_useless(int argc, int nopts)
{
	if (nopts > 0 && argc - 1 > 2 * nopts) {
		printf("etmem: useless parameters passed in\n");
		return 1;
	}
	return 0;
}

static int
recv_reply(int fd)
{
	char buf[RECV_CHUNK + 1];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, RECV_CHUNK, 0);
		if (n == 0) {
			printf("etmem: connection closed by peer\n");
			return -ECOMM;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			printf("etmem: recv failed: %s\n", strerror(errno));
			return -ECOMM;
		}
		buf[n] = '\0';
		if ((unsigned char)buf[n - 1] == RPC_TAG_OK) {
			buf[n - 1] = '\0';
			fputs(buf, stdout);
			return 0;
		}
		if ((unsigned char)buf[n - 1] == RPC_TAG_FAIL) {
			buf[n - 1] = '\n';
			fputs(buf, stdout);
			return -ECOMM;
		}
		fputs(buf, stdout);
	}
}

int
etmem_send(const char *sock, const struct rpc_req *req)
{
	struct timeval tv = { .tv_sec = RPC_TIMEOUT_S };
	char line[RPC_REQ_MAX + 1];
	struct sockaddr_un sa;
	socklen_t salen;
	struct err e;
	int fd, ret, saved;

	if (rpc_sockaddr(sock, &sa, &salen, &e) < 0) {
		printf("etmem: %s\n", e.msg);
		return -1;
	}
	if (rpc_req_format(req, line, sizeof(line), &e) < 0) {
		printf("etmem: %s\n", e.msg);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		saved = errno;
		printf("etmem: socket failed: %s\n", strerror(saved));
		return saved;
	}
	/* The original's 10 s both ways: connect to a full backlog and a
	 * silent daemon both end instead of hanging. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		saved = errno;
		printf("etmem: connect failed: %s\n", strerror(saved));
		close(fd);
		return saved;
	}
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		printf("etmem: send failed: %s\n", strerror(errno));
		close(fd);
		return -ECOMM;
	}
	ret = recv_reply(fd);
	fflush(stdout);
	close(fd);
	return ret;
}
