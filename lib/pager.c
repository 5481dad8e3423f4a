/* pager.c - evicting cold SlowLane objects to the spill store, faulting
 * them back in, checkpoints and restore.
 *
 * Choice of victims: MEMLANE_COLD objects first, then a CLOCK (second
 * chance) sweep of the SlowLane list: an object touched since the last
 * sweep (get, get_ro, pin, read, write set `referenced`) goes to the back
 * of the list with its bit cleared; an untouched one is evicted. Pinned
 * and MEMLANE_NOSPILL objects are never chosen. Many victims are written
 * in one LMDB write transaction; only after it commits are their lane
 * places given back, so a failed write (full disk, store limit) leaves
 * every object where it was.
 *
 * Record versions: each write of an object's bytes gets a new sequence
 * number (key handle+seq), so a record the last checkpoint's handle table
 * names is never overwritten between checkpoints: after a crash the table
 * and the records it names are exactly the last checkpoint's state. Clean
 * objects (faulted in and only read) keep their record and evict without
 * writing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* At most this many objects, or this many raw bytes, per transaction. */
#define ML_EVICT_BATCH 512
#define ML_EVICT_BATCH_BYTES ((size_t)64 << 20)

static MDB_val val_of(const void *p, size_t n)
{
	return (MDB_val){n, (void *)(uintptr_t)p};
}

static MDB_val str_key(const char *s)
{
	return val_of(s, strlen(s));
}

/* ---- eviction ----------------------------------------------------------- */

struct evict_ctx {
	memlane_arena *a;
	const uint32_t *idx;
	size_t n;
	uint64_t *newseq; /* out: the record each victim ends with */
	size_t written;   /* records written (dirty evictions) */
	const char *what;
};

/* Deletes that may go in any write transaction. Missing keys are fine:
 * a delete may repeat one that an aborted attempt never applied. */
