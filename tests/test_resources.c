/* test_resources.c - memlane_close, and every failed memlane_open, give
 * back what the arena took from the process.
 *
 * Counted before memlane_open and after memlane_close: the open file
 * descriptors (/proc/self/fd) and the threads (/proc/self/task); and no
 * mapping of a file in the spill directory may be left (/proc/self/maps).
 * For arenas memory-only, with a scratch spill store, with a persistent
 * one, each with and without the background thread, after real work
 * (evictions, faults, checkpoints, several worker threads: their zstd
 * contexts); and for each way memlane_open can fail once it has taken
 * something: EBUSY (the directory held), EEXIST (persist=0 on a
 * persistent store), EINVAL (bad options, MEMLANE_OPTIONS, a name too
 * long), ESTORE (an unsafe directory, a symlinked store file found after
 * memlane.lock was opened), ECORRUPT (a data.mdb that is not LMDB, a
 * damaged handle table). Open and close are repeated, so a leak of one
 * descriptor per cycle cannot hide. While the arena is open the counts
 * must have gone up (the test sees what it measures). */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define LANES "fast_lane_size=256K,slow_lane_size=2M,threshold=1K"
#define CYCLES 5

/* Entries of directory @path, "." and ".." aside. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Mappings whose file is under @dir. */
static int maps_under(const char *dir)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[8192];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, dir))
			n++;
	fclose(f);
	return n;
}

struct counts {
	int fds, threads;
};

static struct counts now(void)
{
	/* opendir's own descriptor is in both counts alike. */
	return (struct counts){count_entries("/proc/self/fd"), count_entries("/proc/self/task")};
}

static void same_at(struct counts before, const char *what, const char *file, int line)
{
	/* A joined thread leaves /proc/self/task a moment after the join
	 * returns: give it up to a second (a leaked one never leaves). */
	struct counts after = now();
	for (int i = 0; i < 100 && after.threads > before.threads; i++) {
		usleep(10000);
		after = now();
	}
	if (after.fds != before.fds || after.threads != before.threads)
		fail_msg("%s:%d: %s: %d fds and %d threads before, %d and %d after", file, line, what, before.fds,
		         before.threads, after.fds, after.threads);
}
#define same(before, what) same_at((before), (what), __FILE__, __LINE__)

static memlane_config config(const char *options)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	if (memlane_config_parse(&cfg, options) != 0)
		fail_msg("options %s: %s", options, memlane_errmsg());
	return cfg;
}

static memlane_arena *open_ok(const char *dir, const char *options)
{
	memlane_config cfg = config(options);
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc != 0)
		fail_msg("memlane_open(%s, %s) = %d (%s)", dir ? dir : "NULL", options, rc, memlane_errmsg());
	return a;
}

static void open_fails(const char *dir, const char *options, int code)
{
	memlane_config cfg = config(options);
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc != code)
		fail_msg("memlane_open(%s, %s) = %d, expected %d (%s)", dir ? dir : "NULL", options, rc, code,
		         memlane_errmsg());
	assert_null(a);
}

