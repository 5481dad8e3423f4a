/* test_stats.c - memlane_stats, field by field, against what the test
 * did: object counts and bytes per lane, fragmentation, the activity
 * counters; and the printed forms: memlane_stats_print (text and JSON),
 * memlane_debug_dump (lane maps, pinned objects, the object list) and
 * memlane_config_print. Exact numbers wherever the semantics make them
 * exact. */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>

#include "testutil.h"

#define SALT 0x53544154ull /* "STAT" */

/* Every memlane_stats field, for checking the printed forms. */
struct stat_field {
	const char *name;
	size_t off;
	bool dbl;
};
#define SF_U(f) {#f, offsetof(memlane_stats, f), false}
#define SF_D(f) {#f, offsetof(memlane_stats, f), true}
static const struct stat_field stat_fields[] = {
	SF_U(objects), SF_U(fast_objects), SF_U(slow_objects), SF_U(spilled_objects), SF_U(pinned_objects),
	SF_U(handle_slots), SF_U(retired_slots), SF_U(fast_lane_size), SF_U(fast_used_bytes),
	SF_U(fast_reserved_bytes), SF_U(fast_free_bytes), SF_U(fast_top_bytes), SF_D(fast_fragmentation),
	SF_U(slow_lane_size), SF_U(slow_used_bytes), SF_U(slow_reserved_bytes), SF_U(slow_block_region_bytes),
	SF_U(slow_blob_region_bytes), SF_U(slow_free_bytes), SF_U(slow_hole_bytes), SF_D(slow_fragmentation),
	SF_D(slow_usage), SF_U(allocs), SF_U(frees), SF_U(reallocs), SF_U(fallbacks), SF_U(promotions),
	SF_U(compactions), SF_U(moved_objects), SF_U(moved_bytes), SF_U(released_bytes), SF_U(ticks),
	SF_U(maintenance_runs), SF_U(evictions), SF_U(faults), SF_U(clean_evictions), SF_U(dirty_evictions),
	SF_U(store_bytes), SF_U(spilled_bytes), SF_U(checkpoints),
};

static double field_value(const memlane_stats *st, const struct stat_field *f)
{
	const char *p = (const char *)st + f->off;
	if (f->dbl) {
		double d;
		memcpy(&d, p, sizeof(d));
		return d;
	}
	uint64_t u;
	memcpy(&u, p, sizeof(u));
	return (double)u;
}

static uint64_t field_u64(const memlane_stats *st, const struct stat_field *f)
{
	uint64_t u;
	memcpy(&u, (const char *)st + f->off, sizeof(u));
	return u;
}

/* Two snapshots taken with nothing happening in between are the same. */
static void assert_stats_equal(const memlane_stats *x, const memlane_stats *y)
{
	for (size_t i = 0; i < TU_ARRAY_LEN(stat_fields); i++)
		if (field_value(x, &stat_fields[i]) != field_value(y, &stat_fields[i]))
			fail_msg("%s changed between two snapshots", stat_fields[i].name);
}

static void assert_close(double got, double want, const char *what)
{
	if (!(fabs(got - want) <= 1e-12))
		fail_msg("%s = %.15g, expected %.15g", what, got, want);
}

static void assert_fraction(double v, const char *what)
{
	if (!(v >= 0.0 && v <= 1.0))
		fail_msg("%s = %g, outside [0, 1]", what, v);
}

static char *capture_stats(memlane_arena *a, int json)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(memlane_stats_print(a, f, json), 0);
	char *s = tu_slurp(f);
	fclose(f);
	return s;
}

static char *capture_dump(memlane_arena *a)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(memlane_debug_dump(a, f), 0);
	char *s = tu_slurp(f);
	fclose(f);
	return s;
}

static char *capture_config(const memlane_config *cfg, int json)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(memlane_config_print(cfg, f, json), 0);
	char *s = tu_slurp(f);
	fclose(f);
	return s;
}

/* ---- a minimal JSON reader --------------------------------------------
 * Checks the whole text against the JSON grammar and records every
 * scalar under its dotted path ("stats.objects"), so tests can look the
 * values up and count them. */

struct jleaf {
	char path[96];
	bool is_num, is_str;
	double num;
	char str[64];
};

struct jdoc {
	const char *p;
	struct jleaf leaf[256];
	size_t n;
	int depth;
};

static void j_ws(struct jdoc *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool j_string(struct jdoc *j, char *out, size_t cap)
{
	size_t n = 0;
	if (*j->p != '"')
		return false;
	j->p++;
	while (*j->p != '"') {
		char c = *j->p;
		if (c == '\0' || (unsigned char)c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (!strchr("\"\\/bfnrtu", *j->p) || *j->p == '\0')
				return false;
			if (*j->p == 'u') {
				for (int k = 1; k <= 4; k++)
					if (!isxdigit((unsigned char)j->p[k]))
						return false;
				j->p += 4;
				c = '?';
			} else {
				c = *j->p;
			}
		}
		if (n + 1 < cap)
			out[n++] = c;
		j->p++;
	}
	j->p++;
	out[n] = '\0';
	return true;
}

static bool j_digits(struct jdoc *j)
{
	if (!isdigit((unsigned char)*j->p))
		return false;
	while (isdigit((unsigned char)*j->p))
		j->p++;
	return true;
}

static bool j_number(struct jdoc *j, double *v)
{
	const char *start = j->p;
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (!j_digits(j))
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!j_digits(j))
			return false;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!j_digits(j))
			return false;
	}
	char buf[64];
	size_t len = (size_t)(j->p - start);
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, start, len);
	buf[len] = '\0';
	*v = strtod(buf, NULL);
	return true;
}

static struct jleaf *j_add(struct jdoc *j, const char *path)
{
	if (j->n == TU_ARRAY_LEN(j->leaf))
		return NULL;
	struct jleaf *l = &j->leaf[j->n++];
	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "%s", path);
	return l;
}

static bool j_value(struct jdoc *j, const char *path);

static bool j_object(struct jdoc *j, const char *path)
{
	j->p++; /* '{' */
	j_ws(j);
	if (*j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		char key[64], sub[96];
		j_ws(j);
		if (!j_string(j, key, sizeof(key)))
			return false;
		j_ws(j);
		if (*j->p++ != ':')
			return false;
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		if (!j_value(j, sub))
			return false;
		j_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != '}')
			return false;
		return true;
	}
}

static bool j_array(struct jdoc *j, const char *path)
{
	j->p++; /* '[' */
	j_ws(j);
	if (*j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		if (!j_value(j, path))
			return false;
		j_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		return *j->p++ == ']';
	}
}

