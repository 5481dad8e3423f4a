/* fastlane.c - the FastLane: one mmap'd region for small objects.
 *
 * Allocation pops the free list of the object's size class; when that
 * is empty it splits the smallest larger free block (a bitmap of the
 * non-empty classes finds it without a search), and only then bumps the
 * top pointer: no system call, no search. Splitting is what keeps free
 * blocks of one class from piling up below the top while objects of
 * another class push it up. Blocks have no headers, so a freed block is
 * not merged with its free neighbours when it is freed; instead, once
 * enough bytes were freed since the last time, a bump first merges all
 * neighbouring free blocks (fast_coalesce) and carves the runs anew.
 * Free blocks carry the offset
 * of the next free block in their first 8 bytes. Freeing the block at
 * the top lowers the top instead, and an empty lane starts over, so
 * frame-scratch use (allocate hundreds, free them all, repeat) never
 * exhausts it. Owns a->fast; never touches stubs (compact.c and
 * object.c do that). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Free bytes to gain before a bump merges free blocks again: at least
 * an eighth of the lane in use, so the walk over every free block and
 * the map of the lane is paid for by that many frees. */
#define ML_FAST_COALESCE_MIN ((size_t)32768)

static size_t coalesce_step(const struct ml_fast *f)
{
	return f->top / 8 > ML_FAST_COALESCE_MIN ? f->top / 8 : ML_FAST_COALESCE_MIN;
}

int ml_fast_init(memlane_arena *a)
{
	struct ml_fast *f = &a->fast;
	memset(f, 0, sizeof(*f));
	f->size = a->cfg.fast_lane_size;
	f->base = ml_os_map(f->size);
	if (!f->base)
		return ml_err(MEMLANE_ENOMEM, "cannot map the FastLane (fast_lane_size=%zu bytes)", f->size);
	ml_fast_reset_free_lists(a);
	return 0;
}

void ml_fast_fini(memlane_arena *a)
{
	ml_os_unmap(a->fast.base, a->fast.size);
	a->fast.base = NULL;
}

void ml_fast_reset_free_lists(memlane_arena *a)
{
	for (unsigned c = 0; c < ML_NCLASSES; c++)
		a->fast.free_head[c] = ML_FAST_NIL;
	a->fast.nonempty = 0;
	a->fast.free_bytes = 0;
	a->fast.coalesce_at = ML_FAST_COALESCE_MIN;
}

/* Whether any FastLane block could hold @size bytes at @align. */
bool ml_fast_can_hold(size_t size, size_t align)
{
	return size <= ML_CLASS_MAX_SIZE && align <= ML_CLASS_MAX_SIZE;
}


/* A block of class @cls at @align cut from the first free block of the
 * smallest larger class that has one (best fit by class: the big blocks
 * stay whole for big requests); what is left of it, before and after,
 * goes back on the free lists. ML_FAST_NIL when there is none, or its
 * first block cannot be aligned to @align. Not inlined: the caller tests
 * the bitmap first, and the bump path stays as short as before. */
__attribute__((noinline)) static uint64_t fast_split(memlane_arena *a, unsigned cls, size_t align)
{
	struct ml_fast *f = &a->fast;
	for (;;) {
		uint64_t larger = f->nonempty >> (cls + 1); /* cls + 1 <= ML_NCLASSES < 64 */
		if (!larger)
			return ML_FAST_NIL;
		unsigned big = cls + 1 + (unsigned)__builtin_ctzll(larger);
		uint64_t off = f->free_head[big];
		if (off == ML_FAST_NIL) {
			f->nonempty &= ~((uint64_t)1 << big); /* stale: see ml_fast_pop */
			continue;
		}
		size_t end = off + ml_class_size(big), start = ml_align_up(off, align);
		if (start + ml_class_size(cls) > end)
			return ML_FAST_NIL;
		ml_fast_pop(f, big);
		ml_fast_carve(a, off, start);
		ml_fast_carve(a, start + ml_class_size(cls), end);
		return start;
	}
}

/* Turn the free gap [from, to) into free-list blocks, largest classes
 * first. Gaps are multiples of 16 bytes, and so is every class. */
void ml_fast_carve(memlane_arena *a, size_t from, size_t to)
{
	while (from < to) {
		size_t gap = to - from;
		unsigned cls = gap >= ML_CLASS_MAX_SIZE ? ML_NCLASSES - 1 : ml_class_of(gap);
		if (ml_class_size(cls) > gap)
			cls--;
		ml_fast_push(&a->fast, from, cls);
		from += ml_class_size(cls);
	}
}

