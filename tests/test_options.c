/* test_options.c - configuration: defaults, every option settable from
 * text, sizes/durations/fractions/booleans, errors that name the key and
 * the value and leave the config unchanged, presets, MEMLANE_OPTIONS,
 * cross checks, and printing every key. */
#include <math.h>

#include "testutil.h"

/* The options the contract promises, with a valid value and its effect. */
static const char *const contract_keys[] = {
	"fast_lane_size",    "slow_lane_size",        "threshold",
	"auto_compaction",   "compaction_threshold",  "slow_lane_usage_threshold",
	"slow_lane_safety_margin", "policy_check_interval", "promotion_age",
	"compression",       "compression_level",     "persist",
};

static int cfg_equal(const memlane_config *a, const memlane_config *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static int set(memlane_config *c, const char *k, const char *v)
{
	return memlane_config_set(c, k, v);
}

static void test_defaults(void **state)
{
	(void)state;
	memlane_config c;
	memset(&c, 0x5a, sizeof(c));
	memlane_config_init(&c);
	assert_int_equal(c.fast_lane_size, 16 * TU_MiB);
	assert_int_equal(c.slow_lane_size, 256 * TU_MiB);
	assert_int_equal(c.threshold, 1024);
	assert_int_equal(c.auto_compaction, 1);
	assert_true(c.compaction_threshold == 0.25);
	assert_true(c.slow_lane_usage_threshold == 0.9);
	assert_int_equal(c.policy_check_interval_ms, 0);
	assert_int_equal(c.promotion_age, 60);
	assert_int_equal(c.compression, MEMLANE_COMPRESSION_ZSTD);
	assert_int_equal(c.compression_level, 3);
	assert_int_equal(c.persist, 0);
	assert_int_equal(c.prefault, 1);
	for (size_t i = 0; i < TU_ARRAY_LEN(c.reserved_); i++)
		assert_int_equal(c.reserved_[i], 0);
	assert_int_equal(memlane_config_validate(&c), 0);
	/* init is deterministic */
	memlane_config d;
	memset(&d, 0x33, sizeof(d));
	memlane_config_init(&d);
	assert_true(cfg_equal(&c, &d));
}

/* The key list: every contract option, no duplicates, NULL at the end. */
static void test_key_list(void **state)
{
	(void)state;
	size_t n = 0;
	while (memlane_config_key(n) != NULL) {
		assert_true(n < 1000);
		const char *k = memlane_config_key(n);
		assert_true(strlen(k) > 0);
		for (size_t j = 0; j < n; j++)
			assert_string_not_equal(memlane_config_key(j), k);
		n++;
	}
	assert_true(n >= TU_ARRAY_LEN(contract_keys));
	assert_null(memlane_config_key(n + 1));
	assert_null(memlane_config_key(SIZE_MAX));
	for (size_t i = 0; i < TU_ARRAY_LEN(contract_keys); i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++)
			found |= strcmp(memlane_config_key(j), contract_keys[i]) == 0;
		if (!found)
			fail_msg("contract option %s is not in memlane_config_key()", contract_keys[i]);
	}
}

