/* memlane-dump - inspect a libmemlane spill store.
 *
 * In the manner of LMDB's mdb_stat and mdb_dump: opens the environment
 * read-only (MDB_RDONLY: it takes a reader slot in lock.mdb, as every
 * LMDB reader does, and writes nothing else), works while an arena owns
 * the directory, and prints what it finds. memlane-dump(1) is the manual;
 * the format is memlane-store(5) and lib/record.c.
 *
 * Exit status: 0 fine, 1 damage found, 2 usage or open error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <zstd.h>

#include "memlane.h"
#include "record.h"

enum { EXIT_DAMAGE = 1, EXIT_USAGE = 2 };
enum mode { MODE_SUMMARY, MODE_LIST, MODE_ROOTS, MODE_STATS, MODE_HEX, MODE_RAW, MODE_VERIFY };

struct store {
	const char *dir;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, objects, handles, roots;
	bool persist;
	uint64_t format;
};

/* One object as the store holds it: the handle table's entry (persist=1)
 * or the newest record of the handle (scratch stores). */
struct object {
	memlane_handle h;
	uint64_t seq, size, stored;
	uint32_t tag;
	int codec; /* CODEC_MISSING, CODEC_BAD_ENTRY or an ML_CODEC_* */
	uint64_t epoch;
};

#define CODEC_MISSING (-1)   /* record missing or unreadable */
#define CODEC_BAD_ENTRY (-2) /* the handle table entry itself is damaged; stored: its length */

static const char *progname = "memlane-dump";
static bool json;
static struct store *open_store; /* for die(): the reader slot goes back */
static volatile sig_atomic_t caught; /* a signal to die of, once the slot is back */

static void store_close(struct store *st);

/* An open read transaction holds a slot in lock.mdb that nothing frees
 * when the process dies (until something calls mdb_reader_check), and a
 * running arena cannot reuse the pages of that snapshot meanwhile. So
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE (memlane-dump -l | head) only set
 * a flag; the loops call check_signal(), which gives the slot back and
 * then dies of the signal as if it had not been caught. */
static void on_signal(int sig)
{
	caught = sig;
	/* A signal that lands between two writes would leave the next one
	 * blocked on a full pipe, never back in a loop to see the flag; with
	 * standard output closed every write fails at once. */
	close(STDOUT_FILENO);
}

static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a blocked write returns */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void check_signal(void)
{
	if (!caught)
		return;
	int sig = caught;
	if (open_store)
		store_close(open_store);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig); /* not reached */
}

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (open_store)
		store_close(open_store); /* the reader slot goes back (see on_signal) */
	check_signal();                  /* e.g. an interrupted open: die of the signal */
	exit(status);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [--json] [-l | -r | -s | -x HANDLE | -o HANDLE | --verify] SPILL_DIR\n"
	        "  (no option)        summary: format, objects, raw and stored bytes, last checkpoint, options\n"
	        "  -l, --list         one line per object: handle, size, stored size, codec, tag, checkpoint\n"
	        "  -r, --roots        named roots and their handles\n"
	        "  -s, --stats        LMDB statistics: pages, depth, entries, free space\n"
	        "  -x, --hex HANDLE   one object's bytes as a hex dump\n"
	        "  -o, --raw HANDLE   one object's bytes, raw, to standard output\n"
	        "      --verify       decompress and check every record; exit 1 on damage\n"
	        "      --json         the chosen output as JSON\n"
	        "  -V, --version      version\n"
	        "  -h, --help         this help\n"
	        "HANDLE is decimal or 0x hexadecimal, as --list prints it.\n"
	        "Exit status: 0 fine, 1 damage found, 2 usage or open error.\n",
	        progname);
}

/* ---- JSON output ------------------------------------------------------- */

/* Bytes in the well-formed UTF-8 sequence at @s (@n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len;
	uint32_t cp;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0fu;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string. UTF-8 (root names, paths) goes through as it is; a
 * byte that is not part of well-formed UTF-8 cannot be said in JSON, so
 * it comes out as the code point of the same number (\u00XX). */
static void json_str(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = u[i];
		size_t k;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c >= 0x80 && (k = utf8_len(u + i, n - i)) != 0) {
			fwrite(u + i, 1, k, stdout);
			i += k - 1;
		} else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *codec_name(int codec)
{
	return codec == ML_CODEC_ZSTD ? "zstd" : codec == ML_CODEC_STORED ? "raw" : "missing";
}

/* ---- opening ------------------------------------------------------------- */

static void open_dbi(struct store *st, const char *name, MDB_dbi *dbi)
{
	int rc = mdb_dbi_open(st->txn, name, 0, dbi);
	if (rc == MDB_NOTFOUND)
		die(EXIT_USAGE, "'%s' is not a libmemlane store: its LMDB environment has no '%s' database", st->dir, name);
	if (rc)
		die(EXIT_USAGE, "'%s': cannot open database '%s': %s", st->dir, name, mdb_strerror(rc));
}

static bool get_meta(struct store *st, const char *name, MDB_val *v)
{
	MDB_val key = {strlen(name), (void *)(uintptr_t)name};
	return mdb_get(st->txn, st->meta, &key, v) == 0;
}

