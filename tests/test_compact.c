/* test_compact.c - live compaction of both lanes: bytes, handles,
 * pinned pointers and requested alignment all survive; fragmentation
 * drops; freed pages go back to the OS; auto_compaction and
 * compaction_threshold are obeyed. */
#include "testutil.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#define SALT 0x434f4d50ull /* "COMP" */

/* The library's madvise calls land here first (a program's own symbol
 * comes before libc's) and are counted, then made as a system call. */
static unsigned dontneed_calls;

int madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_DONTNEED)
		__atomic_fetch_add(&dontneed_calls, 1, __ATOMIC_RELAXED);
	return (int)syscall(SYS_madvise, addr, len, advice);
}

static const size_t aligns[] = {0, 16, 64, 256, 4096};

/* Allocate @n objects with sizes in [lo, hi] and mixed alignments;
 * free about 60% of them in random order; pin every 13th survivor. */
static void build_fragmented(memlane_arena *a, tu_obj *o, size_t n, size_t lo, size_t hi, unsigned flags,
                             uint64_t seed)
{
	tu_rng r = {seed};
	for (size_t i = 0; i < n; i++) {
		size_t size = tu_range(&r, lo, hi);
		/* mostly small alignments; a few page-aligned ones (they waste
		 * room, and compaction must keep them page-aligned) */
		size_t align = aligns[tu_range(&r, 0, TU_ARRAY_LEN(aligns) - 2)];
		if (i % 97 == 0)
			align = 4096;
		int rc = tu_alloc_obj(a, &o[i], size, flags, align, (uint32_t)i, SALT ^ seed);
		if (rc != 0)
			fail_msg("object %zu (%zu bytes, align %zu): %d (%s)", i, size, align, rc, memlane_errmsg());
	}
	for (size_t i = 0; i < n; i++)
		if (tu_range(&r, 0, 9) < 6)
			tu_free_obj(a, &o[i]);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (o[i].h && k++ % 13 == 0)
			assert_int_equal(memlane_pin(a, o[i].h, &o[i].pinned), 0);
}

/* Everything a move must keep: bytes, size, tag, state, alignment,
 * pinned pointers. */
static void check_after_move(memlane_arena *a, tu_obj *o, size_t n, memlane_state lane)
{
	for (size_t i = 0; i < n; i++) {
		if (!o[i].h)
			continue;
		assert_int_equal(memlane_valid(a, o[i].h), 1);
		assert_int_equal(memlane_handle_state(a, o[i].h), lane);
		assert_int_equal(memlane_tag(a, o[i].h), (uint32_t)i);
		if (o[i].pinned) {
			void *p;
			assert_int_equal(memlane_pin(a, o[i].h, &p), 0);
			assert_ptr_equal(p, o[i].pinned);
			assert_int_equal(memlane_unpin(a, o[i].h), 0);
			/* bytes read straight through the pinned pointer */
			assert_int_equal(tu_checksum(o[i].pinned, o[i].size), o[i].sum);
		}
	}
	tu_verify_all(a, o, n); /* bytes and alignment */
}

static void unpin_all(memlane_arena *a, tu_obj *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (o[i].h && o[i].pinned) {
			assert_int_equal(memlane_unpin(a, o[i].h), 0);
			o[i].pinned = NULL;
		}
}

