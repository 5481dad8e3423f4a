/* fuzz_ops.c - operation sequences on an arena with a small spill store,
 * checked against a reference model of every object's bytes.
 *
 * Byte 0 chooses the arena: 1 persist=1, 2 compression=none, 4 a MEMLANE_COLD
 * default for small objects. The arena has the smallest lanes the options
 * allow (a 64 KiB FastLane, a 1 MiB SlowLane, pager threshold 0.5), so a
 * few objects of up to 255 KiB make the pager evict, compact and fault in.
 * Each further group of bytes is one operation on one of 16 object slots
 * (alloc, free, write, read, get, realloc, evict, promote, prefetch, pin,
 * unpin, compact, tick, maintain, flush, checkpoint, close and reopen,
 * roots, try_get, a freed handle). The model holds each object's size,
 * tag, flags, pins and bytes; invariants:
 *   - every call returns one of the codes memlane(3) lists for it, and
 *     exactly the one the model predicts where it can (pinned, NOSPILL,
 *     not pinned, freed handle, persist=0 checkpoint);
 *   - bytes read back (memlane_read, memlane_get, memlane_try_get, a
 *     pinned pointer) are the model's, whatever moved or spilled; a failed
 *     call changes no bytes;
 *   - memlane_size, memlane_tag and memlane_valid agree with the model;
 *   - with persist=1, close and reopen keeps every handle, its bytes and
 *     the roots; with persist=0 it starts empty;
 *   - at the end every object is read and checked, then the arena closes.
 * Inputs are cut at 256 operations to keep each run short. */
#include "fuzz.h"

#include <memlane.h>

#define NSLOTS 16
#define NROOTS 3
#define MAX_OPS 256

struct obj {
	memlane_handle h; /* MEMLANE_NULL: empty slot */
	size_t size;
	uint32_t tag;
	unsigned flags;
	unsigned pins;
	uint8_t *pinned; /* the pointer from the first pin */
	bool restored;   /* spilled by a reopen and not touched since */
	uint8_t *bytes;  /* the model */
};

struct run {
	const uint8_t *p, *end;
	memlane_arena *a;
	char dir[4200];
	memlane_config cfg;
	struct obj o[NSLOTS];
	memlane_handle roots[NROOTS]; /* the handle each root names, or NULL */
	memlane_handle stale;         /* a freed handle */
	unsigned small_flags;
};

static const char *const root_names[NROOTS] = {"alpha", "beta", "a root with spaces"};

/* The next input byte; zeros after the end. */
static uint8_t next(struct run *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

#define RC_IN(rc, ...) rc_in((rc), (const int[]){__VA_ARGS__, 1}) /* 1 ends the list: never a code */

static int rc_in(int rc, const int *codes)
{
	for (; *codes != 1; codes++)
		if (rc == *codes)
			return 1;
	return 0;
}

/* Pattern bytes from @seed into @dst. */
static void pattern(uint8_t *dst, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		dst[i] = (uint8_t)x;
	}
}

static void check_bytes(const struct obj *o, const uint8_t *got, const char *how)
{
	if (memcmp(got, o->bytes, o->size) == 0)
		return;
	size_t i = 0;
	while (got[i] == o->bytes[i])
		i++;
	FUZZ_CHECK(0, "handle 0x%016llx (%zu bytes) through %s: byte %zu is 0x%02x, the model says 0x%02x",
	           (unsigned long long)o->h, o->size, how, i, got[i], o->bytes[i]);
}

/* Every pinned object, through the pointer pin gave: pinned objects
 * never move, whatever happened since. */
static void check_pinned(const struct run *r)
{
	for (int i = 0; i < NSLOTS; i++)
		if (r->o[i].h && r->o[i].pins && r->o[i].size)
			check_bytes(&r->o[i], r->o[i].pinned, "its pinned pointer");
}

