/* slowlane.c - the SlowLane: one mmap'd region for large or long-lived
 * objects, split into two regions that grow towards each other:
 *
 *   [0, block_top)            block region: 64 KiB slabs, one size class
 *                             each, for objects up to 16 KiB
 *   [block_top, blob_bottom)  the free middle
 *   [blob_bottom, size)       blob region: variable-size extents with an
 *                             address-ordered, coalescing free list
 *
 * Either region takes what it needs from the middle, so the split
 * follows demand. User allocations leave `margin` bytes of the middle
 * free; promotions and compaction may use them. Freed space is reused:
 * free blocks go back to their slab, empty slabs to the free slab list
 * (or the middle, at the top), blob extents to the hole list (or the
 * middle, at the bottom). Owns a->slow; never touches stubs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static size_t blocks_per_slab(unsigned cls)
{
	return ML_SLAB_SIZE / ml_class_size(cls);
}

int ml_slow_init(memlane_arena *a)
{
	struct ml_slow *sl = &a->slow;
	memset(sl, 0, sizeof(*sl));
	sl->size = a->cfg.slow_lane_size;
	sl->margin = ml_effective_margin(&a->cfg);
	sl->base = ml_os_map(sl->size);
	if (!sl->base)
		return ml_err(MEMLANE_ENOMEM, "cannot map the SlowLane (slow_lane_size=%zu bytes)", sl->size);
	sl->nslabs_max = sl->size / ML_SLAB_SIZE;
	sl->slabs = ml_os_map(sl->nslabs_max * sizeof(struct ml_slab) + 1);
	if (!sl->slabs) {
		ml_os_unmap(sl->base, sl->size);
		sl->base = NULL;
		return ml_err(MEMLANE_ENOMEM, "cannot map the SlowLane's slab table");
	}
	sl->blob_bottom = sl->size;
	sl->touched_lo = sl->size;
	for (unsigned c = 0; c < ML_NCLASSES; c++)
		sl->partial[c] = ML_NIL;
	sl->free_slabs = ML_NIL;
	return 0;
}

void ml_slow_fini(memlane_arena *a)
{
	struct ml_slow *sl = &a->slow;
	ml_os_unmap(sl->base, sl->size);
	ml_os_unmap(sl->slabs, sl->nslabs_max * sizeof(struct ml_slab) + 1);
	free(sl->holes);
	sl->base = NULL;
	sl->slabs = NULL;
	sl->holes = NULL;
}

/* The largest object a user allocation can ever place. */
size_t ml_slow_max_object(const memlane_arena *a)
{
	return a->slow.size - a->slow.margin;
}

static size_t blob_len(size_t size);

/* Whether a user allocation of @size at @align fits an empty lane: the
 * exact test blob placement makes (padded length, aligned start, the
 * margin kept free below), so nothing the lane can never hold is ever
 * answered with a "try later" ENOMEM. */
bool ml_slow_fits_empty(const memlane_arena *a, size_t size, size_t align)
{
	const struct ml_slow *sl = &a->slow;
	if (size <= ML_BLOCK_MAX_SIZE)
		return ML_SLAB_SIZE + sl->margin <= sl->size;
	size_t len = blob_len(size);
	if (len > sl->size)
		return false;
	return ml_align_down(sl->size - len, align) >= sl->margin;
}

/* ---- slab lists ---------------------------------------------------- */

static void slab_link(struct ml_slow *sl, uint32_t *head, uint32_t si)
{
	struct ml_slab *s = &sl->slabs[si];
	s->prev = ML_NIL;
	s->next = *head;
	if (*head != ML_NIL)
		sl->slabs[*head].prev = si;
	*head = si;
}

static void slab_unlink(struct ml_slow *sl, uint32_t *head, uint32_t si)
{
	struct ml_slab *s = &sl->slabs[si];
	if (s->prev != ML_NIL)
		sl->slabs[s->prev].next = s->next;
	else
		*head = s->next;
	if (s->next != ML_NIL)
		sl->slabs[s->next].prev = s->prev;
	s->prev = s->next = ML_NIL;
}

static void partial_add(struct ml_slow *sl, uint32_t si)
{
	struct ml_slab *s = &sl->slabs[si];
	if (!s->on_partial) {
		slab_link(sl, &sl->partial[s->cls], si);
		s->on_partial = 1;
	}
}

