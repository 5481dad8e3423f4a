/* object.c - the public object calls: allocate, free, resize, reach and
 * copy. Routes each object to a lane, runs the "make room" chain when a
 * lane is full, and keeps stubs, lane lists and byte counts in step.
 *
 * Every call takes the arena lock; bulk reads (memlane_read of more
 * than ML_COPY_UNLOCKED bytes) pin the object and copy outside the
 * lock, so one thread's large read does not stall the others. Writes
 * stay under the lock (see copy_object). */
#include <inttypes.h>
#include <string.h>

#include "internal.h"

/* Copies up to this size are done under the lock: cheaper than the
 * second lock round trip that pinning would cost. */
#define ML_COPY_UNLOCKED 512


/* Place @s at @p. A reader without the lock (ml_get_unlocked) must never
 * pair the old state with the new offset: the state goes to MOVING
 * first, then the offset, then the final state. */
void ml_stub_set_place(memlane_arena *a, struct ml_stub *s, const struct ml_place *p)
{
	ML_PUBLISH(s->state, ML_STATE_MOVING);
	ML_PUBLISH(s->kind, p->kind);
	s->szc = ML_SZC(s->size, p->cls, s->align_log2);
	if (p->kind == ML_KIND_BLOB)
		ml_ext(a, s)->cap = p->cap;
	ML_PUBLISH(s->off, p->off);
	ML_PUBLISH(s->state, p->state);
	if (p->state == MEMLANE_STATE_FAST) {
		/* Its birth-order entry was made at allocation, and still
		 * stands for it (a FastLane object never comes back). */
		a->fast.used_bytes += s->size;
		a->fast_objects++;
	} else {
		a->slow_objects++;
		a->slow_cold += (s->flags & MEMLANE_COLD) != 0;
		a->slow.used_bytes += s->size;
		a->pager_barren = false; /* it may be evictable */
	}
}

void ml_release_place(memlane_arena *a, struct ml_stub *s)
{
	if (s->state == MEMLANE_STATE_FAST) {
		a->fast_objects--;
		a->fast.used_bytes -= s->size;
		ml_fast_free(a, s->off, s->cls);
	} else {
		a->slow_objects--;
		a->slow_cold -= (s->flags & MEMLANE_COLD) != 0;
		a->slow.used_bytes -= s->size;
		struct ml_place p = ml_stub_place(a, s);
		ml_slow_free(a, &p);
	}
}

static int no_room(memlane_arena *a, size_t size, size_t align)
{
	return ml_err(MEMLANE_ENOMEM,
	              "no room for %zu bytes (align %zu): SlowLane %zu of %zu bytes taken, %zu kept as safety margin; "
	              "FastLane %zu of %zu bytes taken",
	              size, align, a->slow.block_reserved + a->slow.blob_reserved, a->slow.size, a->slow.margin,
	              a->fast.reserved_bytes, a->fast.size);
}

/* Compact only when it can win back enough: a full lane of live
 * objects would otherwise be slid around on every failed call. */
static int slow_alloc_compacting(memlane_arena *a, size_t size, size_t align, bool use_margin,
                                 struct ml_place *p)
{
	int rc = ml_slow_alloc(a, size, align, use_margin, p);
	if (rc == MEMLANE_ENOMEM && a->cfg.auto_compaction && ml_slow_compaction_helps(a, size, align, use_margin)) {
		ml_compact_slow(a);
		rc = ml_slow_alloc(a, size, align, use_margin, p);
	}
	return rc;
}

/* A SlowLane place for new objects, fault-ins and promotions: compact,
 * then evict to the store, until it fits or nothing more can go. A store
 * failure (full disk, or out of memory there) is returned as is, with
 * its message. Eviction takes SlowLane objects only, so the object being
 * placed is never one of them. */
int ml_slow_place(memlane_arena *a, size_t size, size_t align, bool use_margin, struct ml_place *p)
{
	int rc = slow_alloc_compacting(a, size, align, use_margin, p);
	while (rc == MEMLANE_ENOMEM && a->store) {
		int e = ml_pager_make_room(a, size + align + (use_margin ? 0 : a->slow.margin));
		if (e > 0)
			break; /* nothing more can go */
		if (e)
			return e;
		rc = slow_alloc_compacting(a, size, align, use_margin, p);
	}
	return rc == MEMLANE_ENOMEM ? no_room(a, size, align) : rc;
}

