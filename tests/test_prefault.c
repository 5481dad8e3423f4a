/* test_prefault.c - the prefault option: pages made resident before
 * the program first writes them, or not.
 *
 * mincore(2) tells which pages of an object are resident. Right after
 * memlane_alloc, before anything is written to the object:
 *   - prefault=on: a blob's pages are resident, a fresh slab's block's
 *     pages are, and a FastLane object's page with the 64 KiB after it;
 *     prefaulted_bytes counts at least those bytes, and the handle
 *     table's as it grows;
 *   - prefault=off: none of them is, and prefaulted_bytes stays 0.
 * Either way the bytes then written read back the same (checksums), and
 * a blob freed and given back is prefaulted again when it is reused.
 * The other way: the SlowLane's free middle goes back to the OS, but
 * for 64 KiB next to each region, once 256 KiB of it may be resident.
 * Skipped where the kernel has no MADV_POPULATE_WRITE (before 5.14):
 * the library then lets pages fault in, as with prefault=off. */
#include <stdbool.h>
#include <sys/mman.h>

#include "testutil.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SALT 0x9e3779b1u

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Resident pages among those that start inside [p, p + len). */
static size_t resident_pages(const void *p, size_t len)
{
	size_t pg = page_size();
	uintptr_t lo = ((uintptr_t)p + pg - 1) / pg * pg, hi = ((uintptr_t)p + len + pg - 1) / pg * pg;
	if (hi <= lo)
		return 0;
	size_t n = (hi - lo) / pg, count = 0;
	unsigned char *vec = malloc(n);
	assert_non_null(vec);
	assert_int_equal(mincore((void *)lo, hi - lo, vec), 0);
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

static size_t pages_in(const void *p, size_t len)
{
	size_t pg = page_size();
	uintptr_t lo = ((uintptr_t)p + pg - 1) / pg * pg, hi = ((uintptr_t)p + len + pg - 1) / pg * pg;
	return hi > lo ? (hi - lo) / pg : 0;
}

/* Skip the test where the kernel cannot prefault at all (before Linux
 * 5.14): the library then lets every page fault in. */
static void need_prefault(void)
{
	size_t pg = page_size();
	void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	int rc = madvise(p, pg, MADV_POPULATE_WRITE);
	munmap(p, pg);
	if (rc != 0)
		skip();
}

/* Allocate @size bytes, check how many of its pages are
 * resident before it is written, then write and verify it. */
static void check_object(memlane_arena *a, size_t size, memlane_state lane, bool want_resident)
{
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, size, &h), 0);
	assert_int_equal(memlane_handle_state(a, h), lane);
	uint8_t *p = memlane_get(a, h);
	assert_non_null(p);
	size_t pages = pages_in(p, size), res = resident_pages(p, size);
	assert_true(pages > 0);
	if (want_resident && res != pages)
		fail_msg("%zu-byte object in lane %d: %zu of its %zu pages resident before any write, expected all", size,
		         (int)lane, res, pages);
	if (!want_resident && res != 0)
		fail_msg("%zu-byte object in lane %d: %zu of its %zu pages resident before any write, expected none",
		         size, (int)lane, res, pages);
	uint64_t seed = tu_seed_for(h, SALT);
	tu_pattern(seed, 0, p, size);
	assert_int_equal(tu_checksum(memlane_get_ro(a, h), size), tu_pattern_checksum(seed, size));
	tu_verify_seed(a, h, size, seed);
}

