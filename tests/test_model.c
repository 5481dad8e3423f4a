/* test_model.c - model-based random testing: seeded sequences of every
 * object, pager and arena call, applied to libmemlane and to a plain
 * reference model (a malloc'd copy of every object's bytes and what the
 * manual promises about it), compared after every step.
 *
 * The generator draws operations from a seeded splitmix64 stream: alloc
 * (memlane_alloc, memlane_alloc_array, also overflowing, and
 * memlane_alloc_ex with every flag, alignments from 1 to 4096 and bad
 * ones, tags), free (also twice), realloc, partial write, partial
 * read, get (and writes through the pointer), get_ro, try_get, pin and
 * unpin (also 65535 times), writes through pinned pointers, promote, evict,
 * prefetch, flush, compact, maintain, tick, checkpoint, roots (set, get,
 * del, bad names), queries (handle_state, valid, size, tag,
 * memlane_debug_dump, memlane_stats_print), calls on
 * null, stale, double-freed and forged handles, close and reopen, and
 * (persist=1) a crash: a child process opens the store, works on it,
 * checkpoints or not, and dies without memlane_close.
 *
 * What is checked, against lib/memlane.h and memlane(3):
 *   - every byte read (memlane_read, memlane_get, get_ro, try_get, pinned
 *     pointers) equals the model's copy; pointers are aligned as asked
 *     and a pinned object's pointer never changes;
 *   - every return code is the one the manual gives for the case; where
 *     the library may legitimately refuse (MEMLANE_ENOMEM when what must
 *     stay in RAM crowds the SlowLane, ETOOBIG close to the limit) the
 *     model accepts it only in that case and then checks that nothing
 *     changed;
 *   - handle_state / valid / size / tag: a live handle is never INVALID,
 *     an object never goes back to the FastLane, a pinned or faulted-in
 *     MEMLANE_NOSPILL object is never spilled, a memory-only arena never
 *     spills, a fault-in lands in the SlowLane, evict spills, flush
 *     spills every object that may go, a policy cycle promotes cold and
 *     aged FastLane objects;
 *   - clean and dirty: memlane_evict of an object the model knows clean
 *     writes nothing (clean_evictions), of a dirty one a record;
 *   - stats: objects and pinned_objects equal the model's counts, the
 *     fast/slow/spilled objects and bytes what the states add up to;
 *   - memlane_errmsg() names the bad handle, and a call that succeeds
 *     leaves it as it was; a pointer stays the same across calls that
 *     move no data;
 *   - persist=1: close + reopen (and a crash) gives back exactly the
 *     model's snapshot of the last checkpoint: handles, sizes, tags,
 *     bytes, roots, and the handles freed before it stay invalid;
 *     persist=0 and memory-only arenas reopen empty.
 *
 * Configurations (lanes small enough that compaction, promotion,
 * fallback and eviction happen all the time): mem, mem_tight (memory
 * only), spill and spill_nocompact (persist=0; auto_compaction=0),
 * persist (store_sync=none), persist_raw (compression=none,
 * store_sync=checkpoint) and store_full (store_max_size=2M: evictions,
 * checkpoints and closes fail with MEMLANE_ENOSPC now and then).
 * Persistent reopens now and then change the compression or halve the
 * SlowLane (objects that no longer fit must fail with ETOOBIG).
 * `make check` runs a fixed set of seeds per configuration, more than
 * 10^6 operations in all, prints what the library did (evictions,
 * faults, promotions, compactions, ...) and the total. The generator's
 * draws are sequenced so that a seed gives the same operations whatever
 * the compiler. Regressions the model found have their own tests at the
 * end of this file.
 *
 * Environment:
 *   MEMLANE_MODEL_SEED=N     run only seed N (decimal or 0x hex)
 *   MEMLANE_MODEL_CONFIG=C   run only configuration C
 *   MEMLANE_MODEL_OPS=N      operations per seed (default: per config)
 *   MEMLANE_MODEL_SOAK=S     soak for S seconds: random seeds, every
 *                            configuration in turn, progress on stderr
 *   MEMLANE_MODEL_TRACE=1    print every operation before it runs
 *   MEMLANE_MODEL_DUMP=1     on failure, memlane_debug_dump the arena
 * A failure prints the seed, the configuration, the operation's index
 * and the operation, and the command that replays it alone, e.g.
 *   MEMLANE_MODEL_SEED=0x2a MEMLANE_MODEL_CONFIG=spill ./tests/test_model */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

/* ---- configurations ------------------------------------------------------ */

struct mconfig {
	const char *name;
	const char *options; /* memlane_config_parse() string */
	bool spill;          /* open with a spill directory */
	bool persist;
	uint64_t ops;        /* operations per seed in make check (tuned so that
	                      * the whole run stays near 30 s under ASan) */
	unsigned seeds;      /* seeds in make check */
	size_t max_size;     /* the largest ordinary object */
	size_t live_cap;     /* model bytes past which frees are favoured */
	bool store_fills;    /* store_max_size is small: MEMLANE_ENOSPC is allowed */
};

static const struct mconfig configs[] = {
	{"mem", "fast_lane_size=256K,slow_lane_size=16M,threshold=1K,promotion_age=16", false, false, 70000, 3,
	 128 * TU_KiB, 5 * TU_MiB, false},
	{"mem_tight",
	 "fast_lane_size=64K,slow_lane_size=2M,threshold=2K,promotion_age=2,compaction_threshold=0.1", false,
	 false, 120000, 4, 96 * TU_KiB, 1800 * TU_KiB, false},
	{"spill", "fast_lane_size=128K,slow_lane_size=2M,threshold=512,slow_lane_usage_threshold=0.75,promotion_age=8",
	 true, false, 50000, 3, 192 * TU_KiB, 6 * TU_MiB, false},
	{"spill_nocompact",
	 "fast_lane_size=128K,slow_lane_size=4M,threshold=1K,auto_compaction=0,compression_level=-3,promotion_age=3",
	 true, false, 30000, 2, 192 * TU_KiB, 8 * TU_MiB, false},
	{"persist", "fast_lane_size=256K,slow_lane_size=4M,threshold=1K,persist=1,store_sync=none,promotion_age=4",
	 true, true, 40000, 2, 256 * TU_KiB, 10 * TU_MiB, false},
	{"persist_raw",
	 "fast_lane_size=64K,slow_lane_size=2M,threshold=256,persist=1,compression=none,store_sync=checkpoint,"
	 "slow_lane_safety_margin=256K,compaction_threshold=0.1,promotion_age=0",
	 true, true, 30000, 2, 128 * TU_KiB, 5 * TU_MiB, false},
	{"store_full",
	 "fast_lane_size=64K,slow_lane_size=1M,threshold=512,persist=1,store_sync=none,store_max_size=2M,"
	 "compression=none",
	 true, true, 20000, 2, 64 * TU_KiB, 1536 * TU_KiB, true},
};

#define NCONFIGS TU_ARRAY_LEN(configs)

/* clang -Wimplicit-fallthrough wants the attribute, gcc takes it too. */
#define FALLTHROUGH __attribute__((fallthrough))

/* ---- the model ------------------------------------------------------------- */

#define MAX_PINNED 4     /* objects pinned at once */
#define MAX_NOSPILL 24   /* live MEMLANE_NOSPILL objects */
#define NOSPILL_MAX_SIZE (16 * TU_KiB)
#define NDEAD 256        /* freed handles remembered */
#define NROOTS 8
#define VERIFY_EVERY 4096 /* operations between whole-arena checks */
#define SLAB ((size_t)65536)

struct mobj {
	memlane_handle h;
	uint8_t *bytes;   /* the model's copy */
	size_t size;
	size_t align;     /* as asked (0: default) */
	uint32_t tag;
	unsigned flags;   /* as allocated, valid bits only */
	unsigned pins;
	uint8_t *pin_ptr; /* the pointer while pinned */
	uint64_t birth;   /* model tick at allocation */
	bool may_fast;    /* not seen outside the FastLane yet */
	bool dirty;       /* RAM differs from its latest record (or has none) */
	bool nospill_in;  /* MEMLANE_NOSPILL seen in RAM: never spilled again */
};

struct dead {
	memlane_handle h;
	uint64_t epoch; /* r->epoch when it died */
};

struct mroot {
	bool set;
	memlane_handle h;
};

/* The model as of a checkpoint: what a persistent reopen must give. */
struct snap {
	bool valid;
	struct mobj *objs;
	size_t n;
	struct dead dead[NDEAD];
	size_t ndead;
	struct mroot roots[NROOTS];
};

struct run {
	const struct mconfig *cfg;
	memlane_config mc;
	size_t margin;    /* effective slow_lane_safety_margin */
	uint64_t seed;
	tu_rng rng;
	memlane_arena *a;
	char dir[2048];   /* mkdtemp */
	char spill[2100]; /* dir/spill */
	char snapfile[2100];

	struct mobj *objs;
	size_t n, cap;
	size_t live_bytes;
	size_t npinned, nnospill;
	struct dead dead[NDEAD];
	size_t ndead; /* entries used; a ring once full */
	size_t dead_pos;
	uint64_t epoch; /* opens in this run */
	struct mroot roots[NROOTS];
	struct snap snap;
	uint64_t tick;

	uint64_t op;      /* index of the current operation */
	uint64_t child_op; /* in a crash child: index of its own operation */
	uint64_t nops;    /* operations to run */
	uint64_t done;    /* operations run (children's included) */
	char what[384];   /* the current operation */
	bool child;       /* in a crash child: fail with _exit */
	bool trace;
	bool no_arena_ops; /* in a crash child: no close, reopen, crash */
	memlane_stats sum; /* the library's counters, summed over the opens */
	char msg[600];     /* memlane_errmsg() before a call expected to succeed */
	uint64_t refused;  /* calls refused for room, as the model allows */
};

/* What the runs of a configuration made the library do. */
struct tally {
	uint64_t allocs, frees, reallocs, fallbacks, promotions, compactions, moved, evictions, faults, clean_ev,
	        checkpoints, refused;
};
static struct tally g_tally;

static struct run *g_run;   /* for the teardown after a failure */
static uint64_t g_total_ops; /* every operation of the program */

static void mfail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void mfail(struct run *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char where[96] = "";
	if (r->child)
		snprintf(where, sizeof(where), " (in the crash child, its op #%" PRIu64 ")", r->child_op);
	fprintf(stderr,
	        "test_model: FAILED: config %s, seed 0x%" PRIx64 ", op #%" PRIu64 "%s: %s\n"
	        "  %s\n  memlane_errmsg: %s\n"
	        "  replay: MEMLANE_MODEL_SEED=0x%" PRIx64 " MEMLANE_MODEL_CONFIG=%s MEMLANE_MODEL_OPS=%" PRIu64
	        " ./tests/test_model\n",
	        r->cfg->name, r->seed, r->op, where, r->what, msg, memlane_errmsg(), r->seed, r->cfg->name,
	        r->op < r->nops ? r->op + 1 : r->nops);
	const char *dump = getenv("MEMLANE_MODEL_DUMP");
	if (r->a && dump && *dump && strcmp(dump, "0") != 0)
		memlane_debug_dump(r->a, stderr);
	if (r->child)
		_exit(3);
	fail_msg("config %s seed 0x%" PRIx64 " op #%" PRIu64 ": %s: %s", r->cfg->name, r->seed, r->op, r->what, msg);
	abort(); /* not reached: fail_msg does not return */
}

#define CHECK(r, cond, ...)                                                                                            \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			mfail((r), __VA_ARGS__);                                                                       \
	} while (0)

#define CHECK_RC(r, rc, want, call)                                                                                    \
	do {                                                                                                           \
		int rc_ = (rc), want_ = (want);                                                                        \
		if (rc_ != want_)                                                                                      \
			mfail((r), "%s returned %d (%s), expected %d (%s)", (call), rc_, memlane_strerror(rc_),         \
			      want_, memlane_strerror(want_));                                                       \
	} while (0)