/* Every key of the table can be set from text and the value lands. */
static void test_every_key_settable(void **state)
{
	(void)state;
	struct {
		const char *key, *value;
	} vals[] = {
		{"fast_lane_size", "2M"},       {"slow_lane_size", "64M"},          {"threshold", "512"},
		{"auto_compaction", "0"},       {"compaction_threshold", "0.75"},   {"slow_lane_usage_threshold", "0.5"},
		{"slow_lane_safety_margin", "1M"}, {"policy_check_interval", "250ms"}, {"promotion_age", "7"},
		{"compression", "none"},        {"compression_level", "-5"},        {"persist", "1"},
		{"store_max_size", "2G"},       {"store_sync", "checkpoint"},       {"prefault", "off"},
		{"preset", "game_loop"},
	};
	memlane_config c;
	for (size_t i = 0; memlane_config_key(i); i++) {
		const char *k = memlane_config_key(i);
		size_t j = 0;
		while (j < TU_ARRAY_LEN(vals) && strcmp(vals[j].key, k) != 0)
			j++;
		if (j == TU_ARRAY_LEN(vals))
			fail_msg("option %s has no test value here: add one", k);
		memlane_config_init(&c);
		memlane_config before = c;
		int rc = set(&c, k, vals[j].value);
		if (rc != 0)
			fail_msg("memlane_config_set(%s, %s) = %d (%s)", k, vals[j].value, rc, memlane_errmsg());
		if (strcmp(k, "preset") != 0 && cfg_equal(&c, &before))
			fail_msg("memlane_config_set(%s, %s) changed nothing", k, vals[j].value);
	}
	memlane_config_init(&c);
	assert_int_equal(set(&c, "fast_lane_size", "2M"), 0);
	assert_int_equal(c.fast_lane_size, 2 * TU_MiB);
	assert_int_equal(set(&c, "slow_lane_size", "64M"), 0);
	assert_int_equal(c.slow_lane_size, 64 * TU_MiB);
	assert_int_equal(set(&c, "threshold", "512"), 0);
	assert_int_equal(c.threshold, 512);
	assert_int_equal(set(&c, "auto_compaction", "0"), 0);
	assert_int_equal(c.auto_compaction, 0);
	assert_int_equal(set(&c, "prefault", "off"), 0);
	assert_int_equal(c.prefault, 0);
	assert_int_equal(set(&c, "prefault", "on"), 0);
	assert_int_equal(c.prefault, 1);
	assert_int_equal(set(&c, "compaction_threshold", "0.75"), 0);
	assert_true(c.compaction_threshold == 0.75);
	assert_int_equal(set(&c, "slow_lane_usage_threshold", "0.5"), 0);
	assert_true(c.slow_lane_usage_threshold == 0.5);
	assert_int_equal(set(&c, "slow_lane_safety_margin", "1M"), 0);
	assert_int_equal(c.slow_lane_safety_margin, TU_MiB);
	assert_int_equal(set(&c, "policy_check_interval", "250ms"), 0);
	assert_int_equal(c.policy_check_interval_ms, 250);
	assert_int_equal(set(&c, "promotion_age", "7"), 0);
	assert_int_equal(c.promotion_age, 7);
	assert_int_equal(set(&c, "compression", "none"), 0);
	assert_int_equal(c.compression, MEMLANE_COMPRESSION_NONE);
	assert_int_equal(set(&c, "compression", "zstd"), 0);
	assert_int_equal(c.compression, MEMLANE_COMPRESSION_ZSTD);
	assert_int_equal(set(&c, "compression_level", "-5"), 0);
	assert_int_equal(c.compression_level, -5);
	assert_int_equal(set(&c, "persist", "1"), 0);
	assert_int_equal(c.persist, 1);
	assert_int_equal(memlane_config_validate(&c), 0);
	/* "auto" brings the margin back to the default */
	memlane_config d;
	memlane_config_init(&d);
	assert_int_equal(set(&c, "slow_lane_safety_margin", "auto"), 0);
	assert_int_equal(c.slow_lane_safety_margin, d.slow_lane_safety_margin);
}

static void test_sizes(void **state)
{
	(void)state;
	struct {
		const char *key, *value;
		size_t want;
	} ok[] = {
		{"fast_lane_size", "64K", 64 * TU_KiB},
		{"fast_lane_size", "64k", 64 * TU_KiB},
		{"fast_lane_size", "64KiB", 64 * TU_KiB},
		{"fast_lane_size", "65536", 65536},
		{"fast_lane_size", "3M", 3 * TU_MiB},
		{"fast_lane_size", "3m", 3 * TU_MiB},
		{"fast_lane_size", "3MiB", 3 * TU_MiB},
		{"fast_lane_size", "3mib", 3 * TU_MiB},
		{"fast_lane_size", "2G", (size_t)2 << 30},
		{"fast_lane_size", "2GiB", (size_t)2 << 30},
		{"fast_lane_size", "64G", (size_t)64 << 30},
		{"slow_lane_size", "1M", TU_MiB},
		{"slow_lane_size", "1T", (size_t)1 << 40},
		{"slow_lane_size", "5g", (size_t)5 << 30},
		{"threshold", "16", 16},
		{"threshold", "64K", 64 * TU_KiB},
		{"threshold", "2k", 2048},
		{"slow_lane_safety_margin", "0", 0},
		{"slow_lane_safety_margin", "16M", 16 * TU_MiB},
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(ok); i++) {
		memlane_config c;
		memlane_config_init(&c);
		int rc = set(&c, ok[i].key, ok[i].value);
		if (rc != 0)
			fail_msg("%s=%s: %d (%s)", ok[i].key, ok[i].value, rc, memlane_errmsg());
		size_t got = strcmp(ok[i].key, "fast_lane_size") == 0   ? c.fast_lane_size
		             : strcmp(ok[i].key, "slow_lane_size") == 0 ? c.slow_lane_size
		             : strcmp(ok[i].key, "threshold") == 0      ? c.threshold
		                                                        : c.slow_lane_safety_margin;
		if (got != ok[i].want)
			fail_msg("%s=%s gave %zu, expected %zu", ok[i].key, ok[i].value, got, ok[i].want);
	}
}

