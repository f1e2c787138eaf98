/* SPDX-License-Identifier: MIT */
/* scan-damon.c - placeholder until the DAMON backend lands (VM-lane work). */
#include "scan.h"

#include <sysexits.h>

#include "err.h"

static int
damon_probe(const struct scan_env *env, struct err *e)
{
	(void)env;
	return err_set(e, EX_UNAVAILABLE, 0,
	    "backend damon: not available in this build");
}

const struct scan_ops scan_damon = {
	.name = "damon",
	.backend = ETMR_BACKEND_DAMON,
	.probe = damon_probe,
	.init = NULL,
	.prepare = NULL,
	.collect = NULL,
	.fini = NULL,
};
