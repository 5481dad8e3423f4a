/* fastlane.c - the FastLane: one mmap'd region for small objects.
 *
 * Allocation pops the free list of the object's size class; when that
 * is empty it splits the smallest larger free block (a bitmap of the
 * non-empty classes finds it without a search), and only then bumps the
 * top pointer: no system call, no search. Splitting is what keeps free
 * blocks of one class from piling up below the top while objects of
 * another class push it up. Free blocks carry the offset
 * of the next free block in their first 8 bytes. Freeing the block at
 * the top lowers the top instead, and an empty lane starts over, so
 * frame-scratch use (allocate hundreds, free them all, repeat) never
 * exhausts it. Owns a->fast; never touches stubs (compact.c and
 * object.c do that). */
#include <string.h>

#include "internal.h"

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
}

/* Whether any FastLane block could hold @size bytes at @align. */
bool ml_fast_can_hold(size_t size, size_t align)
{
	return size <= ML_CLASS_MAX_SIZE && align <= ML_CLASS_MAX_SIZE;
}

static void fast_push(struct ml_fast *f, uint64_t off, unsigned cls)
{
	memcpy(f->base + off, &f->free_head[cls], sizeof(uint64_t));
	f->free_head[cls] = off;
	f->nonempty |= (uint64_t)1 << cls;
	f->free_bytes += ml_class_size(cls);
}

/* Take the first block off the free list of @cls (not empty). Its bit
 * in f->nonempty stays set even when the list runs dry: fast_split
 * clears such stale bits when it meets them, which keeps this, the
 * allocation fast path, as short as it was without the bitmap. */
static uint64_t fast_pop(struct ml_fast *f, unsigned cls)
{
	uint64_t off = f->free_head[cls];
	memcpy(&f->free_head[cls], f->base + off, sizeof(uint64_t));
	f->free_bytes -= ml_class_size(cls);
	return off;
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
			f->nonempty &= ~((uint64_t)1 << big); /* stale: see fast_pop */
			continue;
		}
		size_t end = off + ml_class_size(big), start = ml_align_up(off, align);
		if (start + ml_class_size(cls) > end)
			return ML_FAST_NIL;
		fast_pop(f, big);
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
		fast_push(&a->fast, from, cls);
		from += ml_class_size(cls);
	}
}

/* Place @size bytes. Returns MEMLANE_ENOMEM (without a message: the
 * caller decides whether to compact, promote or fall back). */
int ml_fast_alloc(memlane_arena *a, size_t size, size_t align, struct ml_place *p)
{
	struct ml_fast *f = &a->fast;
	unsigned cls = ml_class_of(size);
	size_t cs = ml_class_size(cls);
	uint64_t off = f->free_head[cls];

	if (off != ML_FAST_NIL && (off & (align - 1)) == 0) {
		fast_pop(f, cls);
	} else if ((f->nonempty >> (cls + 1)) && (off = fast_split(a, cls, align)) != ML_FAST_NIL) {
		/* cut from a larger free block: the top stays where it is */
	} else {
		size_t start = ml_align_up(f->top, align);
		if (start > f->size || f->size - start < cs)
			return MEMLANE_ENOMEM;
		if (start != f->top)
			ml_fast_carve(a, f->top, start);
		off = start;
		f->top = start + cs;
		if (f->top > f->touched)
			f->touched = f->top;
	}
	f->reserved_bytes += cs;
	p->state = MEMLANE_STATE_FAST;
	p->kind = ML_KIND_NONE;
	p->cls = (uint8_t)cls;
	p->off = off;
	p->cap = cs;
	return 0;
}

void ml_fast_free(memlane_arena *a, uint64_t off, unsigned cls)
{
	struct ml_fast *f = &a->fast;
	size_t cs = ml_class_size(cls);
	f->reserved_bytes -= cs;
	if (off + cs == f->top)
		f->top = off;
	else
		fast_push(f, off, cls);
	if (f->reserved_bytes == 0) {
		/* Nothing lives here any more: start over from the bottom. */
		f->top = 0;
		if (f->free_bytes)
			ml_fast_reset_free_lists(a);
	}
}

double ml_fast_fragmentation(const memlane_arena *a)
{
	return a->fast.top ? (double)a->fast.free_bytes / (double)a->fast.top : 0.0;
}
