/* SPDX-License-Identifier: MIT */
/*
 * conf-yaml.c - libFuzzer target for the YAML form (libyaml + key table):
 * no crash, no leak, every rejection names the file, and an accepted model
 * with one group of each kind prints a dump that the INI parser reads back
 * to the same dump: the two forms describe one model.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_file *cf, *again;
	char *out = NULL;
	size_t len = 0;
	struct err e;
	FILE *f;

	cf = conf_parse_buffer_ex("fuzz.yaml", (const char *)data, size,
	    CONF_FORCE_YAML, NULL, &e);
	if (cf == NULL) {
		if (strncmp(e.msg, "fuzz.yaml", 9) != 0)
			abort();
		return 0;
	}
	f = open_memstream(&out, &len);
	if (f == NULL)
		abort();
	conf_print(cf, f);
	fclose(f);
	/* With several engines or tasks INI would merge them: skip those. */
	if (cf->nengines <= 1 && cf->ntasks <= 1) {
		again = conf_parse_buffer_ex("dump", out, len, CONF_FORCE_INI,
		    NULL, &e);
		char *out2 = NULL;
		size_t len2 = 0;

		if (again == NULL) {
			fprintf(stderr, "dump rejected: %s\n%s", e.msg, out);
			abort();
		}
		f = open_memstream(&out2, &len2);
		if (f == NULL)
			abort();
		conf_print(again, f);
		fclose(f);
		if (strcmp(out, out2) != 0) {
			fprintf(stderr, "INI dump differs:\n%s---\n%s", out, out2);
			abort();
		}
		free(out2);
		conf_free(again);
	}
	free(out);
	conf_free(cf);
	return 0;
}
