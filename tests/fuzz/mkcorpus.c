/* mkcorpus.c - writes the seed corpus of the fuzzers (tests/fuzz/corpus).
 *
 *   mkcorpus OUTDIR
 *
 * OUTDIR/fuzz_record: every record of a persistent store written by the
 * library (objects of several sizes and kinds, compressed and stored),
 * read back through LMDB as fault-in reads them. OUTDIR/fuzz_dump: the
 * same records with their "handles" entries, checkpoint and options
 * records, in fuzz_dump.c's input layout. OUTDIR/fuzz_options: option
 * strings as a user writes them and as memlane_config_print prints them.
 * OUTDIR/fuzz_ops: operation sequences in fuzz_ops.c's encoding.
 * OUTDIR/fuzz_restore: small persistent stores, every LMDB put of their
 * four databases in fuzz_restore.c's encoding.
 * The corpus in the repository was made with it once; rerun it only when
 * the store format or a harness's input layout changes.
 * Exit status: 0 done, 1 failure (said on stderr). */
#include "fuzz.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "record.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mkcorpus: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

#define MUST(call)                                                                                                     \
	do {                                                                                                           \
		int must_rc_ = (call);                                                                                 \
		if (must_rc_ != 0)                                                                                     \
			die("%s = %d (%s)", #call, must_rc_, memlane_errmsg());                                        \
	} while (0)

static const char *outdir;

static void put_file(const char *sub, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("writing %s: %s", path, strerror(errno));
}

/* ---- records ---------------------------------------------------------- */

/* Object kinds: text compresses, random does not, zeros very well. */
static void fill(uint8_t *p, size_t n, int kind)
{
	static const char text[] = "the quick brown fox jumps over the lazy memlane arena; ";
	uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(n + 1);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = kind == 0 ? (uint8_t)text[i % (sizeof(text) - 1)] : kind == 1 ? (uint8_t)x : 0;
	}
}

static void make_store(const char *dir, int compression)
{
	static const size_t sizes[] = {0, 1, 63, 64, 300, 1000, 3000};
	memlane_config cfg;
	memlane_config_init(&cfg);
	MUST(memlane_config_parse(&cfg, "persist=1,fast_lane_size=1M,slow_lane_size=8M"));
	cfg.compression = compression;
	memlane_arena *a;
	MUST(memlane_open(&a, dir, &cfg));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int kind = 0; kind < 3; kind++) {
			if (sizes[i] < 64 && kind)
				continue;
			memlane_handle h;
			memlane_alloc_opts o = {0, kind == 2 ? 4096 : 0, (uint32_t)(i * 3 + (size_t)kind)};
			MUST(memlane_alloc_ex(a, sizes[i], &o, &h));
			uint8_t *buf = malloc(sizes[i] + 1);
			fill(buf, sizes[i], kind);
			MUST(memlane_write(a, h, 0, buf, sizes[i]));
			free(buf);
			MUST(memlane_evict(a, h));
			if (i == 0)
				MUST(memlane_root_set(a, "first", h));
		}
	}
	MUST(memlane_checkpoint(a));
	MUST(memlane_close(a));
}

static void dump_records(const char *dir, const char *tag)
{
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi meta, objects, handles;
	MDB_cursor *cur;
	MDB_val key, v, ckpt = {0, NULL}, opts = {0, NULL};
	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_open(env, dir, MDB_RDONLY, 0600) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &t) || mdb_dbi_open(t, "meta", 0, &meta) ||
	    mdb_dbi_open(t, "objects", 0, &objects) || mdb_dbi_open(t, "handles", 0, &handles) ||
	    mdb_cursor_open(t, objects, &cur))
		die("cannot read the store in %s", dir);
	key = (MDB_val){strlen(ML_META_CHECKPOINT), (void *)(uintptr_t)ML_META_CHECKPOINT};
	mdb_get(t, meta, &key, &ckpt);
	key = (MDB_val){strlen(ML_META_OPTIONS), (void *)(uintptr_t)ML_META_OPTIONS};
	mdb_get(t, meta, &key, &opts);
	int n = 0;
	while (mdb_cursor_get(cur, &key, &v, MDB_NEXT) == 0) {
		char name[64];
		snprintf(name, sizeof(name), "%s-%02d", tag, n);
		put_file("fuzz_record", name, v.mv_data, v.mv_size);

		/* fuzz_dump: flags, options length, checkpoint, entry,
		 * options, record. Every other one as a scratch store. */
		memlane_handle h;
		uint64_t seq;
		ml_rec_key_parse(key.mv_data, &h, &seq);
		uint8_t hk[8];
		ml_handle_key(hk, h);
		MDB_val hkey = {8, hk}, entry = {0, NULL};
		mdb_get(t, handles, &hkey, &entry);
		size_t len = 3 + 16 + ML_TABLE_ENTRY + opts.mv_size + v.mv_size;
		uint8_t *in = calloc(1, len);
		in[0] = (uint8_t)((n % 2 ? 0 : 1) | (n % 3 == 0 ? 2 : 0) | (entry.mv_size == ML_TABLE_ENTRY ? 4 : 0) |
		                  (ckpt.mv_size == 16 ? 8 : 0));
		in[1] = (uint8_t)opts.mv_size;
		in[2] = (uint8_t)(opts.mv_size >> 8);
		if (ckpt.mv_size == 16)
			memcpy(in + 3, ckpt.mv_data, 16);
		if (entry.mv_size == ML_TABLE_ENTRY)
			memcpy(in + 19, entry.mv_data, ML_TABLE_ENTRY);
		memcpy(in + 3 + 16 + ML_TABLE_ENTRY, opts.mv_data, opts.mv_size);
		memcpy(in + 3 + 16 + ML_TABLE_ENTRY + opts.mv_size, v.mv_data, v.mv_size);
		put_file("fuzz_dump", name, in, len);
		free(in);
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(t);
	mdb_env_close(env);
	if (n == 0)
		die("no records in %s", dir);
}

