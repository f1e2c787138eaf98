/* SPDX-License-Identifier: MIT */
/*
 * main.c - etmem, the command-line client of etmemd: dispatch on the object
 * word (project, obj, engine) with the original's help and exit codes
 * (cli-contract §3). Everything goes to stdout except getopt's own
 * complaints, as in the original.
 */
#include "etmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct etmem_obj *const objs[] = {
	&etmem_obj_project, &etmem_obj_obj, &etmem_obj_engine,
};

static void
usage(void)
{
	printf("\nUsage:\n"
	    "    etmem OBJECT COMMAND\n"
	    "    etmem help\n"
	    "\nParameters:\n"
	    "    OBJECT := { project | obj | engine }\n"
	    "    COMMAND := { add | del | start | stop | show | check | eng_cmd | help }\n"
	    "\n"
	    "etmem talks to etmemd over an abstract unix socket (-s NAME); run\n"
	    "'etmem OBJECT help' for the options of each object.\n"
	    "Exit status: 0 ok; 234 bad command line; 249 stray words; 255 other\n"
	    "client-side error; 186 the daemon refused or failed the request;\n"
	    "an errno value when the connection could not be made.\n");
}

int
main(int argc, char **argv)
{
	const struct etmem_obj *o = NULL;
	int ret;

	if (argc < 2) {
		usage();
		return -EINVAL & 0xff;
	}
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		if (strcmp(argv[1], objs[i]->name) == 0)
			o = objs[i];
	if (o == NULL) {
		usage();
		if (strcmp(argv[1], "help") == 0 && argc == 2)
			return 0;
		return -EINVAL & 0xff;
	}
	if (argc == 2) {
		o->help();
		return -EINVAL & 0xff;
	}
	if (strcmp(argv[2], "help") == 0) {
		o->help();
		return 0;
	}
	ret = o->run(argc - 2, argv + 2);
	if (ret != 0) {
		printf("etmem: error %d\n", ret);
		o->help();
	}
	fflush(stdout);
	return ret & 0xff;
}