static void partial_del(struct ml_slow *sl, uint32_t si)
{
	struct ml_slab *s = &sl->slabs[si];
	if (s->on_partial) {
		slab_unlink(sl, &sl->partial[s->cls], si);
		s->on_partial = 0;
	}
}

static bool slab_full(const struct ml_slab *s)
{
	return s->free_head == ML_NIL && s->carved == blocks_per_slab(s->cls);
}

/* Give back the slabs at the top of the block region that are empty. */
static void block_region_shrink(struct ml_slow *sl)
{
	while (sl->block_top > 0) {
		uint32_t si = (uint32_t)(sl->block_top / ML_SLAB_SIZE - 1);
		if (sl->slabs[si].cls != ML_SLAB_FREE)
			break;
		slab_unlink(sl, &sl->free_slabs, si);
		sl->nfree_slabs--;
		sl->block_top -= ML_SLAB_SIZE;
	}
}

/* Rebuild the partial lists, the free slab list and the per-class counts
 * from the slab table, after compaction rearranged the slabs. */
void ml_slow_rebuild_slab_lists(memlane_arena *a)
{
	struct ml_slow *sl = &a->slow;
	for (unsigned c = 0; c < ML_NCLASSES; c++) {
		sl->partial[c] = ML_NIL;
		sl->cls_slabs[c] = 0;
	}
	sl->free_slabs = ML_NIL;
	sl->nfree_slabs = 0;
	size_t n = sl->block_top / ML_SLAB_SIZE;
	for (size_t i = n; i-- > 0;) {
		struct ml_slab *s = &sl->slabs[i];
		s->on_partial = 0;
		if (s->cls == ML_SLAB_FREE) {
			slab_link(sl, &sl->free_slabs, (uint32_t)i);
			sl->nfree_slabs++;
			continue;
		}
		sl->cls_slabs[s->cls]++;
		if (!slab_full(s))
			partial_add(sl, (uint32_t)i);
	}
	block_region_shrink(sl);
}

/* ---- blocks -------------------------------------------------------- */

static int slab_new(struct ml_slow *sl, unsigned cls, bool use_margin, uint32_t *out)
{
	uint32_t si = sl->free_slabs;
	bool fresh;
	if (si != ML_NIL) {
		slab_unlink(sl, &sl->free_slabs, si);
		sl->nfree_slabs--;
		fresh = !sl->slabs[si].dirty; /* given back since it was last used */
	} else {
		size_t reserve = use_margin ? 0 : sl->margin;
		if (sl->blob_bottom - sl->block_top < ML_SLAB_SIZE + reserve)
			return MEMLANE_ENOMEM;
		si = (uint32_t)(sl->block_top / ML_SLAB_SIZE);
		/* Past every slab touched since the middle was last given
		 * back; below that mark its pages may still be resident. */
		fresh = sl->block_top >= sl->touched_hi;
		sl->block_top += ML_SLAB_SIZE;
		if (sl->block_top > sl->touched_hi)
			sl->touched_hi = sl->block_top;
	}
	struct ml_slab *s = &sl->slabs[si];
	s->fresh = fresh;
	s->used = 0;
	s->carved = 0;
	s->free_head = ML_NIL;
	s->cls = (uint8_t)cls;
	s->on_partial = 0;
	s->dirty = 1;
	sl->cls_slabs[cls]++;
	partial_add(sl, si);
	*out = si;
	return 0;
}

/* Take one free block of slab @si (free list first, then the uncarved
 * rest). The slab must not be full. */
uint32_t ml_slow_block_pop(memlane_arena *a, size_t si)
{
	struct ml_slow *sl = &a->slow;
	struct ml_slab *s = &sl->slabs[si];
	size_t cs = ml_class_size(s->cls);
	uint32_t b = s->free_head;
	if (b != ML_NIL)
		memcpy(&s->free_head, sl->base + si * ML_SLAB_SIZE + (size_t)b * cs, sizeof(uint32_t));
	else
		b = s->carved++;
	s->used++;
	sl->cls_used[s->cls]++;
	if (slab_full(s))
		partial_del(sl, (uint32_t)si);
	return b;
}

