/** @file memlane.h
 *	@brief libmemlane: a handle-based memory arena larger than RAM.
 *
 *	libmemlane keeps objects behind stable 64-bit handles. The bytes of
 *	an object live in one of two RAM tiers, each a single mmap'd region:
 *
 *	- the FastLane, for small, short-lived objects (below the
 *	  `threshold` option), allocated by bump pointer or per-size-class
 *	  free list;
 *	- the SlowLane, for large or long-lived objects, split into a block
 *	  region (size classes) and a blob region (variable sizes).
 *
 *	Objects that outlive `promotion_age` ticks move from the FastLane to
 *	the SlowLane (the one-way lane). Live compaction slides objects
 *	together to reclaim fragmented space; handles stay valid, pinned
 *	objects stay exactly where they are. A handle carries a generation,
 *	so a stale, forged, double-freed or foreign handle is refused with
 *	#MEMLANE_EHANDLE and never followed.
 *
 *	The pager evicts cold SlowLane objects, zstd-compressed, to an LMDB
 *	store in a spill directory; touching a spilled handle faults it back
 *	in. With `persist=1` the store survives close and crashes: reopening
 *	the directory gives back every handle as of the last checkpoint
 *	(memlane-store(5) describes the files).
 *
 *	Every function may be called from several threads on one arena.
 *	Every call that can fail returns 0 on success or a negative
 *	MEMLANE_E* code, and a failed call changes nothing.
 *	memlane_errmsg() then describes the failure.
 */
#ifndef MEMLANE_H
#define MEMLANE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a function exported from the shared library; everything else
 *	is built with -fvisibility=hidden. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define MEMLANE_API __attribute__((visibility("default")))
#else
#define MEMLANE_API
#endif

/** @defgroup version Version
 *	@{ */
#define MEMLANE_VERSION_MAJOR 0
#define MEMLANE_VERSION_MINOR 1
#define MEMLANE_VERSION_PATCH 0
/** The library's version as "MAJOR.MINOR.PATCH"; never NULL. */
MEMLANE_API const char *memlane_version(void);
/** @} */

/** @defgroup types Types
 *	@{ */

/** An arena: two lanes, a handle table and, with a spill directory, a
 *	pager. Opaque. */
typedef struct memlane_arena memlane_arena;

/** A handle to one object: slot index, generation and arena bits.
 *	Handles are plain values: copy them, store them, compare them. */
typedef uint64_t memlane_handle;

/** The null handle; never a valid handle. */
#define MEMLANE_NULL ((memlane_handle)0)

/** Where an object's bytes are. */
typedef enum memlane_state {
	MEMLANE_STATE_INVALID = 0, /**< not a live handle of this arena */
	MEMLANE_STATE_FAST = 1,    /**< in the FastLane */
	MEMLANE_STATE_SLOW = 2,    /**< in the SlowLane */
	MEMLANE_STATE_SPILLED = 3  /**< in the spill store, not in RAM */
} memlane_state;

/** @} */

/** @defgroup errors Error codes
 *	Every code is negative; 0 is success. memlane_strerror() also
 *	describes positive errno values.
 *	@{ */
#define MEMLANE_SUCCESS 0
/** bad argument or option */
#define MEMLANE_EINVAL (-1)
/** no room, even after compaction, promotion (and eviction) */
#define MEMLANE_ENOMEM (-2)
/** null, freed, stale, forged or foreign handle; double free */
#define MEMLANE_EHANDLE (-3)
/** offset or length outside the object */
#define MEMLANE_ERANGE (-4)
/** non-faulting access to a spilled object */
#define MEMLANE_ENOTRESIDENT (-5)
/** free, realloc, promote or evict of a pinned object */
#define MEMLANE_EPINNED (-6)
/** spill store failure */
#define MEMLANE_ESTORE (-7)
/** checksum, format or decompression failure */
#define MEMLANE_ECORRUPT (-8)
/** disk or store full */
#define MEMLANE_ENOSPC (-9)
/** spill directory held by another arena */
#define MEMLANE_EBUSY (-10)
/** directory holds a persistent arena and the options would discard it */
#define MEMLANE_EEXIST (-11)
/** the operation needs a spill directory (the arena was opened without one) */
#define MEMLANE_ENOSPILL (-12)
/** object larger than any lane can ever hold */
#define MEMLANE_ETOOBIG (-13)
/** no such named root */
#define MEMLANE_ENOTFOUND (-14)
/** the most negative code in use */
#define MEMLANE_ELAST MEMLANE_ENOTFOUND