static void check_meta(struct run *r, const struct obj *o)
{
	FUZZ_CHECK(memlane_valid(r->a, o->h) == 1, "handle 0x%016llx not valid", (unsigned long long)o->h);
	FUZZ_CHECK(memlane_size(r->a, o->h) == o->size, "memlane_size = %zu, the model says %zu",
	           memlane_size(r->a, o->h), o->size);
	FUZZ_CHECK(memlane_tag(r->a, o->h) == o->tag, "memlane_tag = %u, the model says %u", memlane_tag(r->a, o->h),
	           o->tag);
	memlane_state s = memlane_handle_state(r->a, o->h);
	FUZZ_CHECK(s == MEMLANE_STATE_FAST || s == MEMLANE_STATE_SLOW || s == MEMLANE_STATE_SPILLED,
	           "memlane_handle_state = %d", (int)s);
	FUZZ_CHECK(!o->pins || s != MEMLANE_STATE_SPILLED, "a pinned object is spilled");
	/* A reopened store has every object spilled, NOSPILL ones too
	 * (memlane_open(3)); once back in RAM they stay. */
	FUZZ_CHECK(!(o->flags & MEMLANE_NOSPILL) || o->restored || s != MEMLANE_STATE_SPILLED,
	           "a NOSPILL object is spilled");
}

/* After a call that may have faulted @o in. */
static void note_state(struct run *r, struct obj *o)
{
	if (o->restored && memlane_handle_state(r->a, o->h) != MEMLANE_STATE_SPILLED)
		o->restored = false;
}

/* Read the whole object and compare. */
static void verify(struct run *r, struct obj *o)
{
	check_meta(r, o);
	uint8_t *buf = malloc(o->size ? o->size : 1);
	FUZZ_CHECK(buf != NULL, "malloc");
	int rc = memlane_read(r->a, o->h, 0, buf, o->size);
	FUZZ_CHECK(rc == 0 || rc == MEMLANE_ENOMEM, "memlane_read = %d (%s)", rc, memlane_errmsg());
	if (rc == 0)
		check_bytes(o, buf, "memlane_read");
	free(buf);
	note_state(r, o);
}

static void open_arena(struct run *r)
{
	int rc = memlane_open(&r->a, r->dir, &r->cfg);
	FUZZ_CHECK(rc == 0, "memlane_open(%s) = %d (%s)", r->dir, rc, memlane_errmsg());
}

static struct obj *slot(struct run *r)
{
	return &r->o[next(r) % NSLOTS];
}

static void forget(struct run *r, struct obj *o)
{
	free(o->bytes);
	memset(o, 0, sizeof(*o));
	(void)r;
}

static size_t size_of(struct run *r, int big)
{
	if (!big)
		return next(r) % 200;
	size_t hi = next(r);
	return hi << 10 | next(r); /* up to 255 KiB: a few fill the SlowLane */
}

static void op_alloc(struct run *r, int big)
{
	struct obj *o = slot(r);
	size_t size = size_of(r, big);
	uint8_t f = next(r);
	if (o->h)
		return; /* keep the slot's object */
	memlane_alloc_opts opts = {0};
	opts.flags = (f & 1 ? MEMLANE_ZERO : 0) | (f & 2 ? MEMLANE_NOSPILL : 0) | (f & 4 ? MEMLANE_FAST : 0) |
	             (f & 8 ? MEMLANE_SLOW : 0) | (f & 16 ? MEMLANE_COLD : 0) | (big ? 0 : r->small_flags);
	opts.align = f & 32 ? (size_t)1 << (f >> 6) * 4 : 0; /* 1, 16, 256, 4096 */
	opts.tag = (uint32_t)f * 0x01010101u;
	memlane_handle h = MEMLANE_NULL;
	int rc = memlane_alloc_ex(r->a, size, &opts, &h);
	if ((opts.flags & MEMLANE_FAST) && (opts.flags & MEMLANE_SLOW)) {
		FUZZ_CHECK(rc == MEMLANE_EINVAL && h == MEMLANE_NULL, "memlane_alloc_ex(FAST|SLOW) = %d", rc);
		return;
	}
	FUZZ_CHECK(RC_IN(rc, 0, MEMLANE_ENOMEM, MEMLANE_ETOOBIG), "memlane_alloc_ex(%zu) = %d (%s)", size, rc,
	           memlane_errmsg());
	if (rc)
		return;
	FUZZ_CHECK(h != MEMLANE_NULL, "memlane_alloc_ex gave the null handle");
	for (int i = 0; i < NSLOTS; i++)
		FUZZ_CHECK(r->o[i].h != h, "memlane_alloc_ex gave a live handle again");
	o->h = h;
	o->size = size;
	o->tag = opts.tag;
	o->flags = opts.flags;
	o->bytes = calloc(1, size ? size : 1);
	FUZZ_CHECK(o->bytes != NULL, "calloc");
	if (opts.flags & MEMLANE_ZERO) {
		verify(r, o);
		return;
	}
	/* Not zeroed: the bytes are whatever they were; write them. */
	pattern(o->bytes, size, h);
	rc = memlane_write(r->a, h, 0, o->bytes, size);
	FUZZ_CHECK(rc == 0, "memlane_write of a new object = %d (%s)", rc, memlane_errmsg());
}