static bool j_value(struct jdoc *j, const char *path)
{
	if (++j->depth > 32)
		return false;
	j_ws(j);
	bool ok;
	struct jleaf *l = NULL;
	if (*j->p == '{') {
		ok = j_object(j, path);
	} else if (*j->p == '[') {
		ok = j_array(j, path);
	} else if (*j->p == '"') {
		l = j_add(j, path);
		ok = l && j_string(j, l->str, sizeof(l->str));
		if (ok)
			l->is_str = true;
	} else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
		j->p += 4;
		ok = j_add(j, path) != NULL;
	} else if (!strncmp(j->p, "false", 5)) {
		j->p += 5;
		ok = j_add(j, path) != NULL;
	} else {
		l = j_add(j, path);
		ok = l && j_number(j, &l->num);
		if (ok)
			l->is_num = true;
	}
	j->depth--;
	return ok;
}

/* Parse @text as one JSON document; fail the test if it is not one. */
static void j_parse(struct jdoc *j, const char *text)
{
	memset(j, 0, sizeof(*j));
	j->p = text;
	j_ws(j);
	if (*j->p != '{')
		fail_msg("JSON output does not start with an object: %.60s", text);
	bool ok = j_value(j, "");
	j_ws(j);
	if (!ok || *j->p != '\0')
		fail_msg("not valid JSON near offset %ld: %.60s", (long)(j->p - text), j->p);
}

/* The only leaf at @path; fails when missing or repeated. */
static const struct jleaf *j_get(const struct jdoc *j, const char *path)
{
	const struct jleaf *found = NULL;
	for (size_t i = 0; i < j->n; i++) {
		if (strcmp(j->leaf[i].path, path) != 0)
			continue;
		if (found)
			fail_msg("JSON key %s appears twice", path);
		found = &j->leaf[i];
	}
	if (!found)
		fail_msg("JSON key %s missing", path);
	return found;
}

static double j_num(const struct jdoc *j, const char *path)
{
	const struct jleaf *l = j_get(j, path);
	if (!l->is_num)
		fail_msg("JSON key %s is not a number", path);
	return l->num;
}

/* ---- gauges ----------------------------------------------------------- */

static void test_fresh_arena(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M");
	memlane_stats st = tu_stats(a);
	for (size_t i = 0; i < TU_ARRAY_LEN(stat_fields); i++) {
		const struct stat_field *f = &stat_fields[i];
		double want = 0;
		if (!strcmp(f->name, "fast_lane_size"))
			want = (double)TU_MiB;
		else if (!strcmp(f->name, "slow_lane_size") || !strcmp(f->name, "slow_free_bytes"))
			want = 8.0 * (double)TU_MiB;
		if (field_value(&st, f) != want)
			fail_msg("fresh arena: %s = %g, expected %g", f->name, field_value(&st, f), want);
	}
	assert_int_equal(memlane_stats_get(NULL, &st), MEMLANE_EINVAL);
	assert_int_equal(memlane_stats_get(a, NULL), MEMLANE_EINVAL);
	tu_close(a);
}

/* Everything the FastLane gauges must say about @o[0..n). */
struct fast_expect {
	size_t used, reserved, free, top, objects;
};

static void check_fast(memlane_arena *a, const struct fast_expect *e)
{
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fast_used_bytes, e->used);
	assert_int_equal(st.fast_reserved_bytes, e->reserved);
	assert_int_equal(st.fast_free_bytes, e->free);
	assert_int_equal(st.fast_top_bytes, e->top);
	assert_int_equal(st.fast_objects, e->objects);
	assert_int_equal(st.objects, e->objects);
	assert_close(st.fast_fragmentation, e->top ? (double)e->free / (double)e->top : 0.0, "fast_fragmentation");
	assert_int_equal(st.slow_objects, 0);
}

static void test_fast_lane_gauges(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,threshold=1K,promotion_age=4294967296");
	const size_t sizes[] = {1, 16, 17, 100, 255, 256, 257, 600, 1000};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	tu_obj o[N + 1];
	struct fast_expect e = {0, 0, 0, 0, 0};
	for (size_t i = 0; i < N; i++) {
		tu_must_alloc(a, &o[i], sizes[i], 0, 0, 0, SALT);
		e.used += sizes[i];
		e.reserved += tu_class_size(sizes[i]);
		e.top += tu_class_size(sizes[i]);
		e.objects++;
		check_fast(a, &e);
	}
	/* A hole below the top: free bytes, fragmentation > 0. */
	tu_free_obj(a, &o[3]);
	e.used -= 100;
	e.reserved -= 112;
	e.free += 112;
	e.objects--;
	check_fast(a, &e);
	/* The same class takes the hole back. */
	tu_must_alloc(a, &o[3], 97, 0, 0, 0, SALT);
	e.used += 97;
	e.reserved += 112;
	e.free -= 112;
	e.objects++;
	check_fast(a, &e);
	/* Freeing the top block lowers the top. */
	tu_free_obj(a, &o[N - 1]);
	e.used -= 1000;
	e.reserved -= 1024;
	e.top -= 1024;
	e.objects--;
	check_fast(a, &e);
	/* Alignment padding below an aligned object is free bytes. */
	size_t start = (e.top + 255) & ~(size_t)255;
	tu_must_alloc(a, &o[N - 1], 40, 0, 256, 0, SALT);
	e.used += 40;
	e.reserved += 48;
	e.free += start - e.top;
	e.top = start + 48;
	e.objects++;
	check_fast(a, &e);
	tu_verify_all(a, o, N);
	/* Empty: every gauge back to zero. */
	for (size_t i = 0; i < N; i++)
		tu_free_obj(a, &o[i]);
	memset(&e, 0, sizeof(e));
	check_fast(a, &e);
	tu_close(a);
}

struct slow_expect {
	size_t used, reserved, block_region, blob_region, holes, objects;
};

static void check_slow(memlane_arena *a, const struct slow_expect *e)
{
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.slow_objects, e->objects);
	assert_int_equal(st.slow_used_bytes, e->used);
	assert_int_equal(st.slow_reserved_bytes, e->reserved);
	assert_int_equal(st.slow_block_region_bytes, e->block_region);
	assert_int_equal(st.slow_blob_region_bytes, e->blob_region);
	assert_int_equal(st.slow_free_bytes, st.slow_lane_size - e->reserved);
	assert_int_equal(st.slow_hole_bytes, e->holes);
	size_t regions = e->block_region + e->blob_region;
	assert_close(st.slow_fragmentation, regions ? (double)e->holes / (double)regions : 0.0, "slow_fragmentation");
	assert_close(st.slow_usage, (double)e->reserved / (double)st.slow_lane_size, "slow_usage");
	assert_fraction(st.slow_fragmentation, "slow_fragmentation");
	assert_int_equal(st.fast_objects, 0);
}

/* Free block bytes of a 64K slab of class @cls holding @used blocks: a
 * slab holds 65536 / cls blocks; what is left over is no block. */
static size_t slab_free_bytes(size_t cls, size_t used)
{
	return (65536 / cls - used) * cls;
}

