/* test_crash.c - persist=1 survives SIGKILL at any moment.
 *
 * A child process works on a persistent arena in a temporary directory
 * through versions 1, 2, 3, ...: each version rewrites, resizes, or frees
 * and reallocates (new handles) a deterministic part of a fixed set of
 * NOBJ objects (16 B to 64 KiB), writes the index object (root "index":
 * the version and every live handle), evicts and flushes along the way,
 * and ends with memlane_checkpoint; after each checkpoint returns it
 * reports the version on a pipe. The lanes are small (FastLane 256K,
 * SlowLane 2M) so objects are evicted all the time.
 *
 * The parent kills the child with SIGKILL at a random moment, or on
 * purpose while it is inside a checkpoint, an eviction, or still in
 * memlane_open, then reopens the directory and checks that what came back
 * is exactly version v or v+1, v being the last version the child
 * reported: the index's version is one of the two, every object holds
 * that version's bytes, size, tag and alignment (a "plan" computes them
 * from the version alone, independently of what is in the store), the
 * handles the version freed are invalid, and stats.objects is exactly
 * NOBJ + 1 (the index). The next child continues from there in the same
 * directory. After each verification (and the checkpoint its close
 * makes) the store files, read with LMDB directly, hold exactly one
 * record per live object and the handle table names exactly those: no
 * record a killed child wrote after its last checkpoint is left behind.
 *
 * Some versions end in memlane_close and a reopen by the child itself
 * instead of a checkpoint, so kills land in five places: anywhere, in an
 * eviction, in a checkpoint, in a close, and in memlane_open (of the
 * directory the parent verified, one to three children in a row, or the
 * child's own reopen). Each kill's phase is where the child really was
 * (read from the shared page once it is dead); the test prints how many
 * it survived per phase. When no checkpoint or close had begun since the
 * child's last report, exactly the reported version must come back.
 *
 * MEMLANE_CRASH_ROUNDS sets the number of rounds (default 96, about 110
 * kills; open rounds kill up to three children),
 * MEMLANE_CRASH_SEED the seed of the options and kill times. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <lmdb.h>

#include "testutil.h"

#define NOBJ 200
#define MAX_SIZE ((size_t)64 * 1024)
#define PLAN_SALT 0x504c414eull    /* "PLAN" */
#define SIZE_SALT 0x53495a45ull    /* "SIZE" */
#define CONTENT_SALT 0x434f4e54ull /* "CONT" */
#define STAMP 16                   /* bytes 0-15 of every object: version, object number, size */

/* Lanes small enough that ~1.6 MB of objects never fit: evictions all
 * the time, in the child and in the parent's verification. */
#define LANES "fast_lane_size=256K,slow_lane_size=2M,threshold=2K"

/* ---- the plan: what version v holds, computed from v alone ------------ */

enum op { OP_KEEP, OP_REWRITE, OP_RESIZE, OP_REPLACE };

/* What version @v does to object @k. Version 1 creates every object. */
static enum op plan_op(uint64_t v, unsigned k)
{
	if (v == 1)
		return OP_REPLACE;
	unsigned r = (unsigned)(tu_mix64(PLAN_SALT ^ (v << 16) ^ k) % 16);
	return r < 7 ? OP_KEEP : r < 11 ? OP_REWRITE : r < 13 ? OP_RESIZE : OP_REPLACE;
}

/* The size object @k gets when version @v resizes or replaces it:
 * log-uniform, 16 B to 64 KiB. */
static size_t plan_size(uint64_t v, unsigned k)
{
	uint64_t r = tu_mix64(SIZE_SALT ^ (v << 16) ^ k);
	size_t lo = (size_t)1 << (4 + r % 12);
	return lo + (size_t)((r >> 8) % (lo + 1));
}

/* Alignment asked for object @k (0: the default). */
static size_t plan_align(unsigned k)
{
	return k % 7 == 0 ? 4096 : k % 3 == 0 ? 64 : 0;
}

/* One object as of some version: its size and the version whose bytes
 * it holds (the last one that wrote it). */
struct expect {
	size_t size;
	uint64_t v;
};

static void plan_apply(uint64_t v, struct expect e[NOBJ])
{
	for (unsigned k = 0; k < NOBJ; k++) {
		enum op op = plan_op(v, k);
		if (op == OP_KEEP)
			continue;
		if (op != OP_REWRITE)
			e[k].size = plan_size(v, k);
		e[k].v = v;
	}
}

/* Every object as of version @V (version 0: none yet). */
static void plan_state(uint64_t V, struct expect e[NOBJ])
{
	memset(e, 0, NOBJ * sizeof(*e));
	for (uint64_t v = 1; v <= V; v++)
		plan_apply(v, e);
}

/* The bytes of object @k written by version @v: a stamp (version,
 * object number, size), then 64-byte runs, each either one repeated
 * byte or pseudo-random bytes, so records are partly compressible. */
