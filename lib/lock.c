/* lock.c - the arena lock and the policy thread's wake-up, on futexes.
 *
 * Every public call takes the arena lock once, so its cost is paid per
 * allocation and per free. On the machines we measure, one locked
 * instruction (lock cmpxchg, xchg) costs about 6 ns: a lock and unlock
 * pair is 12 ns, more than half of a whole allocation. Two layers:
 *
 * The mutex. A futex word, 0 (free), 1 (held) or 2 (held, and a thread
 * may sleep on it), as in Drepper's "Futexes Are Tricky", mutex 2: one
 * atomic instruction each way when uncontended, inline in internal.h.
 * A thread that finds it held spins briefly, then naps and tries again
 * a few times before it sleeps on the futex (see mutex_lock_contended:
 * the naps let the holder run on alone, which is what makes two threads
 * on one arena fast).
 *
 * The bias. An arena that one thread keeps using (ML_BIAS_STREAK mutex
 * acquisitions in a row by the same thread) is biased to that thread:
 * from then on it takes and drops the lock with plain stores to its own
 * ml_owner record, no atomic instruction. Another thread that wants
 * the lock takes the mutex, withdraws the bias, and waits until the
 * owner is out of its critical section. The owner's entry (store
 * owner->in, then load a->bias) and the revoker's (store a->bias, then
 * load owner->in) are Dekker's pattern, which needs a full fence on
 * both sides; the revoker pays for both with membarrier(2)
 * (MEMBARRIER_CMD_PRIVATE_EXPEDITED), which runs a full fence on every
 * CPU running one of our threads. So the thread that uses the arena
 * pays nothing, and a change of thread costs one system call (a few
 * microseconds), at most once per ML_BIAS_STREAK acquisitions.
 *
 * Without membarrier (old kernels, a seccomp filter) and under
 * ThreadSanitizer (which cannot see membarrier's ordering) the bias is
 * never granted, and the mutex alone is used. */
#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Spins before a waiter naps: a critical section is short. */
#define ML_LOCK_SPINS 100
/* Then naps of ML_LOCK_NAP_NS, trying the lock after each, at most
 * ML_LOCK_NAPS of them (a few hundred microseconds in all, with the
 * kernel's timer slack), before it sleeps on the futex until woken. One
 * nap already gives most of the gain (two threads replaying gcc-cc1:
 * 59-97 ns an operation with 1, 62-97 with 4, 71-162 with 20, on a
 * loaded machine); more only make a waiter wait longer. */
#define ML_LOCK_NAPS 4
#define ML_LOCK_NAP_NS 50000

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t val3)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, val3);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static bool mutex_try(struct ml_mutex *m)
{
	uint32_t free_word = 0;
	return atomic_load_explicit(&m->word, memory_order_relaxed) == 0 &&
	       atomic_compare_exchange_strong_explicit(&m->word, &free_word, 1, memory_order_acquire,
	                                               memory_order_relaxed);
}

/* Take a mutex another thread holds. Returns how: ML_GOT_SPINNING,
 * ML_GOT_NAPPING or ML_GOT_SLEEPING, for the counters.
 *
 * Why nap rather than sleep on the futex at once: a waiter on the futex
 * marks the word 2, and from then on each unlock makes a FUTEX_WAKE
 * system call, the woken thread takes the lock for one call, and the
 * two threads hand it back and forth call by call, the arena's
 * metadata moving between their caches every time. Two threads
 * replaying allocation traces on one arena took 5 to 10 times as long
 * an operation as one thread alone (memlane-bench threads). A waiter
 * that naps instead leaves the holder to make many calls in a row with
 * nothing to wake, and takes the lock when it finds it free after a
 * nap: the threads take turns in runs of tens of microseconds, and two
 * threads together take about what one does alone.
 *
 * A holder that lets go only for an instant could keep a napping
 * waiter out for good, so after ML_LOCK_NAPS naps the waiter sleeps on
 * the futex as before, and the holder's next unlock wakes it. */