/* Blocks (3000 -> class 3072, 10000 -> 10240, 700 -> 768; one 64K slab
 * per class) and blobs (rounded to 16), then frees that open a blob
 * hole, an empty slab inside the block region, and give both regions
 * back at their ends. Hole bytes are, as documented, the free blocks of
 * the slabs, the empty slabs and the blob holes. */
static void test_slow_lane_gauges(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=8M");
	const size_t slab = 65536;
	enum { A, B, C, G, D, E, F, NOBJ };
	const size_t size[NOBJ] = {3000, 3000, 10000, 700, 100000, 50001, 70000};
	const size_t cap[NOBJ] = {3072, 3072, 10240, 768, 100000, 50016, 70000};
	tu_obj o[NOBJ];
	struct slow_expect e = {0, 0, 0, 0, 0, 0};
	for (size_t i = 0; i < NOBJ; i++) {
		tu_must_alloc(a, &o[i], size[i], MEMLANE_SLOW, 0, (uint32_t)i, SALT);
		e.used += size[i];
		e.reserved += cap[i];
		e.objects++;
		if (i == A || i == C || i == G) {
			e.block_region += slab; /* a new class: a new slab */
			e.holes += slab_free_bytes(cap[i], 1);
		} else if (i == B) {
			e.holes -= cap[B]; /* A's slab */
		} else {
			e.blob_region += cap[i];
		}
		check_slow(a, &e);
	}
	/* A blob in the middle of the region: a hole. */
	tu_free_obj(a, &o[E]);
	e.used -= size[E];
	e.reserved -= cap[E];
	e.holes += cap[E];
	e.objects--;
	check_slow(a, &e);
	/* C's slab empties below G's: it is an empty slab now, all of it
	 * hole bytes. */
	tu_free_obj(a, &o[C]);
	e.used -= size[C];
	e.reserved -= cap[C];
	e.holes += slab - slab_free_bytes(cap[C], 1);
	e.objects--;
	check_slow(a, &e);
	/* G's slab, the top one, empties: both empty slabs leave the region. */
	tu_free_obj(a, &o[G]);
	e.used -= size[G];
	e.reserved -= cap[G];
	e.holes -= slab_free_bytes(cap[G], 1) + slab;
	e.block_region -= 2 * slab;
	e.objects--;
	check_slow(a, &e);
	/* F, the lowest blob, goes, and E's hole above it with it. */
	tu_free_obj(a, &o[F]);
	e.used -= size[F];
	e.reserved -= cap[F];
	e.holes -= cap[E];
	e.blob_region -= cap[E] + cap[F];
	e.objects--;
	check_slow(a, &e);
	/* A's block is a free block of the slab that still holds B. */
	tu_free_obj(a, &o[A]);
	e.used -= size[A];
	e.reserved -= cap[A];
	e.holes += cap[A];
	e.objects--;
	check_slow(a, &e);
	tu_verify(a, &o[B]);
	tu_verify(a, &o[D]);
	tu_free_obj(a, &o[B]);
	tu_free_obj(a, &o[D]);
	memset(&e, 0, sizeof(e));
	check_slow(a, &e);
	tu_close(a);
}

/* Fragmentation stays in [0, 1], grows with every hole opened, and
 * falls back to 0 when compaction closes them all. */
static void test_fragmentation_grows_with_holes(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,auto_compaction=0,promotion_age=4294967296");
	enum { NF = 200, NS = 40 };
	tu_obj f[NF], s[NS];
	for (size_t i = 0; i < NF; i++)
		tu_must_alloc(a, &f[i], 256, 0, 0, 0, SALT);
	for (size_t i = 0; i < NS; i++)
		tu_must_alloc(a, &s[i], 64 * TU_KiB, 0, 0, 0, SALT);
	memlane_stats prev = tu_stats(a);
	assert_true(prev.fast_fragmentation == 0.0);
	assert_true(prev.slow_fragmentation == 0.0);
	/* Evens, then odds; never the last (the top / the bottom blob). */
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = pass; i + 1 < NF; i += 2) {
			tu_free_obj(a, &f[i]);
			memlane_stats st = tu_stats(a);
			assert_fraction(st.fast_fragmentation, "fast_fragmentation");
			if (!(st.fast_fragmentation > prev.fast_fragmentation))
				fail_msg("fast_fragmentation %g did not grow (was %g)", st.fast_fragmentation,
				         prev.fast_fragmentation);
			prev = st;
		}
		for (size_t i = pass; i + 1 < NS; i += 2) {
			tu_free_obj(a, &s[i]);
			memlane_stats st = tu_stats(a);
			assert_fraction(st.slow_fragmentation, "slow_fragmentation");
			if (!(st.slow_fragmentation > prev.slow_fragmentation))
				fail_msg("slow_fragmentation %g did not grow (was %g)", st.slow_fragmentation,
				         prev.slow_fragmentation);
			prev = st;
		}
	}
	/* One object left in each lane, all the rest holes. */
	assert_close(prev.fast_fragmentation, (double)(NF - 1) / NF, "fast_fragmentation");
	assert_close(prev.slow_fragmentation, (double)(NS - 1) / NS, "slow_fragmentation");
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats st = tu_stats(a);
	assert_true(st.fast_fragmentation == 0.0);
	assert_true(st.slow_fragmentation == 0.0);
	tu_verify(a, &f[NF - 1]);
	tu_verify(a, &s[NS - 1]);

	/* Random churn in both lanes: always within [0, 1]. */
	tu_rng r = {4};
	memlane_handle h[64] = {0};
	for (int k = 0; k < 3000; k++) {
		size_t i = tu_range(&r, 0, 63);
		if (h[i])
			assert_int_equal(memlane_free(a, h[i]), 0);
		size_t size = tu_range(&r, 0, 3) ? tu_range(&r, 0, 1000) : tu_range(&r, 1000, 100000);
		assert_int_equal(memlane_alloc(a, size, &h[i]), 0);
		memlane_stats c = tu_stats(a);
		assert_fraction(c.fast_fragmentation, "fast_fragmentation");
		assert_fraction(c.slow_fragmentation, "slow_fragmentation");
		assert_fraction(c.slow_usage, "slow_usage");
	}
	tu_close(a);
}

/* ---- activity counters ------------------------------------------------- */

static void expect_counts(memlane_arena *a, uint64_t allocs, uint64_t frees, uint64_t reallocs, uint64_t objects)
{
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.allocs, allocs);
	assert_int_equal(st.frees, frees);
	assert_int_equal(st.reallocs, reallocs);
	assert_int_equal(st.objects, objects);
	assert_int_equal(st.fast_objects + st.slow_objects + st.spilled_objects, objects);
}

/* allocs, frees and reallocs count successful calls, exactly; failed
 * calls count nothing. */
