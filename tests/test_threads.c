/* test_threads.c - the threaded stress test: many threads on one arena.
 *
 * What must hold while other threads allocate, free, resize, promote,
 * compact and run the policy on the same arena:
 *   - every thread's objects keep their bytes (checked byte for byte
 *     against a seeded pattern), size and alignment;
 *   - a pinned object never moves: a second memlane_pin gives the same
 *     pointer, and the bytes behind it are intact, while the compactor
 *     runs; pins nest, also across threads;
 *   - the background policy thread runs its cycles and promotes aged
 *     objects, and memlane_close stops it promptly while it is active;
 *   - several threads freeing one handle: exactly one succeeds, the
 *     others get MEMLANE_EHANDLE (pins and reads in between included).
 *
 * Worker threads never call cmocka's assertions (they longjmp into the
 * main thread's test): a worker records its first failure and stops;
 * the main thread fails the test after joining.
 *
 * Iteration counts are multiplied by MEMLANE_STRESS_SCALE (default 1).
 * Built with --enable-tsan this program is the ThreadSanitizer check;
 * on kernels with high mmap entropy run it under setarch -R. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "testutil.h"

#define SALT 0x54485244ull /* "THRD" */

/* ---- failures from worker threads ---------------------------------- */

#include "threadfail.h"

/* In the main thread, after the joins: turn a recorded failure into a
 * test failure. */
static void failure_check(void)
{
	if (failed())
		fail_msg("%s", failure.msg);
}

/* A call's return code must be @want. */
#define TCHECK_RC(call, want)                                                                                          \
	do {                                                                                                           \
		int trc_ = (call);                                                                                     \
		TCHECK(trc_ == (want), "%s = %d (%s), expected %d (%s)", #call, trc_, memlane_strerror(trc_), (want), \
		       memlane_errmsg());                                                                              \
	} while (0)

/* ---- small helpers ------------------------------------------------- */

/* MEMLANE_STRESS_SCALE multiplies every iteration count. */
static unsigned long stress_scale(void)
{
	const char *s = getenv("MEMLANE_STRESS_SCALE");
	if (!s || !*s)
		return 1;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return (*end == '\0' && v >= 1 && v <= 1000) ? v : 1;
}

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int e = pthread_create(t, NULL, fn, arg);
	if (e != 0)
		fail_msg("pthread_create: %s", strerror(e));
}

