/* fuzz_dump.c - memlane-dump's readers on arbitrary store values.
 *
 * tools/memlane-dump.c is included here (its main() renamed, its exit()
 * turned into a longjmp back to the harness), so the harness calls the
 * tool's own functions: the summary, --list, --roots, --verify, --raw
 * and --hex, in text and JSON. LMDB's file format is not fuzzed (LMDB
 * trusts its own pages); the values memlane-dump decodes are: each
 * input is written, through LMDB, into a store in a temporary directory
 * as one object's record, its "handles" entry, and the "checkpoint" and
 * "options" meta records. The input's layout:
 *   byte 0    flags: 1 persistent store, 2 JSON output, 4 the handles
 *             entry is taken from the input (else made to match the
 *             record), 8 write a checkpoint record
 *   2 bytes   length of the options text (little-endian)
 *   16 bytes  the checkpoint record (sequence, time)
 *   32 bytes  the handles entry
 *   N bytes   the options text (N from byte 1)
 *   the rest  the record
 * (a short input is padded with zeros). Invariants: nothing crashes or
 * reads past a value (AddressSanitizer; the options text and the record
 * are also decoded from exactly-sized heap copies); --raw either fails
 * with exit status 1 or writes exactly the header's number of bytes,
 * whose hash is the header's. */
#include "fuzz.h"

#include <setjmp.h>
#include <sys/stat.h>

/* memlane-dump ends with exit(); here that comes back to the harness. */
static jmp_buf dump_died;
static void dump_exit(int status) __attribute__((noreturn));
#define exit(status) dump_exit(status)
#define main memlane_dump_main
int memlane_dump_main(int argc, char **argv);
#include "memlane-dump.c"
#undef main
#undef exit

static void dump_exit(int status)
{
	longjmp(dump_died, status ? status : -1000);
}

#define HANDLE ((memlane_handle)0x0001000500000003ull)

static MDB_env *env;
static MDB_dbi dbi_meta, dbi_objects, dbi_handles, dbi_roots;
static char out_path[4096];

static void must(int rc, const char *what)
{
	FUZZ_CHECK(rc == 0, "%s: %s", what, mdb_strerror(rc));
}

static void put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen)
{
	MDB_val key = {klen, (void *)(uintptr_t)k}, val = {vlen, (void *)(uintptr_t)v};
	must(mdb_put(t, dbi, &key, &val, 0), "mdb_put");
}

static void setup(void)
{
	const char *dir = fuzz_tmpdir("dump");
	must(mdb_env_create(&env), "mdb_env_create");
	mdb_env_set_maxdbs(env, 8);
	mdb_env_set_mapsize(env, (size_t)64 << 20);
	must(mdb_env_open(env, dir, MDB_NOSYNC | MDB_NOTLS, 0600), "mdb_env_open");
	MDB_txn *t;
	must(mdb_txn_begin(env, NULL, 0, &t), "mdb_txn_begin");
	must(mdb_dbi_open(t, "meta", MDB_CREATE, &dbi_meta), "meta");
	must(mdb_dbi_open(t, "objects", MDB_CREATE, &dbi_objects), "objects");
	must(mdb_dbi_open(t, "handles", MDB_CREATE, &dbi_handles), "handles");
	must(mdb_dbi_open(t, "roots", MDB_CREATE, &dbi_roots), "roots");
	must(mdb_txn_commit(t), "mdb_txn_commit");
	/* memlane-dump prints to standard output: into a file, to check. */
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	FUZZ_CHECK(freopen(out_path, "w+", stdout) != NULL, "freopen(%s): %s", out_path, strerror(errno));
}

struct input {
	uint8_t flags;
	uint8_t ckpt[16], entry[ML_TABLE_ENTRY];
	const uint8_t *options, *rec;
	size_t options_len, rec_len;
};

static void split(const uint8_t *data, size_t size, struct input *in)
{
	uint8_t head[3 + 16 + ML_TABLE_ENTRY] = {0};
	memcpy(head, data, size < sizeof(head) ? size : sizeof(head));
	in->flags = head[0];
	size_t optlen = (size_t)head[1] | (size_t)head[2] << 8;
	memcpy(in->ckpt, head + 3, 16);
	memcpy(in->entry, head + 19, ML_TABLE_ENTRY);
	size_t off = size < sizeof(head) ? size : sizeof(head);
	in->options = data + off;
	in->options_len = optlen < size - off ? optlen : size - off;
	off += in->options_len;
	in->rec = data + off;
	in->rec_len = size - off;
}

/* Write @in as the store's only object and meta records; returns the
 * record's seq. */
