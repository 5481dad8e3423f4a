/* compact.c - live compaction of both lanes, and giving idle pages back
 * to the OS.
 *
 * Objects slide together; their stubs are updated, so handles stay
 * valid; pinned objects stay exactly where they are; every move keeps
 * the alignment the object was allocated with. Moves never overlap a
 * live object, so no scratch copy is needed:
 *   FastLane  objects slide down in address order;
 *   SlowLane  blocks move from the sparsest slabs of a class into free
 *             blocks of the densest, then the highest slabs move into
 *             the lowest empty ones; blobs slide up in descending
 *             address order.
 * Owns the moving of object bytes; the lanes' free structures are
 * rebuilt through fastlane.c and slowlane.c. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct ml_ref {
	uint64_t off;
	uint32_t idx;
};

static int ref_by_off(const void *x, const void *y)
{
	const struct ml_ref *a = x, *b = y;
	return (a->off > b->off) - (a->off < b->off);
}

static int ref_by_off_desc(const void *x, const void *y)
{
	return ref_by_off(y, x);
}

/* Whether to find the FastLane's objects by scanning the whole handle
 * table in order rather than through the birth-order queues: the queues
 * visit stubs in birth order, a cache miss each, while the scan streams
 * through memory at a fraction of the cost a stub. The scan wins unless
 * the lane holds only a small part of the table (most objects in the
 * SlowLane or spilled, say). */
static bool scan_table(const memlane_arena *a, uint64_t count)
{
	return count >= a->nslots / 8;
}

/* The next SlowLane object's slot after @i (start with ML_NIL), in
 * table order; ML_NIL after the last. */
static inline uint32_t next_slow(const memlane_arena *a, uint32_t i)
{
	const struct ml_stub *st = a->stubs;
	for (i = i == ML_NIL ? 0 : i + 1; i < a->nslots; i++)
		if (st[i].state == MEMLANE_STATE_SLOW)
			return i;
	return ML_NIL;
}

/* A FastLane object as compaction sorts it: its offset in 16-byte
 * units (every object is 16-byte aligned, and the lane is at most
 * ML_FAST_LANE_MAX) in the high 32 bits, its slot in the low 32, so
 * keys sort by offset. 8 bytes, not a 16-byte (offset, slot) pair: the
 * sort's two arrays are fresh memory, a page fault every 4 KiB, and
 * those faults were half of a compaction's collecting and sorting. */
static inline uint64_t fast_key(uint64_t off, uint32_t idx)
{
	return (off >> 4) << 32 | idx;
}

static int key_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

/* Sort the @n keys at @k by their high 32 bits (the offset half of a
 * fast_key; promote.c's young-queue keys too), keeping the order of
 * keys whose high halves are equal: a radix sort, 11 bits a pass,
 * skipping passes where every key agrees; each pass goes from one of @k
 * and @tmp (room for @n keys) to the other. A fraction of qsort's time
 * for the million small objects of a full lane. Returns the array that
 * holds the sorted keys. */
uint64_t *ml_sort_hi32(uint64_t *k, uint64_t *tmp, size_t n)
{
	uint64_t or_all = 0, and_all = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		or_all |= k[i];
		and_all &= k[i];
	}
	uint64_t differ = (or_all ^ and_all) >> 32;
	for (unsigned shift = 32; shift < 64 && differ >> (shift - 32); shift += 11) {
		if (((differ >> (shift - 32)) & 0x7ff) == 0)
			continue;
		size_t count[2048 + 1] = {0};
		for (size_t i = 0; i < n; i++)
			count[((k[i] >> shift) & 0x7ff) + 1]++;
		for (size_t b = 1; b <= 2048; b++)
			count[b] += count[b - 1];
		for (size_t i = 0; i < n; i++)
			tmp[count[(k[i] >> shift) & 0x7ff]++] = k[i];
		uint64_t *t = k;
		k = tmp;
		tmp = t;
	}
	return k;
}

/* The FastLane's objects as sorted keys (fast_key), in @*buf: from the
 * table when they are many (see scan_table) or the young queue is not
 * kept, else from the birth-order queues. One allocation holds the
 * keys and the sort's second array. NULL when out of memory: compaction
 * is then skipped, which changes nothing. */
