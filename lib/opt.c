/* SPDX-License-Identifier: MIT */
/* opt.c - parse argv from an option table and print help from it; see opt.h. */
#include "opt.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

#define OPT_MAX 128
#define OPT_LONG_BASE 1000   /* getopt val for long-only options: base + index */

int
opt_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno != 0 || *end != '\0' || end == s)
		return -1;
	if (!(min == 0 && max == 0) && (v < min || v > max))
		return -1;
	*out = v;
	return 0;
}

int
opt_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !isfinite(v))
		return -1;
	if (!(min == 0 && max == 0) && (v < min || v > max))
		return -1;
	*out = v;
	return 0;
}

static void
opt_name(const struct opt *o, char *buf, size_t len)
{
	if (o->long_name != NULL)
		snprintf(buf, len, "--%s", o->long_name);
	else
		snprintf(buf, len, "-%c", o->short_name);
}

static int
opt_store(const struct opt *o, const char *arg, struct err *e)
{
	char name[64];
	long long ll;
	double d;

	opt_name(o, name, sizeof(name));
	switch (o->type) {
	case OPT_FLAG:
		*(int *)o->value = 1;
		return 0;
	case OPT_STR:
		if (arg[0] == '\0')
			return err_set(e, EX_USAGE, 0, "option '%s' needs a non-empty %s", name, o->argname);
		*(const char **)o->value = arg;
		return 0;
	case OPT_INT:
		if (opt_parse_ll(arg, o->min, o->max, &ll) < 0) {
			if (o->min == 0 && o->max == 0)
				return err_set(e, EX_USAGE, 0, "option '%s': '%s' is not an integer", name, arg);
			return err_set(e, EX_USAGE, 0, "option '%s': '%s' is not an integer in %lld..%lld",
			    name, arg, o->min, o->max);
		}
		*(long long *)o->value = ll;
		return 0;
	case OPT_DOUBLE:
		if (opt_parse_double(arg, o->dmin, o->dmax, &d) < 0) {
			if (o->dmin == 0 && o->dmax == 0)
				return err_set(e, EX_USAGE, 0, "option '%s': '%s' is not a number", name, arg);
			return err_set(e, EX_USAGE, 0, "option '%s': '%s' is not a number in %g..%g",
			    name, arg, o->dmin, o->dmax);
		}
		*(double *)o->value = d;
		return 0;
	case OPT_PIDS: {
		struct opt_pids *p = o->value;

		if (opt_parse_ll(arg, 1, INT_MAX, &ll) < 0)
			return err_set(e, EX_USAGE, 0, "option '%s': '%s' is not a process id", name, arg);
		if (p->n >= OPT_LIST_MAX)
			return err_set(e, EX_USAGE, 0, "option '%s': more than %d given", name, OPT_LIST_MAX);
		p->v[p->n++] = (pid_t)ll;
		return 0;
	}
	case OPT_LIST: {
		struct opt_list *l = o->value;

		if (l->n >= OPT_LIST_MAX)
			return err_set(e, EX_USAGE, 0, "option '%s': more than %d given", name, OPT_LIST_MAX);
		l->v[l->n++] = arg;
		return 0;
	}
	case OPT_CB:
		return o->cb(o, arg, e);
	case OPT_END_:
		break;
	}
	return err_set(e, EX_SOFTWARE, 0, "option '%s' has no type", name);
}

