/* test_stress.c - eight threads doing everything at once, with the
 * background policy thread on.
 *
 * One persistent arena with small lanes (256K FastLane, 2M SlowLane,
 * policy every 1 ms, eviction past half the SlowLane) in a spill
 * directory. THREADS workers each own up to SLOTS objects and pick, at
 * random, one of: alloc (sizes 0 to 24 KiB, FastLane and SlowLane,
 * alignments up to 4096, ZERO and COLD flags), free, realloc (grow and
 * shrink, across the lanes), write (whole, new bytes), write at an
 * offset (part of the object), read (whole, and a slice), pin (check
 * the bytes through the pointer, pin again for the same pointer, write
 * new bytes with memlane_write and see them through it, unpin twice),
 * evict, prefetch, checkpoint, compact, tick and stats. Every object's
 * bytes are a seeded pattern (with a patch where a partial write went)
 * that the owner checks, byte for byte, on every read, after every
 * realloc, and at the end. Other threads' evictions, compactions,
 * checkpoints and fault-ins move the objects under it all the time:
 * none may change a byte.
 *
 * After the threads: every object is checked by the main thread, the
 * arena is closed (a last checkpoint), reopened, and every object must
 * come back from the store with the same size, tag and bytes.
 *
 * A second test is a regression test for a torn checkpoint: a child
 * process writes a 2 MiB object over and over (each time one byte value
 * throughout) in one thread while another checkpoints, and dies right
 * after its last checkpoint. Reopened, the object must hold one of the
 * values written, whole: a checkpoint may not keep a half-done write
 * (memlane_write once copied large objects outside the arena lock, where
 * a checkpoint in another thread read them).
 *
 * Built with --enable-tsan this runs in tests/run-all.sh's TSan step
 * (under setarch -R where the kernel's mmap entropy is high).
 * Operation counts are multiplied by MEMLANE_STRESS_SCALE (default 1). */
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define THREADS 8
#define SLOTS 24
#define OPS 5000
#define MAX_SIZE ((size_t)24 * 1024)
#define SALT 0x5354524553ull /* "STRES" */
#define OPTIONS                                                                                                        \
	"fast_lane_size=256K,slow_lane_size=2M,threshold=1K,policy_check_interval=1ms,"                               \
	"slow_lane_usage_threshold=0.5,promotion_age=4,persist=1,store_sync=none"

/* ---- failures from threads ------------------------------------------- */

#include "threadfail.h"

