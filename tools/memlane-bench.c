/* memlane-bench.c - measure libmemlane against its baselines in one run.
 *
 * Each line of the table is one operation timed through libmemlane and
 * through its baseline (glibc malloc, a raw pointer load, memcpy) in the
 * same process, in alternation, as the median of several repetitions;
 * the ratio is memlane's time over the baseline's.
 * Allocation traces (every *.trace.zst of shared/data/traces beside the
 * checkout, or those given with -t; format in shared/data/README.md) are
 * replayed through memlane and through malloc, each replay in its own
 * forked child so that the peak RSS is the allocator's. They run first,
 * while the heap the children inherit is fresh, and are printed after
 * the table. With --spill, only the pager is measured instead: spilling
 * and faulting in 4 KiB and 64 KiB objects against a bare zstd + LMDB
 * pipeline (see "spill benchmark" below). Run on demand, never by make
 * check. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "memlane.h"

#define PROG "memlane-bench"
#define NOBJS 100000    /* objects behind the random memlane_get */
#define FRAME 500       /* objects a frame in the frame-scratch pattern */
#define NSIZES 4096     /* the 16..1024 B size mix, cycled */
#define KEEP 100        /* live objects around the alloc+free pairs */
#define MAXREPS 101
#define MAXTRACES 8
/* Room for the largest trace: the lanes are mapped, not touched. */
#define TRACE_OPTIONS "fast_lane_size=64M,slow_lane_size=1G"

static size_t iters = 2000000; /* -n: operations a measurement */
static int reps = 5;           /* -r: measurements, median reported */
static int json;               /* -j */
static unsigned tick_every;    /* -k: memlane_tick every this many trace ops */

/* ---- helpers ------------------------------------------------------- */

/* Keep @p (and everything it points to) alive for the optimiser. */
static inline void sink(const void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1du;
}

static void die(const char *call, int rc)
{
	fprintf(stderr, PROG ": %s: %d %s: %s\n", call, rc, memlane_strerror(rc), memlane_errmsg());
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, PROG ": malloc(%zu): %s\n", n, strerror(errno));
		exit(2);
	}
	return p;
}

/* Trace storage is mmap'd, not malloc'd: the heap the malloc replay
 * inherits stays as a fresh process has it. */
static void *grow_map(void *p, size_t old, size_t n)
{
	void *q = p ? mremap(p, old, n, MREMAP_MAYMOVE) : mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap(%zu): %s\n", n, strerror(errno));
		exit(2);
	}
	return q;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static memlane_arena *open_arena(const char *opts)
{
	memlane_config cfg;
	memlane_arena *a;
	int rc;
	memlane_config_init(&cfg);
	if ((rc = memlane_config_parse(&cfg, opts)) != 0)
		die("memlane_config_parse", rc);
	if ((rc = memlane_open(&a, NULL, &cfg)) != 0)
		die("memlane_open", rc);
	return a;
}

/* memlane_get that dies instead of returning NULL. */
static void *get_or_die(memlane_arena *a, memlane_handle h)
{
	void *p = memlane_get(a, h);
	if (!p)
		die("memlane_get", MEMLANE_EHANDLE);
	return p;
}

/* @s as a JSON string. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* ---- micro benchmarks ---------------------------------------------- */

/* What the measurements share; built once, outside every timing. */
static struct {
	size_t sizes[NSIZES];
	uint32_t *perm;           /* random order over NOBJS objects */
	memlane_arena *ga;        /* arena of the get benchmarks */
	memlane_handle *hfast, *hslow;
	void **ptrs;              /* malloc'd twins, for the raw loads */
	memlane_handle hot, h64, h4k;
	void *hotp;
	unsigned char *buf, *src, *dst, *bdst; /* copy buffers, in buf */
} E;

typedef double (*bench_fn)(void); /* returns ns per operation */

/* alloc+free pairs of @fixed bytes (0: the mix), with @keep objects of
 * 64 B live around them (0: the lane is otherwise empty). */
static double pair_ml(size_t fixed, size_t keep)
{
	memlane_arena *a = open_arena("");
	memlane_handle h, live[KEEP];
	int rc;
	for (size_t i = 0; i < keep; i++)
		if ((rc = memlane_alloc(a, 64, &live[i])) != 0)
			die("memlane_alloc", rc);
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		if ((rc = memlane_alloc(a, fixed ? fixed : E.sizes[i % NSIZES], &h)) != 0)
			die("memlane_alloc", rc);
		if ((rc = memlane_free(a, h)) != 0)
			die("memlane_free", rc);
	}
	double ns = (double)(now_ns() - t0) / (double)iters;
	memlane_close(a);
	return ns;
}

static double pair_malloc(size_t fixed, size_t keep)
{
	void *live[KEEP];
	for (size_t i = 0; i < keep; i++)
		if (!(live[i] = malloc(64)))
			die("malloc", ENOMEM);
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		void *p = malloc(fixed ? fixed : E.sizes[i % NSIZES]);
		if (!p)
			die("malloc", ENOMEM);
		sink(p);
		free(p);
	}
	double ns = (double)(now_ns() - t0) / (double)iters;
	for (size_t i = 0; i < keep; i++)
		free(live[i]);
	return ns;
}

static double pair64_ml(void) { return pair_ml(64, KEEP); }
static double pair64_malloc(void) { return pair_malloc(64, KEEP); }
static double pairmix_ml(void) { return pair_ml(0, KEEP); }
static double pairmix_malloc(void) { return pair_malloc(0, KEEP); }
static double pair64e_ml(void) { return pair_ml(64, 0); }
static double pair64e_malloc(void) { return pair_malloc(64, 0); }

/* Frame scratch: FRAME objects of the mix, then free them all; ns per object. */
static double frame_ml(void)
{
	memlane_arena *a = open_arena("");
	memlane_handle h[FRAME];
	size_t frames = iters / FRAME ? iters / FRAME : 1;
	int rc;
	uint64_t t0 = now_ns();
	for (size_t f = 0; f < frames; f++) {
		for (size_t i = 0; i < FRAME; i++)
			if ((rc = memlane_alloc(a, E.sizes[(f * FRAME + i) % NSIZES], &h[i])) != 0)
				die("memlane_alloc", rc);
		for (size_t i = 0; i < FRAME; i++)
			if ((rc = memlane_free(a, h[i])) != 0)
				die("memlane_free", rc);
	}
	double ns = (double)(now_ns() - t0) / (double)(frames * FRAME);
	memlane_close(a);
	return ns;
}

static double frame_malloc(void)
{
	void *p[FRAME];
	size_t frames = iters / FRAME ? iters / FRAME : 1;
	uint64_t t0 = now_ns();
	for (size_t f = 0; f < frames; f++) {
		for (size_t i = 0; i < FRAME; i++)
			if (!(p[i] = malloc(E.sizes[(f * FRAME + i) % NSIZES])))
				die("malloc", ENOMEM);
		sink(p);
		for (size_t i = 0; i < FRAME; i++)
			free(p[i]);
	}
	return (double)(now_ns() - t0) / (double)(frames * FRAME);
}

/* memlane_get over NOBJS handles in random order; @deref also loads 8
 * bytes of each object. */
static double get_random(const memlane_handle *hs, int deref)
{
	size_t rounds = iters / NOBJS ? iters / NOBJS : 1;
	uint64_t acc = 0;
	uint64_t t0 = now_ns();
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < NOBJS; i++) {
			void *p = memlane_get(E.ga, hs[E.perm[i]]);
			if (deref) {
				uint64_t v;
				memcpy(&v, p, sizeof(v));
				acc += v;
			} else {
				sink(p);
			}
		}
	double ns = (double)(now_ns() - t0) / (double)(rounds * NOBJS);
	sink(&acc);
	return ns;
}

static double load_random(int deref)
{
	size_t rounds = iters / NOBJS ? iters / NOBJS : 1;
	uint64_t acc = 0;
	uint64_t t0 = now_ns();
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < NOBJS; i++) {
			void *p = E.ptrs[E.perm[i]];
			if (deref) {
				uint64_t v;
				memcpy(&v, p, sizeof(v));
				acc += v;
			} else {
				sink(p);
			}
		}
	double ns = (double)(now_ns() - t0) / (double)(rounds * NOBJS);
	sink(&acc);
	return ns;
}

static double getfast_ml(void) { return get_random(E.hfast, 0); }
static double getslow_ml(void) { return get_random(E.hslow, 0); }
static double getfastd_ml(void) { return get_random(E.hfast, 1); }
static double load_base(void) { return load_random(0); }
static double loadd_base(void) { return load_random(1); }

static double gethot_ml(void)
{
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < iters; i++)
		sink(memlane_get(E.ga, E.hot));
	return (double)(now_ns() - t0) / (double)iters;
}