static void join_thread(pthread_t t)
{
	int e = pthread_join(t, NULL);
	if (e != 0)
		fail_msg("pthread_join: %s", strerror(e));
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether @len bytes at @p are the pattern of @seed; on a mismatch
 * record which byte differs. */
static bool bytes_are_pattern(const char *file, int line, const char *how, memlane_handle h, uint64_t seed,
                              const void *p, size_t len)
{
	size_t bad = tu_pattern_mismatch(seed, 0, p, len);
	if (bad != SIZE_MAX) {
		thread_fail(file, line, "handle 0x%016llx (%zu bytes, %s): byte %zu differs from what was written",
		            (unsigned long long)h, len, how, bad);
		return false;
	}
	return true;
}
#define BYTES_ARE_PATTERN(how, h, seed, p, len) bytes_are_pattern(__FILE__, __LINE__, (how), (h), (seed), (p), (len))

/* ---- one thread's objects ------------------------------------------ */

/* Lane sizes small enough that the FastLane fills (compaction,
 * promotion of the oldest, fallback) and the SlowLane is compacted. */
#define STRESS_OPTS "fast_lane_size=256K,slow_lane_size=8M,threshold=2K"
#define THRESHOLD ((size_t)2048)

/* Objects per thread; the slot number decides the size range, so the
 * live bytes stay bounded (at most about 1 MiB a thread, 8M lane) and
 * ENOMEM stays rare. */
#define SLOTS 128
#define MAX_OBJ ((size_t)40 * 1024)

enum kind {
	KIND_SMALL, /* below threshold: FastLane */
	KIND_BLOCK, /* threshold to 16K: SlowLane block region */
	KIND_BLOB   /* above 16K: SlowLane blob region */
};

struct wobj {
	memlane_handle h;
	size_t size;
	size_t align; /* as asked for; 0 is the default 16 */
	uint64_t seed;
	unsigned flags;
};

/* What a stress worker does besides its own objects. */
struct stress_mix {
	bool promote;     /* memlane_promote its objects now and then */
	unsigned tick_every; /* memlane_tick every this many operations (0: never) */
	bool free_at_end; /* free its objects before returning */
};

struct worker {
	memlane_arena *a;
	unsigned id;
	unsigned long iters;
	struct stress_mix mix;
	tu_rng rng;
	uint64_t next_seed;
	struct wobj obj[SLOTS];
	uint8_t *buf; /* MAX_OBJ bytes: patterns to write */
	uint8_t *got; /* MAX_OBJ bytes: bytes read back */
	/* what happened, for the main thread to check it happened at all */
	unsigned long allocs, frees, reallocs, promotes, pins, enomem;
	atomic_ulong progress; /* iterations done, for the main thread to watch */
	pthread_t thread;
};

static enum kind kind_of_slot(size_t slot)
{
	if (slot % 16 == 0)
		return KIND_BLOB;
	if (slot % 4 == 1)
		return KIND_BLOCK;
	return KIND_SMALL;
}

static size_t size_for(struct worker *w, enum kind k)
{
	switch (k) {
	case KIND_SMALL:
		/* now and then the empty object, and the 512-byte edge where
		 * read/write start copying outside the lock */
		if (tu_range(&w->rng, 0, 63) == 0)
			return 0;
		if (tu_range(&w->rng, 0, 15) == 0)
			return tu_range(&w->rng, 500, 530);
		return tu_range(&w->rng, 1, THRESHOLD - 1);
	case KIND_BLOCK:
		return tu_range(&w->rng, THRESHOLD, 16 * 1024);
	case KIND_BLOB:
		return tu_range(&w->rng, 16 * 1024 + 1, MAX_OBJ);
	}
	return 1;
}

static size_t align_for(struct worker *w)
{
	static const size_t aligns[] = {0, 0, 0, 0, 16, 32, 64, 256, 1024};
	if (tu_range(&w->rng, 0, 31) == 0)
		return 4096;
	return aligns[tu_range(&w->rng, 0, TU_ARRAY_LEN(aligns) - 1)];
}

/* Flags that change the lane an object starts in or leaves first. */
static unsigned flags_for(struct worker *w, enum kind k)
{
	unsigned f = 0;
	unsigned r = (unsigned)tu_range(&w->rng, 0, 15);
	if (k == KIND_SMALL && r == 0)
		f |= MEMLANE_SLOW; /* a small object in the SlowLane's blocks */
	if (k == KIND_BLOCK && r == 1)
		f |= MEMLANE_FAST; /* above threshold, yet in the FastLane */
	if (k == KIND_SMALL && r == 2)
		f |= MEMLANE_COLD; /* promoted first by the policy */
	if (tu_range(&w->rng, 0, 3) == 0)
		f |= MEMLANE_ZERO;
	return f;
}

static uint64_t new_seed(struct worker *w, size_t slot)
{
	return tu_mix64(SALT ^ ((uint64_t)w->id << 48) ^ ((uint64_t)slot << 32) ^ w->next_seed++);
}

/* Bytes of @o read with memlane_read are its pattern. */
static bool verify_read(struct worker *w, const struct wobj *o)
{
	size_t size = memlane_size(w->a, o->h);
	TCHECK(size == o->size, "handle 0x%016llx: size %zu, expected %zu", (unsigned long long)o->h, size, o->size);
	TCHECK_RC(memlane_read(w->a, o->h, 0, w->got, o->size), 0);
	return BYTES_ARE_PATTERN("memlane_read", o->h, o->seed, w->got, o->size);
}

/* A pointer from memlane_pin: aligned as asked, and the pattern. */
static bool verify_pinned(const struct wobj *o, const void *p)
{
	size_t align = o->align ? o->align : 16;
	TCHECK(p != NULL, "handle 0x%016llx: memlane_pin gave NULL", (unsigned long long)o->h);
	TCHECK((uintptr_t)p % align == 0, "handle 0x%016llx: pinned pointer %p is not aligned to %zu",
	       (unsigned long long)o->h, p, align);
	return BYTES_ARE_PATTERN("pinned pointer", o->h, o->seed, p, o->size);
}

/* Give @o the pattern of a new seed, in one of three ways: one
 * memlane_write, several memlane_writes at offsets, or memcpy through
 * a pinned pointer. */
static bool fill(struct worker *w, size_t slot)
{
	struct wobj *o = &w->obj[slot];
	o->seed = new_seed(w, slot);
	tu_pattern(o->seed, 0, w->buf, o->size);
	switch (tu_range(&w->rng, 0, 2)) {
	case 0:
		TCHECK_RC(memlane_write(w->a, o->h, 0, w->buf, o->size), 0);
		break;
	case 1: {
		size_t cut1 = tu_range(&w->rng, 0, o->size), cut2 = tu_range(&w->rng, cut1, o->size);
		TCHECK_RC(memlane_write(w->a, o->h, cut2, w->buf + cut2, o->size - cut2), 0);
		TCHECK_RC(memlane_write(w->a, o->h, 0, w->buf, cut1), 0);
		TCHECK_RC(memlane_write(w->a, o->h, cut1, w->buf + cut1, cut2 - cut1), 0);
		break;
	}
	default: {
		void *p = NULL;
		TCHECK_RC(memlane_pin(w->a, o->h, &p), 0);
		TCHECK(p != NULL, "memlane_pin gave NULL");
		memcpy(p, w->buf, o->size);
		TCHECK_RC(memlane_unpin(w->a, o->h), 0);
		break;
	}
	}
	return true;
}

static bool bytes_are_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool op_alloc(struct worker *w, size_t slot)
{
	struct wobj *o = &w->obj[slot];
	enum kind k = kind_of_slot(slot);
	/* one draw after the other: the sequence of a seed is fixed */
	memlane_alloc_opts opts = {0, 0, (uint32_t)slot};
	opts.flags = flags_for(w, k);
	opts.align = align_for(w);
	size_t size = size_for(w, k);
	memlane_handle h = MEMLANE_NULL;
	int rc = memlane_alloc_ex(w->a, size, &opts, &h);
	if (rc == MEMLANE_ENOMEM) {
		w->enomem++; /* the lanes are small on purpose: allowed, and nothing handed out */
		TCHECK(h == MEMLANE_NULL, "a failed memlane_alloc_ex set the handle");
		return true;
	}
	TCHECK(rc == 0, "memlane_alloc_ex(%zu, align %zu, flags 0x%x) = %d (%s)", size, opts.align, opts.flags, rc,
	       memlane_errmsg());
	TCHECK(h != MEMLANE_NULL, "memlane_alloc_ex gave the null handle");
	*o = (struct wobj){h, size, opts.align, 0, opts.flags};
	w->allocs++;
	if (opts.flags & MEMLANE_ZERO) {
		TCHECK_RC(memlane_read(w->a, h, 0, w->got, size), 0);
		TCHECK(bytes_are_zero(w->got, size), "MEMLANE_ZERO object of %zu bytes is not zero", size);
	}
	TCHECK(memlane_tag(w->a, h) == (uint32_t)slot, "tag %u, expected %zu", memlane_tag(w->a, h), slot);
	return fill(w, slot);
}

static bool op_free(struct worker *w, size_t slot)
{
	struct wobj *o = &w->obj[slot];
	TCHECK_RC(memlane_free(w->a, o->h), 0);
	TCHECK(!memlane_valid(w->a, o->h), "handle 0x%016llx valid after free", (unsigned long long)o->h);
	TCHECK_RC(memlane_free(w->a, o->h), MEMLANE_EHANDLE);
	TCHECK_RC(memlane_pin(w->a, o->h, NULL), MEMLANE_EHANDLE);
	uint8_t byte;
	TCHECK_RC(memlane_read(w->a, o->h, 0, &byte, 0), MEMLANE_EHANDLE);
	o->h = MEMLANE_NULL;
	w->frees++;
	return true;
}

/* Pin, pin again (nested), drop one pin and let the compactor run: the
 * object must stay where it was, bytes intact; moving calls refuse it. */
static bool op_pin(struct worker *w, size_t slot)
{
	struct wobj *o = &w->obj[slot];
	void *p1 = NULL, *p2 = NULL, *p3 = NULL;
	TCHECK_RC(memlane_pin(w->a, o->h, &p1), 0);
	if (!verify_pinned(o, p1))
		return false;
	TCHECK_RC(memlane_pin(w->a, o->h, &p2), 0);
	TCHECK(p2 == p1, "second pin of 0x%016llx gave %p, first %p", (unsigned long long)o->h, p2, p1);
	TCHECK_RC(memlane_unpin(w->a, o->h), 0);

	/* Still pinned once: nothing may move or free it. */
	memlane_state st = memlane_handle_state(w->a, o->h);
	TCHECK(st == MEMLANE_STATE_FAST || st == MEMLANE_STATE_SLOW, "state %d", (int)st);
	TCHECK_RC(memlane_free(w->a, o->h), MEMLANE_EPINNED);
	TCHECK_RC(memlane_realloc(w->a, o->h, o->size + 1), MEMLANE_EPINNED);
	TCHECK_RC(memlane_promote(w->a, o->h), st == MEMLANE_STATE_FAST ? MEMLANE_EPINNED : 0);
	for (int i = 0; i < 3; i++)
		sched_yield(); /* the compactor's turn */

	TCHECK_RC(memlane_pin(w->a, o->h, &p3), 0);
	TCHECK(p3 == p1, "pinned object 0x%016llx moved from %p to %p", (unsigned long long)o->h, p1, p3);
	TCHECK(memlane_handle_state(w->a, o->h) == st, "pinned object changed lanes");
	if (!verify_pinned(o, p1))
		return false;
	/* A new pattern written straight through the pinned pointer. */
	if (tu_range(&w->rng, 0, 1) == 0) {
		o->seed = new_seed(w, slot);
		tu_pattern(o->seed, 0, p1, o->size);
	}
	TCHECK_RC(memlane_unpin(w->a, o->h), 0);
	TCHECK_RC(memlane_unpin(w->a, o->h), 0);
	w->pins++;
	return verify_read(w, o);
}

/* Resize within the slot's size range: the common prefix survives; a
 * failure (ENOMEM) changes nothing. */
static bool op_realloc(struct worker *w, size_t slot)
{
	struct wobj *o = &w->obj[slot];
	size_t n = size_for(w, kind_of_slot(slot));
	int rc = memlane_realloc(w->a, o->h, n);
	if (rc == MEMLANE_ENOMEM) {
		w->enomem++;
		return verify_read(w, o);
	}
	TCHECK(rc == 0, "memlane_realloc(%zu -> %zu) = %d (%s)", o->size, n, rc, memlane_errmsg());
	size_t keep = n < o->size ? n : o->size;
	TCHECK(memlane_size(w->a, o->h) == n, "size %zu after realloc to %zu", memlane_size(w->a, o->h), n);
	TCHECK_RC(memlane_read(w->a, o->h, 0, w->got, n), 0);
	if (!BYTES_ARE_PATTERN("after realloc", o->h, o->seed, w->got, keep))
		return false;
	if ((o->flags & MEMLANE_ZERO) && n > keep)
		TCHECK(bytes_are_zero(w->got + keep, n - keep), "MEMLANE_ZERO tail grown by realloc is not zero");
	o->size = n;
	w->reallocs++;
	return fill(w, slot);
}

static bool op_promote(struct worker *w, size_t slot)
{
	struct wobj *o = &w->obj[slot];
	int rc = memlane_promote(w->a, o->h);
	if (rc == MEMLANE_ENOMEM)
		w->enomem++;
	else {
		TCHECK(rc == 0, "memlane_promote = %d (%s)", rc, memlane_errmsg());
		TCHECK(memlane_handle_state(w->a, o->h) == MEMLANE_STATE_SLOW, "promoted object is not in the SlowLane");
		w->promotes++;
	}
	return verify_read(w, o);
}

/* Bounds are checked against the object's current size. */
static bool op_range(struct worker *w, size_t slot)
{
	struct wobj *o = &w->obj[slot];
	TCHECK_RC(memlane_read(w->a, o->h, o->size, w->got, 1), MEMLANE_ERANGE);
	TCHECK_RC(memlane_write(w->a, o->h, 1, w->buf, o->size), MEMLANE_ERANGE);
	if (o->size >= 16) {
		size_t off = tu_range(&w->rng, 0, o->size - 16);
		TCHECK_RC(memlane_read(w->a, o->h, off, w->got, 16), 0);
		uint8_t want[16];
		tu_pattern(o->seed, off, want, 16);
		TCHECK(memcmp(want, w->got, 16) == 0, "16 bytes at %zu of 0x%016llx differ", off, (unsigned long long)o->h);
	}
	return true;
}

/* One random operation on one random slot. */
static bool stress_step(struct worker *w)
{
	size_t slot = tu_range(&w->rng, 0, SLOTS - 1);
	if (w->obj[slot].h == MEMLANE_NULL)
		return op_alloc(w, slot);
	unsigned r = (unsigned)tu_range(&w->rng, 0, 99);
	if (r < 25)
		return verify_read(w, &w->obj[slot]);
	if (r < 50)
		return op_pin(w, slot);
	if (r < 60)
		return fill(w, slot);
	if (r < 70)
		return op_realloc(w, slot);
	if (r < 78)
		return w->mix.promote ? op_promote(w, slot) : verify_read(w, &w->obj[slot]);
	if (r < 82)
		return op_range(w, slot);
	return op_free(w, slot);
}

static bool finish_worker(struct worker *w)
{
	for (size_t i = 0; i < SLOTS; i++) {
		if (w->obj[i].h == MEMLANE_NULL)
			continue;
		if (!verify_read(w, &w->obj[i]))
			return false;
		if (w->mix.free_at_end && !op_free(w, i))
			return false;
	}
	return true;
}

static void *stress_worker(void *arg)
{
	struct worker *w = arg;
	for (unsigned long i = 0; i < w->iters && !failed(); i++) {
		if (!stress_step(w))
			return NULL;
		atomic_store_explicit(&w->progress, i + 1, memory_order_relaxed);
		if (w->mix.tick_every && i % w->mix.tick_every == 0 && memlane_tick(w->a) != 0) {
			thread_fail(__FILE__, __LINE__, "memlane_tick: %s", memlane_errmsg());
			return NULL;
		}
	}
	if (!failed())
		finish_worker(w);
	return NULL;
}

static struct worker *workers_new(memlane_arena *a, unsigned n, unsigned long iters, struct stress_mix mix)
{
	struct worker *w = calloc(n, sizeof(*w));
	assert_non_null(w);
	for (unsigned i = 0; i < n; i++) {
		w[i].a = a;
		w[i].id = i + 1;
		w[i].iters = iters;
		w[i].mix = mix;
		w[i].rng.s = tu_mix64(SALT + i);
		w[i].buf = malloc(MAX_OBJ);
		w[i].got = malloc(MAX_OBJ);
		assert_non_null(w[i].buf);
		assert_non_null(w[i].got);
	}
	return w;
}

static void workers_start(struct worker *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		start_thread(&w[i].thread, stress_worker, &w[i]);
}

static void workers_join(struct worker *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		join_thread(w[i].thread);
}

static void workers_free(struct worker *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(w[i].buf);
		free(w[i].got);
	}
	free(w);
}

