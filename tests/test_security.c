/* test_security.c - what the library refuses, and why.
 *
 *   1. The spill directory and the store files: a new directory is mode
 *      0700 and every store file (data.mdb, lock.mdb, memlane.lock) 0600,
 *      even under umask 0. A directory others can write to, or owned by
 *      another user, is refused with MEMLANE_ESTORE before anything is
 *      created in it; so is a store file that is a symbolic link (the
 *      link's target is left untouched) or not a plain file. A symbolic
 *      link naming the directory itself is followed. A directory name too
 *      long for the store's paths is MEMLANE_EINVAL.
 *   2. Sizes, offsets and alignments that would overflow are refused
 *      before any arithmetic: alloc/alloc_ex/realloc near SIZE_MAX,
 *      alignments that are huge powers of two, alloc_array and
 *      MEMLANE_NEW_ARRAY products past SIZE_MAX, read/write offsets and
 *      lengths whose sum wraps, options with huge sizes and durations.
 *      The object involved is left as it was.
 *   3. A persistent store whose handle table or slot list is impossible
 *      (sizes past any lane, alignments past 4096, generations no handle
 *      can carry) is refused at open as MEMLANE_ECORRUPT, the file
 *      unchanged; repaired, it opens again.
 *
 * Every error message is checked to name the culprit (path, reason,
 * value). Tests that need another user (a directory owned by someone
 * else) use chown when run as root, and a directory root owns otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <lmdb.h>

#include "testutil.h"

#define OPTIONS "fast_lane_size=256K,slow_lane_size=4M,threshold=1K"
#define NOBODY ((uid_t)65534)

static const char *const store_files[] = {"data.mdb", "lock.mdb", "memlane.lock"};

/* ---- helpers ----------------------------------------------------------- */

static void errmsg_says_at(const char *what, const char *file, int line)
{
	if (!tu_contains(memlane_errmsg(), what))
		fail_msg("%s:%d: memlane_errmsg() \"%s\" does not say \"%s\"", file, line, memlane_errmsg(), what);
}
#define errmsg_says(what) errmsg_says_at((what), __FILE__, __LINE__)

static int open_in(const char *dir, const char *options, memlane_arena **a)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, options), 0);
	*a = NULL;
	return memlane_open(a, dir, &cfg);
}

static memlane_arena *open_ok_at(const char *dir, const char *options, const char *file, int line)
{
	memlane_arena *a;
	int rc = open_in(dir, options, &a);
	if (rc != 0)
		fail_msg("%s:%d: memlane_open('%s', %s) = %d (%s)", file, line, dir, options, rc, memlane_errmsg());
	return a;
}
#define open_ok(dir, options) open_ok_at((dir), (options), __FILE__, __LINE__)

/* memlane_open of @dir must fail with @code, naming @path and @why, and
 * hand out no arena. */
static void refused_at(const char *dir, const char *options, int code, const char *path, const char *why,
                       const char *file, int line)
{
	memlane_arena *a = (memlane_arena *)&a; /* must be left alone */
	memlane_arena *before = a;
	memlane_config cfg;
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, options), 0);
	int rc = memlane_open(&a, dir, &cfg);
	if (rc == 0) {
		memlane_close(a);
		fail_msg("%s:%d: memlane_open('%s') succeeded; expected %d (%s)", file, line, dir, code, why);
	}
	if (rc != code)
		fail_msg("%s:%d: memlane_open('%s') = %d, expected %d (%s)", file, line, dir, rc, code, memlane_errmsg());
	if (a != before)
		fail_msg("%s:%d: a failed memlane_open changed *out", file, line);
	errmsg_says_at(path, file, line);
	errmsg_says_at(why, file, line);
}
#define refused(dir, options, code, path, why) refused_at((dir), (options), (code), (path), (why), __FILE__, __LINE__)

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
	int len = snprintf(out, n, "%s/%s", dir, name);
	assert_true(len > 0 && (size_t)len < n);
}

static bool exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	path_in(p, sizeof(p), dir, name);
	struct stat sb;
	return lstat(p, &sb) == 0;
}

static mode_t mode_of(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		fail_msg("lstat(%s): %s", path, strerror(errno));
	return sb.st_mode & 07777;
}

