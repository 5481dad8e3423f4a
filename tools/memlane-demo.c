/* memlane-demo.c - a guided tour of libmemlane for a newcomer, run right
 * after building (`./tools/memlane-demo [SPILL_DIR]`).
 *
 * It opens a small arena that spills to SPILL_DIR (or to a new
 * directory memlane-demo-XXXXXX in $TMPDIR or /tmp) with persist=1,
 * allocates FastLane and SlowLane objects filled with checksummed
 * patterns, frees some to leave holes, pins one, compacts, promotes by
 * hand and by age, and shows the lanes' map while the objects are few.
 * Then it fills the 4M SlowLane twice over, mostly with text-like bytes
 * that compress, so that the pager evicts objects to the store; names
 * every object from an index object with a root; evicts by hand, shows
 * that memlane_try_get refuses a spilled object and that memlane_read
 * faults it back in; checkpoints and prints the statistics. Last it
 * closes the arena, opens the directory again and checks every object,
 * reached through the root, under the handle it had. Every object is
 * checked byte for byte after each step that may move or spill data.
 * It ends with "demo: N objects verified, M mismatches" and where the
 * store was left.
 *
 * Exit status: 0 when every object verified, 1 on a mismatch or an
 * error (printed with memlane_errmsg()). Not installed. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memlane.h"

#define PROG "memlane-demo"

/* Small lanes keep the output short and make the lane maps of
 * memlane_debug_dump (64 cells a lane) show the objects: a FastLane
 * cell is 1 KiB, a SlowLane cell one 64 KiB slab; a few megabytes of
 * objects are then enough to make the pager spill. The short promotion
 * age lets a few ticks show the one-way lane at work. persist=1 keeps
 * the store after close, to reopen and to inspect; store_sync=checkpoint
 * makes only checkpoints durable, so the evictions along the way cost no
 * fsync each (a system crash would return to the last checkpoint). */
#define PROMOTION_AGE 4
#define STR_(x) #x
#define STR(x) STR_(x)
#define DEMO_OPTIONS                                                                                                   \
	"fast_lane_size=64K,slow_lane_size=4M,threshold=1K,promotion_age=" STR(PROMOTION_AGE) ",persist=1,"            \
	"store_sync=checkpoint"

/* Below the 1K threshold: FastLane. At or above it: SlowLane (block
 * region up to 16K, blob region beyond). */
static const size_t small_sizes[] = {24, 40, 64, 100, 128, 200, 256, 333, 512, 700, 880, 1000};
static const size_t large_sizes[] = {1500, 4096, 12000, 20000, 65536, 200000};

/* The objects that fill the SlowLane past its size: block-region
 * sizes and a few blobs, 12.6 KiB on average, 8 MiB in all. */
static const size_t bulk_sizes[] = {1500, 2500, 4096, 6000, 8192, 12000, 16000, 24000, 40000};

#define NSMALL (2 * sizeof(small_sizes) / sizeof(small_sizes[0]))
#define NLARGE (sizeof(large_sizes) / sizeof(large_sizes[0]))
#define NYOUNG 4 /* small objects allocated halfway through the ticks */
#define NBULK 640
#define BULK_TAG 1000 /* tags of the bulk objects: 1000 and up */
#define MAXOBJS (NSMALL + NLARGE + NYOUNG + NBULK)
#define MAXSIZE 200000

/* One object as the demo wrote it: what it must read back as. */
struct demo_obj {
	memlane_handle h; /* MEMLANE_NULL once freed */
	size_t size;
	uint64_t seed; /* of the byte pattern written */
	uint64_t sum;  /* FNV-1a of the bytes as written */
	uint32_t tag;
	int text; /* text-like bytes (fill_text), else fill_pattern's */
	int bad;  /* found damaged already: reported and counted once */
};

struct demo {
	memlane_arena *a;
	const char *dir; /* the spill directory */
	struct demo_obj obj[MAXOBJS];
	size_t nobj;
	struct demo_obj *pinned; /* the pinned object, NULL when none */
	void *pinned_at;         /* its address, which must never change */
	memlane_handle index;  /* the object the root names */
	unsigned char *want, *got; /* MAXSIZE-byte scratch buffers */
	size_t mismatches; /* damaged objects and other differences found */
};

/* ---- reporting ------------------------------------------------------ */

/* Print which call failed and why (memlane_errmsg names the culprit);
 * returns @rc so callers can `return failed(...)`. */
