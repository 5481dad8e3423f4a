/* test_pager.c - the pager: eviction of objects to the LMDB spill store
 * and their return, as the user sees it.
 *
 *   1. more data than the lanes hold (tens of MB through lanes of a few
 *      MB), read back in random order, twice;
 *   2. every call that faults an object in, and the ones that must not
 *      (try_get); evict, prefetch and promote are idempotent;
 *   3. clean and dirty evictions: what makes an object dirty;
 *   4. pinned and MEMLANE_NOSPILL objects never leave RAM; MEMLANE_COLD
 *      objects go first; the policy (maintain, background thread) evicts
 *      past slow_lane_usage_threshold;
 *   5. the directory lock (EBUSY, same process and another one) and a
 *      persistent store refused to persist=0 (EEXIST) without a byte of
 *      it changing;
 *   6. persist=1: reopen gives the same handles, sizes, tags, bytes and
 *      roots as of the last checkpoint (also after a crash); persist=0
 *      starts empty;
 *   7. damaged records: MEMLANE_ECORRUPT naming the handle, the rest of
 *      the store fine;
 *   8. a full store (store_max_size): MEMLANE_ENOSPC, no object lost,
 *      usable again once objects are freed;
 *   9. compression=none and zstd round-trip; zstd shrinks what it can.
 *
 * Every test runs in its own directory made with mkdtemp under $TMPDIR
 * (or /tmp), removed by the teardown even when the test fails. Objects
 * hold seeded bytes (testutil.h's pattern, or a seeded compressible
 * text, or zeros) and are checked byte for byte against the generator
 * whenever they come back, through memlane_read and through pointers.
 *
 * Tests 7 and 9 open the closed store's LMDB environment themselves, to
 * damage or inspect records, using the layout of memlane-store(5):
 * objects key = handle BE64 + seq BE64, value = 40-byte little-endian
 * header (magic "MLR1", codec, align_log2, flags, 0, tag, 0, raw size,
 * hash, epoch) + payload; handles key = handle BE64, value = 32 bytes
 * starting with the record's seq (LE). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <lmdb.h>

#include "testutil.h"

#define SALT 0x50414745ull /* "PAGE" */

/* Lanes of a few MB: every test here pushes more than that through. */
#define LANES "fast_lane_size=1M,slow_lane_size=8M"

#define REC_HEADER 40
#define REC_MAGIC 0x31524c4du
#define CODEC_RAW 0
#define CODEC_ZSTD 1

/* ---- the test's directory -------------------------------------------- */

struct fixture {
	char root[2048];  /* made by mkdtemp, removed by the teardown */
	char spill[2100]; /* root/spill: memlane_open creates it */
};

static int fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	if (tu_mkdtemp(fx->root, sizeof(fx->root), "pager") != 0) {
		free(fx);
		return -1;
	}
	snprintf(fx->spill, sizeof(fx->spill), "%s/spill", fx->root);
	*state = fx;
	return 0;
}

static void subdir(const struct fixture *fx, const char *name, char *out, size_t n);

static int fixture_teardown(void **state)
{
	struct fixture *fx = *state;
	char mnt[2200];
	subdir(fx, "tmpfs", mnt, sizeof(mnt));
	umount2(mnt, MNT_DETACH); /* test_full_disk's, if it failed half-way */
	int rc = tu_rm_rf(fx->root);
	if (rc != 0)
		fprintf(stderr, "cannot remove %s\n", fx->root);
	free(fx);
	return rc;
}

/* A second spill directory inside the test's directory. */
static void subdir(const struct fixture *fx, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", fx->root, name);
}

/* ---- arenas -------------------------------------------------------------- */

static int open_rc(const char *dir, const char *options, memlane_arena **a)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	if (options && memlane_config_parse(&cfg, options) != 0)
		return MEMLANE_EINVAL;
	return memlane_open(a, dir, &cfg);
}

static memlane_arena *open_at(const char *dir, const char *options, const char *file, int line)
{
	memlane_arena *a = NULL;
	int rc = open_rc(dir, options, &a);
	if (rc != 0 || !a)
		fail_msg("%s:%d: memlane_open(%s, \"%s\") = %d (%s)", file, line, dir, options, rc, memlane_errmsg());
	return a;
}
#define open_ok(dir, options) open_at((dir), (options), __FILE__, __LINE__)

static void close_at(memlane_arena *a, const char *file, int line)
{
	int rc = memlane_close(a);
	if (rc != 0)
		fail_msg("%s:%d: memlane_close = %d (%s)", file, line, rc, memlane_errmsg());
}
#define close_ok(a) close_at((a), __FILE__, __LINE__)

/* memlane_errmsg() names @h the way the library prints handles. */
static void errmsg_names_at(memlane_handle h, const char *file, int line)
{
	char hex[32];
	snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)h);
	if (!tu_contains(memlane_errmsg(), hex))
		fail_msg("%s:%d: memlane_errmsg() \"%s\" does not name handle %s", file, line, memlane_errmsg(), hex);
}
#define errmsg_names(h) errmsg_names_at((h), __FILE__, __LINE__)

static void errmsg_says_at(const char *what, const char *file, int line)
{
	if (!tu_contains(memlane_errmsg(), what))
		fail_msg("%s:%d: memlane_errmsg() \"%s\" does not say \"%s\"", file, line, memlane_errmsg(), what);
}
#define errmsg_says(what) errmsg_says_at((what), __FILE__, __LINE__)

/* ---- objects and their bytes --------------------------------------------- */

enum content { RANDOM, TEXT, ZEROS };

/* An object the test tracks: what its bytes must be. */
typedef struct pobj {
	memlane_handle h;
	size_t size;
	uint64_t seed;
	enum content content;
	uint32_t tag;
	size_t align;
	unsigned flags;
} pobj;

static const char phrase[] = "Objects that outlive the lanes go to the spill store, and come back intact. ";

/* Bytes [off, off+len) of @o's content. TEXT is a phrase repeated from a
 * seeded starting point: zstd shrinks it to almost nothing. */
static void content_at(const pobj *o, size_t off, uint8_t *buf, size_t len)
{
	switch (o->content) {
	case RANDOM:
		tu_pattern(o->seed, off, buf, len);
		break;
	case TEXT:
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)phrase[(off + i + o->seed) % (sizeof(phrase) - 1)];
		break;
	case ZEROS:
		memset(buf, 0, len);
		break;
	}
}

/* Offset of the first byte of @p (bytes [0, len) of @o) that differs
 * from @o's content, or SIZE_MAX. */
static size_t content_mismatch(const pobj *o, const uint8_t *p, size_t len)
{
	uint8_t chunk[4096];
	for (size_t done = 0; done < len; done += sizeof(chunk)) {
		size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		content_at(o, done, chunk, n);
		if (memcmp(chunk, p + done, n) != 0)
			for (size_t i = 0; i < n; i++)
				if (chunk[i] != p[done + i])
					return done + i;
	}
	return SIZE_MAX;
}

/* Checksum of @o's content, to compare with tu_checksum of its bytes. */
static uint64_t content_sum(const pobj *o)
{
	uint8_t *buf = malloc(o->size ? o->size : 1);
	assert_non_null(buf);
	content_at(o, 0, buf, o->size);
	uint64_t sum = tu_checksum(buf, o->size);
	free(buf);
	return sum;
}

static void fill(memlane_arena *a, const pobj *o)
{
	uint8_t *buf = malloc(o->size ? o->size : 1);
	assert_non_null(buf);
	content_at(o, 0, buf, o->size);
	int rc = memlane_write(a, o->h, 0, buf, o->size);
	free(buf);
	if (rc != 0)
		fail_msg("memlane_write(0x%016llx, %zu bytes) = %d (%s)", (unsigned long long)o->h, o->size, rc,
		         memlane_errmsg());
}

/* Allocate and fill a tracked object; 0 or the allocation's error. */
static int try_alloc(memlane_arena *a, pobj *o, size_t size, unsigned flags, size_t align, uint32_t tag,
                     enum content c, uint64_t seed)
{
	memlane_alloc_opts opts = {flags, align, tag};
	memset(o, 0, sizeof(*o));
	int rc = memlane_alloc_ex(a, size, &opts, &o->h);
	if (rc != 0)
		return rc;
	o->size = size;
	o->seed = tu_mix64(seed ^ SALT);
	o->content = c;
	o->tag = tag;
	o->align = align;
	o->flags = flags;
	fill(a, o);
	return 0;
}

#define must_alloc(a, o, size, flags, align, tag, c, seed)                                                         \
	do {                                                                                                       \
		int rc_ = try_alloc((a), (o), (size), (flags), (align), (tag), (c), (seed));                            \
		if (rc_ != 0)                                                                                      \
			fail_msg("%s:%d: alloc of %zu bytes = %d (%s)", __FILE__, __LINE__, (size_t)(size), rc_,            \
			         memlane_errmsg());                                                                \
	} while (0)

/* Read the whole object with memlane_read (which faults it in) and
 * compare byte for byte; then size and tag. */
static void check_at(memlane_arena *a, const pobj *o, const char *file, int line)
{
	if (memlane_size(a, o->h) != o->size)
		fail_msg("%s:%d: handle 0x%016llx: size %zu, expected %zu", file, line, (unsigned long long)o->h,
		         memlane_size(a, o->h), o->size);
	if (memlane_tag(a, o->h) != o->tag)
		fail_msg("%s:%d: handle 0x%016llx: tag %u, expected %u", file, line, (unsigned long long)o->h,
		         memlane_tag(a, o->h), o->tag);
	uint8_t *buf = malloc(o->size ? o->size : 1);
	assert_non_null(buf);
	int rc = memlane_read(a, o->h, 0, buf, o->size);
	if (rc != 0) {
		free(buf);
		fail_msg("%s:%d: memlane_read(0x%016llx, %zu bytes) = %d (%s)", file, line, (unsigned long long)o->h,
		         o->size, rc, memlane_errmsg());
	}
	size_t bad = content_mismatch(o, buf, o->size);
	free(buf);
	if (bad != SIZE_MAX)
		fail_msg("%s:%d: handle 0x%016llx (%zu bytes): byte %zu differs from what was written", file, line,
		         (unsigned long long)o->h, o->size, bad);
}
#define check(a, o) check_at((a), (o), __FILE__, __LINE__)

/* The bytes behind a pointer the library gave out for @o: content,
 * checksum and alignment. */
static void check_ptr_at(const pobj *o, const void *p, const char *file, int line)
{
	if (!p)
		fail_msg("%s:%d: handle 0x%016llx: NULL pointer (%s)", file, line, (unsigned long long)o->h,
		         memlane_errmsg());
	size_t bad = content_mismatch(o, p, o->size);
	if (bad != SIZE_MAX)
		fail_msg("%s:%d: handle 0x%016llx (%zu bytes): byte %zu behind the pointer differs", file, line,
		         (unsigned long long)o->h, o->size, bad);
	if (tu_checksum(p, o->size) != content_sum(o))
		fail_msg("%s:%d: handle 0x%016llx: checksum behind the pointer differs", file, line,
		         (unsigned long long)o->h);
	if (o->align > 1 && (uintptr_t)p % o->align != 0)
		fail_msg("%s:%d: handle 0x%016llx: pointer %p not aligned to %zu", file, line, (unsigned long long)o->h, p,
		         o->align);
}
#define check_ptr(o, p) check_ptr_at((o), (p), __FILE__, __LINE__)

/* A resident object's bytes, without touching the store. */
static void check_resident_at(memlane_arena *a, const pobj *o, const char *file, int line)
{
	void *p = NULL;
	int rc = memlane_try_get(a, o->h, &p);
	if (rc != 0)
		fail_msg("%s:%d: memlane_try_get(0x%016llx) = %d (%s)", file, line, (unsigned long long)o->h, rc,
		         memlane_errmsg());
	check_ptr_at(o, p, file, line);
}
#define check_resident(a, o) check_resident_at((a), (o), __FILE__, __LINE__)

