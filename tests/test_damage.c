/* test_damage.c - damaged spill stores: refused, or damage reported,
 * never wrong bytes and never a crash.
 *
 * A reference store (persist=1, objects of 0 B to 160 KiB, compressible
 * and not, both codecs, two roots, two checkpoints) is built once through
 * the public API; its data.mdb is kept in memory with the size and the
 * checksum of every object. Each case writes a fresh copy of it with one
 * kind of damage into a new directory, and a forked child opens that
 * directory with memlane_open and reads every object. The outcome must
 * be one of
 *   - refused: memlane_open fails with MEMLANE_ECORRUPT or MEMLANE_ESTORE
 *     and memlane_errmsg() names the directory;
 *   - opened: every memlane_read either returns the bytes written
 *     (checksum and size match) or MEMLANE_ECORRUPT with a message that
 *     names the handle; memlane_close returns 0, MEMLANE_ECORRUPT or
 *     MEMLANE_ESTORE.
 * Anything else fails the test: wrong bytes, another error code, a
 * message that names nothing, a crash (the child dies of a signal: the
 * fork keeps it from taking the test run down, and under ASan its report
 * is on stderr), a hang (SIGALRM after 20 s).
 *
 * The cases: a seeded loop of single bit flips anywhere in data.mdb
 * (MEMLANE_DAMAGE_FLIPS, default 300; MEMLANE_DAMAGE_SEED; one flip alone
 * with MEMLANE_DAMAGE_ONLY), flips in LMDB's pages that once crashed it,
 * a flipped byte in every record header field and in each object's
 * payload, data.mdb truncated at several sizes, replaced by random bytes
 * or zeros, a foreign LMDB environment (other databases, keys of its
 * own), an environment with memlane's databases but no format record,
 * stores of a future format, a garbage lock.mdb, damaged persist, slots
 * and handle table records. The reference store is made with a fixed
 * arena id, so its data.mdb has the same layout every run and a seed
 * flips the same structures. memlane-store(5), DAMAGED STORES, says what
 * is checked and what remains undetectable. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <lmdb.h>

#include "testutil.h"

#define NOBJ 40
#define MAX_SIZE ((size_t)160 * 1024)
#define OPTIONS "fast_lane_size=256K,slow_lane_size=2M,persist=1,store_sync=none,compression=zstd"

/* The reference store: what was written, and data.mdb's bytes. */
struct ref {
	char dir[4096];
	uint8_t *image;
	size_t len;
	memlane_handle h[NOBJ];
	size_t size[NOBJ];
	uint32_t tag[NOBJ];
	uint64_t sum[NOBJ];
	memlane_handle root_main, root_other;
};

static struct ref ref;

static char work[4096]; /* a scratch directory for the damaged copies */

/* Object @k's size: every fourth small (under the 64-byte compression
 * floor), the rest log-uniform up to 160 KiB; 0 bytes once. */
static size_t obj_size(tu_rng *r, unsigned k)
{
	if (k == 0)
		return 0;
	if (k % 4 == 1)
		return tu_range(r, 1, 63);
	size_t lo = (size_t)64 << tu_range(r, 0, 11);
	size_t n = lo + tu_range(r, 0, lo);
	return n > MAX_SIZE ? MAX_SIZE : n;
}

/* Half the objects compress (runs of one byte), half do not. */
static void obj_fill(uint8_t *buf, size_t n, unsigned k, unsigned version)
{
	uint64_t seed = tu_mix64(0xDA3A6Eull ^ ((uint64_t)version << 32) ^ k);
	if (k % 2) {
		tu_pattern(seed, 0, buf, n);
		return;
	}
	for (size_t off = 0; off < n; off += 128)
		memset(buf + off, (int)(tu_mix64(seed ^ off) & 0xff), n - off < 128 ? n - off : 128);
}

