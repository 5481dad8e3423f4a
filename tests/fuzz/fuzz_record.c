/* fuzz_record.c - the store's record decoder on arbitrary bytes.
 *
 * The input is one value of the "objects" database as fault-in reads it
 * back (lib/record.c: ml_rec_header_parse, ml_rec_decode; lib/store.c:
 * ml_rec_decode_tls, which fault-in calls). Its first 32 bytes are also
 * taken as a "handles" entry, its first 16 as a record key. Invariants:
 *   - the decoder either succeeds or says why (a non-empty reason); a
 *     header that does not parse never decodes;
 *   - the output buffer is exactly the size asked for (heap-allocated to
 *     that size, so AddressSanitizer catches a byte too many), and a
 *     success fills it with bytes whose hash is the header's;
 *   - any size other than the header's is refused;
 *   - both entry points agree;
 *   - decoded bytes, written again as a stored frame under the same
 *     header, decode to the same bytes;
 *   - table entries and keys round-trip through encode and parse.
 * Sizes past 1 MiB are decoded into a small buffer only (they must be
 * refused: the header's size is not the buffer's). */
#include "fuzz.h"

#include <zstd.h>

#include "internal.h"
#include "record.h"

#define BIG ((uint64_t)1 << 20)

static ZSTD_DCtx *dctx;

/* Decode @rec into a buffer of exactly @size bytes, with both entry
 * points; returns the bytes (malloc'd) on success, NULL on failure. */
static uint8_t *decode(const uint8_t *rec, size_t len, uint64_t size)
{
	uint8_t *a = malloc(size ? size : 1), *b = malloc(size ? size : 1);
	FUZZ_CHECK(a && b, "malloc(%llu)", (unsigned long long)size);
	memset(a, 0xa5, size);
	memset(b, 0x5a, size);
	char why_a[160] = "", why_b[160] = "";
	int ra = ml_rec_decode(dctx, rec, len, a, size, why_a, sizeof(why_a));
	int rb = ml_rec_decode_tls(rec, len, b, size, why_b, sizeof(why_b));
	FUZZ_CHECK(ra == 0 || ra == -1, "ml_rec_decode = %d", ra);
	FUZZ_CHECK(ra == rb, "ml_rec_decode = %d (%s) but ml_rec_decode_tls = %d (%s)", ra, why_a, rb, why_b);
	if (ra != 0) {
		FUZZ_CHECK(why_a[0] && why_b[0], "a failed decode without a reason");
		FUZZ_CHECK(strcmp(why_a, why_b) == 0, "different reasons: '%s', '%s'", why_a, why_b);
		free(a);
		free(b);
		return NULL;
	}
	FUZZ_CHECK(memcmp(a, b, size) == 0, "the two decoders give different bytes");
	free(b);
	return a;
}

static void check_record(const uint8_t *data, size_t size)
{
	struct ml_rec_info info;
	if (ml_rec_header_parse(data, size, &info) != 0) {
		/* Whatever size is asked for, a bad header never decodes. */
		uint64_t want = size >= 24 ? ml_get64(data + 16) : size;
		uint8_t *out = decode(data, size, want < BIG ? want : 64);
		FUZZ_CHECK(out == NULL, "a record whose header does not parse decoded");
		return;
	}
	FUZZ_CHECK(info.payload == data + ML_REC_HEADER && info.payload_len == size - ML_REC_HEADER,
	           "the payload is not the rest of the record");
	if (info.size >= BIG) {
		FUZZ_CHECK(decode(data, size, 64) == NULL, "a %llu-byte record decoded into 64 bytes",
		           (unsigned long long)info.size);
		return;
	}
	/* A size off by one either way is refused. */
	FUZZ_CHECK(decode(data, size, info.size + 1) == NULL, "decoded into one byte more than the header says");
	if (info.size > 0)
		FUZZ_CHECK(decode(data, size, info.size - 1) == NULL, "decoded into one byte less than the header says");

	uint8_t *out = decode(data, size, info.size);
	if (!out)
		return;
	/* The bytes are the record's: zstd checked them against the frame's
	 * own checksum, or they match the header's hash. */
	FUZZ_CHECK(ml_frame_checked(info.payload, info.payload_len) || ml_hash64(out, info.size) == info.hash,
	           "decoded bytes do not match the header's hash");

	/* Write the bytes again as a stored frame under the same header. */
	size_t cap = ML_REC_HEADER + ml_frame_stored_bound(info.size);
	uint8_t *rec = malloc(cap);
	FUZZ_CHECK(rec != NULL, "malloc");
	memcpy(rec, data, ML_REC_HEADER);
	rec[4] = ML_CODEC_STORED;
	size_t n = ml_frame_stored(rec + ML_REC_HEADER, out, info.size);
	FUZZ_CHECK(n <= cap - ML_REC_HEADER, "ml_frame_stored wrote %zu bytes, bound %zu", n, cap - ML_REC_HEADER);
	uint8_t *again = decode(rec, ML_REC_HEADER + n, info.size);
	FUZZ_CHECK(again != NULL, "the bytes written again as a stored frame do not decode");
	FUZZ_CHECK(memcmp(again, out, info.size) == 0, "the stored frame decodes to other bytes");
	free(again);
	free(rec);
	free(out);
}

static void check_entry_and_key(const uint8_t *data, size_t size)
{
	struct ml_table_entry e, back;
	int rc = ml_table_entry_parse(data, size, &e);
	FUZZ_CHECK((rc == 0) == (size == ML_TABLE_ENTRY), "ml_table_entry_parse(%zu bytes) = %d", size, rc);
	if (size >= ML_TABLE_ENTRY) {
		FUZZ_CHECK(ml_table_entry_parse(data, ML_TABLE_ENTRY, &e) == 0, "a 32-byte entry does not parse");
		uint8_t enc[ML_TABLE_ENTRY];
		ml_table_entry_encode(enc, &e);
		FUZZ_CHECK(ml_table_entry_parse(enc, sizeof(enc), &back) == 0, "an encoded entry does not parse");
		FUZZ_CHECK(back.seq == e.seq && back.size == e.size && back.tag == e.tag && back.flags == e.flags &&
		                   back.align_log2 == e.align_log2,
		           "a table entry does not round-trip");
	}
	if (size >= 16) {
		memlane_handle h;
		uint64_t seq;
		uint8_t key[16];
		ml_rec_key_parse(data, &h, &seq);
		ml_rec_key(key, h, seq);
		FUZZ_CHECK(memcmp(key, data, 16) == 0, "a record key does not round-trip");
		FUZZ_CHECK(ml_handle_key_parse(data) == h, "the handle key is not the record key's first half");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dctx) {
		dctx = ZSTD_createDCtx();
		FUZZ_CHECK(dctx != NULL, "ZSTD_createDCtx");
	}
	/* Exactly the input's bytes, so a read past them is caught. */
	uint8_t *copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy != NULL, "malloc");
	memcpy(copy, data, size);
	check_record(copy, size);
	check_entry_and_key(copy, size);
	free(copy);
	return 0;
}
