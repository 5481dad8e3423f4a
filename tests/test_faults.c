/* test_faults.c - injected failures of every system, LMDB, zstd and
 * allocation call on the store path (the shim is faultinject.c).
 *
 * A scenario (open with a spill directory, allocate, write, evict,
 * fault in, checkpoint, free, realloc, flush, allocate past the lanes,
 * close, reopen) runs once under the shim counting the calls of each
 * function and their call sites, then again and again, each time
 * failing one call: the first call of every call site, and a few more of
 * each function. Every run is a child process. Each API call that fails
 * must return a MEMLANE_E* code with a memlane_errmsg() that names the
 * culprit; then every object must still hold the bytes written (the
 * model keeps seeds and sizes), and the same call, repeated, must
 * succeed (the fault is gone: the arena goes on). A fault the library
 * absorbs (compression falls back to stored frames) must lose nothing
 * either. With persist=1, the store reopened at the end holds exactly
 * the last checkpoint; and in a second pass the child stops dead right
 * after the failure (a crash), and the directory must reopen as the last
 * checkpoint too.
 *
 * Parts: scratch (persist=0), persist (store_sync=full, and the error
 * paths: a full map grown, faults in the growth, statvfs), sync
 * (store_sync=checkpoint), recover (the scenario starts from what a
 * crashed arena left: persistent and scratch). Then one regression case
 * per library bug this test found, each a fault at a chosen point.
 *
 * The program re-executes itself with LD_PRELOAD set to the shim
 * (FAULTINJECT_SO, or faultinject.so next to the executable). It skips
 * (77) under sanitizers, whose runtimes must come first, and when
 * libmemlane is not a shared library. FAULTS_VERBOSE=1 prints every call
 * site and its fate; FAULTS_FULL=1 sweeps every part fully (by default
 * sync fails only the call sites not covered before, and the recover
 * parts the first call of each site); FAULTS_ALL=1 fails every call;
 * FAULTS_ERR=ENOSPC (or another name faultinject.c knows) fails them
 * with that error;
 * FAULTS_ONLY=scratch|persist|sync|recover runs one part;
 * FAULTS_SPEC=FUNC:N injects that one fault only (with FAULTS_ONLY). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <execinfo.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "faultinject.h"
#include "testutil.h"

/* Sanitizer builds (gcc says so with __SANITIZE_*__, clang with
 * __has_feature) skip: their runtime must be the first library. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAULTS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAULTS_SANITIZED 1
#endif
#endif
#ifndef FAULTS_SANITIZED
#define FAULTS_SANITIZED 0
#endif

/* ---- the shim --------------------------------------------------------- */

static struct {
	fi_reset_fn *reset;
	fi_arm_fn *arm;
	fi_fired_fn *fired;
	fi_module_loaded_fn *module_loaded;
	fi_func_name_fn *func_name;
	fi_count_fn *count;
	fi_call_site_fn *call_site;
	fi_site_fn *site;
} fi;

static bool shim_find(void)
{
	fi.reset = (fi_reset_fn *)dlsym(RTLD_DEFAULT, "faultinject_reset");
	fi.arm = (fi_arm_fn *)dlsym(RTLD_DEFAULT, "faultinject_arm");
	fi.fired = (fi_fired_fn *)dlsym(RTLD_DEFAULT, "faultinject_fired");
	fi.module_loaded = (fi_module_loaded_fn *)dlsym(RTLD_DEFAULT, "faultinject_module_loaded");
	fi.func_name = (fi_func_name_fn *)dlsym(RTLD_DEFAULT, "faultinject_func_name");
	fi.count = (fi_count_fn *)dlsym(RTLD_DEFAULT, "faultinject_count");
	fi.call_site = (fi_call_site_fn *)dlsym(RTLD_DEFAULT, "faultinject_call_site");
	fi.site = (fi_site_fn *)dlsym(RTLD_DEFAULT, "faultinject_site");
	return fi.reset && fi.arm && fi.fired && fi.module_loaded && fi.func_name && fi.count && fi.call_site &&
	       fi.site;
}

static size_t nfuncs(void)
{
	size_t n = 0;
	while (fi.func_name(n))
		n++;
	return n;
}

static size_t func_index(const char *name)
{
	for (size_t i = 0; fi.func_name(i); i++)
		if (strcmp(fi.func_name(i), name) == 0)
			return i;
	return SIZE_MAX;
}

/* ---- the model -------------------------------------------------------- */

#define MAX_OBJS 48

struct obj {
	memlane_handle h;
	uint64_t size;
	uint64_t seed;
	uint64_t valid; /* leading bytes that are known (a realloc's grown tail is not) */
	int alive;
};

struct model {
	struct obj o[MAX_OBJS];
	int n;
	memlane_handle root_first; /* the root "first" */
	int checkpoints;           /* successful checkpoints before this state */
};

/* The bytes of an object: odd seeds compress, even ones do not; no two
 * seeds give the same bytes. A shorter object's bytes are a prefix of a
 * longer one's. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	if (seed & 1) {
		static const char text[] = "memlane fault injection: compressible text, again and again. ";
		uint8_t mask = (uint8_t)tu_mix64(seed);
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)text[(i + seed) % (sizeof(text) - 1)] ^ mask;
		return;
	}
	tu_rng r = {seed};
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = tu_next(&r);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* ---- the scenario (in a child process) ------------------------------ */

enum mode { MODE_COUNT, MODE_RUN, MODE_CRASH };

#define MSG_MAX 512

struct sc {
	const char *spec; /* the faults armed */
	const char *dir;
	const char *snapfile; /* crash mode: the last checkpoint's model goes here */
	int persist;
	enum mode mode;
	FILE *out; /* to the parent */
	memlane_arena *a;
	memlane_config cfg;
	struct model cur, ckpt;
	uint8_t *buf, *want; /* read back, and what should be there */
	uint8_t *src;        /* what a write writes: checks between its tries use want */
	size_t bufsize;
	/* the first API call that failed */
	char failed_api[64];
	int failed_rc;
	char failed_msg[MSG_MAX];
	bool reopening; /* comparing a reopened arena with the models */
	int nfailures;  /* failed calls so far */
	/* crash mode: the failed call may have made its checkpoint (a close,
	 * or a checkpoint whose sync failed after the commit) */
	int maybe_cur;
};

static struct sc *the_sc;