static void content_fill(uint64_t v, unsigned k, uint8_t *buf, size_t n)
{
	uint64_t seed = tu_mix64(CONTENT_SALT ^ (v << 16) ^ k);
	for (size_t off = 0; off < n; off += 64) {
		size_t len = n - off < 64 ? n - off : 64;
		uint64_t run = tu_mix64(seed ^ (off / 64));
		if (run & 1)
			memset(buf + off, (int)((run >> 8) & 0xff), len);
		else
			tu_pattern(run, 0, buf + off, len);
	}
	uint8_t stamp[STAMP];
	uint32_t k32 = k, n32 = (uint32_t)n;
	memcpy(stamp, &v, 8);
	memcpy(stamp + 8, &k32, 4);
	memcpy(stamp + 12, &n32, 4);
	memcpy(buf, stamp, n < STAMP ? n : STAMP);
}

/* ---- the index object ------------------------------------------------ */

/* u64 words: magic, version, NOBJ, number of dead handles, NOBJ live
 * handles, then the handles this version freed (objects replaced, the
 * old index). */
#define INDEX_MAGIC 0x5844494853415243ull /* "CRASHIDX" */
#define IX_MAGIC 0
#define IX_VERSION 1
#define IX_COUNT 2
#define IX_NDEAD 3
#define IX_LIVE 4
#define IX_DEAD (IX_LIVE + NOBJ)
#define NDEAD_MAX (NOBJ + 1)
#define IX_WORDS (IX_DEAD + NDEAD_MAX)
#define INDEX_SIZE (IX_WORDS * sizeof(uint64_t))

/* ---- what parent and child share ------------------------------------- */

/* Where the child is, for the parent to aim its kill. In a MAP_SHARED
 * page: lock-free atomics work across processes. */
enum phase { PH_START, PH_OPEN, PH_WORK, PH_EVICT, PH_CHECKPOINT, PH_CLOSE, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"start (before memlane_open)", "open/reopen", "work",
                                                  "eviction (evict/flush)", "checkpoint", "close"};

struct shared {
	atomic_int phase;
	atomic_uint started[PH_COUNT]; /* how often the child entered each phase */
	atomic_ullong open_ns;         /* how long its last memlane_open took */
};

/* Pipe messages: READY | recovered version once open, then each
 * checkpointed version. */
#define MSG_READY ((uint64_t)1 << 63)

/* Exit status of a child that found something wrong (it says what on
 * stderr). */
#define CHILD_FAILED 3

/* ---- the child ------------------------------------------------------- */

/* The child never returns into cmocka: it reports and _exits. */
static void child_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void child_fail(int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "test_crash.c:%d: child: ", line);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	_exit(CHILD_FAILED);
}