static void spill_at(memlane_arena *a, const pobj *o, const char *file, int line)
{
	int rc = memlane_evict(a, o->h);
	if (rc != 0)
		fail_msg("%s:%d: memlane_evict(0x%016llx) = %d (%s)", file, line, (unsigned long long)o->h, rc,
		         memlane_errmsg());
	if (memlane_handle_state(a, o->h) != MEMLANE_STATE_SPILLED)
		fail_msg("%s:%d: handle 0x%016llx: state %d after memlane_evict", file, line, (unsigned long long)o->h,
		         (int)memlane_handle_state(a, o->h));
}
#define spill(a, o) spill_at((a), (o), __FILE__, __LINE__)

static void free_obj(memlane_arena *a, pobj *o)
{
	int rc = memlane_free(a, o->h);
	if (rc != 0)
		fail_msg("memlane_free(0x%016llx) = %d (%s)", (unsigned long long)o->h, rc, memlane_errmsg());
	o->h = MEMLANE_NULL;
}

/* The gauges agree with the objects' states: spilled objects and bytes,
 * and every live object in some state. */
static void check_gauges_at(memlane_arena *a, const pobj *o, size_t n, const char *file, int line)
{
	uint64_t spilled = 0, bytes = 0, live = 0;
	for (size_t i = 0; i < n; i++) {
		if (!o[i].h)
			continue;
		live++;
		memlane_state s = memlane_handle_state(a, o[i].h);
		if (s == MEMLANE_STATE_INVALID)
			fail_msg("%s:%d: live handle 0x%016llx is invalid", file, line, (unsigned long long)o[i].h);
		if (s == MEMLANE_STATE_SPILLED) {
			spilled++;
			bytes += o[i].size;
		}
	}
	memlane_stats st = tu_stats(a);
	if (st.objects != live || st.spilled_objects != spilled || st.spilled_bytes != bytes)
		fail_msg("%s:%d: stats say %llu objects, %llu spilled (%llu bytes); the handles say %llu, %llu (%llu)",
		         file, line, (unsigned long long)st.objects, (unsigned long long)st.spilled_objects,
		         (unsigned long long)st.spilled_bytes, (unsigned long long)live, (unsigned long long)spilled,
		         (unsigned long long)bytes);
	if (st.fast_objects + st.slow_objects + st.spilled_objects != st.objects)
		fail_msg("%s:%d: %llu fast + %llu slow + %llu spilled != %llu objects", file, line,
		         (unsigned long long)st.fast_objects, (unsigned long long)st.slow_objects,
		         (unsigned long long)st.spilled_objects, (unsigned long long)st.objects);
	if (st.evictions != st.clean_evictions + st.dirty_evictions)
		fail_msg("%s:%d: %llu evictions != %llu clean + %llu dirty", file, line, (unsigned long long)st.evictions,
		         (unsigned long long)st.clean_evictions, (unsigned long long)st.dirty_evictions);
	if (st.slow_reserved_bytes > st.slow_lane_size || st.fast_reserved_bytes > st.fast_lane_size)
		fail_msg("%s:%d: lanes over their size", file, line);
}
#define check_gauges(a, o, n) check_gauges_at((a), (o), (n), __FILE__, __LINE__)

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

static size_t count_state(memlane_arena *a, const pobj *o, size_t n, memlane_state s)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (o[i].h && memlane_handle_state(a, o[i].h) == s)
			k++;
	return k;
}

/* ---- files and the store's LMDB environment ------------------------------ */

/* FNV checksum of a whole file; its size in *@size. */
static uint64_t file_sum(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("fopen(%s): %s", path, strerror(errno));
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t buf[65536];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (size_t i = 0; i < n; i++) {
			h ^= buf[i];
			h *= 0x100000001b3ull;
		}
		total += n;
	}
	fclose(f);
	*size = total;
	return h;
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* A closed store's environment, opened directly (no arena may have the
 * directory open: LMDB forbids one environment twice in a process). */
static MDB_env *lmdb_open(const char *dir, unsigned flags)
{
	MDB_env *env = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	int rc = mdb_env_open(env, dir, flags, 0600);
	if (rc != 0)
		fail_msg("mdb_env_open(%s): %s", dir, mdb_strerror(rc));
	return env;
}

static MDB_dbi lmdb_dbi(MDB_txn *t, const char *name)
{
	MDB_dbi dbi;
	int rc = mdb_dbi_open(t, name, 0, &dbi);
	if (rc != 0)
		fail_msg("mdb_dbi_open(%s): %s", name, mdb_strerror(rc));
	return dbi;
}

/* Entries of database @name of the closed store in @dir. */
static size_t lmdb_entries(const char *dir, const char *name)
{
	MDB_env *env = lmdb_open(dir, MDB_RDONLY);
	MDB_txn *t;
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), 0);
	MDB_stat st;
	assert_int_equal(mdb_stat(t, lmdb_dbi(t, name), &st), 0);
	mdb_txn_abort(t);
	mdb_env_close(env);
	return st.ms_entries;
}

/* The record key of @h as the handle table of the last checkpoint names
 * it. */
static void table_record_key(MDB_txn *t, memlane_handle h, uint8_t key[16])
{
	uint8_t hk[8];
	be64(hk, h);
	MDB_val k = {8, hk}, v;
	int rc = mdb_get(t, lmdb_dbi(t, "handles"), &k, &v);
	if (rc != 0)
		fail_msg("handle 0x%016llx is not in the handle table: %s", (unsigned long long)h, mdb_strerror(rc));
	assert_int_equal(v.mv_size, 32);
	be64(key, h);
	be64(key + 8, get_le64(v.mv_data)); /* the seq */
}

/* Replace the value of 8-byte key @key in database @db of the closed
 * store @dir with @val; the old value goes to @old. Returns the old
 * value's size. */
static size_t lmdb_swap(const char *dir, const char *db, const uint8_t key[8], const void *val, size_t len, void *old,
                        size_t oldcap)
{
	MDB_env *env = lmdb_open(dir, 0);
	MDB_txn *t;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	MDB_dbi dbi = lmdb_dbi(t, db);
	MDB_val k = {8, (void *)(uintptr_t)key}, v;
	assert_int_equal(mdb_get(t, dbi, &k, &v), 0);
	size_t oldlen = v.mv_size;
	assert_true(oldlen <= oldcap);
	memcpy(old, v.mv_data, oldlen);
	v = (MDB_val){len, (void *)(uintptr_t)val};
	assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
	return oldlen;
}

enum damage { FLIP_PAYLOAD, TRUNCATE, BAD_MAGIC, DELETE };

/* Damage the record of @o in the closed store @dir; returns the codec
 * the record had. The header must first be what the store format says. */
static int damage_record(const char *dir, const pobj *o, enum damage how)
{
	MDB_env *env = lmdb_open(dir, 0);
	MDB_txn *t;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	MDB_dbi objects = lmdb_dbi(t, "objects");
	uint8_t rk[16];
	table_record_key(t, o->h, rk);
	MDB_val key = {16, rk}, val;
	assert_int_equal(mdb_get(t, objects, &key, &val), 0);
	size_t len = val.mv_size;
	uint8_t *rec = malloc(len);
	assert_non_null(rec);
	memcpy(rec, val.mv_data, len);
	assert_true(len > REC_HEADER);
	assert_int_equal(get_le32(rec), REC_MAGIC);
	assert_int_equal(get_le64(rec + 16), o->size);
	assert_int_equal(get_le32(rec + 8), o->tag);
	int codec = rec[4];
	size_t payload = len - REC_HEADER;
	switch (how) {
	case FLIP_PAYLOAD:
		rec[REC_HEADER + payload / 2] ^= 0x5a;
		rec[REC_HEADER + payload / 3] ^= 0x01;
		break;
	case TRUNCATE:
		len = REC_HEADER + payload / 2;
		break;
	case BAD_MAGIC:
		rec[0] ^= 0xff;
		break;
	case DELETE:
		break;
	}
	int rc;
	if (how == DELETE) {
		rc = mdb_del(t, objects, &key, NULL);
	} else {
		val = (MDB_val){len, rec};
		rc = mdb_put(t, objects, &key, &val, 0);
	}
	if (rc != 0)
		fail_msg("damaging 0x%016llx: %s", (unsigned long long)o->h, mdb_strerror(rc));
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
	free(rec);
	return codec;
}

/* ---- 1. larger than RAM ---------------------------------------------------- */

/* Mostly 100 B to 64 KiB, skewed to the small end as real heaps are;
 * every 300th object 1 MiB. */
static size_t mixed_size(tu_rng *r, size_t i)
{
	if (i % 300 == 150)
		return TU_MiB;
	size_t k = tu_range(r, 0, 99);
	if (k < 40)
		return tu_range(r, 100, 1023);
	if (k < 75)
		return tu_range(r, 1024, 16 * TU_KiB);
	return tu_range(r, 16 * TU_KiB, 64 * TU_KiB);
}

/* Check @o's bytes through one of the faulting calls, chosen by @way. */
static void check_some_way(memlane_arena *a, const pobj *o, size_t way)
{
	void *p = NULL;
	switch (way % 4) {
	case 0:
		check(a, o);
		break;
	case 1:
		check_ptr(o, memlane_get_ro(a, o->h));
		break;
	case 2:
		check_ptr(o, memlane_get(a, o->h));
		break;
	case 3:
		assert_int_equal(memlane_pin(a, o->h, &p), 0);
		check_ptr(o, p);
		assert_int_equal(memlane_unpin(a, o->h), 0);
		break;
	}
}

static void test_larger_than_ram(void **state)
{
	struct fixture *fx = *state;
	/* promotion_age and ticks move the small objects out of the FastLane
	 * too, so that every size passes through the store. */
	memlane_arena *a = open_ok(fx->spill, LANES ",promotion_age=4");
	enum { MAXN = 10000 };
	const size_t want = 40 * TU_MiB;
	pobj *o = calloc(MAXN, sizeof(*o));
	size_t *order = calloc(MAXN, sizeof(*order));
	assert_non_null(o);
	assert_non_null(order);
	tu_rng r = {1};
	size_t n = 0, total = 0;
	while (total < want) {
		assert_true(n < MAXN);
		size_t size = mixed_size(&r, n);
		must_alloc(a, &o[n], size, 0, 0, (uint32_t)n, RANDOM, n);
		total += size;
		if (++n % 32 == 0)
			assert_int_equal(memlane_tick(a), 0);
	}
	memlane_stats st = tu_stats(a);
	assert_true(st.evictions > 0);
	assert_true(st.spilled_objects > 0);
	assert_true(st.promotions > 0);
	size_t small_spilled = 0, huge_spilled = 0;
	for (size_t i = 0; i < n; i++) {
		bool spilled = memlane_handle_state(a, o[i].h) == MEMLANE_STATE_SPILLED;
		small_spilled += spilled && o[i].size < 1024;
		huge_spilled += spilled && o[i].size == TU_MiB;
	}
	assert_true(small_spilled > 0);
	assert_true(huge_spilled > 0);
	/* Whatever the lanes cannot hold is in the store. */
	assert_true(st.spilled_bytes + st.slow_lane_size + st.fast_lane_size >= total);
	check_gauges(a, o, n);

	uint64_t faults = st.faults;
	for (int pass = 0; pass < 2; pass++) {
		shuffle(&r, order, n);
		for (size_t i = 0; i < n; i++)
			check_some_way(a, &o[order[i]], pass == 0 ? 0 : i);
		check_gauges(a, o, n);
		st = tu_stats(a);
		/* Random order over five times the lanes: most reads fault. */
		if (st.faults - faults < n / 2)
			fail_msg("pass %d: %llu faults for %zu random reads", pass,
			         (unsigned long long)(st.faults - faults), n);
		faults = st.faults;
	}
	/* Objects faulted in by reads come back clean and leave for free. */
	assert_true(st.clean_evictions > 0);
	assert_true(st.dirty_evictions > 0);
	assert_true(st.spilled_objects > 0);
	assert_true(st.store_bytes > 0);

	for (size_t i = 0; i < n; i++)
		free_obj(a, &o[i]);
	st = tu_stats(a);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.spilled_objects, 0);
	assert_int_equal(st.spilled_bytes, 0);
	close_ok(a);
	free(order);
	free(o);
}