static void test_alloc_free_realloc_counts(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,threshold=1K,promotion_age=4294967296");
	tu_obj o[12];
	const size_t sizes[] = {10, 300, 700, 2000, 40000, 0, 64, 128, 900, 5000};
	for (size_t i = 0; i < 10; i++)
		tu_must_alloc(a, &o[i], sizes[i], 0, 0, 0, SALT);
	expect_counts(a, 10, 0, 0, 10);

	memlane_handle h;
	memlane_alloc_opts bad_align = {0, 3, 0}, both = {MEMLANE_FAST | MEMLANE_SLOW, 0, 0};
	assert_int_equal(memlane_alloc(a, (size_t)1 << 50, &h), MEMLANE_ETOOBIG);
	assert_int_equal(memlane_alloc(a, 8 * TU_MiB, &h), MEMLANE_ETOOBIG);
	assert_int_equal(memlane_alloc_ex(a, 10, &bad_align, &h), MEMLANE_EINVAL);
	assert_int_equal(memlane_alloc_ex(a, 10, &both, &h), MEMLANE_EINVAL);
	assert_int_equal(memlane_alloc_array(a, SIZE_MAX / 2, 4, 0, &h), MEMLANE_ETOOBIG);
	expect_counts(a, 10, 0, 0, 10);
	assert_int_equal(memlane_alloc_array(a, 4, 100, 0, &h), 0);
	expect_counts(a, 11, 0, 0, 11);

	memlane_handle dead = o[0].h;
	tu_free_obj(a, &o[0]);
	assert_int_equal(memlane_free(a, h), 0);
	expect_counts(a, 11, 2, 0, 9);
	assert_int_equal(memlane_free(a, dead), MEMLANE_EHANDLE);
	assert_int_equal(memlane_free(a, MEMLANE_NULL), MEMLANE_EHANDLE);
	assert_int_equal(memlane_pin(a, o[1].h, NULL), 0);
	assert_int_equal(memlane_free(a, o[1].h), MEMLANE_EPINNED);
	expect_counts(a, 11, 2, 0, 9);

	/* o[2] (700, class 768) shrinks in place: used bytes follow, the
	 * reservation does not. */
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(memlane_realloc(a, o[2].h, 650), 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.fast_used_bytes, s0.fast_used_bytes - 50);
	assert_int_equal(s1.fast_reserved_bytes, s0.fast_reserved_bytes);
	expect_counts(a, 11, 2, 1, 9);
	/* Grows to another class, still in the FastLane. */
	assert_int_equal(memlane_realloc(a, o[2].h, 1000), 0);
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(memlane_handle_state(a, o[2].h), MEMLANE_STATE_FAST);
	assert_int_equal(s2.fast_used_bytes, s1.fast_used_bytes + 350);
	assert_int_equal(s2.fast_reserved_bytes, s1.fast_reserved_bytes - 768 + 1024);
	expect_counts(a, 11, 2, 2, 9);
	/* Grows past the threshold: FastLane to SlowLane. */
	assert_int_equal(memlane_realloc(a, o[2].h, 6000), 0);
	memlane_stats s3 = tu_stats(a);
	assert_int_equal(memlane_handle_state(a, o[2].h), MEMLANE_STATE_SLOW);
	assert_int_equal(s3.fast_objects, s2.fast_objects - 1);
	assert_int_equal(s3.slow_objects, s2.slow_objects + 1);
	assert_int_equal(s3.fast_used_bytes, s2.fast_used_bytes - 1000);
	assert_int_equal(s3.slow_used_bytes, s2.slow_used_bytes + 6000);
	expect_counts(a, 11, 2, 3, 9);
	/* Same size: a successful call, counted. */
	assert_int_equal(memlane_realloc(a, o[3].h, 2000), 0);
	expect_counts(a, 11, 2, 4, 9);
	/* Refused: pinned, stale, too big. */
	assert_int_equal(memlane_realloc(a, o[1].h, 20), MEMLANE_EPINNED);
	assert_int_equal(memlane_realloc(a, dead, 20), MEMLANE_EHANDLE);
	assert_int_equal(memlane_realloc(a, o[4].h, (size_t)1 << 50), MEMLANE_ETOOBIG);
	expect_counts(a, 11, 2, 4, 9);
	assert_int_equal(memlane_unpin(a, o[1].h), 0);
	for (size_t i = 1; i < 10; i++)
		tu_free_obj(a, &o[i]);
	expect_counts(a, 11, 11, 4, 0);
	tu_close(a);
}

/* The number of @o whose state is SLOW. */
static size_t count_slow(memlane_arena *a, const tu_obj *o, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += o[i].h && memlane_handle_state(a, o[i].h) == MEMLANE_STATE_SLOW;
	return k;
}

/* promotions counts each FastLane object that moved to the SlowLane,
 * once, whatever moved it: memlane_promote, age, MEMLANE_COLD, a full
 * FastLane. ticks and maintenance_runs count their calls. */
static void test_promotion_counts(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,promotion_age=3");
	enum { NF = 5 };
	tu_obj f[NF], cold, slow;
	for (size_t i = 0; i < NF; i++)
		tu_must_alloc(a, &f[i], 100 + i, 0, 0, 0, SALT);
	tu_must_alloc(a, &cold, 200, MEMLANE_COLD, 0, 0, SALT);
	tu_must_alloc(a, &slow, 200, MEMLANE_SLOW, 0, 0, SALT);
	assert_int_equal(tu_stats(a).promotions, 0);

	assert_int_equal(memlane_promote(a, f[0].h), 0);
	assert_int_equal(tu_stats(a).promotions, 1);
	assert_int_equal(memlane_promote(a, f[0].h), 0); /* already there */
	assert_int_equal(memlane_promote(a, slow.h), 0);  /* born there */
	assert_int_equal(memlane_pin(a, f[1].h, NULL), 0);
	assert_int_equal(memlane_promote(a, f[1].h), MEMLANE_EPINNED);
	assert_int_equal(memlane_unpin(a, f[1].h), 0);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.promotions, 1);
	assert_int_equal(st.ticks, 0);
	assert_int_equal(st.maintenance_runs, 0);

	/* A policy cycle takes the cold object, not the young ones. */
	assert_int_equal(memlane_maintain(a), 0);
	st = tu_stats(a);
	assert_int_equal(st.promotions, 2);
	assert_int_equal(memlane_handle_state(a, cold.h), MEMLANE_STATE_SLOW);
	assert_int_equal(st.maintenance_runs, 1);
	assert_int_equal(st.ticks, 0);

	/* Ages 1 and 2: nothing; age 3: the other four. */
	for (int t = 1; t <= 3; t++) {
		assert_int_equal(memlane_tick(a), 0);
		st = tu_stats(a);
		assert_int_equal(st.ticks, (uint64_t)t);
		assert_int_equal(st.maintenance_runs, 1 + (uint64_t)t);
		assert_int_equal(st.promotions, t < 3 ? 2 : 2 + NF - 1);
		assert_int_equal(count_slow(a, f, NF), t < 3 ? 1 : NF);
	}
	assert_int_equal(st.fast_objects, 0);
	assert_int_equal(st.slow_objects, NF + 2);
	tu_verify_all(a, f, NF);
	tu_verify(a, &cold);
	tu_close(a);

	/* A full FastLane promotes its oldest: as many promotions as objects
	 * that changed lanes, and no fallback. */
	a = tu_open("fast_lane_size=64K,slow_lane_size=4M,promotion_age=4294967296");
	enum { FULL = 256 };
	tu_obj o[FULL + 1];
	for (size_t i = 0; i < FULL; i++)
		tu_must_alloc(a, &o[i], 256, 0, 0, 0, SALT);
	assert_int_equal(tu_stats(a).fast_top_bytes, 65536);
	tu_must_alloc(a, &o[FULL], 256, 0, 0, 0, SALT);
	st = tu_stats(a);
	assert_true(st.promotions > 0);
	assert_int_equal(st.promotions, count_slow(a, o, FULL + 1));
	assert_int_equal(st.slow_objects, st.promotions);
	assert_int_equal(st.fallbacks, 0);
	assert_int_equal(memlane_handle_state(a, o[FULL].h), MEMLANE_STATE_FAST);
	tu_verify_all(a, o, FULL + 1);
	tu_close(a);
}