static void put_obj(memlane_arena *a, unsigned k, unsigned version)
{
	static uint8_t buf[MAX_SIZE];
	obj_fill(buf, ref.size[k], k, version);
	assert_int_equal(memlane_write(a, ref.h[k], 0, buf, ref.size[k]), 0);
	ref.sum[k] = tu_checksum(buf, ref.size[k]);
}

static uint8_t *slurp_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	uint8_t *p = malloc((size_t)sb.st_size);
	assert_non_null(p);
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return p;
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, (const uint8_t *)p + done, n - done);
		assert_true(w > 0);
		done += (size_t)w;
	}
	assert_int_equal(close(fd), 0);
}

static memlane_arena *open_ref(const char *dir)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, OPTIONS), 0);
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc)
		fail_msg("memlane_open('%s') = %d (%s)", dir, rc, memlane_errmsg());
	return a;
}

/* The arena id the reference store is made with: the same data.mdb
 * layout every run, so a seed flips the same structures. */
#define REF_ARENA_ID 0x5A5

#define MDB_OK(call)                                                                                                   \
	do {                                                                                                           \
		int mdb_rc_ = (call);                                                                                  \
		if (mdb_rc_ != 0)                                                                                      \
			fail_msg("%s: %s", #call, mdb_strerror(mdb_rc_));                                              \
	} while (0)

static void put_str(MDB_txn *t, MDB_dbi dbi, const char *k, const void *v, size_t n)
{
	MDB_val key = {strlen(k), (void *)(uintptr_t)k}, val = {n, (void *)(uintptr_t)v};
	MDB_OK(mdb_put(t, dbi, &key, &val, 0));
}

static MDB_env *lmdb_open(const char *dir)
{
	MDB_env *env;
	MDB_OK(mdb_env_create(&env));
	MDB_OK(mdb_env_set_maxdbs(env, 8));
	MDB_OK(mdb_env_open(env, dir, 0, 0600));
	return env;
}

/* A new store as memlane-store(5) describes it before its first
 * checkpoint: the four databases, format 1, persist and arena id (which
 * memlane_open takes over), written through LMDB. */
static void seed_store(const char *dir, uint64_t arena_id, uint64_t format)
{
	assert_int_equal(mkdir(dir, 0700), 0);
	MDB_env *env = lmdb_open(dir);
	MDB_txn *t;
	MDB_dbi dbi;
	MDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	static const char *const names[] = {"objects", "handles", "roots", "meta"};
	for (size_t i = 0; i < TU_ARRAY_LEN(names); i++)
		MDB_OK(mdb_dbi_open(t, names[i], MDB_CREATE, &dbi));
	uint8_t b[8], p = 1;
	memcpy(b, &format, 8);
	put_str(t, dbi, "format", b, 8);
	put_str(t, dbi, "persist", &p, 1);
	memcpy(b, &arena_id, 8);
	put_str(t, dbi, "arena_id", b, 8);
	MDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
}

/* Build the reference store: every object written, some evicted, a
 * checkpoint, a third rewritten, a flush, a second checkpoint at close. */
static int group_setup(void **state)
{
	(void)state;
	char base[4000];
	assert_int_equal(tu_mkdtemp(base, sizeof(base), "damage"), 0);
	snprintf(ref.dir, sizeof(ref.dir), "%s/ref", base);
	snprintf(work, sizeof(work), "%s", base);
	tu_rng r = {0x5EED};
	seed_store(ref.dir, REF_ARENA_ID, 1);
	memlane_arena *a = open_ref(ref.dir);
	for (unsigned k = 0; k < NOBJ; k++) {
		ref.size[k] = obj_size(&r, k);
		ref.tag[k] = 1000 + k;
		memlane_alloc_opts o = {k % 5 == 0 ? MEMLANE_COLD : 0, k % 7 == 0 ? 4096 : 0, ref.tag[k]};
		assert_int_equal(memlane_alloc_ex(a, ref.size[k], &o, &ref.h[k]), 0);
		put_obj(a, k, 0);
		if (k % 3 == 0)
			assert_int_equal(memlane_evict(a, ref.h[k]), 0);
	}
	ref.root_main = ref.h[3];
	ref.root_other = ref.h[10];
	assert_int_equal(memlane_root_set(a, "main", ref.root_main), 0);
	assert_int_equal(memlane_root_set(a, "other", ref.root_other), 0);
	assert_int_equal(memlane_checkpoint(a), 0);
	for (unsigned k = 0; k < NOBJ; k += 3)
		put_obj(a, k, 1);
	assert_int_equal(memlane_flush(a), 0);
	assert_int_equal(memlane_close(a), 0);
	char path[4200];
	snprintf(path, sizeof(path), "%s/data.mdb", ref.dir);
	ref.image = slurp_file(path, &ref.len);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(ref.image);
	tu_rm_rf(work);
	return 0;
}

/* ---- the child: open and read everything ------------------------------------ */

enum outcome {
	OUT_CLEAN,    /* opened, every object exact */
	OUT_REFUSED,  /* memlane_open refused with a clear error */
	OUT_REPORTED, /* opened, some reads MEMLANE_ECORRUPT, the rest exact */
	OUT_COUNT,
	OUT_BAD = 20 /* exit statuses from here: a failure, said on stderr */
};
static const char *const outcome_names[OUT_COUNT] = {"read back exact", "refused by memlane_open",
                                                     "damaged objects reported"};

static void child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void child_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "test_damage: child: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	_exit(OUT_BAD);
}

