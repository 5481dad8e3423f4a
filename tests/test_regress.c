/* test_regress.c - one test per defect of the C# prototype of this
 * design, each proving the defect is not here:
 *
 *   1. a stale handle freed the object that had reused its slot;
 *   2. a lane reset made old handles valid again;
 *   3. promoting twice leaked or corrupted the object;
 *   4. writes through a handle after promotion went nowhere;
 *   5. routing by unpadded size made fitting allocations fail;
 *   6. the free list lost its order, so holes never merged;
 *   7. auto-compaction never ran: the room check rejected first;
 *   8. blob space was never reused;
 *   9. background compaction moved objects under a pinned reader;
 *
 * and the frame-scratch pattern that exhausted the prototype's FastLane.
 * Where data is involved every object carries a byte pattern that is
 * verified after the operation under test. */
#include <stdbool.h>
#include <time.h>

#include "testutil.h"

#define SALT 0x52454752ull /* "REGR" */

/* The slot bits of a handle (bits 0-31; see handle.c). Used only to show
 * that a slot really was reused, which is what makes a stale handle
 * dangerous. */
static uint32_t slot_of(memlane_handle h)
{
	return (uint32_t)h;
}

/* A blob's extent: its size rounded up to 16 bytes. */
static size_t pad16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

static void shuffle(tu_rng *r, size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = n; i-- > 1;) {
		size_t j = tu_range(r, 0, i);
		size_t t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Every call that takes a handle refuses @h, and none of them changes
 * the arena's object or activity counts. */
static void expect_dead(memlane_arena *a, memlane_handle h)
{
	memlane_stats s0 = tu_stats(a);
	uint8_t buf[8] = {0};
	void *p = NULL;
	assert_int_equal(memlane_free(a, h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_write(a, h, 0, buf, 1), MEMLANE_EHANDLE);
	assert_int_equal(memlane_read(a, h, 0, buf, 1), MEMLANE_EHANDLE);
	assert_int_equal(memlane_realloc(a, h, 8), MEMLANE_EHANDLE);
	assert_int_equal(memlane_promote(a, h), MEMLANE_EHANDLE);
	assert_int_equal(memlane_pin(a, h, &p), MEMLANE_EHANDLE);
	assert_null(memlane_get(a, h));
	assert_int_equal(memlane_valid(a, h), 0);
	assert_int_equal(memlane_size(a, h), 0);
	assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_INVALID);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.objects, s0.objects);
	assert_int_equal(s1.frees, s0.frees);
	assert_int_equal(s1.reallocs, s0.reallocs);
	assert_int_equal(s1.promotions, s0.promotions);
	assert_int_equal(s1.pinned_objects, s0.pinned_objects);
}

/* ---- 1. stale handle frees the slot's new owner ------------------------ */

/* Free h, allocate h2 that takes h's slot (and, the lane being empty
 * again, h's very bytes): free(h) must be refused and h2 untouched. */
static void stale_free_case(memlane_arena *a, size_t size, unsigned flags)
{
	tu_obj old;
	tu_must_alloc(a, &old, size, flags, 0, 1, SALT);
	memlane_handle stale = old.h;
	const void *old_bytes = memlane_get_ro(a, stale);
	tu_free_obj(a, &old);

	tu_obj reuser;
	tu_must_alloc(a, &reuser, size, flags, 0, 2, SALT + 1);
	assert_int_equal(slot_of(reuser.h), slot_of(stale));
	assert_true(reuser.h != stale);
	assert_ptr_equal(memlane_get_ro(a, reuser.h), old_bytes);

	assert_int_equal(memlane_free(a, stale), MEMLANE_EHANDLE);
	if (!tu_contains(memlane_errmsg(), "stale"))
		fail_msg("free of a stale handle: message '%s' does not say stale", memlane_errmsg());
	expect_dead(a, stale);
	assert_int_equal(memlane_valid(a, reuser.h), 1);
	assert_int_equal(memlane_tag(a, reuser.h), 2);
	tu_verify(a, &reuser);

	memlane_handle h2 = reuser.h;
	tu_free_obj(a, &reuser);
	expect_dead(a, h2); /* a double free is refused too */
	expect_dead(a, stale);
}

static void test_stale_handle_never_frees_reuser(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,promotion_age=4294967296");
	stale_free_case(a, 200, 0);             /* FastLane */
	stale_free_case(a, 5000, MEMLANE_SLOW); /* SlowLane block */
	stale_free_case(a, 100000, 0);          /* SlowLane blob */
	assert_int_equal(tu_stats(a).handle_slots, 1);
	tu_close(a);
}

/* Many generations of one slot: no old handle ever reaches the object
 * living there now. */
static void test_stale_handles_over_many_generations(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,promotion_age=4294967296");
	enum { GENS = 300 };
	memlane_handle old[GENS];
	tu_obj cur;
	tu_must_alloc(a, &cur, 64, 0, 0, 0, SALT);
	for (size_t g = 0; g < GENS; g++) {
		old[g] = cur.h;
		tu_free_obj(a, &cur);
		tu_must_alloc(a, &cur, 64, 0, 0, (uint32_t)g, SALT + g);
		assert_int_equal(slot_of(cur.h), slot_of(old[0]));
		for (size_t k = 0; k <= g; k++) {
			assert_true(cur.h != old[k]);
			assert_int_equal(memlane_free(a, old[k]), MEMLANE_EHANDLE);
		}
		tu_verify(a, &cur);
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.frees, GENS);
	tu_close(a);
}

/* ---- 2. lane reset revives old handles -------------------------------- */

/* A 64K FastLane holds exactly 1024 objects of class 64. Fill it, free
 * everything (the lane resets and the same bytes are handed out again),
 * several times over: no handle of an earlier round ever works again,
 * and no new handle equals an old one. */
