/* store.c - the spill store: an LMDB environment in the spill directory.
 *
 * Four named databases (memlane-store(5) is the full description):
 *   meta     format version, arena id, persist flag, options, the last
 *            checkpoint, the generations of every handle slot
 *   objects  one record per spilled object version, key handle+seq
 *   handles  (persist=1) the handle table of the last checkpoint:
 *            handle -> record seq, size, tag, flags, alignment
 *   roots    (persist=1) name -> handle, as of the last checkpoint
 * A record is a 40-byte header and the payload: a standard zstd frame
 * with its content checksum, or the raw bytes when compression does not
 * pay. The header carries a hash of the raw bytes too, so damage is
 * found whatever the codec.
 *
 * This file knows LMDB and zstd; it does not know lanes or policies.
 * Write transactions go through ml_store_write(), which grows the map
 * when it fills (up to store_max_size) and retries. The map is never
 * MDB_WRITEMAP: a full disk is then an error from write(2), not SIGBUS. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <zstd.h>

#include "internal.h"
#include "record.h"


#define ML_MAP_INITIAL ((size_t)64 << 20)
/* Longest store file path: the spill directory may be 16 bytes shorter. */
#define ML_PATH_MAX 4096

/* ---- thread-local codec contexts ------------------------------------ */

/* One compression and one decompression context per thread, made on
 * first use and freed when the thread ends: never one per call. */
struct ml_codec_tls {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	uint8_t *buf;
	size_t cap;
};

static pthread_key_t codec_key;
static pthread_once_t codec_once = PTHREAD_ONCE_INIT;
static _Thread_local struct ml_codec_tls *codec_tls;

static void codec_tls_free(void *p)
{
	struct ml_codec_tls *t = p;
	ZSTD_freeCCtx(t->cctx);
	ZSTD_freeDCtx(t->dctx);
	free(t->buf);
	free(t);
}

static void codec_key_make(void)
{
	pthread_key_create(&codec_key, codec_tls_free);
}

static struct ml_codec_tls *codec_get(void)
{
	if (codec_tls)
		return codec_tls;
	pthread_once(&codec_once, codec_key_make);
	struct ml_codec_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cctx = ZSTD_createCCtx();
	t->dctx = ZSTD_createDCtx();
	if (!t->cctx || !t->dctx) {
		codec_tls_free(t);
		return NULL;
	}
	pthread_setspecific(codec_key, t);
	codec_tls = t;
	return t;
}

static uint8_t *codec_buf(struct ml_codec_tls *t, size_t n)
{
	if (n <= t->cap)
		return t->buf;
	size_t cap = t->cap ? t->cap : 65536;
	while (cap < n)
		cap *= 2;
	uint8_t *b = realloc(t->buf, cap);
	if (!b)
		return NULL;
	t->buf = b;
	t->cap = cap;
	return b;
}

/* ---- errors -------------------------------------------------------------- */

/* Map an LMDB or errno code to a memlane code, with a sentence. */
/* LMDB reports a short write (what a full file system gives) as EIO.
 * Tell the two apart by the space left where the store lives. */
static bool disk_full(const char *dir)
{
	struct statvfs v;
	if (statvfs(dir, &v) != 0)
		return false;
	return (uint64_t)v.f_bavail * v.f_frsize < ((uint64_t)64 << 20); /* less than a batch or so */
}

int ml_store_err(int rc, const char *what, const char *dir)
{
	int code = MEMLANE_ESTORE;
	if (rc == EIO && disk_full(dir))
		return ml_err(MEMLANE_ENOSPC, "%s: spill store '%s': the file system is full (a write came up short)",
		              what, dir);
	if (rc == ENOSPC || rc == EDQUOT || rc == MDB_MAP_FULL)
		code = MEMLANE_ENOSPC;
	else if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
	         rc == MDB_INCOMPATIBLE)
		code = MEMLANE_ECORRUPT;
	else if (rc == ENOMEM)
		code = MEMLANE_ENOMEM;
	return ml_err(code, "%s: spill store '%s': %s", what, dir, mdb_strerror(rc));
}

/* ---- records ----------------------------------------------------------- */

/* Encode @size bytes at @src as a record (header + payload) in the
 * thread's buffer. */
