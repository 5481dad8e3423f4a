/* test_fastlane.c - the FastLane: bump pointer and per-class free lists,
 * frame-scratch use that never exhausts it, the full-lane chain
 * (compact, then promote, then fall back), routing by padded size,
 * size 0, larger free blocks split for smaller objects, neighbouring
 * free blocks merged. */
#include "testutil.h"

#define SALT 0x46415354ull /* "FAST" */

/* Objects are bumped one after the other; a freed block goes on its
 * class's free list and the next object of that class takes it. */
static void test_bump_and_free_list(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=4M,promotion_age=1000000");
	const size_t sizes[] = {1, 16, 17, 48, 100, 255, 256, 257, 300, 500, 700, 800};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	tu_obj o[N];
	size_t top = 0, used = 0;
	for (size_t i = 0; i < N; i++) {
		tu_must_alloc(a, &o[i], sizes[i], 0, 0, 0, SALT);
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_FAST);
		top += tu_class_size(sizes[i]);
		used += sizes[i];
		memlane_stats st = tu_stats(a);
		assert_int_equal(st.fast_top_bytes, top);
		assert_int_equal(st.fast_reserved_bytes, top);
		assert_int_equal(st.fast_used_bytes, used);
		assert_int_equal(st.fast_free_bytes, 0);
		assert_int_equal(st.fast_objects, i + 1);
		assert_int_equal(st.slow_objects, 0);
		if (i > 0) /* bump: each object right after the previous one */
			assert_ptr_equal((uint8_t *)memlane_get(a, o[i - 1].h) + tu_class_size(sizes[i - 1]),
			                 memlane_get(a, o[i].h));
	}
	tu_verify_all(a, o, N);

	/* Free one in the middle: a hole on the free list of its class. */
	uint8_t *hole = memlane_get(a, o[4].h);
	size_t cls = tu_class_size(sizes[4]);
	tu_free_obj(a, &o[4]);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fast_top_bytes, top);
	assert_int_equal(st.fast_free_bytes, cls);
	assert_true(st.fast_fragmentation > 0.0);
	/* An object of the same class takes it: no bump. */
	tu_must_alloc(a, &o[4], sizes[4] - 3, 0, 0, 0, SALT + 1);
	assert_ptr_equal(memlane_get(a, o[4].h), hole);
	st = tu_stats(a);
	assert_int_equal(st.fast_top_bytes, top);
	assert_int_equal(st.fast_free_bytes, 0);

	/* Freeing the block at the top lowers the bump pointer. */
	size_t last = tu_class_size(sizes[N - 1]);
	tu_free_obj(a, &o[N - 1]);
	st = tu_stats(a);
	assert_int_equal(st.fast_top_bytes, top - last);
	assert_int_equal(st.fast_free_bytes, 0);
	tu_verify_all(a, o, N);

	/* Freeing everything resets the lane. */
	for (size_t i = 0; i + 1 < N; i++)
		tu_free_obj(a, &o[(i * 5) % (N - 1)]);
	st = tu_stats(a);
	assert_int_equal(st.fast_objects, 0);
	assert_int_equal(st.fast_top_bytes, 0);
	assert_int_equal(st.fast_free_bytes, 0);
	assert_int_equal(st.fast_used_bytes, 0);
	assert_int_equal(st.fast_reserved_bytes, 0);
	assert_true(st.fast_fragmentation == 0.0);
	assert_int_equal(st.fallbacks, 0);
	assert_int_equal(st.promotions, 0);
	tu_close(a);
}