/* A bad value: EINVAL, cfg unchanged, errmsg names key and value. */
static void expect_bad(const char *key, const char *value)
{
	memlane_config c, before;
	memlane_config_init(&c);
	c.promotion_age = 1234; /* not a default, to see that nothing resets */
	before = c;
	int rc = set(&c, key, value);
	if (rc != MEMLANE_EINVAL)
		fail_msg("%s=%s: %d, expected MEMLANE_EINVAL", key, value, rc);
	if (!cfg_equal(&c, &before))
		fail_msg("%s=%s: refused, but the config changed", key, value);
	const char *m = memlane_errmsg();
	if (!tu_contains(m, key) || (value[0] && !tu_contains(m, value)))
		fail_msg("%s=%s: errmsg \"%s\" does not name both", key, value, m);
	if (strlen(m) < strlen(key) + strlen(value) + 12)
		fail_msg("%s=%s: errmsg \"%s\" does not say what is accepted", key, value, m);
}

static void test_bad_values(void **state)
{
	(void)state;
	const struct {
		const char *key, *value;
	} bad[] = {
		{"fast_lane_size", "12Q"},
		{"fast_lane_size", "K"},
		{"fast_lane_size", "-1M"},
		{"fast_lane_size", "63K"},  /* below 64K */
		{"fast_lane_size", "65G"},  /* above 64G */
		{"fast_lane_size", "99999999999999999999999"},
		{"fast_lane_size", "16777216T"}, /* overflows */
		{"fast_lane_size", "1M extra"},
		{"slow_lane_size", "1023K"},
		{"slow_lane_size", "2T"},
		{"threshold", "15"},
		{"threshold", "65K"},
		{"threshold", "abc"},
		{"auto_compaction", "2"},
		{"auto_compaction", "maybe"},
		{"auto_compaction", "yesno"},
		{"persist", "10"},
		{"compaction_threshold", "0"},
		{"compaction_threshold", "1.5"},
		{"compaction_threshold", "-0.1"},
		{"compaction_threshold", "half"},
		{"compaction_threshold", "0.5x"},
		{"slow_lane_usage_threshold", "0.04"},
		{"slow_lane_usage_threshold", "1.01"},
		{"slow_lane_safety_margin", "automatic"},
		{"slow_lane_safety_margin", "-5"},
		{"policy_check_interval", "-1"},
		{"policy_check_interval", "10x"},
		{"policy_check_interval", "61m"},
		{"policy_check_interval", "3601"},
		{"policy_check_interval", "3600001ms"},
		{"policy_check_interval", "ms"},
		{"promotion_age", "-1"},
		{"promotion_age", "4294967297"},
		{"promotion_age", "1.5"},
		{"promotion_age", "many"},
		{"compression", "lz4"},
		{"compression", "ZSTDX"},
		{"compression_level", "23"},
		{"compression_level", "-8"},
		{"compression_level", "3.5"},
		{"preset", "no_such_preset"},
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(bad); i++)
		expect_bad(bad[i].key, bad[i].value);
	/* empty values: EINVAL, cfg unchanged */
	for (size_t i = 0; i < TU_ARRAY_LEN(contract_keys); i++) {
		memlane_config c, before;
		memlane_config_init(&c);
		before = c;
		assert_int_equal(set(&c, contract_keys[i], ""), MEMLANE_EINVAL);
		assert_true(cfg_equal(&c, &before));
		assert_true(tu_contains(memlane_errmsg(), contract_keys[i]));
	}
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_bad("no_such_option", "1");
	expect_bad("fast_lane", "1M");
	expect_bad("FAST_LANE_SIZE_X", "1M");
	memlane_config c, before;
	memlane_config_init(&c);
	before = c;
	assert_int_equal(set(&c, "", "1"), MEMLANE_EINVAL);
	assert_int_equal(set(&c, NULL, "1"), MEMLANE_EINVAL);
	assert_int_equal(set(&c, "threshold", NULL), MEMLANE_EINVAL);
	assert_true(cfg_equal(&c, &before));
}

