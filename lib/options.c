/* options.c - every option in one descriptor table. The table drives
 * memlane_config_init (defaults are parsed from the same text the man
 * page shows), memlane_config_set/parse, MEMLANE_OPTIONS (through
 * memlane_open), presets, validation, and the option dump. Owns only
 * memlane_config values; touches no arena. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

enum ml_opt_type {
	OPT_SIZE,      /* size_t bytes, K/M/G/T suffixes */
	OPT_SIZE_AUTO, /* as OPT_SIZE, or "auto" (stored as SIZE_MAX) */
	OPT_BOOL,      /* int 0/1 */
	OPT_FRACTION,  /* double 0..1 */
	OPT_DURATION,  /* uint64_t milliseconds, ms/s/m suffixes */
	OPT_UINT,      /* uint64_t */
	OPT_INT,       /* int */
	OPT_ENUM,      /* int index into names */
	OPT_PRESET     /* not a field: resets to a preset */
};

struct ml_option {
	const char *key;
	enum ml_opt_type type;
	size_t offset;
	const char *def; /* default, as a user would type it */
	double lo, hi;   /* accepted range (bytes, ms, count, fraction) */
	const char *const *names;
};

static const char *const compression_names[] = {"none", "zstd", NULL};
static const char *const preset_names[] = {"default", "game_loop", "low_memory", NULL};
static const char *const sync_names[] = {"full", "checkpoint", "none", NULL};

#define F(field) offsetof(memlane_config, field)
#define KiB 1024.0
#define MiB (1024.0 * 1024.0)
#define GiB (1024.0 * 1024.0 * 1024.0)
#define TiB (1024.0 * GiB)

static const struct ml_option ml_options[] = {
	{"preset", OPT_PRESET, 0, "default", 0, 0, preset_names},
	{"fast_lane_size", OPT_SIZE, F(fast_lane_size), "16M", 64 * KiB, (double)ML_FAST_LANE_MAX, NULL},
	{"slow_lane_size", OPT_SIZE, F(slow_lane_size), "256M", 1 * MiB, 1 * TiB, NULL},
	{"threshold", OPT_SIZE, F(threshold), "1K", 16, 64 * KiB, NULL},
	{"auto_compaction", OPT_BOOL, F(auto_compaction), "on", 0, 1, NULL},
	/* Not 0: a lane with any hole at all would be compacted every cycle. */
	{"compaction_threshold", OPT_FRACTION, F(compaction_threshold), "0.25", 0.001, 1, NULL},
	{"slow_lane_usage_threshold", OPT_FRACTION, F(slow_lane_usage_threshold), "0.9", 0.05, 1, NULL},
	{"slow_lane_safety_margin", OPT_SIZE_AUTO, F(slow_lane_safety_margin), "auto", 0, 512 * GiB, NULL},
	{"policy_check_interval", OPT_DURATION, F(policy_check_interval_ms), "0", 0, 3600000, NULL},
	{"promotion_age", OPT_UINT, F(promotion_age), "60", 0, 4294967296.0, NULL},
	{"compression", OPT_ENUM, F(compression), "zstd", 0, 1, compression_names},
	{"compression_level", OPT_INT, F(compression_level), "3", -7, 22, NULL},
	{"persist", OPT_BOOL, F(persist), "off", 0, 1, NULL},
	{"store_max_size", OPT_SIZE, F(store_max_size), "64G", 1 * MiB, 256 * TiB, NULL},
	{"store_sync", OPT_ENUM, F(store_sync), "full", 0, 2, sync_names},
	{"prefault", OPT_BOOL, F(prefault), "on", 0, 1, NULL},
};
#define ML_NOPTIONS (sizeof(ml_options) / sizeof(ml_options[0]))

/* What each preset changes, on top of the defaults. */
static const char *const preset_values[] = {
	"",
	"fast_lane_size=64M,threshold=4K,promotion_age=600,compaction_threshold=0.5",
	("fast_lane_size=1M,slow_lane_size=32M,threshold=256,slow_lane_usage_threshold=0.5,promotion_age=8,"
	 "compression_level=6"),
};

static int set_one(memlane_config *cfg, const char *key, const char *value);

/* ---- text forms ---------------------------------------------------- */

const char *ml_fmt_size(char *buf, size_t n, uint64_t v)
{
	static const char suffix[] = "TGMK";
	for (int i = 0; i < 4; i++) {
		uint64_t unit = (uint64_t)1 << (10 * (4 - i));
		if (v && v % unit == 0) {
			snprintf(buf, n, "%" PRIu64 "%c", v / unit, suffix[i]);
			return buf;
		}
	}
	snprintf(buf, n, "%" PRIu64, v);
	return buf;
}