static void shuffle(tu_rng *r, size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = tu_range(r, 0, i);
		size_t t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* Game loop: each frame allocates hundreds of mixed small objects and
 * frees them all (in random order); thousands of frames. The FastLane
 * never runs out and nothing falls back or leaves it. */
static void frame_scratch(const char *options, size_t nkeep)
{
	memlane_arena *a = tu_open(options);
	enum { FRAMES = 2000, PER_FRAME = 300 };
	tu_obj keep[8];
	assert_true(nkeep <= 8);
	for (size_t i = 0; i < nkeep; i++)
		tu_must_alloc(a, &keep[i], 24 + i * 100, 0, 0, 0, SALT);
	memlane_handle *h = malloc(PER_FRAME * sizeof(*h));
	size_t *sz = malloc(PER_FRAME * sizeof(*sz));
	size_t *order = malloc(PER_FRAME * sizeof(*order));
	assert_non_null(h);
	assert_non_null(sz);
	assert_non_null(order);
	tu_rng r = {7};
	for (int f = 0; f < FRAMES; f++) {
		size_t n = tu_range(&r, PER_FRAME / 2, PER_FRAME);
		for (size_t i = 0; i < n; i++) {
			sz[i] = tu_range(&r, 0, 9) == 0 ? tu_range(&r, 300, 880) : tu_range(&r, 1, 200);
			int rc = memlane_alloc(a, sz[i], &h[i]);
			if (rc != 0)
				fail_msg("frame %d object %zu (%zu bytes): %d (%s)", f, i, sz[i], rc, memlane_errmsg());
			if (memlane_handle_state(a, h[i]) != MEMLANE_STATE_FAST)
				fail_msg("frame %d object %zu (%zu bytes) is not in the FastLane", f, i, sz[i]);
			/* Stamp the first bytes with the frame and index. */
			uint64_t stamp = ((uint64_t)f << 32) | i;
			size_t len = sz[i] < 8 ? sz[i] : 8;
			assert_int_equal(memlane_write(a, h[i], 0, &stamp, len), 0);
		}
		for (size_t i = 0; i < n; i += 17) {
			uint64_t stamp = ((uint64_t)f << 32) | i, got = 0;
			size_t len = sz[i] < 8 ? sz[i] : 8;
			assert_int_equal(memlane_read(a, h[i], 0, &got, len), 0);
			assert_memory_equal(&got, &stamp, len);
		}
		shuffle(&r, order, n);
		for (size_t i = 0; i < n; i++) {
			int rc = memlane_free(a, h[order[i]]);
			if (rc != 0)
				fail_msg("frame %d: free = %d (%s)", f, rc, memlane_errmsg());
		}
		assert_int_equal(memlane_tick(a), 0);
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fallbacks, 0);
	assert_int_equal(st.promotions, 0);
	assert_int_equal(st.slow_objects, 0);
	assert_int_equal(st.fast_objects, nkeep);
	assert_int_equal(st.objects, nkeep);
	assert_int_equal(st.ticks, FRAMES);
	if (nkeep == 0)
		assert_int_equal(st.fast_top_bytes, 0);
	for (size_t i = 0; i < nkeep; i++)
		assert_int_equal(memlane_handle_state(a, keep[i].h), MEMLANE_STATE_FAST);
	tu_verify_all(a, keep, nkeep);
	free(h);
	free(sz);
	free(order);
	tu_close(a);
}

static void test_frame_scratch(void **state)
{
	(void)state;
	frame_scratch("fast_lane_size=256K,slow_lane_size=4M", 0);
}

/* The same with a few long-lived objects below the scratch: the lane
 * never empties, so holes and free lists must carry it. */
static void test_frame_scratch_with_long_lived(void **state)
{
	(void)state;
	frame_scratch("fast_lane_size=256K,slow_lane_size=4M,promotion_age=4294967296", 5);
}

/* Fill a 64K FastLane with 256 objects of 256 bytes: the bump pointer
 * reaches the end. */
#define FULLN 256
static void fill_fast(memlane_arena *a, tu_obj *o)
{
	for (size_t i = 0; i < FULLN; i++) {
		tu_must_alloc(a, &o[i], 256, 0, 0, (uint32_t)i, SALT);
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_FAST);
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fast_top_bytes, st.fast_lane_size);
	assert_int_equal(st.fast_lane_size, 65536);
	assert_int_equal(st.fast_free_bytes, 0);
}

