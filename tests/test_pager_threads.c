/* test_pager_threads.c - the pager under threads: faults, writes,
 * evictions and flushes of one shared set of objects at once.
 *
 * NOBJ objects (200 B to 48 KiB, about 2.5 MB, more than the 2M SlowLane)
 * start spilled. WORKERS threads each own a subset: only the owner
 * writes an object, each time a new generation of its body. Every worker
 * also reads every object, the others' included, while the background
 * policy thread (every 1 ms, slow_lane_usage_threshold=0.5) and a pager
 * thread (memlane_evict, memlane_prefetch, memlane_flush) spill them
 * again. What must hold:
 *   - the first 64 bytes of an object (its header: number, owner, size)
 *     never change after creation, so any thread may read them at any
 *     time with no lock of its own: through memlane_read, and through
 *     the pointer of a pin (which memlane_get_ro and memlane_try_get must
 *     give back unchanged while the pin holds, the object resident);
 *   - the body is written by its owner under the test's own per-object
 *     rwlock (the library does not make two threads' copies into one
 *     object atomic; that is the caller's job), and a reader holding the
 *     read lock finds a whole generation: its stamp and the bytes that go
 *     with it, through memlane_read or a pinned memlane_get_ro pointer;
 *   - generations never go back: a reader never sees an older one than it
 *     saw before, and an owner always reads back exactly its last one (an
 *     eviction that took a written object for clean would lose a write);
 *   - the background thread alone brings SlowLane use back under the
 *     threshold.
 *
 * Built with --enable-tsan this must be free of reports (run it under
 * setarch -R where the kernel's mmap entropy is high). Iteration counts
 * are multiplied by MEMLANE_STRESS_SCALE (default 1). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

#define WORKERS 4
#define NOBJ 96
#define HEADER 64              /* immutable: written once, before the threads start */
#define STAMP 16               /* body bytes 0-15: generation and its check */
#define MAX_SIZE ((size_t)48 * 1024)
#define HEADER_MAGIC 0x5244485450474150ull /* "PAGTHDR" */
#define SALT 0x50475448ull                 /* "PGTH" */
#define OPTIONS                                                                                                        \
	"fast_lane_size=256K,slow_lane_size=2M,threshold=1K,policy_check_interval=1ms,slow_lane_usage_threshold=0.5"

/* ---- failures from threads (cmocka's asserts belong to the main thread) */

#include "threadfail.h"