/** A static description of an error code; never NULL.
 *	@param[in] err a MEMLANE_E* code, 0, or a positive errno value
 *	@return a constant string */
MEMLANE_API const char *memlane_strerror(int err);

/** A sentence about this thread's last failure, naming the culprit
 *	(option, value, handle, file). Thread-local; valid until this
 *	thread's next failing call. Never NULL; "" before any failure. */
MEMLANE_API const char *memlane_errmsg(void);
/** @} */

/** @defgroup config Configuration
 *	Every option is one field here and one key in memlane-options(7).
 *	Fill with memlane_config_init(), then change fields directly or with
 *	memlane_config_set() / memlane_config_parse() / memlane_config_preset().
 *	@{ */

/** Values of the `compression` option. */
#define MEMLANE_COMPRESSION_NONE 0
#define MEMLANE_COMPRESSION_ZSTD 1

/** Values of the `store_sync` option: when a persistent store is
 *	flushed to disk. FULL: every write transaction (evictions too);
 *	CHECKPOINT: only checkpoints (a system crash may lose evictions
 *	since, never a checkpoint); NONE: never (a system crash may lose
 *	anything since the last OS flush; a process crash loses nothing). */
#define MEMLANE_SYNC_FULL 0
#define MEMLANE_SYNC_CHECKPOINT 1
#define MEMLANE_SYNC_NONE 2

typedef struct memlane_config {
	size_t fast_lane_size;            /**< bytes mapped for the FastLane */
	size_t slow_lane_size;            /**< bytes mapped for the SlowLane */
	size_t threshold;                 /**< objects below this many bytes start in the FastLane */
	int auto_compaction;              /**< 1: compact when a lane is full or fragmented */
	double compaction_threshold;      /**< fragmentation (0..1) past which maintenance compacts */
	double slow_lane_usage_threshold; /**< SlowLane use (0..1) past which the pager evicts */
	size_t slow_lane_safety_margin;   /**< SlowLane bytes kept free for moves */
	uint64_t policy_check_interval_ms; /**< background policy period; 0: no thread */
	uint64_t promotion_age;           /**< ticks after which a FastLane object is promoted */
	int compression;                  /**< MEMLANE_COMPRESSION_ZSTD or _NONE */
	int compression_level;            /**< zstd level of spilled records */
	int persist;                      /**< 1: the spill store survives close and crashes */
	int store_sync;                   /**< MEMLANE_SYNC_FULL, _CHECKPOINT or _NONE (persist=1) */
	int prefault;                     /**< 1: make lane pages resident in batches before use */
	size_t store_max_size;            /**< the spill store's size limit in bytes */
	uint64_t reserved_[22];           /**< room for options to come; keep zero */
} memlane_config;

/** Fill @p cfg with the defaults listed in memlane-options(7).
 *	@param[out] cfg the configuration to fill */
MEMLANE_API void memlane_config_init(memlane_config *cfg);

/** Set one option from text, as a user types it.
 *	@param[in,out] cfg the configuration
 *	@param[in] key an option name, e.g. "fast_lane_size"
 *	@param[in] value its value, e.g. "16M"
 *	@return 0, or #MEMLANE_EINVAL for an unknown key or a bad value;
 *	memlane_errmsg() names the key, the value and the accepted form.
 *	On failure @p cfg is unchanged. */
MEMLANE_API int memlane_config_set(memlane_config *cfg, const char *key, const char *value);