static void op_free(struct run *r)
{
	struct obj *o = slot(r);
	if (!o->h)
		return;
	int rc = memlane_free(r->a, o->h);
	if (o->pins) {
		FUZZ_CHECK(rc == MEMLANE_EPINNED, "memlane_free of a pinned object = %d", rc);
		return;
	}
	FUZZ_CHECK(rc == 0, "memlane_free = %d (%s)", rc, memlane_errmsg());
	r->stale = o->h;
	forget(r, o);
}

static void op_write(struct run *r)
{
	struct obj *o = slot(r);
	uint8_t ob = next(r), lb = next(r), seed = next(r);
	if (!o->h)
		return;
	size_t off = o->size * ob / 256, len = (o->size - off) * lb / 255;
	uint8_t *src = malloc(len ? len : 1);
	FUZZ_CHECK(src != NULL, "malloc");
	pattern(src, len, seed);
	int rc = memlane_write(r->a, o->h, off, src, len);
	FUZZ_CHECK(rc == 0 || rc == MEMLANE_ENOMEM, "memlane_write(%zu, %zu) = %d (%s)", off, len, rc,
	           memlane_errmsg());
	if (rc == 0)
		memcpy(o->bytes + off, src, len);
	/* One byte past the end is out of range, and writes nothing. */
	rc = memlane_write(r->a, o->h, o->size, src, 1);
	FUZZ_CHECK(rc == MEMLANE_ERANGE, "memlane_write past the end = %d", rc);
	free(src);
}

static void op_get(struct run *r)
{
	struct obj *o = slot(r);
	uint8_t how = next(r);
	if (!o->h)
		return;
	if (how & 1) {
		const uint8_t *p = memlane_get_ro(r->a, o->h);
		FUZZ_CHECK(p || memlane_errmsg()[0], "memlane_get_ro = NULL without a message");
		if (p)
			check_bytes(o, p, "memlane_get_ro");
		return;
	}
	uint8_t *p = memlane_get(r->a, o->h);
	if (!p)
		return; /* no room to fault it in */
	check_bytes(o, p, "memlane_get");
	if (o->size) { /* a write through the pointer */
		size_t at = (size_t)how * 7919 % o->size;
		p[at] = (uint8_t)(p[at] + how);
		o->bytes[at] = p[at];
	}
}

static void op_realloc(struct run *r)
{
	struct obj *o = slot(r);
	size_t size = size_of(r, next(r) & 1);
	if (!o->h)
		return;
	int rc = memlane_realloc(r->a, o->h, size);
	if (o->pins) {
		FUZZ_CHECK(rc == MEMLANE_EPINNED, "memlane_realloc of a pinned object = %d", rc);
		return;
	}
	FUZZ_CHECK(RC_IN(rc, 0, MEMLANE_ENOMEM, MEMLANE_ETOOBIG), "memlane_realloc(%zu) = %d (%s)", size, rc,
	           memlane_errmsg());
	if (rc) {
		verify(r, o); /* unchanged */
		return;
	}
	uint8_t *b = realloc(o->bytes, size ? size : 1);
	FUZZ_CHECK(b != NULL, "realloc");
	if (size > o->size)
		memset(b + o->size, 0, size - o->size);
	o->bytes = b;
	size_t old = o->size;
	o->size = size;
	if (size > old && (o->flags & MEMLANE_ZERO)) {
		verify(r, o); /* the grown tail is zeroed */
	} else if (size > old) {
		pattern(b + old, size - old, size);
		/* realloc left it resident, and nothing ran since. */
		rc = memlane_write(r->a, o->h, old, b + old, size - old);
		FUZZ_CHECK(rc == 0, "memlane_write of the grown tail = %d (%s)", rc, memlane_errmsg());
	}
}