/* LMDB maps data.mdb and trusts its meta page: in a file cut short (a
 * copy that stopped early, a full disk) the first page past the end is
 * SIGBUS, not an error code. So compare first. The size is taken after
 * the meta page is read: LMDB writes pages before a meta names them, and
 * never shrinks the file, so a running arena cannot trip this. fstat,
 * not stat: a scratch arena deletes and recreates its files, and the
 * name may no longer be the file that is mapped. */
static void check_file_size(struct store *st, const char *path)
{
	MDB_envinfo info;
	MDB_stat env;
	struct stat sb;
	int fd;
	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &env) != 0 || mdb_env_get_fd(st->env, &fd) != 0)
		return; /* the calls below report what is wrong */
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * env.ms_psize;
	if (fstat(fd, &sb) != 0)
		die(EXIT_USAGE, "'%s': %s", path, strerror(errno));
	if ((uint64_t)sb.st_size < need)
		die(EXIT_USAGE, "'%s' is cut short: %lld bytes, but its meta page counts %" PRIu64 " pages of %u bytes", path,
		    (long long)sb.st_size, (uint64_t)info.me_last_pgno + 1, env.ms_psize);
}

/* LMDB trusts its pages: damage in a branch or leaf page can crash it.
 * When no arena holds the directory (the file is not being written),
 * check them first, as memlane_open does (lib/mdbcheck.c). While an
 * arena holds it, the arena checked them when it opened the store. */
static void check_pages(const char *dir, const char *path)
{
	char lock[4096], why[200];
	snprintf(lock, sizeof(lock), "%s/" ML_LOCK_FILE, dir);
	int lfd = open(lock, O_RDONLY | O_CLOEXEC);
	if (lfd >= 0 && flock(lfd, LOCK_SH | LOCK_NB) != 0) {
		close(lfd);
		return; /* an arena owns the directory */
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = fd >= 0 ? ml_mdb_check(fd, why, sizeof(why)) : 0;
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd); /* drops the lock */
	if (rc == ML_MDB_DAMAGED)
		die(EXIT_USAGE, "'%s' is damaged: %s", path, why);
	if (rc)
		die(EXIT_USAGE, "'%s': cannot check its pages: %s", path, why);
}

static void store_open(struct store *st, const char *dir)
{
	struct stat sb;
	char path[4096];
	st->dir = dir;
	if (stat(dir, &sb) != 0)
		die(EXIT_USAGE, "'%s': %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		die(EXIT_USAGE, "'%s' is not a directory (a spill store is a directory)", dir);
	snprintf(path, sizeof(path), "%s/" ML_LOCK_FILE, dir);
	bool had_arena = stat(path, &sb) == 0;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT && had_arena)
			die(EXIT_USAGE, "'%s' holds no store: an arena used it, but a scratch arena (persist=0) deletes "
			    "its store when it closes", dir);
		die(EXIT_USAGE, "'%s' is not a libmemlane store: no LMDB environment in it (%s: %s)", dir, path,
		    strerror(errno));
	}
	/* LMDB opens data.mdb and lock.mdb by name and follows links, and
	 * writes lock.mdb even to read: refuse links, as the library does,
	 * so that a planted link cannot point it at another file. */
	static const char *const files[] = {"data.mdb", "lock.mdb", ML_LOCK_FILE};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char f[4096];
		snprintf(f, sizeof(f), "%s/%s", dir, files[i]);
		if (lstat(f, &sb) == 0 && !S_ISREG(sb.st_mode))
			die(EXIT_USAGE, "'%s' is %s, not a plain file: refused", f,
			    S_ISLNK(sb.st_mode) ? "a symbolic link" : "something else");
	}
	check_pages(dir, path);
	int rc = mdb_env_create(&st->env);
	if (rc)
		die(EXIT_USAGE, "mdb_env_create: %s", mdb_strerror(rc));
	mdb_env_set_maxdbs(st->env, 8);
	rc = mdb_env_open(st->env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
	if (rc == EACCES || rc == EROFS) {
		/* No write access to lock.mdb: read without the reader table.
		 * Safe only when no arena writes meanwhile; say so. */
		fprintf(stderr, "%s: warning: cannot use '%s/lock.mdb' (%s); reading without locking\n", progname, dir,
		        mdb_strerror(rc));
		mdb_env_close(st->env);
		mdb_env_create(&st->env);
		mdb_env_set_maxdbs(st->env, 8);
		rc = mdb_env_open(st->env, dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0600);
	}
	if (rc)
		die(EXIT_USAGE, "'%s': cannot open the LMDB environment read-only: %s", dir, mdb_strerror(rc));
	open_store = st;
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->txn);
	if (rc == MDB_MAP_RESIZED) { /* the arena grew the map meanwhile */
		mdb_env_set_mapsize(st->env, 0);
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->txn);
	}
	if (rc)
		die(EXIT_USAGE, "'%s': cannot begin a read transaction: %s", dir, mdb_strerror(rc));
	check_file_size(st, path);
	open_dbi(st, "meta", &st->meta);
	open_dbi(st, "objects", &st->objects);
	open_dbi(st, "handles", &st->handles);
	open_dbi(st, "roots", &st->roots);
	MDB_val v;
	if (!get_meta(st, ML_META_FORMAT, &v) || v.mv_size != 8)
		die(EXIT_USAGE, "'%s' is not a libmemlane store, or it is damaged: no format record", dir);
	st->format = ml_get64(v.mv_data);
	if (st->format != ML_STORE_FORMAT)
		die(EXIT_USAGE, "'%s' holds store format %" PRIu64 "; this memlane-dump reads format %d", dir, st->format,
		    ML_STORE_FORMAT);
	st->persist = get_meta(st, ML_META_PERSIST, &v) && v.mv_size == 1 && *(uint8_t *)v.mv_data;
}

