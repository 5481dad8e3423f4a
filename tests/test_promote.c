/* test_promote.c - the one-way lane: memlane_promote keeps bytes,
 * handle, tag, alignment and size; promoting twice is harmless; pinned
 * objects refuse; promotion by age (memlane_tick) and of MEMLANE_COLD
 * objects (memlane_maintain); writing after promotion works. */
#include "testutil.h"

#define SALT 0x50524f4dull /* "PROM" */
#define OPTS "fast_lane_size=1M,slow_lane_size=16M,promotion_age=4294967296"

static void test_promote_keeps_everything(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	const size_t sizes[] = {0, 1, 100, 300, 800, 4000, 65536};
	const size_t al[] = {0, 16, 64, 256, 1024, 4096, 4096};
	tu_obj o[7];
	for (size_t i = 0; i < 7; i++) {
		unsigned flags = sizes[i] >= 1024 ? MEMLANE_FAST : 0;
		tu_must_alloc(a, &o[i], sizes[i], flags, al[i], 0xBEEF0000u + (uint32_t)i, SALT);
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_FAST);
	}
	for (size_t i = 0; i < 7; i++) {
		memlane_handle h = o[i].h;
		memlane_stats s0 = tu_stats(a);
		assert_int_equal(memlane_promote(a, o[i].h), 0);
		memlane_stats s1 = tu_stats(a);
		assert_int_equal(o[i].h, h);
		assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_SLOW);
		assert_int_equal(memlane_valid(a, h), 1);
		assert_int_equal(memlane_size(a, h), sizes[i]);
		assert_int_equal(memlane_tag(a, h), 0xBEEF0000u + (uint32_t)i);
		assert_int_equal(s1.promotions, s0.promotions + 1);
		assert_int_equal(s1.fast_objects, s0.fast_objects - 1);
		assert_int_equal(s1.slow_objects, s0.slow_objects + 1);
		assert_int_equal(s1.objects, s0.objects);
		assert_int_equal(s1.fast_used_bytes, s0.fast_used_bytes - sizes[i]);
		assert_int_equal(s1.slow_used_bytes, s0.slow_used_bytes + sizes[i]);
		tu_verify(a, &o[i]); /* bytes, checksum and alignment */
		tu_verify_all(a, o, 7);
	}
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.fast_objects, 0);
	assert_int_equal(st.fast_reserved_bytes, 0);
	tu_close(a);
}

/* A second promote (and a promote of a SlowLane object) is a no-op:
 * no leak, no corruption, no counter moved. */
static void test_promote_twice_harmless(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	enum { N = 200 };
	tu_obj o[N];
	tu_rng r = {3};
	for (size_t i = 0; i < N; i++)
		tu_must_alloc(a, &o[i], tu_range(&r, 1, 800), 0, i % 3 ? 0 : 64, (uint32_t)i, SALT);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(memlane_promote(a, o[i].h), 0);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.promotions, N);
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < N; i++)
			assert_int_equal(memlane_promote(a, o[i].h), 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.promotions, s0.promotions);
	assert_int_equal(s1.slow_used_bytes, s0.slow_used_bytes);
	assert_int_equal(s1.slow_reserved_bytes, s0.slow_reserved_bytes);
	assert_int_equal(s1.slow_free_bytes, s0.slow_free_bytes);
	assert_int_equal(s1.slow_objects, N);
	assert_int_equal(s1.objects, N);
	tu_verify_all(a, o, N);

	/* Born in the SlowLane: promote does nothing. */
	tu_obj s;
	tu_must_alloc(a, &s, 50, MEMLANE_SLOW, 0, 0, SALT);
	memlane_stats s2 = tu_stats(a);
	assert_int_equal(memlane_promote(a, s.h), 0);
	memlane_stats s3 = tu_stats(a);
	assert_int_equal(s3.promotions, s2.promotions);
	assert_int_equal(s3.slow_reserved_bytes, s2.slow_reserved_bytes);
	tu_verify(a, &s);

	/* Free everything: nothing left behind in either lane. */
	for (size_t i = 0; i < N; i++)
		tu_free_obj(a, &o[i]);
	tu_free_obj(a, &s);
	memlane_stats s4 = tu_stats(a);
	assert_int_equal(s4.objects, 0);
	assert_int_equal(s4.slow_used_bytes, 0);
	assert_int_equal(s4.slow_reserved_bytes, 0);
	assert_int_equal(s4.fast_reserved_bytes, 0);
	tu_close(a);
}