static double loadhot_base(void)
{
	void *volatile *slot = &E.hotp;
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < iters; i++)
		sink(*slot);
	return (double)(now_ns() - t0) / (double)iters;
}

static double copy_ml(memlane_handle h, size_t len, int write)
{
	int rc;
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		rc = write ? memlane_write(E.ga, h, 0, E.src, len) : memlane_read(E.ga, h, 0, E.dst, len);
		if (rc)
			die(write ? "memlane_write" : "memlane_read", rc);
		sink(E.dst);
	}
	return (double)(now_ns() - t0) / (double)iters;
}

/* The C library's memcpy, as the library calls it: inlined, gcc may
 * expand it to a `rep movsq` that is slower than the real thing. */
static void *(*volatile libc_memcpy)(void *, const void *, size_t) = memcpy;

static double copy_base(size_t len)
{
	void *(*cp)(void *, const void *, size_t) = libc_memcpy;
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		cp(E.bdst, E.src, len);
		sink(E.bdst);
		sink(E.src);
	}
	return (double)(now_ns() - t0) / (double)iters;
}

static double read64_ml(void) { return copy_ml(E.h64, 64, 0); }
static double write64_ml(void) { return copy_ml(E.h64, 64, 1); }
static double read4k_ml(void) { return copy_ml(E.h4k, 4096, 0); }
static double write4k_ml(void) { return copy_ml(E.h4k, 4096, 1); }
static double copy64_base(void) { return copy_base(64); }
static double copy4k_base(void) { return copy_base(4096); }

static const struct bench {
	const char *name, *baseline;
	bench_fn ml, base;
} benches[] = {
	{"alloc+free 64 B (100 live)", "malloc+free", pair64_ml, pair64_malloc},
	{"alloc+free 16..1024 B mix (100 live)", "malloc+free", pairmix_ml, pairmix_malloc},
	{"alloc+free 64 B, empty arena", "malloc+free", pair64e_ml, pair64e_malloc},
	{"frame: 500 allocs, 500 frees (/obj)", "malloc+free", frame_ml, frame_malloc},
	{"get FastLane, random of 100k", "ptr load", getfast_ml, load_base},
	{"get SlowLane, random of 100k", "ptr load", getslow_ml, load_base},
	{"get FastLane + 8 B load, random", "ptr+8 B load", getfastd_ml, loadd_base},
	{"get, one hot handle", "ptr load", gethot_ml, loadhot_base},
	{"read 64 B", "memcpy", read64_ml, copy64_base},
	{"write 64 B", "memcpy", write64_ml, copy64_base},
	{"read 4 KiB", "memcpy", read4k_ml, copy4k_base},
	{"write 4 KiB", "memcpy", write4k_ml, copy4k_base},
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static void setup(void)
{
	static const memlane_alloc_opts slow = {MEMLANE_SLOW, 0, 0}, page = {0, 4096, 0};
	int rc;
	for (size_t i = 0; i < NSIZES; i++)
		E.sizes[i] = 16 + (size_t)(rnd() % 1009); /* 16..1024 */
	E.perm = xmalloc(NOBJS * sizeof(*E.perm));
	for (uint32_t i = 0; i < NOBJS; i++)
		E.perm[i] = i;
	for (size_t i = NOBJS - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() % (i + 1));
		uint32_t t = E.perm[i];
		E.perm[i] = E.perm[j];
		E.perm[j] = t;
	}
	E.ga = open_arena("");
	E.hfast = xmalloc(NOBJS * sizeof(*E.hfast));
	E.hslow = xmalloc(NOBJS * sizeof(*E.hslow));
	E.ptrs = xmalloc(NOBJS * sizeof(*E.ptrs));
	/* Interleaved, as a program would make them. */
	for (size_t i = 0; i < NOBJS; i++) {
		if ((rc = memlane_alloc(E.ga, 64, &E.hfast[i])) != 0 ||
		    (rc = memlane_alloc_ex(E.ga, 64, &slow, &E.hslow[i])) != 0)
			die("memlane_alloc", rc);
		E.ptrs[i] = xmalloc(64);
		memset(E.ptrs[i], (int)i, 64);
		memset(get_or_die(E.ga, E.hfast[i]), (int)i, 64);
		memset(get_or_die(E.ga, E.hslow[i]), (int)i, 64);
	}
	if (memlane_handle_state(E.ga, E.hfast[0]) != MEMLANE_STATE_FAST ||
	    memlane_handle_state(E.ga, E.hslow[0]) != MEMLANE_STATE_SLOW) {
		fprintf(stderr, PROG ": objects are not in the lanes expected (MEMLANE_OPTIONS?)\n");
		exit(2);
	}
	E.hot = E.hfast[NOBJS / 2];
	E.hotp = E.ptrs[NOBJS / 2];
	if ((rc = memlane_alloc_ex(E.ga, 64, &page, &E.h64)) != 0 ||
	    (rc = memlane_alloc_ex(E.ga, 4096, &page, &E.h4k)) != 0)
		die("memlane_alloc", rc);
	/* Every copy, memlane's and memcpy's, has its destination 2048 bytes
	 * from its source modulo 4096: closer, and the loads of each copy
	 * stall on the stores of the one before (4K aliasing), which times
	 * the CPU, not the library. The objects are page-aligned. */
	if (!(E.buf = aligned_alloc(4096, 5 * 4096)))
		die("aligned_alloc", ENOMEM);
	E.bdst = E.buf;
	E.src = E.buf + 4096 + 2048;
	E.dst = E.buf + 3 * 4096 + 2048;
	memset(E.buf, 0x5a, 5 * 4096);
	memset(E.src, 0x5a, 4096);
	memset(E.dst, 0, 4096);
}

static void teardown(void)
{
	memlane_close(E.ga);
	for (size_t i = 0; i < NOBJS; i++)
		free(E.ptrs[i]);
	free(E.ptrs);
	free(E.hfast);
	free(E.hslow);
	free(E.perm);
	free(E.buf);
}

/* ---- trace replay -------------------------------------------------- */

struct op {
	uint64_t size;
	uint32_t id;
	char kind; /* 'a', 'r', 'f' */
};

struct trace {
	const char *path;
	struct op *ops;
	size_t nops, nids, mapped;
	uint64_t *final_size;          /* per id: size at the end of the trace, FREED once freed */
	size_t final_mapped;
	int ok;
	double ns[2], hwm[2], grow[2]; /* medians; [0] memlane, [1] malloc */
	memlane_stats st;              /* of the last memlane replay */
};

#define FREED UINT64_MAX

/* A whole file in an mmap'd buffer with a NUL after its last byte. */
struct text {
	char *buf;
	size_t len, cap;
};

/* Make room for @more bytes and the NUL. */
static void text_reserve(struct text *x, size_t more)
{
	size_t cap = x->cap ? x->cap : (size_t)1 << 20;
	while (cap - x->len < more + 1)
		cap *= 2;
	if (cap != x->cap) {
		x->buf = grow_map(x->buf, x->cap, cap);
		x->cap = cap;
	}
}

static int is_zstd(FILE *f)
{
	unsigned char m[4] = {0};
	size_t got = fread(m, 1, sizeof(m), f);
	rewind(f);
	return got == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd;
}

/* Decompress the zstd stream @f (one or more frames) into @x, with
 * libzstd: the zstd command line tool need not be installed. */
static int read_zstd(FILE *f, const char *path, struct text *x)
{
	size_t in_cap = ZSTD_DStreamInSize(), out_chunk = ZSTD_DStreamOutSize(), ret = 0;
	unsigned char *in = xmalloc(in_cap);
	ZSTD_DCtx *z = ZSTD_createDCtx();
	int rc = -1;
	if (!z) {
		fprintf(stderr, PROG ": %s: ZSTD_createDCtx failed\n", path);
		goto out;
	}
	for (;;) {
		size_t n = fread(in, 1, in_cap, f);
		if (n == 0)
			break;
		ZSTD_inBuffer zin = {in, n, 0};
		while (zin.pos < zin.size) {
			text_reserve(x, out_chunk);
			ZSTD_outBuffer zout = {x->buf + x->len, x->cap - x->len - 1, 0};
			ret = ZSTD_decompressStream(z, &zout, &zin);
			if (ZSTD_isError(ret)) {
				fprintf(stderr, PROG ": %s: zstd: %s\n", path, ZSTD_getErrorName(ret));
				goto out;
			}
			x->len += zout.pos;
		}
	}
	/* Whatever the decoder still holds for the last frame. */
	while (ret != 0) {
		ZSTD_inBuffer zin = {in, 0, 0};
		text_reserve(x, out_chunk);
		ZSTD_outBuffer zout = {x->buf + x->len, x->cap - x->len - 1, 0};
		ret = ZSTD_decompressStream(z, &zout, &zin);
		if (ZSTD_isError(ret)) {
			fprintf(stderr, PROG ": %s: zstd: %s\n", path, ZSTD_getErrorName(ret));
			goto out;
		}
		x->len += zout.pos;
		if (zout.pos == 0 && ret != 0) {
			fprintf(stderr, PROG ": %s: zstd: truncated (the last frame is incomplete)\n", path);
			goto out;
		}
	}
	rc = ferror(f) ? -1 : 0;
	if (rc)
		fprintf(stderr, PROG ": %s: read error: %s\n", path, strerror(errno));
out:
	ZSTD_freeDCtx(z);
	free(in);
	return rc;
}