/* Write @text into a new file @path. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The whole of file @path, or "" when it does not exist. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		char *s = malloc(1);
		assert_non_null(s);
		s[0] = 0;
		return s;
	}
	char *s = tu_slurp(f);
	fclose(f);
	return s;
}

/* A scratch area: a 0700 temporary directory holding the spill
 * directory "spill" (not created) and whatever else a test needs. */
struct fixture {
	char top[512];
	char spill[600];
	mode_t umask_before;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	assert_int_equal(tu_mkdtemp(fx->top, sizeof(fx->top), "security"), 0);
	path_in(fx->spill, sizeof(fx->spill), fx->top, "spill");
	fx->umask_before = umask(022);
	umask(fx->umask_before);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	umask(fx->umask_before);
	int rc = tu_rm_rf(fx->top);
	free(fx);
	return rc;
}

/* ---- 1. the spill directory and its files ----------------------------- */

/* Under umask 0 too: 0700 and 0600 come from the library. */
static void test_modes(void **state)
{
	struct fixture *fx = *state;
	umask(0);
	memlane_arena *a = open_ok(fx->spill, OPTIONS ",persist=1");
	assert_int_equal(mode_of(fx->spill), 0700);
	char p[PATH_MAX];
	for (size_t i = 0; i < TU_ARRAY_LEN(store_files); i++) {
		path_in(p, sizeof(p), fx->spill, store_files[i]);
		if (mode_of(p) != 0600)
			fail_msg("%s: mode %04o, expected 0600", p, (unsigned)mode_of(p));
	}
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, 5000, &h), 0);
	assert_int_equal(memlane_evict(a, h), 0);
	assert_int_equal(memlane_close(a), 0);
	/* Reopened (the files exist now): still theirs alone. */
	a = open_ok(fx->spill, OPTIONS ",persist=1");
	for (size_t i = 0; i < TU_ARRAY_LEN(store_files); i++) {
		path_in(p, sizeof(p), fx->spill, store_files[i]);
		assert_int_equal(mode_of(p), 0600);
	}
	assert_int_equal(memlane_close(a), 0);
}

/* Group- or world-writable, sticky or not: refused, nothing created. */
static void test_writable_dir_refused(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		mode_t mode;
		const char *why;
	} cases[] = {
		{0770, "writable by its group"}, {0720, "writable by its group"}, {0702, "writable by everyone"},
		{0777, "writable by everyone"},  {01777, "writable by everyone"}, {01770, "writable by its group"},
	};
	assert_int_equal(mkdir(fx->spill, 0700), 0);
	for (size_t i = 0; i < TU_ARRAY_LEN(cases); i++) {
		assert_int_equal(chmod(fx->spill, cases[i].mode), 0);
		refused(fx->spill, OPTIONS, MEMLANE_ESTORE, fx->spill, cases[i].why);
		errmsg_says("chmod go-w");
		for (size_t f = 0; f < TU_ARRAY_LEN(store_files); f++)
			if (exists(fx->spill, store_files[f]))
				fail_msg("mode %04o: %s was created in a refused directory", (unsigned)cases[i].mode,
				         store_files[f]);
	}
	/* Group- and world-readable is fine; so is 0700 again. */
	assert_int_equal(chmod(fx->spill, 0755), 0);
	assert_int_equal(memlane_close(open_ok(fx->spill, OPTIONS)), 0);
	assert_int_equal(chmod(fx->spill, 0700), 0);
	assert_int_equal(memlane_close(open_ok(fx->spill, OPTIONS)), 0);
}

/* Owned by another user: refused, whatever its mode. As root the test
 * gives its directory away; otherwise "/" is a directory root owns. */
static void test_foreign_dir_refused(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() == 0) {
		assert_int_equal(mkdir(fx->spill, 0700), 0);
		assert_int_equal(chown(fx->spill, NOBODY, (gid_t)-1), 0);
		refused(fx->spill, OPTIONS, MEMLANE_ESTORE, fx->spill, "is owned by uid 65534");
		assert_false(exists(fx->spill, "memlane.lock"));
		assert_int_equal(chown(fx->spill, 0, (gid_t)-1), 0);
		assert_int_equal(memlane_close(open_ok(fx->spill, OPTIONS)), 0);
	} else {
		refused("/", OPTIONS, MEMLANE_ESTORE, "'/'", "is owned by uid 0");
	}
}