/* A small persistent store (a few objects, a freed one, a root, two
 * checkpoints) for fuzz_restore: small enough to stay under libFuzzer's
 * default input size. */
static void make_small_store(const char *dir, int compression)
{
	static const size_t sizes[] = {0, 10, 100, 300};
	memlane_config cfg;
	memlane_config_init(&cfg);
	MUST(memlane_config_parse(&cfg, "persist=1,fast_lane_size=1M,slow_lane_size=8M"));
	cfg.compression = compression;
	memlane_arena *a;
	MUST(memlane_open(&a, dir, &cfg));
	memlane_handle hs[4];
	for (int i = 0; i < 4; i++) {
		uint8_t buf[300];
		fill(buf, sizes[i], i % 2);
		MUST(memlane_alloc(a, sizes[i], &hs[i]));
		MUST(memlane_write(a, hs[i], 0, buf, sizes[i]));
	}
	MUST(memlane_root_set(a, "root", hs[2]));
	MUST(memlane_checkpoint(a));
	MUST(memlane_free(a, hs[1]));
	MUST(memlane_evict(a, hs[3]));
	MUST(memlane_close(a)); /* the second checkpoint */
}

static void dump_puts(const char *dir, const char *name)
{
	static const char *const names[4] = {"meta", "objects", "handles", "roots"};
	MDB_env *env;
	MDB_txn *t;
	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_open(env, dir, MDB_RDONLY, 0600) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &t))
		die("cannot read the store in %s", dir);
	uint8_t *out = NULL;
	size_t len = 0;
	for (int db = 0; db < 4; db++) {
		MDB_dbi dbi;
		MDB_cursor *cur;
		MDB_val k, v;
		if (mdb_dbi_open(t, names[db], 0, &dbi) || mdb_cursor_open(t, dbi, &cur))
			die("cannot read database %s in %s", names[db], dir);
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			if (k.mv_size > 255 || v.mv_size > 65535)
				die("%s: a key or value too long for fuzz_restore's encoding", dir);
			out = realloc(out, len + 4 + k.mv_size + v.mv_size);
			if (!out)
				die("out of memory");
			out[len] = (uint8_t)db;
			out[len + 1] = (uint8_t)k.mv_size;
			out[len + 2] = (uint8_t)v.mv_size;
			out[len + 3] = (uint8_t)(v.mv_size >> 8);
			memcpy(out + len + 4, k.mv_data, k.mv_size);
			memcpy(out + len + 4 + k.mv_size, v.mv_data, v.mv_size);
			len += 4 + k.mv_size + v.mv_size;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(t);
	mdb_env_close(env);
	put_file("fuzz_restore", name, out, len);
	free(out);
}

/* ---- options ------------------------------------------------------------ */

static void option_strings(void)
{
	static const char *const s[] = {
	        "fast_lane_size=16M,slow_lane_size=256M",
	        "preset=game_loop",
	        "preset=low_memory, threshold = 512 ,compression=none",
	        "threshold=2K,auto_compaction=off,compaction_threshold=0.5",
	        "slow_lane_usage_threshold=0.75,slow_lane_safety_margin=auto",
	        "slow_lane_safety_margin=4MiB,policy_check_interval=250ms",
	        "policy_check_interval=2s,promotion_age=1000",
	        "compression=zstd,compression_level=-7",
	        "persist=yes,store_sync=checkpoint,store_max_size=1T",
	        "store_sync=none,persist=true",
	        "low_memory",
	        "threshold=16",
	        "fast_lane_size=64K",
	};
	char name[32];
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		snprintf(name, sizeof(name), "opt-%02zu", i);
		put_file("fuzz_options", name, s[i], strlen(s[i]));
	}
	/* The options as printed, one line each turned into k=v,k=v. */
	static const char *const presets[] = {"default", "game_loop", "low_memory"};
	for (size_t i = 0; i < 3; i++) {
		memlane_config cfg;
		memlane_config_init(&cfg);
		MUST(memlane_config_preset(&cfg, presets[i]));
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		MUST(memlane_config_print(&cfg, f, 0));
		fclose(f);
		for (char *p = text; *p; p++)
			if (*p == '\n')
				*p = ',';
		snprintf(name, sizeof(name), "printed-%s", presets[i]);
		put_file("fuzz_options", name, text, len);
		free(text);
	}
}

