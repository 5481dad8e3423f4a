/* fastlane.c - the FastLane: one mmap'd region for small objects.
 *
 * Allocation pops the free list of the object's size class or bumps the
 * top pointer: no system call, no search. Free blocks carry the offset
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
	f->free_bytes += ml_class_size(cls);
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
		memcpy(&f->free_head[cls], f->base + off, sizeof(uint64_t));
		f->free_bytes -= cs;
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