static void die(struct sc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(struct sc *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char fired[512] = "";
	fi.fired(fired, sizeof(fired));
	fprintf(c->out, "FAIL %s [fault: %s]\n", msg, fired[0] ? fired : "none fired");
	fflush(c->out);
	_exit(1);
}

/* A crash in the child: where, for the log (addr2line reads the
 * offsets). */
static void on_crash(int sig)
{
	void *bt[32];
	int n = backtrace(bt, 32);
	fprintf(stderr, "test_faults: child killed by signal %d; backtrace:\n", sig);
	backtrace_symbols_fd(bt, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_alarm(int sig)
{
	(void)sig;
	die(the_sc, "timed out (a lock left held?)");
}

static void failed(struct sc *c, const char *api, int rc);
static void save_models(struct sc *c);

/* Run @call; when it fails, check the failure, then run it again: it
 * must succeed now, or fail because of another armed fault (failed()
 * allows one failure per fault that fired). */
#define DO(c, api, call)                                                                                               \
	do {                                                                                                           \
		int rc_ = (call);                                                                                      \
		while (rc_) {                                                                                          \
			failed(c, api, rc_);                                                                           \
			rc_ = (call);                                                                                  \
		}                                                                                                      \
	} while (0)

/* Read the whole of @o into c->buf; the reads that check are calls of
 * the scenario too, and may be the ones that fail. */
static void read_obj(struct sc *c, const struct obj *o)
{
	DO(c, "memlane_read", memlane_read(c->a, o->h, 0, c->buf, o->size));
}

/* Compare the object @o against its bytes in the arena. */
static void check_obj(struct sc *c, const struct obj *o, const char *when)
{
	if (!memlane_valid(c->a, o->h))
		die(c, "%s: handle 0x%016" PRIx64 " is no longer valid", when, o->h);
	if (memlane_size(c->a, o->h) != o->size)
		die(c, "%s: handle 0x%016" PRIx64 " has size %zu, not %" PRIu64, when, o->h, memlane_size(c->a, o->h),
		    o->size);
	read_obj(c, o);
	fill(c->want, o->valid, o->seed);
	if (memcmp(c->buf, c->want, o->valid) != 0)
		die(c, "%s: handle 0x%016" PRIx64 " (%" PRIu64 " bytes): its bytes changed", when, o->h, o->size);
}

static void verify_model(struct sc *c, const struct model *m, const char *when)
{
	for (int i = 0; i < m->n; i++)
		if (m->o[i].alive)
			check_obj(c, &m->o[i], when);
}

/* Whether the open arena is exactly @m (after a reopen). */
static bool matches(struct sc *c, const struct model *m, const struct model *all, char *why, size_t len)
{
	for (int i = 0; i < all->n; i++) {
		const struct obj *o = NULL;
		for (int j = 0; j < m->n; j++)
			if (m->o[j].h == all->o[i].h && m->o[j].alive)
				o = &m->o[j];
		int valid = memlane_valid(c->a, all->o[i].h);
		if (!o && valid) {
			snprintf(why, len, "handle 0x%016" PRIx64 " is valid, and should not be", all->o[i].h);
			return false;
		}
		if (!o)
			continue;
		if (!valid || memlane_size(c->a, o->h) != o->size) {
			snprintf(why, len, "handle 0x%016" PRIx64 " is %s", o->h, valid ? "of another size" : "gone");
			return false;
		}
		read_obj(c, o);
		fill(c->want, o->valid, o->seed);
		if (memcmp(c->buf, c->want, o->valid) != 0) {
			snprintf(why, len, "handle 0x%016" PRIx64 ": bytes differ", o->h);
			return false;
		}
	}
	memlane_handle r = MEMLANE_NULL;
	int rc = memlane_root_get(c->a, "first", &r);
	if (m->root_first && (rc || r != m->root_first)) {
		snprintf(why, len, "root 'first' is %s", rc ? memlane_errmsg() : "another handle");
		return false;
	}
	return true;
}

/* A failed call: check the code and the message, that nothing was lost,
 * and (crash mode) stop dead here. */
static void failed(struct sc *c, const char *api, int rc)
{
	const char *msg = memlane_errmsg();
	char fired[512] = "";
	int nf = fi.fired(fired, sizeof(fired));
	if (nf == 0)
		die(c, "%s failed with %d (%s) and no fault fired", api, rc, msg);
	/* One failure per fault: more mean the arena did not get over it. */
	if (c->nfailures >= nf)
		die(c, "%s failed with %s (%s), after the fault was gone", api, memlane_strerror(rc), msg);
	c->nfailures++;
	if (rc >= 0 || rc < MEMLANE_ELAST)
		die(c, "%s returned %d, not a MEMLANE_E* code", api, rc);
	/* The faults are I/O errors and shortages, not damage: damage would
	 * tell the user to give the store up. */
	if (rc == MEMLANE_ECORRUPT && !strstr(c->spec, "CORRUPTED") && !strstr(c->spec, "PAGE_NOTFOUND"))
		die(c, "%s: a passing fault reported as damage (%s)", api, msg);
	if (!msg[0])
		die(c, "%s returned %s with an empty memlane_errmsg()", api, memlane_strerror(rc));
	/* The message names the culprit: the store, memory, zstd or a lane. */
	if (!strstr(msg, c->dir) && !strstr(msg, "memory") && !strstr(msg, "zstd") && !strstr(msg, "map"))
		die(c, "%s: memlane_errmsg() names neither the store, memory, zstd nor the lanes: '%s'", api, msg);
	if (!c->failed_api[0]) {
		snprintf(c->failed_api, sizeof(c->failed_api), "%s", api);
		c->failed_rc = rc;
		snprintf(c->failed_msg, sizeof(c->failed_msg), "%s", msg);
	}
	if (c->a && !c->reopening)
		verify_model(c, &c->cur, "after the failure");
	if (c->mode == MODE_CRASH) {
		/* A checkpoint that committed and then failed to sync says so;
		 * the store may come back as that checkpoint. */
		c->maybe_cur = strcmp(api, "memlane_close") == 0 ||
		               (strcmp(api, "memlane_checkpoint") == 0 && strstr(msg, "flushing to disk"));
		save_models(c);
		fprintf(c->out, "CRASH %s %d\n", api, rc);
		fflush(c->out);
		_exit(0); /* no close: the process dies with the arena open */
	}
}

static void sc_open(struct sc *c)
{
	c->a = NULL;
	DO(c, "memlane_open", memlane_open(&c->a, c->dir, &c->cfg));
}

static int alloc_write(struct sc *c, uint64_t size, uint64_t seed)
{
	if (c->cur.n == MAX_OBJS)
		die(c, "model full");
	struct obj *o = &c->cur.o[c->cur.n];
	memlane_handle h;
	DO(c, "memlane_alloc", memlane_alloc(c->a, size, &h));
	*o = (struct obj){h, size, seed, 0, 1};
	c->cur.n++;
	fill(c->src, size, seed);
	DO(c, "memlane_write", memlane_write(c->a, h, 0, c->src, size));
	o->valid = size;
	return c->cur.n - 1;
}

static void rewrite(struct sc *c, int i, uint64_t seed)
{
	struct obj *o = &c->cur.o[i];
	fill(c->src, o->size, seed);
	DO(c, "memlane_write", memlane_write(c->a, o->h, 0, c->src, o->size));
	o->seed = seed;
	o->valid = o->size;
}

static void sc_free(struct sc *c, int i)
{
	DO(c, "memlane_free", memlane_free(c->a, c->cur.o[i].h));
	c->cur.o[i].alive = 0;
}

static void sc_realloc(struct sc *c, int i, uint64_t size)
{
	struct obj *o = &c->cur.o[i];
	DO(c, "memlane_realloc", memlane_realloc(c->a, o->h, size));
	if (o->valid > size)
		o->valid = size;
	o->size = size;
}

static void sc_checkpoint(struct sc *c)
{
	if (!c->persist)
		return;
	DO(c, "memlane_checkpoint", memlane_checkpoint(c->a));
	c->cur.checkpoints++;
	c->ckpt = c->cur;
}

/* Close; a failed close may or may not have made its checkpoint. */
static void sc_close(struct sc *c, bool *maybe_ckpt)
{
	int rc = memlane_close(c->a);
	c->a = NULL;
	*maybe_ckpt = false;
	if (rc) {
		failed(c, "memlane_close", rc);
		*maybe_ckpt = true;
	} else if (c->persist) {
		c->cur.checkpoints++;
		c->ckpt = c->cur;
	}
}

/* After a reopen: the last checkpoint (or, after a failed close, maybe
 * the state the close tried to save). */
static void check_reopened(struct sc *c, bool maybe_cur)
{
	char why[512], why2[512];
	c->reopening = true;
	bool ok = matches(c, &c->ckpt, &c->cur, why, sizeof(why));
	if (!ok && maybe_cur && matches(c, &c->cur, &c->cur, why2, sizeof(why2))) {
		c->ckpt = c->cur;
		ok = true;
	}
	c->reopening = false;
	if (!ok)
		die(c, "the reopened store is not the last checkpoint: %s", why);
}

static void scenario(struct sc *c)
{
	static const uint64_t sizes[] = {48, 200, 700, 1500, 3000, 9000, 20000, 40000, 70000, 100, 5000, 130000};
	int ix[12];
	sc_open(c);
	for (int i = 0; i < 12; i++)
		ix[i] = alloc_write(c, sizes[i], (uint64_t)i * 7919 + 1 + (i & 1));
	c->cur.root_first = c->cur.o[ix[0]].h;
	DO(c, "memlane_root_set", memlane_root_set(c->a, "first", c->cur.o[ix[0]].h));
	for (int i = 3; i <= 7; i++)
		DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[ix[i]].h));
	DO(c, "memlane_read", memlane_read(c->a, c->cur.o[ix[4]].h, 0, c->buf, 64));
	DO(c, "memlane_prefetch", memlane_prefetch(c->a, c->cur.o[ix[5]].h));
	DO(c, "memlane_pin", memlane_pin(c->a, c->cur.o[ix[6]].h, NULL)); /* spilled: faulted in */
	DO(c, "memlane_unpin", memlane_unpin(c->a, c->cur.o[ix[6]].h));
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[ix[6]].h));
	sc_checkpoint(c);
	rewrite(c, ix[3], 4242); /* spilled: faulted in, then written */
	rewrite(c, ix[0], 4243);
	sc_free(c, ix[7]);  /* spilled */
	sc_free(c, ix[1]);  /* resident, never checkpointed as such */
	sc_realloc(c, ix[5], 60000);
	sc_realloc(c, ix[6], 1000); /* spilled: faulted in first */
	sc_realloc(c, ix[2], 3000); /* out of the FastLane */
	DO(c, "memlane_compact", memlane_compact(c->a));
	DO(c, "memlane_flush", memlane_flush(c->a));
	memlane_stats st; /* reads the store's size: a failure there shows 0 */
	DO(c, "memlane_stats_get", memlane_stats_get(c->a, &st));
	for (int i = 0; i < 6; i++) /* more than the SlowLane: evictions make room */
		alloc_write(c, 150000, 1000u + (uint64_t)i * 2);
	verify_model(c, &c->cur, "before the second checkpoint");
	sc_checkpoint(c);
	rewrite(c, ix[8], 777);
	sc_free(c, ix[9]);
	bool maybe;
	sc_close(c, &maybe);
	sc_open(c);
	if (c->persist) {
		check_reopened(c, maybe);
		c->cur = c->ckpt; /* the reopened arena is the checkpoint */
		alloc_write(c, 2500, 99);
		DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[c->cur.n - 1].h));
		verify_model(c, &c->cur, "after the reopen");
		sc_close(c, &maybe);
		sc_open(c);
		check_reopened(c, maybe);
		c->cur = c->ckpt;
	} else {
		/* A scratch store starts empty. */
		for (int i = 0; i < c->cur.n; i++)
			if (memlane_valid(c->a, c->cur.o[i].h))
				die(c, "scratch store: handle 0x%016" PRIx64 " survived the close", c->cur.o[i].h);
		c->cur.n = 0;
		int i = alloc_write(c, 5000, 5);
		DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
		verify_model(c, &c->cur, "after the reopen");
	}
	sc_close(c, &maybe);
}

