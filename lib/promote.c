/* promote.c - the one-way lane: FastLane objects move to the SlowLane,
 * never back. Explicitly (memlane_promote), by age (`promotion_age`
 * ticks), for MEMLANE_COLD objects, and when a full FastLane needs room.
 * A promoted object keeps its handle, bytes, size, tag, flags and
 * alignment; only its place changes. Pinned objects are never moved. */
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

/* Promote every unpinned MEMLANE_COLD FastLane object and every one at
 * least `promotion_age` ticks old. The young list is in birth order, so
 * the walk stops at the first object young enough. Returns how many. */
size_t ml_promote_aged(memlane_arena *a)
{
	size_t n = 0;
	uint32_t i = a->cold.head;
	while (i != ML_NIL) {
		uint32_t next = a->stubs[i].next;
		if (!a->stubs[i].pins) {
			if (ml_promote(a, &a->stubs[i], false) != 0)
				return n; /* the SlowLane is full: try again next cycle */
			n++;
		}
		i = next;
	}
	i = a->young.head;
	while (i != ML_NIL && a->tick - a->stubs[i].birth >= a->cfg.promotion_age) {
		uint32_t next = a->stubs[i].next;
		if (!a->stubs[i].pins) {
			if (ml_promote(a, &a->stubs[i], false) != 0)
				return n;
			n++;
		}
		i = next;
	}
	return n;
}

/* A full FastLane makes room: promote cold objects, then the oldest,
 * until @want_bytes of blocks are freed. Returns the bytes freed. */
size_t ml_promote_oldest(memlane_arena *a, size_t want_bytes)
{
	size_t freed = 0;
	struct ml_list *lists[2] = {&a->cold, &a->young};
	for (int l = 0; l < 2 && freed < want_bytes; l++) {
		uint32_t i = lists[l]->head;
		while (i != ML_NIL && freed < want_bytes) {
			uint32_t next = a->stubs[i].next;
			size_t cap = ml_stub_cap(a, &a->stubs[i]);
			if (!a->stubs[i].pins) {
				if (ml_promote(a, &a->stubs[i], true) != 0)
					return freed;
				freed += cap;
			}
			i = next;
		}
	}
	return freed;
}