/* Where each object is now, to tell which ones a compaction moved. */
static void snapshot_addrs(memlane_arena *a, const tu_obj *o, size_t n, uintptr_t *addr)
{
	for (size_t i = 0; i < n; i++)
		addr[i] = o[i].h ? (uintptr_t)memlane_get_ro(a, o[i].h) : 0;
}

/* moved_objects / moved_bytes grew by exactly the objects whose address
 * changed and their sizes (valid where each object moves at most once:
 * the FastLane and the blob region). */
static void expect_moves(memlane_arena *a, const tu_obj *o, size_t n, const uintptr_t *before,
                         const memlane_stats *s0, size_t want_objects)
{
	uintptr_t *after = calloc(n ? n : 1, sizeof(*after));
	assert_non_null(after);
	snapshot_addrs(a, o, n, after);
	uint64_t objs = 0, bytes = 0;
	for (size_t i = 0; i < n; i++)
		if (o[i].h && after[i] != before[i]) {
			objs++;
			bytes += o[i].size;
		}
	free(after);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(objs, want_objects);
	assert_int_equal(s1.moved_objects - s0->moved_objects, objs);
	assert_int_equal(s1.moved_bytes - s0->moved_bytes, bytes);
}

/* compactions counts lanes compacted (memlane_compact: both), moved_*
 * count what moved, released_bytes whole pages given back. */
static void test_compaction_counts(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,auto_compaction=0,promotion_age=4294967296");
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.compactions, 2);
	assert_int_equal(st.moved_objects, 0);
	assert_int_equal(st.moved_bytes, 0);

	/* FastLane: A B C, A freed; B and C slide down. SlowLane: blobs X Y Z
	 * from the top, X freed; Y and Z slide up. */
	enum { A, B, C, X, Y, Z, N };
	const size_t size[N] = {100, 200, 300, 100000, 50000, 30000};
	tu_obj o[N];
	uintptr_t addr[N];
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], size[i], 0, 0, (uint32_t)i, SALT);
	tu_free_obj(a, &o[A]);
	tu_free_obj(a, &o[X]);
	memlane_stats s0 = tu_stats(a);
	snapshot_addrs(a, o, N, addr);
	assert_int_equal(memlane_compact(a), 0);
	st = tu_stats(a);
	assert_int_equal(st.compactions, s0.compactions + 2);
	expect_moves(a, o, N, addr, &s0, 4);
	assert_int_equal(st.moved_bytes - s0.moved_bytes, 200 + 300 + 50000 + 30000);
	assert_true(st.released_bytes >= s0.released_bytes);
	assert_int_equal(st.released_bytes % page, 0);
	tu_verify_all(a, o, N);

	/* Compact lanes: counted, nothing moves. */
	s0 = st;
	snapshot_addrs(a, o, N, addr);
	assert_int_equal(memlane_compact(a), 0);
	assert_int_equal(tu_stats(a).compactions, s0.compactions + 2);
	expect_moves(a, o, N, addr, &s0, 0);

	/* auto_compaction=0: maintenance never compacts, however fragmented. */
	tu_obj many[64];
	for (size_t i = 0; i < 64; i++)
		tu_must_alloc(a, &many[i], 500, 0, 0, 0, SALT);
	for (size_t i = 0; i < 63; i++)
		tu_free_obj(a, &many[i]);
	s0 = tu_stats(a);
	assert_true(s0.fast_fragmentation > 0.5);
	assert_int_equal(memlane_maintain(a), 0);
	st = tu_stats(a);
	assert_int_equal(st.compactions, s0.compactions);
	assert_int_equal(st.moved_objects, s0.moved_objects);
	assert_int_equal(st.maintenance_runs, s0.maintenance_runs + 1);
	tu_free_obj(a, &many[63]);

	/* Freed big blobs, touched: compaction gives their pages back. */
	tu_obj big[4];
	for (size_t i = 0; i < 4; i++)
		tu_must_alloc(a, &big[i], TU_MiB, 0, 0, 0, SALT);
	tu_free_obj(a, &big[1]);
	tu_free_obj(a, &big[2]);
	s0 = tu_stats(a);
	assert_int_equal(memlane_compact(a), 0);
	st = tu_stats(a);
	assert_true(st.released_bytes - s0.released_bytes >= 2 * TU_MiB);
	assert_int_equal(st.released_bytes % page, 0);
	tu_verify(a, &big[0]);
	tu_verify(a, &big[3]);
	tu_close(a);

	/* auto_compaction=1: one FastLane compaction makes room for an
	 * allocation, counted once, its moves counted exactly. */
	a = tu_open("fast_lane_size=64K,slow_lane_size=4M,promotion_age=4294967296");
	enum { FULL = 256 };
	tu_obj f[FULL + 1];
	uintptr_t faddr[FULL + 1];
	for (size_t i = 0; i < FULL; i++)
		tu_must_alloc(a, &f[i], 256, 0, 0, 0, SALT);
	for (size_t i = 0; i < FULL; i += 4)
		tu_free_obj(a, &f[i]);
	f[FULL].h = MEMLANE_NULL;
	s0 = tu_stats(a);
	snapshot_addrs(a, f, FULL + 1, faddr);
	tu_must_alloc(a, &f[FULL], 1000, 0, 0, 0, SALT);
	st = tu_stats(a);
	assert_int_equal(st.compactions, s0.compactions + 1);
	assert_int_equal(st.promotions, 0);
	assert_int_equal(st.fallbacks, 0);
	faddr[FULL] = (uintptr_t)memlane_get_ro(a, f[FULL].h); /* new: not a move */
	expect_moves(a, f, FULL + 1, faddr, &s0, FULL - FULL / 4); /* the first hole is at 0: all slide */
	tu_verify_all(a, f, FULL + 1);
	tu_close(a);
}