/** Set options from a "key=value,key=value" string. A `preset=NAME`
 *	anywhere in the string is applied first. Spaces around keys and
 *	values are ignored; an empty string or NULL sets nothing.
 *	@return 0 or #MEMLANE_EINVAL; on failure @p cfg is unchanged. */
MEMLANE_API int memlane_config_parse(memlane_config *cfg, const char *options);

/** Reset @p cfg to a named starting point: "default", "game_loop"
 *	(frame-scratch heavy FastLane) or "low_memory" (small lanes, eager
 *	spill).
 *	@return 0 or #MEMLANE_EINVAL for an unknown name (cfg unchanged). */
MEMLANE_API int memlane_config_preset(memlane_config *cfg, const char *name);

/** Check a whole configuration, including the relations between
 *	options (e.g. threshold against fast_lane_size).
 *	@return 0 or #MEMLANE_EINVAL naming the option at fault. */
MEMLANE_API int memlane_config_validate(const memlane_config *cfg);

/** Print every option and its value, one "key=value" a line, or as one
 *	JSON object when @p json is nonzero.
 *	@return 0, or #MEMLANE_EINVAL when @p cfg or @p f is NULL. */
MEMLANE_API int memlane_config_print(const memlane_config *cfg, FILE *f, int json);

/** The name of option number @p i (0-based), for listing every option.
 *	@return the key, or NULL when @p i is past the last option. */
MEMLANE_API const char *memlane_config_key(size_t i);
/** @} */

/** @defgroup arena Arena
 *	@{ */

/** Open an arena.
 *	The configuration is @p cfg (or the defaults when NULL), with the
 *	environment variable MEMLANE_OPTIONS (same syntax as
 *	memlane_config_parse()) applied on top.
 *	@param[out] out the new arena
 *	@param[in] spill_dir NULL for a memory-only arena; else the spill
 *	directory (created, mode 0700, when missing). With `persist=1` an
 *	existing persistent store comes back as of its last checkpoint
 *	(every handle spilled, faulted in on first touch); with `persist=0`
 *	the store starts empty.
 *	@param[in] cfg the configuration, or NULL
 *	@return 0, #MEMLANE_EINVAL (bad option or MEMLANE_OPTIONS),
 *	#MEMLANE_ENOMEM (the lanes could not be mapped),
 *	#MEMLANE_EBUSY (another arena, in this or another process, owns the
 *	directory), #MEMLANE_EEXIST (the directory holds a persistent store
 *	and `persist=0` would discard it; nothing is changed),
 *	#MEMLANE_ESTORE, #MEMLANE_ECORRUPT, #MEMLANE_ENOSPC (store trouble,
 *	named in memlane_errmsg()). #MEMLANE_ESTORE also refuses an unsafe
 *	directory: not the user's own, writable by group or others, or
 *	holding a store file that is a symbolic link (memlane-store(5),
 *	SECURITY). */
MEMLANE_API int memlane_open(memlane_arena **out, const char *spill_dir, const memlane_config *cfg);

/** Close an arena: stop its background thread, checkpoint (with
 *	`persist=1`; a scratch store's files are deleted instead), unmap its
 *	lanes, free every object. Every handle of the arena becomes invalid.
 *	The arena is closed even when the checkpoint fails.
 *	@return 0, the checkpoint's error, or #MEMLANE_EINVAL when @p a is
 *	NULL. */
MEMLANE_API int memlane_close(memlane_arena *a);
/** @} */

/** @defgroup objects Objects
 *	@{ */

/** Allocation flags, for memlane_alloc_opts.flags. */
#define MEMLANE_ZERO 0x01u    /**< zero the bytes (also the tail grown by realloc) */
#define MEMLANE_FAST 0x02u    /**< start in the FastLane even at or above threshold, if it fits */
#define MEMLANE_SLOW 0x04u    /**< start in the SlowLane even below threshold */
#define MEMLANE_NOSPILL 0x08u /**< never leaves RAM */
#define MEMLANE_COLD 0x10u    /**< first to be promoted (and spilled) */