/* The child: run the scenario with @spec armed, report on @out. */
static void save_models(struct sc *c)
{
	FILE *f = fopen(c->snapfile, "wb");
	if (!f || fwrite(&c->ckpt, sizeof(c->ckpt), 1, f) != 1 || fwrite(&c->cur, sizeof(c->cur), 1, f) != 1 ||
	    fwrite(&c->maybe_cur, sizeof(c->maybe_cur), 1, f) != 1 || fclose(f) != 0)
		die(c, "cannot write '%s'", c->snapfile);
}

static void load_models(struct sc *c)
{
	FILE *f = fopen(c->snapfile, "rb");
	if (!f || fread(&c->ckpt, sizeof(c->ckpt), 1, f) != 1 || fread(&c->cur, sizeof(c->cur), 1, f) != 1 ||
	    fread(&c->maybe_cur, sizeof(c->maybe_cur), 1, f) != 1)
		die(c, "cannot read '%s'", c->snapfile);
	fclose(f);
}

static void child_done(struct sc *c);
static void child_start(struct sc *c);

/* The directory a crashed arena left: a persistent store with records
 * written after its checkpoint (an object rewritten and evicted again,
 * a new object evicted) and a free the checkpoint does not know of. */
static void prep_persist_crash(struct sc *c, const char *spec)
{
	(void)spec;
	child_start(c);
	sc_open(c);
	int a = alloc_write(c, 20000, 2), b = alloc_write(c, 5000, 3), d = alloc_write(c, 40000, 4);
	alloc_write(c, 700, 5);
	c->cur.root_first = c->cur.o[a].h;
	DO(c, "memlane_root_set", memlane_root_set(c->a, "first", c->cur.o[a].h));
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[a].h));
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[b].h));
	sc_checkpoint(c);
	rewrite(c, b, 77);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[b].h));
	int f = alloc_write(c, 9000, 6);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[f].h));
	sc_free(c, d);
	save_models(c);
	child_done(c); /* no close */
}

/* Reopen it (restore, and the records after the checkpoint dropped),
 * go on, checkpoint, reopen. */
static void scenario_after_persist_crash(struct sc *c)
{
	load_models(c);
	sc_open(c);
	check_reopened(c, false);
	c->cur = c->ckpt;
	int i = alloc_write(c, 3000, 8);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	rewrite(c, 1, 91);
	sc_checkpoint(c);
	bool maybe;
	sc_close(c, &maybe);
	sc_open(c);
	check_reopened(c, maybe);
	c->cur = c->ckpt;
	sc_close(c, &maybe);
}

/* A scratch store a crashed arena left: its files are thrown away at
 * the next open. */
static void prep_scratch_crash(struct sc *c, const char *spec)
{
	(void)spec;
	child_start(c);
	sc_open(c);
	int i = alloc_write(c, 20000, 2);
	alloc_write(c, 3000, 5);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	save_models(c);
	child_done(c); /* no close */
}

static void scenario_after_scratch_crash(struct sc *c)
{
	load_models(c);
	sc_open(c);
	for (int i = 0; i < c->cur.n; i++)
		if (memlane_valid(c->a, c->cur.o[i].h))
			die(c, "scratch store: handle 0x%016" PRIx64 " survived the crash", c->cur.o[i].h);
	c->cur.n = 0;
	int i = alloc_write(c, 20000, 12);
	alloc_write(c, 300, 13);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	verify_model(c, &c->cur, "after the reopen");
	bool maybe;
	sc_close(c, &maybe);
}

/* The scenario the children run, and what prepares its directory. */
static void (*the_scenario)(struct sc *c) = scenario;
typedef void child_fn(struct sc *c, const char *spec);
static child_fn *the_prep;

/* Every child: a watchdog and a word on crashes. */
static void child_start(struct sc *c)
{
	the_sc = c;
	signal(SIGALRM, on_alarm);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGABRT, on_crash);
	alarm(30);
	fi.reset();
}

