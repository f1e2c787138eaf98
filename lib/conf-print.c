/* SPDX-License-Identifier: MIT */
/*
 * conf-print.c - the canonical dump of a model (`etmem obj check -f FILE`).
 *
 * It prints the model, not the text: effective values with defaults filled
 * in, keys in a fixed order, plugin keys sorted, one "[group]" block per
 * project/engine/task followed by a blank line. So the INI and YAML forms of
 * one configuration print byte for byte the same. The output is itself in
 * the INI dialect (strings escaped as GKeyFile does), so an INI file with one
 * group of each kind round-trips through it.
 */
#include "conf-raw.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* GKeyFile's escaping: leading blanks as \s, control chars and '\\'. */
static void
put_str(FILE *fp, const char *key, const char *s)
{
	const char *p = s;

	fprintf(fp, "%s=", key);
	for (; *p; p++) {
		if (*p == ' ' && p == s)
			fputs("\\s", fp);
		else if (*p == '\n')
			fputs("\\n", fp);
		else if (*p == '\t')
			fputs("\\t", fp);
		else if (*p == '\r')
			fputs("\\r", fp);
		else if (*p == '\\')
			fputs("\\\\", fp);
		else
			fputc(*p, fp);
	}
	fputc('\n', fp);
}

static void
put_yesno(FILE *fp, const char *key, bool b)
{
	fprintf(fp, "%s=%s\n", key, b ? "yes" : "no");
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct conf_kv *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* Plugin keys sorted by name: their order in the file carries no meaning. */
static void
put_priv(FILE *fp, const struct conf_kv *kv, size_t n)
{
	const struct conf_kv **v;
	size_t i;

	if (n == 0)
		return;
	v = malloc(n * sizeof(*v));
	if (v == NULL) {
		for (i = 0; i < n; i++)
			put_str(fp, kv[i].key, kv[i].value);
		return;
	}
	for (i = 0; i < n; i++)
		v[i] = &kv[i];
	qsort(v, n, sizeof(*v), kv_cmp);
	for (i = 0; i < n; i++)
		put_str(fp, v[i]->key, v[i]->value);
	free(v);
}

void
conf_print_project(const struct conf_project *p, FILE *fp)
{
	fputs("[project]\n", fp);
	put_str(fp, "name", p->name);
	fprintf(fp, "scan_type=%s\n", conf_scan_type_name(p->scan_type));
	switch (p->scan_type) {
	case CONF_SCAN_PAGE:
		fprintf(fp, "loop=%d\ninterval=%d\nsleep=%d\n", p->loop,
		    p->interval, p->sleep);
		break;
	case CONF_SCAN_PSI:
		fprintf(fp, "interval=%d\n", p->interval);
		break;
	case CONF_SCAN_REGION:
		fprintf(fp, "sample_interval=%" PRId64 "\naggr_interval=%" PRId64
		    "\nupdate_interval=%" PRId64 "\nmin_nr_regions=%" PRId64
		    "\nmax_nr_regions=%" PRId64 "\n", p->sample_interval,
		    p->aggr_interval, p->update_interval, p->min_nr_regions,
		    p->max_nr_regions);
		break;
	}
	if (p->has_sysmem_threshold)
		fprintf(fp, "sysmem_threshold=%d\n", p->sysmem_threshold);
	if (p->has_swapcache_wmark)
		fprintf(fp, "swapcache_high_wmark=%d\nswapcache_low_wmark=%d\n",
		    p->swapcache_high_wmark, p->swapcache_low_wmark);
	fputc('\n', fp);
}

void
conf_print_engine(const struct conf_engine *eng, FILE *fp)
{
	size_t i;

	fputs("[engine]\n", fp);
	put_str(fp, "project", eng->project);
	fprintf(fp, "name=%s\n", conf_engine_type_name(eng->type));
	switch (eng->type) {
	case CONF_ENG_CSLIDE:
		fputs("node_pair=", fp);
		for (i = 0; i < eng->npairs; i++)
			fprintf(fp, "%s%d,%d", i ? ";" : "", eng->pairs[i].hot,
			    eng->pairs[i].cold);
		fprintf(fp, "\nhot_threshold=%d\nnode_mig_quota=%d\n"
		    "node_hot_reserve=%d\n", eng->hot_threshold,
		    eng->node_mig_quota, eng->node_hot_reserve);
		if (eng->has_pmu)
			fprintf(fp, "sample_period=%d\nvma_updata_rate=%d\n"
			    "cpu_set_size=%d\ncooling_interval=%d\n",
			    eng->sample_period, eng->vma_updata_rate,
			    eng->cpu_set_size, eng->cooling_interval);
		break;
	case CONF_ENG_DAMON:
		fprintf(fp, "min_size=%" PRIu64 "\nmax_size=%" PRIu64
		    "\nmin_acc=%" PRIu32 "\nmax_acc=%" PRIu32 "\nmin_age=%"
		    PRIu32 "\nmax_age=%" PRIu32 "\naction=%s\n", eng->min_size,
		    eng->max_size, eng->min_acc, eng->max_acc, eng->min_age,
		    eng->max_age, conf_damon_action_name(eng->action));
		break;
	case CONF_ENG_THIRDPARTY:
		put_str(fp, "eng_name", eng->eng_name);
		if (eng->libname != NULL)
			put_str(fp, "libname", eng->libname);
		if (eng->ops_name != NULL)
			put_str(fp, "ops_name", eng->ops_name);
		put_priv(fp, eng->priv, eng->npriv);
		break;
	case CONF_ENG_EXEC:
		put_str(fp, "command", eng->command);
		break;
	default:
		break;
	}
	fputc('\n', fp);
}

void
conf_print_task(const struct conf_task *t, FILE *fp)
{
	fputs("[task]\n", fp);
	put_str(fp, "project", t->project);
	put_str(fp, "engine", t->engine);
	put_str(fp, "name", t->name);
	if (t->value != NULL) {
		fprintf(fp, "type=%s\n", t->type == CONF_TARGET_PID ? "pid" :
		    "name");
		put_str(fp, "value", t->value);
	}
	put_yesno(fp, "swap_flag", t->swap_flag);
	fprintf(fp, "max_threads=%d\n", t->max_threads);
	switch (t->engine_type) {
	case CONF_ENG_SLIDE:
		fprintf(fp, "T=%d\n", t->T);
		if (t->has_swap_threshold)
			fprintf(fp, "swap_threshold=%" PRIu64 "g\n",
			    t->swap_threshold_gib);
		if (t->dram_percent)
			fprintf(fp, "dram_percent=%d\n", t->dram_percent);
		if (t->has_pmu)
			fprintf(fp, "sample_period=%d\nvma_updata_rate=%d\n"
			    "cpu_set_size=%d\n", t->sample_period,
			    t->vma_updata_rate, t->cpu_set_size);
		break;
	case CONF_ENG_CSLIDE:
		fputs("vm_flags=ht\n", fp);
		put_yesno(fp, "anon_only", t->anon_only);
		put_yesno(fp, "ign_host", t->ign_host);
		break;
	case CONF_ENG_MEMDCD:
		if (t->sock != NULL)
			put_str(fp, "Sock", t->sock);
		break;
	case CONF_ENG_PSI:
		if (t->cg_dir != NULL)
			put_str(fp, "cg_dir", t->cg_dir);
		fprintf(fp, "pressure=%.15g\nreclaim_rate=%.15g\n"
		    "reclaim_rate_max=%.15g\nreclaim_rate_min=%.15g\n"
		    "limit_min_ratio=%.15g\nlimit_min_bytes=%" PRIu64 "\n"
		    "reclaim_max_bytes=%" PRIu64 "\n", t->pressure,
		    t->reclaim_rate, t->reclaim_rate_max, t->reclaim_rate_min,
		    t->limit_min_ratio, t->limit_min_bytes,
		    t->reclaim_max_bytes);
		break;
	case CONF_ENG_THIRDPARTY:
		put_priv(fp, t->priv, t->npriv);
		break;
	default:
		break;
	}
	fputc('\n', fp);
}
