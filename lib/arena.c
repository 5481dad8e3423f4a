/* arena.c - opening and closing arenas, and the policy: memlane_tick,
 * memlane_maintain, memlane_compact, and the background thread that
 * runs a policy cycle every `policy_check_interval`. Owns the arena's
 * lifetime and its thread; the work itself is in promote.c and
 * compact.c. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Pages no object uses are given back every this many policy cycles, not
 * every cycle: a frame-scratch FastLane would otherwise fault its pages
 * back in on every frame. */
#define ML_RELEASE_EVERY 64

#define ML_STR_(x) #x
#define ML_STR(x) ML_STR_(x)

const char *memlane_version(void)
{
	return ML_STR(MEMLANE_VERSION_MAJOR) "." ML_STR(MEMLANE_VERSION_MINOR) "." ML_STR(MEMLANE_VERSION_PATCH);
}

/* One policy cycle: the one-way lane, then compaction past the
 * threshold, then (now and then) idle pages back to the OS. */
/* Lane bytes the background thread evicts per hold of the lock: the
 * other threads get the lock back between batches. */
#define ML_POLICY_BATCH_BYTES ((size_t)4 << 20)

/* Returns true when the pager has more to evict than @evict_max. */
bool ml_maintain_locked(memlane_arena *a, size_t evict_max)
{
	/* A cycle reports nothing: a promotion or eviction that fails here
	 * (a full store) must not replace the caller's last message. */
	char saved[ML_ERRMSG_MAX];
	ml_err_save(saved);
	a->ctr.maintenance_runs++;
	ml_promote_aged(a);
	if (a->cfg.auto_compaction) {
		double t = a->cfg.compaction_threshold;
		if (a->fast.free_bytes >= 4096 && ml_fast_fragmentation(a) >= t)
			ml_compact_fast(a);
		/* Judged by what compaction can win back, not by every hole:
		 * gaps left by pinned blobs and alignment would otherwise
		 * make every cycle compact for nothing. */
		size_t win = ml_slow_reclaimable(a);
		size_t regions = a->slow.block_top + (a->slow.size - a->slow.blob_bottom);
		if (win >= 4096 && (double)win >= t * (double)regions)
			ml_compact_slow(a);
	}
	bool more = ml_pager_policy(a, evict_max);
	if (a->ctr.maintenance_runs % ML_RELEASE_EVERY == 0)
		ml_release_idle(a);
	ml_err_restore(saved);
	return more;
}

static void *policy_thread(void *arg)
{
	memlane_arena *a = arg;
	ml_lock(a);
	while (!a->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t ns = (uint64_t)ts.tv_nsec + a->cfg.policy_check_interval_ms * 1000000u;
		ts.tv_sec += (time_t)(ns / 1000000000u);
		ts.tv_nsec = (long)(ns % 1000000000u);
		/* Woken early by a foreground call past the usage threshold
		 * (a->policy_wanted), or when the period is over. */
		bool in_time = true;
		while (!a->stopping && !a->policy_wanted && in_time)
			in_time = ml_wake_wait(a, &ts);
		a->policy_wanted = false;
		while (!a->stopping && ml_maintain_locked(a, ML_POLICY_BATCH_BYTES)) {
			/* More to evict: let the other threads in first. */
			ml_unlock(a);
			sched_yield();
			ml_lock(a);
		}
	}
	ml_unlock(a);
	return NULL;
}

static int start_thread(memlane_arena *a)
{
	int e = pthread_create(&a->thread, NULL, policy_thread, a);
	if (e) {
		return ml_err(MEMLANE_ENOMEM, "cannot start the policy thread: %s", strerror(e));
	}
	a->thread_running = true;
	return 0;
}

static void stop_thread(memlane_arena *a)
{
	if (!a->thread_running)
		return;
	ml_lock(a);
	a->stopping = true;
	ml_wake_signal(a);
	ml_unlock(a);
	pthread_join(a->thread, NULL);
	a->thread_running = false;
}