static void fmt_range(const struct ml_option *o, char *buf, size_t n)
{
	char lo[32], hi[32];
	switch (o->type) {
	case OPT_SIZE:
	case OPT_SIZE_AUTO:
		snprintf(buf, n, "a size in bytes with an optional K/M/G/T suffix (powers of 1024), %s to %s%s",
		         ml_fmt_size(lo, sizeof(lo), (uint64_t)o->lo), ml_fmt_size(hi, sizeof(hi), (uint64_t)o->hi),
		         o->type == OPT_SIZE_AUTO ? ", or auto" : "");
		break;
	case OPT_BOOL:
		snprintf(buf, n, "a boolean: 0/1, true/false, on/off or yes/no");
		break;
	case OPT_FRACTION:
		snprintf(buf, n, "a fraction from %g to %g", o->lo, o->hi);
		break;
	case OPT_DURATION:
		snprintf(buf, n, "a duration: a number with ms, s or m (a bare number is seconds), 0 to 1h");
		break;
	case OPT_UINT:
	case OPT_INT:
		snprintf(buf, n, "an integer from %.0f to %.0f", o->lo, o->hi);
		break;
	case OPT_ENUM:
	case OPT_PRESET: {
		size_t used = (size_t)snprintf(buf, n, "one of:");
		for (const char *const *nm = o->names; *nm && used < n; nm++)
			used += (size_t)snprintf(buf + used, n - used, " %s", *nm);
		break;
	}
	}
}

static int bad_value(const struct ml_option *o, const char *value)
{
	char accepted[256];
	fmt_range(o, accepted, sizeof(accepted));
	return ml_err(MEMLANE_EINVAL, "option %s: bad value '%s': expected %s", o->key, value, accepted);
}

static bool parse_size(const char *s, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	unsigned shift = 0;
	if (*end) {
		const char *u = "KMGT", *p = strchr(u, toupper((unsigned char)*end));
		if (!p)
			return false;
		shift = 10 * (unsigned)(p - u + 1);
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool parse_duration_ms(const char *s, double *ms)
{
	if (!isdigit((unsigned char)*s) && *s != '.')
		return false;
	char *end;
	double v = strtod(s, &end);
	double mult = 1000.0;
	if (!strcmp(end, "ms"))
		mult = 1.0;
	else if (!strcmp(end, "m"))
		mult = 60000.0;
	else if (*end && strcmp(end, "s"))
		return false;
	*ms = v * mult;
	return isfinite(*ms) && *ms == floor(*ms);
}

static int parse_bool(const char *s)
{
	static const char *const t[] = {"1", "true", "on", "yes"}, *const f[] = {"0", "false", "off", "no"};
	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(s, t[i]))
			return 1;
		if (!strcasecmp(s, f[i]))
			return 0;
	}
	return -1;
}

static const struct ml_option *find_option(const char *key)
{
	for (size_t i = 0; i < ML_NOPTIONS; i++)
		if (!strcmp(ml_options[i].key, key))
			return &ml_options[i];
	return NULL;
}

static int unknown_key(const char *key, const char *value)
{
	char known[512];
	size_t used = 0;
	for (size_t i = 0; i < ML_NOPTIONS && used < sizeof(known); i++)
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "", ml_options[i].key);
	return ml_err(MEMLANE_EINVAL, "unknown option '%s' (in '%s=%s'): known options are %s (see memlane-options(7))", key, key,
	              value, known);
}

static int apply_preset(memlane_config *cfg, const char *name)
{
	for (size_t i = 0; preset_names[i]; i++) {
		if (strcmp(preset_names[i], name))
			continue;
		memlane_config tmp;
		memlane_config_init(&tmp);
		int rc = memlane_config_parse(&tmp, preset_values[i]);
		if (rc)
			return rc;
		*cfg = tmp;
		return 0;
	}
	return bad_value(find_option("preset"), name);
}