static bool clear_error(int rc)
{
	return rc == MEMLANE_ECORRUPT || rc == MEMLANE_ESTORE;
}

static void child_check(const char *dir) __attribute__((noreturn));
static void child_check(const char *dir)
{
	/* cmocka's handlers would carry on with the test in the child. */
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < TU_ARRAY_LEN(sigs); i++)
		signal(sigs[i], SIG_DFL);
	alarm(20);
	memlane_config cfg;
	memlane_config_init(&cfg);
	if (memlane_config_parse(&cfg, OPTIONS) != 0)
		child_fail("options: %s", memlane_errmsg());
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc) {
		if (!clear_error(rc))
			child_fail("memlane_open = %d (%s): %s", rc, memlane_strerror(rc), memlane_errmsg());
		if (!strstr(memlane_errmsg(), dir))
			child_fail("memlane_open = %d, but the message names no file: %s", rc, memlane_errmsg());
		_exit(OUT_REFUSED);
	}
	static uint8_t buf[MAX_SIZE];
	unsigned damaged = 0;
	for (unsigned k = 0; k < NOBJ; k++) {
		memlane_handle h = ref.h[k];
		size_t n = memlane_size(a, h);
		if (n > MAX_SIZE) {
			damaged++; /* a size the table got wrong: the read must fail */
			n = MAX_SIZE;
		}
		rc = memlane_read(a, h, 0, buf, n);
		if (rc == MEMLANE_ECORRUPT) {
			char hs[32];
			snprintf(hs, sizeof(hs), "%016llx", (unsigned long long)h);
			if (!strstr(memlane_errmsg(), hs))
				child_fail("object %u: MEMLANE_ECORRUPT, but the message names no handle: %s", k,
				           memlane_errmsg());
			damaged++;
			continue;
		}
		if (rc)
			child_fail("object %u (handle 0x%016llx): memlane_read = %d (%s): %s", k, (unsigned long long)h, rc,
			           memlane_strerror(rc), memlane_errmsg());
		if (n != ref.size[k] || tu_checksum(buf, n) != ref.sum[k])
			child_fail("object %u (handle 0x%016llx): read back %zu bytes, not the %zu bytes written (checksum "
			           "%s)",
			           k, (unsigned long long)h, n, ref.size[k],
			           n == ref.size[k] ? "differs" : "not compared");
	}
	rc = memlane_close(a);
	if (rc && !clear_error(rc))
		child_fail("memlane_close = %d (%s): %s", rc, memlane_strerror(rc), memlane_errmsg());
	_exit(damaged ? OUT_REPORTED : OUT_CLEAN);
}