static void test_lane_reset_keeps_old_handles_dead(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,promotion_age=4294967296");
	enum { PER = 1024, ROUNDS = 4 };
	tu_obj *cur = calloc(PER, sizeof(*cur));
	memlane_handle *old = calloc((size_t)PER * ROUNDS, sizeof(*old));
	size_t *order = calloc(PER, sizeof(*order));
	assert_non_null(cur);
	assert_non_null(old);
	assert_non_null(order);
	tu_rng r = {21};
	size_t nold = 0;
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t i = 0; i < PER; i++) {
			tu_must_alloc(a, &cur[i], 49 + i % 16, 0, 0, (uint32_t)i, SALT + (uint64_t)round);
			assert_int_equal(memlane_handle_state(a, cur[i].h), MEMLANE_STATE_FAST);
		}
		memlane_stats st = tu_stats(a);
		assert_int_equal(st.fast_top_bytes, 65536);
		assert_int_equal(st.fast_objects, PER);
		assert_int_equal(st.fallbacks, 0);
		assert_int_equal(st.promotions, 0);
		assert_int_equal(st.handle_slots, PER); /* slots are reused ... */

		/* ... yet no new handle equals an old one, */
		qsort(old, nold, sizeof(*old), cmp_u64);
		for (size_t i = 0; i < PER; i++)
			if (nold && bsearch(&cur[i].h, old, nold, sizeof(*old), cmp_u64))
				fail_msg("round %d: handle 0x%016llx handed out again", round, (unsigned long long)cur[i].h);
		/* and no old handle reaches the new objects. */
		for (size_t k = 0; k < nold; k++) {
			assert_null(memlane_get(a, old[k]));
			assert_int_equal(memlane_free(a, old[k]), MEMLANE_EHANDLE);
		}
		assert_int_equal(tu_stats(a).objects, PER);
		tu_verify_all(a, cur, PER);

		shuffle(&r, order, PER);
		for (size_t i = 0; i < PER; i++) {
			old[nold++] = cur[order[i]].h;
			tu_free_obj(a, &cur[order[i]]);
		}
		st = tu_stats(a);
		assert_int_equal(st.fast_top_bytes, 0); /* the lane reset */
		assert_int_equal(st.fast_free_bytes, 0);
		assert_int_equal(st.fast_reserved_bytes, 0);
		for (size_t k = nold - PER; k < nold; k++)
			expect_dead(a, old[k]);
	}
	free(cur);
	free(old);
	free(order);
	tu_close(a);
}

/* ---- 3. promoting twice ------------------------------------------------ */

/* Bytes a SlowLane object of @size at @align reserves: its class when a
 * block can hold it at that alignment, else the blob rounded to 16. */
static size_t slow_cap(size_t size, size_t align)
{
	if (size <= 16384 && tu_class_size(size) % (align ? align : 16) == 0)
		return tu_class_size(size);
	return (size + 15) & ~(size_t)15;
}

static void promote_twice_case(memlane_arena *a, size_t size, unsigned flags, size_t align)
{
	memlane_stats base = tu_stats(a);
	tu_obj o;
	tu_must_alloc(a, &o, size, flags, align, 77, SALT);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_FAST);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.fast_used_bytes, base.fast_used_bytes + size);

	assert_int_equal(memlane_promote(a, o.h), 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SLOW);
	assert_int_equal(s1.promotions, s0.promotions + 1);
	/* The FastLane is back where it was; the SlowLane counts it once. */
	assert_int_equal(s1.fast_used_bytes, base.fast_used_bytes);
	assert_int_equal(s1.fast_reserved_bytes, base.fast_reserved_bytes);
	assert_int_equal(s1.fast_objects, base.fast_objects);
	assert_int_equal(s1.slow_used_bytes, base.slow_used_bytes + size);
	assert_int_equal(s1.slow_reserved_bytes, base.slow_reserved_bytes + slow_cap(size, align));
	assert_int_equal(s1.slow_objects, base.slow_objects + 1);
	assert_int_equal(s1.objects, base.objects + 1);
	tu_verify(a, &o);
	const void *where = memlane_get_ro(a, o.h);

	for (int k = 0; k < 3; k++) {
		assert_int_equal(memlane_promote(a, o.h), 0);
		memlane_stats s2 = tu_stats(a);
		assert_int_equal(s2.promotions, s1.promotions);
		assert_int_equal(s2.fast_used_bytes, s1.fast_used_bytes);
		assert_int_equal(s2.fast_reserved_bytes, s1.fast_reserved_bytes);
		assert_int_equal(s2.slow_used_bytes, s1.slow_used_bytes);
		assert_int_equal(s2.slow_reserved_bytes, s1.slow_reserved_bytes);
		assert_int_equal(s2.slow_free_bytes, s1.slow_free_bytes);
		assert_int_equal(s2.slow_objects, s1.slow_objects);
		assert_int_equal(s2.objects, s1.objects);
		assert_ptr_equal(memlane_get_ro(a, o.h), where); /* not copied again */
		assert_int_equal(memlane_tag(a, o.h), 77);
		tu_verify(a, &o);
	}

	tu_free_obj(a, &o);
	memlane_stats s3 = tu_stats(a);
	assert_int_equal(s3.slow_used_bytes, base.slow_used_bytes);
	assert_int_equal(s3.slow_reserved_bytes, base.slow_reserved_bytes);
	assert_int_equal(s3.fast_used_bytes, base.fast_used_bytes);
	assert_int_equal(s3.objects, base.objects);
}

static void test_promote_twice_no_leak(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,promotion_age=4294967296");
	/* Neighbours in both lanes, so the baselines are not zero and any
	 * damage to them shows. */
	tu_obj nb[3];
	tu_must_alloc(a, &nb[0], 100, 0, 0, 1, SALT);
	tu_must_alloc(a, &nb[1], 3000, MEMLANE_SLOW, 0, 2, SALT);
	tu_must_alloc(a, &nb[2], 70000, 0, 0, 3, SALT);
	promote_twice_case(a, 300, 0, 0);                 /* to a block */
	promote_twice_case(a, 5000, MEMLANE_FAST, 64);    /* to a block, aligned */
	promote_twice_case(a, 5000, MEMLANE_FAST, 4096);  /* class not a multiple of 4096: a blob */
	promote_twice_case(a, 40000, MEMLANE_FAST, 4096); /* to a blob, page-aligned */
	promote_twice_case(a, 0, 0, 0);                   /* empty object */
	tu_verify_all(a, nb, 3);
	tu_close(a);
}