/* Full FastLane with holes: an object of another class is placed after
 * compacting, in the FastLane, without promotion or fallback. */
static void test_full_fast_compacts_first(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj o[FULLN];
	fill_fast(a, o);
	for (size_t i = 0; i < FULLN; i += 2)
		tu_free_obj(a, &o[i]);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.fast_top_bytes, 65536);
	assert_int_equal(s0.fast_free_bytes, 32768);

	tu_obj n;
	tu_must_alloc(a, &n, 512, 0, 0, 0, SALT + 1);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(memlane_handle_state(a, n.h), MEMLANE_STATE_FAST);
	assert_true(s1.compactions > s0.compactions);
	assert_true(s1.moved_objects > s0.moved_objects);
	assert_true(s1.moved_bytes > s0.moved_bytes);
	assert_int_equal(s1.promotions, 0);
	assert_int_equal(s1.fallbacks, 0);
	assert_int_equal(s1.fast_objects, FULLN / 2 + 1);
	assert_int_equal(s1.fast_free_bytes, 0);
	assert_int_equal(s1.fast_top_bytes, 32768 + 512);
	tu_verify(a, &n);
	for (size_t i = 1; i < FULLN; i += 2) {
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_FAST);
		assert_int_equal(memlane_tag(a, o[i].h), i);
	}
	tu_verify_all(a, o, FULLN);
	tu_close(a);
}

/* Full FastLane without holes: compaction cannot help, so the oldest
 * objects are promoted and the new one still goes in the FastLane. */
static void test_full_fast_promotes_oldest(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj o[FULLN];
	fill_fast(a, o);
	memlane_stats s0 = tu_stats(a);
	tu_obj n;
	tu_must_alloc(a, &n, 256, 0, 0, 0, SALT + 1);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(memlane_handle_state(a, n.h), MEMLANE_STATE_FAST);
	assert_true(s1.promotions > s0.promotions);
	assert_int_equal(s1.fallbacks, 0);
	assert_int_equal(s1.slow_objects, s1.promotions);
	assert_int_equal(s1.objects, FULLN + 1);
	/* The oldest went first. */
	assert_int_equal(memlane_handle_state(a, o[0].h), MEMLANE_STATE_SLOW);
	assert_int_equal(memlane_handle_state(a, o[FULLN - 1].h), MEMLANE_STATE_FAST);
	for (size_t i = 0; i < FULLN; i++)
		assert_int_equal(memlane_tag(a, o[i].h), i);
	tu_verify(a, &n);
	tu_verify_all(a, o, FULLN);
	tu_close(a);
}

/* Full FastLane, every object pinned: nothing can move or be promoted,
 * so the new object falls back to the SlowLane. */
static void test_full_fast_pinned_falls_back(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj o[FULLN];
	fill_fast(a, o);
	for (size_t i = 0; i < FULLN; i++)
		assert_int_equal(memlane_pin(a, o[i].h, &o[i].pinned), 0);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.pinned_objects, FULLN);

	tu_obj n[3];
	for (size_t k = 0; k < 3; k++) {
		tu_must_alloc(a, &n[k], 100 + k, 0, 0, 0, SALT + 2);
		assert_int_equal(memlane_handle_state(a, n[k].h), MEMLANE_STATE_SLOW);
	}
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.fallbacks, s0.fallbacks + 3);
	assert_int_equal(s1.promotions, 0);
	assert_int_equal(s1.fast_objects, FULLN);
	assert_int_equal(s1.slow_objects, 3);
	for (size_t i = 0; i < FULLN; i++) {
		void *p;
		assert_int_equal(memlane_pin(a, o[i].h, &p), 0);
		assert_ptr_equal(p, o[i].pinned);
		assert_int_equal(memlane_unpin(a, o[i].h), 0);
		assert_int_equal(memlane_unpin(a, o[i].h), 0);
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_FAST);
	}
	tu_verify_all(a, n, 3);
	tu_verify_all(a, o, FULLN);

	/* Unpinned now: the next allocation makes room in the FastLane. */
	tu_obj m;
	tu_must_alloc(a, &m, 100, 0, 0, 0, SALT + 3);
	assert_int_equal(memlane_handle_state(a, m.h), MEMLANE_STATE_FAST);
	assert_int_equal(tu_stats(a).fallbacks, s0.fallbacks + 3);
	tu_verify(a, &m);
	tu_verify_all(a, o, FULLN);
	tu_close(a);
}

