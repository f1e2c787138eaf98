/* SPDX-License-Identifier: MIT */
/*
 * project.c - "etmem project start|stop|show [-n NAME] -s SOCK". Our one
 * addition, show --verbose, rides in the request's extension field, which
 * the original daemon ignores.
 */
#include "etmem.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "rpc.h"

static void
project_help(void)
{
	printf("\nUsage:\n"
	    "    etmem project start [options]\n"
	    "    etmem project stop [options]\n"
	    "    etmem project show [options]\n"
	    "    etmem project help\n"
	    "\nOptions:\n"
	    "    -n|--name <proj_name>       Name of the project\n"
	    "    -s|--socket <socket_name>   Socket name to connect\n"
	    "    -v|--verbose                show: per task state, pids, counters,\n"
	    "                                last error and pipeline command lines\n"
	    "\nNotes:\n"
	    "    1. Project name and socket name must be given for start and stop.\n"
	    "    2. Socket name must be given for show; without -n every project\n"
	    "       is shown.\n");
}

static int
project_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *sock = NULL;
	struct rpc_req req;
	int c, nopts = 0, cmd, verbose = 0;

	if (strcmp(argv[0], "start") == 0)
		cmd = RPC_PROJ_START;
	else if (strcmp(argv[0], "stop") == 0)
		cmd = RPC_PROJ_STOP;
	else if (strcmp(argv[0], "show") == 0)
		cmd = RPC_PROJ_SHOW;
	else {
		printf("etmem: project command %s is not supported\n", argv[0]);
		return -1;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "n:s:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 's': sock = optarg; break;
		case 'v': verbose = 1; break;
		default: return -EINVAL;
		}
		nopts++;
	}
	if (etmem_useless(argc, nopts))
		return -E2BIG;
	if (sock == NULL || sock[0] == '\0') {
		printf("etmem: socket name to connect must be given, please check.\n");
		return -EINVAL;
	}
	if (cmd != RPC_PROJ_SHOW && (name == NULL || name[0] == '\0')) {
		printf("etmem: project name must be given, please check.\n");
		return -EINVAL;
	}
	memset(&req, 0, sizeof(req));
	req.cmd = cmd;
	req.flags = verbose ? RPC_FLAG_VERBOSE : 0;
	if (name != NULL) {
		if (strlen(name) >= sizeof(req.proj)) {
			printf("etmem: request too long: project name\n");
			return -1;
		}
		strcpy(req.proj, name);
	}
	return etmem_send(sock, &req);
}

const struct etmem_obj etmem_obj_project = { "project", project_help,
	project_run };