/* ---- 4. writing after promotion --------------------------------------- */

static void write_after_promote_case(memlane_arena *a, size_t size, unsigned flags)
{
	tu_obj o;
	tu_must_alloc(a, &o, size, flags, 0, 0, SALT);
	const void *fast_at = memlane_get_ro(a, o.h);
	assert_int_equal(memlane_promote(a, o.h), 0);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SLOW);

	/* Rewrite everything through the handle: the SlowLane copy holds it. */
	tu_fill(a, &o, SALT + 1);
	uint8_t *p = memlane_get(a, o.h);
	assert_non_null(p);
	assert_true((const void *)p != fast_at);
	assert_int_equal(tu_checksum(p, o.size), o.sum);

	/* The FastLane block it left goes to a new object (it was the top
	 * block, so the bump pointer came back to it); scribbling on that one
	 * must not reach the promoted object. */
	tu_obj squat;
	tu_must_alloc(a, &squat, size, flags, 0, 0, SALT + 2);
	assert_int_equal(memlane_handle_state(a, squat.h), MEMLANE_STATE_FAST);
	assert_ptr_equal(memlane_get_ro(a, squat.h), fast_at);
	tu_verify(a, &o);
	tu_verify(a, &squat);

	/* Partial writes at the edges, through both memlane_write and the
	 * memlane_get pointer, read back with memlane_read. */
	uint8_t patch[600];
	memset(patch, 0xA5, sizeof(patch));
	size_t plen = size < sizeof(patch) ? size : sizeof(patch);
	assert_int_equal(memlane_write(a, o.h, size - plen, patch, plen), 0);
	uint8_t back[600];
	assert_int_equal(memlane_read(a, o.h, size - plen, back, plen), 0);
	assert_memory_equal(back, patch, plen);
	p = memlane_get(a, o.h);
	assert_memory_equal(p + size - plen, patch, plen);
	assert_int_equal(tu_pattern_mismatch(o.seed, 0, p, size - plen), SIZE_MAX);
	p[0] = 0x3C;
	uint8_t b0 = 0;
	assert_int_equal(memlane_read(a, o.h, 0, &b0, 1), 0);
	assert_int_equal(b0, 0x3C);

	/* And the whole object once more, then a SlowLane compaction. */
	tu_fill(a, &o, SALT + 3);
	assert_int_equal(memlane_compact(a), 0);
	tu_verify(a, &o);
	tu_verify(a, &squat);
	tu_free_obj(a, &squat);
	tu_free_obj(a, &o);
}

static void test_write_after_promotion(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,threshold=1K,promotion_age=4294967296");
	tu_obj below;
	tu_must_alloc(a, &below, 48, 0, 0, 0, SALT); /* keeps the FastLane from resetting */
	write_after_promote_case(a, 200, 0);              /* copied under the lock */
	write_after_promote_case(a, 900, 0);              /* > 512: copied pinned, unlocked */
	write_after_promote_case(a, 30000, MEMLANE_FAST); /* becomes a blob */
	tu_verify(a, &below);
	tu_close(a);
}

/* ---- 5. routing by unpadded size -------------------------------------- */

/* Allocate @n objects of @size at @align: every one must land in the
 * FastLane, without promotion or fallback. */
static void fill_fast_exact(memlane_arena *a, tu_obj *o, size_t n, size_t size, size_t align)
{
	memlane_stats s0 = tu_stats(a);
	for (size_t i = 0; i < n; i++) {
		int rc = tu_alloc_obj(a, &o[i], size, 0, align, (uint32_t)i, SALT + size);
		if (rc != 0)
			fail_msg("%zu bytes (align %zu), object %zu of %zu: %d (%s)", size, align, i, n, rc,
			         memlane_errmsg());
		if (memlane_handle_state(a, o[i].h) != MEMLANE_STATE_FAST)
			fail_msg("%zu bytes (align %zu), object %zu of %zu is not in the FastLane", size, align, i, n);
	}
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.fallbacks, s0.fallbacks);
	assert_int_equal(s1.promotions, s0.promotions);
	assert_int_equal(s1.fast_objects, n);
	tu_verify_all(a, o, n);
}

static void free_all(memlane_arena *a, tu_obj *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (o[i].h)
			tu_free_obj(a, &o[i]);
}

/* Sizes whose class (a power of two) divides the 64K lane fill it
 * exactly: 65536 / class objects, all in the FastLane, top at the very
 * end. */
static void test_routing_fill_exact_classes(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,threshold=1K,promotion_age=4294967296");
	const size_t sizes[] = {0, 1, 16, 17, 32, 49, 64, 113, 128, 241, 255, 256, 449, 511, 512, 897, 1000, 1023};
	tu_obj *o = calloc(4096, sizeof(*o));
	assert_non_null(o);
	for (size_t k = 0; k < TU_ARRAY_LEN(sizes); k++) {
		size_t cls = tu_class_size(sizes[k]);
		size_t n = 65536 / cls;
		assert_int_equal(n * cls, 65536);
		fill_fast_exact(a, o, n, sizes[k], 0);
		memlane_stats st = tu_stats(a);
		assert_int_equal(st.fast_top_bytes, 65536);
		assert_int_equal(st.fast_reserved_bytes, 65536);
		assert_int_equal(st.fast_free_bytes, 0);
		free_all(a, o, n);
	}
	/* Just under the threshold at alignments up to the class size. */
	const size_t aligns[] = {32, 64, 256, 1024};
	for (size_t k = 0; k < TU_ARRAY_LEN(aligns); k++) {
		fill_fast_exact(a, o, 64, 1000, aligns[k]);
		assert_int_equal(tu_stats(a).fast_top_bytes, 65536);
		free_all(a, o, 64);
	}
	/* Alignment past the class: padding is carved off, and the lane
	 * still holds 65536 / align of them. */
	fill_fast_exact(a, o, 16, 1000, 4096);
	free_all(a, o, 16);
	fill_fast_exact(a, o, 256, 200, 256);
	free_all(a, o, 256);
	free(o);
	tu_close(a);
}