static int read_plain(FILE *f, const char *path, struct text *x)
{
	size_t n;
	do {
		text_reserve(x, 1 << 16);
		n = fread(x->buf + x->len, 1, x->cap - x->len - 1, f);
		x->len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, PROG ": %s: read error: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The text of the trace at @path, decompressed when it is zstd. */
static int read_trace_text(const char *path, struct text *x)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(x, 0, sizeof(*x));
	int rc = is_zstd(f) ? read_zstd(f, path, x) : read_plain(f, path, x);
	fclose(f);
	if (rc == 0) {
		text_reserve(x, 0);
		x->buf[x->len] = 0;
	} else if (x->buf) {
		munmap(x->buf, x->cap);
	}
	return rc;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A decimal number: digits only, no sign, no overflow. */
static const char *parse_u64(const char *p, uint64_t *v)
{
	p = skip_blanks(p);
	if (*p < '0' || *p > '9')
		return NULL;
	uint64_t n = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return NULL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*v = n;
	return p;
}

/* One line "a ID SIZE", "r ID SIZE" or "f ID"; 0 for a blank line, 1 for
 * an operation, -1 for anything else. */
static int parse_op(const char *p, char *kind, uint64_t *id, uint64_t *size)
{
	p = skip_blanks(p);
	if (*p == '\n' || *p == '\r' || *p == 0)
		return 0;
	*kind = *p++;
	if ((*kind != 'a' && *kind != 'r' && *kind != 'f') || (*p != ' ' && *p != '\t'))
		return -1;
	*size = 0;
	if (!(p = parse_u64(p, id)) || (*kind != 'f' && !(p = parse_u64(p, size))))
		return -1;
	p = skip_blanks(p);
	return *p == '\n' || *p == '\r' || *p == 0 ? 1 : -1;
}

/* Read the whole trace into memory, checking that every op names an
 * object in the right state, so that the replay loops need no checks.
 * Also records the size each object has at the end, for the check that
 * follows each replay. */
static int trace_load(struct trace *t)
{
	struct text x;
	if (read_trace_text(t->path, &x) != 0)
		return -1;
	size_t cap = 1 << 20, idcap = 1 << 16, lineno = 0;
	uint64_t *sz = grow_map(NULL, 0, idcap * sizeof(*sz)); /* per id: 0 never seen, size + 1 live, FREED */
	int bad = 0;
	t->ops = grow_map(NULL, 0, cap * sizeof(*t->ops));
	t->nops = t->nids = 0;
	for (const char *p = x.buf; *p && !bad;) {
		const char *eol = memchr(p, '\n', (size_t)(x.buf + x.len - p));
		char kind = 0;
		uint64_t id = 0, size = 0;
		lineno++;
		int n = parse_op(p, &kind, &id, &size);
		p = eol ? eol + 1 : x.buf + x.len;
		if (n == 0)
			continue;
		if (n < 0 || id >= UINT32_MAX || size >= FREED - 1) {
			bad = 1;
			break;
		}
		while (id >= idcap) {
			sz = grow_map(sz, idcap * sizeof(*sz), 2 * idcap * sizeof(*sz)); /* new pages read as zero */
			idcap *= 2;
		}
		int live = sz[id] != 0 && sz[id] != FREED;
		if ((kind == 'a') == live) {
			bad = 2;
			break;
		}
		sz[id] = kind == 'f' ? FREED : size + 1;
		if (id >= t->nids)
			t->nids = id + 1;
		if (t->nops == cap) {
			t->ops = grow_map(t->ops, cap * sizeof(*t->ops), 2 * cap * sizeof(*t->ops));
			cap *= 2;
		}
		t->ops[t->nops++] = (struct op){size, (uint32_t)id, kind};
	}
	munmap(x.buf, x.cap);
	t->mapped = cap * sizeof(*t->ops);
	for (size_t i = 0; i < t->nids; i++)
		sz[i] = sz[i] == FREED || sz[i] == 0 ? FREED : sz[i] - 1;
	t->final_size = sz;
	t->final_mapped = idcap * sizeof(*sz);
	if (bad || t->nops == 0) {
		if (bad == 1)
			fprintf(stderr, PROG ": %s: line %zu: not 'a ID SIZE', 'r ID SIZE' or 'f ID'\n", t->path, lineno);
		else if (bad == 2)
			fprintf(stderr, PROG ": %s: line %zu: the object is not in a state for that operation\n", t->path,
			        lineno);
		else
			fprintf(stderr, PROG ": %s: no operations\n", t->path);
		munmap(t->ops, t->mapped);
		munmap(t->final_size, t->final_mapped);
		t->ops = NULL;
		t->final_size = NULL;
		return -1;
	}
	return 0;
}

struct replay {
	double ns_op;
	long rss0_kib, hwm_kib; /* RSS before the replay, peak during it */
	memlane_stats st;
	int ok;
};

static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Start peak-RSS accounting afresh (Linux >= 4.0), so the peak is this
 * replay's, not that of what the child inherited. */
static void reset_hwm(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* Write the first bytes of an object and one byte in each further 4 KiB,
 * so that its pages are touched as a program using it would. */
static inline void touch(void *p, uint64_t size, uint32_t id)
{
	unsigned char *c = p;
	if (size)
		memset(c, (int)id, size < 16 ? (size_t)size : 16);
	for (uint64_t o = 4096; o < size; o += 4096)
		c[o] = (unsigned char)id;
	sink(p);
}

/* Whether the bytes touch() wrote are still there. */
static int touched(const void *p, uint64_t size, uint32_t id)
{
	const unsigned char *c = p;
	for (uint64_t o = 0; o < size && o < 16; o++)
		if (c[o] != (unsigned char)id)
			return 0;
	for (uint64_t o = 4096; o < size; o += 4096)
		if (c[o] != (unsigned char)id)
			return 0;
	return 1;
}

/* After the timing: every object the trace leaves live must have the
 * size and the bytes it was given, wherever the allocator moved it. */
static int check_live_ml(const struct trace *t, memlane_arena *a, const memlane_handle *h)
{
	for (size_t i = 0; i < t->nids; i++) {
		uint64_t size = t->final_size[i];
		if (size == FREED)
			continue;
		const void *p = memlane_get_ro(a, h[i]);
		if (!p || memlane_size(a, h[i]) != size || !touched(p, size, (uint32_t)i)) {
			fprintf(stderr, PROG ": %s: memlane replay: object %zu (%llu bytes) lost its bytes%s%s\n", t->path, i,
			        (unsigned long long)size, p ? "" : ": ", p ? "" : memlane_errmsg());
			return -1;
		}
	}
	return 0;
}

static int check_live_malloc(const struct trace *t, void *const *ptr)
{
	for (size_t i = 0; i < t->nids; i++) {
		uint64_t size = t->final_size[i];
		if (size != FREED && size && !touched(ptr[i], size, (uint32_t)i)) {
			fprintf(stderr, PROG ": %s: malloc replay: object %zu (%llu bytes) lost its bytes\n", t->path, i,
			        (unsigned long long)size);
			return -1;
		}
	}
	return 0;
}

static void replay_memlane(const struct trace *t, struct replay *r)
{
	memlane_arena *a = open_arena(TRACE_OPTIONS);
	memlane_handle *h = xmalloc(t->nids * sizeof(*h));
	memset(h, 0, t->nids * sizeof(*h));
	int rc;
	reset_hwm();
	r->rss0_kib = status_kib("VmRSS");
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < t->nops; i++) {
		const struct op *o = &t->ops[i];
		switch (o->kind) {
		case 'a':
			if ((rc = memlane_alloc(a, o->size, &h[o->id])) != 0)
				die("memlane_alloc", rc);
			touch(get_or_die(a, h[o->id]), o->size, o->id);
			break;
		case 'r':
			if ((rc = memlane_realloc(a, h[o->id], o->size)) != 0)
				die("memlane_realloc", rc);
			touch(get_or_die(a, h[o->id]), o->size, o->id);
			break;
		default:
			if ((rc = memlane_free(a, h[o->id])) != 0)
				die("memlane_free", rc);
			h[o->id] = MEMLANE_NULL;
		}
		if (tick_every && i % tick_every == tick_every - 1 && (rc = memlane_tick(a)) != 0)
			die("memlane_tick", rc);
	}
	r->ns_op = (double)(now_ns() - t0) / (double)t->nops;
	r->hwm_kib = status_kib("VmHWM");
	if ((rc = memlane_stats_get(a, &r->st)) != 0)
		die("memlane_stats_get", rc);
	r->ok = check_live_ml(t, a, h) == 0;
	for (size_t i = 0; i < t->nids; i++)
		if (h[i] != MEMLANE_NULL && (rc = memlane_free(a, h[i])) != 0)
			die("memlane_free", rc);
	free(h);
	memlane_close(a);
}

static void replay_malloc(const struct trace *t, struct replay *r)
{
	void **p = xmalloc(t->nids * sizeof(*p));
	memset(p, 0, t->nids * sizeof(*p));
	reset_hwm();
	r->rss0_kib = status_kib("VmRSS");
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < t->nops; i++) {
		const struct op *o = &t->ops[i];
		switch (o->kind) {
		case 'a':
			if (!(p[o->id] = malloc(o->size)))
				die("malloc", ENOMEM);
			touch(p[o->id], o->size, o->id);
			break;
		case 'r': {
			void *q = realloc(p[o->id], o->size); /* size 0: glibc frees and returns NULL */
			if (!q && o->size)
				die("realloc", ENOMEM);
			p[o->id] = q;
			if (q)
				touch(q, o->size, o->id);
			break;
		}
		default:
			free(p[o->id]);
			p[o->id] = NULL;
		}
	}
	r->ns_op = (double)(now_ns() - t0) / (double)t->nops;
	r->hwm_kib = status_kib("VmHWM");
	r->ok = check_live_malloc(t, p) == 0;
	for (size_t i = 0; i < t->nids; i++)
		free(p[i]);
	free(p);
}

/* Run one replay in a forked child; its result comes back through a pipe. */
static int replay_child(const struct trace *t, int memlane, struct replay *r)
{
	int fd[2];
	memset(r, 0, sizeof(*r));
	fflush(NULL);
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		close(fd[0]);
		if (memlane)
			replay_memlane(t, r);
		else
			replay_malloc(t, r);
		ssize_t w = write(fd[1], r, sizeof(*r));
		_exit(w == (ssize_t)sizeof(*r) ? 0 : 1);
	}
	close(fd[1]);
	size_t got = 0;
	while (got < sizeof(*r)) {
		ssize_t n = read(fd[0], (char *)r + got, sizeof(*r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return got == sizeof(*r) && WIFEXITED(status) && WEXITSTATUS(status) == 0 && r->ok ? 0 : -1;
}

/* The traces directory: shared/data/traces beside the checkout, looked
 * for from the working directory and from the program's own (which is
 * tools/.libs/ under libtool, in the source tree or a build directory
 * inside it). NULL when not found. */
static const char *default_trace_dir(void)
{
	static char buf[PATH_MAX + 64];
	static const char *const rel[] = {"../shared/data/traces", "../../shared/data/traces",
	                                  "../../../shared/data/traces", "../../../../shared/data/traces"};
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
	}
	for (int from_exe = 0; from_exe < 2; from_exe++)
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			if (from_exe && n <= 0)
				break;
			snprintf(buf, sizeof(buf), "%s%s%s", from_exe ? exe : "", from_exe ? "/" : "", rel[i]);
			if (access(buf, R_OK | X_OK) == 0)
				return buf;
		}
	return NULL;
}

/* Every *.trace.zst of the traces directory, in name order; the paths
 * live until the program exits. Returns how many were added. */
static size_t default_traces(struct trace *t, size_t room)
{
	static glob_t g;
	const char *dir = default_trace_dir();
	char pattern[PATH_MAX + 80];
	size_t n = 0;
	if (!dir)
		return 0;
	snprintf(pattern, sizeof(pattern), "%s/*.trace.zst", dir);
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && n < room; i++)
		t[n++].path = g.gl_pathv[i];
	return n;
}