/* Return block @b to slab @si; an emptied slab leaves its class. */
void ml_slow_block_push(memlane_arena *a, size_t si, uint32_t b)
{
	struct ml_slow *sl = &a->slow;
	struct ml_slab *s = &sl->slabs[si];
	size_t cs = ml_class_size(s->cls);
	memcpy(sl->base + si * ML_SLAB_SIZE + (size_t)b * cs, &s->free_head, sizeof(uint32_t));
	s->free_head = b;
	s->used--;
	sl->cls_used[s->cls]--;
	if (s->used > 0) {
		partial_add(sl, (uint32_t)si);
		return;
	}
	partial_del(sl, (uint32_t)si);
	sl->cls_slabs[s->cls]--;
	s->cls = ML_SLAB_FREE;
	slab_link(sl, &sl->free_slabs, (uint32_t)si);
	sl->nfree_slabs++;
	block_region_shrink(sl);
}

static int block_alloc(memlane_arena *a, unsigned cls, bool use_margin, struct ml_place *p)
{
	struct ml_slow *sl = &a->slow;
	uint32_t si = sl->partial[cls];
	if (si == ML_NIL) {
		int rc = slab_new(sl, cls, use_margin, &si);
		if (rc)
			return rc;
	}
	size_t cs = ml_class_size(cls);
	bool carve = sl->slabs[si].free_head == ML_NIL; /* a block never handed out since the slab was taken */
	uint32_t b = ml_slow_block_pop(a, si);
	size_t off = (size_t)si * ML_SLAB_SIZE + (size_t)b * cs;
	/* A carved block of a fresh slab: its pages not shared with the
	 * block before it have never been touched. One system call makes
	 * them resident, where a block of 4 pages would fault 4 times. */
	if (carve && sl->slabs[si].fresh)
		ml_prefault(a, sl->base, off, off + cs);
	sl->block_reserved += cs;
	p->state = MEMLANE_STATE_SLOW;
	p->kind = ML_KIND_BLOCK;
	p->cls = (uint8_t)cls;
	p->off = off;
	p->cap = cs;
	return 0;
}

/* A block of class @cls from a slab of the class that has room, for
 * object.c's straight-through allocation: false, changing nothing, when
 * no slab of the class has one (block_alloc would take a new slab from
 * the middle, which the general path does, minding the margin). */
bool ml_slow_block_take(memlane_arena *a, unsigned cls, struct ml_place *p)
{
	return a->slow.partial[cls] != ML_NIL && block_alloc(a, cls, false, p) == 0;
}

/* ---- blob holes ---------------------------------------------------- */

/* Make room for @n holes. Every blob can leave at most one hole when
 * freed, so blob_alloc reserves ahead and frees never need memory. */
int ml_slow_holes_reserve(memlane_arena *a, size_t n)
{
	struct ml_slow *sl = &a->slow;
	if (n <= sl->holes_cap)
		return 0;
	size_t cap = sl->holes_cap ? sl->holes_cap * 2 : 64;
	while (cap < n)
		cap *= 2;
	struct ml_extent *h = realloc(sl->holes, cap * sizeof(*h));
	if (!h)
		return ml_err(MEMLANE_ENOMEM, "cannot grow the SlowLane hole list to %zu entries", cap);
	sl->holes = h;
	sl->holes_cap = cap;
	return 0;
}