#define CHILD_RC(call)                                                                                                 \
	do {                                                                                                           \
		int crc_ = (call);                                                                                     \
		if (crc_ != 0)                                                                                         \
			child_fail(__LINE__, "%s = %d (%s)", #call, crc_, memlane_errmsg());                           \
	} while (0)

/* The child's view of the arena: the current version and its objects. */
struct world {
	memlane_arena *a;
	struct shared *sh;
	tu_rng rng;
	bool background; /* a policy thread runs: no unpinned pointers */
	uint64_t version;
	memlane_handle index;
	memlane_handle h[NOBJ];
	struct expect e[NOBJ];
	memlane_handle dead[NDEAD_MAX]; /* freed by the version in progress */
	size_t ndead;
	uint8_t buf[MAX_SIZE];
};

static void set_phase(struct world *w, enum phase p)
{
	atomic_fetch_add(&w->sh->started[p], 1);
	atomic_store(&w->sh->phase, (int)p);
}

static void send_u64(int fd, uint64_t v)
{
	ssize_t n = write(fd, &v, sizeof(v));
	if (n != (ssize_t)sizeof(v))
		child_fail(__LINE__, "write to the pipe: %s", strerror(errno));
}

static void child_evict(struct world *w, memlane_handle h)
{
	set_phase(w, PH_EVICT);
	CHILD_RC(memlane_evict(w->a, h));
	set_phase(w, PH_WORK);
}

static void child_flush(struct world *w)
{
	set_phase(w, PH_EVICT);
	CHILD_RC(memlane_flush(w->a));
	set_phase(w, PH_WORK);
}

/* Write version @v's bytes into object @k (already of the right size),
 * one of four ways; one of them evicts the object half written, so the
 * store holds a record no checkpoint may ever name. */
static void write_content(struct world *w, unsigned k, uint64_t v)
{
	memlane_arena *a = w->a;
	memlane_handle h = w->h[k];
	size_t n = memlane_size(a, h), half = n / 2;
	content_fill(v, k, w->buf, n);
	void *p;
	switch (tu_range(&w->rng, 0, 3)) {
	case 0:
		CHILD_RC(memlane_write(a, h, 0, w->buf, n));
		break;
	case 1:
		CHILD_RC(memlane_pin(a, h, &p));
		memcpy(p, w->buf, n);
		CHILD_RC(memlane_unpin(a, h));
		break;
	case 2:
		CHILD_RC(memlane_write(a, h, 0, w->buf, half));
		child_evict(w, h);
		CHILD_RC(memlane_write(a, h, half, w->buf + half, n - half));
		break;
	default:
		CHILD_RC(memlane_write(a, h, half, w->buf + half, n - half));
		if (!w->background && (p = memlane_get(a, h)) != NULL)
			memcpy(p, w->buf, half);
		else
			CHILD_RC(memlane_write(a, h, 0, w->buf, half));
		break;
	}
}

static void child_verify(struct world *w, unsigned k)
{
	size_t n = w->e[k].size;
	if (memlane_size(w->a, w->h[k]) != n)
		child_fail(__LINE__, "object %u: size %zu, expected %zu", k, memlane_size(w->a, w->h[k]), n);
	static uint8_t want[MAX_SIZE];
	content_fill(w->e[k].v, k, want, n);
	CHILD_RC(memlane_read(w->a, w->h[k], 0, w->buf, n));
	if (memcmp(want, w->buf, n) != 0)
		child_fail(__LINE__, "object %u (version %llu) does not hold its bytes", k, (unsigned long long)w->e[k].v);
}

static void replace_object(struct world *w, unsigned k, uint64_t v)
{
	static const unsigned flag_choice[] = {0, 0, MEMLANE_COLD, MEMLANE_SLOW};
	memlane_alloc_opts o = {flag_choice[tu_range(&w->rng, 0, 3)], plan_align(k), k + 1};
	memlane_handle old = w->h[k];
	/* Freeing first lets the new object take the old slot (a new
	 * generation of the same slot index). */
	bool free_first = tu_range(&w->rng, 0, 1);
	if (old && free_first)
		CHILD_RC(memlane_free(w->a, old));
	CHILD_RC(memlane_alloc_ex(w->a, plan_size(v, k), &o, &w->h[k]));
	if (old && !free_first)
		CHILD_RC(memlane_free(w->a, old));
	if (old)
		w->dead[w->ndead++] = old;
}

static void apply_op(struct world *w, unsigned k, uint64_t v)
{
	switch (plan_op(v, k)) {
	case OP_KEEP:
		if (tu_range(&w->rng, 0, 7) == 0)
			child_verify(w, k);
		return;
	case OP_REWRITE:
		break;
	case OP_RESIZE:
		CHILD_RC(memlane_realloc(w->a, w->h[k], plan_size(v, k)));
		break;
	case OP_REPLACE:
		replace_object(w, k, v);
		break;
	}
	write_content(w, k, v);
	if (tu_range(&w->rng, 0, 15) == 0)
		child_evict(w, w->h[k]);
}

/* Write the index of version @v; now and then into a new index object,
 * so the root moves too. */
static void write_index(struct world *w, uint64_t v)
{
	memlane_arena *a = w->a;
	if (!w->index || v % 5 == 0) {
		memlane_handle old = w->index;
		memlane_alloc_opts o = {tu_range(&w->rng, 0, 1) ? MEMLANE_COLD : 0, 0, 0};
		CHILD_RC(memlane_alloc_ex(a, INDEX_SIZE, &o, &w->index));
		CHILD_RC(memlane_root_set(a, "index", w->index));
		if (old) {
			CHILD_RC(memlane_free(a, old));
			w->dead[w->ndead++] = old;
		}
	}
	uint64_t ix[IX_WORDS] = {0};
	ix[IX_MAGIC] = INDEX_MAGIC;
	ix[IX_VERSION] = v;
	ix[IX_COUNT] = NOBJ;
	ix[IX_NDEAD] = w->ndead;
	memcpy(&ix[IX_LIVE], w->h, sizeof(w->h));
	memcpy(&ix[IX_DEAD], w->dead, w->ndead * sizeof(w->dead[0]));
	CHILD_RC(memlane_write(a, w->index, 0, ix, INDEX_SIZE));
}

/* Everything of version w->version + 1 but the checkpoint. */
static void version_step(struct world *w)
{
	uint64_t v = w->version + 1;
	w->ndead = 0;
	unsigned start = (unsigned)tu_range(&w->rng, 0, NOBJ - 1);
	for (unsigned i = 0; i < NOBJ; i++) {
		unsigned k = (start + i) % NOBJ;
		apply_op(w, k, v);
		if (i % 16 == 0)
			CHILD_RC(memlane_tick(w->a));
		if (v > 1 && tu_range(&w->rng, 0, 31) == 0)
			CHILD_RC(memlane_prefetch(w->a, w->h[tu_range(&w->rng, 0, NOBJ - 1)]));
	}
	if (tu_range(&w->rng, 0, 3) == 0)
		child_flush(w);
	write_index(w, v);
	plan_apply(v, w->e);
	w->version = v;
}

static void child_checkpoint(struct world *w, int fd)
{
	set_phase(w, PH_CHECKPOINT);
	CHILD_RC(memlane_checkpoint(w->a));
	set_phase(w, PH_WORK);
	send_u64(fd, w->version);
}

/* Pick up where the last checkpoint left off (the parent verified it). */
static void world_load(struct world *w)
{
	memlane_handle ix_h;
	int rc = memlane_root_get(w->a, "index", &ix_h);
	if (rc == MEMLANE_ENOTFOUND)
		return; /* version 0: nothing checkpointed yet */
	if (rc != 0)
		child_fail(__LINE__, "memlane_root_get(index) = %d (%s)", rc, memlane_errmsg());
	uint64_t ix[IX_WORDS];
	CHILD_RC(memlane_read(w->a, ix_h, 0, ix, INDEX_SIZE));
	w->index = ix_h;
	w->version = ix[IX_VERSION];
	memcpy(w->h, &ix[IX_LIVE], sizeof(w->h));
	plan_state(w->version, w->e);
}

/* How a child run ends: killed by the parent (checkpoints < 0), or by
 * itself after that many checkpoints (then, with dirty_tail, one more
 * version written and flushed but not checkpointed). */
struct child_script {
	int checkpoints;
	bool dirty_tail;
	unsigned close_odds; /* 1 in close_odds versions ends in memlane_close and a reopen (0: none) */
};

static double now_s(void);

/* memlane_open in phase PH_OPEN, its time noted for the parent's aim. */
static void child_open(struct world *w, const char *dir, const memlane_config *cfg)
{
	set_phase(w, PH_OPEN);
	double t0 = now_s();
	CHILD_RC(memlane_open(&w->a, dir, cfg));
	atomic_store(&w->sh->open_ns, (unsigned long long)((now_s() - t0) * 1e9));
}

/* End version w->version with memlane_close (its checkpoint) instead of
 * memlane_checkpoint, report it, and reopen: what comes back must be
 * that version. */
static void child_close_reopen(struct world *w, const char *dir, const memlane_config *cfg, int fd)
{
	set_phase(w, PH_CLOSE);
	CHILD_RC(memlane_close(w->a));
	w->a = NULL;
	send_u64(fd, w->version);
	uint64_t v = w->version;
	child_open(w, dir, cfg);
	memset(w->h, 0, sizeof(w->h));
	w->index = 0;
	w->version = 0;
	world_load(w);
	if (w->version != v)
		child_fail(__LINE__, "closed at version %llu, reopened at version %llu", (unsigned long long)v,
		           (unsigned long long)w->version);
	set_phase(w, PH_WORK);
}

static void child_main(const char *dir, int fd, const char *options, uint64_t seed, struct shared *sh,
                       struct child_script script) __attribute__((noreturn));
static void child_main(const char *dir, int fd, const char *options, uint64_t seed, struct shared *sh,
                       struct child_script script)
{
	static struct world w;
	memset(&w, 0, sizeof(w));
	w.sh = sh;
	w.rng.s = seed;
	memlane_config cfg;
	memlane_config_init(&cfg);
	CHILD_RC(memlane_config_parse(&cfg, options));
	w.background = cfg.policy_check_interval_ms > 0;
	child_open(&w, dir, &cfg);
	world_load(&w);
	send_u64(fd, MSG_READY | w.version);
	set_phase(&w, PH_WORK);
	for (int n = 0; script.checkpoints < 0 || n < script.checkpoints; n++) {
		version_step(&w);
		if (script.close_odds && tu_range(&w.rng, 1, script.close_odds) == 1)
			child_close_reopen(&w, dir, &cfg, fd);
		else
			child_checkpoint(&w, fd);
	}
	if (script.dirty_tail) {
		version_step(&w);
		child_flush(&w);
	}
	raise(SIGKILL);
	_exit(CHILD_FAILED); /* not reached */
}

/* ---- the parent: verification ------------------------------------------ */

static uint8_t got_buf[MAX_SIZE], want_buf[MAX_SIZE];

/* Check object @k (handle @h) against the plan; on a mismatch say whose
 * bytes it holds, from its stamp. */
static void verify_object(memlane_arena *a, uint64_t V, unsigned k, memlane_handle h, const struct expect *e)
{
	if (memlane_handle_state(a, h) == MEMLANE_STATE_INVALID)
		fail_msg("version %llu: object %u: handle 0x%016llx is not valid (%s)", (unsigned long long)V, k,
		         (unsigned long long)h, memlane_errmsg());
	if (memlane_size(a, h) != e->size)
		fail_msg("version %llu: object %u (handle 0x%016llx): size %zu, expected %zu (written by version %llu)",
		         (unsigned long long)V, k, (unsigned long long)h, memlane_size(a, h), e->size,
		         (unsigned long long)e->v);
	if (memlane_tag(a, h) != k + 1)
		fail_msg("version %llu: object %u: tag %u, expected %u", (unsigned long long)V, k, memlane_tag(a, h), k + 1);
	int rc = memlane_read(a, h, 0, got_buf, e->size);
	if (rc != 0)
		fail_msg("version %llu: object %u: memlane_read = %d (%s)", (unsigned long long)V, k, rc, memlane_errmsg());
	content_fill(e->v, k, want_buf, e->size);
	if (memcmp(got_buf, want_buf, e->size) != 0) {
		uint64_t sv;
		uint32_t sk, sn;
		memcpy(&sv, got_buf, 8);
		memcpy(&sk, got_buf + 8, 4);
		memcpy(&sn, got_buf + 12, 4);
		fail_msg("version %llu: object %u (handle 0x%016llx, %zu bytes) should hold version %llu's bytes; its "
		         "stamp says version %llu, object %u, %u bytes (a mix of versions, or damage)",
		         (unsigned long long)V, k, (unsigned long long)h, e->size, (unsigned long long)e->v,
		         (unsigned long long)sv, sk, sn);
	}
	size_t align = plan_align(k);
	if (align) {
		void *p;
		assert_int_equal(memlane_pin(a, h, &p), 0);
		if ((uintptr_t)p % align != 0)
			fail_msg("object %u: pointer %p not aligned to %zu after reopen", k, p, align);
		assert_int_equal(memlane_unpin(a, h), 0);
	}
}

static void verify_no_duplicates(const uint64_t *live)
{
	for (unsigned i = 0; i < NOBJ; i++)
		for (unsigned j = i + 1; j < NOBJ; j++)
			if (live[i] == live[j])
				fail_msg("objects %u and %u share handle 0x%016llx", i, j, (unsigned long long)live[i]);
}

/* The arena verify_recovered has open: the teardown closes it when a
 * check fails half way. */
static memlane_arena *verifying;

static memlane_arena *open_persistent(const char *dir, const char *options)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	assert_int_equal(memlane_config_parse(&cfg, options), 0);
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc != 0)
		fail_msg("memlane_open('%s', %s) = %d (%s)", dir, options, rc, memlane_errmsg());
	return a;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Read @dir's store files (memlane-store(5)) with LMDB, the arena
 * closed: "handles" holds @want entries, "objects" @want records, and
 * each entry names a record that is there (key: handle, seq, both
 * big-endian; the entry starts with the seq, little-endian). */