/** Options of memlane_alloc_ex(). Zero-initialise, then set. */
typedef struct memlane_alloc_opts {
	unsigned flags; /**< MEMLANE_ZERO, MEMLANE_FAST or MEMLANE_SLOW, MEMLANE_NOSPILL, MEMLANE_COLD */
	size_t align;   /**< power of two up to 4096; 0: 16 */
	uint32_t tag;   /**< free for the caller; shown by memlane_debug_dump and memlane-dump */
} memlane_alloc_opts;

/** The largest alignment memlane_alloc_ex() accepts. */
#define MEMLANE_MAX_ALIGN 4096

/** Allocate @p size bytes (0 is allowed) with default options.
 *	@param[in] a the arena
 *	@param[in] size bytes
 *	@param[out] out the new handle
 *	@return 0, #MEMLANE_EINVAL, #MEMLANE_ENOMEM, #MEMLANE_ETOOBIG */
MEMLANE_API int memlane_alloc(memlane_arena *a, size_t size, memlane_handle *out);

/** Allocate with flags, alignment and tag. Objects below `threshold`
 *	start in the FastLane, others in the SlowLane. A full FastLane is
 *	compacted, then its oldest objects are promoted, then the object
 *	falls back to the SlowLane; a full SlowLane is compacted. Only then
 *	#MEMLANE_ENOMEM.
 *	@param[in] opts NULL for defaults
 *	@return 0, #MEMLANE_EINVAL (bad flags or alignment),
 *	#MEMLANE_ENOMEM, #MEMLANE_ETOOBIG (no lane can ever hold it) */
MEMLANE_API int memlane_alloc_ex(memlane_arena *a, size_t size, const memlane_alloc_opts *opts, memlane_handle *out);

/** Allocate an array of @p n elements of @p elem_size bytes, zeroed,
 *	checking n * elem_size for overflow (#MEMLANE_ETOOBIG).
 *	@param[in] align element alignment (0: default) */
MEMLANE_API int memlane_alloc_array(memlane_arena *a, size_t n, size_t elem_size, size_t align, memlane_handle *out);

/** Free an object. Its handle and every copy of it become invalid.
 *	@return 0, #MEMLANE_EHANDLE (also for a second free),
 *	#MEMLANE_EPINNED */
MEMLANE_API int memlane_free(memlane_arena *a, memlane_handle h);

/** Resize an object, keeping its handle, tag, flags and alignment, and
 *	its contents up to the smaller size. The grown tail is zeroed when
 *	the object was allocated with MEMLANE_ZERO. Shrinking an object in
 *	RAM never fails for want of room (it stays in place if it must).
 *	A spilled object is faulted in first.
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_EPINNED, #MEMLANE_ENOMEM,
 *	#MEMLANE_ETOOBIG, and the fault-in errors (#MEMLANE_ECORRUPT,
 *	#MEMLANE_ENOSPC, #MEMLANE_ESTORE); on failure the object is
 *	unchanged. */
MEMLANE_API int memlane_realloc(memlane_arena *a, memlane_handle h, size_t new_size);

/** A pointer to an object's bytes, for reading and writing. A spilled
 *	object is faulted in (which may evict others); the object counts as
 *	written (dirty: its next eviction writes a record).
 *	The pointer stays valid until the next call on this arena, from any
 *	thread, that may move data (alloc, realloc, free, compact, promote,
 *	tick, maintain, ...); use memlane_pin() to keep it longer.
 *	Writes through it must come before the next memlane_checkpoint(),
 *	which counts the object clean (a pinned object stays dirty).
 *	With a background thread (`policy_check_interval` > 0), that thread
 *	too moves and evicts data: pin.
 *	@return the pointer, or NULL on error (memlane_errmsg() says why:
 *	a bad handle, or a fault-in error such as a damaged record). */
MEMLANE_API void *memlane_get(memlane_arena *a, memlane_handle h);