static void test_promote_pinned(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj o;
	tu_must_alloc(a, &o, 333, 0, 0, 5, SALT);
	void *p1, *p2;
	assert_int_equal(memlane_pin(a, o.h, &p1), 0);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(memlane_promote(a, o.h), MEMLANE_EPINNED);
	assert_true(strlen(memlane_errmsg()) > 0);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.promotions, s0.promotions);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_FAST);
	assert_int_equal(memlane_pin(a, o.h, &p2), 0);
	assert_ptr_equal(p1, p2);
	assert_int_equal(tu_checksum(p1, o.size), o.sum);
	assert_int_equal(memlane_unpin(a, o.h), 0);
	assert_int_equal(memlane_promote(a, o.h), MEMLANE_EPINNED); /* still pinned once */
	assert_int_equal(memlane_unpin(a, o.h), 0);
	assert_int_equal(memlane_promote(a, o.h), 0);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SLOW);
	tu_verify(a, &o);
	assert_int_equal(memlane_promote(a, MEMLANE_NULL), MEMLANE_EHANDLE);
	tu_close(a);
}

/* Objects whose age (ticks since allocation) reaches promotion_age are
 * promoted by the policy cycle that memlane_tick runs. */
static void test_promotion_by_age(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=16M,promotion_age=5");
	tu_obj o0, o2, pinned;
	tu_must_alloc(a, &o0, 100, 0, 64, 1, SALT); /* born at tick 0 */
	tu_must_alloc(a, &pinned, 120, 0, 0, 3, SALT);
	void *pp;
	assert_int_equal(memlane_pin(a, pinned.h, &pp), 0);
	for (int t = 1; t <= 2; t++)
		assert_int_equal(memlane_tick(a), 0);
	tu_must_alloc(a, &o2, 200, 0, 256, 2, SALT); /* born at tick 2 */
	for (int t = 3; t <= 4; t++)
		assert_int_equal(memlane_tick(a), 0);
	memlane_stats s = tu_stats(a);
	assert_int_equal(s.ticks, 4);
	assert_true(s.maintenance_runs >= 4);
	assert_int_equal(s.promotions, 0);
	assert_int_equal(memlane_handle_state(a, o0.h), MEMLANE_STATE_FAST);

	assert_int_equal(memlane_tick(a), 0); /* tick 5: o0 is 5 ticks old */
	assert_int_equal(memlane_handle_state(a, o0.h), MEMLANE_STATE_SLOW);
	assert_int_equal(memlane_handle_state(a, o2.h), MEMLANE_STATE_FAST);
	assert_int_equal(memlane_handle_state(a, pinned.h), MEMLANE_STATE_FAST); /* pinned: skipped */
	assert_int_equal(tu_stats(a).promotions, 1);
	tu_verify(a, &o0);

	for (int t = 6; t <= 6; t++)
		assert_int_equal(memlane_tick(a), 0);
	assert_int_equal(memlane_handle_state(a, o2.h), MEMLANE_STATE_FAST);
	assert_int_equal(memlane_tick(a), 0); /* tick 7: o2 is 5 ticks old */
	assert_int_equal(memlane_handle_state(a, o2.h), MEMLANE_STATE_SLOW);
	tu_verify(a, &o2);

	/* The pinned one stayed put; unpinned, the next cycle takes it. */
	void *pp2;
	assert_int_equal(memlane_pin(a, pinned.h, &pp2), 0);
	assert_ptr_equal(pp, pp2);
	assert_int_equal(memlane_unpin(a, pinned.h), 0);
	assert_int_equal(memlane_unpin(a, pinned.h), 0);
	assert_int_equal(memlane_handle_state(a, pinned.h), MEMLANE_STATE_FAST);
	assert_int_equal(memlane_tick(a), 0);
	assert_int_equal(memlane_handle_state(a, pinned.h), MEMLANE_STATE_SLOW);
	tu_verify(a, &pinned);
	assert_int_equal(tu_stats(a).promotions, 3);
	assert_int_equal(memlane_tag(a, o0.h), 1);
	assert_int_equal(memlane_tag(a, o2.h), 2);
	tu_close(a);
}