#define TCHECK_RC(call)                                                                                                \
	do {                                                                                                           \
		int trc_ = (call);                                                                                     \
		TCHECK(trc_ == 0, "%s = %d (%s)", #call, trc_, memlane_errmsg());                                      \
	} while (0)

/* ---- the shared objects ---------------------------------------------- */

struct shared_obj {
	memlane_handle h;     /* set before the threads start, never changed */
	size_t size;
	unsigned owner;
	pthread_rwlock_t body; /* the owner writes the body under it */
	uint64_t gen;          /* the body's generation; under the rwlock */
};

struct run {
	memlane_arena *a;
	struct shared_obj obj[NOBJ];
	unsigned long iters;
	atomic_bool workers_done;
};

/* The header of object @i: magic, number, owner, size, a check word,
 * then pattern bytes. */
static void header_fill(const struct shared_obj *o, unsigned i, uint8_t hdr[HEADER])
{
	uint64_t w[4] = {HEADER_MAGIC, i, o->owner, o->size};
	w[3] = tu_mix64(HEADER_MAGIC ^ ((uint64_t)i << 32) ^ ((uint64_t)o->owner << 24) ^ o->size);
	uint64_t size = o->size;
	memcpy(hdr, &w[0], 8);
	memcpy(hdr + 8, &w[1], 8);
	memcpy(hdr + 16, &w[2], 8);
	memcpy(hdr + 24, &size, 8);
	memcpy(hdr + 32, &w[3], 8);
	tu_pattern(SALT ^ i, 40, hdr + 40, HEADER - 40);
}

static uint64_t body_seed(unsigned i, uint64_t gen)
{
	return tu_mix64(SALT ^ ((uint64_t)i << 40) ^ gen);
}

/* The body (bytes HEADER to size) of generation @gen: a stamp (the
 * generation and a check word), then its pattern. */
static void body_fill(const struct shared_obj *o, unsigned i, uint64_t gen, uint8_t *body)
{
	uint64_t check = body_seed(i, gen);
	memcpy(body, &gen, 8);
	memcpy(body + 8, &check, 8);
	tu_pattern(check, 0, body + STAMP, o->size - HEADER - STAMP);
}

static bool header_ok(const struct shared_obj *o, unsigned i, const uint8_t *got, const char *how)
{
	uint8_t want[HEADER];
	header_fill(o, i, want);
	TCHECK(memcmp(got, want, HEADER) == 0, "object %u (handle 0x%016llx): header read %s is not what was written",
	       i, (unsigned long long)o->h, how);
	return true;
}

/* A whole body: a generation no older than @min_gen and its bytes.
 * Returns the generation in *@gen. */
static bool body_ok(const struct shared_obj *o, unsigned i, const uint8_t *body, uint64_t min_gen, uint64_t *gen,
                    const char *how)
{
	uint64_t g, check;
	memcpy(&g, body, 8);
	memcpy(&check, body + 8, 8);
	TCHECK(check == body_seed(i, g), "object %u (%s): stamp of generation %llu is damaged", i, how,
	       (unsigned long long)g);
	TCHECK(g >= min_gen, "object %u (%s): generation %llu after %llu was seen (a write was lost)", i, how,
	       (unsigned long long)g, (unsigned long long)min_gen);
	size_t bad = tu_pattern_mismatch(check, 0, body + STAMP, o->size - HEADER - STAMP);
	TCHECK(bad == SIZE_MAX, "object %u (%s): generation %llu, body byte %zu differs", i, how, (unsigned long long)g,
	       bad + STAMP);
	*gen = g;
	return true;
}

/* ---- what each thread does ------------------------------------------- */

struct worker {
	struct run *run;
	unsigned id;
	tu_rng rng;
	uint64_t seen[NOBJ]; /* newest generation this thread saw of each object */
	uint8_t buf[MAX_SIZE];
	unsigned long writes, full_reads, header_reads;
};

/* Header, lock-free: memlane_read faults the object in if it must. */
static bool read_header(struct worker *w, unsigned i)
{
	const struct shared_obj *o = &w->run->obj[i];
	uint8_t hdr[HEADER];
	TCHECK_RC(memlane_read(w->run->a, o->h, 0, hdr, HEADER));
	w->header_reads++;
	return header_ok(o, i, hdr, "with memlane_read");
}

/* Header, lock-free, through a pin: get_ro and try_get give the pinned
 * pointer back, and the object cannot be evicted meanwhile. */
static bool pinned_header(struct worker *w, unsigned i)
{
	memlane_arena *a = w->run->a;
	const struct shared_obj *o = &w->run->obj[i];
	void *p = NULL, *q = NULL;
	TCHECK_RC(memlane_pin(a, o->h, &p));
	bool ok = header_ok(o, i, p, "through a pinned pointer");
	const void *ro = memlane_get_ro(a, o->h);
	int rc = memlane_try_get(a, o->h, &q);
	memlane_state st = memlane_handle_state(a, o->h);
	int erc = memlane_evict(a, o->h);
	TCHECK_RC(memlane_unpin(a, o->h));
	TCHECK(ok, "header");
	TCHECK(ro == p, "object %u: memlane_get_ro gave %p while pinned at %p", i, ro, p);
	TCHECK(rc == 0 && q == p, "object %u: memlane_try_get while pinned: %d, %p (pinned at %p)", i, rc, q, p);
	TCHECK(st == MEMLANE_STATE_SLOW || st == MEMLANE_STATE_FAST, "object %u: state %d while pinned", i, (int)st);
	TCHECK(erc == MEMLANE_EPINNED, "object %u: memlane_evict of a pinned object = %d, expected MEMLANE_EPINNED", i,
	       erc);
	w->header_reads++;
	return true;
}

/* The whole object under the body's read lock, one of two ways. */
static bool read_whole(struct worker *w, unsigned i)
{
	memlane_arena *a = w->run->a;
	struct shared_obj *o = &w->run->obj[i];
	uint64_t gen = 0;
	bool ok;
	pthread_rwlock_rdlock(&o->body);
	if (tu_range(&w->rng, 0, 1)) {
		int rc = memlane_read(a, o->h, 0, w->buf, o->size);
		ok = rc == 0;
		if (!ok)
			thread_fail(__FILE__, __LINE__, "object %u: memlane_read = %d (%s)", i, rc, memlane_errmsg());
		ok = ok && header_ok(o, i, w->buf, "with memlane_read") &&
		     body_ok(o, i, w->buf + HEADER, w->seen[i], &gen, "memlane_read");
	} else {
		int rc = memlane_pin(a, o->h, NULL);
		ok = rc == 0;
		if (!ok)
			thread_fail(__FILE__, __LINE__, "object %u: memlane_pin = %d (%s)", i, rc, memlane_errmsg());
		const uint8_t *p = ok ? memlane_get_ro(a, o->h) : NULL;
		if (ok && !p) {
			thread_fail(__FILE__, __LINE__, "object %u: memlane_get_ro while pinned = NULL (%s)", i, memlane_errmsg());
			ok = false;
		}
		ok = ok && header_ok(o, i, p, "through memlane_get_ro") &&
		     body_ok(o, i, p + HEADER, w->seen[i], &gen, "memlane_get_ro under a pin");
		if (rc == 0 && memlane_unpin(a, o->h) != 0) {
			thread_fail(__FILE__, __LINE__, "object %u: memlane_unpin: %s", i, memlane_errmsg());
			ok = false;
		}
	}
	/* The owner's own reads must find exactly its last generation. */
	if (ok && o->owner == w->id && gen != o->gen) {
		thread_fail(__FILE__, __LINE__, "object %u: its owner wrote generation %llu, reads back %llu", i,
		            (unsigned long long)o->gen, (unsigned long long)gen);
		ok = false;
	}
	pthread_rwlock_unlock(&o->body);
	if (ok) {
		w->seen[i] = gen;
		w->full_reads++;
	}
	return ok;
}

/* A new generation of one of this worker's objects, under the write
 * lock: with memlane_write (whole body, or in two pieces in either
 * order), or through a pin. */
static bool write_body(struct worker *w, unsigned i)
{
	memlane_arena *a = w->run->a;
	struct shared_obj *o = &w->run->obj[i];
	size_t n = o->size - HEADER, half = n / 2;
	int rc = 0;
	void *p;
	pthread_rwlock_wrlock(&o->body);
	uint64_t gen = o->gen + 1;
	body_fill(o, i, gen, w->buf);
	switch (tu_range(&w->rng, 0, 3)) {
	case 0:
		rc = memlane_write(a, o->h, HEADER, w->buf, n);
		break;
	case 1:
		rc = memlane_write(a, o->h, HEADER + half, w->buf + half, n - half);
		if (rc == 0)
			rc = memlane_write(a, o->h, HEADER, w->buf, half);
		break;
	case 2:
		rc = memlane_write(a, o->h, HEADER, w->buf, half);
		if (rc == 0)
			rc = memlane_write(a, o->h, HEADER + half, w->buf + half, n - half);
		break;
	default:
		rc = memlane_pin(a, o->h, &p);
		if (rc == 0) {
			memcpy((uint8_t *)p + HEADER, w->buf, n);
			rc = memlane_unpin(a, o->h);
		}
		break;
	}
	if (rc == 0)
		o->gen = gen;
	pthread_rwlock_unlock(&o->body);
	TCHECK(rc == 0, "object %u: writing generation %llu: %d (%s)", i, (unsigned long long)gen, rc, memlane_errmsg());
	w->writes++;
	return true;
}

static bool worker_step(struct worker *w)
{
	unsigned i = (unsigned)tu_range(&w->rng, 0, NOBJ - 1);
	bool own = w->run->obj[i].owner == w->id;
	switch (tu_range(&w->rng, 0, 7)) {
	case 0:
	case 1:
		return own ? write_body(w, i) : read_whole(w, i);
	case 2:
	case 3:
	case 4:
		return read_whole(w, i);
	case 5:
		return pinned_header(w, i);
	default:
		return read_header(w, i);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (unsigned long n = 0; n < w->run->iters && !failed(); n++)
		if (!worker_step(w))
			break;
	return NULL;
}

/* Evicts, prefetches and flushes while the workers run. Evicting an
 * object another thread has pinned is refused (MEMLANE_EPINNED);
 * flush skips pinned objects. */
static bool pager_step(struct run *run, tu_rng *r, unsigned long *ops)
{
	memlane_arena *a = run->a;
	memlane_handle h = run->obj[tu_range(r, 0, NOBJ - 1)].h;
	int rc;
	switch (tu_range(r, 0, 15)) {
	case 0:
		TCHECK_RC(memlane_flush(a));
		break;
	case 1: {
		memlane_stats st;
		TCHECK_RC(memlane_stats_get(a, &st));
		TCHECK(st.objects == NOBJ, "stats.objects = %llu, expected %d", (unsigned long long)st.objects, NOBJ);
		TCHECK(st.spilled_objects <= st.objects, "more spilled objects than objects");
		break;
	}
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
		TCHECK_RC(memlane_prefetch(a, h));
		break;
	default:
		rc = memlane_evict(a, h);
		TCHECK(rc == 0 || rc == MEMLANE_EPINNED, "memlane_evict(0x%016llx) = %d (%s)", (unsigned long long)h, rc,
		       memlane_errmsg());
		break;
	}
	(*ops)++;
	return true;
}

struct pager {
	struct run *run;
	unsigned long ops;
};

static void *pager_main(void *arg)
{
	struct pager *p = arg;
	tu_rng r = {SALT ^ 0x9a9e};
	while (!atomic_load(&p->run->workers_done) && !failed())
		if (!pager_step(p->run, &r, &p->ops))
			break;
	return NULL;
}

/* ---- setup ------------------------------------------------------------ */

static unsigned long stress_scale(void)
{
	const char *s = getenv("MEMLANE_STRESS_SCALE");
	if (!s || !*s)
		return 1;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return (*end == '\0' && v >= 1 && v <= 1000) ? v : 1;
}

static char *make_temp_dir(void)
{
	char path[4096];
	assert_int_equal(tu_mkdtemp(path, sizeof(path), "pgthr"), 0);
	char *dir = strdup(path);
	assert_non_null(dir);
	return dir;
}

static void remove_temp_dir(char *dir)
{
	assert_int_equal(tu_rm_rf(dir), 0);
	free(dir);
}

/* NOBJ objects, header and generation 0 written, owners round-robin;
 * a few below `threshold` start in the FastLane. Then all spilled. */
static void create_objects(struct run *run)
{
	static uint8_t buf[MAX_SIZE];
	tu_rng r = {SALT};
	for (unsigned i = 0; i < NOBJ; i++) {
		struct shared_obj *o = &run->obj[i];
		o->size = i % 8 == 0 ? tu_range(&r, 200, 900) : tu_range(&r, 2048, MAX_SIZE);
		o->owner = i % WORKERS;
		o->gen = 0;
		assert_int_equal(pthread_rwlock_init(&o->body, NULL), 0);
		memlane_alloc_opts opts = {i % 5 == 0 ? MEMLANE_COLD : 0, i % 3 == 0 ? 64 : 0, i};
		int rc = memlane_alloc_ex(run->a, o->size, &opts, &o->h);
		if (rc != 0)
			fail_msg("object %u (%zu bytes): %d (%s)", i, o->size, rc, memlane_errmsg());
		header_fill(o, i, buf);
		body_fill(o, i, 0, buf + HEADER);
		assert_int_equal(memlane_write(run->a, o->h, 0, buf, o->size), 0);
	}
	assert_int_equal(memlane_flush(run->a), 0);
	memlane_stats st = tu_stats(run->a);
	assert_int_equal(st.spilled_objects, NOBJ);
}

/* After the threads: every object holds its owner's last generation. */
static void verify_final(struct run *run)
{
	static uint8_t buf[MAX_SIZE];
	for (unsigned i = 0; i < NOBJ; i++) {
		struct shared_obj *o = &run->obj[i];
		assert_int_equal(memlane_size(run->a, o->h), o->size);
		assert_int_equal(memlane_tag(run->a, o->h), i);
		assert_int_equal(memlane_read(run->a, o->h, 0, buf, o->size), 0);
		uint8_t hdr[HEADER];
		header_fill(o, i, hdr);
		if (memcmp(buf, hdr, HEADER) != 0)
			fail_msg("object %u: header changed", i);
		uint8_t *want = malloc(o->size);
		assert_non_null(want);
		body_fill(o, i, o->gen, want);
		bool same = memcmp(buf + HEADER, want, o->size - HEADER) == 0;
		free(want);
		if (!same)
			fail_msg("object %u: does not hold generation %llu", i, (unsigned long long)o->gen);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* With every object faulted in (past the threshold), the background
 * thread alone must bring SlowLane use back under it. */
static void wait_for_background_eviction(struct run *run)
{
	for (unsigned i = 0; i < NOBJ; i++)
		assert_int_equal(memlane_prefetch(run->a, run->obj[i].h), 0);
	double until = now_s() + 10.0;
	memlane_stats st = tu_stats(run->a);
	while (st.slow_usage > 0.5 && now_s() < until) {
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
		st = tu_stats(run->a);
	}
	if (st.slow_usage > 0.5)
		fail_msg("SlowLane use %.3f stays over slow_lane_usage_threshold=0.5 with the background thread on",
		         st.slow_usage);
}

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int e = pthread_create(t, NULL, fn, arg);
	if (e != 0)
		fail_msg("pthread_create: %s", strerror(e));
}

/* The arena in a fresh spill directory; the teardown closes it and
 * removes the directory, after a failure too. */
struct fixture {
	char *dir;
	struct run run;
};

static int fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = make_temp_dir();
	memlane_config cfg;
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, OPTIONS), 0);
	int rc = memlane_open(&fx->run.a, fx->dir, &cfg);
	if (rc != 0)
		fail_msg("memlane_open('%s', %s) = %d (%s)", fx->dir, OPTIONS, rc, memlane_errmsg());
	*state = fx;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = memlane_close(fx->run.a);
	for (unsigned i = 0; i < NOBJ; i++)
		if (fx->run.obj[i].h)
			pthread_rwlock_destroy(&fx->run.obj[i].body);
	remove_temp_dir(fx->dir);
	free(fx);
	return rc;
}