static void child(struct sc *c, const char *spec)
{
	child_start(c);
	if (spec && fi.arm(spec) != 0)
		die(c, "bad fault spec '%s'", spec);
	the_scenario(c);
	char fired[512] = "";
	int nf = fi.fired(fired, sizeof(fired));
	if (c->mode == MODE_COUNT) {
		size_t nf_ = nfuncs();
		for (size_t f = 0; f < nf_; f++) {
			uint64_t n = fi.count(f);
			fprintf(c->out, "COUNT %zu %" PRIu64, f, n);
			for (uint64_t k = 0; k < n; k++)
				fprintf(c->out, " %ld", fi.call_site(f, k));
			fprintf(c->out, "\n");
		}
		size_t func;
		int mod;
		uintptr_t off;
		for (long s = 0; fi.site(s, &func, &mod, &off) == 0; s++)
			fprintf(c->out, "SITE %ld %zu %d %lx\n", s, func, mod, (unsigned long)off);
	}
	fprintf(c->out, "OK %d %s|%s|%d|%s\n", nf, fired[0] ? fired : "-", c->failed_api[0] ? c->failed_api : "-",
	        c->failed_rc, c->failed_msg);
	fflush(c->out);
	_exit(0);
}

/* Crash mode's second half: reopen the directory the dead child left
 * and compare with the checkpoint it saved. */
static void crash_check(struct sc *c, const char *spec)
{
	(void)spec;
	child_start(c);
	load_models(c);
	int rc = memlane_open(&c->a, c->dir, &c->cfg);
	if (rc)
		die(c, "reopening after the crash: %s (%s)", memlane_strerror(rc), memlane_errmsg());
	/* The dead child may have checkpointed as it failed (a close whose
	 * checkpoint committed, or a checkpoint whose sync failed). */
	check_reopened(c, c->maybe_cur);
	verify_model(c, &c->ckpt, "after the crash");
	rc = memlane_close(c->a);
	if (rc)
		die(c, "closing after the crash: %s (%s)", memlane_strerror(rc), memlane_errmsg());
	fprintf(c->out, "OK 0 -|-|0|\n");
	fflush(c->out);
	_exit(0);
}

/* ---- regression cases: one fault at a chosen point ------------------ */

/* Forget the counts so far and arm @spec: "FUNC:1" is the next call. */
static void arm_now(struct sc *c, const char *spec)
{
	fi.reset();
	if (fi.arm(spec) != 0)
		die(c, "bad fault spec '%s'", spec);
}

static void expect(struct sc *c, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void expect(struct sc *c, bool ok, const char *fmt, ...)
{
	if (ok)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	die(c, "%s", msg);
}

static void child_done(struct sc *c)
{
	char fired[512] = "";
	int nf = fi.fired(fired, sizeof(fired));
	fprintf(c->out, "OK %d %s|%s|%d|%s\n", nf, fired[0] ? fired : "-", c->failed_api[0] ? c->failed_api : "-",
	        c->failed_rc, c->failed_msg);
	fflush(c->out);
	_exit(0);
}

/* Close, reopen (a persistent store must come back as its last
 * checkpoint, or as what the failed close may have left), close. */
static void close_reopen_close(struct sc *c)
{
	bool maybe;
	sc_close(c, &maybe);
	sc_open(c);
	if (c->persist)
		check_reopened(c, maybe);
	sc_close(c, &maybe);
}

/* Opening a persistent store reads its format, its persist flag (mdb_get
 * 2: a failed read took the store for a scratch one, and the open wiped
 * it), its arena id (mdb_get 3: not read, every handle looked foreign,
 * and the store was called damaged), its slots, its last checkpoint
 * (mdb_get 5: not read, the count of checkpoints started over), the
 * handle table and the roots. A read error fails the open with
 * MEMLANE_ESTORE (MEMLANE_ENOMEM for LMDB's out of memory), never
 * MEMLANE_ECORRUPT, and loses nothing. */
static void regress_persist_flag(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	int i = alloc_write(c, 3000, 11);
	sc_checkpoint(c);
	expect(c, memlane_close(c->a) == 0, "close: %s", memlane_errmsg());
	arm_now(c, spec);
	int rc = memlane_open(&c->a, c->dir, &c->cfg);
	expect(c, fi.fired(NULL, 0) == 1, "%s did not fire in memlane_open", spec);
	expect(c, (rc == MEMLANE_ESTORE || rc == MEMLANE_ENOMEM) && strstr(memlane_errmsg(), c->dir),
	       "memlane_open, %s: %s (%s), not MEMLANE_ESTORE (ENOMEM)", spec, memlane_strerror(rc), memlane_errmsg());
	expect(c, memlane_open(&c->a, c->dir, &c->cfg) == 0, "reopen: %s", memlane_errmsg());
	check_obj(c, &c->cur.o[i], "after the failed open");
	expect(c, memlane_close(c->a) == 0, "close: %s", memlane_errmsg());
	child_done(c);
}

/* A write of an eviction's commit fails (a page, or the meta page:
 * then LMDB declares its environment dead, MDB_PANIC). The next
 * evictions work, nothing is lost, a persistent store reopens. */
static void regress_commit_write(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	int i = alloc_write(c, 20000, 2), j = alloc_write(c, 30000, 4);
	sc_checkpoint(c);
	arm_now(c, spec);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[j].h));
	verify_model(c, &c->cur, "after the evictions");
	sc_checkpoint(c);
	close_reopen_close(c);
	child_done(c);
}

/* An allocation that must evict, with an allocation failing inside: the
 * message says out of memory, not "no room" in the lanes. */
static void regress_evict_nomem(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	for (int i = 0; i < 6; i++) /* the next one needs evictions */
		alloc_write(c, 150000, 1000u + (uint64_t)i * 2);
	arm_now(c, spec);
	memlane_handle h;
	int rc = memlane_alloc(c->a, 150000, &h);
	if (rc) {
		snprintf(c->failed_api, sizeof(c->failed_api), "memlane_alloc");
		c->failed_rc = rc;
		snprintf(c->failed_msg, sizeof(c->failed_msg), "%s", memlane_errmsg());
		expect(c, rc == MEMLANE_ENOMEM && strstr(memlane_errmsg(), "memory"),
		       "memlane_alloc: %s, '%s' does not name the memory shortage", memlane_strerror(rc), memlane_errmsg());
	}
	verify_model(c, &c->cur, "after the allocation");
	child_done(c);
}

/* zstd out of memory decoding a record is no damage. */
static void regress_decode_nomem(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	int i = alloc_write(c, 20000, 3);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	arm_now(c, spec);
	int rc = memlane_read(c->a, c->cur.o[i].h, 0, c->buf, c->cur.o[i].size);
	expect(c, rc == MEMLANE_ENOMEM && strstr(memlane_errmsg(), "memory"), "memlane_read: %s (%s), not ENOMEM",
	       memlane_strerror(rc), memlane_errmsg());
	check_obj(c, &c->cur.o[i], "after the failed read");
	child_done(c);
}

/* The handle table cannot grow: the message says why. */
static void regress_slots_nomem(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	arm_now(c, spec);
	memlane_handle h;
	int rc = memlane_alloc(c->a, 100, &h);
	expect(c, rc == MEMLANE_ENOMEM && strstr(memlane_errmsg(), "memory"), "memlane_alloc: %s (%s)",
	       memlane_strerror(rc), memlane_errmsg());
	alloc_write(c, 100, 1);
	verify_model(c, &c->cur, "after the failed allocation");
	child_done(c);
}

/* The map is full and grows, and LMDB's new mmap fails: the environment
 * has no map any more (the next transaction crashed). The eviction may
 * fail, or succeed after the write that lets freed pages be reused. */