/* promotion_age=0: every FastLane object goes at the next cycle. */
static void test_promotion_age_zero(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=16M,promotion_age=0");
	tu_obj o[10];
	for (size_t i = 0; i < 10; i++)
		tu_must_alloc(a, &o[i], 10 + i * 50, 0, 0, 0, SALT);
	assert_int_equal(memlane_maintain(a), 0);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_SLOW);
	tu_verify_all(a, o, 10);
	tu_close(a);
}

/* MEMLANE_COLD objects go at the first policy cycle, whatever their age. */
static void test_cold_promoted_first(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTS);
	tu_obj cold[5], warm[5];
	for (size_t i = 0; i < 5; i++) {
		tu_must_alloc(a, &cold[i], 64 + i, MEMLANE_COLD, 0, 10 + (uint32_t)i, SALT);
		tu_must_alloc(a, &warm[i], 64 + i, 0, 0, 20 + (uint32_t)i, SALT);
		assert_int_equal(memlane_handle_state(a, cold[i].h), MEMLANE_STATE_FAST);
	}
	assert_int_equal(memlane_pin(a, cold[4].h, &cold[4].pinned), 0);
	assert_int_equal(memlane_maintain(a), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(memlane_handle_state(a, cold[i].h), MEMLANE_STATE_SLOW);
	assert_int_equal(memlane_handle_state(a, cold[4].h), MEMLANE_STATE_FAST);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(memlane_handle_state(a, warm[i].h), MEMLANE_STATE_FAST);
	assert_int_equal(tu_stats(a).promotions, 4);
	tu_verify_all(a, cold, 5);
	tu_verify_all(a, warm, 5);
	assert_int_equal(memlane_unpin(a, cold[4].h), 0);

	/* Through memlane_tick as well. */
	tu_obj c;
	tu_must_alloc(a, &c, 77, MEMLANE_COLD | MEMLANE_ZERO, 128, 0, SALT);
	assert_int_equal(memlane_tick(a), 0);
	assert_int_equal(memlane_handle_state(a, c.h), MEMLANE_STATE_SLOW);
	assert_int_equal(memlane_handle_state(a, cold[4].h), MEMLANE_STATE_SLOW);
	tu_verify(a, &c);
	tu_verify(a, &cold[4]);
	tu_close(a);
}

/* After promotion the handle writes and reads the SlowLane copy. */
static void test_write_after_promotion(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=16M,promotion_age=1");
	tu_obj o[3];
	for (size_t i = 0; i < 3; i++)
		tu_must_alloc(a, &o[i], 700, 0, 0, 0, SALT);
	assert_int_equal(memlane_promote(a, o[0].h), 0); /* explicit */
	assert_int_equal(memlane_tick(a), 0);            /* by age */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_SLOW);
	for (size_t i = 0; i < 3; i++) {
		/* whole rewrite through memlane_write */
		uint64_t seed = tu_mix64(0x1234 + i);
		tu_fill_seed(a, o[i].h, o[i].size, seed);
		uint8_t *p = memlane_get(a, o[i].h);
		assert_non_null(p);
		assert_int_equal(tu_pattern_mismatch(seed, 0, p, o[i].size), SIZE_MAX);
		/* partial write at an offset, then read back both ways */
		uint8_t patch[40];
		memset(patch, 0x5a + (int)i, sizeof(patch));
		assert_int_equal(memlane_write(a, o[i].h, 600, patch, sizeof(patch)), 0);
		p = memlane_get(a, o[i].h);
		assert_memory_equal(p + 600, patch, sizeof(patch));
		assert_int_equal(tu_pattern_mismatch(seed, 0, p, 600), SIZE_MAX);
		assert_int_equal(tu_pattern_mismatch(seed, 640, p + 640, 60), SIZE_MAX);
		uint8_t back[40];
		assert_int_equal(memlane_read(a, o[i].h, 600, back, sizeof(back)), 0);
		assert_memory_equal(back, patch, sizeof(back));
		/* writes through the pointer are seen by memlane_read */
		p[0] = 0xAB;
		uint8_t b0 = 0;
		assert_int_equal(memlane_read(a, o[i].h, 0, &b0, 1), 0);
		assert_int_equal(b0, 0xAB);
	}
	/* A compaction of the SlowLane keeps the new bytes. */
	tu_obj filler;
	tu_must_alloc(a, &filler, 100000, 0, 0, 0, SALT);
	tu_free_obj(a, &filler);
	assert_int_equal(memlane_compact(a), 0);
	uint8_t back[40], patch[40];
	memset(patch, 0x5a, sizeof(patch));
	assert_int_equal(memlane_read(a, o[0].h, 600, back, sizeof(back)), 0);
	assert_memory_equal(back, patch, sizeof(back));
	tu_close(a);
}