/* A store file that is a symbolic link: refused, its target untouched
 * (dangling: not created). For each of the three files, fresh and in a
 * persistent store that was fine before. */
static void test_symlinked_files_refused(void **state)
{
	struct fixture *fx = *state;
	char victim[PATH_MAX], link[PATH_MAX];
	path_in(victim, sizeof(victim), fx->top, "victim");
	for (size_t i = 0; i < TU_ARRAY_LEN(store_files); i++) {
		const char *name = store_files[i];
		/* A fresh directory holding only the link, to an existing file. */
		assert_int_equal(tu_rm_rf(fx->spill), 0);
		assert_int_equal(mkdir(fx->spill, 0700), 0);
		write_file(victim, "precious\n");
		path_in(link, sizeof(link), fx->spill, name);
		assert_int_equal(symlink(victim, link), 0);
		refused(fx->spill, OPTIONS, MEMLANE_ESTORE, link, "is a symbolic link");
		char *text = read_file(victim);
		assert_string_equal(text, "precious\n");
		free(text);
		assert_int_equal(mode_of(victim), 0666 & ~fx->umask_before);
		/* Dangling: the target must not appear. */
		assert_int_equal(unlink(victim), 0);
		refused(fx->spill, OPTIONS, MEMLANE_ESTORE, link, "is a symbolic link");
		assert_int_equal(access(victim, F_OK), -1);

		/* A persistent store, then the file swapped for a link to a
		 * copy of itself: refused; swapped back, it opens. */
		assert_int_equal(tu_rm_rf(fx->spill), 0);
		memlane_arena *a = open_ok(fx->spill, OPTIONS ",persist=1");
		memlane_handle h;
		assert_int_equal(memlane_alloc(a, 3000, &h), 0);
		tu_fill_seed(a, h, 3000, 77 + i);
		assert_int_equal(memlane_close(a), 0);
		assert_int_equal(rename(link, victim), 0);
		assert_int_equal(symlink(victim, link), 0);
		refused(fx->spill, OPTIONS ",persist=1", MEMLANE_ESTORE, link, "is a symbolic link");
		assert_int_equal(unlink(link), 0);
		assert_int_equal(rename(victim, link), 0);
		a = open_ok(fx->spill, OPTIONS ",persist=1");
		tu_verify_seed(a, h, 3000, 77 + i);
		assert_int_equal(memlane_close(a), 0);
	}
}

/* A store file that is a directory or a FIFO: refused. */
static void test_odd_files_refused(void **state)
{
	struct fixture *fx = *state;
	char p[PATH_MAX];
	for (size_t i = 0; i < TU_ARRAY_LEN(store_files); i++) {
		assert_int_equal(tu_rm_rf(fx->spill), 0);
		assert_int_equal(mkdir(fx->spill, 0700), 0);
		path_in(p, sizeof(p), fx->spill, store_files[i]);
		if (i % 2)
			assert_int_equal(mkfifo(p, 0600), 0);
		else
			assert_int_equal(mkdir(p, 0700), 0);
		refused(fx->spill, OPTIONS, MEMLANE_ESTORE, p, "is not a plain file");
	}
	if (geteuid() != 0)
		return;
	/* A plain file of another user (only root can make one here). */
	assert_int_equal(tu_rm_rf(fx->spill), 0);
	assert_int_equal(mkdir(fx->spill, 0700), 0);
	path_in(p, sizeof(p), fx->spill, "data.mdb");
	write_file(p, "");
	assert_int_equal(chown(p, NOBODY, (gid_t)-1), 0);
	refused(fx->spill, OPTIONS, MEMLANE_ESTORE, p, "is owned by uid 65534");
}

/* A symbolic link naming the directory is followed: the store is made
 * in its target, and the directory's own checks apply to the target. A
 * link another user owns is refused (root only: lchown). */
