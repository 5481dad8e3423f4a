/* memlane-demo.c - a guided tour of libmemlane, the first program a
 * newcomer runs (`./tools/memlane-demo [SPILL_DIR]` in the build tree,
 * `memlane-demo` once installed).
 *
 * It opens an arena with small lanes (FastLane 1M, SlowLane 4M) that
 * spills to SPILL_DIR, or to a new memlane-demo-XXXXXX in $TMPDIR or
 * /tmp, with persist=1. On a few objects it shows the everyday
 * operations: allocate, free (holes), pin, compact, promote by hand and
 * by age, evict by hand, memlane_try_get refusing a spilled object, a
 * fault-in, and the lanes' map. Then it writes 24 MiB, five times what
 * the lanes hold, so that the pager spills to the store; reads every
 * object back; shows the lanes and the statistics; names an index of
 * every handle with a root; checkpoints; closes and reopens the
 * directory and checks every object again, reached through the root.
 * Last it runs memlane-dump on the store, live and then --verify.
 *
 * Every step is announced in one line before it runs. Every object is
 * checked byte for byte (by checksum) after each step that may move or
 * spill data. Pointers from memlane_get are never kept or written
 * through: MEMLANE_OPTIONS may start a background thread that moves
 * data (policy_check_interval), so bytes go in and out with
 * memlane_write and memlane_read, and only a pinned pointer is held.
 *
 * Exit status: 0 when every object verified and memlane-dump (when
 * found) succeeded, 1 on a mismatch or an error (printed with
 * memlane_errmsg()), 2 on a usage error. */
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memlane.h"

#define PROG "memlane-demo"

extern char **environ;

/* Small lanes, so that a few megabytes make the pager work and the
 * lanes' maps (64 cells a lane) show single objects: a FastLane cell is
 * 16 KiB, a SlowLane cell 64 KiB. The short promotion age lets a few
 * ticks show the one-way lane. persist=1 keeps the store after close,
 * to reopen and to inspect; store_sync=checkpoint makes only
 * checkpoints durable, so evictions cost no fsync each (a system crash
 * would return to the last checkpoint). */
#define PROMOTION_AGE 4
#define STR_(x) #x
#define STR(x) STR_(x)
#define LANES_BYTES (5u << 20) /* fast_lane_size + slow_lane_size */
#define DEMO_OPTIONS                                                                                                   \
	"fast_lane_size=1M,slow_lane_size=4M,threshold=1K,promotion_age=" STR(PROMOTION_AGE) ",persist=1,"             \
	"store_sync=checkpoint"

/* The first, few objects: below the 1K threshold they start in the
 * FastLane, at or above it in the SlowLane (block region up to 16K,
 * blob region beyond). */
static const size_t small_sizes[] = {24, 40, 64, 100, 128, 200, 256, 333, 512, 700, 880, 1000};
static const size_t large_sizes[] = {1500, 4096, 12000, 20000, 65536, 200000};
#define NSMALL (sizeof(small_sizes) / sizeof(small_sizes[0]))
#define NLARGE (sizeof(large_sizes) / sizeof(large_sizes[0]))
#define NYOUNG 4 /* small objects allocated halfway through the ticks */

/* The bulk: rounds of eight FastLane-sized objects and one large one,
 * 24 MiB in all, about 3 MiB of it small. The small ones overflow the
 * FastLane (promotion of the oldest, fallback to the SlowLane), the
 * large ones the SlowLane (eviction to the store). */
static const size_t bulk_small[] = {48, 96, 160, 256, 400, 600, 800, 1000};
static const size_t bulk_large[] = {2000, 4096, 8192, 16000, 24000, 40000, 60000};
#define NBULK_SMALL (sizeof(bulk_small) / sizeof(bulk_small[0]))
#define NBULK_LARGE (sizeof(bulk_large) / sizeof(bulk_large[0]))
#define FILL_BYTES (24u << 20)
#define BULK_TAG 1000 /* tags of the bulk objects: 1000 and up */
#define MAXOBJS 10000 /* more than the first objects and the bulk */
#define MAXSIZE 200000

#define MIB(x) ((double)(x) / (1 << 20))

/* One object as the demo wrote it: what it must read back as. */
struct demo_obj {
	memlane_handle h; /* MEMLANE_NULL once freed */
	size_t size;
	uint64_t seed; /* of the bytes written */
	uint64_t sum;  /* FNV-1a of the bytes written */
	uint32_t tag;
	int text; /* text-like bytes (fill_text), else fill_pattern's */
	int bad;  /* found damaged already: reported and counted once */
};

