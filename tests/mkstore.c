/* mkstore.c - makes spill stores for tests/test_dump.sh.
 *
 *   mkstore DIR persist           a persistent store, closed
 *   mkstore DIR live              a persistent store held open by this
 *                                 process until standard input closes
 *   mkstore DIR live-scratch      the same with persist=0 (a scratch store
 *                                 exists only while its arena runs)
 *   mkstore DIR corrupt HANDLE [payload|header|delete|table|size]
 *                                 damage one object of a closed store
 *   mkstore DIR foreign [plain|noformat|format2]
 *                                 an LMDB environment that is not a
 *                                 libmemlane store (or not one we read)
 *   mkstore DIR readers           print "stale N": slots in lock.mdb
 *                                 held by processes that are gone
 *                                 (mdb_reader_check, which frees them)
 *   mkstore DIR flip OFFSET MASK  XOR byte OFFSET of DIR/data.mdb with MASK
 *   mkstore DIR check PREFIX      open DIR with the library and read every
 *                                 object PREFIX.manifest lists: prints
 *                                 "refused" (memlane_open failed with
 *                                 MEMLANE_ECORRUPT or MEMLANE_ESTORE), or
 *                                 "damaged HANDLE" for each read that
 *                                 returned MEMLANE_ECORRUPT, then "ok";
 *                                 exit 1 on anything else (wrong bytes,
 *                                 another error code)
 *
 * Stores are built through the public API only, so the test checks
 * memlane-dump against what a program really wrote. Every object's bytes
 * are a function of its index in the table below and of a version number
 * that goes up each time the object is rewritten: some compress well
 * (text), some not at all (random), some half and half. The building
 * modes write what the store holds as of its last checkpoint (or, for a
 * scratch store, as spilled):
 *   DIR.manifest    "object HANDLE SIZE TAG FNV1A64" and "root HANDLE NAME"
 *                   lines (the name last: it may hold spaces)
 *   DIR.expected/   one file per object, named by its handle as
 *                   0x%016x, holding its exact bytes
 * live and live-scratch write these before printing "ready" on standard
 * output; after standard input closes (or SIGUSR1) they change more
 * objects, checkpoint (live) or flush (live-scratch), close, and write
 * DIR.final.manifest and DIR.final.expected/ for the store as left.
 *
 * The damage modes open the LMDB environment directly, as a foreign
 * program would, with the key layout of memlane-store(5): a record is
 * key handle (big-endian u64) + seq (big-endian u64) in database
 * "objects"; the "handles" entry of a handle starts with that seq
 * (little-endian u64).
 *
 * Exit status: 0 done, 1 something failed (said on stderr), 2 usage. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include <memlane.h>

static const char *me = "mkstore";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", me);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* A memlane call that must succeed. */
#define MUST(call)                                                                                                     \
	do {                                                                                                           \
		int must_rc_ = (call);                                                                                 \
		if (must_rc_ != 0)                                                                                     \
			die("%s:%d: %s = %d (%s): %s", __FILE__, __LINE__, #call, must_rc_, memlane_strerror(must_rc_),  \
			    memlane_errmsg());                                                                         \
	} while (0)

/* ---- object contents -------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Bytes of object @idx at @version: text (idx % 3 == 0, compresses
 * well), random (1, does not compress: stored raw), or a run of a
 * repeating pattern followed by random bytes (2). */
static void fill(uint8_t *p, size_t n, unsigned idx, unsigned version)
{
	uint64_t seed = mix64((uint64_t)idx << 32 | version);
	switch (idx % 3) {
	case 0: {
		size_t i = 0;
		for (unsigned line = 0; i < n; line++) {
			char buf[80];
			int len = snprintf(buf, sizeof(buf), "object %u version %u line %u: the quick brown fox\n", idx,
			                   version, line);
			for (int k = 0; k < len && i < n; k++)
				p[i++] = (uint8_t)buf[k];
		}
		break;
	}
	case 1:
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)(mix64(seed ^ (i / 8)) >> (8 * (i % 8)));
		break;
	default:
		for (size_t i = 0; i < n; i++)
			p[i] = i < n / 2 ? (uint8_t)(i % 251) : (uint8_t)(mix64(seed ^ (i / 8)) >> (8 * (i % 8)));
		break;
	}
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- the objects ------------------------------------------------------ */