/* Routing looks at the padded size: threshold-1 bytes at 64-byte (and
 * larger) alignment always succeed, aligned, wherever they land. */
static void test_routing_padded_size(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,threshold=1K");
	const size_t aligns[] = {0, 1, 2, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
	tu_obj o[64];
	size_t n = 0;
	for (size_t i = 0; i < TU_ARRAY_LEN(aligns); i++) {
		const size_t sizes[] = {1023, 1009, 1000, 1024, 1025, 960};
		for (size_t k = 0; k < TU_ARRAY_LEN(sizes); k++) {
			assert_true(n < TU_ARRAY_LEN(o));
			int rc = tu_alloc_obj(a, &o[n], sizes[k], 0, aligns[i], 0, SALT);
			if (rc != 0)
				fail_msg("size %zu align %zu: %d (%s)", sizes[k], aligns[i], rc, memlane_errmsg());
			memlane_state s = memlane_handle_state(a, o[n].h);
			assert_true(s == MEMLANE_STATE_FAST || s == MEMLANE_STATE_SLOW);
			if (sizes[k] >= 1024)
				assert_int_equal(s, MEMLANE_STATE_SLOW);
			n++;
		}
		tu_verify_all(a, o, n);
		while (n > 0)
			tu_free_obj(a, &o[--n]);
	}
	/* Small objects at any alignment stay in the FastLane. */
	for (size_t i = 0; i < TU_ARRAY_LEN(aligns); i++) {
		tu_must_alloc(a, &o[n], 24, 0, aligns[i], 0, SALT);
		assert_int_equal(memlane_handle_state(a, o[n].h), MEMLANE_STATE_FAST);
		n++;
	}
	tu_verify_all(a, o, n);
	assert_int_equal(tu_stats(a).fallbacks, 0);
	tu_close(a);
}

/* MEMLANE_FAST / MEMLANE_SLOW ask for a lane; bad flags and alignments
 * are refused. */
static void test_lane_flags(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=256K,slow_lane_size=4M,threshold=1K");
	tu_obj o[8];
	tu_must_alloc(a, &o[0], 2000, MEMLANE_FAST, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o[0].h), MEMLANE_STATE_FAST);
	tu_must_alloc(a, &o[1], 65536, MEMLANE_FAST, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o[1].h), MEMLANE_STATE_FAST);
	tu_must_alloc(a, &o[2], 65535, MEMLANE_FAST, 4096, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o[2].h), MEMLANE_STATE_FAST);
	tu_must_alloc(a, &o[3], 65537, MEMLANE_FAST, 0, 0, SALT); /* does not fit a class: SlowLane */
	assert_int_equal(memlane_handle_state(a, o[3].h), MEMLANE_STATE_SLOW);
	tu_must_alloc(a, &o[4], 10, MEMLANE_SLOW, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o[4].h), MEMLANE_STATE_SLOW);
	tu_must_alloc(a, &o[5], 10, 0, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o[5].h), MEMLANE_STATE_FAST);
	tu_must_alloc(a, &o[6], 5000, 0, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o[6].h), MEMLANE_STATE_SLOW);
	tu_must_alloc(a, &o[7], 10, MEMLANE_SLOW, 4096, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o[7].h), MEMLANE_STATE_SLOW);
	tu_verify_all(a, o, 8);

	memlane_stats s0 = tu_stats(a);
	memlane_handle h = 0x1234;
	memlane_alloc_opts bad;
	memset(&bad, 0, sizeof(bad));
	bad.flags = MEMLANE_FAST | MEMLANE_SLOW;
	assert_int_equal(memlane_alloc_ex(a, 10, &bad, &h), MEMLANE_EINVAL);
	bad.flags = 0x100;
	assert_int_equal(memlane_alloc_ex(a, 10, &bad, &h), MEMLANE_EINVAL);
	bad.flags = 0x80000000u;
	assert_int_equal(memlane_alloc_ex(a, 10, &bad, &h), MEMLANE_EINVAL);
	bad.flags = 0;
	const size_t bad_aligns[] = {3, 24, 100, 8192, 65536, (size_t)1 << 40, SIZE_MAX};
	for (size_t i = 0; i < TU_ARRAY_LEN(bad_aligns); i++) {
		bad.align = bad_aligns[i];
		assert_int_equal(memlane_alloc_ex(a, 10, &bad, &h), MEMLANE_EINVAL);
		assert_int_equal(memlane_alloc_ex(a, 100000, &bad, &h), MEMLANE_EINVAL);
	}
	assert_int_equal(memlane_alloc_array(a, 4, 8, 3, &h), MEMLANE_EINVAL);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.allocs, s0.allocs);
	assert_int_equal(s1.objects, s0.objects);
	tu_verify_all(a, o, 8);

	/* NULL opts: defaults. */
	memlane_handle d;
	assert_int_equal(memlane_alloc_ex(a, 40, NULL, &d), 0);
	assert_int_equal(memlane_handle_state(a, d), MEMLANE_STATE_FAST);
	assert_int_equal((uintptr_t)memlane_get(a, d) % 16, 0);
	tu_close(a);
}