static int place_slow(memlane_arena *a, size_t size, size_t align, struct ml_place *p)
{
	int rc = ml_slow_place(a, size, align, false, p);
	/* Past the usage threshold: the background thread, when there is
	 * one, evicts ahead of the next request (tick and maintain do
	 * otherwise). */
	if (rc == 0 && a->thread_running && !a->policy_wanted && ml_pager_over_threshold(a)) {
		a->policy_wanted = true;
		ml_wake_signal(a);
	}
	return rc;
}

/* Whether a new object of @size bytes at @align with @flags is to
 * start in the FastLane (it may still fall back to the SlowLane). */
static bool starts_fast(const memlane_arena *a, size_t size, size_t align, unsigned flags)
{
	return !(flags & MEMLANE_SLOW) && (size < a->cfg.threshold || (flags & MEMLANE_FAST)) &&
	       ml_fast_can_hold(size, align);
}

/* Find a place for a new object, making room if it must: a full
 * FastLane compacts, then promotes its oldest objects, then the object
 * falls back to the SlowLane; a full SlowLane compacts. */
int ml_place_object(memlane_arena *a, size_t size, size_t align, unsigned flags, struct ml_place *p)
{
	bool fast = starts_fast(a, size, align, flags);
	if (fast) {
		if (ml_fast_alloc(a, size, align, p) == 0)
			return 0;
		size_t need = ml_class_size(ml_class_of(size)) + align;
		if (a->cfg.auto_compaction && a->fast.free_bytes >= need) {
			ml_compact_fast(a);
			if (ml_fast_alloc(a, size, align, p) == 0)
				return 0;
		}
		size_t want = a->fast.size / 4 > need ? a->fast.size / 4 : need;
		/* A promotion that fails here (no room, a full store) is not
		 * this call's failure: the fallback below reports its own. */
		char saved[ML_ERRMSG_MAX];
		ml_err_save(saved);
		size_t promoted = ml_promote_oldest(a, want);
		ml_err_restore(saved);
		if (promoted > 0) {
			if (ml_fast_alloc(a, size, align, p) == 0)
				return 0;
			if (a->cfg.auto_compaction) {
				ml_compact_fast(a);
				if (ml_fast_alloc(a, size, align, p) == 0)
					return 0;
			}
		}
		int rc = place_slow(a, size, align, p);
		if (rc == 0)
			a->ctr.fallbacks++;
		return rc; /* ENOMEM: ml_slow_place said why */
	}
	if (!ml_slow_fits_empty(a, size, align))
		return ml_err(MEMLANE_ETOOBIG,
		              "%zu bytes (align %zu) can never fit: the SlowLane holds at most about %zu (slow_lane_size %zu "
		              "less the safety margin %zu)",
		              size, align, ml_slow_max_object(a), a->slow.size, a->slow.margin);
	return place_slow(a, size, align, p);
}

static int check_opts(const memlane_alloc_opts *o, size_t *align)
{
	if (o->flags & ~ML_FLAG_PUBLIC_MASK)
		return ml_err(MEMLANE_EINVAL, "memlane_alloc_ex: unknown flag bits 0x%x", o->flags & ~ML_FLAG_PUBLIC_MASK);
	if ((o->flags & MEMLANE_FAST) && (o->flags & MEMLANE_SLOW))
		return ml_err(MEMLANE_EINVAL, "memlane_alloc_ex: MEMLANE_FAST and MEMLANE_SLOW together");
	size_t al = o->align ? o->align : ML_MIN_ALIGN;
	if ((al & (al - 1)) != 0 || al > MEMLANE_MAX_ALIGN)
		return ml_err(MEMLANE_EINVAL, "memlane_alloc_ex: align %zu is not a power of two up to %d", o->align,
		              MEMLANE_MAX_ALIGN);
	*align = al < ML_MIN_ALIGN ? ML_MIN_ALIGN : al;
	return 0;
}

static unsigned log2_of(size_t v)
{
	return 63u - (unsigned)__builtin_clzll((unsigned long long)v);
}

/* Whether a slot can be had without growing the handle table: the
 * straight-through paths take it (plain_stub_fill) only once the object
 * is placed, and must not fail then. */
static inline bool slot_at_hand(const memlane_arena *a)
{
	return a->free_slot != ML_NIL || a->nslots < a->slots_cap;
}

/* Take the slot slot_at_hand promised: the first free one (LIFO, for
 * cache warmth), else a new one. @leaf: the caller checked there is a
 * free one, and a call is not wanted. */
static inline __attribute__((always_inline)) uint32_t slot_take(memlane_arena *a, bool leaf)
{
	uint32_t idx = a->free_slot;
	if (leaf || idx != ML_NIL) {
		a->free_slot = (uint32_t)a->stubs[idx].off;
		return idx;
	}
	return ml_slot_new(a);
}