/* fallbacks counts FastLane-sized objects placed in the SlowLane because
 * the FastLane was full, and nothing else. */
static void test_fallback_counts(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,promotion_age=4294967296");
	enum { FULL = 256 };
	tu_obj o[FULL], n[4];
	for (size_t i = 0; i < FULL; i++) {
		tu_must_alloc(a, &o[i], 256, 0, 0, 0, SALT);
		assert_int_equal(memlane_pin(a, o[i].h, NULL), 0);
	}
	assert_int_equal(tu_stats(a).pinned_objects, FULL);
	tu_must_alloc(a, &n[0], 2000, 0, 0, 0, SALT);          /* above threshold: SlowLane by right */
	tu_must_alloc(a, &n[1], 100, MEMLANE_SLOW, 0, 0, SALT); /* asked for */
	assert_int_equal(tu_stats(a).fallbacks, 0);
	tu_must_alloc(a, &n[2], 100, 0, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, n[2].h), MEMLANE_STATE_SLOW);
	assert_int_equal(tu_stats(a).fallbacks, 1);
	tu_must_alloc(a, &n[3], 0, 0, 0, 0, SALT);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fallbacks, 2);
	assert_int_equal(st.promotions, 0);
	assert_int_equal(st.slow_objects, 4);
	tu_verify_all(a, n, 4);
	tu_close(a);
}

/* pinned_objects counts objects (not pins); handle_slots the table's
 * slots; retired_slots slots whose generations ran out. */
static void test_pins_and_slots(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M");
	tu_obj o[11];
	for (size_t i = 0; i < 10; i++)
		tu_must_alloc(a, &o[i], i < 5 ? 100 : 3000, 0, 0, 0, SALT);
	assert_int_equal(tu_stats(a).handle_slots, 10);
	assert_int_equal(memlane_pin(a, o[0].h, NULL), 0);
	assert_int_equal(memlane_pin(a, o[0].h, NULL), 0);
	assert_int_equal(tu_stats(a).pinned_objects, 1);
	assert_int_equal(memlane_pin(a, o[7].h, NULL), 0);
	assert_int_equal(tu_stats(a).pinned_objects, 2);
	assert_int_equal(memlane_unpin(a, o[0].h), 0);
	assert_int_equal(tu_stats(a).pinned_objects, 2);
	assert_int_equal(memlane_unpin(a, o[0].h), 0);
	assert_int_equal(tu_stats(a).pinned_objects, 1);
	assert_int_equal(memlane_unpin(a, o[0].h), MEMLANE_EINVAL);
	assert_int_equal(memlane_unpin(a, o[7].h), 0);
	assert_int_equal(tu_stats(a).pinned_objects, 0);
	/* Large copies pin for the copy only. */
	uint8_t buf[3000];
	assert_int_equal(memlane_read(a, o[7].h, 0, buf, sizeof(buf)), 0);
	assert_int_equal(memlane_write(a, o[7].h, 0, buf, sizeof(buf)), 0);
	assert_int_equal(tu_stats(a).pinned_objects, 0);
	assert_int_equal(memlane_free(a, o[7].h), 0);

	/* Freed slots are reused before the table grows. */
	for (size_t i = 1; i < 6; i++)
		tu_free_obj(a, &o[i]);
	for (size_t i = 1; i < 6; i++)
		tu_must_alloc(a, &o[i], 50, 0, 0, 0, SALT);
	assert_int_equal(tu_stats(a).handle_slots, 10);
	tu_must_alloc(a, &o[7], 50, 0, 0, 0, SALT);
	assert_int_equal(tu_stats(a).handle_slots, 10);
	tu_must_alloc(a, &o[10], 50, 0, 0, 0, SALT);
	assert_int_equal(tu_stats(a).handle_slots, 11);
	assert_int_equal(tu_stats(a).retired_slots, 0);
	tu_close(a);

	/* One slot through all its 2^20 - 2 generations: retired, and the
	 * next object takes a new slot. */
	a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	const size_t cycles = ((size_t)1 << 20) - 2;
	for (size_t i = 0; i < cycles; i++) {
		memlane_handle h;
		if (memlane_alloc(a, 16, &h) != 0 || memlane_free(a, h) != 0)
			fail_msg("cycle %zu: %s", i, memlane_errmsg());
		if ((i & 0xffff) == 0 && tu_stats(a).retired_slots != 0)
			fail_msg("slot retired early, after %zu cycles", i + 1);
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.retired_slots, 1);
	assert_int_equal(st.handle_slots, 1);
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, 16, &h), 0);
	st = tu_stats(a);
	assert_int_equal(st.handle_slots, 2);
	assert_int_equal(st.retired_slots, 1);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.allocs, cycles + 1);
	assert_int_equal(st.frees, cycles);
	tu_close(a);
}

/* ---- printed forms ------------------------------------------------------ */

/* An arena with something in every gauge and counter that exists yet. */
static memlane_arena *busy_arena(tu_obj *o, size_t n)
{
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,auto_compaction=0,promotion_age=4294967296");
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++)
		tu_must_alloc(a, &o[i], i % 3 == 0 ? 40000 + i : 100 + i * 37, 0, 0, (uint32_t)i, SALT);
	tu_free_obj(a, &o[1]);
	tu_free_obj(a, &o[3]);
	assert_int_equal(memlane_promote(a, o[2].h), 0);
	assert_int_equal(memlane_realloc(a, o[4].h, 77), 0);
	assert_int_equal(memlane_pin(a, o[5].h, NULL), 0);
	assert_int_equal(memlane_tick(a), 0);
	return a;
}

static void test_stats_print_text(void **state)
{
	(void)state;
	tu_obj o[12];
	memlane_arena *a = busy_arena(o, 12);
	memlane_stats st = tu_stats(a);
	char *text = capture_stats(a, 0);
	memlane_stats st2 = tu_stats(a);
	assert_stats_equal(&st, &st2);

	/* Every field once, as "name value", with the value of the struct. */
	for (size_t i = 0; i < TU_ARRAY_LEN(stat_fields); i++) {
		const struct stat_field *f = &stat_fields[i];
		int seen = 0;
		for (const char *line = text; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
			char name[64], value[64];
			if (sscanf(line, "%63s %63s", name, value) != 2 || strcmp(name, f->name) != 0)
				continue;
			seen++;
			if (f->dbl) {
				double v = strtod(value, NULL);
				if (fabs(v - field_value(&st, f)) > 1e-4)
					fail_msg("text %s = %s, struct says %g", f->name, value, field_value(&st, f));
			} else {
				unsigned long long v = strtoull(value, NULL, 10);
				if (v != field_u64(&st, f))
					fail_msg("text %s = %s, struct says %llu", f->name, value,
					         (unsigned long long)field_u64(&st, f));
			}
		}
		if (seen != 1)
			fail_msg("text stats: %s appears %d times", f->name, seen);
	}
	/* And the options in effect. */
	for (size_t i = 0; memlane_config_key(i); i++) {
		char kv[64];
		snprintf(kv, sizeof(kv), "%s=", memlane_config_key(i));
		if (strcmp(memlane_config_key(i), "preset") != 0 && !tu_contains(text, kv))
			fail_msg("text stats: option %s missing", memlane_config_key(i));
	}
	assert_true(tu_contains(text, "fast_lane_size=1M") || tu_contains(text, "fast_lane_size=1048576"));
	free(text);

	assert_int_equal(memlane_stats_print(NULL, stdout, 0), MEMLANE_EINVAL);
	assert_int_equal(memlane_stats_print(a, NULL, 0), MEMLANE_EINVAL);
	tu_close(a);
}