static void test_symlinked_dir(void **state)
{
	struct fixture *fx = *state;
	char real[PATH_MAX];
	path_in(real, sizeof(real), fx->top, "real");
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, fx->spill), 0);
	memlane_arena *a = open_ok(fx->spill, OPTIONS ",persist=1");
	memlane_handle h;
	assert_int_equal(memlane_alloc(a, 2000, &h), 0);
	tu_fill_seed(a, h, 2000, 5);
	assert_int_equal(memlane_close(a), 0);
	assert_true(exists(real, "data.mdb"));
	assert_true(exists(real, "memlane.lock"));
	a = open_ok(fx->spill, OPTIONS ",persist=1");
	tu_verify_seed(a, h, 2000, 5);
	assert_int_equal(memlane_close(a), 0);

	/* The target's mode counts, not the link's. */
	assert_int_equal(chmod(real, 0777), 0);
	refused(fx->spill, OPTIONS ",persist=1", MEMLANE_ESTORE, fx->spill, "writable by everyone");
	assert_int_equal(chmod(real, 0700), 0);

	if (geteuid() == 0) {
		assert_int_equal(lchown(fx->spill, NOBODY, (gid_t)-1), 0);
		refused(fx->spill, OPTIONS ",persist=1", MEMLANE_ESTORE, fx->spill, "symbolic link owned by uid 65534");
		assert_int_equal(lchown(fx->spill, 0, (gid_t)-1), 0);
		a = open_ok(fx->spill, OPTIONS ",persist=1");
		tu_verify_seed(a, h, 2000, 5);
		assert_int_equal(memlane_close(a), 0);
	}
}

/* A name too long for "<dir>/memlane.lock" in the store's buffers:
 * EINVAL, not a truncated path. */
static void test_long_dir_name(void **state)
{
	(void)state;
	size_t n = 4090;
	char *dir = malloc(n + 1);
	assert_non_null(dir);
	dir[0] = '/';
	for (size_t i = 1; i < n; i++)
		dir[i] = i % 200 == 0 ? '/' : 'x';
	dir[n] = 0;
	memlane_arena *a;
	assert_int_equal(open_in(dir, OPTIONS, &a), MEMLANE_EINVAL);
	errmsg_says("spill directory name is 4090 bytes long");
	free(dir);
}

/* ---- 2. sizes, offsets and alignments that would overflow -------------- */

static void test_alloc_overflow(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTIONS);
	memlane_handle h = 0x1234;
	static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4095, SIZE_MAX - 16, SIZE_MAX / 2 + 1,
	                               ((size_t)1 << 48) + 1, (size_t)1 << 63};
	for (size_t i = 0; i < TU_ARRAY_LEN(sizes); i++) {
		assert_int_equal(memlane_alloc(a, sizes[i], &h), MEMLANE_ETOOBIG);
		errmsg_says("beyond any lane");
		memlane_alloc_opts o = {0, MEMLANE_MAX_ALIGN, 0};
		assert_int_equal(memlane_alloc_ex(a, sizes[i], &o, &h), MEMLANE_ETOOBIG);
		o.flags = MEMLANE_FAST | MEMLANE_ZERO;
		assert_int_equal(memlane_alloc_ex(a, sizes[i], &o, &h), MEMLANE_ETOOBIG);
	}
	assert_int_equal(h, 0x1234); /* never written on failure */
	/* Bigger than the lanes but not absurd: ETOOBIG as well. */
	assert_int_equal(memlane_alloc(a, 4 * TU_MiB, &h), MEMLANE_ETOOBIG);
	errmsg_says("can never fit");

	/* Alignments: huge powers of two, and non-powers, near SIZE_MAX. */
	static const size_t aligns[] = {SIZE_MAX, (size_t)1 << 63, (size_t)1 << 32, 8192, SIZE_MAX - 1, 3, 4097};
	for (size_t i = 0; i < TU_ARRAY_LEN(aligns); i++) {
		memlane_alloc_opts o = {0, aligns[i], 0};
		assert_int_equal(memlane_alloc_ex(a, 64, &o, &h), MEMLANE_EINVAL);
		errmsg_says("not a power of two up to 4096");
		assert_int_equal(memlane_alloc_ex(a, SIZE_MAX, &o, &h), MEMLANE_EINVAL);
	}
	assert_int_equal(h, 0x1234);

	/* Nothing was left behind. */
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.objects, 0);
	tu_close(a);
}

