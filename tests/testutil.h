/* testutil.h - helpers shared by the cmocka test programs.
 *
 * Every object a test allocates is filled with pseudo-random bytes
 * derived from a seed (usually the handle mixed with a test constant),
 * and verified byte for byte against the same generator after every
 * move (compaction, promotion, realloc, fallback). A checksum of the
 * bytes as written is kept too, so a mismatch reports both the first
 * differing offset and whether the whole object changed.
 *
 * Everything here is static inline so that a program using only part
 * of it builds cleanly with -Wall -Wextra -Werror. */
#ifndef MEMLANE_TESTUTIL_H
#define MEMLANE_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <memlane.h>

#define TU_ARRAY_LEN(x) (sizeof(x) / sizeof((x)[0]))
#define TU_KiB ((size_t)1024)
#define TU_MiB ((size_t)1024 * 1024)

/* The number in environment variable @name (decimal, 0x hex or 0
 * octal), or @def when it is unset, empty or not a number. */
static inline uint64_t tu_env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	return *end == '\0' ? (uint64_t)v : def;
}

/* ---- pseudo-random numbers -------------------------------------------- */

static inline uint64_t tu_mix64(uint64_t x)
{
	/* splitmix64 finaliser */
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

typedef struct tu_rng {
	uint64_t s;
} tu_rng;

static inline uint64_t tu_next(tu_rng *r)
{
	r->s += 0x9E3779B97F4A7C15ull;
	uint64_t x = r->s;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Uniform in [lo, hi]. */
static inline size_t tu_range(tu_rng *r, size_t lo, size_t hi)
{
	return lo + (size_t)(tu_next(r) % (uint64_t)(hi - lo + 1));
}

/* ---- byte patterns ---------------------------------------------------- */

/* Bytes [off, off+len) of the pattern of @seed. Byte i of the pattern is
 * byte (i % 8) of tu_mix64(seed ^ (i / 8) * K). */
static inline void tu_pattern(uint64_t seed, size_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i = off, end = off + len;
	while (i < end) {
		uint64_t w = tu_mix64(seed ^ ((uint64_t)(i / 8) * 0xD6E8FEB86659FD93ull));
		unsigned b = (unsigned)(i % 8);
		for (; b < 8 && i < end; b++, i++)
			*p++ = (uint8_t)(w >> (8 * b));
	}
}

/* FNV-1a over @len bytes. */
static inline uint64_t tu_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static inline uint64_t tu_pattern_checksum(uint64_t seed, size_t len)
{
	uint8_t chunk[4096];
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t off = 0; off < len; off += sizeof(chunk)) {
		size_t n = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
		tu_pattern(seed, off, chunk, n);
		for (size_t i = 0; i < n; i++) {
			h ^= chunk[i];
			h *= 0x100000001b3ull;
		}
	}
	return h;
}

/* Offset of the first byte of @buf (holding bytes [off, off+len) of an
 * object) that differs from the pattern of @seed, or SIZE_MAX. */
static inline size_t tu_pattern_mismatch(uint64_t seed, size_t off, const void *buf, size_t len)
{
	uint8_t chunk[4096];
	const uint8_t *p = buf;
	for (size_t done = 0; done < len; done += sizeof(chunk)) {
		size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		tu_pattern(seed, off + done, chunk, n);
		if (memcmp(chunk, p + done, n) != 0) {
			for (size_t i = 0; i < n; i++)
				if (chunk[i] != p[done + i])
					return off + done + i;
		}
	}
	return SIZE_MAX;
}

/* ---- tracked objects -------------------------------------------------- */

typedef struct tu_obj {
	memlane_handle h;
	size_t size;
	uint64_t seed;
	uint64_t sum;  /* checksum of the bytes as written */
	size_t align;  /* alignment asked for (0: default) */
	uint32_t tag;
	void *pinned;  /* pointer from memlane_pin, while pinned */
} tu_obj;

static inline uint64_t tu_seed_for(memlane_handle h, uint64_t salt)
{
	return tu_mix64(h ^ tu_mix64(salt));
}

/* Write the whole pattern of @seed into the object with memlane_write. */
static inline void tu_fill_seed(memlane_arena *a, memlane_handle h, size_t size, uint64_t seed)
{
	uint8_t *buf = malloc(size ? size : 1);
	assert_non_null(buf);
	tu_pattern(seed, 0, buf, size);
	assert_int_equal(memlane_write(a, h, 0, buf, size), 0);
	free(buf);
}

/* Fill a tracked object with the pattern of a seed derived from its
 * handle and @salt, and record the checksum. */
static inline void tu_fill(memlane_arena *a, tu_obj *o, uint64_t salt)
{
	o->seed = tu_seed_for(o->h, salt);
	tu_fill_seed(a, o->h, o->size, o->seed);
	o->sum = tu_pattern_checksum(o->seed, o->size);
}

/* Verify the object's bytes (read with memlane_read) byte for byte. */
static inline void tu_verify_seed_at(memlane_arena *a, memlane_handle h, size_t size, uint64_t seed,
                                     const char *file, int line)
{
	if (memlane_size(a, h) != size)
		fail_msg("%s:%d: handle 0x%016llx: size %zu, expected %zu (%s)", file, line, (unsigned long long)h,
		         memlane_size(a, h), size, memlane_errmsg());
	uint8_t *buf = malloc(size ? size : 1);
	assert_non_null(buf);
	int rc = memlane_read(a, h, 0, buf, size);
	if (rc != 0) {
		free(buf);
		fail_msg("%s:%d: memlane_read(0x%016llx, %zu bytes) = %d (%s)", file, line, (unsigned long long)h, size,
		         rc, memlane_errmsg());
	}
	size_t bad = tu_pattern_mismatch(seed, 0, buf, size);
	free(buf);
	if (bad != SIZE_MAX)
		fail_msg("%s:%d: handle 0x%016llx (%zu bytes): byte %zu differs from what was written", file, line,
		         (unsigned long long)h, size, bad);
}
#define tu_verify_seed(a, h, size, seed) tu_verify_seed_at((a), (h), (size), (seed), __FILE__, __LINE__)

static inline void tu_verify_at(memlane_arena *a, const tu_obj *o, const char *file, int line)
{
	tu_verify_seed_at(a, o->h, o->size, o->seed, file, line);
	/* Also through the pointer: same bytes, and the checksum kept. */
	const void *p = memlane_get_ro(a, o->h);
	if (p == NULL)
		fail_msg("%s:%d: memlane_get_ro(0x%016llx) = NULL (%s)", file, line, (unsigned long long)o->h,
		         memlane_errmsg());
	if (tu_checksum(p, o->size) != o->sum)
		fail_msg("%s:%d: handle 0x%016llx: checksum through the pointer differs", file, line,
		         (unsigned long long)o->h);
	if (o->align > 1 && ((uintptr_t)p % o->align) != 0)
		fail_msg("%s:%d: handle 0x%016llx: pointer %p not aligned to %zu", file, line, (unsigned long long)o->h, p,
		         o->align);
}
#define tu_verify(a, o) tu_verify_at((a), (o), __FILE__, __LINE__)

static inline void tu_verify_all_at(memlane_arena *a, const tu_obj *objs, size_t n, const char *file, int line)
{
	for (size_t i = 0; i < n; i++)
		if (objs[i].h != MEMLANE_NULL)
			tu_verify_at(a, &objs[i], file, line);
}
#define tu_verify_all(a, objs, n) tu_verify_all_at((a), (objs), (n), __FILE__, __LINE__)

/* Allocate a tracked object, fill it, and check the basics. */
static inline int tu_alloc_obj_at(memlane_arena *a, tu_obj *o, size_t size, unsigned flags, size_t align,
                                  uint32_t tag, uint64_t salt, const char *file, int line)
{
	memlane_alloc_opts opts;
	memset(&opts, 0, sizeof(opts));
	opts.flags = flags;
	opts.align = align;
	opts.tag = tag;
	memset(o, 0, sizeof(*o));
	int rc = memlane_alloc_ex(a, size, &opts, &o->h);
	if (rc != 0)
		return rc;
	if (o->h == MEMLANE_NULL)
		fail_msg("%s:%d: memlane_alloc_ex returned the null handle", file, line);
	o->size = size;
	o->align = align;
	o->tag = tag;
	tu_fill(a, o, salt);
	return 0;
}
#define tu_alloc_obj(a, o, size, flags, align, tag, salt)                                                            \
	tu_alloc_obj_at((a), (o), (size), (flags), (align), (tag), (salt), __FILE__, __LINE__)

/* As tu_alloc_obj, failing the test on error. */
#define tu_must_alloc(a, o, size, flags, align, tag, salt)                                                           \
	do {                                                                                                       \
		int tu_rc_ = tu_alloc_obj((a), (o), (size), (flags), (align), (tag), (salt));                          \
		if (tu_rc_ != 0)                                                                                       \
			fail_msg("alloc of %zu bytes: %d (%s)", (size_t)(size), tu_rc_, memlane_errmsg());             \
	} while (0)

static inline void tu_free_obj(memlane_arena *a, tu_obj *o)
{
	int rc = memlane_free(a, o->h);
	if (rc != 0)
		fail_msg("memlane_free(0x%016llx) = %d (%s)", (unsigned long long)o->h, rc, memlane_errmsg());
	o->h = MEMLANE_NULL;
}

/* ---- arenas and stats ------------------------------------------------- */

/* Call first in every main(): the tests choose their own options. */
static inline void tu_init(void)
{
	unsetenv("MEMLANE_OPTIONS");
}

static inline memlane_arena *tu_open_at(const char *options, const char *file, int line)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	if (options) {
		int rc = memlane_config_parse(&cfg, options);
		if (rc != 0)
			fail_msg("%s:%d: memlane_config_parse(\"%s\") = %d (%s)", file, line, options, rc, memlane_errmsg());
	}
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, NULL, &cfg);
	if (rc != 0 || a == NULL)
		fail_msg("%s:%d: memlane_open(%s) = %d (%s)", file, line, options ? options : "defaults", rc,
		         memlane_errmsg());
	return a;
}
#define tu_open(options) tu_open_at((options), __FILE__, __LINE__)

