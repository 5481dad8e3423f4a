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

/* ---- a JSON checker (RFC 8259), for the --json outputs ---------------- */

struct json {
	const uint8_t *p, *end;
	int depth;
};

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static bool json_lit(struct json *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool json_digits(struct json *j)
{
	const uint8_t *start = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static bool json_num(struct json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.' && (j->p++, !json_digits(j)))
		return false;
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		return json_digits(j);
	}
	return true;
}

/* Bytes of the well-formed UTF-8 sequence at @p (RFC 3629, table 3-7
 * of Unicode), or 0: written apart from memlane-dump's utf8_len(). */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	static const struct {
		uint8_t lo, hi, len, lo2, hi2;
	} t[] = {
	        {0xc2, 0xdf, 2, 0x80, 0xbf}, {0xe0, 0xe0, 3, 0xa0, 0xbf}, {0xe1, 0xec, 3, 0x80, 0xbf},
	        {0xed, 0xed, 3, 0x80, 0x9f}, {0xee, 0xef, 3, 0x80, 0xbf}, {0xf0, 0xf0, 4, 0x90, 0xbf},
	        {0xf1, 0xf3, 4, 0x80, 0xbf}, {0xf4, 0xf4, 4, 0x80, 0x8f},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (p[0] < t[i].lo || p[0] > t[i].hi)
			continue;
		if (n < t[i].len || p[1] < t[i].lo2 || p[1] > t[i].hi2)
			return 0;
		for (size_t k = 2; k < t[i].len; k++)
			if (p[k] < 0x80 || p[k] > 0xbf)
				return 0;
		return t[i].len;
	}
	return 0;
}

static bool json_string(struct json *j)
{
	if (!json_lit(j, "\""))
		return false;
	while (j->p < j->end) {
		uint8_t c = *j->p++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->p >= j->end)
				return false;
			c = *j->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, j->p++)
					if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
						return false;
			} else if (!strchr("\"\\/bfnrt", c) || !c) {
				return false;
			}
		} else if (c >= 0x80) {
			size_t k = utf8_seq(j->p - 1, (size_t)(j->end - j->p) + 1);
			if (!k)
				return false;
			j->p += k - 1;
		}
	}
	return false;
}

static bool json_value(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end || ++j->depth > 32)
		return false;
	bool ok;
	char open = (char)*j->p;
	if (open == '{' || open == '[') {
		char close = open == '{' ? '}' : ']';
		j->p++;
		json_ws(j);
		ok = true;
		if (j->p < j->end && *j->p == close) {
			j->p++;
		} else {
			for (;;) {
				if (open == '{') {
					json_ws(j);
					if (!json_string(j) || (json_ws(j), !json_lit(j, ":"))) {
						ok = false;
						break;
					}
				}
				if (!json_value(j)) {
					ok = false;
					break;
				}
				json_ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				ok = j->p < j->end && *j->p++ == close;
				break;
			}
		}
	} else if (open == '"') {
		ok = json_string(j);
	} else if (open == 't' || open == 'f' || open == 'n') {
		ok = json_lit(j, "true") || json_lit(j, "false") || json_lit(j, "null");
	} else {
		ok = json_num(j);
	}
	j->depth--;
	return ok;
}

/* @out (@len bytes) is one JSON value and a newline. */
static void check_json(const uint8_t *out, size_t len, int mode)
{
	struct json j = {out, out + len, 0};
	bool ok = json_value(&j);
	json_ws(&j);
	FUZZ_CHECK(ok && j.p == j.end && len > 0 && out[len - 1] == '\n',
	           "memlane-dump mode %d --json: not one JSON value (bad at byte %zu): %.*s", mode,
	           (size_t)(j.p - out), (int)(len < 2000 ? len : 2000), (const char *)out);
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
		check_json(out, len, RUN_RAW);
	} else {
		FUZZ_CHECK(len == info.size, "--raw wrote %zu bytes, the record holds %llu", len,
		           (unsigned long long)info.size);
		FUZZ_CHECK(ml_frame_checked(info.payload, info.payload_len) || ml_hash64(out, len) == info.hash,
		           "--raw wrote bytes that do not match the record's hash");
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
	/* A record whose header and zstd frame agree on a size past 64 MiB
	 * makes memlane-dump allocate that much, as it must to decode it
	 * (and a failed malloc is reported as damage): no bug, but past
	 * libFuzzer's malloc limit. */
	struct ml_rec_info info;
	if (ml_rec_header_parse(in.rec, in.rec_len, &info) == 0 && info.size > ((uint64_t)64 << 20) &&
	    ZSTD_getFrameContentSize(info.payload, info.payload_len) == info.size)
		return 0;
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
		size_t len;
		uint8_t *out = take_output(&len);
		if (json && !(mode == RUN_HEX && status != 0))
			check_json(out, len, mode);
		free(out);
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
