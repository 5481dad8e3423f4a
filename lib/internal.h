/* internal.h - the arena's private structures and the functions the
 * subsystems call on each other. Never installed; every function here
 * is hidden from the shared library (-fvisibility=hidden).
 *
 * Locking: one lock per arena (a->lock, lock.c) guards every field below. All
 * ml_* functions expect it held unless their comment says otherwise. */
#ifndef MEMLANE_INTERNAL_H
#define MEMLANE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

#include "memlane.h"
#include "record.h"
#include "sizeclass.h"

#define ML_HIDDEN __attribute__((visibility("hidden")))
/* gcc accepts a comment, clang -Wimplicit-fallthrough wants this. */
#define ML_FALLTHROUGH __attribute__((fallthrough))

/* ---- handles (handle.c) ------------------------------------------------
 * bits 0-31 slot index, 32-51 generation, 52-63 arena id. Generations
 * start at 1, so no handle is 0; a slot reaching ML_GEN_MAX is retired. */
#define ML_GEN_BITS 20
#define ML_GEN_MAX ((1u << ML_GEN_BITS) - 1)
#define ML_ARENA_BITS 12
/* A handle's upper 32 bits: arena @id and generation @gen. */
#define ML_HANDLE_HI(id, gen) ((uint32_t)(id) << ML_GEN_BITS | (uint32_t)(gen))
#define ML_NIL UINT32_MAX
/* The handle table's reservation is never smaller than this many slots. */
#define ML_SLOTS_MIN_RESERVE ((size_t)1 << 20)
/* Largest object size accepted at all (also from a store being
 * restored); keeps every size computation far from overflow. */
#define ML_SIZE_LIMIT ((uint64_t)1 << 48)

/* Which part of the SlowLane holds an object. */
enum ml_kind { ML_KIND_NONE = 0, ML_KIND_BLOCK = 1, ML_KIND_BLOB = 2 };

/* A stub's state while ml_stub_set_place changes its place: neither
 * lane, so a reader without the lock takes the locked path. */
#define ML_STATE_MOVING 0xff

/* Internal stub flags, above the public MEMLANE_* allocation flags. */
#define ML_FLAG_PUBLIC_MASK (MEMLANE_ZERO | MEMLANE_FAST | MEMLANE_SLOW | MEMLANE_NOSPILL | MEMLANE_COLD)
/* The allocation flags a stub keeps (the lane wanted only matters once). */
#define ML_FLAG_KEPT (MEMLANE_ZERO | MEMLANE_NOSPILL | MEMLANE_COLD)
/* The object has a tag, in its ml_stub_ext. */
#define ML_FLAG_TAGGED 0x80u
_Static_assert((ML_FLAG_TAGGED & ML_FLAG_PUBLIC_MASK) == 0, "internal flags lie above the public ones");

/* One slot of the handle table: where an object's bytes are. 32 bytes,
 * every one of them paid per live object: what only some objects need
 * (store records, a blob's extent, a tag) lives in the slot's
 * ml_stub_ext. Two stubs to a cache line, and the 16 bytes memlane_get
 * reads never straddle two.
 *
 * The first 16 bytes are what memlane_get reads without the lock (see
 * ml_get_unlocked): off, handle_hi, state and the two flags it needs set.
 * Code holding the lock writes every field of those 16 bytes (off, and
 * handle_hi, state, referenced, dirty and kind, which the reader loads as one
 * word) with ML_PUBLISH, so a reader without the lock never sees a torn
 * or reordered value. */
struct ml_stub {
	uint64_t off; /* offset in its lane; on the free slot list: next free slot */
	union {
		struct {
			/* The upper half of the slot's handle: arena id and
			 * generation (ML_HANDLE_HI), so one compare of the
			 * handle's upper half checks both, and memlane_get
			 * needs no separate load and test of the arena id. */
			uint32_t handle_hi;
			uint8_t state;      /* memlane_state; INVALID when the slot is free */
			uint8_t referenced; /* touched since the pager's CLOCK hand last passed */
			uint8_t dirty;      /* RAM bytes differ from record seq (or there is none) */
			uint8_t kind;       /* enum ml_kind, for SlowLane objects */
		};
		uint64_t word; /* the five above as one, for ml_get_unlocked's single load */
	};
	/* Three fields in one word. Code that writes cls or align_log2
	 * writes the whole word (szc, with ML_SZC), never the bit-field
	 * alone: a narrow store followed by the wide load that reads size
	 * stalls store forwarding, which cost the allocation path 10 %. */
	union {
		struct {
			uint64_t size : 50;      /* object bytes (at most ML_SIZE_LIMIT) */
			uint64_t cls : 7;        /* size class (FastLane blocks, SlowLane blocks) */
			uint64_t align_log2 : 7;
		};
		uint64_t szc;
	};
	uint32_t birth; /* arena tick at allocation, modulo 2^32 (ml_stub_age) */
	uint16_t pins;
	uint8_t flags;  /* MEMLANE_ZERO / NOSPILL / COLD as allocated, and ML_FLAG_TAGGED */
	uint8_t picked; /* chosen as a victim by the eviction in progress */
};