/* Run the check on @dir in a child. Returns the outcome; a failure
 * (the child's message is on stderr, this one says which case) is
 * OUT_COUNT. */
static int check_dir_quiet(const char *dir, const char *what)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_check(dir);
	int status;
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	assert_int_equal(w, pid);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "FAIL: %s: the child died of signal %d (%s)%s\n", what, WTERMSIG(status),
		        strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGALRM ? ": it hung" : "");
		return OUT_COUNT;
	}
	int code = WEXITSTATUS(status);
	if (code >= OUT_COUNT) {
		fprintf(stderr, "FAIL: %s: the child found a failure (exit %d; its message is above)\n", what, code);
		return OUT_COUNT;
	}
	return code;
}

/* The same, failing the test on a failure. */
static enum outcome check_dir(const char *dir, const char *what)
{
	int o = check_dir_quiet(dir, what);
	if (o == OUT_COUNT)
		fail_msg("%s: see above", what);
	return (enum outcome)o;
}

/* A fresh directory holding @image as data.mdb (and nothing else). */
static void make_copy(const char *dir, const uint8_t *image, size_t len)
{
	tu_rm_rf(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	char path[4200];
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	write_file(path, image, len);
}

static void copy_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", work, name);
}

/* ---- tests ------------------------------------------------------------------ */

/* The reference store itself reads back exact: the checks can pass. */
static void test_reference_is_sound(void **state)
{
	(void)state;
	char dir[4200];
	copy_path(dir, sizeof(dir), "sound");
	make_copy(dir, ref.image, ref.len);
	assert_int_equal(check_dir(dir, "the undamaged copy"), OUT_CLEAN);
}

/* Single bit flips anywhere in data.mdb, each in a fresh copy. */
static void test_random_flips(void **state)
{
	(void)state;
	unsigned n = (unsigned)tu_env_u64("MEMLANE_DAMAGE_FLIPS", 300);
	uint64_t seed = tu_env_u64("MEMLANE_DAMAGE_SEED", 1);
	tu_rng r = {seed};
	unsigned count[OUT_COUNT + 1] = {0};
	/* MEMLANE_DAMAGE_ONLY=i: flip number i - 1 only, to look into one. */
	unsigned only = (unsigned)tu_env_u64("MEMLANE_DAMAGE_ONLY", 0);
	char dir[4200], what[200];
	copy_path(dir, sizeof(dir), "flip");
	uint8_t *img = malloc(ref.len);
	assert_non_null(img);
	for (unsigned i = 0; i < n; i++) {
		size_t off = tu_range(&r, 0, ref.len - 1);
		unsigned bit = (unsigned)tu_range(&r, 0, 7);
		memcpy(img, ref.image, ref.len);
		img[off] ^= (uint8_t)(1u << bit);
		if (only && i + 1 != only)
			continue;
		make_copy(dir, img, ref.len);
		snprintf(what, sizeof(what), "flip %u (seed %llu): bit %u of byte %zu of %zu", i, (unsigned long long)seed,
		         bit, off, ref.len);
		count[check_dir_quiet(dir, what)]++;
	}
	free(img);
	print_message("%u bit flips in a %zu-byte data.mdb (seed %llu):\n", n, ref.len, (unsigned long long)seed);
	for (int o = 0; o < OUT_COUNT; o++)
		print_message("  %-28s %u\n", outcome_names[o], count[o]);
	if (count[OUT_COUNT])
		fail_msg("%u of %u flips failed (each is listed above)", count[OUT_COUNT], n);
}

/* Where this process maps @dir/data.mdb (LMDB tells only with
 * MDB_FIXEDMAP): from /proc/self/maps. */
static const uint8_t *map_base(const char *dir)
{
	char want[4200], line[8192];
	snprintf(want, sizeof(want), "%s/data.mdb", dir);
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	unsigned long long lo = 0, found = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		size_t n = strlen(line), w = strlen(want);
		if (n >= w && strcmp(line + n - w, want) == 0 && sscanf(line, "%llx-", &lo) == 1) {
			found = lo;
			break;
		}
	}
	fclose(f);
	if (!found)
		fail_msg("'%s' is not mapped", want);
	return (const uint8_t *)(uintptr_t)found;
}