static void describe(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void describe(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
	if (r->trace)
		fprintf(stderr, "#%" PRIu64 "%s %s\n", r->child ? r->child_op : r->op, r->child ? " (crash child)" : "",
		        r->what);
}

/* memlane_errmsg() "stays until this thread's next failing call (a
 * successful call does not clear it)": mark it before a call, check it
 * after the call succeeded. */
static void msg_mark(struct run *r)
{
	snprintf(r->msg, sizeof(r->msg), "%s", memlane_errmsg());
}

static void msg_same(struct run *r, const char *call)
{
	CHECK(r, strcmp(r->msg, memlane_errmsg()) == 0, "%s succeeded but changed memlane_errmsg() from \"%s\"", call,
	      r->msg);
}

/* ---- random numbers -------------------------------------------------------- */

static uint64_t rnd(struct run *r)
{
	return tu_next(&r->rng);
}

/* Uniform in [0, n). */
static size_t below(struct run *r, size_t n)
{
	return n ? (size_t)(rnd(r) % n) : 0;
}

/* True with probability p/1000. */
static bool chance(struct run *r, unsigned p)
{
	return below(r, 1000) < p;
}

static void fill_random(struct run *r, uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t x = rnd(r);
		memcpy(p, &x, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t x = rnd(r);
		memcpy(p, &x, n);
	}
}

static size_t gen_size(struct run *r)
{
	size_t x = below(r, 1000);
	if (x < 30) {
		size_t t = r->mc.threshold;
		return t - 1 + below(r, 3); /* around the FastLane threshold */
	}
	if (x < 560)
		return below(r, 257);
	if (x < 860)
		return 257 + below(r, 4096 - 256);
	if (x < 980)
		return 4097 + below(r, 65536 - 4096);
	return 65537 + below(r, r->cfg->max_size - 65536);
}

static const size_t good_aligns[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096};
static const size_t bad_aligns[] = {3, 24, 100, 8192, 1u << 20};

static size_t eff_align(size_t align)
{
	return align < 16 ? 16 : align;
}

/* ---- the model's objects ---------------------------------------------------- */

static struct mobj *find_obj(struct run *r, memlane_handle h)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->objs[i].h == h)
			return &r->objs[i];
	return NULL;
}

static struct mobj *pick(struct run *r)
{
	return r->n ? &r->objs[below(r, r->n)] : NULL;
}

static struct mobj *pick_pinned(struct run *r)
{
	if (!r->npinned)
		return NULL;
	size_t k = below(r, r->npinned);
	for (size_t i = 0; i < r->n; i++)
		if (r->objs[i].pins && k-- == 0)
			return &r->objs[i];
	return NULL;
}

static struct mobj *add_obj(struct run *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct mobj *o = realloc(r->objs, cap * sizeof(*o));
		CHECK(r, o, "out of memory");
		r->objs = o;
		r->cap = cap;
	}
	struct mobj *o = &r->objs[r->n++];
	memset(o, 0, sizeof(*o));
	return o;
}

static void add_dead(struct run *r, memlane_handle h)
{
	r->dead[r->dead_pos] = (struct dead){h, r->epoch};
	r->dead_pos = (r->dead_pos + 1) % NDEAD;
	if (r->ndead < NDEAD)
		r->ndead++;
}

static void remove_obj(struct run *r, struct mobj *o)
{
	r->live_bytes -= o->size;
	if (o->flags & MEMLANE_NOSPILL)
		r->nnospill--;
	if (o->pins)
		r->npinned--;
	free(o->bytes);
	*o = r->objs[--r->n];
}

static void free_model(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->objs[i].bytes);
	r->n = 0;
	r->live_bytes = r->npinned = r->nnospill = 0;
}

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->objs[i].bytes);
	free(s->objs);
	s->objs = NULL;
	s->n = 0;
	s->valid = false;
}

static uint8_t *dup_bytes(struct run *r, const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	CHECK(r, d, "out of memory");
	memcpy(d, p, n);
	return d;
}

/* The model as a checkpoint (or a close with persist=1) writes it. */
static void take_snapshot(struct run *r)
{
	snap_free(&r->snap);
	struct snap *s = &r->snap;
	s->objs = calloc(r->n ? r->n : 1, sizeof(*s->objs));
	CHECK(r, s->objs, "out of memory");
	for (size_t i = 0; i < r->n; i++) {
		s->objs[i] = r->objs[i];
		s->objs[i].bytes = dup_bytes(r, r->objs[i].bytes, r->objs[i].size);
	}
	s->n = r->n;
	memcpy(s->dead, r->dead, sizeof(s->dead));
	s->ndead = r->ndead;
	/* Only the roots whose object is live are written. */
	for (int i = 0; i < NROOTS; i++)
		s->roots[i] = (struct mroot){r->roots[i].set && find_obj(r, r->roots[i].h), r->roots[i].h};
	s->valid = true;
}

/* The model after a persistent reopen: the snapshot, every object
 * spilled, clean, unpinned, and the handles freed before it dead. */
static void restore_snapshot(struct run *r)
{
	free_model(r);
	struct snap *s = &r->snap;
	for (size_t i = 0; i < s->n; i++) {
		struct mobj *o = add_obj(r);
		*o = s->objs[i];
		o->bytes = dup_bytes(r, s->objs[i].bytes, o->size);
		o->pins = 0;
		o->pin_ptr = NULL;
		o->may_fast = false;
		o->dirty = false;
		o->nospill_in = false;
		o->birth = 0;
		r->live_bytes += o->size;
		if (o->flags & MEMLANE_NOSPILL)
			r->nnospill++;
	}
	/* Same arena id, restored generations: these stay invalid. */
	r->ndead = 0;
	r->dead_pos = 0;
	for (size_t i = 0; i < s->ndead; i++)
		add_dead(r, s->dead[i].h);
	memcpy(r->roots, s->roots, sizeof(r->roots));
}

/* ---- library state against the model ----------------------------------------- */

static const char *state_name(memlane_state st)
{
	switch (st) {
	case MEMLANE_STATE_FAST:
		return "FAST";
	case MEMLANE_STATE_SLOW:
		return "SLOW";
	case MEMLANE_STATE_SPILLED:
		return "SPILLED";
	default:
		return "INVALID";
	}
}

/* The object's state, checked against what the model allows. */
static memlane_state check_state(struct run *r, struct mobj *o)
{
	memlane_state st = memlane_handle_state(r->a, o->h);
	CHECK(r, st == MEMLANE_STATE_FAST || st == MEMLANE_STATE_SLOW || st == MEMLANE_STATE_SPILLED,
	      "live handle 0x%016" PRIx64 " has state %d", o->h, (int)st);
	CHECK(r, st != MEMLANE_STATE_FAST || o->may_fast,
	      "handle 0x%016" PRIx64 " is back in the FastLane after it left it", o->h);
	CHECK(r, st != MEMLANE_STATE_SPILLED || r->cfg->spill, "handle 0x%016" PRIx64 " spilled in a memory-only arena",
	      o->h);
	CHECK(r, st != MEMLANE_STATE_SPILLED || !o->pins, "pinned handle 0x%016" PRIx64 " was spilled", o->h);
	CHECK(r, st != MEMLANE_STATE_SPILLED || !o->nospill_in,
	      "MEMLANE_NOSPILL handle 0x%016" PRIx64 " was spilled after it was in RAM", o->h);
	if (st != MEMLANE_STATE_FAST)
		o->may_fast = false;
	if (st != MEMLANE_STATE_SPILLED && (o->flags & MEMLANE_NOSPILL))
		o->nospill_in = true;
	return st;
}

static void expect_state(struct run *r, struct mobj *o, memlane_state want)
{
	memlane_state st = check_state(r, o);
	CHECK(r, st == want, "handle 0x%016" PRIx64 " is %s, expected %s", o->h, state_name(st), state_name(want));
}

/* After a call that reached the object's bytes: it is in RAM; one that
 * was spilled is now in the SlowLane and, unless @writes, clean. */
static void reached(struct run *r, struct mobj *o, memlane_state before, bool writes)
{
	memlane_state st = check_state(r, o);
	CHECK(r, st != MEMLANE_STATE_SPILLED, "handle 0x%016" PRIx64 " still spilled after it was reached", o->h);
	if (before == MEMLANE_STATE_SPILLED) {
		CHECK(r, st == MEMLANE_STATE_SLOW, "handle 0x%016" PRIx64 " faulted in to %s, not the SlowLane", o->h,
		      state_name(st));
		o->dirty = false;
	}
	if (writes)
		o->dirty = true;
}

/* Bytes the SlowLane must keep for @size at @align (class or pages). */
static size_t padded(size_t size, size_t align)
{
	size_t a = eff_align(align);
	if (size <= 16384)
		return tu_class_size(size ? size : 1) + a;
	return ((size + 4095) & ~(size_t)4095) + a;
}

/* Whether the SlowLane may legitimately have no room for an object of
 * @size at @align.
 *
 * While any object is pinned, always: compaction cannot move a pinned
 * object ("holes next to them cannot be closed", memlane(3)), and one
 * pinned block high in the block region, or blob low in the blob
 * region, fixes where the two regions may meet, however little is in
 * the lane (slabs below the block cannot take blobs). The same holds
 * without auto_compaction for every object that cannot leave RAM.
 * Otherwise (everything that must stay in RAM can be slid together) the
 * volume decides: what must stay in RAM (every object in a memory-only
 * arena; MEMLANE_NOSPILL ones with a pager), padded, plus a slab per
 * size class such objects may hold, the safety margin and the object
 * must come near the lane's size. A realloc pins its own object while
 * it makes room: then the old copy may cut the free space in two. */
static bool room_tight_for(struct run *r, size_t size, size_t align, const struct mobj *self)
{
	if (r->npinned)
		return true;
	if (!r->mc.auto_compaction && (r->cfg->spill ? r->nnospill : r->n) > 0)
		return true;
	size_t fixed = 2 * SLAB;
	size_t blocks = 0, pieces = 1;
	if (self) {
		/* A SlowLane block resized into a blob (or back): its own
		 * slab, pinned while room is made, may hold the block region
		 * up however empty it is (soak seed 0x9ff83eadd2ff00f5,
		 * store_full: 611 -> 65537 bytes in a 1 MiB lane holding
		 * 880 bytes). */
		if (!self->may_fast && (self->size <= 16384) != (size <= 16384))
			return true;
		fixed += padded(self->size, self->align) + SLAB;
		pieces = 2;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct mobj *o = &r->objs[i];
		if (r->cfg->spill && !(o->flags & MEMLANE_NOSPILL))
			continue;
		fixed += padded(o->size, o->align);
		if (o->size <= 16384)
			blocks++;
	}
	fixed += (blocks < 40 ? blocks : 40) * SLAB;
	size_t usable = r->mc.slow_lane_size - r->mc.slow_lane_size / 8;
	if (fixed >= usable)
		return true;
	return padded(size, align) + r->margin > (usable - fixed) / pieces;
}

static bool room_tight(struct run *r, size_t size, size_t align)
{
	return room_tight_for(r, size, align, NULL);
}

/* ETOOBIG: required past slow_lane_size less the margin, allowed close to it. */
static bool toobig_required(struct run *r, size_t size)
{
	return size > r->mc.slow_lane_size - r->margin;
}

static bool toobig_allowed(struct run *r, size_t size, size_t align)
{
	return size + eff_align(align) + 8192 > r->mc.slow_lane_size - r->margin;
}

static void compare(struct run *r, const struct mobj *o, size_t off, const uint8_t *got, size_t len, const char *via)
{
	if (len == 0 || memcmp(o->bytes + off, got, len) == 0)
		return;
	size_t i = 0;
	while (o->bytes[off + i] == got[i])
		i++;
	mfail(r, "handle 0x%016" PRIx64 " (%zu bytes): byte %zu read through %s is 0x%02x, the model has 0x%02x", o->h,
	      o->size, off + i, via, got[i], o->bytes[off + i]);
}