static void test_array_overflow(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTIONS);
	memlane_handle h = 0x1234;
	static const size_t pairs[][2] = {
		{SIZE_MAX, 2},          {2, SIZE_MAX},
		{SIZE_MAX / 2 + 1, 2},  {(size_t)1 << 32, (size_t)1 << 32},
		{SIZE_MAX / 3 + 1, 3},  {SIZE_MAX, SIZE_MAX},
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(pairs); i++) {
		assert_int_equal(memlane_alloc_array(a, pairs[i][0], pairs[i][1], 0, &h), MEMLANE_ETOOBIG);
		errmsg_says("overflow size_t");
	}
	/* A product that fits size_t but no lane. */
	assert_int_equal(memlane_alloc_array(a, SIZE_MAX / 8, 8, 0, &h), MEMLANE_ETOOBIG);
	struct big {
		uint64_t v[4];
	};
	assert_int_equal(MEMLANE_NEW_ARRAY(a, struct big, SIZE_MAX / 16, &h), MEMLANE_ETOOBIG);
	errmsg_says("overflow size_t");
	assert_int_equal(MEMLANE_NEW_ARRAY(a, uint64_t, (SIZE_MAX / 8) + 1, &h), MEMLANE_ETOOBIG);
	assert_int_equal(h, 0x1234);
	/* Zero elements of any size: a zero-byte object. */
	assert_int_equal(memlane_alloc_array(a, 0, SIZE_MAX, 0, &h), 0);
	assert_int_equal(memlane_size(a, h), 0);
	assert_int_equal(memlane_free(a, h), 0);
	/* A fitting array is zeroed and sized n * elem. */
	assert_int_equal(MEMLANE_NEW_ARRAY(a, uint64_t, 100, &h), 0);
	assert_int_equal(memlane_size(a, h), 800);
	const uint64_t *p = memlane_get_ro(a, h);
	assert_non_null(p);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(memlane_free(a, h), 0);
	tu_close(a);
}

static void test_realloc_overflow(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTIONS);
	tu_obj o;
	tu_must_alloc(a, &o, 700, MEMLANE_ZERO, 64, 9, 1);
	static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2 + 1, ((size_t)1 << 48) + 1};
	for (size_t i = 0; i < TU_ARRAY_LEN(sizes); i++) {
		assert_int_equal(memlane_realloc(a, o.h, sizes[i]), MEMLANE_ETOOBIG);
		tu_verify(a, &o);
	}
	assert_int_equal(memlane_realloc(a, o.h, 4 * TU_MiB), MEMLANE_ETOOBIG);
	tu_verify(a, &o);
	assert_int_equal(memlane_size(a, o.h), 700);
	tu_free_obj(a, &o);
	tu_close(a);
}

static void test_copy_overflow(void **state)
{
	(void)state;
	memlane_arena *a = tu_open(OPTIONS);
	tu_obj o;
	tu_must_alloc(a, &o, 1000, 0, 0, 0, 2);
	uint8_t buf[64];
	static const size_t ranges[][2] = {
		{SIZE_MAX, 1}, {1, SIZE_MAX},           {8, SIZE_MAX - 7}, {SIZE_MAX - 7, 8},
		{1001, 0},     {SIZE_MAX, 0},           {1000, 1},         {999, 2},
		{0, 1001},     {SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 1},
	};
	for (size_t i = 0; i < TU_ARRAY_LEN(ranges); i++) {
		size_t off = ranges[i][0], len = ranges[i][1];
		assert_int_equal(memlane_read(a, o.h, off, buf, len), MEMLANE_ERANGE);
		errmsg_says("are outside handle");
		assert_int_equal(memlane_write(a, o.h, off, buf, len), MEMLANE_ERANGE);
	}
	tu_verify(a, &o);
	/* The edges are fine: off == size with 0 bytes, the last byte. */
	assert_int_equal(memlane_read(a, o.h, 1000, buf, 0), 0);
	assert_int_equal(memlane_read(a, o.h, 999, buf, 1), 0);
	uint8_t want;
	tu_pattern(o.seed, 999, &want, 1);
	assert_int_equal(buf[0], want);
	tu_free_obj(a, &o);
	tu_close(a);
}