static void test_compact_fastlane(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=8M,threshold=1K,auto_compaction=0");
	enum { N = 3000 };
	tu_obj *o = calloc(N, sizeof(*o));
	assert_non_null(o);
	build_fragmented(a, o, N, 0, 880, 0, 1);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.slow_objects, 0);
	assert_true(s0.fast_fragmentation > 0.3);

	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s1 = tu_stats(a);
	assert_true(s1.compactions > s0.compactions);
	assert_true(s1.moved_objects > s0.moved_objects);
	assert_true(s1.moved_bytes > s0.moved_bytes);
	/* Sliding cannot close the holes below scattered pinned objects:
	 * only ask that nothing got worse here; unpinned, it must pack. */
	assert_true(s1.fast_fragmentation <= s0.fast_fragmentation);
	assert_true(s1.pinned_objects > 0);
	assert_true(s1.fast_top_bytes < s0.fast_top_bytes);
	assert_int_equal(s1.fast_used_bytes, s0.fast_used_bytes);
	assert_int_equal(s1.objects, s0.objects);
	check_after_move(a, o, N, MEMLANE_STATE_FAST);

	/* Unpinned, everything packs down. */
	unpin_all(a, o, N);
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s2 = tu_stats(a);
	assert_true(s2.fast_fragmentation < 0.15); /* alignment padding may remain */
	assert_true(s2.fast_top_bytes <= s1.fast_top_bytes);
	check_after_move(a, o, N, MEMLANE_STATE_FAST);

	/* Compacting a compact lane changes nothing. */
	assert_int_equal(memlane_compact(a), 0);
	assert_int_equal(tu_stats(a).fast_top_bytes, s2.fast_top_bytes);
	check_after_move(a, o, N, MEMLANE_STATE_FAST);

	/* And the lane goes on working: allocate into it again. */
	tu_obj more[50];
	for (size_t i = 0; i < 50; i++)
		tu_must_alloc(a, &more[i], 10 + i * 7, 0, aligns[i % 5], 0, SALT + 9);
	tu_verify_all(a, more, 50);
	check_after_move(a, o, N, MEMLANE_STATE_FAST);
	free(o);
	tu_close(a);
}

static void test_compact_slowlane(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=32M,auto_compaction=0");
	enum { NB = 1000, NL = 80 };
	tu_obj *blocks = calloc(NB, sizeof(*blocks));
	tu_obj *blobs = calloc(NL, sizeof(*blobs));
	assert_non_null(blocks);
	assert_non_null(blobs);
	build_fragmented(a, blocks, NB, 1100, 16000, MEMLANE_SLOW, 2);
	build_fragmented(a, blobs, NL, 17000, 200000, MEMLANE_SLOW, 3);
	memlane_stats s0 = tu_stats(a);
	assert_true(s0.slow_fragmentation > 0.2);
	assert_true(s0.slow_hole_bytes > 0);

	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s1 = tu_stats(a);
	assert_true(s1.compactions > s0.compactions);
	assert_true(s1.moved_objects > s0.moved_objects);
	assert_true(s1.moved_bytes > s0.moved_bytes);
	assert_true(s1.slow_fragmentation < s0.slow_fragmentation);
	assert_true(s1.slow_hole_bytes < s0.slow_hole_bytes);
	assert_int_equal(s1.slow_used_bytes, s0.slow_used_bytes);
	assert_int_equal(s1.objects, s0.objects);
	check_after_move(a, blocks, NB, MEMLANE_STATE_SLOW);
	check_after_move(a, blobs, NL, MEMLANE_STATE_SLOW);

	unpin_all(a, blocks, NB);
	unpin_all(a, blobs, NL);
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s2 = tu_stats(a);
	assert_true(s2.slow_hole_bytes <= s1.slow_hole_bytes);
	assert_true(s2.slow_fragmentation < 0.25);
	check_after_move(a, blocks, NB, MEMLANE_STATE_SLOW);
	check_after_move(a, blobs, NL, MEMLANE_STATE_SLOW);

	/* Allocate again into the compacted lane; all still intact. */
	tu_obj more[40];
	for (size_t i = 0; i < 40; i++)
		tu_must_alloc(a, &more[i], i % 2 ? 3000 + i : 40000 + i, MEMLANE_SLOW, aligns[i % 5], 0, SALT + 8);
	tu_verify_all(a, more, 40);
	check_after_move(a, blocks, NB, MEMLANE_STATE_SLOW);
	check_after_move(a, blobs, NL, MEMLANE_STATE_SLOW);
	free(blocks);
	free(blobs);
	tu_close(a);
}

/* Free most of a big SlowLane and compact: released_bytes grows and RSS
 * drops by at least half of what was freed. */
