/* SPDX-License-Identifier: MIT */
/*
 * test-conf-file.c - conf_load(): the original's file checks (F1-F4 of
 * cli-contract 6.4: realpath, root:root, mode 0600/0400, 10 MiB) and every
 * sample in conf/ini and conf/yaml, whose two forms must print the same.
 * Needs root (files must be root-owned); run from the source tree or with
 * ETMEM_SRCDIR set.
 */
#include "conf.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "unit.h"

#define PROJ "[project]\nname=test\nloop=1\ninterval=1\nsleep=1\n"

static char tmpdir[] = "/tmp/test-conf.XXXXXX";
static const char *const samples[] = { "slide", "cslide", "thirdparty", "exec",
	"psi", "pmu", "damon" };

/* Write a file under tmpdir with the given content and mode; its path. */
static const char *
put(const char *name, const char *text, size_t len, mode_t mode)
{
	static char path[4][512];
	static int i;
	char *p = path[i++ & 3];
	int fd;

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		printf("# cannot write %s\n", p);
	if (fd >= 0)
		close(fd);
	if (chmod(p, mode) < 0)
		printf("# cannot chmod %s\n", p);
	return p;
}

static void
load_fails(const char *path, int code, const char *want, int line)
{
	enum conf_reply r = CONF_REPLY_OK;
	struct err e = { 0 };
	struct conf_file *cf = conf_load_ex(path, 0, &r, &e);

	if (cf != NULL || e.code != code || strstr(e.msg, want) == NULL ||
	    r == CONF_REPLY_OK) {
		unit_cur_failed++;
		printf("# line %d: %s: got %s code %d '%s', want code %d '%s'\n",
		    line, path, cf ? "success" : "failure", e.code, e.msg, code,
		    want);
	}
	conf_free(cf);
}
#define LOAD_FAILS(p, code, want) load_fails((p), (code), (want), __LINE__)

static void
load_ok(const char *path, int line)
{
	struct err e = { 0 };
	struct conf_file *cf = conf_load(path, &e);

	if (cf == NULL) {
		unit_cur_failed++;
		printf("# line %d: %s rejected: %s\n", line, path, e.msg);
	}
	conf_free(cf);
}
#define LOAD_OK(p) load_ok((p), __LINE__)

static void
test_conf_file__missing(void)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/nonexistent", tmpdir);
	LOAD_FAILS(p, EX_NOINPUT, "cannot resolve '");
	LOAD_FAILS(p, EX_NOINPUT, "nonexistent': No such file or directory");
	LOAD_FAILS(tmpdir, EX_NOINPUT, "is not a regular file");
}

static void
test_conf_file__mode_and_owner(void)
{
	const char *p;

	LOAD_OK(put("m600", PROJ, strlen(PROJ), 0600));
	LOAD_OK(put("m400", PROJ, strlen(PROJ), 0400));
	LOAD_OK(put("m4600", PROJ, strlen(PROJ), 04600));
	LOAD_FAILS(put("m644", PROJ, strlen(PROJ), 0644), EX_NOPERM,
	    "must have mode 0600 or 0400 (is 0644)");
	LOAD_FAILS(put("m700", PROJ, strlen(PROJ), 0700), EX_NOPERM,
	    "(is 0700)");
	LOAD_FAILS(put("m000", PROJ, strlen(PROJ), 0), EX_NOPERM, "(is 0000)");
	p = put("nobody", PROJ, strlen(PROJ), 0600);
	if (chown(p, 65534, 0) == 0)
		LOAD_FAILS(p, EX_NOPERM, "must be owned by root:root (is 65534:0)");
	p = put("nogroup", PROJ, strlen(PROJ), 0600);
	if (chown(p, 0, 65534) == 0)
		LOAD_FAILS(p, EX_NOPERM, "must be owned by root:root (is 0:65534)");
}

/* The checks apply to the resolved file, not to the link (F3). */
static void
test_conf_file__symlink(void)
{
	char link[600], link2[600];
	const char *p = put("target", PROJ, strlen(PROJ), 0600);
	const char *q = put("target644", PROJ, strlen(PROJ), 0644);

	snprintf(link, sizeof(link), "%s/link", tmpdir);
	snprintf(link2, sizeof(link2), "%s/link644", tmpdir);
	CHECK(symlink(p, link) == 0);
	CHECK(symlink(q, link2) == 0);
	LOAD_OK(link);
	LOAD_FAILS(link2, EX_NOPERM, "target644' must have mode");
}