static void store_close(struct store *st)
{
	if (st->txn)
		mdb_txn_abort(st->txn);
	if (st->env)
		mdb_env_close(st->env);
	st->txn = NULL;
	st->env = NULL;
	open_store = NULL;
}

/* ---- walking objects ------------------------------------------------------ */

static bool get_record(struct store *st, memlane_handle h, uint64_t seq, MDB_val *v)
{
	uint8_t k[16];
	ml_rec_key(k, h, seq);
	MDB_val key = {16, k};
	return mdb_get(st->txn, st->objects, &key, v) == 0;
}

static void describe_record(const MDB_val *v, struct object *o)
{
	struct ml_rec_info info;
	o->stored = v->mv_size;
	if (ml_rec_header_parse(v->mv_data, v->mv_size, &info) != 0) {
		o->codec = CODEC_MISSING;
		return;
	}
	o->codec = info.codec;
	o->epoch = info.epoch;
	if (!o->size)
		o->size = info.size;
	o->tag = info.tag;
}

typedef void (*object_fn)(struct store *st, const struct object *o, void *ctx);

/* The LMDB error that ended the last each_object() early, or 0. */
static int walk_error;

/* Every object: the handle table of a persistent store, the newest
 * record of each handle in a scratch one. */
static void each_object(struct store *st, object_fn fn, void *ctx)
{
	MDB_cursor *cur;
	MDB_val key, v;
	int rc;
	if (st->persist) {
		if ((rc = mdb_cursor_open(st->txn, st->handles, &cur)) != 0)
			die(EXIT_USAGE, "cannot read the handle table: %s", mdb_strerror(rc));
		for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
			check_signal();
			struct ml_table_entry e;
			struct object o = {0};
			if (key.mv_size != 8 || ml_table_entry_parse(v.mv_data, v.mv_size, &e) != 0) {
				/* Each mode decides what a damaged entry means. */
				struct object bad = {0};
				bad.h = key.mv_size == 8 ? ml_handle_key_parse(key.mv_data) : 0;
				bad.codec = CODEC_BAD_ENTRY;
				bad.stored = v.mv_size;
				fn(st, &bad, ctx);
				continue;
			}
			o.h = ml_handle_key_parse(key.mv_data);
			o.seq = e.seq;
			o.size = e.size;
			o.tag = e.tag;
			o.codec = CODEC_MISSING;
			MDB_val rec;
			if (get_record(st, o.h, o.seq, &rec))
				describe_record(&rec, &o);
			o.tag = e.tag;
			fn(st, &o, ctx);
		}
	} else {
		if ((rc = mdb_cursor_open(st->txn, st->objects, &cur)) != 0)
			die(EXIT_USAGE, "cannot read the records: %s", mdb_strerror(rc));
		/* Keys sort by handle, then seq: the last of a run is newest. */
		struct object o = {0};
		bool have = false;
		for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
			check_signal();
			if (key.mv_size != 16)
				continue;
			memlane_handle h;
			uint64_t seq;
			ml_rec_key_parse(key.mv_data, &h, &seq);
			if (have && h != o.h)
				fn(st, &o, ctx);
			memset(&o, 0, sizeof(o));
			o.h = h;
			o.seq = seq;
			describe_record(&v, &o);
			have = true;
		}
		if (have)
			fn(st, &o, ctx);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		walk_error = rc; /* LMDB found its pages damaged: the walk stopped short */
}

/* Find one object by handle; false when the store has none. */
static bool find_object(struct store *st, memlane_handle h, struct object *out)
{
	memset(out, 0, sizeof(*out));
	out->h = h;
	out->codec = CODEC_MISSING;
	uint8_t k[16];
	MDB_val key, v;
	if (st->persist) {
		ml_handle_key(k, h);
		key = (MDB_val){8, k};
		struct ml_table_entry e;
		if (mdb_get(st->txn, st->handles, &key, &v) != 0)
			return false;
		if (ml_table_entry_parse(v.mv_data, v.mv_size, &e) != 0) {
			out->codec = CODEC_BAD_ENTRY;
			out->stored = v.mv_size;
			return true;
		}
		out->seq = e.seq;
		out->size = e.size;
		if (get_record(st, h, e.seq, &v))
			describe_record(&v, out);
		out->tag = e.tag;
		return true;
	}
	MDB_cursor *cur;
	if (mdb_cursor_open(st->txn, st->objects, &cur) != 0)
		return false;
	ml_rec_key(k, h, UINT64_MAX);
	key = (MDB_val){16, k};
	int rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	if (rc != 0)
		rc = mdb_cursor_get(cur, &key, &v, MDB_LAST);
	else if (key.mv_size != 16 || memcmp(key.mv_data, k, 16) != 0) /* (h, UINT64_MAX) is h's last seq */
		rc = mdb_cursor_get(cur, &key, &v, MDB_PREV);
	bool found = false;
	if (rc == 0 && key.mv_size == 16) {
		memlane_handle kh;
		ml_rec_key_parse(key.mv_data, &kh, &out->seq);
		if (kh == h) {
			describe_record(&v, out);
			found = true;
		}
	}
	mdb_cursor_close(cur);
	return found;
}