static void test_stats_print_json(void **state)
{
	(void)state;
	tu_obj o[12];
	memlane_arena *a = busy_arena(o, 12);
	memlane_stats st = tu_stats(a);
	char *text = capture_stats(a, 1);
	struct jdoc *j = malloc(sizeof(*j));
	assert_non_null(j);
	j_parse(j, text);
	for (size_t i = 0; i < TU_ARRAY_LEN(stat_fields); i++) {
		const struct stat_field *f = &stat_fields[i];
		char path[96];
		snprintf(path, sizeof(path), "stats.%s", f->name);
		double v = j_num(j, path);
		double want = field_value(&st, f);
		if (f->dbl ? fabs(v - want) > 1e-6 : v != want)
			fail_msg("JSON %s = %.17g, struct says %.17g", path, v, want);
	}
	for (size_t i = 0; memlane_config_key(i); i++) {
		char path[96];
		snprintf(path, sizeof(path), "options.%s", memlane_config_key(i));
		if (strcmp(memlane_config_key(i), "preset") != 0)
			(void)j_get(j, path);
	}
	assert_true(j_num(j, "options.fast_lane_size") == (double)TU_MiB);
	assert_true(j_num(j, "options.slow_lane_size") == 8.0 * (double)TU_MiB);
	assert_true(j_num(j, "options.auto_compaction") == 0.0);
	assert_true(j_get(j, "options.compression")->is_str);
	assert_string_equal(j_get(j, "options.compression")->str, "zstd");
	/* Nothing but stats and options at the top level. */
	for (size_t i = 0; i < j->n; i++)
		if (strncmp(j->leaf[i].path, "stats.", 6) != 0 && strncmp(j->leaf[i].path, "options.", 8) != 0)
			fail_msg("unexpected JSON member %s", j->leaf[i].path);
	free(j);
	free(text);
	tu_close(a);
}

/* ---- memlane_debug_dump ------------------------------------------------- */

/* The 64 cells of the map line of @lane ("FastLane" / "SlowLane"). */
static void dump_map(const char *dump, const char *lane, char cells[65])
{
	const char *line = dump;
	while (line && strncmp(line, lane, strlen(lane)) != 0) {
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (!line)
		fail_msg("debug dump has no %s map:\n%s", lane, dump);
	const char *open = strchr(line, '['), *eol = strchr(line, '\n');
	if (!open || (eol && open > eol) || open[65] != ']')
		fail_msg("%s map is not 64 cells in brackets: %.100s", lane, line);
	memcpy(cells, open + 1, 64);
	cells[64] = '\0';
	for (size_t i = 0; i < 64; i++)
		if (!strchr("#+_.P", cells[i]))
			fail_msg("%s map: unexpected cell '%c'", lane, cells[i]);
}

struct dump_obj {
	unsigned long long off, size, age;
	unsigned tag, pins;
	char state[16];
};

/* The object line of @h; fails unless there is exactly one. */
static struct dump_obj dump_object(const char *dump, memlane_handle h)
{
	char want[32];
	snprintf(want, sizeof(want), "0x%016llx ", (unsigned long long)h);
	struct dump_obj d;
	memset(&d, 0, sizeof(d));
	int seen = 0;
	for (const char *line = dump; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		seen++;
		unsigned long long hh;
		if (sscanf(line, "%llx %15s %llu %llu %u %llu %u", &hh, d.state, &d.off, &d.size, &d.tag, &d.age,
		           &d.pins) != 7)
			fail_msg("cannot read the object line: %.100s", line);
	}
	if (seen != 1)
		fail_msg("handle %s listed %d times in the dump", want, seen);
	return d;
}

static int count_char(const char *s, char c)
{
	int n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

/* Lane maps: a 64K FastLane (1K a cell) with objects, a hole and a pinned
 * object; a 4M SlowLane (64K a cell) with a pinned blob. Then the object
 * list: every live handle once, with its state, offset, size, tag, age
 * and pins; freed handles not at all. */
static void test_debug_dump(void **state)
{
	(void)state;
	memlane_arena *a =
		tu_open("fast_lane_size=64K,slow_lane_size=4M,auto_compaction=0,promotion_age=4294967296");
	enum { NF = 40, NS = 3, N = NF + NS };
	tu_obj o[N];
	for (size_t i = 0; i < NF; i++)
		tu_must_alloc(a, &o[i], 1000, 0, 0, (uint32_t)(1000 + i), SALT);
	for (size_t i = 0; i < NS; i++)
		tu_must_alloc(a, &o[NF + i], 200 * TU_KiB, 0, 0, 0xBEEF0000u + (uint32_t)i, SALT);
	memlane_handle freed[10];
	for (size_t i = 10; i < 20; i++) {
		freed[i - 10] = o[i].h;
		tu_free_obj(a, &o[i]);
	}
	assert_int_equal(memlane_pin(a, o[30].h, NULL), 0);
	assert_int_equal(memlane_pin(a, o[NF + 1].h, NULL), 0);
	assert_int_equal(memlane_tick(a), 0);
	assert_int_equal(memlane_tick(a), 0);

	char *dump = capture_dump(a);
	assert_true(tu_contains(dump, "pinned"));
	char fm[65], sm[65];
	dump_map(dump, "FastLane", fm);
	dump_map(dump, "SlowLane", sm);
	for (size_t c = 0; c < 64; c++) {
		char want = c < 10 || (c >= 20 && c < 40) ? '#' : c < 20 ? '_' : '.';
		if (c == 30)
			want = 'P';
		if (fm[c] != want)
			fail_msg("FastLane map cell %zu is '%c', expected '%c': [%s]", c, fm[c], want, fm);
	}
	assert_int_equal(count_char(sm, 'P'), 4); /* a 200K blob touches four 64K cells */
	assert_int_equal(count_char(sm, '.'), 64 - 10); /* 600K of blobs: ten cells */
	assert_true(sm[63] == '#');

	/* The object list. */
	const uint8_t *fast0 = memlane_get_ro(a, o[0].h), *slow0 = memlane_get_ro(a, o[NF].h);
	struct dump_obj d0 = dump_object(dump, o[0].h), s0 = dump_object(dump, o[NF].h);
	for (size_t i = 0; i < N; i++) {
		if (!o[i].h)
			continue;
		struct dump_obj d = dump_object(dump, o[i].h);
		bool fast = i < NF;
		assert_string_equal(d.state, fast ? "fast" : "slow");
		assert_int_equal(d.size, o[i].size);
		assert_int_equal(d.tag, memlane_tag(a, o[i].h));
		assert_int_equal(d.age, 2);
		assert_int_equal(d.pins, i == 30 || i == NF + 1);
		/* Offsets agree with the pointers, within a lane. */
		const uint8_t *p = memlane_get_ro(a, o[i].h);
		if (fast)
			assert_int_equal(d.off - d0.off, (uint64_t)(p - fast0));
		else
			assert_true((int64_t)(d.off - s0.off) == (int64_t)(p - slow0));
	}
	for (size_t i = 0; i < 10; i++) {
		char hex[32];
		snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)freed[i]);
		assert_false(tu_contains(dump, hex));
	}
	free(dump);

	/* Unpinned: no 'P' left in either map. */
	assert_int_equal(memlane_unpin(a, o[30].h), 0);
	assert_int_equal(memlane_unpin(a, o[NF + 1].h), 0);
	dump = capture_dump(a);
	dump_map(dump, "FastLane", fm);
	dump_map(dump, "SlowLane", sm);
	assert_int_equal(count_char(fm, 'P') + count_char(sm, 'P'), 0);
	assert_int_equal(dump_object(dump, o[30].h).pins, 0);
	free(dump);

	assert_int_equal(memlane_debug_dump(NULL, stdout), MEMLANE_EINVAL);
	assert_int_equal(memlane_debug_dump(a, NULL), MEMLANE_EINVAL);
	tu_close(a);
}

