/* SPDX-License-Identifier: MIT */
/*
 * rpc.c - format and parse the original's request line, reply texts and the
 * abstract socket address; see rpc.h. No I/O here: the client and the daemon
 * own their sockets.
 */
#include "rpc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

static const char *const result_text[RPC_RESULT_MAX_] = {
	[RPC_OK] = "success",
	[RPC_INVAL] = "error: invalid parameters",
	[RPC_PRO_EXISTED] = "error: project has been existed",
	[RPC_PRO_STARTED] = "error: project has been started",
	[RPC_PRO_STOPPED] = "error: project has been stopped",
	[RPC_PRO_NOEXIST] = "error: project is not exist",
	[RPC_ENG_EXISTED] = "error: engine has been existed",
	[RPC_ENG_NOEXIST] = "error: engine is not exist",
	[RPC_TASK_EXISTED] = "error: task has been existed",
	[RPC_TASK_NOEXIST] = "error: task is not exist",
	[RPC_INTER_ERR] = "error: etmemd has internal error, see reason details in messages",
};

const char *
rpc_result_text(enum rpc_result r)
{
	if ((int)r < 0 || r >= RPC_RESULT_MAX_)
		return result_text[RPC_INTER_ERR];
	return result_text[r];
}

int
rpc_req_format(const struct rpc_req *req, char *buf, size_t len, struct err *e)
{
	char tmp[RPC_REQ_MAX * 6 + 64];
	int n;

	/* Values are sent as given, blanks and leading '-' included: the
	 * daemon answers "invalid parameters", as exit-code-compatible as the
	 * original's silent close (cli-contract §2.2). */
#define V(s) ((s)[0] != '\0' ? (s) : "-")
	n = snprintf(tmp, sizeof(tmp),
	    "proj_name %s file_name %s cmd %d eng_name %s eng_cmd %s task_name %s",
	    V(req->proj), V(req->file), req->cmd, V(req->eng), V(req->eng_cmd),
	    V(req->task));
#undef V
	if (n > 0 && req->flags != 0)
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, " flags %u",
		    req->flags);
	if (n < 0 || n > RPC_REQ_MAX || (size_t)n >= len)
		return err_set(e, EX_USAGE, 0, "request too long (%d bytes, "
		    "at most %d)", n, RPC_REQ_MAX);
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

/* Parse "key value" at *pos; value copied into out (absent = ""). */
static int
take(const char *buf, size_t len, size_t *pos, const char *key, char *out,
    size_t outlen, struct err *e)
{
	size_t klen = strlen(key), p = *pos, start;

	if (p > len || len - p < klen + 2 || memcmp(buf + p, key, klen) != 0 ||
	    buf[p + klen] != ' ')
		return err_set(e, EX_DATAERR, 0, "byte %zu: expected '%s VALUE'",
		    p, key);
	p += klen + 1;
	start = p;
	while (p < len && buf[p] != ' ')
		p++;
	if (p == start)
		return err_set(e, EX_DATAERR, 0, "byte %zu: empty value for '%s'",
		    start, key);
	for (size_t i = start; i < p; i++)
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] == 0x7f)
			return err_set(e, EX_DATAERR, 0, "byte %zu: control "
			    "character in the value of '%s'", i, key);
	if (p - start == 1 && buf[start] == '-') {
		out[0] = '\0';
	} else if (buf[start] == '-') {
		return err_set(e, EX_DATAERR, 0, "byte %zu: value of '%s' starts "
		    "with '-'", start, key);
	} else {
		if (p - start >= outlen)
			return err_set(e, EX_DATAERR, 0, "byte %zu: value of '%s' "
			    "too long", start, key);
		memcpy(out, buf + start, p - start);
		out[p - start] = '\0';
	}
	/* Pairs are separated by exactly one space; the last may end the line. */
	if (p < len)
		p++;
	*pos = p;
	return 0;
}

int
rpc_req_parse(const char *buf, size_t len, struct rpc_req *req, struct err *e)
{
	char num[RPC_REQ_MAX + 1];
	size_t pos = 0;
	char *end;
	long v;

	memset(req, 0, sizeof(*req));
	if (len > RPC_REQ_MAX)
		return err_set(e, EX_DATAERR, 0, "request of %zu bytes exceeds %d",
		    len, RPC_REQ_MAX);
	if (take(buf, len, &pos, "proj_name", req->proj, sizeof(req->proj), e) < 0 ||
	    take(buf, len, &pos, "file_name", req->file, sizeof(req->file), e) < 0 ||
	    take(buf, len, &pos, "cmd", num, sizeof(num), e) < 0)
		return -1;
	errno = 0;
	v = strtol(num, &end, 10);
	if (num[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > INT_MAX)
		return err_set(e, EX_DATAERR, 0, "cmd '%s' is not a command number",
		    num);
	req->cmd = (int)v;
	if (take(buf, len, &pos, "eng_name", req->eng, sizeof(req->eng), e) < 0 ||
	    take(buf, len, &pos, "eng_cmd", req->eng_cmd, sizeof(req->eng_cmd), e) < 0 ||
	    take(buf, len, &pos, "task_name", req->task, sizeof(req->task), e) < 0)
		return -1;
	/* Our one extension; anything else after task_name is ignored, as the
	 * original does. */
	if (len - pos > 6 && memcmp(buf + pos, "flags ", 6) == 0 &&
	    take(buf, len, &pos, "flags", num, sizeof(num), e) == 0) {
		v = strtol(num, &end, 10);
		if (*end == '\0' && v >= 0 && v <= 0xffff)
			req->flags = (unsigned)v;
	}
	return 0;
}

int
rpc_sockaddr(const char *name, struct sockaddr_un *sa, socklen_t *salen,
    struct err *e)
{
	size_t n = strlen(name);

	if (n == 0)
		return err_set(e, EX_USAGE, 0, "socket name is empty");
	if (n > RPC_SOCK_NAME_MAX)
		return err_set(e, EX_USAGE, 0, "socket name of %zu bytes is too "
		    "long (at most %d)", n, RPC_SOCK_NAME_MAX);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, name, n);   /* sun_path[0] = 0: abstract */
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	return 0;
}