/* Where each record of the reference store is in data.mdb (offset and
 * length, in pairs): LMDB hands
 * out pointers into its map of the file (never MDB_WRITEMAP here). Free
 * pages may hold stale copies, so searching for the magic would not do. */
static size_t *record_offsets(size_t *n)
{
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi objects;
	MDB_cursor *cur;
	MDB_OK(mdb_env_create(&env));
	MDB_OK(mdb_env_set_maxdbs(env, 8));
	MDB_OK(mdb_env_open(env, ref.dir, MDB_RDONLY, 0600));
	MDB_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &t));
	const uint8_t *base = map_base(ref.dir);
	MDB_OK(mdb_dbi_open(t, "objects", 0, &objects));
	MDB_OK(mdb_cursor_open(t, objects, &cur));
	size_t *at = calloc(NOBJ * 4, sizeof(*at)), k = 0;
	assert_non_null(at);
	MDB_val key, v;
	for (; k < NOBJ * 2 && mdb_cursor_get(cur, &key, &v, k ? MDB_NEXT : MDB_FIRST) == 0; k++) {
		at[2 * k] = (size_t)((const uint8_t *)v.mv_data - base);
		at[2 * k + 1] = v.mv_size;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	mdb_env_close(env);
	*n = k;
	return at;
}

/* Bit flips that crashed LMDB (SIGSEGV, SIGBUS, a heap overflow in a
 * page split at memlane_close) before memlane_open checked the pages
 * (lib/mdbcheck.c): found by seeds 2 to 8 of test_random_flips at
 * 4000 flips, in branch, leaf and free-list pages of this reference
 * store. Each must now be refused or reported. */
static void test_page_damage(void **state)
{
	(void)state;
	static const struct {
		size_t off;
		unsigned bit;
	} flips[] = {{520205, 5}, {28749, 3}, {512023, 3}, {532245, 0}, {528397, 4}, {510716, 2}, {12231, 4}};
	char dir[4200], what[200];
	copy_path(dir, sizeof(dir), "page");
	uint8_t *img = malloc(ref.len);
	assert_non_null(img);
	unsigned refused = 0;
	for (size_t i = 0; i < TU_ARRAY_LEN(flips); i++) {
		if (flips[i].off >= ref.len)
			continue;
		memcpy(img, ref.image, ref.len);
		img[flips[i].off] ^= (uint8_t)(1u << flips[i].bit);
		make_copy(dir, img, ref.len);
		snprintf(what, sizeof(what), "bit %u of byte %zu", flips[i].bit, flips[i].off);
		refused += check_dir(dir, what) == OUT_REFUSED;
	}
	free(img);
	print_message("%u of %zu page flips refused by memlane_open\n", refused, TU_ARRAY_LEN(flips));
}

/* A byte of every field of the record headers (each field in every
 * fourth record), and of each payload:
 * each record is found by its magic ("MLR1") in data.mdb. Payload and
 * checked fields must be reported; the tag, flags and alignment of a
 * record, its epoch and reserved bytes are not read back (the handle
 * table is what counts), so those may read back exact. So may the hash:
 * every record's zstd frame carries its own checksum of the same bytes,
 * which is what the library and memlane-dump check (memlane-store(5));
 * the header's hash counts only for a frame without one. */