static void check_ptr(struct run *r, const struct mobj *o, const void *p, const char *via)
{
	CHECK(r, p != NULL, "%s(0x%016" PRIx64 ") returned NULL", via, o->h);
	CHECK(r, (uintptr_t)p % eff_align(o->align) == 0, "%s: pointer %p of handle 0x%016" PRIx64 " not aligned to %zu",
	      via, p, o->h, eff_align(o->align));
	CHECK(r, !o->pins || p == o->pin_ptr, "%s: pinned handle 0x%016" PRIx64 " moved from %p to %p", via, o->h,
	      (void *)o->pin_ptr, p);
	compare(r, o, 0, p, o->size, via);
}

static memlane_stats get_stats(struct run *r)
{
	memlane_stats st;
	CHECK_RC(r, memlane_stats_get(r->a, &st), 0, "memlane_stats_get");
	return st;
}

static void check_counts(struct run *r)
{
	memlane_stats st = get_stats(r);
	CHECK(r, st.objects == r->n, "stats: %" PRIu64 " objects, the model has %zu", st.objects, r->n);
	CHECK(r, st.pinned_objects == r->npinned, "stats: %" PRIu64 " pinned objects, the model has %zu",
	      st.pinned_objects, r->npinned);
	CHECK(r, r->cfg->spill || st.spilled_objects == 0, "stats: %" PRIu64 " spilled objects without a store",
	      st.spilled_objects);
}

/* Root i's name: "r<i>", and a longest one (255 bytes) for the last. */
static void root_name(int i, char *out, size_t n)
{
	if (i == NROOTS - 1 && n > 255) {
		memset(out, 'x', 255);
		out[255] = '\0';
		return;
	}
	snprintf(out, n, "r%d", i);
}

/* MEMLANE_ENOSPC from a call that writes to the store (an eviction to
 * make room, evict, flush, checkpoint, close): allowed only where the
 * store is small enough to fill (store_max_size). */
static bool store_full(struct run *r, int rc)
{
	if (rc != MEMLANE_ENOSPC || !r->cfg->store_fills || !r->a)
		return rc == MEMLANE_ENOSPC && r->cfg->store_fills;
	/* And the store holds records worth a good part of its limit, or
	 * an object about to be written needs much of it (a record takes
	 * contiguous pages; LMDB's free pages are not counted in
	 * store_bytes and may be too scattered for it). */
	memlane_stats st;
	CHECK_RC(r, memlane_stats_get(r->a, &st), 0, "memlane_stats_get");
	size_t largest = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->objs[i].size > largest)
			largest = r->objs[i].size;
	CHECK(r, st.store_bytes + 2 * largest >= r->mc.store_max_size / 4,
	      "ENOSPC with %" PRIu64 " bytes of records in a store of at most %zu (largest object %zu)", st.store_bytes,
	      r->mc.store_max_size, largest);
	return true;
}

/* A call that faults a spilled object in was refused with @rc: allowed
 * when the object can never fit this arena's SlowLane (a persistent
 * store reopened with a smaller slow_lane_size: MEMLANE_ETOOBIG, which
 * is then required) or when the model says room is tight (ENOMEM). The
 * object stays spilled and nothing changes. */
static void unchanged(struct run *r, struct mobj *o);

static bool fault_refused(struct run *r, struct mobj *o, memlane_state before, int rc)
{
	if (before != MEMLANE_STATE_SPILLED)
		return false;
	if (toobig_required(r, o->size))
		CHECK_RC(r, rc, MEMLANE_ETOOBIG, "fault-in of an object larger than this arena's SlowLane can hold");
	else if (!store_full(r, rc) && (rc != MEMLANE_ENOMEM || !room_tight(r, o->size, o->align)))
		return false;
	expect_state(r, o, MEMLANE_STATE_SPILLED);
	unchanged(r, NULL);
	return true;
}

/* The code behind a NULL from memlane_get or memlane_get_ro, from its
 * message. */
static int get_failure(void)
{
	const char *m = memlane_errmsg();
	return tu_contains(m, "never fit") ? MEMLANE_ETOOBIG
	       : tu_contains(m, "no room") ? MEMLANE_ENOMEM
	       : tu_contains(m, "is full") ? MEMLANE_ENOSPC
	                                   : MEMLANE_EINVAL;
}

/* Read a whole object with memlane_read and compare. A fault-in may be
 * refused for want of room only when the model says room is tight. */
static void read_whole(struct run *r, struct mobj *o)
{
	memlane_state before = check_state(r, o);
	uint8_t *buf = malloc(o->size ? o->size : 1);
	CHECK(r, buf, "out of memory");
	int rc = memlane_read(r->a, o->h, 0, buf, o->size);
	if (rc && fault_refused(r, o, before, rc)) {
		free(buf);
		return;
	}
	if (rc != 0)
		free(buf);
	CHECK_RC(r, rc, 0, "memlane_read (whole object)");
	compare(r, o, 0, buf, o->size, "memlane_read");
	free(buf);
	reached(r, o, before, false);
}

/* Every object: valid, size, tag, state; bytes of the resident ones
 * through get_ro (which moves nothing for them), of spilled ones with
 * memlane_read when @all_bytes (else a few). */
static void verify_all(struct run *r, bool all_bytes)
{
	check_counts(r);
	/* The gauges against the states, before anything is faulted in. */
	uint64_t count[4] = {0, 0, 0, 0}, bytes[4] = {0, 0, 0, 0};
	for (size_t i = 0; i < r->n; i++) {
		memlane_state st = check_state(r, &r->objs[i]);
		count[st]++;
		bytes[st] += r->objs[i].size;
	}
	memlane_stats g = get_stats(r);
	CHECK(r, g.fast_objects == count[MEMLANE_STATE_FAST] && g.slow_objects == count[MEMLANE_STATE_SLOW] &&
	             g.spilled_objects == count[MEMLANE_STATE_SPILLED],
	      "stats: %" PRIu64 " fast, %" PRIu64 " slow, %" PRIu64 " spilled objects; the states say %" PRIu64 ", %" PRIu64
	      ", %" PRIu64,
	      g.fast_objects, g.slow_objects, g.spilled_objects, count[1], count[2], count[3]);
	CHECK(r, g.fast_used_bytes == bytes[MEMLANE_STATE_FAST] && g.slow_used_bytes == bytes[MEMLANE_STATE_SLOW] &&
	             g.spilled_bytes == bytes[MEMLANE_STATE_SPILLED],
	      "stats: %" PRIu64 " fast, %" PRIu64 " slow, %" PRIu64 " spilled bytes; the model says %" PRIu64 ", %" PRIu64
	      ", %" PRIu64,
	      g.fast_used_bytes, g.slow_used_bytes, g.spilled_bytes, bytes[1], bytes[2], bytes[3]);
	size_t spilled_checked = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct mobj *o = &r->objs[i];
		CHECK(r, memlane_valid(r->a, o->h) == 1, "memlane_valid(0x%016" PRIx64 ") is not 1", o->h);
		CHECK(r, memlane_size(r->a, o->h) == o->size, "memlane_size(0x%016" PRIx64 ") = %zu, expected %zu", o->h,
		      memlane_size(r->a, o->h), o->size);
		CHECK(r, memlane_tag(r->a, o->h) == o->tag, "memlane_tag(0x%016" PRIx64 ") = %u, expected %u", o->h,
		      memlane_tag(r->a, o->h), o->tag);
		memlane_state st = check_state(r, o);
		if (st != MEMLANE_STATE_SPILLED) {
			const void *p = memlane_get_ro(r->a, o->h);
			check_ptr(r, o, p, "memlane_get_ro");
		} else if (all_bytes || spilled_checked < 8) {
			spilled_checked++;
			read_whole(r, o);
		}
	}
	for (int i = 0; i < NROOTS; i++) {
		/* A root whose object is live must name it; checked without
		 * memlane_root_get on dead ones, which would drop them. */
		if (!r->roots[i].set || !find_obj(r, r->roots[i].h))
			continue;
		char name[300];
		root_name(i, name, sizeof(name));
		memlane_handle h = MEMLANE_NULL;
		CHECK_RC(r, memlane_root_get(r->a, name, &h), 0, "memlane_root_get");
		CHECK(r, h == r->roots[i].h, "root %d names 0x%016" PRIx64 ", expected 0x%016" PRIx64, i, h,
		      r->roots[i].h);
	}
}

/* ---- operations --------------------------------------------------------------- */

/* After a refused call that the model allows (no room): nothing changed.
 * The object named, if any, is whole; the counts agree. */
static void unchanged(struct run *r, struct mobj *o)
{
	r->refused++;
	check_counts(r);
	if (o) {
		CHECK(r, memlane_size(r->a, o->h) == o->size, "refused call changed the size of 0x%016" PRIx64, o->h);
		memlane_state st = check_state(r, o);
		if (st != MEMLANE_STATE_SPILLED)
			check_ptr(r, o, memlane_get_ro(r->a, o->h), "memlane_get_ro");
	}
}

/* Give a new or grown object defined bytes [from, size): through
 * memlane_write or through the pointer of memlane_get. */
static void fill_tail(struct run *r, struct mobj *o, size_t from)
{
	size_t len = o->size - from;
	fill_random(r, o->bytes + from, len);
	if (chance(r, 500)) {
		CHECK_RC(r, memlane_write(r->a, o->h, from, o->bytes + from, len), 0, "memlane_write (fill)");
	} else {
		uint8_t *p = memlane_get(r->a, o->h);
		CHECK(r, p, "memlane_get (fill) returned NULL");
		CHECK(r, (uintptr_t)p % eff_align(o->align) == 0, "memlane_get: pointer not aligned to %zu",
		      eff_align(o->align));
		memcpy(p + from, o->bytes + from, len);
	}
	o->dirty = true;
}

