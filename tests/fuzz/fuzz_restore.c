/* fuzz_restore.c - reopening a persistent store whose contents are
 * arbitrary: the library's restore (meta records, slot generations, the
 * handle table, roots) and fault-in of whatever records it finds.
 *
 * The input is a list of LMDB puts, each
 *   1 byte    database: 0 meta, 1 objects, 2 handles, 3 roots (mod 4)
 *   1 byte    key length
 *   2 bytes   value length (little-endian)
 *   key, value
 * applied over the base meta records of a persistent store (format 1,
 * persist=1), in a fresh directory, through LMDB directly; then
 * memlane_open(persist=1) restores it. LMDB's own file format is not
 * fuzzed. Invariants:
 *   - memlane_open returns 0 or a store error (ECORRUPT, ENOMEM, EBUSY,
 *     ESTORE), never crashes, and fails with a message;
 *   - after a successful open, every handle the table names is either
 *     invalid (refused at restore) or readable: memlane_read returns 0,
 *     with bytes whose hash is the header hash of the record the table
 *     entry names, or ECORRUPT (a damaged record, named in the message),
 *     never other bytes; root lookups return documented codes;
 *   - an arena that opened closes, and the store it leaves opens again,
 *     with the same handles valid and the same sizes (a damaged store
 *     that opened once is not made unopenable). */
#include "fuzz.h"

#include <lmdb.h>

#include <memlane.h>

#include "record.h"

#define MAX_PUTS 64
#define SLOW_LANE ((size_t)4 << 20) /* slow_lane_size below */

struct put {
	int db;
	const uint8_t *key, *val;
	size_t klen, vlen;
};

static size_t parse(const uint8_t *data, size_t size, struct put *puts)
{
	size_t n = 0, off = 0;
	while (n < MAX_PUTS && off + 4 <= size) {
		struct put *p = &puts[n];
		p->db = data[off] % 4;
		p->klen = data[off + 1];
		p->vlen = (size_t)data[off + 2] | (size_t)data[off + 3] << 8;
		off += 4;
		if (p->klen == 0 || off + p->klen + p->vlen > size)
			break; /* LMDB takes no empty key */
		p->key = data + off;
		p->val = data + off + p->klen;
		off += p->klen + p->vlen;
		n++;
	}
	return n;
}

static void must(int rc, const char *what)
{
	FUZZ_CHECK(rc == 0, "%s: %s", what, mdb_strerror(rc));
}

static void write_store(const char *dir, const struct put *puts, size_t n)
{
	static const char *const names[4] = {"meta", "objects", "handles", "roots"};
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi dbi[4];
	must(mdb_env_create(&env), "mdb_env_create");
	mdb_env_set_maxdbs(env, 8);
	mdb_env_set_mapsize(env, (size_t)64 << 20);
	must(mdb_env_open(env, dir, MDB_NOSYNC, 0600), "mdb_env_open");
	must(mdb_txn_begin(env, NULL, 0, &t), "mdb_txn_begin");
	for (int i = 0; i < 4; i++)
		must(mdb_dbi_open(t, names[i], MDB_CREATE, &dbi[i]), names[i]);
	uint8_t format[8], persist = 1;
	ml_put64(format, ML_STORE_FORMAT);
	MDB_val k = {strlen(ML_META_FORMAT), (void *)(uintptr_t)ML_META_FORMAT}, v = {8, format};
	must(mdb_put(t, dbi[0], &k, &v, 0), "mdb_put");
	k = (MDB_val){strlen(ML_META_PERSIST), (void *)(uintptr_t)ML_META_PERSIST};
	v = (MDB_val){1, &persist};
	must(mdb_put(t, dbi[0], &k, &v, 0), "mdb_put");
	for (size_t i = 0; i < n; i++) {
		k = (MDB_val){puts[i].klen, (void *)(uintptr_t)puts[i].key};
		v = (MDB_val){puts[i].vlen, (void *)(uintptr_t)puts[i].val};
		must(mdb_put(t, dbi[puts[i].db], &k, &v, 0), "mdb_put");
	}
	must(mdb_txn_commit(t), "mdb_txn_commit");
	mdb_env_close(env);
}

/* The value of the last put of (@db, @key), or NULL. */
static const struct put *find(const struct put *puts, size_t n, int db, const uint8_t *key, size_t klen)
{
	for (size_t i = n; i-- > 0;)
		if (puts[i].db == db && puts[i].klen == klen && memcmp(puts[i].key, key, klen) == 0)
			return &puts[i];
	return NULL;
}

static int open_store(memlane_arena **a, const char *dir)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	FUZZ_CHECK(memlane_config_parse(&cfg, "persist=1,store_sync=none,fast_lane_size=64K,slow_lane_size=4M,"
	                                      "threshold=1K") == 0,
	           "%s", memlane_errmsg());
	int rc = memlane_open(a, dir, &cfg);
	FUZZ_CHECK(rc == 0 || rc == MEMLANE_ECORRUPT || rc == MEMLANE_ENOMEM || rc == MEMLANE_EBUSY ||
	                   rc == MEMLANE_ESTORE,
	           "memlane_open = %d (%s)", rc, memlane_errmsg());
	FUZZ_CHECK(rc == 0 || memlane_errmsg()[0], "memlane_open failed without a message");
	return rc;
}