/** As memlane_get(), promising not to write through the pointer: an
 *	object faulted in this way stays clean, and evicting it again
 *	writes nothing. */
MEMLANE_API const void *memlane_get_ro(memlane_arena *a, memlane_handle h);

/** As memlane_get(), but never touches the disk.
 *	@param[out] ptr the pointer
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_ENOTRESIDENT (spilled),
 *	#MEMLANE_EINVAL (ptr NULL) */
MEMLANE_API int memlane_try_get(memlane_arena *a, memlane_handle h, void **ptr);

/** Pin an object: it neither moves nor spills until unpinned as many
 *	times as pinned. The pointer stays valid while pinned.
 *	@param[out] ptr the pointer (may be NULL)
 *	A spilled object is faulted in first, and counts as written.
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_EINVAL (pin count overflow),
 *	and the fault-in errors (#MEMLANE_ECORRUPT, #MEMLANE_ENOMEM,
 *	#MEMLANE_ENOSPC, #MEMLANE_ESTORE) */
MEMLANE_API int memlane_pin(memlane_arena *a, memlane_handle h, void **ptr);

/** Undo one memlane_pin().
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_EINVAL (not pinned) */
MEMLANE_API int memlane_unpin(memlane_arena *a, memlane_handle h);

/** Copy @p len bytes at offset @p off of an object to @p dst. A
 *	spilled object is faulted in and stays clean.
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_ERANGE (off + len past the
 *	object, overflow-safe), #MEMLANE_EINVAL (dst NULL with len > 0),
 *	and the fault-in errors (#MEMLANE_ECORRUPT, #MEMLANE_ENOMEM,
 *	#MEMLANE_ENOSPC, #MEMLANE_ESTORE) */
MEMLANE_API int memlane_read(memlane_arena *a, memlane_handle h, size_t off, void *dst, size_t len);

/** Copy @p len bytes from @p src into an object at offset @p off
 *	(faulting it in; it becomes dirty).
 *	@return as memlane_read() */
MEMLANE_API int memlane_write(memlane_arena *a, memlane_handle h, size_t off, const void *src, size_t len);

/** Where an object is; #MEMLANE_STATE_INVALID for a bad handle. */
MEMLANE_API memlane_state memlane_handle_state(memlane_arena *a, memlane_handle h);

/** 1 when @p h is a live handle of @p a, else 0. */
MEMLANE_API int memlane_valid(memlane_arena *a, memlane_handle h);

/** An object's size in bytes; 0 when the handle is invalid. */
MEMLANE_API size_t memlane_size(memlane_arena *a, memlane_handle h);

/** An object's tag (memlane_alloc_opts.tag); 0 when invalid. */
MEMLANE_API uint32_t memlane_tag(memlane_arena *a, memlane_handle h);

/** Allocate one zeroed T, aligned for T. Evaluates to an int code. */
#define MEMLANE_NEW(a, T, hp)                                                                                          \
	memlane_alloc_ex((a), sizeof(T), &(const memlane_alloc_opts){MEMLANE_ZERO, _Alignof(T), 0}, (hp))
/** Allocate @p n zeroed T, checking the size for overflow. */
#define MEMLANE_NEW_ARRAY(a, T, n, hp) memlane_alloc_array((a), (n), sizeof(T), _Alignof(T), (hp))
/** memlane_get() cast to T *. */
#define MEMLANE_GET(a, h, T) ((T *)memlane_get((a), (h)))
/** @} */

/** @defgroup lanes Lanes, pager and maintenance
 *	@{ */

/** Move a FastLane object to the SlowLane, keeping handle, bytes, tag
 *	and alignment. A SlowLane (or spilled) object is left as it is.
 *	Making room may evict other objects to the store.
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_EPINNED, #MEMLANE_ENOMEM,
 *	#MEMLANE_ENOSPC, #MEMLANE_ESTORE */
MEMLANE_API int memlane_promote(memlane_arena *a, memlane_handle h);