/* Sizes chosen for the edges: 0 bytes, below and at the 64-byte
 * compression floor, around the 1K threshold, a page, the 16K block
 * limit, blobs; sizes of every remainder mod 3 (base64 padding). */
static const struct spec {
	size_t size;
	uint32_t tag;
	unsigned flags;
	size_t align;
} specs[] = {
	{0, 0, 0, 0},                  /* 0 */
	{1, 1, 0, 0},                  /* 1 */
	{15, 0, 0, 0},                 /* 2 */
	{63, UINT32_MAX, 0, 0},        /* 3: root "main" */
	{64, 42, 0, 0},                /* 4 */
	{100, 0, 0, 0},                /* 5 */
	{512, 7, MEMLANE_COLD, 0},     /* 6 */
	{1000, 0, 0, 0},               /* 7: reallocated */
	{1023, 0, 0, 0},               /* 8 */
	{1024, 0, 0, 4096},            /* 9 */
	{4096, 0x10, 0, 0},            /* 10: the other root */
	{4097, 0, MEMLANE_NOSPILL, 0}, /* 11 */
	{16384, 0, 0, 0},              /* 12 */
	{16385, 0, 0, 0},              /* 13: freed after the first checkpoint */
	{65536, 0, 0, 0},              /* 14 */
	{100000, 0, 0, 0},             /* 15: freed after being spilled */
	{262145, 0, 0, 0},             /* 16 */
	{(1u << 20) + 7, 0, 0, 0},     /* 17 */
	{3000, 3000, 0, 64},           /* 18 */
	{200, 0, MEMLANE_ZERO, 0},     /* 19 */
	{5000, 99, 0, 0},              /* 20: made after the first checkpoint */
	{777, 0, 0, 0},                /* 21: made after the last checkpoint (live) */
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))
#define ROOT_MAIN "main"
#define ROOT_OTHER "config/caf\xc3\xa9 \"v1\""

/* What this program believes each object holds. */
struct obj {
	memlane_handle h;
	bool live;
	size_t size;
	uint8_t *bytes;
};

struct world {
	memlane_arena *a;
	bool persist;
	struct obj o[NSPECS];
};

/* Write version @version of object @idx, @size bytes, in full. */
static void put(struct world *w, unsigned idx, size_t size, unsigned version)
{
	struct obj *o = &w->o[idx];
	uint8_t *b = realloc(o->bytes, size ? size : 1);
	if (!b)
		die("out of memory");
	fill(b, size, idx, version);
	o->bytes = b;
	o->size = size;
	MUST(memlane_write(w->a, o->h, 0, b, size));
}

static void make(struct world *w, unsigned idx)
{
	const struct spec *s = &specs[idx];
	memlane_alloc_opts opts = {0};
	opts.flags = w->persist ? s->flags : s->flags & ~MEMLANE_NOSPILL;
	opts.align = s->align;
	opts.tag = s->tag;
	MUST(memlane_alloc_ex(w->a, s->size, &opts, &w->o[idx].h));
	w->o[idx].live = true;
	put(w, idx, s->size, 0);
}

static void drop(struct world *w, unsigned idx)
{
	MUST(memlane_free(w->a, w->o[idx].h));
	w->o[idx].live = false;
}

/* Every live object reads back as this program believes. */
static void check_all(struct world *w)
{
	for (unsigned i = 0; i < NSPECS; i++) {
		struct obj *o = &w->o[i];
		if (!o->live)
			continue;
		if (memlane_size(w->a, o->h) != o->size)
			die("object %u: size %zu, expected %zu", i, memlane_size(w->a, o->h), o->size);
		uint8_t *b = malloc(o->size ? o->size : 1);
		if (!b)
			die("out of memory");
		MUST(memlane_read(w->a, o->h, 0, b, o->size));
		if (memcmp(b, o->bytes, o->size) != 0)
			die("object %u (0x%016" PRIx64 "): bytes differ from what was written", i, o->h);
		free(b);
	}
}

static void make_config(memlane_config *cfg, bool persist)
{
	memlane_config_init(cfg);
	MUST(memlane_config_parse(cfg, "fast_lane_size=4M,slow_lane_size=32M,compression=zstd"));
	cfg->persist = persist;
}