/* ---- 2. fault-in paths --------------------------------------------------- */

static uint64_t faults_of(memlane_arena *a)
{
	return tu_stats(a).faults;
}

/* @o came back into the SlowLane with exactly one more fault. */
static void came_back_at(memlane_arena *a, const pobj *o, uint64_t faults_before, const char *file, int line)
{
	memlane_state s = memlane_handle_state(a, o->h);
	if (s != MEMLANE_STATE_SLOW)
		fail_msg("%s:%d: handle 0x%016llx: state %d after fault-in, expected SLOW", file, line,
		         (unsigned long long)o->h, (int)s);
	if (faults_of(a) != faults_before + 1)
		fail_msg("%s:%d: faults %llu, expected %llu", file, line, (unsigned long long)faults_of(a),
		         (unsigned long long)(faults_before + 1));
}
#define came_back(a, o, f) came_back_at((a), (o), (f), __FILE__, __LINE__)

static void test_fault_in_get_get_ro_pin(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	pobj o[3];
	for (int i = 0; i < 3; i++)
		must_alloc(a, &o[i], 20000 + (size_t)i * 4000, MEMLANE_SLOW, i == 2 ? 4096 : 0, (uint32_t)i, RANDOM, i);

	spill(a, &o[0]);
	uint64_t f = faults_of(a);
	void *p = memlane_get(a, o[0].h);
	came_back(a, &o[0], f);
	check_ptr(&o[0], p);

	spill(a, &o[1]);
	f = faults_of(a);
	const void *q = memlane_get_ro(a, o[1].h);
	came_back(a, &o[1], f);
	check_ptr(&o[1], q);

	spill(a, &o[2]); /* page-aligned: the fault-in keeps the alignment */
	f = faults_of(a);
	p = NULL;
	assert_int_equal(memlane_pin(a, o[2].h, &p), 0);
	came_back(a, &o[2], f);
	check_ptr(&o[2], p);
	assert_int_equal(memlane_evict(a, o[2].h), MEMLANE_EPINNED);
	assert_int_equal(memlane_unpin(a, o[2].h), 0);

	for (int i = 0; i < 3; i++)
		check(a, &o[i]);
	check_gauges(a, o, 3);
	close_ok(a);
}

static void test_fault_in_read_write(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	pobj o, patch;
	must_alloc(a, &o, 20000, MEMLANE_SLOW, 0, 7, RANDOM, 1);

	/* A partial read brings the whole object back. */
	spill(a, &o);
	uint64_t f = faults_of(a);
	uint8_t part[300], want[300];
	assert_int_equal(memlane_read(a, o.h, 777, part, sizeof(part)), 0);
	came_back(a, &o, f);
	content_at(&o, 777, want, sizeof(want));
	assert_memory_equal(part, want, sizeof(want));
	check_resident(a, &o);

	/* A partial write into a spilled object: the rest must survive. */
	spill(a, &o);
	patch = o;
	patch.seed ^= 0xabcdef;
	content_at(&patch, 0, part, sizeof(part));
	f = faults_of(a);
	assert_int_equal(memlane_write(a, o.h, 1000, part, sizeof(part)), 0);
	came_back(a, &o, f);
	uint8_t *expect = malloc(o.size), *got = malloc(o.size);
	assert_non_null(expect);
	assert_non_null(got);
	content_at(&o, 0, expect, o.size);
	memcpy(expect + 1000, part, sizeof(part));
	assert_int_equal(memlane_read(a, o.h, 0, got, o.size), 0);
	assert_memory_equal(got, expect, o.size);
	/* Dirty now: the eviction writes the new bytes. */
	spill(a, &o);
	memset(got, 0, o.size);
	assert_int_equal(memlane_read(a, o.h, 0, got, o.size), 0);
	assert_memory_equal(got, expect, o.size);
	assert_int_equal(tu_checksum(got, o.size), tu_checksum(expect, o.size));

	/* Out of range on a spilled object: refused, not faulted in. */
	spill(a, &o);
	f = faults_of(a);
	assert_int_equal(memlane_read(a, o.h, o.size - 10, part, 11), MEMLANE_ERANGE);
	assert_int_equal(memlane_write(a, o.h, o.size + 1, part, 0), MEMLANE_ERANGE);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SPILLED);
	assert_int_equal(faults_of(a), f);
	free(expect);
	free(got);
	close_ok(a);
}

static void test_fault_in_realloc(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	pobj o, z;
	must_alloc(a, &o, 20000, MEMLANE_SLOW, 64, 1, RANDOM, 1);

	spill(a, &o);
	uint64_t f = faults_of(a);
	assert_int_equal(memlane_realloc(a, o.h, 70000), 0);
	came_back(a, &o, f);
	assert_int_equal(memlane_size(a, o.h), 70000);
	uint8_t *buf = malloc(70000);
	assert_non_null(buf);
	assert_int_equal(memlane_read(a, o.h, 0, buf, 70000), 0);
	assert_int_equal(content_mismatch(&o, buf, o.size), SIZE_MAX); /* old bytes kept */

	/* Shrink while spilled: the prefix is kept, and the shorter object
	 * spills and comes back at its new size. */
	spill(a, &o);
	f = faults_of(a);
	assert_int_equal(memlane_realloc(a, o.h, 5000), 0);
	came_back(a, &o, f);
	o.size = 5000;
	check(a, &o);
	spill(a, &o);
	check(a, &o);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SLOW);

	/* MEMLANE_ZERO: the tail grown after a fault-in is zero. */
	must_alloc(a, &z, 10000, MEMLANE_SLOW | MEMLANE_ZERO, 0, 2, RANDOM, 2);
	spill(a, &z);
	f = faults_of(a);
	assert_int_equal(memlane_realloc(a, z.h, 30000), 0);
	came_back(a, &z, f);
	memset(buf, 0xee, 30000);
	assert_int_equal(memlane_read(a, z.h, 0, buf, 30000), 0);
	assert_int_equal(content_mismatch(&z, buf, z.size), SIZE_MAX);
	for (size_t i = z.size; i < 30000; i++)
		if (buf[i] != 0)
			fail_msg("grown tail byte %zu is 0x%02x, not zero", i, buf[i]);
	free(buf);
	close_ok(a);
}

static void test_fault_in_prefetch_try_get_idempotent(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	pobj o, small;
	must_alloc(a, &o, 30000, MEMLANE_SLOW, 0, 3, RANDOM, 3);

	/* try_get never touches the disk; the object stays spilled. */
	spill(a, &o);
	memlane_stats s0 = tu_stats(a);
	void *p = (void *)&o;
	assert_int_equal(memlane_try_get(a, o.h, &p), MEMLANE_ENOTRESIDENT);
	errmsg_names(o.h);
	assert_ptr_equal(p, (void *)&o); /* a failed call changes nothing */
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SPILLED);
	assert_int_equal(tu_stats(a).faults, s0.faults);

	/* Evict and promote of a spilled object: nothing to do, nothing done. */
	assert_int_equal(memlane_evict(a, o.h), 0);
	assert_int_equal(memlane_promote(a, o.h), 0);
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SPILLED);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.evictions, s0.evictions);
	assert_int_equal(s1.dirty_evictions, s0.dirty_evictions);
	assert_int_equal(s1.faults, s0.faults);
	assert_int_equal(s1.promotions, s0.promotions);

	/* Prefetch brings it back once; again is a no-op. */
	assert_int_equal(memlane_prefetch(a, o.h), 0);
	came_back(a, &o, s1.faults);
	assert_int_equal(memlane_prefetch(a, o.h), 0);
	assert_int_equal(memlane_promote(a, o.h), 0); /* SlowLane: stays */
	assert_int_equal(memlane_handle_state(a, o.h), MEMLANE_STATE_SLOW);
	assert_int_equal(faults_of(a), s1.faults + 1);
	check_resident(a, &o);

	/* A FastLane object spills too, and comes back to the SlowLane
	 * (the one-way lane). */
	must_alloc(a, &small, 200, 0, 0, 4, RANDOM, 4);
	assert_int_equal(memlane_handle_state(a, small.h), MEMLANE_STATE_FAST);
	spill(a, &small);
	uint64_t f = faults_of(a);
	check_ptr(&small, memlane_get_ro(a, small.h));
	came_back(a, &small, f);

	/* A zero-byte object spills and comes back as well. */
	pobj empty;
	must_alloc(a, &empty, 0, MEMLANE_SLOW, 0, 5, RANDOM, 5);
	spill(a, &empty);
	f = faults_of(a);
	assert_int_equal(memlane_prefetch(a, empty.h), 0);
	came_back(a, &empty, f);
	assert_int_equal(memlane_size(a, empty.h), 0);

	/* Bad handles: refused by every pager call. */
	memlane_handle dead = o.h;
	spill(a, &o);
	free_obj(a, &o);
	assert_int_equal(memlane_evict(a, dead), MEMLANE_EHANDLE);
	assert_int_equal(memlane_prefetch(a, dead), MEMLANE_EHANDLE);
	assert_int_equal(memlane_evict(a, MEMLANE_NULL), MEMLANE_EHANDLE);
	assert_int_equal(memlane_prefetch(a, MEMLANE_NULL), MEMLANE_EHANDLE);
	pobj live[2] = {small, empty};
	check_gauges(a, live, 2);
	close_ok(a);
}

/* ---- 3. clean and dirty evictions ------------------------------------------ */

struct evict_counts {
	uint64_t clean, dirty, store_bytes;
};

static struct evict_counts counts(memlane_arena *a)
{
	memlane_stats st = tu_stats(a);
	return (struct evict_counts){st.clean_evictions, st.dirty_evictions, st.store_bytes};
}

/* Evict @o and check which kind of eviction it was. */
static void evict_expect_at(memlane_arena *a, const pobj *o, int dirty, const char *how, const char *file, int line)
{
	struct evict_counts c0 = counts(a);
	spill_at(a, o, file, line);
	struct evict_counts c1 = counts(a);
	if (c1.dirty != c0.dirty + (dirty ? 1 : 0) || c1.clean != c0.clean + (dirty ? 0 : 1))
		fail_msg("%s:%d: after %s: clean %llu -> %llu, dirty %llu -> %llu; expected a %s eviction", file, line, how,
		         (unsigned long long)c0.clean, (unsigned long long)c1.clean, (unsigned long long)c0.dirty,
		         (unsigned long long)c1.dirty, dirty ? "dirty" : "clean");
	/* A clean eviction writes nothing. */
	if (!dirty && c1.store_bytes != c0.store_bytes)
		fail_msg("%s:%d: after %s: clean eviction changed store_bytes %llu -> %llu", file, line, how,
		         (unsigned long long)c0.store_bytes, (unsigned long long)c1.store_bytes);
	check_at(a, o, file, line);
}
#define evict_expect(a, o, dirty, how) evict_expect_at((a), (o), (dirty), (how), __FILE__, __LINE__)

