/* promote.c - the one-way lane: FastLane objects move to the SlowLane,
 * never back. Explicitly (memlane_promote), by age (`promotion_age`
 * ticks), for MEMLANE_COLD objects, and when a full FastLane needs room.
 * A promoted object keeps its handle, bytes, size, tag, flags and
 * alignment; only its place changes. Pinned objects are never moved. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Move FastLane object @s to the SlowLane. @use_margin lets the move use
 * the safety margin (only when the FastLane itself needs room). */
int ml_promote(memlane_arena *a, struct ml_stub *s, bool use_margin)
{
	if (s->state != MEMLANE_STATE_FAST)
		return 0;
	if (s->pins)
		return MEMLANE_EPINNED;
	struct ml_place p;
	size_t align = ml_stub_align(s);
	int rc = ml_slow_place(a, s->size, align, use_margin, &p); /* compacts, evicts */
	if (rc)
		return rc;
	memcpy(a->slow.base + p.off, a->fast.base + s->off, s->size);
	ml_release_place(a, s);
	ml_stub_set_place(a, s, &p);
	a->ctr.promotions++;
	return 0;
}

/* ---- birth order ------------------------------------------------------- */

/* Minimum entries a queue holds room for. */
#define ML_FIFO_MIN 1024

/* Room for one more entry at the tail: drop the dead entries, and grow
 * when live ones fill more than three quarters. Each compaction then
 * keeps room for at least a quarter of the queue: at most four entries
 * read an append. Growing at half full left the queue up to four times
 * the live FastLane objects, every entry resident (gcc-cc1: 32768
 * entries, 256 KiB, for 11 000 objects). MEMLANE_ENOMEM (with a
 * message) when it cannot grow; the queue is then as it was, less its
 * dead entries. */
int ml_fifo_reserve(memlane_arena *a, struct ml_fifo *q)
{
	if (q->tail < q->cap)
		return 0;
	size_t n = 0;
	for (size_t k = q->head; k < q->tail; k++)
		if (ml_fifo_live(a, q->e[k]))
			q->e[n++] = q->e[k];
	q->head = 0;
	q->tail = n;
	if (n < q->cap - q->cap / 4)
		return 0;
	size_t cap = q->cap ? q->cap * 2 : ML_FIFO_MIN;
	struct ml_fifo_ent *e = realloc(q->e, cap * sizeof(*e));
	if (!e)
		return ml_err(MEMLANE_ENOMEM, "out of memory growing the FastLane's birth-order queue to %zu entries", cap);
	q->e = e;
	q->cap = cap;
	return 0;
}

void ml_fifo_fini(struct ml_fifo *q)
{
	free(q->e);
	*q = (struct ml_fifo){NULL, 0, 0, 0};
}

/* Which objects a walk of a birth-order queue promotes. */
enum ml_take { ML_TAKE_ALL, ML_TAKE_AGED, ML_TAKE_UNTIL };

/* Walk @q from the oldest entry, promoting live unpinned objects: all
 * (ML_TAKE_ALL), those at least promotion_age ticks old, up to the first
 * that is not (ML_TAKE_AGED), or until *@freed reaches @want
 * (ML_TAKE_UNTIL). Dead and promoted entries go; pinned ones, and one a
 * full SlowLane refused, stay in their order. Returns how many moved,
 * and adds their block bytes to *@freed. */
static size_t promote_from(memlane_arena *a, struct ml_fifo *q, enum ml_take how, size_t want, size_t *freed)
{
	if (q->head == q->tail)
		return 0; /* also when it never had room (e NULL) */
	bool use_margin = how == ML_TAKE_UNTIL; /* only when the FastLane itself needs room */
	size_t n = 0, k = q->head, kept = 0;
	struct ml_fifo_ent *keep = q->e + q->head; /* kept entries, packed from the old head */
	for (; k < q->tail; k++) {
		struct ml_fifo_ent e = q->e[k];
		if (!ml_fifo_live(a, e))
			continue;
		struct ml_stub *s = &a->stubs[e.idx];
		if ((how == ML_TAKE_AGED && ml_stub_age(a, s) < a->cfg.promotion_age) ||
		    (how == ML_TAKE_UNTIL && *freed >= want))
			break;
		size_t cap = ml_stub_cap(a, s);
		if (s->pins) {
			keep[kept++] = e;
			continue;
		}
		if (ml_promote(a, s, use_margin) != 0) {
			keep[kept++] = e;
			k++;
			break; /* the SlowLane is full: try again next cycle */
		}
		n++;
		*freed += cap;
	}
	/* The kept entries are older than the rest: they go just before it. */
	memmove(q->e + k - kept, keep, kept * sizeof(*keep));
	q->head = k - kept;
	return n;
}

/* Whether the young queue takes @s. */
static bool young_member(const struct ml_stub *s)
{
	return s->state == MEMLANE_STATE_FAST && !(s->flags & MEMLANE_COLD);
}

/* Ages spanning up to this many ticks are counted into place (one
 * counter an age); a wider span is radix-sorted through key arrays. */
#define ML_YOUNG_COUNT_SPAN ((uint32_t)1 << 16)