static void
test_conf_file__size_limit(void)
{
	size_t n = CONF_FILE_MAX_BYTES;
	char *big = malloc(n + 1);

	if (big == NULL)
		return;
	/* Exactly 10 MiB is allowed: a project padded with blank lines. */
	memset(big, '\n', n + 1);
	memcpy(big, PROJ, strlen(PROJ));
	LOAD_OK(put("10mib", big, n, 0600));
	LOAD_FAILS(put("10mib+1", big, n + 1, 0600), EX_DATAERR,
	    "10485761 bytes, more than the limit of 10485760");
	free(big);
	unlink(put("10mib", "", 0, 0600));
	unlink(put("10mib+1", "", 0, 0600));
}

/* Content errors name the path as given, with line and key. */
static void
test_conf_file__content_errors(void)
{
	const char *p = put("bad.yaml", PROJ "sysmem_threshold=101\n",
	    strlen(PROJ) + 21, 0600);
	char want[700];

	snprintf(want, sizeof(want), "%s:6: key 'sysmem_threshold' in "
	    "[project]: 101 is out of range 0..100", p);
	LOAD_FAILS(p, EX_DATAERR, want);
	LOAD_FAILS(put("empty", "", 0, 0600), EX_DATAERR,
	    "empty: no [project], [engine] or [task] group");
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = calloc(1, 1 << 16);
	*len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	fclose(f);
	return buf;
}

/* Copy the sample to tmpdir as root 0600, load it, dump it. */
static char *
load_sample(const char *dir, const char *name)
{
	const char *src = getenv("ETMEM_SRCDIR");
	char path[512], tname[64], *text, *out = NULL;
	struct conf_file *cf;
	struct err e = { 0 };
	size_t len = 0, olen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf/%s/%s.yaml", src ? src : ".",
	    dir, name);
	text = slurp(path, &len);
	if (text == NULL) {
		unit_cur_failed++;
		printf("# cannot read %s\n", path);
		return NULL;
	}
	snprintf(tname, sizeof(tname), "%s-%s.yaml", dir, name);
	cf = conf_load(put(tname, text, len, 0600), &e);
	free(text);
	if (cf == NULL) {
		unit_cur_failed++;
		printf("# %s: %s\n", path, e.msg);
		return NULL;
	}
	CHECK_EQ_U(cf->format, strcmp(dir, "ini") ? CONF_FMT_YAML : CONF_FMT_INI);
	CHECK(cf->project != NULL);
	CHECK_EQ_U(cf->nengines, 1);
	CHECK_EQ_U(cf->ntasks, 1);
	f = open_memstream(&out, &olen);
	conf_print(cf, f);
	fclose(f);
	conf_free(cf);
	return out;
}

/* A line each sample's dump must hold: its engine (pmu: the sampling). */
static const char *
fmt_engine(const char *sample)
{
	static char buf[64];

	if (strcmp(sample, "pmu") == 0)
		return "\nsample_period=5000\n";
	snprintf(buf, sizeof(buf), "[engine]\nproject=test\nname=%s\n", sample);
	return buf;
}

static void
test_conf_file__samples_ini_equals_yaml(void)
{
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char *a = load_sample("ini", samples[i]);
		char *b = load_sample("yaml", samples[i]);

		if (a && b && strcmp(a, b) != 0) {
			unit_cur_failed++;
			printf("# %s: INI and YAML print differently:\n%s---\n%s",
			    samples[i], a, b);
		}
		/* Each sample shows its engine. */
		if (a && strstr(a, fmt_engine(samples[i])) == NULL) {
			unit_cur_failed++;
			printf("# %s: no '%s' in\n%s", samples[i],
			    fmt_engine(samples[i]), a);
		}
		free(a);
		free(b);
	}
}

static void
cleanup(void)
{
	char cmd[600];

	/* Only our own mkdtemp directory. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", tmpdir);
}

int
main(void)
{
	if (geteuid() != 0) {
		printf("ok 1 - test_conf_file # SKIP needs root (root-owned files)\n"
		    "1..1\n");
		return 0;
	}
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	RUN(test_conf_file__missing);
	RUN(test_conf_file__mode_and_owner);
	RUN(test_conf_file__symlink);
	RUN(test_conf_file__size_limit);
	RUN(test_conf_file__content_errors);
	RUN(test_conf_file__samples_ini_equals_yaml);
	cleanup();
	return unit_done();
}
