/* test_access.c - reaching objects: get/get_ro/try_get, pin/unpin,
 * bounds-checked read/write, realloc, the typed macros, MEMLANE_ZERO,
 * size/state/valid/tag, named roots, the calls that need the pager,
 * version and error strings. */
#include <stdalign.h>
#include <sys/stat.h>

#include "testutil.h"

#define SALT 0x41434345ull /* "ACCE" */
#define OPTS "fast_lane_size=256K,slow_lane_size=8M,threshold=1K,promotion_age=4294967296"

static void test_get_variants(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o[3];
	tu_must_alloc(a, &o[0], 100, 0, 0, 0, SALT);
	tu_must_alloc(a, &o[1], 5000, 0, 0, 0, SALT);
	tu_must_alloc(a, &o[2], 200000, 0, 0, 0, SALT);
	for (size_t i = 0; i < 3; i++) {
		void *p = memlane_get(a, o[i].h);
		const void *q = memlane_get_ro(a, o[i].h);
		void *t = NULL;
		assert_int_equal(memlane_try_get(a, o[i].h, &t), 0);
		assert_non_null(p);
		assert_ptr_equal(p, q);
		assert_ptr_equal(p, t);
		assert_int_equal(tu_checksum(p, o[i].size), o[i].sum);
		assert_int_equal(memlane_try_get(a, o[i].h, NULL), MEMLANE_EINVAL);
		assert_int_equal((uintptr_t)p % 16, 0);
		/* Writes through get are seen by read. */
		((uint8_t *)p)[o[i].size - 1] ^= 0xff;
		uint8_t last = 0;
		assert_int_equal(memlane_read(a, o[i].h, o[i].size - 1, &last, 1), 0);
		uint8_t want = 0;
		tu_pattern(o[i].seed, o[i].size - 1, &want, 1);
		assert_int_equal(last, (uint8_t)(want ^ 0xff));
	}
	/* Errors: NULL and a message naming the handle. */
	memlane_handle dead = o[0].h;
	tu_free_obj(a, &o[0]);
	assert_null(memlane_get(a, dead));
	char hex[32];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)dead);
	assert_true(tu_contains(memlane_errmsg(), hex));
	assert_null(memlane_get_ro(a, dead));
	void *t = (void *)&t;
	assert_int_equal(memlane_try_get(a, dead, &t), MEMLANE_EHANDLE);
	tu_close(a);
}

static void test_pin_nesting(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj fo, so;
	tu_must_alloc(a, &fo, 300, 0, 0, 0, SALT);
	tu_must_alloc(a, &so, 70000, 0, 0, 0, SALT);
	tu_obj *objs[2] = {&fo, &so};
	for (int k = 0; k < 2; k++) {
		tu_obj *o = objs[k];
		void *p1, *p2, *p3;
		assert_int_equal(memlane_pin(a, o->h, &p1), 0);
		assert_int_equal(memlane_pin(a, o->h, &p2), 0);
		assert_int_equal(memlane_pin(a, o->h, NULL), 0);
		assert_int_equal(memlane_pin(a, o->h, &p3), 0);
		assert_ptr_equal(p1, p2);
		assert_ptr_equal(p1, p3);
		assert_ptr_equal(p1, memlane_get(a, o->h));
		assert_int_equal(tu_stats(a).pinned_objects, 1);

		/* Pinned: free, realloc and promote refuse; nothing changes. */
		memlane_stats s0 = tu_stats(a);
		assert_int_equal(memlane_free(a, o->h), MEMLANE_EPINNED);
		assert_true(strlen(memlane_errmsg()) > 0);
		assert_int_equal(memlane_realloc(a, o->h, o->size * 2), MEMLANE_EPINNED);
		assert_int_equal(memlane_realloc(a, o->h, 1), MEMLANE_EPINNED);
		if (k == 0)
			assert_int_equal(memlane_promote(a, o->h), MEMLANE_EPINNED);
		memlane_stats s1 = tu_stats(a);
		assert_int_equal(s1.objects, s0.objects);
		assert_int_equal(s1.frees, s0.frees);
		assert_int_equal(s1.reallocs, s0.reallocs);
		assert_int_equal(memlane_size(a, o->h), o->size);
		tu_verify(a, o);

		for (int i = 0; i < 4; i++) {
			assert_int_equal(memlane_free(a, o->h), MEMLANE_EPINNED);
			assert_int_equal(memlane_unpin(a, o->h), 0);
		}
		assert_int_equal(memlane_unpin(a, o->h), MEMLANE_EINVAL);
		assert_int_equal(tu_stats(a).pinned_objects, 0);
	}
	/* Unpinned: the calls work again. */
	assert_int_equal(memlane_realloc(a, fo.h, 400), 0);
	assert_int_equal(memlane_free(a, fo.h), 0);
	assert_int_equal(memlane_unpin(a, fo.h), MEMLANE_EHANDLE);
	tu_verify(a, &so);
	tu_close(a);
}