static void test_clean_and_dirty(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	pobj o;
	must_alloc(a, &o, 10000, MEMLANE_SLOW, 0, 9, RANDOM, 9);
	uint8_t b[64];
	void *p;

	evict_expect(a, &o, 1, "allocation"); /* never written to the store */
	/* check() reads: faulted back clean. */
	evict_expect(a, &o, 0, "memlane_read");
	assert_non_null(memlane_get_ro(a, o.h));
	evict_expect(a, &o, 0, "memlane_get_ro");
	assert_int_equal(memlane_prefetch(a, o.h), 0);
	evict_expect(a, &o, 0, "memlane_prefetch");
	assert_int_equal(memlane_read(a, o.h, 5, b, sizeof(b)), 0);
	assert_non_null(memlane_get_ro(a, o.h));
	evict_expect(a, &o, 0, "memlane_read and memlane_get_ro");

	assert_non_null(memlane_get(a, o.h));
	evict_expect(a, &o, 1, "memlane_get");
	content_at(&o, 100, b, sizeof(b)); /* same bytes: still a write */
	assert_int_equal(memlane_write(a, o.h, 100, b, sizeof(b)), 0);
	evict_expect(a, &o, 1, "memlane_write");
	assert_int_equal(memlane_pin(a, o.h, &p), 0);
	assert_int_equal(memlane_unpin(a, o.h), 0);
	evict_expect(a, &o, 1, "memlane_pin");
	assert_int_equal(memlane_realloc(a, o.h, o.size), 0);
	evict_expect(a, &o, 1, "memlane_realloc");
	assert_int_equal(memlane_prefetch(a, o.h), 0);
	assert_int_equal(memlane_try_get(a, o.h, &p), 0);
	evict_expect(a, &o, 1, "memlane_try_get");

	/* The checks above faulted in clean; once more to be sure a dirty
	 * eviction left a good record behind. */
	evict_expect(a, &o, 0, "memlane_read after a dirty eviction");
	close_ok(a);
}

/* persist=1: a checkpoint writes dirty objects, so they evict clean;
 * persist=0 and memory-only arenas refuse what they cannot do. */
static void test_clean_after_checkpoint(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES ",persist=1,store_sync=none");
	pobj o;
	must_alloc(a, &o, 12000, MEMLANE_SLOW, 0, 1, RANDOM, 1);
	assert_int_equal(memlane_checkpoint(a), 0);
	assert_int_equal(tu_stats(a).checkpoints, 1);
	evict_expect(a, &o, 0, "memlane_checkpoint");
	assert_non_null(memlane_get(a, o.h));
	evict_expect(a, &o, 1, "memlane_get after a checkpoint");
	close_ok(a);

	char scratch[2200];
	subdir(fx, "scratch", scratch, sizeof(scratch));
	a = open_ok(scratch, LANES);
	assert_int_equal(memlane_checkpoint(a), MEMLANE_EINVAL);
	errmsg_says("persist=0");
	close_ok(a);

	a = tu_open(LANES);
	must_alloc(a, &o, 100, 0, 0, 0, RANDOM, 2);
	assert_int_equal(memlane_evict(a, o.h), MEMLANE_ENOSPILL);
	assert_int_equal(memlane_flush(a), MEMLANE_ENOSPILL);
	assert_int_equal(memlane_checkpoint(a), MEMLANE_ENOSPILL);
	assert_int_equal(memlane_prefetch(a, o.h), 0);
	check(a, &o);
	close_ok(a);
}

/* ---- 4. pinned, NOSPILL, COLD ------------------------------------------------ */

struct keepers {
	pobj pinned, pinned_fast, nospill, nospill_fast;
	void *pinned_ptr, *pinned_fast_ptr;
};

/* The objects that must never leave RAM are there, unmoved, intact. */
static void check_keepers_at(memlane_arena *a, const struct keepers *k, const char *file, int line)
{
	const pobj *all[] = {&k->pinned, &k->pinned_fast, &k->nospill, &k->nospill_fast};
	const memlane_state lane[] = {MEMLANE_STATE_SLOW, MEMLANE_STATE_FAST, MEMLANE_STATE_SLOW, MEMLANE_STATE_FAST};
	for (size_t i = 0; i < TU_ARRAY_LEN(all); i++) {
		memlane_state s = memlane_handle_state(a, all[i]->h);
		if (s != lane[i])
			fail_msg("%s:%d: keeper %zu (0x%016llx) is in state %d, expected %d", file, line, i,
			         (unsigned long long)all[i]->h, (int)s, (int)lane[i]);
		check_resident_at(a, all[i], file, line);
	}
	void *p;
	assert_int_equal(memlane_pin(a, k->pinned.h, &p), 0);
	if (p != k->pinned_ptr)
		fail_msg("%s:%d: pinned object moved from %p to %p", file, line, k->pinned_ptr, p);
	assert_int_equal(memlane_unpin(a, k->pinned.h), 0);
	check_ptr_at(&k->pinned, k->pinned_ptr, file, line);
	check_ptr_at(&k->pinned_fast, k->pinned_fast_ptr, file, line);
}
#define check_keepers(a, k) check_keepers_at((a), (k), __FILE__, __LINE__)

static void test_pinned_and_nospill_stay(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	struct keepers k;
	must_alloc(a, &k.pinned, 256 * TU_KiB, MEMLANE_SLOW, 0, 1, RANDOM, 1);
	must_alloc(a, &k.pinned_fast, 300, 0, 0, 2, RANDOM, 2);
	must_alloc(a, &k.nospill, 512 * TU_KiB, MEMLANE_SLOW | MEMLANE_NOSPILL, 0, 3, RANDOM, 3);
	must_alloc(a, &k.nospill_fast, 200, MEMLANE_NOSPILL, 0, 4, RANDOM, 4);
	assert_int_equal(memlane_pin(a, k.pinned.h, &k.pinned_ptr), 0);
	assert_int_equal(memlane_pin(a, k.pinned_fast.h, &k.pinned_fast_ptr), 0);

	/* Pressure: three times the SlowLane, in objects of 32 to 64 KiB. */
	enum { MAXN = 1200 };
	pobj *o = calloc(MAXN + 4, sizeof(*o));
	assert_non_null(o);
	tu_rng r = {4};
	size_t n = 0, total = 0;
	while (total < 24 * TU_MiB) {
		must_alloc(a, &o[n], tu_range(&r, 32 * TU_KiB, 64 * TU_KiB), 0, 0, (uint32_t)(100 + n), RANDOM, 100 + n);
		total += o[n++].size;
		if (n % 64 == 0)
			check_keepers(a, &k);
	}
	assert_true(tu_stats(a).evictions > 0);
	check_keepers(a, &k);

	/* flush spills everything else. */
	assert_int_equal(memlane_flush(a), 0);
	check_keepers(a, &k);
	assert_int_equal(count_state(a, o, n, MEMLANE_STATE_SPILLED), n);
	assert_int_equal(tu_stats(a).spilled_objects, n);
	assert_int_equal(memlane_compact(a), 0);
	check_keepers(a, &k);

	/* evict refuses them, naming the handle and the reason. */
	assert_int_equal(memlane_evict(a, k.pinned.h), MEMLANE_EPINNED);
	errmsg_names(k.pinned.h);
	assert_int_equal(memlane_evict(a, k.pinned_fast.h), MEMLANE_EPINNED);
	assert_int_equal(memlane_evict(a, k.nospill.h), MEMLANE_EINVAL);
	errmsg_names(k.nospill.h);
	errmsg_says("NOSPILL");
	assert_int_equal(memlane_evict(a, k.nospill_fast.h), MEMLANE_EINVAL);

	/* Everything comes back (faulting the pressure in again) around them. */
	size_t *order = calloc(n, sizeof(*order));
	assert_non_null(order);
	shuffle(&r, order, n);
	for (size_t i = 0; i < n; i++) {
		check(a, &o[order[i]]);
		if (i % 128 == 0)
			check_keepers(a, &k);
	}
	check_keepers(a, &k);
	assert_int_equal(memlane_flush(a), 0);
	check_keepers(a, &k);

	/* Unpinned, an object spills like any other; NOSPILL never does. */
	assert_int_equal(memlane_unpin(a, k.pinned.h), 0);
	assert_int_equal(memlane_unpin(a, k.pinned_fast.h), 0);
	spill(a, &k.pinned);
	spill(a, &k.pinned_fast);
	assert_int_equal(memlane_flush(a), 0);
	assert_int_equal(memlane_handle_state(a, k.nospill.h), MEMLANE_STATE_SLOW);
	assert_int_equal(memlane_handle_state(a, k.nospill_fast.h), MEMLANE_STATE_FAST);
	check(a, &k.pinned);
	check(a, &k.pinned_fast);
	check(a, &k.nospill);
	check(a, &k.nospill_fast);
	/* The gauges count the keepers too. */
	o[n] = k.pinned;
	o[n + 1] = k.pinned_fast;
	o[n + 2] = k.nospill;
	o[n + 3] = k.nospill_fast;
	check_gauges(a, o, n + 4);
	free(order);
	free(o);
	close_ok(a);
}

/* A SlowLane of objects that may not go (pinned, or MEMLANE_NOSPILL):
 * an allocation that needs room fails with MEMLANE_ENOMEM, as often as
 * it is tried, and the pager stops sweeping the table for victims it
 * cannot have. Each way an object becomes evictable again then makes
 * room: losing its last pin, and a new object entering the SlowLane. */
static void test_nothing_evictable(void **state)
{
	struct fixture *fx = *state;
	enum { MAXN = 400, SZ = 64 * TU_KiB };
	pobj o[MAXN], w, y, z;
	void *p;
	memlane_arena *a = open_ok(fx->spill, LANES);
	size_t n = 0;
	for (;; n++) {
		assert_true(n < MAXN);
		unsigned flags = MEMLANE_SLOW | (n % 2 ? MEMLANE_NOSPILL : 0);
		int rc = try_alloc(a, &o[n], SZ, flags, 0, (uint32_t)n, RANDOM, n);
		if (rc == MEMLANE_ENOMEM)
			break;
		assert_int_equal(rc, 0);
		if (n % 2 == 0)
			assert_int_equal(memlane_pin(a, o[n].h, &p), 0);
	}
	assert_true(n > 16);
	for (int k = 0; k < 3; k++)
		assert_int_equal(try_alloc(a, &w, SZ, MEMLANE_SLOW, 0, 1000, RANDOM, 1000), MEMLANE_ENOMEM);
	assert_int_equal(tu_stats(a).evictions, 0);

	/* Its last pin gone, o[0] is the one object that may go. */
	assert_int_equal(memlane_unpin(a, o[0].h), 0);
	must_alloc(a, &w, SZ, MEMLANE_SLOW, 0, 1000, RANDOM, 1000);
	assert_int_equal(memlane_handle_state(a, o[0].h), MEMLANE_STATE_SPILLED);
	assert_int_equal(tu_stats(a).evictions, 1);
	assert_int_equal(memlane_pin(a, w.h, &p), 0);
	assert_int_equal(try_alloc(a, &y, SZ, MEMLANE_SLOW, 0, 1001, RANDOM, 1001), MEMLANE_ENOMEM);

	/* A freed NOSPILL object leaves room for y without an eviction;
	 * y, new in the SlowLane, is then the one that may go. */
	free_obj(a, &o[1]);
	must_alloc(a, &y, SZ, MEMLANE_SLOW, 0, 1001, RANDOM, 1001);
	assert_int_equal(tu_stats(a).evictions, 1);
	must_alloc(a, &z, SZ, MEMLANE_SLOW, 0, 1002, RANDOM, 1002);
	assert_int_equal(memlane_handle_state(a, y.h), MEMLANE_STATE_SPILLED);
	assert_int_equal(tu_stats(a).evictions, 2);

	/* Every byte is where it should be; the spilled ones come back
	 * (each faulting another out). */
	for (size_t i = 0; i < n; i++)
		if (i != 1)
			check(a, &o[i]);
	check(a, &w);
	check(a, &y);
	check(a, &z);
	close_ok(a);
}