/* Whether record @v can decode to @size bytes, checked before a buffer
 * of that size is allocated: its header and its zstd frame's content
 * size must both say @size. A damaged size (in the handle table, the
 * header or the frame) is then reported as damage, in ml_rec_decode()'s
 * words, instead of being allocated ("out of memory", or gigabytes for
 * nothing). */
static bool record_fits(const MDB_val *v, uint64_t size, char *why, size_t whylen)
{
	struct ml_rec_info info;
	if (ml_rec_header_parse(v->mv_data, v->mv_size, &info) != 0) {
		snprintf(why, whylen, "bad record header (%zu bytes)", v->mv_size);
		return false;
	}
	if (info.size != size) {
		snprintf(why, whylen, "record holds %" PRIu64 " bytes, the handle table says %" PRIu64, info.size, size);
		return false;
	}
	unsigned long long n = ZSTD_getFrameContentSize(info.payload, info.payload_len);
	if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) {
		snprintf(why, whylen, "zstd frame header: %s", n == ZSTD_CONTENTSIZE_ERROR ? "damaged" : "no content size");
		return false;
	}
	if (n != size) {
		snprintf(why, whylen, "zstd frame holds %llu bytes, not %" PRIu64, n, size);
		return false;
	}
	return true;
}

/* The bytes of @o, decoded and checked, in a malloc'd buffer. */
static uint8_t *object_bytes(struct store *st, const struct object *o, char *why, size_t whylen)
{
	MDB_val v;
	if (!get_record(st, o->h, o->seq, &v)) {
		snprintf(why, whylen, "its record (seq %" PRIu64 ") is missing", o->seq);
		return NULL;
	}
	if (!record_fits(&v, o->size, why, whylen))
		return NULL;
	uint8_t *buf = malloc(o->size ? o->size : 1);
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!buf || !d) {
		snprintf(why, whylen, "out of memory for %" PRIu64 " bytes", o->size);
		free(buf);
		ZSTD_freeDCtx(d);
		return NULL;
	}
	int rc = ml_rec_decode(d, v.mv_data, v.mv_size, buf, o->size, why, whylen);
	ZSTD_freeDCtx(d);
	if (rc) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- the modes ---------------------------------------------------------- */

struct totals {
	uint64_t objects, raw, stored;
};

static void warn_bad_entry(const struct object *o)
{
	fprintf(stderr, "%s: damaged handle table entry for handle 0x%016" PRIx64 " (%" PRIu64 "-byte value)\n",
	        progname, o->h, o->stored);
}

static void add_totals(struct store *st, const struct object *o, void *ctx)
{
	(void)st;
	struct totals *t = ctx;
	if (o->codec == CODEC_BAD_ENTRY) {
		warn_bad_entry(o);
		return;
	}
	t->objects++;
	t->raw += o->size;
	t->stored += o->stored;
}

/* Whether the @n bytes at @s are a JSON number of the kind the options
 * print: -?(0|[1-9][0-9]*)(.[0-9]+)? (a damaged value may look like
 * "1.2.3" or "-", and the value is not NUL-terminated). */
static bool json_number(const char *s, size_t n)
{
	size_t i = 0, d;
	if (i < n && s[i] == '-')
		i++;
	for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == d || (s[d] == '0' && i - d > 1))
		return false;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

static void print_options_json(const char *text, size_t n)
{
	/* "key=value" lines: strings, except plain numbers. */
	printf("{");
	bool first = true;
	const char *p = text, *end = n ? text + n : text; /* no options record: text is NULL */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *eq = memchr(p, '=', (size_t)(le - p));
		if (eq) {
			printf("%s", first ? "" : ", ");
			first = false;
			json_str(p, (size_t)(eq - p));
			printf(": ");
			const char *val = eq + 1;
			size_t vl = (size_t)(le - val);
			if (json_number(val, vl))
				fwrite(val, 1, vl, stdout);
			else
				json_str(val, vl);
		}
		p = le + (nl ? 1 : 0);
	}
	printf("}");
}

