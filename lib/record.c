/* record.c - the spill store's on-disk format: keys, record headers, the
 * hash, decoding. Shared by the library and memlane-dump, and free of
 * arena state, so that the format has one implementation;
 * memlane-store(5) describes it for other programs. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <zstd_errors.h>

#include "record.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the store format is written little-endian; port ml_put64/ml_get64 first"
#endif

/* ---- little helpers ---------------------------------------------------- */

void ml_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

uint64_t ml_get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

void ml_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

uint32_t ml_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void ml_rec_key(uint8_t key[16], memlane_handle h, uint64_t seq)
{
	put_be64(key, h);
	put_be64(key + 8, seq);
}

void ml_rec_key_parse(const uint8_t key[16], memlane_handle *h, uint64_t *seq)
{
	*h = get_be64(key);
	*seq = get_be64(key + 8);
}

void ml_handle_key(uint8_t key[8], memlane_handle h)
{
	put_be64(key, h);
}

memlane_handle ml_handle_key_parse(const uint8_t key[8])
{
	return get_be64(key);
}

/* A 64-bit hash of the raw bytes, eight at a time (memlane-store(5)
 * gives it in full so other programs can check records). */
uint64_t ml_hash64(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h ^= w * 0xC2B2AE3D27D4EB4Full;
		h = (h << 31 | h >> 33) * 0x9E3779B97F4A7C15ull;
	}
	uint64_t w = 0;
	if (n > i)
		memcpy(&w, p + i, n - i);
	h ^= w * 0x165667B19E3779F9ull;
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ull;
	return h ^ (h >> 33);
}

int ml_rec_header_parse(const void *rec, size_t len, struct ml_rec_info *info)
{
	const uint8_t *p = rec;
	if (len < ML_REC_HEADER || ml_get32(p) != ML_REC_MAGIC || (p[4] != ML_CODEC_STORED && p[4] != ML_CODEC_ZSTD))
		return -1;
	info->codec = p[4];
	info->align_log2 = p[5];
	info->flags = p[6];
	info->tag = ml_get32(p + 8);
	info->size = ml_get64(p + 16);
	info->hash = ml_get64(p + 24);
	info->epoch = ml_get64(p + 32);
	info->payload = p + ML_REC_HEADER;
	info->payload_len = len - ML_REC_HEADER;
	if (info->codec == ML_CODEC_STORED && info->payload_len < info->size)
		return -1;
	return 0;
}

/* Whether @payload is exactly one zstd frame that carries a content
 * checksum (Frame_Header_Descriptor bit 2, RFC 8878 section 3.1.1.1.1),
 * which ZSTD_decompressDCtx verifies. */
bool ml_frame_checked(const uint8_t *payload, size_t len)
{
	if (len < 5 || ml_get32(payload) != 0xFD2FB528u || !(payload[4] & 0x04))
		return false;
	size_t n = ZSTD_findFrameCompressedSize(payload, len);
	return !ZSTD_isError(n) && n == len;
}

/* Decode record @rec into @dst, which holds exactly @size bytes. On
 * damage fills @why and returns -1; -2 when zstd ran out of memory (no
 * damage: the record may decode later). */
int ml_rec_decode(ZSTD_DCtx *dctx, const void *rec, size_t len, void *dst, uint64_t size, char *why, size_t whylen)
{
	struct ml_rec_info info;
	if (ml_rec_header_parse(rec, len, &info) != 0) {
		snprintf(why, whylen, "bad record header (%zu bytes)", len);
		return -1;
	}
	if (info.size != size) {
		snprintf(why, whylen, "record holds %" PRIu64 " bytes, the handle table says %" PRIu64, info.size, size);
		return -1;
	}
	/* Both codecs are zstd frames: compressed, or stored in raw blocks. */
	size_t n = ZSTD_decompressDCtx(dctx, dst, size, info.payload, info.payload_len);
	if (ZSTD_isError(n)) {
		snprintf(why, whylen, "zstd: %s", ZSTD_getErrorName(n));
		return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? -2 : -1;
	}
	if (n != size) {
		snprintf(why, whylen, "zstd frame holds %zu bytes, not %" PRIu64, n, size);
		return -1;
	}
	/* A frame with a content checksum was checked by zstd just now (its
	 * XXH64 of the same bytes): hashing again would cost a fifth of a
	 * fault-in. Every record the library writes has one; ml_hash64 is
	 * the check for a frame without it (or whose flag was damaged). */
	if (!ml_frame_checked(info.payload, info.payload_len) && ml_hash64(dst, size) != info.hash) {
		snprintf(why, whylen, "checksum mismatch");
		return -1;
	}
	return 0;
}

void ml_table_entry_encode(uint8_t out[ML_TABLE_ENTRY], const struct ml_table_entry *e)
{
	memset(out, 0, ML_TABLE_ENTRY);
	ml_put64(out, e->seq);
	ml_put64(out + 8, e->size);
	ml_put32(out + 16, e->tag);
	out[20] = e->flags;
	out[21] = e->align_log2;
}