/* Sizes at, below and above every class boundary under the threshold:
 * FastLane, reserving exactly the class; the threshold itself goes to
 * the SlowLane (not as a fallback). */
static void test_routing_class_boundaries(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,threshold=4K,promotion_age=4294967296");
	enum { MAXO = 256 };
	tu_obj o[MAXO];
	size_t n = 0;
	for (size_t b = 16; b <= 4096; b = tu_class_size(b + 1)) {
		for (size_t s = b - 1; s <= b + 1; s++) {
			if (s >= 4096)
				continue;
			assert_true(n < MAXO);
			memlane_stats s0 = tu_stats(a);
			tu_must_alloc(a, &o[n], s, 0, 0, (uint32_t)s, SALT);
			memlane_stats s1 = tu_stats(a);
			if (memlane_handle_state(a, o[n].h) != MEMLANE_STATE_FAST)
				fail_msg("%zu bytes (threshold 4K) not in the FastLane", s);
			assert_int_equal(s1.fast_reserved_bytes - s0.fast_reserved_bytes, tu_class_size(s));
			assert_int_equal(s1.fast_used_bytes - s0.fast_used_bytes, s);
			n++;
		}
	}
	tu_obj at;
	tu_must_alloc(a, &at, 4096, 0, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, at.h), MEMLANE_STATE_SLOW);
	assert_int_equal(tu_stats(a).fallbacks, 0);
	tu_verify_all(a, o, n);
	tu_verify(a, &at);
	tu_close(a);
}

/* A threshold that is not a class size: threshold-1 pads past the
 * threshold, and must still be placed in the FastLane; a full lane then
 * makes room rather than refuse. */
static void test_routing_threshold_not_a_class(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,threshold=1000,promotion_age=4294967296");
	tu_obj o[65];
	fill_fast_exact(a, o, 64, 999, 0); /* class 1024: exactly 64 */
	assert_int_equal(tu_stats(a).fast_top_bytes, 65536);
	tu_must_alloc(a, &o[64], 999, 0, 0, 64, SALT);
	assert_int_equal(memlane_handle_state(a, o[64].h), MEMLANE_STATE_FAST);
	assert_int_equal(tu_stats(a).fallbacks, 0);
	tu_verify_all(a, o, 65);
	tu_close(a);
}

/* The largest FastLane class: threshold 64K, objects of 65535 bytes (at
 * any alignment) fill a 1M lane sixteen times over; MEMLANE_FAST with
 * 65536 fits the top class, 65537 cannot and is placed in the SlowLane. */
static void test_routing_largest_class(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=8M,threshold=64K,promotion_age=4294967296");
	tu_obj o[16];
	const size_t aligns[] = {0, 4096};
	for (size_t k = 0; k < 2; k++) {
		fill_fast_exact(a, o, 16, 65535, aligns[k]);
		assert_int_equal(tu_stats(a).fast_top_bytes, TU_MiB);
		free_all(a, o, 16);
	}
	tu_obj top, over;
	tu_must_alloc(a, &top, 65536, MEMLANE_FAST, 4096, 0, SALT);
	assert_int_equal(memlane_handle_state(a, top.h), MEMLANE_STATE_FAST);
	tu_must_alloc(a, &over, 65537, MEMLANE_FAST, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, over.h), MEMLANE_STATE_SLOW);
	tu_verify(a, &top);
	tu_verify(a, &over);
	tu_close(a);
}

/* SlowLane: the largest object a user may place is slow_lane_size less
 * the margin (4M - 256K here). Sizes that pad to exactly that fit, at
 * page alignment too; one byte more can never fit. Blocks whose class
 * is not a multiple of the alignment still get placed. */
static void test_routing_slowlane_limits(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	const size_t max = 4 * TU_MiB - 256 * TU_KiB;
	const size_t sizes[] = {max, max - 15, max - 1};
	const size_t aligns[] = {0, 16, 4096};
	for (size_t i = 0; i < TU_ARRAY_LEN(sizes); i++) {
		for (size_t k = 0; k < TU_ARRAY_LEN(aligns); k++) {
			tu_obj o;
			int rc = tu_alloc_obj(a, &o, sizes[i], 0, aligns[k], 0, SALT);
			if (rc != 0)
				fail_msg("%zu bytes (max %zu) at align %zu: %d (%s)", sizes[i], max, aligns[k], rc,
				         memlane_errmsg());
			tu_verify(a, &o);
			tu_free_obj(a, &o);
		}
	}
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, max + 1, &h), MEMLANE_ETOOBIG);

	const size_t bsizes[] = {16384, 16383, 5000, 12289};
	tu_obj b[TU_ARRAY_LEN(bsizes)];
	for (size_t i = 0; i < TU_ARRAY_LEN(bsizes); i++) {
		tu_must_alloc(a, &b[i], bsizes[i], MEMLANE_SLOW, 4096, 0, SALT);
		assert_int_equal(memlane_handle_state(a, b[i].h), MEMLANE_STATE_SLOW);
	}
	tu_verify_all(a, b, TU_ARRAY_LEN(bsizes));
	tu_close(a);
}

/* The same limit when the margin is not a multiple of 16 (set so, or the
 * automatic slow_lane_size/16 of a lane size like 1100000). In an empty
 * lane every size is either placed or ETOOBIG: ENOMEM there would say
 * "try again later" about something that can never succeed. Sizes that
 * pad to at most slow_lane_size - margin must be placed, sizes above it
 * are ETOOBIG, and the ones in between may go either way, as long as the
 * cut is one cut (a size is ETOOBIG only if every larger one is).
 * LIBRARY BUG found by this test: the ETOOBIG check (ml_place_object
 * against ml_slow_max_object) compares the unpadded size with
 * slow_lane_size - margin, while blob_alloc (slowlane.c) places the size
 * rounded up to 16 and keeps the whole margin free; sizes within 15
 * bytes of the limit get ENOMEM in an empty lane. */