struct demo {
	memlane_arena *a;
	const char *dir; /* the spill directory */
	const char *argv0;
	struct demo_obj *obj; /* MAXOBJS */
	size_t nobj;
	struct demo_obj *pinned; /* the pinned object, NULL when none */
	void *pinned_at;         /* its address, which must never change */
	memlane_handle index;    /* the object the root names */
	unsigned char *buf;      /* MAXSIZE bytes of scratch */
	size_t mismatches;       /* damaged objects and other differences found */
	unsigned step;
};

/* ---- reporting ------------------------------------------------------ */

/* Announce the next step in one line, numbered. */
static void __attribute__((format(printf, 2, 3))) step(struct demo *d, const char *fmt, ...)
{
	va_list ap;
	printf("\n[%u] ", ++d->step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Print which call failed and why (memlane_errmsg names the culprit);
 * returns @rc so callers can `return failed(...)`. */
static int failed(const char *call, int rc)
{
	fflush(stdout);
	fprintf(stderr, PROG ": %s failed: %s (%d): %s\n", call, memlane_strerror(rc), rc, memlane_errmsg());
	return rc;
}

/* Count and describe a difference that is not in an object's bytes (a
 * pinned object that moved, a lane, a root, a counter). */
static void __attribute__((format(printf, 2, 3))) problem(struct demo *d, const char *fmt, ...)
{
	va_list ap;
	d->mismatches++;
	fflush(stdout);
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

static const char *lane_name(memlane_state st)
{
	return st == MEMLANE_STATE_FAST      ? "FastLane"
	       : st == MEMLANE_STATE_SLOW    ? "SlowLane"
	       : st == MEMLANE_STATE_SPILLED ? "store"
	                                     : "nowhere";
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

/* Random-looking bytes for object @seed: byte i comes from word i / 8,
 * so neighbouring objects and shifted copies all differ. zstd cannot
 * shrink them: the pager stores them raw. */
static void fill_pattern(uint64_t seed, unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(mix64(seed ^ (i / 8)) >> (8 * (i % 8)));
}

/* Text-like bytes for object @seed: words of a small vocabulary in a
 * seeded order, a line every few words, as logs or documents have.
 * zstd shrinks them several times. */
static void fill_text(uint64_t seed, unsigned char *buf, size_t len)
{
	static const char *const words[] = {
		"the",   "of",    "and",   "to",    "lane",  "arena",  "handle", "object", "spill",  "fault", "pin",
		"slab",  "blob",  "tick",  "root",  "store", "record", "bytes",  "cold",   "warm",   "page",  "disk",
		"frame", "size",  "tag",   "free",  "alloc", "moved",  "kept",   "evicts", "reads",  "writes"};
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

/* ---- objects -------------------------------------------------------- */

/* Allocate one object tagged @tag, write its bytes (text-like when
 * @text) and remember what it must read back as. */
static int add_object(struct demo *d, size_t size, uint32_t tag, int text)
{
	if (d->nobj == MAXOBJS) {
		fprintf(stderr, PROG ": more than %d objects\n", MAXOBJS);
		return MEMLANE_ENOMEM;
	}
	struct demo_obj *o = &d->obj[d->nobj];
	memlane_alloc_opts opts = {0, 0, tag};
	int rc = memlane_alloc_ex(d->a, size, &opts, &o->h);
	if (rc)
		return failed("memlane_alloc_ex", rc);
	o->size = size;
	o->tag = tag;
	o->text = text;
	o->seed = mix64(o->h ^ 0x64656d6fu); /* "demo" */
	o->bad = 0;
	fill_object(o, d->buf);
	o->sum = fnv1a(d->buf, size);
	if ((rc = memlane_write(d->a, o->h, 0, d->buf, size)) != 0)
		return failed("memlane_write", rc);
	d->nobj++;
	return 0;
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
	fflush(stdout);
	fprintf(stderr, PROG ": MISMATCH handle 0x%016" PRIx64 " (tag %" PRIu32 ", %zu bytes): ", o->h, o->tag, o->size);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Check one object: size, tag, and its bytes read back (memlane_read,
 * which faults a spilled object in) against the checksum written. On a
 * difference, name the first byte that differs. Returns 0, 1 for a
 * mismatch (reported), or a negative error code (reported). */
static int verify_one(struct demo *d, struct demo_obj *o)
{
	size_t size = memlane_size(d->a, o->h);
	uint32_t tag = memlane_tag(d->a, o->h);
	if (size != o->size || tag != o->tag)
		return object_mismatch(d, o, "size %zu and tag %" PRIu32 " now", size, tag);
	int rc = memlane_read(d->a, o->h, 0, d->buf, o->size);
	if (rc)
		return failed("memlane_read", rc);
	if (fnv1a(d->buf, o->size) == o->sum)
		return 0;
	unsigned char *want = malloc(o->size);
	size_t i = 0;
	if (want) {
		fill_object(o, want);
		while (i < o->size && d->buf[i] == want[i])
			i++;
	}
	object_mismatch(d, o, "checksum differs; first differing byte: %zu", i);
	free(want);
	return 1;
}

/* Verify every live object and say so in one line. Reading a spilled
 * object faults it back in, which may evict others. */
static int verify_all(struct demo *d, const char *what)
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
		printf("    %s: all %zu objects read back, checksums match", what, n);
	else
		printf("    %s: %zu of %zu objects DIFFER from what was written", what, bad, n);
	if (now.faults != before.faults)
		printf(" (%" PRIu64 " faulted in from the store)", now.faults - before.faults);
	printf("\n");
	return 0;
}

/* ---- the first objects: lanes, holes, pins, compaction, promotion --- */

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
	step(d, "Open an arena with small lanes (FastLane 1M, SlowLane 4M) that spills to %s.", d->dir);
	int rc = open_arena(d);
	if (rc || (rc = get_stats(d->a, &st)) != 0)
		return rc;
	if (st.objects) {
		fprintf(stderr, PROG ": %s holds a persistent arena of %" PRIu64 " objects already; give a new or empty "
		                "directory\n", d->dir, st.objects);
		return MEMLANE_EEXIST;
	}
	printf("    options: %s\n", DEMO_OPTIONS);
	return 0;
}

static int allocate_first(struct demo *d)
{
	int rc;
	step(d, "Allocate %zu small and %zu large objects; each is written with its own bytes and checksum.", NSMALL,
	     NLARGE);
	for (size_t i = 0; i < NSMALL; i++)
		if ((rc = add_object(d, small_sizes[i], (uint32_t)(100 + i), 0)) != 0)
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
	printf("    %zu in the FastLane (below threshold=1K, tags 1xx), %zu in the SlowLane (tags 2xx)\n", fast, slow);
	if (fast != NSMALL || slow != NLARGE)
		problem(d, "the first objects are not in the lanes their sizes choose");
	return verify_all(d, "check");
}

/* Free every third small object and two large ones, leaving holes in
 * both lanes; then pin a small object low in the FastLane, above a
 * hole, so that compaction would move it if it could. (Compaction
 * slides objects down in address order, and none passes a pinned one.) */
static int free_and_pin(struct demo *d)
{
	static const size_t large_victims[] = {1, 3}; /* a 4096 B block, a 20000 B blob */
	size_t freed = 0;
	int rc;
	step(d, "Free every third small object and two large ones (holes), and pin a small one (it must not move).");
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
	d->pinned = &d->obj[4];
	if ((rc = memlane_pin(d->a, d->pinned->h, &d->pinned_at)) != 0)
		return failed("memlane_pin", rc);
	memlane_stats st;
	if ((rc = get_stats(d->a, &st)) != 0)
		return rc;
	printf("    freed %zu; fragmentation: FastLane %.1f%%, SlowLane %.1f%%; pinned 0x%016" PRIx64 " (tag %" PRIu32
	       ") at %p\n",
	       freed, 100 * st.fast_fragmentation, 100 * st.slow_fragmentation, d->pinned->h, d->pinned->tag,
	       d->pinned_at);
	return 0;
}

/* The pinned object must be where it was, with its bytes. (Pins nest:
 * this pin and unpin leave the first pin in place.) */
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
	step(d, "Compact both lanes (memlane_compact): objects slide together over the holes; handles do not change.");
	int rc = get_stats(d->a, &before);
	if (rc)
		return rc;
	if ((rc = memlane_compact(d->a)) != 0)
		return failed("memlane_compact", rc);
	if ((rc = get_stats(d->a, &after)) != 0 || (rc = check_pinned(d)) != 0)
		return rc;
	printf("    %" PRIu64 " objects moved (%" PRIu64 " bytes); fragmentation now FastLane %.1f%%, SlowLane %.1f%%; "
	       "the pinned one stayed\n",
	       after.moved_objects - before.moved_objects, after.moved_bytes - before.moved_bytes,
	       100 * after.fast_fragmentation, 100 * after.slow_fragmentation);
	return verify_all(d, "check");
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

/* Promote two FastLane objects by hand; tick halfway to promotion_age,
 * allocate a few young objects, tick the rest of the way: the old
 * FastLane objects move to the SlowLane, the young ones and the pinned
 * one stay. */
static int promote_and_age(struct demo *d)
{
	memlane_stats before, after;
	size_t by_hand = 0;
	int rc;
	step(d, "Promote 2 objects by hand, then tick %d times: FastLane objects that old move to the SlowLane for good.",
	     PROMOTION_AGE);
	if ((rc = get_stats(d->a, &before)) != 0)
		return rc;
	for (size_t i = 0; i < NSMALL && by_hand < 2; i++) {
		struct demo_obj *o = &d->obj[i];
		if (o->h == MEMLANE_NULL || o == d->pinned)
			continue;
		if ((rc = memlane_promote(d->a, o->h)) != 0)
			return failed("memlane_promote", rc);
		if (memlane_handle_state(d->a, o->h) != MEMLANE_STATE_SLOW)
			problem(d, "promoted object 0x%016" PRIx64 " is not in the SlowLane", o->h);
		by_hand++;
	}
	if ((rc = tick(d, PROMOTION_AGE / 2)) != 0)
		return rc;
	for (size_t i = 0; i < NYOUNG; i++)
		if ((rc = add_object(d, small_sizes[(3 * i + 1) % NSMALL], (uint32_t)(300 + i), 0)) != 0)
			return rc;
	if ((rc = tick(d, PROMOTION_AGE - PROMOTION_AGE / 2)) != 0 || (rc = get_stats(d->a, &after)) != 0)
		return rc;
	printf("    %zu promoted by hand, %" PRIu64 " by age; the FastLane keeps %" PRIu64, by_hand,
	       after.promotions - before.promotions - by_hand, after.fast_objects);
	if (after.fast_objects == NYOUNG + 1)
		printf(": the pinned one and %d young ones (tags 3xx) allocated at tick %d", NYOUNG, PROMOTION_AGE / 2);
	printf("\n");
	if ((rc = check_pinned(d)) != 0)
		return rc;
	return verify_all(d, "check");
}

/* Evict @o by hand, expecting @want, and say in one line whether a
 * record had to be written (dirty) or the store's copy was current
 * (clean). */
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
	printf("    memlane_evict 0x%016" PRIx64 " (in the %s): ", o->h, lane_name(was));
	if (ev == MEMLANE_EPINNED)
		printf("MEMLANE_EPINNED, a pinned object stays in RAM\n");
	else if (ev)
		printf("%s (%d): %s\n", memlane_strerror(ev), ev, memlane_errmsg());
	else if (after.dirty_evictions != before.dirty_evictions)
		printf("spilled, its bytes written to a new zstd record\n");
	else if (after.clean_evictions != before.clean_evictions)
		printf("spilled, nothing written: the store's record was current\n");
	else
		printf("it was in the store already\n");
	if (ev != want)
		problem(d, "memlane_evict returned %d, not %d", ev, want);
	else if (ev == 0 && memlane_handle_state(d->a, o->h) != MEMLANE_STATE_SPILLED)
		problem(d, "evicted object 0x%016" PRIx64 " is still in RAM", o->h);
	return 0;
}

/* Evict a young FastLane object (no record yet: one is written) and
 * the pinned one (refused); memlane_try_get refuses the spilled one
 * without reading the disk; memlane_read faults it in; evicted again,
 * it was only read since, so nothing is written. */
static int spill_by_hand(struct demo *d)
{
	struct demo_obj *young = &d->obj[NSMALL + NLARGE];
	memlane_stats before, after;
	void *p;
	int rc;
	step(d, "Spill by hand (memlane_evict); memlane_try_get never reads the disk; memlane_read faults back in.");
	if ((rc = evict_by_hand(d, young, 0)) != 0 || (rc = evict_by_hand(d, d->pinned, MEMLANE_EPINNED)) != 0)
		return rc;
	rc = memlane_try_get(d->a, young->h, &p);
	printf("    memlane_try_get 0x%016" PRIx64 ": %s\n", young->h,
	       rc == MEMLANE_ENOTRESIDENT ? "MEMLANE_ENOTRESIDENT" : memlane_strerror(rc));
	if (rc != MEMLANE_ENOTRESIDENT)
		problem(d, "memlane_try_get of a spilled object returned %d", rc);
	if ((rc = get_stats(d->a, &before)) != 0 || (rc = verify_one(d, young)) < 0 ||
	    (rc = get_stats(d->a, &after)) != 0)
		return rc;
	printf("    memlane_read 0x%016" PRIx64 ": %" PRIu64 " fault, now in the %s, checksum %s\n", young->h,
	       after.faults - before.faults, lane_name(memlane_handle_state(d->a, young->h)),
	       young->bad ? "DIFFERS" : "matches");
	if (after.faults != before.faults + 1)
		problem(d, "memlane_read of a spilled object made %" PRIu64 " faults", after.faults - before.faults);
	return evict_by_hand(d, young, 0);
}

/* Print the lanes' map from memlane_debug_dump and at most @max_rows of
 * its object table (the whole dump goes through a memory stream). */
static int show_map(struct demo *d, size_t max_rows)
{
	char *text = NULL;
	size_t len = 0, total = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		fprintf(stderr, PROG ": open_memstream: %s\n", strerror(errno));
		return MEMLANE_ENOMEM;
	}
	int rc = memlane_debug_dump(d->a, f);
	if (fclose(f) != 0 && !rc)
		rc = MEMLANE_ENOMEM;
	if (rc) {
		free(text);
		return failed("memlane_debug_dump", rc);
	}
	int table = 0;
	for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		int n = nl ? (int)(nl - line) : (int)strlen(line);
		if (table && ++total > max_rows)
			continue;
		if (!table && !strncmp(line, "handle ", 7)) {
			table = 1;
			if (max_rows == 0)
				continue;
		}
		printf("    %.*s\n", n, line);
	}
	if (total > max_rows)
		printf("    (%zu objects; memlane_debug_dump lists them all)\n", total);
	free(text);
	return 0;
}

/* ---- the bulk: several times what the lanes hold -------------------- */

/* Write FILL_BYTES in rounds of eight small objects and a large one.
 * Past the lanes' room, a full FastLane promotes its oldest objects (or
 * falls back to the SlowLane) and a full SlowLane evicts the objects
 * touched least lately (CLOCK) to the store. Three objects in four are
 * text-like, the rest random bytes. */
static int fill_past_ram(struct demo *d)
{
	memlane_stats before, after;
	size_t bytes = 0, n = 0;
	step(d, "Write %u MiB, %.1f times what the lanes hold (3 in 4 objects text-like): the pager spills to the store.",
	     FILL_BYTES >> 20, (double)FILL_BYTES / LANES_BYTES);
	int rc = get_stats(d->a, &before);
	if (rc)
		return rc;
	for (size_t round = 0; bytes < FILL_BYTES; round++) {
		for (size_t k = 0; k <= NBULK_SMALL; k++, n++) {
			size_t size = k < NBULK_SMALL ? bulk_small[k] : bulk_large[round % NBULK_LARGE];
			if ((rc = add_object(d, size, (uint32_t)(BULK_TAG + n), n % 4 != 3)) != 0)
				return rc;
			bytes += size;
		}
	}
	if ((rc = get_stats(d->a, &after)) != 0 || (rc = check_pinned(d)) != 0)
		return rc;
	printf("    %zu objects (tags %d and up), %.1f MiB: %" PRIu64 " promotions and %" PRIu64
	       " fallbacks as the FastLane filled,\n"
	       "    %" PRIu64 " evictions as the SlowLane filled; %" PRIu64 " objects (%.1f MiB) are in the store only\n",
	       n, BULK_TAG, MIB(bytes), after.promotions - before.promotions, after.fallbacks - before.fallbacks,
	       after.evictions - before.evictions, after.spilled_objects, MIB(after.spilled_bytes));
	if (after.evictions == before.evictions || after.spilled_objects == 0)
		problem(d, "nothing was spilled although the objects outgrew the lanes");
	return 0;
}

static int read_back(struct demo *d)
{
	step(d, "Read every object back and compare checksums; a spilled object faults in (and others make room).");
	int rc = check_pinned(d);
	return rc ? rc : verify_all(d, "check");
}

/* The lanes now, and the counters that tell what happened. */
static int show_stats(struct demo *d)
{
	memlane_stats st;
	step(d, "The lanes now (memlane_debug_dump) and the statistics (memlane_stats_get; memlane_stats_print has all):");
	int rc = show_map(d, 0);
	if (rc || (rc = get_stats(d->a, &st)) != 0)
		return rc;
	printf("    objects   %" PRIu64 " live: %" PRIu64 " in the FastLane, %" PRIu64 " in the SlowLane, %" PRIu64
	       " in the store only (%.1f MiB)\n",
	       st.objects, st.fast_objects, st.slow_objects, st.spilled_objects, MIB(st.spilled_bytes));
	printf("    lanes     FastLane %.2f of %.0f MiB used, %.1f%% fragmented; SlowLane %.2f of %.0f MiB, %.1f%% "
	       "fragmented\n",
	       MIB(st.fast_reserved_bytes), MIB(st.fast_lane_size), 100 * st.fast_fragmentation,
	       MIB(st.slow_reserved_bytes), MIB(st.slow_lane_size), 100 * st.slow_fragmentation);
	printf("    moves     %" PRIu64 " promotions, %" PRIu64 " fallbacks, %" PRIu64 " compactions moved %" PRIu64
	       " objects (%.1f MiB), %.1f MiB given back to the OS\n",
	       st.promotions, st.fallbacks, st.compactions, st.moved_objects, MIB(st.moved_bytes),
	       MIB(st.released_bytes));
	printf("    pager     %" PRIu64 " evictions (%" PRIu64 " wrote a record, %" PRIu64 " clean ones nothing), %" PRIu64
	       " faults; %.1f MiB of records\n",
	       st.evictions, st.dirty_evictions, st.clean_evictions, st.faults, MIB(st.store_bytes));
	return 0;
}

/* ---- persistence ---------------------------------------------------- */

/* Write every live handle into one array object, name it with a root
 * (a program finds its data again by name, not by address, after the
 * arena was closed and opened again) and checkpoint. */
static int root_and_checkpoint(struct demo *d)
{
	memlane_handle *list = malloc(MAXOBJS * sizeof(*list)), back;
	memlane_stats st;
	size_t n = 0;
	int rc;
	step(d, "Name an array of every handle with a root, then checkpoint: one durable LMDB transaction.");
	if (!list) {
		fprintf(stderr, PROG ": out of memory\n");
		return MEMLANE_ENOMEM;
	}
	for (size_t i = 0; i < d->nobj; i++)
		if (d->obj[i].h != MEMLANE_NULL)
			list[n++] = d->obj[i].h;
	if ((rc = MEMLANE_NEW_ARRAY(d->a, memlane_handle, n, &d->index)) != 0)
		rc = failed("memlane_alloc_array", rc);
	else if ((rc = memlane_write(d->a, d->index, 0, list, n * sizeof(*list))) != 0)
		rc = failed("memlane_write", rc);
	else if ((rc = memlane_root_set(d->a, "demo.index", d->index)) != 0)
		rc = failed("memlane_root_set", rc);
	else if ((rc = memlane_root_get(d->a, "demo.index", &back)) != 0)
		rc = failed("memlane_root_get", rc);
	else if ((rc = memlane_checkpoint(d->a)) != 0)
		rc = failed("memlane_checkpoint", rc);
	else if ((rc = get_stats(d->a, &st)) == 0) {
		printf("    root \"demo.index\" -> 0x%016" PRIx64 " (%zu handles); checkpoint %" PRIu64
		       " committed: a crash from now on reopens here\n",
		       back, n, st.checkpoints);
		if (back != d->index)
			problem(d, "root \"demo.index\" gives 0x%016" PRIx64 ", not 0x%016" PRIx64, back, d->index);
		if (st.checkpoints == 0)
			problem(d, "memlane_checkpoint returned 0 and counted no checkpoint");
	}
	free(list);
	return rc;
}

/* Close the arena (which checkpoints once more) and open the directory
 * again: every object is back under its handle, spilled until used. */
static int reopen(struct demo *d)
{
	memlane_stats st;
	memlane_handle idx;
	size_t live = 1; /* the index */
	int rc;
	step(d, "Close the arena (it checkpoints) and open %s again: the same handles, in the store until used.", d->dir);
	for (size_t i = 0; i < d->nobj; i++)
		live += d->obj[i].h != MEMLANE_NULL;
	if ((rc = memlane_unpin(d->a, d->pinned->h)) != 0)
		return failed("memlane_unpin", rc);
	d->pinned = NULL; /* pins are not kept across close */
	rc = memlane_close(d->a);
	d->a = NULL;
	if (rc)
		return failed("memlane_close", rc);
	if ((rc = open_arena(d)) != 0 || (rc = get_stats(d->a, &st)) != 0)
		return rc;
	if ((rc = memlane_root_get(d->a, "demo.index", &idx)) != 0)
		return failed("memlane_root_get", rc);
	printf("    %" PRIu64 " objects back, %" PRIu64 " of them in the store only; root \"demo.index\" -> 0x%016" PRIx64
	       "\n",
	       st.objects, st.spilled_objects, idx);
	if (st.objects != live)
		problem(d, "%zu objects were live at close, %" PRIu64 " came back", live, st.objects);
	if (idx != d->index)
		problem(d, "root \"demo.index\" gives 0x%016" PRIx64 ", not 0x%016" PRIx64, idx, d->index);
	return 0;
}

/* The final check, reached the way a restarted program would: through
 * the root's handle array. Every handle in it must be a live object of
 * the demo's, and every live object must be in it. *@verified: objects
 * checked. */
static int verify_through_root(struct demo *d, size_t *verified)
{
	memlane_handle idx;
	memlane_stats before, after;
	step(d, "Read every object again, reached through the root as a restarted program would.");
	int rc = memlane_root_get(d->a, "demo.index", &idx);
	if (rc)
		return failed("memlane_root_get", rc);
	size_t n = memlane_size(d->a, idx) / sizeof(memlane_handle);
	memlane_handle *list = malloc((n ? n : 1) * sizeof(*list));
	unsigned char *seen = calloc(MAXOBJS, 1);
	if (!list || !seen) {
		free(list);
		free(seen);
		fprintf(stderr, PROG ": out of memory\n");
		return MEMLANE_ENOMEM;
	}
	if ((rc = get_stats(d->a, &before)) != 0)
		goto out;
	if ((rc = memlane_read(d->a, idx, 0, list, n * sizeof(*list))) != 0) {
		rc = failed("memlane_read", rc);
		goto out;
	}
	/* The array holds the handles in the order of d->obj, without the
	 * freed ones: one pass matches them up. */
	size_t i = 0, bad = 0;
	*verified = 0;
	for (size_t k = 0; k < n; k++) {
		while (i < d->nobj && (d->obj[i].h == MEMLANE_NULL || d->obj[i].h != list[k]))
			i++;
		if (i == d->nobj) {
			problem(d, "the root's array holds 0x%016" PRIx64 " where a live object's handle belongs", list[k]);
			break;
		}
		if ((rc = verify_one(d, &d->obj[i])) < 0)
			goto out;
		bad += (size_t)rc;
		seen[i++] = 1;
		(*verified)++;
	}
	for (i = 0; i < d->nobj; i++)
		if (d->obj[i].h != MEMLANE_NULL && !seen[i])
			problem(d, "live object 0x%016" PRIx64 " is missing from the root's array", d->obj[i].h);
	if ((rc = get_stats(d->a, &after)) != 0)
		goto out;
	printf("    %zu objects reached through the root, %zu damaged (%" PRIu64 " faulted in from the store)\n", *verified,
	       bad, after.faults - before.faults);
out:
	free(list);
	free(seen);
	return rc;
}

/* ---- memlane-dump --------------------------------------------------- */

/* A malloc'd "@dir/memlane-dump" (@dirlen bytes of @dir; none: the
 * current directory, as an empty PATH entry means) when that is an
 * executable file, else NULL. */
static char *dump_in(const char *dir, size_t dirlen)
{
	if (dirlen == 0) {
		dir = ".";
		dirlen = 1;
	}
	size_t n = dirlen + sizeof("/memlane-dump");
	char *path = malloc(n);
	if (!path)
		return NULL;
	snprintf(path, n, "%.*s/memlane-dump", (int)dirlen, dir);
	if (access(path, X_OK) == 0)
		return path;
	free(path);
	return NULL;
}

/* Where memlane-dump is: beside this program first (installed, both are
 * in bindir; in the build tree, tools/memlane-demo is a libtool wrapper
 * that runs tools/.libs/memlane-demo, so the parent of .libs comes
 * first: its memlane-dump is the wrapper that finds the uninstalled
 * library), then in PATH. A malloc'd path, or NULL. */
static char *find_dump(const char *argv0)
{
	char *path = NULL;
	const char *slash = strrchr(argv0, '/');
	if (slash) {
		size_t dirlen = (size_t)(slash - argv0);
		const char *libs = dirlen >= 5 ? argv0 + dirlen - 5 : NULL;
		if (libs && !strncmp(libs, ".libs", 5) && (libs == argv0 || libs[-1] == '/'))
			path = dump_in(argv0, libs == argv0 ? 0 : (size_t)(libs - 1 - argv0));
		if (!path)
			path = dump_in(slash == argv0 ? "/" : argv0, slash == argv0 ? 1 : dirlen);
		if (path)
			return path;
	}
	const char *env = getenv("PATH");
	for (const char *p = env ? env : ""; p && *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if ((path = dump_in(p, len)) != NULL)
			return path;
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Run @path with @mode (NULL: the summary) on the store, its output
 * going where ours goes. Returns 0 when it exited 0. */
static int run_dump(struct demo *d, const char *path, const char *mode)
{
	char *argv[4];
	int i = 0, status;
	pid_t pid;
	argv[i++] = (char *)"memlane-dump";
	if (mode)
		argv[i++] = (char *)mode;
	argv[i++] = (char *)d->dir;
	argv[i] = NULL;
	printf("    $ %s%s%s %s\n", path, mode ? " " : "", mode ? mode : "", d->dir);
	fflush(stdout);
	int err = posix_spawn(&pid, path, NULL, NULL, argv, environ);
	if (err) {
		fprintf(stderr, PROG ": cannot run %s: %s\n", path, strerror(err));
		return 1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, PROG ": waitpid %s: %s\n", path, strerror(errno));
			return 1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		fprintf(stderr, PROG ": %s exited with status %d\n", path, WEXITSTATUS(status));
	else
		fprintf(stderr, PROG ": %s died of signal %d\n", path, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return 1;
}

/* memlane-dump on the store: the summary while the arena still owns
 * the directory, then, closed, --verify. Not finding memlane-dump is
 * not a failure of the library: say how to run it. Returns 0, or 1
 * when memlane-dump failed or the arena did not close. */
static int inspect(struct demo *d)
{
	char *dump = find_dump(d->argv0);
	int status = 0, rc;
	step(d, "memlane-dump reads the store while the arena still owns it (read-only; the arena is not blocked):");
	if (dump)
		status |= run_dump(d, dump, NULL);
	else
		printf("    memlane-dump is neither beside %s nor in PATH; run: memlane-dump %s\n", d->argv0, d->dir);
	step(d, "Close the arena, then decompress and check every record of the store (memlane-dump --verify):");
	rc = memlane_close(d->a);
	d->a = NULL;
	if (rc) {
		failed("memlane_close", rc);
		status = 1;
	}
	if (dump)
		status |= run_dump(d, dump, "--verify");
	else
		printf("    run: memlane-dump --verify %s\n", d->dir);
	free(dump);
	return status;
}

/* ---- main ----------------------------------------------------------- */

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
	           "A tour of libmemlane in one run: allocate, free, pin, compact, promote, tick, evict and\n"
	           "fault in a few objects; write 24 MiB through 5 MiB of lanes so that the pager spills to\n"
	           "SPILL_DIR; read everything back; set a root, checkpoint, close, reopen and read everything\n"
	           "again; then run memlane-dump on the store. Every object is checked by checksum after each\n"
	           "step. SPILL_DIR (created if need be; it must not hold an arena) defaults to a new\n"
	           "memlane-demo-XXXXXX in $TMPDIR or /tmp; the store is left there (persist=1).\n"
	           "MEMLANE_OPTIONS applies on top of the demo's options.\n"
	           "Exit status: 0 when everything verified, 1 otherwise, 2 on a usage error.\n");
}

/* The whole tour; stops at the first error (reported). */
static int tour(struct demo *d, size_t *verified)
{
	if (open_new(d) || allocate_first(d) || free_and_pin(d) || compact(d) || promote_and_age(d) ||
	    spill_by_hand(d))
		return 1;
	step(d, "The lanes' map and every object (memlane_debug_dump), while they are few:");
	if (show_map(d, 30) || fill_past_ram(d) || read_back(d) || show_stats(d) || root_and_checkpoint(d) ||
	    reopen(d) || verify_through_root(d, verified))
		return 1;
	return inspect(d);
}

int main(int argc, char **argv)
{
	struct demo d;
	char *made = NULL;
	size_t verified = 0;
	int status, rc;

	memset(&d, 0, sizeof(d));
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 || (argc == 2 && (argv[1][0] == '-' || !argv[1][0]))) {
		usage(stderr);
		return 2;
	}
	d.argv0 = argv[0];
	d.dir = argc == 2 ? argv[1] : (made = make_spill_dir());
	if (!d.dir)
		return 1;
	d.obj = calloc(MAXOBJS, sizeof(*d.obj));
	d.buf = malloc(MAXSIZE);
	if (!d.obj || !d.buf) {
		fprintf(stderr, PROG ": out of memory\n");
		free(d.obj);
		free(made);
		return 1;
	}

	printf(PROG ": libmemlane %s; each step is announced in one line before it runs\n", memlane_version());
	status = tour(&d, &verified);
	if (d.a && d.pinned && (rc = memlane_unpin(d.a, d.pinned->h)) != 0) {
		failed("memlane_unpin", rc);
		status = 1;
	}
	if (d.a && (rc = memlane_close(d.a)) != 0) {
		failed("memlane_close", rc);
		status = 1;
	}
	if (d.mismatches)
		status = 1;
	if (status)
		printf("\nFAILED at step %u (see the messages above): %zu objects verified, %zu mismatch%s; the "
		       "spill directory is %s\n",
		       d.step, verified, d.mismatches, d.mismatches == 1 ? "" : "es", d.dir);
	else
		printf("\ndemo OK: %zu objects verified, 0 mismatches. The store is left in %s:\n"
		       "  look at it with memlane-dump --list %s; remove it with rm -r %s\n",
		       verified, d.dir, d.dir, d.dir);
	free(made);
	free(d.obj);
	free(d.buf);
	return status;
}