static void test_record_fields(void **state)
{
	(void)state;
	static const struct {
		size_t off;
		const char *name;
		bool checked;
	} fields[] = {
		{0, "magic", true},    {4, "codec", true},     {5, "alignment", false}, {6, "flags", false},
		{7, "reserved", false}, {8, "tag", false},     {12, "reserved", false}, {16, "size", true},
		{24, "hash", false},    {32, "epoch", false},   {40, "payload start", true},
		{44, "frame header descriptor", true}, /* its checksum flag among others */
	};
	static const uint8_t magic[4] = {0x4d, 0x4c, 0x52, 0x31};
	char dir[4200], what[200];
	copy_path(dir, sizeof(dir), "field");
	uint8_t *img = malloc(ref.len);
	assert_non_null(img);
	unsigned records = 0, cases = 0, reported = 0;
	size_t nrec;
	size_t *where = record_offsets(&nrec);
	for (size_t r = 0; r < nrec; r++) {
		size_t at = where[2 * r], len = where[2 * r + 1];
		if (memcmp(ref.image + at, magic, 4) != 0)
			fail_msg("no record magic at byte %zu", at);
		records++;
		for (size_t f = 0; f <= TU_ARRAY_LEN(fields); f++) {
			/* The last case: a byte in the middle of the payload. */
			bool mid = f == TU_ARRAY_LEN(fields);
			if (!mid && (f + r) % 4 != 0)
				continue; /* every field in every fourth record */
			size_t off = mid ? at + 40 + (len - 40) / 2 : at + fields[f].off;
			if (mid && len < 48)
				continue;
			memcpy(img, ref.image, ref.len);
			img[off] ^= 0x24;
			make_copy(dir, img, ref.len);
			snprintf(what, sizeof(what), "record at byte %zu: field %s", at, mid ? "payload" : fields[f].name);
			enum outcome o = check_dir(dir, what);
			cases++;
			reported += o == OUT_REPORTED;
			if ((mid || fields[f].checked) && o == OUT_CLEAN)
				fail_msg("%s: damage in a checked field went unnoticed", what);
		}
	}
	free(img);
	free(where);
	print_message("%u records, %u damaged copies, %u with the damage reported\n", records, cases, reported);
	assert_true(records >= NOBJ);
}

/* data.mdb cut short: refused, never a SIGBUS. An empty data.mdb is what
 * a crash leaves between creating the file and its first write: a new
 * store. */
static void test_truncated(void **state)
{
	(void)state;
	size_t cuts[] = {4096, 8192, 12288, ref.len / 2, ref.len - 4096, ref.len - 1};
	char dir[4200], what[200];
	copy_path(dir, sizeof(dir), "cut");
	for (size_t i = 0; i < TU_ARRAY_LEN(cuts); i++) {
		make_copy(dir, ref.image, cuts[i]);
		snprintf(what, sizeof(what), "data.mdb cut to %zu of %zu bytes", cuts[i], ref.len);
		enum outcome o = check_dir(dir, what);
		if (o != OUT_REFUSED)
			fail_msg("%s: %s, expected refused", what, outcome_names[o]);
	}
	make_copy(dir, ref.image, 0);
	memlane_arena *a = open_ref(dir);
	assert_int_equal(tu_stats(a).objects, 0);
	assert_int_equal(memlane_close(a), 0);
}

/* Not an LMDB file at all: random bytes, zeros. */
static void test_not_lmdb(void **state)
{
	(void)state;
	char dir[4200];
	copy_path(dir, sizeof(dir), "garbage");
	uint8_t *img = malloc(ref.len);
	assert_non_null(img);
	tu_pattern(77, 0, img, ref.len);
	make_copy(dir, img, ref.len);
	assert_int_equal(check_dir(dir, "data.mdb of random bytes"), OUT_REFUSED);
	memset(img, 0, ref.len);
	make_copy(dir, img, ref.len);
	assert_int_equal(check_dir(dir, "data.mdb of zeros"), OUT_REFUSED);
	free(img);
}

/* memlane_open on @dir fails with @want, naming data.mdb, and leaves
 * data.mdb as it was. */