#define TCHECK_RC(call, want)                                                                                          \
	do {                                                                                                           \
		int trc_ = (call);                                                                                     \
		TCHECK(trc_ == (want), "%s = %d, expected %d (%s)", #call, trc_, (want), memlane_errmsg());          \
	} while (0)

/* ---- what an object must hold ------------------------------------------ */

/* The pattern of @seed, except [patch_off, patch_off + patch_len), which
 * holds the pattern of @patch_seed at those offsets. */
struct obj {
	memlane_handle h;
	size_t size, align;
	uint32_t tag;
	uint64_t seed;
	uint64_t patch_seed;
	size_t patch_off, patch_len;
};

static void expected(const struct obj *o, size_t off, uint8_t *buf, size_t len)
{
	tu_pattern(o->seed, off, buf, len);
	size_t ps = o->patch_off, pe = o->patch_off + o->patch_len;
	size_t s = off > ps ? off : ps, e = off + len < pe ? off + len : pe;
	if (s < e)
		tu_pattern(o->patch_seed, s, buf + (s - off), e - s);
}

enum op {
	OP_ALLOC,
	OP_FREE,
	OP_REALLOC,
	OP_WRITE,
	OP_WRITE_PART,
	OP_READ,
	OP_PIN,
	OP_EVICT,
	OP_PREFETCH,
	OP_CHECKPOINT,
	OP_COMPACT,
	OP_TICK,
	OP_NOPS
};

static const char *const op_names[OP_NOPS] = {"alloc", "free",     "realloc",    "write",   "write_part",
                                              "read",  "pin",      "evict",      "prefetch", "checkpoint",
                                              "compact", "tick"};

struct worker {
	memlane_arena *a;
	unsigned id;
	tu_rng rng;
	unsigned long ops;
	struct obj obj[SLOTS];
	uint8_t buf[MAX_SIZE], want[MAX_SIZE];
	unsigned long count[OP_NOPS];
};

/* Read the whole object and compare with what it must hold. */
static bool check_obj(struct worker *w, const struct obj *o, const char *when)
{
	TCHECK(memlane_size(w->a, o->h) == o->size, "worker %u, %s: handle 0x%016llx has %zu bytes, expected %zu", w->id,
	       when, (unsigned long long)o->h, memlane_size(w->a, o->h), o->size);
	TCHECK(memlane_tag(w->a, o->h) == o->tag, "worker %u, %s: tag changed", w->id, when);
	TCHECK_RC(memlane_read(w->a, o->h, 0, w->buf, o->size), 0);
	expected(o, 0, w->want, o->size);
	if (memcmp(w->buf, w->want, o->size) != 0) {
		size_t i = 0;
		while (w->buf[i] == w->want[i])
			i++;
		TCHECK(false, "worker %u, %s: handle 0x%016llx (%zu bytes): byte %zu differs", w->id, when,
		       (unsigned long long)o->h, o->size, i);
	}
	return true;
}

/* Give the object new bytes: the pattern of a fresh seed. */
static bool rewrite(struct worker *w, struct obj *o)
{
	o->seed = tu_next(&w->rng);
	o->patch_len = 0;
	tu_pattern(o->seed, 0, w->buf, o->size);
	TCHECK_RC(memlane_write(w->a, o->h, 0, w->buf, o->size), 0);
	return true;
}

static size_t pick_size(struct worker *w)
{
	switch (tu_range(&w->rng, 0, 9)) {
	case 0:
		return tu_range(&w->rng, 0, 64);
	case 1:
	case 2:
	case 3:
	case 4:
		return tu_range(&w->rng, 16, 1023); /* FastLane */
	case 5:
	case 6:
	case 7:
		return tu_range(&w->rng, 1024, 8192);
	default:
		return tu_range(&w->rng, 8193, MAX_SIZE); /* blobs */
	}
}

static bool do_alloc(struct worker *w, struct obj *o)
{
	static const size_t aligns[] = {0, 0, 0, 16, 64, 256, 4096};
	static const unsigned flags[] = {0, 0, MEMLANE_ZERO, MEMLANE_COLD, MEMLANE_SLOW, MEMLANE_FAST};
	memset(o, 0, sizeof(*o));
	o->size = pick_size(w);
	o->align = aligns[tu_range(&w->rng, 0, TU_ARRAY_LEN(aligns) - 1)];
	o->tag = (uint32_t)tu_next(&w->rng);
	memlane_alloc_opts opts = {flags[tu_range(&w->rng, 0, TU_ARRAY_LEN(flags) - 1)], o->align, o->tag};
	TCHECK_RC(memlane_alloc_ex(w->a, o->size, &opts, &o->h), 0);
	if (opts.flags & MEMLANE_ZERO) {
		/* Zeroed: check, then give it a pattern. */
		TCHECK_RC(memlane_read(w->a, o->h, 0, w->buf, o->size), 0);
		for (size_t i = 0; i < o->size; i++)
			TCHECK(w->buf[i] == 0, "worker %u: MEMLANE_ZERO object has byte %zu = %u", w->id, i, w->buf[i]);
	}
	return rewrite(w, o);
}

static bool do_realloc(struct worker *w, struct obj *o)
{
	size_t n = pick_size(w), keep = n < o->size ? n : o->size;
	TCHECK_RC(memlane_realloc(w->a, o->h, n), 0);
	TCHECK(memlane_size(w->a, o->h) == n, "worker %u: realloc to %zu gave %zu bytes", w->id, n,
	       memlane_size(w->a, o->h));
	TCHECK_RC(memlane_read(w->a, o->h, 0, w->buf, keep), 0);
	expected(o, 0, w->want, keep);
	TCHECK(memcmp(w->buf, w->want, keep) == 0, "worker %u: realloc %zu -> %zu lost bytes of handle 0x%016llx", w->id,
	       o->size, n, (unsigned long long)o->h);
	o->size = n;
	return rewrite(w, o);
}

/* A slice of new bytes at an offset: the patch. */
static bool do_write_part(struct worker *w, struct obj *o)
{
	if (o->size == 0)
		return true;
	/* Fold an older patch into the base first: one patch at a time. */
	if (o->patch_len && !rewrite(w, o))
		return false;
	size_t off = tu_range(&w->rng, 0, o->size - 1), len = tu_range(&w->rng, 1, o->size - off);
	o->patch_seed = tu_next(&w->rng);
	tu_pattern(o->patch_seed, off, w->buf, len);
	TCHECK_RC(memlane_write(w->a, o->h, off, w->buf, len), 0);
	o->patch_off = off;
	o->patch_len = len;
	return true;
}

static bool do_read_part(struct worker *w, const struct obj *o)
{
	size_t off = tu_range(&w->rng, 0, o->size), len = tu_range(&w->rng, 0, o->size - off);
	TCHECK_RC(memlane_read(w->a, o->h, off, w->buf, len), 0);
	expected(o, off, w->want, len);
	TCHECK(memcmp(w->buf, w->want, len) == 0, "worker %u: %zu bytes at %zu of handle 0x%016llx differ", w->id, len,
	       off, (unsigned long long)o->h);
	return true;
}

/* Pinned: the pointer holds the bytes, a second pin gives the same
 * pointer while others compact and evict, and writes through it stay. */
static bool do_pin(struct worker *w, struct obj *o)
{
	void *p = NULL, *q = NULL;
	TCHECK_RC(memlane_pin(w->a, o->h, &p), 0);
	TCHECK(p != NULL || o->size == 0, "worker %u: memlane_pin gave NULL", w->id);
	TCHECK(o->align <= 1 || o->size == 0 || (uintptr_t)p % o->align == 0, "worker %u: pinned pointer %p not aligned to %zu", w->id,
	       p, o->align);
	expected(o, 0, w->want, o->size);
	TCHECK(o->size == 0 || memcmp(p, w->want, o->size) == 0, "worker %u: bytes behind the pin of 0x%016llx differ",
	       w->id, (unsigned long long)o->h);
	sched_yield();
	TCHECK_RC(memlane_pin(w->a, o->h, &q), 0);
	TCHECK(p == q, "worker %u: a pinned object moved (%p, then %p)", w->id, p, q);
	/* New bytes while pinned, through memlane_write (not through the
	 * pointer: another thread's checkpoint may be reading the object),
	 * seen through the pointer. */
	if (!rewrite(w, o))
		return false;
	TCHECK(o->size == 0 || memcmp(p, w->buf, o->size) == 0, "worker %u: a write to pinned 0x%016llx is not seen "
	       "through the pointer", w->id, (unsigned long long)o->h);
	TCHECK_RC(memlane_unpin(w->a, o->h), 0);
	TCHECK_RC(memlane_unpin(w->a, o->h), 0);
	TCHECK_RC(memlane_unpin(w->a, o->h), MEMLANE_EINVAL);
	return true;
}

static bool step(struct worker *w)
{
	unsigned i = (unsigned)tu_range(&w->rng, 0, SLOTS - 1);
	struct obj *o = &w->obj[i];
	enum op op;
	if (!o->h) {
		op = OP_ALLOC;
	} else {
		/* Weights: the object calls often, the arena-wide ones now and then. */
		static const enum op table[] = {OP_FREE,      OP_REALLOC,  OP_REALLOC,  OP_WRITE,    OP_WRITE,
		                                OP_WRITE_PART, OP_WRITE_PART, OP_READ,   OP_READ,     OP_READ,
		                                OP_PIN,       OP_PIN,      OP_EVICT,    OP_EVICT,    OP_PREFETCH,
		                                OP_PREFETCH,  OP_CHECKPOINT, OP_COMPACT, OP_TICK};
		op = table[tu_range(&w->rng, 0, TU_ARRAY_LEN(table) - 1)];
	}
	w->count[op]++;
	switch (op) {
	case OP_ALLOC:
		return do_alloc(w, o);
	case OP_FREE:
		if (!check_obj(w, o, "before free"))
			return false;
		TCHECK_RC(memlane_free(w->a, o->h), 0);
		TCHECK_RC(memlane_free(w->a, o->h), MEMLANE_EHANDLE);
		o->h = MEMLANE_NULL;
		return true;
	case OP_REALLOC:
		return do_realloc(w, o);
	case OP_WRITE:
		return rewrite(w, o);
	case OP_WRITE_PART:
		return do_write_part(w, o);
	case OP_READ:
		return check_obj(w, o, "read") && do_read_part(w, o);
	case OP_PIN:
		return do_pin(w, o);
	case OP_EVICT:
		TCHECK_RC(memlane_evict(w->a, o->h), 0);
		return true;
	case OP_PREFETCH:
		TCHECK_RC(memlane_prefetch(w->a, o->h), 0);
		TCHECK(memlane_handle_state(w->a, o->h) != MEMLANE_STATE_INVALID, "worker %u: prefetched handle invalid",
		       w->id);
		return true;
	case OP_CHECKPOINT:
		TCHECK_RC(memlane_checkpoint(w->a), 0);
		return true;
	case OP_COMPACT:
		TCHECK_RC(memlane_compact(w->a), 0);
		return true;
	case OP_TICK: {
		TCHECK_RC(memlane_tick(w->a), 0);
		memlane_stats st;
		TCHECK_RC(memlane_stats_get(w->a, &st), 0);
		TCHECK(st.objects <= THREADS * SLOTS, "stats: %llu objects, at most %d exist", (unsigned long long)st.objects,
		       THREADS * SLOTS);
		return true;
	}
	case OP_NOPS:
		break;
	}
	return false;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (unsigned long n = 0; n < w->ops && !failed(); n++)
		if (!step(w))
			break;
	for (unsigned i = 0; i < SLOTS && !failed(); i++)
		if (w->obj[i].h && !check_obj(w, &w->obj[i], "after the run"))
			break;
	return NULL;
}

/* ---- the test ----------------------------------------------------------- */

static unsigned long stress_scale(void)
{
	const char *s = getenv("MEMLANE_STRESS_SCALE");
	if (!s || !*s)
		return 1;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return (*end == '\0' && v >= 1 && v <= 1000) ? v : 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static memlane_arena *open_arena(const char *dir)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, OPTIONS), 0);
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc != 0)
		fail_msg("memlane_open('%s', %s) = %d (%s)", dir, OPTIONS, rc, memlane_errmsg());
	return a;
}