/* Size 0 is an object like any other. */
static void test_size_zero(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	memlane_handle h[4];
	assert_int_equal(memlane_alloc(a, 0, &h[0]), 0);
	memlane_alloc_opts o;
	memset(&o, 0, sizeof(o));
	o.flags = MEMLANE_SLOW;
	assert_int_equal(memlane_alloc_ex(a, 0, &o, &h[1]), 0);
	o.flags = MEMLANE_ZERO;
	o.align = 4096;
	assert_int_equal(memlane_alloc_ex(a, 0, &o, &h[2]), 0);
	assert_int_equal(memlane_alloc_array(a, 0, 16, 0, &h[3]), 0);
	for (int i = 0; i < 4; i++) {
		assert_true(h[i] != MEMLANE_NULL);
		assert_int_equal(memlane_valid(a, h[i]), 1);
		assert_int_equal(memlane_size(a, h[i]), 0);
		assert_true(memlane_handle_state(a, h[i]) != MEMLANE_STATE_INVALID);
		assert_non_null(memlane_get(a, h[i]));
		uint8_t b = 0;
		assert_int_equal(memlane_read(a, h[i], 0, &b, 0), 0);
		assert_int_equal(memlane_read(a, h[i], 0, &b, 1), MEMLANE_ERANGE);
		assert_int_equal(memlane_write(a, h[i], 0, &b, 1), MEMLANE_ERANGE);
		assert_int_equal(memlane_read(a, h[i], 1, &b, 0), MEMLANE_ERANGE);
	}
	assert_int_equal(memlane_handle_state(a, h[1]), MEMLANE_STATE_SLOW);
	assert_int_equal((uintptr_t)memlane_get(a, h[2]) % 4096, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(memlane_free(a, h[i]), 0);
	assert_int_equal(tu_stats(a).objects, 0);
	tu_close(a);
}

/* A freed block of a large class serves smaller objects (split, the
 * rest back on the free lists) instead of the top growing: FastLane
 * fragmentation from a size mix that changes over time. */
static void test_split_larger_free_block(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=4M,promotion_age=1000000");
	tu_obj big, guard, small[10], al;
	tu_must_alloc(a, &big, 1000, MEMLANE_FAST, 0, 0, SALT); /* class 1024 */
	tu_must_alloc(a, &guard, 40, 0, 0, 0, SALT);             /* keeps big below the top */
	uint8_t *lo = memlane_get(a, big.h), *hi = lo + 1024;
	tu_free_obj(a, &big);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.fast_top_bytes, 1024 + 48);
	assert_int_equal(s0.fast_free_bytes, 1024);

	/* Ten 48-byte objects, then one 64-aligned: all inside the hole. */
	size_t taken = 0;
	for (size_t i = 0; i < TU_ARRAY_LEN(small); i++) {
		tu_must_alloc(a, &small[i], 33 + i, 0, 0, 0, SALT + i); /* class 48 */
		uint8_t *p = memlane_get(a, small[i].h);
		assert_true(p >= lo && p + 48 <= hi);
		taken += 48;
	}
	tu_must_alloc(a, &al, 200, 0, 64, 0, SALT + 99);
	uint8_t *p = memlane_get(a, al.h);
	assert_true(p >= lo && p + 208 <= hi);
	assert_int_equal((uintptr_t)p % 64, 0);
	taken += 208;
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.fast_top_bytes, s0.fast_top_bytes);
	assert_int_equal(s1.fast_free_bytes, 1024 - taken);
	assert_int_equal(s1.fast_reserved_bytes, 48 + taken);
	assert_int_equal(s1.compactions, 0);
	tu_verify_all(a, small, TU_ARRAY_LEN(small));
	tu_verify(a, &al);
	tu_verify(a, &guard);

	/* Compaction rebuilds the free lists: after it, the split blocks'
	 * bytes are intact and a big object bumps at the new top. */
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(s2.fast_free_bytes, s2.fast_top_bytes - s2.fast_reserved_bytes);
	tu_verify_all(a, small, TU_ARRAY_LEN(small));
	tu_verify(a, &al);
	tu_verify(a, &guard);
	tu_must_alloc(a, &big, 1000, MEMLANE_FAST, 0, 0, SALT + 7);
	tu_verify(a, &big);

	/* Freeing the small ones puts their blocks back on their own lists. */
	for (size_t i = 0; i < TU_ARRAY_LEN(small); i++)
		tu_free_obj(a, &small[i]);
	tu_free_obj(a, &al);
	tu_free_obj(a, &guard);
	tu_free_obj(a, &big);
	memlane_stats s3 = tu_stats(a);
	assert_int_equal(s3.fast_top_bytes, 0);
	assert_int_equal(s3.fast_free_bytes, 0);
	assert_int_equal(s3.fast_reserved_bytes, 0);
	tu_close(a);
}