static int failed(const char *call, int rc)
{
	fprintf(stderr, PROG ": %s failed: %s (%d): %s\n", call, memlane_strerror(rc), rc, memlane_errmsg());
	return rc;
}

/* For calls that return a pointer or a count rather than a code. */
static int failed_msg(const char *call)
{
	fprintf(stderr, PROG ": %s failed: %s\n", call, memlane_errmsg());
	return MEMLANE_EINVAL;
}

/* Count and describe a difference that is not in an object's bytes (a
 * pinned object that moved, a lane, a root). */
static void __attribute__((format(printf, 2, 3))) problem(struct demo *d, const char *fmt, ...)
{
	va_list ap;
	d->mismatches++;
	fputs(PROG ": MISMATCH ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int get_stats(memlane_arena *a, memlane_stats *st)
{
	int rc = memlane_stats_get(a, st);
	return rc ? failed("memlane_stats_get", rc) : 0;
}

/* ---- patterns and checksums ----------------------------------------- */

/* splitmix64: a different, reproducible word for every (seed, index). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* The bytes object @seed holds: byte i comes from word i / 8, so
 * neighbouring objects and shifted copies all differ. */
static void fill_pattern(uint64_t seed, unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(mix64(seed ^ (i / 8)) >> (8 * (i % 8)));
}

/* Text-like bytes for object @seed: words of a small vocabulary in a
 * seeded order, a line every few words, as logs or documents have.
 * zstd shrinks them several times; fill_pattern's bytes not at all. */
static void fill_text(uint64_t seed, unsigned char *buf, size_t len)
{
	static const char *const words[] = {
		"the",    "of",     "and",   "to",     "lane",   "arena",  "handle", "object", "spill",  "fault",  "pin",
		"slab",   "blob",   "tick",  "root",   "store",  "record", "bytes",  "cold",   "warm",   "page",   "disk",
		"frame",  "size",   "tag",   "free",   "alloc",  "moved",  "kept",   "evicts", "reads",  "writes"};
	size_t i = 0;
	for (uint64_t k = 0; i < len; k++) {
		uint64_t r = mix64(seed + k);
		for (const char *w = words[r % 32]; *w && i < len; w++)
			buf[i++] = (unsigned char)*w;
		if (i < len)
			buf[i++] = (r >> 8) % 8 == 0 ? '\n' : ' ';
	}
}

/* The bytes object @o was given. */
static void fill_object(const struct demo_obj *o, unsigned char *buf)
{
	if (o->text)
		fill_text(o->seed, buf, o->size);
	else
		fill_pattern(o->seed, buf, o->size);
}

static uint64_t fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

/* ---- steps ---------------------------------------------------------- */

/* Open the arena on d->dir with the demo's options. */
static int open_arena(struct demo *d)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	int rc = memlane_config_parse(&cfg, DEMO_OPTIONS);
	if (rc)
		return failed("memlane_config_parse", rc);
	if ((rc = memlane_open(&d->a, d->dir, &cfg)) != 0)
		return failed("memlane_open", rc);
	return 0;
}

/* The first open: the directory must not hold an arena already (an
 * earlier run's, say), whose objects the demo knows nothing of. */
static int open_new(struct demo *d)
{
	memlane_stats st;
	int rc = open_arena(d);
	if (rc || (rc = get_stats(d->a, &st)) != 0)
		return rc;
	if (st.objects) {
		fprintf(stderr, PROG ": %s holds a persistent arena of %" PRIu64 " objects already; give a new or empty "
		                "directory\n", d->dir, st.objects);
		return MEMLANE_EEXIST;
	}
	printf("opened arena, spilling to %s:\n  %s\n", d->dir, DEMO_OPTIONS);
	return 0;
}

/* Allocate one object tagged @tag, fill it through memlane_get (with
 * text-like bytes when @text) and remember what it must read back as. */
static int add_object(struct demo *d, size_t size, uint32_t tag, int text)
{
	struct demo_obj *o = &d->obj[d->nobj];
	memlane_alloc_opts opts = {0, 0, tag};
	int rc = memlane_alloc_ex(d->a, size, &opts, &o->h);
	if (rc)
		return failed("memlane_alloc_ex", rc);
	unsigned char *p = memlane_get(d->a, o->h); /* valid until the next call on the arena */
	if (!p)
		return failed_msg("memlane_get");
	o->size = size;
	o->tag = tag;
	o->text = text;
	o->seed = mix64(o->h ^ 0x64656d6fu); /* "demo" */
	fill_object(o, p);
	o->sum = fnv1a(p, size);
	d->nobj++;
	return 0;
}

static const char *lane_name(memlane_state st)
{
	return st == MEMLANE_STATE_FAST      ? "FastLane"
	       : st == MEMLANE_STATE_SLOW    ? "SlowLane"
	       : st == MEMLANE_STATE_SPILLED ? "store"
	                                     : "nowhere";
}

/* Count and describe a difference in object @o, once per object: an
 * object found damaged after one step stays damaged after the next, and
 * is one mismatch. Returns 1, verify_one's "mismatch". */
static int __attribute__((format(printf, 3, 4))) object_mismatch(struct demo *d, struct demo_obj *o, const char *fmt, ...)
{
	va_list ap;
	if (o->bad)
		return 1;
	o->bad = 1;
	d->mismatches++;
	fprintf(stderr, PROG ": MISMATCH handle 0x%016" PRIx64 " (tag %" PRIu32 ", %zu bytes): ", o->h, o->tag, o->size);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Check one object byte for byte (memlane_read) and by checksum through
 * its pointer (memlane_get_ro), plus its size and tag. Returns 0, 1 for
 * a mismatch (reported), or a negative error code (reported). */
static int verify_one(struct demo *d, struct demo_obj *o)
{
	size_t size = memlane_size(d->a, o->h);
	uint32_t tag = memlane_tag(d->a, o->h);
	if (size != o->size || tag != o->tag)
		return object_mismatch(d, o, "size %zu and tag %" PRIu32 " now", size, tag);
	int rc = memlane_read(d->a, o->h, 0, d->got, o->size);
	if (rc)
		return failed("memlane_read", rc);
	fill_object(o, d->want);
	for (size_t i = 0; i < o->size; i++)
		if (d->got[i] != d->want[i])
			return object_mismatch(d, o, "byte %zu reads 0x%02x, 0x%02x was written", i, d->got[i], d->want[i]);
	const void *p = memlane_get_ro(d->a, o->h);
	if (!p)
		return failed_msg("memlane_get_ro");
	if (fnv1a(p, o->size) != o->sum)
		return object_mismatch(d, o, "checksum through memlane_get_ro differs");
	return 0;
}

/* Verify every live object after a step and say so in one line.
 * Reading a spilled object faults it back in, which may evict others. */
static int verify_step(struct demo *d, const char *after)
{
	memlane_stats before, now;
	size_t n = 0, bad = 0;
	int rc = get_stats(d->a, &before);
	if (rc)
		return rc;
	for (size_t i = 0; i < d->nobj; i++) {
		if (d->obj[i].h == MEMLANE_NULL)
			continue;
		if ((rc = verify_one(d, &d->obj[i])) < 0)
			return rc;
		bad += (size_t)rc;
		n++;
	}
	if ((rc = get_stats(d->a, &now)) != 0)
		return rc;
	if (bad == 0)
		printf("  after %s: all %zu objects read back byte for byte", after, n);
	else
		printf("  after %s: %zu of %zu objects DIFFER from what was written", after, bad, n);
	if (now.faults != before.faults)
		printf(",\n    %" PRIu64 " of them faulted back in from the store to be read", now.faults - before.faults);
	printf("\n");
	return 0;
}

static int allocate_mix(struct demo *d)
{
	int rc;
	size_t nsmall = sizeof(small_sizes) / sizeof(small_sizes[0]);
	for (size_t i = 0; i < NSMALL; i++)
		if ((rc = add_object(d, small_sizes[i % nsmall], (uint32_t)(100 + i), 0)) != 0)
			return rc;
	for (size_t i = 0; i < NLARGE; i++)
		if ((rc = add_object(d, large_sizes[i], (uint32_t)(200 + i), 0)) != 0)
			return rc;
	size_t fast = 0, slow = 0;
	for (size_t i = 0; i < d->nobj; i++) {
		memlane_state st = memlane_handle_state(d->a, d->obj[i].h);
		fast += st == MEMLANE_STATE_FAST;
		slow += st == MEMLANE_STATE_SLOW;
	}
	printf("allocated %zu objects, each filled with its own pattern: %zu in the FastLane (below 1K, tags 1xx),\n"
	       "  %zu in the SlowLane (tags 2xx)\n",
	       d->nobj, fast, slow);
	return verify_step(d, "allocation");
}

/* Free every third small object and two large ones: holes in both lanes. */
static int fragment(struct demo *d)
{
	static const size_t large_victims[] = {1, 3}; /* 4096 B block, 20000 B blob */
	size_t freed = 0;
	int rc;
	for (size_t i = 0; i < NSMALL; i += 3, freed++) {
		if ((rc = memlane_free(d->a, d->obj[i].h)) != 0)
			return failed("memlane_free", rc);
		d->obj[i].h = MEMLANE_NULL;
	}
	for (size_t k = 0; k < sizeof(large_victims) / sizeof(large_victims[0]); k++, freed++) {
		struct demo_obj *o = &d->obj[NSMALL + large_victims[k]];
		if ((rc = memlane_free(d->a, o->h)) != 0)
			return failed("memlane_free", rc);
		o->h = MEMLANE_NULL;
	}
	memlane_stats st;
	if ((rc = get_stats(d->a, &st)) != 0)
		return rc;
	printf("freed %zu objects to leave holes: FastLane %.1f%% fragmented, SlowLane %.1f%%\n", freed,
	       100 * st.fast_fragmentation, 100 * st.slow_fragmentation);
	return 0;
}

/* Pin a small object low in the FastLane, above a hole, so compaction
 * would move it if it could; its address must not change from now on.
 * (Compaction slides objects down in address order and none passes a
 * pinned one: a pinned object near the top would keep the holes.) */
static int pin_one(struct demo *d)
{
	struct demo_obj *o = &d->obj[4];
	int rc = memlane_pin(d->a, o->h, &d->pinned_at);
	if (rc)
		return failed("memlane_pin", rc);
	d->pinned = o;
	printf("pinned object 0x%016" PRIx64 " (tag %" PRIu32 ") at %p: it stays there until unpinned\n", o->h, o->tag,
	       d->pinned_at);
	return 0;
}

/* The pinned object must be where it was, and the pointer pinning gave
 * must still reach its bytes. (Pins nest: this pin and unpin leave the
 * first pin in place.) */
static int check_pinned(struct demo *d)
{
	struct demo_obj *o = d->pinned;
	void *now;
	int rc = memlane_pin(d->a, o->h, &now);
	if (rc)
		return failed("memlane_pin", rc);
	if ((rc = memlane_unpin(d->a, o->h)) != 0)
		return failed("memlane_unpin", rc);
	if (now != d->pinned_at) {
		problem(d, "pinned object 0x%016" PRIx64 " moved from %p to %p", o->h, d->pinned_at, now);
		d->pinned_at = now; /* one move, one mismatch */
	}
	if (fnv1a(d->pinned_at, o->size) != o->sum)
		object_mismatch(d, o, "checksum through the pinned pointer differs");
	return 0;
}

static int compact(struct demo *d)
{
	memlane_stats before, after;
	int rc = get_stats(d->a, &before);
	if (rc)
		return rc;
	if ((rc = memlane_compact(d->a)) != 0)
		return failed("memlane_compact", rc);
	if ((rc = get_stats(d->a, &after)) != 0 || (rc = check_pinned(d)) != 0)
		return rc;
	printf("memlane_compact: %" PRIu64 " objects slid together (%" PRIu64 " bytes); FastLane now %.1f%% "
	       "fragmented, SlowLane %.1f%%; handles unchanged, the pinned object did not move\n",
	       after.moved_objects - before.moved_objects, after.moved_bytes - before.moved_bytes,
	       100 * after.fast_fragmentation, 100 * after.slow_fragmentation);
	return verify_step(d, "compaction");
}

/* Promote the first three live, unpinned FastLane objects by hand. */
static int promote_some(struct demo *d)
{
	size_t n = 0;
	for (size_t i = 0; i < NSMALL && n < 3; i++) {
		struct demo_obj *o = &d->obj[i];
		if (o->h == MEMLANE_NULL || o == d->pinned)
			continue;
		int rc = memlane_promote(d->a, o->h);
		if (rc)
			return failed("memlane_promote", rc);
		memlane_state st = memlane_handle_state(d->a, o->h);
		printf("memlane_promote 0x%016" PRIx64 " (tag %" PRIu32 ", %zu B): now in the %s\n", o->h, o->tag, o->size,
		       lane_name(st));
		if (st != MEMLANE_STATE_SLOW)
			problem(d, "promoted object 0x%016" PRIx64 " is not in the SlowLane", o->h);
		n++;
	}
	return verify_step(d, "promotion");
}

static int tick(struct demo *d, unsigned times)
{
	for (unsigned i = 0; i < times; i++) {
		int rc = memlane_tick(d->a);
		if (rc)
			return failed("memlane_tick", rc);
	}
	return 0;
}

/* Tick halfway to promotion_age, allocate a few young objects, tick the
 * rest of the way: the old FastLane objects move to the SlowLane, the
 * young ones (and the pinned one) stay. */
static int age(struct demo *d)
{
	memlane_stats before, after;
	size_t nsmall = sizeof(small_sizes) / sizeof(small_sizes[0]);
	int rc = get_stats(d->a, &before);
	if (rc || (rc = tick(d, PROMOTION_AGE / 2)) != 0)
		return rc;
	for (size_t i = 0; i < NYOUNG; i++)
		if ((rc = add_object(d, small_sizes[(3 * i) % nsmall], (uint32_t)(300 + i), 0)) != 0)
			return rc;
	if ((rc = tick(d, PROMOTION_AGE - PROMOTION_AGE / 2)) != 0 || (rc = get_stats(d->a, &after)) != 0)
		return rc;
	printf("memlane_tick x%d, with %d young objects (tags 3xx) allocated after tick %d: %" PRIu64
	       " objects promoted by age;\n  the FastLane keeps %" PRIu64 " (the young ones and the pinned one)\n",
	       PROMOTION_AGE, NYOUNG, PROMOTION_AGE / 2, after.promotions - before.promotions, after.fast_objects);
	if ((rc = check_pinned(d)) != 0)
		return rc;
	return verify_step(d, "age promotion");
}

/* The final check, reached the way a program would: through the root's
 * handle array. Every handle in it must be a live object of the demo's,
 * and every live object must be in it. *@verified: objects checked. */
static int verify_through_root(struct demo *d, size_t *verified)
{
	memlane_handle idx, list[MAXOBJS];
	int seen[MAXOBJS] = {0};
	int rc = memlane_root_get(d->a, "demo.index", &idx);
	if (rc)
		return failed("memlane_root_get", rc);
	size_t n = memlane_size(d->a, idx) / sizeof(list[0]);
	if (n == 0 || n > MAXOBJS) {
		problem(d, "the root's object holds %zu handles", n);
		n = 0;
	}
	if ((rc = memlane_read(d->a, idx, 0, list, n * sizeof(list[0]))) != 0)
		return failed("memlane_read", rc);
	*verified = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = 0;
		while (i < d->nobj && (d->obj[i].h != list[k] || list[k] == MEMLANE_NULL))
			i++;
		if (i == d->nobj) {
			problem(d, "the root's array holds 0x%016" PRIx64 ", not a live object", list[k]);
			continue;
		}
		if ((rc = verify_one(d, &d->obj[i])) < 0)
			return rc;
		seen[i] = 1;
		(*verified)++;
	}
	for (size_t i = 0; i < d->nobj; i++)
		if (d->obj[i].h != MEMLANE_NULL && !seen[i])
			problem(d, "live object 0x%016" PRIx64 " is missing from the root's array", d->obj[i].h);
	return 0;
}

/* The lanes' map and every object, while there are few of them. */
static int show_map(struct demo *d)
{
	int rc;
	printf("\n--- memlane_debug_dump, while the objects are few ---\n");
	fflush(stdout);
	if ((rc = memlane_debug_dump(d->a, stdout)) != 0)
		return failed("memlane_debug_dump", rc);
	printf("\n");
	return 0;
}

/* Allocate twice the SlowLane's size: past it, each allocation that
 * finds no room evicts the objects touched least lately (CLOCK) to the
 * store. Three objects in four are text-like, the rest random bytes. */
static int fill_past_ram(struct demo *d)
{
	memlane_stats before, after;
	size_t nsizes = sizeof(bulk_sizes) / sizeof(bulk_sizes[0]), bytes = 0;
	int rc = get_stats(d->a, &before);
	if (rc)
		return rc;
	for (size_t i = 0; i < NBULK; i++) {
		if ((rc = add_object(d, bulk_sizes[i % nsizes], (uint32_t)(BULK_TAG + i), i % 4 != 3)) != 0)
			return rc;
		bytes += bulk_sizes[i % nsizes];
	}
	if ((rc = get_stats(d->a, &after)) != 0 || (rc = check_pinned(d)) != 0)
		return rc;
	printf("allocated %d more objects, %.1f MiB (tags %d and up; 3 in 4 text-like, the rest random bytes),\n"
	       "  twice what the 4M SlowLane holds: the pager evicted %" PRIu64 " objects to the store on the way;\n"
	       "  %" PRIu64 " objects are spilled now (%.1f MiB), %" PRIu64 " in RAM\n",
	       NBULK, (double)bytes / (1 << 20), BULK_TAG, after.evictions - before.evictions, after.spilled_objects,
	       (double)after.spilled_bytes / (1 << 20), after.objects - after.spilled_objects);
	if (after.evictions == before.evictions)
		problem(d, "nothing was evicted although the objects outgrew the SlowLane");
	return verify_step(d, "filling past RAM");
}

/* Write every live handle into one array object and name it with a
 * root: a program finds its data again by name, not by address, even
 * after the arena was closed and opened again. */
static int set_root(struct demo *d)
{
	memlane_handle list[MAXOBJS], back;
	size_t n = 0;
	for (size_t i = 0; i < d->nobj; i++)
		if (d->obj[i].h != MEMLANE_NULL)
			list[n++] = d->obj[i].h;
	int rc = MEMLANE_NEW_ARRAY(d->a, memlane_handle, n, &d->index);
	if (rc)
		return failed("memlane_alloc_array", rc);
	if ((rc = memlane_write(d->a, d->index, 0, list, n * sizeof(list[0]))) != 0)
		return failed("memlane_write", rc);
	if ((rc = memlane_root_set(d->a, "demo.index", d->index)) != 0)
		return failed("memlane_root_set", rc);
	if ((rc = memlane_root_get(d->a, "demo.index", &back)) != 0)
		return failed("memlane_root_get", rc);
	printf("root \"demo.index\" names 0x%016" PRIx64 ", an array of the %zu live handles\n", back, n);
	if (back != d->index)
		problem(d, "root \"demo.index\" gives 0x%016" PRIx64 ", not 0x%016" PRIx64, back, d->index);
	return 0;
}

/* Evict @o by hand, expecting @want, and say whether a record had to
 * be written (dirty) or the store's copy was current (clean). */
static int evict_by_hand(struct demo *d, struct demo_obj *o, int want)
{
	memlane_stats before, after;
	memlane_state was = memlane_handle_state(d->a, o->h);
	int rc = get_stats(d->a, &before);
	if (rc)
		return rc;
	int ev = memlane_evict(d->a, o->h);
	if ((rc = get_stats(d->a, &after)) != 0)
		return rc;
	printf("memlane_evict 0x%016" PRIx64 " (tag %" PRIu32 ", %zu B, in the %s)\n  -> ", o->h, o->tag, o->size,
	       lane_name(was));
	if (ev == MEMLANE_EPINNED)
		printf("MEMLANE_EPINNED: a pinned object stays in RAM\n");
	else if (ev)
		printf("%s (%d): %s\n", memlane_strerror(ev), ev, memlane_errmsg());
	else if (after.dirty_evictions != before.dirty_evictions)
		printf("spilled: its bytes written to a new record\n");
	else if (after.clean_evictions != before.clean_evictions)
		printf("spilled, nothing written: the store's record was current (a clean eviction)\n");
	else
		printf("it was in the store already\n");
	if (ev != want)
		problem(d, "memlane_evict returned %d, not %d", ev, want);
	else if (ev == 0 && memlane_handle_state(d->a, o->h) != MEMLANE_STATE_SPILLED)
		problem(d, "evicted object 0x%016" PRIx64 " is still in RAM", o->h);
	return 0;
}

/* memlane_try_get never reads the disk: for a spilled object it says so. */
static void try_get_spilled(struct demo *d, const struct demo_obj *o)
{
	void *p;
	int rc = memlane_try_get(d->a, o->h, &p);
	if (rc == MEMLANE_ENOTRESIDENT)
		printf("memlane_try_get 0x%016" PRIx64 ": MEMLANE_ENOTRESIDENT, it never reads the disk\n  (\"%s\")\n", o->h,
		       memlane_errmsg());
	else
		problem(d, "memlane_try_get of spilled 0x%016" PRIx64 " returned %d, not MEMLANE_ENOTRESIDENT", o->h, rc);
}

/* memlane_read of a spilled object faults it in; the bytes must be
 * those written before it left. */
static int fault_back(struct demo *d, struct demo_obj *o)
{
	memlane_stats before, after;
	int rc = get_stats(d->a, &before);
	if (rc)
		return rc;
	if ((rc = memlane_read(d->a, o->h, 0, d->got, o->size)) != 0)
		return failed("memlane_read", rc);
	if ((rc = get_stats(d->a, &after)) != 0)
		return rc;
	memlane_state st = memlane_handle_state(d->a, o->h);
	uint64_t sum = fnv1a(d->got, o->size);
	printf("memlane_read 0x%016" PRIx64 ": faulted in (%" PRIu64 " fault), now in the %s (faulted objects never go\n"
	       "  back to the FastLane); FNV-1a of its %zu bytes 0x%016" PRIx64 " %s\n",
	       o->h, after.faults - before.faults, lane_name(st), o->size, sum,
	       sum == o->sum ? "is the one written" : "DIFFERS from the one written");
	if (sum != o->sum)
		object_mismatch(d, o, "checksum after fault-in differs");
	if (after.faults != before.faults + 1 || st != MEMLANE_STATE_SLOW)
		problem(d, "memlane_read of a spilled object: %" PRIu64 " faults, now in the %s",
		        after.faults - before.faults, lane_name(st));
	return 0;
}

/* Evict a young FastLane object (it has no record yet: written) and the
 * pinned one (refused); show try_get and the fault-in on the first, and
 * evict it again: it was only read since, so nothing is written. */
static int spill_by_hand(struct demo *d)
{
	struct demo_obj *young = &d->obj[NSMALL + NLARGE];
	int rc;
	if ((rc = evict_by_hand(d, young, 0)) != 0 || (rc = evict_by_hand(d, d->pinned, MEMLANE_EPINNED)) != 0)
		return rc;
	try_get_spilled(d, young);
	if ((rc = fault_back(d, young)) != 0 || (rc = evict_by_hand(d, young, 0)) != 0)
		return rc;
	return verify_step(d, "eviction by hand");
}

static int checkpoint(struct demo *d)
{
	memlane_stats st;
	int rc = memlane_checkpoint(d->a);
	if (rc)
		return failed("memlane_checkpoint", rc);
	if ((rc = get_stats(d->a, &st)) != 0)
		return rc;
	printf("memlane_checkpoint: in one durable transaction, every object's latest bytes, the handle table and\n"
	       "  the root (checkpoints so far: %" PRIu64 "); a crash from now on reopens to this point\n",
	       st.checkpoints);
	if (st.checkpoints == 0)
		problem(d, "memlane_checkpoint returned 0 and counted no checkpoint");
	return 0;
}

/* Object bytes of every live object, the index included. */
static uint64_t live_bytes(struct demo *d)
{
	uint64_t n = memlane_size(d->a, d->index);
	for (size_t i = 0; i < d->nobj; i++)
		if (d->obj[i].h != MEMLANE_NULL)
			n += d->obj[i].size;
	return n;
}

/* The pager's counters, then every statistic and option. After a
 * checkpoint the store holds one record of each object. */
static int show_stats(struct demo *d)
{
	memlane_stats st;
	int rc = get_stats(d->a, &st);
	if (rc)
		return rc;
	uint64_t bytes = live_bytes(d);
	printf("pager: %" PRIu64 " evictions (%" PRIu64 " wrote a record, %" PRIu64 " clean ones wrote nothing), %" PRIu64
	       " faults;\n  %" PRIu64 " of %" PRIu64 " objects spilled (%.1f MiB)\n",
	       st.evictions, st.dirty_evictions, st.clean_evictions, st.faults, st.spilled_objects, st.objects,
	       (double)st.spilled_bytes / (1 << 20));
	printf("store: a record of each of the %" PRIu64 " objects, %.1f MiB of object bytes, in %.1f MiB of LMDB "
	       "pages (%.1f:1)\n",
	       st.objects, (double)bytes / (1 << 20), (double)st.store_bytes / (1 << 20),
	       st.store_bytes ? (double)bytes / (double)st.store_bytes : 0.0);
	printf("\n--- memlane_stats_print ---\n");
	fflush(stdout);
	if ((rc = memlane_stats_print(d->a, stdout, 0)) != 0)
		return failed("memlane_stats_print", rc);
	printf("\n");
	return 0;
}

/* Close the arena (which checkpoints once more) and open the directory
 * again: every object is back under its handle, spilled until used. */
static int reopen(struct demo *d)
{
	memlane_stats st;
	memlane_handle idx;
	size_t live = 1; /* the index */
	int rc;
	for (size_t i = 0; i < d->nobj; i++)
		live += d->obj[i].h != MEMLANE_NULL;
	if ((rc = memlane_unpin(d->a, d->pinned->h)) != 0)
		return failed("memlane_unpin", rc);
	d->pinned = NULL; /* pins are not kept across close */
	rc = memlane_close(d->a);
	d->a = NULL;
	if (rc)
		return failed("memlane_close", rc);
	printf("memlane_close: checkpointed and closed; the arena's handles mean nothing until it is reopened\n");
	if ((rc = open_arena(d)) != 0 || (rc = get_stats(d->a, &st)) != 0)
		return rc;
	if ((rc = memlane_root_get(d->a, "demo.index", &idx)) != 0)
		return failed("memlane_root_get", rc);
	printf("memlane_open %s again: %" PRIu64 " objects back under their handles, %" PRIu64 " of them\n"
	       "  spilled (they come into RAM when used); root \"demo.index\" names 0x%016" PRIx64 " again\n",
	       d->dir, st.objects, st.spilled_objects, idx);
	if (st.objects != live)
		problem(d, "%zu objects were live at close, %" PRIu64 " came back", live, st.objects);
	if (idx != d->index)
		problem(d, "root \"demo.index\" gives 0x%016" PRIx64 ", not 0x%016" PRIx64, idx, d->index);
	return 0;
}

/* After the restore, every object as a program would reach it: through
 * the root. *@verified: objects checked. */
static int verify_restored(struct demo *d, size_t *verified)
{
	memlane_stats before, after;
	int rc = get_stats(d->a, &before);
	if (rc || (rc = verify_through_root(d, verified)) != 0 || (rc = get_stats(d->a, &after)) != 0)
		return rc;
	printf("  after reopening: %zu objects reached through the root, checked byte for byte; %" PRIu64 " faults\n",
	       *verified, after.faults - before.faults);
	return 0;
}

/* A new directory for the store, memlane-demo-XXXXXX in $TMPDIR or
 * /tmp; NULL (reported) on failure. */
static char *make_spill_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	size_t n = strlen(tmp) + sizeof("/" PROG "-XXXXXX");
	char *dir = malloc(n);
	if (!dir) {
		fprintf(stderr, PROG ": out of memory\n");
		return NULL;
	}
	snprintf(dir, n, "%s/" PROG "-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		fprintf(stderr, PROG ": mkdtemp %s: %s\n", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [SPILL_DIR]\n"
	           "A tour of libmemlane: allocate, fragment, pin, compact, promote, tick; fill the SlowLane past\n"
	           "its size so the pager spills to SPILL_DIR; evict, fault in, set a root, checkpoint, close,\n"
	           "reopen; every object is verified byte for byte. SPILL_DIR (created if need be; it must not\n"
	           "hold an arena) defaults to a new memlane-demo-XXXXXX in $TMPDIR or /tmp. The store is left\n"
	           "there (persist=1) for memlane-dump. MEMLANE_OPTIONS applies on top.\n"
	           "Exit status: 0 when every object verified, 1 otherwise.\n");
}