static void test_routing_slowlane_odd_margin(void **state)
{
	(void)state;
	const char *const options[] = {
		"fast_lane_size=64K,slow_lane_size=4M,slow_lane_safety_margin=100001",
		"fast_lane_size=64K,slow_lane_size=1100000", /* margin auto: 1100000 / 16 = 68750 */
	};
	const size_t max[] = {4 * TU_MiB - 100001, 1100000 - 68750};
	char why[2][400] = {"", ""};
	for (size_t k = 0; k < TU_ARRAY_LEN(options); k++) {
		memlane_arena *a = tu_open(options[k]);
		bool too_big = false;
		for (size_t size = max[k] - 40; size <= max[k] + 1 && !why[k][0]; size++) {
			memlane_handle h;
			int rc = memlane_alloc(a, size, &h);
			bool must_fit = pad16(size) <= max[k], must_not = size > max[k];
			bool ok = rc == 0 ? !must_not && !too_big : rc == MEMLANE_ETOOBIG && !must_fit;
			if (!ok)
				snprintf(why[k], sizeof(why[k]), "%s: %zu bytes (limit %zu) in an empty lane: %d (%s)",
				         options[k], size, max[k], rc, memlane_errmsg());
			else if (rc == 0)
				assert_int_equal(memlane_free(a, h), 0);
			too_big = too_big || rc == MEMLANE_ETOOBIG;
		}
		tu_close(a); /* before failing, so that nothing leaks */
	}
	if (why[0][0] || why[1][0])
		fail_msg("%s%s%s", why[0], why[0][0] && why[1][0] ? "\n" : "", why[1]);
}

/* ---- 6. coalescing holes, whatever the free order ---------------------- */

enum { NCO = 7 };
static const size_t coalesce_sizes[NCO] = {40000, 65536, 17000, 100000, 33333, 50000, 20001};

/* Guard, NCO neighbours, guard: the bottom guard leaves too little of
 * the middle for the combined size, so only the merged hole can hold it.
 * Free the neighbours in @order, then allocate the combined size. */
static void coalesce_case(const size_t order[NCO], const char *name)
{
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,auto_compaction=0");
	const size_t margin = 256 * TU_KiB;
	tu_obj guard[2], o[NCO];
	tu_must_alloc(a, &guard[0], 64 * TU_KiB, 0, 0, 100, SALT);
	size_t combined = 0;
	for (size_t i = 0; i < NCO; i++) {
		tu_must_alloc(a, &o[i], coalesce_sizes[i], 0, 0, (uint32_t)i, SALT);
		combined += pad16(coalesce_sizes[i]);
	}
	memlane_stats s = tu_stats(a);
	size_t middle = s.slow_lane_size - s.slow_blob_region_bytes - s.slow_block_region_bytes;
	tu_must_alloc(a, &guard[1], pad16(middle - margin - combined / 2), 0, 0, 101, SALT);

	/* The neighbours are one contiguous run, in allocation order downwards. */
	uintptr_t lowest = (uintptr_t)memlane_get_ro(a, o[NCO - 1].h);
	for (size_t i = 0; i + 1 < NCO; i++)
		assert_int_equal((uintptr_t)memlane_get_ro(a, o[i].h) - (uintptr_t)memlane_get_ro(a, o[i + 1].h),
		                 pad16(coalesce_sizes[i + 1]));

	memlane_stats s0 = tu_stats(a);
	size_t freed = 0;
	for (size_t i = 0; i < NCO; i++) {
		freed += pad16(o[order[i]].size);
		tu_free_obj(a, &o[order[i]]);
		assert_int_equal(tu_stats(a).slow_hole_bytes, s0.slow_hole_bytes + freed);
	}
	tu_obj big;
	int rc = tu_alloc_obj(a, &big, combined, 0, 0, 7, SALT + 1);
	if (rc != 0)
		fail_msg("order %s: %zu bytes into the merged hole: %d (%s)", name, combined, rc, memlane_errmsg());
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.compactions, s0.compactions);
	assert_int_equal(s1.moved_bytes, s0.moved_bytes);
	assert_int_equal(s1.slow_blob_region_bytes, s0.slow_blob_region_bytes);
	assert_int_equal(s1.slow_hole_bytes, 0);
	assert_int_equal((uintptr_t)memlane_get_ro(a, big.h), lowest);
	tu_verify(a, &big);
	tu_verify_all(a, guard, 2);
	tu_close(a);
}

static void test_holes_coalesce_in_any_order(void **state)
{
	(void)state;
	static const size_t orders[][NCO] = {
		{0, 1, 2, 3, 4, 5, 6}, /* top down */
		{6, 5, 4, 3, 2, 1, 0}, /* bottom up */
		{0, 2, 4, 6, 1, 3, 5}, /* every other, then the gaps */
		{1, 3, 5, 0, 2, 4, 6},
		{3, 2, 4, 1, 5, 0, 6}, /* middle out */
		{0, 6, 1, 5, 2, 4, 3}, /* outside in */
	};
	static const char *const names[] = {"top-down", "bottom-up", "evens-odds", "odds-evens", "middle-out",
	                                    "outside-in"};
	for (size_t i = 0; i < TU_ARRAY_LEN(orders); i++)
		coalesce_case(orders[i], names[i]);
	tu_rng r = {6};
	for (int k = 0; k < 6; k++) {
		size_t perm[NCO];
		shuffle(&r, perm, NCO);
		coalesce_case(perm, "random");
	}
}

/* ---- 7. auto-compaction behind the room check -------------------------- */

