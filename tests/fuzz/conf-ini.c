/* SPDX-License-Identifier: MIT */
/*
 * conf-ini.c - libFuzzer target for the INI dialect and the key table.
 *
 * Beyond "no crash, no leak": an accepted input must print a canonical dump
 * that parses again to the very same dump (the dump is INI, and an INI file
 * holds at most one group of each kind, so nothing is lost on the way).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dump(const struct conf_file *cf)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		abort();
	conf_print(cf, f);
	fclose(f);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	struct conf_file *cf, *again;
	char *a, *b;

	cf = conf_parse_buffer_ex("fuzz.ini", (const char *)data, size,
	    CONF_FORCE_INI, NULL, &e);
	if (cf == NULL) {
		/* Every rejection names the file. */
		if (strncmp(e.msg, "fuzz.ini", 8) != 0)
			abort();
		return 0;
	}
	a = dump(cf);
	again = conf_parse_buffer_ex("dump", a, strlen(a), CONF_FORCE_INI,
	    NULL, &e);
	if (again == NULL) {
		fprintf(stderr, "dump rejected: %s\n%s", e.msg, a);
		abort();
	}
	b = dump(again);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "dump changed:\n%s---\n%s", a, b);
		abort();
	}
	free(a);
	free(b);
	conf_free(again);
	conf_free(cf);
	/* obj del reads the identity keys only; it must cope as well. */
	conf_free(conf_parse_buffer_ex("fuzz.ini", (const char *)data, size,
	    CONF_FORCE_INI | CONF_IDENTITY_ONLY, NULL, &e));
	return 0;
}