static void test_release_slowlane_pages(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=128M");
	enum { N = 48 };
	tu_obj o[N];
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], TU_MiB, 0, 0, (uint32_t)i, SALT);
	memlane_stats s0 = tu_stats(a);
	size_t rss0 = tu_rss();
	/* Keep the first (top of the blob region) and the last (bottom). */
	for (size_t i = 1; i < N - 1; i++)
		tu_free_obj(a, &o[i]);
	assert_int_equal(memlane_compact(a), 0);
	size_t rss1 = tu_rss();
	memlane_stats s1 = tu_stats(a);
	size_t freed = (N - 2) * TU_MiB;
	if (s1.released_bytes - s0.released_bytes < freed / 2)
		fail_msg("released_bytes grew by %llu, expected at least %zu", (unsigned long long)(s1.released_bytes - s0.released_bytes),
		         freed / 2);
	if (rss1 + freed / 2 > rss0)
		fail_msg("RSS went from %zu to %zu after freeing %zu bytes and compacting", rss0, rss1, freed);
	tu_verify(a, &o[0]);
	tu_verify(a, &o[N - 1]);
	assert_int_equal(memlane_tag(a, o[N - 1].h), N - 1);

	/* The released pages come back as usable memory. */
	for (size_t i = 1; i < N - 1; i++)
		tu_must_alloc(a, &o[i], TU_MiB, 0, 0, (uint32_t)i, SALT + 1);
	tu_verify_all(a, o, N);
	tu_close(a);
}

/* The same for the FastLane. */
static void test_release_fastlane_pages(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=32M,slow_lane_size=4M,threshold=2K,promotion_age=4294967296");
	enum { N = 20000 };
	tu_obj *o = calloc(N, sizeof(*o));
	assert_non_null(o);
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], 1000, 0, 0, 0, SALT);
	assert_int_equal(tu_stats(a).fast_objects, N);
	memlane_stats s0 = tu_stats(a);
	size_t rss0 = tu_rss();
	for (size_t i = 1; i < N - 1; i++)
		tu_free_obj(a, &o[i]);
	assert_int_equal(memlane_compact(a), 0);
	size_t rss1 = tu_rss();
	memlane_stats s1 = tu_stats(a);
	size_t freed = (N - 2) * (size_t)1024;
	assert_true(s1.fast_top_bytes <= 4096 * 2);
	if (s1.released_bytes - s0.released_bytes < freed / 2)
		fail_msg("released_bytes grew by %llu, expected at least %zu",
		         (unsigned long long)(s1.released_bytes - s0.released_bytes), freed / 2);
	if (rss1 + freed / 2 > rss0)
		fail_msg("RSS went from %zu to %zu after freeing %zu bytes and compacting", rss0, rss1, freed);
	tu_verify(a, &o[0]);
	tu_verify(a, &o[N - 1]);
	free(o);
	tu_close(a);
}

/* auto_compaction=1: an allocation that needs a contiguous hole
 * succeeds by compacting. auto_compaction=0: ENOMEM, until an explicit
 * memlane_compact. */
static void auto_compaction_case(int autoc)
{
	memlane_arena *a = tu_open(autoc ? "fast_lane_size=64K,slow_lane_size=4M,auto_compaction=1"
	                                 : "fast_lane_size=64K,slow_lane_size=4M,auto_compaction=0");
	const size_t sz = 128 * TU_KiB;
	tu_obj o[64];
	size_t n = 0;
	for (;; n++) {
		assert_true(n < 64);
		if (tu_alloc_obj(a, &o[n], sz, 0, 256, (uint32_t)n, SALT) != 0)
			break;
	}
	o[n].h = MEMLANE_NULL;
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i += 2)
		tu_free_obj(a, &o[i]);
	memlane_stats s0 = tu_stats(a);
	tu_obj big;
	int rc = tu_alloc_obj(a, &big, 3 * sz, 0, 4096, 0, SALT + 1);
	memlane_stats s1 = tu_stats(a);
	if (autoc) {
		if (rc != 0)
			fail_msg("auto_compaction=1: %d (%s)", rc, memlane_errmsg());
		assert_true(s1.compactions > s0.compactions);
		assert_true(s1.moved_bytes > s0.moved_bytes);
		tu_verify(a, &big);
	} else {
		assert_int_equal(rc, MEMLANE_ENOMEM);
		assert_int_equal(s1.compactions, s0.compactions);
		assert_int_equal(s1.moved_bytes, s0.moved_bytes);
		assert_int_equal(s1.objects, s0.objects);
		tu_verify_all(a, o, n);
		assert_int_equal(memlane_compact(a), 0);
		assert_true(tu_stats(a).compactions > s0.compactions);
		tu_must_alloc(a, &big, 3 * sz, 0, 4096, 0, SALT + 1);
		tu_verify(a, &big);
	}
	tu_verify_all(a, o, n);
	tu_close(a);
}

static void test_auto_compaction_on(void **state)
{
	(void)state;
	auto_compaction_case(1);
}