static void open_arena(struct world *w, const char *dir, bool persist)
{
	memlane_config cfg;
	make_config(&cfg, persist);
	memset(w, 0, sizeof(*w));
	w->persist = persist;
	MUST(memlane_open(&w->a, dir, &cfg));
}

/* The store's first state: objects of every kind, some spilled before
 * the checkpoint, freed slots reused (generation 2 handles), a root
 * whose object is freed before any checkpoint (so it never reaches the
 * store), two roots that do. */
static void build(struct world *w)
{
	memlane_handle junk[3];
	for (unsigned i = 0; i < 3; i++)
		MUST(memlane_alloc(w->a, 100 + i, &junk[i]));
	for (unsigned i = 0; i < 3; i++)
		MUST(memlane_free(w->a, junk[i]));
	for (unsigned i = 0; i <= 19; i++)
		make(w, i);
	memlane_handle gone;
	MUST(memlane_alloc(w->a, 10, &gone));
	MUST(memlane_root_set(w->a, "gone", gone));
	MUST(memlane_free(w->a, gone));
	MUST(memlane_root_set(w->a, ROOT_MAIN, w->o[3].h));
	MUST(memlane_root_set(w->a, ROOT_OTHER, w->o[10].h));
	for (unsigned i = 0; i <= 19; i += 5)
		MUST(memlane_evict(w->a, w->o[i].h));
	if (w->persist)
		MUST(memlane_checkpoint(w->a));
	/* Second generation of changes: rewrite, grow, free, make. */
	put(w, 4, specs[4].size, 1);
	put(w, 12, specs[12].size, 1);
	MUST(memlane_realloc(w->a, w->o[7].h, 1500));
	put(w, 7, 1500, 1);
	drop(w, 13);
	drop(w, 15);
	make(w, 20);
	MUST(memlane_evict(w->a, w->o[12].h));
	if (w->persist)
		MUST(memlane_checkpoint(w->a));
	else
		MUST(memlane_flush(w->a));
	check_all(w);
}

/* ---- manifest ------------------------------------------------------------ */

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		die("cannot write '%s': %s", path, strerror(errno));
}

/* PREFIX.manifest and PREFIX.expected/ for the objects in @w; @roots
 * says whether the store holds roots (persistent stores). The manifest
 * goes in under its name last, so a reader never sees half of it. */
static void write_manifest(struct world *w, const char *prefix, bool roots)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s.expected", prefix);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		die("mkdir '%s': %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s.manifest", prefix);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("cannot write '%s': %s", tmp, strerror(errno));
	for (unsigned i = 0; i < NSPECS; i++) {
		const struct obj *o = &w->o[i];
		if (!o->live)
			continue;
		fprintf(f, "object 0x%016" PRIx64 " %zu %" PRIu32 " %016" PRIx64 "\n", o->h, o->size, specs[i].tag,
		        fnv1a64(o->bytes, o->size));
		char ep[4200];
		snprintf(ep, sizeof(ep), "%s.expected/0x%016" PRIx64, prefix, o->h);
		write_file(ep, o->bytes, o->size);
	}
	if (roots) {
		fprintf(f, "root 0x%016" PRIx64 " %s\n", w->o[3].h, ROOT_MAIN);
		fprintf(f, "root 0x%016" PRIx64 " %s\n", w->o[10].h, ROOT_OTHER);
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die("cannot write '%s': %s", path, strerror(errno));
}

static void finish(struct world *w)
{
	MUST(memlane_close(w->a));
	for (unsigned i = 0; i < NSPECS; i++)
		free(w->o[i].bytes);
}

static int mode_persist(const char *dir)
{
	struct world w;
	open_arena(&w, dir, true);
	build(&w);
	memlane_handle h3 = w.o[3].h;
	/* Written out before close, whose checkpoint adds nothing; the
	 * objects' bytes stay in w.o until finish(). */
	write_manifest(&w, dir, true);
	finish(&w);
	/* A reopen gives every object back: the store really is what the
	 * manifest says, as far as the library is concerned. */
	memlane_config cfg;
	make_config(&cfg, true);
	memlane_arena *a;
	MUST(memlane_open(&a, dir, &cfg));
	memlane_handle r;
	MUST(memlane_root_get(a, ROOT_MAIN, &r));
	if (r != h3)
		die("root '%s' came back as 0x%016" PRIx64 ", not 0x%016" PRIx64, ROOT_MAIN, r, h3);
	MUST(memlane_close(a));
	return 0;
}