static void regress_growth_mmap(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	int i = alloc_write(c, 20000, 2);
	arm_now(c, spec);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	expect(c, fi.fired(NULL, 0) == 2, "%s: not both faults fired", spec);
	int j = alloc_write(c, 30000, 4);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[j].h));
	verify_model(c, &c->cur, "after the growth");
	bool maybe;
	sc_close(c, &maybe);
	child_done(c);
}

/* mdb_env_set_mapsize fails at open: so does the open. (It went on with
 * LMDB's 1 MiB map, and with store_max_size=64M a store of 2 MiB was
 * full.) */
static void regress_mapsize(struct sc *c, const char *spec)
{
	child_start(c);
	arm_now(c, spec);
	sc_open(c);
	expect(c, fi.fired(NULL, 0) == 1 && c->nfailures == 1, "%s: memlane_open did not fail", spec);
	for (int i = 0; i < 16; i++) {
		int j = alloc_write(c, 150000, 2000u + 2 * (uint64_t)i);
		DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[j].h));
	}
	verify_model(c, &c->cur, "after the evictions");
	bool maybe;
	sc_close(c, &maybe);
	child_done(c);
}

/* Compaction out of memory changes nothing. (The blob compaction
 * emptied the hole list, then failed to allocate its gap list: the
 * blobs' space counted as free, and new objects were placed over
 * them.) FastLane objects too: the first allocation that fails is then
 * the FastLane sort's, which falls back to qsort in half the memory.
 * The first object is freed and its slot taken by an object placed
 * above the others, so slot order is not offset order: an unsorted
 * slide would write that object over the ones it should pass. */
static void regress_compact_nomem(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	int ix[8], fx[12];
	for (int i = 0; i < 12; i++)
		fx[i] = alloc_write(c, 48 + 40 * (uint64_t)i, 120u + 2 * (uint64_t)i);
	for (int i = 0; i < 8; i++)
		ix[i] = alloc_write(c, 20000 + 3000 * (uint64_t)i, 50u + 2 * (uint64_t)i);
	alloc_write(c, 2000, 71); /* a block too */
	sc_free(c, fx[0]);
	alloc_write(c, 1000, 180);
	sc_free(c, ix[2]);
	sc_free(c, ix[5]);
	arm_now(c, spec);
	DO(c, "memlane_compact", memlane_compact(c->a));
	for (int i = 0; i < 4; i++)
		alloc_write(c, 25000, 90u + 2 * (uint64_t)i);
	verify_model(c, &c->cur, "after the compaction");
	child_done(c);
}

/* LMDB says its environment is dead (MDB_PANIC) when a transaction
 * begins: it is opened again, and the transaction begun again; faults in
 * that too. */
static void regress_panic(struct sc *c, const char *spec)
{
	child_start(c);
	sc_open(c);
	int i = alloc_write(c, 20000, 2), j = alloc_write(c, 3000, 3);
	arm_now(c, spec);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[j].h));
	verify_model(c, &c->cur, "after the reopened environment");
	sc_checkpoint(c);
	close_reopen_close(c);
	child_done(c);
}

/* The map is full at store_max_size: the write that would let freed
 * pages be reused is tried, and fails too (a new store has nothing to
 * rewrite). The message is the full store's, not that write's. */
static void regress_full_message(struct sc *c, const char *spec)
{
	child_start(c);
	arm_now(c, spec);
	int rc = memlane_open(&c->a, c->dir, &c->cfg);
	expect(c, rc == MEMLANE_ENOSPC && strstr(memlane_errmsg(), "store_max_size"), "memlane_open, %s: %s (%s)", spec,
	       memlane_strerror(rc), memlane_errmsg());
	sc_open(c);
	int i = alloc_write(c, 20000, 2);
	DO(c, "memlane_evict", memlane_evict(c->a, c->cur.o[i].h));
	verify_model(c, &c->cur, "after the full store");
	bool maybe;
	sc_close(c, &maybe);
	child_done(c);
}

/* ---- the parent --------------------------------------------------------- */

struct result {
	bool ok;
	bool crashed; /* crash mode: the child stopped at a failure */
	int fired;
	char line[2048];
	char *log; /* count mode: everything the child wrote */
};

static char base_dir[PATH_MAX];

/* Options on top of the scenario's (the map growth cases). */
static const char *extra_options = "";

static void config_for(memlane_config *cfg, int persist)
{
	memlane_config_init(cfg);
	assert_int_equal(memlane_config_parse(cfg, "fast_lane_size=64K,slow_lane_size=1M,threshold=1K,"
	                                            "policy_check_interval=0,compression=zstd"),
	                 0);
	assert_int_equal(memlane_config_parse(cfg, extra_options), 0);
	cfg->persist = persist;
}