/* SlowLane: 30 blobs of 128K fill a 4M lane up to its 256K margin. Every
 * other one freed leaves 1920K free but no two holes together: 384K can
 * only be placed by compacting, and is. All the freed room is usable
 * afterwards; past that, ENOMEM without a pointless compaction. */
static void test_auto_compaction_slowlane(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	const size_t sz = 128 * TU_KiB;
	enum { N = 30 };
	tu_obj o[N + 13];
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], sz, 0, 0, (uint32_t)i, SALT);
	memlane_stats s0 = tu_stats(a);
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, sz, &h), MEMLANE_ENOMEM); /* full: only the margin is left */
	assert_int_equal(tu_stats(a).compactions, s0.compactions);

	for (size_t i = 0; i < N; i += 2)
		tu_free_obj(a, &o[i]);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.slow_hole_bytes, (N / 2) * sz);

	tu_obj big;
	int rc = tu_alloc_obj(a, &big, 3 * sz, 0, 0, 99, SALT + 1);
	if (rc != 0)
		fail_msg("384K with 1920K free in 128K holes: %d (%s)", rc, memlane_errmsg());
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(s2.compactions, s1.compactions + 1);
	assert_true(s2.moved_objects > s1.moved_objects);
	tu_verify(a, &big);
	tu_verify_all(a, o, N);

	/* The rest of the freed room, 1536K, is twelve more 128K objects. */
	for (size_t i = 0; i < 12; i++)
		tu_must_alloc(a, &o[N + i], sz, 0, 0, 0, SALT + 2);
	memlane_stats s3 = tu_stats(a);
	assert_int_equal(s3.compactions, s2.compactions);
	assert_int_equal(memlane_alloc(a, sz, &h), MEMLANE_ENOMEM);
	memlane_stats s4 = tu_stats(a);
	assert_int_equal(s4.compactions, s3.compactions);
	assert_int_equal(s4.objects, s3.objects);
	assert_int_equal(s4.slow_reserved_bytes, s3.slow_reserved_bytes);
	tu_verify(a, &big);
	tu_verify_all(a, o, N + 12);
	tu_close(a);
}

/* FastLane: 1024 objects of 64 bytes fill 64K; every other one freed
 * leaves 32K in 64-byte holes. A 1000-byte object fits nowhere without
 * compacting: it is placed in the FastLane by compacting, not by
 * promotion or fallback, and so are the 31 after it. */
static void test_auto_compaction_fastlane(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,promotion_age=4294967296");
	enum { N = 1024 };
	tu_obj *o = calloc(N, sizeof(*o));
	tu_obj big[32];
	assert_non_null(o);
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], 64, 0, 0, (uint32_t)i, SALT);
	for (size_t i = 0; i < N; i += 2)
		tu_free_obj(a, &o[i]);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.fast_free_bytes, 32768);
	assert_int_equal(s0.fast_top_bytes, 65536);

	tu_must_alloc(a, &big[0], 1000, 0, 0, 0, SALT + 1);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(memlane_handle_state(a, big[0].h), MEMLANE_STATE_FAST);
	assert_int_equal(s1.compactions, s0.compactions + 1);
	assert_true(s1.moved_objects > s0.moved_objects);
	assert_int_equal(s1.promotions, 0);
	assert_int_equal(s1.fallbacks, 0);
	for (size_t i = 1; i < 32; i++) {
		tu_must_alloc(a, &big[i], 1000, 0, 0, 0, SALT + 1);
		assert_int_equal(memlane_handle_state(a, big[i].h), MEMLANE_STATE_FAST);
	}
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(s2.compactions, s1.compactions);
	assert_int_equal(s2.promotions, 0);
	assert_int_equal(s2.fallbacks, 0);
	assert_int_equal(s2.fast_top_bytes, 65536);
	tu_verify_all(a, big, 32);
	tu_verify_all(a, o, N);
	free(o);
	tu_close(a);
}

/* ---- 8. blob space reused --------------------------------------------- */

/* Stamp the first and last 8 bytes of a big object (filling it all on
 * every round would take most of the test's time). */
static void stamp_ends(memlane_arena *a, memlane_handle h, size_t size, uint64_t v)
{
	uint64_t w = ~v;
	assert_int_equal(memlane_write(a, h, 0, &v, 8), 0);
	assert_int_equal(memlane_write(a, h, size - 8, &w, 8), 0);
}

static void check_ends(memlane_arena *a, memlane_handle h, size_t size, uint64_t v)
{
	uint64_t x = 0, y = 0;
	assert_int_equal(memlane_read(a, h, 0, &x, 8), 0);
	assert_int_equal(memlane_read(a, h, size - 8, &y, 8), 0);
	assert_true(x == v);
	assert_true(y == ~v);
}

/* Guard, a 1M object, and a guard so big that only the 1M object's own
 * hole can take the next one: 2000 rounds of free and allocate (about
 * 1.5 GiB through a 4 MiB lane) with compaction off. */
static void test_blob_hole_reused_forever(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M,auto_compaction=0");
	tu_obj g[2];
	tu_must_alloc(a, &g[0], 64 * TU_KiB, 0, 0, 0, SALT);
	memlane_handle x;
	assert_int_equal(memlane_alloc(a, TU_MiB, &x), 0);
	tu_must_alloc(a, &g[1], 2240 * TU_KiB, 0, 0, 1, SALT); /* middle left: 768K, margin 256K */
	memlane_handle probe;
	assert_int_equal(memlane_alloc(a, 600 * TU_KiB, &probe), MEMLANE_ENOMEM);
	memlane_stats base = tu_stats(a);
	size_t base_used = base.slow_used_bytes - TU_MiB;

	tu_rng r = {8};
	for (int round = 0; round < 2000; round++) {
		assert_int_equal(memlane_free(a, x), 0);
		memlane_stats s = tu_stats(a);
		assert_int_equal(s.slow_used_bytes, base_used);
		assert_int_equal(s.slow_hole_bytes, TU_MiB);
		size_t size = tu_range(&r, 512 * TU_KiB, TU_MiB);
		int rc = memlane_alloc(a, size, &x);
		if (rc != 0)
			fail_msg("round %d: %zu bytes: %d (%s)", round, size, rc, memlane_errmsg());
		stamp_ends(a, x, size, (uint64_t)round);
		check_ends(a, x, size, (uint64_t)round);
		s = tu_stats(a);
		assert_int_equal(s.slow_used_bytes, base_used + size);
		assert_int_equal(s.slow_blob_region_bytes, base.slow_blob_region_bytes);
	}
	memlane_stats end = tu_stats(a);
	assert_int_equal(end.compactions, 0);
	assert_int_equal(end.allocs, base.allocs + 2000);
	tu_verify_all(a, g, 2);
	assert_int_equal(memlane_free(a, x), 0);
	assert_int_equal(tu_stats(a).slow_used_bytes, base_used);
	tu_close(a);
}