/* ml_stub.szc for @size bytes of class @cls at alignment 2^@align_log2. */
#define ML_SZC(size, cls, align_log2) \
	((uint64_t)(size) | (uint64_t)(cls) << 50 | (uint64_t)(align_log2) << 57)

_Static_assert(sizeof(struct ml_stub) == 32, "a stub is 32 bytes: every live object pays for each one");

/* The slot's generation, without the arena id beside it. */
static inline uint32_t ml_stub_gen(const struct ml_stub *s)
{
	return s->handle_hi & ML_GEN_MAX;
}

/* The rest of a slot, in a table of its own beside the stubs: touched
 * only for objects in the store, for blobs and for tagged objects, so
 * an arena without a store, with small untagged objects, never makes
 * these pages resident. */
struct ml_stub_ext {
	uint64_t seq;      /* latest store record of this object; 0: none */
	uint64_t ckpt_seq; /* the record the last checkpoint's handle table names; 0: none */
	uint64_t cap;      /* a blob's extent (other objects: their class size) */
	uint32_t tag;      /* the object's tag, when ML_FLAG_TAGGED */
};

/* Store a field that memlane_get may read without the lock (a stub's
 * off, gen, state, referenced, dirty; the arena's nslots). A release
 * store is a plain store on x86-64; it keeps the compiler from tearing
 * or reordering it, and tells ThreadSanitizer the race is intended. */
#define ML_PUBLISH(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELEASE)
/* The reader's side of ML_PUBLISH. */
#define ML_PEEK(field) __atomic_load_n(&(field), __ATOMIC_ACQUIRE)

/* ml_stub.word as it reads on a little-endian machine for a resident
 * object whose handle's upper half is @hi, in lane @state, referenced
 * and (@dirty) dirty; ML_WORD_MASK keeps the fields ml_get_unlocked
 * compares. */
#define ML_WORD(hi, state, dirty) \
	((uint64_t)(hi) | (uint64_t)(state) << 32 | (uint64_t)1 << 40 | (uint64_t)(dirty) << 48)
#define ML_WORD_MASK(dirty) (0xffffffffffull | (uint64_t)0xff << 40 | (uint64_t)((dirty) ? 0xff : 0) << 48)

/* FastLane objects in birth order (promote.c): (slot, handle_hi)
 * pairs appended at allocation. An entry stands for a live object while
 * its slot still holds that generation in the FastLane; a free, a
 * promotion or an eviction leaves it dead, to be dropped at the head or
 * by ml_fifo_reserve. Nothing is unlinked on a free, so freeing touches
 * no other object's stub. */
struct ml_fifo_ent {
	uint32_t idx, handle_hi; /* the slot, and its handle_hi when pushed */
};
struct ml_fifo {
	struct ml_fifo_ent *e; /* entries e[head..tail) */
	size_t head, tail, cap;
};

/* ---- FastLane (fastlane.c) --------------------------------------------- */
#define ML_FAST_NIL UINT64_MAX
/* The largest FastLane (option fast_lane_size): an offset in 16-byte
 * units then fits 32 bits, which compaction's sort keys rely on. */
#define ML_FAST_LANE_MAX ((uint64_t)64 << 30)
struct ml_fast {
	uint8_t *base;
	size_t size;
	size_t top;     /* bump pointer: everything below is objects or holes */
	size_t touched; /* highest top since pages were last given back, or end of the pages prefaulted */
	uint64_t free_head[ML_NCLASSES]; /* per class, offset of the first free block */
	uint64_t nonempty;               /* bit c: free_head[c] may be non-empty (never clear if it is) */
	size_t coalesce_at;              /* free_bytes from which a bump first merges neighbouring free blocks */
	size_t free_bytes;               /* bytes on the free lists */
	size_t used_bytes;               /* object bytes */
	size_t reserved_bytes;           /* block bytes of live objects */
};