static void test_option_overflow(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value;
	} bad[] = {
		{"fast_lane_size", "18446744073709551615"},
		{"fast_lane_size", "18446744073709551616"},
		{"fast_lane_size", "99999999999999999999999"},
		{"slow_lane_size", "16777216T"},
		{"slow_lane_size", "17179869184G"},
		{"store_max_size", "18446744073709551615"},
		{"store_max_size", "257T"},
		{"slow_lane_safety_margin", "18446744073709551614"},
		{"threshold", "4294967296K"},
		{"policy_check_interval", "1e30s"},
		{"policy_check_interval", "184467440737095516m"},
		{"promotion_age", "18446744073709551616"},
		{"promotion_age", "4294967297"},
		{"compression_level", "2147483648"},
		{"compression_level", "-9223372036854775809"},
	};
	memlane_config cfg, before;
	memlane_config_init(&cfg);
	before = cfg;
	for (size_t i = 0; i < TU_ARRAY_LEN(bad); i++) {
		if (memlane_config_set(&cfg, bad[i].key, bad[i].value) != MEMLANE_EINVAL)
			fail_msg("%s=%s was accepted", bad[i].key, bad[i].value);
		errmsg_says(bad[i].key);
		errmsg_says(bad[i].value);
		assert_memory_equal(&cfg, &before, sizeof(cfg));
	}
	/* Fields set directly, past every limit: validate and open refuse. */
	static const size_t offsets[] = {offsetof(memlane_config, fast_lane_size),
	                                 offsetof(memlane_config, slow_lane_size),
	                                 offsetof(memlane_config, threshold),
	                                 offsetof(memlane_config, store_max_size),
	                                 offsetof(memlane_config, slow_lane_safety_margin)};
	static const char *const names[] = {"fast_lane_size", "slow_lane_size", "threshold", "store_max_size",
	                                    "slow_lane_safety_margin"};
	for (size_t i = 0; i < TU_ARRAY_LEN(offsets); i++) {
		memlane_config c = before;
		size_t huge = SIZE_MAX - 1; /* SIZE_MAX is the margin's "auto" */
		memcpy((char *)&c + offsets[i], &huge, sizeof(huge));
		assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
		errmsg_says(names[i]);
		memlane_arena *a = (memlane_arena *)&c;
		assert_int_equal(memlane_open(&a, NULL, &c), MEMLANE_EINVAL);
		assert_ptr_equal(a, (memlane_arena *)&c);
	}
	memlane_config c = before;
	c.policy_check_interval_ms = UINT64_MAX;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	errmsg_says("policy_check_interval");
	c = before;
	c.promotion_age = UINT64_MAX;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	errmsg_says("promotion_age");
	c = before;
	c.compression_level = INT32_MAX;
	assert_int_equal(memlane_config_validate(&c), MEMLANE_EINVAL);
	errmsg_says("compression_level");
	/* Through MEMLANE_OPTIONS as well. */
	setenv("MEMLANE_OPTIONS", "slow_lane_size=18446744073709551615", 1);
	memlane_arena *a;
	assert_int_equal(memlane_open(&a, NULL, NULL), MEMLANE_EINVAL);
	errmsg_says("MEMLANE_OPTIONS");
	unsetenv("MEMLANE_OPTIONS");
}

/* ---- 3. an impossible handle table in a persistent store --------------- */

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* In the closed store @dir, put @len bytes at @val under @key (of @klen
 * bytes) in database @db; the old value goes to @old (of @cap bytes).
 * Returns the old value's size. */
static size_t put_value(const char *dir, const char *db, const void *key, size_t klen, const void *val, size_t len,
                        uint8_t *old, size_t cap)
{
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	assert_int_equal(mdb_dbi_open(t, db, 0, &dbi), 0);
	MDB_val k = {klen, (void *)(uintptr_t)key}, v;
	assert_int_equal(mdb_get(t, dbi, &k, &v), 0);
	size_t oldlen = v.mv_size;
	assert_true(oldlen <= cap);
	memcpy(old, v.mv_data, oldlen);
	v = (MDB_val){len, (void *)(uintptr_t)val};
	assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
	return oldlen;
}

/* As put_value(), the new value being the old one's first @len bytes
 * with the @n bytes at @at changed to @bytes. */
static size_t edit_value(const char *dir, const char *db, const void *key, size_t klen, size_t at,
                         const uint8_t *bytes, size_t n, size_t len, uint8_t *old, size_t cap)
{
	uint8_t cur[4096], scratch[4096];
	size_t curlen = put_value(dir, db, key, klen, "", 0, cur, sizeof(cur)); /* read it */
	put_value(dir, db, key, klen, cur, curlen, scratch, sizeof(scratch));
	assert_true(curlen <= cap && at + n <= curlen && len <= curlen);
	memcpy(old, cur, curlen);
	memcpy(cur + at, bytes, n);
	put_value(dir, db, key, klen, cur, len, scratch, sizeof(scratch));
	return curlen;
}