static void test_prefault_on(void **state)
{
	(void)state;
	need_prefault();
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=64M,threshold=1K,prefault=on");
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(s0.prefaulted_bytes, 0);

	/* A FastLane object: its page and the 64 KiB past it. */
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, 100, &h), 0);
	assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_FAST);
	const uint8_t *p = memlane_get(a, h);
	size_t ahead = resident_pages(p, 64 * TU_KiB);
	if (ahead != pages_in(p, 64 * TU_KiB))
		fail_msg("FastLane: %zu of the %zu pages after the first object resident, expected all", ahead,
		         pages_in(p, 64 * TU_KiB));
	memlane_stats s1 = tu_stats(a);
	assert_true(s1.prefaulted_bytes >= 64 * TU_KiB);

	check_object(a, 8 * TU_KiB, MEMLANE_STATE_SLOW, true);   /* a block of a fresh slab */
	check_object(a, 12 * TU_KiB, MEMLANE_STATE_SLOW, true);  /* another class, another slab */
	check_object(a, TU_MiB, MEMLANE_STATE_SLOW, true);       /* a blob */
	check_object(a, 300 * TU_KiB, MEMLANE_STATE_SLOW, true); /* a blob below it */
	memlane_stats s2 = tu_stats(a);
	assert_true(s2.prefaulted_bytes - s1.prefaulted_bytes >= (8 + 12 + 1024 + 300) * TU_KiB - 2 * page_size());

	/* A blob freed is given back (64 KiB or more); one placed in its
	 * hole is prefaulted again. */
	memlane_handle big;
	assert_int_equal(memlane_alloc(a, 2 * TU_MiB, &big), 0);
	memset(memlane_get(a, big), 0x5a, 2 * TU_MiB);
	uint8_t *bp = memlane_get(a, big);
	assert_int_equal(memlane_free(a, big), 0);
	assert_int_equal(resident_pages(bp + page_size(), TU_MiB), 0);
	check_object(a, 2 * TU_MiB, MEMLANE_STATE_SLOW, true);
	tu_close(a);
}

static void test_prefault_off(void **state)
{
	(void)state;
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=64M,threshold=1K,prefault=off");
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, 100, &h), 0);
	const uint8_t *p = memlane_get(a, h);
	/* The first object's page is not touched; neither is any after it. */
	assert_int_equal(resident_pages(p, 64 * TU_KiB), 0);
	check_object(a, 8 * TU_KiB, MEMLANE_STATE_SLOW, false);
	check_object(a, TU_MiB, MEMLANE_STATE_SLOW, false);
	check_object(a, 300 * TU_KiB, MEMLANE_STATE_SLOW, false);
	assert_int_equal(tu_stats(a).prefaulted_bytes, 0);
	tu_close(a);
}

/* Many objects of every kind, with prefault on and off: the same bytes
 * read back, and the stub table's pages (past the first 1024 slots)
 * prefaulted as it grows. */
static void test_prefault_integrity(void **state)
{
	(void)state;
	for (int on = 0; on < 2; on++) {
		memlane_arena *a = tu_open(on ? "fast_lane_size=8M,slow_lane_size=64M,prefault=on"
		                              : "fast_lane_size=8M,slow_lane_size=64M,prefault=off");
		enum { N = 6000 };
		tu_obj *o = calloc(N, sizeof(*o));
		assert_non_null(o);
		tu_rng r = {on + 1};
		for (size_t i = 0; i < N; i++) {
			size_t size = i % 97 == 0 ? tu_range(&r, 20000, 200000) : tu_range(&r, 1, 3000);
			tu_must_alloc(a, &o[i], size, 0, 0, 0, SALT + i);
			if (i % 3 == 0 && i > 0)
				tu_free_obj(a, &o[i - 1]);
		}
		tu_verify_all(a, o, N);
		memlane_stats st = tu_stats(a);
		if (on)
			assert_true(st.prefaulted_bytes > 0);
		else
			assert_int_equal(st.prefaulted_bytes, 0);
		free(o);
		tu_close(a);
	}
}

/* The handle table is prefaulted as it grows too: with only FastLane
 * objects, the bytes prefaulted beyond what the FastLane took (its top
 * and the 64 KiB past it) are the table's, at least 16 bytes a slot
 * (a handle's offset and generation; the stub is larger). */
static void test_prefault_handle_table(void **state)
{
	(void)state;
	need_prefault();
	memlane_arena *a = tu_open("fast_lane_size=4M,slow_lane_size=64M,prefault=on");
	enum { N = 20000 };
	memlane_handle h;
	for (size_t i = 0; i < N; i++)
		assert_int_equal(memlane_alloc(a, 16, &h), 0);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.handle_slots, N);
	assert_int_equal(st.slow_objects, 0);
	uint64_t fast = st.fast_top_bytes + 64 * TU_KiB + page_size();
	if (st.prefaulted_bytes < fast + 16 * st.handle_slots)
		fail_msg("%llu bytes prefaulted, %llu of them at most the FastLane's: the handle table's %llu slots "
		         "were not prefaulted",
		         (unsigned long long)st.prefaulted_bytes, (unsigned long long)fast,
		         (unsigned long long)st.handle_slots);
	tu_close(a);
}

/* Free the objects @from down to @to (inclusive, @from >= @to) of @o,
 * and say how many bytes that gave back to the OS. */