/* Replay @t @reps times through each allocator, alternating which goes
 * first, each run in a fresh child; keep the medians. */
static void run_trace(struct trace *t)
{
	double v[3][2][MAXREPS];
	struct replay r;
	t->ok = 0;
	if (trace_load(t) != 0)
		return;
	for (int k = 0; k < reps; k++)
		for (int w = 0; w < 2; w++) {
			int ml = (k + w) % 2 == 0;
			if (replay_child(t, ml, &r) != 0) {
				fprintf(stderr, PROG ": %s: %s replay failed\n", t->path, ml ? "memlane" : "malloc");
				goto out;
			}
			v[0][!ml][k] = r.ns_op;
			v[1][!ml][k] = (double)r.hwm_kib;
			v[2][!ml][k] = (double)(r.hwm_kib - r.rss0_kib);
			if (ml)
				t->st = r.st;
		}
	for (int w = 0; w < 2; w++) {
		t->ns[w] = median(v[0][w], reps);
		t->hwm[w] = median(v[1][w], reps);
		t->grow[w] = median(v[2][w], reps);
	}
	t->ok = 1;
out:
	munmap(t->ops, t->mapped);
	munmap(t->final_size, t->final_mapped);
	t->ops = NULL;
	t->final_size = NULL;
}

/* @first: no comma before it in the JSON array. */
static void print_trace(const struct trace *t, int first)
{
	const char *base = strrchr(t->path, '/') ? strrchr(t->path, '/') + 1 : t->path;
	const memlane_stats *s = &t->st;
	if (json) {
		printf("%s\n {\"trace\":", first ? "" : ",");
		json_str(base);
		printf(",\"ops\":%zu,\"memlane_ns\":%.3f,\"malloc_ns\":%.3f,\"ratio\":%.3f,"
		       "\"memlane_peak_rss_kib\":%.0f,\"malloc_peak_rss_kib\":%.0f,\"memlane_rss_growth_kib\":%.0f,"
		       "\"malloc_rss_growth_kib\":%.0f,\"compactions\":%llu,\"promotions\":%llu,\"fallbacks\":%llu,"
		       "\"moved_bytes\":%llu,\"released_bytes\":%llu,\"ticks\":%llu}",
		       t->nops, t->ns[0], t->ns[1], t->ns[0] / t->ns[1], t->hwm[0], t->hwm[1],
		       t->grow[0], t->grow[1], (unsigned long long)s->compactions, (unsigned long long)s->promotions,
		       (unsigned long long)s->fallbacks, (unsigned long long)s->moved_bytes,
		       (unsigned long long)s->released_bytes, (unsigned long long)s->ticks);
		return;
	}
	printf("\ntrace %s: %zu ops, %zu objects (memlane: %s", base, t->nops, t->nids, TRACE_OPTIONS);
	if (tick_every)
		printf(", memlane_tick every %u ops", tick_every);
	printf(")\n");
	printf("%-38s %10.2f %10.2f %7.2fx  %s\n", "replay, ns per trace op", t->ns[0], t->ns[1], t->ns[0] / t->ns[1],
	       "malloc/realloc/free");
	printf("%-38s %10.0f %10.0f %7.2fx\n", "peak RSS of the child, KiB", t->hwm[0], t->hwm[1], t->hwm[0] / t->hwm[1]);
	printf("%-38s %10.0f %10.0f %7.2fx\n", "peak RSS growth in the replay, KiB", t->grow[0], t->grow[1],
	       t->grow[1] > 0 ? t->grow[0] / t->grow[1] : 0);
	printf("memlane after replay: %llu compactions, %llu promotions, %llu fallbacks, %llu objects moved "
	       "(%llu bytes), %llu bytes released, %llu live objects\n",
	       (unsigned long long)s->compactions, (unsigned long long)s->promotions, (unsigned long long)s->fallbacks,
	       (unsigned long long)s->moved_objects, (unsigned long long)s->moved_bytes,
	       (unsigned long long)s->released_bytes, (unsigned long long)s->objects);
}

/* ---- spill benchmark ------------------------------------------------ */

/* The pager's two paths against the pipeline they are built from, on
 * the same bytes in the same run: memlane_flush (evict everything)
 * against ZSTD_compressCCtx + mdb_put, SPILL_BATCH records a write
 * transaction as the pager batches, into a fresh LMDB environment with
 * MDB_NOSYNC as a persist=0 store has; and a fault-in (memlane_prefetch)
 * against mdb_get + ZSTD_decompressDCtx in a read transaction. The
 * stores go in a new directory, removed at exit. Run with --spill only:
 * it writes to disk. */