int main(int argc, char **argv)
{
	struct demo d;
	char *made = NULL;
	size_t verified = 0;
	int status = 1, rc;

	memset(&d, 0, sizeof(d));
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		usage(stderr);
		return 1;
	}
	d.dir = argc == 2 ? argv[1] : (made = make_spill_dir());
	if (!d.dir)
		return 1;

	printf(PROG ": libmemlane %s\n", memlane_version());
	d.want = malloc(MAXSIZE);
	d.got = malloc(MAXSIZE);
	if (!d.want || !d.got) {
		fprintf(stderr, PROG ": out of memory\n");
		goto cleanup;
	}
	if (open_new(&d) || allocate_mix(&d) || fragment(&d) || pin_one(&d) || compact(&d) || promote_some(&d) ||
	    age(&d) || show_map(&d) || fill_past_ram(&d) || set_root(&d) || spill_by_hand(&d) || checkpoint(&d) ||
	    show_stats(&d) || reopen(&d) || verify_restored(&d, &verified))
		goto cleanup;
	printf("demo: %zu objects verified, %zu mismatch%s\n", verified, d.mismatches, d.mismatches == 1 ? "" : "es");
	status = d.mismatches ? 1 : 0;
cleanup:
	if (d.a && d.pinned && (rc = memlane_unpin(d.a, d.pinned->h)) != 0) {
		failed("memlane_unpin", rc);
		status = 1;
	}
	if (d.a && (rc = memlane_close(d.a)) != 0) {
		failed("memlane_close", rc);
		status = 1;
	}
	printf("store left in %s; inspect it with: memlane-dump %s\n", d.dir, d.dir);
	free(made);
	free(d.want);
	free(d.got);
	return status;
}