/* Run one child: @fn is child or crash_check. */
static void run_child(int persist, enum mode mode, const char *spec, bool fresh, child_fn *body, struct result *r)
{
	char dir[PATH_MAX + 16], snap[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/store", base_dir);
	snprintf(snap, sizeof(snap), "%s/snapshot", base_dir);
	if (fresh) {
		tu_rm_rf(dir);
		unlink(snap);
	}
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	/* FAULTS_NOFORK=1: the fault runs in this process, for a debugger. */
	const char *nofork = getenv("FAULTS_NOFORK");
	pid_t pid = nofork && *nofork && mode != MODE_COUNT ? 0 : fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		static struct sc c;
		memset(&c, 0, sizeof(c));
		c.dir = dir;
		c.spec = spec ? spec : "";
		c.snapfile = snap;
		c.persist = persist;
		c.mode = mode;
		c.out = fdopen(p[1], "w");
		config_for(&c.cfg, persist);
		c.bufsize = 256 * 1024;
		c.buf = malloc(c.bufsize);
		c.want = malloc(c.bufsize);
		c.src = malloc(c.bufsize);
		if (!c.out || !c.buf || !c.want || !c.src)
			_exit(3);
		(body ? body : child)(&c, spec);
	}
	close(p[1]);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		if (len + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t n = read(p[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	memset(r, 0, sizeof(*r));
	const char *last = strstr(buf, "OK ");
	const char *fail = strstr(buf, "FAIL ");
	const char *crash = strstr(buf, "CRASH ");
	r->crashed = crash != NULL;
	r->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !fail && (last || crash);
	if (last)
		r->fired = atoi(last + 3);
	const char *show = fail ? fail : crash ? crash : last ? last : NULL;
	if (show)
		snprintf(r->line, sizeof(r->line), "%.*s", (int)strcspn(show, "\n"), show);
	else if (WIFSIGNALED(status))
		snprintf(r->line, sizeof(r->line), "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(r->line, sizeof(r->line), "exit status %d, no report", WEXITSTATUS(status));
	r->log = buf;
}

/* A case: the directory prepared (when the part has a prep), then the
 * child. */
static void run_case(int persist, enum mode mode, const char *spec, child_fn *body, struct result *r)
{
	if (the_prep) {
		run_child(persist, MODE_RUN, NULL, true, the_prep, r);
		free(r->log);
		r->log = NULL;
		if (!r->ok)
			fail_msg("preparing the directory: %s", r->line);
	}
	run_child(persist, mode, spec, !the_prep, body, r);
}

/* What the counting run found. */
struct site {
	size_t func;
	int mod;
	unsigned long off;
	uint64_t first; /* the first call (1-based) made from here */
	uint64_t calls;
	int tried, passed;
};

struct counts {
	uint64_t calls[64];
	long *log[64]; /* per function: the site of each call */
	struct site sites[1024];
	long nsites;
};

static void parse_counts(const char *log, struct counts *k)
{
	memset(k, 0, sizeof(*k));
	for (const char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "COUNT ", 6) == 0) {
			char *e;
			size_t f = strtoul(l + 6, &e, 10);
			uint64_t n = strtoull(e, &e, 10);
			assert_true(f < 64);
			k->calls[f] = n;
			k->log[f] = calloc(n + 1, sizeof(long));
			assert_non_null(k->log[f]);
			for (uint64_t i = 0; i < n; i++)
				k->log[f][i] = strtol(e, &e, 10);
		} else if (strncmp(l, "SITE ", 5) == 0) {
			char *e;
			long s = strtol(l + 5, &e, 10);
			assert_true(s >= 0 && s < 1024);
			k->sites[s].func = strtoul(e, &e, 10);
			k->sites[s].mod = (int)strtol(e, &e, 10);
			k->sites[s].off = strtoul(e, &e, 16);
			if (s + 1 > k->nsites)
				k->nsites = s + 1;
		}
	}
	for (size_t f = 0; f < 64; f++)
		for (uint64_t i = 0; i < k->calls[f]; i++) {
			long s = k->log[f][i];
			if (s < 0 || s >= k->nsites)
				continue;
			if (!k->sites[s].calls)
				k->sites[s].first = i + 1;
			k->sites[s].calls++;
		}
}

static void free_counts(struct counts *k)
{
	for (size_t f = 0; f < 64; f++)
		free(k->log[f]);
}

/* Every call site seen by a counting run or failed by a run, and
 * whether a run that failed it passed. */
static struct {
	size_t func;
	int mod;
	unsigned long off;
	bool covered;
} all_sites[2048];
static int nall_sites;

static void tally(size_t func, int mod, unsigned long off, bool covered)
{
	int i;
	for (i = 0; i < nall_sites; i++)
		if (all_sites[i].func == func && all_sites[i].mod == mod && all_sites[i].off == off)
			break;
	if (i == nall_sites) {
		if (nall_sites == (int)TU_ARRAY_LEN(all_sites))
			return;
		all_sites[nall_sites].func = func;
		all_sites[nall_sites].mod = mod;
		all_sites[nall_sites].off = off;
		nall_sites++;
	}
	all_sites[i].covered |= covered;
}

/* A run passed: every fault it fired ("FUNC call N (MODULE+0xOFF)", in
 * the report line "OK nfired DESC|...") covers its site. */
static void tally_fired(const struct result *r)
{
	if (!r->ok || r->crashed || strncmp(r->line, "OK ", 3) != 0)
		return;
	const char *p = strchr(r->line + 3, ' ');
	const char *end = p ? strchr(p, '|') : NULL;
	while (p && end && p < end) {
		char fn[64], modname[32];
		unsigned long long n;
		unsigned long off;
		while (*p == ' ' || *p == ';')
			p++;
		if (sscanf(p, "%63s call %llu (%31[^+]+0x%lx)", fn, &n, modname, &off) == 4) {
			size_t f = func_index(fn);
			int mod = strcmp(modname, "libmemlane.so") == 0 ? FI_MOD_MEMLANE : FI_MOD_LMDB;
			if (f != SIZE_MAX)
				tally(f, mod, off, true);
		}
		p = strchr(p, ';');
	}
}

/* The tally over every part, for the summary. */
static int total_runs, total_failed, total_sites, total_sites_covered;

static const char *mod_name(int mod)
{
	return mod == FI_MOD_MEMLANE ? "libmemlane" : "liblmdb";
}

/* The faults for one counted run: the first call of every site, and
 * the last call and a few calls spread over the rest of each
 * function. */
struct fcase {
	size_t func;
	uint64_t n;
	long site;
};

static bool covered_before(const struct site *s)
{
	for (int i = 0; i < nall_sites; i++)
		if (all_sites[i].func == s->func && all_sites[i].mod == s->mod && all_sites[i].off == s->off)
			return all_sites[i].covered;
	return false;
}

/* How much of a part's calls are failed. */
enum sweep {
	SWEEP_NEW,   /* the first call of each site no earlier part covered */
	SWEEP_SITES, /* the first call of each site */
	SWEEP_SPREAD, /* that, and the last call and three more of each function */
	SWEEP_ALL     /* every call (FAULTS_ALL=1: minutes, not for make check) */
};

static size_t plan(const struct counts *k, struct fcase *cases, size_t max, enum sweep sweep)
{
	size_t nc = 0;
	if (sweep == SWEEP_ALL) {
		for (size_t f = 0; fi.func_name(f); f++)
			for (uint64_t c = 1; c <= k->calls[f] && nc < max; c++)
				cases[nc++] = (struct fcase){f, c, k->log[f][c - 1]};
		return nc;
	}
	for (long s = 0; s < k->nsites && nc < max; s++)
		if (k->sites[s].calls && !(sweep == SWEEP_NEW && covered_before(&k->sites[s])))
			cases[nc++] = (struct fcase){k->sites[s].func, k->sites[s].first, s};
	if (sweep != SWEEP_SPREAD)
		return nc;
	size_t nf = nfuncs();
	for (size_t f = 0; f < nf; f++) {
		uint64_t n = k->calls[f];
		uint64_t picks[4] = {n, n / 2, n / 4, (3 * n) / 4};
		for (int j = 0; j < 4 && nc < max; j++) {
			uint64_t c = picks[j];
			if (c == 0)
				continue;
			bool dup = false;
			for (size_t i = 0; i < nc; i++)
				dup |= cases[i].func == f && cases[i].n == c;
			if (!dup)
				cases[nc++] = (struct fcase){f, c, k->log[f][c - 1]};
		}
	}
	return nc;
}

static bool env_set(const char *name);

static bool verbose(void)
{
	return env_set("FAULTS_VERBOSE");
}

static void report_failure(const char *part, const char *spec, const struct result *r, int *failures)
{
	(*failures)++;
	print_message("FAILED [%s] %s: %s\n", part, spec, r->line);
}

/* Paths only an error takes. A full map (MDB_MAP_FULL at each write
 * site) is grown and the write tried again; with faults in the growth
 * itself (mdb_env_set_mapsize, or the mmap LMDB makes in it, which
 * leaves the environment without a map); and at store_max_size, where
 * the write transaction that lets freed pages be reused is tried first
 * (faults in it too). An I/O error looks at the free disk space
 * (statvfs), which may fail too. */
static int map_growth_cases(const struct counts *k, const char *part)
{
	static const char *const nested[][3] = {
		{"", "MAP_FULL", ""},
		{"", "MAP_FULL", ",mdb_env_set_mapsize:+1"},
		{"", "MAP_FULL", ",mmap:+1"},
		{"store_max_size=64M", "MAP_FULL", ""},
		{"store_max_size=64M", "MAP_FULL", ",mdb_get:+1"},
		{"store_max_size=64M", "MAP_FULL", ",mdb_put:+1"},
		{"store_max_size=64M", "MAP_FULL", ",mdb_txn_commit:+1"},
		{"", "EIO", ",statvfs:+1"},
	};
	static const char *const writers[] = {"mdb_put", "mdb_txn_commit"};
	int failures = 0, runs = 0;
	for (size_t w = 0; w < TU_ARRAY_LEN(writers); w++) {
		size_t f = func_index(writers[w]);
		for (long s = 0; s < k->nsites; s++) {
			if (k->sites[s].func != f || !k->sites[s].calls || k->sites[s].mod != FI_MOD_MEMLANE)
				continue;
			for (size_t j = 0; j < TU_ARRAY_LEN(nested); j++) {
				char spec[160];
				snprintf(spec, sizeof(spec), "%s:%" PRIu64 ":%s%s", writers[w], k->sites[s].first,
				         nested[j][1], nested[j][2]);
				extra_options = nested[j][0];
				struct result r;
				run_case(1, MODE_RUN, spec, NULL, &r);
				extra_options = "";
				free(r.log);
				tally_fired(&r);
				runs++;
				total_runs++;
				if (!r.ok || r.fired == 0) {
					char s2[256];
					snprintf(s2, sizeof(s2), "%s %s", nested[j][0], spec);
					report_failure(part, s2, &r, &failures);
				} else if (verbose()) {
					print_message("ok [%s] %s %s: %s\n", part, nested[j][0], spec, r.line);
				}
			}
		}
	}
	print_message("[%s] error paths (map growth, disk space): %d runs, %d failed\n", part, runs, failures);
	return failures;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

/* Count, then fail the calls @sweep chooses (all of SWEEP_SPREAD with
 * FAULTS_FULL set); with persist, also crash at each failure and
 * reopen. */
static void run_part(int persist, const char *part, enum sweep sweep)
{
	struct result r;
	run_case(persist, MODE_COUNT, NULL, NULL, &r);
	if (!r.ok)
		fail_msg("[%s] the scenario fails without faults: %s", part, r.line);
	static struct counts k;
	parse_counts(r.log, &k);
	free(r.log);
	size_t nf = nfuncs();
	uint64_t total = 0;
	for (size_t f = 0; f < nf; f++)
		total += k.calls[f];
	/* The shim must really see the library's calls. */
	assert_true(k.calls[func_index("mdb_txn_commit")] > 0);
	assert_true(k.calls[func_index("malloc")] > 0);
	assert_true(k.calls[func_index("ZSTD_compress2")] > 0);

	static struct fcase cases[8192];
	size_t nc = plan(&k, cases, TU_ARRAY_LEN(cases),
	                 env_set("FAULTS_ALL") ? SWEEP_ALL : env_set("FAULTS_FULL") ? SWEEP_SPREAD : sweep);
	const char *one = getenv("FAULTS_SPEC"); /* one fault, for debugging: FUNC:N */
	if (one && *one) {
		run_case(persist, MODE_RUN, one, NULL, &r);
		print_message("[%s] %s: %s\n", part, one, r.line);
		free(r.log);
		free_counts(&k);
		assert_true(r.ok);
		return;
	}
	int failures = 0, crashes = 0, unfired = 0;
	for (size_t i = 0; i < nc; i++) {
		char spec[128];
		/* FAULTS_ERR=NAME: that error instead of each function's own
		 * (zstd's and the allocators' keep theirs). */
		const char *err = getenv("FAULTS_ERR"), *fn = fi.func_name(cases[i].func);
		bool own = !err || !*err || strncmp(fn, "ZSTD_", 5) == 0 || strstr(fn, "alloc") || strcmp(fn, "strdup") == 0;
		snprintf(spec, sizeof(spec), "%s:%" PRIu64 "%s%s", fn, cases[i].n, own ? "" : ":", own ? "" : err);
		run_case(persist, MODE_RUN, spec, NULL, &r);
		free(r.log);
		total_runs++;
		if (!r.ok) {
			report_failure(part, spec, &r, &failures);
			continue;
		}
		if (r.fired == 0) {
			unfired++;
			print_message("NOT REACHED [%s] %s: %s\n", part, spec, r.line);
			continue;
		}
		if (cases[i].site >= 0)
			k.sites[cases[i].site].passed++;
		tally_fired(&r);
		if (verbose())
			print_message("ok [%s] %s: %s\n", part, spec, r.line);
		/* Persistent: the same failure, then a crash; the directory
		 * must reopen as the last checkpoint. */
		if (persist && strstr(r.line, "|memlane_") != NULL) {
			run_case(persist, MODE_CRASH, spec, NULL, &r);
			free(r.log);
			total_runs++;
			if (!r.ok || !r.crashed) {
				report_failure(part, spec, &r, &failures);
				continue;
			}
			run_child(persist, MODE_RUN, NULL, false, crash_check, &r);
			free(r.log);
			total_runs++;
			crashes++;
			if (!r.ok) {
				char s2[160];
				snprintf(s2, sizeof(s2), "%s, crash, reopen", spec);
				report_failure(part, s2, &r, &failures);
			}
		}
	}
	if (persist && the_scenario == scenario && !extra_options[0])
		failures += map_growth_cases(&k, part);
	for (long s = 0; s < k.nsites; s++) {
		if (!k.sites[s].calls)
			continue;
		total_sites++;
		total_sites_covered += k.sites[s].passed > 0;
		tally(k.sites[s].func, k.sites[s].mod, k.sites[s].off, false);
		if (verbose())
			print_message("site [%s] %-24s %s+0x%lx calls %" PRIu64 " %s\n", part,
			              fi.func_name(k.sites[s].func), mod_name(k.sites[s].mod), k.sites[s].off,
			              k.sites[s].calls, k.sites[s].passed ? "covered" : "NOT COVERED");
	}
	print_message("[%s] %" PRIu64 " calls, %ld call sites; %zu faults injected, %d crash reopens, %d not reached, "
	              "%d failed\n",
	              part, total, k.nsites, nc, crashes, unfired, failures);
	total_failed += failures;
	free_counts(&k);
	assert_int_equal(failures, 0);
	assert_int_equal(unfired, 0);
}

static bool part_wanted(const char *name)
{
	/* What an earlier test's failed assertion may have left set. */
	extra_options = "";
	the_prep = NULL;
	the_scenario = scenario;
	const char *only = getenv("FAULTS_ONLY");
	return !only || !*only || strcmp(only, name) == 0;
}

static void test_faults_scratch(void **state)
{
	(void)state;
	if (!part_wanted("scratch"))
		skip();
	run_part(0, "scratch", SWEEP_SPREAD);
}

static void test_faults_persist(void **state)
{
	(void)state;
	if (!part_wanted("persist"))
		skip();
	run_part(1, "persist", SWEEP_SPREAD);
}

/* store_sync=checkpoint: no sync per transaction, one (mdb_env_sync)
 * after each checkpoint. */
static void test_faults_persist_sync_checkpoint(void **state)
{
	(void)state;
	if (!part_wanted("sync"))
		skip();
	extra_options = "store_sync=checkpoint";
	run_part(1, "sync", SWEEP_NEW);
	extra_options = "";
}

/* Reopening what a crashed arena left: persistent (restore, records
 * after the checkpoint dropped) and scratch (files thrown away). */
static void test_faults_after_crash(void **state)
{
	(void)state;
	if (!part_wanted("recover"))
		skip();
	the_prep = prep_persist_crash;
	the_scenario = scenario_after_persist_crash;
	run_part(1, "recover", SWEEP_SITES);
	the_prep = prep_scratch_crash;
	the_scenario = scenario_after_scratch_crash;
	run_part(0, "recover-scratch", SWEEP_SITES);
	the_prep = NULL;
	the_scenario = scenario;
}

/* Run @body with @spec in a child; it must pass, and (when @must_fire)
 * the fault must fire. */
static struct result run_regress_opts(child_fn *body, int persist, const char *spec, bool must_fire, const char *opts)
{
	struct result r;
	extra_options = opts;
	run_child(persist, MODE_RUN, spec, true, body, &r);
	extra_options = "";
	free(r.log);
	total_runs++;
	tally_fired(&r);
	if (!r.ok || (must_fire && r.fired == 0))
		fail_msg("%s (persist=%d): %s", spec, persist, r.ok ? "the fault did not fire" : r.line);
	if (verbose())
		print_message("ok %s (persist=%d): %s\n", spec, persist, r.line);
	return r;
}

static struct result run_regress(child_fn *body, int persist, const char *spec, bool must_fire)
{
	return run_regress_opts(body, persist, spec, must_fire, "");
}

static void test_regress_compact_nomem(void **state)
{
	(void)state;
	static const char *const fns[] = {"malloc", "calloc"};
	for (size_t f = 0; f < TU_ARRAY_LEN(fns); f++)
		for (int k = 1; k <= 6; k++) {
			char spec[64];
			snprintf(spec, sizeof(spec), "%s:%d", fns[f], k);
			run_regress(regress_compact_nomem, 0, spec, false);
		}
}

static void test_regress_panic(void **state)
{
	(void)state;
	/* The environment's reopening: begin (open_dbis), then the
	 * transaction again (+2); a reopening that fails leaves no
	 * environment, and the next call opens one. */
	static const char *const specs[] = {
		"mdb_txn_begin:1:PANIC",
		"mdb_txn_begin:1:PANIC,mdb_txn_begin:+1",
		"mdb_txn_begin:1:PANIC,mdb_txn_begin:+2",
		"mdb_txn_begin:1:PANIC,mdb_env_open:+1",
		"mdb_txn_begin:1:PANIC,mdb_env_create:+1",
	};
	for (int persist = 0; persist <= 1; persist++)
		for (size_t i = 0; i < TU_ARRAY_LEN(specs); i++)
			run_regress(regress_panic, persist, specs[i], true);
}

static void test_regress_full_message(void **state)
{
	(void)state;
	run_regress_opts(regress_full_message, 0, "mdb_put:1:MAP_FULL", true, "store_max_size=64M");
}

static void test_regress_mapsize(void **state)
{
	(void)state;
	run_regress_opts(regress_mapsize, 0, "mdb_env_set_mapsize:1", true, "store_max_size=64M");
	run_regress_opts(regress_mapsize, 1, "mdb_env_set_mapsize:1", true, "store_max_size=64M");
}

static void test_regress_persist_flag(void **state)
{
	(void)state;
	static const char *const specs[] = {"mdb_get:1", "mdb_get:2", "mdb_get:3", "mdb_get:4", "mdb_get:5",
	                                    "mdb_cursor_get:1", "mdb_cursor_get:2", "mdb_cursor_get:3",
	                                    "mdb_cursor_open:1", "mdb_cursor_open:2"};
	for (size_t i = 0; i < TU_ARRAY_LEN(specs); i++)
		run_regress(regress_persist_flag, 1, specs[i], true);
}

static void test_regress_commit_write(void **state)
{
	(void)state;
	static const char *const fns[] = {"pwrite", "writev", "fdatasync"};
	int fired = 0;
	for (int persist = 0; persist <= 1; persist++)
		for (size_t f = 0; f < TU_ARRAY_LEN(fns); f++)
			for (int k = 1; k <= 4; k++) {
				char spec[64];
				snprintf(spec, sizeof(spec), "%s:%d", fns[f], k);
				fired += run_regress(regress_commit_write, persist, spec, false).fired > 0;
			}
	assert_true(fired >= 8);
}

static void test_regress_evict_nomem(void **state)
{
	(void)state;
	static const char *const fns[] = {"malloc", "calloc", "realloc"};
	int failed_calls = 0;
	for (size_t f = 0; f < TU_ARRAY_LEN(fns); f++)
		for (int k = 1; k <= 6; k++) {
			char spec[64];
			snprintf(spec, sizeof(spec), "%s:%d", fns[f], k);
			struct result r = run_regress(regress_evict_nomem, 0, spec, false);
			failed_calls += strstr(r.line, "|memlane_alloc|") != NULL;
		}
	assert_true(failed_calls > 0);
}

static void test_regress_decode_nomem(void **state)
{
	(void)state;
	run_regress(regress_decode_nomem, 0, "ZSTD_decompressDCtx:1", true);
}

static void test_regress_slots_nomem(void **state)
{
	(void)state;
	run_regress(regress_slots_nomem, 0, "mprotect:1", true);
}

static void test_regress_growth_mmap(void **state)
{
	(void)state;
	run_regress(regress_growth_mmap, 0, "mdb_put:1:MAP_FULL,mmap:+1", true);
	run_regress(regress_growth_mmap, 1, "mdb_put:1:MAP_FULL,mmap:+1", true);
}

static int setup(void **state)
{
	(void)state;
	/* Hundreds of stores are made and synced: on a tmpfs when there is
	 * one, unless TMPDIR says where. */
	const char *tmp = getenv("TMPDIR");
	if ((!tmp || !*tmp) && access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	return tu_mkdtemp(base_dir, sizeof(base_dir), "faults") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(base_dir);
	return 0;
}

/* Under the shim already, or re-executed with it. */
static int preload_self(char **argv)
{
	if (shim_find())
		return 0;
	if (getenv("FAULTS_REEXEC"))
		return 77; /* re-executed, and still no shim */
	char so[PATH_MAX];
	const char *env = getenv("FAULTINJECT_SO");
	if (env && *env) {
		snprintf(so, sizeof(so), "%s", env);
	} else {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return 77;
		exe[n] = 0;
		snprintf(so, sizeof(so), "%s/faultinject.so", dirname(exe));
	}
	if (access(so, R_OK) != 0) {
		fprintf(stderr, "test_faults: no fault-injection shim at '%s'; skipped\n", so);
		return 77;
	}
	const char *old = getenv("LD_PRELOAD");
	char pre[2 * PATH_MAX];
	snprintf(pre, sizeof(pre), "%s%s%s", so, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", pre, 1);
	setenv("FAULTS_REEXEC", "1", 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "test_faults: cannot re-execute itself: %s\n", strerror(errno));
	return 77;
}

int main(int argc, char **argv)
{
	(void)argc;
	if (FAULTS_SANITIZED) {
		fprintf(stderr, "test_faults: skipped under sanitizers (their runtime must be the first library "
		                "loaded; an LD_PRELOAD shim cannot be)\n");
		return 77;
	}
	int rc = preload_self(argv);
	if (rc)
		return rc;
	if (!fi.module_loaded(FI_MOD_MEMLANE) || !fi.module_loaded(FI_MOD_LMDB)) {
		fprintf(stderr, "test_faults: libmemlane or liblmdb is not a shared library here; skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults_scratch),
		cmocka_unit_test(test_faults_persist),
		cmocka_unit_test(test_faults_persist_sync_checkpoint),
		cmocka_unit_test(test_faults_after_crash),
		cmocka_unit_test(test_regress_persist_flag),
		cmocka_unit_test(test_regress_commit_write),
		cmocka_unit_test(test_regress_evict_nomem),
		cmocka_unit_test(test_regress_decode_nomem),
		cmocka_unit_test(test_regress_slots_nomem),
		cmocka_unit_test(test_regress_growth_mmap),
		cmocka_unit_test(test_regress_mapsize),
		cmocka_unit_test(test_regress_panic),
		cmocka_unit_test(test_regress_full_message),
		cmocka_unit_test(test_regress_compact_nomem),
	};
	time_t t0 = time(NULL);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	int covered = 0;
	for (int i = 0; i < nall_sites; i++) {
		covered += all_sites[i].covered;
		if (verbose())
			fprintf(stderr, "test_faults: site %s %s+0x%lx %s\n", fi.func_name(all_sites[i].func),
			        mod_name(all_sites[i].mod), all_sites[i].off, all_sites[i].covered ? "covered" : "NOT COVERED");
	}
	fprintf(stderr, "test_faults: %d runs; %d distinct call sites, %d covered; %d failures; %ld s\n", total_runs,
	        nall_sites, covered, total_failed, (long)(time(NULL) - t0));
	return rc;
}