static void test_auto_compaction_off(void **state)
{
	(void)state;
	auto_compaction_case(0);
}

/* memlane_maintain compacts a lane only when its fragmentation reaches
 * compaction_threshold (and auto_compaction is on). */
static void test_maintain_threshold_fastlane(void **state)
{
	(void)state;
	memlane_arena *a =
		tu_open("fast_lane_size=1M,slow_lane_size=4M,compaction_threshold=0.5,promotion_age=4294967296");
	enum { N = 100 };
	tu_obj o[N];
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], 256, 0, 0, (uint32_t)i, SALT);
	for (size_t i = 0; i < 30; i++)
		tu_free_obj(a, &o[i]);
	memlane_stats s0 = tu_stats(a);
	assert_true(s0.fast_fragmentation > 0.29 && s0.fast_fragmentation < 0.31);
	assert_int_equal(memlane_maintain(a), 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.compactions, s0.compactions);
	assert_int_equal(s1.moved_bytes, s0.moved_bytes);
	assert_true(s1.fast_fragmentation > 0.29);
	assert_true(s1.maintenance_runs > s0.maintenance_runs);

	for (size_t i = 30; i < 70; i++)
		tu_free_obj(a, &o[i]);
	memlane_stats s2 = tu_stats(a);
	assert_true(s2.fast_fragmentation > 0.69 && s2.fast_fragmentation < 0.71);
	assert_int_equal(memlane_maintain(a), 0);
	memlane_stats s3 = tu_stats(a);
	assert_true(s3.compactions > s2.compactions);
	assert_true(s3.moved_bytes > s2.moved_bytes);
	assert_true(s3.fast_fragmentation < 0.01);
	assert_int_equal(s3.fast_top_bytes, 30 * 256);
	assert_int_equal(s3.promotions, 0);
	tu_verify_all(a, o, N);
	for (size_t i = 70; i < N; i++)
		assert_int_equal(memlane_tag(a, o[i].h), i);
	tu_close(a);
}

static void test_maintain_threshold_slowlane(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,compaction_threshold=0.4");
	enum { N = 40 };
	tu_obj o[N];
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], 64 * TU_KiB, 0, 0, (uint32_t)i, SALT);
	for (size_t i = 1; i <= 10; i++)
		tu_free_obj(a, &o[i]);
	memlane_stats s0 = tu_stats(a);
	assert_true(s0.slow_fragmentation > 0.2 && s0.slow_fragmentation < 0.4);
	assert_int_equal(memlane_maintain(a), 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.compactions, s0.compactions);
	assert_int_equal(s1.moved_bytes, s0.moved_bytes);

	for (size_t i = 11; i <= 25; i++)
		tu_free_obj(a, &o[i]);
	memlane_stats s2 = tu_stats(a);
	assert_true(s2.slow_fragmentation >= 0.4);
	assert_int_equal(memlane_maintain(a), 0);
	memlane_stats s3 = tu_stats(a);
	assert_true(s3.compactions > s2.compactions);
	assert_true(s3.moved_bytes > s2.moved_bytes);
	assert_true(s3.slow_fragmentation < 0.05);
	tu_verify_all(a, o, N);
	tu_close(a);

	/* auto_compaction=0: maintain never compacts. */
	a = tu_open("fast_lane_size=64K,slow_lane_size=4M,compaction_threshold=0.1,auto_compaction=0");
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], 64 * TU_KiB, 0, 0, (uint32_t)i, SALT);
	for (size_t i = 1; i <= 25; i++)
		tu_free_obj(a, &o[i]);
	s0 = tu_stats(a);
	assert_int_equal(memlane_maintain(a), 0);
	assert_int_equal(memlane_tick(a), 0);
	s1 = tu_stats(a);
	assert_int_equal(s1.compactions, s0.compactions);
	assert_int_equal(s1.moved_bytes, s0.moved_bytes);
	tu_verify_all(a, o, N);
	tu_close(a);
}