static void verify_store_files(const char *dir, uint64_t want)
{
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi objects, handles;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	int rc = mdb_env_open(env, dir, MDB_RDONLY, 0600);
	if (rc != 0)
		fail_msg("mdb_env_open('%s', MDB_RDONLY): %s", dir, mdb_strerror(rc));
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), 0);
	assert_int_equal(mdb_dbi_open(t, "objects", 0, &objects), 0);
	assert_int_equal(mdb_dbi_open(t, "handles", 0, &handles), 0);
	MDB_stat so, sh;
	assert_int_equal(mdb_stat(t, objects, &so), 0);
	assert_int_equal(mdb_stat(t, handles, &sh), 0);
	if (so.ms_entries != want || sh.ms_entries != want)
		fail_msg("'%s' holds %zu records and %zu handle table entries; %llu live objects (left-over records?)",
		         dir, (size_t)so.ms_entries, (size_t)sh.ms_entries, (unsigned long long)want);
	MDB_cursor *cur;
	assert_int_equal(mdb_cursor_open(t, handles, &cur), 0);
	MDB_val key, val;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		assert_int_equal(key.mv_size, 8);
		assert_int_equal(val.mv_size, 32);
		uint64_t seq;
		memcpy(&seq, val.mv_data, 8);
		uint8_t rk[16];
		memcpy(rk, key.mv_data, 8);
		for (int i = 0; i < 8; i++)
			rk[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
		MDB_val rkey = {16, rk}, rval;
		if (mdb_get(t, objects, &rkey, &rval) != 0)
			fail_msg("the handle table names record (0x%016llx, seq %llu), which is missing",
			         (unsigned long long)be64(key.mv_data), (unsigned long long)seq);
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	mdb_env_close(env);
}