#define SPILL_BATCH 512   /* records a write transaction */
#define SPILL_SAMPLES 5000 /* fault-ins timed for each object size */
#define SPILL_RAW_MAP ((size_t)16 << 30) /* address space only; the file grows as written */

static int spill_mode;           /* --spill */
static const char *spill_parent; /* -d: where the scratch directory goes */
static size_t spill_mib = 64;    /* -m: MiB of objects of each size */
static char spill_root[PATH_MAX]; /* the scratch directory, removed at exit */

/* What objects are made of: the text of the allocation traces, or
 * generated words when there is none. */
static struct {
	unsigned char *buf;
	size_t len, cap;
	char what[PATH_MAX + 128];
} SD;

/* splitmix64: reproducible random words for the incompressible objects. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

static void spill_data_append(const void *p, size_t n)
{
	if (SD.cap - SD.len < n) {
		size_t cap = SD.cap ? SD.cap : (size_t)1 << 24;
		while (cap - SD.len < n)
			cap *= 2;
		SD.buf = grow_map(SD.buf, SD.cap, cap);
		SD.cap = cap;
	}
	memcpy(SD.buf + SD.len, p, n);
	SD.len += n;
}

/* Text-like words in a random order, when no trace can be read. */
static void spill_data_words(size_t n)
{
	static const char *const words[] = {"the", "of", "and", "to", "lane", "arena", "handle", "object",
	                                    "spill", "fault", "pin", "slab", "blob", "tick", "root", "store"};
	for (uint64_t k = 0; SD.len < n; k++) {
		uint64_t r = mix64(k);
		const char *w = words[r % 16];
		spill_data_append(w, strlen(w));
		spill_data_append((r >> 8) % 8 ? " " : "\n", 1);
	}
}

/* The decompressed text of every trace (-t, or those beside the
 * checkout), one after the other. */
static void spill_data_load(struct trace *t, size_t nt)
{
	size_t used = 0;
	int w = snprintf(SD.what, sizeof(SD.what), "decompressed allocation traces (");
	for (size_t i = 0; i < nt; i++) {
		struct text x;
		if (read_trace_text(t[i].path, &x) != 0)
			continue;
		spill_data_append(x.buf, x.len);
		munmap(x.buf, x.cap);
		const char *base = strrchr(t[i].path, '/') ? strrchr(t[i].path, '/') + 1 : t[i].path;
		if (w > 0 && (size_t)w < sizeof(SD.what))
			w += snprintf(SD.what + w, sizeof(SD.what) - (size_t)w, "%s%s", used++ ? ", " : "", base);
	}
	if (SD.len < ((size_t)1 << 20)) {
		SD.len = 0;
		spill_data_words((size_t)16 << 20);
		snprintf(SD.what, sizeof(SD.what), "generated text-like words (no trace found)");
		return;
	}
	if (w > 0 && (size_t)w < sizeof(SD.what))
		snprintf(SD.what + w, sizeof(SD.what) - (size_t)w, "; %.1f MB of text)", (double)SD.len / 1e6);
}

/* The @n objects of @size bytes, one after the other: three in four are
 * consecutive slices of the data, every fourth random bytes that zstd
 * cannot shrink (mixed, as the contents of a real heap are). */
static unsigned char *spill_objects(size_t size, size_t n)
{
	unsigned char *objs = grow_map(NULL, 0, size * n);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char *o = objs + i * size;
		if (i % 4 == 3) {
			for (size_t k = 0; k < size; k += 8) {
				uint64_t v = mix64((uint64_t)i << 32 ^ k);
				memcpy(o + k, &v, size - k < 8 ? size - k : 8);
			}
			continue;
		}
		if (off + size > SD.len)
			off = 0;
		memcpy(o, SD.buf + off, size);
		off += size;
	}
	return objs;
}

static void mdb_die(const char *call, int rc)
{
	fprintf(stderr, PROG ": %s: %d %s\n", call, rc, mdb_strerror(rc));
	exit(2);
}

/* @dir/@name in @out (PATH_MAX bytes). -1 when it does not fit. */
static int path_fits(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* As path_fits, dying when the path does not fit. */
static void path_join(char *out, const char *dir, const char *name)
{
	if (path_fits(out, dir, name) != 0) {
		fprintf(stderr, PROG ": %s/%s: path too long\n", dir, name);
		exit(2);
	}
}

/* Remove the scratch directory: its subdirectories hold nothing but the
 * files of one store each. Runs at exit, on errors too (so it must not
 * call exit itself). */
static void spill_cleanup(void)
{
	if (!spill_root[0])
		return;
	DIR *d = opendir(spill_root);
	struct dirent *e;
	char path[PATH_MAX], file[PATH_MAX];
	while (d && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (path_fits(path, spill_root, e->d_name) != 0)
			continue;
		DIR *sub = opendir(path);
		struct dirent *f;
		while (sub && (f = readdir(sub)) != NULL)
			if (strcmp(f->d_name, ".") && strcmp(f->d_name, "..") && path_fits(file, path, f->d_name) == 0)
				unlink(file);
		if (sub)
			closedir(sub);
		if (rmdir(path) != 0)
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(spill_root);
	spill_root[0] = 0;
}

/* A new, empty directory for one store, @name in the scratch directory. */
static void spill_dir(char *out, const char *name)
{
	path_join(out, spill_root, name);
	if (mkdir(out, 0700) != 0) {
		fprintf(stderr, PROG ": mkdir %s: %s\n", out, strerror(errno));
		exit(2);
	}
}

/* Remove the files of the store in @dir and @dir. */
static void spill_dir_remove(const char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb", "memlane.lock"};
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_join(path, dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* The filesystem the stores are written to, by name when known. */
static const char *fs_name(const char *dir, char *buf, size_t n)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} fs[] = {{0x01021994, "tmpfs"}, {0xEF53, "ext2/3/4"}, {0x58465342, "xfs"}, {0x9123683E, "btrfs"},
	          {0x794c7630, "overlayfs"}, {0x2FC12FC1, "zfs"}, {0x6969, "nfs"}};
	struct statfs s;
	if (statfs(dir, &s) != 0)
		return "unknown";
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((unsigned long)s.f_type == fs[i].magic)
			return fs[i].name;
	snprintf(buf, n, "f_type 0x%lx", (unsigned long)s.f_type);
	return buf;
}

/* Seconds of CPU this thread has used, the kernel's work for it (the
 * pwrite of an LMDB commit) included: on a busy machine, a measure that
 * other processes do not lengthen, as they lengthen the wall time. */
static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A timed part: wall and thread CPU seconds. */
struct span {
	double wall, cpu;
	uint64_t t0;
	double c0;
};

static void span_start(struct span *s)
{
	s->c0 = thread_cpu_s();
	s->t0 = now_ns();
}

static void span_stop(struct span *s)
{
	s->wall = (double)(now_ns() - s->t0) / 1e9;
	s->cpu = thread_cpu_s() - s->c0;
}

/* An arena whose SlowLane holds all @bytes of objects with room to
 * spare, so that nothing is evicted before the flush that is timed and
 * the flush spills every object: both sides then do the same work. */
static memlane_arena *spill_arena(const char *dir, size_t bytes)
{
	memlane_config cfg;
	memlane_arena *a;
	int rc;
	memlane_config_init(&cfg);
	cfg.slow_lane_size = ((bytes + bytes / 2) & ~(((size_t)1 << 20) - 1)) + ((size_t)32 << 20);
	cfg.persist = 0;
	if ((rc = memlane_open(&a, dir, &cfg)) != 0)
		die("memlane_open", rc);
	return a;
}

/* Fill an arena in @dir with the @n objects, then time memlane_flush.
 * The arena stays open in *@keep (handles in @h) when @keep is given. */
static struct span spill_ml(const char *dir, const unsigned char *objs, size_t size, size_t n, memlane_handle *h,
                            memlane_arena **keep, uint64_t *store_bytes)
{
	static const memlane_alloc_opts slow = {MEMLANE_SLOW, 0, 0};
	memlane_arena *a = spill_arena(dir, size * n);
	memlane_stats st;
	int rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = memlane_alloc_ex(a, size, &slow, &h[i])) != 0 ||
		    (rc = memlane_write(a, h[i], 0, objs + i * size, size)) != 0)
			die("memlane_alloc_ex/memlane_write", rc);
	if ((rc = memlane_stats_get(a, &st)) != 0)
		die("memlane_stats_get", rc);
	if (st.evictions) {
		fprintf(stderr, PROG ": %llu objects were evicted before the flush (MEMLANE_OPTIONS?)\n",
		        (unsigned long long)st.evictions);
		exit(2);
	}
	struct span s;
	span_start(&s);
	if ((rc = memlane_flush(a)) != 0)
		die("memlane_flush", rc);
	span_stop(&s);
	if ((rc = memlane_stats_get(a, &st)) != 0)
		die("memlane_stats_get", rc);
	if (st.spilled_objects != n || st.spilled_bytes != (uint64_t)n * size) {
		fprintf(stderr, PROG ": memlane_flush spilled %llu of %zu objects\n", (unsigned long long)st.spilled_objects, n);
		exit(2);
	}
	*store_bytes = st.store_bytes;
	if (keep)
		*keep = a;
	else if ((rc = memlane_close(a)) != 0)
		die("memlane_close", rc);
	return s;
}