/* Put the free block at @off on the list of @cls. Inline here, not in
 * fastlane.c, for object.c's straight-through free. */
static inline void ml_fast_push(struct ml_fast *f, uint64_t off, unsigned cls)
{
	memcpy(f->base + off, &f->free_head[cls], sizeof(uint64_t));
	f->free_head[cls] = off;
	f->nonempty |= (uint64_t)1 << cls;
	f->free_bytes += ml_class_size(cls);
}

/* Take the first block off the free list of @cls (not empty). Its bit
 * in f->nonempty stays set even when the list runs dry: fastlane.c's
 * split clears such stale bits when it meets them, which keeps this,
 * the allocation fast path, as short as it was without the bitmap. */
static inline uint64_t ml_fast_pop(struct ml_fast *f, unsigned cls)
{
	uint64_t off = f->free_head[cls];
	memcpy(&f->free_head[cls], f->base + off, sizeof(uint64_t));
	f->free_bytes -= ml_class_size(cls);
	return off;
}

/* ---- SlowLane (slowlane.c) ---------------------------------------------- */
#define ML_SLAB_SIZE ((size_t)65536)
/* Largest class kept in the block region; bigger objects are blobs. */
#define ML_BLOCK_MAX_SIZE ((size_t)16384)
/* A blob extent this large that the program frees gives its whole
 * pages back at once (ml_slow_give_back). */
#define ML_BLOB_RELEASE_MIN ((size_t)65536)
/* Bytes of the SlowLane's free middle that may stay resident after a
 * free before they go back to the OS (ml_slow_give_back), and the bytes
 * next to each region that stay even then, for the next slabs or blobs
 * to take without a system call: glibc's M_TRIM_THRESHOLD and
 * M_TOP_PAD. */
#define ML_TRIM_MIN ((size_t)262144)
#define ML_TRIM_KEEP ((size_t)65536)
#define ML_SLAB_FREE 0xff

struct ml_slab {
	uint32_t used;      /* live blocks */
	uint32_t carved;    /* blocks handed out by bump so far */
	uint32_t free_head; /* first free block index (ML_NIL: none) */
	uint32_t prev, next; /* partial list of its class, or free slab list */
	uint8_t cls;        /* size class, ML_SLAB_FREE when empty */
	uint8_t on_partial;
	uint8_t dirty;      /* pages touched since last given back */
	uint8_t fresh;      /* its pages were never touched or given back since: prefault as carved */
};

struct ml_extent {
	size_t off, len;
};

struct ml_slow {
	uint8_t *base;
	size_t size;
	size_t margin;      /* safety margin kept free for moves */
	size_t block_top;   /* end of the block region (slab multiple) */
	size_t blob_bottom; /* start of the blob region */
	struct ml_slab *slabs;
	size_t nslabs_max;
	uint32_t partial[ML_NCLASSES]; /* slabs of a class with a free block */
	uint32_t free_slabs;           /* empty slabs below block_top */
	size_t nfree_slabs;
	struct ml_extent *holes; /* free blob extents, sorted by offset, coalesced */
	size_t nholes, holes_cap;
	size_t blob_hole_bytes;
	size_t blob_slop;     /* hole bytes the last compaction could not close */
	size_t blob_pin_slop; /* the part of blob_slop left above pinned blobs */
	size_t nblobs;
	uint32_t cls_slabs[ML_NCLASSES]; /* slabs holding class c */
	uint64_t cls_used[ML_NCLASSES];  /* live blocks of class c */
	size_t used_bytes;               /* object bytes */
	size_t block_reserved, blob_reserved; /* bytes taken by blocks / blob extents */
	size_t touched_lo; /* lowest blob_bottom since the middle was last given back */
	size_t touched_hi; /* highest block_top since then */
};

/* Where an object is placed: what the lanes hand back. */
struct ml_place {
	uint8_t state; /* MEMLANE_STATE_FAST or _SLOW */
	uint8_t kind;
	uint8_t cls;
	uint64_t off;
	uint64_t cap;
};

struct ml_root {
	char *name;
	memlane_handle h;
};

/* ---- the spill store (store.c) ----------------------------------------- */
/* A record or table entry to delete: at the next write transaction, or
 * (at_checkpoint) only with the next checkpoint, since the last one
 * still names it. */
struct ml_dead {
	memlane_handle h;
	uint64_t seq;
	bool at_checkpoint;
};