static void expect_refused(const char *dir, int want, const char *what)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	size_t n0, n1;
	uint8_t *before = slurp_file(path, &n0);
	memlane_config cfg;
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, OPTIONS), 0);
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc != want)
		fail_msg("%s: memlane_open = %d (%s), expected %d", what, rc, memlane_errmsg(), want);
	if (!strstr(memlane_errmsg(), path))
		fail_msg("%s: the message does not name '%s': %s", what, path, memlane_errmsg());
	assert_null(a);
	uint8_t *after = slurp_file(path, &n1);
	if (n0 != n1 || memcmp(before, after, n0) != 0)
		fail_msg("%s: memlane_open changed '%s'", what, path);
	free(before);
	free(after);
}

/* LMDB environments that are not memlane stores, and a memlane store of
 * a future format, in the spill directory. */
static void test_foreign(void **state)
{
	(void)state;
	char dir[4200];
	MDB_txn *t;
	MDB_dbi dbi;
	/* Another program's environment: a database of its own, a key in
	 * the main database. */
	copy_path(dir, sizeof(dir), "foreign");
	tu_rm_rf(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	MDB_env *env = lmdb_open(dir);
	MDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	MDB_OK(mdb_dbi_open(t, "stuff", MDB_CREATE, &dbi));
	put_str(t, dbi, "hello", "world", 5);
	MDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
	expect_refused(dir, MEMLANE_ESTORE, "an LMDB environment with a database 'stuff'");
	/* One with memlane's databases, records in them, no format. */
	copy_path(dir, sizeof(dir), "noformat");
	tu_rm_rf(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	env = lmdb_open(dir);
	MDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	static const char *const names[] = {"meta", "handles", "roots", "objects"};
	for (size_t i = 0; i < TU_ARRAY_LEN(names); i++)
		MDB_OK(mdb_dbi_open(t, names[i], MDB_CREATE, &dbi));
	put_str(t, dbi, "some key", "some value", 10);
	MDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
	expect_refused(dir, MEMLANE_ESTORE, "memlane's databases, records, no format record");
	/* The same, empty: what a crash leaves before the first write
	 * transaction: a new store. */
	copy_path(dir, sizeof(dir), "empty");
	tu_rm_rf(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	env = lmdb_open(dir);
	MDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	for (size_t i = 0; i < TU_ARRAY_LEN(names); i++)
		MDB_OK(mdb_dbi_open(t, names[i], MDB_CREATE, &dbi));
	MDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
	memlane_arena *a = open_ref(dir);
	assert_int_equal(tu_stats(a).objects, 0);
	assert_int_equal(memlane_close(a), 0);
	/* A store of format 2, and one whose format record is 4 bytes:
	 * the reference store with its format record changed. */
	for (int k = 0; k < 2; k++) {
		copy_path(dir, sizeof(dir), "future");
		make_copy(dir, ref.image, ref.len);
		env = lmdb_open(dir);
		MDB_OK(mdb_txn_begin(env, NULL, 0, &t));
		MDB_OK(mdb_dbi_open(t, "meta", 0, &dbi));
		uint8_t f[8] = {2, 0, 0, 0, 0, 0, 0, 0};
		put_str(t, dbi, "format", f, k ? 4 : 8);
		MDB_OK(mdb_txn_commit(t));
		mdb_env_close(env);
		expect_refused(dir, MEMLANE_ECORRUPT, k ? "a 4-byte format record" : "store format 2");
		if (!k && !strstr(memlane_errmsg(), "format 2"))
			fail_msg("store format 2: the message does not say so: %s", memlane_errmsg());
	}
}

/* A lock.mdb of garbage next to a sound data.mdb: the first process to
 * open the environment rebuilds its lock file. */
static void test_garbage_lock_file(void **state)
{
	(void)state;
	char dir[4200], path[4300];
	copy_path(dir, sizeof(dir), "lock");
	make_copy(dir, ref.image, ref.len);
	uint8_t junk[8192];
	tu_pattern(5, 0, junk, sizeof(junk));
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	write_file(path, junk, sizeof(junk));
	enum outcome o = check_dir(dir, "lock.mdb of random bytes");
	if (o != OUT_CLEAN && o != OUT_REFUSED)
		fail_msg("lock.mdb of random bytes: %s", outcome_names[o]);
}

/* A copy of the reference store changed through LMDB: @key of database
 * @db set to @n bytes at @v, or deleted when @v is NULL. */
static void changed_copy(const char *dir, const char *db, const void *key, size_t klen, const void *v, size_t n)
{
	make_copy(dir, ref.image, ref.len);
	MDB_env *env = lmdb_open(dir);
	MDB_txn *t;
	MDB_dbi dbi;
	MDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	MDB_OK(mdb_dbi_open(t, db, 0, &dbi));
	MDB_val k = {klen, (void *)(uintptr_t)key}, val = {n, (void *)(uintptr_t)v};
	if (v)
		MDB_OK(mdb_put(t, dbi, &k, &val, 0));
	else
		MDB_OK(mdb_del(t, dbi, &k, NULL));
	MDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
}

/* Damage in the meta records and the handle table that once passed:
 * a persist record of 0 had the checkpointed store deleted as scratch,
 * a missing slots record restored an empty arena (and dropped every
 * record), a table size no lane holds was MEMLANE_ETOOBIG. */
static void test_meta_damage(void **state)
{
	(void)state;
	char dir[4200];
	copy_path(dir, sizeof(dir), "meta");
	uint8_t zero = 0;
	changed_copy(dir, "meta", "persist", 7, &zero, 1);
	expect_refused(dir, MEMLANE_ECORRUPT, "persist record 0 in a checkpointed store");
	changed_copy(dir, "meta", "slots", 5, NULL, 0);
	expect_refused(dir, MEMLANE_ECORRUPT, "slots record missing");
	/* Object 5's table entry says 1 TiB. */
	uint8_t hk[8], e[32];
	for (int i = 0; i < 8; i++)
		hk[i] = (uint8_t)(ref.h[5] >> (56 - 8 * i));
	memset(e, 0, sizeof(e));
	make_copy(dir, ref.image, ref.len);
	MDB_env *env = lmdb_open(dir);
	MDB_txn *t;
	MDB_dbi dbi;
	MDB_OK(mdb_txn_begin(env, NULL, MDB_RDONLY, &t));
	MDB_OK(mdb_dbi_open(t, "handles", 0, &dbi));
	MDB_val k = {8, hk}, v;
	MDB_OK(mdb_get(t, dbi, &k, &v));
	assert_int_equal(v.mv_size, sizeof(e));
	memcpy(e, v.mv_data, sizeof(e));
	mdb_txn_abort(t);
	mdb_env_close(env);
	uint64_t big = (uint64_t)1 << 40;
	memcpy(e + 8, &big, 8);
	changed_copy(dir, "handles", hk, 8, e, sizeof(e));
	memlane_arena *a = open_ref(dir);
	static uint8_t buf[MAX_SIZE];
	assert_int_equal(memlane_read(a, ref.h[5], 0, buf, 16), MEMLANE_ECORRUPT);
	char hs[32];
	snprintf(hs, sizeof(hs), "%016llx", (unsigned long long)ref.h[5]);
	if (!strstr(memlane_errmsg(), hs))
		fail_msg("the message does not name handle %s: %s", hs, memlane_errmsg());
	for (unsigned k2 = 0; k2 < NOBJ; k2++) {
		if (k2 == 5)
			continue;
		assert_int_equal(memlane_read(a, ref.h[k2], 0, buf, ref.size[k2]), 0);
		assert_true(tu_checksum(buf, ref.size[k2]) == ref.sum[k2]);
	}
	assert_int_equal(memlane_close(a), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_reference_is_sound),
	cmocka_unit_test(test_random_flips),
	cmocka_unit_test(test_page_damage),
	cmocka_unit_test(test_record_fields),
	cmocka_unit_test(test_truncated),
	cmocka_unit_test(test_not_lmdb),
	cmocka_unit_test(test_foreign),
	cmocka_unit_test(test_garbage_lock_file),
	cmocka_unit_test(test_meta_damage),
};

int main(void)
{
	tu_init();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
