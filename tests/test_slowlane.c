/* test_slowlane.c - the SlowLane: block region and blob region, reuse of
 * freed blob space, coalescing of free neighbours, the split adapting
 * to demand, ETOOBIG, and ENOMEM only when truly full. */
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

#define SALT 0x534c4f57ull /* "SLOW" */
#define LANE ((size_t)4 * TU_MiB)
#define MARGIN ((size_t)256 * TU_KiB)
#define OPTS "fast_lane_size=64K,slow_lane_size=4M,slow_lane_safety_margin=256K"
#define OPTS_NOCOMPACT OPTS ",auto_compaction=0"

static void test_block_and_blob_regions(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o[20];
	for (size_t i = 0; i < 10; i++)
		tu_must_alloc(a, &o[i], 1500 + i * 1000, 0, 0, 0, SALT); /* blocks, up to 16 KiB */
	memlane_stats st = tu_stats(a);
	assert_true(st.slow_block_region_bytes > 0);
	assert_int_equal(st.slow_blob_region_bytes, 0);
	for (size_t i = 10; i < 20; i++)
		tu_must_alloc(a, &o[i], 20000 + i * 10000, 0, 0, 0, SALT); /* blobs */
	st = tu_stats(a);
	assert_true(st.slow_block_region_bytes > 0);
	assert_true(st.slow_blob_region_bytes > 0);
	assert_int_equal(st.slow_objects, 20);
	size_t used = 0;
	for (size_t i = 0; i < 20; i++) {
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_SLOW);
		used += o[i].size;
	}
	assert_int_equal(st.slow_used_bytes, used);
	assert_true(st.slow_reserved_bytes >= used);
	assert_true(st.slow_block_region_bytes + st.slow_blob_region_bytes + st.slow_free_bytes >= LANE - 64 * TU_KiB);
	assert_true(st.slow_usage > 0.0 && st.slow_usage < 1.0);
	/* Blocks grow up from the bottom, blobs down from the top. */
	uintptr_t max_block = 0, min_blob = UINTPTR_MAX;
	for (size_t i = 0; i < 10; i++) {
		uintptr_t p = (uintptr_t)memlane_get(a, o[i].h);
		if (p > max_block)
			max_block = p;
	}
	for (size_t i = 10; i < 20; i++) {
		uintptr_t p = (uintptr_t)memlane_get(a, o[i].h);
		if (p < min_blob)
			min_blob = p;
	}
	assert_true(max_block < min_blob);
	tu_verify_all(a, o, 20);
	for (size_t i = 0; i < 20; i++)
		tu_free_obj(a, &o[i]);
	st = tu_stats(a);
	assert_int_equal(st.slow_used_bytes, 0);
	assert_int_equal(st.slow_reserved_bytes, 0);
	assert_int_equal(st.slow_objects, 0);
	tu_close(a);
}

/* Allocate and free big blobs far past the lane's size in total, with
 * auto_compaction off: only reuse of freed blob space can carry it. */
static void test_blob_space_reused(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS_NOCOMPACT);
	tu_obj keep[2];
	tu_must_alloc(a, &keep[0], 300000, 0, 0, 0, SALT);
	for (int i = 0; i < 100; i++) {
		tu_obj o;
		int rc = tu_alloc_obj(a, &o, 1 * TU_MiB, 0, 0, 0, SALT + (uint64_t)i);
		if (rc != 0)
			fail_msg("round %d: %d (%s)", i, rc, memlane_errmsg());
		if (i == 10)
			tu_must_alloc(a, &keep[1], 200000, 0, 0, 0, SALT);
		tu_verify(a, &o);
		tu_free_obj(a, &o);
	}
	/* 100 MiB through a 4 MiB lane, and not one compaction. */
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.compactions, 0);
	assert_int_equal(st.moved_bytes, 0);
	assert_true(st.slow_blob_region_bytes <= LANE);
	tu_verify_all(a, keep, 2);
	tu_close(a);

	/* Varied sizes, a few alive at a time, FIFO: never fails. */
	a = tu_open(OPTS);
	tu_rng r = {99};
	tu_obj q[3];
	memset(q, 0, sizeof(q));
	for (int i = 0; i < 300; i++) {
		tu_obj *o = &q[i % 3];
		if (o->h)
			tu_free_obj(a, o);
		size_t size = tu_range(&r, 20000, 900000);
		int rc = tu_alloc_obj(a, o, size, 0, 0, 0, SALT + (uint64_t)i);
		if (rc != 0)
			fail_msg("varied round %d (%zu bytes): %d (%s)", i, size, rc, memlane_errmsg());
		tu_verify_all(a, q, 3);
	}
	tu_close(a);
}