static void op_alloc(struct run *r, bool ex)
{
	size_t size = gen_size(r);
	memlane_alloc_opts opts = {0, 0, 0};
	bool bad = false;
	if (ex) {
		if (chance(r, 300))
			opts.flags |= MEMLANE_ZERO;
		if (chance(r, 150))
			opts.flags |= MEMLANE_FAST;
		if (chance(r, 150))
			opts.flags |= MEMLANE_SLOW;
		if (chance(r, 150))
			opts.flags |= MEMLANE_COLD;
		if (chance(r, 80) && r->nnospill < MAX_NOSPILL) {
			opts.flags |= MEMLANE_NOSPILL;
			if (size > NOSPILL_MAX_SIZE)
				size = below(r, NOSPILL_MAX_SIZE);
		}
		if (chance(r, 15))
			opts.flags |= 0x20u << below(r, 8); /* an unknown bit */
		opts.align = good_aligns[below(r, TU_ARRAY_LEN(good_aligns))];
		if (chance(r, 15))
			opts.align = bad_aligns[below(r, TU_ARRAY_LEN(bad_aligns))];
		opts.tag = (uint32_t)rnd(r);
		bad = (opts.flags & ~(unsigned)0x1f) || ((opts.flags & MEMLANE_FAST) && (opts.flags & MEMLANE_SLOW)) ||
		      (opts.align & (opts.align - 1)) || opts.align > MEMLANE_MAX_ALIGN;
	}
	if (chance(r, 3)) {
		/* Near the limit. Two statements: the order of the draws must
		 * not depend on the compiler. */
		size = r->mc.slow_lane_size - r->margin - below(r, 3) * 4096;
		size += below(r, 3) * 4096;
	}
	else if (chance(r, 3))
		size = r->mc.slow_lane_size / 2 + below(r, r->mc.slow_lane_size / 4); /* needs much room */
	if ((opts.flags & MEMLANE_NOSPILL) && size > NOSPILL_MAX_SIZE)
		size = below(r, NOSPILL_MAX_SIZE); /* what must stay in RAM stays small */
	/* Some plain allocations as memlane_alloc_array: zeroed, default
	 * flags otherwise, n * elem_size checked for overflow. */
	bool array = !ex && chance(r, 150);
	size_t elem = 1, nelem = size;
	if (array) {
		elem = (size_t)1 << below(r, 5);
		nelem = size / elem;
		size = nelem * elem;
		opts.flags = MEMLANE_ZERO;
		if (chance(r, 30)) {
			elem = (size_t)2 << below(r, 4);
			nelem = SIZE_MAX / elem + 1 + below(r, 8); /* n * elem overflows */
		}
	}
	size_t product;
	bool overflow = array && __builtin_mul_overflow(nelem, elem, &product);
	describe(r, "memlane_alloc%s(%zu bytes, flags 0x%x, align %zu, tag %u)",
	         ex ? "_ex" : array ? "_array" : "", size, opts.flags, opts.align, opts.tag);
	memlane_handle h = (memlane_handle)0x5a5a5a5a5a5a5a5aull;
	msg_mark(r);
	int rc = ex ? memlane_alloc_ex(r->a, size, &opts, &h)
	         : array ? memlane_alloc_array(r->a, nelem, elem, 0, &h)
	                 : memlane_alloc(r->a, size, &h);
	if (bad || overflow) {
		CHECK_RC(r, rc, bad ? MEMLANE_EINVAL : MEMLANE_ETOOBIG, "memlane_alloc_ex/_array");
		CHECK(r, h == (memlane_handle)0x5a5a5a5a5a5a5a5aull, "a refused allocation stored a handle");
		return;
	}
	if (toobig_required(r, size))
		CHECK_RC(r, rc, MEMLANE_ETOOBIG, "memlane_alloc (more than slow_lane_size less the margin)");
	if (rc == MEMLANE_ETOOBIG) {
		CHECK(r, toobig_allowed(r, size, opts.align), "ETOOBIG for %zu bytes, the SlowLane holds %zu", size,
		      r->mc.slow_lane_size - r->margin);
		unchanged(r, NULL);
		return;
	}
	CHECK(r, !toobig_required(r, size) || rc != 0, "%zu bytes allocated, more than the SlowLane less the margin",
	      size);
	if (rc == MEMLANE_ENOMEM || store_full(r, rc)) {
		CHECK(r, rc != MEMLANE_ENOMEM || room_tight(r, size, opts.align), "ENOMEM for %zu bytes with room to spare",
		      size);
		unchanged(r, NULL);
		return;
	}
	CHECK_RC(r, rc, 0, ex ? "memlane_alloc_ex" : "memlane_alloc");
	msg_same(r, "memlane_alloc");
	CHECK(r, h != MEMLANE_NULL && !find_obj(r, h), "memlane_alloc handed out 0x%016" PRIx64 " (null or live)", h);
	struct mobj *o = add_obj(r);
	o->h = h;
	o->size = size;
	o->align = opts.align;
	o->tag = opts.tag;
	o->flags = opts.flags;
	o->birth = r->tick;
	o->may_fast = true;
	o->dirty = true;
	o->bytes = calloc(size ? size : 1, 1);
	CHECK(r, o->bytes, "out of memory");
	r->live_bytes += size;
	if (opts.flags & MEMLANE_NOSPILL)
		r->nnospill++;
	memlane_state st = check_state(r, o);
	CHECK(r, st != MEMLANE_STATE_SPILLED, "a new object is spilled");
	if ((opts.flags & MEMLANE_SLOW) || (size >= r->mc.threshold && !(opts.flags & MEMLANE_FAST)))
		CHECK(r, st == MEMLANE_STATE_SLOW, "%zu bytes, flags 0x%x: in the %s, expected the SlowLane", size,
		      opts.flags, state_name(st));
	if (opts.flags & MEMLANE_ZERO) {
		const void *p = memlane_get_ro(r->a, h);
		check_ptr(r, o, p, "memlane_get_ro (MEMLANE_ZERO)");
	} else {
		fill_tail(r, o, 0);
	}
}

static void op_free(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o)
		return;
	describe(r, "memlane_free(0x%016" PRIx64 ") [%zu bytes, %u pins]", o->h, o->size, o->pins);
	int rc = memlane_free(r->a, o->h);
	if (o->pins) {
		CHECK_RC(r, rc, MEMLANE_EPINNED, "memlane_free");
		CHECK(r, memlane_valid(r->a, o->h), "a refused free invalidated the handle");
		return;
	}
	CHECK_RC(r, rc, 0, "memlane_free");
	memlane_handle h = o->h;
	add_dead(r, h);
	remove_obj(r, o);
	CHECK(r, memlane_handle_state(r->a, h) == MEMLANE_STATE_INVALID, "freed handle still valid");
	if (chance(r, 150)) {
		describe(r, "memlane_free(0x%016" PRIx64 ") again", h);
		CHECK_RC(r, memlane_free(r->a, h), MEMLANE_EHANDLE, "memlane_free (double free)");
		CHECK(r, tu_contains(memlane_errmsg(), "0x"), "errmsg names no handle: %s", memlane_errmsg());
	}
}

static void op_realloc(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o)
		return;
	size_t n = gen_size(r);
	if (chance(r, 300))
		n = o->size + below(r, 64) - (o->size < 32 ? o->size : 32); /* a little bigger or smaller */
	if ((o->flags & MEMLANE_NOSPILL) && n > NOSPILL_MAX_SIZE)
		n = below(r, NOSPILL_MAX_SIZE);
	if (chance(r, 5))
		n = r->mc.slow_lane_size + below(r, 4096); /* never fits */
	if (chance(r, 3))
		n = SIZE_MAX - below(r, 16); /* beyond any lane, refused before anything */
	memlane_state before = check_state(r, o);
	describe(r, "memlane_realloc(0x%016" PRIx64 ", %zu -> %zu) [%s, %u pins, flags 0x%x]", o->h, o->size, n,
	         state_name(before), o->pins, o->flags);
	msg_mark(r);
	int rc = memlane_realloc(r->a, o->h, n);
	if (n > ((size_t)1 << 48)) {
		CHECK_RC(r, rc, MEMLANE_ETOOBIG, "memlane_realloc");
		CHECK(r, check_state(r, o) == before, "realloc refused before lookup moved the object");
		return;
	}
	if (rc != 0) {
		/* A spilled object is faulted in first; a failure after
		 * that leaves it in RAM, clean. */
		memlane_state st = check_state(r, o);
		if (before == MEMLANE_STATE_SPILLED && st == MEMLANE_STATE_SPILLED) {
			CHECK(r, fault_refused(r, o, before, rc), "realloc: the fault-in failed: %d (%s)", rc,
			      memlane_strerror(rc));
			return;
		}
		if (before == MEMLANE_STATE_SPILLED)
			reached(r, o, before, false);
		if (o->pins)
			CHECK_RC(r, rc, MEMLANE_EPINNED, "memlane_realloc");
		else if (toobig_required(r, n) && st != MEMLANE_STATE_SPILLED)
			CHECK_RC(r, rc, MEMLANE_ETOOBIG, "memlane_realloc (more than slow_lane_size less the margin)");
		else if (rc == MEMLANE_ETOOBIG)
			CHECK(r, toobig_allowed(r, n, o->align), "ETOOBIG for %zu bytes", n);
		else if (rc == MEMLANE_ENOMEM)
			CHECK(r, room_tight_for(r, n, o->align, o) && n > o->size,
			      "realloc: ENOMEM with room to spare, or for a shrink");
		else if (!store_full(r, rc))
			CHECK_RC(r, rc, 0, "memlane_realloc");
		unchanged(r, o);
		return;
	}
	CHECK(r, !o->pins, "realloc of a pinned object succeeded");
	msg_same(r, "memlane_realloc");
	CHECK(r, !toobig_required(r, n), "realloc to %zu bytes succeeded", n);
	size_t old = o->size;
	uint8_t *b = realloc(o->bytes, n ? n : 1);
	CHECK(r, b, "out of memory");
	o->bytes = b;
	o->size = n;
	r->live_bytes = r->live_bytes - old + n;
	memlane_state st = check_state(r, o);
	CHECK(r, st != MEMLANE_STATE_SPILLED, "realloc left the object spilled");
	/* "A FastLane object grown to threshold bytes or more moves to the
	 * SlowLane, a SlowLane object stays there." */
	if (before != MEMLANE_STATE_FAST || (n >= r->mc.threshold && n > old))
		CHECK(r, st == MEMLANE_STATE_SLOW, "realloc to %zu: %s, expected the SlowLane", n, state_name(st));
	o->dirty = true;
	if (n > old) {
		if (o->flags & MEMLANE_ZERO)
			memset(o->bytes + old, 0, n - old);
		else
			fill_tail(r, o, old);
	}
	if (chance(r, 300) || (o->flags & MEMLANE_ZERO))
		check_ptr(r, o, memlane_get_ro(r->a, o->h), "memlane_get_ro (after realloc)");
}

/* An offset and length inside the object, mostly short. */
static void gen_range(struct run *r, const struct mobj *o, size_t *off, size_t *len)
{
	*off = below(r, o->size + 1);
	size_t room = o->size - *off;
	*len = chance(r, 700) ? below(r, (room < 64 ? room : 64) + 1) : below(r, room + 1);
}

/* An out-of-range offset and length. */
static void gen_bad_range(struct run *r, const struct mobj *o, size_t *off, size_t *len)
{
	switch (below(r, 4)) {
	case 0:
		*off = o->size + 1 + below(r, 100);
		*len = 0;
		break;
	case 1:
		*off = below(r, o->size + 1);
		*len = o->size - *off + 1 + below(r, 100);
		break;
	case 2:
		*off = SIZE_MAX - below(r, 8);
		*len = 2 + below(r, 8);
		break;
	default:
		*off = below(r, o->size + 1);
		*len = SIZE_MAX - below(r, 8);
		break;
	}
}

static void op_copy(struct run *r, bool write)
{
	struct mobj *o = pick(r);
	if (!o)
		return;
	const char *call = write ? "memlane_write" : "memlane_read";
	size_t off, len;
	int want = 0;
	bool null_buf = false;
	if (chance(r, 60)) {
		gen_bad_range(r, o, &off, &len);
		want = MEMLANE_ERANGE;
	} else {
		gen_range(r, o, &off, &len);
		if (len > 0 && chance(r, 15)) {
			null_buf = true;
			want = MEMLANE_EINVAL;
		}
	}
	memlane_state before = check_state(r, o);
	describe(r, "%s(0x%016" PRIx64 ", off %zu, len %zu%s) [%zu bytes, %s]", call, o->h, off, len,
	         null_buf ? ", NULL buffer" : "", o->size, state_name(before));
	if (want) {
		uint8_t dummy[8];
		void *buf = null_buf ? NULL : dummy;
		int rc = write ? memlane_write(r->a, o->h, off, buf, len) : memlane_read(r->a, o->h, off, buf, len);
		CHECK_RC(r, rc, want, call);
		CHECK(r, check_state(r, o) == before, "%s refused, yet the object moved", call);
		return;
	}
	uint8_t *buf = malloc(len ? len : 1);
	CHECK(r, buf, "out of memory");
	if (write)
		fill_random(r, buf, len);
	msg_mark(r);
	int rc = write ? memlane_write(r->a, o->h, off, buf, len) : memlane_read(r->a, o->h, off, buf, len);
	if (rc && fault_refused(r, o, before, rc)) {
		free(buf);
		return;
	}
	if (rc)
		free(buf);
	CHECK_RC(r, rc, 0, call);
	msg_same(r, call);
	if (write)
		memcpy(o->bytes + off, buf, len);
	else
		compare(r, o, off, buf, len, call);
	free(buf);
	reached(r, o, before, write);
}