struct ml_store {
	char *dir;
	int lock_fd;
	MDB_env *env;
	unsigned env_flags;
	MDB_dbi meta, objects, handles, roots;
	size_t map_size, map_max;
	bool sync_at_checkpoint;
	uint64_t next_seq;    /* next record sequence number */
	uint64_t checkpoints; /* checkpoints committed (the last one's number) */
	uint64_t checkpoint_time; /* its time, seconds since the epoch */
	struct ml_dead *dead;
	size_t ndead, dead_cap;
};

typedef int (*ml_txn_fn)(MDB_txn *t, void *ctx);

/* The arena lock (lock.c): 0 free, 1 held, 2 held with sleepers. */
struct ml_mutex {
	_Atomic uint32_t word;
};

/* How a thread that found the mutex held came to take it (lock.c). */
enum { ML_GOT_SPINNING, ML_GOT_NAPPING, ML_GOT_SLEEPING };

/* A thread that may hold arena locks by bias (lock.c). */
struct memlane_arena;
struct ml_owner {
	_Atomic(struct memlane_arena *) in; /* the arena it is inside by bias, or NULL */
	struct ml_owner *next_free;
};

struct memlane_arena {
	struct ml_mutex lock;
	_Atomic(struct ml_owner *) bias; /* the thread the lock is biased to, or NULL */
	const char *streak_mark;         /* the thread that took the mutex last (lock.c) */
	uint32_t streak;                 /* how many times in a row */
	uint64_t ctr_bias_revoked;       /* biases withdrawn */
	uint64_t ctr_lock_waits[3];      /* mutex found held, then taken: spinning, napping, sleeping (lock.c) */
	memlane_config cfg;
	uint32_t id;

	struct ml_stub *stubs;   /* a reserved mapping: never moves, so readers need no lock */
	struct ml_stub_ext *ext; /* in the same reservation, after room for every stub */
	size_t stubs_reserved;   /* bytes of address space reserved for both */
	size_t slots_max;        /* slots the reservation has room for */
	uint32_t nslots, slots_cap;
	uint32_t free_slot;
	uint64_t retired_slots;
	size_t stubs_prefaulted; /* bytes of the stub table prefaulted (or touched) from its start */

	struct ml_fast fast;
	struct ml_slow slow;
	struct ml_fifo young; /* FastLane objects, oldest first, once young_kept */
	struct ml_fifo cold;  /* MEMLANE_COLD FastLane objects */
	bool young_kept;      /* the young queue is kept (ml_young_keep) */
	uint64_t fast_objects;
	uint64_t slow_objects;   /* objects in the SlowLane */
	uint64_t slow_cold;      /* of which MEMLANE_COLD (the pager takes them first) */

	uint64_t tick;
	uint64_t objects;
	uint64_t pinned;
	memlane_stats ctr; /* activity counters only; gauges are computed */

	struct ml_root *roots;
	size_t nroots, roots_cap;

	struct ml_store *store; /* NULL: memory only */
	uint64_t spilled;       /* objects in the store only */
	uint64_t spilled_bytes;
	uint32_t clock_hand;    /* the slot the pager's CLOCK looks at next */
	/* The last full CLOCK sweep found no SlowLane object it may evict,
	 * and none has come since: no object entered the SlowLane, lost
	 * its last pin or was handed back by a failed eviction. The pager
	 * then skips the sweep (pager.c, pick_victims). */
	bool pager_barren;

	pthread_t thread;
	_Atomic uint32_t wake_seq; /* bumped to wake the policy thread (ml_wake_signal) */
	bool thread_running;
	bool stopping;
	bool policy_wanted; /* a foreground call asks the thread to run now */
};

/* ---- error.c ---- */
ML_HIDDEN int ml_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ML_HIDDEN void ml_errclear(void);
#define ML_ERRMSG_MAX 512
ML_HIDDEN void ml_err_save(char saved[ML_ERRMSG_MAX]);
ML_HIDDEN void ml_err_restore(const char saved[ML_ERRMSG_MAX]);

/* ---- options.c ---- */
ML_HIDDEN size_t ml_effective_margin(const memlane_config *cfg);
ML_HIDDEN int ml_config_print_to(const memlane_config *cfg, FILE *f, int json, const char *indent);
ML_HIDDEN const char *ml_fmt_size(char *buf, size_t n, uint64_t v);