static void test_durations(void **state)
{
	(void)state;
	const struct {
		const char *v;
		uint64_t ms;
	} ok[] = {
		{"0", 0},       {"1", 1000},     {"5", 5000},      {"3600", 3600000}, {"1ms", 1},
		{"10ms", 10},   {"999ms", 999},  {"2s", 2000},     {"1m", 60000},     {"60m", 3600000},
		{"0ms", 0},     {"3600s", 3600000}, {"3600000ms", 3600000},
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(ok); i++) {
		memlane_config c;
		memlane_config_init(&c);
		int rc = set(&c, "policy_check_interval", ok[i].v);
		if (rc != 0)
			fail_msg("policy_check_interval=%s: %d (%s)", ok[i].v, rc, memlane_errmsg());
		if (c.policy_check_interval_ms != ok[i].ms)
			fail_msg("policy_check_interval=%s gave %llu ms, expected %llu", ok[i].v,
			         (unsigned long long)c.policy_check_interval_ms, (unsigned long long)ok[i].ms);
	}
}

static void test_fractions(void **state)
{
	(void)state;
	const struct {
		const char *key, *v;
		double want;
	} ok[] = {
		{"compaction_threshold", "0.5", 0.5},       {"compaction_threshold", "1", 1.0},
		{"compaction_threshold", "0.001", 0.001},   {"compaction_threshold", ".25", 0.25},
		{"compaction_threshold", "1.0", 1.0},       {"slow_lane_usage_threshold", "0.05", 0.05},
		{"slow_lane_usage_threshold", "1", 1.0},    {"slow_lane_usage_threshold", "0.75", 0.75},
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(ok); i++) {
		memlane_config c;
		memlane_config_init(&c);
		int rc = set(&c, ok[i].key, ok[i].v);
		if (rc != 0)
			fail_msg("%s=%s: %d (%s)", ok[i].key, ok[i].v, rc, memlane_errmsg());
		double got = strcmp(ok[i].key, "compaction_threshold") == 0 ? c.compaction_threshold
		                                                             : c.slow_lane_usage_threshold;
		if (fabs(got - ok[i].want) > 1e-12)
			fail_msg("%s=%s gave %g", ok[i].key, ok[i].v, got);
	}
}

static void test_booleans(void **state)
{
	(void)state;
	const char *yes[] = {"1", "true", "on", "yes"};
	const char *no[] = {"0", "false", "off", "no"};
	const char *keys[] = {"auto_compaction", "persist"};
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < 4; i++) {
			memlane_config c;
			memlane_config_init(&c);
			assert_int_equal(set(&c, keys[k], no[i]), 0);
			assert_int_equal(k == 0 ? c.auto_compaction : c.persist, 0);
			assert_int_equal(set(&c, keys[k], yes[i]), 0);
			assert_int_equal(k == 0 ? c.auto_compaction : c.persist, 1);
			assert_int_equal(set(&c, keys[k], no[i]), 0);
			assert_int_equal(k == 0 ? c.auto_compaction : c.persist, 0);
		}
}

static void test_ints(void **state)
{
	(void)state;
	memlane_config c;
	memlane_config_init(&c);
	assert_int_equal(set(&c, "promotion_age", "0"), 0);
	assert_int_equal(c.promotion_age, 0);
	assert_int_equal(set(&c, "promotion_age", "4294967296"), 0);
	assert_int_equal(c.promotion_age, 4294967296ull);
	assert_int_equal(set(&c, "compression_level", "22"), 0);
	assert_int_equal(c.compression_level, 22);
	assert_int_equal(set(&c, "compression_level", "-7"), 0);
	assert_int_equal(c.compression_level, -7);
	assert_int_equal(set(&c, "compression_level", "0"), 0);
	assert_int_equal(c.compression_level, 0);
}