static uint64_t *collect_fast(memlane_arena *a, size_t *n, uint64_t **buf)
{
	size_t cnt = a->fast_objects, k = 0, room = cnt ? cnt : 1;
	bool radix = true;
	uint64_t *key = malloc(2 * room * sizeof(*key));
	if (!key) {
		radix = false; /* qsort needs no second array */
		if (!(key = malloc(room * sizeof(*key))))
			return NULL;
	}
	if (!a->young_kept || scan_table(a, cnt)) {
		for (uint32_t i = 0; i < a->nslots && k < cnt; i++)
			if (a->stubs[i].state == MEMLANE_STATE_FAST)
				key[k++] = fast_key(a->stubs[i].off, i);
	} else {
		const struct ml_fifo *qs[2] = {&a->young, &a->cold};
		for (int q = 0; q < 2; q++)
			for (size_t j = qs[q]->head; j < qs[q]->tail && k < cnt; j++)
				if (ml_fifo_live(a, qs[q]->e[j]))
					key[k++] = fast_key(a->stubs[qs[q]->e[j].idx].off, qs[q]->e[j].idx);
	}
	*n = k;
	*buf = key;
	if (!radix) {
		qsort(key, k, sizeof(*key), key_cmp);
		return key;
	}
	return ml_sort_hi32(key, key + room, k);
}

static void move_bytes(memlane_arena *a, uint8_t *base, struct ml_stub *s, uint64_t dst)
{
	memmove(base + dst, base + s->off, s->size);
	ML_PUBLISH(s->off, dst);
	a->ctr.moved_objects++;
	a->ctr.moved_bytes += s->size;
}

/* ---- FastLane ------------------------------------------------------ */

void ml_compact_fast(memlane_arena *a)
{
	struct ml_fast *f = &a->fast;
	size_t n;
	uint64_t *buf, *key = collect_fast(a, &n, &buf);
	if (!key)
		return;
	ml_fast_reset_free_lists(a);
	size_t cursor = 0;
	for (size_t i = 0; i < n; i++) {
		struct ml_stub *s = &a->stubs[(uint32_t)key[i]];
		if (s->pins) {
			ml_fast_carve(a, cursor, s->off);
			cursor = s->off + ml_stub_cap(a, s);
			continue;
		}
		size_t dst = ml_align_up(cursor, ml_stub_align(s));
		ml_fast_carve(a, cursor, dst);
		if (dst != s->off)
			move_bytes(a, f->base, s, dst);
		cursor = dst + ml_stub_cap(a, s);
	}
	free(buf);
	f->top = cursor;
	a->ctr.compactions++;
	a->ctr.released_bytes += ml_os_release(f->base, f->top, f->touched);
	f->touched = f->top;
}

/* ---- SlowLane: blocks ---------------------------------------------- */

struct ml_slabref {
	uint32_t slab;
	uint32_t used;
	uint32_t pinned;
};

static int slabref_dense_first(const void *x, const void *y)
{
	const struct ml_slabref *a = x, *b = y;
	if (a->pinned != b->pinned)
		return a->pinned ? -1 : 1; /* slabs that cannot empty take objects in */
	return (a->used < b->used) - (a->used > b->used);
}

/* Group the block objects by slab: objs[start[si] .. start[si+1]) are
 * the objects of slab si. */
struct ml_byslab {
	uint32_t *objs;
	size_t *start;
	uint32_t *pinned;
	size_t nslabs;
};

static int byslab_build(memlane_arena *a, struct ml_byslab *g)
{
	struct ml_slow *sl = &a->slow;
	g->nslabs = sl->block_top / ML_SLAB_SIZE;
	g->start = calloc(g->nslabs + 1, sizeof(size_t));
	g->pinned = calloc(g->nslabs + 1, sizeof(uint32_t));
	g->objs = malloc((a->slow_objects + 1) * sizeof(uint32_t));
	if (!g->start || !g->pinned || !g->objs)
		return -1;
	for (uint32_t i = next_slow(a, ML_NIL); i != ML_NIL; i = next_slow(a, i))
		if (a->stubs[i].kind == ML_KIND_BLOCK)
			g->start[a->stubs[i].off / ML_SLAB_SIZE + 1]++;
	for (size_t si = 0; si < g->nslabs; si++)
		g->start[si + 1] += g->start[si];
	size_t *fill = calloc(g->nslabs + 1, sizeof(size_t));
	if (!fill)
		return -1;
	for (uint32_t i = next_slow(a, ML_NIL); i != ML_NIL; i = next_slow(a, i)) {
		const struct ml_stub *s = &a->stubs[i];
		if (s->kind != ML_KIND_BLOCK)
			continue;
		size_t si = s->off / ML_SLAB_SIZE;
		g->objs[g->start[si] + fill[si]++] = i;
		if (s->pins)
			g->pinned[si]++;
	}
	free(fill);
	return 0;
}