static void op_evict(struct run *r)
{
	struct obj *o = slot(r);
	if (!o->h)
		return;
	memlane_state before = memlane_handle_state(r->a, o->h);
	int rc = memlane_evict(r->a, o->h);
	if (before == MEMLANE_STATE_SPILLED)
		FUZZ_CHECK(rc == 0, "memlane_evict of a spilled object = %d", rc);
	else if (o->pins)
		FUZZ_CHECK(rc == MEMLANE_EPINNED, "memlane_evict of a pinned object = %d", rc);
	else if (o->flags & MEMLANE_NOSPILL)
		FUZZ_CHECK(rc == MEMLANE_EINVAL, "memlane_evict of a NOSPILL object = %d", rc);
	else
		FUZZ_CHECK(rc == 0 && memlane_handle_state(r->a, o->h) == MEMLANE_STATE_SPILLED,
		           "memlane_evict = %d (%s), state %d", rc, memlane_errmsg(), (int)memlane_handle_state(r->a, o->h));
}

static void op_promote(struct run *r)
{
	struct obj *o = slot(r);
	if (!o->h)
		return;
	memlane_state before = memlane_handle_state(r->a, o->h);
	int rc = memlane_promote(r->a, o->h);
	if (o->pins && before == MEMLANE_STATE_FAST)
		FUZZ_CHECK(rc == MEMLANE_EPINNED, "memlane_promote of a pinned FastLane object = %d", rc);
	else
		FUZZ_CHECK(rc == 0 || rc == MEMLANE_ENOMEM, "memlane_promote = %d (%s)", rc, memlane_errmsg());
	if (rc == 0)
		FUZZ_CHECK(memlane_handle_state(r->a, o->h) != MEMLANE_STATE_FAST, "promoted, still in the FastLane");
}

static void op_prefetch(struct run *r)
{
	struct obj *o = slot(r);
	if (!o->h)
		return;
	int rc = memlane_prefetch(r->a, o->h);
	FUZZ_CHECK(rc == 0 || rc == MEMLANE_ENOMEM, "memlane_prefetch = %d (%s)", rc, memlane_errmsg());
	if (rc == 0)
		FUZZ_CHECK(memlane_handle_state(r->a, o->h) != MEMLANE_STATE_SPILLED, "prefetched, still spilled");
}

static void op_pin(struct run *r)
{
	struct obj *o = slot(r);
	if (!o->h || o->pins >= 3)
		return;
	void *p = NULL;
	int rc = memlane_pin(r->a, o->h, &p);
	FUZZ_CHECK(rc == 0 || rc == MEMLANE_ENOMEM, "memlane_pin = %d (%s)", rc, memlane_errmsg());
	if (rc)
		return;
	FUZZ_CHECK(!o->pins || p == o->pinned, "a second pin gave another pointer");
	o->pinned = p;
	o->pins++;
	check_bytes(o, p, "memlane_pin's pointer");
}

static void op_unpin(struct run *r)
{
	struct obj *o = slot(r);
	if (!o->h)
		return;
	int rc = memlane_unpin(r->a, o->h);
	if (!o->pins) {
		FUZZ_CHECK(rc == MEMLANE_EINVAL, "memlane_unpin of an unpinned object = %d", rc);
		return;
	}
	FUZZ_CHECK(rc == 0, "memlane_unpin = %d (%s)", rc, memlane_errmsg());
	if (--o->pins == 0)
		o->pinned = NULL;
}