/** Spill an object to the store now. A spilled object: 0, nothing
 *	done; a clean one (faulted in and only read) writes nothing.
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_EPINNED, #MEMLANE_EINVAL
 *	(allocated with MEMLANE_NOSPILL), #MEMLANE_ENOSPILL (no spill
 *	directory), #MEMLANE_ENOSPC, #MEMLANE_ESTORE; on error the object
 *	stays in RAM. */
MEMLANE_API int memlane_evict(memlane_arena *a, memlane_handle h);

/** Bring an object into RAM now. Resident objects: 0, nothing done.
 *	@return 0, #MEMLANE_EHANDLE, #MEMLANE_ENOMEM, #MEMLANE_ECORRUPT
 *	(its record is damaged; the handle is named in memlane_errmsg()),
 *	#MEMLANE_ESTORE */
MEMLANE_API int memlane_prefetch(memlane_arena *a, memlane_handle h);

/** Compact both lanes: slide unpinned objects together, give freed
 *	tail pages back to the OS.
 *	@return 0, #MEMLANE_EINVAL */
MEMLANE_API int memlane_compact(memlane_arena *a);

/** Advance the frame counter (ages for `promotion_age` count ticks);
 *	runs one policy cycle (memlane_maintain()) when no background thread
 *	does. */
MEMLANE_API int memlane_tick(memlane_arena *a);

/** One policy cycle: promote FastLane objects older than
 *	`promotion_age` ticks and MEMLANE_COLD ones, compact a lane whose
 *	fragmentation passes `compaction_threshold` (when `auto_compaction`),
 *	give idle pages back to the OS. */
MEMLANE_API int memlane_maintain(memlane_arena *a);

/** Spill every object that may go (not pinned, not MEMLANE_NOSPILL),
 *	from both lanes. @return 0, #MEMLANE_ENOSPILL, #MEMLANE_ENOSPC,
 *	#MEMLANE_ESTORE */
MEMLANE_API int memlane_flush(memlane_arena *a);

/** Durable, atomic point to reopen from (`persist=1`): every object
 *	changed since the last checkpoint, the handle table and the roots in
 *	one LMDB write transaction. After a crash, reopening gives exactly
 *	this checkpoint's state (or the next one's, if it committed).
 *	@return 0, #MEMLANE_ENOSPILL (no spill directory), #MEMLANE_EINVAL
 *	(`persist=0`), #MEMLANE_ENOSPC, #MEMLANE_ESTORE */
MEMLANE_API int memlane_checkpoint(memlane_arena *a);

/** Name an object. The name (1 to 255 bytes) replaces any earlier root
 *	of that name.
 *	@return 0, #MEMLANE_EINVAL (bad name), #MEMLANE_EHANDLE */
MEMLANE_API int memlane_root_set(memlane_arena *a, const char *name, memlane_handle h);

/** Look a root up.
 *	@return 0, #MEMLANE_ENOTFOUND, #MEMLANE_EHANDLE (the object named
 *	was freed; the root is dropped), #MEMLANE_EINVAL */
MEMLANE_API int memlane_root_get(memlane_arena *a, const char *name, memlane_handle *out);

/** Remove a root (not the object).
 *	@return 0, #MEMLANE_ENOTFOUND, #MEMLANE_EINVAL */
MEMLANE_API int memlane_root_del(memlane_arena *a, const char *name);
/** @} */

/** @defgroup stats Statistics and inspection
 *	@{ */

/** Counters (since open) and gauges (now). Bytes are object bytes as
 *	requested unless the name says otherwise. */