/* Take a slot (see slot_take) and make it the stub of a plain object (no
 * flags, 16-byte alignment) of @size bytes placed at @p, and say its
 * handle. Whole-word stores: the slot was free, so no reader can hold a
 * handle of its new generation yet, and the offset goes out before the
 * word that makes the object live. */
static inline __attribute__((always_inline)) void plain_stub_fill(memlane_arena *a, size_t size, uint32_t tag,
                                                                const struct ml_place *p, memlane_handle *out,
                                                                bool leaf)
{
	uint32_t idx = slot_take(a, leaf);
	struct ml_stub *s = &a->stubs[idx];
	s->szc = ML_SZC(size, p->cls, 4);
	s->birth = (uint32_t)a->tick;
	s->pins = 0;
	s->picked = 0;
	ml_stub_set_flags_tag(a, s, 0, tag);
	if (a->store) {
		struct ml_stub_ext *x = ml_ext(a, s);
		x->seq = x->ckpt_seq = 0;
	}
	ML_PUBLISH(s->off, p->off);
	if (p->state == MEMLANE_STATE_FAST) {
		if (a->young_kept)
			ml_fifo_push(&a->young, idx, s->handle_hi);
		ML_PUBLISH(s->word, ML_WORD(s->handle_hi, MEMLANE_STATE_FAST, 1));
		a->fast.used_bytes += size;
		a->fast_objects++;
	} else {
		ML_PUBLISH(s->word, ML_WORD(s->handle_hi, MEMLANE_STATE_SLOW, 1) | (uint64_t)ML_KIND_BLOCK << 56);
		a->slow.used_bytes += size;
		a->slow_objects++;
		a->pager_barren = false; /* it may be evictable */
	}
	a->objects++;
	a->ctr.allocs++;
	*out = ml_handle_make(a, idx);
}

/* The common allocation, straight through: a FastLane block for a
 * plain object, in a free slot or a new one. Everything else (a table
 * to grow, flags, a full lane) takes the general path below. With @leaf
 * (a constant) it only takes a free slot and a block off its class's
 * free list, and calls nothing, so memlane_alloc's fast path saves no
 * register. Returns false, changing nothing, when the general path
 * must do it. */
static inline __attribute__((always_inline)) bool alloc_fast(memlane_arena *a, size_t size, uint32_t tag,
                                                           memlane_handle *out, bool leaf)
{
	if (size >= a->cfg.threshold || (leaf ? a->free_slot == ML_NIL : !slot_at_hand(a)) ||
	    (a->young_kept && a->young.tail == a->young.cap))
		return false;
	struct ml_place p;
	if (leaf ? !ml_fast_take_listed(&a->fast, ml_class_of(size), ML_MIN_ALIGN, &p)
	         : ml_fast_alloc(a, size, ML_MIN_ALIGN, &p) != 0)
		return false;
	plain_stub_fill(a, size, tag, &p, out, leaf);
	return true;
}

/* The common SlowLane allocation, straight through: a plain object of a
 * block class, in a free slot or a new one, from a slab of its class
 * with room. Not with the background thread running: the general path
 * wakes it when the lane passes its usage threshold. Returns false,
 * changing nothing, when the general path must do it. */
static bool alloc_block(memlane_arena *a, size_t size, uint32_t tag, memlane_handle *out)
{
	struct ml_place p;
	if (size > ML_BLOCK_MAX_SIZE || !slot_at_hand(a) || a->thread_running ||
	    !ml_slow_block_take(a, ml_class_of(size), &p))
		return false;
	plain_stub_fill(a, size, tag, &p, out, false);
	return true;
}

/* An allocation the straight-through paths could not do (a handle
 * table to grow, flags, an alignment, a full lane, a blob), under the
 * lock. Out of line: alloc_locked stays small. */