static void op_try_get(struct run *r)
{
	struct obj *o = slot(r);
	if (!o->h)
		return;
	memlane_state s = memlane_handle_state(r->a, o->h);
	void *p = NULL;
	int rc = memlane_try_get(r->a, o->h, &p);
	if (s == MEMLANE_STATE_SPILLED) {
		FUZZ_CHECK(rc == MEMLANE_ENOTRESIDENT, "memlane_try_get of a spilled object = %d", rc);
		return;
	}
	FUZZ_CHECK(rc == 0, "memlane_try_get of a resident object = %d (%s)", rc, memlane_errmsg());
	check_bytes(o, p, "memlane_try_get");
}

static void op_root(struct run *r, int kind)
{
	uint8_t b = next(r);
	struct obj *o = &r->o[b % NSLOTS];
	int n = (b >> 4) % NROOTS;
	const char *name = root_names[n];
	memlane_handle h = MEMLANE_NULL;
	int rc;
	switch (kind) {
	case 0:
		if (!o->h)
			return;
		rc = memlane_root_set(r->a, name, o->h);
		FUZZ_CHECK(rc == 0, "memlane_root_set = %d (%s)", rc, memlane_errmsg());
		r->roots[n] = o->h;
		return;
	case 1:
		rc = memlane_root_get(r->a, name, &h);
		if (!r->roots[n]) {
			FUZZ_CHECK(rc == MEMLANE_ENOTFOUND, "memlane_root_get of no root = %d", rc);
			return;
		}
		bool live = false;
		for (int i = 0; i < NSLOTS; i++)
			live |= r->o[i].h == r->roots[n];
		if (!live) {
			FUZZ_CHECK(rc == MEMLANE_EHANDLE, "memlane_root_get of a freed object = %d", rc);
			r->roots[n] = MEMLANE_NULL; /* the root is dropped */
			return;
		}
		FUZZ_CHECK(rc == 0 && h == r->roots[n], "memlane_root_get = %d, 0x%016llx", rc, (unsigned long long)h);
		return;
	default:
		rc = memlane_root_del(r->a, name);
		FUZZ_CHECK(rc == (r->roots[n] ? 0 : MEMLANE_ENOTFOUND), "memlane_root_del = %d", rc);
		r->roots[n] = MEMLANE_NULL;
	}
}

static void op_stale(struct run *r)
{
	memlane_handle h = r->stale;
	if (!h)
		return;
	uint8_t byte;
	FUZZ_CHECK(memlane_valid(r->a, h) == 0, "a freed handle is valid");
	FUZZ_CHECK(memlane_read(r->a, h, 0, &byte, 0) == MEMLANE_EHANDLE, "memlane_read of a freed handle");
	FUZZ_CHECK(memlane_free(r->a, h) == MEMLANE_EHANDLE, "a second free");
	FUZZ_CHECK(memlane_get(r->a, h) == NULL, "memlane_get of a freed handle");
}

static void op_reopen(struct run *r)
{
	int rc = memlane_close(r->a);
	FUZZ_CHECK(rc == 0, "memlane_close = %d (%s)", rc, memlane_errmsg());
	r->a = NULL;
	open_arena(r);
	r->stale = MEMLANE_NULL; /* a new arena may reuse its handle */
	for (int i = 0; i < NSLOTS; i++) {
		struct obj *o = &r->o[i];
		if (!o->h)
			continue;
		if (!r->cfg.persist) {
			forget(r, o);
			continue;
		}
		o->pins = 0; /* pins do not outlive the arena */
		o->pinned = NULL;
		o->restored = true;
		FUZZ_CHECK(memlane_handle_state(r->a, o->h) == MEMLANE_STATE_SPILLED,
		           "a reopened object is not spilled");
		verify(r, o);
	}
	for (int n = 0; n < NROOTS; n++) {
		memlane_handle h = MEMLANE_NULL;
		rc = memlane_root_get(r->a, root_names[n], &h);
		if (!r->cfg.persist) {
			FUZZ_CHECK(rc == MEMLANE_ENOTFOUND, "a root survived a scratch arena: %d", rc);
			r->roots[n] = MEMLANE_NULL;
			continue;
		}
		bool live = false;
		for (int i = 0; i < NSLOTS; i++)
			live |= r->roots[n] && r->o[i].h == r->roots[n];
		if (live)
			FUZZ_CHECK(rc == 0 && h == r->roots[n], "root %s after reopen: %d, 0x%016llx", root_names[n], rc,
			           (unsigned long long)h);
		else
			FUZZ_CHECK(rc == MEMLANE_ENOTFOUND || rc == MEMLANE_EHANDLE, "root %s of a freed object: %d",
			           root_names[n], rc);
		if (!live)
			r->roots[n] = MEMLANE_NULL;
	}
}