/* Fill the lane with 256 KiB blobs until it refuses. */
#define BLOB ((size_t)256 * TU_KiB)
static size_t fill_blobs(memlane_arena *a, tu_obj *o, size_t max, size_t size)
{
	size_t n = 0;
	for (;;) {
		assert_true(n < max);
		memlane_stats s0 = tu_stats(a);
		int rc = tu_alloc_obj(a, &o[n], size, 0, 0, (uint32_t)n, SALT);
		if (rc == MEMLANE_ENOMEM) {
			/* A failed call changes nothing. */
			memlane_stats s1 = tu_stats(a);
			assert_int_equal(s1.objects, s0.objects);
			assert_int_equal(s1.allocs, s0.allocs);
			assert_int_equal(s1.slow_reserved_bytes, s0.slow_reserved_bytes);
			o[n].h = MEMLANE_NULL;
			return n;
		}
		if (rc != 0)
			fail_msg("fill %zu: %d (%s)", n, rc, memlane_errmsg());
		n++;
	}
}

static uintptr_t *g_addr;
static int cmp_ptr_idx(const void *x, const void *y)
{
	uintptr_t a = g_addr[*(const size_t *)x], b = g_addr[*(const size_t *)y];
	return a < b ? -1 : a > b;
}

/* Free three neighbouring blobs in a given order, then allocate one
 * object spanning all three: it must land exactly on them, without
 * compaction. */
static void coalesce_order(const int order[3])
{
	memlane_arena *a = tu_open(OPTS);
	tu_obj o[64];
	size_t n = fill_blobs(a, o, 64, BLOB);
	assert_true(n >= 12);
	uintptr_t addr[64];
	size_t idx[64];
	for (size_t i = 0; i < n; i++) {
		addr[i] = (uintptr_t)memlane_get(a, o[i].h);
		idx[i] = i;
	}
	g_addr = addr;
	qsort(idx, n, sizeof(idx[0]), cmp_ptr_idx);
	/* Three neighbours in the middle of the region. */
	size_t k = n / 2 - 1;
	size_t trio[3] = {idx[k], idx[k + 1], idx[k + 2]};
	assert_int_equal(addr[trio[1]] - addr[trio[0]], BLOB);
	assert_int_equal(addr[trio[2]] - addr[trio[1]], BLOB);
	memlane_stats s0 = tu_stats(a);
	for (int i = 0; i < 3; i++)
		tu_free_obj(a, &o[trio[order[i]]]);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.slow_hole_bytes - s0.slow_hole_bytes, 3 * BLOB);

	tu_obj big;
	tu_must_alloc(a, &big, 3 * BLOB, 0, 0, 0, SALT + 1);
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(s2.compactions, s0.compactions);
	assert_int_equal(s2.moved_bytes, s0.moved_bytes);
	assert_int_equal((uintptr_t)memlane_get(a, big.h), addr[trio[0]]);
	assert_int_equal(s2.slow_hole_bytes, s0.slow_hole_bytes);
	tu_verify(a, &big);
	tu_verify_all(a, o, n);
	tu_close(a);
}

/* A freed blob of 64 KiB or more gives its whole pages back at once
 * (released_bytes, and mincore says they are gone); its neighbours keep
 * their bytes, and the hole takes a new object whose bytes read back.
 * A smaller blob keeps its pages for the next one. */
