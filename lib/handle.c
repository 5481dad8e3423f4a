/* handle.c - the handle table: slots, generations, arena ids, and the
 * intrusive lane lists that thread through the stubs.
 *
 * A handle is checked against its slot's generation before anything is
 * read through it, so a stale, forged, double-freed or foreign handle
 * never reaches object memory. Owns a->stubs and the free slot list;
 * never touches lane memory. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Arena ids tell arenas of one process apart (and, seeded from the pid
 * and clock, usually of different processes). 0 is never used. Ids of
 * open arenas are claimed in a bitmap, so two open arenas never share
 * one: a handle of one is then always foreign to the other. */
static _Atomic uint64_t ids_in_use[(1u << ML_ARENA_BITS) / 64];

bool ml_arena_id_claim(uint32_t id)
{
	uint64_t bit = (uint64_t)1 << (id % 64);
	return id != 0 && !(atomic_fetch_or(&ids_in_use[id / 64], bit) & bit);
}

void ml_arena_id_release(uint32_t id)
{
	if (id != 0)
		atomic_fetch_and(&ids_in_use[id / 64], ~((uint64_t)1 << (id % 64)));
}

/* A free id, claimed; 0 when all 4095 are taken. */
uint32_t ml_arena_id_next(void)
{
	static atomic_uint next;
	unsigned cur = atomic_load(&next);
	if (cur == 0) {
		unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
		atomic_compare_exchange_strong(&next, &cur, seed | 1u);
	}
	for (unsigned tries = 0; tries < (1u << ML_ARENA_BITS); tries++) {
		unsigned id = atomic_fetch_add(&next, 1u) & ((1u << ML_ARENA_BITS) - 1);
		if (ml_arena_id_claim(id))
			return id;
	}
	return 0;
}

static int ml_slots_grow(memlane_arena *a)
{
	if (a->slots_cap == ML_NIL - 1)
		return ml_err(MEMLANE_ENOMEM, "handle table full (%u slots)", a->slots_cap);
	uint64_t want = a->slots_cap ? (uint64_t)a->slots_cap * 2 : 1024;
	if (want > ML_NIL - 1)
		want = ML_NIL - 1;
	struct ml_stub *n = realloc(a->stubs, (size_t)want * sizeof(*n));
	if (!n)
		return ml_err(MEMLANE_ENOMEM, "out of memory growing the handle table to %" PRIu64 " slots", want);
	a->stubs = n;
	a->slots_cap = (uint32_t)want;
	return 0;
}

/* Take a free slot (LIFO, for cache warmth) or a new one. The stub comes
 * back with its generation set and every other field zero. */
int ml_slot_alloc(memlane_arena *a, uint32_t *idx)
{
	uint32_t i = a->free_slot;
	if (i != ML_NIL) {
		a->free_slot = (uint32_t)a->stubs[i].off;
	} else {
		if (a->nslots == a->slots_cap) {
			int rc = ml_slots_grow(a);
			if (rc)
				return rc;
		}
		i = a->nslots++;
		a->stubs[i].gen = 1;
	}
	uint32_t gen = a->stubs[i].gen;
	memset(&a->stubs[i], 0, sizeof(a->stubs[i]));
	a->stubs[i].gen = gen;
	a->stubs[i].prev = a->stubs[i].next = ML_NIL;
	*idx = i;
	return 0;
}

/* Free a slot: bump its generation so every copy of the old handle goes
 * stale. A slot whose generation would wrap is retired for good, since
 * reusing generation 1 would revive handles from long ago. */
void ml_slot_free(memlane_arena *a, uint32_t idx)
{
	struct ml_stub *s = &a->stubs[idx];
	s->state = MEMLANE_STATE_INVALID;
	s->gen++;
	if (s->gen >= ML_GEN_MAX) {
		a->retired_slots++;
		return;
	}
	s->off = a->free_slot;
	a->free_slot = idx;
}

void ml_slots_fini(memlane_arena *a)
{
	free(a->stubs);
	a->stubs = NULL;
	a->nslots = a->slots_cap = 0;
	a->free_slot = ML_NIL;
}

/* Explain why @h is not a live handle of @a, for memlane_errmsg(). */
int ml_handle_error(memlane_arena *a, memlane_handle h, const char *what)
{
	uint32_t idx = (uint32_t)h, gen = (uint32_t)((h >> 32) & ML_GEN_MAX), id = (uint32_t)(h >> 52);
	if (h == MEMLANE_NULL)
		return ml_err(MEMLANE_EHANDLE, "%s: null handle", what);
	if (id != a->id)
		return ml_err(MEMLANE_EHANDLE, "%s: handle 0x%016" PRIx64 " belongs to another arena (id %u, this arena is %u)",
		              what, h, id, a->id);
	if (idx >= a->nslots)
		return ml_err(MEMLANE_EHANDLE, "%s: handle 0x%016" PRIx64 " names slot %u, past the table (%u slots)", what,
		              h, idx, a->nslots);
	const struct ml_stub *s = &a->stubs[idx];
	if (s->gen != gen)
		return ml_err(MEMLANE_EHANDLE,
		              "%s: handle 0x%016" PRIx64 " is stale (slot %u is at generation %u, the handle has %u): "
		              "freed already, or forged",
		              what, h, idx, s->gen, gen);
	return ml_err(MEMLANE_EHANDLE, "%s: handle 0x%016" PRIx64 " was freed", what, h);
}

void ml_list_push(memlane_arena *a, struct ml_list *l, uint32_t idx)
{
	struct ml_stub *s = &a->stubs[idx];
	s->next = ML_NIL;
	s->prev = l->tail;
	if (l->tail != ML_NIL)
		a->stubs[l->tail].next = idx;
	else
		l->head = idx;
	l->tail = idx;
	l->count++;
}

void ml_list_remove(memlane_arena *a, struct ml_list *l, uint32_t idx)
{
	struct ml_stub *s = &a->stubs[idx];
	if (s->prev != ML_NIL)
		a->stubs[s->prev].next = s->next;
	else
		l->head = s->next;
	if (s->next != ML_NIL)
		a->stubs[s->next].prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = ML_NIL;
	l->count--;
}

/* Move @idx (on @l) to just after @after, or to the head when @after is
 * ML_NIL. */
void ml_list_move_after(memlane_arena *a, struct ml_list *l, uint32_t idx, uint32_t after)
{
	if (after == idx)
		return;
	ml_list_remove(a, l, idx);
	struct ml_stub *s = &a->stubs[idx];
	uint32_t next = after == ML_NIL ? l->head : a->stubs[after].next;
	s->prev = after;
	s->next = next;
	if (after == ML_NIL)
		l->head = idx;
	else
		a->stubs[after].next = idx;
	if (next == ML_NIL)
		l->tail = idx;
	else
		a->stubs[next].prev = idx;
	l->count++;
}