/* Pins count to 65535; one more is refused with EINVAL. */
static void test_pin_count_limit(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o;
	tu_must_alloc(a, &o, 64, 0, 0, 0, SALT);
	for (unsigned i = 0; i < 65535; i++)
		if (memlane_pin(a, o.h, NULL) != 0)
			fail_msg("pin %u: %s", i + 1, memlane_errmsg());
	assert_int_equal(memlane_pin(a, o.h, NULL), MEMLANE_EINVAL);
	for (unsigned i = 0; i < 65535; i++)
		if (memlane_unpin(a, o.h) != 0)
			fail_msg("unpin %u: %s", i + 1, memlane_errmsg());
	assert_int_equal(memlane_unpin(a, o.h), MEMLANE_EINVAL);
	assert_int_equal(memlane_free(a, o.h), 0);
	tu_close(a);
}

static void test_read_write_bounds(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	const size_t sizes[] = {100, 3000, 100000};
	for (size_t k = 0; k < TU_ARRAY_LEN(sizes); k++) {
		tu_obj o;
		size_t n = sizes[k];
		tu_must_alloc(a, &o, n, 0, 0, 0, SALT + k);
		uint8_t *buf = malloc(n + 16);
		assert_non_null(buf);
		struct {
			size_t off, len;
			int rc;
		} cases[] = {
			{0, n, 0},
			{0, 0, 0},
			{n, 0, 0},
			{n - 1, 1, 0},
			{n / 2, n - n / 2, 0},
			{n + 1, 0, MEMLANE_ERANGE},
			{0, n + 1, MEMLANE_ERANGE},
			{n, 1, MEMLANE_ERANGE},
			{n - 1, 2, MEMLANE_ERANGE},
			{SIZE_MAX, 2, MEMLANE_ERANGE},
			{SIZE_MAX, 0, MEMLANE_ERANGE},
			{2, SIZE_MAX, MEMLANE_ERANGE},
			{1, SIZE_MAX, MEMLANE_ERANGE},
			{n / 2, SIZE_MAX - n / 2 + 2, MEMLANE_ERANGE}, /* off+len wraps to 1 */
			{SIZE_MAX - 5, 10, MEMLANE_ERANGE},           /* off+len wraps to 4 */
		};
		for (size_t c = 0; c < TU_ARRAY_LEN(cases); c++) {
			size_t len = cases[c].len;
			int rc = memlane_read(a, o.h, cases[c].off, buf, len);
			if (rc != cases[c].rc)
				fail_msg("size %zu: read(off=%zu, len=%zu) = %d, expected %d", n, cases[c].off, len, rc,
				         cases[c].rc);
			if (rc == 0 && len > 0)
				assert_int_equal(tu_pattern_mismatch(o.seed, cases[c].off, buf, len), SIZE_MAX);
			/* A refused write changes nothing; an accepted one writes the
			 * same bytes back. */
			if (rc == 0)
				tu_pattern(o.seed, cases[c].off, buf, len);
			rc = memlane_write(a, o.h, cases[c].off, buf, len);
			if (rc != cases[c].rc)
				fail_msg("size %zu: write(off=%zu, len=%zu) = %d, expected %d", n, cases[c].off, len, rc,
				         cases[c].rc);
			tu_verify(a, &o);
		}
		/* NULL buffers */
		assert_int_equal(memlane_read(a, o.h, 0, NULL, 1), MEMLANE_EINVAL);
		assert_int_equal(memlane_write(a, o.h, 0, NULL, 1), MEMLANE_EINVAL);
		assert_int_equal(memlane_read(a, o.h, 0, NULL, 0), 0);
		assert_int_equal(memlane_write(a, o.h, 0, NULL, 0), 0);
		/* Partial writes land exactly where asked: small and large lengths. */
		const size_t lens[] = {1, 7, 512, 513, 4096};
		for (size_t i = 0; i < TU_ARRAY_LEN(lens); i++) {
			size_t len = lens[i] < n ? lens[i] : n;
			size_t off = (n - len) / 3;
			uint64_t s2 = o.seed ^ 0xabcdef;
			tu_pattern(s2, off, buf, len);
			assert_int_equal(memlane_write(a, o.h, off, buf, len), 0);
			uint8_t *all = malloc(n);
			assert_non_null(all);
			assert_int_equal(memlane_read(a, o.h, 0, all, n), 0);
			assert_int_equal(tu_pattern_mismatch(o.seed, 0, all, off), SIZE_MAX);
			assert_int_equal(tu_pattern_mismatch(s2, off, all + off, len), SIZE_MAX);
			assert_int_equal(tu_pattern_mismatch(o.seed, off + len, all + off + len, n - off - len), SIZE_MAX);
			/* restore */
			tu_pattern(o.seed, off, buf, len);
			assert_int_equal(memlane_write(a, o.h, off, buf, len), 0);
			free(all);
		}
		tu_verify(a, &o);
		free(buf);
		tu_free_obj(a, &o);
	}
	tu_close(a);
}