static void byslab_free(struct ml_byslab *g)
{
	free(g->objs);
	free(g->start);
	free(g->pinned);
}

/* Empty the sparsest slabs of class @cls into the densest. */
static void consolidate_class(memlane_arena *a, unsigned cls, const struct ml_byslab *g, struct ml_slabref *refs)
{
	struct ml_slow *sl = &a->slow;
	size_t n = 0;
	for (size_t si = 0; si < g->nslabs; si++)
		if (sl->slabs[si].cls == cls)
			refs[n++] = (struct ml_slabref){(uint32_t)si, sl->slabs[si].used, g->pinned[si]};
	if (n < 2)
		return;
	qsort(refs, n, sizeof(*refs), slabref_dense_first);
	size_t cs = ml_class_size(cls), per = ML_SLAB_SIZE / cs;
	size_t dst = 0, src = n - 1;
	while (dst < src && !refs[src].pinned) {
		size_t ss = refs[src].slab;
		for (size_t k = g->start[ss]; k < g->start[ss + 1] && dst < src; k++) {
			struct ml_stub *s = &a->stubs[g->objs[k]];
			while (dst < src && sl->slabs[refs[dst].slab].used == per)
				dst++;
			if (dst >= src)
				break;
			size_t ds = refs[dst].slab;
			uint32_t b = ml_slow_block_pop(a, ds);
			uint64_t to = (uint64_t)ds * ML_SLAB_SIZE + (uint64_t)b * cs;
			uint32_t from_block = (uint32_t)((s->off % ML_SLAB_SIZE) / cs);
			move_bytes(a, sl->base, s, to);
			ml_slow_block_push(a, ss, from_block); /* may free slab ss */
		}
		src--;
	}
}

/* Move the highest slabs down into the lowest empty ones, then lower
 * block_top. Slabs are independent of each other, so their order is
 * free: each one that must go below the final top moves once, and no
 * slab that is already below it moves at all (sliding every slab down
 * by the empty ones below it copied nearly every slab of a lane whose
 * first slab was emptied). */
static void slide_slabs(memlane_arena *a, const struct ml_byslab *g)
{
	struct ml_slow *sl = &a->slow;
	size_t n = g->nslabs, dst = 0, si = n;
	for (;;) {
		while (dst < n && sl->slabs[dst].cls != ML_SLAB_FREE)
			dst++;
		while (si > dst && (sl->slabs[si - 1].cls == ML_SLAB_FREE || g->pinned[si - 1]))
			si--;
		if (si <= dst + 1)
			break;
		si--; /* the slab to move */
		/* Only the blocks handed out so far: the rest of the slab holds
		 * nothing (blocks are carved in order, and the uncarved ones
		 * are never read), and its pages may never have been touched,
		 * so copying them would fault them in at both ends. */
		size_t len = (size_t)sl->slabs[si].carved * ml_class_size(sl->slabs[si].cls);
		memcpy(sl->base + dst * ML_SLAB_SIZE, sl->base + si * ML_SLAB_SIZE, len);
		uint64_t delta = (uint64_t)(si - dst) * ML_SLAB_SIZE;
		for (size_t k = g->start[si]; k < g->start[si + 1]; k++) {
			struct ml_stub *s = &a->stubs[g->objs[k]];
			if (s->kind == ML_KIND_BLOCK && s->off / ML_SLAB_SIZE == si) {
				ML_PUBLISH(s->off, s->off - delta); /* the slab is copied already */
				a->ctr.moved_objects++;
				a->ctr.moved_bytes += s->size;
			}
		}
		sl->slabs[dst] = sl->slabs[si];
		sl->slabs[dst].dirty = 1;
		sl->slabs[si].cls = ML_SLAB_FREE;
		sl->slabs[si].used = 0;
		sl->slabs[si].dirty = 1;
	}
	size_t top = n;
	while (top > 0 && sl->slabs[top - 1].cls == ML_SLAB_FREE)
		top--;
	sl->block_top = top * ML_SLAB_SIZE;
	ml_slow_rebuild_slab_lists(a);
}

static void compact_blocks(memlane_arena *a)
{
	struct ml_byslab g = {0};
	struct ml_slabref *refs = NULL;
	if (byslab_build(a, &g) != 0)
		goto out;
	refs = malloc((g.nslabs + 1) * sizeof(*refs));
	if (!refs)
		goto out;
	for (unsigned c = 0; c < ML_NCLASSES; c++)
		if (a->slow.cls_slabs[c] > 1)
			consolidate_class(a, c, &g, refs);
	/* Consolidation moved objects between slabs: group them again. */
	byslab_free(&g);
	memset(&g, 0, sizeof(g));
	if (byslab_build(a, &g) != 0)
		goto out;
	slide_slabs(a, &g);
out:
	free(refs);
	byslab_free(&g);
}

