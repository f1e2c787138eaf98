/* SPDX-License-Identifier: MIT */
/*
 * opt.h - table-driven command-line options (git's OPT_ tables).
 *
 * A tool describes its options once, as data; the same table parses argv,
 * range-checks numbers and prints --help. -h/--help is implicit. Values are
 * written through the `value` pointer, typed by `type`:
 *   OPT_FLAG   int, set to 1            OPT_STR    const char *
 *   OPT_INT    long long in [min,max]   OPT_DOUBLE double in [dmin,dmax]
 *   OPT_PIDS   struct opt_pids (repeatable; positive pids)
 *   OPT_LIST   struct opt_list (repeatable strings)
 *   OPT_CB     calls cb(opt, arg, err); arg is NULL for argless options
 */
#ifndef ETMEM_OPT_H
#define ETMEM_OPT_H

#include <stdio.h>
#include <sys/types.h>

struct err;

#define OPT_LIST_MAX 256
#define OPT_HELP (-2)  /* opt_parse(): --help was given */

enum opt_type { OPT_END_ = 0, OPT_FLAG, OPT_STR, OPT_INT, OPT_DOUBLE,
		OPT_PIDS, OPT_LIST, OPT_CB };

struct opt_pids {
	int n;
	pid_t v[OPT_LIST_MAX];
};

struct opt_list {
	int n;
	const char *v[OPT_LIST_MAX];
};

struct opt {
	int short_name;         /* 0 = long only */
	const char *long_name;
	enum opt_type type;
	void *value;
	const char *argname;    /* NULL: takes no argument (FLAG, argless CB) */
	const char *help;
	long long min, max;     /* OPT_INT; min == max == 0: any value */
	double dmin, dmax;      /* OPT_DOUBLE; dmin == dmax == 0: any value */
	int (*cb)(const struct opt *o, const char *arg, struct err *e);
};

#define OPT_END { 0, NULL, OPT_END_, NULL, NULL, NULL, 0, 0, 0, 0, NULL }

struct opt_cmd {
	const char *name;        /* "etmem-scan" */
	const char *synopsis;    /* "[-p PID]... [--backend NAME] [OPTIONS]" */
	const char *description; /* paragraph(s) shown under the synopsis */
	const struct opt *opts;
	const char *footer;      /* exit status, examples; may be NULL */
};

/* opt.c */
/*
 * Parse argv against cmd->opts. Returns the index of the first operand,
 * OPT_HELP for -h/--help, or -1 with e->code = EX_USAGE and a message that
 * names the option and what was wrong with its value.
 */
int opt_parse(const struct opt_cmd *cmd, int argc, char **argv, struct err *e);
/* Join two OPT_END-terminated tables into dst (cap entries incl. the end),
 * so a backend can own its options and the tool splice them into its own.
 * -1 if they do not fit. */
int opt_join(struct opt *dst, size_t cap, const struct opt *a, const struct opt *b);
/* The full --help text. */
void opt_usage(const struct opt_cmd *cmd, FILE *fp);
/* One line: "usage: NAME SYNOPSIS" plus a pointer to --help. */
void opt_synopsis(const struct opt_cmd *cmd, FILE *fp);
/* Strict number parsing shared with config readers: whole string, in range. */
int opt_parse_ll(const char *s, long long min, long long max, long long *out);
int opt_parse_double(const char *s, double min, double max, double *out);

#endif /* ETMEM_OPT_H */