/* Random sizes, blocks and blobs, a few alive at a time, thousands of
 * rounds: never ENOMEM, and when all is freed both regions are gone. */
static void test_slowlane_churn_returns_to_baseline(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=4M");
	enum { LIVE = 4, ROUNDS = 3000 };
	memlane_handle h[LIVE] = {0};
	size_t sz[LIVE] = {0};
	tu_rng r = {88};
	for (int round = 0; round < ROUNDS; round++) {
		size_t k = tu_range(&r, 0, LIVE - 1);
		if (h[k]) {
			check_ends(a, h[k], sz[k], ((uint64_t)k << 40 | (uint64_t)sz[k]));
			assert_int_equal(memlane_free(a, h[k]), 0);
		}
		sz[k] = tu_range(&r, 0, 3) == 0 ? tu_range(&r, 8, 16384) : tu_range(&r, 16385, 800 * TU_KiB);
		int rc = memlane_alloc_ex(a, sz[k], &(memlane_alloc_opts){MEMLANE_SLOW, 0, 0}, &h[k]);
		if (rc != 0)
			fail_msg("round %d: %zu bytes: %d (%s)", round, sz[k], rc, memlane_errmsg());
		stamp_ends(a, h[k], sz[k], ((uint64_t)k << 40 | (uint64_t)sz[k]));
	}
	for (size_t k = 0; k < LIVE; k++) {
		check_ends(a, h[k], sz[k], ((uint64_t)k << 40 | (uint64_t)sz[k]));
		assert_int_equal(memlane_free(a, h[k]), 0);
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.slow_used_bytes, 0);
	assert_int_equal(st.slow_reserved_bytes, 0);
	assert_int_equal(st.slow_blob_region_bytes, 0);
	assert_int_equal(st.slow_block_region_bytes, 0);
	assert_int_equal(st.slow_free_bytes, st.slow_lane_size);
	assert_int_equal(st.allocs, ROUNDS);
	assert_int_equal(st.frees, ROUNDS);
	tu_close(a);
}

/* ---- 9. background compaction under a pinned reader -------------------- */

/* Poll the stats until @done says so, for at most ten seconds. */
static memlane_stats wait_for(memlane_arena *a, bool (*done)(const memlane_stats *, const memlane_stats *),
                              const memlane_stats *from, const tu_obj *pinned, const char *what)
{
	for (int i = 0; i < 10000; i++) {
		memlane_stats st = tu_stats(a);
		if (pinned && tu_checksum(pinned->pinned, pinned->size) != pinned->sum)
			fail_msg("waiting for %s: bytes under the pinned pointer changed", what);
		if (done(&st, from))
			return st;
		sleep_ms(1);
	}
	fail_msg("the background thread did not %s within 10 s", what);
	return *from;
}

static bool compacted_and_moved(const memlane_stats *st, const memlane_stats *from)
{
	return st->compactions > from->compactions && st->moved_objects > from->moved_objects;
}

static bool fast_lane_packed(const memlane_stats *st, const memlane_stats *from)
{
	return st->fast_free_bytes == 0 && st->moved_objects > from->moved_objects;
}

/* Read @o through memlane_get while the background thread may run: the
 * pointer is good if no move (compaction or promotion) finished between
 * getting it and checking the bytes. */
static void verify_through_get(memlane_arena *a, const tu_obj *o)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		memlane_stats before = tu_stats(a);
		const void *p = memlane_get_ro(a, o->h);
		assert_non_null(p);
		uint64_t sum = tu_checksum(p, o->size);
		memlane_stats after = tu_stats(a);
		if (after.moved_objects != before.moved_objects || after.promotions != before.promotions)
			continue; /* moved while reading: try again */
		assert_int_equal(sum, o->sum);
		return;
	}
	fail_msg("could not read the object without a move getting in the way");
}

/* Allocate @n objects of @size, pin the one at @pin_at, free every odd
 * one: the background thread (1 ms period, threshold 0.1) compacts.
 * While it does, the pinned pointer stays put and its bytes intact. */
static void background_case(const char *options, size_t n, size_t size, unsigned flags, size_t pin_at, bool fast)
{
	memlane_arena *a = tu_open(options);
	tu_obj *o = calloc(n, sizeof(*o));
	assert_non_null(o);
	for (size_t i = 0; i < n; i++)
		tu_must_alloc(a, &o[i], size, flags, 0, (uint32_t)i, SALT);
	tu_obj *pin = &o[pin_at];
	assert_int_equal(memlane_pin(a, pin->h, &pin->pinned), 0);
	assert_int_equal(tu_checksum(pin->pinned, pin->size), pin->sum);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.pinned_objects, 1);

	for (size_t i = 1; i < n; i += 2)
		tu_free_obj(a, &o[i]);
	memlane_stats s1 = wait_for(a, compacted_and_moved, &s0, pin, "compact");
	assert_true(s1.maintenance_runs > s0.maintenance_runs);

	/* Still where it was, bytes intact, and pinning again says so. */
	void *again;
	assert_int_equal(memlane_pin(a, pin->h, &again), 0);
	assert_ptr_equal(again, pin->pinned);
	assert_int_equal(memlane_unpin(a, pin->h), 0);
	assert_int_equal(tu_checksum(pin->pinned, pin->size), pin->sum);
	for (size_t i = 0; i < n; i += 2)
		tu_verify_seed(a, o[i].h, o[i].size, o[i].seed); /* memlane_read: safe with the thread running */

	/* Unpinned, it may move; memlane_get still finds its bytes. */
	assert_int_equal(memlane_unpin(a, pin->h), 0);
	pin->pinned = NULL;
	if (fast) {
		/* The hole the pin held open closes: the object moved. */
		memlane_stats s2 = tu_stats(a);
		wait_for(a, fast_lane_packed, &s2, NULL, "close the FastLane's last hole");
	}
	for (size_t i = 0; i < n; i += 2)
		verify_through_get(a, &o[i]);
	assert_int_equal(tu_stats(a).pinned_objects, 0);
	free(o);
	tu_close(a);
}