static int mode_summary(struct store *st)
{
	struct totals t = {0};
	each_object(st, add_totals, &t);
	MDB_val v;
	uint64_t ckpt = 0, ckpt_time = 0, arena_id = 0;
	if (get_meta(st, ML_META_CHECKPOINT, &v) && v.mv_size >= 16) {
		ckpt = ml_get64(v.mv_data);
		ckpt_time = ml_get64((uint8_t *)v.mv_data + 8);
	}
	if (get_meta(st, ML_META_ARENA_ID, &v) && v.mv_size == 8)
		arena_id = ml_get64(v.mv_data);
	double ratio = t.stored ? (double)t.raw / (double)t.stored : 0.0;
	char when[64] = "never";
	if (ckpt) {
		time_t tt = (time_t)ckpt_time;
		struct tm tm;
		/* A damaged time may be past any year gmtime_r can give. */
		if (gmtime_r(&tt, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		else
			snprintf(when, sizeof(when), "time %" PRIu64 " (out of range)", ckpt_time);
	}
	MDB_val opts = {0, NULL};
	get_meta(st, ML_META_OPTIONS, &opts);
	if (json) {
		printf("{\"store\": ");
		json_str(st->dir, strlen(st->dir));
		printf(", \"format\": %" PRIu64 ", \"persist\": %s, \"arena_id\": %" PRIu64 ", \"objects\": %" PRIu64
		       ", \"raw_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64 ", \"ratio\": %.4f",
		       st->format, st->persist ? "true" : "false", arena_id, t.objects, t.raw, t.stored, ratio);
		printf(", \"checkpoint\": {\"sequence\": %" PRIu64 ", \"time\": %" PRIu64 ", \"time_utc\": ", ckpt,
		       ckpt_time);
		if (ckpt)
			json_str(when, strlen(when));
		else
			printf("null");
		printf("}, \"options\": ");
		print_options_json(opts.mv_data, opts.mv_size);
		printf("}\n");
		return 0;
	}
	printf("store:           %s\n", st->dir);
	printf("format:          %" PRIu64 "\n", st->format);
	printf("kind:            %s\n", st->persist ? "persistent (persist=1)" : "scratch (persist=0)");
	printf("arena id:        %" PRIu64 "\n", arena_id);
	printf("objects:         %" PRIu64 "\n", t.objects);
	printf("raw bytes:       %" PRIu64 "\n", t.raw);
	printf("stored bytes:    %" PRIu64 "\n", t.stored);
	printf("ratio:           %.2f\n", ratio);
	if (ckpt)
		printf("last checkpoint: %" PRIu64 " at %s\n", ckpt, when);
	else
		printf("last checkpoint: none\n");
	printf("options:\n");
	const char *p = opts.mv_data, *end = p ? p + opts.mv_size : NULL;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		printf("  %.*s\n", (int)n, p);
		p += n + 1;
	}
	return 0;
}

struct list_ctx {
	bool first;
	uint64_t damaged;
};

static void list_one(struct store *st, const struct object *o, void *ctx)
{
	(void)st;
	struct list_ctx *c = ctx;
	if (o->codec == CODEC_BAD_ENTRY) {
		warn_bad_entry(o);
		c->damaged++;
		return;
	}
	if (o->codec < 0)
		c->damaged++;
	if (json) {
		printf("%s\n  {\"handle\": \"0x%016" PRIx64 "\", \"size\": %" PRIu64 ", \"stored\": %" PRIu64
		       ", \"codec\": \"%s\", \"tag\": %" PRIu32 ", \"seq\": %" PRIu64 ", \"checkpoint\": %" PRIu64 "}",
		       c->first ? "" : ",", o->h, o->size, o->stored, codec_name(o->codec), o->tag, o->seq, o->epoch);
		c->first = false;
		return;
	}
	printf("0x%016" PRIx64 " %12" PRIu64 " %12" PRIu64 " %-7s %10" PRIu32 " %10" PRIu64 " %10" PRIu64 "\n", o->h,
	       o->size, o->stored, codec_name(o->codec), o->tag, o->seq, o->epoch);
}

static int mode_list(struct store *st)
{
	struct list_ctx c = {true, 0};
	if (json)
		printf("[");
	else
		printf("%-18s %12s %12s %-7s %10s %10s %10s\n", "handle", "size", "stored", "codec", "tag", "seq",
		       "checkpoint");
	each_object(st, list_one, &c);
	if (json)
		printf("%s]\n", c.first ? "" : "\n");
	if (c.damaged)
		fprintf(stderr,
		        "%s: %" PRIu64 " object(s) with a damaged table entry or a missing or unreadable record; "
		        "run --verify\n",
		        progname, c.damaged);
	return c.damaged ? EXIT_DAMAGE : 0;
}

static int mode_roots(struct store *st)
{
	MDB_cursor *cur;
	MDB_val key, v;
	int rc = mdb_cursor_open(st->txn, st->roots, &cur);
	if (rc)
		die(EXIT_USAGE, "cannot read the roots: %s", mdb_strerror(rc));
	bool first = true;
	if (json)
		printf("{");
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		check_signal();
		if (v.mv_size != 8)
			continue;
		memlane_handle h = ml_handle_key_parse(v.mv_data);
		if (json) {
			printf("%s", first ? "" : ", ");
			json_str(key.mv_data, key.mv_size);
			printf(": \"0x%016" PRIx64 "\"", h);
		} else {
			printf("%-32.*s 0x%016" PRIx64 "\n", (int)key.mv_size, (const char *)key.mv_data, h);
		}
		first = false;
	}
	mdb_cursor_close(cur);
	if (json)
		printf("}\n");
	return 0;
}