static int mutex_lock_contended(struct ml_mutex *m)
{
	for (int i = 0; i < ML_LOCK_SPINS; i++) {
		if (mutex_try(m))
			return ML_GOT_SPINNING;
		cpu_relax();
	}
	const struct timespec nap = {0, ML_LOCK_NAP_NS};
	for (int i = 0; i < ML_LOCK_NAPS; i++) {
		nanosleep(&nap, NULL);
		if (mutex_try(m))
			return ML_GOT_NAPPING;
	}
	/* Mark the lock "held, with sleepers" and sleep until it is free;
	 * the exchange that finds it free takes it (still marked 2, so the
	 * unlock wakes the next sleeper, if any). */
	while (atomic_exchange_explicit(&m->word, 2, memory_order_acquire) != 0)
		futex(&m->word, FUTEX_WAIT_PRIVATE, 2, NULL, 0);
	return ML_GOT_SLEEPING;
}

void ml_mutex_wake(struct ml_mutex *m)
{
	futex(&m->word, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
}

/* Take @a's mutex; count the times another thread held it. */
static void mutex_lock(memlane_arena *a)
{
	if (mutex_try(&a->lock))
		return;
	int how = mutex_lock_contended(&a->lock);
	a->ctr_lock_waits[how]++; /* under the lock now */
}

/* ---- the bias ------------------------------------------------------------ */

/* Mutex acquisitions in a row by one thread that bias the arena to it:
 * withdrawing a bias costs a membarrier system call, so it must be
 * paid for by many cheap acquisitions before it can happen again. */
#define ML_BIAS_STREAK 1024

ML_HIDDEN __thread struct ml_owner *ml_tls_owner __attribute__((tls_model("initial-exec")));
/* Its address tells threads apart for the streak count, without
 * allocating anything. */
static __thread char tls_thread_mark __attribute__((tls_model("initial-exec")));

/* Whether biasing works in this process: 1 yes, -1 no (0 only before
 * the library's constructor ran). */
static _Atomic int bias_usable;
static pthread_key_t owner_key;
/* Records of threads that exited, for reuse. Never freed: a revoker
 * may still read a record whose thread is gone (its in is NULL). */
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ml_owner *owners_free;

static void owner_release(void *p)
{
	struct ml_owner *o = p;
	/* The exiting thread may still call us from a destructor of a key
	 * made after ours: it must not keep the record a new thread may
	 * take now (both would enter by the same bias). It takes a new
	 * record, or the mutex. */
	ml_tls_owner = NULL;
	pthread_mutex_lock(&owners_lock);
	o->next_free = owners_free;
	owners_free = o;
	pthread_mutex_unlock(&owners_lock);
}

#if defined(__SANITIZE_THREAD__)
#define ML_BIAS_BUILD 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ML_BIAS_BUILD 0
#endif
#endif
#ifndef ML_BIAS_BUILD
#define ML_BIAS_BUILD 1
#endif

/* Run once per process, at load: registering for membarrier costs a
 * few microseconds while the process has one thread, but a full RCU
 * grace period (milliseconds) once it has more, so it is done before
 * the program starts any (or, when the library is opened later, once). */
__attribute__((constructor)) static void bias_setup(void)
{
	int ok = ML_BIAS_BUILD && getenv("MEMLANE_NO_BIAS") == NULL &&
	         syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
	         pthread_key_create(&owner_key, owner_release) == 0;
	atomic_store(&bias_usable, ok ? 1 : -1);
}

/* Run when the library is unloaded (dlclose) or the process exits: the
 * key's destructor is our code, which a thread exiting after an
 * unload would call at an address no longer mapped. No bias is granted
 * from now on; records already handed out stay, never freed. */
__attribute__((destructor)) static void bias_teardown(void)
{
	if (atomic_exchange(&bias_usable, -1) == 1)
		pthread_key_delete(owner_key);
}

/* This thread's record, made on first use; NULL when out of memory. */
static struct ml_owner *owner_self(void)
{
	if (ml_tls_owner)
		return ml_tls_owner;
	pthread_mutex_lock(&owners_lock);
	struct ml_owner *o = owners_free;
	if (o)
		owners_free = o->next_free;
	pthread_mutex_unlock(&owners_lock);
	if (!o && !(o = calloc(1, sizeof(*o))))
		return NULL;
	if (pthread_setspecific(owner_key, o) != 0) {
		owner_release(o);
		return NULL;
	}
	atomic_store_explicit(&o->in, NULL, memory_order_relaxed);
	ml_tls_owner = o;
	return o;
}

/* Wait until @o's thread is out of @a. A critical section is usually
 * short, so spin first; but the owner may be compacting, or syncing a
 * checkpoint to disk, so then yield, then sleep, instead of burning a
 * CPU for as long as that takes. */
static void wait_outside(memlane_arena *a, struct ml_owner *o)
{
	for (unsigned tries = 0; atomic_load_explicit(&o->in, memory_order_acquire) == a; tries++) {
		if (tries < ML_LOCK_SPINS) {
			cpu_relax();
		} else if (tries < 2 * ML_LOCK_SPINS) {
			sched_yield();
		} else {
			struct timespec pause = {0, 50000}; /* 50 us */
			nanosleep(&pause, NULL);
		}
	}
}

/* Take the bias away from @o (the caller holds the mutex) and wait
 * until @o's thread is out of the arena. */
static void bias_revoke(memlane_arena *a, struct ml_owner *o)
{
	atomic_store_explicit(&a->bias, NULL, memory_order_relaxed);
	if (o == ml_tls_owner)
		return; /* our own: we are not inside by bias */
	/* Every thread of ours now runs a full fence: an owner that had
	 * not yet stored o->in will see a->bias NULL and back out; one
	 * that had is seen inside below. Without the fence that is not
	 * sure, so a failed call (it can only be out of memory, once
	 * registered) is tried again; no new bias is granted meanwhile. */
	while (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
		atomic_store(&bias_usable, -1);
		sched_yield();
	}
	wait_outside(a, o);
	a->ctr_bias_revoked++;
}

/* Count the mutex acquisitions of this thread in a row, and bias the
 * arena to it after ML_BIAS_STREAK of them. */
static void bias_consider(memlane_arena *a)
{
	if (a->streak_mark != &tls_thread_mark) {
		a->streak_mark = &tls_thread_mark;
		a->streak = 1;
		return;
	}
	if (++a->streak < ML_BIAS_STREAK)
		return;
	a->streak = 0;
	if (atomic_load(&bias_usable) <= 0)
		return;
	struct ml_owner *o = owner_self();
	if (o)
		atomic_store_explicit(&a->bias, o, memory_order_relaxed);
}

/* For memlane_debug_dump: whether biasing works here (1) or not (-1:
 * no membarrier, a ThreadSanitizer build, or MEMLANE_NO_BIAS). */
int ml_bias_usable(void)
{
	return atomic_load(&bias_usable);
}

/* The lock by the mutex: ml_lock's way when the arena is not biased to
 * this thread. */
void ml_lock_slow(memlane_arena *a)
{
	mutex_lock(a);
	struct ml_owner *o = atomic_load_explicit(&a->bias, memory_order_relaxed);
	if (o)
		bias_revoke(a, o);
	bias_consider(a);
}

/* Let go of @a's lock and sleep until ml_wake_signal or the absolute
 * CLOCK_MONOTONIC time @until, then take the lock again. Returns false
 * when the time is up. A signal between reading the counter and the
 * sleep changes the counter, and the futex then does not sleep. */
bool ml_wake_wait(memlane_arena *a, const struct timespec *until)
{
	uint32_t seen = atomic_load_explicit(&a->wake_seq, memory_order_acquire);
	a->streak_mark = NULL; /* a sleeper is not a thread that keeps using the arena */
	ml_unlock(a);
	long rc = futex(&a->wake_seq, FUTEX_WAIT_BITSET_PRIVATE, seen, until, FUTEX_BITSET_MATCH_ANY);
	bool timed_out = rc != 0 && errno == ETIMEDOUT;
	ml_lock(a);
	return !timed_out;
}

/* Wake the thread in ml_wake_wait, if it sleeps. */
void ml_wake_signal(memlane_arena *a)
{
	atomic_fetch_add_explicit(&a->wake_seq, 1, memory_order_release);
	futex(&a->wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
}