/* realloc keeps the handle, the prefix, tag and alignment; a FastLane
 * object grown to the threshold moves to the SlowLane. */
static void test_realloc_keeps_handle(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o;
	tu_must_alloc(a, &o, 200, 0, 256, 0xCAFE, SALT);
	memlane_handle h = o.h;
	assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_FAST);
	tu_obj by[4];
	for (size_t i = 0; i < 4; i++)
		tu_must_alloc(a, &by[i], 150 + 1000 * i, 0, 0, 0, SALT + 1);

	const size_t steps[] = {300, 800, 100, 1, 0, 700, 1024, 5000, 4000, 200000, 300, 70000, 2};
	size_t cur = o.size;
	for (size_t i = 0; i < TU_ARRAY_LEN(steps); i++) {
		size_t ns = steps[i];
		memlane_stats s0 = tu_stats(a);
		int rc = memlane_realloc(a, h, ns);
		if (rc != 0)
			fail_msg("realloc %zu -> %zu: %d (%s)", cur, ns, rc, memlane_errmsg());
		memlane_stats s1 = tu_stats(a);
		assert_int_equal(s1.reallocs, s0.reallocs + 1);
		assert_int_equal(s1.objects, s0.objects);
		assert_int_equal(memlane_valid(a, h), 1);
		assert_int_equal(memlane_size(a, h), ns);
		assert_int_equal(memlane_tag(a, h), 0xCAFE);
		uint8_t *p = memlane_get(a, h);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 256, 0);
		size_t keep = cur < ns ? cur : ns;
		assert_int_equal(tu_pattern_mismatch(o.seed, 0, p, keep), SIZE_MAX);
		if (ns >= 1024)
			assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_SLOW);
		if (i < 5) /* still small, never grown past the threshold */
			assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_FAST);
		/* rewrite the whole object with the pattern for the next step */
		tu_fill_seed(a, h, ns, o.seed);
		cur = ns;
		tu_verify_all(a, by, 4);
	}
	/* Failures leave it unchanged. */
	assert_int_equal(memlane_realloc(a, h, SIZE_MAX), MEMLANE_ETOOBIG);
	assert_int_equal(memlane_realloc(a, h, (size_t)1 << 40), MEMLANE_ETOOBIG);
	assert_int_equal(memlane_size(a, h), cur);
	tu_verify_seed(a, h, cur, o.seed);
	assert_int_equal(memlane_realloc(a, MEMLANE_NULL, 10), MEMLANE_EHANDLE);
	tu_verify_all(a, by, 4);
	tu_close(a);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* A MEMLANE_ZERO object's grown tail is zero, even after a shrink left
 * old bytes behind it, in either lane. */
