/* SPDX-License-Identifier: MIT */
/*
 * test-migrate-swap.c - the swap_pages backend's write discipline: every
 * write(2) is whole `0x%lx\n` lines and at most 4096 bytes (the original's
 * stdio writes cut lines and lost addresses, W-6). The file is replaced by
 * a SOCK_SEQPACKET socket so each write(2) arrives as one message and its
 * boundaries can be checked.
 */
#include "../../etmem-migrate/mig-swap-pages.c"

#include <sys/socket.h>
#include <sys/stat.h>

#include "unit.h"

static char root[] = "/tmp/test-migrate-swap.XXXXXX";

/* A fixture proc root with proc/<pid>/swap_pages as a regular file. */
static void
fixture(pid_t pid)
{
	char path[PROCFS_PATH_MAX];
	int fd;

	CHECK(mkdtemp(root) != NULL);
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d", root, (int)pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d/swap_pages", root, (int)pid);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(procfs_init(root, NULL, NULL) == 0);
}

static void
test_migrate_swap__whole_lines_in_4k_writes(void)
{
	struct mig_env env = { .page_size = 4096 };
	struct mig_ctx ctx = { .env = &env, .pid = 4242, .pidfd = -1 };
	struct mig_range r[3] = {
		{ 0x7f0000000000, 700 }, { 0x7f0000400000, 1 }, { 0xffffffffff000, 300 },
	};
	struct mig_stats st = { 0 };
	struct swap_priv *p;
	uint64_t expect_next = r[0].start, lines = 0;
	size_t ri = 0, k = 0;
	int sv[2], msgs = 0, bad = 0;
	char msg[8192];
	ssize_t n;

	fixture(4242);
	CHECK(swap_usable(&env, 4242) == 1);
	CHECK(swap_usable(&env, 4243) == 0);
	CHECK(swap_open(&ctx, NULL) == 0);
	p = ctx.priv;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	/* 1001 lines of up to 18 bytes: ~18 KiB, more than the socket's
	 * default buffer would hold unread, so make it large. */
	n = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &n, sizeof(int));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &n, sizeof(int));
	dup2(sv[0], p->fd);
	CHECK(swap_apply(&ctx, r, 3, &st, NULL) == 1001);
	swap_close(&ctx);
	close(sv[0]);
	while ((n = recv(sv[1], msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
		char *line, *save = NULL;

		msgs++;
		if (n > 4096 || msg[n - 1] != '\n')
			bad++;
		msg[n] = '\0';
		for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			uint64_t a = strtoull(line, NULL, 16);

			if (strncmp(line, "0x", 2) != 0 || a != expect_next)
				bad++;
			lines++;
			if (++k == r[ri].npages && ++ri < 3) {
				k = 0;
				expect_next = r[ri].start;
			} else {
				expect_next += 4096;
			}
		}
	}
	close(sv[1]);
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(lines, 1001);
	CHECK(msgs >= 4);   /* ~15 KiB of lines cannot fit in fewer 4 KiB writes */
}

static void
test_migrate_swap__probe_names_the_module(void)
{
	struct mig_env env = { .page_size = 4096 };
	struct err e = { 0 };

	/* The fixture root has no proc/self/swap_pages. */
	CHECK(swap_probe(&env, &e) == -1);
	CHECK_EQ_U(e.code, EX_UNAVAILABLE);
	CHECK(strstr(e.msg, "etmem_swap") != NULL);
}

static void
cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", root);
}

int
main(void)
{
	RUN(test_migrate_swap__whole_lines_in_4k_writes);
	RUN(test_migrate_swap__probe_names_the_module);
	cleanup();
	return unit_done();
}