int ml_table_entry_parse(const void *v, size_t len, struct ml_table_entry *e)
{
	const uint8_t *p = v;
	if (len != ML_TABLE_ENTRY)
		return -1;
	e->seq = ml_get64(p);
	e->size = ml_get64(p + 8);
	e->tag = ml_get32(p + 16);
	e->flags = p[20];
	e->align_log2 = p[21];
	return 0;
}

/* ---- stored frames ------------------------------------------------------ */

/* XXH64 (Yann Collet's xxHash, 64-bit; the reference algorithm), for
 * the content checksum of the frames written below. libzstd has it but
 * does not export it. */
#define XXH_P1 11400714785074694791ull
#define XXH_P2 14029467366897019727ull
#define XXH_P3 1609587929392839161ull
#define XXH_P4 9650029242287828579ull
#define XXH_P5 2870177450012600261ull

static uint64_t xxh_rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t xxh_round(uint64_t acc, uint64_t input)
{
	acc += input * XXH_P2;
	return xxh_rotl(acc, 31) * XXH_P1;
}

static uint64_t xxh_merge(uint64_t acc, uint64_t v)
{
	acc ^= xxh_round(0, v);
	return acc * XXH_P1 + XXH_P4;
}

uint64_t ml_xxh64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data, *end = p + len;
	uint64_t h;
	if (len >= 32) {
		uint64_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
		do {
			v1 = xxh_round(v1, ml_get64(p));
			v2 = xxh_round(v2, ml_get64(p + 8));
			v3 = xxh_round(v3, ml_get64(p + 16));
			v4 = xxh_round(v4, ml_get64(p + 24));
			p += 32;
		} while (end - p >= 32);
		h = xxh_rotl(v1, 1) + xxh_rotl(v2, 7) + xxh_rotl(v3, 12) + xxh_rotl(v4, 18);
		h = xxh_merge(h, v1);
		h = xxh_merge(h, v2);
		h = xxh_merge(h, v3);
		h = xxh_merge(h, v4);
	} else {
		h = seed + XXH_P5;
	}
	h += (uint64_t)len;
	for (; end - p >= 8; p += 8) {
		h ^= xxh_round(0, ml_get64(p));
		h = xxh_rotl(h, 27) * XXH_P1 + XXH_P4;
	}
	if (end - p >= 4) {
		h ^= (uint64_t)ml_get32(p) * XXH_P1;
		h = xxh_rotl(h, 23) * XXH_P2 + XXH_P3;
		p += 4;
	}
	for (; p < end; p++) {
		h ^= *p * XXH_P5;
		h = xxh_rotl(h, 11) * XXH_P1;
	}
	h ^= h >> 33;
	h *= XXH_P2;
	h ^= h >> 29;
	h *= XXH_P3;
	return h ^ (h >> 32);
}

/* Bytes ml_frame_stored() writes for @n bytes of content. */
size_t ml_frame_stored_bound(size_t n)
{
	size_t blocks = n ? (n + ML_FRAME_BLOCK - 1) / ML_FRAME_BLOCK : 1;
	return 4 + 1 + 8 + blocks * 3 + n + 4;
}

/* Write @n bytes at @src as a standard zstd frame (RFC 8878) of raw
 * blocks: single segment, the content size, and the content checksum
 * (low 32 bits of XXH64, seed 0). What a record holds when compression
 * does not pay or is off: any zstd decoder reads it, and the checksum
 * is checked as for a compressed one. Returns the frame's length. */
size_t ml_frame_stored(uint8_t *dst, const void *src, size_t n)
{
	uint8_t *p = dst;
	ml_put32(p, 0xFD2FB528u); /* magic */
	p += 4;
	unsigned fcs_flag = n < 256 ? 0 : n < 65536 + 256 ? 1 : n <= 0xFFFFFFFFu ? 2 : 3;
	*p++ = (uint8_t)(fcs_flag << 6 | 1u << 5 | 1u << 2); /* FCS size, single segment, checksum */
	if (fcs_flag == 0) {
		*p++ = (uint8_t)n;
	} else if (fcs_flag == 1) {
		uint16_t v = (uint16_t)(n - 256);
		memcpy(p, &v, 2);
		p += 2;
	} else if (fcs_flag == 2) {
		ml_put32(p, (uint32_t)n);
		p += 4;
	} else {
		ml_put64(p, n);
		p += 8;
	}
	const uint8_t *s = src;
	size_t left = n;
	do {
		size_t b = left < ML_FRAME_BLOCK ? left : ML_FRAME_BLOCK;
		uint32_t hdr = (uint32_t)(b << 3) | (left == b ? 1u : 0u); /* raw block, last? */
		p[0] = (uint8_t)hdr;
		p[1] = (uint8_t)(hdr >> 8);
		p[2] = (uint8_t)(hdr >> 16);
		p += 3;
		if (b)
			memcpy(p, s, b);
		p += b;
		s += b;
		left -= b;
	} while (left);
	ml_put32(p, (uint32_t)ml_xxh64(src, n, 0));
	p += 4;
	return (size_t)(p - dst);
}