static uint64_t write_store(const struct input *in)
{
	MDB_txn *t;
	must(mdb_txn_begin(env, NULL, 0, &t), "mdb_txn_begin");
	must(mdb_drop(t, dbi_meta, 0), "mdb_drop");
	must(mdb_drop(t, dbi_objects, 0), "mdb_drop");
	must(mdb_drop(t, dbi_handles, 0), "mdb_drop");
	must(mdb_drop(t, dbi_roots, 0), "mdb_drop");
	uint8_t v8[8], persist = in->flags & 1;
	ml_put64(v8, ML_STORE_FORMAT);
	put(t, dbi_meta, ML_META_FORMAT, strlen(ML_META_FORMAT), v8, 8);
	put(t, dbi_meta, ML_META_PERSIST, strlen(ML_META_PERSIST), &persist, 1);
	ml_put64(v8, 5);
	put(t, dbi_meta, ML_META_ARENA_ID, strlen(ML_META_ARENA_ID), v8, 8);
	if (in->flags & 8)
		put(t, dbi_meta, ML_META_CHECKPOINT, strlen(ML_META_CHECKPOINT), in->ckpt, 16);
	if (in->options_len)
		put(t, dbi_meta, ML_META_OPTIONS, strlen(ML_META_OPTIONS), in->options, in->options_len);

	struct ml_table_entry e = {1, 0, 0, 0, 0};
	struct ml_rec_info info;
	if (in->flags & 4)
		ml_table_entry_parse(in->entry, ML_TABLE_ENTRY, &e);
	else if (ml_rec_header_parse(in->rec, in->rec_len, &info) == 0)
		e = (struct ml_table_entry){1, info.size, info.tag, info.flags, info.align_log2};
	uint8_t key[16];
	ml_rec_key(key, HANDLE, e.seq);
	put(t, dbi_objects, key, 16, in->rec, in->rec_len);
	if (persist) {
		uint8_t enc[ML_TABLE_ENTRY];
		ml_table_entry_encode(enc, &e);
		ml_handle_key(key, HANDLE);
		put(t, dbi_handles, key, 8, enc, sizeof(enc));
		put(t, dbi_roots, "root", 4, key, 8);
	}
	must(mdb_txn_commit(t), "mdb_txn_commit");
	return e.seq;
}

/* Standard output as written since the last call (malloc'd). */
static uint8_t *take_output(size_t *len)
{
	FUZZ_CHECK(fflush(stdout) == 0, "fflush: %s", strerror(errno));
	struct stat sb;
	FUZZ_CHECK(fstat(fileno(stdout), &sb) == 0, "fstat: %s", strerror(errno));
	uint8_t *buf = malloc((size_t)sb.st_size + 1);
	FUZZ_CHECK(buf != NULL, "malloc");
	FUZZ_CHECK(pread(fileno(stdout), buf, (size_t)sb.st_size, 0) == sb.st_size, "pread: %s", strerror(errno));
	*len = (size_t)sb.st_size;
	rewind(stdout);
	FUZZ_CHECK(ftruncate(fileno(stdout), 0) == 0, "ftruncate: %s", strerror(errno));
	return buf;
}

enum { RUN_SUMMARY, RUN_LIST, RUN_ROOTS, RUN_VERIFY, RUN_RAW, RUN_HEX };

/* One mode of memlane-dump; its exit status, or what it passed to
 * exit() (EXIT_USAGE: a die()). */
static int run_mode(struct store *st, int mode)
{
	int died = setjmp(dump_died);
	if (died)
		return died;
	switch (mode) {
	case RUN_SUMMARY:
		return mode_summary(st);
	case RUN_LIST:
		return mode_list(st);
	case RUN_ROOTS:
		return mode_roots(st);
	case RUN_VERIFY:
		return mode_verify(st);
	case RUN_RAW:
		return mode_bytes(st, HANDLE, true);
	default:
		return mode_bytes(st, HANDLE, false);
	}
}

/* --raw: damage (exit status 1), or exactly the object's bytes. */
static void check_raw(const struct input *in, int status)
{
	size_t len;
	uint8_t *out = take_output(&len);
	struct ml_rec_info info;
	if (status != 0) {
		FUZZ_CHECK(status == EXIT_DAMAGE, "memlane-dump --raw: exit status %d", status);
		free(out);
		return;
	}
	FUZZ_CHECK(ml_rec_header_parse(in->rec, in->rec_len, &info) == 0, "--raw succeeded on a bad header");
	if (json) {
		FUZZ_CHECK(len > 0 && out[len - 1] == '\n', "--raw --json: output not one line");
	} else {
		FUZZ_CHECK(len == info.size, "--raw wrote %zu bytes, the record holds %llu", len,
		           (unsigned long long)info.size);
		FUZZ_CHECK(ml_hash64(out, len) == info.hash, "--raw wrote bytes that do not match the record's hash");
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!env)
		setup();
	if (size > 65536)
		return 0;
	struct input in;
	split(data, size, &in);
	write_store(&in);

	json = in.flags & 2;
	struct store st = {0};
	st.dir = fuzz_tmpdir("dump");
	st.env = env;
	st.meta = dbi_meta;
	st.objects = dbi_objects;
	st.handles = dbi_handles;
	st.roots = dbi_roots;
	st.persist = in.flags & 1;
	st.format = ML_STORE_FORMAT;
	must(mdb_txn_begin(env, NULL, MDB_RDONLY, &st.txn), "mdb_txn_begin");
	for (int mode = RUN_SUMMARY; mode <= RUN_HEX; mode++) {
		int status = run_mode(&st, mode);
		if (mode == RUN_RAW) {
			check_raw(&in, status);
			continue;
		}
		FUZZ_CHECK(status == 0 || status == EXIT_DAMAGE, "memlane-dump mode %d: exit status %d", mode, status);
		free(take_output(&(size_t){0}));
	}
	mdb_txn_abort(st.txn);

	/* The options text again, from an exactly-sized copy. */
	char *opts = malloc(in.options_len ? in.options_len : 1);
	FUZZ_CHECK(opts != NULL, "malloc");
	memcpy(opts, in.options, in.options_len);
	print_options_json(opts, in.options_len);
	free(opts);
	free(take_output(&(size_t){0}));
	return 0;
}