/* Pages on LMDB's free list (database 0): each value is a page list
 * whose first word is its length. */
static uint64_t free_pages(struct store *st)
{
	MDB_cursor *cur;
	MDB_val key, v;
	uint64_t n = 0;
	if (mdb_cursor_open(st->txn, 0, &cur) != 0)
		return 0;
	while (mdb_cursor_get(cur, &key, &v, MDB_NEXT) == 0)
		if (v.mv_size >= sizeof(size_t))
			n += *(const size_t *)v.mv_data;
	mdb_cursor_close(cur);
	return n;
}

static void print_db_stat(const char *name, const MDB_stat *s, bool last)
{
	if (json)
		printf("    \"%s\": {\"depth\": %u, \"branch_pages\": %zu, \"leaf_pages\": %zu, \"overflow_pages\": %zu, "
		       "\"entries\": %zu}%s\n",
		       name, s->ms_depth, s->ms_branch_pages, s->ms_leaf_pages, s->ms_overflow_pages, s->ms_entries,
		       last ? "" : ",");
	else
		printf("  %-8s depth %u, %zu branch, %zu leaf, %zu overflow pages, %zu entries\n", name, s->ms_depth,
		       s->ms_branch_pages, s->ms_leaf_pages, s->ms_overflow_pages, s->ms_entries);
}

static int mode_stats(struct store *st)
{
	MDB_envinfo info;
	MDB_stat env, s[4];
	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &env);
	MDB_dbi dbis[4] = {st->meta, st->objects, st->handles, st->roots};
	const char *names[4] = {"meta", "objects", "handles", "roots"};
	for (int i = 0; i < 4; i++)
		mdb_stat(st->txn, dbis[i], &s[i]);
	uint64_t used = (uint64_t)(info.me_last_pgno + 1), total = info.me_mapsize / env.ms_psize, freel = free_pages(st);
	if (json) {
		printf("{\"page_size\": %u, \"map_size\": %zu, \"pages_used\": %" PRIu64 ", \"pages_total\": %" PRIu64
		       ", \"free_list_pages\": %" PRIu64 ", \"last_txn\": %zu, \"readers\": %u, \"max_readers\": %u,\n"
		       "  \"databases\": {\n",
		       env.ms_psize, info.me_mapsize, used, total, freel, info.me_last_txnid, info.me_numreaders,
		       info.me_maxreaders);
		for (int i = 0; i < 4; i++)
			print_db_stat(names[i], &s[i], i == 3);
		printf("  }}\n");
		return 0;
	}
	printf("page size:       %u\n", env.ms_psize);
	printf("map size:        %zu (%" PRIu64 " pages)\n", info.me_mapsize, total);
	printf("pages used:      %" PRIu64 " (file high-water mark)\n", used);
	printf("free pages:      %" PRIu64 " on the free list, %" PRIu64 " never used in the map\n", freel,
	       total > used ? total - used : 0);
	printf("last txn:        %zu\n", info.me_last_txnid);
	printf("readers:         %u of %u\n", info.me_numreaders, info.me_maxreaders);
	printf("databases:\n");
	for (int i = 0; i < 4; i++)
		print_db_stat(names[i], &s[i], i == 3);
	return 0;
}

/* Decimal or 0x hexadecimal digits only: strtoull alone would also
 * take octal (a leading 0), signs, spaces and a second 0x. */
static memlane_handle parse_handle(const char *s)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *digits = hex ? s + 2 : s;
	size_t n = strlen(digits);
	char *end;
	errno = 0;
	unsigned long long v = 0;
	if (n > 0 && strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789") == n)
		v = strtoull(digits, &end, hex ? 16 : 10);
	if (v == 0 || errno)
		die(EXIT_USAGE, "'%s' is not a handle (decimal or 0x hexadecimal, not 0)", s);
	return (memlane_handle)v;
}

static void hexdump(const uint8_t *p, uint64_t n)
{
	for (uint64_t off = 0; off < n; off += 16) {
		check_signal();
		printf("%08" PRIx64 "  ", off);
		for (uint64_t i = 0; i < 16; i++) {
			if (off + i < n)
				printf("%02x ", p[off + i]);
			else
				printf("   ");
			if (i == 7)
				putchar(' ');
		}
		printf(" |");
		for (uint64_t i = 0; i < 16 && off + i < n; i++)
			putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
		printf("|\n");
	}
}

static void base64(const uint8_t *p, uint64_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (uint64_t i = 0; i < n; i += 3) {
		if (i % 49152 == 0)
			check_signal();
		uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		putchar(tab[w >> 18 & 63]);
		putchar(tab[w >> 12 & 63]);
		putchar(i + 1 < n ? tab[w >> 6 & 63] : '=');
		putchar(i + 2 < n ? tab[w & 63] : '=');
	}
}

