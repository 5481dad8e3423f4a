/* debug.c - memlane_debug_dump: each lane drawn as a one-line map, then
 * every object. Read-only: takes the lock, touches nothing. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ML_MAP_CELLS 64

struct ml_map {
	double live[ML_MAP_CELLS]; /* object bytes per cell */
	bool pinned[ML_MAP_CELLS];
};

/* Spread the extent [off, off+len) over the cells of a lane of @size. */
static void map_add(struct ml_map *m, size_t size, uint64_t off, uint64_t len, bool pinned)
{
	double cell = (double)size / ML_MAP_CELLS;
	uint64_t end = off + len;
	for (size_t c = (size_t)((double)off / cell); c < ML_MAP_CELLS && (double)c * cell < (double)end; c++) {
		double lo = (double)c * cell, hi = lo + cell;
		double a = (double)off > lo ? (double)off : lo, b = (double)end < hi ? (double)end : hi;
		if (b > a)
			m->live[c] += b - a;
		if (pinned)
			m->pinned[c] = true;
	}
}

/* '#' mostly used, '+' partly used, '_' hole inside a region, '.' free,
 * 'P' holds a pinned object. @in_region tells whether a cell lies in
 * space the lane has handed out (below the top, or in a region). */
static void map_print(FILE *f, const char *name, const struct ml_map *m, size_t size, bool (*in_region)(const memlane_arena *, size_t, size_t),
                      const memlane_arena *a)
{
	double cell = (double)size / ML_MAP_CELLS;
	fprintf(f, "%-9s [", name);
	for (size_t c = 0; c < ML_MAP_CELLS; c++) {
		size_t lo = (size_t)((double)c * cell), hi = (size_t)((double)(c + 1) * cell);
		char ch = '.';
		if (m->pinned[c])
			ch = 'P';
		else if (m->live[c] >= 0.75 * cell)
			ch = '#';
		else if (m->live[c] > 0)
			ch = '+';
		else if (in_region(a, lo, hi))
			ch = '_';
		fputc(ch, f);
	}
	fputs("]\n", f);
}

static bool fast_in_region(const memlane_arena *a, size_t lo, size_t hi)
{
	(void)hi;
	return lo < a->fast.top;
}

static bool slow_in_region(const memlane_arena *a, size_t lo, size_t hi)
{
	return lo < a->slow.block_top || hi > a->slow.blob_bottom;
}

static const char *state_name(uint8_t st)
{
	switch (st) {
	case MEMLANE_STATE_FAST:
		return "fast";
	case MEMLANE_STATE_SLOW:
		return "slow";
	case MEMLANE_STATE_SPILLED:
		return "spilled";
	default:
		return "invalid";
	}
}

int memlane_debug_dump(memlane_arena *a, FILE *f)
{
	if (!a || !f)
		return ml_err(MEMLANE_EINVAL, "memlane_debug_dump: %s is NULL", a ? "f" : "arena");
	struct ml_map *fm = calloc(2, sizeof(*fm));
	if (!fm)
		return ml_err(MEMLANE_ENOMEM, "memlane_debug_dump: out of memory");
	struct ml_map *sm = fm + 1;
	char b1[32], b2[32], b3[32], b4[32], b5[32];
	ml_lock(a);
	for (uint32_t i = 0; i < a->nslots; i++) {
		const struct ml_stub *s = &a->stubs[i];
		if (s->state == MEMLANE_STATE_FAST)
			map_add(fm, a->fast.size, s->off, ml_stub_cap(a, s), s->pins > 0);
		else if (s->state == MEMLANE_STATE_SLOW)
			map_add(sm, a->slow.size, s->off, ml_stub_cap(a, s), s->pins > 0);
	}
	fprintf(f, "memlane arena %u: %" PRIu64 " objects, tick %" PRIu64 "\n", a->id, a->objects, a->tick);
	int usable = ml_bias_usable();
	fprintf(f,
	        "lock: bias %s, %s now, %" PRIu64 " withdrawn; found held %" PRIu64 " times, then taken spinning %" PRIu64
	        ", after naps %" PRIu64 ", after sleeping %" PRIu64 "\n",
	        usable > 0 ? "available" : "unavailable",
	        atomic_load_explicit(&a->bias, memory_order_relaxed) ? "biased to one thread" : "not biased",
	        a->ctr_bias_revoked, a->ctr_lock_waits[0] + a->ctr_lock_waits[1] + a->ctr_lock_waits[2],
	        a->ctr_lock_waits[ML_GOT_SPINNING], a->ctr_lock_waits[ML_GOT_NAPPING], a->ctr_lock_waits[ML_GOT_SLEEPING]);
	fprintf(f, "map: 64 cells a lane; '#' used, '+' partly used, '_' hole, '.' free, 'P' pinned\n");
	map_print(f, "FastLane", fm, a->fast.size, fast_in_region, a);
	fprintf(f, "          %s mapped, top %s, %s in objects, %s in holes (%.1f%% fragmented)\n",
	        ml_fmt_size(b1, sizeof(b1), a->fast.size), ml_fmt_size(b2, sizeof(b2), a->fast.top),
	        ml_fmt_size(b3, sizeof(b3), a->fast.reserved_bytes), ml_fmt_size(b4, sizeof(b4), a->fast.free_bytes),
	        100.0 * ml_fast_fragmentation(a));
	map_print(f, "SlowLane", sm, a->slow.size, slow_in_region, a);
	fprintf(f, "          %s mapped, block region %s (%zu free slabs), blob region %s (%zu holes, %s), "
	           "safety margin %s, %.1f%% fragmented\n",
	        ml_fmt_size(b1, sizeof(b1), a->slow.size), ml_fmt_size(b2, sizeof(b2), a->slow.block_top),
	        a->slow.nfree_slabs, ml_fmt_size(b3, sizeof(b3), a->slow.size - a->slow.blob_bottom), a->slow.nholes,
	        ml_fmt_size(b4, sizeof(b4), a->slow.blob_hole_bytes), ml_fmt_size(b5, sizeof(b5), a->slow.margin),
	        100.0 * ml_slow_fragmentation(a));
	fprintf(f, "%-18s %-7s %12s %12s %10s %8s %5s\n", "handle", "state", "offset", "size", "tag", "age", "pins");
	for (uint32_t i = 0; i < a->nslots; i++) {
		const struct ml_stub *s = &a->stubs[i];
		if (s->state == MEMLANE_STATE_INVALID)
			continue;
		char off[24] = "-"; /* a spilled object has no lane offset */
		if (s->state != MEMLANE_STATE_SPILLED)
			snprintf(off, sizeof(off), "%" PRIu64, s->off);
		fprintf(f, "0x%016" PRIx64 " %-7s %12s %12" PRIu64 " %10" PRIu32 " %8" PRIu32 " %5u\n",
		        ml_handle_make(a, i), state_name(s->state), off, (uint64_t)s->size, ml_stub_tag(a, s),
		        ml_stub_age(a, s), (unsigned)s->pins);
	}
	ml_unlock(a);
	free(fm);
	return ferror(f) ? ml_err(MEMLANE_EINVAL, "memlane_debug_dump: write failed") : 0;
}