/* ---- SlowLane: blobs ----------------------------------------------- */

static void compact_blobs(memlane_arena *a)
{
	struct ml_slow *sl = &a->slow;
	size_t n = 0;
	struct ml_ref *r = malloc((sl->nblobs + 1) * sizeof(*r));
	/* Holes are found top-down; collect them first, then insert
	 * bottom-up so the hole list is built in order. Both taken before
	 * the hole list is emptied: out of memory must change nothing (an
	 * emptied list left the blobs' space free, to be allocated over). */
	struct ml_extent *gaps = malloc((sl->nblobs + 1) * sizeof(*gaps));
	size_t ngaps = 0, pin_gap_bytes = 0;
	if (!r || !gaps) {
		free(r);
		free(gaps);
		return;
	}
	for (uint32_t i = next_slow(a, ML_NIL); i != ML_NIL; i = next_slow(a, i))
		if (a->stubs[i].kind == ML_KIND_BLOB)
			r[n++] = (struct ml_ref){a->stubs[i].off, i};
	qsort(r, n, sizeof(*r), ref_by_off_desc);
	sl->nholes = 0;
	sl->blob_hole_bytes = 0;
	sl->blob_bottom = sl->size; /* holes inserted below rebuild it */
	size_t cursor = sl->size;
	for (size_t i = 0; i < n; i++) {
		struct ml_stub *s = &a->stubs[r[i].idx];
		size_t cap = ml_ext(a, s)->cap;
		size_t dst = s->pins ? s->off : ml_align_down(cursor - cap, ml_stub_align(s));
		if (dst + cap < cursor) {
			gaps[ngaps++] = (struct ml_extent){dst + cap, cursor - (dst + cap)};
			if (s->pins)
				pin_gap_bytes += cursor - (dst + cap);
		}
		if (dst != s->off)
			move_bytes(a, sl->base, s, dst);
		cursor = dst;
	}
	sl->blob_bottom = cursor;
	for (size_t i = ngaps; i-- > 0;)
		ml_slow_hole_insert(a, gaps[i].off, gaps[i].len);
	/* What sliding could not close: alignment gaps stay until the
	 * objects around them go; gaps above pinned blobs only until the
	 * pins go (ml_slow_blob_unpinned). */
	sl->blob_slop = sl->blob_hole_bytes;
	sl->blob_pin_slop = pin_gap_bytes < sl->blob_slop ? pin_gap_bytes : sl->blob_slop;
	free(gaps);
	free(r);
}

/* Give back whole pages of the middle and of empty slabs. */
static void release_slow(memlane_arena *a)
{
	struct ml_slow *sl = &a->slow;
	ml_slow_release_middle(a, 0);
	/* Neighbouring slabs in one call: a call costs a TLB flush on every
	 * CPU the program runs on. After a compaction the free list is in
	 * address order (ml_slow_rebuild_slab_lists), and slabs emptied one
	 * by one are pushed on its head, so neighbours come along the list
	 * together, up or down; a run the order cuts only costs a call. */
	size_t first = 0, end = 0; /* the run of dirty free slabs not yet given back */
	for (uint32_t si = sl->free_slabs; si != ML_NIL; si = sl->slabs[si].next) {
		if (!sl->slabs[si].dirty)
			continue;
		sl->slabs[si].dirty = 0;
		if (end > first && (size_t)si == end) {
			end++;
			continue;
		}
		if (end > first && (size_t)si + 1 == first) {
			first--;
			continue;
		}
		if (end > first)
			a->ctr.released_bytes += ml_os_release(sl->base, first * ML_SLAB_SIZE, end * ML_SLAB_SIZE);
		first = si;
		end = (size_t)si + 1;
	}
	if (end > first)
		a->ctr.released_bytes += ml_os_release(sl->base, first * ML_SLAB_SIZE, end * ML_SLAB_SIZE);
}

void ml_compact_slow(memlane_arena *a)
{
	compact_blocks(a);
	compact_blobs(a);
	a->ctr.compactions++;
	release_slow(a);
}

/* Give back pages no object uses: the FastLane above its top, the
 * SlowLane's middle and its empty slabs. */
void ml_release_idle(memlane_arena *a)
{
	struct ml_fast *f = &a->fast;
	if (f->touched > f->top) {
		a->ctr.released_bytes += ml_os_release(f->base, f->top, f->touched);
		f->touched = f->top;
	}
	release_slow(a);
}
