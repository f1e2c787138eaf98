/* SPDX-License-Identifier: MIT */
/*
 * obj.c - "etmem obj add|del -f FILE -s SOCK" and our "etmem obj check -f
 * FILE", which validates a file locally and prints the model etmemd would
 * build from it. The client sends an absolute path, so a relative -f means
 * the client's directory, not the daemon's (cli-contract §8.4).
 */
#include "etmem.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "rpc.h"

static void
obj_help(void)
{
	printf("\nUsage:\n"
	    "    etmem obj add [options]\n"
	    "    etmem obj del [options]\n"
	    "    etmem obj check -f <conf_file>\n"
	    "    etmem obj help\n"
	    "\nOptions:\n"
	    "    -f|--file <conf_file>       Add configuration file\n"
	    "    -s|--socket <socket_name>   Socket name to connect\n"
	    "\nNotes:\n"
	    "    1. Configuration file must be given.\n"
	    "    2. Socket name must be given for add and del.\n"
	    "    3. check validates the file without a daemon and prints the\n"
	    "       projects, engines and tasks it describes.\n");
}

/* Make path absolute against our cwd without resolving it: the daemon does
 * the realpath and the permission checks, and must see symlinks itself. */
static int
absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, len, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		n = snprintf(out, len, "%s", path);
	else
		n = snprintf(out, len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd,
		    path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
obj_check(const char *file)
{
	struct err e = { 0 };
	struct conf_file *c;

	c = conf_load(file, &e);
	if (c == NULL) {
		printf("etmem: %s\n", e.msg);
		return -EINVAL;
	}
	conf_print(c, stdout);
	conf_free(c);
	return 0;
}

static int
obj_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *sock = NULL;
	struct rpc_req req;
	int c, nopts = 0, cmd;

	if (strcmp(argv[0], "add") == 0)
		cmd = RPC_OBJ_ADD;
	else if (strcmp(argv[0], "del") == 0)
		cmd = RPC_OBJ_DEL;
	else if (strcmp(argv[0], "check") == 0)
		cmd = -1;
	else {
		printf("etmem: obj command %s is not supported\n", argv[0]);
		return -1;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "f:s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 's': sock = optarg; break;
		default: return -EINVAL;
		}
		nopts++;
	}
	if (etmem_useless(argc, nopts))
		return -E2BIG;
	if (cmd >= 0 && (sock == NULL || sock[0] == '\0')) {
		printf("etmem: socket name to connect must be given, please check.\n");
		return -EINVAL;
	}
	if (file == NULL || file[0] == '\0') {
		printf("etmem: file name must be given in add command.\n");
		return -EINVAL;
	}
	if (cmd < 0)
		return obj_check(file);
	memset(&req, 0, sizeof(req));
	req.cmd = cmd;
	if (absolute(file, req.file, sizeof(req.file)) < 0) {
		printf("etmem: request too long: file name '%s'\n", file);
		return -1;
	}
	return etmem_send(sock, &req);
}

const struct etmem_obj etmem_obj_obj = { "obj", obj_help, obj_run };