static __attribute__((noinline)) int alloc_general(memlane_arena *a, size_t size, size_t align,
                                                   const memlane_alloc_opts *o, memlane_handle *out)
{
	uint32_t idx;
	struct ml_place p;
	/* Room for its birth-order entry first, when it may go to the
	 * FastLane (as ml_place_object decides): nothing is changed yet if
	 * there is none, and a SlowLane object never needs one. */
	struct ml_fifo *q = (o->flags & MEMLANE_COLD) ? &a->cold : a->young_kept ? &a->young : NULL;
	int rc;
	if (q && starts_fast(a, size, align, o->flags) && (rc = ml_fifo_reserve(a, q)) != 0)
		return rc;
	if ((rc = ml_slot_alloc(a, &idx)) != 0)
		return rc;
	if ((rc = ml_place_object(a, size, align, o->flags, &p)) != 0) {
		ml_slot_free(a, idx); /* bumps the generation: nothing was handed out */
		return rc;
	}
	struct ml_stub *s = &a->stubs[idx];
	s->szc = ML_SZC(size, 0, log2_of(align));
	ml_stub_set_flags_tag(a, s, o->flags, o->tag);
	s->birth = (uint32_t)a->tick;
	ML_PUBLISH(s->referenced, 1);
	ML_PUBLISH(s->dirty, 1);
	ml_stub_set_place(a, s, &p);
	/* Making room in a full FastLane may have started the young queue
	 * (ml_young_keep) after q was chosen, from a table that did not
	 * have this object yet; it was built with room to spare. */
	if (!q && a->young_kept && !(o->flags & MEMLANE_COLD))
		q = &a->young;
	if (q && p.state == MEMLANE_STATE_FAST)
		ml_fifo_push(q, idx, s->handle_hi);
	if (o->flags & MEMLANE_ZERO)
		memset(ml_stub_ptr(a, s), 0, size);
	a->objects++;
	a->ctr.allocs++;
	*out = ml_handle_make(a, idx);
	return 0;
}

static const memlane_alloc_opts default_opts = {0, 0, 0};

/* An allocation whose arguments are checked, under the lock: the
 * straight-through path when it can, else the general one. */
static inline __attribute__((always_inline)) int alloc_locked(memlane_arena *a, size_t size, size_t align,
                                                            const memlane_alloc_opts *o, memlane_handle *out)
{
	if (o->flags == 0 && align == ML_MIN_ALIGN &&
	    (size < a->cfg.threshold ? alloc_fast(a, size, o->tag, out, false) : alloc_block(a, size, o->tag, out)))
		return 0;
	return alloc_general(a, size, align, o, out);
}

/* memlane_alloc past its leaf fast path: under the lock when @locked
 * (by bias), else taking it. */
static __attribute__((noinline)) int alloc_rest(memlane_arena *a, size_t size, memlane_handle *out, bool locked)
{
	if (!locked)
		ml_lock(a);
	int rc = alloc_locked(a, size, ML_MIN_ALIGN, &default_opts, out);
	ml_unlock(a);
	return rc;
}

int memlane_alloc_ex(memlane_arena *a, size_t size, const memlane_alloc_opts *opts, memlane_handle *out)
{
	const memlane_alloc_opts *o = opts ? opts : &default_opts;
	size_t align = ML_MIN_ALIGN;
	if (!a || !out)
		return ml_err(MEMLANE_EINVAL, "memlane_alloc: %s is NULL", a ? "out" : "arena");
	int rc = check_opts(o, &align);
	if (rc)
		return rc;
	if (size > ML_SIZE_LIMIT)
		return ml_err(MEMLANE_ETOOBIG, "memlane_alloc: %zu bytes is beyond any lane", size);
	ml_lock(a);
	rc = alloc_locked(a, size, align, o, out);
	ml_unlock(a);
	return rc;
}

int memlane_alloc(memlane_arena *a, size_t size, memlane_handle *out)
{
	/* No options to check: only the arguments memlane_alloc_ex would
	 * refuse go there, for its messages. */
	if (!a || !out || size > ML_SIZE_LIMIT)
		return memlane_alloc_ex(a, size, NULL, out);
	/* Leaf code up to the return, every other case a tail call: no
	 * register saved and restored around the common allocation. */
	if (!ml_lock_biased(a))
		return alloc_rest(a, size, out, false);
	if (!alloc_fast(a, size, 0, out, true))
		return alloc_rest(a, size, out, true);
	ml_unlock_biased();
	return 0;
}

int memlane_alloc_array(memlane_arena *a, size_t n, size_t elem_size, size_t align, memlane_handle *out)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, elem_size, &bytes))
		return ml_err(MEMLANE_ETOOBIG, "memlane_alloc_array: %zu elements of %zu bytes overflow size_t", n,
		              elem_size);
	memlane_alloc_opts o = {MEMLANE_ZERO, align, 0};
	return memlane_alloc_ex(a, bytes, &o, out);
}

/* Look @h up under the lock; on failure explain why. */
static int lookup(memlane_arena *a, memlane_handle h, const char *what, struct ml_stub **out)
{
	struct ml_stub *s = ml_lookup(a, h);
	if (!s)
		return ml_handle_error(a, h, what);
	*out = s;
	return 0;
}