/* Reopen @dir after a kill and check it holds exactly version
 * @reported or @reported + 1. Returns the version found. */
static uint64_t verify_recovered(const char *dir, uint64_t reported)
{
	memlane_arena *a = verifying = open_persistent(dir, LANES ",persist=1,store_sync=none");
	memlane_stats st = tu_stats(a);
	/* Lazy restore: every object comes back spilled. */
	assert_int_equal(st.spilled_objects, st.objects);
	memlane_handle ix_h;
	int rc = memlane_root_get(a, "index", &ix_h);
	if (rc == MEMLANE_ENOTFOUND) {
		if (reported != 0)
			fail_msg("version %llu was checkpointed, but the reopened arena has no root 'index' (%llu objects)",
			         (unsigned long long)reported, (unsigned long long)st.objects);
		assert_int_equal(st.objects, 0);
		verifying = NULL;
		assert_int_equal(memlane_close(a), 0);
		verify_store_files(dir, 0);
		return 0;
	}
	if (rc != 0)
		fail_msg("memlane_root_get(index) = %d (%s)", rc, memlane_errmsg());
	assert_int_equal(memlane_size(a, ix_h), INDEX_SIZE);
	static uint64_t ix[IX_WORDS];
	rc = memlane_read(a, ix_h, 0, ix, INDEX_SIZE);
	if (rc != 0)
		fail_msg("reading the index: %d (%s)", rc, memlane_errmsg());
	assert_int_equal(ix[IX_MAGIC], INDEX_MAGIC);
	uint64_t V = ix[IX_VERSION];
	if (V != reported && V != reported + 1)
		fail_msg("the child reported version %llu last; the reopened arena is at version %llu",
		         (unsigned long long)reported, (unsigned long long)V);
	assert_int_equal(ix[IX_COUNT], NOBJ);
	assert_true(ix[IX_NDEAD] <= NDEAD_MAX);

	const uint64_t *live = &ix[IX_LIVE];
	verify_no_duplicates(live);
	for (unsigned k = 0; k < NOBJ; k++)
		if (memlane_handle_state(a, live[k]) != MEMLANE_STATE_SPILLED)
			fail_msg("object %u: state %d right after open, expected SPILLED", k,
			         (int)memlane_handle_state(a, live[k]));
	if (st.objects != NOBJ + 1)
		fail_msg("version %llu: %llu objects after reopen, expected %d (extra or missing handles)",
		         (unsigned long long)V, (unsigned long long)st.objects, NOBJ + 1);
	struct expect e[NOBJ];
	plan_state(V, e);
	for (unsigned k = 0; k < NOBJ; k++)
		verify_object(a, V, k, live[k], &e[k]);
	for (uint64_t i = 0; i < ix[IX_NDEAD]; i++)
		if (memlane_valid(a, ix[IX_DEAD + i]))
			fail_msg("version %llu freed handle 0x%016llx, but it is valid after reopen", (unsigned long long)V,
			         (unsigned long long)ix[IX_DEAD + i]);
	st = tu_stats(a);
	assert_int_equal(st.objects, NOBJ + 1);
	verifying = NULL;
	rc = memlane_close(a);
	if (rc != 0)
		fail_msg("memlane_close after verification = %d (%s)", rc, memlane_errmsg());
	verify_store_files(dir, NOBJ + 1);
	return V;
}

