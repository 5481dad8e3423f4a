/* mdbcheck.c - a structural check of data.mdb's pages before LMDB maps it.
 *
 * LMDB trusts its pages: a damaged page number, node offset or size in a
 * branch or leaf page makes it read (and, in a write transaction, copy)
 * outside its pages, and the process dies of SIGSEGV or SIGBUS or
 * corrupts its heap. memlane_open therefore reads, with pread(2), every
 * branch and leaf page reachable from the meta page LMDB will use, and
 * the first page of each overflow run, and checks what LMDB relies on:
 * page numbers inside the file, each page once, its header (number,
 * kind, bounds), every node and its key and data inside the page, the
 * overflow runs inside the file, and that the free list names pages no
 * database uses. That is one read of the tree, not of the records'
 * bytes (those have their own checksums).
 *
 * memlane-dump runs it too, before LMDB opens a store no arena holds.
 * The layouts are LMDB 0.9's on-disk format (MDB_DATA_VERSION 1, 64-bit
 * page numbers), which mdb_env_open has checked before this runs; the
 * names below are LMDB's. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"

#define PAGEHDRSZ 16
#define NODESIZE 8
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_KINDS 0x6f /* branch, leaf, overflow, meta, leaf2, subpage */
#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define F_DUPDATA 0x04
#define P_INVALID UINT64_MAX
#define MDB_MAGIC 0xBEEFC0DEu
#define DB_SIZE 48     /* an MDB_db */
#define DB_ROOT 40     /* its md_root */
#define META_DBS 24    /* mm_dbs in MDB_meta */
#define META_LAST 120  /* mm_last_pg */
#define META_TXNID 128 /* mm_txnid */
#define MAX_DEPTH 32

struct chk {
	int fd;
	uint32_t psize;
	uint64_t npages; /* pages in use: mm_last_pg + 1 */
	uint8_t *seen;   /* a bit per page */
	char *why;
	size_t whylen;
	int code; /* what ml_mdb_check returns: ML_MDB_DAMAGED, _NOMEM or _IOERR */
};