/* While any MEMLANE_COLD object is resident, no other object is spilled. */
static void cold_first_at(memlane_arena *a, const pobj *o, size_t n, const char *file, int line)
{
	size_t cold_resident = 0, warm_spilled = 0;
	for (size_t i = 0; i < n; i++) {
		bool spilled = memlane_handle_state(a, o[i].h) == MEMLANE_STATE_SPILLED;
		if (o[i].flags & MEMLANE_COLD)
			cold_resident += !spilled;
		else
			warm_spilled += spilled;
	}
	if (cold_resident && warm_spilled)
		fail_msg("%s:%d: %zu objects spilled while %zu MEMLANE_COLD objects are resident", file, line, warm_spilled,
		         cold_resident);
}
#define cold_first(a, o, n) cold_first_at((a), (o), (n), __FILE__, __LINE__)

static size_t spilled_cold(memlane_arena *a, const pobj *o, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if ((o[i].flags & MEMLANE_COLD) && memlane_handle_state(a, o[i].h) == MEMLANE_STATE_SPILLED)
			k++;
	return k;
}

static void test_cold_spill_first(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	enum { WARM = 64, COLD = 32, MAXN = 400 };
	pobj o[MAXN];
	size_t n = 0;
	/* The warm ones are older: a plain CLOCK would take them first. */
	for (; n < WARM; n++)
		must_alloc(a, &o[n], 32 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n);
	for (; n < WARM + COLD; n++)
		must_alloc(a, &o[n], 32 * TU_KiB, MEMLANE_SLOW | MEMLANE_COLD, 0, (uint32_t)n, RANDOM, n);
	assert_int_equal(tu_stats(a).evictions, 0);
	/* A bit of pressure, one object at a time, until every COLD object
	 * has gone. */
	while (spilled_cold(a, o, n) < COLD) {
		assert_true(n < MAXN);
		must_alloc(a, &o[n], 32 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n);
		n++;
		cold_first(a, o, n);
	}
	/* The early warm objects were still resident when the last COLD one
	 * went: eviction took no more than it needed. */
	assert_true(count_state(a, o, WARM, MEMLANE_STATE_SLOW) > WARM / 2);
	for (size_t i = 0; i < n; i++)
		check(a, &o[i]);
	check_gauges(a, o, n);
	close_ok(a);
}

/* Allocate 32 KiB SlowLane objects until the SlowLane is @usage full;
 * the last @cold of them MEMLANE_COLD. */
static size_t fill_lane(memlane_arena *a, pobj *o, size_t max, double usage, size_t cold)
{
	size_t n = 0;
	while (tu_stats(a).slow_usage < usage) {
		assert_true(n < max);
		must_alloc(a, &o[n], 32 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n);
		n++;
	}
	/* Re-allocate the last ones as COLD, so the COLD ones are the
	 * youngest. */
	for (size_t i = n - cold; i < n; i++) {
		free_obj(a, &o[i]);
		must_alloc(a, &o[i], 32 * TU_KiB, MEMLANE_SLOW | MEMLANE_COLD, 0, (uint32_t)i, RANDOM, i);
	}
	return n;
}

static void test_policy_evicts_past_threshold(void **state)
{
	struct fixture *fx = *state;
	enum { MAXN = 400, NCOLD = 8 };
	pobj o[MAXN];
	memlane_arena *a = open_ok(fx->spill, LANES ",slow_lane_usage_threshold=0.5");
	size_t n = fill_lane(a, o, MAXN, 0.7, NCOLD);
	/* Allocation never failed: nothing was evicted yet. */
	assert_int_equal(tu_stats(a).evictions, 0);
	assert_int_equal(memlane_maintain(a), 0);
	memlane_stats st = tu_stats(a);
	assert_true(st.evictions > 0);
	if (st.slow_usage > 0.5)
		fail_msg("after memlane_maintain SlowLane usage is %.3f, above slow_lane_usage_threshold 0.5", st.slow_usage);
	assert_int_equal(spilled_cold(a, o, n), NCOLD);
	cold_first(a, o, n);
	/* memlane_tick runs the same policy. */
	for (size_t i = 0; i < n; i++)
		check(a, &o[i]);
	assert_true(tu_stats(a).slow_usage > 0.5);
	assert_int_equal(memlane_tick(a), 0);
	assert_true(tu_stats(a).slow_usage <= 0.5);
	check_gauges(a, o, n);
	close_ok(a);

	/* The background thread does it on its own. */
	char dir[2200];
	subdir(fx, "thread", dir, sizeof(dir));
	a = open_ok(dir, LANES ",slow_lane_usage_threshold=0.5,policy_check_interval=5ms");
	/* Allocations past the threshold wake the thread, which evicts
	 * ahead of demand: use may never reach 0.7 here. Allocate until it
	 * has evicted (never by the allocations themselves: the lane has
	 * room), then let it bring use under the threshold. */
	n = 0;
	struct timespec nap = {0, 5 * 1000 * 1000};
	while (tu_stats(a).evictions == 0 && n < MAXN) {
		must_alloc(a, &o[n], 32 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n);
		n++;
		if (tu_stats(a).slow_usage >= 0.7)
			nanosleep(&nap, NULL);
	}
	assert_true(tu_stats(a).evictions > 0);
	for (int i = 0; i < 1000 && tu_stats(a).slow_usage > 0.5; i++)
		nanosleep(&nap, NULL);
	assert_true(tu_stats(a).slow_usage <= 0.5);
	for (size_t i = 0; i < n; i++)
		check(a, &o[i]);
	close_ok(a);
}

/* The pager's CLOCK (its hand goes round the handle table): an object
 * touched since the hand last passed it gets a second chance, so the
 * objects a program keeps using stay in RAM while untouched ones go. */
static void test_touched_objects_stay(void **state)
{
	struct fixture *fx = *state;
	enum { MAXN = 400 };
	pobj o[MAXN];
	bool touched[MAXN] = {false};
	memlane_arena *a = open_ok(fx->spill, LANES ",slow_lane_usage_threshold=0.5");
	size_t n = fill_lane(a, o, MAXN, 0.7, 0);
	/* The first round: every object was touched at its allocation, so
	 * the hand clears every mark in one turn and takes victims in the
	 * next. */
	assert_int_equal(memlane_maintain(a), 0);
	uint64_t evicted = tu_stats(a).evictions;
	assert_true(evicted > 0);
	/* Touch a quarter of the resident objects. */
	size_t resident = 0, marked = 0;
	for (size_t i = 0; i < n; i++) {
		if (memlane_handle_state(a, o[i].h) != MEMLANE_STATE_SLOW)
			continue;
		if (resident++ % 4 == 0) {
			check(a, &o[i]);
			touched[i] = true;
			marked++;
		}
	}
	assert_true(marked > 4);
	/* Past the threshold again, by less than the untouched objects
	 * hold. */
	while (tu_stats(a).slow_usage < 0.55) {
		assert_true(n < MAXN);
		must_alloc(a, &o[n], 32 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n);
		n++;
	}
	assert_int_equal(memlane_maintain(a), 0);
	assert_true(tu_stats(a).evictions > evicted);
	for (size_t i = 0; i < n; i++)
		if (touched[i] && memlane_handle_state(a, o[i].h) != MEMLANE_STATE_SLOW)
			fail_msg("object %zu, touched since the last eviction, was spilled (%llu evictions since)", i,
			         (unsigned long long)(tu_stats(a).evictions - evicted));
	for (size_t i = 0; i < n; i++)
		check(a, &o[i]);
	check_gauges(a, o, n);
	close_ok(a);
}

/* ---- 5. EBUSY and EEXIST ----------------------------------------------------- */

/* memlane_open(@dir) in a child process; the child exits with the
 * negated code (after closing, when it could open). */
static int open_in_child(const char *dir, const char *options)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		memlane_arena *a;
		int rc = open_rc(dir, options, &a);
		if (rc == 0)
			rc = memlane_close(a);
		_exit(rc <= 0 && rc >= -100 ? -rc : 100);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