static void test_parse(void **state)
{
	(void)state;
	memlane_config c, d;
	memlane_config_init(&c);
	assert_int_equal(memlane_config_parse(&c, "fast_lane_size=1M,threshold=2K,persist=yes"), 0);
	assert_int_equal(c.fast_lane_size, TU_MiB);
	assert_int_equal(c.threshold, 2048);
	assert_int_equal(c.persist, 1);
	/* spaces around keys and values */
	memlane_config_init(&d);
	assert_int_equal(memlane_config_parse(&d, " fast_lane_size = 1M ,  threshold=2K , persist = yes "), 0);
	assert_true(cfg_equal(&c, &d));
	/* empty and NULL set nothing */
	memlane_config_init(&c);
	d = c;
	assert_int_equal(memlane_config_parse(&c, ""), 0);
	assert_int_equal(memlane_config_parse(&c, NULL), 0);
	assert_true(cfg_equal(&c, &d));
	/* later wins */
	assert_int_equal(memlane_config_parse(&c, "threshold=64,threshold=128"), 0);
	assert_int_equal(c.threshold, 128);

	/* a failure part way changes nothing, and names key and value */
	const char *bad[] = {
		"fast_lane_size=1M,threshold=bogus",
		"fast_lane_size=1M,nokey=1",
		"fast_lane_size=1M,threshold",
		"fast_lane_size=1M,=5",
		"promotion_age=5,compression=lz4,persist=1",
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(bad); i++) {
		memlane_config_init(&c);
		d = c;
		int rc = memlane_config_parse(&c, bad[i]);
		if (rc != MEMLANE_EINVAL)
			fail_msg("parse(\"%s\") = %d, expected EINVAL", bad[i], rc);
		if (!cfg_equal(&c, &d))
			fail_msg("parse(\"%s\") failed but changed the config", bad[i]);
		assert_true(strlen(memlane_errmsg()) > 0);
	}
	memlane_config_init(&c);
	assert_int_equal(memlane_config_parse(&c, "fast_lane_size=1M,threshold=bogus"), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "threshold"));
	assert_true(tu_contains(memlane_errmsg(), "bogus"));
	assert_int_equal(memlane_config_parse(&c, "promotion_age=5,compression=lz4"), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "compression"));
	assert_true(tu_contains(memlane_errmsg(), "lz4"));
}

static void check_game_loop(const memlane_config *c)
{
	assert_int_equal(c->fast_lane_size, 64 * TU_MiB);
	assert_int_equal(c->threshold, 4096);
	assert_int_equal(c->promotion_age, 600);
	assert_true(c->compaction_threshold == 0.5);
}

static void test_presets(void **state)
{
	(void)state;
	memlane_config c, d;
	memlane_config_init(&d);
	memlane_config_init(&c);
	c.persist = 1;
	c.threshold = 64;
	assert_int_equal(memlane_config_preset(&c, "default"), 0);
	assert_true(cfg_equal(&c, &d)); /* a preset is a whole starting point */

	assert_int_equal(memlane_config_preset(&c, "game_loop"), 0);
	check_game_loop(&c);
	assert_int_equal(c.slow_lane_size, d.slow_lane_size);
	assert_int_equal(c.compression_level, d.compression_level);
	assert_int_equal(memlane_config_validate(&c), 0);

	memlane_config_init(&c);
	c.persist = 1;
	assert_int_equal(memlane_config_preset(&c, "low_memory"), 0);
	assert_int_equal(c.fast_lane_size, TU_MiB);
	assert_int_equal(c.slow_lane_size, 32 * TU_MiB);
	assert_int_equal(c.threshold, 256);
	assert_true(c.slow_lane_usage_threshold == 0.5);
	assert_int_equal(c.promotion_age, 8);
	assert_int_equal(c.compression_level, 6);
	assert_int_equal(c.persist, 0);
	assert_int_equal(memlane_config_validate(&c), 0);

	/* unknown preset: EINVAL, unchanged */
	d = c;
	assert_int_equal(memlane_config_preset(&c, "turbo"), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "turbo"));
	assert_true(cfg_equal(&c, &d));
	assert_int_equal(memlane_config_preset(&c, NULL), MEMLANE_EINVAL);
	assert_true(cfg_equal(&c, &d));

	/* preset= in a parse string is applied first, wherever it stands */
	memlane_config_init(&c);
	assert_int_equal(memlane_config_parse(&c, "fast_lane_size=2M,preset=game_loop"), 0);
	assert_int_equal(c.fast_lane_size, 2 * TU_MiB);
	assert_int_equal(c.threshold, 4096);
	assert_int_equal(c.promotion_age, 600);
	memlane_config_init(&c);
	assert_int_equal(memlane_config_parse(&c, "promotion_age=3,preset=low_memory,threshold=512"), 0);
	assert_int_equal(c.promotion_age, 3);
	assert_int_equal(c.threshold, 512);
	assert_int_equal(c.slow_lane_size, 32 * TU_MiB);
	memlane_config_init(&c);
	assert_int_equal(memlane_config_parse(&c, "preset=game_loop"), 0);
	check_game_loop(&c);
	/* a bad preset in a parse string: EINVAL, unchanged */
	memlane_config_init(&c);
	d = c;
	assert_int_equal(memlane_config_parse(&c, "threshold=512,preset=nope"), MEMLANE_EINVAL);
	assert_true(cfg_equal(&c, &d));
}

