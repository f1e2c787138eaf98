/* SPDX-License-Identifier: MIT */
/*
 * cli-request.c - libFuzzer target for etmemd's CLI request parser
 * (lib/rpc.c), the first code that touches bytes from a client. Beyond "no
 * crash": a request that parses must survive format -> parse unchanged, and
 * a formatted request never exceeds RPC_REQ_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rpc_req a, b;
	char line[RPC_REQ_MAX + 1];
	struct err e;
	int n;

	if (rpc_req_parse((const char *)data, size, &a, &e) < 0)
		return 0;
	n = rpc_req_format(&a, line, sizeof(line), &e);
	if (n < 0)
		return 0;       /* e.g. a huge cmd number: allowed to refuse */
	if (n > RPC_REQ_MAX || (size_t)n != strlen(line))
		abort();
	if (rpc_req_parse(line, (size_t)n, &b, &e) < 0)
		abort();
	if (a.cmd != b.cmd || a.flags != b.flags || strcmp(a.proj, b.proj) ||
	    strcmp(a.file, b.file) || strcmp(a.eng, b.eng) ||
	    strcmp(a.eng_cmd, b.eng_cmd) || strcmp(a.task, b.task))
		abort();
	return 0;
}