/* Index of the first hole at or above @off. */
static size_t hole_search(const struct ml_slow *sl, size_t off)
{
	size_t lo = 0, hi = sl->nholes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sl->holes[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void hole_remove(struct ml_slow *sl, size_t i)
{
	memmove(&sl->holes[i], &sl->holes[i + 1], (sl->nholes - i - 1) * sizeof(sl->holes[0]));
	sl->nholes--;
}

/* Add the free extent [off, off+len), merging with its neighbours so
 * adjacent holes always become one. Capacity is reserved beforehand. */
void ml_slow_hole_insert(memlane_arena *a, size_t off, size_t len)
{
	struct ml_slow *sl = &a->slow;
	if (len == 0)
		return;
	sl->blob_hole_bytes += len;
	size_t i = hole_search(sl, off);
	bool merge_prev = i > 0 && sl->holes[i - 1].off + sl->holes[i - 1].len == off;
	bool merge_next = i < sl->nholes && off + len == sl->holes[i].off;
	if (merge_prev && merge_next) {
		sl->holes[i - 1].len += len + sl->holes[i].len;
		hole_remove(sl, i);
	} else if (merge_prev) {
		sl->holes[i - 1].len += len;
	} else if (merge_next) {
		sl->holes[i].off = off;
		sl->holes[i].len += len;
	} else {
		memmove(&sl->holes[i + 1], &sl->holes[i], (sl->nholes - i) * sizeof(sl->holes[0]));
		sl->holes[i].off = off;
		sl->holes[i].len = len;
		sl->nholes++;
	}
	/* A hole at the bottom of the blob region goes back to the middle. */
	if (sl->nholes && sl->holes[0].off == sl->blob_bottom) {
		sl->blob_bottom += sl->holes[0].len;
		sl->blob_hole_bytes -= sl->holes[0].len;
		hole_remove(sl, 0);
	}
}

/* ---- blobs --------------------------------------------------------- */

static size_t blob_len(size_t size)
{
	return size ? ml_align_up(size, ML_MIN_ALIGN) : ML_MIN_ALIGN;
}

static int blob_alloc(memlane_arena *a, size_t size, size_t align, bool use_margin, struct ml_place *p)
{
	struct ml_slow *sl = &a->slow;
	size_t len = blob_len(size);
	int rc = ml_slow_holes_reserve(a, sl->nblobs + 4);
	if (rc)
		return rc;

	/* Best fit among the holes, placed at the top of the hole so what
	 * is left stays next to whatever lies below. */
	size_t best = SIZE_MAX, best_waste = SIZE_MAX, best_start = 0;
	for (size_t i = 0; i < sl->nholes; i++) {
		const struct ml_extent *h = &sl->holes[i];
		if (h->len < len)
			continue;
		size_t start = ml_align_down(h->off + h->len - len, align);
		if (start < h->off)
			continue;
		if (h->len - len < best_waste) {
			best = i;
			best_waste = h->len - len;
			best_start = start;
			if (best_waste == 0)
				break;
		}
	}
	/* [off, fresh_end): pages that are likely not resident. From a
	 * hole, a blob of ML_BLOB_RELEASE_MIN or more takes the place of
	 * others given back when they were freed (ml_slow_give_back): all
	 * of it; a smaller one takes resident pages. From the bottom, the
	 * pages below every blob since the middle was last given back. */
	bool big = len >= ML_BLOB_RELEASE_MIN;
	size_t off, fresh_end;
	if (best != SIZE_MAX) {
		struct ml_extent h = sl->holes[best];
		hole_remove(sl, best);
		sl->blob_hole_bytes -= h.len;
		off = best_start;
		fresh_end = big ? off + len : off;
		ml_slow_hole_insert(a, h.off, off - h.off);
		ml_slow_hole_insert(a, off + len, h.off + h.len - (off + len));
	} else {
		size_t reserve = use_margin ? 0 : sl->margin;
		if (sl->blob_bottom < len)
			return MEMLANE_ENOMEM;
		off = ml_align_down(sl->blob_bottom - len, align);
		if (off < sl->block_top || off - sl->block_top < reserve)
			return MEMLANE_ENOMEM;
		size_t old_bottom = sl->blob_bottom;
		sl->blob_bottom = off;
		fresh_end = sl->touched_lo >= off + len ? off + len : sl->touched_lo;
		if (off < sl->touched_lo)
			sl->touched_lo = off;
		ml_slow_hole_insert(a, off + len, old_bottom - (off + len));
	}
	if (sl->blob_slop > sl->blob_hole_bytes)
		sl->blob_slop = sl->blob_hole_bytes;
	if (sl->blob_pin_slop > sl->blob_slop)
		sl->blob_pin_slop = sl->blob_slop;
	/* The program is about to write the blob: its pages in one system
	 * call rather than one fault each. */
	if (fresh_end > off)
		ml_prefault(a, sl->base, off, fresh_end);
	sl->nblobs++;
	sl->blob_reserved += len;
	p->state = MEMLANE_STATE_SLOW;
	p->kind = ML_KIND_BLOB;
	p->cls = 0;
	p->off = off;
	p->cap = len;
	return 0;
}

/* Place @size bytes in the SlowLane: a block when a class fits (and its
 * size keeps the alignment), else a blob. MEMLANE_ENOMEM without a
 * message when there is no room; the caller compacts or reports. */
int ml_slow_alloc(memlane_arena *a, size_t size, size_t align, bool use_margin, struct ml_place *p)
{
	if (size <= ML_BLOCK_MAX_SIZE) {
		unsigned cls = ml_class_of(size);
		if (ml_class_size(cls) % align == 0 && block_alloc(a, cls, use_margin, p) == 0)
			return 0;
	}
	if (size > a->slow.size)
		return MEMLANE_ENOMEM;
	return blob_alloc(a, size, align, use_margin, p);
}

/* Give back the place @s names (from the lane's own alloc: its
 * offset, kind, class and extent). */
void ml_slow_free(memlane_arena *a, const struct ml_place *s)
{
	struct ml_slow *sl = &a->slow;
	if (s->kind == ML_KIND_BLOCK) {
		size_t si = s->off / ML_SLAB_SIZE;
		size_t cs = ml_class_size(s->cls);
		sl->block_reserved -= cs;
		ml_slow_block_push(a, si, (uint32_t)((s->off % ML_SLAB_SIZE) / cs));
	} else {
		sl->nblobs--;
		sl->blob_reserved -= s->cap;
		ml_slow_hole_insert(a, s->off, s->cap);
	}
}

/* The pages of the free middle [block_top, blob_bottom) that may be
 * resident, as two ranges that do not overlap: [block_top, *hi), below
 * the highest block_top since the middle was last given back, and [*lo,
 * blob_bottom), above the lowest blob_bottom since. When those two
 * meet, the first is all of the middle and the second empty. */
static void middle_marks(const struct ml_slow *sl, size_t *hi, size_t *lo)
{
	*hi = sl->touched_hi < sl->blob_bottom ? sl->touched_hi : sl->blob_bottom;
	*lo = sl->touched_lo > sl->block_top ? sl->touched_lo : sl->block_top;
	if (*hi >= *lo)
		*hi = *lo = sl->blob_bottom;
}

/* Bytes of the free middle that may be resident. */
static size_t middle_resident(const struct ml_slow *sl)
{
	size_t hi, lo;
	middle_marks(sl, &hi, &lo);
	return (hi > sl->block_top ? hi - sl->block_top : 0) + (sl->blob_bottom - lo);
}

/* Give back the pages of the free middle that may be resident, but for
 * @keep bytes next to each region (the next slab or blob takes those
 * at once). Only the middle: the touched marks can lie inside a region
 * that grew back over them since (blobs freed, then slabs grown up, or
 * the other way), and those pages hold live objects. What grows past
 * the kept bytes is prefaulted again (slab_new, blob_alloc). */
void ml_slow_release_middle(memlane_arena *a, size_t keep)
{
	struct ml_slow *sl = &a->slow;
	size_t hi, lo;
	middle_marks(sl, &hi, &lo);
	size_t up = sl->blob_bottom - sl->block_top > keep ? sl->block_top + keep : sl->blob_bottom;
	size_t down = sl->blob_bottom - up > keep ? sl->blob_bottom - keep : up;
	if (hi > up)
		a->ctr.released_bytes += ml_os_release(sl->base, up, hi < down ? hi : down);
	if (lo < down)
		a->ctr.released_bytes += ml_os_release(sl->base, lo > up ? lo : up, down);
	if (sl->touched_hi > up)
		sl->touched_hi = up;
	if (sl->touched_lo < down)
		sl->touched_lo = down;
}

/* The program freed (or moved) the object that was at @p. A large blob
 * extent's pages go back at once, as glibc unmaps a large chunk on
 * free; and once ML_TRIM_MIN bytes of the free middle may be resident
 * (slabs emptied at the top of the block region, blobs freed at the
 * bottom of theirs), the middle goes back but for ML_TRIM_KEEP bytes
 * next to each region, as glibc trims the top of its heap. (Giving back
 * all of it at 128 KiB made a gcc-cc1 replay 5-10 % slower: the block
 * region's top went up and down across it, and each time the next slab
 * was populated again.) Not for evictions and promotions: they make
 * room for an object that takes the pages at once, and giving them
 * back would cost it a page fault each (a 64 KiB fault-in 40 -> 64
 * us). */
void ml_slow_give_back(memlane_arena *a, const struct ml_place *p)
{
	struct ml_slow *sl = &a->slow;
	if (p->state != MEMLANE_STATE_SLOW)
		return;
	if (p->kind == ML_KIND_BLOB && p->cap >= ML_BLOB_RELEASE_MIN) {
		size_t given = ml_os_release(sl->base, p->off, p->off + p->cap);
		a->ctr.released_bytes += given;
		/* The lowest blob since the middle was last given back:
		 * nothing below its end is resident now, so a blob placed
		 * there again is prefaulted (blob_alloc). */
		if (given && p->off == sl->touched_lo)
			sl->touched_lo = p->off + p->cap < sl->blob_bottom ? p->off + p->cap : sl->blob_bottom;
	}
	if (middle_resident(sl) >= ML_TRIM_MIN)
		ml_slow_release_middle(a, ML_TRIM_KEEP);
}

/* A blob shrunk in place (memlane_realloc found no room to move it)
 * gives back its extent past @size, so the space is not held by a much
 * smaller object. The tail becomes one hole (or joins the one above):
 * holes stay within what blob_alloc reserved. */
void ml_slow_blob_trim(memlane_arena *a, struct ml_stub *s, size_t size)
{
	struct ml_slow *sl = &a->slow;
	size_t len = blob_len(size);
	if (s->kind != ML_KIND_BLOB || len >= ml_ext(a, s)->cap)
		return;
	size_t cap = ml_ext(a, s)->cap;
	sl->blob_reserved -= cap - len;
	ml_slow_hole_insert(a, s->off + len, cap - len);
	ml_ext(a, s)->cap = len;
}

/* Bytes compaction could win back: blob holes, empty slabs, and the
 * slabs a class holds beyond what its live blocks need. */
size_t ml_slow_reclaimable(const memlane_arena *a)
{
	const struct ml_slow *sl = &a->slow;
	size_t blob = sl->blob_hole_bytes > sl->blob_slop ? sl->blob_hole_bytes - sl->blob_slop : 0;
	size_t r = blob + sl->nfree_slabs * ML_SLAB_SIZE;
	for (unsigned c = 0; c < ML_NCLASSES; c++) {
		if (!sl->cls_slabs[c])
			continue;
		size_t per = blocks_per_slab(c);
		size_t need = (size_t)((sl->cls_used[c] + per - 1) / per);
		if (sl->cls_slabs[c] > need)
			r += (sl->cls_slabs[c] - need) * ML_SLAB_SIZE;
	}
	return r;
}

/* A blob lost its last pin: the gaps the last compaction had to leave
 * above pinned blobs may close now, so count them as reclaimable again
 * (otherwise a full lane would refuse to compact after the pins go). */
void ml_slow_blob_unpinned(memlane_arena *a)
{
	struct ml_slow *sl = &a->slow;
	sl->blob_slop -= sl->blob_pin_slop;
	sl->blob_pin_slop = 0;
}

/* Free bytes inside the two regions, whether or not compaction can win
 * them back: free blocks of class slabs, empty slabs and blob holes. */
size_t ml_slow_hole_bytes(const memlane_arena *a)
{
	const struct ml_slow *sl = &a->slow;
	size_t r = sl->blob_hole_bytes + sl->nfree_slabs * ML_SLAB_SIZE;
	for (unsigned c = 0; c < ML_NCLASSES; c++)
		if (sl->cls_slabs[c])
			r += (sl->cls_slabs[c] * blocks_per_slab(c) - sl->cls_used[c]) * ml_class_size(c);
	return r;
}

/* Whether compaction could make room for @size bytes: compaction turns
 * the reclaimable bytes into free middle, which must then hold the
 * object (and, for user allocations, the safety margin). Keeps a full
 * lane of live objects from being slid around on every failed call. */
bool ml_slow_compaction_helps(const memlane_arena *a, size_t size, size_t align, bool use_margin)
{
	const struct ml_slow *sl = &a->slow;
	size_t middle = sl->blob_bottom - sl->block_top + ml_slow_reclaimable(a);
	size_t need = blob_len(size) + align + (use_margin ? 0 : sl->margin);
	return middle >= need;
}

double ml_slow_fragmentation(const memlane_arena *a)
{
	const struct ml_slow *sl = &a->slow;
	size_t regions = sl->block_top + (sl->size - sl->blob_bottom);
	return regions ? (double)ml_slow_hole_bytes(a) / (double)regions : 0.0;
}