static void test_validate(void **state)
{
	(void)state;
	memlane_config c;
	memlane_config_init(&c);
	c.fast_lane_size = 64 * TU_KiB;
	c.threshold = 4096; /* exactly fast_lane_size / 16 */
	assert_int_equal(memlane_config_validate(&c), 0);
	c.threshold = 8192;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "threshold"));
	/* the same through parse + open */
	memlane_config_init(&c);
	int rc = memlane_config_parse(&c, "fast_lane_size=64K,threshold=8K");
	if (rc == 0) {
		memlane_arena *a = NULL;
		assert_int_equal(memlane_open(&a, NULL, &c), MEMLANE_EINVAL);
		assert_true(tu_contains(memlane_errmsg(), "threshold"));
	} else {
		assert_int_equal(rc, MEMLANE_EINVAL);
	}

	memlane_config_init(&c);
	c.slow_lane_size = 4 * TU_MiB;
	c.slow_lane_safety_margin = 2 * TU_MiB; /* exactly half */
	assert_int_equal(memlane_config_validate(&c), 0);
	c.slow_lane_safety_margin = 2 * TU_MiB + 4096;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "slow_lane_safety_margin"));

	/* fields out of range, set directly */
	memlane_config_init(&c);
	c.fast_lane_size = 1000;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "fast_lane_size"));
	memlane_config_init(&c);
	c.compaction_threshold = 0.0;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "compaction_threshold"));
	memlane_config_init(&c);
	c.compression = 7;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	memlane_config_init(&c);
	c.compression_level = 40;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	memlane_config_init(&c);
	c.slow_lane_size = 512 * TU_KiB;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	memlane_config_init(&c);
	c.policy_check_interval_ms = 3600001;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	assert_int_equal(memlane_config_validate(NULL), MEMLANE_EINVAL);
}

/* MEMLANE_OPTIONS goes on top of the config given to memlane_open. */
static void test_env_options(void **state)
{
	(void)state;
	memlane_arena *a = NULL;
	memlane_config c;
	memlane_config_init(&c);
	c.fast_lane_size = TU_MiB;
	c.slow_lane_size = 4 * TU_MiB;

	assert_int_equal(setenv("MEMLANE_OPTIONS", "fast_lane_size=128K", 1), 0);
	assert_int_equal(memlane_open(&a, NULL, NULL), 0);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fast_lane_size, 128 * TU_KiB);
	assert_int_equal(st.slow_lane_size, 256 * TU_MiB);
	tu_close(a);

	/* on top of cfg: env wins for its keys, cfg keeps the rest */
	assert_int_equal(setenv("MEMLANE_OPTIONS", "slow_lane_size=8M, fast_lane_size=256K", 1), 0);
	assert_int_equal(memlane_open(&a, NULL, &c), 0);
	st = tu_stats(a);
	assert_int_equal(st.fast_lane_size, 256 * TU_KiB);
	assert_int_equal(st.slow_lane_size, 8 * TU_MiB);
	tu_close(a);
	assert_int_equal(c.fast_lane_size, TU_MiB); /* the caller's cfg is not written */

	/* behaviour follows: threshold from the environment routes objects */
	assert_int_equal(setenv("MEMLANE_OPTIONS", "threshold=64", 1), 0);
	assert_int_equal(memlane_open(&a, NULL, &c), 0);
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, 100, &h), 0);
	assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_SLOW);
	tu_close(a);

	/* a preset from the environment */
	assert_int_equal(setenv("MEMLANE_OPTIONS", "preset=low_memory", 1), 0);
	assert_int_equal(memlane_open(&a, NULL, NULL), 0);
	st = tu_stats(a);
	assert_int_equal(st.fast_lane_size, TU_MiB);
	assert_int_equal(st.slow_lane_size, 32 * TU_MiB);
	tu_close(a);

	/* empty: nothing */
	assert_int_equal(setenv("MEMLANE_OPTIONS", "", 1), 0);
	assert_int_equal(memlane_open(&a, NULL, &c), 0);
	assert_int_equal(tu_stats(a).fast_lane_size, TU_MiB);
	tu_close(a);

	/* bad: EINVAL from open, and the message says where it came from */
	const char *bads[] = {"fast_lane_size=12Q", "bogus=1", "threshold", "fast_lane_size=64K,threshold=8K"};
	for (size_t i = 0; i < TU_ARRAY_LEN(bads); i++) {
		assert_int_equal(setenv("MEMLANE_OPTIONS", bads[i], 1), 0);
		a = NULL;
		int rc = memlane_open(&a, NULL, &c);
		if (rc != MEMLANE_EINVAL)
			fail_msg("MEMLANE_OPTIONS=%s: open = %d, expected EINVAL", bads[i], rc);
		if (i < 3 && !tu_contains(memlane_errmsg(), "MEMLANE_OPTIONS"))
			fail_msg("MEMLANE_OPTIONS=%s: errmsg \"%s\" does not mention MEMLANE_OPTIONS", bads[i],
			         memlane_errmsg());
	}
	assert_true(tu_contains(memlane_errmsg(), "threshold"));
	unsetenv("MEMLANE_OPTIONS");
	assert_int_equal(memlane_open(&a, NULL, &c), 0);
	tu_close(a);
}

