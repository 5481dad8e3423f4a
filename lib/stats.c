/* stats.c - statistics: counters kept as the arena works, gauges
 * computed from the lanes when asked, and their printing as text or
 * JSON together with the options in effect. One field list (below)
 * drives both printed forms. */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Every memlane_stats field, in print order: X(name, is_double). */
#define ML_STATS_FIELDS(X)                                                                                             \
	X(objects, 0)                                                                                                  \
	X(fast_objects, 0)                                                                                             \
	X(slow_objects, 0)                                                                                             \
	X(spilled_objects, 0)                                                                                          \
	X(pinned_objects, 0)                                                                                           \
	X(handle_slots, 0)                                                                                             \
	X(retired_slots, 0)                                                                                            \
	X(fast_lane_size, 0)                                                                                           \
	X(fast_used_bytes, 0)                                                                                          \
	X(fast_reserved_bytes, 0)                                                                                      \
	X(fast_free_bytes, 0)                                                                                          \
	X(fast_top_bytes, 0)                                                                                           \
	X(fast_fragmentation, 1)                                                                                       \
	X(slow_lane_size, 0)                                                                                           \
	X(slow_used_bytes, 0)                                                                                          \
	X(slow_reserved_bytes, 0)                                                                                      \
	X(slow_block_region_bytes, 0)                                                                                  \
	X(slow_blob_region_bytes, 0)                                                                                   \
	X(slow_free_bytes, 0)                                                                                          \
	X(slow_hole_bytes, 0)                                                                                          \
	X(slow_fragmentation, 1)                                                                                       \
	X(slow_usage, 1)                                                                                               \
	X(allocs, 0)                                                                                                   \
	X(frees, 0)                                                                                                    \
	X(reallocs, 0)                                                                                                 \
	X(fallbacks, 0)                                                                                                \
	X(promotions, 0)                                                                                               \
	X(compactions, 0)                                                                                              \
	X(moved_objects, 0)                                                                                            \
	X(moved_bytes, 0)                                                                                              \
	X(released_bytes, 0)                                                                                           \
	X(prefaulted_bytes, 0)                                                                                         \
	X(ticks, 0)                                                                                                    \
	X(maintenance_runs, 0)                                                                                         \
	X(evictions, 0)                                                                                                \
	X(faults, 0)                                                                                                   \
	X(clean_evictions, 0)                                                                                          \
	X(dirty_evictions, 0)                                                                                          \
	X(store_bytes, 0)                                                                                              \
	X(spilled_bytes, 0)                                                                                            \
	X(checkpoints, 0)

static void stats_fill(memlane_arena *a, memlane_stats *st)
{
	const struct ml_fast *f = &a->fast;
	const struct ml_slow *sl = &a->slow;
	*st = a->ctr;
	st->objects = a->objects;
	st->fast_objects = a->fast_objects;
	st->slow_objects = a->slow_objects;
	st->spilled_objects = a->spilled;
	st->spilled_bytes = a->spilled_bytes;
	st->store_bytes = a->store ? ml_store_bytes(a->store) : 0;
	st->pinned_objects = a->pinned;
	st->handle_slots = a->nslots;
	st->retired_slots = a->retired_slots;

	st->fast_lane_size = f->size;
	st->fast_used_bytes = f->used_bytes;
	st->fast_reserved_bytes = f->reserved_bytes;
	st->fast_free_bytes = f->free_bytes;
	st->fast_top_bytes = f->top;
	st->fast_fragmentation = ml_fast_fragmentation(a);

	size_t reserved = sl->block_reserved + sl->blob_reserved;
	st->slow_lane_size = sl->size;
	st->slow_used_bytes = sl->used_bytes;
	st->slow_reserved_bytes = reserved;
	st->slow_block_region_bytes = sl->block_top;
	st->slow_blob_region_bytes = sl->size - sl->blob_bottom;
	st->slow_free_bytes = sl->size - reserved;
	st->slow_hole_bytes = ml_slow_hole_bytes(a);
	st->slow_fragmentation = ml_slow_fragmentation(a);
	st->slow_usage = (double)reserved / (double)sl->size;
}

int memlane_stats_get(memlane_arena *a, memlane_stats *st)
{
	if (!a || !st)
		return ml_err(MEMLANE_EINVAL, "memlane_stats_get: %s is NULL", a ? "st" : "arena");
	ml_lock(a);
	stats_fill(a, st);
	ml_unlock(a);
	return 0;
}

#define ML_PRINT_TEXT(name, dbl)                                                                                       \
	if (dbl)                                                                                                       \
		fprintf(f, "%-24s %.4f\n", #name, (double)st.name);                                                    \
	else                                                                                                           \
		fprintf(f, "%-24s %llu\n", #name, (unsigned long long)st.name);
#define ML_PRINT_JSON(name, dbl)                                                                                       \
	if (dbl)                                                                                                       \
		fprintf(f, "%s    \"%s\": %.6f", sep, #name, (double)st.name);                                         \
	else                                                                                                           \
		fprintf(f, "%s    \"%s\": %llu", sep, #name, (unsigned long long)st.name);                             \
	sep = ",\n";

int memlane_stats_print(memlane_arena *a, FILE *f, int json)
{
	if (!a || !f)
		return ml_err(MEMLANE_EINVAL, "memlane_stats_print: %s is NULL", a ? "f" : "arena");
	memlane_stats st;
	memlane_config cfg;
	ml_lock(a);
	stats_fill(a, &st);
	cfg = a->cfg;
	ml_unlock(a);
	if (json) {
		const char *sep = "";
		fputs("{\n  \"stats\": {\n", f);
		ML_STATS_FIELDS(ML_PRINT_JSON)
		fputs("\n  },\n  \"options\": {\n", f);
		ml_config_print_to(&cfg, f, 1, "    ");
		fputs("  }\n}\n", f);
	} else {
		ML_STATS_FIELDS(ML_PRINT_TEXT)
		ml_config_print_to(&cfg, f, 0, "option ");
	}
	return ferror(f) ? ml_err(MEMLANE_EINVAL, "memlane_stats_print: write failed: %s", strerror(errno)) : 0;
}