static void step(struct run *r)
{
	int rc;
	switch (next(r) % 24) {
	case 0:
	case 1:
		op_alloc(r, 0);
		break;
	case 2:
	case 3:
		op_alloc(r, 1);
		break;
	case 4:
		op_free(r);
		break;
	case 5:
	case 6:
		op_write(r);
		break;
	case 7: {
		struct obj *o = slot(r);
		if (o->h)
			verify(r, o);
		break;
	}
	case 8:
		op_get(r);
		break;
	case 9:
		op_realloc(r);
		break;
	case 10:
		op_evict(r);
		break;
	case 11:
		op_promote(r);
		break;
	case 12:
		op_prefetch(r);
		break;
	case 13:
		op_pin(r);
		break;
	case 14:
		op_unpin(r);
		break;
	case 15:
		FUZZ_CHECK(memlane_compact(r->a) == 0, "memlane_compact: %s", memlane_errmsg());
		break;
	case 16:
		rc = next(r) & 1 ? memlane_tick(r->a) : memlane_maintain(r->a);
		FUZZ_CHECK(rc == 0 || rc == MEMLANE_ENOMEM, "memlane_tick/maintain = %d (%s)", rc, memlane_errmsg());
		break;
	case 17:
		rc = memlane_flush(r->a);
		FUZZ_CHECK(rc == 0, "memlane_flush = %d (%s)", rc, memlane_errmsg());
		break;
	case 18:
		rc = memlane_checkpoint(r->a);
		FUZZ_CHECK(rc == (r->cfg.persist ? 0 : MEMLANE_EINVAL), "memlane_checkpoint = %d (%s)", rc,
		           memlane_errmsg());
		break;
	case 19:
		op_reopen(r);
		break;
	case 20:
		op_root(r, next(r) % 3);
		break;
	case 21:
		op_try_get(r);
		break;
	case 22:
		op_stale(r);
		break;
	default:
		if (r->o[0].h) /* the object in slot 0, fully */
			verify(r, &r->o[0]);
		break;
	}
	check_pinned(r);
	for (int i = 0; i < NSLOTS; i++)
		if (r->o[i].h)
			note_state(r, &r->o[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	struct run r;
	memset(&r, 0, sizeof(r));
	r.p = data;
	r.end = data + (size < 1 + 4 * MAX_OPS ? size : 1 + 4 * MAX_OPS);
	uint8_t mode = next(&r);
	memlane_config_init(&r.cfg);
	int rc = memlane_config_parse(&r.cfg, "fast_lane_size=64K,slow_lane_size=1M,threshold=1K,"
	                                      "slow_lane_usage_threshold=0.5,promotion_age=2,store_sync=none");
	FUZZ_CHECK(rc == 0, "%s", memlane_errmsg());
	r.cfg.persist = mode & 1;
	r.cfg.compression = mode & 2 ? MEMLANE_COMPRESSION_NONE : MEMLANE_COMPRESSION_ZSTD;
	r.small_flags = mode & 4 ? MEMLANE_COLD : 0;
	/* A fresh directory each run: a persistent store outlives its arena. */
	snprintf(r.dir, sizeof(r.dir), "%s/%lu", fuzz_tmpdir("ops"), runs++);
	open_arena(&r);

	for (int n = 0; n < MAX_OPS && r.p < r.end; n++)
		step(&r);

	for (int i = 0; i < NSLOTS; i++)
		if (r.o[i].h)
			verify(&r, &r.o[i]);
	rc = memlane_close(r.a);
	FUZZ_CHECK(rc == 0, "memlane_close = %d (%s)", rc, memlane_errmsg());
	for (int i = 0; i < NSLOTS; i++)
		forget(&r, &r.o[i]);
	fuzz_rm_rf(r.dir);
	return 0;
}