static inline void tu_close(memlane_arena *a)
{
	assert_int_equal(memlane_close(a), 0);
}

static inline memlane_stats tu_stats(memlane_arena *a)
{
	memlane_stats st;
	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(memlane_stats_get(a, &st), 0);
	return st;
}

/* Resident set size in bytes, from /proc/self/statm. */
static inline size_t tu_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	unsigned long size = 0, resident = 0;
	int n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	assert_int_equal(n, 2);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* The size classes of the brief: 16-byte steps to 256, then four classes
 * per doubling up to 64 KiB. Computed independently of the library. */
static inline size_t tu_class_size(size_t size)
{
	if (size <= 16)
		return 16;
	if (size <= 256)
		return (size + 15) & ~(size_t)15;
	size_t pow = 256;
	while (pow * 2 < size)
		pow *= 2;
	/* size in (pow, 2*pow]: classes pow*5/4, pow*6/4, pow*7/4, pow*2 */
	for (size_t k = 5; k <= 8; k++)
		if (size <= pow * k / 4)
			return pow * k / 4;
	return pow * 2;
}

/* Whether @s contains @needle, for messages. */
static inline int tu_contains(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

/* Read a whole FILE * (opened with tmpfile or open_memstream) into a
 * NUL-terminated malloc'd string. */
static inline char *tu_slurp(FILE *f)
{
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	size_t got = fread(s, 1, (size_t)n, f);
	assert_int_equal(got, (size_t)n);
	s[n] = '\0';
	return s;
}

/* ---- temporary directories ---------------------------------------------- */

/* Make $TMPDIR/memlane-@name-XXXXXX (or under /tmp) into @out.
 * 0, or -1 with a message on stderr. */
static inline int tu_mkdtemp(char *out, size_t n, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int len = snprintf(out, n, "%s/memlane-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (len < 0 || (size_t)len >= n || !mkdtemp(out)) {
		fprintf(stderr, "mkdtemp(%s): %s\n", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* Remove @path and everything below it; symlinks are removed, never
 * followed. 0, or -1 when something stayed. */
static inline int tu_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char child[4096];
		int n = snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(child) || tu_rm_rf(child) != 0)
			rc = -1;
	}
	closedir(d);
	if (rmdir(path) != 0)
		rc = -1;
	return rc;
}

#endif /* MEMLANE_TESTUTIL_H */