/* Page alignment kept through a series of moves in both lanes. */
static void test_alignment_through_moves(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=16M,auto_compaction=0");
	enum { N = 200 };
	tu_obj o[N];
	tu_rng r = {11};
	for (size_t i = 0; i < N; i++) {
		size_t align = (size_t)64 << (i % 4 * 2); /* 64, 256, 1024, 4096 */
		size_t size = i % 3 == 0 ? tu_range(&r, 20000, 100000) : tu_range(&r, 1, 900);
		tu_must_alloc(a, &o[i], size, 0, align, (uint32_t)i, SALT);
	}
	for (int round = 0; round < 6; round++) {
		for (size_t i = (size_t)round % 3; i < N; i += 3 + (size_t)round) {
			if (!o[i].h)
				continue;
			tu_free_obj(a, &o[i]);
			size_t align = (size_t)64 << (i % 4 * 2);
			size_t size = tu_range(&r, 1, 700);
			tu_must_alloc(a, &o[i], size, 0, align, (uint32_t)i, SALT + (uint64_t)round);
		}
		for (size_t i = (size_t)round; i < N; i += 5)
			if (o[i].h)
				tu_free_obj(a, &o[i]);
		assert_int_equal(memlane_compact(a), 0);
		tu_verify_all(a, o, N); /* checks alignment too */
		for (size_t i = 0; i < N; i += 7)
			if (o[i].h && memlane_handle_state(a, o[i].h) == MEMLANE_STATE_FAST)
				assert_int_equal(memlane_promote(a, o[i].h), 0);
		tu_verify_all(a, o, N);
	}
	tu_close(a);
}

/* FastLane compaction of runs of small objects that lie back to back
 * and slide by the same distance (the layout any batching of moves
 * would take together): runs of several sizes (some with slack in their
 * blocks), broken by freed objects, by pinned objects in their middle
 * and by aligned objects whose gaps become free blocks. Every survivor
 * keeps its bytes and alignment, pinned ones their address;
 * moved_objects and moved_bytes count exactly the objects whose address
 * changed; the free blocks carved in the gaps take new objects without
 * touching old ones. */
static void test_fastlane_runs(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=2M,slow_lane_size=8M,auto_compaction=0,promotion_age=4294967296");
	enum { N = 6000, M = 1500 };
	tu_obj *o = calloc(N + M, sizeof(*o));
	void **before = calloc(N, sizeof(*before));
	assert_non_null(o);
	assert_non_null(before);
	static const size_t sizes[] = {64, 64, 64, 50, 64, 16, 64, 200, 64, 64, 33, 64};
	for (size_t i = 0; i < N; i++) {
		size_t align = i % 211 == 0 ? 1024 : 0;
		tu_must_alloc(a, &o[i], sizes[i % TU_ARRAY_LEN(sizes)], 0, align, (uint32_t)i, SALT);
	}
	for (size_t i = 0; i < N; i++) {
		int drop = i < N / 3 ? i % 8 == 3                      /* runs of 7 */
		          : i < 2 * N / 3 ? i % 40 < 3                  /* runs of 37 */
		                           : i % 500 == 7 || i % 500 == 8; /* long runs */
		if (drop)
			tu_free_obj(a, &o[i]);
	}
	/* pinned objects in the middle of runs, one of them two in a row */
	static const size_t pins[] = {1001, 2500, 2501, 4444, 5990};
	for (size_t k = 0; k < TU_ARRAY_LEN(pins); k++)
		assert_int_equal(memlane_pin(a, o[pins[k]].h, &o[pins[k]].pinned), 0);
	for (size_t i = 0; i < N; i++)
		if (o[i].h)
			before[i] = memlane_get(a, o[i].h);

	memlane_stats s0 = tu_stats(a);
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s1 = tu_stats(a);
	uint64_t moved = 0, moved_bytes = 0;
	for (size_t i = 0; i < N; i++) {
		if (!o[i].h)
			continue;
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_FAST);
		void *p = memlane_get(a, o[i].h);
		if (o[i].pinned)
			assert_ptr_equal(p, o[i].pinned);
		if (p != before[i]) {
			assert_true((uint8_t *)p < (uint8_t *)before[i]); /* FastLane objects slide down */
			moved++;
			moved_bytes += o[i].size;
		}
	}
	assert_true(moved > N / 2);
	assert_int_equal(s1.moved_objects - s0.moved_objects, moved);
	assert_int_equal(s1.moved_bytes - s0.moved_bytes, moved_bytes);
	check_after_move(a, o, N, MEMLANE_STATE_FAST);

	/* New objects go into the blocks carved in the gaps and above. */
	tu_rng r = {7};
	for (size_t i = N; i < N + M; i++)
		tu_must_alloc(a, &o[i], tu_range(&r, 1, 1000), 0, 0, (uint32_t)i, SALT + 1);
	check_after_move(a, o, N + M, MEMLANE_STATE_FAST);
	unpin_all(a, o, N);
	assert_int_equal(memlane_compact(a), 0);
	check_after_move(a, o, N + M, MEMLANE_STATE_FAST);
	free(before);
	free(o);
	tu_close(a);
}

