/* record.h - the spill store's on-disk format (memlane-store(5)): key
 * layouts, the record header, the table entry, the hash. Internal: used
 * by the library and by memlane-dump, never installed. */
#ifndef MEMLANE_RECORD_H
#define MEMLANE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "memlane.h"

#ifndef ML_HIDDEN
#define ML_HIDDEN __attribute__((visibility("hidden")))
#endif

#define ML_LOCK_FILE "memlane.lock"
#define ML_STORE_FORMAT 1
#define ML_REC_MAGIC 0x31524c4du /* "MLR1" as little-endian bytes */
#define ML_REC_HEADER 40
/* Codecs: the payload is a zstd frame either way (RFC 8878, content
 * checksum on). STORED: raw blocks, compression did not pay or is off. */
#define ML_CODEC_STORED 0
#define ML_CODEC_ZSTD 1
#define ML_FRAME_BLOCK ((size_t)128 * 1024) /* zstd's largest block */
#define ML_TABLE_ENTRY 32 /* bytes of a "handles" value */

/* Names of the meta records. */
#define ML_META_FORMAT "format"
#define ML_META_PERSIST "persist"
#define ML_META_ARENA_ID "arena_id"
#define ML_META_CHECKPOINT "checkpoint"
#define ML_META_OPTIONS "options"
#define ML_META_SLOTS "slots"

/* A record header, parsed. */
struct ml_rec_info {
	uint8_t codec, align_log2, flags;
	uint32_t tag;
	uint64_t size, hash, epoch;
	const uint8_t *payload;
	size_t payload_len;
};

/* A "handles" entry, parsed. */
struct ml_table_entry {
	uint64_t seq, size;
	uint32_t tag;
	uint8_t flags, align_log2;
};

ML_HIDDEN void ml_put32(uint8_t *p, uint32_t v);
ML_HIDDEN uint32_t ml_get32(const uint8_t *p);
ML_HIDDEN void ml_put64(uint8_t *p, uint64_t v);
ML_HIDDEN uint64_t ml_get64(const uint8_t *p);
ML_HIDDEN void ml_rec_key(uint8_t key[16], memlane_handle h, uint64_t seq);
ML_HIDDEN void ml_rec_key_parse(const uint8_t key[16], memlane_handle *h, uint64_t *seq);
ML_HIDDEN void ml_handle_key(uint8_t key[8], memlane_handle h);
ML_HIDDEN memlane_handle ml_handle_key_parse(const uint8_t key[8]);
ML_HIDDEN uint64_t ml_hash64(const void *data, size_t n);
ML_HIDDEN uint64_t ml_xxh64(const void *data, size_t len, uint64_t seed);
ML_HIDDEN size_t ml_frame_stored_bound(size_t n);
ML_HIDDEN size_t ml_frame_stored(uint8_t *dst, const void *src, size_t n);
ML_HIDDEN int ml_rec_header_parse(const void *rec, size_t len, struct ml_rec_info *info);
/* Whether a record's payload is one zstd frame with a content checksum:
 * then zstd checks the decoded bytes, and ml_rec_decode does not
 * compute ml_hash64 of them as well. */
ML_HIDDEN bool ml_frame_checked(const uint8_t *payload, size_t len);
ML_HIDDEN int ml_rec_decode(ZSTD_DCtx *dctx, const void *rec, size_t len, void *dst, uint64_t size, char *why,
                            size_t whylen);
ML_HIDDEN void ml_table_entry_encode(uint8_t out[ML_TABLE_ENTRY], const struct ml_table_entry *e);
ML_HIDDEN int ml_table_entry_parse(const void *v, size_t len, struct ml_table_entry *e);
/* mdbcheck.c: 0 when the LMDB pages of data.mdb (open as @fd, and not
 * being written) are sound; else the reason in @why and ML_MDB_DAMAGED,
 * or ML_MDB_NOMEM / ML_MDB_IOERR when the check itself could not be
 * made (which says nothing about the file). */
#define ML_MDB_DAMAGED (-1)
#define ML_MDB_NOMEM (-2)
#define ML_MDB_IOERR (-3)
ML_HIDDEN int ml_mdb_check(int fd, char *why, size_t whylen);

#endif /* MEMLANE_RECORD_H */