/* ---- the compactor and policy thread ------------------------------- */

/* The compactor ticks every this many rounds: often enough that aged
 * objects are promoted, seldom enough that the FastLane fills first. */
#define TICK_EVERY 16

struct compactor {
	memlane_arena *a;
	atomic_bool stop;
	unsigned long rounds;
	pthread_t thread;
};

/* Gauges taken under the lock must agree with each other. */
static bool stats_consistent(memlane_arena *a)
{
	memlane_stats st;
	TCHECK_RC(memlane_stats_get(a, &st), 0);
	TCHECK(st.objects == st.fast_objects + st.slow_objects + st.spilled_objects,
	       "objects %llu != fast %llu + slow %llu", (unsigned long long)st.objects,
	       (unsigned long long)st.fast_objects, (unsigned long long)st.slow_objects);
	TCHECK(st.pinned_objects <= st.objects, "pinned %llu > objects %llu", (unsigned long long)st.pinned_objects,
	       (unsigned long long)st.objects);
	TCHECK(st.fast_free_bytes <= st.fast_top_bytes && st.fast_top_bytes <= st.fast_lane_size,
	       "FastLane free %llu, top %llu, size %llu", (unsigned long long)st.fast_free_bytes,
	       (unsigned long long)st.fast_top_bytes, (unsigned long long)st.fast_lane_size);
	TCHECK(st.slow_reserved_bytes <= st.slow_lane_size, "SlowLane reserved %llu > size %llu",
	       (unsigned long long)st.slow_reserved_bytes, (unsigned long long)st.slow_lane_size);
	return true;
}