/* Eight 64 KiB slabs of 4096-byte blocks, 16 a slab, full: @o gets them
 * in address order. */
enum { SLAB_PER = 16, SLABS = 8, SLAB_OBJS = SLAB_PER * SLABS };

static memlane_arena *fill_slabs(tu_obj o[SLAB_OBJS])
{
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=8M,auto_compaction=0");
	for (size_t i = 0; i < SLAB_OBJS; i++)
		tu_must_alloc(a, &o[i], 4096, MEMLANE_SLOW, 0, (uint32_t)i, SALT);
	return a;
}

/* Emptying the lowest slab moves only the highest one into it: slabs
 * keep no order, so one that lies below the final top never moves
 * (they all slid down by one slab once, 7 times the copying). */
static void test_slabs_fill_from_the_top(void **state)
{
	(void)state;
	enum { PER = SLAB_PER, N = SLAB_OBJS };
	tu_obj o[N];
	memlane_arena *a = fill_slabs(o);
	void *top_slab[PER];
	for (size_t i = 0; i < PER; i++) {
		top_slab[i] = memlane_get(a, o[N - PER + i].h);
		tu_free_obj(a, &o[i]); /* the first slab */
	}
	void *kept = memlane_get(a, o[PER].h);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.moved_objects - s0.moved_objects, PER);
	assert_int_equal(s1.moved_bytes - s0.moved_bytes, PER * 4096);
	assert_ptr_equal(memlane_get(a, o[PER].h), kept);
	for (size_t i = 0; i < PER; i++)
		assert_true((uint8_t *)memlane_get(a, o[N - PER + i].h) < (uint8_t *)top_slab[0]);
	assert_int_equal(s1.released_bytes - s0.released_bytes, 65536); /* the top slab's pages */
	check_after_move(a, o, N, MEMLANE_STATE_SLOW);
	tu_close(a);
}

/* Empty slabs that stay below a pinned one are given back in one
 * madvise a run of neighbours, not one a slab (each call costs a TLB
 * flush on every CPU the program runs on). */
static void test_empty_slabs_released_together(void **state)
{
	(void)state;
	enum { PER = SLAB_PER, N = SLAB_OBJS };
	tu_obj o[N];
	memlane_arena *a = fill_slabs(o);
	for (size_t i = PER; i < N - PER; i++)
		tu_free_obj(a, &o[i]); /* slabs 1 to 6 */
	assert_int_equal(memlane_pin(a, o[N - 1].h, &o[N - 1].pinned), 0); /* slab 7 stays */
	size_t rss0 = tu_rss();
	memlane_stats s0 = tu_stats(a);
	unsigned calls0 = __atomic_load_n(&dontneed_calls, __ATOMIC_RELAXED);
	assert_int_equal(memlane_compact(a), 0);
	unsigned calls = __atomic_load_n(&dontneed_calls, __ATOMIC_RELAXED) - calls0;
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.moved_objects, s0.moved_objects);
	assert_int_equal(s1.released_bytes - s0.released_bytes, (SLABS - 2) * 65536);
	assert_int_equal(calls, 1);
	assert_true(tu_rss() + (SLABS - 2) * 65536 / 2 <= rss0);
	check_after_move(a, o, N, MEMLANE_STATE_SLOW);
	unpin_all(a, o, N);
	tu_close(a);
}

/* The stats describe the lane as it is after a compaction that could not
 * close every hole: with only blobs in the lane, the blob region is
 * objects plus holes, so slow_hole_bytes = region - reserved.
 * (slow_hole_bytes once read 0 here, as the gap above a pinned blob was
 * left out of it, and maintain never compacted that lane again.) */