/* A promotion that finds no room in the SlowLane fails with ENOMEM and
 * leaves the object where it was, bytes intact. */
static void test_promote_no_room(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=1M,threshold=8K,promotion_age=4294967296");
	/* Fill the SlowLane with pinned blobs until it refuses. */
	tu_obj big[64];
	size_t nb = 0;
	while (nb < 64 && tu_alloc_obj(a, &big[nb], 32 * TU_KiB, MEMLANE_SLOW, 0, 0, SALT) == 0) {
		assert_int_equal(memlane_pin(a, big[nb].h, NULL), 0);
		nb++;
	}
	assert_true(nb > 0 && nb < 64);
	/* Promote FastLane objects until the promotion fails. */
	enum { NF = 200 };
	tu_obj f[NF];
	size_t promoted = 0;
	int failed = 0;
	for (size_t i = 0; i < NF && !failed; i++) {
		tu_must_alloc(a, &f[i], 4000, 0, 0, (uint32_t)i, SALT + 1);
		memlane_stats s0 = tu_stats(a);
		int rc = memlane_promote(a, f[i].h);
		if (rc == 0) {
			promoted++;
			continue;
		}
		assert_int_equal(rc, MEMLANE_ENOMEM);
		memlane_stats s1 = tu_stats(a);
		assert_int_equal(memlane_handle_state(a, f[i].h), MEMLANE_STATE_FAST);
		assert_int_equal(s1.promotions, s0.promotions);
		assert_int_equal(s1.fast_objects, s0.fast_objects);
		assert_int_equal(s1.slow_reserved_bytes, s0.slow_reserved_bytes);
		tu_verify(a, &f[i]);
		tu_verify_all(a, f, i + 1);
		failed = 1;
	}
	assert_true(failed);
	tu_verify_all(a, big, nb);
	(void)promoted;
	tu_close(a);
}

/* A realloc that moves an object inside the FastLane keeps its age: it
 * is promoted on time even when younger objects were born after it
 * (the age walk stops at the first young object in birth order). */
static void test_realloc_keeps_age_order(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=1M,slow_lane_size=16M,promotion_age=5");
	tu_obj old, young;
	tu_must_alloc(a, &old, 100, 0, 0, 1, SALT);
	for (int i = 0; i < 4; i++)
		assert_int_equal(memlane_tick(a), 0);
	tu_must_alloc(a, &young, 100, 0, 0, 2, SALT);
	assert_int_equal(memlane_realloc(a, old.h, 900), 0); /* another class: it moves */
	old.size = 900;
	tu_fill(a, &old, SALT);
	assert_int_equal(memlane_tick(a), 0); /* old is 5 ticks old now */
	assert_int_equal(memlane_handle_state(a, old.h), MEMLANE_STATE_SLOW);
	assert_int_equal(memlane_handle_state(a, young.h), MEMLANE_STATE_FAST);
	tu_verify(a, &old);
	tu_verify(a, &young);
	tu_close(a);
}

/* The young queue keeps its order through churn: a freed object's
 * slot, reused by a younger one, is not promoted on the old one's
 * behalf, and tens of thousands of short-lived objects between ticks
 * (whose dead entries the queue drops as it fills) neither hold back
 * the old survivors nor push the young ones out early. */
