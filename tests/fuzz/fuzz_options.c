/* fuzz_options.c - the option parser on arbitrary strings.
 *
 * The input, cut at its first NUL, is handed to memlane_config_parse(),
 * to memlane_config_set() (split at the first '=': key, value) and to
 * memlane_config_preset(), each on a default and on a non-default
 * configuration. Invariants:
 *   - the result is 0 or MEMLANE_EINVAL, nothing else;
 *   - on failure the configuration is byte for byte unchanged and
 *     memlane_errmsg() is not empty; memlane_config_set() names the key
 *     in it (when the key is short enough to fit);
 *   - on success the configuration prints (memlane_config_print) and
 *     the printed text, as "k=v,k=v", parses back to a configuration
 *     that prints the same text (fractions print with %g, so the text is
 *     the fixed point, not the double); every other field is equal;
 *     and the JSON print works. */
#include "fuzz.h"

#include <memlane.h>

/* memlane_config_print(@cfg) as a malloc'd string. */
static char *print_cfg(const memlane_config *cfg, int json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	FUZZ_CHECK(f != NULL, "open_memstream: %s", strerror(errno));
	int rc = memlane_config_print(cfg, f, json);
	FUZZ_CHECK(rc == 0, "memlane_config_print = %d (%s)", rc, memlane_errmsg());
	fclose(f);
	return text;
}

/* Fields compared one by one: the reserved padding is never set, and
 * fractions come back only to %g's precision. */
static void check_same_but_fractions(const memlane_config *a, const memlane_config *b, const char *text)
{
	FUZZ_CHECK(a->fast_lane_size == b->fast_lane_size && a->slow_lane_size == b->slow_lane_size &&
	                   a->threshold == b->threshold && a->auto_compaction == b->auto_compaction &&
	                   a->slow_lane_safety_margin == b->slow_lane_safety_margin &&
	                   a->policy_check_interval_ms == b->policy_check_interval_ms &&
	                   a->promotion_age == b->promotion_age && a->compression == b->compression &&
	                   a->compression_level == b->compression_level && a->persist == b->persist &&
	                   a->store_sync == b->store_sync && a->store_max_size == b->store_max_size,
	           "the printed options do not parse back to the same configuration:\n%s", text);
}

/* @cfg was just set successfully: print, parse back, print again. */
static void check_round_trip(const memlane_config *cfg)
{
	char *text = print_cfg(cfg, 0);
	char *opts = strdup(text);
	FUZZ_CHECK(opts != NULL, "strdup");
	for (char *p = opts; *p; p++)
		if (*p == '\n')
			*p = ',';
	memlane_config back;
	memlane_config_init(&back);
	int rc = memlane_config_parse(&back, opts);
	FUZZ_CHECK(rc == 0, "the printed options do not parse: %d (%s):\n%s", rc, memlane_errmsg(), text);
	check_same_but_fractions(cfg, &back, text);
	char *again = print_cfg(&back, 0);
	FUZZ_CHECK(strcmp(text, again) == 0, "print, parse, print differs:\n%s\nthen\n%s", text, again);
	free(again);
	free(opts);
	free(text);
	free(print_cfg(cfg, 1));
}

/* After one call on @cfg (a copy of @before) that returned @rc. */
static void check_result(const char *what, int rc, const memlane_config *before, const memlane_config *cfg,
                         const char *culprit)
{
	FUZZ_CHECK(rc == 0 || rc == MEMLANE_EINVAL, "%s = %d (%s)", what, rc, memlane_errmsg());
	if (rc == 0) {
		check_round_trip(cfg);
		return;
	}
	FUZZ_CHECK(memcmp(before, cfg, sizeof(*cfg)) == 0, "%s failed (%s) but changed the configuration", what,
	           memlane_errmsg());
	const char *msg = memlane_errmsg();
	FUZZ_CHECK(msg[0] != '\0', "%s failed without a message", what);
	if (culprit && strlen(culprit) < 64)
		FUZZ_CHECK(strstr(msg, culprit) != NULL, "%s: the message does not name '%s': %s", what, culprit, msg);
}

static void run_on(const memlane_config *start, const char *text)
{
	memlane_config cfg = *start;
	check_result("memlane_config_parse", memlane_config_parse(&cfg, text), start, &cfg, NULL);

	cfg = *start;
	check_result("memlane_config_preset", memlane_config_preset(&cfg, text), start, &cfg, NULL);

	char *key = strdup(text);
	FUZZ_CHECK(key != NULL, "strdup");
	char *eq = strchr(key, '=');
	const char *value = "";
	if (eq) {
		*eq = '\0';
		value = eq + 1;
	}
	cfg = *start;
	check_result("memlane_config_set", memlane_config_set(&cfg, key, value), start, &cfg, key);
	free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0; /* long strings find nothing short ones do not */
	char *text = malloc(size + 1);
	FUZZ_CHECK(text != NULL, "malloc");
	memcpy(text, data, size);
	text[size] = '\0';

	memlane_config def, low;
	memlane_config_init(&def);
	memlane_config_init(&low);
	FUZZ_CHECK(memlane_config_parse(&low, "preset=low_memory,compression=none,persist=1,store_sync=none") == 0,
	           "%s", memlane_errmsg());
	run_on(&def, text);
	run_on(&low, text);
	free(text);
	return 0;
}