typedef struct memlane_stats {
	/* objects */
	uint64_t objects;         /**< live handles */
	uint64_t fast_objects;    /**< objects in the FastLane */
	uint64_t slow_objects;    /**< objects in the SlowLane */
	uint64_t spilled_objects; /**< objects in the spill store only */
	uint64_t pinned_objects;  /**< objects pinned now */
	uint64_t handle_slots;    /**< slots in the handle table */
	uint64_t retired_slots;   /**< slots whose generation ran out, never reused */

	/* FastLane */
	uint64_t fast_lane_size;      /**< bytes mapped */
	uint64_t fast_used_bytes;     /**< object bytes in the lane */
	uint64_t fast_reserved_bytes; /**< bytes taken by objects, size classes' padding included */
	uint64_t fast_free_bytes;     /**< bytes on the free lists (holes below the bump pointer) */
	uint64_t fast_top_bytes;      /**< the bump pointer: bytes below it are objects or holes */
	double fast_fragmentation;    /**< fast_free_bytes / fast_top_bytes (0 when empty) */

	/* SlowLane */
	uint64_t slow_lane_size;       /**< bytes mapped */
	uint64_t slow_used_bytes;      /**< object bytes in the lane */
	uint64_t slow_reserved_bytes;  /**< bytes taken by objects, padding included */
	uint64_t slow_block_region_bytes; /**< bytes of the block region (size-class slabs) */
	uint64_t slow_blob_region_bytes;  /**< bytes of the blob region (variable sizes) */
	uint64_t slow_free_bytes;      /**< free bytes: holes, empty slabs and the free middle */
	uint64_t slow_hole_bytes;      /**< free bytes inside the two regions (free blocks, empty slabs, blob holes) */
	double slow_fragmentation;     /**< slow_hole_bytes / (block + blob region bytes) (0 when empty) */
	double slow_usage;             /**< slow_reserved_bytes / slow_lane_size */

	/* activity */
	uint64_t allocs;          /**< successful allocations */
	uint64_t frees;           /**< successful frees */
	uint64_t reallocs;        /**< successful reallocs */
	uint64_t fallbacks;       /**< FastLane-sized objects placed in the SlowLane because the FastLane was full */
	uint64_t promotions;      /**< objects moved FastLane to SlowLane */
	uint64_t compactions;     /**< lane compactions (one per lane compacted) */
	uint64_t moved_objects;   /**< objects moved by compaction */
	uint64_t moved_bytes;     /**< bytes moved by compaction */
	uint64_t released_bytes;  /**< bytes given back to the OS with madvise */
	uint64_t ticks;           /**< memlane_tick() calls */
	uint64_t maintenance_runs; /**< policy cycles run (by tick, maintain or the background thread) */

	/* pager (zero for a memory-only arena) */
	uint64_t evictions;       /**< objects spilled */
	uint64_t faults;          /**< objects faulted back in */
	uint64_t clean_evictions; /**< evictions that wrote nothing (store copy still good) */
	uint64_t dirty_evictions; /**< evictions that wrote a record */
	uint64_t store_bytes;     /**< bytes of records in the store */
	uint64_t spilled_bytes;   /**< object bytes held only in the store */
	uint64_t checkpoints;     /**< memlane_checkpoint() calls (and closes) that committed */

	uint64_t prefaulted_bytes; /**< lane and handle table bytes made resident ahead of use (prefault) */

	uint64_t reserved_[14]; /**< room for counters to come */
} memlane_stats;

/** Fill @p st. @return 0 or #MEMLANE_EINVAL. */
MEMLANE_API int memlane_stats_get(memlane_arena *a, memlane_stats *st);

/** Print the statistics and the options in effect, as text (one
 *	"name value" a line) or, when @p json is nonzero, as one JSON object
 *	{"stats":{...},"options":{...}}.
 *	@return 0, #MEMLANE_EINVAL */
MEMLANE_API int memlane_stats_print(memlane_arena *a, FILE *f, int json);

/** Print each lane as a map a person reads at a glance (used, free,
 *	pinned, holes), then every object: handle, state, offset, size, tag,
 *	age. @return 0, #MEMLANE_EINVAL */
MEMLANE_API int memlane_debug_dump(memlane_arena *a, FILE *f);
/** @} */

#ifdef __cplusplus
}
#endif
#endif /* MEMLANE_H */
