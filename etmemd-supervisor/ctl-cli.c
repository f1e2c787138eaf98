/* SPDX-License-Identifier: MIT */
/*
 * ctl-cli.c - what the CLI wire means: parse the original's request line
 * (lib/rpc.c) and call the registry. A malformed request is answered with
 * "invalid parameters" instead of the original's silent close; the client
 * exits 186 either way.
 */
#include "sup.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "err.h"
#include "log.h"

int
sup_cli_dispatch(const char *buf, size_t len, struct evbuffer *out,
    struct sup_client *c)
{
	struct rpc_req *req;
	int r;
	struct err e;

	req = malloc(sizeof(*req));
	if (req == NULL)
		return RPC_INTER_ERR;
	if (rpc_req_parse(buf, len, req, &e) < 0) {
		log_warnx("client: malformed request: %s", e.msg);
		free(req);
		return RPC_INVAL;
	}
	log_debug("client: cmd %d project '%s' file '%s' engine '%s' "
	    "eng_cmd '%s' task '%s'", req->cmd, req->proj, req->file, req->eng,
	    req->eng_cmd, req->task);
	switch (req->cmd) {
	case RPC_OBJ_ADD:
		r = req->file[0] == '\0' ? RPC_INVAL : sup_obj_add(req->file);
		break;
	case RPC_OBJ_DEL:
		r = req->file[0] == '\0' ? RPC_INVAL : sup_obj_del(req->file);
		break;
	case RPC_PROJ_START:
		r = req->proj[0] == '\0' ? RPC_INVAL : sup_project_start(req->proj);
		break;
	case RPC_PROJ_STOP:
		r = req->proj[0] == '\0' ? RPC_INVAL : sup_project_stop(req->proj);
		break;
	case RPC_PROJ_SHOW:
		sup_project_show(req->proj[0] != '\0' ? req->proj : NULL,
		    (req->flags & RPC_FLAG_VERBOSE) != 0, out);
		r = RPC_OK;
		break;
	case RPC_ENG_CMD:
		r = sup_engine_cmd(req, c);
		break;
	default:
		log_warnx("client: unknown command %d", req->cmd);
		r = RPC_INVAL;
		break;
	}
	free(req);
	return r;
}