/* ---- operation sequences ------------------------------------------------ */

/* fuzz_ops.c's opcodes (the first byte of each operation, mod 24). */
enum { ALLOC = 0, ALLOC_BIG = 2, FREE = 4, WRITE = 5, READ = 7, GET = 8, REALLOC = 9, EVICT = 10, PROMOTE = 11,
       PREFETCH = 12, PIN = 13, UNPIN = 14, COMPACT = 15, TICK = 16, FLUSH = 17, CHECKPOINT = 18, REOPEN = 19,
       ROOT = 20, TRY_GET = 21, STALE = 22 };

static void op_sequences(void)
{
	static const uint8_t seqs[][64] = {
	        /* persist: big objects, evict, read, reopen, read */
	        {1, ALLOC_BIG, 0, 0x40, 0, 0, ALLOC_BIG, 1, 0x80, 0, 1, EVICT, 0, READ, 0, ROOT, 0, 0x10, CHECKPOINT,
	         REOPEN, READ, 1, ROOT, 1, 0x10, FREE, 0, STALE},
	        /* scratch, no compression: fill the SlowLane until it evicts */
	        {2, ALLOC_BIG, 0, 0xf0, 0, 0, ALLOC_BIG, 1, 0xf0, 0, 0, ALLOC_BIG, 2, 0xf0, 0, 0, ALLOC_BIG, 3, 0xf0, 0,
	         0, ALLOC_BIG, 4, 0xf0, 0, 0, ALLOC_BIG, 5, 0xf0, 0, 0, ALLOC_BIG, 6, 0xf0, 0, 0, ALLOC_BIG, 7, 0xf0, 0,
	         0, ALLOC_BIG, 8, 0xf0, 0, 0, READ, 0, READ, 8, FLUSH, TRY_GET, 3, PREFETCH, 3, TRY_GET, 3},
	        /* small objects: write, pin, compact, promote, realloc */
	        {4, ALLOC, 0, 100, 1, ALLOC, 1, 50, 0, ALLOC, 2, 10, 32, WRITE, 1, 10, 200, 7, FREE, 0, PIN, 1, COMPACT,
	         PROMOTE, 2, TICK, 1, TICK, 0, REALLOC, 2, 0, 150, UNPIN, 1, REALLOC, 1, 1, 0x30, GET, 1, 0, GET, 2, 1},
	        /* persist: write after checkpoint, evict again, reopen */
	        {1, ALLOC, 0, 120, 0, ALLOC_BIG, 1, 0x10, 0, 1, CHECKPOINT, WRITE, 1, 0, 255, 9, EVICT, 1, PIN, 0,
	         REOPEN, GET, 1, 0, EVICT, 1, FLUSH, READ, 1, READ, 0, REOPEN},
	};
	char name[32];
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		size_t n = sizeof(seqs[i]);
		while (n > 1 && seqs[i][n - 1] == 0)
			n--;
		snprintf(name, sizeof(name), "ops-%02zu", i);
		put_file("fuzz_ops", name, seqs[i], n);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
		die("mkdir %s: %s", outdir, strerror(errno));
	unsetenv("MEMLANE_OPTIONS");
	char dir[4096];
	fuzz_mkdtemp(dir, sizeof(dir), "corpus");
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/zstd", dir);
	make_store(sub, MEMLANE_COMPRESSION_ZSTD);
	dump_records(sub, "zstd");
	snprintf(sub, sizeof(sub), "%s/none", dir);
	make_store(sub, MEMLANE_COMPRESSION_NONE);
	dump_records(sub, "stored");
	snprintf(sub, sizeof(sub), "%s/small-zstd", dir);
	make_small_store(sub, MEMLANE_COMPRESSION_ZSTD);
	dump_puts(sub, "small-zstd");
	snprintf(sub, sizeof(sub), "%s/small-stored", dir);
	make_small_store(sub, MEMLANE_COMPRESSION_NONE);
	dump_puts(sub, "small-stored");
	fuzz_rm_rf(dir);
	option_strings();
	op_sequences();
	return 0;
}
