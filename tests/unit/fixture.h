/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - build a fake /proc or /sys tree under a temporary root, for the
 * unit tests of code that reads through lib/procfs.h's root prefixes.
 */
#ifndef ETMEM_FIXTURE_H
#define ETMEM_FIXTURE_H

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Write text to root/rel, creating the directories on the way. */
static inline void
fixture_put(const char *root, const char *rel, const char *text)
{
	char path[512], dir[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = dir + strlen(root) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
}

/* root/<dir>/<pid>/stat with comm, ppid and start time (field 22). */
static inline void
fixture_put_stat(const char *root, const char *dir, int pid, const char *comm,
    int ppid, unsigned long long start)
{
	char rel[64], buf[512];

	snprintf(rel, sizeof(rel), "%s/%d/stat", dir, pid);
	snprintf(buf, sizeof(buf), "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 "
	    "1 2 0 0 20 0 1 0 %llu 1000000 100 18446744073709551615\n",
	    pid, comm, ppid, pid, pid, start);
	fixture_put(root, rel, buf);
}

#endif /* ETMEM_FIXTURE_H */