/* get, get_ro or try_get; writes through the pointer of get and try_get. */
static void op_get(struct run *r, int kind)
{
	static const char *const calls[] = {"memlane_get", "memlane_get_ro", "memlane_try_get"};
	struct mobj *o = pick(r);
	if (!o)
		return;
	memlane_state before = check_state(r, o);
	bool null_ptr = kind == 2 && chance(r, 30);
	describe(r, "%s(0x%016" PRIx64 "%s) [%zu bytes, %s, %u pins]", calls[kind], o->h, null_ptr ? ", NULL" : "",
	         o->size, state_name(before), o->pins);
	uint8_t *p = NULL;
	if (kind == 2) {
		void *q = NULL;
		int rc = memlane_try_get(r->a, o->h, null_ptr ? NULL : &q);
		if (null_ptr) {
			CHECK_RC(r, rc, MEMLANE_EINVAL, "memlane_try_get");
			return;
		}
		if (before == MEMLANE_STATE_SPILLED) {
			CHECK_RC(r, rc, MEMLANE_ENOTRESIDENT, "memlane_try_get");
			expect_state(r, o, MEMLANE_STATE_SPILLED);
			return;
		}
		CHECK_RC(r, rc, 0, "memlane_try_get");
		p = q;
	} else {
		p = kind == 0 ? memlane_get(r->a, o->h) : (uint8_t *)(uintptr_t)memlane_get_ro(r->a, o->h);
		if (!p && fault_refused(r, o, before, get_failure()))
			return;
	}
	check_ptr(r, o, p, calls[kind]);
	bool writes = kind != 1;
	reached(r, o, before, writes);
	struct mobj *other = chance(r, 200) ? pick(r) : NULL;
	if (other) {
		/* Calls that move no data leave the pointer valid (POINTER
		 * VALIDITY in memlane(3)): queries, roots, stats, try_get of
		 * a resident object. */
		memlane_handle h = MEMLANE_NULL;
		void *q = NULL;
		(void)memlane_handle_state(r->a, other->h);
		(void)memlane_size(r->a, other->h);
		(void)memlane_tag(r->a, other->h);
		if (!r->roots[0].set || find_obj(r, r->roots[0].h))
			(void)memlane_root_get(r->a, "r0", &h); /* would drop a root of a freed object */
		(void)get_stats(r);
		if (check_state(r, other) != MEMLANE_STATE_SPILLED) {
			CHECK_RC(r, memlane_try_get(r->a, other->h, &q), 0, "memlane_try_get (resident)");
			other->dirty = true;
		}
		CHECK(r, memlane_try_get(r->a, o->h, &q) == 0 && q == p,
		      "the pointer of 0x%016" PRIx64 " changed across calls that move nothing", o->h);
		o->dirty = true;
		compare(r, o, 0, p, o->size, "the pointer, after calls that move nothing");
	}
	if (writes && o->size && chance(r, 500)) {
		size_t off, len;
		gen_range(r, o, &off, &len);
		fill_random(r, o->bytes + off, len);
		memcpy(p + off, o->bytes + off, len);
	}
}

static void op_pin(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o || (!o->pins && r->npinned >= MAX_PINNED) || o->size > r->mc.slow_lane_size / 16)
		return;
	memlane_state before = check_state(r, o);
	bool null_ptr = chance(r, 150);
	describe(r, "memlane_pin(0x%016" PRIx64 "%s) [%zu bytes, %s, %u pins]", o->h, null_ptr ? ", NULL" : "", o->size,
	         state_name(before), o->pins);
	void *p = NULL;
	int rc = memlane_pin(r->a, o->h, null_ptr ? NULL : &p);
	if (rc && fault_refused(r, o, before, rc))
		return;
	CHECK_RC(r, rc, 0, "memlane_pin");
	if (null_ptr) {
		CHECK_RC(r, memlane_try_get(r->a, o->h, &p), 0, "memlane_try_get (pinned)");
	}
	check_ptr(r, o, p, "memlane_pin");
	if (o->pins++ == 0) {
		r->npinned++;
		o->pin_ptr = p;
	}
	reached(r, o, before, true);
}

static void op_unpin(struct run *r)
{
	struct mobj *o = chance(r, 800) ? pick_pinned(r) : pick(r);
	if (!o)
		return;
	describe(r, "memlane_unpin(0x%016" PRIx64 ") [%u pins]", o->h, o->pins);
	int rc = memlane_unpin(r->a, o->h);
	if (!o->pins) {
		CHECK_RC(r, rc, MEMLANE_EINVAL, "memlane_unpin (not pinned)");
		return;
	}
	CHECK_RC(r, rc, 0, "memlane_unpin");
	if (--o->pins == 0) {
		r->npinned--;
		o->pin_ptr = NULL;
	}
}

/* Pin one object as often as it can be (65535), once more (EINVAL),
 * copy through the full-pins path, and unpin it all. */
static void op_pin_max(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o || o->pins || r->npinned >= MAX_PINNED || o->size > r->mc.slow_lane_size / 16)
		return;
	memlane_state before = check_state(r, o);
	describe(r, "memlane_pin(0x%016" PRIx64 ") 65535 times, once more, copies, unpin all [%zu bytes, %s]", o->h,
	         o->size, state_name(before));
	int rc = memlane_pin(r->a, o->h, NULL);
	if (rc && fault_refused(r, o, before, rc))
		return;
	CHECK_RC(r, rc, 0, "memlane_pin");
	void *p = NULL;
	for (unsigned i = 1; i < 65535; i++)
		if ((rc = memlane_pin(r->a, o->h, i == 65534 ? &p : NULL)) != 0)
			mfail(r, "pin #%u: %d (%s)", i + 1, rc, memlane_strerror(rc));
	o->pins = 65535;
	o->pin_ptr = p;
	r->npinned++;
	check_ptr(r, o, p, "memlane_pin");
	reached(r, o, before, true);
	CHECK_RC(r, memlane_pin(r->a, o->h, &p), MEMLANE_EINVAL, "memlane_pin (65536th)");
	/* Copies of more than 512 bytes pin the object; with every pin
	 * taken they copy under the lock. */
	uint8_t *buf = malloc(o->size ? o->size : 1);
	CHECK(r, buf, "out of memory");
	fill_random(r, buf, o->size);
	rc = memlane_write(r->a, o->h, 0, buf, o->size);
	if (rc)
		free(buf);
	CHECK_RC(r, rc, 0, "memlane_write (all pins taken)");
	memcpy(o->bytes, buf, o->size);
	memset(buf, 0, o->size);
	rc = memlane_read(r->a, o->h, 0, buf, o->size);
	if (rc)
		free(buf);
	CHECK_RC(r, rc, 0, "memlane_read (all pins taken)");
	compare(r, o, 0, buf, o->size, "memlane_read (all pins taken)");
	free(buf);
	CHECK(r, get_stats(r).pinned_objects == r->npinned, "pinned_objects is not %zu", r->npinned);
	for (unsigned i = 0; i < 65535; i++)
		if ((rc = memlane_unpin(r->a, o->h)) != 0)
			mfail(r, "unpin #%u: %d (%s)", i + 1, rc, memlane_strerror(rc));
	o->pins = 0;
	o->pin_ptr = NULL;
	r->npinned--;
	CHECK_RC(r, memlane_unpin(r->a, o->h), MEMLANE_EINVAL, "memlane_unpin (not pinned)");
}

/* Read and write through a pinned pointer, with other calls between. */
static void op_pinned_access(struct run *r)
{
	struct mobj *o = pick_pinned(r);
	if (!o)
		return;
	describe(r, "access through the pin pointer %p of 0x%016" PRIx64 " [%zu bytes]", (void *)o->pin_ptr, o->h,
	         o->size);
	compare(r, o, 0, o->pin_ptr, o->size, "the pinned pointer");
	memlane_state st = check_state(r, o);
	CHECK(r, st != MEMLANE_STATE_SPILLED, "a pinned object is spilled");
	if (o->size) {
		size_t off, len;
		gen_range(r, o, &off, &len);
		fill_random(r, o->bytes + off, len);
		memcpy(o->pin_ptr + off, o->bytes + off, len);
	}
	o->dirty = true;
}

static void op_promote(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o)
		return;
	memlane_state before = check_state(r, o);
	describe(r, "memlane_promote(0x%016" PRIx64 ") [%zu bytes, %s, %u pins]", o->h, o->size, state_name(before),
	         o->pins);
	msg_mark(r);
	int rc = memlane_promote(r->a, o->h);
	if (before == MEMLANE_STATE_FAST && o->pins) {
		CHECK_RC(r, rc, MEMLANE_EPINNED, "memlane_promote");
		expect_state(r, o, MEMLANE_STATE_FAST);
		return;
	}
	if (before == MEMLANE_STATE_FAST &&
	    ((rc == MEMLANE_ENOMEM && room_tight(r, o->size, o->align)) || store_full(r, rc))) {
		expect_state(r, o, MEMLANE_STATE_FAST);
		unchanged(r, o);
		return;
	}
	CHECK_RC(r, rc, 0, "memlane_promote");
	msg_same(r, "memlane_promote");
	expect_state(r, o, before == MEMLANE_STATE_SPILLED ? MEMLANE_STATE_SPILLED : MEMLANE_STATE_SLOW);
}

static void op_evict(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o)
		return;
	memlane_state before = check_state(r, o);
	describe(r, "memlane_evict(0x%016" PRIx64 ") [%zu bytes, %s, %u pins, flags 0x%x, %s]", o->h, o->size,
	         state_name(before), o->pins, o->flags, o->dirty ? "dirty" : "clean");
	memlane_stats s0 = get_stats(r);
	msg_mark(r);
	int rc = memlane_evict(r->a, o->h);
	if (!r->cfg->spill) {
		CHECK_RC(r, rc, MEMLANE_ENOSPILL, "memlane_evict");
		return;
	}
	if (before == MEMLANE_STATE_SPILLED) {
		CHECK_RC(r, rc, 0, "memlane_evict (spilled already)");
	} else if (o->pins) {
		CHECK_RC(r, rc, MEMLANE_EPINNED, "memlane_evict");
	} else if (o->flags & MEMLANE_NOSPILL) {
		CHECK_RC(r, rc, MEMLANE_EINVAL, "memlane_evict (MEMLANE_NOSPILL)");
	} else if (store_full(r, rc)) {
		unchanged(r, o); /* stays in RAM */
	} else {
		CHECK_RC(r, rc, 0, "memlane_evict");
		msg_same(r, "memlane_evict");
		memlane_stats s1 = get_stats(r);
		uint64_t dclean = s1.clean_evictions - s0.clean_evictions, ddirty = s1.dirty_evictions - s0.dirty_evictions;
		CHECK(r, dclean == !o->dirty && ddirty == o->dirty,
		      "evicting a %s object: %" PRIu64 " clean and %" PRIu64 " dirty evictions",
		      o->dirty ? "dirty" : "clean", dclean, ddirty);
		expect_state(r, o, MEMLANE_STATE_SPILLED);
		o->dirty = false;
		return;
	}
	expect_state(r, o, before);
}

static void op_prefetch(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o)
		return;
	memlane_state before = check_state(r, o);
	describe(r, "memlane_prefetch(0x%016" PRIx64 ") [%zu bytes, %s]", o->h, o->size, state_name(before));
	msg_mark(r);
	int rc = memlane_prefetch(r->a, o->h);
	if (rc && fault_refused(r, o, before, rc))
		return;
	CHECK_RC(r, rc, 0, "memlane_prefetch");
	msg_same(r, "memlane_prefetch");
	if (before != MEMLANE_STATE_SPILLED)
		expect_state(r, o, before);
	reached(r, o, before, false);
}

static void op_flush(struct run *r)
{
	describe(r, "memlane_flush() [%zu objects, %zu pinned]", r->n, r->npinned);
	int rc = memlane_flush(r->a);
	if (!r->cfg->spill) {
		CHECK_RC(r, rc, MEMLANE_ENOSPILL, "memlane_flush");
		return;
	}
	/* A full store stops the flush: the batches before stay spilled,
	 * the rest in RAM. */
	bool stopped = store_full(r, rc);
	if (!stopped)
		CHECK_RC(r, rc, 0, "memlane_flush");
	for (size_t i = 0; i < r->n; i++) {
		struct mobj *o = &r->objs[i];
		memlane_state st = check_state(r, o);
		if (stopped) {
			if (st == MEMLANE_STATE_SPILLED)
				o->dirty = false;
		} else if (!o->pins && !(o->flags & MEMLANE_NOSPILL)) {
			CHECK(r, st == MEMLANE_STATE_SPILLED, "flush left 0x%016" PRIx64 " in the %s", o->h, state_name(st));
			o->dirty = false;
		}
	}
}

/* After a policy cycle: no unpinned FastLane object is MEMLANE_COLD or
 * promotion_age ticks old, unless the SlowLane could not take them. */