static void test_large_blob_pages_released(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS_NOCOMPACT);
	tu_obj left, big, right, small;
	tu_must_alloc(a, &left, 300000, 0, 0, 0, SALT);
	tu_must_alloc(a, &big, 1 * TU_MiB, 0, 0, 0, SALT + 1);
	tu_must_alloc(a, &right, 300000, 0, 0, 0, SALT + 2);
	tu_must_alloc(a, &small, 40000, 0, 0, 0, SALT + 3);
	uint8_t *p = memlane_get(a, big.h);
	assert_non_null(p);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *lo = (uint8_t *)(((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1));
	size_t span = ((uintptr_t)(p + big.size) & ~(uintptr_t)(page - 1)) - (uintptr_t)lo;
	unsigned char vec[1 * TU_MiB / 4096 + 1];
	assert_true(span / page <= sizeof(vec));
	assert_int_equal(mincore(lo, span, vec), 0);
	assert_true(vec[0] & 1); /* written, so resident */

	uint64_t before = tu_stats(a).released_bytes;
	tu_free_obj(a, &big);
	uint64_t released = tu_stats(a).released_bytes - before;
	assert_true(released >= span);
	assert_int_equal(mincore(lo, span, vec), 0);
	for (size_t i = 0; i < span / page; i++)
		if (vec[i] & 1)
			fail_msg("page %zu of the freed blob is still resident", i);
	tu_verify(a, &left);
	tu_verify(a, &right);

	before = tu_stats(a).released_bytes;
	tu_free_obj(a, &small); /* under 64 KiB: kept */
	assert_int_equal(tu_stats(a).released_bytes, before);

	tu_obj again;
	tu_must_alloc(a, &again, 900000, 0, 0, 0, SALT + 4);
	tu_verify(a, &again);
	tu_verify(a, &left);
	tu_verify(a, &right);
	tu_close(a);
}

static void test_free_neighbours_coalesce(void **state)
{
	(void)state;
	static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (size_t i = 0; i < 6; i++)
		coalesce_order(orders[i]);
}

/* Many neighbours freed in a random order merge into one hole. */
static void test_many_neighbours_coalesce(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS_NOCOMPACT);
	const size_t sz = 64 * TU_KiB;
	tu_obj o[128];
	size_t n = fill_blobs(a, o, 128, sz);
	assert_true(n >= 40);
	uintptr_t addr[128];
	size_t idx[128];
	for (size_t i = 0; i < n; i++) {
		addr[i] = (uintptr_t)memlane_get(a, o[i].h);
		idx[i] = i;
	}
	g_addr = addr;
	qsort(idx, n, sizeof(idx[0]), cmp_ptr_idx);
	size_t first = 10, count = 20;
	for (size_t i = 0; i + 1 < count; i++)
		assert_int_equal(addr[idx[first + i + 1]] - addr[idx[first + i]], sz);
	tu_rng r = {5};
	size_t perm[20];
	for (size_t i = 0; i < count; i++)
		perm[i] = i;
	for (size_t i = count - 1; i > 0; i--) {
		size_t j = tu_range(&r, 0, i), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < count; i++)
		tu_free_obj(a, &o[idx[first + perm[i]]]);
	tu_obj big;
	tu_must_alloc(a, &big, count * sz, 0, 0, 0, SALT + 2);
	assert_int_equal((uintptr_t)memlane_get(a, big.h), addr[idx[first]]);
	assert_int_equal(tu_stats(a).compactions, 0);
	tu_verify(a, &big);
	tu_verify_all(a, o, n);
	tu_close(a);
}

/* Fill with blocks, free them, fill with blobs: the blob region takes
 * the space the block region gave up; and the other way round. */
static void test_split_adapts(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	const size_t usable = LANE - MARGIN;
	enum { MAXB = 2048 };
	tu_obj *o = calloc(MAXB, sizeof(*o));
	assert_non_null(o);
	for (int round = 0; round < 2; round++) {
		/* blocks of 4 KiB */
		size_t nb = fill_blobs(a, o, MAXB, 4096);
		if (nb * 4096 < usable * 8 / 10)
			fail_msg("round %d: only %zu blocks of 4 KiB fit in %zu usable bytes", round, nb, usable);
		memlane_stats st = tu_stats(a);
		assert_true(st.slow_block_region_bytes >= nb * 4096);
		tu_verify_all(a, o, nb);
		for (size_t i = 0; i < nb; i++)
			tu_free_obj(a, &o[i]);
		/* blobs of 256 KiB */
		size_t nl = fill_blobs(a, o, MAXB, BLOB);
		if (nl * BLOB < usable * 8 / 10)
			fail_msg("round %d: only %zu blobs of 256 KiB fit after the blocks were freed", round, nl);
		st = tu_stats(a);
		assert_true(st.slow_blob_region_bytes >= nl * BLOB);
		tu_verify_all(a, o, nl);
		for (size_t i = 0; i < nl; i++)
			tu_free_obj(a, &o[i]);
	}
	/* Mixed: blobs then blocks fill the lane between them. */
	size_t nl = fill_blobs(a, o, MAXB, BLOB);
	for (size_t i = 0; i < nl; i += 2)
		tu_free_obj(a, &o[i]);
	size_t nb = fill_blobs(a, o + nl, MAXB - nl, 4096);
	assert_true(nb * 4096 >= (nl / 2) * BLOB * 7 / 10);
	tu_verify_all(a, o, nl + nb);
	free(o);
	tu_close(a);
}