/* ---- live modes ----------------------------------------------------------- */

static volatile sig_atomic_t go_on;

static void on_usr1(int sig)
{
	(void)sig;
	go_on = 1;
}

/* Until standard input reaches its end or SIGUSR1 comes. */
static void wait_for_go(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: read() returns EINTR */
	char buf[256];
	while (!go_on) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
}

static int mode_live(const char *dir, bool persist)
{
	struct world w;
	open_arena(&w, dir, persist);
	build(&w);
	char prefix[4096];
	write_manifest(&w, dir, persist);
	/* Changes after the last checkpoint: a rewritten object spilled as a
	 * new record, a new object spilled, a spilled object freed. A dump
	 * of a persistent store must still show the checkpoint. */
	if (persist) {
		put(&w, 5, specs[5].size, 2);
		MUST(memlane_evict(w.a, w.o[5].h));
		make(&w, 21);
		MUST(memlane_evict(w.a, w.o[21].h));
		drop(&w, 14);
	}
	printf("ready\n");
	fflush(stdout);
	wait_for_go();
	/* The arena carries on: more changes, and a checkpoint (or flush)
	 * that must not wait for any reader. */
	put(&w, 16, specs[16].size, 3);
	put(&w, 19, specs[19].size, 3);
	MUST(memlane_realloc(w.a, w.o[18].h, 2000));
	put(&w, 18, 2000, 3);
	if (persist)
		MUST(memlane_checkpoint(w.a));
	else
		MUST(memlane_flush(w.a));
	check_all(&w);
	if (persist) {
		snprintf(prefix, sizeof(prefix), "%s.final", dir);
		write_manifest(&w, prefix, true);
	}
	memlane_stats st;
	MUST(memlane_stats_get(w.a, &st));
	printf("done checkpoints=%" PRIu64 "\n", st.checkpoints);
	finish(&w);
	return 0;
}

/* ---- damage and foreign stores, through LMDB directly ----------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define MDB_MUST(call)                                                                                                 \
	do {                                                                                                           \
		int mdb_rc_ = (call);                                                                                  \
		if (mdb_rc_ != 0)                                                                                      \
			die("%s:%d: %s: %s", __FILE__, __LINE__, #call, mdb_strerror(mdb_rc_));                        \
	} while (0)

static MDB_env *env_open(const char *dir)
{
	MDB_env *env;
	MDB_MUST(mdb_env_create(&env));
	MDB_MUST(mdb_env_set_maxdbs(env, 8));
	MDB_MUST(mdb_env_open(env, dir, 0, 0600));
	return env;
}

static memlane_handle parse_handle(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (!*s || *end || errno || v == 0)
		die("'%s' is not a handle (0x hexadecimal)", s);
	return (memlane_handle)v;
}

static int mode_corrupt(const char *dir, const char *handle, const char *how)
{
	memlane_handle h = parse_handle(handle);
	MDB_env *env = env_open(dir);
	MDB_txn *t;
	MDB_dbi objects, handles;
	MDB_MUST(mdb_txn_begin(env, NULL, 0, &t));
	MDB_MUST(mdb_dbi_open(t, "objects", 0, &objects));
	MDB_MUST(mdb_dbi_open(t, "handles", 0, &handles));
	uint8_t hk[8], rk[16];
	put_be64(hk, h);
	MDB_val key = {8, hk}, v;
	MDB_MUST(mdb_get(t, handles, &key, &v));
	if (v.mv_size < 8)
		die("handle table entry of 0x%016" PRIx64 " is %zu bytes", h, v.mv_size);
	if (strcmp(how, "size") == 0) {
		/* A size its record does not hold. */
		uint8_t e[64];
		size_t n = v.mv_size > sizeof(e) ? sizeof(e) : v.mv_size;
		if (n < 16)
			die("handle table entry of 0x%016" PRIx64 " is %zu bytes", h, v.mv_size);
		memcpy(e, v.mv_data, n);
		e[8] ^= 0x01;
		MDB_val nv = {n, e};
		MDB_MUST(mdb_put(t, handles, &key, &nv, 0));
		MDB_MUST(mdb_txn_commit(t));
		mdb_env_close(env);
		return 0;
	}
	if (strcmp(how, "table") == 0) {
		/* One byte short: no longer a table entry. */
		uint8_t e[64];
		size_t n = v.mv_size > sizeof(e) ? sizeof(e) : v.mv_size;
		memcpy(e, v.mv_data, n);
		MDB_val nv = {n - 1, e};
		MDB_MUST(mdb_put(t, handles, &key, &nv, 0));
		MDB_MUST(mdb_txn_commit(t));
		mdb_env_close(env);
		return 0;
	}
	uint64_t seq = get_le64(v.mv_data);
	put_be64(rk, h);
	put_be64(rk + 8, seq);
	MDB_val rkey = {16, rk};
	MDB_MUST(mdb_get(t, objects, &rkey, &v));
	if (strcmp(how, "delete") == 0) {
		MDB_MUST(mdb_del(t, objects, &rkey, NULL));
	} else {
		uint8_t *rec = malloc(v.mv_size);
		if (!rec)
			die("out of memory");
		memcpy(rec, v.mv_data, v.mv_size);
		if (strcmp(how, "header") == 0) {
			rec[0] ^= 0xff; /* the magic */
		} else if (strcmp(how, "payload") == 0) {
			if (v.mv_size <= 40)
				die("record of 0x%016" PRIx64 " has no payload to damage", h);
			size_t mid = 40 + (v.mv_size - 40) / 2;
			rec[mid] ^= 0x5a;
			rec[v.mv_size - 1] ^= 0x01;
		} else {
			die("unknown damage '%s' (payload, header, delete, table, size)", how);
		}
		MDB_val nv = {v.mv_size, rec};
		MDB_MUST(mdb_put(t, objects, &rkey, &nv, 0));
		free(rec);
	}
	MDB_MUST(mdb_txn_commit(t));
	mdb_env_close(env);
	return 0;
}