/* Set bits [from, to) of @map. */
static void map_set(uint64_t *map, size_t from, size_t to)
{
	while (from < to) {
		size_t w = from / 64, b = from % 64, n = to - from < 64 - b ? to - from : 64 - b;
		map[w] |= (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << b;
		from += n;
	}
}

/* The first bit from @g on of @map (@nwords words) that is @want; the
 * bit count if none. */
static size_t map_find(const uint64_t *map, size_t nwords, size_t g, bool want)
{
	for (size_t w = g / 64; w < nwords; w++) {
		uint64_t v = want ? map[w] : ~map[w];
		if (w == g / 64)
			v &= ~(uint64_t)0 << (g % 64);
		if (v)
			return w * 64 + (size_t)__builtin_ctzll(v);
	}
	return nwords * 64;
}

/* Merge neighbouring free blocks: mark every free block's 16-byte
 * granules in a map of the lane below the top, then carve each run of
 * free granules anew (largest classes first); a run that reaches the
 * top lowers it instead. Moves no object, so it needs no stub. Without
 * memory for the map the free lists stay as they are. */
__attribute__((noinline)) static void fast_coalesce(memlane_arena *a)
{
	struct ml_fast *f = &a->fast;
	size_t ngran = f->top / ML_MIN_ALIGN, nwords = (ngran + 63) / 64;
	uint64_t *map = calloc(nwords ? nwords : 1, sizeof(uint64_t));
	if (!map)
		goto out;
	for (unsigned c = 0; c < ML_NCLASSES; c++) {
		size_t cs = ml_class_size(c);
		for (uint64_t off = f->free_head[c]; off != ML_FAST_NIL; memcpy(&off, f->base + off, sizeof(uint64_t)))
			map_set(map, off / ML_MIN_ALIGN, (off + cs) / ML_MIN_ALIGN);
	}
	ml_fast_reset_free_lists(a);
	for (size_t g = map_find(map, nwords, 0, true); g < ngran;) {
		size_t end = map_find(map, nwords, g, false);
		if (end >= ngran)
			f->top = g * ML_MIN_ALIGN; /* the run reaches the top */
		else
			ml_fast_carve(a, g * ML_MIN_ALIGN, end * ML_MIN_ALIGN);
		g = end >= ngran ? ngran : map_find(map, nwords, end, true);
	}
	free(map);
out:
	f->coalesce_at = f->free_bytes + coalesce_step(f);
}

/* The top passed every page touched so far: make the pages up to
 * ML_PREFAULT_AHEAD past it resident in one system call (option
 * prefault), where each would otherwise fault in on its own when the
 * block on it is first written. */
static void fast_prefault(memlane_arena *a)
{
	struct ml_fast *f = &a->fast;
	size_t end = f->top;
	if (a->cfg.prefault) {
		end = f->size - f->top < ML_PREFAULT_AHEAD ? f->size : f->top + ML_PREFAULT_AHEAD;
		ml_prefault(a, f->base, f->touched, end);
	}
	f->touched = end;
}

/* Place a block of class @cls at @align where the inline ml_fast_alloc
 * found no free block of the class: cut from a larger free block, or
 * bump; when enough was freed since the last time, merge free blocks
 * first (the top may come down, too). */
int ml_fast_alloc_more(memlane_arena *a, unsigned cls, size_t align, struct ml_place *p)
{
	struct ml_fast *f = &a->fast;
	size_t cs = ml_class_size(cls);
	uint64_t off;
	if (!(f->nonempty >> (cls + 1)) || (off = fast_split(a, cls, align)) == ML_FAST_NIL) {
		if (f->free_bytes >= f->coalesce_at) {
			fast_coalesce(a); /* raises coalesce_at above free_bytes: no loop */
			return ml_fast_alloc_more(a, cls, align, p);
		}
		size_t start = ml_align_up(f->top, align);
		if (start > f->size || f->size - start < cs)
			return MEMLANE_ENOMEM;
		if (start != f->top)
			ml_fast_carve(a, f->top, start);
		off = start;
		f->top = start + cs;
		if (f->top > f->touched)
			fast_prefault(a);
	}
	ml_fast_placed(f, cls, off, p);
	return 0;
}

/* ml_fast_free's rarer cases: the block at the top lowers it, and when
 * nothing lives in the lane any more it starts over from the bottom. */
void ml_fast_free_edge(memlane_arena *a, uint64_t off, unsigned cls)
{
	struct ml_fast *f = &a->fast;
	size_t cs = ml_class_size(cls);
	f->reserved_bytes -= cs;
	if (off + cs == f->top)
		f->top = off;
	else
		ml_fast_push(f, off, cls);
	if (f->reserved_bytes == 0) {
		f->top = 0;
		if (f->free_bytes)
			ml_fast_reset_free_lists(a);
	}
}

double ml_fast_fragmentation(const memlane_arena *a)
{
	return a->fast.top ? (double)a->fast.free_bytes / (double)a->fast.top : 0.0;
}