static char *print_cfg(const memlane_config *c, int json)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(memlane_config_print(c, f, json), 0);
	char *s = tu_slurp(f);
	fclose(f);
	return s;
}

static int balanced(const char *s)
{
	int depth = 0, in_str = 0;
	for (const char *p = s; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = 0;
			continue;
		}
		if (*p == '"')
			in_str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return 0;
		}
	}
	return depth == 0 && !in_str;
}

static void test_print(void **state)
{
	(void)state;
	memlane_config c;
	memlane_config_init(&c);
	assert_int_equal(memlane_config_parse(&c, "fast_lane_size=2M,slow_lane_size=64M,threshold=512,"
	                                          "auto_compaction=0,compaction_threshold=0.75,"
	                                          "slow_lane_usage_threshold=0.5,slow_lane_safety_margin=1M,"
	                                          "policy_check_interval=250ms,promotion_age=7,compression=none,"
	                                          "compression_level=-5,persist=1"),
	                 0);
	char *text = print_cfg(&c, 0);
	char *json = print_cfg(&c, 1);
	for (size_t i = 0; memlane_config_key(i); i++) {
		const char *k = memlane_config_key(i);
		if (strcmp(k, "preset") == 0)
			continue; /* a pseudo-option, not a value */
		char line[128];
		snprintf(line, sizeof(line), "\n%s=", k);
		int at_start = strncmp(text, line + 1, strlen(line + 1)) == 0;
		if (!at_start && !tu_contains(text, line))
			fail_msg("text print has no line \"%s=...\":\n%s", k, text);
		snprintf(line, sizeof(line), "\"%s\"", k);
		if (!tu_contains(json, line))
			fail_msg("json print has no key %s:\n%s", line, json);
	}
	assert_true(balanced(json));
	const char *j = json;
	while (*j == ' ' || *j == '\n')
		j++;
	assert_int_equal(*j, '{');

	/* The text form parses back into the same config. */
	memlane_config back;
	memlane_config_init(&back);
	char *opts = strdup(text);
	assert_non_null(opts);
	for (char *p = opts; *p; p++)
		if (*p == '\n')
			*p = ',';
	size_t n = strlen(opts);
	while (n > 0 && opts[n - 1] == ',')
		opts[--n] = '\0';
	int rc = memlane_config_parse(&back, opts);
	if (rc != 0)
		fail_msg("the printed config does not parse back: %s\n%s", memlane_errmsg(), text);
	if (!cfg_equal(&back, &c))
		fail_msg("the printed config parses back to another config:\n%s", text);
	free(opts);
	free(text);
	free(json);

	assert_int_equal(memlane_config_print(NULL, stdout, 0), MEMLANE_EINVAL);
	assert_int_equal(memlane_config_print(&c, NULL, 0), MEMLANE_EINVAL);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_key_list),
		cmocka_unit_test(test_every_key_settable),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_env_options),
		cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