int ml_rec_encode(const memlane_arena *a, const struct ml_stub *s, const void *src, uint64_t epoch,
                  const uint8_t **out, size_t *outlen)
{
	struct ml_codec_tls *t = codec_get();
	if (!t)
		return ml_err(MEMLANE_ENOMEM, "out of memory for a zstd compression context");
	size_t size = s->size;
	size_t bound = ZSTD_compressBound(size), stored = ml_frame_stored_bound(size);
	uint8_t *buf = codec_buf(t, ML_REC_HEADER + (bound > stored ? bound : stored));
	if (!buf)
		return ml_err(MEMLANE_ENOMEM, "no memory for a %zu-byte record buffer", ML_REC_HEADER + bound);
	uint8_t codec = ML_CODEC_STORED;
	size_t plen = 0;
	if (a->cfg.compression == MEMLANE_COMPRESSION_ZSTD && size >= 64) {
		ZSTD_CCtx_reset(t->cctx, ZSTD_reset_session_only);
		ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel, a->cfg.compression_level);
		ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_checksumFlag, 1);
		ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_contentSizeFlag, 1);
		size_t c = ZSTD_compress2(t->cctx, buf + ML_REC_HEADER, bound, src, size);
		if (!ZSTD_isError(c) && c < size) {
			codec = ML_CODEC_ZSTD;
			plen = c;
		}
	}
	if (codec == ML_CODEC_STORED)
		plen = ml_frame_stored(buf + ML_REC_HEADER, src, size);
	ml_put32(buf + 0, ML_REC_MAGIC);
	buf[4] = codec;
	buf[5] = s->align_log2;
	buf[6] = (uint8_t)ml_stub_public_flags(s);
	buf[7] = 0;
	ml_put32(buf + 8, ml_stub_tag(a, s));
	ml_put32(buf + 12, 0);
	ml_put64(buf + 16, size);
	ml_put64(buf + 24, ml_hash64(src, size));
	ml_put64(buf + 32, epoch);
	*out = buf;
	*outlen = ML_REC_HEADER + plen;
	return 0;
}

/* Decode with this thread's context. */
int ml_rec_decode_tls(const void *rec, size_t len, void *dst, uint64_t size, char *why, size_t whylen)
{
	struct ml_codec_tls *t = codec_get();
	if (!t) {
		snprintf(why, whylen, "out of memory for a zstd decompression context");
		return -2;
	}
	return ml_rec_decode(t->dctx, rec, len, dst, size, why, whylen);
}

/* ---- what the spill directory may be ------------------------------------- */

/* The store's files are opened by name, by LMDB too (it takes a path):
 * whoever can write to the directory could put a symbolic link there in
 * place of data.mdb and have this process write through it. So the
 * directory must be this user's and writable by no one else (the sticky
 * bit does not help: others could still create the files first), and a
 * store file that is a symbolic link, or not a plain file of this user,
 * is refused. A symbolic link naming the directory itself is followed
 * (the user chose it), unless another user owns the link. */