/* Put value @val (@len bytes) back under @key. */
static void restore_value(const char *dir, const char *db, const void *key, size_t klen, const uint8_t *val,
                          size_t len)
{
	uint8_t scratch[4096];
	put_value(dir, db, key, klen, val, len, scratch, sizeof(scratch));
}

static void test_restore_impossible(void **state)
{
	struct fixture *fx = *state;
	const char *opts = OPTIONS ",persist=1";
	memlane_arena *a = open_ok(fx->spill, opts);
	tu_obj o[3];
	for (int i = 0; i < 3; i++)
		tu_must_alloc(a, &o[i], 1500 + 100 * (size_t)i, 0, 0, 7, 30 + (uint64_t)i);
	assert_int_equal(memlane_free(a, o[1].h), 0); /* slot 1: generation 2 */
	assert_int_equal(memlane_close(a), 0);

	uint8_t hk[8];
	for (int i = 0; i < 8; i++)
		hk[i] = (uint8_t)(o[2].h >> (56 - 8 * i));
	uint8_t old[4096], b8[8];
	/* Sizes past ML's limit and past SIZE_MAX-ish, alignment log2 past 12
	 * (1 << 63 would overflow every alignment computation) and below 4. */
	static const uint64_t sizes[] = {UINT64_MAX, UINT64_MAX - 15, ((uint64_t)1 << 48) + 1, (uint64_t)1 << 63};
	for (size_t i = 0; i < TU_ARRAY_LEN(sizes); i++) {
		put_le64(b8, sizes[i]);
		size_t n = edit_value(fx->spill, "handles", hk, 8, 8, b8, 8, 32, old, sizeof(old));
		assert_int_equal(open_in(fx->spill, opts, &a), MEMLANE_ECORRUPT);
		errmsg_says(fx->spill);
		errmsg_says("damaged");
		restore_value(fx->spill, "handles", hk, 8, old, n);
	}
	static const uint8_t aligns[] = {63, 255, 13, 3, 0};
	for (size_t i = 0; i < TU_ARRAY_LEN(aligns); i++) {
		size_t n = edit_value(fx->spill, "handles", hk, 8, 21, &aligns[i], 1, 32, old, sizeof(old));
		assert_int_equal(open_in(fx->spill, opts, &a), MEMLANE_ECORRUPT);
		errmsg_says(fx->spill);
		restore_value(fx->spill, "handles", hk, 8, old, n);
	}
	/* The slot list: generations 0 and past 20 bits, a cut-short list. */
	static const uint32_t gens[] = {0, 1u << 20, UINT32_MAX};
	for (size_t i = 0; i < TU_ARRAY_LEN(gens); i++) {
		uint8_t g[4];
		memcpy(g, &gens[i], 4);
		size_t n = edit_value(fx->spill, "meta", "slots", 5, 4, g, 4, 12, old, sizeof(old));
		assert_int_equal(n, 12);
		assert_int_equal(open_in(fx->spill, opts, &a), MEMLANE_ECORRUPT);
		errmsg_says(fx->spill);
		restore_value(fx->spill, "meta", "slots", 5, old, n);
	}
	size_t n = edit_value(fx->spill, "meta", "slots", 5, 0, old, 0, 11, old, sizeof(old));
	assert_int_equal(open_in(fx->spill, opts, &a), MEMLANE_ECORRUPT);
	restore_value(fx->spill, "meta", "slots", 5, old, n);

	/* Repaired: everything as it was. */
	a = open_ok(fx->spill, opts);
	tu_verify(a, &o[0]);
	tu_verify(a, &o[2]);
	assert_int_equal(memlane_valid(a, o[1].h), 0);
	assert_int_equal(memlane_close(a), 0);
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_files_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_files_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_dir, setup, teardown),
		cmocka_unit_test(test_long_dir_name),
		cmocka_unit_test(test_alloc_overflow),
		cmocka_unit_test(test_array_overflow),
		cmocka_unit_test(test_realloc_overflow),
		cmocka_unit_test(test_copy_overflow),
		cmocka_unit_test(test_option_overflow),
		cmocka_unit_test_setup_teardown(test_restore_impossible, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