/* ---- os.c ---- */
ML_HIDDEN void *ml_os_map(size_t size);
ML_HIDDEN void ml_os_unmap(void *p, size_t size);
ML_HIDDEN void *ml_os_reserve(size_t size);
ML_HIDDEN bool ml_os_commit(void *p, size_t size);
ML_HIDDEN size_t ml_os_release(uint8_t *base, size_t from, size_t to);
ML_HIDDEN size_t ml_os_prefault(uint8_t *base, size_t from, size_t to);
/* How far past the FastLane's top and the last slot in use pages are
 * made resident in one go (option prefault): 16 pages a system call
 * instead of 16 page faults, for at most this much memory early. */
#define ML_PREFAULT_AHEAD ((size_t)65536)
ML_HIDDEN size_t ml_os_page(void);

/* ---- handle.c ---- */
ML_HIDDEN int ml_slot_alloc(memlane_arena *a, uint32_t *idx);
ML_HIDDEN uint32_t ml_slot_new(memlane_arena *a);
ML_HIDDEN void ml_slots_fini(memlane_arena *a);
ML_HIDDEN uint32_t ml_arena_id_next(void);
ML_HIDDEN bool ml_arena_id_claim(uint32_t id);
ML_HIDDEN void ml_arena_id_release(uint32_t id);
ML_HIDDEN int ml_handle_error(memlane_arena *a, memlane_handle h, const char *what);

/* Free a slot: bump its generation so every copy of the old handle goes
 * stale (generation and state change in the one word memlane_get
 * loads). A slot whose generation would wrap is retired for good, since
 * reusing generation 1 would revive handles from long ago. */
static inline void ml_slot_free(memlane_arena *a, uint32_t idx)
{
	struct ml_stub *s = &a->stubs[idx];
	uint32_t gen = ml_stub_gen(s) + 1;
	ML_PUBLISH(s->word, (uint64_t)ML_HANDLE_HI(a->id, gen) | (uint64_t)MEMLANE_STATE_INVALID << 32);
	if (gen >= ML_GEN_MAX) {
		a->retired_slots++;
		return;
	}
	ML_PUBLISH(s->off, (uint64_t)a->free_slot);
	a->free_slot = idx;
}

static inline memlane_handle ml_handle_make(const memlane_arena *a, uint32_t idx)
{
	return (uint64_t)a->stubs[idx].handle_hi << 32 | idx;
}

/* The stub of a live handle of @a, or NULL. Reads only the table. */
static inline struct ml_stub *ml_lookup(memlane_arena *a, memlane_handle h)
{
	uint32_t idx = (uint32_t)h;
	if (idx >= a->nslots)
		return NULL;
	struct ml_stub *s = &a->stubs[idx];
	/* Arena id and generation in one compare (ml_stub.handle_hi). */
	if (s->handle_hi != (uint32_t)(h >> 32) || s->state == MEMLANE_STATE_INVALID)
		return NULL;
	return s;
}

static inline uint32_t ml_stub_index(const memlane_arena *a, const struct ml_stub *s)
{
	return (uint32_t)(s - a->stubs);
}

/* The part of @s's slot that lives in the side table. */
static inline struct ml_stub_ext *ml_ext(const memlane_arena *a, const struct ml_stub *s)
{
	return &a->ext[s - a->stubs];
}

/* @s's tag: 0 unless one was given, which lives in the side table. */
static inline uint32_t ml_stub_tag(const memlane_arena *a, const struct ml_stub *s)
{
	return (s->flags & ML_FLAG_TAGGED) ? ml_ext(a, s)->tag : 0;
}

/* Give @s the allocation flags it keeps of @flags, and @tag (no tag:
 * only the stub is written). */
static inline void ml_stub_set_flags_tag(const memlane_arena *a, struct ml_stub *s, unsigned flags, uint32_t tag)
{
	s->flags = (uint8_t)(flags & ML_FLAG_KEPT);
	if (tag) {
		ml_ext(a, s)->tag = tag;
		s->flags |= ML_FLAG_TAGGED;
	}
}

/* The allocation flags of @s, without the internal ones. */
static inline unsigned ml_stub_public_flags(const struct ml_stub *s)
{
	return s->flags & ML_FLAG_KEPT;
}

/* Ticks since @s was allocated. The birth tick is kept modulo 2^32 in
 * the stub: an object older than that reads younger by a multiple of
 * 2^32, which only the debug dump shows (promotion_age acts long
 * before). */
static inline uint32_t ml_stub_age(const memlane_arena *a, const struct ml_stub *s)
{
	return (uint32_t)a->tick - s->birth;
}

/* Bytes reserved for a resident object: its block's class size, or a
 * blob's extent. */