static void check_promoted(struct run *r)
{
	if (r->cfg->store_fills)
		return; /* making room may have failed on a full store */
	for (size_t i = 0; i < r->n; i++) {
		struct mobj *o = &r->objs[i];
		if (!o->may_fast || o->pins)
			continue;
		bool due = (o->flags & MEMLANE_COLD) || r->tick - o->birth >= r->mc.promotion_age;
		if (!due)
			continue;
		memlane_state st = check_state(r, o);
		if (st == MEMLANE_STATE_FAST && room_tight(r, 64 * TU_KiB, 4096))
			return; /* a promotion may have failed for room, which stops the cycle's walk */
		CHECK(r, st != MEMLANE_STATE_FAST,
		      "handle 0x%016" PRIx64 " (born at tick %" PRIu64 ", now %" PRIu64 ", flags 0x%x) not promoted by "
		      "the policy cycle",
		      o->h, o->birth, r->tick, o->flags);
	}
}

static void op_policy(struct run *r, int kind)
{
	static const char *const calls[] = {"memlane_compact", "memlane_maintain", "memlane_tick"};
	describe(r, "%s() [tick %" PRIu64 ", %zu objects]", calls[kind], r->tick, r->n);
	msg_mark(r);
	int rc = kind == 0 ? memlane_compact(r->a) : kind == 1 ? memlane_maintain(r->a) : memlane_tick(r->a);
	CHECK_RC(r, rc, 0, calls[kind]);
	msg_same(r, calls[kind]);
	if (kind == 2)
		r->tick++;
	if (kind != 0)
		check_promoted(r);
}

static void op_checkpoint(struct run *r)
{
	describe(r, "memlane_checkpoint() [%zu objects]", r->n);
	memlane_state *before = NULL;
	bool check_all = chance(r, 300);
	if (check_all) {
		before = malloc((r->n ? r->n : 1) * sizeof(*before));
		CHECK(r, before, "out of memory");
		for (size_t i = 0; i < r->n; i++)
			before[i] = check_state(r, &r->objs[i]);
	}
	msg_mark(r);
	int rc = memlane_checkpoint(r->a);
	int want = !r->cfg->spill ? MEMLANE_ENOSPILL : !r->cfg->persist ? MEMLANE_EINVAL : 0;
	if (store_full(r, rc))
		want = rc; /* the store keeps the previous checkpoint */
	if (rc != want)
		free(before);
	CHECK_RC(r, rc, want, "memlane_checkpoint");
	if (check_all) {
		/* Resident objects stay in RAM, where they were. */
		for (size_t i = 0; i < r->n; i++)
			if (check_state(r, &r->objs[i]) != before[i]) {
				free(before);
				mfail(r, "checkpoint moved handle 0x%016" PRIx64, r->objs[i].h);
			}
		free(before);
	}
	if (rc)
		return;
	msg_same(r, "memlane_checkpoint");
	for (size_t i = 0; i < r->n; i++)
		r->objs[i].dirty = r->objs[i].pins != 0; /* pinned objects stay dirty */
	take_snapshot(r);
}

static void op_root(struct run *r)
{
	int i = (int)below(r, NROOTS);
	char name[300];
	root_name(i, name, sizeof(name));
	int which = (int)below(r, 10);
	if (which == 9) {
		/* A bad name: empty or 256 bytes. */
		bool empty = chance(r, 500);
		if (empty)
			name[0] = '\0';
		else {
			memset(name, 'y', 256);
			name[256] = '\0';
		}
		int k = (int)below(r, 3);
		describe(r, "memlane_root_%s(%s name)", k == 0 ? "set" : k == 1 ? "get" : "del", empty ? "empty" : "256-byte");
		memlane_handle h = r->n ? r->objs[0].h : MEMLANE_NULL;
		int rc = k == 0 ? memlane_root_set(r->a, name, h) : k == 1 ? memlane_root_get(r->a, name, &h)
		                                                            : memlane_root_del(r->a, name);
		CHECK_RC(r, rc, MEMLANE_EINVAL, "memlane_root_* (bad name)");
		return;
	}
	struct mroot *m = &r->roots[i];
	if (which < 4) {
		bool dead = r->ndead && chance(r, 150);
		const struct dead *d = dead ? &r->dead[below(r, r->ndead)] : NULL;
		if (d && r->epoch - d->epoch >= 4000)
			return; /* arena ids come back after 4095 opens */
		memlane_handle h = d ? d->h : r->n ? pick(r)->h : MEMLANE_NULL;
		bool live = h != MEMLANE_NULL && find_obj(r, h);
		describe(r, "memlane_root_set(\"%.8s\", 0x%016" PRIx64 ") [%s]", name, h, live ? "live" : "dead");
		int rc = memlane_root_set(r->a, name, h);
		if (!live) {
			CHECK_RC(r, rc, MEMLANE_EHANDLE, "memlane_root_set");
			return;
		}
		CHECK_RC(r, rc, 0, "memlane_root_set");
		*m = (struct mroot){true, h};
	} else if (which < 8) {
		memlane_handle h = MEMLANE_NULL;
		describe(r, "memlane_root_get(\"%.8s\") [%s]", name, m->set ? "set" : "unset");
		int rc = memlane_root_get(r->a, name, &h);
		if (!m->set) {
			CHECK_RC(r, rc, MEMLANE_ENOTFOUND, "memlane_root_get");
		} else if (!find_obj(r, m->h)) {
			CHECK_RC(r, rc, MEMLANE_EHANDLE, "memlane_root_get (object freed)");
			m->set = false; /* dropped */
		} else {
			CHECK_RC(r, rc, 0, "memlane_root_get");
			CHECK(r, h == m->h, "root names 0x%016" PRIx64 ", expected 0x%016" PRIx64, h, m->h);
		}
	} else {
		describe(r, "memlane_root_del(\"%.8s\") [%s]", name, m->set ? "set" : "unset");
		int rc = memlane_root_del(r->a, name);
		CHECK_RC(r, rc, m->set ? 0 : MEMLANE_ENOTFOUND, "memlane_root_del");
		m->set = false;
	}
}

/* A handle that is not live: null, freed, or forged from a live one. */
static memlane_handle bad_handle(struct run *r, const char **kind)
{
	struct mobj *o = pick(r);
	switch (below(r, 6)) {
	case 0:
		*kind = "null";
		return MEMLANE_NULL;
	case 1:
	case 2:
		if (r->ndead) {
			const struct dead *d = &r->dead[below(r, r->ndead)];
			/* Arena ids come back after 4095 opens. */
			if (r->epoch - d->epoch < 4000) {
				*kind = "freed";
				return d->h;
			}
		}
		*kind = "forged";
		return ((memlane_handle)0xFFFFFFF0u) | ((memlane_handle)1 << 32);
	case 3:
		if (o) {
			*kind = "other generation";
			uint64_t gen = (o->h >> 32) & 0xFFFFF;
			gen = (gen + 1 + below(r, 1000)) & 0xFFFFF;
			return (o->h & ~((memlane_handle)0xFFFFF << 32)) | ((memlane_handle)gen << 32);
		}
		FALLTHROUGH;
	case 4:
		if (o) {
			*kind = "other arena";
			return o->h ^ ((memlane_handle)(1 + below(r, 4095)) << 52);
		}
		FALLTHROUGH;
	default:
		*kind = "slot past the table";
		return (o ? o->h & ~(memlane_handle)0xFFFFFFFFu : ((memlane_handle)1 << 32)) | (0xFFFFFF00u + below(r, 255));
	}
}

static void op_bad_handle(struct run *r)
{
	const char *kind = "";
	memlane_handle h = bad_handle(r, &kind);
	CHECK(r, !find_obj(r, h), "the generator forged a live handle");
	int call = (int)below(r, 18);
	describe(r, "call %d on a %s handle 0x%016" PRIx64, call, kind, h);
	uint8_t buf[8] = {0};
	void *p = NULL;
	int rc = MEMLANE_EHANDLE;
	switch (call) {
	case 0:
		rc = memlane_free(r->a, h);
		break;
	case 1:
		rc = memlane_realloc(r->a, h, below(r, 100));
		break;
	case 2:
		rc = memlane_read(r->a, h, 0, buf, below(r, 9));
		break;
	case 3:
		rc = memlane_write(r->a, h, 0, buf, below(r, 9));
		break;
	case 4:
		CHECK(r, memlane_get(r->a, h) == NULL, "memlane_get of a %s handle", kind);
		break;
	case 5:
		CHECK(r, memlane_get_ro(r->a, h) == NULL, "memlane_get_ro of a %s handle", kind);
		break;
	case 6:
		rc = memlane_try_get(r->a, h, &p);
		break;
	case 7:
		rc = memlane_pin(r->a, h, &p);
		break;
	case 8:
		rc = memlane_unpin(r->a, h);
		break;
	case 9:
		rc = memlane_promote(r->a, h);
		break;
	case 10:
		rc = memlane_evict(r->a, h); /* the handle is checked first, also without a store */
		break;
	case 11:
		rc = memlane_prefetch(r->a, h);
		break;
	case 12:
		rc = memlane_root_set(r->a, "bad", h);
		break;
	case 13:
		CHECK(r, memlane_handle_state(r->a, h) == MEMLANE_STATE_INVALID, "state of a %s handle", kind);
		break;
	case 14:
		CHECK(r, memlane_valid(r->a, h) == 0, "memlane_valid of a %s handle", kind);
		break;
	case 15:
		CHECK(r, memlane_size(r->a, h) == 0, "memlane_size of a %s handle", kind);
		break;
	case 16:
		CHECK(r, memlane_tag(r->a, h) == 0, "memlane_tag of a %s handle", kind);
		break;
	default:
		rc = memlane_free(r->a, h);
		break;
	}
	CHECK_RC(r, rc, MEMLANE_EHANDLE, "a call on a bad handle");
	if (call <= 12) {
		/* memlane_errmsg() names the culprit. */
		char hex[32];
		snprintf(hex, sizeof(hex), "0x%016" PRIx64, h);
		CHECK(r, tu_contains(memlane_errmsg(), h == MEMLANE_NULL ? "null" : hex), "the message names no %s",
		      h == MEMLANE_NULL ? "null handle" : hex);
	}
	CHECK(r, p == NULL, "a pointer for a bad handle");
}

/* memlane_debug_dump lists every live object with its state, and
 * memlane_stats_print counts them. */
static void op_dump(struct run *r)
{
	describe(r, "memlane_debug_dump and memlane_stats_print [%zu objects]", r->n);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(r, f, "open_memstream: %s", strerror(errno));
	int rc = memlane_debug_dump(r->a, f);
	int rc2 = memlane_stats_print(r->a, f, (int)below(r, 2));
	fclose(f);
	if (rc || rc2)
		free(buf);
	CHECK_RC(r, rc, 0, "memlane_debug_dump");
	CHECK_RC(r, rc2, 0, "memlane_stats_print");
	static const char *const names[] = {"invalid", "fast", "slow", "spilled"};
	for (size_t i = 0; i < r->n; i++) {
		struct mobj *o = &r->objs[i];
		char hex[32];
		snprintf(hex, sizeof(hex), "0x%016" PRIx64, o->h);
		const char *line = strstr(buf, hex);
		memlane_state st = check_state(r, o);
		char word[16] = "";
		if (line)
			sscanf(line + strlen(hex), " %15s", word);
		if (!line || strcmp(word, names[st]) != 0) {
			free(buf);
			mfail(r, "memlane_debug_dump shows %s as '%s', its state is %s", hex, line ? word : "(missing)",
			      state_name(st));
		}
	}
	free(buf);
}

static void op_query(struct run *r)
{
	struct mobj *o = pick(r);
	if (!o)
		return;
	describe(r, "queries on 0x%016" PRIx64 " [%zu bytes, tag %u]", o->h, o->size, o->tag);
	CHECK(r, memlane_valid(r->a, o->h) == 1, "memlane_valid is not 1");
	CHECK(r, memlane_size(r->a, o->h) == o->size, "memlane_size = %zu, expected %zu", memlane_size(r->a, o->h),
	      o->size);
	CHECK(r, memlane_tag(r->a, o->h) == o->tag, "memlane_tag = %u, expected %u", memlane_tag(r->a, o->h), o->tag);
	check_state(r, o);
}