static void test_birth_order_survives_churn(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=32M,promotion_age=3");
	enum { OLD = 10, CHURN = 60000 };
	tu_obj old[OLD], reborn;
	memlane_handle gone;
	for (int i = 0; i < OLD; i++)
		tu_must_alloc(a, &old[i], 40 + (size_t)i * 8, 0, 0, (uint32_t)i, SALT);
	assert_int_equal(memlane_alloc(a, 64, &gone), 0);
	assert_int_equal(memlane_free(a, gone), 0); /* its slot is reused next */
	assert_int_equal(memlane_tick(a), 0);       /* tick 1 */
	tu_must_alloc(a, &reborn, 64, 0, 0, 99, SALT); /* born at tick 1 in the freed slot */
	assert_int_equal((uint32_t)reborn.h, (uint32_t)gone);
	for (int i = 0; i < CHURN; i++) {
		memlane_handle h;
		assert_int_equal(memlane_alloc(a, 16 + (size_t)(i % 200), &h), 0);
		assert_int_equal(memlane_free(a, h), 0);
	}
	assert_int_equal(memlane_tick(a), 0); /* tick 2 */
	assert_int_equal(memlane_tick(a), 0); /* tick 3: the old ones are 3 ticks old */
	for (int i = 0; i < OLD; i++) {
		assert_int_equal(memlane_handle_state(a, old[i].h), MEMLANE_STATE_SLOW);
		tu_verify(a, &old[i]);
	}
	assert_int_equal(memlane_handle_state(a, reborn.h), MEMLANE_STATE_FAST);
	assert_int_equal(tu_stats(a).promotions, OLD);
	assert_int_equal(memlane_tick(a), 0); /* tick 4: reborn is 3 ticks old */
	assert_int_equal(memlane_handle_state(a, reborn.h), MEMLANE_STATE_SLOW);
	tu_verify(a, &reborn);
	assert_int_equal(tu_stats(a).promotions, OLD + 1);
	assert_int_equal(tu_stats(a).fast_objects, 0);
	tu_close(a);
}

/* The young queue is started only when promotion first needs it (here:
 * the tick reaching promotion_age), from the handle table, oldest first.
 * Objects born two ticks later in the slots of freed old ones (lower
 * slots than the old survivors') must neither hold back the old ones
 * (the age walk stops at the first young object) nor go with them. */
static void test_young_queue_started_late(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=32M,promotion_age=3");
	enum { N = 64 };
	tu_obj old[N], young[N / 2];
	for (int i = 0; i < N; i++)
		tu_must_alloc(a, &old[i], 48 + (size_t)i, 0, 0, (uint32_t)i, SALT);
	for (int i = 0; i < N; i += 2)
		tu_free_obj(a, &old[i]);
	assert_int_equal(memlane_tick(a), 0); /* tick 1 */
	assert_int_equal(memlane_tick(a), 0); /* tick 2 */
	for (int i = 0; i < N / 2; i++) {
		tu_must_alloc(a, &young[i], 40, 0, 0, 100 + (uint32_t)i, SALT);
		assert_true((uint32_t)young[i].h < (uint32_t)old[N - 1].h);
	}
	assert_int_equal(tu_stats(a).promotions, 0);
	assert_int_equal(memlane_tick(a), 0); /* tick 3: the old are 3 ticks old */
	for (int i = 1; i < N; i += 2)
		assert_int_equal(memlane_handle_state(a, old[i].h), MEMLANE_STATE_SLOW);
	for (int i = 0; i < N / 2; i++)
		assert_int_equal(memlane_handle_state(a, young[i].h), MEMLANE_STATE_FAST);
	assert_int_equal(tu_stats(a).promotions, N / 2);
	assert_int_equal(memlane_tick(a), 0);
	assert_int_equal(memlane_tick(a), 0); /* tick 5: the young are 3 ticks old */
	for (int i = 0; i < N / 2; i++)
		assert_int_equal(memlane_handle_state(a, young[i].h), MEMLANE_STATE_SLOW);
	tu_verify_all(a, old, N);
	tu_verify_all(a, young, N / 2);
	tu_close(a);
}

/* A FastLane full before the first tick starts the young queue in the
 * middle of an allocation (to promote the oldest): that allocation's own
 * object, placed in the room made, must join the queue like any other,
 * or it would never be promoted by age and compaction working from the
 * queue would not know it. */