static int mode_bytes(struct store *st, memlane_handle h, bool raw)
{
	struct object o;
	if (!find_object(st, h, &o))
		die(EXIT_USAGE, "'%s' holds no object with handle 0x%016" PRIx64, st->dir, h);
	char why[160];
	uint8_t *buf = NULL;
	if (o.codec == CODEC_BAD_ENTRY)
		snprintf(why, sizeof(why), "its handle table entry is damaged (%" PRIu64 " bytes, not %d)", o.stored,
		         ML_TABLE_ENTRY);
	else
		buf = object_bytes(st, &o, why, sizeof(why));
	if (!buf) {
		fprintf(stderr, "%s: handle 0x%016" PRIx64 " is damaged: %s\n", progname, h, why);
		return EXIT_DAMAGE;
	}
	if (json) {
		printf("{\"handle\": \"0x%016" PRIx64 "\", \"size\": %" PRIu64 ", \"tag\": %" PRIu32 ", \"%s\": \"", h,
		       o.size, o.tag, raw ? "base64" : "hex");
		if (raw)
			base64(buf, o.size);
		else
			for (uint64_t i = 0; i < o.size; i++) {
				if (i % 65536 == 0)
					check_signal();
				printf("%02x", buf[i]);
			}
		printf("\"}\n");
	} else if (raw) {
		if (fwrite(buf, 1, o.size, stdout) != o.size) {
			int e = errno;
			check_signal(); /* a closed pipe: die of SIGPIPE */
			die(EXIT_USAGE, "writing to standard output: %s", strerror(e));
		}
	} else {
		hexdump(buf, o.size);
	}
	free(buf);
	return 0;
}

/* --verify: every record decoded and checked; for a persistent store,
 * every table entry's record present. */
struct verify_ctx {
	uint64_t records, damaged, total, missing;
	bool first, progress;
};

static void report_damage(struct verify_ctx *c, memlane_handle h, uint64_t seq, const char *why)
{
	c->damaged++;
	if (c->progress)
		fprintf(stderr, "\r%60s\r", "");
	if (json) {
		printf("%s\n    {\"handle\": \"0x%016" PRIx64 "\", \"seq\": %" PRIu64 ", \"error\": ", c->first ? "" : ",",
		       h, seq);
		json_str(why, strlen(why));
		printf("}");
		c->first = false;
	} else {
		printf("damaged: handle 0x%016" PRIx64 " (record seq %" PRIu64 "): %s\n", h, seq, why);
	}
}

static void check_table_entry(struct store *st, const struct object *o, void *ctx)
{
	struct verify_ctx *c = ctx;
	if (o->codec == CODEC_BAD_ENTRY) {
		char why[96];
		snprintf(why, sizeof(why), "its handle table entry is damaged (%" PRIu64 " bytes, not %d)", o->stored,
		         ML_TABLE_ENTRY);
		report_damage(c, o->h, 0, why);
		return;
	}
	if (o->codec < 0 && o->stored == 0) {
		c->missing++;
		report_damage(c, o->h, o->seq, "the handle table names a record that is missing");
		return;
	}
	/* The record decoded to the size in its own header; the library
	 * reads it with the size in the table. */
	MDB_val v;
	struct ml_rec_info info;
	if (o->codec >= 0 && get_record(st, o->h, o->seq, &v) && ml_rec_header_parse(v.mv_data, v.mv_size, &info) == 0 &&
	    info.size != o->size) {
		char why[128];
		snprintf(why, sizeof(why), "the handle table says %" PRIu64 " bytes, the record holds %" PRIu64, o->size,
		         info.size);
		report_damage(c, o->h, o->seq, why);
	}
}

