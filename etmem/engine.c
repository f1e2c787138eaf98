/* SPDX-License-Identifier: MIT */
/*
 * engine.c - "etmem engine ENG_CMD -n PROJ -e ENGINE [-t TASK] -s SOCK":
 * forwards an engine-private command. ENG_CMD is the first word after
 * "engine", whatever it is; every client-side failure is -1 (exit 255), as
 * the original flattens them.
 */
#include "etmem.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "rpc.h"

static void
engine_help(void)
{
	printf("\nUsage:\n"
	    "    etmem engine eng_cmd [options]\n"
	    "    etmem engine help\n"
	    "\nOptions:\n"
	    "    -n|--proj_name <proj_name>   Name of the project\n"
	    "    -s|--socket <socket_name>    Socket name to connect\n"
	    "    -e|--engine <engine_name>    Engine (type name, or eng_name of a\n"
	    "                                 thirdparty engine)\n"
	    "    -t|--task_name <task_name>   Task the command is about\n"
	    "\nNotes:\n"
	    "    1. Project name must be given.\n"
	    "    2. Socket name must be given.\n"
	    "    3. Engine name must be given.\n"
	    "    4. Engine command must be given.\n"
	    "    5. The commands an engine accepts are its own.\n"
	    "    6. cslide supports showtaskpages and showhostpages.\n");
}

static int
copy(char *dst, size_t len, const char *src, const char *what)
{
	if (strlen(src) >= len) {
		printf("etmem: request too long: %s\n", what);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

static int
engine_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "proj_name", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "engine", required_argument, NULL, 'e' },
		{ "task_name", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *proj = NULL, *sock = NULL, *eng = NULL, *task = NULL;
	struct rpc_req req;
	int c, nopts = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "n:s:e:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': proj = optarg; break;
		case 's': sock = optarg; break;
		case 'e': eng = optarg; break;
		case 't': task = optarg; break;
		default: return -1;
		}
		nopts++;
	}
	if (etmem_useless(argc, nopts))
		return -1;
	if (sock == NULL || sock[0] == '\0') {
		printf("etmem: socket name to connect must be given, please check.\n");
		return -1;
	}
	if (proj == NULL || proj[0] == '\0') {
		printf("etmem: project name must be given, please check.\n");
		return -1;
	}
	if (argv[0][0] == '\0') {
		printf("etmem: engine command must be given, please check.\n");
		return -1;
	}
	if (eng == NULL || eng[0] == '\0') {
		printf("etmem: engine name must be given, please check.\n");
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.cmd = RPC_ENG_CMD;
	if (copy(req.proj, sizeof(req.proj), proj, "project name") < 0 ||
	    copy(req.eng, sizeof(req.eng), eng, "engine name") < 0 ||
	    copy(req.eng_cmd, sizeof(req.eng_cmd), argv[0], "engine command") < 0 ||
	    (task != NULL && copy(req.task, sizeof(req.task), task, "task name") < 0))
		return -1;
	return etmem_send(sock, &req);
}

const struct etmem_obj etmem_obj_engine = { "engine", engine_help, engine_run };