/* Compacts in a loop, ticks, runs the policy, reads the stats and now
 * and then dumps the arena, until told to stop. */
static void *compactor_main(void *arg)
{
	struct compactor *c = arg;
	FILE *devnull = fopen("/dev/null", "w");
	if (!devnull) {
		thread_fail(__FILE__, __LINE__, "cannot open /dev/null");
		return NULL;
	}
	while (!atomic_load(&c->stop) && !failed()) {
		int rc = memlane_compact(c->a);
		if (rc == 0 && c->rounds % TICK_EVERY == 0)
			rc = memlane_tick(c->a);
		if (rc == 0 && c->rounds % 4 == 0)
			rc = memlane_maintain(c->a);
		if (rc == 0 && c->rounds % 64 == 0)
			rc = memlane_debug_dump(c->a, devnull);
		if (rc != 0) {
			thread_fail(__FILE__, __LINE__, "compactor round %lu: %d (%s)", c->rounds, rc, memlane_errmsg());
			break;
		}
		if (!stats_consistent(c->a))
			break;
		c->rounds++;
		/* A short rest: a compactor that never lets go of the lock
		 * starves the workers, most of all under ThreadSanitizer. */
		sleep_us(50);
	}
	fclose(devnull);
	return NULL;
}

static void compactor_start(struct compactor *c, memlane_arena *a)
{
	c->a = a;
	c->rounds = 0;
	atomic_store(&c->stop, false);
	start_thread(&c->thread, compactor_main, c);
}

static void compactor_stop(struct compactor *c)
{
	atomic_store(&c->stop, true);
	join_thread(c->thread);
}

/* ---- 1. stress: four workers, one compactor ------------------------ */

#define WORKERS 4

/* Pinned objects the main thread holds through the first half of the
 * stress. They fill the FastLane to the last byte with objects that can
 * neither move nor be promoted, so the workers' FastLane-sized objects
 * fall back to the SlowLane; in the second half the FastLane is theirs
 * and fills, compacts and promotes its oldest. */
#define BALLAST_MAX 512

struct ballast {
	tu_obj obj[BALLAST_MAX];
	size_t n;
};

/* Allocate pinned objects of @size until one lands in the SlowLane. */
static void ballast_fill(memlane_arena *a, struct ballast *b, size_t size)
{
	for (;;) {
		assert_true(b->n < BALLAST_MAX);
		tu_obj *o = &b->obj[b->n++];
		tu_must_alloc(a, o, size, 0, 0, 0, SALT ^ 0xba11a57);
		assert_int_equal(memlane_pin(a, o->h, &o->pinned), 0);
		if (memlane_handle_state(a, o->h) == MEMLANE_STATE_SLOW)
			return;
	}
}