static void test_realloc_zero_tail(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	const size_t big[] = {900, 12000, 150000};
	for (size_t k = 0; k < TU_ARRAY_LEN(big); k++) {
		memlane_handle h;
		memlane_alloc_opts opts;
		memset(&opts, 0, sizeof(opts));
		opts.flags = MEMLANE_ZERO;
		assert_int_equal(memlane_alloc_ex(a, big[k], &opts, &h), 0);
		uint8_t *p = memlane_get(a, h);
		assert_true(all_zero(p, big[k]));
		memset(p, 0xEE, big[k]);
		assert_int_equal(memlane_realloc(a, h, 10), 0);
		assert_int_equal(memlane_realloc(a, h, big[k]), 0);
		p = memlane_get(a, h);
		for (size_t i = 0; i < 10; i++)
			assert_int_equal(p[i], 0xEE);
		if (!all_zero(p + 10, big[k] - 10))
			fail_msg("%zu-byte MEMLANE_ZERO object: tail not zero after shrink and grow", big[k]);
		/* and once more, growing further */
		memset(p, 0xDD, big[k]);
		assert_int_equal(memlane_realloc(a, h, big[k] * 2 + 5), 0);
		p = memlane_get(a, h);
		for (size_t i = 0; i < big[k]; i++)
			if (p[i] != 0xDD)
				fail_msg("prefix byte %zu lost", i);
		assert_true(all_zero(p + big[k], big[k] + 5));
		assert_int_equal(memlane_free(a, h), 0);
	}
	tu_close(a);
}

/* MEMLANE_ZERO zeroes memory that held other objects' bytes. */
static void test_zero_reused_memory(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	const size_t sizes[] = {200, 8000, 100000};
	for (size_t k = 0; k < TU_ARRAY_LEN(sizes); k++) {
		size_t n = sizes[k];
		tu_obj dirty[8], guard;
		for (size_t i = 0; i < 8; i++)
			tu_must_alloc(a, &dirty[i], n, 0, 0, 0, SALT);
		tu_must_alloc(a, &guard, n, 0, 0, 0, SALT); /* keeps the others below the top */
		uint8_t *old[8];
		for (size_t i = 0; i < 8; i++) {
			old[i] = memlane_get(a, dirty[i].h);
			tu_free_obj(a, &dirty[i]);
		}
		int reused = 0;
		for (size_t i = 0; i < 8; i++) {
			memlane_handle h;
			memlane_alloc_opts opts;
			memset(&opts, 0, sizeof(opts));
			opts.flags = MEMLANE_ZERO;
			assert_int_equal(memlane_alloc_ex(a, n, &opts, &h), 0);
			uint8_t *p = memlane_get(a, h);
			for (size_t j = 0; j < 8; j++)
				reused |= p == old[j];
			if (!all_zero(p, n))
				fail_msg("MEMLANE_ZERO object of %zu bytes is not zero", n);
			memlane_handle h2;
			assert_int_equal(memlane_alloc_array(a, n / 8, 8, 0, &h2), 0);
			assert_true(all_zero(memlane_get(a, h2), n / 8 * 8));
		}
		assert_true(reused); /* the test did exercise reused memory */
		tu_verify(a, &guard);
	}
	tu_close(a);
}