/* ---- open, close, reopen, crash ------------------------------------------------ */

/* The options of the next open: the configuration's, and (@vary) now and
 * then another compression or half the SlowLane. A persistent store
 * reopens with whatever options it is given; objects larger than the
 * smaller lane can hold then fail to fault in with MEMLANE_ETOOBIG. */
static void set_options(struct run *r, bool vary)
{
	static const char *const variants[] = {"compression=none", "compression=zstd,compression_level=1", NULL};
	size_t k = vary ? below(r, 8) : 8;
	memlane_config_init(&r->mc);
	CHECK_RC(r, memlane_config_parse(&r->mc, r->cfg->options), 0, "memlane_config_parse");
	if (k < 2)
		CHECK_RC(r, memlane_config_parse(&r->mc, variants[k]), 0, "memlane_config_parse");
	else if (k == 2 && r->mc.slow_lane_size >= 2 * TU_MiB)
		r->mc.slow_lane_size /= 2;
	CHECK_RC(r, memlane_config_validate(&r->mc), 0, "memlane_config_validate");
	r->margin = r->mc.slow_lane_safety_margin != SIZE_MAX ? r->mc.slow_lane_safety_margin
	            : r->mc.slow_lane_size / 16 < 16 * TU_MiB ? r->mc.slow_lane_size / 16
	                                                      : 16 * TU_MiB;
}

static void arena_open(struct run *r)
{
	memlane_arena *a = NULL;
	int rc = memlane_open(&a, r->cfg->spill ? r->spill : NULL, &r->mc);
	CHECK_RC(r, rc, 0, "memlane_open");
	CHECK(r, a != NULL, "memlane_open gave no arena");
	r->a = a;
	r->epoch++;
	r->tick = 0;
}

/* Close; with persist=1, true when the close's checkpoint committed. */
static bool arena_close(struct run *r)
{
	memlane_stats st = get_stats(r);
	r->sum.allocs += st.allocs;
	r->sum.frees += st.frees;
	r->sum.reallocs += st.reallocs;
	r->sum.fallbacks += st.fallbacks;
	r->sum.promotions += st.promotions;
	r->sum.compactions += st.compactions;
	r->sum.moved_objects += st.moved_objects;
	r->sum.evictions += st.evictions;
	r->sum.faults += st.faults;
	r->sum.clean_evictions += st.clean_evictions;
	r->sum.checkpoints += st.checkpoints;
	int rc = memlane_close(r->a);
	r->a = NULL;
	if (store_full(r, rc))
		return false; /* closed; the store holds the checkpoint before */
	CHECK_RC(r, rc, 0, "memlane_close");
	return true;
}

/* After a persistent reopen: exactly the snapshot, every object spilled,
 * the roots of the snapshot and no others. */
static void verify_restored(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		expect_state(r, &r->objs[i], MEMLANE_STATE_SPILLED);
	for (int i = 0; i < NROOTS; i++) {
		char name[300];
		root_name(i, name, sizeof(name));
		memlane_handle h = MEMLANE_NULL;
		int rc = memlane_root_get(r->a, name, &h);
		if (!r->roots[i].set) {
			CHECK_RC(r, rc, MEMLANE_ENOTFOUND, "memlane_root_get (after reopen)");
			continue;
		}
		CHECK_RC(r, rc, 0, "memlane_root_get (after reopen)");
		CHECK(r, h == r->roots[i].h, "root %d names 0x%016" PRIx64 " after reopen, expected 0x%016" PRIx64, i, h,
		      r->roots[i].h);
	}
	verify_all(r, true);
	/* Handles freed before the checkpoint stay invalid. */
	for (size_t i = 0; i < r->ndead; i++)
		CHECK(r, memlane_handle_state(r->a, r->dead[i].h) == MEMLANE_STATE_INVALID,
		      "handle 0x%016" PRIx64 ", freed before the checkpoint, is valid after reopen", r->dead[i].h);
}

static void op_reopen(struct run *r)
{
	describe(r, "memlane_close + memlane_open [%zu objects, %zu pinned]", r->n, r->npinned);
	bool committed = arena_close(r);
	if (r->cfg->persist) {
		if (committed)
			take_snapshot(r); /* close checkpoints last */
		set_options(r, true);
		describe(r, "memlane_open, slow_lane_size=%zu, compression=%d", r->mc.slow_lane_size, r->mc.compression);
		arena_open(r);
		restore_snapshot(r);
		verify_restored(r);
		return;
	}
	/* Memory-only and scratch stores start empty; the old handles
	 * belong to an arena id no longer open. */
	for (size_t i = 0; i < r->n; i++)
		add_dead(r, r->objs[i].h);
	free_model(r);
	memset(r->roots, 0, sizeof(r->roots));
	arena_open(r);
	check_counts(r);
	for (size_t i = 0; i < r->ndead; i++)
		CHECK(r, memlane_handle_state(r->a, r->dead[i].h) == MEMLANE_STATE_INVALID,
		      "handle 0x%016" PRIx64 " of the closed arena is valid in the new one", r->dead[i].h);
}

#define SNAP_MAGIC 0x4d4c534e41503031ull /* "MLSNAP01" */

/* The crash child hands the snapshot of its last checkpoint to the
 * parent through a file: the structs as they are (same program), then
 * each object's bytes. */
static int save_snapshot(struct run *r)
{
	char tmp[2200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->snapfile);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return -1;
	struct snap *s = &r->snap;
	uint64_t hdr[3] = {SNAP_MAGIC, s->n, s->ndead};
	bool ok = fwrite(hdr, sizeof(hdr), 1, f) == 1 && fwrite(s->dead, sizeof(s->dead), 1, f) == 1 &&
	          fwrite(s->roots, sizeof(s->roots), 1, f) == 1;
	for (size_t i = 0; ok && i < s->n; i++)
		ok = fwrite(&s->objs[i], sizeof(s->objs[i]), 1, f) == 1 &&
		     (s->objs[i].size == 0 || fwrite(s->objs[i].bytes, s->objs[i].size, 1, f) == 1);
	if (fclose(f) != 0 || !ok)
		return -1;
	return rename(tmp, r->snapfile);
}

static void load_snapshot(struct run *r)
{
	FILE *f = fopen(r->snapfile, "rb");
	CHECK(r, f, "the crash child left no snapshot: %s", strerror(errno));
	snap_free(&r->snap);
	struct snap *s = &r->snap;
	uint64_t hdr[3];
	bool ok = fread(hdr, sizeof(hdr), 1, f) == 1 && hdr[0] == SNAP_MAGIC && hdr[2] <= NDEAD &&
	          fread(s->dead, sizeof(s->dead), 1, f) == 1 && fread(s->roots, sizeof(s->roots), 1, f) == 1;
	if (ok) {
		s->objs = calloc(hdr[1] ? hdr[1] : 1, sizeof(*s->objs));
		ok = s->objs != NULL;
	}
	for (size_t i = 0; ok && i < hdr[1]; i++) {
		struct mobj *o = &s->objs[i];
		ok = fread(o, sizeof(*o), 1, f) == 1;
		if (!ok)
			break;
		o->bytes = malloc(o->size ? o->size : 1);
		s->n = i + 1;
		ok = o->bytes && (o->size == 0 || fread(o->bytes, o->size, 1, f) == 1);
	}
	fclose(f);
	CHECK(r, ok, "the crash child's snapshot is damaged");
	s->ndead = hdr[2];
	s->valid = true;
}

static void step(struct run *r);

/* A crash: close (a checkpoint), then a child process opens the store,
 * runs operations (checkpoints among them) and dies without
 * memlane_close; the store must come back as of the child's last
 * checkpoint, which the child reports. */