static void ballast_take(memlane_arena *a, struct ballast *b)
{
	b->n = 0;
	ballast_fill(a, b, 1000); /* 1 KiB blocks, then the 16-byte tail */
	ballast_fill(a, b, 16);
	assert_int_equal(tu_stats(a).fast_top_bytes, tu_stats(a).fast_lane_size);
}

/* While the workers and the compactor run: each ballast object is
 * where it was pinned, bytes intact. Main thread, but the workers run:
 * failures are recorded, not asserted. */
static bool ballast_check(memlane_arena *a, const struct ballast *bl)
{
	const tu_obj *b = bl->obj;
	for (size_t i = 0; i < bl->n; i++) {
		void *p = NULL;
		TCHECK_RC(memlane_pin(a, b[i].h, &p), 0);
		TCHECK(p == b[i].pinned, "ballast %zu pinned at %p is now at %p", i, b[i].pinned, p);
		TCHECK(tu_checksum(p, b[i].size) == b[i].sum, "ballast %zu: bytes changed while pinned", i);
		TCHECK_RC(memlane_unpin(a, b[i].h), 0);
	}
	return true;
}

static bool ballast_drop(memlane_arena *a, struct ballast *bl)
{
	if (!ballast_check(a, bl))
		return false;
	tu_obj *b = bl->obj;
	for (size_t i = 0; i < bl->n; i++) {
		TCHECK_RC(memlane_unpin(a, b[i].h), 0);
		TCHECK_RC(memlane_free(a, b[i].h), 0);
		b[i].h = MEMLANE_NULL;
	}
	return true;
}

static unsigned long workers_progress(struct worker *w, unsigned n)
{
	unsigned long sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += atomic_load_explicit(&w[i].progress, memory_order_relaxed);
	return sum;
}

/* Hold the ballast until the workers are half way (or have failed). */
static void hold_ballast(memlane_arena *a, struct ballast *b, struct worker *w, unsigned long half)
{
	while (workers_progress(w, WORKERS) < half && !failed()) {
		if (!ballast_check(a, b))
			return;
		sleep_us(1000);
	}
	ballast_drop(a, b);
}

static void test_stress(void **state)
{
	(void)state;
	failure_reset();
	memlane_arena *a = tu_open(STRESS_OPTS ",promotion_age=300");
	struct stress_mix mix = {.promote = true, .tick_every = 0, .free_at_end = true};
	unsigned long iters = 20000 * stress_scale();
	struct worker *w = workers_new(a, WORKERS, iters, mix);
	struct ballast *ballast = calloc(1, sizeof(*ballast));
	assert_non_null(ballast);
	ballast_take(a, ballast);
	memlane_stats s0 = tu_stats(a);
	struct compactor c;
	compactor_start(&c, a);
	workers_start(w, WORKERS);
	hold_ballast(a, ballast, w, iters * WORKERS / 2);
	workers_join(w, WORKERS);
	compactor_stop(&c);
	failure_check();

	memlane_stats st = tu_stats(a);
	unsigned long allocs = 0, pins = 0, reallocs = 0, promotes = 0, enomem = 0;
	for (unsigned i = 0; i < WORKERS; i++) {
		allocs += w[i].allocs;
		pins += w[i].pins;
		reallocs += w[i].reallocs;
		promotes += w[i].promotes;
		enomem += w[i].enomem;
	}
	print_message("stress: %lu allocs, %lu pins, %lu reallocs, %lu promotes, %lu ENOMEM, %lu compactor rounds; "
	              "lib: %llu compactions, %llu moved, %llu promotions, %llu fallbacks\n",
	              allocs, pins, reallocs, promotes, enomem, c.rounds, (unsigned long long)st.compactions,
	              (unsigned long long)st.moved_objects, (unsigned long long)st.promotions,
	              (unsigned long long)st.fallbacks);
	/* Everything the test is for really happened. */
	assert_true(c.rounds > 0);
	assert_true(pins > 0);
	assert_true(reallocs > 0);
	assert_true(st.compactions > 0);
	assert_true(st.moved_objects > 0);
	assert_true(st.promotions > 0);
	assert_true(st.fallbacks > s0.fallbacks); /* the workers' own, not the ballast's */
	/* Every worker freed what it had; no pin was left behind. */
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.pinned_objects, 0);
	assert_int_equal(st.allocs, allocs + ballast->n);
	assert_int_equal(st.frees, allocs + ballast->n);
	free(ballast);
	workers_free(w, WORKERS);
	tu_close(a);
}

/* ---- 2. the background policy thread ------------------------------- */

/* memlane_close in another thread, so that a hang fails the test
 * instead of stalling it. */
struct closer {
	memlane_arena *a;
	int rc;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *closer_main(void *arg)
{
	struct closer *c = arg;
	int rc = memlane_close(c->a);
	pthread_mutex_lock(&c->lock);
	c->rc = rc;
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void close_within(memlane_arena *a, unsigned seconds)
{
	struct closer c = {.a = a, .rc = -100, .done = false};
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	pthread_t t;
	start_thread(&t, closer_main, &c);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)seconds;
	pthread_mutex_lock(&c.lock);
	int e = 0;
	while (!c.done && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&c.cond, &c.lock, &deadline);
	bool done = c.done;
	pthread_mutex_unlock(&c.lock);
	if (!done)
		fail_msg("memlane_close did not return within %u s: the policy thread does not stop", seconds);
	join_thread(t);
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	assert_int_equal(c.rc, 0);
}

/* tu_verify reads through memlane_get_ro, which is only safe while no
 * other thread moves data: the background thread does. Pinned, the
 * pointer holds. */
static void verify_under_pin(memlane_arena *a, const tu_obj *o)
{
	void *p = NULL;
	assert_int_equal(memlane_pin(a, o->h, &p), 0);
	assert_non_null(p);
	assert_int_equal(tu_checksum(p, o->size), o->sum);
	assert_int_equal(memlane_unpin(a, o->h), 0);
	tu_verify_seed(a, o->h, o->size, o->seed);
}

/* Poll until the background thread has run a policy cycle. */
static bool wait_policy_cycle(memlane_arena *a, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		if (tu_stats(a).maintenance_runs > 0)
			return true;
		sleep_us(1000);
	}
	return false;
}