struct vec3 {
	double x, y, z;
};
struct cacheline {
	alignas(64) uint8_t b[64];
	uint32_t n;
};

static void test_typed_macros(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	memlane_handle h1, h2, h3;
	assert_int_equal(MEMLANE_NEW(a, struct vec3, &h1), 0);
	assert_int_equal(memlane_size(a, h1), sizeof(struct vec3));
	struct vec3 *v = MEMLANE_GET(a, h1, struct vec3);
	assert_ptr_equal(v, memlane_get(a, h1));
	assert_true(v->x == 0.0 && v->y == 0.0 && v->z == 0.0);
	v->y = 2.5;
	assert_true(MEMLANE_GET(a, h1, struct vec3)->y == 2.5);

	assert_int_equal(MEMLANE_NEW(a, struct cacheline, &h2), 0);
	struct cacheline *c = MEMLANE_GET(a, h2, struct cacheline);
	assert_int_equal((uintptr_t)c % 64, 0);
	assert_true(all_zero((const uint8_t *)c, sizeof(*c)));

	assert_int_equal(MEMLANE_NEW_ARRAY(a, struct cacheline, 100, &h3), 0);
	assert_int_equal(memlane_size(a, h3), 100 * sizeof(struct cacheline));
	c = MEMLANE_GET(a, h3, struct cacheline);
	assert_int_equal((uintptr_t)c % 64, 0);
	assert_true(all_zero((const uint8_t *)c, 100 * sizeof(*c)));
	assert_int_equal(memlane_handle_state(a, h3), MEMLANE_STATE_SLOW);

	memlane_stats s0 = tu_stats(a);
	memlane_handle bad = 0;
	assert_int_equal(MEMLANE_NEW_ARRAY(a, struct vec3, SIZE_MAX / 8, &bad), MEMLANE_ETOOBIG);
	assert_int_equal(MEMLANE_NEW_ARRAY(a, uint64_t, SIZE_MAX / 4, &bad), MEMLANE_ETOOBIG);
	assert_int_equal(MEMLANE_NEW_ARRAY(a, struct cacheline, ((size_t)1 << 60), &bad), MEMLANE_ETOOBIG);
	assert_int_equal(tu_stats(a).objects, s0.objects);
	memlane_handle h4;
	assert_int_equal(MEMLANE_NEW_ARRAY(a, uint16_t, 0, &h4), 0);
	assert_int_equal(memlane_size(a, h4), 0);
	tu_close(a);
}

static void test_size_state_valid_tag(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj f, s;
	tu_must_alloc(a, &f, 77, 0, 0, 0xDEADBEEFu, SALT);
	tu_must_alloc(a, &s, 7777, 0, 0, 42, SALT);
	assert_int_equal(memlane_size(a, f.h), 77);
	assert_int_equal(memlane_size(a, s.h), 7777);
	assert_int_equal(memlane_handle_state(a, f.h), MEMLANE_STATE_FAST);
	assert_int_equal(memlane_handle_state(a, s.h), MEMLANE_STATE_SLOW);
	assert_int_equal(memlane_valid(a, f.h), 1);
	assert_int_equal(memlane_valid(a, s.h), 1);
	assert_int_equal(memlane_tag(a, f.h), 0xDEADBEEFu);
	assert_int_equal(memlane_tag(a, s.h), 42);
	memlane_handle fh = f.h, sh = s.h;
	tu_free_obj(a, &f);
	tu_free_obj(a, &s);
	assert_int_equal(memlane_size(a, fh), 0);
	assert_int_equal(memlane_handle_state(a, sh), MEMLANE_STATE_INVALID);
	assert_int_equal(memlane_valid(a, fh), 0);
	assert_int_equal(memlane_tag(a, sh), 0);
	memlane_handle d;
	assert_int_equal(memlane_alloc(a, 10, &d), 0);
	assert_int_equal(memlane_tag(a, d), 0);
	tu_close(a);
}