/* The common free, straight through: an unpinned FastLane object of
 * an arena without a store (which has records to forget). The slot's
 * generation and state change in one store. Returns false, changing
 * nothing, when the general path must do it; with @leaf (a constant)
 * also when the block is the lane's top or its last live one, so that
 * it calls nothing. */
static inline __attribute__((always_inline)) bool free_fast(memlane_arena *a, memlane_handle h, bool leaf)
{
	struct ml_stub *s = ml_lookup(a, h);
	if (!s || s->state != MEMLANE_STATE_FAST || s->pins || a->store)
		return false;
	if (!leaf)
		ml_fast_free(a, s->off, s->cls);
	else if (!ml_fast_free_listed(&a->fast, s->off, s->cls))
		return false;
	a->fast_objects--;
	a->fast.used_bytes -= s->size;
	ml_slot_free(a, (uint32_t)h);
	a->objects--;
	a->ctr.frees++;
	return true;
}

/* memlane_free past its leaf fast path: under the lock when @locked
 * (by bias), else taking it. */
static __attribute__((noinline)) int free_rest(memlane_arena *a, memlane_handle h, bool locked)
{
	struct ml_stub *s;
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_free: arena is NULL");
	if (!locked)
		ml_lock(a);
	if (free_fast(a, h, false)) {
		ml_unlock(a);
		return 0;
	}
	int rc = lookup(a, h, "memlane_free", &s);
	if (rc)
		goto out;
	if (s->pins) {
		rc = ml_err(MEMLANE_EPINNED, "memlane_free: handle 0x%016" PRIx64 " is pinned (%u pins)", h, s->pins);
		goto out;
	}
	/* Room for the store's two deletes first: a free that cannot
	 * record them must not happen (a checkpoint would keep the
	 * object's table entry under a newer generation). */
	if (a->store && (rc = ml_store_dead_reserve(a->store, 2)) != 0)
		goto out;
	if (s->state != MEMLANE_STATE_SPILLED) {
		struct ml_place was = ml_stub_place(a, s);
		ml_release_place(a, s);
		ml_slow_give_back(a, &was);
	}
	ml_pager_forget(a, s);
	ml_slot_free(a, ml_stub_index(a, s));
	a->objects--;
	a->ctr.frees++;
out:
	ml_unlock(a);
	return rc;
}

int memlane_free(memlane_arena *a, memlane_handle h)
{
	/* Leaf code up to the return, every other case a tail call, as in
	 * memlane_alloc. */
	if (!a || !ml_lock_biased(a))
		return free_rest(a, h, false);
	if (!free_fast(a, h, true))
		return free_rest(a, h, true);
	ml_unlock_biased();
	return 0;
}

/* Take one pin of @s (the caller checked the count has room). */
static void pin_stub(memlane_arena *a, struct ml_stub *s)
{
	if (s->pins++ == 0)
		a->pinned++;
}

/* Drop one pin of @s (the caller checked there is one). */
static void unpin_stub(memlane_arena *a, struct ml_stub *s)
{
	if (--s->pins != 0)
		return;
	a->pinned--;
	a->pager_barren = false; /* a SlowLane object may be evicted again */
	if (s->kind == ML_KIND_BLOB && a->slow.blob_pin_slop)
		ml_slow_blob_unpinned(a);
}

/* Whether a resize to @n can stay where the object is. */
static bool fits_in_place(const memlane_arena *a, const struct ml_stub *s, size_t n)
{
	size_t cap = ml_stub_cap(a, s);
	if (n > cap)
		return false;
	if (s->state == MEMLANE_STATE_FAST && n >= a->cfg.threshold)
		return false; /* grown out of the FastLane: the one-way lane takes it */
	return !(cap > 256 && n < cap / 4); /* much smaller: move, to give space back */
}