static int mode_verify(struct store *st)
{
	struct verify_ctx c = {0};
	c.first = true;
	MDB_stat ms;
	mdb_stat(st->txn, st->objects, &ms);
	c.total = ms.ms_entries;
	c.progress = !json && isatty(STDERR_FILENO) && c.total > 1000;
	if (json)
	{
		printf("{\"store\": ");
		json_str(st->dir, strlen(st->dir));
		printf(", \"damaged\": [");
	}
	ZSTD_DCtx *d = ZSTD_createDCtx();
	uint8_t *buf = NULL;
	size_t cap = 0;
	MDB_cursor *cur;
	MDB_val key, v;
	int rc = mdb_cursor_open(st->txn, st->objects, &cur);
	if (rc || !d)
		die(EXIT_USAGE, "cannot read the records: %s", rc ? mdb_strerror(rc) : "no zstd context");
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		check_signal();
		c.records++;
		memlane_handle h = 0;
		uint64_t seq = 0;
		char why[160];
		struct ml_rec_info info;
		if (key.mv_size != 16) {
			report_damage(&c, 0, 0, "record key is not 16 bytes");
			continue;
		}
		ml_rec_key_parse(key.mv_data, &h, &seq);
		if (ml_rec_header_parse(v.mv_data, v.mv_size, &info) != 0) {
			report_damage(&c, h, seq, "bad record header");
			continue;
		}
		if (!record_fits(&v, info.size, why, sizeof(why))) {
			report_damage(&c, h, seq, why);
			continue;
		}
		if (info.size > cap || !buf) {
			uint8_t *nb = realloc(buf, info.size ? info.size : 1);
			if (!nb) {
				report_damage(&c, h, seq, "header claims more bytes than can be allocated");
				continue;
			}
			buf = nb;
			cap = info.size;
		}
		if (ml_rec_decode(d, v.mv_data, v.mv_size, buf, info.size, why, sizeof(why)) != 0)
			report_damage(&c, h, seq, why);
		if (c.progress && c.records % 256 == 0)
			fprintf(stderr, "\rverify: %" PRIu64 " of %" PRIu64 " records", c.records, c.total);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		/* LMDB found its own pages damaged: the walk stopped short. */
		char why[160];
		snprintf(why, sizeof(why), "the objects database is damaged after %" PRIu64 " records: %s", c.records,
		         mdb_strerror(rc));
		report_damage(&c, 0, 0, why);
	}
	if (c.progress)
		fprintf(stderr, "\r%60s\r", "");
	if (st->persist) {
		walk_error = 0;
		each_object(st, check_table_entry, &c);
		if (walk_error) {
			char why[160];
			snprintf(why, sizeof(why), "the handle table is damaged: %s", mdb_strerror(walk_error));
			report_damage(&c, 0, 0, why);
		}
	}
	free(buf);
	ZSTD_freeDCtx(d);
	if (json)
		printf("%s], \"records\": %" PRIu64 ", \"damaged_count\": %" PRIu64 ", \"ok\": %s}\n", c.first ? "" : "\n  ",
		       c.records, c.damaged, c.damaged ? "false" : "true");
	else
		printf("verify: %" PRIu64 " records checked, %" PRIu64 " damaged%s\n", c.records, c.damaged,
		       c.damaged ? "" : ": store is sound");
	return c.damaged ? EXIT_DAMAGE : 0;
}

/* ---- main ----------------------------------------------------------------- */

static void set_mode(enum mode *m, enum mode want, const char **arg)
{
	if (*m != MODE_SUMMARY && *m != want)
		die(EXIT_USAGE, "choose one of --list, --roots, --stats, --hex, --raw, --verify (try -h)");
	*m = want;
	if (arg)
		*arg = optarg;
}

int main(int argc, char **argv)
{
	enum { OPT_VERIFY = 256, OPT_JSON };
	static const struct option longopts[] = {
	        {"list", no_argument, NULL, 'l'},        {"roots", no_argument, NULL, 'r'},
	        {"stats", no_argument, NULL, 's'},       {"hex", required_argument, NULL, 'x'},
	        {"raw", required_argument, NULL, 'o'},   {"verify", no_argument, NULL, OPT_VERIFY},
	        {"json", no_argument, NULL, OPT_JSON},   {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	enum mode mode = MODE_SUMMARY;
	const char *handle_arg = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":lrsx:o:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			set_mode(&mode, MODE_LIST, NULL);
			break;
		case 'r':
			set_mode(&mode, MODE_ROOTS, NULL);
			break;
		case 's':
			set_mode(&mode, MODE_STATS, NULL);
			break;
		case 'x':
			set_mode(&mode, MODE_HEX, &handle_arg);
			break;
		case 'o':
			set_mode(&mode, MODE_RAW, &handle_arg);
			break;
		case OPT_VERIFY:
			set_mode(&mode, MODE_VERIFY, NULL);
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'V':
			printf("memlane-dump (libmemlane) %s, store format %d, %s, zstd %s\n", memlane_version(),
			       ML_STORE_FORMAT, mdb_version(NULL, NULL, NULL), ZSTD_versionString());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "%s: option '%s' needs a HANDLE\n", progname, argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		default:
			/* optopt: an unknown short option, perhaps inside a
			 * cluster such as -lz; 0 for an unknown long one. */
			if (optopt)
				fprintf(stderr, "%s: unknown option '-%c'\n", progname, optopt);
			else
				fprintf(stderr, "%s: unknown option '%s'\n", progname, argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: %s\n", progname, optind == argc ? "no SPILL_DIR given" : "more than one SPILL_DIR given");
		usage(stderr);
		return EXIT_USAGE;
	}
	/* A bad handle is a usage error: say so before touching the store. */
	memlane_handle handle = handle_arg ? parse_handle(handle_arg) : MEMLANE_NULL;
	struct store st = {0};
	catch_signals();
	store_open(&st, argv[optind]);
	check_signal();
	int status = 0;
	switch (mode) {
	case MODE_SUMMARY:
		status = mode_summary(&st);
		break;
	case MODE_LIST:
		status = mode_list(&st);
		break;
	case MODE_ROOTS:
		status = mode_roots(&st);
		break;
	case MODE_STATS:
		status = mode_stats(&st);
		break;
	case MODE_HEX:
	case MODE_RAW:
		status = mode_bytes(&st, handle, mode == MODE_RAW);
		break;
	case MODE_VERIFY:
		status = mode_verify(&st);
		break;
	}
	store_close(&st);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		check_signal(); /* a closed pipe: die of SIGPIPE, quietly */
		fprintf(stderr, "%s: writing to standard output: %s\n", progname, strerror(errno));
		return EXIT_USAGE;
	}
	check_signal();
	return status;
}