static void put_str(MDB_txn *t, MDB_dbi dbi, const char *k, const void *v, size_t n)
{
	MDB_val key = {strlen(k), (void *)(uintptr_t)k}, val = {n, (void *)(uintptr_t)v};
	MDB_MUST(mdb_put(t, dbi, &key, &val, 0));
}

/* plain: an LMDB environment of some other program; noformat: the
 * four databases but no format record; format2: a format this
 * memlane-dump does not read. */
static int mode_foreign(const char *dir, const char *kind)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		die("mkdir '%s': %s", dir, strerror(errno));
	MDB_env *env = env_open(dir);
	MDB_txn *t;
	MDB_dbi dbi;
	MDB_MUST(mdb_txn_begin(env, NULL, 0, &t));
	if (strcmp(kind, "plain") == 0) {
		MDB_MUST(mdb_dbi_open(t, "stuff", MDB_CREATE, &dbi));
		put_str(t, dbi, "hello", "world", 5);
		MDB_MUST(mdb_dbi_open(t, NULL, 0, &dbi));
		put_str(t, dbi, "zzz", "not a database", 14);
	} else if (strcmp(kind, "noformat") == 0 || strcmp(kind, "format2") == 0) {
		static const char *const names[] = {"objects", "handles", "roots", "meta"};
		for (size_t i = 0; i < 4; i++)
			MDB_MUST(mdb_dbi_open(t, names[i], MDB_CREATE, &dbi));
		if (strcmp(kind, "format2") == 0) {
			uint8_t f[8] = {2, 0, 0, 0, 0, 0, 0, 0}, p = 1;
			put_str(t, dbi, "format", f, 8);
			put_str(t, dbi, "persist", &p, 1);
		}
	} else {
		die("unknown foreign kind '%s' (plain, noformat, format2)", kind);
	}
	MDB_MUST(mdb_txn_commit(t));
	mdb_env_close(env);
	return 0;
}

/* A reader that died inside a read transaction leaves its slot in
 * lock.mdb; LMDB frees such slots only in mdb_reader_check. */
static int mode_readers(const char *dir)
{
	MDB_env *env;
	int dead = 0;
	MDB_MUST(mdb_env_create(&env));
	MDB_MUST(mdb_env_set_maxdbs(env, 8));
	MDB_MUST(mdb_env_open(env, dir, MDB_RDONLY, 0600));
	MDB_MUST(mdb_reader_check(env, &dead));
	printf("stale %d\n", dead);
	mdb_env_close(env);
	return 0;
}