/* ---- the parent: children and kills --------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Whether @pid has ended (left a zombie), without reaping it. */
static bool child_ended(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* The child not reaped yet: a failing check in the parent leaves it
 * running, and the teardown kills it. */
static pid_t live_child;

/* Reap @pid; it must have died of SIGKILL, not of a failure of its own. */
static void reap_killed(pid_t pid)
{
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	assert_int_equal(r, pid);
	live_child = 0;
	if (WIFEXITED(status))
		fail_msg("the child exited with status %d before it was killed (its stderr says why)", WEXITSTATUS(status));
	if (WTERMSIG(status) != SIGKILL)
		fail_msg("the child died of signal %d (%s), not SIGKILL", WTERMSIG(status), strsignal(WTERMSIG(status)));
}

static struct shared *shared_new(void)
{
	void *p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static void shared_reset(struct shared *sh)
{
	atomic_store(&sh->phase, PH_START);
	for (int p = 0; p < PH_COUNT; p++)
		atomic_store(&sh->started[p], 0);
}

/* A child working on @dir, and the read end of its pipe. */
struct child {
	pid_t pid;
	int fd;
};

static struct child child_start(const char *dir, const char *options, uint64_t seed, struct shared *sh,
                                struct child_script script)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	shared_reset(sh);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_main(dir, fds[1], options, seed, sh, script);
	}
	close(fds[1]);
	live_child = pid;
	return (struct child){pid, fds[0]};
}

/* Wait for the child's READY message; returns false when it died first. */
static bool wait_ready(struct child *c, uint64_t *recovered)
{
	struct pollfd pfd = {c->fd, POLLIN, 0};
	int n = poll(&pfd, 1, 60000);
	if (n <= 0)
		fail_msg("the child did not open the arena within 60 s");
	uint64_t m;
	ssize_t got = read(c->fd, &m, sizeof(m));
	if (got != (ssize_t)sizeof(m))
		return false; /* EOF: it died; reap_killed says how */
	assert_true(m & MSG_READY);
	*recovered = m & ~MSG_READY;
	return true;
}

/* Read the rest of the pipe (the child is dead): the last checkpointed
 * version reported, or @last when none was. Checks versions come one by
 * one from where the child started. */
static uint64_t drain_reports(struct child *c, uint64_t last, bool ready_seen)
{
	uint64_t m;
	ssize_t got;
	while ((got = read(c->fd, &m, sizeof(m))) == (ssize_t)sizeof(m)) {
		if (m & MSG_READY) {
			assert_false(ready_seen);
			ready_seen = true;
			assert_int_equal(m & ~MSG_READY, last);
			continue;
		}
		assert_true(ready_seen);
		assert_int_equal(m, last + 1);
		last = m;
	}
	assert_int_equal(got, 0);
	close(c->fd);
	return last;
}

/* How the parent picks the moment of the kill: at random; in the n-th
 * checkpoint, eviction or close; inside memlane_open of the directory
 * the parent verified (one to three children in a row killed there
 * before the next verification), or of the child's own reopen after
 * its close. */
enum aim { AIM_RANDOM, AIM_CHECKPOINT, AIM_EVICT, AIM_CLOSE, AIM_OPEN, AIM_REOPEN };
static const enum aim aim_cycle[] = {AIM_RANDOM, AIM_CHECKPOINT, AIM_EVICT, AIM_CLOSE, AIM_OPEN,
                                     AIM_EVICT,  AIM_CHECKPOINT, AIM_REOPEN, AIM_CLOSE, AIM_OPEN};

/* Spin until the child is in phase @p with at least @count such phases
 * started, or it ended, or @timeout seconds passed. */
static void wait_for_phase(struct child *c, struct shared *sh, enum phase p, unsigned count, double timeout)
{
	double until = now_s() + timeout;
	for (unsigned spins = 0;; spins++) {
		if (atomic_load(&sh->phase) == (int)p && atomic_load(&sh->started[p]) >= count)
			return;
		if (spins % 256 == 0 && (child_ended(c->pid) || now_s() > until))
			return;
		if (spins % 16 == 0)
			sched_yield();
	}
}