/* A class whose list ran dry is not split from: the block it had was
 * taken whole, and the next smaller object bumps the top. */
static void test_split_after_list_emptied(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=4M,promotion_age=1000000");
	tu_obj big, guard, again, small;
	tu_must_alloc(a, &big, 700, 0, 0, 0, SALT);
	tu_must_alloc(a, &guard, 16, 0, 0, 0, SALT);
	uint8_t *hole = memlane_get(a, big.h);
	tu_free_obj(a, &big);
	tu_must_alloc(a, &again, 690, 0, 0, 0, SALT + 1); /* same class: takes it whole */
	assert_ptr_equal(memlane_get(a, again.h), hole);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.fast_free_bytes, 0);
	tu_must_alloc(a, &small, 100, 0, 0, 0, SALT + 2);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.fast_top_bytes, s0.fast_top_bytes + 112);
	assert_int_equal(s1.fast_free_bytes, 0);
	tu_verify(a, &again);
	tu_verify(a, &guard);
	tu_verify(a, &small);
	tu_close(a);
}

/* Free blocks of a small class next to each other are merged once
 * enough bytes were freed: bigger objects then fill the hole they left
 * instead of the top growing, and a hole that reaches the top lowers
 * it. */
static void test_coalesce_neighbours(void **state)
{
	(void)state;
	enum { NSMALL = 4096, NBIG = 120 };
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=8M,promotion_age=1000000");
	static tu_obj small[NSMALL], big[NBIG];
	tu_obj guard, tail;
	for (size_t i = 0; i < NSMALL; i++)
		tu_must_alloc(a, &small[i], 1 + i % 16, 0, 0, 0, SALT + i); /* class 16 */
	tu_must_alloc(a, &guard, 100, 0, 0, 0, SALT);
	uint8_t *lo = memlane_get(a, small[0].h), *hi = lo + NSMALL * 16;
	/* Free every second one, then the rest: no two frees of one run in
	 * a row, and no 16-byte block could hold a bigger object. */
	for (size_t i = 0; i < NSMALL; i += 2)
		tu_free_obj(a, &small[i]);
	for (size_t i = 1; i < NSMALL; i += 2)
		tu_free_obj(a, &small[i]);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.fast_top_bytes, NSMALL * 16 + 112);
	assert_int_equal(s0.fast_free_bytes, NSMALL * 16);

	for (size_t i = 0; i < NBIG; i++) {
		tu_must_alloc(a, &big[i], 400 + i, 0, 0, 0, SALT + 5000 + i); /* classes 448 and 512 */
		uint8_t *p = memlane_get(a, big[i].h);
		assert_true(p >= lo && p + 400 + i <= hi);
	}
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.fast_top_bytes, s0.fast_top_bytes);
	assert_int_equal(s1.fast_free_bytes, s1.fast_top_bytes - s1.fast_reserved_bytes);
	assert_int_equal(s1.compactions, 0);
	tu_verify_all(a, big, NBIG);
	tu_verify(a, &guard);

	tu_close(a);

	/* A run of free blocks that ends at the top lowers it, down to the
	 * last object. */
	a = tu_open("fast_lane_size=4M,slow_lane_size=8M,promotion_age=1000000");
	tu_must_alloc(a, &guard, 16, 0, 0, 0, SALT);
	for (size_t i = 0; i < NSMALL; i++)
		tu_must_alloc(a, &small[i], 16, 0, 0, 0, SALT + i);
	for (size_t i = 0; i < NSMALL; i += 2)
		tu_free_obj(a, &small[i]);
	for (size_t i = 1; i < NSMALL; i += 2)
		tu_free_obj(a, &small[i]);
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(s2.fast_top_bytes, 16 + (NSMALL - 1) * 16); /* only the top block came off */
	assert_int_equal(s2.fast_free_bytes, (NSMALL - 1) * 16);
	tu_must_alloc(a, &tail, 1000, 0, 0, 0, SALT + 9999);
	assert_ptr_equal(memlane_get(a, tail.h), (uint8_t *)memlane_get(a, guard.h) + 16);
	memlane_stats s3 = tu_stats(a);
	assert_int_equal(s3.fast_top_bytes, 16 + 1024);
	assert_int_equal(s3.fast_free_bytes, 0);
	assert_int_equal(s3.fast_reserved_bytes, 16 + 1024);
	tu_verify(a, &guard);
	tu_verify(a, &tail);
	tu_close(a);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bump_and_free_list),
		cmocka_unit_test(test_frame_scratch),
		cmocka_unit_test(test_frame_scratch_with_long_lived),
		cmocka_unit_test(test_full_fast_compacts_first),
		cmocka_unit_test(test_full_fast_promotes_oldest),
		cmocka_unit_test(test_full_fast_pinned_falls_back),
		cmocka_unit_test(test_routing_padded_size),
		cmocka_unit_test(test_lane_flags),
		cmocka_unit_test(test_size_zero),
		cmocka_unit_test(test_split_larger_free_block),
		cmocka_unit_test(test_split_after_list_emptied),
		cmocka_unit_test(test_coalesce_neighbours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