/* ---- memlane_config_print ---------------------------------------------- */

static void assert_config_equal(const memlane_config *x, const memlane_config *y)
{
	assert_int_equal(x->fast_lane_size, y->fast_lane_size);
	assert_int_equal(x->slow_lane_size, y->slow_lane_size);
	assert_int_equal(x->threshold, y->threshold);
	assert_int_equal(x->auto_compaction, y->auto_compaction);
	assert_true(x->compaction_threshold == y->compaction_threshold);
	assert_true(x->slow_lane_usage_threshold == y->slow_lane_usage_threshold);
	assert_int_equal(x->slow_lane_safety_margin, y->slow_lane_safety_margin);
	assert_int_equal(x->policy_check_interval_ms, y->policy_check_interval_ms);
	assert_int_equal(x->promotion_age, y->promotion_age);
	assert_int_equal(x->compression, y->compression);
	assert_int_equal(x->compression_level, y->compression_level);
	assert_int_equal(x->persist, y->persist);
}

/* Text: one key=value a line for every option, and the lines read back
 * with memlane_config_set give the same configuration. */
static void config_text_round_trip(const memlane_config *cfg)
{
	char *text = capture_config(cfg, 0);
	memlane_config back;
	memlane_config_init(&back);
	size_t lines = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		if (!eq)
			fail_msg("config line without '=': %s", line);
		*eq = '\0';
		int rc = memlane_config_set(&back, line, eq + 1);
		if (rc != 0)
			fail_msg("printed option %s=%s does not read back: %s", line, eq + 1, memlane_errmsg());
		lines++;
	}
	size_t keys = 0;
	for (size_t i = 0; memlane_config_key(i); i++)
		keys += strcmp(memlane_config_key(i), "preset") != 0;
	assert_int_equal(lines, keys);
	assert_config_equal(&back, cfg);
	free(text);
}

static void test_config_print(void **state)
{
	(void)state;
	memlane_config def, cfg;
	memlane_config_init(&def);
	config_text_round_trip(&def);
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, "fast_lane_size=1M,slow_lane_size=8M,threshold=512,auto_compaction=0,"
	                                            "compaction_threshold=0.5,slow_lane_usage_threshold=0.75,"
	                                            "slow_lane_safety_margin=128K,policy_check_interval=250ms,"
	                                            "promotion_age=7,compression=none,compression_level=9,persist=1"),
	                 0);
	config_text_round_trip(&cfg);
	char *text = capture_config(&def, 0);
	assert_true(tu_contains(text, "fast_lane_size=16M\n"));
	assert_true(tu_contains(text, "slow_lane_safety_margin=auto\n"));
	assert_true(tu_contains(text, "compression=zstd\n"));
	free(text);

	/* JSON: valid, every option once, values as numbers (bytes, ms). */
	text = capture_config(&cfg, 1);
	struct jdoc *j = malloc(sizeof(*j));
	assert_non_null(j);
	j_parse(j, text);
	size_t keys = 0;
	for (size_t i = 0; memlane_config_key(i); i++) {
		if (!strcmp(memlane_config_key(i), "preset"))
			continue;
		(void)j_get(j, memlane_config_key(i));
		keys++;
	}
	assert_int_equal(j->n, keys);
	assert_true(j_num(j, "fast_lane_size") == (double)TU_MiB);
	assert_true(j_num(j, "threshold") == 512.0);
	assert_true(j_num(j, "auto_compaction") == 0.0);
	assert_true(j_num(j, "compaction_threshold") == 0.5);
	assert_true(j_num(j, "slow_lane_usage_threshold") == 0.75);
	assert_true(j_num(j, "slow_lane_safety_margin") == 131072.0);
	assert_true(j_num(j, "policy_check_interval") == 250.0);
	assert_true(j_num(j, "promotion_age") == 7.0);
	assert_true(j_num(j, "compression_level") == 9.0);
	assert_true(j_num(j, "persist") == 1.0);
	assert_string_equal(j_get(j, "compression")->str, "none");
	free(text);
	text = capture_config(&def, 1);
	j_parse(j, text);
	assert_string_equal(j_get(j, "slow_lane_safety_margin")->str, "auto");
	assert_true(j_num(j, "fast_lane_size") == 16.0 * (double)TU_MiB);
	free(text);
	free(j);

	assert_int_equal(memlane_config_print(NULL, stdout, 0), MEMLANE_EINVAL);
	assert_int_equal(memlane_config_print(&cfg, NULL, 0), MEMLANE_EINVAL);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_arena),
		cmocka_unit_test(test_fast_lane_gauges),
		cmocka_unit_test(test_slow_lane_gauges),
		cmocka_unit_test(test_fragmentation_grows_with_holes),
		cmocka_unit_test(test_alloc_free_realloc_counts),
		cmocka_unit_test(test_promotion_counts),
		cmocka_unit_test(test_compaction_counts),
		cmocka_unit_test(test_fallback_counts),
		cmocka_unit_test(test_pins_and_slots),
		cmocka_unit_test(test_stats_print_text),
		cmocka_unit_test(test_stats_print_json),
		cmocka_unit_test(test_debug_dump),
		cmocka_unit_test(test_config_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