static void test_background_compaction_spares_pinned_fast(void **state)
{
	(void)state;
	background_case("fast_lane_size=1M,slow_lane_size=8M,policy_check_interval=1ms,compaction_threshold=0.1,"
	                "promotion_age=4294967296",
	                400, 256, 0, 200, true);
}

static void test_background_compaction_spares_pinned_slow(void **state)
{
	(void)state;
	background_case("fast_lane_size=64K,slow_lane_size=8M,policy_check_interval=1ms,compaction_threshold=0.1,"
	                "promotion_age=4294967296",
	                40, 64 * TU_KiB, 0, 20, false);
}

/* The block region: 4000-byte objects (class 4096, 16 a slab) in ten
 * slabs, half of each freed; consolidation empties slabs into others
 * and slides slabs down, around the pinned object's slab. */
static void test_background_compaction_spares_pinned_blocks(void **state)
{
	(void)state;
	background_case("fast_lane_size=64K,slow_lane_size=8M,policy_check_interval=1ms,compaction_threshold=0.1,"
	                "promotion_age=4294967296",
	                160, 4000, MEMLANE_SLOW, 86, false);
}

/* ---- frame scratch ---------------------------------------------------- */

/* Every frame allocates hundreds of objects of up to 760 bytes (class
 * 768 at most: the worst frame, 330 * 768 bytes, just fits the 256K
 * lane) and frees them all in random order; 3000 frames. The lane must
 * reset after each frame: nothing is ever compacted, promoted or moved
 * to the SlowLane. */
static void test_frame_scratch_never_exhausts(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=256K,slow_lane_size=4M,threshold=1K");
	enum { FRAMES = 3000, MAXN = 330 };
	memlane_handle h[MAXN];
	size_t sz[MAXN], order[MAXN];
	tu_rng r = {2024};
	uint64_t total = 0;
	for (int f = 0; f < FRAMES; f++) {
		size_t n = tu_range(&r, 200, MAXN);
		for (size_t i = 0; i < n; i++) {
			sz[i] = tu_range(&r, 1, 760);
			int rc = memlane_alloc(a, sz[i], &h[i]);
			if (rc != 0)
				fail_msg("frame %d, object %zu (%zu bytes): %d (%s)", f, i, sz[i], rc, memlane_errmsg());
			uint64_t stamp = ((uint64_t)f << 32 | i);
			assert_int_equal(memlane_write(a, h[i], 0, &stamp, sz[i] < 8 ? sz[i] : 8), 0);
		}
		for (size_t i = 0; i < n; i += 11) {
			uint64_t stamp = ((uint64_t)f << 32 | i), got = 0;
			size_t len = sz[i] < 8 ? sz[i] : 8;
			assert_int_equal(memlane_read(a, h[i], 0, &got, len), 0);
			assert_memory_equal(&got, &stamp, len);
			assert_int_equal(memlane_handle_state(a, h[i]), MEMLANE_STATE_FAST);
		}
		shuffle(&r, order, n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(memlane_free(a, h[order[i]]), 0);
		total += n;
		memlane_stats st = tu_stats(a);
		if (st.fast_top_bytes != 0 || st.fast_free_bytes != 0)
			fail_msg("frame %d: the empty FastLane did not reset (top %llu, free %llu)", f,
			         (unsigned long long)st.fast_top_bytes, (unsigned long long)st.fast_free_bytes);
		assert_int_equal(memlane_tick(a), 0);
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fallbacks, 0);
	assert_int_equal(st.promotions, 0);
	assert_int_equal(st.compactions, 0);
	assert_int_equal(st.slow_objects, 0);
	assert_int_equal(st.slow_reserved_bytes, 0);
	assert_int_equal(st.allocs, total);
	assert_int_equal(st.frees, total);
	assert_int_equal(st.ticks, FRAMES);
	tu_close(a);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_handle_never_frees_reuser),
		cmocka_unit_test(test_stale_handles_over_many_generations),
		cmocka_unit_test(test_lane_reset_keeps_old_handles_dead),
		cmocka_unit_test(test_promote_twice_no_leak),
		cmocka_unit_test(test_write_after_promotion),
		cmocka_unit_test(test_routing_fill_exact_classes),
		cmocka_unit_test(test_routing_class_boundaries),
		cmocka_unit_test(test_routing_threshold_not_a_class),
		cmocka_unit_test(test_routing_largest_class),
		cmocka_unit_test(test_routing_slowlane_limits),
		cmocka_unit_test(test_routing_slowlane_odd_margin),
		cmocka_unit_test(test_holes_coalesce_in_any_order),
		cmocka_unit_test(test_auto_compaction_slowlane),
		cmocka_unit_test(test_auto_compaction_fastlane),
		cmocka_unit_test(test_blob_hole_reused_forever),
		cmocka_unit_test(test_slowlane_churn_returns_to_baseline),
		cmocka_unit_test(test_background_compaction_spares_pinned_fast),
		cmocka_unit_test(test_background_compaction_spares_pinned_slow),
		cmocka_unit_test(test_background_compaction_spares_pinned_blocks),
		cmocka_unit_test(test_frame_scratch_never_exhausts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