static uint64_t free_down(memlane_arena *a, tu_obj *o, size_t from, size_t to)
{
	uint64_t before = tu_stats(a).released_bytes;
	for (size_t i = from + 1; i-- > to;)
		tu_free_obj(a, &o[i]);
	return tu_stats(a).released_bytes - before;
}

/* The SlowLane's free middle, between its block region (growing up) and
 * its blob region (growing down): once a free leaves 256 KiB or more of
 * it possibly resident, all but the 64 KiB next to each region goes
 * back to the OS at once; less stays resident, for the next objects to
 * take without a system call. The bytes of every other object stay,
 * and objects placed over the given-back pages read back what they were
 * written. Each region in an arena of its own, so the other's kept
 * bytes do not count. */
static void test_middle_trim(void **state)
{
	(void)state;
	enum { NB = 40, BS = 16384, NL = 9, LS = 32768 }; /* 4 blocks a 64 KiB slab; blobs under 64 KiB */
	const char *opts = "fast_lane_size=4M,slow_lane_size=64M,threshold=1K";
	memlane_arena *a = tu_open(opts);
	tu_obj *b = calloc(NB, sizeof(*b)), *l = calloc(NL, sizeof(*l));
	assert_non_null(b);
	assert_non_null(l);
	uint8_t *bp[NB], *lp[NL];
	for (size_t i = 0; i < NB; i++) {
		tu_must_alloc(a, &b[i], BS, 0, 0, 0, SALT + i);
		bp[i] = memlane_get(a, b[i].h);
		assert_int_equal(memlane_handle_state(a, b[i].h), MEMLANE_STATE_SLOW);
	}
	for (size_t i = 1; i < NB; i++) /* slabs in order, from the bottom up */
		assert_ptr_equal(bp[i], bp[i - 1] + BS);
	/* The top three slabs emptied: 192 KiB of middle, kept. The fourth
	 * makes 256 KiB: the three above the 64 KiB kept go back. */
	assert_int_equal(free_down(a, b, NB - 1, NB - 12), 0);
	assert_int_equal(resident_pages(bp[NB - 12], 12 * BS), pages_in(bp[NB - 12], 12 * BS));
	assert_int_equal(free_down(a, b, NB - 13, NB - 16), 192 * TU_KiB);
	assert_int_equal(resident_pages(bp[NB - 16], 4 * BS), pages_in(bp[NB - 16], 4 * BS));
	assert_int_equal(resident_pages(bp[NB - 12], 12 * BS), 0);
	tu_verify_all(a, b, NB);
	for (size_t i = NB - 16; i < NB; i++) /* objects over the pages kept and given back */
		tu_must_alloc(a, &b[i], BS, 0, 0, 0, SALT + 200 + i);
	tu_verify_all(a, b, NB);
	tu_close(a);

	/* Blobs freed at the bottom of their region, one kept at the top:
	 * seven are 224 KiB of middle, the eighth makes 256 KiB. */
	a = tu_open(opts);
	for (size_t i = 0; i < NL; i++) {
		tu_must_alloc(a, &l[i], LS, 0, 0, 0, SALT + 100 + i);
		lp[i] = memlane_get(a, l[i].h);
	}
	for (size_t i = 1; i < NL; i++) /* blobs from the top down */
		assert_ptr_equal(lp[i], lp[i - 1] - LS);
	assert_int_equal(free_down(a, l, NL - 1, 2), 0);
	assert_int_equal(resident_pages(lp[NL - 1], 7 * LS), pages_in(lp[NL - 1], 7 * LS));
	assert_int_equal(free_down(a, l, 1, 1), 192 * TU_KiB);
	assert_int_equal(resident_pages(lp[NL - 1], 6 * LS), 0);
	assert_int_equal(resident_pages(lp[2], 2 * LS), pages_in(lp[2], 2 * LS));
	tu_verify_all(a, l, NL);
	for (size_t i = 1; i < NL; i++)
		tu_must_alloc(a, &l[i], LS, 0, 0, 0, SALT + 300 + i);
	tu_verify_all(a, l, NL);
	free(b);
	free(l);
	tu_close(a);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefault_on),
		cmocka_unit_test(test_prefault_off),
		cmocka_unit_test(test_prefault_integrity),
		cmocka_unit_test(test_prefault_handle_table),
		cmocka_unit_test(test_middle_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