/* Poll until @h is in the SlowLane or @seconds pass. */
static bool wait_promoted(memlane_arena *a, memlane_handle h, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		if (memlane_handle_state(a, h) == MEMLANE_STATE_SLOW)
			return true;
		sleep_us(1000);
	}
	return false;
}

static void test_background_thread(void **state)
{
	(void)state;
	failure_reset();
	memlane_arena *a = tu_open(STRESS_OPTS ",policy_check_interval=1ms,promotion_age=2");
	/* No explicit promote, no memlane_maintain, and memlane_tick does
	 * not run the policy while the thread does: promotions and policy
	 * cycles can only come from the background thread. */
	struct stress_mix mix = {.promote = false, .tick_every = 16, .free_at_end = false};
	struct worker *w = workers_new(a, WORKERS, 5000 * stress_scale(), mix);
	workers_start(w, WORKERS);
	workers_join(w, WORKERS);
	failure_check();
	if (!wait_policy_cycle(a, 10.0))
		fail_msg("the background thread ran no policy cycle within 10 s");
	memlane_stats s0 = tu_stats(a);
	assert_true(s0.ticks > 0);
	assert_true(s0.objects > 0); /* left for memlane_close to free */

	/* A fresh FastLane object, aged past promotion_age by ticks alone:
	 * the background thread moves it, nobody else would. */
	tu_obj o;
	tu_must_alloc(a, &o, 100, 0, 0, 0, SALT);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_FAST);
	for (int i = 0; i < 3; i++)
		assert_int_equal(memlane_tick(a), 0);
	if (!wait_promoted(a, o.h, 10.0))
		fail_msg("the background thread did not promote an object aged past promotion_age within 10 s");
	verify_under_pin(a, &o);
	memlane_stats s1 = tu_stats(a);
	assert_true(s1.promotions > s0.promotions);
	assert_true(s1.maintenance_runs > s0.maintenance_runs);

	/* Close while the thread runs its 1 ms cycles and objects are
	 * live: it must stop promptly and free everything (ASan's leak
	 * checker sees the rest). */
	close_within(a, 30);
	workers_free(w, WORKERS);
}

/* Open and close at once, over and over: the thread may be anywhere in
 * its first wait or cycle when close stops it. */
static void test_background_thread_quick_close(void **state)
{
	(void)state;
	unsigned long rounds = 100 * stress_scale();
	for (unsigned long i = 0; i < rounds; i++) {
		memlane_arena *a = tu_open(STRESS_OPTS ",policy_check_interval=1ms,promotion_age=0");
		tu_obj o;
		tu_must_alloc(a, &o, 64 + i, MEMLANE_COLD, 0, 0, SALT + i);
		if (i % 2)
			sleep_us(1000 * (i % 3));
		verify_under_pin(a, &o);
		close_within(a, 30);
	}
}

/* ---- 3. readers of shared objects ---------------------------------- */

#define SHARED 48
#define READERS 3

struct shared_set {
	memlane_arena *a;
	tu_obj obj[SHARED];
	void *held[2]; /* objects 0 and 1 stay pinned by the main thread */
	unsigned long iters;
};

struct reader {
	struct shared_set *set;
	tu_rng rng;
	uint8_t *got;
	unsigned long pins, reads, promotes;
	pthread_t thread;
};

static bool reader_read(struct reader *r, const tu_obj *o)
{
	memlane_arena *a = r->set->a;
	if (tu_range(&r->rng, 0, 1) == 0) {
		TCHECK_RC(memlane_read(a, o->h, 0, r->got, o->size), 0);
		r->reads++;
		return BYTES_ARE_PATTERN("shared, memlane_read", o->h, o->seed, r->got, o->size);
	}
	size_t off = tu_range(&r->rng, 0, o->size), len = tu_range(&r->rng, 0, o->size - off);
	TCHECK_RC(memlane_read(a, o->h, off, r->got, len), 0);
	uint8_t *want = malloc(len ? len : 1);
	TCHECK(want != NULL, "out of memory");
	tu_pattern(o->seed, off, want, len);
	bool same = memcmp(want, r->got, len) == 0;
	free(want);
	TCHECK(same, "shared 0x%016llx: %zu bytes at %zu differ", (unsigned long long)o->h, len, off);
	r->reads++;
	return true;
}

/* Pin (with or without the pointer), reach the bytes with get_ro under
 * the pin, pin again: one pointer throughout. Objects 0 and 1 are
 * pinned by the main thread all along: the pointer is the one it got. */
static bool reader_pin(struct reader *r, size_t i)
{
	memlane_arena *a = r->set->a;
	const tu_obj *o = &r->set->obj[i];
	void *p = NULL, *q = NULL;
	if (tu_range(&r->rng, 0, 1) == 0) {
		TCHECK_RC(memlane_pin(a, o->h, NULL), 0);
		p = (void *)(uintptr_t)memlane_get_ro(a, o->h);
		TCHECK(p != NULL, "memlane_get_ro of a pinned object: NULL (%s)", memlane_errmsg());
	} else {
		TCHECK_RC(memlane_pin(a, o->h, &p), 0);
	}
	if (i < 2)
		TCHECK(p == r->set->held[i], "object %zu, pinned by the main thread at %p, reached at %p", i,
		       r->set->held[i], p);
	TCHECK((uintptr_t)p % (o->align ? o->align : 16) == 0, "pointer %p not aligned to %zu", p, o->align);
	if (!BYTES_ARE_PATTERN("shared, pinned", o->h, o->seed, p, o->size))
		return false;
	sched_yield();
	TCHECK_RC(memlane_pin(a, o->h, &q), 0);
	TCHECK(q == p, "shared 0x%016llx moved while pinned: %p, then %p", (unsigned long long)o->h, p, q);
	TCHECK_RC(memlane_unpin(a, o->h), 0);
	TCHECK(tu_checksum(p, o->size) == o->sum, "shared 0x%016llx: checksum through the pinned pointer differs",
	       (unsigned long long)o->h);
	TCHECK_RC(memlane_unpin(a, o->h), 0);
	r->pins++;
	return true;
}