static void test_busy(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	pobj o;
	must_alloc(a, &o, 50000, MEMLANE_SLOW, 0, 1, RANDOM, 1);
	spill(a, &o);

	/* The directory, mode 0700, and its files, 0600. */
	struct stat sb;
	assert_int_equal(stat(fx->spill, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	const char *files[] = {"data.mdb", "lock.mdb", "memlane.lock"};
	for (size_t i = 0; i < TU_ARRAY_LEN(files); i++) {
		char path[2300];
		snprintf(path, sizeof(path), "%s/%s", fx->spill, files[i]);
		assert_int_equal(stat(path, &sb), 0);
		if ((sb.st_mode & 0777) != 0600)
			fail_msg("%s has mode %o, expected 0600", path, (unsigned)(sb.st_mode & 0777));
	}

	memlane_arena *b = a;
	int rc = open_rc(fx->spill, LANES, &b);
	assert_int_equal(rc, MEMLANE_EBUSY);
	errmsg_says(fx->spill);
	assert_ptr_equal(b, a); /* a failed call changes nothing */
	assert_int_equal(open_in_child(fx->spill, LANES), MEMLANE_EBUSY);
	assert_int_equal(open_in_child(fx->spill, LANES ",persist=1"), MEMLANE_EBUSY);

	/* The owner is unharmed. */
	check(a, &o);
	spill(a, &o);
	check(a, &o);
	close_ok(a);

	/* Closed, the directory is free: for another process, then for us. */
	assert_int_equal(open_in_child(fx->spill, LANES), 0);
	a = open_ok(fx->spill, LANES);
	close_ok(a);
}

static void test_exists(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES ",persist=1");
	enum { N = 40 };
	pobj o[N];
	for (size_t i = 0; i < N; i++)
		must_alloc(a, &o[i], 1000 + i * 1500, 0, 0, (uint32_t)i, i % 3 ? RANDOM : TEXT, i);
	for (size_t i = 0; i < N; i += 2)
		spill(a, &o[i]);
	assert_int_equal(memlane_root_set(a, "first", o[0].h), 0);
	close_ok(a);

	char data[2300];
	snprintf(data, sizeof(data), "%s/data.mdb", fx->spill);
	size_t size0, size1;
	uint64_t sum0 = file_sum(data, &size0);

	memlane_arena *b = NULL;
	assert_int_equal(open_rc(fx->spill, LANES, &b), MEMLANE_EEXIST);
	assert_null(b);
	errmsg_says("persist");
	errmsg_says(fx->spill);
	assert_int_equal(open_rc(fx->spill, LANES ",persist=0,compression=none", &b), MEMLANE_EEXIST);
	assert_int_equal(open_in_child(fx->spill, LANES), MEMLANE_EEXIST);
	uint64_t sum1 = file_sum(data, &size1);
	assert_int_equal(size1, size0);
	if (sum1 != sum0)
		fail_msg("opening a persistent store with persist=0 changed %s", data);

	/* A refused open leaves no lock behind either. */
	a = open_ok(fx->spill, LANES ",persist=1");
	assert_int_equal(tu_stats(a).objects, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(memlane_handle_state(a, o[i].h), MEMLANE_STATE_SPILLED);
		check(a, &o[i]);
	}
	memlane_handle h;
	assert_int_equal(memlane_root_get(a, "first", &h), 0);
	assert_int_equal(h, o[0].h);
	close_ok(a);
}

/* ---- 6. reopen ---------------------------------------------------------------- */

/* Everything @o says is live is back with its bytes; everything freed
 * (listed in @dead) stays invalid. */
static void check_reopened_at(memlane_arena *a, const pobj *o, size_t n, const memlane_handle *dead, size_t ndead,
                              const char *file, int line)
{
	for (size_t i = 0; i < n; i++) {
		if (!o[i].h)
			continue;
		if (memlane_handle_state(a, o[i].h) != MEMLANE_STATE_SPILLED)
			fail_msg("%s:%d: handle 0x%016llx: state %d after reopen, expected SPILLED (lazy)", file, line,
			         (unsigned long long)o[i].h, (int)memlane_handle_state(a, o[i].h));
	}
	check_gauges_at(a, o, n, file, line);
	for (size_t i = 0; i < n; i++)
		if (o[i].h) {
			check_at(a, &o[i], file, line);
			if (o[i].align > 1)
				check_ptr_at(&o[i], memlane_get_ro(a, o[i].h), file, line);
		}
	uint8_t b;
	for (size_t i = 0; i < ndead; i++) {
		if (memlane_valid(a, dead[i]))
			fail_msg("%s:%d: freed handle 0x%016llx is valid after reopen", file, line, (unsigned long long)dead[i]);
		assert_int_equal(memlane_read(a, dead[i], 0, &b, 0), MEMLANE_EHANDLE);
		assert_int_equal(memlane_free(a, dead[i]), MEMLANE_EHANDLE);
	}
}
#define check_reopened(a, o, n, dead, ndead) check_reopened_at((a), (o), (n), (dead), (ndead), __FILE__, __LINE__)

static void check_root(memlane_arena *a, const char *name, memlane_handle want)
{
	memlane_handle h = MEMLANE_NULL;
	int rc = memlane_root_get(a, name, &h);
	if (want == MEMLANE_NULL) {
		assert_int_equal(rc, MEMLANE_ENOTFOUND);
		return;
	}
	if (rc != 0 || h != want)
		fail_msg("root '%s': %d, 0x%016llx; expected 0x%016llx", name, rc, (unsigned long long)h,
		         (unsigned long long)want);
}

static const unsigned reopen_flags[] = {0, MEMLANE_SLOW, MEMLANE_ZERO, MEMLANE_COLD | MEMLANE_SLOW, MEMLANE_FAST};
static const size_t reopen_aligns[] = {0, 16, 64, 4096};

static void test_reopen(void **state)
{
	struct fixture *fx = *state;
	const char *opts = LANES ",persist=1";
	memlane_arena *a = open_ok(fx->spill, opts);
	enum { N = 160, NEW = 40 };
	pobj o[N + NEW];
	memlane_handle dead[N + NEW];
	size_t ndead = 0;
	tu_rng r = {6};
	for (size_t i = 0; i < N; i++) {
		size_t size = i % 10 == 0 ? 0 : mixed_size(&r, i + 1);
		must_alloc(a, &o[i], size, reopen_flags[i % 5], reopen_aligns[i % 4], (uint32_t)(0x1000 + i),
		           i % 4 == 3 ? TEXT : RANDOM, i);
	}
	for (size_t i = 0; i < N; i += 3)
		spill(a, &o[i]);
	/* Freed: resident and spilled ones. */
	for (size_t i = 0; i < N; i += 5) {
		dead[ndead++] = o[i + 1].h;
		free_obj(a, &o[i + 1]);
	}
	assert_int_equal(memlane_root_set(a, "first", o[0].h), 0);
	assert_int_equal(memlane_root_set(a, "big", o[150].h), 0);
	assert_int_equal(memlane_root_set(a, "doomed", o[12].h), 0);
	dead[ndead++] = o[12].h;
	free_obj(a, &o[12]);
	uint32_t arena_bits = (uint32_t)(o[0].h >> 52);
	close_ok(a);

	a = open_ok(fx->spill, opts);
	check_reopened(a, o, N, dead, ndead);
	check_root(a, "first", o[0].h);
	check_root(a, "big", o[150].h);
	check_root(a, "doomed", MEMLANE_NULL);
	/* New handles: fresh, of the same arena, never an old one. */
	for (size_t i = N; i < N + NEW; i++) {
		must_alloc(a, &o[i], 500 + i * 10, 0, 0, (uint32_t)i, RANDOM, i);
		assert_int_equal((uint32_t)(o[i].h >> 52), arena_bits);
		for (size_t j = 0; j < i; j++)
			if (o[j].h == o[i].h)
				fail_msg("new handle 0x%016llx equals live handle %zu", (unsigned long long)o[i].h, j);
		for (size_t j = 0; j < ndead; j++)
			if (dead[j] == o[i].h)
				fail_msg("new handle 0x%016llx equals a freed one", (unsigned long long)o[i].h);
	}
	for (size_t j = 0; j < ndead; j++)
		assert_int_equal(memlane_valid(a, dead[j]), 0);

	/* Checkpoint, then change things: close must keep the latest. */
	assert_int_equal(memlane_checkpoint(a), 0);
	for (size_t i = 0; i < N; i += 7) {
		if (!o[i].h)
			continue;
		if (i % 2) {
			o[i].seed ^= 0x77;
			o[i].content = RANDOM;
			fill(a, &o[i]);
		} else {
			dead[ndead++] = o[i].h;
			free_obj(a, &o[i]);
		}
	}
	assert_int_equal(memlane_realloc(a, o[150].h, o[150].size / 2), 0);
	o[150].size /= 2;
	spill(a, &o[150]);
	for (size_t i = N; i < N + NEW; i += 2)
		spill(a, &o[i]);
	assert_int_equal(memlane_root_set(a, "first", o[N].h), 0);
	assert_int_equal(memlane_root_del(a, "big"), 0);
	close_ok(a);

	a = open_ok(fx->spill, opts);
	check_reopened(a, o, N + NEW, dead, ndead);
	check_root(a, "first", o[N].h);
	check_root(a, "big", MEMLANE_NULL);
	assert_int_equal(tu_stats(a).objects, N + NEW - ndead);
	close_ok(a);
}

/* A process that dies after a checkpoint: its later changes, evictions
 * included, are gone at the next open; the checkpoint is intact. */
static void test_crash_keeps_last_checkpoint(void **state)
{
	struct fixture *fx = *state;
	const char *opts = LANES ",persist=1,store_sync=checkpoint";
	enum { N = 30 };
	pobj o[N + 1];
	memlane_arena *a = open_ok(fx->spill, opts);
	for (size_t i = 0; i < N; i++)
		must_alloc(a, &o[i], 3000 + i * 2000, 0, 0, (uint32_t)i, RANDOM, i);
	spill(a, &o[0]);
	assert_int_equal(memlane_root_set(a, "r", o[1].h), 0);
	close_ok(a);

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* No cmocka in the child: every failure is an exit code. */
		memlane_arena *c;
		if (open_rc(fx->spill, opts, &c) != 0)
			_exit(1);
		memlane_handle h;
		uint8_t junk[4096];
		memset(junk, 0x3c, sizeof(junk));
		if (memlane_checkpoint(c) != 0 || memlane_write(c, o[2].h, 0, junk, sizeof(junk)) != 0 ||
		    memlane_evict(c, o[2].h) != 0 || memlane_free(c, o[3].h) != 0 || memlane_alloc(c, 5000, &h) != 0 ||
		    memlane_evict(c, h) != 0 || memlane_write(c, o[0].h, 10, junk, 100) != 0 || memlane_flush(c) != 0 ||
		    memlane_root_set(c, "r", h) != 0 || memlane_root_set(c, "new", h) != 0)
			_exit(2);
		_exit(0); /* no memlane_close: a crash */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	a = open_ok(fx->spill, opts);
	check_reopened(a, o, N, NULL, 0);
	check_root(a, "r", o[1].h);
	check_root(a, "new", MEMLANE_NULL);
	assert_int_equal(tu_stats(a).objects, N);
	close_ok(a);
	/* Only the records the checkpoint names are left. */
	assert_int_equal(lmdb_entries(fx->spill, "objects"), N);
	assert_int_equal(lmdb_entries(fx->spill, "handles"), N);
}

static bool exists(const char *dir, const char *name)
{
	char path[2300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat sb;
	return stat(path, &sb) == 0;
}

static size_t file_size(const char *dir, const char *name)
{
	char path[2300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return (size_t)sb.st_size;
}

/* Spill @n objects of ~100 KiB into a scratch store in @dir and die
 * without closing; returns the child's exit status. */
static int scratch_crash(const char *dir, size_t n)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		memlane_arena *c;
		if (open_rc(dir, LANES, &c) != 0)
			_exit(1);
		for (size_t i = 0; i < n; i++) {
			pobj o;
			memlane_alloc_opts opts = {MEMLANE_SLOW, 0, 0};
			if (memlane_alloc_ex(c, 100 * TU_KiB, &opts, &o.h) != 0)
				_exit(2);
			o.size = 100 * TU_KiB;
			o.seed = i;
			o.content = RANDOM;
			uint8_t *buf = malloc(o.size);
			if (!buf)
				_exit(3);
			content_at(&o, 0, buf, o.size);
			if (memlane_write(c, o.h, 0, buf, o.size) != 0)
				_exit(4);
			free(buf);
		}
		_exit(memlane_flush(c) == 0 ? 0 : 5);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_scratch_empty_on_reopen(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES);
	enum { N = 50 };
	pobj o[N];
	for (size_t i = 0; i < N; i++)
		must_alloc(a, &o[i], 2000 + i * 3000, 0, 0, (uint32_t)i, RANDOM, i);
	assert_int_equal(memlane_root_set(a, "r", o[0].h), 0);
	assert_int_equal(memlane_flush(a), 0);
	assert_int_equal(tu_stats(a).spilled_objects, N);
	assert_true(tu_stats(a).store_bytes > 0);
	assert_true(exists(fx->spill, "data.mdb"));
	close_ok(a);
	/* A scratch store's records go with its files. */
	assert_false(exists(fx->spill, "data.mdb"));
	assert_false(exists(fx->spill, "lock.mdb"));

	a = open_ok(fx->spill, LANES);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.spilled_objects, 0);
	assert_int_equal(st.spilled_bytes, 0);
	assert_int_equal(st.store_bytes, 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(memlane_valid(a, o[i].h), 0);
	memlane_handle h;
	assert_int_equal(memlane_root_get(a, "r", &h), MEMLANE_ENOTFOUND);
	close_ok(a);

	/* A scratch store left behind by a crash: the next open starts
	 * from fresh, small files. */
	assert_int_equal(scratch_crash(fx->spill, 100), 0);
	size_t crashed = file_size(fx->spill, "data.mdb");
	assert_true(crashed >= 5 * TU_MiB);
	assert_int_equal(lmdb_entries(fx->spill, "objects") > 0, 1);
	a = open_ok(fx->spill, LANES);
	st = tu_stats(a);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.store_bytes, 0);
	assert_true(file_size(fx->spill, "data.mdb") < crashed / 4);
	close_ok(a);
}

/* ---- 7. damaged records ---------------------------------------------------------- */

/* Every faulting call on damaged @o fails with ECORRUPT naming it, and
 * leaves it spilled with the lanes as they were. */
static void refused_as_corrupt(memlane_arena *a, const pobj *o)
{
	memlane_stats s0 = tu_stats(a);
	uint8_t b[16];
	void *p = NULL;
	assert_int_equal(memlane_read(a, o->h, 0, b, sizeof(b)), MEMLANE_ECORRUPT);
	errmsg_names(o->h);
	assert_null(memlane_get(a, o->h));
	errmsg_names(o->h);
	assert_null(memlane_get_ro(a, o->h));
	errmsg_names(o->h);
	assert_int_equal(memlane_pin(a, o->h, &p), MEMLANE_ECORRUPT);
	assert_int_equal(memlane_prefetch(a, o->h), MEMLANE_ECORRUPT);
	errmsg_names(o->h);
	assert_int_equal(memlane_write(a, o->h, 0, b, sizeof(b)), MEMLANE_ECORRUPT);
	assert_int_equal(memlane_realloc(a, o->h, o->size * 2), MEMLANE_ECORRUPT);
	assert_int_equal(memlane_try_get(a, o->h, &p), MEMLANE_ENOTRESIDENT);
	assert_int_equal(memlane_evict(a, o->h), 0);
	assert_int_equal(memlane_handle_state(a, o->h), MEMLANE_STATE_SPILLED);
	assert_int_equal(memlane_size(a, o->h), o->size);
	memlane_stats s1 = tu_stats(a);
	assert_int_equal(s1.faults, s0.faults);
	assert_int_equal(s1.spilled_objects, s0.spilled_objects);
	assert_int_equal(s1.slow_reserved_bytes, s0.slow_reserved_bytes);
	assert_int_equal(s1.slow_used_bytes, s0.slow_used_bytes);
	assert_int_equal(s1.pinned_objects, s0.pinned_objects);
}

static void test_damaged_records(void **state)
{
	struct fixture *fx = *state;
	const char *opts = LANES ",persist=1,store_sync=none";
	memlane_arena *a = open_ok(fx->spill, opts);
	enum { N = 24 };
	pobj o[N];
	for (size_t i = 0; i < N; i++)
		must_alloc(a, &o[i], 8000 + i * 1000, 0, 0, (uint32_t)(i + 1), i % 2 ? TEXT : RANDOM, i);
	close_ok(a);

	/* 0: raw bytes flipped (the hash finds it); 1: zstd frame flipped;
	 * 2: raw record cut short; 3: zstd record cut short; 4: header
	 * magic broken; 5: record missing. */
	assert_int_equal(damage_record(fx->spill, &o[0], FLIP_PAYLOAD), CODEC_RAW);
	assert_int_equal(damage_record(fx->spill, &o[1], FLIP_PAYLOAD), CODEC_ZSTD);
	assert_int_equal(damage_record(fx->spill, &o[2], TRUNCATE), CODEC_RAW);
	assert_int_equal(damage_record(fx->spill, &o[3], TRUNCATE), CODEC_ZSTD);
	damage_record(fx->spill, &o[4], BAD_MAGIC);
	damage_record(fx->spill, &o[5], DELETE);
	enum { NBAD = 6 };

	a = open_ok(fx->spill, opts);
	for (size_t i = 0; i < NBAD; i++)
		refused_as_corrupt(a, &o[i]);
	/* The rest of the store is fine, before and after. */
	for (size_t i = NBAD; i < N; i++)
		check(a, &o[i]);
	for (size_t i = 0; i < NBAD; i++)
		refused_as_corrupt(a, &o[i]);
	check_gauges(a, o, N);
	/* A damaged object can still be freed. */
	memlane_handle dead[NBAD];
	for (size_t i = 0; i < NBAD; i++) {
		dead[i] = o[i].h;
		free_obj(a, &o[i]);
	}
	check_gauges(a, o, N);
	close_ok(a);

	a = open_ok(fx->spill, opts);
	check_reopened(a, o, N, dead, NBAD);
	close_ok(a);

	/* A damaged handle table: open refuses, naming the directory, and
	 * changes nothing; repaired, the store opens as before. */
	uint8_t hk[8], bad[31] = {0}, good[32];
	be64(hk, o[NBAD].h);
	assert_int_equal(lmdb_swap(fx->spill, "handles", hk, bad, sizeof(bad), good, sizeof(good)), sizeof(good));
	char data[2300];
	snprintf(data, sizeof(data), "%s/data.mdb", fx->spill);
	size_t size0, size1;
	uint64_t sum0 = file_sum(data, &size0);
	assert_int_equal(open_rc(fx->spill, opts, &a), MEMLANE_ECORRUPT);
	errmsg_says(fx->spill);
	assert_int_equal(file_sum(data, &size1), sum0);
	assert_int_equal(lmdb_swap(fx->spill, "handles", hk, good, sizeof(good), bad, sizeof(bad)), sizeof(bad));
	a = open_ok(fx->spill, opts);
	check_reopened(a, o, N, dead, NBAD);
	close_ok(a);
}

/* Take meta record @name out of the closed store @dir (into @val, which
 * holds @cap bytes; returns its size), or put @len bytes back. */
static size_t meta_take(const char *dir, const char *name, void *val, size_t cap)
{
	MDB_env *env = lmdb_open(dir, 0);
	MDB_txn *t;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	MDB_dbi dbi = lmdb_dbi(t, "meta");
	MDB_val k = {strlen(name), (void *)(uintptr_t)name}, v;
	assert_int_equal(mdb_get(t, dbi, &k, &v), 0);
	size_t len = v.mv_size;
	assert_true(len <= cap);
	memcpy(val, v.mv_data, len);
	assert_int_equal(mdb_del(t, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
	return len;
}

static void meta_put(const char *dir, const char *name, const void *val, size_t len)
{
	MDB_env *env = lmdb_open(dir, 0);
	MDB_txn *t;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	MDB_val k = {strlen(name), (void *)(uintptr_t)name}, v = {len, (void *)(uintptr_t)val};
	assert_int_equal(mdb_put(t, lmdb_dbi(t, "meta"), &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
}

/* A checkpointed store without its "slots" record (the generations of
 * the handle slots): open refuses it as damaged and changes nothing.
 * It used to be taken for a store never checkpointed: the open dropped
 * every record, and its close left handle entries without slots, which
 * no open accepted again (found by tests/fuzz/fuzz_restore). */
static void test_missing_slots_record(void **state)
{
	struct fixture *fx = *state;
	const char *opts = LANES ",persist=1,store_sync=none";
	memlane_arena *a = open_ok(fx->spill, opts);
	enum { N = 6 };
	pobj o[N];
	for (size_t i = 0; i < N; i++)
		must_alloc(a, &o[i], 100 + i * 3000, 0, 0, (uint32_t)(i + 1), i % 2 ? TEXT : RANDOM, i);
	memlane_handle dead[1] = {o[0].h};
	free_obj(a, &o[0]);
	close_ok(a);

	uint8_t slots[4096];
	size_t len = meta_take(fx->spill, "slots", slots, sizeof(slots));
	char data[2300];
	snprintf(data, sizeof(data), "%s/data.mdb", fx->spill);
	size_t size0, size1;
	uint64_t sum0 = file_sum(data, &size0);
	assert_int_equal(open_rc(fx->spill, opts, &a), MEMLANE_ECORRUPT);
	errmsg_says(fx->spill);
	assert_int_equal(file_sum(data, &size1), sum0);
	assert_int_equal(open_rc(fx->spill, opts, &a), MEMLANE_ECORRUPT); /* and again */

	meta_put(fx->spill, "slots", slots, len);
	a = open_ok(fx->spill, opts);
	check_reopened(a, o, N, dead, 1);
	close_ok(a);
}

/* A root whose name holds a NUL byte (no memlane_root_set makes one):
 * open refuses the store as damaged and changes nothing. It used to
 * restore the root as "" (the name cut at the NUL), and every checkpoint
 * after, the close's too, failed to write it back (found by
 * tests/fuzz/fuzz_restore). */
static void test_damaged_root_name(void **state)
{
	struct fixture *fx = *state;
	const char *opts = LANES ",persist=1,store_sync=none";
	memlane_arena *a = open_ok(fx->spill, opts);
	pobj o[1];
	must_alloc(a, &o[0], 1000, 0, 0, 7, TEXT, 1);
	assert_int_equal(memlane_root_set(a, "fine", o[0].h), 0);
	close_ok(a);

	uint8_t hv[8];
	be64(hv, o[0].h);
	static const char bad[] = {'\0', 'o', 'o', 't'};
	MDB_env *env = lmdb_open(fx->spill, 0);
	MDB_txn *t;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	MDB_val k = {sizeof(bad), (void *)(uintptr_t)bad}, v = {8, hv};
	assert_int_equal(mdb_put(t, lmdb_dbi(t, "roots"), &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);

	char data[2300];
	snprintf(data, sizeof(data), "%s/data.mdb", fx->spill);
	size_t size0, size1;
	uint64_t sum0 = file_sum(data, &size0);
	assert_int_equal(open_rc(fx->spill, opts, &a), MEMLANE_ECORRUPT);
	errmsg_says(fx->spill);
	assert_int_equal(file_sum(data, &size1), sum0);

	env = lmdb_open(fx->spill, 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
	assert_int_equal(mdb_del(t, lmdb_dbi(t, "roots"), &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(t), 0);
	mdb_env_close(env);
	a = open_ok(fx->spill, opts);
	check_reopened(a, o, 1, NULL, 0);
	check_root(a, "fine", o[0].h);
	close_ok(a);
}

/* ---- 8. a full store ---------------------------------------------------------------- */

static void test_full_store(void **state)
{
	struct fixture *fx = *state;
	/* 1M: store_max_size's minimum. Random bytes: zstd cannot help. */
	memlane_arena *a = open_ok(fx->spill, LANES ",store_max_size=1M");
	enum { MAXN = 400 };
	pobj o[MAXN];
	size_t n = 0;
	int rc;
	while ((rc = try_alloc(a, &o[n], 64 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n)) == 0)
		assert_true(++n < MAXN);
	/* The SlowLane is full of objects the store has no room for. */
	if (rc != MEMLANE_ENOSPC)
		fail_msg("allocation with lanes and store full: %d (%s), expected MEMLANE_ENOSPC", rc, memlane_errmsg());
	errmsg_says("store_max_size");
	memlane_stats st = tu_stats(a);
	assert_true(st.evictions > 0);
	assert_true(st.spilled_objects > 0);
	assert_int_equal(st.objects, n);

	assert_int_equal(memlane_flush(a), MEMLANE_ENOSPC);
	errmsg_says("store_max_size");
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (memlane_handle_state(a, o[i].h) != MEMLANE_STATE_SPILLED)
			rc = memlane_evict(a, o[i].h);
	assert_int_equal(rc, MEMLANE_ENOSPC);
	check_gauges(a, o, n);

	/* A spilled object cannot come back while the lane is full of
	 * objects the store has no room for: ENOSPC, and it stays spilled.
	 * (The evictions above made room in the lane: fill it again.) */
	while ((rc = try_alloc(a, &o[n], 64 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n)) == 0)
		assert_true(++n < MAXN);
	assert_int_equal(rc, MEMLANE_ENOSPC);
	/* A policy cycle past the usage threshold fails to evict, says
	 * nothing, and leaves this thread's last message alone. */
	assert_true(tu_stats(a).slow_usage > 0.9);
	assert_int_equal(memlane_free(a, MEMLANE_NULL), MEMLANE_EHANDLE);
	errmsg_says("null handle");
	assert_int_equal(memlane_maintain(a), 0);
	assert_int_equal(memlane_tick(a), 0);
	errmsg_says("null handle");
	size_t sp = 0;
	while (memlane_handle_state(a, o[sp].h) != MEMLANE_STATE_SPILLED)
		sp++;
	memlane_stats s0 = tu_stats(a);
	uint8_t b[16];
	assert_int_equal(memlane_read(a, o[sp].h, 0, b, sizeof(b)), MEMLANE_ENOSPC);
	errmsg_says("store_max_size");
	assert_int_equal(memlane_handle_state(a, o[sp].h), MEMLANE_STATE_SPILLED);
	assert_int_equal(tu_stats(a).slow_reserved_bytes, s0.slow_reserved_bytes);
	assert_int_equal(tu_stats(a).faults, s0.faults);

	/* No object lost: the resident ones (read in place), then with room
	 * in the lane the spilled ones (faulted in, and evicted clean). */
	size_t resident = 0;
	for (size_t i = 0; i < n; i++)
		if (memlane_handle_state(a, o[i].h) != MEMLANE_STATE_SPILLED) {
			check_resident(a, &o[i]);
			resident++;
		}
	assert_true(resident > 0);
	for (size_t i = 0; i < n; i++)
		if (memlane_handle_state(a, o[i].h) != MEMLANE_STATE_SPILLED)
			free_obj(a, &o[i]);
	for (size_t i = 0; i < n; i++)
		if (o[i].h)
			check(a, &o[i]);

	/* Freeing makes the store usable again: free all but two, then
	 * spill, fault in and allocate anew. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (o[i].h && kept++ >= 2)
			free_obj(a, &o[i]);
	rc = memlane_flush(a);
	if (rc != 0)
		fail_msg("memlane_flush after freeing = %d (%s)", rc, memlane_errmsg());
	pobj fresh[4];
	for (size_t i = 0; i < 4; i++) {
		must_alloc(a, &fresh[i], 64 * TU_KiB, MEMLANE_SLOW, 0, 1000, RANDOM, 1000 + i);
		rc = memlane_evict(a, fresh[i].h);
		if (rc != 0)
			fail_msg("evict of new object %zu after freeing = %d (%s); the store holds %llu records", i, rc,
			         memlane_errmsg(), (unsigned long long)tu_stats(a).spilled_objects);
	}
	for (size_t i = 0; i < n; i++)
		if (o[i].h)
			check(a, &o[i]);
	for (size_t i = 0; i < 4; i++)
		check(a, &fresh[i]);
	close_ok(a);
}

/* ---- 9. compression ----------------------------------------------------------------- */

/* The records' hash of the raw bytes, as memlane-store(5) gives it (a
 * copy of the library's ml_hash64, so a reader needs no libmemlane). */
static uint64_t rec_hash(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h ^= w * 0xC2B2AE3D27D4EB4Full;
		h = (h << 31 | h >> 33) * 0x9E3779B97F4A7C15ull;
	}
	uint64_t w = 0;
	memcpy(&w, p + i, n - i);
	h ^= w * 0x165667B19E3779F9ull;
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ull;
	return h ^ (h >> 33);
}

static uint64_t content_hash(const pobj *o)
{
	uint8_t *buf = malloc(o->size ? o->size : 1);
	assert_non_null(buf);
	content_at(o, 0, buf, o->size);
	uint64_t h = rec_hash(buf, o->size);
	free(buf);
	return h;
}

/* Every record in the closed store @dir has the codec its object's
 * content calls for, the object's size, tag and hash, and the epoch of
 * the first checkpoint (the evictions before it belong to it). */
static void check_codecs(const char *dir, const pobj *o, size_t n, int zstd)
{
	MDB_env *env = lmdb_open(dir, MDB_RDONLY);
	MDB_txn *t;
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), 0);
	MDB_cursor *cur;
	assert_int_equal(mdb_cursor_open(t, lmdb_dbi(t, "objects"), &cur), 0);
	MDB_val key, val;
	size_t seen = 0;
	for (int rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		assert_int_equal(key.mv_size, 16);
		memlane_handle h = get_be64(key.mv_data);
		const pobj *ob = NULL;
		for (size_t i = 0; i < n; i++)
			if (o[i].h == h)
				ob = &o[i];
		if (!ob)
			fail_msg("record of unknown handle 0x%016llx", (unsigned long long)h);
		const uint8_t *rec = val.mv_data;
		assert_true(val.mv_size >= REC_HEADER);
		assert_int_equal(get_le32(rec), REC_MAGIC);
		assert_int_equal(get_le32(rec + 8), ob->tag);
		assert_int_equal(get_le64(rec + 16), ob->size);
		int want = zstd && ob->content != RANDOM ? CODEC_ZSTD : CODEC_RAW;
		if (rec[4] != want)
			fail_msg("handle 0x%016llx (content %d): codec %d, expected %d", (unsigned long long)h, (int)ob->content,
			         rec[4], want);
		assert_int_equal(get_le64(rec + 24), content_hash(ob));
		assert_int_equal(get_le64(rec + 32), 1);
		if (want == CODEC_RAW) {
			/* A stored zstd frame: magic, header, raw blocks, checksum. */
			assert_int_equal(get_le32(rec + REC_HEADER), 0xFD2FB528u);
			assert_true(val.mv_size > REC_HEADER + ob->size + 8);
			assert_true(val.mv_size <= REC_HEADER + ob->size + 17 + 3 * (ob->size / (128 * 1024) + 1));
		}
		else
			assert_true(val.mv_size < REC_HEADER + ob->size / 8);
		seen++;
	}
	assert_int_equal(seen, n);
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	mdb_env_close(env);
}

static void round_trip(const struct fixture *fx, const char *codec)
{
	char dir[2200], opts[256];
	subdir(fx, codec, dir, sizeof(dir));
	snprintf(opts, sizeof(opts), LANES ",persist=1,store_sync=none,compression=%s", codec);
	int zstd = !strcmp(codec, "zstd");
	memlane_arena *a = open_ok(dir, opts);
	enum { NTEXT = 40, NZERO = 20, NRANDOM = 10, N = NTEXT + NZERO + NRANDOM };
	pobj o[N];
	size_t i = 0, compressible = 0;
	for (; i < NTEXT; i++, compressible += o[i - 1].size)
		must_alloc(a, &o[i], 64 * TU_KiB + i, 0, 0, (uint32_t)i, TEXT, i);
	for (; i < NTEXT + NZERO; i++, compressible += o[i - 1].size)
		must_alloc(a, &o[i], 32 * TU_KiB + i, i % 2 ? MEMLANE_ZERO : 0, 0, (uint32_t)i, ZEROS, i);
	for (; i < N; i++)
		must_alloc(a, &o[i], 16 * TU_KiB + i, 0, 0, (uint32_t)i, RANDOM, i);
	assert_int_equal(memlane_flush(a), 0);
	memlane_stats st = tu_stats(a);
	assert_int_equal(st.spilled_objects, N);
	size_t total = 0;
	for (i = 0; i < N; i++)
		total += o[i].size;
	assert_int_equal(st.spilled_bytes, total);
	if (zstd && st.store_bytes > (total - compressible) + compressible / 8)
		fail_msg("zstd: %llu store bytes for %zu bytes, %zu of them compressible", (unsigned long long)st.store_bytes,
		         total, compressible);
	if (!zstd && st.store_bytes < total)
		fail_msg("compression=none: %llu store bytes for %zu bytes", (unsigned long long)st.store_bytes, total);
	for (i = 0; i < N; i++)
		check(a, &o[i]);
	close_ok(a);
	check_codecs(dir, o, N, zstd);
	a = open_ok(dir, opts);
	for (i = 0; i < N; i++)
		check(a, &o[i]);
	close_ok(a);
}

static void test_compression(void **state)
{
	round_trip(*state, "none");
	round_trip(*state, "zstd");
}

/* A checkpoint while an object is pinned leaves it dirty: bytes written
 * through the pinned pointer afterwards reach the store at the next
 * eviction. (Once they did not: the eviction was "clean", and the fault-in
 * brought back the checkpoint's bytes.) */
static void test_checkpoint_while_pinned(void **state)
{
	struct fixture *fx = *state;
	memlane_arena *a = open_ok(fx->spill, LANES ",persist=1");
	memlane_alloc_opts opts = {MEMLANE_SLOW, 0, 7};
	memlane_handle h;
	assert_int_equal(memlane_alloc_ex(a, 4096, &opts, &h), 0);
	uint8_t *p, got[4096];
	assert_int_equal(memlane_pin(a, h, (void **)&p), 0);
	memset(p, 'A', 4096);
	assert_int_equal(memlane_checkpoint(a), 0);
	memset(p, 'B', 4096);
	assert_int_equal(memlane_unpin(a, h), 0);
	memlane_stats s0 = tu_stats(a);
	assert_int_equal(memlane_evict(a, h), 0);
	assert_int_equal(tu_stats(a).dirty_evictions, s0.dirty_evictions + 1);
	assert_int_equal(memlane_read(a, h, 0, got, sizeof(got)), 0);
	for (size_t i = 0; i < sizeof(got); i++)
		if (got[i] != 'B')
			fail_msg("byte %zu is '%c' after eviction and fault-in, written 'B'", i, got[i]);
	close_ok(a);
}

/* A real full file system: a 3 MiB tmpfs (as root, where mount works;
 * skipped otherwise). LMDB reports the short write as EIO; the arena
 * says MEMLANE_ENOSPC, loses nothing, goes on once there is room, and a
 * persistent store reopens as a checkpoint. */
static void test_full_disk(void **state)
{
	struct fixture *fx = *state;
	char mnt[2200], dir[2300];
	subdir(fx, "tmpfs", mnt, sizeof(mnt));
	snprintf(dir, sizeof(dir), "%s/store", mnt);
	if (geteuid() != 0 || mkdir(mnt, 0700) != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=3m") != 0) {
		skip();
		return;
	}
	enum { MAXN = 200, KEEP = 8 };
	pobj o[MAXN];
	size_t n = 0;
	memlane_arena *a = open_ok(dir, LANES ",persist=1");
	for (; n < KEEP; n++)
		must_alloc(a, &o[n], 64 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n);
	assert_int_equal(memlane_checkpoint(a), 0);
	int rc;
	while ((rc = try_alloc(a, &o[n], 64 * TU_KiB, MEMLANE_SLOW, 0, (uint32_t)n, RANDOM, n)) == 0)
		assert_true(++n < MAXN);
	if (rc != MEMLANE_ENOSPC)
		fail_msg("allocation with the disk full: %d (%s), expected MEMLANE_ENOSPC", rc, memlane_errmsg());
	errmsg_says("full");
	/* Room in the lane again: free the resident objects written since
	 * the checkpoint; every other object comes back intact. */
	size_t live = KEEP;
	for (size_t i = KEEP; i < n; i++) {
		if (memlane_handle_state(a, o[i].h) == MEMLANE_STATE_SPILLED) {
			o[live++] = o[i];
			continue;
		}
		check_resident(a, &o[i]);
		free_obj(a, &o[i]);
	}
	for (size_t i = 0; i < live; i++)
		check(a, &o[i]);
	rc = memlane_close(a); /* its checkpoint may not fit */
	assert_true(rc == 0 || rc == MEMLANE_ENOSPC);
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=64m"), 0);
	a = open_ok(dir, LANES ",persist=1");
	size_t want = rc == 0 ? live : KEEP;
	assert_int_equal(tu_stats(a).objects, want);
	for (size_t i = 0; i < want; i++)
		check(a, &o[i]);
	close_ok(a);
	assert_int_equal(umount(mnt), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		T(test_larger_than_ram),
		T(test_fault_in_get_get_ro_pin),
		T(test_fault_in_read_write),
		T(test_fault_in_realloc),
		T(test_fault_in_prefetch_try_get_idempotent),
		T(test_clean_and_dirty),
		T(test_clean_after_checkpoint),
		T(test_checkpoint_while_pinned),
		T(test_pinned_and_nospill_stay),
		T(test_nothing_evictable),
		T(test_cold_spill_first),
		T(test_policy_evicts_past_threshold),
		T(test_touched_objects_stay),
		T(test_busy),
		T(test_exists),
		T(test_reopen),
		T(test_crash_keeps_last_checkpoint),
		T(test_scratch_empty_on_reopen),
		T(test_damaged_records),
		T(test_missing_slots_record),
		T(test_damaged_root_name),
		T(test_full_store),
		T(test_full_disk),
		T(test_compression),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