int
opt_parse(const struct opt_cmd *cmd, int argc, char **argv, struct err *e)
{
	struct option longopts[OPT_MAX + 2];
	char shortopts[OPT_MAX * 2 + 4];
	size_t ns = 0, nl = 0, i;
	const struct opt *o;
	int c;

	shortopts[ns++] = ':';  /* report missing arguments as ':' */
	for (i = 0, o = cmd->opts; o->type != OPT_END_ && i < OPT_MAX; o++, i++) {
		int val = o->short_name ? o->short_name : OPT_LONG_BASE + (int)i;

		if (o->short_name) {
			shortopts[ns++] = (char)o->short_name;
			if (o->argname != NULL)
				shortopts[ns++] = ':';
		}
		if (o->long_name) {
			longopts[nl].name = o->long_name;
			longopts[nl].has_arg = o->argname != NULL ? required_argument : no_argument;
			longopts[nl].flag = NULL;
			longopts[nl].val = val;
			nl++;
		}
	}
	shortopts[ns++] = 'h';
	shortopts[ns] = '\0';
	longopts[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[nl] = (struct option){ NULL, 0, NULL, 0 };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const char *bad = argv[optind - 1];

		if (c == 'h')
			return OPT_HELP;
		if (c == '?') {
			if (optopt != 0 && optopt < OPT_LONG_BASE)
				return err_set(e, EX_USAGE, 0, "unknown option '-%c'", optopt);
			return err_set(e, EX_USAGE, 0, "unknown option '%s'", bad);
		}
		if (c == ':') {
			if (optopt != 0 && optopt < OPT_LONG_BASE)
				return err_set(e, EX_USAGE, 0, "option '-%c' needs an argument", optopt);
			return err_set(e, EX_USAGE, 0, "option '%s' needs an argument", bad);
		}
		for (o = cmd->opts, i = 0; o->type != OPT_END_; o++, i++)
			if ((o->short_name && o->short_name == c) ||
			    (!o->short_name && c == OPT_LONG_BASE + (int)i))
				break;
		if (o->type == OPT_END_)
			return err_set(e, EX_SOFTWARE, 0, "option table has no entry for %d", c);
		if (opt_store(o, optarg, e) < 0)
			return -1;
	}
	return optind;
}

int
opt_join(struct opt *dst, size_t cap, const struct opt *a, const struct opt *b)
{
	size_t n = 0;
	const struct opt *o;

	for (o = a; o->type != OPT_END_; o++) {
		if (n + 1 >= cap)
			return -1;
		dst[n++] = *o;
	}
	for (o = b; o->type != OPT_END_; o++) {
		if (n + 1 >= cap)
			return -1;
		dst[n++] = *o;
	}
	dst[n] = (struct opt)OPT_END;
	return 0;
}

void
opt_synopsis(const struct opt_cmd *cmd, FILE *fp)
{
	fprintf(fp, "usage: %s %s\nTry '%s --help' for more information.\n",
	    cmd->name, cmd->synopsis, cmd->name);
}

void
opt_usage(const struct opt_cmd *cmd, FILE *fp)
{
	const struct opt *o;

	fprintf(fp, "usage: %s %s\n\n", cmd->name, cmd->synopsis);
	if (cmd->description)
		fprintf(fp, "%s\n\n", cmd->description);
	fprintf(fp, "Options:\n");
	for (o = cmd->opts; o->type != OPT_END_; o++) {
		char lhs[96];
		int n = 0;

		if (o->short_name && o->long_name)
			n = snprintf(lhs, sizeof(lhs), "-%c, --%s", o->short_name, o->long_name);
		else if (o->short_name)
			n = snprintf(lhs, sizeof(lhs), "-%c", o->short_name);
		else
			n = snprintf(lhs, sizeof(lhs), "    --%s", o->long_name);
		if (o->argname && n > 0 && (size_t)n < sizeof(lhs))
			snprintf(lhs + n, sizeof(lhs) - (size_t)n, " %s", o->argname);
		if (strlen(lhs) <= 24)
			fprintf(fp, "  %-24s  %s\n", lhs, o->help);
		else
			fprintf(fp, "  %s\n  %-24s  %s\n", lhs, "", o->help);
	}
	fprintf(fp, "  %-24s  %s\n", "-h, --help", "show this help and exit");
	if (cmd->footer)
		fprintf(fp, "\n%s\n", cmd->footer);
}