static void test_young_queue_started_by_full_lane(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=64K,slow_lane_size=8M,threshold=2K,promotion_age=2");
	enum { MAX = 200 };
	tu_obj o[MAX];
	int n = 0, trigger = -1;
	for (; n < MAX && trigger < 0; n++) {
		tu_must_alloc(a, &o[n], 1000, 0, 0, (uint32_t)n, SALT);
		if (tu_stats(a).promotions > 0)
			trigger = n;
	}
	assert_true(trigger > 0);
	assert_int_equal(memlane_handle_state(a, o[trigger].h), MEMLANE_STATE_FAST);
	assert_int_equal(memlane_tick(a), 0);
	assert_int_equal(memlane_tick(a), 0); /* tick 2: everything is 2 ticks old */
	for (int i = 0; i < n; i++)
		if (memlane_handle_state(a, o[i].h) != MEMLANE_STATE_SLOW)
			fail_msg("object %d of %d (%d started the queue): not promoted by age", i, n, trigger);
	tu_verify_all(a, o, (size_t)n);
	tu_close(a);
}

static void tick_to(memlane_arena *a, uint64_t *tick, uint64_t to)
{
	for (; *tick < to; ++*tick)
		assert_int_equal(memlane_tick(a), 0);
}

/* As above, with the ages of the FastLane's objects spanning more than
 * 65 536 ticks when the queue starts, which it then builds by sorting
 * (age, slot) keys instead of counting ages: still oldest first, and
 * objects in lower slots (B, in slots of freed A objects) that are
 * younger neither hold back nor go with the older ones (C). */
static void test_young_queue_wide_ages(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=32M,promotion_age=65700");
	enum { N = 32 };
	tu_obj A[N], B[N / 2], C[N];
	uint64_t tick = 0;
	for (int i = 0; i < N; i++)
		tu_must_alloc(a, &A[i], 64, 0, 0, (uint32_t)i, SALT);
	tick_to(a, &tick, 100);
	for (int i = 0; i < N; i++)
		tu_must_alloc(a, &C[i], 80, 0, 0, 200 + (uint32_t)i, SALT);
	tick_to(a, &tick, 65600);
	for (int i = 0; i < N; i += 2)
		tu_free_obj(a, &A[i]);
	for (int i = 0; i < N / 2; i++) {
		tu_must_alloc(a, &B[i], 96, 0, 0, 100 + (uint32_t)i, SALT);
		assert_true((uint32_t)B[i].h < (uint32_t)C[0].h);
	}
	assert_int_equal(tu_stats(a).promotions, 0);
	tick_to(a, &tick, 65700); /* A is 65 700 ticks old, C 65 600, B 100 */
	for (int i = 1; i < N; i += 2)
		assert_int_equal(memlane_handle_state(a, A[i].h), MEMLANE_STATE_SLOW);
	for (int i = 0; i < N; i++)
		assert_int_equal(memlane_handle_state(a, C[i].h), MEMLANE_STATE_FAST);
	assert_int_equal(tu_stats(a).promotions, N / 2);
	tick_to(a, &tick, 65800); /* C's turn; B is 200 ticks old */
	for (int i = 0; i < N; i++)
		assert_int_equal(memlane_handle_state(a, C[i].h), MEMLANE_STATE_SLOW);
	for (int i = 0; i < N / 2; i++)
		assert_int_equal(memlane_handle_state(a, B[i].h), MEMLANE_STATE_FAST);
	tu_verify_all(a, A, N);
	tu_verify_all(a, B, N / 2);
	tu_verify_all(a, C, N);
	tu_close(a);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_promote_keeps_everything),
		cmocka_unit_test(test_promote_twice_harmless),
		cmocka_unit_test(test_promote_pinned),
		cmocka_unit_test(test_promotion_by_age),
		cmocka_unit_test(test_promotion_age_zero),
		cmocka_unit_test(test_cold_promoted_first),
		cmocka_unit_test(test_write_after_promotion),
		cmocka_unit_test(test_promote_no_room),
		cmocka_unit_test(test_realloc_keeps_age_order),
		cmocka_unit_test(test_birth_order_survives_churn),
		cmocka_unit_test(test_young_queue_started_late),
		cmocka_unit_test(test_young_queue_started_by_full_lane),
		cmocka_unit_test(test_young_queue_wide_ages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