/* Parse @value for option @o and store it in @cfg (unchanged on error). */
static int set_one(memlane_config *cfg, const char *key, const char *value)
{
	const struct ml_option *o = find_option(key);
	if (!o)
		return unknown_key(key, value);
	void *field = (char *)cfg + o->offset;
	uint64_t u;
	double d;
	int b;
	switch (o->type) {
	case OPT_PRESET:
		return apply_preset(cfg, value);
	case OPT_SIZE_AUTO:
		if (!strcasecmp(value, "auto")) {
			*(size_t *)field = SIZE_MAX;
			return 0;
		}
		ML_FALLTHROUGH; /* "auto" handled; a number goes on as a size */
	case OPT_SIZE:
		if (!parse_size(value, &u) || (double)u < o->lo || (double)u > o->hi)
			return bad_value(o, value);
		*(size_t *)field = (size_t)u;
		return 0;
	case OPT_BOOL:
		if ((b = parse_bool(value)) < 0)
			return bad_value(o, value);
		*(int *)field = b;
		return 0;
	case OPT_FRACTION: {
		char *end;
		d = strtod(value, &end);
		if (!*value || *end || !isfinite(d) || d < o->lo || d > o->hi)
			return bad_value(o, value);
		*(double *)field = d;
		return 0;
	}
	case OPT_DURATION:
		if (!parse_duration_ms(value, &d) || d < o->lo || d > o->hi)
			return bad_value(o, value);
		*(uint64_t *)field = (uint64_t)d;
		return 0;
	case OPT_UINT:
		if (!parse_size(value, &u) || !isdigit((unsigned char)value[strlen(value) - 1]) || (double)u > o->hi)
			return bad_value(o, value);
		*(uint64_t *)field = u;
		return 0;
	case OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (!*value || *end || errno || v < o->lo || v > o->hi)
			return bad_value(o, value);
		*(int *)field = (int)v;
		return 0;
	}
	case OPT_ENUM:
		for (int i = 0; o->names[i]; i++) {
			if (!strcasecmp(o->names[i], value)) {
				*(int *)field = i;
				return 0;
			}
		}
		return bad_value(o, value);
	}
	return bad_value(o, value);
}

/* ---- public -------------------------------------------------------- */

void memlane_config_init(memlane_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ML_NOPTIONS; i++)
		if (ml_options[i].type != OPT_PRESET)
			set_one(cfg, ml_options[i].key, ml_options[i].def);
}

int memlane_config_set(memlane_config *cfg, const char *key, const char *value)
{
	if (!cfg || !key || !value)
		return ml_err(MEMLANE_EINVAL, "memlane_config_set: %s is NULL", !cfg ? "cfg" : !key ? "key" : "value");
	memlane_config tmp = *cfg;
	int rc = set_one(&tmp, key, value);
	if (rc == 0)
		*cfg = tmp;
	return rc;
}

/* Split "key=value,..." and hand each pair to @fn; stop at an error. */
static int each_pair(const char *options, memlane_config *cfg, bool presets)
{
	size_t len = strlen(options);
	char *copy = malloc(len + 1);
	if (!copy)
		return ml_err(MEMLANE_ENOMEM, "out of memory parsing options");
	memcpy(copy, options, len + 1);
	int rc = 0;
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*item))
			item++;
		if (!*item)
			continue;
		char *eq = strchr(item, '=');
		if (!eq) {
			rc = ml_err(MEMLANE_EINVAL, "option '%s': expected key=value", item);
			break;
		}
		char *key = item, *val = eq + 1, *kend = eq;
		while (kend > key && isspace((unsigned char)kend[-1]))
			kend--;
		*kend = '\0';
		while (isspace((unsigned char)*val))
			val++;
		for (char *v = val + strlen(val); v > val && isspace((unsigned char)v[-1]);)
			*--v = '\0';
		if ((strcmp(key, "preset") == 0) != presets)
			continue;
		if ((rc = set_one(cfg, key, val)) != 0)
			break;
	}
	free(copy);
	return rc;
}

int memlane_config_parse(memlane_config *cfg, const char *options)
{
	if (!cfg)
		return ml_err(MEMLANE_EINVAL, "memlane_config_parse: cfg is NULL");
	if (!options)
		return 0;
	memlane_config tmp = *cfg;
	int rc = each_pair(options, &tmp, true); /* preset=NAME first, wherever it stands */
	if (rc == 0)
		rc = each_pair(options, &tmp, false);
	if (rc == 0)
		*cfg = tmp;
	return rc;
}

int memlane_config_preset(memlane_config *cfg, const char *name)
{
	if (!cfg || !name)
		return ml_err(MEMLANE_EINVAL, "memlane_config_preset: %s is NULL", cfg ? "name" : "cfg");
	return apply_preset(cfg, name);
}

size_t ml_effective_margin(const memlane_config *cfg)
{
	if (cfg->slow_lane_safety_margin != SIZE_MAX)
		return cfg->slow_lane_safety_margin;
	size_t m = cfg->slow_lane_size / 16;
	return m > 16 * (size_t)MiB ? 16 * (size_t)MiB : m;
}

/* A field's value as double, for range checks and printing. */
static double field_value(const memlane_config *cfg, const struct ml_option *o)
{
	const void *f = (const char *)cfg + o->offset;
	switch (o->type) {
	case OPT_SIZE:
	case OPT_SIZE_AUTO:
		return (double)*(const size_t *)f;
	case OPT_DURATION:
	case OPT_UINT:
		return (double)*(const uint64_t *)f;
	case OPT_FRACTION:
		return *(const double *)f;
	case OPT_BOOL:
	case OPT_INT:
	case OPT_ENUM:
		return (double)*(const int *)f;
	case OPT_PRESET:
		break;
	}
	return 0;
}