static inline size_t ml_stub_cap(const memlane_arena *a, const struct ml_stub *s)
{
	return s->kind == ML_KIND_BLOB ? ml_ext(a, s)->cap : ml_class_size(s->cls);
}

static inline size_t ml_stub_align(const struct ml_stub *s)
{
	return (size_t)1 << s->align_log2;
}

/* Whether @e still stands for a live FastLane object. */
static inline bool ml_fifo_live(const memlane_arena *a, struct ml_fifo_ent e)
{
	const struct ml_stub *s = &a->stubs[e.idx];
	return s->handle_hi == e.handle_hi && s->state == MEMLANE_STATE_FAST;
}

/* Append (the caller made room with ml_fifo_reserve). */
static inline void ml_fifo_push(struct ml_fifo *q, uint32_t idx, uint32_t handle_hi)
{
	q->e[q->tail++] = (struct ml_fifo_ent){idx, handle_hi};
}

/* Where @s is now, as the lanes handed it out. */
static inline struct ml_place ml_stub_place(const memlane_arena *a, const struct ml_stub *s)
{
	return (struct ml_place){s->state, s->kind, (uint8_t)s->cls, s->off, ml_stub_cap(a, s)};
}

static inline uint8_t *ml_stub_ptr(memlane_arena *a, const struct ml_stub *s)
{
	return (s->state == MEMLANE_STATE_FAST ? a->fast.base : a->slow.base) + s->off;
}

/* Make [@from, @to) of the mapping at @base resident before its first
 * write, when the option prefault is on, and count the bytes. */
static inline void ml_prefault(memlane_arena *a, uint8_t *base, size_t from, size_t to)
{
	if (a->cfg.prefault)
		a->ctr.prefaulted_bytes += ml_os_prefault(base, from, to);
}

/* ---- fastlane.c ---- */
ML_HIDDEN int ml_fast_init(memlane_arena *a);
ML_HIDDEN void ml_fast_fini(memlane_arena *a);
ML_HIDDEN bool ml_fast_can_hold(size_t size, size_t align);
/* The block of class @cls at @off is taken: count it, and say where. */
static inline void ml_fast_placed(struct ml_fast *f, unsigned cls, uint64_t off, struct ml_place *p)
{
	size_t cs = ml_class_size(cls);
	f->reserved_bytes += cs;
	*p = (struct ml_place){MEMLANE_STATE_FAST, ML_KIND_NONE, (uint8_t)cls, off, cs};
}

ML_HIDDEN int ml_fast_alloc_more(memlane_arena *a, unsigned cls, size_t align, struct ml_place *p);
ML_HIDDEN void ml_fast_free_edge(memlane_arena *a, uint64_t off, unsigned cls);

/* The first block of @cls's free list, if it has one that is aligned
 * to @align: false, changing nothing, when not. Calls nothing: the leaf
 * allocation path uses it alone. */
static inline bool ml_fast_take_listed(struct ml_fast *f, unsigned cls, size_t align, struct ml_place *p)
{
	uint64_t off = f->free_head[cls];
	if (off == ML_FAST_NIL || (off & (align - 1)) != 0)
		return false;
	ml_fast_pop(f, cls);
	ml_fast_placed(f, cls, off, p);
	return true;
}

/* Place @size bytes at @align in the FastLane: a block off its class's
 * free list here, inline in every caller; cutting a larger block,
 * merging free ones or bumping the top in fastlane.c. MEMLANE_ENOMEM
 * without a message: the caller decides whether to compact, promote or
 * fall back. */
static inline int ml_fast_alloc(memlane_arena *a, size_t size, size_t align, struct ml_place *p)
{
	unsigned cls = ml_class_of(size);
	if (ml_fast_take_listed(&a->fast, cls, align, p))
		return 0;
	return ml_fast_alloc_more(a, cls, align, p);
}

/* Put the block at @off of class @cls on its free list: false, changing
 * nothing, when it is the block at the top or the last live one, which
 * ml_fast_free_edge handles. Calls nothing: the leaf free path. */
static inline bool ml_fast_free_listed(struct ml_fast *f, uint64_t off, unsigned cls)
{
	size_t cs = ml_class_size(cls);
	if (off + cs == f->top || f->reserved_bytes == cs)
		return false;
	f->reserved_bytes -= cs;
	ml_fast_push(f, off, cls);
	return true;
}

/* Give back the block at @off of class @cls: onto its free list here;
 * the block at the top, or the last live one, in fastlane.c. */
