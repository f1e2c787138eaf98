/* SPDX-License-Identifier: MIT */
/*
 * test-conf.c - the configuration model from buffers: the original's INI
 * dialect corner by corner (cli-contract 4.2), the key table against the
 * acceptance cases F5-F27/K2-K4 of cli-contract 6.4, and the YAML form.
 * File checks and the shipped samples are in test-conf-file.c.
 */
#include "conf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"
#include "unit.h"

#define PROJ "[project]\nname=test\nloop=1\ninterval=1\nsleep=1\n"

static struct conf_file *
parse(const char *text, unsigned flags, enum conf_reply *reply, struct err *e)
{
	return conf_parse_buffer_ex("t.yaml", text, strlen(text), flags, reply,
	    e);
}

/* Accepted: returns the model (caller frees). */
static struct conf_file *
ok_(const char *text, const char *file, int line)
{
	struct err e = { 0 };
	struct conf_file *cf = parse(text, 0, NULL, &e);

	if (cf == NULL) {
		unit_cur_failed++;
		printf("# %s:%d: rejected: %s\n#   input: %s\n", file, line,
		    e.msg, text);
	}
	return cf;
}
#define OK(text) ok_((text), __FILE__, __LINE__)
#define ACCEPT(text) conf_free(OK(text))

/* Rejected with EX_DATAERR, the verdict and a message holding want. */
static void
bad_(const char *text, unsigned flags, enum conf_reply r, const char *want,
    const char *file, int line)
{
	enum conf_reply got = CONF_REPLY_OK;
	struct err e = { 0 };
	struct conf_file *cf = parse(text, flags, &got, &e);

	if (cf != NULL) {
		unit_cur_failed++;
		printf("# %s:%d: accepted, expected '%s'\n#   input: %s\n",
		    file, line, want, text);
		conf_free(cf);
		return;
	}
	if (e.code != EX_DATAERR || got != r || strstr(e.msg, want) == NULL) {
		unit_cur_failed++;
		printf("# %s:%d: got code %d reply %d '%s', expected reply %d "
		    "'%s'\n", file, line, e.code, got, e.msg, r, want);
	}
}
#define BAD(text, r, want) \
	bad_((text), 0, CONF_REPLY_##r, (want), __FILE__, __LINE__)
#define BAD_DEL(text, r, want) \
	bad_((text), CONF_IDENTITY_ONLY, CONF_REPLY_##r, (want), __FILE__, \
	    __LINE__)

static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* A formatted test input; kept in a ring so a few can be alive at once. */
static char *
fmt(const char *f, ...)
{
	static char bufs[4][8192];
	static int i;
	va_list ap;
	char *b = bufs[i++ & 3];

	va_start(ap, f);
	vsnprintf(b, sizeof(bufs[0]), f, ap);
	va_end(ap);
	return b;
}

static const char *
project_with(const char *key, const char *val)
{
	return fmt("[project]\nname=test\n%s%s%s%s=%s\n",
	    strcmp(key, "loop") ? "loop=1\n" : "",
	    strcmp(key, "interval") ? "interval=1\n" : "",
	    strcmp(key, "sleep") ? "sleep=1\n" : "", key, val);
}

static const char *
slide_task_with(const char *extra)
{
	return fmt(PROJ "[task]\nproject=test\nengine=slide\nname=t\ntype=pid\n"
	    "value=1\n%s", extra);
}

/* --- GKeyFile syntax (cli-contract 4.2) ------------------------------- */

static void
test_conf__ini_comments_blanks_crlf(void)
{
	struct conf_file *cf = OK("# top comment\n\n   # indented comment\n"
	    "[project]\r\n  name = a # not a comment\r\n\tloop=1\ninterval=1\n"
	    "sleep=1");

	if (cf) {
		CHECK_STR(cf->project->name, "a # not a comment");
		CHECK_EQ_U(cf->project->g.line, 4);
		CHECK_EQ_U(cf->format, CONF_FMT_INI);
	}
	conf_free(cf);
	BAD("; semicolon\n" PROJ, INTER_ERR, "t.yaml:1: line is not");
	BAD(PROJ "garbage\n", INTER_ERR, "t.yaml:6: line is not a [group]");
	BAD("name=test\n" PROJ, INTER_ERR, "t.yaml:1: key 'name' before the first");
	BAD(PROJ "=value\n", INTER_ERR, "t.yaml:6: line is not");
}

static void
test_conf__ini_trailing_blanks_kept(void)
{
	struct conf_file *cf = OK("[project]\nname=test \nloop=1\ninterval=1\n"
	    "sleep=1\n");

	if (cf)
		CHECK_STR(cf->project->name, "test ");
	conf_free(cf);
	BAD("[project]\nname=test\nloop=1 \ninterval=1\nsleep=1\n", INVAL,
	    "t.yaml:3: key 'loop' in [project]: '1 ' is not an integer "
	    "(allowed 1..120)");
}

static void
test_conf__ini_escapes(void)
{
	struct conf_file *cf = OK("[project]\nname=\\sa\\tb\\\\c\\n\nloop=1\n"
	    "interval=1\nsleep=1\n");

	if (cf)
		CHECK_STR(cf->project->name, " a\tb\\c\n");
	conf_free(cf);
	BAD("[project]\nname=a\\x\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "t.yaml:2: key 'name' in [project]: invalid escape sequence");
	BAD("[project]\nname=a\\\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "t.yaml:2: key 'name' in [project]: escape character at end");
	BAD("[project]\nname=a\xff\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "key 'name' in [project]: value is not valid UTF-8");
	{
		static const char nul[] = "[project]\nname=a\0b\n";
		enum conf_reply r = CONF_REPLY_OK;
		struct err e = { 0 };

		CHECK(conf_parse_buffer_ex("t.yaml", nul, sizeof(nul) - 1, 0,
		    &r, &e) == NULL);
		CHECK_STR(e.msg, "t.yaml:2: NUL byte in line");
		CHECK_EQ_U(r, CONF_REPLY_INTER_ERR);
	}
}

static void
test_conf__ini_groups(void)
{
	struct conf_file *cf;

	BAD("[project\nname=a\n", INTER_ERR, "t.yaml:1: line is not");
	BAD("[]\nname=a\n", INTER_ERR, "t.yaml:1: invalid group name ''");
	BAD("[a[b]\nname=a\n", INTER_ERR, "t.yaml:1: invalid group name");
	BAD("[project] x\nname=a\n", INTER_ERR, "t.yaml:1: line is not");
	/* Names are case-sensitive; unknown groups are ignored (F5). */
	BAD("[Project]\nname=a\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "t.yaml: no [project], [engine] or [task] group");
	BAD("", INVAL, "t.yaml: no [project], [engine] or [task] group");
	BAD("[not_used_group]\naaa=bbb\n", INVAL, "no [project], [engine]");
	cf = OK("[project]  \t\nname=a\nloop=1\ninterval=1\nsleep=1\n"
	    "[other]\nname=b\n");
	if (cf)
		CHECK_STR(cf->project->name, "a");
	conf_free(cf);
}

static void
test_conf__ini_duplicates_merge_last_wins(void)
{
	struct conf_file *cf;
	int line = 0;

	/* Two [project] blocks merge; the later key wins (F10 alike). */
	cf = OK("[project]\nname=a\nloop=1\n[engine]\nproject=a\nname=slide\n"
	    "[project]\nname=b\ninterval=2\nsleep=3\n");
	if (cf) {
		CHECK_STR(cf->project->name, "b");
		CHECK_EQ_U(cf->project->loop, 1);
		CHECK_EQ_U(cf->project->interval, 2);
		CHECK(conf_group_get(&cf->project->g, "name", &line) != NULL);
		CHECK_EQ_U(line, 8);
		CHECK_EQ_U(cf->nengines, 1);
	}
	conf_free(cf);
	/* F10: two [task] blocks t2, t3: one task, t3. */
	cf = OK(PROJ "[task]\nproject=test\nengine=slide\nname=t2\ntype=pid\n"
	    "value=1\nT=1\n[task]\nproject=test\nengine=slide\nname=t3\n"
	    "type=pid\nvalue=2\nT=1\n");
	if (cf) {
		CHECK_EQ_U(cf->ntasks, 1);
		CHECK_STR(cf->tasks[0].name, "t3");
		CHECK_STR(cf->tasks[0].value, "2");
	}
	conf_free(cf);
}

static void
test_conf__ini_keys(void)
{
	struct conf_file *cf;

	/* Localised keys are different keys, dropped; key names keep case. */
	BAD("[project]\nname[en]=a\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "t.yaml:1: key 'name' in [project]: required key is missing");
	BAD("[project]\nName=a\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "key 'name' in [project]: required key is missing");
	BAD("[project]\nna]me=a\n", INTER_ERR, "t.yaml:2: invalid key name");
	BAD("[project]\nname [en]=a\n", INTER_ERR, "t.yaml:2: invalid key name");
	/* F17: unknown keys ignored, kept in the group with their line. */
	cf = OK(PROJ "my key=1\nswapcache_high_vmark=10\n");
	if (cf)
		CHECK_STR(conf_group_get(&cf->project->g, "my key", NULL), "1");
	conf_free(cf);
}

/* --- [project] keys: F11-F17 ------------------------------------------ */

static void
test_conf__project_name(void)
{
	char n64[65], n65[66], n84[85];

	memset(n64, 'a', 64); n64[64] = 0;
	memset(n65, 'a', 65); n65[65] = 0;
	memset(n84, 'a', 84); n84[84] = 0;
	ACCEPT(fmt("[project]\nname=%s\nloop=1\ninterval=1\nsleep=1\n", n64));
	BAD(fmt("[project]\nname=%s\nloop=1\ninterval=1\nsleep=1\n", n65),
	    INVAL, "t.yaml:2: key 'name' in [project]: '");
	BAD(fmt("[project]\nname=%s\nloop=1\ninterval=1\nsleep=1\n", n84),
	    INVAL, "is 84 bytes long, allowed 1..64");
	BAD("[project]\nname=\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "is 0 bytes long, allowed 1..64");
	BAD("[project]\nloop=1\ninterval=1\nsleep=1\n", INVAL,
	    "t.yaml:1: key 'name' in [project]: required key is missing");
}

static void
test_conf__project_loop(void)
{
	static const char *const good[] = { "1", "2", "119", "120", "+1", "01",
		" 7" };
	static const char *const bad[] = { "0", "121", "-1", "4294967297",
		"4294967296", "9223372036854775808", "99999999999999999999" };
	struct conf_file *cf;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ACCEPT(project_with("loop", good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BAD(project_with("loop", bad[i]), INVAL,
		    fmt("key 'loop' in [project]: %s is out of range 1..120",
		    bad[i]));
	BAD(project_with("loop", "abc"), INVAL,
	    "key 'loop' in [project]: 'abc' is not an integer (allowed 1..120)");
	BAD(project_with("loop", ""), INVAL, "'' is not an integer");
	BAD(project_with("loop", "0x10"), INVAL, "'0x10' is not an integer");
	BAD(project_with("loop", "1.5"), INVAL, "'1.5' is not an integer");
	BAD(project_with("loop", "1e3"), INVAL, "'1e3' is not an integer");
	BAD("[project]\nname=test\ninterval=1\nsleep=1\n", INVAL,
	    "t.yaml:1: key 'loop' in [project]: required key is missing "
	    "(scan_type=page)");
	cf = OK(project_with("loop", "+5"));
	if (cf)
		CHECK_EQ_U(cf->project->loop, 5);
	conf_free(cf);
}

static void
test_conf__project_interval_sleep(void)
{
	static const char *const good[] = { "1", "2", "1199", "1200" };
	static const char *const bad[] = { "0", "1201" };
	static const char *const keys[] = { "interval", "sleep" };
	size_t i, k;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < 4; i++)
			ACCEPT(project_with(keys[k], good[i]));
		for (i = 0; i < 2; i++)
			BAD(project_with(keys[k], bad[i]), INVAL,
			    fmt("key '%s' in [project]: %s is out of range "
			    "1..1200", keys[k], bad[i]));
		BAD(project_with(keys[k], "text"), INVAL, "is not an integer");
	}
}

static void
test_conf__project_sysmem_threshold(void)
{
	static const char *const good[] = { "0", "1", "2", "99", "100" };
	static const char *const bad[] = { "101", "-1", "abc", "a10b", "10a" };
	struct conf_file *cf;
	size_t i;

	for (i = 0; i < 5; i++)
		ACCEPT(fmt(PROJ "sysmem_threshold=%s\n", good[i]));
	for (i = 0; i < 5; i++)
		BAD(fmt(PROJ "sysmem_threshold=%s\n", bad[i]), INVAL,
		    "t.yaml:6: key 'sysmem_threshold' in [project]:");
	cf = OK(PROJ "sysmem_threshold=0\n");
	if (cf) {
		CHECK(cf->project->has_sysmem_threshold);
		CHECK_EQ_U(cf->project->sysmem_threshold, 0);
	}
	conf_free(cf);
	cf = OK(PROJ);
	if (cf)
		CHECK(!cf->project->has_sysmem_threshold);
	conf_free(cf);
}

static void
test_conf__project_watermarks(void)
{
	static const char *const bad[][2] = { { "-1", "-1" }, { "1", "-1" },
		{ "-1", "1" }, { "1", "2" }, { "101", "100" }, { "100", "101" },
		{ "101", "101" }, { "5", NULL }, { NULL, "5" }, { "5", "5" } };
	static const char *const good[][2] = { { "2", "1" }, { "100", "99" },
		{ "6", "5" } };
	struct conf_file *cf;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *t = fmt(PROJ "%s%s%s%s%s%s",
		    bad[i][0] ? "swapcache_high_wmark=" : "",
		    bad[i][0] ? bad[i][0] : "", bad[i][0] ? "\n" : "",
		    bad[i][1] ? "swapcache_low_wmark=" : "",
		    bad[i][1] ? bad[i][1] : "", bad[i][1] ? "\n" : "");

		BAD(t, INVAL, "key 'swapcache_");
	}
	BAD(PROJ "swapcache_high_wmark=5\n", INVAL, "set both "
	    "swapcache_high_wmark and swapcache_low_wmark, or neither");
	BAD(PROJ "swapcache_high_wmark=5\nswapcache_low_wmark=5\n", INVAL,
	    "5 must be greater than swapcache_low_wmark (5)");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cf = OK(fmt(PROJ "swapcache_high_wmark=%s\nswapcache_low_wmark="
		    "%s\n", good[i][0], good[i][1]));
		if (cf) {
			CHECK(cf->project->has_swapcache_wmark);
			CHECK_EQ_U(cf->project->swapcache_high_wmark,
			    atoi(good[i][0]));
		}
		conf_free(cf);
	}
}

static void
test_conf__project_scan_type(void)
{
	struct conf_file *cf;
	const char *region = "[project]\nname=r\nscan_type=region\n"
	    "sample_interval=5000\naggr_interval=100000\n"
	    "update_interval=1000000\nmin_nr_regions=%s\nmax_nr_regions=%s\n";

	BAD(project_with("scan_type", "PAGE"), INVAL,
	    "key 'scan_type' in [project]: 'PAGE' is not one of page, region, psi");
	BAD(project_with("scan_type", ""), INVAL, "'' is not one of");
	cf = OK("[project]\nname=p\nscan_type=psi\ninterval=5\n");
	if (cf) {
		CHECK_EQ_U(cf->project->scan_type, CONF_SCAN_PSI);
		CHECK_EQ_U(cf->project->interval, 5);
	}
	conf_free(cf);
	BAD("[project]\nname=p\nscan_type=psi\n", INVAL,
	    "key 'interval' in [project]: required key is missing "
	    "(scan_type=psi)");
	cf = OK(fmt(region, "10", "1000"));
	if (cf) {
		CHECK_EQ_U(cf->project->min_nr_regions, 10);
		CHECK_EQ_U(cf->project->aggr_interval, 100000);
	}
	conf_free(cf);
	BAD(fmt(region, "10", "10"), INVAL, "t.yaml:8: key 'max_nr_regions' in "
	    "[project]: 10 must be greater than min_nr_regions (10)");
	BAD(fmt(region, "2", "10"), INVAL, "t.yaml:7: key 'min_nr_regions' in "
	    "[project]: 2 is out of range 3..2147483647");
	BAD("[project]\nname=r\nscan_type=region\nsample_interval=-1\n", INVAL,
	    "key 'sample_interval' in [project]: -1 is out of range");
}

/* --- [engine] keys: F18, F25-F27, K2-K3 ------------------------------- */

static void
test_conf__engine_identity(void)
{
	struct conf_file *cf;

	BAD("[engine]\nproject=p\nname=nosuchengine\n", INTER_ERR,
	    "t.yaml:3: key 'name' in [engine]: 'nosuchengine' is not one of "
	    "slide, cslide, memdcd, damon, psi, thirdparty, exec");
	BAD("[engine]\nproject=p\nname=\n", INTER_ERR, "'' is not one of");
	BAD("[engine]\nproject=p\n", INVAL,
	    "t.yaml:1: key 'name' in [engine]: required key is missing");
	BAD("[engine]\nname=slide\n", INVAL,
	    "key 'project' in [engine]: required key is missing");
	cf = OK("[engine]\nproject=p\nname=memdcd\n");
	if (cf) {
		CHECK_EQ_U(cf->nengines, 1);
		CHECK_EQ_U(cf->engines[0].type, CONF_ENG_MEMDCD);
		CHECK(conf_find_engine(cf, "p", "memdcd") == &cf->engines[0]);
		CHECK(conf_find_engine(cf, "q", "memdcd") == NULL);
	}
	conf_free(cf);
}

/* exec: a required command (1..4095 bytes), run by etmem-rank exec. */
static void
test_conf__engine_exec(void)
{
	struct conf_file *cf;
	char *big;

	BAD("[engine]\nproject=p\nname=exec\n", INTER_ERR,
	    "key 'command' in [engine]: required key is missing");
	BAD("[engine]\nproject=p\nname=exec\ncommand=\n", INTER_ERR,
	    "t.yaml:4: key 'command' in [engine]");
	big = malloc(4096 + 64);
	if (big != NULL) {
		int n = sprintf(big, "[engine]\nproject=p\nname=exec\ncommand=");

		memset(big + n, 'c', 4095);
		strcpy(big + n + 4095, "\n");
		cf = OK(big);
		if (cf)
			CHECK_EQ_U(strlen(cf->engines[0].command), 4095);
		conf_free(cf);
		strcpy(big + n + 4095, "c\n");
		BAD(big, INTER_ERR, "key 'command' in [engine]");
		free(big);
	}
	cf = OK("[engine]\nproject=p\nname=exec\n"
	    "command=python3 /x/exec-engine.py --max-pages 4\n");
	if (cf) {
		CHECK_EQ_U(cf->engines[0].type, CONF_ENG_EXEC);
		CHECK_STR(conf_engine_id(&cf->engines[0]), "exec");
		CHECK_STR(cf->engines[0].command,
		    "python3 /x/exec-engine.py --max-pages 4");
	}
	conf_free(cf);
	/* A task names the engine by its type, as for every built-in. */
	cf = OK("[task]\nproject=p\nengine=exec\nname=t\ntype=pid\nvalue=1\n");
	if (cf)
		CHECK_EQ_U(cf->tasks[0].engine_type, CONF_ENG_EXEC);
	conf_free(cf);
	/* A plugin may not take the name of the new type. */
	BAD("[engine]\nproject=p\nname=thirdparty\neng_name=exec\n"
	    "libname=/l.so\nops_name=o\n", INVAL, "is the name of an engine type");
}

static void
test_conf__engine_thirdparty(void)
{
	const char *base = "[engine]\nproject=p\nname=thirdparty\n%s"
	    "libname=/lib/x.so\nops_name=ops\nzz=last\naa=first\n";
	struct conf_file *cf;
	char n97[98];

	memset(n97, 'e', 97); n97[97] = 0;
	cf = OK(fmt(base, "eng_name=my\n"));
	if (cf) {
		const struct conf_engine *eng = &cf->engines[0];

		CHECK_STR(conf_engine_id(eng), "my");
		CHECK_STR(eng->libname, "/lib/x.so");
		CHECK_STR(eng->ops_name, "ops");
		CHECK_EQ_U(eng->npriv, 2);
		if (eng->npriv == 2) {
			CHECK_STR(eng->priv[0].key, "zz");
			CHECK_STR(eng->priv[1].value, "first");
			CHECK_EQ_U(eng->priv[1].line, 8);
		}
	}
	conf_free(cf);
	BAD(fmt(base, ""), INVAL,
	    "key 'eng_name' in [engine]: required key is missing");
	BAD(fmt(base, "eng_name=slide\n"), INVAL, "t.yaml:4: key 'eng_name' in "
	    "[engine]: 'slide' is the name of an engine type");
	BAD(fmt(base, fmt("eng_name=%s\n", n97)), INVAL,
	    "key 'eng_name' in [engine]: '");
	BAD("[engine]\nproject=p\nname=thirdparty\neng_name=e\nops_name=o\n",
	    INTER_ERR, "key 'libname' in [engine]: required key is missing "
	    "(name=thirdparty)");
}

static void
test_conf__engine_damon(void)
{
	const char *t = "[engine]\nproject=p\nname=damon\nmin_size=%s\n"
	    "max_size=20000\nmin_acc=0\nmax_acc=5\nmin_age=1\nmax_age=%s\n"
	    "action=%s\n";
	struct conf_file *cf = OK(fmt(t, "4096", "4294967295", "pageout"));

	if (cf) {
		CHECK_EQ_U(cf->engines[0].action, CONF_DAMON_PAGEOUT);
		CHECK_EQ_U(cf->engines[0].max_age, 4294967295u);
	}
	conf_free(cf);
	BAD(fmt(t, "4096", "3", "bogus"), INTER_ERR, "t.yaml:10: key 'action' "
	    "in [engine]: 'bogus' is not one of willneed, cold, pageout, "
	    "hugepage, nohugepage, stat");
	BAD(fmt(t, "4096", "4294967296", "cold"), INTER_ERR,
	    "key 'max_age' in [engine]: 4294967296 is out of range 0..4294967295");
	BAD(fmt(t, "-1", "3", "cold"), INTER_ERR, "key 'min_size' in [engine]: "
	    "-1 is out of range 0..9223372036854775807");
	BAD(fmt(t, "40970", "3", "cold"), INTER_ERR, "t.yaml:4: key 'min_size' "
	    "in [engine]: 40970 is greater than max_size (20000)");
	BAD("[engine]\nproject=p\nname=damon\n", INTER_ERR,
	    "key 'min_size' in [engine]: required key is missing (name=damon)");
}

static void
test_conf__engine_cslide(void)
{
	static const char *const good_pairs[] = { "0,1", "2,0;3,1", "1,0 3,2",
		"0,1;2,3;4,5", ";0,1;" };
	static const char *const bad_pairs[] = { "0,2", "0x&,2", "0,x&2", "",
		"0,2;0,3", "0,", ",;", "0,1,2", "0;1", "-1,0" };
	const char *t = "[engine]\nproject=p\nname=cslide\nnode_pair=%s\n"
	    "hot_threshold=%s\nnode_mig_quota=0\nnode_hot_reserve=0\n%s";
	static const char *const bad_thr[] = { "", "1abc", "-1", "2147483648" };
	struct conf_file *cf;
	size_t i;

	for (i = 0; i < sizeof(good_pairs) / sizeof(good_pairs[0]); i++)
		ACCEPT(fmt(t, good_pairs[i], "1", ""));
	for (i = 0; i < sizeof(bad_pairs) / sizeof(bad_pairs[0]); i++)
		BAD(fmt(t, bad_pairs[i], "1", ""), INTER_ERR,
		    "t.yaml:4: key 'node_pair' in [engine]:");
	for (i = 0; i < 4; i++)
		BAD(fmt(t, "0,1", bad_thr[i], ""), INTER_ERR,
		    "t.yaml:5: key 'hot_threshold' in [engine]:");
	ACCEPT(fmt(t, "0,1", "0", ""));
	cf = OK(fmt(t, "2,0;3,1", "2147483647", ""));
	if (cf) {
		const struct conf_engine *eng = &cf->engines[0];

		CHECK_EQ_U(eng->npairs, 2);
		if (eng->npairs == 2) {
			CHECK_EQ_U(eng->pairs[1].hot, 3);
			CHECK_EQ_U(eng->pairs[1].cold, 1);
		}
		CHECK_EQ_U(eng->hot_threshold, 2147483647);
		CHECK(!eng->has_pmu);
	}
	conf_free(cf);
	/* PMU keys: all four or none; 0 rates stored as 1. */
	cf = OK(fmt(t, "0,1", "1", "sample_period=0\nvma_updata_rate=0\n"
	    "cpu_set_size=4\ncooling_interval=2\n"));
	if (cf) {
		CHECK(cf->engines[0].has_pmu);
		CHECK_EQ_U(cf->engines[0].vma_updata_rate, 1);
		CHECK_EQ_U(cf->engines[0].cpu_set_size, 4);
	}
	conf_free(cf);
	BAD(fmt(t, "0,1", "1", "sample_period=100\n"), INTER_ERR,
	    "t.yaml:8: key 'vma_updata_rate' in [engine]: required with "
	    "'sample_period'");
	BAD(fmt(t, "0,1", "1", "sample_period=100\nvma_updata_rate=1\n"
	    "cpu_set_size=-1\ncooling_interval=1\n"), INTER_ERR,
	    "key 'cpu_set_size' in [engine]: -1 is out of range 0..2147483647");
	BAD("[engine]\nproject=p\nname=cslide\nnode_pair=0,1\n", INTER_ERR,
	    "key 'hot_threshold' in [engine]: required key is missing");
}

/* --- [task] keys: F19-F24, K4 ----------------------------------------- */

static void
test_conf__task_identity(void)
{
	char n65[66];
	struct conf_file *cf;

	memset(n65, 'n', 65); n65[65] = 0;
	cf = OK(slide_task_with("T=1\n"));
	if (cf) {
		CHECK_EQ_U(cf->ntasks, 1);
		CHECK(conf_find_task(cf, "test", "slide", "t") == &cf->tasks[0]);
		CHECK(conf_find_task(cf, "test", "slide", "u") == NULL);
		CHECK_EQ_U(cf->tasks[0].engine_type, CONF_ENG_SLIDE);
		CHECK_EQ_U(cf->tasks[0].max_threads, 1);
		CHECK(!cf->tasks[0].swap_flag);
	}
	conf_free(cf);
	BAD("[task]\nengine=slide\nname=t\ntype=pid\nvalue=1\nT=1\n", INVAL,
	    "t.yaml:1: key 'project' in [task]: required key is missing");
	BAD("[task]\nproject=p\nname=t\ntype=pid\nvalue=1\nT=1\n", INVAL,
	    "key 'engine' in [task]: required key is missing");
	BAD("[task]\nproject=p\nengine=slide\ntype=pid\nvalue=1\nT=1\n", INVAL,
	    "key 'name' in [task]: required key is missing");
	BAD(fmt("[task]\nproject=p\nengine=slide\nname=%s\ntype=pid\nvalue=1\n"
	    "T=1\n", n65), INVAL, "t.yaml:4: key 'name' in [task]: '");
	BAD(fmt("[task]\nproject=%s\nengine=slide\nname=t\n", n65), INVAL,
	    "t.yaml:2: key 'project' in [task]");
	/* F6: for obj del only identity keys count, and they must be there. */
	BAD_DEL("[task]\ntype=xxxxx\n", INVAL,
	    "key 'project' in [task]: required key is missing");
	cf = parse("[task]\nproject=p\nengine=slide\nname=t\ntype=xxxxx\n",
	    CONF_IDENTITY_ONLY, NULL, NULL);
	CHECK(cf != NULL);
	conf_free(cf);
}

static void
test_conf__task_type_value(void)
{
	static const char *const bad_type[] = { "invalid", "PID", "" };
	static const char *const bad_value[] = { "", "abcdefghijklmnop", "a:b",
		"name*^" };
	const char *t = "[task]\nproject=p\nengine=memdcd\nname=t\ntype=%s\n"
	    "value=%s\nSock=-\n";
	size_t i;

	for (i = 0; i < 3; i++)
		BAD(fmt(t, bad_type[i], "1"), INTER_ERR,
		    "t.yaml:5: key 'type' in [task]:");
	for (i = 0; i < 4; i++)
		BAD(fmt(t, "name", bad_value[i]), INTER_ERR,
		    "t.yaml:6: key 'value' in [task]:");
	ACCEPT(fmt(t, "name", "abcdefghijklmno"));
	ACCEPT(fmt(t, "name", "a/b.c%d_e-f"));
	ACCEPT(fmt(t, "pid", "abc"));
	BAD("[task]\nproject=p\nengine=memdcd\nname=t\ntype=pid\nvalue=1\n",
	    INTER_ERR, "key 'Sock' in [task]: required key is missing "
	    "(engine=memdcd)");
}

static void
test_conf__task_slide_T(void)
{
	BAD(slide_task_with("T=4\n"), INTER_ERR, "t.yaml:12: key 'T' in [task]: "
	    "4 is out of range 0..3 (3 x loop of project 'test')");
	ACCEPT(slide_task_with("T=3\n"));
	BAD(slide_task_with("T=-1\n"), INTER_ERR, "-1 is out of range 0..360");
	BAD(slide_task_with("T=\n"), INTER_ERR, "'' is not an integer");
	BAD(slide_task_with(""), INTER_ERR, "t.yaml:6: key 'T' in [task]: "
	    "required key is missing (engine=slide)");
}

static void
test_conf__task_check_project(void)
{
	struct conf_file *pf = OK("[project]\nname=p\nloop=2\ninterval=1\n"
	    "sleep=1\n");
	struct conf_file *tf = OK("[task]\nproject=p\nengine=slide\nname=t\n"
	    "type=pid\nvalue=1\nT=7\n");
	struct err e = { 0 };

	if (pf && tf) {
		CHECK(conf_task_check_project("task.yaml", &tf->tasks[0],
		    pf->project, &e) < 0);
		CHECK_STR(e.msg, "task.yaml:7: key 'T' in [task]: 7 is out of "
		    "range 0..6 (3 x loop of project 'p')");
		tf->tasks[0].T = 6;
		CHECK(conf_task_check_project("task.yaml", &tf->tasks[0],
		    pf->project, &e) == 0);
	}
	conf_free(pf);
	conf_free(tf);
}

static void
test_conf__task_swap_flag_threshold_threads(void)
{
	static const char *const good_thr[] = { "5G", "5g", "123456789g",
		"999999999g", "g" };
	static const char *const bad_thr[] = { "", "12345678910234g", "12hhG",
		"1234", "10m" };
	struct conf_file *cf;
	size_t i;

	ACCEPT(slide_task_with("T=1\nswap_flag=yes\n"));
	ACCEPT(slide_task_with("T=1\nswap_flag=no\n"));
	BAD(slide_task_with("T=1\nswap_flag=\n"), INTER_ERR,
	    "key 'swap_flag' in [task]: '' must be yes or no");
	BAD(slide_task_with("T=1\nswap_flag=YES\n"), INTER_ERR, "must be yes");
	BAD(slide_task_with("T=1\nswap_flag=NO\n"), INTER_ERR, "must be yes");
	BAD(slide_task_with("T=1\nswap_flag=wrong\n"), INTER_ERR, "must be yes");
	for (i = 0; i < 5; i++)
		ACCEPT(slide_task_with(fmt("T=1\nswap_threshold=%s\n",
		    good_thr[i])));
	for (i = 0; i < 5; i++)
		BAD(slide_task_with(fmt("T=1\nswap_threshold=%s\n",
		    bad_thr[i])), INTER_ERR,
		    "t.yaml:13: key 'swap_threshold' in [task]:");
	cf = OK(slide_task_with("T=1\nswap_threshold=999999999g\n"));
	if (cf) {
		CHECK(cf->tasks[0].has_swap_threshold);
		CHECK_EQ_U(cf->tasks[0].swap_threshold_gib, 999999999);
	}
	conf_free(cf);
	/* F24: clamped, not rejected; only a non-integer fails. */
	cf = OK(slide_task_with("T=1\nmax_threads=-1\n"));
	if (cf)
		CHECK_EQ_U(cf->tasks[0].max_threads, 1);
	conf_free(cf);
	ACCEPT(slide_task_with("T=1\nmax_threads=0\n"));
	cf = OK(slide_task_with("T=1\nmax_threads=10000\n"));
	if (cf)
		CHECK_EQ_U(cf->tasks[0].max_threads, 10000);
	conf_free(cf);
	BAD(slide_task_with("T=1\nmax_threads=abc\n"), INTER_ERR,
	    "key 'max_threads' in [task]: 'abc' is not an integer");
	BAD(slide_task_with("T=1\nmax_threads=4294967297\n"), INTER_ERR,
	    "4294967297 is out of range -2147483648..2147483647");
	/* dram_percent outside 1..100 is off, as the original. */
	cf = OK(slide_task_with("T=1\ndram_percent=200\n"));
	if (cf)
		CHECK_EQ_U(cf->tasks[0].dram_percent, 0);
	conf_free(cf);
}

static void
test_conf__task_slide_pmu(void)
{
	struct conf_file *cf = OK(slide_task_with("T=1\nsample_period=5000\n"
	    "vma_updata_rate=0\ncpu_set_size=16\n"));

	if (cf) {
		CHECK(cf->tasks[0].has_pmu);
		CHECK_EQ_U(cf->tasks[0].sample_period, 5000);
		CHECK_EQ_U(cf->tasks[0].vma_updata_rate, 1);
		CHECK_EQ_U(cf->tasks[0].cpu_set_size, 16);
	}
	conf_free(cf);
	BAD(slide_task_with("T=1\nsample_period=0\n"), INTER_ERR,
	    "key 'sample_period' in [task]: 0 is out of range 1..2147483647");
}

static void
test_conf__task_cslide(void)
{
	const char *t = "[task]\nproject=p\nengine=cslide\nname=t\ntype=pid\n"
	    "value=1\nvm_flags=%s\nanon_only=%s\nign_host=yes\n";
	static const char *const bad_flags[] = { "hts", "", "rd", "ht rd" };
	struct conf_file *cf;
	size_t i;

	for (i = 0; i < 4; i++)
		BAD(fmt(t, bad_flags[i], "yes"), INTER_ERR,
		    "t.yaml:7: key 'vm_flags' in [task]:");
	BAD(fmt(t, "ht", "wrong"), INTER_ERR, "key 'anon_only' in [task]");
	BAD(fmt(t, "ht", ""), INTER_ERR, "key 'anon_only' in [task]");
	cf = OK(fmt(t, "ht", "yes"));
	if (cf) {
		CHECK(cf->tasks[0].anon_only);
		CHECK(cf->tasks[0].ign_host);
	}
	conf_free(cf);
	BAD("[task]\nproject=p\nengine=cslide\nname=t\ntype=pid\nvalue=1\n"
	    "vm_flags=ht\nanon_only=no\n", INTER_ERR,
	    "key 'ign_host' in [task]: required key is missing");
}

static void
test_conf__task_psi(void)
{
	const char *t = "[task]\nproject=p\nengine=psi\nname=t\ntype=name\n"
	    "value=cg\ncg_dir=%s\n%s";
	struct conf_file *cf = OK(fmt(t, "isulad/*", "pressure=1e-3\n"
	    "reclaim_max_bytes=0\nlimit_min_bytes=18446744073709551615\n"));
	char d64[65];

	if (cf) {
		CHECK(cf->tasks[0].pressure == 1e-3);
		CHECK(cf->tasks[0].reclaim_rate == 0.05);
		CHECK_EQ_U(cf->tasks[0].reclaim_max_bytes, 0);
		CHECK_EQ_U(cf->tasks[0].limit_min_bytes, UINT64_MAX);
		CHECK_STR(cf->tasks[0].cg_dir, "isulad/*");
	}
	conf_free(cf);
	memset(d64, 'd', 64); d64[64] = 0;
	BAD(fmt(t, d64, ""), INTER_ERR, "key 'cg_dir' in [task]: '");
	BAD(fmt(t, "", ""), INTER_ERR, "key 'cg_dir' in [task]: '' is 0 bytes");
	BAD(fmt(t, "a", "pressure=0\n"), INTER_ERR,
	    "t.yaml:8: key 'pressure' in [task]: '0' is not a number > 0");
	BAD(fmt(t, "a", "reclaim_rate=nan\n"), INTER_ERR, "not a number > 0");
	BAD(fmt(t, "a", "reclaim_rate=inf\n"), INTER_ERR, "not a number > 0");
	BAD(fmt(t, "a", "reclaim_rate=0.1 \n"), INTER_ERR, "not a number > 0");
	BAD(fmt(t, "a", "limit_min_bytes=-1\n"), INTER_ERR,
	    "'-1' is not an unsigned decimal integer");
	BAD(fmt(t, "a", "limit_min_bytes=18446744073709551616\n"), INTER_ERR,
	    "18446744073709551616 is out of range 0..18446744073709551615");
}

static void
test_conf__task_thirdparty_private(void)
{
	struct conf_file *cf = OK("[task]\nproject=p\nengine=my_engine\nname=t\n"
	    "type=pid\nvalue=1\nT=anything\nkey=a\\sb\n");

	if (cf) {
		const struct conf_task *t = &cf->tasks[0];

		CHECK_EQ_U(t->engine_type, CONF_ENG_THIRDPARTY);
		CHECK_EQ_U(t->npriv, 2);
		if (t->npriv == 2) {
			CHECK_STR(t->priv[0].key, "T");
			CHECK_STR(t->priv[1].value, "a b");
		}
	}
	conf_free(cf);
}

/* --- YAML form -------------------------------------------------------- */

static void
test_conf__yaml_basic(void)
{
	struct conf_file *cf = OK("project:\n  name: p\n  loop: 1\n"
	    "  interval: 1\n  sleep: 1\nengine:\n  project: p\n  name: slide\n"
	    "tasks:\n  - {project: p, engine: slide, name: a, type: pid, "
	    "value: 1, T: 3}\n  - project: p\n    engine: slide\n    name: b\n"
	    "    type: name\n    value: \"x.y\"\n    T: 0\n");

	if (cf) {
		CHECK_EQ_U(cf->format, CONF_FMT_YAML);
		CHECK_EQ_U(cf->nengines, 1);
		CHECK_EQ_U(cf->ntasks, 2);
		CHECK_EQ_U(cf->tasks[1].g.line, 11);
	}
	conf_free(cf);
	BAD("project:\n  name: p\n  loop: 121\n  interval: 1\n  sleep: 1\n",
	    INVAL, "t.yaml:3: key 'loop' in [project]: 121 is out of range "
	    "1..120");
	/* A task value with a blank fails the charset, as in INI. */
	BAD("tasks:\n  - {project: p, engine: memdcd, name: a, type: pid, "
	    "value: \"x y\", Sock: \"-\"}\n", INTER_ERR, "t.yaml:2: key 'value'");
}

static void
test_conf__yaml_errors(void)
{
	BAD("project:\n  name: p\n  name: q\n", INTER_ERR,
	    "t.yaml:3: key 'name' in [project]: duplicate key (first at line 2)");
	BAD("projects:\n  name: p\n", INTER_ERR,
	    "t.yaml:1: unknown top-level key 'projects'");
	BAD("project:\n  name: [a, b]\n", INTER_ERR,
	    "t.yaml:2: key 'name' in [project]: expected a single value");
	BAD("project:\n  - name: p\n", INTER_ERR,
	    "t.yaml:2: [project]: expected a mapping");
	BAD("engine: {project: p, name: slide}\nengines: []\n", INTER_ERR,
	    "t.yaml:2: 'engines': engine given twice");
	BAD("project: {name: p\n", INTER_ERR, "t.yaml:2: YAML: ");
	BAD("- a\n- b\n", INTER_ERR, "the top level must be a mapping");
	BAD("engine: {project: p, name: slide}\n---\nengine: {}\n", INTER_ERR,
	    "t.yaml:2: only one YAML document");
	BAD("engines:\n  - {project: p, name: memdcd}\n  - {project: p, "
	    "name: memdcd}\n", INTER_ERR, "t.yaml:3: [engine]: engine 'memdcd' "
	    "of project 'p' is already defined at line 2");
	BAD("tasks:\n", INVAL, "no [project], [engine] or [task] group");
	BAD("project:\n  name: ~\n  loop: 1\n  interval: 1\n  sleep: 1\n",
	    INVAL, "is 0 bytes long");
	/* Plain YAML: `yes` stays the string yes (no YAML 1.1 booleans). */
	ACCEPT("tasks:\n  - {project: p, engine: slide, name: a, type: pid, "
	    "value: 1, T: 1, swap_flag: yes}\n");
	BAD("tasks:\n  - {project: p, engine: slide, name: a, type: pid, "
	    "value: 1, T: 1, swap_flag: true}\n", INTER_ERR,
	    "key 'swap_flag' in [task]: 'true' must be yes or no");
}

static void
test_conf__yaml_not_ini_writable(void)
{
	BAD("project: &a {name: p}\nengine: *a\n", INTER_ERR,
	    "t.yaml:2: YAML aliases are not supported");
	BAD("engine: {project: p, name: slide, \"a=b\": 1}\n", INTER_ERR,
	    "key 'a=b' in [engine]: not a valid key name");
	BAD("engine: {project: p, name: slide, \"#a\": 1}\n", INTER_ERR,
	    "not a valid key name");
	BAD("engine: {project: p, name: slide, k: \"a\\x01\"}\n", INTER_ERR,
	    "key 'k' in [engine]: control character in value");
	/* Deep nesting stops at the first level we do not expect. */
	BAD("tasks: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]\n", INTER_ERR, "t.yaml:1: [task]: expected a mapping");
}

/* Bounded work: at most 4096 distinct keys per group; repeats are free. */
static void
test_conf__key_limits(void)
{
	size_t cap = 4200 * 16 + 64, n = 0, i;
	char *buf = malloc(cap);
	struct conf_file *cf;

	if (buf == NULL)
		return;
	n += (size_t)snprintf(buf + n, cap - n, PROJ);
	for (i = 0; i < 4092; i++)
		n += (size_t)snprintf(buf + n, cap - n, "k%zu=1\n", i % 2000);
	cf = OK(buf);
	conf_free(cf);
	for (i = 0; i < 4200; i++)
		n += (size_t)snprintf(buf + n, cap - n, "x%zu=1\n", i);
	BAD(buf, INTER_ERR, "more than 4096 keys in one group");
	free(buf);
}

static void
test_conf__yaml_ini_same_print(void)
{
	const char *ini = "[project]\nname=p\nscan_type=page\nloop=2\n"
	    "interval=3\nsleep=4\n[engine]\nproject=p\nname=thirdparty\n"
	    "eng_name=e\nlibname=/l.so\nops_name=o\nb=2\na=1\n";
	const char *yaml = "project: {name: p, loop: 2, interval: 3, sleep: 4}"
	    "\nengines:\n- {project: p, name: thirdparty, eng_name: e, a: 1, "
	    "b: 2, libname: /l.so, ops_name: o}\n";
	struct conf_file *a = OK(ini), *b = OK(yaml);
	char *pa = NULL, *pb = NULL;
	size_t na = 0, nb = 0;
	FILE *fa = open_memstream(&pa, &na), *fb = open_memstream(&pb, &nb);

	if (a && b && fa && fb) {
		conf_print(a, fa);
		conf_print(b, fb);
		fclose(fa);
		fclose(fb);
		fa = fb = NULL;
		CHECK_STR(pa, pb);
		CHECK(strstr(pa, "a=1\nb=2\n") != NULL);
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	free(pa);
	free(pb);
	conf_free(a);
	conf_free(b);
}

/* The canonical dump is itself valid INI and parses to the same dump. */
static void
test_conf__print_roundtrip(void)
{
	const char *ini = "[project]\nname=\\sa b\\\\\nloop=1\ninterval=1\n"
	    "sleep=1\nsysmem_threshold=5\n[task]\nproject=\\sa b\\\\\n"
	    "engine=psi\nname=t\ntype=name\nvalue=x\ncg_dir=c\n"
	    "reclaim_rate=0.3\n";
	struct conf_file *a = OK(ini), *b = NULL;
	char *pa = NULL, *pb = NULL;
	size_t na = 0, nb = 0;
	FILE *f;

	if (a == NULL)
		return;
	f = open_memstream(&pa, &na);
	conf_print(a, f);
	fclose(f);
	b = OK(pa);
	if (b) {
		f = open_memstream(&pb, &nb);
		conf_print(b, f);
		fclose(f);
		CHECK_STR(pa, pb);
		CHECK_STR(b->project->name, " a b\\");
	}
	free(pa);
	free(pb);
	conf_free(a);
	conf_free(b);
}

int
main(void)
{
	RUN(test_conf__ini_comments_blanks_crlf);
	RUN(test_conf__ini_trailing_blanks_kept);
	RUN(test_conf__ini_escapes);
	RUN(test_conf__ini_groups);
	RUN(test_conf__ini_duplicates_merge_last_wins);
	RUN(test_conf__ini_keys);
	RUN(test_conf__project_name);
	RUN(test_conf__project_loop);
	RUN(test_conf__project_interval_sleep);
	RUN(test_conf__project_sysmem_threshold);
	RUN(test_conf__project_watermarks);
	RUN(test_conf__project_scan_type);
	RUN(test_conf__engine_identity);
	RUN(test_conf__engine_exec);
	RUN(test_conf__engine_thirdparty);
	RUN(test_conf__engine_damon);
	RUN(test_conf__engine_cslide);
	RUN(test_conf__task_identity);
	RUN(test_conf__task_type_value);
	RUN(test_conf__task_slide_T);
	RUN(test_conf__task_check_project);
	RUN(test_conf__task_swap_flag_threshold_threads);
	RUN(test_conf__task_slide_pmu);
	RUN(test_conf__task_cslide);
	RUN(test_conf__task_psi);
	RUN(test_conf__task_thirdparty_private);
	RUN(test_conf__yaml_basic);
	RUN(test_conf__yaml_errors);
	RUN(test_conf__yaml_not_ini_writable);
	RUN(test_conf__key_limits);
	RUN(test_conf__yaml_ini_same_print);
	RUN(test_conf__print_roundtrip);
	return unit_done();
}