/* Busy-wait @ns nanoseconds: finer than nanosleep, which would
 * overshoot a memlane_open of a millisecond or two. */
static void spin_ns(uint64_t ns)
{
	double until = now_s() + (double)ns / 1e9;
	while (now_s() < until)
		;
}

/* Kill the child somewhere inside the memlane_open it is starting (the
 * @n-th of its life): wait for it to enter, then a random part of the
 * time the last open took. */
static void aim_at_open(struct child *c, struct shared *sh, unsigned n, tu_rng *r)
{
	uint64_t est = atomic_load(&sh->open_ns);
	/* Not wait_for_phase: an open may be over before a poll sees it,
	 * and the next one may be versions away. */
	double until = now_s() + 20.0;
	for (unsigned spins = 0; atomic_load(&sh->started[PH_OPEN]) < n; spins++)
		if (spins % 256 == 0 && (child_ended(c->pid) || now_s() > until))
			return;
	spin_ns(tu_range(r, 0, est ? est : 2000000));
}

/* Options of round @r's child: compression, store_sync and the
 * background thread vary, so records of both codecs mix in one store. */
static void child_options(tu_rng *r, char *buf, size_t n)
{
	static const char *const sync[] = {"none", "checkpoint", "full"};
	snprintf(buf, n, LANES ",persist=1,compression=%s,store_sync=%s,policy_check_interval=%s,"
	                 "slow_lane_usage_threshold=%s",
	         tu_range(r, 0, 2) ? "zstd" : "none", sync[tu_range(r, 0, 2)], tu_range(r, 0, 1) ? "1ms" : "0",
	         tu_range(r, 0, 1) ? "0.6" : "0.9");
}

struct crash_stats {
	unsigned kills;
	unsigned in_phase[PH_COUNT]; /* the child's phase when it died, each one verified */
	unsigned ahead;              /* recovered the version the child had not reported yet */
	unsigned checkpoints;        /* versions reported */
};

/* Start a child, kill it as @aim says, and account for it. Returns the
 * last version it reported; *in_flight says whether a checkpoint or
 * close had begun whose report never came (only then may the store be
 * one version ahead). */
static uint64_t kill_one(const char *dir, enum aim aim, uint64_t version, tu_rng *r, struct shared *sh,
                         struct crash_stats *cs, bool *in_flight)
{
	char options[256];
	child_options(r, options, sizeof(options));
	/* Aimed at a close or a reopen: every version ends in one. */
	unsigned odds = aim == AIM_CLOSE || aim == AIM_REOPEN ? 1 : 4;
	struct child c = child_start(dir, options, tu_next(r), sh, (struct child_script){-1, false, odds});
	bool ready = false;
	uint64_t recovered = version;
	if (aim == AIM_OPEN) {
		aim_at_open(&c, sh, 1, r);
	} else {
		ready = wait_ready(&c, &recovered);
		if (ready && recovered != version)
			fail_msg("the child recovered version %llu, the parent verified %llu", (unsigned long long)recovered,
			         (unsigned long long)version);
		if (aim == AIM_RANDOM)
			sleep_us(tu_range(r, 0, 30000));
		else if (aim == AIM_CHECKPOINT)
			wait_for_phase(&c, sh, PH_CHECKPOINT, (unsigned)tu_range(r, 1, 3), 20.0);
		else if (aim == AIM_EVICT)
			wait_for_phase(&c, sh, PH_EVICT, (unsigned)tu_range(r, 1, 20), 20.0);
		else if (aim == AIM_CLOSE)
			wait_for_phase(&c, sh, PH_CLOSE, 1, 20.0);
		else
			aim_at_open(&c, sh, 2, r);
		if ((aim == AIM_CHECKPOINT || aim == AIM_CLOSE) && tu_range(r, 0, 1))
			sleep_us(tu_range(r, 0, 1500)); /* further into the commit */
	}
	kill(c.pid, SIGKILL);
	reap_killed(c.pid);
	/* Where it died: the last phase it entered (the page is shared,
	 * so this is exact, not the moment the parent decided). */
	int phase = atomic_load(&sh->phase);
	unsigned commits = atomic_load(&sh->started[PH_CHECKPOINT]) + atomic_load(&sh->started[PH_CLOSE]);
	uint64_t reported = drain_reports(&c, version, ready);
	*in_flight = commits > reported - version;
	cs->kills++;
	cs->in_phase[phase]++;
	cs->checkpoints += (unsigned)(reported - version);
	return reported;
}

/* One to three kills, one verification. Returns the version found. */
static uint64_t crash_round(const char *dir, unsigned round, uint64_t version, tu_rng *r, struct shared *sh,
                            struct crash_stats *cs)
{
	enum aim aim = aim_cycle[round % TU_ARRAY_LEN(aim_cycle)];
	bool in_flight;
	uint64_t reported = kill_one(dir, aim, version, r, sh, cs, &in_flight);
	/* A reopen killed, then another: still the same checkpoint. */
	for (size_t more = aim == AIM_OPEN ? tu_range(r, 0, 2) : 0; more > 0 && !in_flight; more--)
		reported = kill_one(dir, AIM_OPEN, reported, r, sh, cs, &in_flight);
	uint64_t found = verify_recovered(dir, reported);
	if (found != reported && !in_flight)
		fail_msg("round %u: killed with no checkpoint or close in progress after version %llu was reported, "
		         "but version %llu came back",
		         round, (unsigned long long)reported, (unsigned long long)found);
	if (found == reported + 1)
		cs->ahead++;
	return found;
}