static int apply_dead(MDB_txn *t, struct ml_store *st, bool checkpoint)
{
	for (size_t i = 0; i < st->ndead; i++) {
		const struct ml_dead *d = &st->dead[i];
		if (d->at_checkpoint && !checkpoint)
			continue;
		uint8_t k[16];
		ml_rec_key(k, d->h, d->seq);
		MDB_val key = val_of(k, 16);
		int rc = mdb_del(t, st->objects, &key, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		if (d->at_checkpoint) {
			uint8_t hk[8];
			ml_handle_key(hk, d->h);
			MDB_val tkey = val_of(hk, 8);
			rc = mdb_del(t, st->handles, &tkey, NULL);
			if (rc && rc != MDB_NOTFOUND)
				return rc;
		}
	}
	return 0;
}

static void drop_dead(struct ml_store *st, bool checkpoint)
{
	size_t keep = 0;
	for (size_t i = 0; i < st->ndead; i++)
		if (st->dead[i].at_checkpoint && !checkpoint)
			st->dead[keep++] = st->dead[i];
	st->ndead = keep;
}

/* Write the record of resident object @s as sequence @seq, and delete
 * the record it replaces unless the last checkpoint still names it. */
static int put_record(MDB_txn *t, memlane_arena *a, struct ml_stub *s, uint64_t seq)
{
	struct ml_store *st = a->store;
	memlane_handle h = ml_handle_make(a, ml_stub_index(a, s));
	const uint8_t *rec;
	size_t len;
	int rc = ml_rec_encode(a, s, ml_stub_ptr(a, s), st->checkpoints + 1, &rec, &len);
	if (rc)
		return rc;
	uint8_t k[16];
	ml_rec_key(k, h, seq);
	MDB_val key = val_of(k, 16), val = val_of(rec, len);
	if ((rc = mdb_put(t, st->objects, &key, &val, 0)) != 0)
		return rc;
	const struct ml_stub_ext *x = ml_ext(a, s);
	if (x->seq && x->seq != x->ckpt_seq) { /* the last checkpoint does not name it */
		ml_rec_key(k, h, x->seq);
		rc = mdb_del(t, st->objects, &key, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}

static int evict_txn(MDB_txn *t, void *p)
{
	struct evict_ctx *c = p;
	memlane_arena *a = c->a;
	uint64_t seq = a->store->next_seq;
	int rc = apply_dead(t, a->store, false);
	if (rc)
		return rc;
	c->written = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct ml_stub *s = &a->stubs[c->idx[i]];
		uint64_t had = ml_ext(a, s)->seq;
		if (had && !s->dirty) {
			c->newseq[i] = had; /* clean: the store copy is good */
			continue;
		}
		if ((rc = put_record(t, a, s, seq)) != 0)
			return rc;
		c->newseq[i] = seq++;
		c->written++;
	}
	return 0;
}

/* Spill the resident objects @idx[0..n) in one transaction. On failure
 * nothing changed: every object is still where it was. */
static int evict_batch(memlane_arena *a, const uint32_t *idx, size_t n, const char *what)
{
	if (n == 0)
		return 0;
	uint64_t *newseq = malloc(n * sizeof(*newseq));
	if (!newseq)
		return ml_err(MEMLANE_ENOMEM, "%s: out of memory", what);
	struct evict_ctx c = {a, idx, n, newseq, 0, what};
	int rc = ml_store_write(a->store, what, evict_txn, &c);
	if (rc == 0) {
		a->store->next_seq += c.written;
		drop_dead(a->store, false);
		for (size_t i = 0; i < n; i++) {
			struct ml_stub *s = &a->stubs[idx[i]];
			ml_release_place(a, s);
			ML_PUBLISH(s->state, MEMLANE_STATE_SPILLED);
			ML_PUBLISH(s->kind, (uint8_t)ML_KIND_NONE);
			ml_ext(a, s)->seq = newseq[i];
			ML_PUBLISH(s->dirty, 0);
			s->picked = 0;
			a->spilled++;
			a->spilled_bytes += s->size;
		}
		a->ctr.evictions += n;
		a->ctr.dirty_evictions += c.written;
		a->ctr.clean_evictions += n - c.written;
	} else {
		for (size_t i = 0; i < n; i++)
			a->stubs[idx[i]].picked = 0;
		a->pager_barren = false; /* they may be picked again */
	}
	free(newseq);
	return rc;
}

static bool evictable(const struct ml_stub *s)
{
	return !s->pins && !(s->flags & MEMLANE_NOSPILL) && !s->picked;
}

struct victims {
	uint32_t idx[ML_EVICT_BATCH];
	size_t n;
	size_t bytes;
};

static void take(memlane_arena *a, struct victims *v, uint32_t i)
{
	a->stubs[i].picked = 1;
	v->idx[v->n++] = i;
	v->bytes += ml_stub_cap(a, &a->stubs[i]);
}

static bool full(const struct victims *v, size_t want)
{
	return v->n == ML_EVICT_BATCH || v->bytes >= want || v->bytes >= ML_EVICT_BATCH_BYTES;
}

static bool slow_evictable(const struct ml_stub *s)
{
	return s->state == MEMLANE_STATE_SLOW && evictable(s);
}

/* Choose SlowLane victims worth @want bytes of lane space: MEMLANE_COLD
 * objects first, then by CLOCK over the handle table. The hand goes on
 * from the slot where it stopped last time; a SlowLane object touched
 * since the hand last passed it gets a second chance (the mark is
 * cleared, the object stays), an untouched one goes. Two turns at most:
 * by the second, every mark the first met is clear. The table is the
 * clock face, so a stub needs no list links: 8 bytes less per object
 * than the list this replaced, and the turns read the table in order. */
static void pick_victims(memlane_arena *a, size_t want, struct victims *v)
{
	/* Nothing to find since the last sweep found nothing: without
	 * this, a SlowLane full of pinned or MEMLANE_NOSPILL objects cost
	 * every allocation that needs room, and every policy cycle past
	 * the threshold, two turns of the whole table. Nothing wanted
	 * (want 0): no sweep, so none may set pager_barren below. */
	if (a->pager_barren || full(v, want))
		return;
	uint32_t n = a->nslots;
	/* The COLD pass ends at the last COLD SlowLane object, not at the
	 * end of the table. */
	for (uint64_t i = 0, seen = 0; i < n && seen < a->slow_cold && !full(v, want); i++) {
		const struct ml_stub *s = &a->stubs[i];
		if (s->state != MEMLANE_STATE_SLOW || !(s->flags & MEMLANE_COLD))
			continue;
		seen++;
		if (evictable(s))
			take(a, v, (uint32_t)i);
	}
	if (a->clock_hand >= n)
		a->clock_hand = 0;
	for (uint64_t k = 0; k < 2 * (uint64_t)n && !full(v, want); k++) {
		uint32_t i = a->clock_hand;
		a->clock_hand = i + 1 < n ? i + 1 : 0;
		struct ml_stub *s = &a->stubs[i];
		if (!slow_evictable(s))
			continue;
		if (s->referenced)
			ML_PUBLISH(s->referenced, 0);
		else
			take(a, v, i);
	}
	/* Two whole turns took nothing: the first cleared every mark, so
	 * no SlowLane object may be evicted. */
	a->pager_barren = v->n == 0;
}

/* Evict SlowLane objects until @bytes of lane space are freed or no
 * object can go. 0 when anything was evicted, 1 when nothing could go,
 * or the store's error (with its message). */
int ml_pager_make_room(memlane_arena *a, size_t bytes)
{
	if (!a->store)
		return 1;
	size_t freed = 0;
	int rc = 1;
	while (freed < bytes) {
		struct victims v;
		v.n = v.bytes = 0;
		pick_victims(a, bytes - freed, &v);
		if (v.n == 0)
			break;
		int e = evict_batch(a, v.idx, v.n, "eviction");
		if (e)
			return e;
		freed += v.bytes;
		rc = 0;
	}
	return rc;
}

/* Policy: past slow_lane_usage_threshold, evict until use is back under
 * it (less a little, so the next allocation does not start over) and
 * the safety margin is free. At most @max_bytes of lane space per call,
 * so the background thread can let go of the lock between batches;
 * returns true when more is left to do. Errors are left for the
 * foreground, which meets them when it needs the room. */
bool ml_pager_over_threshold(const memlane_arena *a)
{
	const struct ml_slow *sl = &a->slow;
	size_t reserved = sl->block_reserved + sl->blob_reserved;
	return a->store && (double)reserved > a->cfg.slow_lane_usage_threshold * (double)sl->size;
}

bool ml_pager_policy(memlane_arena *a, size_t max_bytes)
{
	if (!ml_pager_over_threshold(a))
		return false;
	const struct ml_slow *sl = &a->slow;
	size_t reserved = sl->block_reserved + sl->blob_reserved;
	double target = a->cfg.slow_lane_usage_threshold * (double)sl->size - (double)(sl->size / 32);
	double by_margin = (double)(sl->size - sl->margin);
	if (by_margin < target)
		target = by_margin;
	if (target < 0)
		target = 0;
	if ((double)reserved <= target)
		return false;
	size_t want = reserved - (size_t)target;
	bool more = want > max_bytes;
	if (ml_pager_make_room(a, more ? max_bytes : want) != 0)
		return false; /* nothing evictable, or the store failed */
	return more;
}

int ml_evict_one(memlane_arena *a, struct ml_stub *s, const char *what)
{
	memlane_handle h = ml_handle_make(a, ml_stub_index(a, s));
	if (s->state == MEMLANE_STATE_SPILLED)
		return 0;
	if (s->pins)
		return ml_err(MEMLANE_EPINNED, "%s: handle 0x%016" PRIx64 " is pinned", what, h);
	if (s->flags & MEMLANE_NOSPILL)
		return ml_err(MEMLANE_EINVAL, "%s: handle 0x%016" PRIx64 " was allocated with MEMLANE_NOSPILL", what, h);
	uint32_t i = ml_stub_index(a, s);
	return evict_batch(a, &i, 1, what);
}

/* Spill every object that may go, both lanes: the SlowLane's, then the
 * FastLane's cold ones, then the rest oldest first. */
int ml_pager_flush(memlane_arena *a)
{
	/* Each batch goes on from the slot where the last one stopped: the
	 * slots before it hold nothing evictable any more. */
	for (uint32_t from = 0;;) {
		struct victims v;
		v.n = v.bytes = 0;
		for (; from < a->nslots && !full(&v, SIZE_MAX); from++)
			if (slow_evictable(&a->stubs[from]))
				take(a, &v, from);
		if (v.n == 0)
			break;
		int rc = evict_batch(a, v.idx, v.n, "memlane_flush");
		if (rc)
			return rc;
	}
	int rc = ml_young_keep(a); /* the FastLane's objects, oldest first */
	if (rc)
		return rc;
	struct ml_fifo *qs[] = {&a->cold, &a->young};
	for (size_t qi = 0; qi < 2; qi++) {
		/* Evicted entries go dead, so each batch starts further on. */
		size_t from = qs[qi]->head;
		for (;;) {
			struct victims v;
			v.n = v.bytes = 0;
			for (; from < qs[qi]->tail && !full(&v, SIZE_MAX); from++) {
				struct ml_fifo_ent e = qs[qi]->e[from];
				if (ml_fifo_live(a, e) && evictable(&a->stubs[e.idx]))
					take(a, &v, e.idx);
			}
			if (v.n == 0)
				break;
			rc = evict_batch(a, v.idx, v.n, "memlane_flush");
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- fault-in ------------------------------------------------------------ */

/* A size no lane can hold may be a damaged handle table entry: true,
 * with the error set, when @s's record holds another size. */
static bool record_size_differs(memlane_arena *a, const struct ml_stub *s, memlane_handle h, const char *what)
{
	MDB_txn *t;
	if (mdb_txn_begin(a->store->env, NULL, MDB_RDONLY, &t) != 0)
		return false;
	uint8_t k[16];
	ml_rec_key(k, h, ml_ext(a, s)->seq);
	MDB_val key = val_of(k, 16), val;
	struct ml_rec_info info;
	/* A read that fails tells nothing (not damage); a missing record
	 * does. */
	int rc = mdb_get(t, a->store->objects, &key, &val);
	bool differs = rc == MDB_NOTFOUND ||
	               (rc == 0 && (ml_rec_header_parse(val.mv_data, val.mv_size, &info) != 0 || info.size != s->size));
	mdb_txn_abort(t);
	if (differs)
		ml_err(MEMLANE_ECORRUPT,
		       "%s: handle 0x%016" PRIx64 ": the handle table in '%s' says %" PRIu64 " bytes, which its record "
		       "(seq %" PRIu64 ") does not hold: the table or the record is damaged",
		       what, h, a->store->dir, (uint64_t)s->size, ml_ext(a, s)->seq);
	return differs;
}

/* Bring spilled @s back into the SlowLane (the one-way lane: never the
 * FastLane). Placing it may evict others, never @s itself (it is on no
 * lane list) nor a pinned one. */
int ml_fault_in(memlane_arena *a, struct ml_stub *s, const char *what)
{
	if (s->state != MEMLANE_STATE_SPILLED)
		return 0;
	uint32_t idx = ml_stub_index(a, s);
	memlane_handle h = ml_handle_make(a, idx);
	struct ml_place p;
	int rc = ml_place_object(a, s->size, ml_stub_align(s), MEMLANE_SLOW, &p);
	if (rc == MEMLANE_ETOOBIG && record_size_differs(a, s, h, what))
		return MEMLANE_ECORRUPT;
	if (rc)
		return rc;
	MDB_txn *t = NULL;
	if ((rc = ml_store_read_begin(a->store, &t, what)) != 0)
		goto undo;
	uint64_t seq = ml_ext(a, s)->seq;
	uint8_t k[16];
	ml_rec_key(k, h, seq);
	MDB_val key = val_of(k, 16), val;
	int e = mdb_get(t, a->store->objects, &key, &val);
	if (e == MDB_NOTFOUND) {
		rc = ml_err(MEMLANE_ECORRUPT, "%s: handle 0x%016" PRIx64 ": its record (seq %" PRIu64 ") is missing from '%s'",
		            what, h, seq, a->store->dir);
		goto undo;
	}
	if (e) {
		rc = ml_store_err(e, what, a->store->dir);
		goto undo;
	}
	char why[160];
	e = ml_rec_decode_tls(val.mv_data, val.mv_size, a->slow.base + p.off, s->size, why, sizeof(why));
	if (e == -2) {
		rc = ml_err(MEMLANE_ENOMEM, "%s: handle 0x%016" PRIx64 ": out of memory decoding its record (seq %" PRIu64
		                            ") in '%s': %s", what, h, seq, a->store->dir, why);
		goto undo;
	}
	if (e) {
		rc = ml_err(MEMLANE_ECORRUPT, "%s: handle 0x%016" PRIx64 ": record (seq %" PRIu64 ") in '%s' is damaged: %s",
		            what, h, seq, a->store->dir, why);
		goto undo;
	}
	mdb_txn_abort(t);
	ml_stub_set_place(a, s, &p); /* SLOW, and on the SlowLane's list */
	ML_PUBLISH(s->dirty, 0);
	ML_PUBLISH(s->referenced, 1);
	a->spilled--;
	a->spilled_bytes -= s->size;
	a->ctr.faults++;
	return 0;
undo:
	if (t)
		mdb_txn_abort(t);
	ml_slow_free(a, &p);
	return rc;
}

/* @s is being freed: its records go, now or (when the last checkpoint
 * names one) with the next checkpoint. */
void ml_pager_forget(memlane_arena *a, struct ml_stub *s)
{
	if (s->state == MEMLANE_STATE_SPILLED) {
		a->spilled--;
		a->spilled_bytes -= s->size;
	}
	if (!a->store)
		return;
	memlane_handle h = ml_handle_make(a, ml_stub_index(a, s));
	/* memlane_free reserved room for both. */
	const struct ml_stub_ext *x = ml_ext(a, s);
	if (x->seq && x->seq != x->ckpt_seq)
		ml_store_dead_add(a->store, h, x->seq, false);
	if (x->ckpt_seq)
		ml_store_dead_add(a->store, h, x->ckpt_seq, true);
}

/* ---- checkpoint ------------------------------------------------------------ */

struct ckpt_ctx {
	memlane_arena *a;
	uint64_t *final_seq; /* per slot: the record the new table names */
	uint64_t written;
	uint64_t now;
};

static int put_meta(MDB_txn *t, struct ml_store *st, const char *name, const void *p, size_t n)
{
	MDB_val key = str_key(name), val = val_of(p, n);
	return mdb_put(t, st->meta, &key, &val, 0);
}

static int put_options(MDB_txn *t, memlane_arena *a)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ENOMEM;
	ml_config_print_to(&a->cfg, f, 0, "");
	fclose(f);
	int rc = put_meta(t, a->store, ML_META_OPTIONS, text, len);
	free(text);
	return rc;
}

/* The meta records every store has: format, persist flag, options. */
static int put_base_meta(MDB_txn *t, memlane_arena *a)
{
	uint8_t b[8];
	ml_put64(b, ML_STORE_FORMAT);
	int rc = put_meta(t, a->store, ML_META_FORMAT, b, 8);
	if (rc)
		return rc;
	uint8_t persist = (uint8_t)(a->cfg.persist ? 1 : 0);
	if ((rc = put_meta(t, a->store, ML_META_PERSIST, &persist, 1)) != 0)
		return rc;
	ml_put64(b, a->id);
	if ((rc = put_meta(t, a->store, ML_META_ARENA_ID, b, 8)) != 0)
		return rc;
	return put_options(t, a);
}

static int put_table_entry(MDB_txn *t, memlane_arena *a, const struct ml_stub *s, uint64_t seq)
{
	uint8_t hk[8], v[ML_TABLE_ENTRY];
	struct ml_table_entry e = {seq, s->size, ml_stub_tag(a, s), (uint8_t)ml_stub_public_flags(s), s->align_log2};
	ml_handle_key(hk, ml_handle_make(a, ml_stub_index(a, s)));
	ml_table_entry_encode(v, &e);
	MDB_val key = val_of(hk, 8), val = val_of(v, sizeof(v));
	return mdb_put(t, a->store->handles, &key, &val, 0);
}

static int put_roots(MDB_txn *t, memlane_arena *a)
{
	int rc = mdb_drop(t, a->store->roots, 0);
	for (size_t i = 0; rc == 0 && i < a->nroots; i++) {
		if (!ml_lookup(a, a->roots[i].h))
			continue; /* its object was freed: the root goes too */
		uint8_t hv[8];
		ml_handle_key(hv, a->roots[i].h);
		MDB_val key = str_key(a->roots[i].name), val = val_of(hv, 8);
		rc = mdb_put(t, a->store->roots, &key, &val, 0);
	}
	return rc;
}

static int put_slots(MDB_txn *t, memlane_arena *a)
{
	MDB_val key = str_key(ML_META_SLOTS), val = {(size_t)a->nslots * 4, NULL};
	int rc = mdb_put(t, a->store->meta, &key, &val, MDB_RESERVE);
	if (rc)
		return rc;
	uint8_t *p = val.mv_data;
	for (uint32_t i = 0; i < a->nslots; i++) {
		uint32_t gen = ml_stub_gen(&a->stubs[i]);
		memcpy(p + (size_t)i * 4, &gen, 4);
	}
	return 0;
}

static int ckpt_txn(MDB_txn *t, void *p)
{
	struct ckpt_ctx *c = p;
	memlane_arena *a = c->a;
	struct ml_store *st = a->store;
	uint64_t seq = st->next_seq;
	c->written = 0;
	int rc = apply_dead(t, st, true);
	for (uint32_t i = 0; rc == 0 && i < a->nslots; i++) {
		struct ml_stub *s = &a->stubs[i];
		if (s->state == MEMLANE_STATE_INVALID)
			continue;
		struct ml_stub_ext *x = ml_ext(a, s);
		uint64_t f = x->seq;
		if (s->state != MEMLANE_STATE_SPILLED && (s->dirty || !x->seq)) {
			if ((rc = put_record(t, a, s, seq)) != 0)
				break;
			f = seq++;
			c->written++;
		}
		c->final_seq[i] = f;
		if (f == x->ckpt_seq)
			continue;
		if ((rc = put_table_entry(t, a, s, f)) != 0)
			break;
		if (x->ckpt_seq) {
			uint8_t k[16];
			ml_rec_key(k, ml_handle_make(a, i), x->ckpt_seq);
			MDB_val key = val_of(k, 16);
			rc = mdb_del(t, st->objects, &key, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
	}
	if (rc == 0)
		rc = put_roots(t, a);
	if (rc == 0)
		rc = put_slots(t, a);
	if (rc == 0)
		rc = put_base_meta(t, a);
	if (rc == 0) {
		uint8_t b[24];
		ml_put64(b, st->checkpoints + 1);
		ml_put64(b + 8, c->now);
		ml_put64(b + 16, a->objects);
		rc = put_meta(t, st, ML_META_CHECKPOINT, b, sizeof(b));
	}
	return rc;
}

int ml_pager_checkpoint(memlane_arena *a)
{
	struct ml_store *st = a->store;
	struct ckpt_ctx c = {a, NULL, 0, (uint64_t)time(NULL)};
	c.final_seq = calloc(a->nslots ? a->nslots : 1, sizeof(*c.final_seq));
	if (!c.final_seq)
		return ml_err(MEMLANE_ENOMEM, "memlane_checkpoint: out of memory");
	mdb_reader_check(st->env, NULL);
	int rc = ml_store_write(st, "memlane_checkpoint", ckpt_txn, &c);
	if (rc == 0) {
		/* Committed: the bookkeeping follows the store whatever the
		 * sync below says, or later writes could reuse the sequence
		 * numbers this checkpoint names. */
		for (uint32_t i = 0; i < a->nslots; i++) {
			struct ml_stub *s = &a->stubs[i];
			if (s->state == MEMLANE_STATE_INVALID)
				continue;
			ml_ext(a, s)->seq = ml_ext(a, s)->ckpt_seq = c.final_seq[i];
			/* A pinned object may be written through its pointer
			 * after this: it stays dirty. */
			ML_PUBLISH(s->dirty, (uint8_t)(s->pins != 0));
		}
		st->next_seq += c.written;
		st->checkpoints++;
		st->checkpoint_time = c.now;
		drop_dead(st, true);
		a->ctr.checkpoints++;
		if (st->sync_at_checkpoint) {
			int e = mdb_env_sync(st->env, 1);
			if (e)
				rc = ml_store_err(e, "memlane_checkpoint (flushing to disk)", st->dir);
		}
	}
	free(c.final_seq);
	return rc;
}

/* ---- open, restore, close ------------------------------------------------ */

static int get_meta(MDB_txn *t, struct ml_store *st, const char *name, MDB_val *val)
{
	MDB_val key = str_key(name);
	return mdb_get(t, st->meta, &key, val);
}

/* Entries in @dbi; a database LMDB cannot count counts as not empty. */
/* Add the entries of database @dbi to *@n; an LMDB error code when they
 * cannot be counted (a failure, not damage). */
static int db_entries(MDB_txn *t, MDB_dbi dbi, uint64_t *n)
{
	MDB_stat s;
	int rc = mdb_stat(t, dbi, &s);
	if (rc == 0)
		*n += s.ms_entries;
	return rc;
}

/* What the directory holds: 0 nothing yet, 1 a scratch store, 2 a
 * persistent one. */
static int store_kind(memlane_arena *a, int *kind)
{
	struct ml_store *st = a->store;
	MDB_txn *t;
	int rc = ml_store_read_begin(st, &t, "memlane_open");
	if (rc)
		return rc;
	MDB_val v;
	*kind = 0;
	rc = get_meta(t, st, ML_META_FORMAT, &v);
	if (rc == 0) {
		uint64_t fmt = v.mv_size == 8 ? ml_get64(v.mv_data) : 0;
		if (fmt != ML_STORE_FORMAT) {
			mdb_txn_abort(t);
			return ml_err(MEMLANE_ECORRUPT,
			              "memlane_open: '%s/data.mdb' holds store format %" PRIu64 "; this library reads %d",
			              st->dir, fmt, ML_STORE_FORMAT);
		}
		*kind = 1;
		/* A failed read is not "scratch": that store would be wiped. */
		rc = get_meta(t, st, ML_META_PERSIST, &v);
		if (rc == 0 && v.mv_size == 1 && *(uint8_t *)v.mv_data)
			*kind = 2;
		else if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc) {
			mdb_txn_abort(t);
			return ml_store_err(rc, "memlane_open", st->dir);
		}
		/* Only checkpoints write these: a scratch store here means a
		 * damaged persist record, and a scratch store is deleted. */
		uint64_t tables = 0;
		if (*kind == 1 && (rc = db_entries(t, st->handles, &tables)) != 0) {
			mdb_txn_abort(t);
			return ml_store_err(rc, "memlane_open", st->dir);
		}
		if (*kind == 1 && (get_meta(t, st, ML_META_CHECKPOINT, &v) == 0 || get_meta(t, st, ML_META_SLOTS, &v) == 0 ||
		                   tables != 0)) {
			mdb_txn_abort(t);
			return ml_err(MEMLANE_ECORRUPT,
			              "memlane_open: '%s/data.mdb' is damaged: it holds a checkpoint, but its persist record "
			              "is missing or not 1",
			              st->dir);
		}
	} else if (rc == MDB_NOTFOUND) {
		/* New, or left by a crash before its first transaction: empty
		 * databases. Anything else was not written by this library. */
		uint64_t n = 0;
		if ((rc = db_entries(t, st->meta, &n)) != 0 || (rc = db_entries(t, st->objects, &n)) != 0 ||
		    (rc = db_entries(t, st->handles, &n)) != 0 || (rc = db_entries(t, st->roots, &n)) != 0) {
			mdb_txn_abort(t);
			return ml_store_err(rc, "memlane_open", st->dir);
		}
		if (n) {
			mdb_txn_abort(t);
			return ml_err(MEMLANE_ESTORE,
			              "memlane_open: '%s/data.mdb' has no format record but holds %" PRIu64
			              " entries: it is not a libmemlane store, or it is damaged; memlane_open leaves it alone",
			              st->dir, n);
		}
	} else {
		mdb_txn_abort(t);
		return ml_store_err(rc, "memlane_open", st->dir);
	}
	mdb_txn_abort(t);
	return 0;
}

struct empty_ctx {
	memlane_arena *a;
};

static int empty_txn(MDB_txn *t, void *p)
{
	memlane_arena *a = ((struct empty_ctx *)p)->a;
	struct ml_store *st = a->store;
	int rc;
	if ((rc = mdb_drop(t, st->objects, 0)) || (rc = mdb_drop(t, st->handles, 0)) || (rc = mdb_drop(t, st->roots, 0)) ||
	    (rc = mdb_drop(t, st->meta, 0)))
		return rc;
	return put_base_meta(t, a);
}

/* Start over: an empty store with this arena's meta records. */
static int store_reset(memlane_arena *a)
{
	struct empty_ctx c = {a};
	return ml_store_write(a->store, "memlane_open", empty_txn, &c);
}

/* Load the last checkpoint: slots and generations, the handle table (as
 * spilled objects), the roots. */
static int restore_table(memlane_arena *a, MDB_txn *t)
{
	struct ml_store *st = a->store;
	MDB_val v;
	int rc = get_meta(t, st, ML_META_ARENA_ID, &v);
	if (rc && rc != MDB_NOTFOUND)
		return rc; /* not read: every handle would look foreign, the table damaged */
	if (rc == 0 && v.mv_size == 8) {
		/* The handles saved carry the saved id: take it over. Before
		 * any slot exists (the arena is being opened), so every
		 * stub's handle_hi below is made with it. */
		uint32_t id = (uint32_t)ml_get64(v.mv_data) & ((1u << ML_ARENA_BITS) - 1);
		if (id != a->id) {
			if (!ml_arena_id_claim(id))
				return ml_err(MEMLANE_EBUSY,
				              "memlane_open: '%s' was saved by arena id %u, and an arena open in this "
				              "process has that id; close it first (their handles would be alike)",
				              st->dir, id);
			ml_arena_id_release(a->id);
			a->id = id;
		}
	}
	rc = get_meta(t, st, ML_META_SLOTS, &v);
	if (rc == MDB_NOTFOUND) {
		/* Created, never checkpointed: then a checkpoint wrote no
		 * checkpoint record, no handle table and no roots either.
		 * With them, the slots record is what is missing (taking the
		 * store for empty would drop every record, and the next
		 * checkpoint would leave entries without slots: a store that
		 * never opens again). */
		uint64_t tables = 0;
		if ((rc = db_entries(t, st->handles, &tables)) != 0 || (rc = db_entries(t, st->roots, &tables)) != 0)
			return rc;
		return get_meta(t, st, ML_META_CHECKPOINT, &v) == 0 || tables ? MDB_CORRUPTED : 0;
	}
	/* More slots than a handle can name, or a generation no handle
	 * can carry: damage (and never a truncated count). */
	if (rc || v.mv_size % 4 || v.mv_size / 4 >= ML_NIL)
		return rc ? rc : MDB_CORRUPTED;
	uint32_t n = (uint32_t)(v.mv_size / 4);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx, gen;
		memcpy(&gen, (uint8_t *)v.mv_data + (size_t)i * 4, 4);
		if (gen == 0 || gen > ML_GEN_MAX)
			return MDB_CORRUPTED;
		if ((rc = ml_slot_alloc(a, &idx)) != 0)
			return rc;
		a->stubs[idx].handle_hi = ML_HANDLE_HI(a->id, gen);
		a->stubs[idx].state = MEMLANE_STATE_INVALID;
	}
	rc = get_meta(t, st, ML_META_CHECKPOINT, &v);
	if (rc && rc != MDB_NOTFOUND)
		return rc; /* not read, the count would start over */
	if (rc == 0 && v.mv_size >= 16) {
		st->checkpoints = ml_get64(v.mv_data);
		st->checkpoint_time = ml_get64((uint8_t *)v.mv_data + 8);
	}
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(t, st->handles, &cur)) != 0)
		return rc;
	MDB_val key;
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		struct ml_table_entry te;
		if (key.mv_size != 8 || ml_table_entry_parse(v.mv_data, v.mv_size, &te) != 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		memlane_handle h = ml_handle_key_parse(key.mv_data);
		uint32_t idx = (uint32_t)h;
		if (idx >= a->nslots || a->stubs[idx].handle_hi != (uint32_t)(h >> 32) ||
		    a->stubs[idx].state != MEMLANE_STATE_INVALID ||
		    te.size > ML_SIZE_LIMIT || te.align_log2 < 4 || te.align_log2 > 12) {
			rc = MDB_CORRUPTED;
			break;
		}
		struct ml_stub *s = &a->stubs[idx];
		ml_ext(a, s)->seq = ml_ext(a, s)->ckpt_seq = te.seq;
		s->szc = ML_SZC(te.size, 0, te.align_log2);
		ml_stub_set_flags_tag(a, s, te.flags, te.tag);
		s->state = MEMLANE_STATE_SPILLED;
		a->objects++;
		a->spilled++;
		a->spilled_bytes += s->size;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	/* Free slots back on the free list, lowest first out. */
	a->free_slot = ML_NIL;
	for (uint32_t i = a->nslots; i-- > 0;) {
		struct ml_stub *s = &a->stubs[i];
		if (s->state == MEMLANE_STATE_INVALID && ml_stub_gen(s) < ML_GEN_MAX) {
			s->off = a->free_slot;
			a->free_slot = i;
		} else if (s->state == MEMLANE_STATE_INVALID) {
			a->retired_slots++;
		}
	}
	return 0;
}

static int restore_roots(memlane_arena *a, MDB_txn *t)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(t, a->store->roots, &cur);
	if (rc)
		return rc;
	MDB_val key, v;
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		/* A NUL in the name: not one memlane_root_set took, and cut at
		 * the NUL it could not be written back at the next checkpoint. */
		if (v.mv_size != 8 || key.mv_size == 0 || key.mv_size > 255 || memchr(key.mv_data, 0, key.mv_size)) {
			rc = MDB_CORRUPTED;
			break;
		}
		char name[256];
		memcpy(name, key.mv_data, key.mv_size);
		name[key.mv_size] = 0;
		memlane_handle h = ml_handle_key_parse(v.mv_data);
		if (ml_lookup(a, h) && ml_root_add(a, name, h) != 0) {
			rc = ENOMEM;
			break;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Records no table entry names were written after the last checkpoint
 * (evictions, or a checkpoint that never committed): drop them. */
static int gc_txn(MDB_txn *t, void *p)
{
	memlane_arena *a = p;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(t, a->store->objects, &cur);
	if (rc)
		return rc;
	MDB_val key, v;
	uint64_t max_seq = 0;
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		memlane_handle h = 0;
		uint64_t seq = 0;
		if (key.mv_size == 16)
			ml_rec_key_parse(key.mv_data, &h, &seq);
		struct ml_stub *s = key.mv_size == 16 ? ml_lookup(a, h) : NULL;
		if (s && ml_ext(a, s)->ckpt_seq == seq) {
			if (seq > max_seq)
				max_seq = seq;
			continue;
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	a->store->next_seq = max_seq + 1;
	return 0;
}

static int restore(memlane_arena *a)
{
	MDB_txn *t;
	int rc = ml_store_read_begin(a->store, &t, "memlane_open");
	if (rc)
		return rc;
	rc = restore_table(a, t);
	if (rc == 0)
		rc = restore_roots(a, t);
	mdb_txn_abort(t);
	if (rc > 0 || rc < MEMLANE_ELAST)
		return rc == MDB_CORRUPTED
		               ? ml_err(MEMLANE_ECORRUPT,
		                        "memlane_open: the handle table, slots or roots in '%s/data.mdb' are damaged",
		                        a->store->dir)
		               : ml_store_err(rc, "memlane_open", a->store->dir);
	if (rc)
		return rc;
	return ml_store_write(a->store, "memlane_open", gc_txn, a);
}

/* Open (or create) the store in @dir for @a: a persistent store comes
 * back as its last checkpoint; a scratch one starts empty. */
int ml_pager_open(memlane_arena *a, const char *dir)
{
	struct ml_store *st = calloc(1, sizeof(*st));
	if (!st)
		return ml_err(MEMLANE_ENOMEM, "memlane_open: out of memory");
	int rc = ml_store_open(st, dir, &a->cfg);
	if (rc) {
		free(st);
		return rc;
	}
	a->store = st;
	st->next_seq = 1;
	int kind;
	if ((rc = store_kind(a, &kind)) != 0)
		goto fail;
	if (kind == 2 && !a->cfg.persist) {
		rc = ml_err(MEMLANE_EEXIST,
		            "memlane_open: '%s' holds a persistent arena (persist=1); opening it with persist=0 would "
		            "discard it. Open it with persist=1, or remove the directory",
		            dir);
		goto fail;
	}
	if (kind == 2) {
		rc = restore(a);
	} else {
		/* Nothing to keep: start from empty files, not an emptied
		 * big one (LMDB files never shrink). */
		if (kind == 1 && (rc = ml_store_recreate(st)) != 0)
			goto fail;
		rc = store_reset(a);
	}
	if (rc)
		goto fail;
	return 0;
fail:
	ml_store_close(st);
	free(st);
	a->store = NULL;
	return rc;
}

/* Close the store: a persistent one checkpoints first; a scratch one's
 * files are deleted. Returns the checkpoint's error; the store is
 * closed regardless. */
int ml_pager_close(memlane_arena *a)
{
	struct ml_store *st = a->store;
	if (!st)
		return 0;
	int rc = 0;
	if (a->cfg.persist) {
		rc = ml_pager_checkpoint(a);
		ml_store_close(st);
	} else {
		ml_store_remove(st); /* scratch: the records go with the files */
	}
	free(st);
	a->store = NULL;
	return rc;
}