/* Fill @e with the @n young-queue objects of the table, oldest first,
 * objects of one age in slot order; their ages lie in [@lo, @hi].
 * Counting: one counter an age, then each object straight into its
 * place, so nothing but @e is written per object (the temporary arrays
 * a sort needs were fresh pages, a page fault every 512 objects, most
 * of the time it took). Radix sort of (age, slot) keys when the span is
 * wide. MEMLANE_ENOMEM when out of memory. */
static int young_fill(memlane_arena *a, struct ml_fifo_ent *e, size_t n, uint32_t lo, uint32_t hi)
{
	if (hi - lo < ML_YOUNG_COUNT_SPAN) {
		size_t span = (size_t)(hi - lo) + 1;
		size_t *at = calloc(span, sizeof(*at)); /* by hi - age: the oldest first */
		if (!at)
			return MEMLANE_ENOMEM;
		for (uint32_t i = 0; i < a->nslots; i++)
			if (young_member(&a->stubs[i]))
				at[hi - ml_stub_age(a, &a->stubs[i])]++;
		for (size_t b = 0, sum = 0; b < span; b++) {
			size_t c = at[b];
			at[b] = sum;
			sum += c;
		}
		for (uint32_t i = 0; i < a->nslots; i++) {
			const struct ml_stub *s = &a->stubs[i];
			if (young_member(s))
				e[at[hi - ml_stub_age(a, s)]++] = (struct ml_fifo_ent){i, s->handle_hi};
		}
		free(at);
		return 0;
	}
	uint64_t *key = malloc(2 * n * sizeof(*key)); /* the keys, and the sort's second array */
	if (!key)
		return MEMLANE_ENOMEM;
	size_t k = 0;
	for (uint32_t i = 0; i < a->nslots && k < n; i++)
		if (young_member(&a->stubs[i]))
			key[k++] = (uint64_t)(UINT32_MAX - ml_stub_age(a, &a->stubs[i])) << 32 | i;
	/* Made in slot order: the radix sort keeps it among equal ages. */
	uint64_t *sorted = ml_sort_hi32(key, key + n, n);
	for (k = 0; k < n; k++) {
		uint32_t i = (uint32_t)sorted[k];
		e[k] = (struct ml_fifo_ent){i, a->stubs[i].handle_hi};
	}
	free(key);
	return 0;
}

/* Start keeping the young queue, the first time something needs the
 * FastLane's objects in birth order: promotion by age once the tick
 * reaches promotion_age, a full FastLane, a flush. Until then the
 * allocations append nothing to it and it holds nothing: a program that
 * never ticks, never fills the FastLane and never flushes saves an entry
 * a FastLane object (8 bytes) and the work of dropping the dead ones,
 * about a tenth of a gcc-cc1 replay's time. The queue is built once
 * from the table: every FastLane object not MEMLANE_COLD (the cold
 * queue is always kept), oldest first; objects born in one tick go in
 * slot order, where the kept queue would have had allocation order,
 * and both are orders of equal age. MEMLANE_ENOMEM (with a message)
 * when there is no memory for it; nothing changes then. */
int ml_young_keep(memlane_arena *a)
{
	if (a->young_kept)
		return 0;
	size_t n = 0, cap = ML_FIFO_MIN;
	uint32_t lo = UINT32_MAX, hi = 0; /* the ages seen */
	for (uint32_t i = 0; i < a->nslots; i++) {
		const struct ml_stub *s = &a->stubs[i];
		if (!young_member(s))
			continue;
		uint32_t age = ml_stub_age(a, s);
		lo = age < lo ? age : lo;
		hi = age > hi ? age : hi;
		n++;
	}
	while (n >= cap - cap / 4)
		cap *= 2; /* as ml_fifo_reserve would have grown it */
	struct ml_fifo_ent *e = malloc(cap * sizeof(*e));
	if (!e || (n && young_fill(a, e, n, lo, hi) != 0)) {
		free(e);
		return ml_err(MEMLANE_ENOMEM, "out of memory starting the FastLane's birth-order queue (%zu objects)", n);
	}
	ml_fifo_fini(&a->young);
	a->young = (struct ml_fifo){e, 0, n, cap};
	a->young_kept = true;
	return 0;
}

/* Promote every unpinned MEMLANE_COLD FastLane object and every one at
 * least `promotion_age` ticks old. The young queue is in birth order, so
 * the walk stops at the first object young enough. Returns how many. */
size_t ml_promote_aged(memlane_arena *a)
{
	size_t freed = 0;
	size_t n = promote_from(a, &a->cold, ML_TAKE_ALL, 0, &freed);
	/* No object is promotion_age ticks old before the tick is: no
	 * young queue needed yet. Without memory for it, no promotion by
	 * age this cycle (the next one tries again). */
	if (a->tick < a->cfg.promotion_age || ml_young_keep(a) != 0)
		return n;
	return n + promote_from(a, &a->young, ML_TAKE_AGED, 0, &freed);
}

/* A full FastLane makes room: promote cold objects, then the oldest,
 * until @want_bytes of blocks are freed. Returns the bytes freed (less
 * than asked also when there is no memory for the young queue). */
size_t ml_promote_oldest(memlane_arena *a, size_t want_bytes)
{
	size_t freed = 0;
	promote_from(a, &a->cold, ML_TAKE_UNTIL, want_bytes, &freed);
	if (freed < want_bytes && ml_young_keep(a) == 0)
		promote_from(a, &a->young, ML_TAKE_UNTIL, want_bytes, &freed);
	return freed;
}