static const char *field_text(const memlane_config *cfg, const struct ml_option *o, char *buf, size_t n)
{
	const void *f = (const char *)cfg + o->offset;
	switch (o->type) {
	case OPT_SIZE_AUTO:
		if (*(const size_t *)f == SIZE_MAX)
			return "auto";
		ML_FALLTHROUGH; /* "auto" handled; a number goes on as a size */
	case OPT_SIZE:
		return ml_fmt_size(buf, n, *(const size_t *)f);
	case OPT_DURATION:
		snprintf(buf, n, "%" PRIu64 "ms", *(const uint64_t *)f);
		return buf;
	case OPT_ENUM: {
		/* A field set directly may hold anything: only name what exists. */
		int v = *(const int *)f;
		for (int i = 0; o->names[i]; i++)
			if (i == v)
				return o->names[i];
		snprintf(buf, n, "%d", v);
		return buf;
	}
	case OPT_FRACTION:
		snprintf(buf, n, "%g", *(const double *)f);
		return buf;
	default:
		snprintf(buf, n, "%.0f", field_value(cfg, o));
		return buf;
	}
}

int memlane_config_validate(const memlane_config *cfg)
{
	if (!cfg)
		return ml_err(MEMLANE_EINVAL, "memlane_config_validate: cfg is NULL");
	char buf[64];
	for (size_t i = 0; i < ML_NOPTIONS; i++) {
		const struct ml_option *o = &ml_options[i];
		if (o->type == OPT_PRESET)
			continue;
		const void *f = (const char *)cfg + o->offset;
		if (o->type == OPT_SIZE_AUTO && *(const size_t *)f == SIZE_MAX)
			continue;
		double v = field_value(cfg, o);
		if (!(v >= o->lo && v <= o->hi))
			return bad_value(o, field_text(cfg, o, buf, sizeof(buf)));
	}
	char b1[32], b2[32];
	if (cfg->threshold > cfg->fast_lane_size / 16)
		return ml_err(MEMLANE_EINVAL, "option threshold: %s is more than fast_lane_size/16 (fast_lane_size=%s)",
		              ml_fmt_size(b1, sizeof(b1), cfg->threshold), ml_fmt_size(b2, sizeof(b2), cfg->fast_lane_size));
	if (ml_effective_margin(cfg) > cfg->slow_lane_size / 2)
		return ml_err(MEMLANE_EINVAL,
		              "option slow_lane_safety_margin: %s is more than half of slow_lane_size=%s",
		              ml_fmt_size(b1, sizeof(b1), ml_effective_margin(cfg)),
		              ml_fmt_size(b2, sizeof(b2), cfg->slow_lane_size));
	return 0;
}

const char *memlane_config_key(size_t i)
{
	return i < ML_NOPTIONS ? ml_options[i].key : NULL;
}

/* Print the options, in text or as JSON members after @indent. */
int ml_config_print_to(const memlane_config *cfg, FILE *f, int json, const char *indent)
{
	char buf[64];
	bool first = true;
	for (size_t i = 0; i < ML_NOPTIONS; i++) {
		const struct ml_option *o = &ml_options[i];
		if (o->type == OPT_PRESET)
			continue;
		const char *txt = field_text(cfg, o, buf, sizeof(buf));
		if (!json) {
			fprintf(f, "%s%s=%s\n", indent, o->key, txt);
			continue;
		}
		fprintf(f, "%s%s\"%s\": ", first ? "" : ",\n", indent, o->key);
		first = false;
		if (o->type == OPT_ENUM || (o->type == OPT_SIZE_AUTO && !strcmp(txt, "auto")))
			fprintf(f, "\"%s\"", txt);
		else if (o->type == OPT_FRACTION)
			fprintf(f, "%g", field_value(cfg, o));
		else
			fprintf(f, "%.0f", field_value(cfg, o));
	}
	if (json && !first)
		fputc('\n', f);
	return ferror(f) ? ml_err(MEMLANE_EINVAL, "cannot write the options: %s", strerror(errno)) : 0;
}

int memlane_config_print(const memlane_config *cfg, FILE *f, int json)
{
	if (!cfg || !f)
		return ml_err(MEMLANE_EINVAL, "memlane_config_print: %s is NULL", cfg ? "f" : "cfg");
	if (json)
		fputs("{\n", f);
	int rc = ml_config_print_to(cfg, f, json, json ? "  " : "");
	if (json)
		fputs("}\n", f);
	return rc;
}