static void test_roots(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o[3];
	for (size_t i = 0; i < 3; i++)
		tu_must_alloc(a, &o[i], 50 + 5000 * i, 0, 0, 0, SALT);
	memlane_handle out = 0;
	assert_int_equal(memlane_root_get(a, "world", &out), MEMLANE_ENOTFOUND);
	assert_true(tu_contains(memlane_errmsg(), "world"));
	assert_int_equal(memlane_root_set(a, "world", o[0].h), 0);
	assert_int_equal(memlane_root_set(a, "player", o[1].h), 0);
	assert_int_equal(memlane_root_get(a, "world", &out), 0);
	assert_int_equal(out, o[0].h);
	assert_int_equal(memlane_root_get(a, "player", &out), 0);
	assert_int_equal(out, o[1].h);
	/* replace */
	assert_int_equal(memlane_root_set(a, "world", o[2].h), 0);
	assert_int_equal(memlane_root_get(a, "world", &out), 0);
	assert_int_equal(out, o[2].h);
	/* delete */
	assert_int_equal(memlane_root_del(a, "world"), 0);
	assert_int_equal(memlane_root_get(a, "world", &out), MEMLANE_ENOTFOUND);
	assert_int_equal(memlane_root_del(a, "world"), MEMLANE_ENOTFOUND);
	assert_int_equal(memlane_root_get(a, "player", &out), 0);
	assert_int_equal(out, o[1].h);
	/* names: 1..255 bytes */
	char name[300];
	memset(name, 'n', sizeof(name));
	name[255] = '\0';
	assert_int_equal(memlane_root_set(a, name, o[0].h), 0);
	assert_int_equal(memlane_root_get(a, name, &out), 0);
	assert_int_equal(out, o[0].h);
	name[255] = 'n';
	name[256] = '\0';
	assert_int_equal(memlane_root_set(a, name, o[0].h), MEMLANE_EINVAL);
	assert_int_equal(memlane_root_set(a, "", o[0].h), MEMLANE_EINVAL);
	assert_int_equal(memlane_root_set(a, NULL, o[0].h), MEMLANE_EINVAL);
	assert_int_equal(memlane_root_get(a, NULL, &out), MEMLANE_EINVAL);
	assert_int_equal(memlane_root_del(a, NULL), MEMLANE_EINVAL);
	/* bad handles */
	assert_int_equal(memlane_root_set(a, "x", MEMLANE_NULL), MEMLANE_EHANDLE);
	assert_int_equal(memlane_root_set(a, "x", o[0].h ^ (1ull << 33)), MEMLANE_EHANDLE);
	assert_int_equal(memlane_root_get(a, "x", &out), MEMLANE_ENOTFOUND);
	/* a root whose object was freed: EHANDLE once, then gone */
	memlane_handle ph = o[1].h;
	tu_free_obj(a, &o[1]);
	assert_int_equal(memlane_root_get(a, "player", &out), MEMLANE_EHANDLE);
	assert_int_equal(memlane_root_get(a, "player", &out), MEMLANE_ENOTFOUND);
	assert_int_equal(memlane_root_del(a, "player"), MEMLANE_ENOTFOUND);
	/* even when the slot was reused meanwhile */
	assert_int_equal(memlane_root_set(a, "again", o[2].h), 0);
	memlane_handle h2 = o[2].h;
	tu_free_obj(a, &o[2]);
	memlane_handle n;
	assert_int_equal(memlane_alloc(a, 10, &n), 0);
	assert_int_equal(memlane_root_get(a, "again", &out), MEMLANE_EHANDLE);
	(void)ph;
	(void)h2;
	/* the roots survive compaction and promotion of their objects */
	assert_int_equal(memlane_root_set(a, "r", o[0].h), 0);
	assert_int_equal(memlane_promote(a, o[0].h), 0);
	assert_int_equal(memlane_compact(a), 0);
	assert_int_equal(memlane_root_get(a, "r", &out), 0);
	assert_int_equal(out, o[0].h);
	tu_verify(a, &o[0]);
	tu_close(a);
}