/* One byte of data.mdb changed, in place. */
static int mode_flip(const char *dir, const char *offset, const char *mask)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	char *end;
	errno = 0;
	unsigned long long off = strtoull(offset, &end, 0);
	unsigned long m = strtoul(mask, &end, 0);
	if (errno || m == 0 || m > 255)
		die("bad offset '%s' or mask '%s'", offset, mask);
	FILE *f = fopen(path, "r+b");
	int c;
	if (!f || fseek(f, (long)off, SEEK_SET) != 0 || (c = fgetc(f)) == EOF || fseek(f, (long)off, SEEK_SET) != 0 ||
	    fputc(c ^ (int)m, f) == EOF || fclose(f) != 0)
		die("cannot change byte %llu of '%s': %s", off, path, strerror(errno));
	return 0;
}

/* What the library makes of a (damaged) copy of a store whose manifest
 * is PREFIX.manifest: refused, or each object exact or MEMLANE_ECORRUPT. */
static int mode_check(const char *dir, const char *prefix)
{
	memlane_config cfg;
	make_config(&cfg, true);
	cfg.store_sync = MEMLANE_SYNC_NONE; /* a throw-away copy */
	memlane_arena *a;
	int rc = memlane_open(&a, dir, &cfg);
	if (rc == MEMLANE_ECORRUPT || rc == MEMLANE_ESTORE) {
		printf("refused %s\n", memlane_errmsg());
		return 0;
	}
	MUST(rc);
	char path[4096], line[4096];
	snprintf(path, sizeof(path), "%s.manifest", prefix);
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot read '%s': %s", path, strerror(errno));
	int bad = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long h, sum;
		size_t size;
		unsigned tag;
		if (sscanf(line, "object %llx %zu %u %llx", &h, &size, &tag, &sum) != 4)
			continue;
		uint8_t *b = malloc(size ? size : 1);
		if (!b)
			die("out of memory");
		rc = memlane_read(a, h, 0, b, size);
		if (rc == MEMLANE_ECORRUPT) {
			printf("damaged 0x%016llx\n", h);
		} else if (rc) {
			fprintf(stderr, "%s: object 0x%016llx: memlane_read = %d (%s)\n", me, h, rc, memlane_errmsg());
			bad = 1;
		} else if (fnv1a64(b, size) != sum) {
			fprintf(stderr, "%s: object 0x%016llx: wrong bytes\n", me, h);
			bad = 1;
		}
		free(b);
	}
	fclose(f);
	rc = memlane_close(a);
	if (rc && rc != MEMLANE_ECORRUPT && rc != MEMLANE_ESTORE) {
		fprintf(stderr, "%s: memlane_close = %d (%s)\n", me, rc, memlane_errmsg());
		bad = 1;
	}
	printf("ok\n");
	return bad;
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
	        "usage: %s DIR persist|live|live-scratch\n"
	        "       %s DIR corrupt HANDLE [payload|header|delete|table|size]\n"
	        "       %s DIR foreign [plain|noformat|format2]\n"
	        "       %s DIR readers\n"
	        "       %s DIR flip OFFSET MASK\n"
	        "       %s DIR check PREFIX\n",
	        me, me, me, me, me, me);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	const char *dir = argv[1], *mode = argv[2];
	unsetenv("MEMLANE_OPTIONS"); /* the stores must be what this file says */
	if (strcmp(mode, "persist") == 0 && argc == 3)
		return mode_persist(dir);
	if (strcmp(mode, "live") == 0 && argc == 3)
		return mode_live(dir, true);
	if (strcmp(mode, "live-scratch") == 0 && argc == 3)
		return mode_live(dir, false);
	if (strcmp(mode, "corrupt") == 0 && (argc == 4 || argc == 5))
		return mode_corrupt(dir, argv[3], argc == 5 ? argv[4] : "payload");
	if (strcmp(mode, "readers") == 0 && argc == 3)
		return mode_readers(dir);
	if (strcmp(mode, "flip") == 0 && argc == 5)
		return mode_flip(dir, argv[3], argv[4]);
	if (strcmp(mode, "check") == 0 && argc == 4)
		return mode_check(dir, argv[3]);
	if (strcmp(mode, "foreign") == 0 && (argc == 3 || argc == 4))
		return mode_foreign(dir, argc == 4 ? argv[3] : "plain");
	usage();
}