struct fixture {
	char dir[512];
	char spill[600];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(tu_mkdtemp(fx->dir, sizeof(fx->dir), "resources"), 0);
	snprintf(fx->spill, sizeof(fx->spill), "%s/spill", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = tu_rm_rf(fx->dir);
	free(fx);
	return rc;
}

/* Work that touches the pager from several threads: each thread makes,
 * evicts, faults in and frees objects (and so makes its zstd contexts). */
struct work {
	memlane_arena *a;
	unsigned seed;
	int rc;
};

static void *work_main(void *arg)
{
	struct work *w = arg;
	memlane_handle h[16];
	for (unsigned i = 0; i < 16; i++) {
		if ((w->rc = memlane_alloc(w->a, 2000 + 500 * i, &h[i])) != 0)
			return NULL;
		uint8_t buf[64];
		memset(buf, (int)(w->seed + i), sizeof(buf));
		if ((w->rc = memlane_write(w->a, h[i], 0, buf, sizeof(buf))) != 0)
			return NULL;
	}
	for (unsigned i = 0; i < 16; i++) {
		if ((w->rc = memlane_evict(w->a, h[i])) != 0 && w->rc != MEMLANE_ENOSPILL)
			return NULL;
		uint8_t b;
		if ((w->rc = memlane_read(w->a, h[i], 10, &b, 1)) != 0)
			return NULL;
		if (b != (uint8_t)(w->seed + i)) {
			w->rc = -100;
			return NULL;
		}
	}
	for (unsigned i = 0; i < 8; i++)
		if ((w->rc = memlane_free(w->a, h[i])) != 0)
			return NULL;
	w->rc = 0;
	return NULL;
}

static void run_work(memlane_arena *a)
{
	pthread_t t[3];
	struct work w[3];
	for (unsigned i = 0; i < 3; i++) {
		w[i] = (struct work){a, 10 * i, -1};
		assert_int_equal(pthread_create(&t[i], NULL, work_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].rc != 0)
			fail_msg("worker %u: %d (%s)", i, w[i].rc, memlane_errmsg());
	}
}

/* Open, work, close, CYCLES times: the counts come back each time.
 * @more_fds / @more_threads: what the open arena must hold on top. */
static void cycle(const char *dir, const char *options, int more_fds, int more_threads, bool checkpoint)
{
	for (int i = 0; i < CYCLES; i++) {
		struct counts before = now();
		memlane_arena *a = open_ok(dir, options);
		struct counts open = now();
		if (open.fds < before.fds + more_fds || open.threads != before.threads + more_threads)
			fail_msg("%s (%s): open arena: %d fds, %d threads; before %d, %d; expected at least %d more fds and "
			         "%d more threads",
			         dir ? dir : "memory-only", options, open.fds, open.threads, before.fds, before.threads,
			         more_fds, more_threads);
		run_work(a);
		if (checkpoint)
			assert_int_equal(memlane_checkpoint(a), 0);
		assert_int_equal(memlane_close(a), 0);
		same(before, options);
		if (dir && maps_under(dir) != 0)
			fail_msg("%s: a file of the spill directory is still mapped after close", dir);
	}
}

static void test_memory_only(void **state)
{
	(void)state;
	cycle(NULL, LANES, 0, 0, false);
	cycle(NULL, LANES ",policy_check_interval=1ms", 0, 1, false);
}

static void test_scratch_store(void **state)
{
	struct fixture *fx = *state;
	/* memlane.lock, and LMDB's data.mdb and lock.mdb. */
	cycle(fx->spill, LANES, 3, 0, false);
	cycle(fx->spill, LANES ",policy_check_interval=1ms", 3, 1, false);
}

static void test_persistent_store(void **state)
{
	struct fixture *fx = *state;
	cycle(fx->spill, LANES ",persist=1", 3, 0, true);
	cycle(fx->spill, LANES ",persist=1,policy_check_interval=1ms,store_sync=checkpoint", 3, 1, true);
}

/* Each failure after memlane_open took a lock file, an LMDB environment
 * or (for the options) nothing at all: all of it given back. */
static void test_failed_opens(void **state)
{
	struct fixture *fx = *state;
	const char *bg = LANES ",policy_check_interval=1ms";
	struct counts before = now();

	/* EINVAL: bad options, in the configuration or the environment. */
	for (int i = 0; i < CYCLES; i++) {
		memlane_config cfg = config(bg);
		cfg.threshold = cfg.fast_lane_size;
		memlane_arena *a = NULL;
		assert_int_equal(memlane_open(&a, fx->spill, &cfg), MEMLANE_EINVAL);
		setenv("MEMLANE_OPTIONS", "slow_lane_size=1", 1);
		open_fails(fx->spill, bg, MEMLANE_EINVAL);
		unsetenv("MEMLANE_OPTIONS");
	}
	same(before, "EINVAL");

	/* EBUSY: the directory is held by an arena of this process. */
	memlane_arena *holder = open_ok(fx->spill, LANES ",persist=1");
	struct counts held = now();
	for (int i = 0; i < CYCLES; i++)
		open_fails(fx->spill, bg, MEMLANE_EBUSY);
	same(held, "EBUSY");
	memlane_handle h;
	assert_int_equal(memlane_alloc(holder, 3000, &h), 0);
	assert_int_equal(memlane_close(holder), 0);
	same(before, "the holder closed");

	/* EEXIST: persist=0 on the persistent store just made. */
	for (int i = 0; i < CYCLES; i++)
		open_fails(fx->spill, bg, MEMLANE_EEXIST);
	same(before, "EEXIST");

	/* ECORRUPT: a data.mdb that is no LMDB file at all. */
	char other[700], path[800];
	snprintf(other, sizeof(other), "%s/junk", fx->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", other);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 4096; i++)
		fputs("not an LMDB file\n", f);
	assert_int_equal(fclose(f), 0);
	for (int i = 0; i < CYCLES; i++)
		open_fails(other, bg, MEMLANE_ECORRUPT);
	same(before, "ECORRUPT");

	/* ESTORE: a directory others may write to; a symlinked data.mdb,
	 * found after memlane.lock was opened. */
	assert_int_equal(chmod(fx->spill, 0777), 0);
	for (int i = 0; i < CYCLES; i++)
		open_fails(fx->spill, bg, MEMLANE_ESTORE);
	assert_int_equal(chmod(fx->spill, 0700), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", fx->spill);
	char moved[800];
	snprintf(moved, sizeof(moved), "%s/moved.mdb", fx->dir);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(moved, path), 0);
	for (int i = 0; i < CYCLES; i++)
		open_fails(fx->spill, LANES ",persist=1,policy_check_interval=1ms", MEMLANE_ESTORE);
	same(before, "ESTORE");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(moved, path), 0);

	/* EINVAL: a spill directory name too long. */
	char *longname = malloc(4200);
	assert_non_null(longname);
	memset(longname, 'x', 4199);
	longname[0] = '/';
	longname[4199] = 0;
	open_fails(longname, bg, MEMLANE_EINVAL);
	free(longname);
	same(before, "a long name");

	/* Through it all the store stayed good. */
	memlane_arena *a = open_ok(fx->spill, LANES ",persist=1");
	assert_int_equal(memlane_size(a, h), 3000);
	assert_int_equal(memlane_close(a), 0);
	same(before, "the store reopened");
	assert_int_equal(maps_under(fx->dir), 0);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_only),
		cmocka_unit_test_setup_teardown(test_scratch_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistent_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_opens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