/* The LMDB environment of the raw pipeline. */
struct raw_store {
	MDB_env *env;
	MDB_dbi dbi;
};

/* The pager's key: handle and sequence number, big-endian. */
static void raw_key(uint8_t k[16], uint64_t i)
{
	uint64_t h = (uint64_t)1 << 32 | i, seq = 1;
	for (int b = 7; b >= 0; b--, h >>= 8, seq >>= 8) {
		k[b] = (uint8_t)h;
		k[8 + b] = (uint8_t)seq;
	}
}

static void raw_open(struct raw_store *r, const char *dir)
{
	MDB_txn *t;
	int rc;
	if ((rc = mdb_env_create(&r->env)) != 0)
		mdb_die("mdb_env_create", rc);
	mdb_env_set_maxdbs(r->env, 8);
	if ((rc = mdb_env_set_mapsize(r->env, SPILL_RAW_MAP)) != 0)
		mdb_die("mdb_env_set_mapsize", rc);
	if ((rc = mdb_env_open(r->env, dir, MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS, 0600)) != 0)
		mdb_die("mdb_env_open", rc);
	if ((rc = mdb_txn_begin(r->env, NULL, 0, &t)) != 0 || (rc = mdb_dbi_open(t, "objects", MDB_CREATE, &r->dbi)) != 0 ||
	    (rc = mdb_txn_commit(t)) != 0)
		mdb_die("creating the objects database", rc);
}

static uint64_t raw_store_bytes(struct raw_store *r)
{
	MDB_txn *t;
	MDB_stat s;
	int rc;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &t)) != 0 || (rc = mdb_stat(t, r->dbi, &s)) != 0)
		mdb_die("mdb_stat", rc);
	mdb_txn_abort(t);
	return (uint64_t)(s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages) * s.ms_psize;
}

/* Compress the @n objects (@level < 0: do not) and put them into a new
 * environment in @dir, SPILL_BATCH a transaction; timed. An object
 * zstd cannot shrink is stored as it is, as the pager does. */
static struct span spill_raw(const char *dir, const unsigned char *objs, size_t size, size_t n, int level,
                             struct raw_store *keep, uint64_t *store_bytes)
{
	struct raw_store r;
	size_t cap = ZSTD_compressBound(size);
	unsigned char *z = xmalloc(cap);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	MDB_txn *t;
	int rc;
	if (!cctx)
		die("ZSTD_createCCtx", MEMLANE_ENOMEM);
	raw_open(&r, dir);
	struct span s;
	span_start(&s);
	for (size_t i = 0; i < n;) {
		if ((rc = mdb_txn_begin(r.env, NULL, 0, &t)) != 0)
			mdb_die("mdb_txn_begin", rc);
		for (size_t end = i + SPILL_BATCH < n ? i + SPILL_BATCH : n; i < end; i++) {
			const unsigned char *src = objs + i * size;
			size_t c = level < 0 ? size : ZSTD_compressCCtx(cctx, z, cap, src, size, level);
			uint8_t k[16];
			raw_key(k, i);
			MDB_val key = {16, k}, val = {size, (void *)(uintptr_t)src};
			if (!ZSTD_isError(c) && c < size)
				val = (MDB_val){c, z};
			if ((rc = mdb_put(t, r.dbi, &key, &val, 0)) != 0)
				mdb_die("mdb_put", rc);
		}
		if ((rc = mdb_txn_commit(t)) != 0)
			mdb_die("mdb_txn_commit", rc);
	}
	span_stop(&s);
	ZSTD_freeCCtx(cctx);
	free(z);
	*store_bytes = raw_store_bytes(&r);
	if (keep)
		*keep = r;
	else
		mdb_env_close(r.env);
	return s;
}

/* Fault object @i of the raw store into @dst: a read transaction, the
 * record, its frame decompressed. */
static void raw_fault(struct raw_store *r, ZSTD_DCtx *dctx, size_t i, unsigned char *dst, size_t size)
{
	MDB_txn *t;
	uint8_t k[16];
	MDB_val key = {16, k}, val;
	int rc;
	raw_key(k, i);
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &t)) != 0 || (rc = mdb_get(t, r->dbi, &key, &val)) != 0)
		mdb_die("mdb_get", rc);
	if (val.mv_size == size) {
		memcpy(dst, val.mv_data, size);
	} else {
		size_t d = ZSTD_decompressDCtx(dctx, dst, size, val.mv_data, val.mv_size);
		if (ZSTD_isError(d) || d != size) {
			fprintf(stderr, PROG ": ZSTD_decompressDCtx: %s\n", ZSTD_isError(d) ? ZSTD_getErrorName(d) : "short");
			exit(2);
		}
	}
	mdb_txn_abort(t);
}

/* Fault-in latencies, wall and thread CPU seconds: SPILL_SAMPLES random
 * objects, each faulted in by memlane_prefetch (then evicted again,
 * clean, timed apart in @ev) and by the raw pipeline, alternating which
 * goes first. The bytes of both are checked against the object's,
 * outside the timing. */
static void spill_faults(memlane_arena *a, const memlane_handle *h, struct raw_store *r, const unsigned char *objs,
                         size_t size, size_t n, struct span *ml, struct span *raw, struct span *ev)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	unsigned char *dst = xmalloc(size);
	memlane_stats st0, st1;
	int rc;
	if (!dctx)
		die("ZSTD_createDCtx", MEMLANE_ENOMEM);
	if ((rc = memlane_stats_get(a, &st0)) != 0)
		die("memlane_stats_get", rc);
	for (size_t s = 0; s < SPILL_SAMPLES; s++) {
		size_t i = (size_t)(rnd() % n);
		for (int w = 0; w < 2; w++) {
			if ((w ^ (int)s) & 1) {
				span_start(&raw[s]);
				raw_fault(r, dctx, i, dst, size);
				span_stop(&raw[s]);
				if (memcmp(dst, objs + i * size, size)) {
					fprintf(stderr, PROG ": raw pipeline: object %zu read back wrong\n", i);
					exit(2);
				}
				continue;
			}
			span_start(&ml[s]);
			if ((rc = memlane_prefetch(a, h[i])) != 0)
				die("memlane_prefetch", rc);
			span_stop(&ml[s]);
			const void *p = memlane_get_ro(a, h[i]);
			if (!p || memcmp(p, objs + i * size, size)) {
				fprintf(stderr, PROG ": memlane: object %zu read back wrong%s%s\n", i, p ? "" : ": ",
				        p ? "" : memlane_errmsg());
				exit(2);
			}
			span_start(&ev[s]);
			if ((rc = memlane_evict(a, h[i])) != 0)
				die("memlane_evict", rc);
			span_stop(&ev[s]);
		}
	}
	if ((rc = memlane_stats_get(a, &st1)) != 0)
		die("memlane_stats_get", rc);
	if (st1.faults - st0.faults != SPILL_SAMPLES || st1.dirty_evictions != st0.dirty_evictions)
		fprintf(stderr, PROG ": warning: %llu faults for %d prefetches, %llu dirty evictions of objects only read\n",
		        (unsigned long long)(st1.faults - st0.faults), SPILL_SAMPLES,
		        (unsigned long long)(st1.dirty_evictions - st0.dirty_evictions));
	ZSTD_freeDCtx(dctx);
	free(dst);
}

/* The @q quantile (0..1) of @v[0..n), which it sorts. */
static double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

/* Median and 99th percentile of @sp[0..SPILL_SAMPLES), wall (@cpu 0) or
 * CPU time, in microseconds, into @q[0] and @q[1]. */
static void span_quantiles(const struct span *sp, int cpu, double *tmp, double q[2])
{
	for (size_t i = 0; i < SPILL_SAMPLES; i++)
		tmp[i] = (cpu ? sp[i].cpu : sp[i].wall) * 1e6;
	q[0] = quantile(tmp, SPILL_SAMPLES, 0.5);
	q[1] = quantile(tmp, SPILL_SAMPLES, 0.99);
}