/* No pager yet: the calls that need one say so. */
/* A memory-only arena has no store: the pager calls say so and change
 * nothing; prefetch of a resident object is a no-op. (The pager itself
 * is tested in test_pager.c.) */
static void test_memory_only_pager_calls(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o;
	tu_must_alloc(a, &o, 5000, 0, 0, 0, SALT);
	assert_int_equal(memlane_evict(a, o.h), MEMLANE_ENOSPILL);
	assert_int_equal(memlane_evict(a, MEMLANE_NULL), MEMLANE_EHANDLE);
	assert_int_equal(memlane_flush(a), MEMLANE_ENOSPILL);
	assert_int_equal(memlane_checkpoint(a), MEMLANE_ENOSPILL);
	assert_int_equal(memlane_prefetch(a, o.h), 0);
	assert_int_equal(memlane_prefetch(a, MEMLANE_NULL), MEMLANE_EHANDLE);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SLOW);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.spilled_objects, 0);
	tu_verify(a, &o);
	tu_close(a);
}

static void test_open_close_args(void **state)
{
	(void)state;
	memlane_arena *a = NULL;
	assert_int_equal(memlane_open(&a, NULL, NULL), 0);
	assert_non_null(a);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fast_lane_size, 16 * TU_MiB);
	assert_int_equal(st.slow_lane_size, 256 * TU_MiB);
	assert_int_equal(st.objects, 0);
	tu_close(a);
	assert_int_equal(memlane_close(NULL), MEMLANE_EINVAL);
	assert_int_equal(memlane_open(NULL, NULL, NULL), MEMLANE_EINVAL);
	memlane_config cfg;
	memlane_config_init(&cfg);
	cfg.threshold = 3; /* out of range */
	assert_int_equal(memlane_open(&a, NULL, &cfg), MEMLANE_EINVAL);
	assert_true(tu_contains(memlane_errmsg(), "threshold"));
}

static void test_version_and_errors(void **state)
{
	(void)state;
	assert_string_equal(memlane_version(), "0.1.0");
	char v[32];
	snprintf(v, sizeof(v), "%d.%d.%d", MEMLANE_VERSION_MAJOR, MEMLANE_VERSION_MINOR, MEMLANE_VERSION_PATCH);
	assert_string_equal(memlane_version(), v);
	const char *seen[32];
	for (int e = 0; e >= MEMLANE_ELAST; e--) {
		const char *s = memlane_strerror(e);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (int k = 0; k < -e; k++)
			if (strcmp(seen[k], s) == 0)
				fail_msg("codes %d and %d share the description \"%s\"", -k, e, s);
		seen[-e] = s;
	}
	assert_non_null(memlane_strerror(MEMLANE_ELAST - 1));
	assert_non_null(memlane_strerror(-1000));
	assert_non_null(memlane_strerror(1));   /* EPERM */
	assert_non_null(memlane_strerror(12));  /* ENOMEM */
	assert_non_null(memlane_strerror(100000));
	assert_non_null(memlane_errmsg());
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_variants),
		cmocka_unit_test(test_pin_nesting),
		cmocka_unit_test(test_pin_count_limit),
		cmocka_unit_test(test_read_write_bounds),
		cmocka_unit_test(test_realloc_keeps_handle),
		cmocka_unit_test(test_realloc_zero_tail),
		cmocka_unit_test(test_zero_reused_memory),
		cmocka_unit_test(test_typed_macros),
		cmocka_unit_test(test_size_state_valid_tag),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_memory_only_pager_calls),
		cmocka_unit_test(test_open_close_args),
		cmocka_unit_test(test_version_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