static void op_crash(struct run *r)
{
	uint64_t child_seed = rnd(r);
	uint64_t child_ops = 100 + below(r, 400);
	/* Most children checkpoint once more, somewhere in the middle, so
	 * that the crash loses work done after a checkpoint of their own. */
	uint64_t ckpt_at = chance(r, 700) ? below(r, child_ops) : UINT64_MAX;
	describe(r, "crash: a child runs %" PRIu64 " operations (seed 0x%" PRIx64 ") and dies", child_ops, child_seed);
	if (arena_close(r))
		take_snapshot(r);
	set_options(r, true);
	unlink(r->snapfile);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(r, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		r->child = true;
		r->no_arena_ops = true;
		r->rng.s = child_seed;
		describe(r, "crash child: open the store and check it");
		arena_open(r);
		restore_snapshot(r);
		verify_restored(r);
		for (r->child_op = 0; r->child_op < child_ops; r->child_op++) {
			if (r->child_op == ckpt_at)
				op_checkpoint(r);
			step(r);
		}
		if (save_snapshot(r) != 0)
			_exit(4);
		_exit(0); /* no memlane_close: the store sees a crash */
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	describe(r, "crash: reopen after the child (seed 0x%" PRIx64 ", %" PRIu64 " operations)", child_seed, child_ops);
	CHECK(r, WIFEXITED(status) && WEXITSTATUS(status) == 0, "the crash child failed (status 0x%x), see above",
	      status);
	load_snapshot(r);
	set_options(r, true);
	arena_open(r);
	restore_snapshot(r);
	verify_restored(r);
	r->done += child_ops;
}

/* ---- the generator ------------------------------------------------------------- */

enum op_kind {
	OP_ALLOC, OP_ALLOC_EX, OP_FREE, OP_REALLOC, OP_WRITE, OP_READ, OP_GET, OP_GET_RO, OP_TRY_GET, OP_PIN,
	OP_UNPIN, OP_PINNED, OP_PROMOTE, OP_EVICT, OP_PREFETCH, OP_FLUSH, OP_COMPACT, OP_MAINTAIN, OP_TICK,
	OP_CHECKPOINT, OP_ROOT, OP_BAD, OP_QUERY, OP_REOPEN, OP_CRASH, OP_PIN_MAX, OP_DUMP, OP_COUNT
};

/* Weights, per 10000 operations. */
static const unsigned op_weight[OP_COUNT] = {
	[OP_ALLOC] = 700,   [OP_ALLOC_EX] = 900, [OP_FREE] = 1300,    [OP_REALLOC] = 500,   [OP_WRITE] = 1100,
	[OP_READ] = 1300,   [OP_GET] = 600,      [OP_GET_RO] = 500,   [OP_TRY_GET] = 400,   [OP_PIN] = 150,
	[OP_UNPIN] = 600,   [OP_PINNED] = 200,   [OP_PROMOTE] = 300,  [OP_EVICT] = 250,     [OP_PREFETCH] = 250,
	[OP_FLUSH] = 4,     [OP_COMPACT] = 40,   [OP_MAINTAIN] = 40,  [OP_TICK] = 200,      [OP_CHECKPOINT] = 15,
	[OP_ROOT] = 300,    [OP_BAD] = 400,      [OP_QUERY] = 400,    [OP_REOPEN] = 2,      [OP_CRASH] = 1,
	[OP_PIN_MAX] = 1,    [OP_DUMP] = 3,
};

static enum op_kind choose(struct run *r)
{
	unsigned total = 0;
	for (int k = 0; k < OP_COUNT; k++)
		total += op_weight[k];
	unsigned x = (unsigned)below(r, total);
	int k = 0;
	while (x >= op_weight[k])
		x -= op_weight[k++];
	if ((k == OP_ALLOC || k == OP_ALLOC_EX) && r->live_bytes > r->cfg->live_cap)
		k = OP_FREE;
	else if (k == OP_FREE && r->n < 16)
		k = OP_ALLOC_EX;
	if ((k == OP_REOPEN || k == OP_CRASH) && r->no_arena_ops)
		k = OP_QUERY;
	if (k == OP_CRASH && !r->cfg->persist)
		k = OP_REOPEN;
	return (enum op_kind)k;
}

static void step(struct run *r)
{
	enum op_kind k = choose(r);
	switch (k) {
	case OP_ALLOC:
		op_alloc(r, false);
		break;
	case OP_ALLOC_EX:
		op_alloc(r, true);
		break;
	case OP_FREE:
		op_free(r);
		break;
	case OP_REALLOC:
		op_realloc(r);
		break;
	case OP_WRITE:
		op_copy(r, true);
		break;
	case OP_READ:
		op_copy(r, false);
		break;
	case OP_GET:
		op_get(r, 0);
		break;
	case OP_GET_RO:
		op_get(r, 1);
		break;
	case OP_TRY_GET:
		op_get(r, 2);
		break;
	case OP_PIN:
		op_pin(r);
		break;
	case OP_UNPIN:
		op_unpin(r);
		break;
	case OP_PINNED:
		op_pinned_access(r);
		break;
	case OP_PROMOTE:
		op_promote(r);
		break;
	case OP_EVICT:
		op_evict(r);
		break;
	case OP_PREFETCH:
		op_prefetch(r);
		break;
	case OP_FLUSH:
		op_flush(r);
		break;
	case OP_COMPACT:
		op_policy(r, 0);
		break;
	case OP_MAINTAIN:
		op_policy(r, 1);
		break;
	case OP_TICK:
		op_policy(r, 2);
		break;
	case OP_CHECKPOINT:
		op_checkpoint(r);
		break;
	case OP_ROOT:
		op_root(r);
		break;
	case OP_BAD:
		op_bad_handle(r);
		break;
	case OP_QUERY:
		op_query(r);
		break;
	case OP_REOPEN:
		op_reopen(r);
		break;
	case OP_CRASH:
		op_crash(r);
		break;
	case OP_PIN_MAX:
		op_pin_max(r);
		break;
	case OP_DUMP:
		op_dump(r);
		break;
	default:
		mfail(r, "no operation %d", (int)k);
	}
	r->done++;
	if (r->done % VERIFY_EVERY == 0) {
		describe(r, "whole-arena check after op #%" PRIu64, r->child ? r->child_op : r->op);
		verify_all(r, false);
	}
}

/* ---- runs ------------------------------------------------------------------------ */

static void run_cleanup(struct run *r)
{
	if (!r)
		return;
	if (r->a)
		memlane_close(r->a);
	free_model(r);
	free(r->objs);
	snap_free(&r->snap);
	if (r->dir[0])
		tu_rm_rf(r->dir);
	free(r);
}

/* Run @nops operations of @seed on configuration @cfg; returns the
 * operations run (crash children's included). */
static uint64_t run_one(const struct mconfig *cfg, uint64_t seed, uint64_t nops, bool trace)
{
	struct run *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	g_run = r;
	r->cfg = cfg;
	r->seed = seed;
	r->nops = nops;
	r->trace = trace;
	/* The configuration's name is part of the stream: one seed, five
	 * different sequences. */
	uint64_t h = 0;
	for (const char *c = cfg->name; *c; c++)
		h = tu_mix64(h ^ (uint8_t)*c);
	r->rng.s = tu_mix64(seed) ^ h;
	snprintf(r->what, sizeof(r->what), "setup");
	set_options(r, false);
	CHECK(r, tu_mkdtemp(r->dir, sizeof(r->dir), "model") == 0, "mkdtemp failed");
	snprintf(r->spill, sizeof(r->spill), "%s/spill", r->dir);
	snprintf(r->snapfile, sizeof(r->snapfile), "%s/snapshot", r->dir);
	arena_open(r);
	for (r->op = 0; r->op < nops; r->op++)
		step(r);
	describe(r, "final check and close");
	verify_all(r, true);
	bool committed = arena_close(r);
	if (cfg->persist) {
		/* One last round trip: the close's checkpoint. */
		if (committed)
			take_snapshot(r);
		arena_open(r);
		restore_snapshot(r);
		verify_restored(r);
		arena_close(r);
	}
	uint64_t done = r->done;
	g_tally.allocs += r->sum.allocs;
	g_tally.frees += r->sum.frees;
	g_tally.reallocs += r->sum.reallocs;
	g_tally.fallbacks += r->sum.fallbacks;
	g_tally.promotions += r->sum.promotions;
	g_tally.compactions += r->sum.compactions;
	g_tally.moved += r->sum.moved_objects;
	g_tally.evictions += r->sum.evictions;
	g_tally.faults += r->sum.faults;
	g_tally.clean_ev += r->sum.clean_evictions;
	g_tally.checkpoints += r->sum.checkpoints;
	g_tally.refused += r->refused;
	g_run = NULL;
	run_cleanup(r);
	return done;
}

/* ---- regressions the model found ---------------------------------------------------- */

/* Seed 0x7acf4b5331e81304, config spill, op #45818: an object filling
 * the SlowLane (slow_lane_size less the margin) shrunk to 183 bytes.
 * Shrinking to under a quarter moves the object to give space back; the
 * smaller copy found no room (the object itself filled the lane) and
 * the call failed with MEMLANE_ENOMEM. A shrink now stays in place when
 * the copy finds no room. With and without a spill directory. */
static void test_shrink_in_full_lane(void **state)
{
	(void)state;
	for (int spill = 0; spill < 2; spill++) {
		char dir[2048], sub[2100];
		assert_int_equal(tu_mkdtemp(dir, sizeof(dir), "model-shrink"), 0);
		snprintf(sub, sizeof(sub), "%s/spill", dir);
		memlane_config cfg;
		memlane_config_init(&cfg);
		assert_int_equal(memlane_config_parse(&cfg, "fast_lane_size=128K,slow_lane_size=2M,threshold=512"), 0);
		memlane_arena *a = NULL;
		assert_int_equal(memlane_open(&a, spill ? sub : NULL, &cfg), 0);
		size_t big = 2 * TU_MiB - 128 * TU_KiB; /* slow_lane_size less the auto margin */
		memlane_alloc_opts o = {MEMLANE_COLD | MEMLANE_ZERO, 0, 0};
		memlane_handle h;
		assert_int_equal(memlane_alloc_ex(a, big, &o, &h), 0);
		tu_fill_seed(a, h, big, 0x5348524eull);
		/* A success leaves the last failure's message alone. */
		assert_int_equal(memlane_free(a, MEMLANE_NULL), MEMLANE_EHANDLE);
		char msg[600];
		snprintf(msg, sizeof(msg), "%s", memlane_errmsg());
		assert_int_equal(memlane_realloc(a, h, 183), 0);
		assert_string_equal(memlane_errmsg(), msg);
		tu_verify_seed(a, h, 183, 0x5348524eull);
		assert_int_equal(memlane_handle_state(a, h), MEMLANE_STATE_SLOW);
		/* The space past the small object is given back. */
		assert_true(tu_stats(a).slow_reserved_bytes < 4096);
		/* Smaller again, then the lane is usable: room comes back
		 * once the object can move. */
		assert_int_equal(memlane_realloc(a, h, 40), 0);
		tu_verify_seed(a, h, 40, 0x5348524eull);
		memlane_handle h2;
		assert_int_equal(memlane_alloc(a, 1000, &h2), 0);
		assert_int_equal(memlane_free(a, h2), 0);
		assert_int_equal(memlane_free(a, h), 0);
		assert_int_equal(memlane_close(a), 0);
		assert_int_equal(tu_rm_rf(dir), 0);
	}
}

/* ---- cmocka ------------------------------------------------------------------------ */

static struct {
	bool seed_set;
	uint64_t seed;
	const char *config;
	uint64_t ops; /* 0: the configuration's */
	double soak;  /* seconds; 0: no soak */
	bool trace;
} opt;

static int teardown(void **state)
{
	(void)state;
	run_cleanup(g_run);
	g_run = NULL;
	return 0;
}

static void test_config(void **state)
{
	const struct mconfig *cfg = *state;
	unsigned nseeds = opt.seed_set ? 1 : cfg->seeds;
	uint64_t ops = opt.ops ? opt.ops : cfg->ops;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t done = 0;
	memset(&g_tally, 0, sizeof(g_tally));
	for (unsigned i = 0; i < nseeds; i++) {
		uint64_t seed = opt.seed_set ? opt.seed : i + 1;
		done += run_one(cfg, seed, ops, opt.trace);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	g_total_ops += done;
	printf("test_model: %-12s %u seed(s), %" PRIu64 " operations, %.1f s\n", cfg->name, nseeds, done,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	const struct tally *t = &g_tally;
	printf("  library: %" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64 " reallocs, %" PRIu64 " fallbacks, %" PRIu64
	       " promotions, %" PRIu64 " compactions (%" PRIu64 " objects moved), %" PRIu64 " evictions (%" PRIu64
	       " clean), %" PRIu64 " faults, %" PRIu64 " checkpoints; %" PRIu64 " refusals (ENOMEM, ETOOBIG, ENOSPC, EPINNED) checked to change nothing\n",
	       t->allocs, t->frees, t->reallocs, t->fallbacks, t->promotions, t->compactions, t->moved, t->evictions,
	       t->clean_ev, t->faults, t->checkpoints, t->refused);
	fflush(stdout);
}

/* Random seeds, every configuration in turn, until the time is up. */
static void test_soak(void **state)
{
	(void)state;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t seedgen = tu_mix64((uint64_t)t0.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL));
	for (unsigned k = 0;; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		if (el >= opt.soak)
			break;
		const struct mconfig *cfg = &configs[k % NCONFIGS];
		if (opt.config && strcmp(opt.config, cfg->name) != 0)
			continue;
		uint64_t seed = tu_mix64(seedgen + k);
		fprintf(stderr, "soak: %.0f s, %" PRIu64 " operations so far; config %s seed 0x%" PRIx64 "\n", el,
		        g_total_ops, cfg->name, seed);
		g_total_ops += run_one(cfg, seed, opt.ops ? opt.ops : cfg->ops, opt.trace);
	}
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

static int read_env(void)
{
	const char *s;
	if ((s = getenv("MEMLANE_MODEL_SEED")) && *s) {
		if (!parse_u64(s, &opt.seed)) {
			fprintf(stderr, "test_model: MEMLANE_MODEL_SEED='%s' is not a number\n", s);
			return -1;
		}
		opt.seed_set = true;
	}
	if ((s = getenv("MEMLANE_MODEL_OPS")) && *s && (!parse_u64(s, &opt.ops) || opt.ops == 0)) {
		fprintf(stderr, "test_model: MEMLANE_MODEL_OPS='%s' is not a positive number\n", s);
		return -1;
	}
	if ((s = getenv("MEMLANE_MODEL_SOAK")) && *s) {
		uint64_t v;
		if (!parse_u64(s, &v) || v == 0) {
			fprintf(stderr, "test_model: MEMLANE_MODEL_SOAK='%s' is not a positive number of seconds\n", s);
			return -1;
		}
		opt.soak = (double)v;
	}
	if ((s = getenv("MEMLANE_MODEL_CONFIG")) && *s) {
		bool known = false;
		for (size_t i = 0; i < NCONFIGS; i++)
			known |= !strcmp(s, configs[i].name);
		if (!known) {
			fprintf(stderr, "test_model: MEMLANE_MODEL_CONFIG='%s' is none of:", s);
			for (size_t i = 0; i < NCONFIGS; i++)
				fprintf(stderr, " %s", configs[i].name);
			fprintf(stderr, "\n");
			return -1;
		}
		opt.config = s;
	}
	s = getenv("MEMLANE_MODEL_TRACE");
	opt.trace = s && *s && strcmp(s, "0") != 0;
	return 0;
}

int main(void)
{
	tu_init();
	if (read_env() != 0)
		return 1;
	struct CMUnitTest tests[NCONFIGS + 2];
	size_t n = 0;
	if (opt.soak > 0) {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(test_soak, teardown);
	} else {
		for (size_t i = 0; i < NCONFIGS; i++) {
			if (opt.config && strcmp(opt.config, configs[i].name) != 0)
				continue;
			struct CMUnitTest t = cmocka_unit_test_prestate_setup_teardown(test_config, NULL, teardown,
			                                                              (void *)(uintptr_t)&configs[i]);
			t.name = configs[i].name;
			tests[n++] = t;
		}
		if (!opt.config && !opt.seed_set)
			tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_shrink_in_full_lane);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int failed = _cmocka_run_group_tests("test_model", tests, n, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("test_model: %" PRIu64 " operations in all, %.1f s\n", g_total_ops,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failed;
}
