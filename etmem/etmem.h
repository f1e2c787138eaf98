/* SPDX-License-Identifier: MIT */
/*
 * etmem.h - the etmem client's objects (obj, project, engine) and the one
 * call that sends a request to etmemd. Handlers return the original's
 * internal codes: 0, -EINVAL, -E2BIG, -1, -ECOMM, or a positive connect
 * errno; main() prints "etmem: error N" and exits with N & 0xff.
 */
#ifndef ETMEM_CLIENT_H
#define ETMEM_CLIENT_H

struct rpc_req;

struct etmem_obj {
	const char *name;
	void (*help)(void);
	/* argv[0] is the sub-command word (never parsed as an option). */
	int (*run)(int argc, char **argv);
};

extern const struct etmem_obj etmem_obj_obj;
extern const struct etmem_obj etmem_obj_project;
extern const struct etmem_obj etmem_obj_engine;

/* send.c */
/* Send req to the daemon on abstract socket sock, print the reply text on
 * stdout. 0 on 0xFF, -ECOMM on 0xFE/close/recv error, -1 when the socket
 * name or the request is too long, the connect errno when connect fails. */
int etmem_send(const char *sock, const struct rpc_req *req);
/* How many options getopt parsed vs words given: the original's stray-word
 * check (cli-contract §3.1). */
int etmem_useless(int argc, int nopts);

#endif /* ETMEM_CLIENT_H */