/* Moving a shared object is allowed under readers: they reach it only
 * through calls and pins. */
static bool reader_promote(struct reader *r, size_t i)
{
	int rc = memlane_promote(r->set->a, r->set->obj[i].h);
	TCHECK(rc == 0 || rc == MEMLANE_EPINNED || rc == MEMLANE_ENOMEM, "memlane_promote of a shared object: %d (%s)",
	       rc, memlane_errmsg());
	if (rc == 0)
		r->promotes++;
	return true;
}

static bool reader_meta(struct reader *r, size_t i)
{
	memlane_arena *a = r->set->a;
	const tu_obj *o = &r->set->obj[i];
	TCHECK(memlane_valid(a, o->h) == 1, "shared object %zu is not valid", i);
	TCHECK(memlane_size(a, o->h) == o->size, "shared object %zu: size %zu", i, memlane_size(a, o->h));
	TCHECK(memlane_tag(a, o->h) == (uint32_t)i, "shared object %zu: tag %u", i, memlane_tag(a, o->h));
	return true;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	for (unsigned long k = 0; k < r->set->iters && !failed(); k++) {
		size_t i = tu_range(&r->rng, 0, SHARED - 1);
		unsigned op = (unsigned)tu_range(&r->rng, 0, 9);
		bool ok = op < 4 ? reader_read(r, &r->set->obj[i])
		        : op < 8 ? reader_pin(r, i)
		        : op < 9 ? reader_promote(r, i)
		                 : reader_meta(r, i);
		if (!ok)
			break;
	}
	return NULL;
}

static size_t shared_size(size_t i)
{
	static const size_t sizes[] = {100, 512, 513, 1500, 4000, 12000, 20000, 36000};
	return sizes[i % TU_ARRAY_LEN(sizes)] + i;
}

static void test_shared_readers(void **state)
{
	(void)state;
	failure_reset();
	struct shared_set *set = calloc(1, sizeof(*set));
	assert_non_null(set);
	set->a = tu_open(STRESS_OPTS ",promotion_age=20");
	set->iters = 20000 * stress_scale();
	static const size_t aligns[] = {0, 64, 4096};
	for (size_t i = 0; i < SHARED; i++)
		tu_must_alloc(set->a, &set->obj[i], shared_size(i), 0, aligns[i % 3], (uint32_t)i, SALT);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(memlane_pin(set->a, set->obj[i].h, &set->held[i]), 0);

	struct reader r[READERS];
	memset(r, 0, sizeof(r));
	/* One stress worker churns its own objects to make holes for the
	 * compactor to close: the shared objects really move. */
	struct stress_mix mix = {.promote = true, .tick_every = 0, .free_at_end = true};
	struct worker *w = workers_new(set->a, 1, 10000 * stress_scale(), mix);
	struct compactor c;
	compactor_start(&c, set->a);
	workers_start(w, 1);
	for (unsigned k = 0; k < READERS; k++) {
		r[k].set = set;
		r[k].rng.s = tu_mix64(SALT ^ (k + 100));
		r[k].got = malloc(MAX_OBJ);
		assert_non_null(r[k].got);
		start_thread(&r[k].thread, reader_main, &r[k]);
	}
	for (unsigned k = 0; k < READERS; k++)
		join_thread(r[k].thread);
	workers_join(w, 1);
	compactor_stop(&c);
	failure_check();

	unsigned long pins = 0, reads = 0;
	for (unsigned k = 0; k < READERS; k++) {
		pins += r[k].pins;
		reads += r[k].reads;
		free(r[k].got);
	}
	assert_true(pins > 0 && reads > 0);
	/* The readers' pins are all undone; the main thread's two remain,
	 * and held their objects in place through everything. */
	memlane_stats st = tu_stats(set->a);
	assert_int_equal(st.pinned_objects, 2);
	assert_true(st.moved_objects > 0);
	for (size_t i = 0; i < 2; i++) {
		void *p;
		assert_int_equal(memlane_pin(set->a, set->obj[i].h, &p), 0);
		assert_ptr_equal(p, set->held[i]);
		assert_int_equal(memlane_unpin(set->a, set->obj[i].h), 0);
		assert_int_equal(memlane_unpin(set->a, set->obj[i].h), 0);
	}
	assert_int_equal(tu_stats(set->a).pinned_objects, 0);
	tu_verify_all(set->a, set->obj, SHARED);
	for (size_t i = 0; i < SHARED; i++)
		tu_free_obj(set->a, &set->obj[i]);
	assert_int_equal(tu_stats(set->a).objects, 0);
	workers_free(w, 1);
	tu_close(set->a);
	free(set);
}

/* ---- 4. several threads free one handle ---------------------------- */

#define RACERS 4

/* One round: a fresh object every racer goes for at once. */
struct race {
	memlane_arena *a;
	pthread_barrier_t start, end;
	unsigned long rounds;
	bool quit;              /* set by the main thread: no more rounds */
	memlane_handle h, prev; /* this round's object; last round's, freed */
	size_t size;
	uint64_t seed;
	uint8_t *buf;           /* the main thread's pattern buffer */
	int result[RACERS];     /* each racer's final memlane_free code */
	bool stale_ok[RACERS];  /* last round's handle was refused */
};

struct racer {
	struct race *race;
	unsigned id;
	uint8_t *got;
	pthread_t thread;
};

/* Free until the answer is not EPINNED: another racer's pin or read
 * holds the object only briefly. */
static int free_until_settled(memlane_arena *a, memlane_handle h)
{
	int rc;
	while ((rc = memlane_free(a, h)) == MEMLANE_EPINNED)
		sched_yield();
	return rc;
}

