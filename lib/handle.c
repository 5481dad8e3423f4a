/* handle.c - the handle table: slots, generations, arena ids, and the
 * intrusive lane lists that thread through the stubs.
 *
 * A handle is checked against its slot's generation before anything is
 * read through it, so a stale, forged, double-freed or foreign handle
 * never reaches object memory. Owns a->stubs and the free slot list;
 * never touches lane memory. */
#include <inttypes.h>
#include <stddef.h>
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

/* The handle table lives in one reservation of address space, grown in
 * place, so a stub never moves: memlane_get reads it without the lock
 * while another thread allocates. The reservation holds room for the
 * stubs and, after them, for the side table (struct ml_stub_ext) of as
 * many slots as the handle format allows (2^32 - 1); where the address
 * space is limited (ulimit -v) it is halved until it fits. */
#define ML_SLOT_BYTES (sizeof(struct ml_stub) + sizeof(struct ml_stub_ext))

/* Where the side table starts in a reservation for @slots slots. */
static size_t ext_offset(size_t slots)
{
	return ml_align_up(slots * sizeof(struct ml_stub), ml_os_page());
}

static int ml_slots_reserve(memlane_arena *a)
{
	size_t page = ml_os_page();
	size_t min = ML_SLOTS_MIN_RESERVE * ML_SLOT_BYTES + page;
	size_t full = ml_align_down((size_t)(ML_NIL - 1) * ML_SLOT_BYTES, page);
	for (size_t bytes = full; bytes >= min; bytes /= 2) {
		bytes = ml_align_down(bytes, page);
		void *p = ml_os_reserve(bytes);
		if (p && bytes < full && bytes / 2 >= min) {
			/* The address space is limited: take half of what is
			 * left, so that the store's map can still grow. */
			ml_os_unmap(p, bytes);
			bytes = ml_align_down(bytes / 2, page);
			p = ml_os_reserve(bytes);
		}
		if (p) {
			size_t slots = (bytes - page) / ML_SLOT_BYTES;
			a->stubs_reserved = bytes;
			a->slots_max = slots < ML_NIL - 1 ? slots : ML_NIL - 1;
			a->ext = (void *)((uint8_t *)p + ext_offset(slots)); /* page-aligned */
			__atomic_store_n(&a->stubs, (struct ml_stub *)p, __ATOMIC_RELEASE);
			return 0;
		}
	}
	return ml_err(MEMLANE_ENOMEM, "cannot reserve address space for the handle table (%zu slots)",
	              (size_t)ML_SLOTS_MIN_RESERVE);
}

/* Make @from to @to bytes of the array at @base usable. */
static bool commit_range(void *base, size_t from, size_t to)
{
	size_t page = ml_os_page();
	from = ml_align_up(from, page);
	to = ml_align_up(to, page);
	return to <= from || ml_os_commit((uint8_t *)base + from, to - from);
}

static int ml_slots_grow(memlane_arena *a)
{
	if (!a->stubs) {
		int rc = ml_slots_reserve(a);
		if (rc)
			return rc;
	}
	uint64_t limit = a->slots_max;
	if (a->slots_cap >= limit)
		return ml_err(MEMLANE_ENOMEM, "handle table full (%u slots)", a->slots_cap);
	uint64_t want = a->slots_cap ? (uint64_t)a->slots_cap * 2 : 1024;
	if (want > limit)
		want = limit;
	size_t have = (size_t)a->slots_cap * sizeof(struct ml_stub), need = (size_t)want * sizeof(struct ml_stub);
	if (!commit_range(a->stubs, have, need) ||
	    !commit_range(a->ext, (size_t)a->slots_cap * sizeof(struct ml_stub_ext),
	                  (size_t)want * sizeof(struct ml_stub_ext)))
		return ml_err(MEMLANE_ENOMEM, "out of memory growing the handle table to %" PRIu64 " slots", want);
	/* No MADV_HUGEPAGE: a 2 MiB page makes all its stubs resident as
	 * soon as one is touched, up to 2 MiB past the last slot in use
	 * (1.5 MiB more peak RSS on perl-hash), and random memlane_get ran
	 * no faster with it (memlane-bench access, 13-15 M/s either way). */
	a->slots_cap = (uint32_t)want;
	return 0;
}

/* The next slot's stub lies past the pages prefaulted so far: make the
 * table's pages up to ML_PREFAULT_AHEAD further resident in one system
 * call (option prefault), within what is committed. */
static void stubs_prefault(memlane_arena *a)
{
	size_t from = a->stubs_prefaulted, end = (size_t)a->slots_cap * sizeof(struct ml_stub);
	if (end - from > ML_PREFAULT_AHEAD)
		end = from + ML_PREFAULT_AHEAD;
	ml_prefault(a, (uint8_t *)a->stubs, from, end);
	a->stubs_prefaulted = end;
}

/* A new slot at the end of the table, which has room for it (nslots <
 * slots_cap): its stub zero (fresh pages), its generation 1. */
uint32_t ml_slot_new(memlane_arena *a)
{
	uint32_t i = a->nslots;
	struct ml_stub *s = &a->stubs[i];
	if ((size_t)(i + 1) * sizeof(*s) > a->stubs_prefaulted)
		stubs_prefault(a);
	ML_PUBLISH(s->handle_hi, ML_HANDLE_HI(a->id, 1));
	ML_PUBLISH(a->nslots, i + 1);
	return i;
}

/* Take a free slot (LIFO, for cache warmth) or a new one. The stub comes
 * back with its generation set and every other field zero. A new slot
 * is zero already (fresh pages); a reused one is cleared field by field,
 * since memlane_get may be reading its first 16 bytes right now. */
int ml_slot_alloc(memlane_arena *a, uint32_t *idx)
{
	uint32_t i = a->free_slot;
	struct ml_stub *s;
	if (i != ML_NIL) {
		s = &a->stubs[i];
		a->free_slot = (uint32_t)s->off;
		ML_PUBLISH(s->off, 0);
		ML_PUBLISH(s->referenced, 0);
		ML_PUBLISH(s->dirty, 0);
		ML_PUBLISH(s->kind, 0); /* in the word memlane_get loads whole */
		s->szc = 0;
		memset(&s->birth, 0, sizeof(*s) - offsetof(struct ml_stub, birth));
		/* Only an arena with a store writes record numbers; a blob's
		 * extent is written whenever it becomes one. */
		if (a->store) {
			struct ml_stub_ext *x = ml_ext(a, s);
			x->seq = x->ckpt_seq = 0;
		}
	} else {
		if (a->nslots == a->slots_cap) {
			int rc = ml_slots_grow(a);
			if (rc)
				return rc;
		}
		i = ml_slot_new(a);
	}
	*idx = i;
	return 0;
}

void ml_slots_fini(memlane_arena *a)
{
	ml_os_unmap(a->stubs, a->stubs_reserved);
	a->stubs = NULL;
	a->ext = NULL;
	a->stubs_reserved = a->slots_max = a->stubs_prefaulted = 0;
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
	if (ml_stub_gen(s) != gen)
		return ml_err(MEMLANE_EHANDLE,
		              "%s: handle 0x%016" PRIx64 " is stale (slot %u is at generation %u, the handle has %u): "
		              "freed already, or forged",
		              what, h, idx, ml_stub_gen(s), gen);
	return ml_err(MEMLANE_EHANDLE, "%s: handle 0x%016" PRIx64 " was freed", what, h);
}

