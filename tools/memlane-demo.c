/* memlane-demo.c - a guided tour of libmemlane for a newcomer, run right
 * after building (`./tools/memlane-demo [SPILL_DIR]`).
 *
 * It opens a small in-memory arena, allocates FastLane and SlowLane
 * objects filled with checksummed patterns, frees some to leave holes,
 * pins one, compacts, promotes by hand and by age, names an index object
 * with a root, and checks every surviving object byte for byte after
 * each step that may move data. It ends with the arena's map and
 * statistics and the line "demo: N objects verified, M mismatches".
 *
 * Exit status: 0 when every object verified, 1 on a mismatch or an
 * error (printed with memlane_errmsg()). Not installed. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memlane.h"

#define PROG "memlane-demo"

/* Small lanes keep the output short and make the lane maps of
 * memlane_debug_dump (64 cells a lane) show the objects: a FastLane
 * cell is 1 KiB, a SlowLane cell one 64 KiB slab. The short promotion
 * age lets a few ticks show the one-way lane at work. */
#define PROMOTION_AGE 4
#define STR_(x) #x
#define STR(x) STR_(x)
#define DEMO_OPTIONS "fast_lane_size=64K,slow_lane_size=4M,threshold=1K,promotion_age=" STR(PROMOTION_AGE)

/* Below the 1K threshold: FastLane. At or above it: SlowLane (block
 * region up to 16K, blob region beyond). */
static const size_t small_sizes[] = {24, 40, 64, 100, 128, 200, 256, 333, 512, 700, 880, 1000};
static const size_t large_sizes[] = {1500, 4096, 12000, 20000, 65536, 200000};

#define NSMALL (2 * sizeof(small_sizes) / sizeof(small_sizes[0]))
#define NLARGE (sizeof(large_sizes) / sizeof(large_sizes[0]))
#define NYOUNG 4 /* small objects allocated halfway through the ticks */
#define MAXOBJS (NSMALL + NLARGE + NYOUNG)
#define MAXSIZE 200000

/* One object as the demo wrote it: what it must read back as. */
struct demo_obj {
	memlane_handle h; /* MEMLANE_NULL once freed */
	size_t size;
	uint64_t seed; /* of the byte pattern written */
	uint64_t sum;  /* FNV-1a of the bytes as written */
	uint32_t tag;
	int bad; /* found damaged already: reported and counted once */
};

struct demo {
	memlane_arena *a;
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

static uint64_t fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

/* ---- steps ---------------------------------------------------------- */

/* Open the arena; with a spill directory, fall back to memory when the
 * library has no pager yet, as this version does. */
static int open_arena(struct demo *d, const char *spill_dir)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	int rc = memlane_config_parse(&cfg, DEMO_OPTIONS);
	if (rc)
		return failed("memlane_config_parse", rc);
	rc = memlane_open(&d->a, spill_dir, &cfg);
	if (rc == MEMLANE_ENOSPILL && spill_dir) {
		printf("note: %s not used: memlane_open returned MEMLANE_ENOSPILL, as the pager (spilling\n"
		       "  cold objects to a directory) comes in a later release. Going on in memory.\n",
		       spill_dir);
		spill_dir = NULL;
		rc = memlane_open(&d->a, NULL, &cfg);
	}
	if (rc)
		return failed("memlane_open", rc);
	printf("opened arena (%s): %s\n", spill_dir ? spill_dir : "in memory", DEMO_OPTIONS);
	return 0;
}

/* Allocate one object tagged @tag, fill it through memlane_get and
 * remember what it must read back as. */
static int add_object(struct demo *d, size_t size, uint32_t tag)
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
	o->seed = mix64(o->h ^ 0x64656d6fu); /* "demo" */
	fill_pattern(o->seed, p, size);
	o->sum = fnv1a(p, size);
	d->nobj++;
	return 0;
}

static const char *lane_name(memlane_state st)
{
	return st == MEMLANE_STATE_FAST ? "FastLane" : st == MEMLANE_STATE_SLOW ? "SlowLane" : "nowhere";
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
	fill_pattern(o->seed, d->want, o->size);
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

/* Verify every live object after a step and say so in one line. */
static int verify_step(struct demo *d, const char *after)
{
	size_t n = 0, bad = 0;
	for (size_t i = 0; i < d->nobj; i++) {
		if (d->obj[i].h == MEMLANE_NULL)
			continue;
		int rc = verify_one(d, &d->obj[i]);
		if (rc < 0)
			return rc;
		bad += (size_t)rc;
		n++;
	}
	if (bad == 0)
		printf("  after %s: all %zu objects read back byte for byte\n", after, n);
	else
		printf("  after %s: %zu of %zu objects DIFFER from what was written\n", after, bad, n);
	return 0;
}

static int allocate_mix(struct demo *d)
{
	int rc;
	size_t nsmall = sizeof(small_sizes) / sizeof(small_sizes[0]);
	for (size_t i = 0; i < NSMALL; i++)
		if ((rc = add_object(d, small_sizes[i % nsmall], (uint32_t)(100 + i))) != 0)
			return rc;
	for (size_t i = 0; i < NLARGE; i++)
		if ((rc = add_object(d, large_sizes[i], (uint32_t)(200 + i))) != 0)
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
		if ((rc = add_object(d, small_sizes[(3 * i) % nsmall], (uint32_t)(300 + i))) != 0)
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

/* Write every live handle into one array object and name it with a
 * root: a program finds its data again by name, not by address. */
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

static int show(struct demo *d)
{
	int rc;
	printf("\n--- memlane_debug_dump ---\n");
	fflush(stdout);
	if ((rc = memlane_debug_dump(d->a, stdout)) != 0)
		return failed("memlane_debug_dump", rc);
	printf("\n--- memlane_stats_print ---\n");
	fflush(stdout);
	if ((rc = memlane_stats_print(d->a, stdout, 0)) != 0)
		return failed("memlane_stats_print", rc);
	printf("\n");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [SPILL_DIR]\n"
	           "A tour of libmemlane: allocate, fragment, pin, compact, promote, tick, set a root,\n"
	           "and verify every object byte for byte. SPILL_DIR is for the pager, which is not\n"
	           "built yet: the demo then says so and runs in memory. MEMLANE_OPTIONS applies on top.\n"
	           "Exit status: 0 when every object verified, 1 otherwise.\n");
}

int main(int argc, char **argv)
{
	struct demo d;
	const char *spill_dir = NULL;
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
	if (argc == 2)
		spill_dir = argv[1];

	printf(PROG ": libmemlane %s\n", memlane_version());
	d.want = malloc(MAXSIZE);
	d.got = malloc(MAXSIZE);
	if (!d.want || !d.got) {
		fprintf(stderr, PROG ": out of memory\n");
		goto cleanup;
	}
	if (open_arena(&d, spill_dir) || allocate_mix(&d) || fragment(&d) || pin_one(&d) || compact(&d) ||
	    promote_some(&d) || age(&d) || set_root(&d) || verify_through_root(&d, &verified) || show(&d))
		goto cleanup;
	printf("demo: %zu objects verified, %zu mismatch%s\n", verified, d.mismatches, d.mismatches == 1 ? "" : "es");
	status = d.mismatches ? 1 : 0;
cleanup:
	if (d.pinned && (rc = memlane_unpin(d.a, d.pinned->h)) != 0) {
		failed("memlane_unpin", rc);
		status = 1;
	}
	if (d.a && (rc = memlane_close(d.a)) != 0) {
		failed("memlane_close", rc);
		status = 1;
	}
	free(d.want);
	free(d.got);
	return status;
}