struct spill_result {
	size_t size, n;
	double ml_mbs, raw_mbs;           /* flush throughput, median, MB/s of object bytes */
	double ml_cpu_mbs, raw_cpu_mbs;   /* the same by thread CPU time */
	double ml_fault[2], raw_fault[2];         /* fault-in, us: median, p99 (wall) */
	double ml_fault_cpu[2], raw_fault_cpu[2]; /* the same in thread CPU time */
	double ev_med;                            /* clean eviction, us, median */
	uint64_t ml_store, raw_store;     /* bytes of LMDB pages */
};

/* One object size: the flush @reps times each side, alternating which
 * goes first, each into a new store; then fault-ins on the last two. */
static void spill_size(size_t size, int level, struct spill_result *res)
{
	size_t n = (spill_mib << 20) / size;
	unsigned char *objs = spill_objects(size, n);
	memlane_handle *h = xmalloc(n * sizeof(*h));
	double ml[MAXREPS], raw[MAXREPS], mlc[MAXREPS], rawc[MAXREPS];
	memlane_arena *a = NULL;
	struct raw_store r;
	char mdir[PATH_MAX], rdir[PATH_MAX];
	for (int k = 0; k < reps; k++) {
		int last = k == reps - 1;
		char name[64];
		snprintf(name, sizeof(name), "memlane-%zu-%d", size, k);
		spill_dir(mdir, name);
		snprintf(name, sizeof(name), "raw-%zu-%d", size, k);
		spill_dir(rdir, name);
		for (int w = 0; w < 2; w++) {
			struct span t;
			if ((w + k) % 2 == 0) {
				t = spill_ml(mdir, objs, size, n, h, last ? &a : NULL, &res->ml_store);
				ml[k] = t.wall;
				mlc[k] = t.cpu;
			} else {
				t = spill_raw(rdir, objs, size, n, level, last ? &r : NULL, &res->raw_store);
				raw[k] = t.wall;
				rawc[k] = t.cpu;
			}
		}
		if (!last) {
			spill_dir_remove(mdir);
			spill_dir_remove(rdir);
		}
	}
	double bytes = (double)size * (double)n;
	res->size = size;
	res->n = n;
	res->ml_mbs = bytes / median(ml, reps) / 1e6;
	res->raw_mbs = bytes / median(raw, reps) / 1e6;
	res->ml_cpu_mbs = bytes / median(mlc, reps) / 1e6;
	res->raw_cpu_mbs = bytes / median(rawc, reps) / 1e6;

	struct span *mlf = xmalloc(3 * SPILL_SAMPLES * sizeof(*mlf)), *rawf = mlf + SPILL_SAMPLES,
	            *ev = rawf + SPILL_SAMPLES;
	double *tmp = xmalloc(SPILL_SAMPLES * sizeof(*tmp)), q[2];
	spill_faults(a, h, &r, objs, size, n, mlf, rawf, ev);
	span_quantiles(mlf, 0, tmp, res->ml_fault);
	span_quantiles(rawf, 0, tmp, res->raw_fault);
	span_quantiles(mlf, 1, tmp, res->ml_fault_cpu);
	span_quantiles(rawf, 1, tmp, res->raw_fault_cpu);
	span_quantiles(ev, 0, tmp, q);
	res->ev_med = q[0];
	free(tmp);
	free(mlf);
	int rc = memlane_close(a);
	if (rc)
		die("memlane_close", rc);
	mdb_env_close(r.env);
	spill_dir_remove(mdir);
	spill_dir_remove(rdir);
	munmap(objs, size * n);
	free(h);
}

static void spill_row(const char *name, double ml, double raw, const char *unit, const char *note)
{
	printf("  %-30s %10.2f %10.2f %7.2fx  %s%s\n", name, ml, raw, ml / raw, unit, note);
}

static void spill_print(const struct spill_result *r, size_t nr, int level, const char *fs)
{
	if (json) {
		printf("{\"version\":\"%s\",\"spill\":{\"data\":", memlane_version());
		json_str(SD.what);
		printf(",\"filesystem\":");
		json_str(fs);
		printf(",\"zstd_level\":%d,\"batch\":%d,\"repetitions\":%d,\"fault_samples\":%d,\"results\":[", level,
		       SPILL_BATCH, reps, SPILL_SAMPLES);
		for (size_t i = 0; i < nr; i++)
			printf("%s\n {\"object_size\":%zu,\"objects\":%zu,\"memlane_flush_mb_s\":%.1f,\"raw_put_mb_s\":%.1f,"
			       "\"memlane_flush_cpu_mb_s\":%.1f,\"raw_put_cpu_mb_s\":%.1f,"
			       "\"fault_median_us\":[%.2f,%.2f],\"fault_p99_us\":[%.2f,%.2f],\"fault_cpu_median_us\":[%.2f,%.2f],"
			       "\"fault_cpu_p99_us\":[%.2f,%.2f],\"clean_evict_median_us\":%.2f,\"store_bytes\":[%llu,%llu]}",
			       i ? "," : "", r[i].size, r[i].n, r[i].ml_mbs, r[i].raw_mbs, r[i].ml_cpu_mbs, r[i].raw_cpu_mbs,
			       r[i].ml_fault[0], r[i].raw_fault[0], r[i].ml_fault[1], r[i].raw_fault[1], r[i].ml_fault_cpu[0],
			       r[i].raw_fault_cpu[0], r[i].ml_fault_cpu[1], r[i].raw_fault_cpu[1], r[i].ev_med,
			       (unsigned long long)r[i].ml_store,
			       (unsigned long long)r[i].raw_store);
		printf("]}}\n");
		return;
	}
	printf("%-32s %10s %10s %8s\n", "", "memlane", "raw", "ratio");
	for (size_t i = 0; i < nr; i++) {
		char head[96];
		snprintf(head, sizeof(head), "%zu KiB objects (%zu, %zu MiB)", r[i].size >> 10, r[i].n,
		         (r[i].size * r[i].n) >> 20);
		printf("%s\n", head);
		spill_row("spill throughput", r[i].ml_mbs, r[i].raw_mbs, "MB/s", " (higher is better)");
		spill_row("  by thread CPU time", r[i].ml_cpu_mbs, r[i].raw_cpu_mbs, "MB/s", " (what load does not skew)");
		spill_row("fault-in median", r[i].ml_fault[0], r[i].raw_fault[0], "us", "");
		spill_row("fault-in p99", r[i].ml_fault[1], r[i].raw_fault[1], "us", "");
		spill_row("  median by thread CPU time", r[i].ml_fault_cpu[0], r[i].raw_fault_cpu[0], "us", "");
		spill_row("  p99 by thread CPU time", r[i].ml_fault_cpu[1], r[i].raw_fault_cpu[1], "us", "");
		spill_row("store size (LMDB pages)", (double)r[i].ml_store / 1e6, (double)r[i].raw_store / 1e6, "MB", "");
		printf("  %-30s %10.2f %10s %8s  us (memlane_evict of the object just faulted in)\n",
		       "clean eviction median", r[i].ev_med, "-", "");
	}
}

/* The --spill mode: 4 KiB and 64 KiB objects. */
static void run_spill(struct trace *t, size_t nt)
{
	static const size_t sizes[] = {4096, 65536};
	struct spill_result res[2];
	memlane_config cfg;
	char fsbuf[64];
	const char *parent = spill_parent;
	if (!parent && !((parent = getenv("TMPDIR")) && *parent))
		parent = "/tmp";
	path_join(spill_root, parent, PROG "-XXXXXX");
	if (!mkdtemp(spill_root)) {
		fprintf(stderr, PROG ": mkdtemp %s: %s\n", spill_root, strerror(errno));
		spill_root[0] = 0;
		exit(2);
	}
	atexit(spill_cleanup);
	/* The zstd level the arenas use, MEMLANE_OPTIONS included. */
	memlane_config_init(&cfg);
	if (getenv("MEMLANE_OPTIONS"))
		memlane_config_parse(&cfg, getenv("MEMLANE_OPTIONS"));
	int level = cfg.compression == MEMLANE_COMPRESSION_ZSTD ? cfg.compression_level : -1;
	spill_data_load(t, nt);
	const char *fs = fs_name(spill_root, fsbuf, sizeof(fsbuf));
	char load[64] = "?";
	FILE *lf = fopen("/proc/loadavg", "r");
	if (lf) {
		if (!fgets(load, sizeof(load), lf))
			snprintf(load, sizeof(load), "?");
		char *third = strchr(load, ' ');
		third = third ? strchr(third + 1, ' ') : NULL;
		third = third ? strchr(third + 1, ' ') : NULL;
		load[third ? (size_t)(third - load) : strcspn(load, "\n")] = 0; /* the 1, 5 and 15 minute figures */
		fclose(lf);
	}
	if (!json) {
		printf("load average at start: %s (wall times grow with it; CPU times much less)\n", load);
		printf("spill: %zu MiB of objects a size; data: %s;\n", spill_mib, SD.what);
		printf("  every 4th object random bytes; zstd level %d; stores in %s (%s), removed at exit\n", level,
		       spill_root, fs);
		printf("memlane: memlane_flush of a persist=0 arena holding every object (SlowLane 1.5x their size)\n");
		printf("raw:     ZSTD_compressCCtx + mdb_put, %d records a txn, fresh env, MDB_NOSYNC|MDB_NOMETASYNC\n",
		       SPILL_BATCH);
		printf("flush: median of %d, each into a new store; fault-in: %d random objects, memlane_prefetch\n"
		       "  (then memlane_evict of it, clean, timed apart) vs mdb_txn_begin + mdb_get + ZSTD_decompressDCtx\n"
		       "  + mdb_txn_abort; the bytes of both checked after each\n"
		       "ratio: memlane / raw\n\n",
		       reps, SPILL_SAMPLES);
		fflush(stdout);
	}
	for (size_t i = 0; i < 2; i++)
		spill_size(sizes[i], level, &res[i]);
	spill_print(res, 2, level, fs);
	munmap(SD.buf, SD.cap);
}