int memlane_realloc(memlane_arena *a, memlane_handle h, size_t n)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_realloc: arena is NULL");
	if (n > ML_SIZE_LIMIT)
		return ml_err(MEMLANE_ETOOBIG, "memlane_realloc: %zu bytes is beyond any lane", n);
	struct ml_stub *s;
	ml_lock(a);
	int rc = lookup(a, h, "memlane_realloc", &s);
	if (rc)
		goto out;
	if ((rc = ml_fault_in(a, s, "memlane_realloc")) != 0)
		goto out;
	if (s->pins) {
		rc = ml_err(MEMLANE_EPINNED, "memlane_realloc: handle 0x%016" PRIx64 " is pinned", h);
		goto out;
	}
	size_t old = s->size;
	struct ml_place p;
	bool move = !fits_in_place(a, s, n);
	if (move) {
		/* Pinned while room is made, so compaction and promotion leave
		 * it where it is; a SlowLane object never goes back. */
		unsigned flags = s->state == MEMLANE_STATE_FAST ? 0 : MEMLANE_SLOW;
		char saved[ML_ERRMSG_MAX];
		ml_err_save(saved);
		pin_stub(a, s);
		rc = ml_place_object(a, n, ml_stub_align(s), flags, &p);
		unpin_stub(a, s);
		/* No room for a smaller copy (the object itself may fill the
		 * lane): a shrink can always stay where it is, and succeeds. */
		if (rc == MEMLANE_ENOMEM && n <= old) {
			ml_err_restore(saved);
			move = false;
			if (s->state == MEMLANE_STATE_SLOW)
				ml_slow_blob_trim(a, s, n);
		} else if (rc) {
			goto out;
		}
		rc = 0;
	}
	if (!move) {
		if (s->state == MEMLANE_STATE_FAST)
			a->fast.used_bytes = a->fast.used_bytes - old + n;
		else
			a->slow.used_bytes = a->slow.used_bytes - old + n;
	} else {
		uint8_t *dst = (p.state == MEMLANE_STATE_FAST ? a->fast.base : a->slow.base) + p.off;
		memcpy(dst, ml_stub_ptr(a, s), old < n ? old : n);
		struct ml_place was = ml_stub_place(a, s);
		ml_release_place(a, s); /* takes the old size off its lane */
		ml_slow_give_back(a, &was);
		s->size = n;
		/* Adds the new size to the new lane. Still in the FastLane,
		 * it keeps its birth-order entry (same slot, generation). */
		ml_stub_set_place(a, s, &p);
	}
	s->size = n;
	if ((s->flags & MEMLANE_ZERO) && n > old)
		memset(ml_stub_ptr(a, s) + old, 0, n - old);
	ML_PUBLISH(s->referenced, 1);
	ML_PUBLISH(s->dirty, 1);
	a->ctr.reallocs++;
out:
	ml_unlock(a);
	return rc;
}

/* How reach() may get at the bytes. */
enum ml_reach { ML_REACH_WRITE, ML_REACH_READ, ML_REACH_RESIDENT };

/* Resolve @h to its bytes for get, get_ro and try_get: a spilled object
 * is faulted in (try_get: refused); any but a read-only reach makes the
 * object dirty, since its bytes may change through the pointer. */
static void *reach(memlane_arena *a, memlane_handle h, const char *what, enum ml_reach how, int *rc)
{
	struct ml_stub *s = ml_lookup(a, h);
	if (!s) {
		*rc = ml_handle_error(a, h, what);
		return NULL;
	}
	*rc = 0;
	if (s->state == MEMLANE_STATE_SPILLED) {
		if (how == ML_REACH_RESIDENT) {
			*rc = ml_err(MEMLANE_ENOTRESIDENT, "%s: handle 0x%016" PRIx64 " is spilled; memlane_get faults it in",
			             what, h);
			return NULL;
		}
		if ((*rc = ml_fault_in(a, s, what)) != 0)
			return NULL;
	}
	ML_PUBLISH(s->referenced, 1);
	if (how != ML_REACH_READ)
		ML_PUBLISH(s->dirty, 1);
	return ml_stub_ptr(a, s);
}

/* The pointer to a resident object's bytes, read without the lock, or
 * NULL when the locked path must decide: a spilled, moving, invalid or
 * foreign handle, or one whose referenced bit (and, for a writable
 * pointer, dirty bit) the pager has cleared and which must be set again
 * under the lock.
 *
 * Safe against a concurrent writer because the stubs never move (a
 * reserved mapping), a stub's off, handle_hi, state and flags are
 * published with release stores, and the word of handle_hi, state and
 * flags read before the offset is read again after it: a free, a reuse
 * of the slot, an eviction or a move to the other lane in between
 * changes it, and the reader falls back to the lock. A move inside a
 * lane (compaction) publishes the offset after the bytes are copied, so
 * either offset is a valid place of the bytes at the moment it was
 * read; the contract already says the pointer lasts only until another
 * thread moves data. */