static inline void ml_fast_free(memlane_arena *a, uint64_t off, unsigned cls)
{
	if (!ml_fast_free_listed(&a->fast, off, cls))
		ml_fast_free_edge(a, off, cls);
}
ML_HIDDEN void ml_fast_carve(memlane_arena *a, size_t from, size_t to);
ML_HIDDEN void ml_fast_reset_free_lists(memlane_arena *a);

/* ---- slowlane.c ---- */
ML_HIDDEN int ml_slow_init(memlane_arena *a);
ML_HIDDEN void ml_slow_fini(memlane_arena *a);
ML_HIDDEN size_t ml_slow_max_object(const memlane_arena *a);
ML_HIDDEN bool ml_slow_fits_empty(const memlane_arena *a, size_t size, size_t align);
ML_HIDDEN int ml_slow_alloc(memlane_arena *a, size_t size, size_t align, bool use_margin, struct ml_place *p);
ML_HIDDEN bool ml_slow_block_take(memlane_arena *a, unsigned cls, struct ml_place *p);
ML_HIDDEN void ml_slow_free(memlane_arena *a, const struct ml_place *p);
ML_HIDDEN void ml_slow_give_back(memlane_arena *a, const struct ml_place *p);
ML_HIDDEN void ml_slow_release_middle(memlane_arena *a, size_t keep);
ML_HIDDEN void ml_slow_blob_trim(memlane_arena *a, struct ml_stub *s, size_t size);
ML_HIDDEN size_t ml_slow_hole_bytes(const memlane_arena *a);
ML_HIDDEN size_t ml_slow_reclaimable(const memlane_arena *a);
ML_HIDDEN void ml_slow_blob_unpinned(memlane_arena *a);
ML_HIDDEN bool ml_slow_compaction_helps(const memlane_arena *a, size_t size, size_t align, bool use_margin);
ML_HIDDEN double ml_slow_fragmentation(const memlane_arena *a);
ML_HIDDEN double ml_fast_fragmentation(const memlane_arena *a);
/* used by compact.c to rebuild the lane after moving objects */
ML_HIDDEN void ml_slow_rebuild_slab_lists(memlane_arena *a);
ML_HIDDEN int ml_slow_holes_reserve(memlane_arena *a, size_t n);
ML_HIDDEN void ml_slow_hole_insert(memlane_arena *a, size_t off, size_t len);
ML_HIDDEN void ml_slow_block_push(memlane_arena *a, size_t slab, uint32_t block);
ML_HIDDEN uint32_t ml_slow_block_pop(memlane_arena *a, size_t slab);

/* ---- compact.c ---- */
ML_HIDDEN void ml_compact_fast(memlane_arena *a);
ML_HIDDEN void ml_compact_slow(memlane_arena *a);
ML_HIDDEN void ml_release_idle(memlane_arena *a);
ML_HIDDEN uint64_t *ml_sort_hi32(uint64_t *k, uint64_t *tmp, size_t n);

/* ---- promote.c ---- */
ML_HIDDEN int ml_fifo_reserve(memlane_arena *a, struct ml_fifo *q);
ML_HIDDEN void ml_fifo_fini(struct ml_fifo *q);
ML_HIDDEN int ml_promote(memlane_arena *a, struct ml_stub *s, bool use_margin);
ML_HIDDEN int ml_young_keep(memlane_arena *a);
ML_HIDDEN size_t ml_promote_aged(memlane_arena *a);
ML_HIDDEN size_t ml_promote_oldest(memlane_arena *a, size_t want_bytes);

/* ---- object.c ---- */
ML_HIDDEN int ml_slow_place(memlane_arena *a, size_t size, size_t align, bool use_margin, struct ml_place *p);
ML_HIDDEN int ml_place_object(memlane_arena *a, size_t size, size_t align, unsigned flags, struct ml_place *p);
ML_HIDDEN void ml_release_place(memlane_arena *a, struct ml_stub *s);
ML_HIDDEN void ml_stub_set_place(memlane_arena *a, struct ml_stub *s, const struct ml_place *p);

/* ---- arena.c ---- */
ML_HIDDEN bool ml_maintain_locked(memlane_arena *a, size_t evict_max);

/* ---- store.c ---- */
ML_HIDDEN int ml_store_err(int rc, const char *what, const char *dir);
ML_HIDDEN int ml_rec_encode(const memlane_arena *a, const struct ml_stub *s, const void *src, uint64_t epoch,
                            const uint8_t **out, size_t *outlen);
