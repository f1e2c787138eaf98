/* SPDX-License-Identifier: MIT */
/*
 * rpc.h - the original etmem/etmemd wire format, shared by the client and
 * the daemon (cli-contract §2).
 *
 * A request is one ASCII line of six "key value" pairs, at most RPC_REQ_MAX
 * bytes, no terminator:
 *   proj_name P file_name F cmd N eng_name E eng_cmd C task_name T
 * with "-" for an absent value. Anything after the task_name value is ignored
 * by the original daemon; we use that room for one extension pair
 * "flags N" (RPC_FLAG_VERBOSE) that old daemons simply skip.
 * A reply is optional text followed by exactly one tag byte, RPC_TAG_OK or
 * RPC_TAG_FAIL.
 */
#ifndef ETMEM_RPC_H
#define ETMEM_RPC_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

struct err;

#define RPC_REQ_MAX 512          /* bytes of a formatted request, inclusive */
#define RPC_SOCK_NAME_MAX 106    /* abstract socket name, bytes */
#define RPC_TIMEOUT_S 10         /* client send/recv timeout */
#define RPC_TAG_OK 0xFFu
#define RPC_TAG_FAIL 0xFEu
#define RPC_FLAG_VERBOSE 0x1u

enum rpc_cmd {
	RPC_OBJ_ADD = 0,
	RPC_OBJ_DEL = 1,
	RPC_PROJ_START = 2,
	RPC_PROJ_STOP = 3,
	RPC_PROJ_SHOW = 4,
	RPC_ENG_CMD = 5,
};

/* Reply kinds; each has one fixed text (rpc_result_text). */
enum rpc_result {
	RPC_OK = 0,
	RPC_INVAL,
	RPC_PRO_EXISTED,
	RPC_PRO_STARTED,
	RPC_PRO_STOPPED,
	RPC_PRO_NOEXIST,
	RPC_ENG_EXISTED,
	RPC_ENG_NOEXIST,
	RPC_TASK_EXISTED,
	RPC_TASK_NOEXIST,
	RPC_INTER_ERR,
	RPC_RESULT_MAX_,
};

/* A parsed request; an empty string means "absent" ("-" on the wire). */
struct rpc_req {
	char proj[RPC_REQ_MAX + 1];
	char file[RPC_REQ_MAX + 1];
	int cmd;
	char eng[RPC_REQ_MAX + 1];
	char eng_cmd[RPC_REQ_MAX + 1];
	char task[RPC_REQ_MAX + 1];
	unsigned flags;          /* extension; 0 from original clients */
};

/* rpc.c */
/* Format req into buf (NUL-terminated). Returns the length, or -1 with e
 * set when it would exceed RPC_REQ_MAX bytes. */
int rpc_req_format(const struct rpc_req *req, char *buf, size_t len,
    struct err *e);
/* Parse len bytes (not NUL-terminated). 0 ok; -1 with e naming the byte
 * offset and field at fault. Stricter than the original only in that it
 * rejects what the original silently mis-read (values that start with "-",
 * empty values, a cmd that is not a decimal int in range). */
int rpc_req_parse(const char *buf, size_t len, struct rpc_req *req,
    struct err *e);
const char *rpc_result_text(enum rpc_result r);
/* Build the abstract address "\0name"; -1 if name is empty or too long. */
int rpc_sockaddr(const char *name, struct sockaddr_un *sa, socklen_t *salen,
    struct err *e);

#endif /* ETMEM_RPC_H */