static int vfail(struct chk *c, int code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static int vfail(struct chk *c, int code, const char *fmt, va_list ap)
{
	vsnprintf(c->why, c->whylen, fmt, ap);
	c->code = code;
	return -1;
}

/* The file is damaged. */
static int bad(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct chk *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(c, ML_MDB_DAMAGED, fmt, ap);
	va_end(ap);
	return rc;
}

/* The check could not be made (out of memory, an I/O error): @code.
 * Not damage: the store is sound as far as anyone knows. */
static int fail(struct chk *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct chk *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(c, code, fmt, ap);
	va_end(ap);
	return rc;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* @n bytes at @off of the file; -1 (with the reason) when short. */
static int rd(struct chk *c, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(c->fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(c, ML_MDB_IOERR, "cannot read %zu bytes at offset %" PRIu64 ": %s", n, off,
			            strerror(errno));
		if (r == 0)
			return bad(c, "cannot read %zu bytes at offset %" PRIu64 ": end of file", n, off);
		got += (size_t)r;
	}
	return 0;
}

/* Mark pages [@pg, @pg + @n) used; each may be used once. */
static int mark(struct chk *c, uint64_t pg, uint64_t n, const char *db)
{
	if (pg >= c->npages || n > c->npages - pg)
		return bad(c, "database %s: page %" PRIu64 " (+%" PRIu64 ") is past the last page, %" PRIu64, db, pg, n,
		           c->npages - 1);
	for (uint64_t i = pg; i < pg + n; i++) {
		if (c->seen[i / 8] & (1u << (i % 8)))
			return bad(c, "database %s: page %" PRIu64 " is used twice", db, i);
		c->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	return 0;
}

/* An overflow run starting at @pg holding @dsize bytes; its first page
 * read into @buf. */
static int overflow(struct chk *c, uint64_t pg, uint64_t dsize, uint8_t *buf, const char *db)
{
	if (pg >= c->npages)
		return bad(c, "database %s: overflow page %" PRIu64 " is past the last page", db, pg);
	if (rd(c, buf, c->psize, pg * c->psize))
		return -1;
	uint32_t pages;
	memcpy(&pages, buf + 12, 4);
	if (ml_get64(buf) != pg || !(get16(buf + 10) & P_OVERFLOW) || pages == 0 ||
	    dsize > (uint64_t)pages * c->psize - PAGEHDRSZ)
		return bad(c, "database %s: overflow page %" PRIu64 " has a bad header", db, pg);
	return mark(c, pg, pages, db);
}

typedef int (*leaf_fn)(struct chk *c, const uint8_t *key, size_t klen, const uint8_t *data, uint64_t dsize,
                       uint16_t flags);

static int walk(struct chk *c, uint64_t pg, int depth, const char *db, leaf_fn fn);

/* Node @i of page @p (number @pg): inside the page, with its key and
 * (unless in an overflow run) its data. */
static int node(struct chk *c, const uint8_t *p, uint64_t pg, unsigned i, int depth, const char *db, leaf_fn fn)
{
	bool branch = get16(p + 10) & P_BRANCH;
	uint16_t upper = get16(p + 14), off = get16(p + PAGEHDRSZ + 2 * i);
	if (off < upper || (size_t)off + NODESIZE > c->psize)
		return bad(c, "database %s: page %" PRIu64 ": node %u at offset %u is outside the page", db, pg, i, off);
	const uint8_t *n = p + off;
	uint16_t flags = get16(n + 4), ksize = get16(n + 6);
	uint64_t lohi = (uint64_t)get16(n) | (uint64_t)get16(n + 2) << 16;
	size_t end = (size_t)off + NODESIZE + ksize;
	if (end > c->psize)
		return bad(c, "database %s: page %" PRIu64 ": the key of node %u runs past the page", db, pg, i);
	if (branch)
		return walk(c, lohi | (uint64_t)flags << 32, depth + 1, db, fn);
	/* No memlane database has sorted duplicates: F_DUPDATA would make
	 * LMDB read the data as a page of its own. */
	if (flags & ~(F_BIGDATA | F_SUBDATA) || ((flags & F_BIGDATA) && (flags & F_SUBDATA)))
		return bad(c, "database %s: page %" PRIu64 ": node %u has flags 0x%x", db, pg, i, flags);
	const uint8_t *data = n + NODESIZE + ksize;
	if (flags & F_BIGDATA) {
		if (end + 8 > c->psize)
			return bad(c, "database %s: page %" PRIu64 ": node %u runs past the page", db, pg, i);
		uint64_t ovpg = ml_get64(data);
		uint8_t *ov = malloc(c->psize);
		if (!ov)
			return fail(c, ML_MDB_NOMEM, "out of memory");
		int rc = overflow(c, ovpg, lohi, ov, db);
		free(ov);
		if (rc || !fn || (flags & F_SUBDATA))
			return rc;
		/* A value the caller reads: the free list's long entries. */
		uint8_t *v = malloc(lohi ? lohi : 1);
		if (!v)
			return fail(c, ML_MDB_NOMEM, "out of memory for a %" PRIu64 "-byte value", lohi);
		rc = rd(c, v, lohi, ovpg * c->psize + PAGEHDRSZ);
		if (rc == 0)
			rc = fn(c, n + NODESIZE, ksize, v, lohi, flags);
		free(v);
		return rc;
	}
	if (end + lohi > c->psize)
		return bad(c, "database %s: page %" PRIu64 ": the data of node %u runs past the page", db, pg, i);
	return fn ? fn(c, n + NODESIZE, ksize, data, lohi, flags) : 0;
}

/* The tree under page @pg. */
static int walk(struct chk *c, uint64_t pg, int depth, const char *db, leaf_fn fn)
{
	if (depth > MAX_DEPTH)
		return bad(c, "database %s: the tree is deeper than %d pages", db, MAX_DEPTH);
	if (mark(c, pg, 1, db))
		return -1;
	uint8_t *p = calloc(1, c->psize); /* zeros, should the read fail */
	if (!p)
		return fail(c, ML_MDB_NOMEM, "out of memory");
	int rc = rd(c, p, c->psize, pg * c->psize);
	uint16_t kind = get16(p + 10) & P_KINDS, lower = get16(p + 12), upper = get16(p + 14);
	if (rc == 0 && (ml_get64(p) != pg || (kind != P_BRANCH && kind != P_LEAF) || lower < PAGEHDRSZ || lower % 2 ||
	                lower > upper || upper > c->psize || (kind == P_BRANCH && lower == PAGEHDRSZ)))
		rc = bad(c, "database %s: page %" PRIu64 " has a bad header (number %" PRIu64 ", flags 0x%x, %u-%u)", db,
		         pg, ml_get64(p), get16(p + 10), lower, upper);
	for (unsigned i = 0; rc == 0 && i < (unsigned)(lower - PAGEHDRSZ) / 2; i++)
		rc = node(c, p, pg, i, depth, db, fn);
	free(p);
	return rc;
}

/* Main database: each named database's tree. */
static int main_leaf(struct chk *c, const uint8_t *key, size_t klen, const uint8_t *data, uint64_t dsize,
                     uint16_t flags)
{
	if (!(flags & F_SUBDATA))
		return 0; /* a plain key: check_main_db() refuses it */
	char name[16];
	snprintf(name, sizeof(name), "%.*s", (int)(klen < 15 ? klen : 15), (const char *)key);
	if (!data || dsize != DB_SIZE)
		return bad(c, "database %s: its record in the main database is damaged", name);
	uint64_t root = ml_get64(data + DB_ROOT);
	return root == P_INVALID ? 0 : walk(c, root, 0, name, NULL);
}

/* Free list: each entry a count and that many page numbers, each a
 * page no database uses (they were walked first) and no other entry
 * names. */
static int free_leaf(struct chk *c, const uint8_t *key, size_t klen, const uint8_t *data, uint64_t dsize,
                     uint16_t flags)
{
	(void)key;
	(void)klen;
	(void)flags;
	if (dsize < 8 || ml_get64(data) > dsize / 8 - 1)
		return bad(c, "database free list: an entry of %" PRIu64 " bytes counts %" PRIu64 " pages", dsize,
		           dsize >= 8 ? ml_get64(data) : 0);
	uint64_t n = ml_get64(data);
	for (uint64_t i = 1; i <= n; i++)
		if (mark(c, ml_get64(data + 8 * i), 1, "free list"))
			return -1;
	return 0;
}

int ml_mdb_check(int fd, char *why, size_t whylen)
{
	struct chk c = {fd, 0, 0, NULL, why, whylen, 0};
	uint8_t m[2][PAGEHDRSZ + 136];
	/* A file LMDB does not take for its own (too short for the meta
	 * pages, another magic or version): mdb_env_open says so. */
	uint32_t magic, version;
	if (pread(fd, m[0], sizeof(m[0]), 0) != (ssize_t)sizeof(m[0]))
		return 0;
	memcpy(&magic, m[0] + PAGEHDRSZ, 4);
	memcpy(&version, m[0] + PAGEHDRSZ + 4, 4);
	memcpy(&c.psize, m[0] + PAGEHDRSZ + META_DBS, 4); /* the free DB's md_pad: the page size */
	if (magic != MDB_MAGIC || version != 1 || c.psize < 512 || c.psize > 65536 || c.psize & (c.psize - 1) ||
	    pread(fd, m[1], sizeof(m[1]), c.psize) != (ssize_t)sizeof(m[1]))
		return 0;
	memcpy(&magic, m[1] + PAGEHDRSZ, 4);
	memcpy(&version, m[1] + PAGEHDRSZ + 4, 4);
	if (magic != MDB_MAGIC || version != 1)
		return 0;
	/* LMDB uses the meta page of the newer transaction. */
	const uint8_t *meta = m[0] + PAGEHDRSZ;
	if (ml_get64(m[1] + PAGEHDRSZ + META_TXNID) > ml_get64(meta + META_TXNID))
		meta = m[1] + PAGEHDRSZ;
	c.npages = ml_get64(meta + META_LAST) + 1;
	if (c.npages < 2 || c.npages > (UINT64_MAX / c.psize))
		return bad(&c, "the meta page counts %" PRIu64 " pages", c.npages);
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return fail(&c, ML_MDB_IOERR, "fstat: %s", strerror(errno)), c.code;
	if ((uint64_t)sb.st_size / c.psize < c.npages)
		return bad(&c, "it is cut short: %lld bytes, but its meta page counts %" PRIu64 " pages of %u bytes",
		           (long long)sb.st_size, c.npages, c.psize);
	c.seen = calloc(c.npages / 8 + 1, 1);
	if (!c.seen)
		return fail(&c, ML_MDB_NOMEM, "out of memory for a map of %" PRIu64 " pages", c.npages), c.code;
	c.seen[0] = 3; /* the meta pages */
	uint64_t free_root = ml_get64(meta + META_DBS + DB_ROOT);
	uint64_t main_root = ml_get64(meta + META_DBS + DB_SIZE + DB_ROOT);
	int rc = main_root == P_INVALID ? 0 : walk(&c, main_root, 0, "main", main_leaf);
	if (rc == 0 && free_root != P_INVALID)
		rc = walk(&c, free_root, 0, "free list", free_leaf);
	free(c.seen);
	return rc ? c.code : 0;
}