ML_HIDDEN int ml_rec_decode_tls(const void *rec, size_t len, void *dst, uint64_t size, char *why, size_t whylen);
ML_HIDDEN int ml_store_open(struct ml_store *st, const char *dir, const memlane_config *cfg);
ML_HIDDEN void ml_store_close(struct ml_store *st);
ML_HIDDEN int ml_store_recreate(struct ml_store *st);
ML_HIDDEN void ml_store_remove(struct ml_store *st);
ML_HIDDEN int ml_store_write(struct ml_store *st, const char *what, ml_txn_fn fn, void *ctx);
ML_HIDDEN int ml_store_read_begin(struct ml_store *st, MDB_txn **t, const char *what);
ML_HIDDEN uint64_t ml_store_bytes(struct ml_store *st);
ML_HIDDEN int ml_store_dead_reserve(struct ml_store *st, size_t n);
ML_HIDDEN int ml_store_dead_add(struct ml_store *st, memlane_handle h, uint64_t seq, bool at_checkpoint);

/* ---- pager.c ---- */
ML_HIDDEN int ml_pager_open(memlane_arena *a, const char *dir);
ML_HIDDEN int ml_pager_close(memlane_arena *a);
ML_HIDDEN int ml_pager_make_room(memlane_arena *a, size_t bytes);
ML_HIDDEN bool ml_pager_over_threshold(const memlane_arena *a);
ML_HIDDEN bool ml_pager_policy(memlane_arena *a, size_t max_bytes);
ML_HIDDEN int ml_fault_in(memlane_arena *a, struct ml_stub *s, const char *what);
ML_HIDDEN int ml_evict_one(memlane_arena *a, struct ml_stub *s, const char *what);
ML_HIDDEN void ml_pager_forget(memlane_arena *a, struct ml_stub *s);
ML_HIDDEN int ml_pager_flush(memlane_arena *a);
ML_HIDDEN int ml_pager_checkpoint(memlane_arena *a);

/* ---- root.c ---- */
ML_HIDDEN void ml_roots_fini(memlane_arena *a);
ML_HIDDEN int ml_root_add(memlane_arena *a, const char *name, memlane_handle h);

/* ---- lock.c ---- */
ML_HIDDEN void ml_lock_slow(memlane_arena *a);
ML_HIDDEN void ml_mutex_wake(struct ml_mutex *m);
ML_HIDDEN int ml_bias_usable(void);
ML_HIDDEN extern __thread struct ml_owner *ml_tls_owner __attribute__((tls_model("initial-exec")));
struct timespec;
ML_HIDDEN bool ml_wake_wait(memlane_arena *a, const struct timespec *until);
ML_HIDDEN void ml_wake_signal(memlane_arena *a);

/* Take @a's lock by bias alone, with two plain stores and a load: true
 * when the arena is biased to this thread and this thread holds the lock
 * now; false, holding nothing, when ml_lock_slow must take it. Calls no
 * function, so the allocation and free fast paths built on it stay leaf
 * code that saves no register. The signal fence keeps the compiler from
 * moving the second load of a->bias above the store to o->in; the
 * processor's reordering of the two is what a revoker's membarrier
 * covers (lock.c). */
static inline bool ml_lock_biased(memlane_arena *a)
{
	struct ml_owner *o = ml_tls_owner;
	if (!o || atomic_load_explicit(&a->bias, memory_order_relaxed) != o)
		return false;
	atomic_store_explicit(&o->in, a, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&a->bias, memory_order_relaxed) == o)
		return true;
	atomic_store_explicit(&o->in, NULL, memory_order_release);
	return false;
}

/* Release the lock ml_lock_biased took. */
static inline void ml_unlock_biased(void)
{
	atomic_store_explicit(&ml_tls_owner->in, NULL, memory_order_release);
}

/* Take @a's lock: by bias when the arena is biased to this thread, else
 * by the mutex (lock.c explains). */
static inline void ml_lock(memlane_arena *a)
{
	if (!ml_lock_biased(a))
		ml_lock_slow(a);
}

static inline void ml_unlock(memlane_arena *a)
{
	struct ml_owner *o = ml_tls_owner;
	if (o && atomic_load_explicit(&o->in, memory_order_relaxed) == a) {
		atomic_store_explicit(&o->in, NULL, memory_order_release);
		return;
	}
	if (atomic_exchange_explicit(&a->lock.word, 0, memory_order_release) == 2)
		ml_mutex_wake(&a->lock);
}

#endif /* MEMLANE_INTERNAL_H */