static void test_too_big(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj keep;
	tu_must_alloc(a, &keep, 5000, 0, 0, 0, SALT);
	memlane_stats s0 = tu_stats(a);
	memlane_handle h = 0;
	const size_t too[] = {LANE - MARGIN + 1, LANE, LANE + 1, 64 * LANE, SIZE_MAX / 2, SIZE_MAX};
	for (size_t i = 0; i < TU_ARRAY_LEN(too); i++) {
		assert_int_equal(memlane_alloc(a, too[i], &h), MEMLANE_ETOOBIG);
		assert_true(strlen(memlane_errmsg()) > 0);
		memlane_alloc_opts o;
		memset(&o, 0, sizeof(o));
		o.flags = MEMLANE_FAST;
		assert_int_equal(memlane_alloc_ex(a, too[i], &o, &h), MEMLANE_ETOOBIG);
		assert_int_equal(memlane_realloc(a, keep.h, too[i]), MEMLANE_ETOOBIG);
	}
	assert_int_equal(memlane_alloc_array(a, SIZE_MAX / 2, 4, 0, &h), MEMLANE_ETOOBIG);
	assert_int_equal(memlane_alloc_array(a, (size_t)1 << 33, (size_t)1 << 33, 0, &h), MEMLANE_ETOOBIG);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.allocs, s0.allocs);
	assert_int_equal(s1.objects, s0.objects);
	assert_int_equal(s1.reallocs, s0.reallocs);
	tu_verify(a, &keep);
	assert_int_equal(memlane_size(a, keep.h), 5000);
	tu_free_obj(a, &keep);

	/* The largest object that can ever fit does fit, in an empty lane. */
	tu_obj big;
	tu_must_alloc(a, &big, LANE - MARGIN, 0, 0, 0, SALT + 1);
	assert_int_equal(memlane_handle_state(a, big.h), MEMLANE_STATE_SLOW);
	tu_verify(a, &big);
	tu_close(a);
}

/* Holes between pinned blobs: an object bigger than any hole gets
 * ENOMEM (nothing can move), and that failure changes nothing; one
 * that fits a hole succeeds; after unpinning, compaction makes room. */
static void test_enomem_only_when_truly_full(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o[64];
	size_t n = fill_blobs(a, o, 64, BLOB);
	assert_true(n >= 12);
	for (size_t i = 0; i < n; i++) {
		if (i % 2 == 0)
			tu_free_obj(a, &o[i]);
		else
			assert_int_equal(memlane_pin(a, o[i].h, &o[i].pinned), 0);
	}
	memlane_stats s0 = tu_stats(a);
	memlane_handle h = 0;
	assert_int_equal(memlane_alloc(a, 2 * BLOB, &h), MEMLANE_ENOMEM);
	assert_true(strlen(memlane_errmsg()) > 0);
	assert_int_equal(memlane_alloc(a, 2 * BLOB, &h), MEMLANE_ENOMEM);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.objects, s0.objects);
	assert_int_equal(s1.allocs, s0.allocs);
	assert_int_equal(s1.slow_reserved_bytes, s0.slow_reserved_bytes);
	assert_int_equal(s1.moved_bytes, s0.moved_bytes);
	/* (slow_hole_bytes after this failed call: see
	 * test_compact.c:test_hole_stats_after_compaction_with_pins) */
	for (size_t i = 1; i < n; i += 2) {
		void *p;
		assert_int_equal(memlane_pin(a, o[i].h, &p), 0);
		assert_ptr_equal(p, o[i].pinned);
		assert_int_equal(memlane_unpin(a, o[i].h), 0);
	}
	tu_verify_all(a, o, n);

	/* One that fits a hole. */
	tu_obj fit;
	tu_must_alloc(a, &fit, BLOB, 0, 0, 0, SALT + 3);
	tu_verify(a, &fit);

	/* Unpinned, the same request succeeds by compacting. (It once
	 * failed: the failed call above compacted around the pinned blobs
	 * and their gaps were then counted as unreclaimable for good.) */
	for (size_t i = 1; i < n; i += 2)
		assert_int_equal(memlane_unpin(a, o[i].h), 0);
	assert_int_equal(tu_stats(a).pinned_objects, 0);
	tu_obj big;
	tu_must_alloc(a, &big, 2 * BLOB, 0, 0, 0, SALT + 4);
	memlane_stats s2 = tu_stats(a);
	assert_true(s2.compactions > s1.compactions);
	assert_true(s2.moved_bytes > s1.moved_bytes);
	tu_verify(a, &big);
	tu_verify(a, &fit);
	tu_verify_all(a, o, n);
	tu_close(a);
}