/* ---- the fixture: a spill directory and the shared page ------------------ */

struct fixture {
	char *dir;
	struct shared *sh;
};

static char *make_temp_dir(void)
{
	char path[4096];
	assert_int_equal(tu_mkdtemp(path, sizeof(path), "crash"), 0);
	char *dir = strdup(path);
	assert_non_null(dir);
	return dir;
}

static void remove_temp_dir(char *dir)
{
	assert_int_equal(tu_rm_rf(dir), 0);
	free(dir);
}

static int fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = make_temp_dir();
	fx->sh = shared_new();
	*state = fx;
	return 0;
}

/* Also after a failure: no child left running, no directory left. */
static int fixture_teardown(void **state)
{
	struct fixture *fx = *state;
	if (live_child > 0) {
		kill(live_child, SIGKILL);
		waitpid(live_child, NULL, 0);
		live_child = 0;
	}
	if (verifying) {
		memlane_close(verifying);
		verifying = NULL;
	}
	munmap(fx->sh, sizeof(*fx->sh));
	remove_temp_dir(fx->dir);
	free(fx);
	return 0;
}

/* ---- tests ----------------------------------------------------------- */

/* Kills at chosen points, the same every run: before the first
 * checkpoint (nothing comes back), after a version was written and
 * flushed but not checkpointed (the one before comes back, not a record
 * of the unfinished one), right after a checkpoint returned (that one
 * comes back, though never reported). */
static void test_kill_at_fixed_points(void **state)
{
	struct fixture *fx = *state;
	const char *dir = fx->dir;
	struct shared *sh = fx->sh;
	const char *opts = LANES ",persist=1,store_sync=none";
	static const struct {
		struct child_script script;
		uint64_t want;
	} steps[] = {
		{{0, true, 0}, 0},  /* version 1 written and flushed, never checkpointed */
		{{1, true, 0}, 1},  /* version 1 checkpointed, version 2 flushed */
		{{1, false, 0}, 2}, /* version 2 checkpointed; killed before anything more */
		{{2, true, 0}, 4},  /* versions 3 and 4 checkpointed, 5 flushed */
	};
	uint64_t version = 0;
	for (size_t i = 0; i < TU_ARRAY_LEN(steps); i++) {
		struct child c = child_start(dir, opts, 1000 + i, sh, steps[i].script);
		reap_killed(c.pid);
		uint64_t reported = drain_reports(&c, version, false);
		assert_int_equal(reported, version + (uint64_t)steps[i].script.checkpoints);
		version = verify_recovered(dir, reported);
		if (version != steps[i].want)
			fail_msg("step %zu: recovered version %llu, expected exactly %llu", i, (unsigned long long)version,
			         (unsigned long long)steps[i].want);
	}
}

/* MEMLANE_CRASH_ROUNDS kills at random and aimed moments, each followed by
 * a full verification; the next child continues from what came back. */
static void test_kill_at_random(void **state)
{
	struct fixture *fx = *state;
	unsigned rounds = (unsigned)tu_env_u64("MEMLANE_CRASH_ROUNDS", 96);
	uint64_t seed = tu_env_u64("MEMLANE_CRASH_SEED", 1);
	tu_rng r = {seed};
	struct crash_stats cs;
	memset(&cs, 0, sizeof(cs));
	uint64_t version = 0;
	double t0 = now_s();
	for (unsigned round = 0; round < rounds; round++)
		version = crash_round(fx->dir, round, version, &r, fx->sh, &cs);
	print_message("%u kills in %u rounds in %.1f s (seed %llu), every one recovered exactly a checkpoint; %u "
	              "versions reported, %u recovered one version ahead of the report; final version %llu\n",
	              cs.kills, rounds, now_s() - t0, (unsigned long long)seed, cs.checkpoints, cs.ahead,
	              (unsigned long long)version);
	for (int p = 0; p < PH_COUNT; p++)
		print_message("  kills survived with the child in %-28s %u\n", phase_names[p], cs.in_phase[p]);
	assert_true(cs.kills >= rounds);
	/* The aimed kills really hit the four phases, and versions went on. */
	if (rounds >= TU_ARRAY_LEN(aim_cycle)) {
		static const enum phase aimed[] = {PH_EVICT, PH_CHECKPOINT, PH_CLOSE, PH_OPEN};
		for (size_t i = 0; i < TU_ARRAY_LEN(aimed); i++)
			if (cs.in_phase[aimed[i]] < rounds / 24)
				fail_msg("only %u of %u kills landed in phase %s", cs.in_phase[aimed[i]], cs.kills,
				         phase_names[aimed[i]]);
		assert_true(version >= rounds / 8);
	}
}

int main(void)
{
	tu_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_at_fixed_points, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_kill_at_random, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