/* Before freeing, a racer may read the object (a copy above 512 bytes
 * pins it and copies outside the lock) or pin it: either it is still
 * there, bytes intact, or the handle is refused. */
static bool racer_touch(struct racer *r, unsigned long round)
{
	struct race *x = r->race;
	switch ((r->id + round) % 3) {
	case 0: {
		int rc = memlane_read(x->a, x->h, 0, r->got, x->size);
		TCHECK(rc == 0 || rc == MEMLANE_EHANDLE, "memlane_read during the race: %d (%s)", rc, memlane_errmsg());
		if (rc == 0 && !BYTES_ARE_PATTERN("read while others free", x->h, x->seed, r->got, x->size))
			return false;
		break;
	}
	case 1: {
		void *p = NULL, *q = NULL;
		int rc = memlane_pin(x->a, x->h, &p);
		TCHECK(rc == 0 || rc == MEMLANE_EHANDLE, "memlane_pin during the race: %d (%s)", rc, memlane_errmsg());
		if (rc != 0)
			break;
		if (!BYTES_ARE_PATTERN("pinned while others free", x->h, x->seed, p, x->size))
			return false;
		TCHECK_RC(memlane_pin(x->a, x->h, &q), 0);
		TCHECK(p == q, "pinned object moved");
		TCHECK_RC(memlane_unpin(x->a, x->h), 0);
		TCHECK_RC(memlane_unpin(x->a, x->h), 0);
		break;
	}
	default:
		break; /* straight to free */
	}
	return true;
}

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct race *x = r->race;
	for (unsigned long round = 0; round < x->rounds; round++) {
		pthread_barrier_wait(&x->start);
		if (x->quit)
			break;
		/* The previous object's slot is reused (LIFO): its old handle
		 * must be refused by generation. */
		x->stale_ok[r->id] = x->prev == MEMLANE_NULL || memlane_free(x->a, x->prev) == MEMLANE_EHANDLE;
		x->result[r->id] = 1;
		if (!failed() && racer_touch(r, round)) {
			int rc = free_until_settled(x->a, x->h);
			if (rc == MEMLANE_EHANDLE && !tu_contains(memlane_errmsg(), "memlane_free"))
				thread_fail(__FILE__, __LINE__, "EHANDLE, but this thread's message is \"%s\"", memlane_errmsg());
			x->result[r->id] = rc;
		}
		pthread_barrier_wait(&x->end);
	}
	return NULL;
}

/* In the main thread, but recorded like a racer's failure: the racers
 * wait at the barrier and must be let go before the test fails. */
static bool race_round_check(struct race *x, unsigned long round)
{
	unsigned winners = 0;
	for (unsigned k = 0; k < RACERS; k++) {
		if (x->result[k] == 0)
			winners++;
		else
			TCHECK(x->result[k] == MEMLANE_EHANDLE,
			       "round %lu: racer %u's memlane_free = %d, expected 0 or MEMLANE_EHANDLE", round, k,
			       x->result[k]);
		TCHECK(x->stale_ok[k], "round %lu: racer %u: the previous round's handle was not refused", round, k);
	}
	TCHECK(winners == 1, "round %lu: %u racers freed handle 0x%016llx, expected exactly one", round, winners,
	       (unsigned long long)x->h);
	TCHECK(!memlane_valid(x->a, x->h), "round %lu: handle still valid after the race", round);
	return true;
}

/* The next round's object; false (failure recorded) when it cannot be
 * allocated. */
static bool race_next_object(struct race *x, unsigned long round)
{
	static const size_t sizes[] = {64, 600, 5000, 20000};
	memlane_handle h = MEMLANE_NULL;
	size_t size = sizes[round % TU_ARRAY_LEN(sizes)];
	TCHECK_RC(memlane_alloc(x->a, size, &h), 0);
	x->seed = tu_seed_for(h, SALT + round);
	tu_pattern(x->seed, 0, x->buf, size);
	TCHECK_RC(memlane_write(x->a, h, 0, x->buf, size), 0);
	x->prev = round ? x->h : MEMLANE_NULL;
	x->h = h;
	x->size = size;
	return true;
}

static void test_concurrent_free(void **state)
{
	(void)state;
	failure_reset();
	struct race x = {.rounds = 2000 * stress_scale(), .quit = false, .buf = malloc(MAX_OBJ)};
	assert_non_null(x.buf);
	x.a = tu_open(STRESS_OPTS);
	assert_int_equal(pthread_barrier_init(&x.start, NULL, RACERS + 1), 0);
	assert_int_equal(pthread_barrier_init(&x.end, NULL, RACERS + 1), 0);
	struct racer r[RACERS];
	for (unsigned k = 0; k < RACERS; k++) {
		r[k] = (struct racer){.race = &x, .id = k, .got = malloc(MAX_OBJ)};
		assert_non_null(r[k].got);
		start_thread(&r[k].thread, racer_main, &r[k]);
	}
	/* Between the barriers only the racers touch the race; outside
	 * them only the main thread does. */
	unsigned long round;
	for (round = 0; round < x.rounds; round++) {
		x.quit = failed() || !race_next_object(&x, round);
		pthread_barrier_wait(&x.start);
		if (x.quit)
			break;
		pthread_barrier_wait(&x.end);
		race_round_check(&x, round); /* a failure quits at the next round */
	}
	for (unsigned k = 0; k < RACERS; k++) {
		join_thread(r[k].thread);
		free(r[k].got);
	}
	free(x.buf);
	failure_check();
	memlane_stats st = tu_stats(x.a);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.pinned_objects, 0);
	assert_int_equal(st.frees, x.rounds);
	pthread_barrier_destroy(&x.start);
	pthread_barrier_destroy(&x.end);
	tu_close(x.a);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_background_thread),
		cmocka_unit_test(test_background_thread_quick_close),
		cmocka_unit_test(test_shared_readers),
		cmocka_unit_test(test_concurrent_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