/* With auto_compaction=0 a fragmented lane says ENOMEM (changing
 * nothing); an explicit memlane_compact then makes room. */
static void test_no_auto_compaction(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS_NOCOMPACT);
	tu_obj o[64];
	size_t n = fill_blobs(a, o, 64, BLOB);
	for (size_t i = 0; i < n; i += 2)
		tu_free_obj(a, &o[i]);
	memlane_stats s0 = tu_stats(a);
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, 2 * BLOB, &h), MEMLANE_ENOMEM);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.compactions, s0.compactions);
	assert_int_equal(s1.objects, s0.objects);
	tu_verify_all(a, o, n);
	assert_int_equal(memlane_compact(a), 0);
	assert_true(tu_stats(a).compactions > s1.compactions);
	tu_obj big;
	tu_must_alloc(a, &big, 2 * BLOB, 0, 0, 0, SALT + 5);
	tu_verify(a, &big);
	tu_verify_all(a, o, n);
	tu_close(a);
}

/* A realloc that moves a blob pins it while room is made; if that
 * compacts, the gap left above it must count as reclaimable again once
 * the realloc is done, or a later allocation that compaction can serve
 * fails with ENOMEM. */
static void test_realloc_then_compaction_helps(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=1M,slow_lane_safety_margin=64K");
	tu_obj x1, b, x2, x3, f, y;
	tu_must_alloc(a, &x1, 100 * TU_KiB, MEMLANE_SLOW, 0, 1, SALT);
	tu_must_alloc(a, &b, 100 * TU_KiB, MEMLANE_SLOW, 0, 2, SALT);
	tu_must_alloc(a, &x2, 100 * TU_KiB, MEMLANE_SLOW, 0, 3, SALT);
	tu_must_alloc(a, &x3, 100 * TU_KiB, MEMLANE_SLOW, 0, 4, SALT);
	tu_must_alloc(a, &f, 400 * TU_KiB, MEMLANE_SLOW, 0, 5, SALT);
	tu_free_obj(a, &x1);
	tu_free_obj(a, &x2);
	assert_int_equal(memlane_realloc(a, b.h, 200 * TU_KiB), 0);
	/* Straight after the realloc (a read would pin and unpin b, and
	 * hide the bug). */
	tu_must_alloc(a, &y, 210 * TU_KiB, MEMLANE_SLOW, 0, 6, SALT);
	{
		/* The old bytes, kept. */
		static uint8_t got[100 * 1024], want[100 * 1024];
		assert_int_equal(memlane_read(a, b.h, 0, got, sizeof(got)), 0);
		tu_pattern(b.seed, 0, want, sizeof(want));
		assert_memory_equal(got, want, sizeof(got));
	}
	b.size = 200 * TU_KiB;
	tu_fill(a, &b, SALT + 1);
	tu_verify(a, &b);
	tu_verify(a, &x3);
	tu_verify(a, &f);
	tu_verify(a, &y);
	tu_close(a);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_and_blob_regions),
		cmocka_unit_test(test_blob_space_reused),
		cmocka_unit_test(test_large_blob_pages_released),
		cmocka_unit_test(test_free_neighbours_coalesce),
		cmocka_unit_test(test_many_neighbours_coalesce),
		cmocka_unit_test(test_split_adapts),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_enomem_only_when_truly_full),
		cmocka_unit_test(test_no_auto_compaction),
		cmocka_unit_test(test_realloc_then_compaction_helps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