static void arena_free(memlane_arena *a)
{
	if (a->store) { /* only on a failed open: close checkpoints first */
		ml_store_close(a->store);
		free(a->store);
		a->store = NULL;
	}
	ml_fast_fini(a);
	ml_slow_fini(a);
	ml_slots_fini(a);
	ml_roots_fini(a);
	ml_fifo_fini(&a->young);
	ml_fifo_fini(&a->cold);
	ml_arena_id_release(a->id);
	free(a);
}

/* The configuration an arena runs with: @cfg (or the defaults), then
 * MEMLANE_OPTIONS on top, then the checks. */
static int effective_config(const memlane_config *cfg, memlane_config *out)
{
	if (cfg)
		*out = *cfg;
	else
		memlane_config_init(out);
	const char *env = getenv("MEMLANE_OPTIONS");
	if (env && memlane_config_parse(out, env) != 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", memlane_errmsg());
		return ml_err(MEMLANE_EINVAL, "MEMLANE_OPTIONS='%s': %s", env, why);
	}
	return memlane_config_validate(out);
}

int memlane_open(memlane_arena **out, const char *spill_dir, const memlane_config *cfg)
{
	if (!out)
		return ml_err(MEMLANE_EINVAL, "memlane_open: out is NULL");
	memlane_config eff;
	int rc = effective_config(cfg, &eff);
	if (rc)
		return rc;
	memlane_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return ml_err(MEMLANE_ENOMEM, "memlane_open: out of memory");
	atomic_init(&a->lock.word, 0);
	atomic_init(&a->wake_seq, 0);
	a->cfg = eff;
	a->id = ml_arena_id_next();
	if (a->id == 0) {
		rc = ml_err(MEMLANE_ENOMEM, "memlane_open: %u arenas are open in this process already",
		            (1u << ML_ARENA_BITS) - 1);
		goto fail;
	}
	a->free_slot = ML_NIL;
	if ((rc = ml_fast_init(a)) != 0 || (rc = ml_slow_init(a)) != 0)
		goto fail;
	if (spill_dir && (rc = ml_pager_open(a, spill_dir)) != 0)
		goto fail;
	if (eff.policy_check_interval_ms > 0 && (rc = start_thread(a)) != 0)
		goto fail;
	*out = a;
	return 0;
fail:
	arena_free(a);
	return rc;
}

int memlane_close(memlane_arena *a)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_close: arena is NULL");
	stop_thread(a);
	ml_lock(a);
	int rc = ml_pager_close(a); /* persist=1: the last checkpoint */
	ml_unlock(a);
	arena_free(a);
	return rc;
}

int memlane_tick(memlane_arena *a)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_tick: arena is NULL");
	ml_lock(a);
	a->tick++;
	a->ctr.ticks++;
	if (!a->thread_running)
		ml_maintain_locked(a, SIZE_MAX);
	ml_unlock(a);
	return 0;
}

int memlane_maintain(memlane_arena *a)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_maintain: arena is NULL");
	ml_lock(a);
	ml_maintain_locked(a, SIZE_MAX);
	ml_unlock(a);
	return 0;
}

int memlane_compact(memlane_arena *a)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_compact: arena is NULL");
	ml_lock(a);
	ml_compact_fast(a);
	ml_compact_slow(a);
	ml_unlock(a);
	return 0;
}

int memlane_flush(memlane_arena *a)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_flush: arena is NULL");
	if (!a->store)
		return ml_err(MEMLANE_ENOSPILL, "memlane_flush: this arena has no spill directory (opened with NULL)");
	ml_lock(a);
	int rc = ml_pager_flush(a);
	ml_unlock(a);
	return rc;
}

int memlane_checkpoint(memlane_arena *a)
{
	if (!a)
		return ml_err(MEMLANE_EINVAL, "memlane_checkpoint: arena is NULL");
	if (!a->store)
		return ml_err(MEMLANE_ENOSPILL, "memlane_checkpoint: this arena has no spill directory (opened with NULL)");
	if (!a->cfg.persist)
		return ml_err(MEMLANE_EINVAL, "memlane_checkpoint: the arena was opened with persist=0; its store is "
		                              "scratch, emptied at close, so there is nothing to reopen from");
	ml_lock(a);
	int rc = ml_pager_checkpoint(a);
	ml_unlock(a);
	return rc;
}