static int refuse(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(const char *path, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return ml_err(MEMLANE_ESTORE, "memlane_open: '%s' %s; refused (see SECURITY in memlane-store(5))", path, why);
}

static int check_dir(const char *dir)
{
	struct stat sb;
	uid_t me = geteuid();
	if (lstat(dir, &sb) == 0 && S_ISLNK(sb.st_mode) && sb.st_uid != me && sb.st_uid != 0)
		return refuse(dir, "is a symbolic link owned by uid %u, who could point it elsewhere",
		              (unsigned)sb.st_uid);
	if (stat(dir, &sb) != 0)
		return ml_err(MEMLANE_ESTORE, "memlane_open: spill directory '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return ml_err(MEMLANE_ESTORE, "memlane_open: spill directory '%s' exists and is not a directory", dir);
	if (sb.st_uid != me)
		return refuse(dir, "is owned by uid %u, not by this process's user (uid %u), who could replace the "
		                   "store's files", (unsigned)sb.st_uid, (unsigned)me);
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(dir, "is writable by %s (mode %04o): they could put links in place of the store's "
		                   "files; chmod go-w it", (sb.st_mode & S_IWOTH) ? "everyone" : "its group",
		              (unsigned)(sb.st_mode & 07777));
	return 0;
}

static int make_dir(const char *dir)
{
	if (strlen(dir) > ML_PATH_MAX - 16) /* room for "/memlane.lock" */
		return ml_err(MEMLANE_EINVAL, "memlane_open: spill directory name is %zu bytes long, more than %d",
		              strlen(dir), ML_PATH_MAX - 16);
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return check_dir(dir);
	return ml_err(errno == ENOSPC ? MEMLANE_ENOSPC : MEMLANE_ESTORE, "memlane_open: cannot create spill directory '%s': %s", dir,
	              strerror(errno));
}

/* @sb describes store file @path: refuse anything but this user's plain
 * file. */
static int check_file_stat(const char *path, const struct stat *sb)
{
	if (S_ISLNK(sb->st_mode))
		return refuse(path, "is a symbolic link; a store file must be a plain file");
	if (!S_ISREG(sb->st_mode))
		return refuse(path, "is not a plain file");
	if (sb->st_uid != geteuid())
		return refuse(path, "is owned by uid %u, not by this process's user (uid %u)", (unsigned)sb->st_uid,
		              (unsigned)geteuid());
	return 0;
}

/* Store file @name in @dir, when it exists, must pass check_file_stat(). */
static int check_file(const char *dir, const char *name)
{
	char path[ML_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : ml_err(MEMLANE_ESTORE, "memlane_open: '%s': %s", path, strerror(errno));
	return check_file_stat(path, &sb);
}

/* ---- the environment ------------------------------------------------------ */

/* One arena per directory: an exclusive flock on memlane.lock, held
 * until close. flock locks belong to the open file, so a second open in
 * the same process is refused too. Readers (memlane-dump) never take it. */
static int take_dir_lock(struct ml_store *st)
{
	char path[ML_PATH_MAX];
	snprintf(path, sizeof(path), "%s/" ML_LOCK_FILE, st->dir);
	int rc = check_file(st->dir, ML_LOCK_FILE);
	if (rc)
		return rc;
	/* O_NOFOLLOW: a link put there since the check is refused too. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == ELOOP)
		return refuse(path, "is a symbolic link; a store file must be a plain file");
	if (fd < 0)
		return ml_err(MEMLANE_ESTORE, "cannot open '%s': %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || (rc = check_file_stat(path, &sb)) != 0) {
		if (!rc)
			rc = ml_err(MEMLANE_ESTORE, "cannot stat '%s': %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return ml_err(MEMLANE_EBUSY, "spill directory '%s' is in use by another arena (lock '%s' is held)",
			              st->dir, path);
		return ml_err(MEMLANE_ESTORE, "cannot lock '%s': %s", path, strerror(e));
	}
	st->lock_fd = fd;
	return 0;
}

/* The main database of a memlane store names its four databases and
 * nothing else. Anything more is another program's environment (or a
 * damaged name, which MDB_CREATE would replace by an empty database):
 * refused before anything is created in it. */
static int check_main_db(struct ml_store *st, MDB_txn *t)
{
	static const char *const names[] = {"meta", "objects", "handles", "roots"};
	MDB_dbi main;
	MDB_cursor *cur;
	int rc = mdb_dbi_open(t, NULL, 0, &main);
	if (rc == 0)
		rc = mdb_cursor_open(t, main, &cur);
	if (rc)
		return ml_store_err(rc, "memlane_open", st->dir);
	MDB_val key, v;
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		bool known = false;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			known |= key.mv_size == strlen(names[i]) && memcmp(key.mv_data, names[i], key.mv_size) == 0;
		if (!known) {
			int n = key.mv_size > 40 ? 40 : (int)key.mv_size;
			mdb_cursor_close(cur);
			return ml_err(MEMLANE_ESTORE,
			              "memlane_open: '%s/data.mdb' is not a libmemlane store, or it is damaged: its LMDB "
			              "main database holds the key '%.*s'; memlane_open leaves it alone",
			              st->dir, n, (const char *)key.mv_data);
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : ml_store_err(rc, "memlane_open", st->dir);
}

static int open_dbis(struct ml_store *st)
{
	MDB_txn *t;
	int rc = mdb_txn_begin(st->env, NULL, 0, &t);
	if (rc)
		return ml_store_err(rc, "memlane_open", st->dir);
	if ((rc = check_main_db(st, t)) != 0) {
		mdb_txn_abort(t);
		return rc;
	}
	if ((rc = mdb_dbi_open(t, "meta", MDB_CREATE, &st->meta)) || (rc = mdb_dbi_open(t, "objects", MDB_CREATE, &st->objects)) ||
	    (rc = mdb_dbi_open(t, "handles", MDB_CREATE, &st->handles)) ||
	    (rc = mdb_dbi_open(t, "roots", MDB_CREATE, &st->roots))) {
		mdb_txn_abort(t);
		return ml_store_err(rc, "memlane_open", st->dir);
	}
	rc = mdb_txn_commit(t);
	return rc ? ml_store_err(rc, "memlane_open", st->dir) : 0;
}

/* Free the reader slots of dead processes (a memlane-dump killed inside
 * its read transaction): a stale slot pins its snapshot's pages, and the
 * store would grow toward store_max_size instead of reusing them. */
static void reap_readers(struct ml_store *st)
{
	int dead = 0;
	mdb_reader_check(st->env, &dead);
}

/* LMDB maps data.mdb and trusts its meta page: in a file cut short (a
 * copy that stopped early) the first page past the end is SIGBUS, not
 * an error. LMDB writes pages before the meta page that names them, so a
 * store it wrote is never shorter than that. */
static int check_file_size(struct ml_store *st, const char *path)
{
	MDB_envinfo info;
	MDB_stat es;
	int fd;
	struct stat sb;
	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &es) != 0 || mdb_env_get_fd(st->env, &fd) != 0 ||
	    fstat(fd, &sb) != 0)
		return ml_err(MEMLANE_ESTORE, "memlane_open: cannot examine '%s'", path);
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * es.ms_psize;
	if ((uint64_t)sb.st_size < need)
		return ml_err(MEMLANE_ECORRUPT,
		              "memlane_open: '%s' is cut short: %lld bytes, but its LMDB meta page counts %" PRIu64
		              " pages of %u bytes",
		              path, (long long)sb.st_size, (uint64_t)info.me_last_pgno + 1, es.ms_psize);
	/* Nor its branch and leaf pages (mdbcheck.c). */
	char why[200];
	switch (ml_mdb_check(fd, why, sizeof(why))) {
	case 0:
		break;
	case ML_MDB_NOMEM:
		return ml_err(MEMLANE_ENOMEM, "memlane_open: checking the pages of '%s': %s", path, why);
	case ML_MDB_IOERR:
		return ml_err(MEMLANE_ESTORE, "memlane_open: checking the pages of '%s': %s", path, why);
	default:
		return ml_err(MEMLANE_ECORRUPT, "memlane_open: '%s' is damaged: %s", path, why);
	}
	return 0;
}

/* Open the LMDB environment in st->dir with st->env_flags. */
static int env_open(struct ml_store *st)
{
	/* LMDB opens these by name and follows links: look first (the
	 * directory is this user's alone, so nothing changes meanwhile). */
	int rc = check_file(st->dir, "data.mdb");
	if (rc || (rc = check_file(st->dir, "lock.mdb")) != 0)
		return rc;
	st->map_size = ML_MAP_INITIAL < st->map_max ? ML_MAP_INITIAL : st->map_max;
	char path[ML_PATH_MAX];
	snprintf(path, sizeof(path), "%s/data.mdb", st->dir);
	struct stat sb;
	if (stat(path, &sb) == 0 && (size_t)sb.st_size > st->map_size)
		st->map_size = (size_t)sb.st_size; /* never smaller than what is there */
	rc = mdb_env_create(&st->env);
	if (rc) {
		st->env = NULL;
		return ml_store_err(rc, "memlane_open", st->dir);
	}
	/* Unchecked, a failed mdb_env_set_mapsize left LMDB's 1 MiB default
	 * map, and the growth stopped at a store_max_size never reached. */
	if ((rc = mdb_env_set_maxdbs(st->env, 8)) != 0 || (rc = mdb_env_set_mapsize(st->env, st->map_size)) != 0)
		return ml_store_err(rc, "memlane_open", st->dir);
	if ((rc = mdb_env_open(st->env, st->dir, st->env_flags, 0600)) != 0)
		return ml_store_err(rc, "memlane_open: cannot open data.mdb", st->dir);
	if ((rc = check_file_size(st, path)) != 0)
		return rc;
	reap_readers(st);
	return open_dbis(st);
}

/* LMDB gives up on its environment when a meta page write fails (every
 * later transaction is MDB_PANIC), and a map growth whose mmap fails
 * leaves it without a map. The file still holds the last commit, which
 * is what the arena's bookkeeping follows: open the environment again
 * (the flock stays held). On failure st->env is NULL, and the next
 * transaction tries again. */
static int env_reopen(struct ml_store *st)
{
	if (st->env)
		mdb_env_close(st->env);
	st->env = NULL;
	int rc = env_open(st);
	if (rc && st->env) {
		mdb_env_close(st->env);
		st->env = NULL;
	}
	return rc;
}

/* mdb_txn_begin, over a lost or dead environment. */
static int txn_begin(struct ml_store *st, unsigned flags, MDB_txn **t)
{
	if (!st->env && env_reopen(st) != 0)
		return EIO;
	int rc = mdb_txn_begin(st->env, NULL, flags, t);
	if (rc == MDB_PANIC && env_reopen(st) == 0)
		rc = mdb_txn_begin(st->env, NULL, flags, t);
	return rc;
}

/* Close the environment and delete its files (the flock stays held):
 * LMDB files never shrink, so a scratch store starts over this way. */
static void env_remove(struct ml_store *st)
{
	char path[ML_PATH_MAX];
	if (st->env)
		mdb_env_close(st->env);
	st->env = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", st->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", st->dir);
	unlink(path);
}

int ml_store_open(struct ml_store *st, const char *dir, const memlane_config *cfg)
{
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	st->dir = strdup(dir);
	if (!st->dir)
		return ml_err(MEMLANE_ENOMEM, "memlane_open: out of memory");
	int rc = make_dir(dir);
	if (rc || (rc = take_dir_lock(st)) != 0)
		goto fail;
	st->map_max = cfg->store_max_size;
	st->env_flags = MDB_NOTLS;
	if (!cfg->persist || cfg->store_sync == MEMLANE_SYNC_NONE)
		st->env_flags |= MDB_NOSYNC | MDB_NOMETASYNC;
	else if (cfg->store_sync == MEMLANE_SYNC_CHECKPOINT)
		st->env_flags |= MDB_NOSYNC;
	st->sync_at_checkpoint = cfg->persist && cfg->store_sync == MEMLANE_SYNC_CHECKPOINT;
	if ((rc = env_open(st)) != 0)
		goto fail;
	return 0;
fail:
	ml_store_close(st);
	return rc;
}

/* A scratch store: throw the files away and open an empty environment. */
int ml_store_recreate(struct ml_store *st)
{
	env_remove(st);
	return env_open(st);
}

/* Close a scratch store for good: its files go. */
void ml_store_remove(struct ml_store *st)
{
	env_remove(st);
	ml_store_close(st);
}

void ml_store_close(struct ml_store *st)
{
	if (st->env)
		mdb_env_close(st->env);
	st->env = NULL;
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* drops the flock */
	st->lock_fd = -1;
	free(st->dir);
	st->dir = NULL;
	free(st->dead);
	st->dead = NULL;
	st->ndead = st->dead_cap = 0;
}

/* Grow the map after MDB_MAP_FULL: double, up to store_max_size. No
 * transaction of this process is open (the arena lock is held). */
static int grow_map(struct ml_store *st, const char *what)
{
	if (st->map_size >= st->map_max) {
		char b[32];
		return ml_err(MEMLANE_ENOSPC, "%s: spill store '%s' is full: it reached store_max_size=%s", what, st->dir,
		              ml_fmt_size(b, sizeof(b), st->map_max));
	}
	size_t want = st->map_size * 2 < st->map_max ? st->map_size * 2 : st->map_max;
	int rc = mdb_env_set_mapsize(st->env, want);
	if (rc) {
		int e = ml_store_err(rc, what, st->dir);
		env_reopen(st); /* the old map is gone */
		return e;
	}
	st->map_size = want;
	return 0;
}

/* Run @fn in one write transaction and commit it; on a full map grow it
 * and run @fn again from the start. @fn returns 0, a memlane code, or an
 * LMDB/errno code (positive or below MEMLANE_ELAST). */
/* A write transaction that changes nothing (the format record again).
 * LMDB reuses the pages a transaction frees only once a later one has
 * committed: after frees at the size limit, this lets them be used. */
static int nudge_txn(MDB_txn *t, void *ctx)
{
	struct ml_store *st = ctx;
	MDB_val key = {strlen(ML_META_FORMAT), (void *)(uintptr_t)ML_META_FORMAT}, v;
	int rc = mdb_get(t, st->meta, &key, &v);
	if (rc)
		return rc;
	uint8_t b[8];
	if (v.mv_size != sizeof(b))
		return MDB_CORRUPTED;
	memcpy(b, v.mv_data, sizeof(b));
	MDB_val nv = {sizeof(b), b};
	return mdb_put(t, st->meta, &key, &nv, 0);
}

int ml_store_write(struct ml_store *st, const char *what, ml_txn_fn fn, void *ctx)
{
	bool nudged = false;
	for (;;) {
		MDB_txn *t;
		int rc = txn_begin(st, 0, &t);
		if (rc)
			return ml_store_err(rc, what, st->dir);
		rc = fn(t, ctx);
		if (rc == 0)
			rc = mdb_txn_commit(t);
		else
			mdb_txn_abort(t);
		if (rc == 0)
			return 0;
		if (rc == MDB_MAP_FULL) {
			char saved[ML_ERRMSG_MAX];
			ml_err_save(saved);
			reap_readers(st);
			int g = grow_map(st, what);
			if (g && !nudged && fn != nudge_txn) {
				nudged = true;
				char why[ML_ERRMSG_MAX]; /* g's, whatever the nudge says */
				ml_err_save(why);
				if (ml_store_write(st, what, nudge_txn, st) == 0) {
					/* Freed pages may now fit it: the full map
					 * is not this call's failure (yet). */
					ml_err_restore(saved);
					continue;
				}
				ml_err_restore(why);
			}
			if (g)
				return g;
			continue;
		}
		if (rc < 0 && rc >= MEMLANE_ELAST)
			return rc; /* fn set the message */
		return ml_store_err(rc, what, st->dir);
	}
}

int ml_store_read_begin(struct ml_store *st, MDB_txn **t, const char *what)
{
	int rc = txn_begin(st, MDB_RDONLY, t);
	return rc ? ml_store_err(rc, what, st->dir) : 0;
}

/* Bytes the objects database takes on disk. */
uint64_t ml_store_bytes(struct ml_store *st)
{
	MDB_txn *t;
	MDB_stat s;
	if (!st->env || mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t) != 0)
		return 0;
	uint64_t n = 0;
	if (mdb_stat(t, st->objects, &s) == 0)
		n = (uint64_t)(s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages) * s.ms_psize;
	mdb_txn_abort(t);
	return n;
}

/* Make room for @n more entries on the delete list. */
int ml_store_dead_reserve(struct ml_store *st, size_t n)
{
	if (st->ndead + n <= st->dead_cap)
		return 0;
	size_t cap = st->dead_cap ? st->dead_cap * 2 : 64;
	while (cap < st->ndead + n)
		cap *= 2;
	struct ml_dead *d = realloc(st->dead, cap * sizeof(*d));
	if (!d)
		return ml_err(MEMLANE_ENOMEM, "out of memory for the store's delete list");
	st->dead = d;
	st->dead_cap = cap;
	return 0;
}

/* Remember a record to delete at the next write transaction. */
int ml_store_dead_add(struct ml_store *st, memlane_handle h, uint64_t seq, bool at_checkpoint)
{
	int rc = ml_store_dead_reserve(st, 1);
	if (rc)
		return rc;
	st->dead[st->ndead++] = (struct ml_dead){h, seq, at_checkpoint};
	return 0;
}
