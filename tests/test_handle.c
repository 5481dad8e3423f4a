/* test_handle.c - the handle table: null, forged, stale, double-freed
 * and foreign handles are refused with MEMLANE_EHANDLE and touch
 * nothing; generations wrap by retiring the slot; no handle is 0. */
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define SALT 0x48414e444c45ull /* "HANDLE" */

/* Bystander objects whose bytes must survive every refused call. */
#define NBY 8
static void make_bystanders(memlane_arena *a, tu_obj *by)
{
	for (size_t i = 0; i < NBY; i++)
		tu_must_alloc(a, &by[i], 40 + i * 300, 0, 0, (uint32_t)i, SALT);
}

/* Every call that takes a handle refuses @h without touching anything. */
static void expect_refused(memlane_arena *a, memlane_handle h)
{
	uint8_t buf[16] = {0};
	void *p = (void *)&buf;
	memlane_stats before = tu_stats(a);

	assert_int_equal(memlane_free(a, h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_realloc(a, h, 64), MEMLANE_EHANDLE);
	assert_null(memlane_get(a, h));
	assert_null(memlane_get_ro(a, h));
	assert_int_equal(memlane_try_get(a, h, &p), MEMLANE_EHANDLE);
	assert_int_equal(memlane_pin(a, h, &p), MEMLANE_EHANDLE);
	assert_int_equal(memlane_unpin(a, h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_read(a, h, 0, buf, 1), MEMLANE_EHANDLE);
	assert_int_equal(memlane_write(a, h, 0, buf, 1), MEMLANE_EHANDLE);
	assert_int_equal(memlane_read(a, h, 0, buf, 0), MEMLANE_EHANDLE);
	assert_int_equal(memlane_promote(a, h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_evict(a, h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_prefetch(a, h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_root_set(a, "x", h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_INVALID);
	assert_int_equal(memlane_valid(a, h), 0);
	assert_int_equal(memlane_size(a, h), 0);
	assert_int_equal(memlane_tag(a, h), 0);
	assert_true(strlen(memlane_errmsg()) > 0);

	memlane_stats after = tu_stats(a);
	assert_int_equal(after.objects, before.objects);
	assert_int_equal(after.frees, before.frees);
	assert_int_equal(after.reallocs, before.reallocs);
	assert_int_equal(after.pinned_objects, before.pinned_objects);
	assert_int_equal(after.promotions, before.promotions);
	assert_int_equal(after.fast_used_bytes, before.fast_used_bytes);
	assert_int_equal(after.slow_used_bytes, before.slow_used_bytes);
}

static void test_null_handle(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj by[NBY];
	make_bystanders(a, by);
	expect_refused(a, MEMLANE_NULL);
	assert_true(tu_contains(memlane_errmsg(), "null") || tu_contains(memlane_errmsg(), "NULL"));
	tu_verify_all(a, by, NBY);
	tu_close(a);
}

static void test_forged_handles(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj by[NBY];
	make_bystanders(a, by);
	memlane_handle h = by[3].h;
	memlane_handle forged[] = {
		h ^ (1ull << 32),            /* another generation */
		h ^ (0x5ull << 40),          /* another generation, high bits */
		h + 1000,                    /* a slot past the table */
		(h & ~0xffffffffull) | 0xfffffffe, /* a slot far past the table */
		h ^ (1ull << 52),            /* another arena id */
		h & 0xffffffffull,           /* generation and arena bits cleared */
		h & ~(0xfffull << 52),       /* arena bits cleared */
		~h,
		1,
		UINT64_MAX,
		0x0010000100000000ull,
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(forged); i++) {
		int live = 0;
		for (size_t j = 0; j < NBY; j++)
			live |= forged[i] == by[j].h;
		if (live)
			continue; /* a forgery that happens to be a real handle */
		expect_refused(a, forged[i]);
		tu_verify_all(a, by, NBY);
	}
	/* The errmsg names the handle. */
	memlane_handle f = h ^ (1ull << 32);
	assert_int_equal(memlane_free(a, f), MEMLANE_EHANDLE);
	char hex[32];
	snprintf(hex, sizeof(hex), "%llx", (unsigned long long)f);
	char HEX[32];
	snprintf(HEX, sizeof(HEX), "%llX", (unsigned long long)f);
	assert_true(tu_contains(memlane_errmsg(), hex) || tu_contains(memlane_errmsg(), HEX));
	tu_close(a);
}

static void test_stale_handle(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj by[NBY];
	make_bystanders(a, by);
	tu_obj o;
	tu_must_alloc(a, &o, 100, 0, 0, 7, SALT);
	memlane_handle old = o.h;
	tu_free_obj(a, &o);
	expect_refused(a, old);

	/* The slot is reused: the new handle differs, the old one stays dead. */
	tu_obj n;
	tu_must_alloc(a, &n, 100, 0, 0, 8, SALT + 1);
	assert_true(n.h != old);
	expect_refused(a, old);
	tu_verify(a, &n);
	assert_int_equal(memlane_valid(a, n.h), 1);
	tu_verify_all(a, by, NBY);

	/* SlowLane objects too. */
	tu_obj s;
	tu_must_alloc(a, &s, 100000, 0, 0, 9, SALT);
	memlane_handle sold = s.h;
	tu_free_obj(a, &s);
	expect_refused(a, sold);
	tu_verify(a, &n);
	tu_verify_all(a, by, NBY);
	tu_close(a);
}

static void test_double_free(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj by[NBY];
	make_bystanders(a, by);
	const size_t sizes[] = {0, 1, 200, 5000, 200000};
	for (size_t i = 0; i < TU_ARRAY_LEN(sizes); i++) {
		tu_obj o;
		tu_must_alloc(a, &o, sizes[i], 0, 0, 0, SALT);
		memlane_handle h = o.h;
		memlane_stats s0 = tu_stats(a);
		tu_free_obj(a, &o);
		memlane_stats s1 = tu_stats(a);
		assert_int_equal(s1.frees, s0.frees + 1);
		assert_int_equal(s1.objects, s0.objects - 1);
		assert_int_equal(memlane_free(a, h), MEMLANE_EHANDLE);
		assert_int_equal(memlane_free(a, h), MEMLANE_EHANDLE);
		memlane_stats s2 = tu_stats(a);
		assert_int_equal(s2.frees, s1.frees);
		assert_int_equal(s2.objects, s1.objects);
		assert_int_equal(s2.fast_reserved_bytes, s1.fast_reserved_bytes);
		assert_int_equal(s2.slow_reserved_bytes, s1.slow_reserved_bytes);
		tu_verify_all(a, by, NBY);
	}
	tu_close(a);
}

static void test_foreign_handle(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	memlane_arena *b = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	/* The first objects of two fresh arenas: same slot, same generation;
	 * only the arena bits tell them apart. */
	tu_obj oa, ob;
	tu_must_alloc(a, &oa, 64, 0, 0, 1, SALT);
	tu_must_alloc(b, &ob, 64, 0, 0, 2, SALT + 1);
	assert_true(oa.h != ob.h);
	assert_int_equal(oa.h & 0x000fffffffffffffull, ob.h & 0x000fffffffffffffull);
	assert_true((oa.h >> 52) != 0);
	assert_true((ob.h >> 52) != 0);

	tu_obj bya[NBY], byb[NBY];
	make_bystanders(a, bya);
	make_bystanders(b, byb);
	expect_refused(a, ob.h);
	expect_refused(b, oa.h);
	for (size_t i = 0; i < NBY; i++) {
		assert_int_equal(memlane_valid(a, byb[i].h), 0);
		assert_int_equal(memlane_free(a, byb[i].h), MEMLANE_EHANDLE);
	}
	tu_verify(a, &oa);
	tu_verify(b, &ob);
	tu_verify_all(a, bya, NBY);
	tu_verify_all(b, byb, NBY);
	assert_int_equal(memlane_valid(b, ob.h), 1);
	assert_int_equal(memlane_valid(a, oa.h), 1);
	assert_int_equal(memlane_tag(a, oa.h), 1);
	assert_int_equal(memlane_tag(b, ob.h), 2);
	tu_close(a);
	tu_close(b);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* alloc/free in a loop reuses one slot; when its 20-bit generation runs
 * out the slot is retired (never reused) rather than wrapping back to a
 * generation that old handles carry. */
static void test_generation_wrap_retires_slot(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj keep;
	tu_must_alloc(a, &keep, 32, 0, 0, 0, SALT);

	const size_t n = ((size_t)1 << 20) + 16;
	uint64_t *hs = malloc(n * sizeof(*hs));
	assert_non_null(hs);
	uint32_t slot0 = 0;
	size_t on_slot0 = 0;
	for (size_t i = 0; i < n; i++) {
		memlane_handle h;
		int rc = memlane_alloc(a, 16, &h);
		if (rc != 0)
			fail_msg("cycle %zu: alloc = %d (%s)", i, rc, memlane_errmsg());
		if (h == MEMLANE_NULL)
			fail_msg("cycle %zu: null handle", i);
		if (i == 0)
			slot0 = (uint32_t)h;
		on_slot0 += (uint32_t)h == slot0;
		hs[i] = h;
		rc = memlane_free(a, h);
		if (rc != 0)
			fail_msg("cycle %zu: free = %d (%s)", i, rc, memlane_errmsg());
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.retired_slots, 1);
	assert_true(st.handle_slots >= 3);
	/* Generations 1 .. 2^20-2 were handed out on the slot: 2^20-2 handles
	 * (allow one either way for where exactly the cut is). */
	if (on_slot0 < ((size_t)1 << 20) - 3 || on_slot0 > ((size_t)1 << 20) - 1)
		fail_msg("slot %u was used %zu times before retiring; expected about 2^20-2", slot0, on_slot0);

	/* Every handle ever handed out is distinct, and none is valid. */
	qsort(hs, n, sizeof(*hs), cmp_u64);
	for (size_t i = 1; i < n; i++)
		if (hs[i] == hs[i - 1])
			fail_msg("handle 0x%016llx handed out twice", (unsigned long long)hs[i]);
	for (size_t i = 0; i < n; i++)
		if (memlane_valid(a, hs[i]))
			fail_msg("freed handle 0x%016llx is valid", (unsigned long long)hs[i]);

	/* New objects land on other slots, and still no old handle is valid. */
	tu_obj fresh[4];
	for (size_t i = 0; i < 4; i++) {
		tu_must_alloc(a, &fresh[i], 16, 0, 0, 0, SALT);
		assert_true((uint32_t)fresh[i].h != slot0);
		assert_null(bsearch(&fresh[i].h, hs, n, sizeof(*hs), cmp_u64));
	}
	for (size_t i = 0; i < n; i += 997)
		assert_int_equal(memlane_free(a, hs[i]), MEMLANE_EHANDLE);
	for (size_t i = 0; i < n; i++)
		if (memlane_valid(a, hs[i]))
			fail_msg("freed handle 0x%016llx is valid after new allocations", (unsigned long long)hs[i]);
	tu_verify_all(a, fresh, 4);
	tu_verify(a, &keep);
	assert_int_equal(tu_stats(a).retired_slots, 1);
	free(hs);
	tu_close(a);
}

/* No handle is ever 0, whatever the lane, size or order. */
static void test_handles_never_zero(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	enum { N = 3000 };
	memlane_handle *hs = calloc(N, sizeof(*hs));
	assert_non_null(hs);
	tu_rng r = {42};
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < N; i++) {
			size_t size = (i % 50 == 0) ? tu_range(&r, 2000, 30000) : tu_range(&r, 0, 300);
			assert_int_equal(memlane_alloc(a, size, &hs[i]), 0);
			assert_true(hs[i] != MEMLANE_NULL);
			assert_true((hs[i] >> 52) != 0);
			assert_true(((hs[i] >> 32) & 0xfffff) != 0);
		}
		for (size_t i = 0; i < N; i++)
			assert_int_equal(memlane_free(a, hs[(i * 7919) % N]), 0);
	}
	free(hs);
	tu_close(a);
}

/* Handles of a closed arena are not valid in the next one, even when
 * it hands out the same slots. */
static void test_handles_of_closed_arena(void **state)
{
	(void)state;
	enum { N = 16, ROUNDS = 40 };
	memlane_handle old[ROUNDS][N];
	for (int r = 0; r < ROUNDS; r++) {
		memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
		tu_obj o[N];
		for (int i = 0; i < N; i++) {
			tu_must_alloc(a, &o[i], 24, 0, 0, 0, SALT);
			old[r][i] = o[i].h;
		}
		for (int p = 0; p < r; p++)
			for (int i = 0; i < N; i++) {
				assert_true(old[p][i] != o[i].h);
				expect_refused(a, old[p][i]);
			}
		tu_verify_all(a, o, N);
		tu_close(a);
	}
}

/* The handle table reserves its address space up front. Under an
 * address-space limit (ulimit -v) it must take only part of what is
 * left: the lanes and objects still work, and the handles stay valid.
 * Runs in a child, since the limit cannot be lifted again. Skipped
 * under the sanitizers, whose shadow memory needs terabytes. */
static void test_address_space_limit(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip();
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	skip();
#endif
#endif
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {(rlim_t)4 << 30, (rlim_t)4 << 30};
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		memlane_config cfg;
		memlane_config_init(&cfg);
		if (memlane_config_parse(&cfg, "fast_lane_size=16M,slow_lane_size=256M") != 0)
			_exit(4);
		memlane_arena *a;
		if (memlane_open(&a, NULL, &cfg) != 0)
			_exit(5);
		enum { N = 20000 };
		static memlane_handle h[N];
		for (unsigned i = 0; i < N; i++) {
			if (memlane_alloc(a, 64 + i % 512, &h[i]) != 0)
				_exit(6);
			memset(memlane_get(a, h[i]), (int)(i & 0xff), 64);
		}
		/* Room is left for more mappings: another arena, with a lane
		 * of over a third of the limit, opens. */
		memlane_arena *b;
		if (memlane_config_parse(&cfg, "slow_lane_size=1536M") != 0 || memlane_open(&b, NULL, &cfg) != 0)
			_exit(7);
		memlane_close(b);
		for (unsigned i = 0; i < N; i++) {
			const uint8_t *p = memlane_get_ro(a, h[i]);
			if (!p || p[0] != (uint8_t)(i & 0xff) || p[63] != (uint8_t)(i & 0xff))
				_exit(8);
		}
		memlane_close(a);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_handle),
		cmocka_unit_test(test_forged_handles),
		cmocka_unit_test(test_stale_handle),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_foreign_handle),
		cmocka_unit_test(test_generation_wrap_retires_slot),
		cmocka_unit_test(test_handles_never_zero),
		cmocka_unit_test(test_handles_of_closed_arena),
		cmocka_unit_test(test_address_space_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