/* Every handle the table names: invalid, or its bytes as the record
 * the table entry names holds them. */
static void read_all(memlane_arena *a, const struct put *puts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (puts[i].db != 2 || puts[i].klen != 8 || find(puts, n, 2, puts[i].key, 8) != &puts[i])
			continue;
		memlane_handle h = ml_handle_key_parse(puts[i].key);
		if (!memlane_valid(a, h))
			continue;
		struct ml_table_entry e;
		FUZZ_CHECK(ml_table_entry_parse(puts[i].val, puts[i].vlen, &e) == 0,
		           "handle 0x%016llx restored from a damaged table entry", (unsigned long long)h);
		size_t size = memlane_size(a, h);
		FUZZ_CHECK(size == e.size, "memlane_size = %zu, the table says %llu", size, (unsigned long long)e.size);
		if (size > SLOW_LANE) {
			/* Restore takes sizes up to the library's limit; such an
			 * object cannot come back into a 4 MiB SlowLane. */
			uint8_t byte;
			int rc = memlane_read(a, h, 0, &byte, 1);
			FUZZ_CHECK(rc == MEMLANE_ETOOBIG || rc == MEMLANE_ENOMEM || rc == MEMLANE_ECORRUPT,
			           "memlane_read of a %zu-byte object = %d (%s)", size, rc, memlane_errmsg());
			continue;
		}
		uint8_t *buf = malloc(size ? size : 1);
		FUZZ_CHECK(buf != NULL, "malloc");
		int rc = memlane_read(a, h, 0, buf, size);
		FUZZ_CHECK(rc == 0 || rc == MEMLANE_ECORRUPT || rc == MEMLANE_ENOMEM || rc == MEMLANE_ETOOBIG,
		           "memlane_read = %d (%s)", rc, memlane_errmsg());
		if (rc == MEMLANE_ECORRUPT) {
			char hx[32];
			snprintf(hx, sizeof(hx), "0x%016llx", (unsigned long long)h);
			FUZZ_CHECK(strstr(memlane_errmsg(), hx) != NULL, "ECORRUPT without the handle: %s",
			           memlane_errmsg());
		}
		if (rc == 0) {
			uint8_t key[16];
			struct ml_rec_info info;
			ml_rec_key(key, h, e.seq);
			const struct put *r = find(puts, n, 1, key, 16);
			FUZZ_CHECK(r && ml_rec_header_parse(r->val, r->vlen, &info) == 0 && info.size == size &&
			                   (ml_frame_checked(info.payload, info.payload_len) || ml_hash64(buf, size) == info.hash),
			           "handle 0x%016llx read back bytes its record does not hold", (unsigned long long)h);
		}
		free(buf);
	}
	for (size_t j = 0; j < n; j++) {
		if (puts[j].db != 3)
			continue;
		char name[256];
		memcpy(name, puts[j].key, puts[j].klen);
		name[puts[j].klen] = '\0';
		memlane_handle out;
		int rc = memlane_root_get(a, name, &out);
		FUZZ_CHECK(rc == 0 || rc == MEMLANE_ENOTFOUND || rc == MEMLANE_EHANDLE || rc == MEMLANE_EINVAL,
		           "memlane_root_get = %d (%s)", rc, memlane_errmsg());
		FUZZ_CHECK(rc != 0 || memlane_valid(a, out), "root '%s' names an invalid handle", name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	struct put puts[MAX_PUTS];
	size_t n = parse(data, size, puts);
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/%lu", fuzz_tmpdir("restore"), runs++);
	FUZZ_CHECK(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
	write_store(dir, puts, n);

	memlane_arena *a = NULL;
	if (open_store(&a, dir) == 0) {
		read_all(a, puts, n);
		/* What the table holds now, to compare after a reopen. */
		memlane_handle hs[MAX_PUTS];
		size_t sizes[MAX_PUTS], nh = 0;
		for (size_t i = 0; i < n; i++) {
			if (puts[i].db != 2 || puts[i].klen != 8)
				continue;
			memlane_handle h = ml_handle_key_parse(puts[i].key);
			if (memlane_valid(a, h)) {
				hs[nh] = h;
				sizes[nh++] = memlane_size(a, h);
			}
		}
		int rc = memlane_close(a);
		FUZZ_CHECK(rc == 0, "memlane_close = %d (%s)", rc, memlane_errmsg());
		rc = open_store(&a, dir);
		FUZZ_CHECK(rc == 0, "a store that opened and closed does not open again: %d (%s)", rc, memlane_errmsg());
		for (size_t i = 0; i < nh; i++)
			FUZZ_CHECK(memlane_valid(a, hs[i]) && memlane_size(a, hs[i]) == sizes[i],
			           "handle 0x%016llx lost or changed by a reopen", (unsigned long long)hs[i]);
		rc = memlane_close(a);
		FUZZ_CHECK(rc == 0, "memlane_close = %d (%s)", rc, memlane_errmsg());
	}
	fuzz_rm_rf(dir);
	return 0;
}