static void test_hole_stats_after_compaction_with_pins(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	tu_obj o[4];
	for (size_t i = 0; i < 4; i++)
		tu_must_alloc(a, &o[i], 256 * TU_KiB, 0, 0, (uint32_t)i, SALT);
	tu_free_obj(a, &o[1]);
	assert_int_equal(memlane_pin(a, o[2].h, &o[2].pinned), 0);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.slow_block_region_bytes, 0);
	assert_int_equal(s0.slow_hole_bytes, 256 * TU_KiB);
	assert_int_equal(s0.slow_blob_region_bytes - s0.slow_reserved_bytes, s0.slow_hole_bytes);
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.slow_block_region_bytes, 0);
	if (s1.slow_blob_region_bytes - s1.slow_reserved_bytes != s1.slow_hole_bytes)
		fail_msg("after compaction: blob region %llu, reserved %llu, but slow_hole_bytes %llu "
		         "(fragmentation %.3f)",
		         (unsigned long long)s1.slow_blob_region_bytes, (unsigned long long)s1.slow_reserved_bytes,
		         (unsigned long long)s1.slow_hole_bytes, s1.slow_fragmentation);
	if (s1.slow_hole_bytes > 0 && !(s1.slow_fragmentation > 0.0))
		fail_msg("slow_hole_bytes %llu but slow_fragmentation %.3f", (unsigned long long)s1.slow_hole_bytes,
		         s1.slow_fragmentation);
	void *p;
	assert_int_equal(memlane_pin(a, o[2].h, &p), 0);
	assert_ptr_equal(p, o[2].pinned);
	assert_int_equal(memlane_unpin(a, o[2].h), 0);
	tu_verify_all(a, o, 4);
	/* Unpinned, the hole closes. */
	assert_int_equal(memlane_unpin(a, o[2].h), 0);
	assert_int_equal(memlane_compact(a), 0);
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(s2.slow_hole_bytes, 0);
	assert_int_equal(s2.slow_blob_region_bytes, s2.slow_reserved_bytes);
	tu_verify_all(a, o, 4);
	tu_close(a);
}

/* Giving pages back never reaches live objects after the regions
 * traded space: blobs freed, then slabs grown up over their old pages
 * (and the other way round). Both lost whole slabs or blobs to
 * MADV_DONTNEED once: the "touched" marks were not limited to the free
 * middle. */
static void regions_trade_space(size_t first, size_t nfirst, size_t second, size_t nsecond)
{
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=2M,promotion_age=4294967296");
	tu_obj gone[96], live[96];
	assert_true(nfirst <= 96 && nsecond <= 96);
	for (size_t i = 0; i < nfirst; i++)
		tu_must_alloc(a, &gone[i], first, MEMLANE_SLOW, 0, 0, SALT);
	for (size_t i = 0; i < nfirst; i++)
		tu_free_obj(a, &gone[i]);
	for (size_t i = 0; i < nsecond; i++)
		tu_must_alloc(a, &live[i], second, MEMLANE_SLOW, 0, (uint32_t)i, SALT + 1);
	assert_int_equal(memlane_compact(a), 0);
	tu_verify_all(a, live, nsecond);
	for (int round = 0; round < 70; round++) /* ml_release_idle runs every 64th cycle */
		assert_int_equal(memlane_maintain(a), 0);
	tu_verify_all(a, live, nsecond);
	tu_close(a);
}

static void test_release_after_regions_trade_space(void **state)
{
	(void)state;
	regions_trade_space(32 * TU_KiB, 20, 16 * TU_KiB, 92); /* blob pages, then slabs */
	regions_trade_space(16 * TU_KiB, 92, 32 * TU_KiB, 20); /* slab pages, then blobs */
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_fastlane),
		cmocka_unit_test(test_compact_slowlane),
		cmocka_unit_test(test_release_slowlane_pages),
		cmocka_unit_test(test_release_fastlane_pages),
		cmocka_unit_test(test_auto_compaction_on),
		cmocka_unit_test(test_auto_compaction_off),
		cmocka_unit_test(test_maintain_threshold_fastlane),
		cmocka_unit_test(test_maintain_threshold_slowlane),
		cmocka_unit_test(test_alignment_through_moves),
		cmocka_unit_test(test_fastlane_runs),
		cmocka_unit_test(test_slabs_fill_from_the_top),
		cmocka_unit_test(test_empty_slabs_released_together),
		cmocka_unit_test(test_hole_stats_after_compaction_with_pins),
		cmocka_unit_test(test_release_after_regions_trade_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