/* Every worker's objects, checked from the main thread. */
static void check_all(memlane_arena *a, struct worker *workers, const char *when)
{
	for (unsigned t = 0; t < THREADS; t++) {
		struct worker *w = &workers[t];
		w->a = a;
		for (unsigned i = 0; i < SLOTS; i++)
			if (w->obj[i].h && !check_obj(w, &w->obj[i], when))
				fail_msg("%s", failure.msg);
	}
}

static void test_eight_threads(void **state)
{
	(void)state;
	char dir[4096];
	assert_int_equal(tu_mkdtemp(dir, sizeof(dir), "stress"), 0);
	memlane_arena *a = open_arena(dir);
	struct worker *workers = calloc(THREADS, sizeof(*workers));
	assert_non_null(workers);
	pthread_t th[THREADS];
	double t0 = now_s();
	for (unsigned t = 0; t < THREADS; t++) {
		workers[t].a = a;
		workers[t].id = t;
		workers[t].rng.s = SALT * (t + 1);
		workers[t].ops = OPS * stress_scale();
		assert_int_equal(pthread_create(&th[t], NULL, worker_main, &workers[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	double secs = now_s() - t0;
	if (failed())
		fail_msg("%s", failure.msg);

	memlane_stats st = tu_stats(a);
	unsigned long count[OP_NOPS] = {0}, live = 0;
	for (unsigned t = 0; t < THREADS; t++) {
		for (unsigned o = 0; o < OP_NOPS; o++)
			count[o] += workers[t].count[o];
		for (unsigned i = 0; i < SLOTS; i++)
			live += workers[t].obj[i].h != MEMLANE_NULL;
	}
	print_message("%d threads, %.2f s:", THREADS, secs);
	for (unsigned o = 0; o < OP_NOPS; o++)
		print_message(" %s %lu", op_names[o], count[o]);
	print_message("\n  %llu evictions, %llu faults, %llu compactions, %llu promotions, %llu policy cycles, %llu "
	              "checkpoints\n",
	              (unsigned long long)st.evictions, (unsigned long long)st.faults,
	              (unsigned long long)st.compactions, (unsigned long long)st.promotions,
	              (unsigned long long)st.maintenance_runs, (unsigned long long)st.checkpoints);
	/* Every operation ran, and the arena really paged and moved things. */
	for (unsigned o = 0; o < OP_NOPS; o++)
		if (count[o] == 0)
			fail_msg("no %s ran", op_names[o]);
	assert_int_equal(st.objects, live);
	assert_int_equal(st.pinned_objects, 0);
	assert_true(st.evictions > 0 && st.faults > 0 && st.checkpoints > 0);
	assert_true(st.maintenance_runs > 0);

	check_all(a, workers, "after the threads");
	assert_int_equal(memlane_close(a), 0);
	/* The store gives every object back as it was. */
	a = open_arena(dir);
	st = tu_stats(a);
	assert_int_equal(st.objects, live);
	check_all(a, workers, "after reopening");
	assert_int_equal(memlane_close(a), 0);
	free(workers);
	assert_int_equal(tu_rm_rf(dir), 0);
}

/* ---- a checkpoint during a large write ------------------------------------ */

#define TORN_SIZE ((size_t)2 << 20)
#define TORN_CHECKPOINTS 12
#define TORN_OPTIONS "fast_lane_size=256K,slow_lane_size=8M,threshold=1K,persist=1,store_sync=none"

/* Static in the child, so that what it holds when it dies stays
 * reachable (valgrind follows the child and would count it lost). */
struct torn {
	memlane_arena *a;
	memlane_handle h;
	uint8_t *buf; /* the writer's */
	atomic_bool stop;
};

/* Whole writes, one byte value each, until stopped. */
static void *torn_writer(void *arg)
{
	struct torn *t = arg;
	for (unsigned v = 2; !atomic_load(&t->stop); v = v % 255 + 1) {
		memset(t->buf, (int)v, TORN_SIZE);
		if (memlane_write(t->a, t->h, 0, t->buf, TORN_SIZE) != 0)
			_exit(4);
	}
	return NULL;
}

/* The child: the writer runs while this thread checkpoints, then the
 * process dies at once (no close: a crash right after a checkpoint). */
static void torn_child(const char *dir)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	static struct torn t;
	if (memlane_config_parse(&cfg, TORN_OPTIONS) != 0 || memlane_open(&t.a, dir, &cfg) != 0)
		_exit(5);
	memlane_alloc_opts o = {MEMLANE_NOSPILL, 0, 0};
	t.buf = malloc(TORN_SIZE);
	if (!t.buf || memlane_alloc_ex(t.a, TORN_SIZE, &o, &t.h) != 0)
		_exit(6);
	memset(t.buf, 1, TORN_SIZE);
	if (memlane_write(t.a, t.h, 0, t.buf, TORN_SIZE) != 0 || memlane_root_set(t.a, "obj", t.h) != 0 ||
	    memlane_checkpoint(t.a) != 0)
		_exit(7);
	pthread_t w;
	if (pthread_create(&w, NULL, torn_writer, &t) != 0)
		_exit(8);
	for (int i = 0; i < TORN_CHECKPOINTS; i++) {
		struct timespec ts = {0, 3 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (memlane_checkpoint(t.a) != 0)
			_exit(9);
	}
	_exit(0);
}

static void test_checkpoint_during_write(void **state)
{
	(void)state;
	for (int round = 0; round < 4; round++) {
		char dir[4096];
		assert_int_equal(tu_mkdtemp(dir, sizeof(dir), "torn"), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			torn_child(dir);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("round %d: the child failed (status 0x%x)", round, (unsigned)status);
		memlane_config cfg;
		memlane_config_init(&cfg);
		assert_int_equal(memlane_config_parse(&cfg, TORN_OPTIONS), 0);
		memlane_arena *a;
		int rc = memlane_open(&a, dir, &cfg);
		if (rc != 0)
			fail_msg("round %d: reopen: %d (%s)", round, rc, memlane_errmsg());
		memlane_handle h;
		assert_int_equal(memlane_root_get(a, "obj", &h), 0);
		assert_int_equal(memlane_size(a, h), TORN_SIZE);
		uint8_t *buf = malloc(TORN_SIZE);
		assert_non_null(buf);
		rc = memlane_read(a, h, 0, buf, TORN_SIZE);
		if (rc != 0)
			fail_msg("round %d: memlane_read = %d (%s)", round, rc, memlane_errmsg());
		size_t i = 1;
		while (i < TORN_SIZE && buf[i] == buf[0])
			i++;
		uint8_t first = buf[0], other = i < TORN_SIZE ? buf[i] : 0;
		free(buf);
		assert_int_equal(memlane_close(a), 0);
		assert_int_equal(tu_rm_rf(dir), 0);
		if (i < TORN_SIZE)
			fail_msg("round %d: the checkpoint kept a half-done write: byte 0 is %u, byte %zu is %u", round, first,
			         i, other);
		assert_true(first != 0);
	}
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eight_threads),
		cmocka_unit_test(test_checkpoint_during_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