static void test_fault_evict_threads(void **state)
{
	struct fixture *fx = *state;
	struct run *run = &fx->run;
	static struct worker workers[WORKERS];
	run->iters = 8000 * stress_scale();
	create_objects(run);

	pthread_t wt[WORKERS], pt;
	struct pager pager = {run, 0};
	double t0 = now_s();
	for (unsigned i = 0; i < WORKERS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].run = run;
		workers[i].id = i;
		workers[i].rng.s = SALT + 7919 * (i + 1);
		start_thread(&wt[i], worker_main, &workers[i]);
	}
	start_thread(&pt, pager_main, &pager);
	for (unsigned i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_join(wt[i], NULL), 0);
	atomic_store(&run->workers_done, true);
	assert_int_equal(pthread_join(pt, NULL), 0);
	double secs = now_s() - t0;
	if (failed())
		fail_msg("%s", failure.msg);

	unsigned long writes = 0, full = 0, headers = 0;
	for (unsigned i = 0; i < WORKERS; i++) {
		writes += workers[i].writes;
		full += workers[i].full_reads;
		headers += workers[i].header_reads;
	}
	memlane_stats st = tu_stats(run->a);
	print_message("%.2f s: %lu writes, %lu whole reads, %lu header reads, %lu pager calls; %llu evictions "
	              "(%llu clean, %llu dirty), %llu faults\n",
	              secs, writes, full, headers, pager.ops, (unsigned long long)st.evictions,
	              (unsigned long long)st.clean_evictions, (unsigned long long)st.dirty_evictions,
	              (unsigned long long)st.faults);
	/* The run really paged: objects went out and came back, both ways. */
	assert_true(writes > 0 && full > 0 && headers > 0);
	assert_true(st.faults > NOBJ);
	assert_true(st.clean_evictions > 0);
	assert_true(st.dirty_evictions > NOBJ);
	assert_int_equal(st.pinned_objects, 0);
	assert_int_equal(st.objects, NOBJ);

	verify_final(run);
	wait_for_background_eviction(run);
	verify_final(run);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fault_evict_threads, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