static inline void *ml_get_unlocked(memlane_arena *a, memlane_handle h, bool writable)
{
	uint32_t idx = (uint32_t)h;
	if (idx >= ML_PEEK(a->nslots))
		return NULL;
	const struct ml_stub *s = &ML_PEEK(a->stubs)[idx];
	/* Arena id, generation, state, referenced and dirty in one load and
	 * one exclusive or with the handle's upper half (ml_stub.handle_hi).
	 * Few instructions depend on the handle and the stub, which in a
	 * loop over random handles are cache misses: the fewer, the more
	 * gets the CPU overlaps (memlane-bench access: 13.4-14.0 M/s with
	 * a separate load and test of the arena id, 16.3-16.7 without). */
	uint64_t word = ML_PEEK(s->word);
	uint64_t diff = (word ^ (h >> 32)) & ML_WORD_MASK(writable);
	uint8_t *base;
	if (diff == ML_WORD(0, MEMLANE_STATE_FAST, writable))
		base = a->fast.base;
	else if (diff == ML_WORD(0, MEMLANE_STATE_SLOW, writable))
		base = a->slow.base;
	else
		return NULL;
	uint64_t off = ML_PEEK(s->off);
	if (ML_PEEK(s->word) != word)
		return NULL;
	return base + off;
}

/* get, get_ro and try_get when ml_get_unlocked cannot answer. Kept out
 * of line, so that the unlocked path needs no stack frame. */
static __attribute__((noinline)) void *reach_locked(memlane_arena *a, memlane_handle h, const char *what,
                                                     enum ml_reach how, int *rc)
{
	if (!a) {
		*rc = ml_err(MEMLANE_EINVAL, "%s: arena is NULL", what);
		return NULL;
	}
	ml_lock(a);
	void *p = reach(a, h, what, how, rc);
	ml_unlock(a);
	return p;
}

void *memlane_get(memlane_arena *a, memlane_handle h)
{
	void *p = a ? ml_get_unlocked(a, h, true) : NULL;
	int rc;
	return p ? p : reach_locked(a, h, "memlane_get", ML_REACH_WRITE, &rc);
}

const void *memlane_get_ro(memlane_arena *a, memlane_handle h)
{
	const void *p = a ? ml_get_unlocked(a, h, false) : NULL;
	int rc;
	return p ? p : reach_locked(a, h, "memlane_get_ro", ML_REACH_READ, &rc);
}

int memlane_try_get(memlane_arena *a, memlane_handle h, void **ptr)
{
	if (!a || !ptr)
		return ml_err(MEMLANE_EINVAL, "memlane_try_get: %s is NULL", a ? "ptr" : "arena");
	void *p = ml_get_unlocked(a, h, true);
	int rc = 0;
	if (!p)
		p = reach_locked(a, h, "memlane_try_get", ML_REACH_RESIDENT, &rc);
	if (!rc)
		*ptr = p;
	return rc;
}

int memlane_pin(memlane_arena *a, memlane_handle h, void **ptr)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_pin: arena is NULL");
	struct ml_stub *s;
	ml_lock(a);
	int rc = lookup(a, h, "memlane_pin", &s);
	if (rc)
		goto out;
	if (s->pins == UINT16_MAX) {
		rc = ml_err(MEMLANE_EINVAL, "memlane_pin: handle 0x%016" PRIx64 " is pinned %u times already", h,
		            (unsigned)UINT16_MAX);
		goto out;
	}
	if ((rc = ml_fault_in(a, s, "memlane_pin")) != 0)
		goto out;
	pin_stub(a, s);
	ML_PUBLISH(s->referenced, 1);
	ML_PUBLISH(s->dirty, 1);
	if (ptr)
		*ptr = ml_stub_ptr(a, s);
out:
	ml_unlock(a);
	return rc;
}

int memlane_unpin(memlane_arena *a, memlane_handle h)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_unpin: arena is NULL");
	struct ml_stub *s;
	ml_lock(a);
	int rc = lookup(a, h, "memlane_unpin", &s);
	if (rc)
		goto out;
	if (s->pins == 0) {
		rc = ml_err(MEMLANE_EINVAL, "memlane_unpin: handle 0x%016" PRIx64 " is not pinned", h);
		goto out;
	}
	unpin_stub(a, s);
out:
	ml_unlock(a);
	return rc;
}