/* ---- report -------------------------------------------------------- */

static void machine(char *cpu, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	snprintf(cpu, n, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c) {
			c += 1 + (c[1] == ' ');
			c[strcspn(c, "\n")] = 0;
			snprintf(cpu, n, "%s", c);
			break;
		}
	}
	fclose(f);
}

#ifdef __OPTIMIZE__
#define OPTIMIZED "yes"
#else
#define OPTIMIZED "NO (numbers are meaningless: build with -O2)"
#endif

static void usage(FILE *f, int status)
{
	fprintf(f,
	        "usage: " PROG " [-hjTV] [-n iterations] [-r repetitions] [-k ticks] [-t trace]...\n"
	        "       " PROG " --spill [-j] [-r repetitions] [-m MiB] [-d dir] [-t trace]...\n"
	        "  -n N   operations per measurement (default 2000000)\n"
	        "  -r N   measurements of each line; the median is reported (default 5)\n"
	        "  -t F   replay the allocation trace F (zstd-compressed or plain; may be repeated;\n"
	        "         default: every *.trace.zst in shared/data/traces beside the checkout,\n"
	        "         skipped if there is none)\n"
	        "  -T     no trace replay (not even those given with -t)\n"
	        "  -k N   call memlane_tick every N trace operations (default 0: never)\n"
	        "  -j     JSON output\n"
	        "  --spill, -S  measure only the pager: memlane_flush and fault-in of 4 KiB and 64 KiB\n"
	        "         objects against ZSTD_compressCCtx + mdb_put and mdb_get + ZSTD_decompressDCtx;\n"
	        "         objects are slices of the traces' text (-t or the defaults), every 4th random.\n"
	        "         Writes to disk, so never run by default\n"
	        "  -m N   --spill: MiB of objects of each size (default 64)\n"
	        "  -d D   --spill: make the scratch directory in D (default $TMPDIR or /tmp); it is\n"
	        "         removed at exit\n"
	        "  -V     print the library version and exit\n"
	        "  -h     this help (also --help)\n"
	        "Every figure is memlane's time (or RSS) and the baseline's, measured in this run,\n"
	        "and their ratio. MEMLANE_OPTIONS applies on top of every arena's options.\n"
	        "Exit status: 0, 1 when a trace could not be replayed, 2 on a usage or setup error.\n");
	exit(status);
}

int main(int argc, char **argv)
{
	struct trace traces[MAXTRACES];
	size_t ntraces = 0;
	int no_trace = 0, c;
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'}, {"spill", no_argument, NULL, 'S'}, {NULL, 0, NULL, 0}};
	while ((c = getopt_long(argc, argv, "hjVn:r:t:Tk:Sm:d:", longopts, NULL)) != -1) {
		char *end;
		unsigned long long v;
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'V':
			printf(PROG " (libmemlane %s)\n", memlane_version());
			return 0;
		case 'n':
		case 'r':
		case 'k':
		case 'm':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || (c != 'k' && v == 0) || (c == 'r' && v > MAXREPS) ||
			    (c == 'm' && v > 65536) || v > UINT32_MAX) {
				fprintf(stderr, PROG ": -%c %s: expected a number%s\n", c, optarg,
				        c == 'r'   ? " from 1 to 101"
				        : c == 'm' ? " from 1 to 65536"
				        : c == 'n' ? " from 1"
				                   : "");
				return 2;
			}
			if (c == 'n')
				iters = (size_t)v;
			else if (c == 'r')
				reps = (int)v;
			else if (c == 'm')
				spill_mib = (size_t)v;
			else
				tick_every = (unsigned)v;
			break;
		case 'S':
			spill_mode = 1;
			break;
		case 'd':
			spill_parent = optarg;
			break;
		case 't':
			if (ntraces == MAXTRACES) {
				fprintf(stderr, PROG ": at most %d traces\n", MAXTRACES);
				return 2;
			}
			traces[ntraces++].path = optarg;
			break;
		case 'T':
			no_trace = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	if (spill_parent && !spill_mode) {
		fprintf(stderr, PROG ": -d is for --spill\n");
		return 2;
	}
	if (no_trace)
		ntraces = 0;

	char cpu[256];
	struct utsname un;
	machine(cpu, sizeof(cpu));
	if (uname(&un) != 0)
		snprintf(un.release, sizeof(un.release), "?");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (spill_mode) {
		if (!json)
			printf("libmemlane %s; %ld CPUs: %s; Linux %s; compiler %s, optimised %s\n", memlane_version(), ncpu,
			       cpu, un.release, __VERSION__, OPTIMIZED);
		if (!ntraces && !no_trace)
			ntraces = default_traces(traces, MAXTRACES);
		run_spill(traces, ntraces);
		return 0;
	}
	if (!json) {
		printf("libmemlane %s; %ld CPUs: %s; Linux %s\n", memlane_version(), ncpu, cpu, un.release);
		printf("compiler %s, optimised %s; library as configured (see config.log)\n", __VERSION__, OPTIMIZED);
		printf("%zu ops a measurement, median of %d; baselines: glibc malloc, raw pointer load, memcpy\n\n", iters,
		       reps);
		printf("%-38s %10s %10s %8s  %s\n", "operation", "memlane", "baseline", "ratio", "baseline is");
		printf("%-38s %10s %10s %8s\n", "", "ns/op", "ns/op", "");
	} else {
		printf("{\"version\":\"%s\",\"nproc\":%ld,\"cpu\":", memlane_version(), ncpu);
		json_str(cpu);
		printf(",\"kernel\":");
		json_str(un.release);
		printf(",\"compiler\":");
		json_str(__VERSION__);
		printf(",\"optimised\":%s,\"iterations\":%zu,\"repetitions\":%d,\n\"results\":[",
		       OPTIMIZED[0] == 'y' ? "true" : "false", iters, reps);
	}
	fflush(stdout);

	/* Traces first, while the heap the malloc children inherit is fresh;
	 * printed after the table. */
	if (!ntraces && !no_trace)
		ntraces = default_traces(traces, MAXTRACES);
	for (size_t i = 0; i < ntraces; i++)
		run_trace(&traces[i]);

	setup();
	for (size_t b = 0; b < NBENCH; b++) {
		double ml[MAXREPS], base[MAXREPS];
		benches[b].ml(); /* warm up: page faults, caches, branch predictors */
		benches[b].base();
		for (int r = 0; r < reps; r++) {
			ml[r] = benches[b].ml();
			base[r] = benches[b].base();
		}
		double m = median(ml, reps), bl = median(base, reps);
		if (json)
			printf("%s\n {\"name\":\"%s\",\"memlane_ns\":%.3f,\"baseline_ns\":%.3f,\"ratio\":%.3f,\"baseline\":\"%s\"}",
			       b ? "," : "", benches[b].name, m, bl, m / bl, benches[b].baseline);
		else
			printf("%-38s %10.2f %10.2f %7.2fx  %s\n", benches[b].name, m, bl, m / bl, benches[b].baseline);
		fflush(stdout);
	}
	teardown();

	if (json)
		printf("],\n\"traces\":[");
	else if (!ntraces && !no_trace)
		printf("\ntrace replay skipped: no *.trace.zst in shared/data/traces beside the checkout (give one "
		       "with -t)\n");
	int failed = 0, printed = 0;
	for (size_t i = 0; i < ntraces; i++) {
		if (traces[i].ok)
			print_trace(&traces[i], !printed++);
		else
			failed = 1;
	}
	if (json)
		printf("]}\n");
	return failed;
}