/* The shared body of memlane_read and memlane_write. */
static int copy_object(memlane_arena *a, memlane_handle h, size_t off, void *buf, size_t len, bool to_object)
{
	const char *what = to_object ? "memlane_write" : "memlane_read";
	if (!a || (!buf && len))
		return ml_err(MEMLANE_EINVAL, "%s: %s is NULL", what, a ? "buffer" : "arena");
	struct ml_stub *s;
	ml_lock(a);
	int rc = lookup(a, h, what, &s);
	if (rc)
		goto out;
	if (off > s->size || len > s->size - off) {
		rc = ml_err(MEMLANE_ERANGE, "%s: %zu bytes at offset %zu are outside handle 0x%016" PRIx64 " (%" PRIu64
		                            " bytes)",
		            what, len, off, h, (uint64_t)s->size);
		goto out;
	}
	if ((rc = ml_fault_in(a, s, what)) != 0)
		goto out;
	ML_PUBLISH(s->referenced, 1);
	if (to_object)
		ML_PUBLISH(s->dirty, 1);
	uint8_t *p = ml_stub_ptr(a, s) + off;
	if (len == 0)
		goto out; /* @buf may be NULL */
	/* Writes, small copies, and an object whose pin count is full,
	 * under the lock. A write outside it would race with a checkpoint
	 * in another thread, which reads pinned objects: the checkpoint
	 * would keep a half-written object (a crash then restores bytes no
	 * call ever left there). */
	if (to_object || len <= ML_COPY_UNLOCKED || s->pins == UINT16_MAX) {
		if (to_object)
			memcpy(p, buf, len);
		else
			memcpy(buf, p, len);
		goto out;
	}
	/* Pinned, the object can neither move nor be freed while the lock
	 * is dropped for the copy; nothing in the library writes to it. */
	pin_stub(a, s); /* the stub stays where it is: the table never moves */
	ml_unlock(a);
	memcpy(buf, p, len);
	ml_lock(a);
	unpin_stub(a, s);
out:
	ml_unlock(a);
	return rc;
}

int memlane_read(memlane_arena *a, memlane_handle h, size_t off, void *dst, size_t len)
{
	return copy_object(a, h, off, dst, len, false);
}

int memlane_write(memlane_arena *a, memlane_handle h, size_t off, const void *src, size_t len)
{
	return copy_object(a, h, off, (void *)(uintptr_t)src, len, true);
}

memlane_state memlane_handle_state(memlane_arena *a, memlane_handle h)
{
	if (!a)
		return MEMLANE_STATE_INVALID;
	ml_lock(a);
	struct ml_stub *s = ml_lookup(a, h);
	memlane_state st = s ? (memlane_state)s->state : MEMLANE_STATE_INVALID;
	ml_unlock(a);
	return st;
}

int memlane_valid(memlane_arena *a, memlane_handle h)
{
	return memlane_handle_state(a, h) != MEMLANE_STATE_INVALID;
}

size_t memlane_size(memlane_arena *a, memlane_handle h)
{
	if (!a)
		return 0;
	ml_lock(a);
	struct ml_stub *s = ml_lookup(a, h);
	size_t n = s ? s->size : 0;
	ml_unlock(a);
	return n;
}

uint32_t memlane_tag(memlane_arena *a, memlane_handle h)
{
	if (!a)
		return 0;
	ml_lock(a);
	struct ml_stub *s = ml_lookup(a, h);
	uint32_t t = s ? ml_stub_tag(a, s) : 0;
	ml_unlock(a);
	return t;
}

int memlane_promote(memlane_arena *a, memlane_handle h)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_promote: arena is NULL");
	struct ml_stub *s;
	ml_lock(a);
	int rc = lookup(a, h, "memlane_promote", &s);
	if (rc)
		goto out;
	if (s->state == MEMLANE_STATE_SPILLED)
		goto out; /* beyond the FastLane already; comes back to the SlowLane */
	rc = ml_promote(a, s, false);
	if (rc == MEMLANE_EPINNED)
		ml_err(rc, "memlane_promote: handle 0x%016" PRIx64 " is pinned", h); /* ENOMEM: ml_slow_place said why */
out:
	ml_unlock(a);
	return rc;
}

int memlane_evict(memlane_arena *a, memlane_handle h)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_evict: arena is NULL");
	struct ml_stub *s;
	ml_lock(a);
	int rc = lookup(a, h, "memlane_evict", &s);
	if (!rc && !a->store)
		rc = ml_err(MEMLANE_ENOSPILL, "memlane_evict: this arena has no spill directory (opened with NULL)");
	else if (!rc)
		rc = ml_evict_one(a, s, "memlane_evict");
	ml_unlock(a);
	return rc;
}

int memlane_prefetch(memlane_arena *a, memlane_handle h)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_prefetch: arena is NULL");
	struct ml_stub *s;
	ml_lock(a);
	int rc = lookup(a, h, "memlane_prefetch", &s);
	if (!rc)
		rc = ml_fault_in(a, s, "memlane_prefetch"); /* resident already: nothing to do */
	if (!rc)
		ML_PUBLISH(s->referenced, 1);
	ml_unlock(a);
	return rc;
}
