/* memlane-bench.c - libmemlane against the allocators and the raw store.
 *
 * One program, one command a workload (traces, access, spill, faultin,
 * ltr, compact, ratio, threads; "all" runs them all). Every figure is
 * measured against its baseline in the same run, alternating which goes
 * first, and the median of several repetitions is kept. Each result is
 * one row: workload, metric, memlane's value, the baseline's, their
 * ratio, the goal the ratio is held to, and whether it holds. The rows
 * print as a table, as JSON (--json) or as CSV (--csv).
 *
 * Trace replays run in processes of their own: this program executes
 * itself (the hidden --replay-child mode) once per replay, with jemalloc
 * or mimalloc in LD_PRELOAD, or with nothing preloaded for glibc malloc
 * and libmemlane, so that no allocator replaces another's malloc and
 * each peak RSS is one allocator's. The parsed trace reaches the child
 * in a memfd, mapped, never in the measured heap.
 *
 * Not run by make check (tests/test_bench.sh runs --smoke, checking the
 * output's form, never its timings). memlane-bench(1) describes every
 * workload, what is measured and why. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <lmdb.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
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
#define MAXREPS 101
#define MAXTRACES 8
#define MAXROWS 512
#define MAXNOTES 64
#define MAXTHREADS 2
#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
/* Room for the largest trace: the lanes are mapped, not touched. */
#define TRACE_OPTIONS "fast_lane_size=64M,slow_lane_size=1G"

/* ---- sizes of the workloads ------------------------------------------ */

/* What a run measures; one set for each of --smoke, --quick and the
 * full run. */
struct scale {
	const char *name;
	int reps;                 /* repetitions of each measurement */
	size_t access_n;          /* resident handles of the access workload */
	size_t access_rounds;     /* passes over them a measurement */
	size_t spill_mib;         /* MiB of objects of each size */
	size_t fault_samples;     /* fault-ins timed for each size */
	size_t ltr_fast, ltr_slow; /* lane sizes of the larger-than-RAM arena */
	size_t ltr_accesses;      /* accesses after the warm-up */
	size_t compact_mib;       /* MiB of objects before every other is freed */
	size_t trace_ops;         /* trace operations replayed (0: all) */
};

static const struct scale scales[] = {
	{"full", 5, 1000000, 4, 64, 5000, 4 * MiB, 28 * MiB, 1000000, 64, 0},
	{"quick", 3, 1000000, 1, 16, 1000, 1 * MiB, 7 * MiB, 150000, 16, 300000},
	{"smoke", 1, 20000, 1, 2, 100, 256 * KiB, 2 * MiB, 20000, 2, 20000},
};
static struct scale S;

/* ---- options --------------------------------------------------------- */

enum format { FMT_TABLE, FMT_JSON, FMT_CSV, FMT_MD };
static enum format fmt = FMT_TABLE;
static int reps_opt;            /* -r: overrides the scale's */
static const char *tmp_parent;  /* -d: where scratch directories go */
static const char *plot_dir;    /* --plot */
static char run_command[1024];  /* the command line, for the report */

/* ---- helpers --------------------------------------------------------- */

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

/* splitmix64: reproducible random numbers from a counter. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* xorshift64*, one state a caller (threads keep their own). */
static uint64_t rnd_r(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1du;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
	return rnd_r(&rng);
}

static void die(const char *call, int rc) __attribute__((noreturn));
static void die(const char *call, int rc)
{
	fprintf(stderr, PROG ": %s: %d %s: %s\n", call, rc, memlane_strerror(rc), memlane_errmsg());
	exit(2);
}

static void die_errno(const char *what) __attribute__((noreturn));
static void die_errno(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_errno("malloc");
	return p;
}

/* Anonymous memory outside malloc's heap, for the benchmark's own
 * arrays: the heap a replay child measures stays a fresh process's. */
static void *grow_map(void *p, size_t old, size_t n)
{
	void *q = p ? mremap(p, old, n, MREMAP_MAYMOVE) : mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED)
		die_errno("mmap");
	return q;
}

/* A mapping made with grow_map, touched page by page: resident before
 * a baseline RSS is read. */
static void *map_touched(size_t n)
{
	unsigned char *p = grow_map(NULL, 0, n ? n : 1);
	for (size_t o = 0; o < n; o += 4096)
		p[o] = 0;
	return p;
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

/* The @q quantile (0..1) of the sorted @v[0..n). */
static double quantile_sorted(const double *v, size_t n, double q)
{
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static memlane_arena *open_arena(const char *dir, const char *opts)
{
	memlane_config cfg;
	memlane_arena *a;
	int rc;
	memlane_config_init(&cfg);
	if ((rc = memlane_config_parse(&cfg, opts)) != 0)
		die("memlane_config_parse", rc);
	if ((rc = memlane_open(&a, dir, &cfg)) != 0)
		die("memlane_open", rc);
	return a;
}

static void stats_or_die(memlane_arena *a, memlane_stats *st)
{
	int rc = memlane_stats_get(a, st);
	if (rc)
		die("memlane_stats_get", rc);
}

/* A value of /proc/self/status in KiB ("VmHWM", "RssAnon"); -1 if absent. */
static long status_kib(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Resident pages that are not anonymous memory: mapped files (program
 * and library code among them) and shared memory (the trace's memfd). */
static long file_shmem_kib(void)
{
	return status_kib("RssFile") + status_kib("RssShmem");
}

/* Start peak-RSS accounting afresh (Linux >= 4.0): VmHWM becomes VmRSS. */
static void reset_hwm(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* Run @fn(@arg[i]) in @n threads started together; the wall seconds
 * from their common start to the last one's end. */
struct team {
	pthread_barrier_t go;
	void *(*fn)(void *);
	void *arg;
};

struct member {
	struct team *team;
	void *arg;
	uint64_t t0, t1; /* this thread's start and end */
};

/* Each thread takes its own times: the main thread may be scheduled
 * out between the barrier and a clock read of its own. */
static void *member_main(void *p)
{
	struct member *m = p;
	pthread_barrier_wait(&m->team->go);
	m->t0 = now_ns();
	void *r = m->team->fn(m->arg);
	m->t1 = now_ns();
	return r;
}

static double run_team(int n, void *(*fn)(void *), void *args, size_t arg_size)
{
	struct team t = {.fn = fn};
	struct member m[MAXTHREADS];
	pthread_t tid[MAXTHREADS];
	if (pthread_barrier_init(&t.go, NULL, (unsigned)n + 1) != 0)
		die_errno("pthread_barrier_init");
	for (int i = 0; i < n; i++) {
		m[i] = (struct member){&t, (char *)args + (size_t)i * arg_size, 0, 0};
		if ((errno = pthread_create(&tid[i], NULL, member_main, &m[i])) != 0)
			die_errno("pthread_create");
	}
	pthread_barrier_wait(&t.go);
	uint64_t t0 = UINT64_MAX, t1 = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		t0 = m[i].t0 < t0 ? m[i].t0 : t0;
		t1 = m[i].t1 > t1 ? m[i].t1 : t1;
	}
	double s = (double)(t1 - t0) / 1e9;
	pthread_barrier_destroy(&t.go);
	return s;
}

/* ---- result rows ----------------------------------------------------- */

/* How a row's ratio is held to its goal. */
enum goal { GOAL_NONE, GOAL_LE, GOAL_GE };

struct row {
	char workload[16];
	char metric[160];
	char unit[16];
	double ml, base, ratio;
	enum goal goal;
	double goal_val;
	char note[160];
};

static struct row rows[MAXROWS];
static size_t nrows;
static char notes[MAXNOTES][256];
static size_t nnotes;
static int failures; /* workloads that could not run */

/* A row; @ratio is given (memlane over baseline, or as the metric says). */
static void row_add(const char *wl, const char *metric, const char *unit, double ml, double base, double ratio,
                    enum goal g, double goal_val, const char *note)
{
	if (nrows == MAXROWS)
		return;
	struct row *r = &rows[nrows++];
	snprintf(r->workload, sizeof(r->workload), "%s", wl);
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	r->ml = ml;
	r->base = base;
	r->ratio = isinf(ratio) ? NAN : ratio; /* a zero baseline: no ratio, no verdict */
	r->goal = g;
	r->goal_val = goal_val;
	snprintf(r->note, sizeof(r->note), "%s", note ? note : "");
}

/* "pass", "MISS" or "-" (no goal). */
static const char *row_mark(const struct row *r)
{
	if (r->goal == GOAL_NONE || isnan(r->ratio))
		return "-";
	return (r->goal == GOAL_LE ? r->ratio <= r->goal_val : r->ratio >= r->goal_val) ? "pass" : "MISS";
}

static void note_add(const char *f, ...) __attribute__((format(printf, 1, 2)));
static void note_add(const char *f, ...)
{
	va_list ap;
	if (nnotes == MAXNOTES)
		return;
	va_start(ap, f);
	vsnprintf(notes[nnotes++], sizeof(notes[0]), f, ap);
	va_end(ap);
	if (fmt == FMT_TABLE || fmt == FMT_MD) {
		fprintf(stderr, PROG ": note: %s\n", notes[nnotes - 1]);
	}
}

/* Progress on stderr, so the table on stdout stays clean. */
static void progress(const char *f, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *f, ...)
{
	va_list ap;
	if (fmt != FMT_TABLE && fmt != FMT_MD)
		return;
	va_start(ap, f);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, f, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- trace files ------------------------------------------------------ */

struct op {
	uint64_t size;
	uint32_t id;
	char kind; /* 'a', 'r', 'f' */
};

#define FREED UINT64_MAX

/* A parsed trace as the replay children map it from a memfd: this
 * header, the ops, then the size every object has at the end (FREED
 * once freed), for the check after each replay. */
struct trace_blob {
	uint64_t magic, nops, nids, peak_live;
};
#define BLOB_MAGIC 0x6d6c62656e636831u

struct trace {
	const char *path;
	char name[64];
	int fd;            /* the memfd */
	size_t nops, nids;
	uint64_t peak_live; /* the largest sum of live object sizes */
};

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

/* Parse the trace @t->path (its first @max_ops operations; 0: all),
 * checking that every op names an object in the right state so that the
 * replay loops need no checks, into a memfd laid out as trace_blob says.
 * Also computes the peak of live bytes. */
static int trace_load(struct trace *t, size_t max_ops)
{
	struct text x;
	if (read_trace_text(t->path, &x) != 0)
		return -1;
	size_t cap = 1 << 20, idcap = 1 << 16, lineno = 0;
	uint64_t *sz = grow_map(NULL, 0, idcap * sizeof(*sz)); /* per id: 0 never seen, size + 1 live, FREED */
	struct op *ops = grow_map(NULL, 0, cap * sizeof(*ops));
	uint64_t live = 0, peak = 0;
	size_t nops = 0, nids = 0;
	int bad = 0, rc = -1;
	for (const char *p = x.buf; *p && !bad && (!max_ops || nops < max_ops);) {
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
		int is_live = sz[id] != 0 && sz[id] != FREED;
		if ((kind == 'a') == is_live) {
			bad = 2;
			break;
		}
		if (is_live)
			live -= sz[id] - 1;
		if (kind != 'f')
			live += size;
		if (live > peak)
			peak = live;
		sz[id] = kind == 'f' ? FREED : size + 1;
		if (id >= nids)
			nids = id + 1;
		if (nops == cap) {
			ops = grow_map(ops, cap * sizeof(*ops), 2 * cap * sizeof(*ops));
			cap *= 2;
		}
		ops[nops++] = (struct op){size, (uint32_t)id, kind};
	}
	munmap(x.buf, x.cap);
	if (bad || nops == 0) {
		if (bad == 1)
			fprintf(stderr, PROG ": %s: line %zu: not 'a ID SIZE', 'r ID SIZE' or 'f ID'\n", t->path, lineno);
		else if (bad == 2)
			fprintf(stderr, PROG ": %s: line %zu: the object is not in a state for that operation\n", t->path,
			        lineno);
		else
			fprintf(stderr, PROG ": %s: no operations\n", t->path);
		goto out;
	}
	size_t bytes = sizeof(struct trace_blob) + nops * sizeof(*ops) + nids * sizeof(uint64_t);
	t->fd = memfd_create("memlane-bench-trace", 0); /* inherited by the children, through exec */
	if (t->fd < 0 || ftruncate(t->fd, (off_t)bytes) != 0)
		die_errno("memfd_create");
	unsigned char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (m == MAP_FAILED)
		die_errno("mmap of the memfd");
	*(struct trace_blob *)(void *)m = (struct trace_blob){BLOB_MAGIC, nops, nids, peak}; /* mmap: page-aligned */
	memcpy(m + sizeof(struct trace_blob), ops, nops * sizeof(*ops));
	uint64_t *fin = (uint64_t *)(void *)(m + sizeof(struct trace_blob) + nops * sizeof(*ops));
	for (size_t i = 0; i < nids; i++)
		fin[i] = sz[i] == FREED || sz[i] == 0 ? FREED : sz[i] - 1;
	munmap(m, bytes);
	t->nops = nops;
	t->nids = nids;
	t->peak_live = peak;
	rc = 0;
out:
	munmap(ops, cap * sizeof(*ops));
	munmap(sz, idcap * sizeof(*sz));
	return rc;
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

/* ---- workload 1: trace replay ------------------------------------------ */

/* A sanitizer's runtime must come first in the library list: a
 * preloaded malloc cannot go before it, so a sanitizer build replays
 * through memlane and glibc only. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* The allocators a trace is replayed through. */
enum alloc_kind { AL_MEMLANE, AL_GLIBC, AL_JEMALLOC, AL_MIMALLOC, AL_N };
static const char *const alloc_names[AL_N] = {"memlane", "glibc", "jemalloc", "mimalloc"};
/* The shared object preloaded for each peer; NULL: none (absent, or
 * not a preloaded peer). */
static const char *alloc_so[AL_N];
static char self_exe[PATH_MAX];

/* Find libjemalloc.so.2 and libmimalloc.so.2 where Debian and the
 * usual prefixes put them; $MEMLANE_BENCH_JEMALLOC and
 * $MEMLANE_BENCH_MIMALLOC name another file. */
static void find_peers(void)
{
	static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
	                                   "/usr/lib", "/usr/local/lib"};
	static const char *const files[AL_N] = {NULL, NULL, "libjemalloc.so.2", "libmimalloc.so.2"};
	static const char *const env[AL_N] = {NULL, NULL, "MEMLANE_BENCH_JEMALLOC", "MEMLANE_BENCH_MIMALLOC"};
	static char paths[AL_N][PATH_MAX];
	if (SANITIZED)
		return;
	for (int k = AL_JEMALLOC; k < AL_N; k++) {
		const char *e = getenv(env[k]);
		if (e && *e) {
			if (access(e, R_OK) == 0)
				alloc_so[k] = e;
			continue;
		}
		for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && !alloc_so[k]; d++) {
			snprintf(paths[k], sizeof(paths[k]), "%s/%s", dirs[d], files[k]);
			if (access(paths[k], R_OK) == 0)
				alloc_so[k] = paths[k];
		}
	}
}


static int have_alloc(int k)
{
	return k == AL_MEMLANE || k == AL_GLIBC || alloc_so[k];
}

/* Write one byte in every page of an object (at each 4 KiB step and its
 * last byte), as a program initialising what it gets does. */
static inline void touch(unsigned char *c, uint64_t size, unsigned char v)
{
	for (uint64_t o = 0; o < size; o += 4096)
		c[o] = v;
	if (size)
		c[size - 1] = v;
	sink(c);
}

/* Whether the bytes touch() wrote are still there. */
static int touched(const unsigned char *c, uint64_t size, unsigned char v)
{
	for (uint64_t o = 0; o < size; o += 4096)
		if (c[o] != v)
			return 0;
	return !size || c[size - 1] == v;
}

/* One replaying thread of a child. */
struct replayer {
	const struct op *ops;
	const uint64_t *fin;
	size_t nops, nids;
	int kind, nthreads;
	memlane_arena *a;
	memlane_handle *h; /* memlane */
	void **p;          /* the others */
	unsigned char salt; /* thread number, mixed into the bytes written */
	int ok;
};

/* Under one thread the bytes are written through memlane_get's pointer;
 * with several, another thread's allocation may move the object while
 * it is written (memlane(3): the pointer lasts until the next call on
 * the arena from any thread), so the write is made between memlane_pin
 * and memlane_unpin, as the contract asks. */
static void ml_touch(struct replayer *r, memlane_handle h, uint64_t size, unsigned char v)
{
	void *p;
	int rc;
	if (r->nthreads == 1) {
		if (!(p = memlane_get(r->a, h)))
			die("memlane_get", MEMLANE_EHANDLE);
		touch(p, size, v);
		return;
	}
	if ((rc = memlane_pin(r->a, h, &p)) != 0)
		die("memlane_pin", rc);
	touch(p, size, v);
	if ((rc = memlane_unpin(r->a, h)) != 0)
		die("memlane_unpin", rc);
}

static void *replay_memlane(void *arg)
{
	struct replayer *r = arg;
	memlane_handle *h = r->h;
	int rc;
	for (size_t i = 0; i < r->nops; i++) {
		const struct op *o = &r->ops[i];
		unsigned char v = (unsigned char)(o->id + r->salt);
		switch (o->kind) {
		case 'a':
			if ((rc = memlane_alloc(r->a, o->size, &h[o->id])) != 0)
				die("memlane_alloc", rc);
			ml_touch(r, h[o->id], o->size, v);
			break;
		case 'r':
			if ((rc = memlane_realloc(r->a, h[o->id], o->size)) != 0)
				die("memlane_realloc", rc);
			ml_touch(r, h[o->id], o->size, v);
			break;
		default:
			if ((rc = memlane_free(r->a, h[o->id])) != 0)
				die("memlane_free", rc);
			h[o->id] = MEMLANE_NULL;
		}
	}
	return NULL;
}

static void *replay_malloc(void *arg)
{
	struct replayer *r = arg;
	void **p = r->p;
	for (size_t i = 0; i < r->nops; i++) {
		const struct op *o = &r->ops[i];
		unsigned char v = (unsigned char)(o->id + r->salt);
		switch (o->kind) {
		case 'a':
			if (!(p[o->id] = malloc(o->size)) && o->size)
				die("malloc", MEMLANE_ENOMEM);
			touch(p[o->id], o->size, v);
			break;
		case 'r': {
			void *q = realloc(p[o->id], o->size); /* size 0: glibc frees and returns NULL */
			if (!q && o->size)
				die("realloc", MEMLANE_ENOMEM);
			p[o->id] = q;
			touch(q, o->size, v);
			break;
		}
		default:
			free(p[o->id]);
			p[o->id] = NULL;
		}
	}
	return NULL;
}

/* After the timing: every object the trace leaves live must have the
 * size and the bytes it was given, wherever the allocator moved it. */
static int replay_check(struct replayer *r)
{
	for (size_t i = 0; i < r->nids; i++) {
		uint64_t size = r->fin[i];
		unsigned char v = (unsigned char)(i + r->salt);
		if (size == FREED)
			continue;
		if (r->kind == AL_MEMLANE) {
			const unsigned char *p = memlane_get_ro(r->a, r->h[i]);
			if (!p || memlane_size(r->a, r->h[i]) != size || !touched(p, size, v))
				return -1;
		} else if (size && !touched(r->p[i], size, v)) {
			return -1;
		}
	}
	return 0;
}

/* Whether the malloc in use is the allocator @kind: jemalloc exports
 * mallctl, mimalloc mi_version, glibc neither. */
static int alloc_is(int kind)
{
	int je = dlsym(RTLD_DEFAULT, "mallctl") != NULL, mi = dlsym(RTLD_DEFAULT, "mi_version") != NULL;
	return kind == AL_JEMALLOC ? je && !mi : kind == AL_MIMALLOC ? mi && !je : !je && !mi;
}

/* The --replay-child mode: replay the trace in memfd @fd through
 * allocator @kind in @nthreads threads, each with its own objects (on
 * one arena for memlane); print "NS_PER_OP HEAP_GROWTH_KIB
 * HWM_GROWTH_KIB" on stdout. HWM_GROWTH is VmHWM minus VmRSS just
 * before the replay, with the trace and the handle or pointer arrays
 * already resident (they are mapped, not malloc'd). HEAP_GROWTH leaves
 * out the file and shared pages that came in meanwhile: code paged in
 * by the first calls into libmemlane and the libc functions it uses
 * (memlane_open alone faults in 200-400 KiB of them), which the peers
 * paid for at process start, when their malloc first ran. So it is the
 * peak of the allocator's heap, its mappings and tables included. As
 * VmHWM less the file and shared pages at its reading, it can only
 * fall short of that peak by the file pages mapped after it. */
static int replay_child(int kind, int nthreads, int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		die_errno("fstat of the trace memfd");
	const unsigned char *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die_errno("mmap of the trace memfd");
	const struct trace_blob *b = (const void *)m;
	if (b->magic != BLOB_MAGIC) {
		fprintf(stderr, PROG ": --replay-child: fd %d is not a trace\n", fd);
		return 2;
	}
	if (!alloc_is(kind)) {
		fprintf(stderr, PROG ": --replay-child: malloc is not %s (LD_PRELOAD=%s)\n", alloc_names[kind],
		        getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
		return 2;
	}
	struct replayer r[MAXTHREADS];
	const struct op *ops = (const void *)(m + sizeof(*b));
	const uint64_t *fin = (const void *)(m + sizeof(*b) + b->nops * sizeof(struct op));
	size_t arr = b->nids * sizeof(void *);
	/* Resident before the baseline is read: the trace and the arrays. */
	volatile unsigned char acc = 0;
	for (size_t o = 0; o < (size_t)sb.st_size; o += 4096)
		acc = (unsigned char)(acc + m[o]);
	for (int t = 0; t < nthreads; t++) {
		r[t] = (struct replayer){ops, fin, b->nops, b->nids, kind, nthreads, NULL, NULL, NULL, (unsigned char)(t * 97), 0};
		if (kind == AL_MEMLANE)
			r[t].h = map_touched(arr);
		else
			r[t].p = map_touched(arr);
	}
	reset_hwm();
	long rss0 = status_kib("VmRSS"), fs0 = file_shmem_kib();
	memlane_arena *a = NULL;
	if (kind == AL_MEMLANE) {
		a = open_arena(NULL, TRACE_OPTIONS);
		for (int t = 0; t < nthreads; t++)
			r[t].a = a;
	}
	double s = run_team(nthreads, kind == AL_MEMLANE ? replay_memlane : replay_malloc, r, sizeof(r[0]));
	long hwm = status_kib("VmHWM"), fs1 = file_shmem_kib();
	int ok = 1;
	for (int t = 0; t < nthreads; t++)
		if (replay_check(&r[t]) != 0) {
			fprintf(stderr, PROG ": %s replay: a live object lost its size or bytes\n", alloc_names[kind]);
			ok = 0;
		}
	/* What the trace leaves live is freed, as the replayer's job
	 * (shared/data/README.md): untimed, after the peak is read. */
	for (int t = 0; t < nthreads; t++)
		for (size_t i = 0; kind != AL_MEMLANE && i < b->nids; i++)
			free(r[t].p[i]);
	if (a && memlane_close(a) != 0)
		die("memlane_close", MEMLANE_EINVAL);
	if (!ok)
		return 1;
	printf("%.6f %ld %ld\n", s * 1e9 / (double)(b->nops * (size_t)nthreads), (hwm - fs1) - (rss0 - fs0),
	       hwm - rss0);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Run one replay in a new process: this program, executed again in its
 * --replay-child mode, with the peer preloaded. 0 and the figures, or -1. */
static int replay_run(const struct trace *t, int kind, int nthreads, double *ns_op, double *growth_kib,
                      double *hwm_kib)
{
	int fd[2];
	char kbuf[16], tbuf[16], fbuf[16];
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
		if (dup2(fd[1], 1) < 0)
			_exit(127);
		if (alloc_so[kind])
			setenv("LD_PRELOAD", alloc_so[kind], 1);
		else
			unsetenv("LD_PRELOAD");
		snprintf(kbuf, sizeof(kbuf), "%d", kind);
		snprintf(tbuf, sizeof(tbuf), "%d", nthreads);
		snprintf(fbuf, sizeof(fbuf), "%d", t->fd);
		execl(self_exe, PROG, "--replay-child", kbuf, tbuf, fbuf, (char *)NULL);
		fprintf(stderr, PROG ": exec %s: %s\n", self_exe, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	char out[128];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd[0], out + got, sizeof(out) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = 0;
	close(fd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || sscanf(out, "%lf %lf %lf", ns_op, growth_kib, hwm_kib) != 3)
		return -1;
	return 0;
}

/* Replay @t S.reps times through each allocator in @nthreads threads,
 * rotating which goes first; rows of the medians. */
static void trace_rows(const char *wl, struct trace *t, int nthreads)
{
	double ns[AL_N][MAXREPS], rss[AL_N][MAXREPS], hwm[AL_N][MAXREPS], mns[AL_N], mrss[AL_N], mhwm[AL_N];
	char metric[160], note[160], pre[24] = "";
	if (nthreads > 1)
		snprintf(pre, sizeof(pre), "%d threads, ", nthreads);
	progress("%s: %s, %zu ops, %d thread%s", wl, t->name, t->nops, nthreads, nthreads > 1 ? "s" : "");
	for (int k = 0; k < S.reps; k++)
		for (int j = 0; j < AL_N; j++) {
			int kind = (j + k) % AL_N;
			if (!have_alloc(kind))
				continue;
			if (replay_run(t, kind, nthreads, &ns[kind][k], &rss[kind][k], &hwm[kind][k]) != 0) {
				fprintf(stderr, PROG ": %s: the %s replay failed\n", t->path, alloc_names[kind]);
				failures++;
				return;
			}
		}
	for (int kind = 0; kind < AL_N; kind++)
		if (have_alloc(kind)) {
			mns[kind] = median(ns[kind], S.reps);
			mrss[kind] = median(rss[kind], S.reps) / 1024; /* MiB */
			mhwm[kind] = median(hwm[kind], S.reps) / 1024;
		}
	for (int kind = AL_GLIBC; kind < AL_N; kind++) {
		if (!have_alloc(kind))
			continue;
		snprintf(metric, sizeof(metric), "%s: %stime vs %s", t->name, pre, alloc_names[kind]);
		row_add(wl, metric, "ns/op", mns[0], mns[kind], mns[0] / mns[kind], kind == AL_JEMALLOC ? GOAL_NONE : GOAL_LE,
		        1.0, "wall time over all threads' ops; each op writes a byte in every page it gets");
	}
	int best = AL_GLIBC;
	int w = snprintf(note, sizeof(note), "anonymous peak, MiB:");
	for (int kind = AL_GLIBC; kind < AL_N; kind++)
		if (have_alloc(kind)) {
			if (mrss[kind] < mrss[best])
				best = kind;
			if (w > 0 && (size_t)w < sizeof(note))
				w += snprintf(note + w, sizeof(note) - (size_t)w, " %s %.2f", alloc_names[kind], mrss[kind]);
		}
	/* The same with the file pages paged in meanwhile (see replay_child). */
	if (w > 0 && (size_t)w < sizeof(note))
		w += snprintf(note + w, sizeof(note) - (size_t)w, "; VmHWM growth, file pages too:");
	for (int kind = 0; kind < AL_N; kind++)
		if (have_alloc(kind) && w > 0 && (size_t)w < sizeof(note))
			w += snprintf(note + w, sizeof(note) - (size_t)w, " %s %.2f", alloc_names[kind], mhwm[kind]);
	snprintf(metric, sizeof(metric), "%s: %speak anonymous RSS vs smallest peer (%s)", t->name, pre, alloc_names[best]);
	row_add(wl, metric, "MiB", mrss[0], mrss[best], mrss[0] / mrss[best], GOAL_LE, 1.0, note);
	double live = (double)t->peak_live * nthreads / (double)MiB;
	snprintf(metric, sizeof(metric), "%s: %speak anonymous RSS vs peak live bytes", t->name, pre);
	row_add(wl, metric, "MiB", mrss[0], live, mrss[0] / live, GOAL_LE, 1.15 + 1.0 / live,
	        "goal: <= 1.15 x live + 1 MiB; live bytes computed from the trace (x threads)");
}

static struct trace traces[MAXTRACES];
static size_t ntraces;
static int traces_loaded;

/* Parse every trace once, into its memfd. */
static void traces_load(void)
{
	if (traces_loaded++)
		return;
	if (!ntraces)
		ntraces = default_traces(traces, MAXTRACES);
	if (!ntraces)
		note_add("traces: no *.trace.zst in shared/data/traces beside the checkout and no -t: trace replay skipped");
	for (int k = AL_JEMALLOC; k < AL_N; k++)
		if (SANITIZED)
			note_add("traces: %s skipped: a sanitizer build cannot preload another malloc", alloc_names[k]);
		else if (!alloc_so[k])
			note_add("traces: %s not found (Debian: lib%s-dev, or set MEMLANE_BENCH_%s): skipped", alloc_names[k],
			         alloc_names[k], k == AL_JEMALLOC ? "JEMALLOC" : "MIMALLOC");
	for (size_t i = 0; i < ntraces; i++) {
		struct trace *t = &traces[i];
		const char *base = strrchr(t->path, '/') ? strrchr(t->path, '/') + 1 : t->path;
		size_t n = strcspn(base, ".");
		snprintf(t->name, sizeof(t->name), "%.*s", (int)(n ? n : strlen(base)), base);
		t->fd = -1;
		if (trace_load(t, S.trace_ops) != 0) {
			failures++;
			continue;
		}
		if (S.trace_ops && t->nops == S.trace_ops)
			note_add("traces: %s: the first %zu operations only (--%s)", t->name, t->nops, S.name);
	}
}

static void run_traces(const char *wl, int nthreads)
{
	traces_load();
	for (size_t i = 0; i < ntraces; i++)
		if (traces[i].fd >= 0)
			trace_rows(wl, &traces[i], nthreads);
}

/* ---- workload 2: resident access --------------------------------------- */

/* S.access_n objects of 64 bytes, each both a memlane object (one set
 * in the FastLane of one arena, one in the SlowLane of another, so each
 * handle table holds S.access_n handles as the pointer array holds
 * S.access_n pointers) and a malloc'd twin, visited in
 * one random order (a precomputed permutation): memlane_get and a load
 * of the first 8 bytes against a load of the pointer from an array and
 * the same 8-byte load. Nothing allocates while they run, so the
 * pointers memlane_get returns stay good with several threads too. */
#define ACCESS_SIZE 64

static struct {
	memlane_arena *a[2];  /* [0] FastLane, [1] SlowLane */
	memlane_handle *h[2];
	void **ptrs;
	uint32_t *perm;
	size_t n;
} AC;

struct access_arg {
	int lane;   /* 0, 1: memlane's lanes; 2: raw pointers */
	size_t start; /* where in the permutation this thread begins */
	uint64_t sum;
};

static void *access_thread(void *p)
{
	struct access_arg *x = p;
	const uint32_t *perm = AC.perm;
	size_t n = AC.n;
	uint64_t acc = 0, v;
	for (size_t r = 0; r < S.access_rounds; r++)
		for (size_t i = 0, k = x->start; i < n; i++, k = k + 1 == n ? 0 : k + 1) {
			const void *q = x->lane == 2 ? AC.ptrs[perm[k]] : memlane_get(AC.a[x->lane], AC.h[x->lane][perm[k]]);
			memcpy(&v, q, sizeof(v));
			acc += v;
		}
	x->sum = acc;
	return NULL;
}

static void access_setup(void)
{
	static const memlane_alloc_opts slow = {MEMLANE_SLOW, 0, 0};
	int rc;
	AC.n = S.access_n;
	for (int l = 0; l < 2; l++)
		AC.a[l] = open_arena(NULL, "fast_lane_size=128M,slow_lane_size=256M");
	AC.perm = xmalloc(AC.n * sizeof(*AC.perm));
	for (uint32_t i = 0; i < AC.n; i++)
		AC.perm[i] = i;
	for (size_t i = AC.n - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() % (i + 1));
		uint32_t t = AC.perm[i];
		AC.perm[i] = AC.perm[j];
		AC.perm[j] = t;
	}
	for (int l = 0; l < 2; l++)
		AC.h[l] = xmalloc(AC.n * sizeof(memlane_handle));
	AC.ptrs = xmalloc(AC.n * sizeof(*AC.ptrs));
	/* Interleaved, as a program would make them. */
	for (size_t i = 0; i < AC.n; i++) {
		if ((rc = memlane_alloc(AC.a[0], ACCESS_SIZE, &AC.h[0][i])) != 0 ||
		    (rc = memlane_alloc_ex(AC.a[1], ACCESS_SIZE, &slow, &AC.h[1][i])) != 0)
			die("memlane_alloc", rc);
		AC.ptrs[i] = xmalloc(ACCESS_SIZE);
		memset(AC.ptrs[i], (int)i, ACCESS_SIZE);
		for (int l = 0; l < 2; l++) {
			void *p = memlane_get(AC.a[l], AC.h[l][i]);
			if (!p)
				die("memlane_get", MEMLANE_EHANDLE);
			memset(p, (int)i, ACCESS_SIZE);
		}
	}
	if (memlane_handle_state(AC.a[0], AC.h[0][AC.n - 1]) != MEMLANE_STATE_FAST ||
	    memlane_handle_state(AC.a[1], AC.h[1][0]) != MEMLANE_STATE_SLOW) {
		fprintf(stderr, PROG ": access: objects are not in the lanes expected (MEMLANE_OPTIONS?)\n");
		exit(2);
	}
}

static void access_teardown(void)
{
	memlane_close(AC.a[0]);
	memlane_close(AC.a[1]);
	for (size_t i = 0; i < AC.n; i++)
		free(AC.ptrs[i]);
	free(AC.ptrs);
	free(AC.h[0]);
	free(AC.h[1]);
	free(AC.perm);
	memset(&AC, 0, sizeof(AC));
}

/* M accesses a second of @lane in @nthreads threads, each starting at
 * its own place in the permutation. */
static double access_once(int lane, int nthreads)
{
	struct access_arg x[MAXTHREADS];
	if (nthreads < 1 || nthreads > MAXTHREADS)
		nthreads = MAXTHREADS;
	for (int t = 0; t < nthreads; t++)
		x[t] = (struct access_arg){lane, AC.n / (size_t)nthreads * (size_t)t, 0};
	double s = run_team(nthreads, access_thread, x, sizeof(x[0]));
	return (double)(AC.n * S.access_rounds * (size_t)nthreads) / s / 1e6;
}

static void run_access(const char *wl, int nthreads)
{
	double v[3][MAXREPS];
	char metric[160], pre[24] = "";
	if (nthreads > 1)
		snprintf(pre, sizeof(pre), "%d threads, ", nthreads);
	progress("%s: %zu resident handles, %d thread%s", wl, S.access_n, nthreads, nthreads > 1 ? "s" : "");
	access_setup();
	for (int l = 0; l < 3; l++)
		access_once(l, nthreads); /* warm up: caches, TLB, branch predictors */
	for (int k = 0; k < S.reps; k++)
		for (int j = 0; j < 3; j++) {
			int l = (j + k) % 3;
			v[l][k] = access_once(l, nthreads);
		}
	double raw = median(v[2], S.reps);
	for (int l = 0; l < 2; l++) {
		double ml = median(v[l], S.reps);
		snprintf(metric, sizeof(metric), "%smemlane_get, %s, random of %zu", pre, l ? "SlowLane" : "FastLane",
		         S.access_n);
		row_add(wl, metric, "M/s", ml, raw, ml / raw, GOAL_GE, 0.6,
		        "memlane_get + 8-byte load vs pointer array + 8-byte load; 64 B objects");
	}
	access_teardown();
}

/* ---- scratch directories ------------------------------------------------ */

static char scratch_root[PATH_MAX]; /* removed at exit */

/* @dir/@name in @out (PATH_MAX bytes). -1 when it does not fit. */
static int path_fits(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

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
static void scratch_cleanup(void)
{
	if (!scratch_root[0])
		return;
	DIR *d = opendir(scratch_root);
	struct dirent *e;
	char path[PATH_MAX], file[PATH_MAX];
	while (d && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (path_fits(path, scratch_root, e->d_name) != 0)
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
	rmdir(scratch_root);
	scratch_root[0] = 0;
}

/* A new, empty directory @name for one store, in the scratch directory
 * (made on first use in -d, $TMPDIR or /tmp). */
static void scratch_dir(char *out, const char *name)
{
	if (!scratch_root[0]) {
		const char *parent = tmp_parent;
		if (!parent && !((parent = getenv("TMPDIR")) && *parent))
			parent = "/tmp";
		path_join(scratch_root, parent, PROG "-XXXXXX");
		if (!mkdtemp(scratch_root)) {
			fprintf(stderr, PROG ": mkdtemp %s: %s\n", scratch_root, strerror(errno));
			scratch_root[0] = 0;
			exit(2);
		}
		atexit(scratch_cleanup);
	}
	path_join(out, scratch_root, name);
	if (mkdir(out, 0700) != 0) {
		fprintf(stderr, PROG ": mkdir %s: %s\n", out, strerror(errno));
		exit(2);
	}
}

/* Remove the files of the store in @dir and @dir. */
static void scratch_dir_remove(const char *dir)
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

/* ---- realistic object contents ------------------------------------------ */

/* One third each: English-like text, JSON-like records, binary records
 * (ids counting up, small counters, flags, doubles, pointer-like words).
 * zstd shrinks them about as it shrinks such data in a real heap: the
 * text and JSON 3-5x, the binary records less than 2x. */
static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
	"not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you",
	"were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will",
	"would", "who", "so", "no", "memory", "object", "handle", "lane", "page", "store", "record", "thread",
	"allocation", "compaction", "process", "system", "program", "value", "result"};

static size_t gen_text(unsigned char *o, size_t size, uint64_t seed)
{
	size_t n = 0, nw = sizeof(words) / sizeof(words[0]);
	int cap = 1;
	while (n < size) {
		uint64_t r = mix64(seed++);
		size_t w = (size_t)((r & 0xffff) * (r >> 16 & 0xffff) >> 16) % nw; /* skewed to the common words */
		char buf[32];
		int k = snprintf(buf, sizeof(buf), "%s%s", words[w], (r >> 40) % 11 == 0 ? ". " : (r >> 40) % 7 == 0 ? ", " : " ");
		if (cap && buf[0] >= 'a')
			buf[0] = (char)(buf[0] - 32);
		cap = buf[k - 2] == '.';
		for (int i = 0; i < k && n < size; i++)
			o[n++] = (unsigned char)buf[i];
	}
	return n;
}

static size_t gen_json(unsigned char *o, size_t size, uint64_t seed)
{
	static const char *const tags[] = {"red", "green", "blue", "admin", "beta", "eu", "us", "mobile"};
	size_t n = 0;
	while (n < size) {
		uint64_t r = mix64(seed), id = 100000 + seed % 900000;
		char buf[320];
		int k = snprintf(buf, sizeof(buf),
		                 "{\"id\":%llu,\"user\":\"user%05llu\",\"email\":\"user%05llu@example.com\",\"score\":%.3f,"
		                 "\"active\":%s,\"tags\":[\"%s\",\"%s\"],\"created\":\"2026-%02d-%02dT%02d:%02d:%02dZ\","
		                 "\"visits\":%u}%s",
		                 (unsigned long long)id, (unsigned long long)(r % 50000), (unsigned long long)(r % 50000),
		                 (double)(r >> 40) / 1048.576, (r >> 8) & 1 ? "true" : "false", tags[(r >> 9) % 8],
		                 tags[(r >> 12) % 8], (int)(r >> 16) % 12 + 1, (int)(r >> 20) % 28 + 1, (int)(r >> 24) % 24,
		                 (int)(r >> 28) % 60, (int)(r >> 34) % 60, (unsigned)(r >> 44) % 1000, ",\n");
		seed++;
		for (int i = 0; i < k && n < size; i++)
			o[n++] = (unsigned char)buf[i];
	}
	return n;
}

static size_t gen_binary(unsigned char *o, size_t size, uint64_t seed)
{
	size_t n = 0;
	for (uint64_t k = 0; n < size; k++) {
		uint64_t r = mix64(seed + k);
		struct {
			uint64_t id;
			uint32_t count, flags;
			double value;
			uint64_t ptr;
		} rec = {seed * 1000 + k, (uint32_t)(r % 1000), (uint32_t)(r >> 20) & 0x13,
		         1000.0 * sin((double)k / 50.0) + (double)(r >> 44) / 1e6, 0x00007f3a12000000u + (r >> 48) * 64};
		size_t c = size - n < sizeof(rec) ? size - n : sizeof(rec);
		memcpy(o + n, &rec, c);
		n += c;
	}
	return n;
}

/* Object @i of @size bytes into @o. */
static void gen_object(unsigned char *o, size_t size, size_t i)
{
	uint64_t seed = mix64(i) >> 16;
	if (i % 3 == 0)
		gen_text(o, size, seed);
	else if (i % 3 == 1)
		gen_json(o, size, seed);
	else
		gen_binary(o, size, seed);
}

/* @n objects of @size bytes one after the other, in mapped memory. */
static unsigned char *gen_objects(size_t size, size_t n)
{
	unsigned char *objs = grow_map(NULL, 0, size * n);
	for (size_t i = 0; i < n; i++)
		gen_object(objs + i * size, size, i);
	return objs;
}

/* ---- workloads 3, 4 and 7: spill, fault-in, compression ratio ------------ */

/* The pager's two paths against the pipeline they are built from, on
 * the same objects in the same run: memlane_flush of an arena holding
 * every object (evict everything) against ZSTD_compressCCtx + mdb_put,
 * SPILL_BATCH records a write transaction as the pager batches, into a
 * fresh LMDB environment with MDB_NOSYNC as a persist=0 store has; and a
 * fault-in (memlane_prefetch) against mdb_get + ZSTD_decompressDCtx in
 * a read transaction. */

#define SPILL_BATCH 512   /* records a write transaction */
#define RAW_MAP ((size_t)16 << 30) /* address space only; the file grows as written */

static void mdb_die(const char *call, int rc) __attribute__((noreturn));
static void mdb_die(const char *call, int rc)
{
	fprintf(stderr, PROG ": %s: %d %s\n", call, rc, mdb_strerror(rc));
	exit(2);
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
	cfg.slow_lane_size = ((bytes + bytes / 2) & ~(MiB - 1)) + 32 * MiB;
	cfg.persist = 0;
	if ((rc = memlane_open(&a, dir, &cfg)) != 0)
		die("memlane_open", rc);
	return a;
}

/* Fill an arena in @dir with the @n objects, then time memlane_flush.
 * The arena stays open in *@keep (handles in @h) when @keep is given. */
static struct span spill_ml(const char *dir, const unsigned char *objs, size_t size, size_t n, memlane_handle *h,
                            memlane_arena **keep)
{
	static const memlane_alloc_opts slow = {MEMLANE_SLOW, 0, 0};
	memlane_arena *a = spill_arena(dir, size * n);
	memlane_stats st;
	int rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = memlane_alloc_ex(a, size, &slow, &h[i])) != 0 ||
		    (rc = memlane_write(a, h[i], 0, objs + i * size, size)) != 0)
			die("memlane_alloc_ex/memlane_write", rc);
	stats_or_die(a, &st);
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
	stats_or_die(a, &st);
	if (st.spilled_objects != n || st.spilled_bytes != (uint64_t)n * size) {
		fprintf(stderr, PROG ": memlane_flush spilled %llu of %zu objects\n", (unsigned long long)st.spilled_objects, n);
		exit(2);
	}
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

/* Open the environment in @dir: a new one (@rdonly 0) or, read-only,
 * the one an arena writes. */
static void raw_open(struct raw_store *r, const char *dir, int rdonly)
{
	MDB_txn *t;
	int rc;
	if ((rc = mdb_env_create(&r->env)) != 0)
		mdb_die("mdb_env_create", rc);
	mdb_env_set_maxdbs(r->env, 8);
	if (!rdonly && (rc = mdb_env_set_mapsize(r->env, RAW_MAP)) != 0)
		mdb_die("mdb_env_set_mapsize", rc);
	if ((rc = mdb_env_open(r->env, dir, rdonly ? MDB_RDONLY | MDB_NOTLS : MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS,
	                       0600)) != 0)
		mdb_die("mdb_env_open", rc);
	if ((rc = mdb_txn_begin(r->env, NULL, rdonly ? MDB_RDONLY : 0, &t)) != 0 ||
	    (rc = mdb_dbi_open(t, "objects", rdonly ? 0 : MDB_CREATE, &r->dbi)) != 0 || (rc = mdb_txn_commit(t)) != 0)
		mdb_die("opening the objects database", rc);
}

/* Bytes of the values of the objects database of @r. */
static uint64_t raw_value_bytes(struct raw_store *r)
{
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t n = 0;
	int rc;
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &t)) != 0 || (rc = mdb_cursor_open(t, r->dbi, &c)) != 0)
		mdb_die("mdb_cursor_open", rc);
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0)
		n += v.mv_size;
	if (rc != MDB_NOTFOUND)
		mdb_die("mdb_cursor_get", rc);
	mdb_cursor_close(c);
	mdb_txn_abort(t);
	return n;
}

/* The bytes of the records an open arena keeps in @dir, counted through
 * LMDB read-only as memlane-dump reads a live store: in a child
 * process, as LMDB wants each environment opened once a process. */
static uint64_t store_value_bytes(const char *dir)
{
	int fd[2];
	uint64_t n = 0;
	if (pipe(fd) != 0)
		die_errno("pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		struct raw_store r;
		close(fd[0]);
		raw_open(&r, dir, 1);
		n = raw_value_bytes(&r);
		_exit(write(fd[1], &n, sizeof(n)) == (ssize_t)sizeof(n) ? 0 : 1);
	}
	close(fd[1]);
	ssize_t got = read(fd[0], &n, sizeof(n));
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (got != (ssize_t)sizeof(n) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, PROG ": could not count the records in %s\n", dir);
		exit(2);
	}
	return n;
}

/* Compress the @n objects (@level < 0: do not) and put them into a new
 * environment in @dir, SPILL_BATCH a transaction; timed. An object
 * zstd cannot shrink is stored as it is, as the pager does. */
static struct span spill_raw(const char *dir, const unsigned char *objs, size_t size, size_t n, int level,
                             struct raw_store *keep)
{
	struct raw_store r;
	size_t cap = ZSTD_compressBound(size);
	unsigned char *z = xmalloc(cap);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	MDB_txn *t;
	int rc;
	if (!cctx)
		die("ZSTD_createCCtx", MEMLANE_ENOMEM);
	raw_open(&r, dir, 0);
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

/* Fault-in latencies: S.fault_samples random objects, each faulted in
 * by memlane_prefetch (then evicted again, clean, untimed) and by the
 * raw pipeline, alternating which goes first. The bytes of both are
 * checked against the object's, outside the timing. */
static void spill_faults(memlane_arena *a, const memlane_handle *h, struct raw_store *r, const unsigned char *objs,
                         size_t size, size_t n, struct span *ml, struct span *raw)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	unsigned char *dst = xmalloc(size);
	memlane_stats st0, st1;
	int rc;
	if (!dctx)
		die("ZSTD_createDCtx", MEMLANE_ENOMEM);
	stats_or_die(a, &st0);
	for (size_t s = 0; s < S.fault_samples; s++) {
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
			if ((rc = memlane_evict(a, h[i])) != 0)
				die("memlane_evict", rc);
		}
	}
	stats_or_die(a, &st1);
	if (st1.faults - st0.faults != S.fault_samples || st1.dirty_evictions != st0.dirty_evictions)
		note_add("faultin: %llu faults for %zu prefetches, %llu dirty evictions of objects only read",
		         (unsigned long long)(st1.faults - st0.faults), S.fault_samples,
		         (unsigned long long)(st1.dirty_evictions - st0.dirty_evictions));
	ZSTD_freeDCtx(dctx);
	free(dst);
}

/* Sorted fault-in latencies in microseconds, for the plot: [size][side]. */
static double *lat_sorted[2][2];
static size_t lat_n;

/* @sp's wall (or, @cpu, thread CPU) times in us into @out, sorted. */
static void span_sorted(const struct span *sp, size_t n, int cpu, double *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (cpu ? sp[i].cpu : sp[i].wall) * 1e6;
	qsort(out, n, sizeof(*out), cmp_double);
}

/* The zstd level the arenas use, MEMLANE_OPTIONS included; -1: none. */
static int arena_level(void)
{
	memlane_config cfg;
	memlane_config_init(&cfg);
	if (getenv("MEMLANE_OPTIONS"))
		memlane_config_parse(&cfg, getenv("MEMLANE_OPTIONS"));
	return cfg.compression == MEMLANE_COMPRESSION_ZSTD ? cfg.compression_level : -1;
}

/* zstd's bytes for the @n objects compressed one by one at @level. */
static uint64_t zstd_bytes(const unsigned char *objs, size_t size, size_t n, int level)
{
	size_t cap = ZSTD_compressBound(size);
	unsigned char *z = xmalloc(cap);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	uint64_t sum = 0;
	if (!cctx)
		die("ZSTD_createCCtx", MEMLANE_ENOMEM);
	for (size_t i = 0; i < n; i++) {
		size_t c = ZSTD_compressCCtx(cctx, z, cap, objs + i * size, size, level < 0 ? 0 : level);
		if (ZSTD_isError(c))
			die("ZSTD_compressCCtx", MEMLANE_EINVAL);
		sum += c;
	}
	ZSTD_freeCCtx(cctx);
	free(z);
	return sum;
}

/* One object size: the flush S.reps times each side (once when only the
 * store is wanted), alternating which goes first, each into a new
 * store; then, on the last two stores, the fault-ins and the sizes. */
static void spill_size(int si, size_t size, int do_spill, int do_fault, int do_ratio)
{
	size_t n = (S.spill_mib * MiB) / size;
	int level = arena_level(), reps = do_spill ? S.reps : 1;
	unsigned char *objs = gen_objects(size, n);
	memlane_handle *h = xmalloc(n * sizeof(*h));
	double ml[MAXREPS], raw[MAXREPS], mlc[MAXREPS], rawc[MAXREPS];
	memlane_arena *a = NULL;
	struct raw_store r;
	char mdir[PATH_MAX], rdir[PATH_MAX], metric[96], note[160];
	progress("spill/faultin/ratio: %zu KiB objects, %zu MiB", size >> 10, S.spill_mib);
	for (int k = 0; k < reps; k++) {
		int last = k == reps - 1;
		char name[64];
		snprintf(name, sizeof(name), "memlane-%zu-%d", size, k);
		scratch_dir(mdir, name);
		snprintf(name, sizeof(name), "raw-%zu-%d", size, k);
		scratch_dir(rdir, name);
		for (int w = 0; w < 2; w++) {
			struct span t;
			if ((w + k) % 2 == 0) {
				t = spill_ml(mdir, objs, size, n, h, last ? &a : NULL);
				ml[k] = t.wall;
				mlc[k] = t.cpu;
			} else {
				t = spill_raw(rdir, objs, size, n, level, last ? &r : NULL);
				raw[k] = t.wall;
				rawc[k] = t.cpu;
			}
		}
		if (!last) {
			scratch_dir_remove(mdir);
			scratch_dir_remove(rdir);
		}
	}
	double bytes = (double)size * (double)n;
	if (do_spill) {
		double m = bytes / median(ml, reps) / 1e6, b = bytes / median(raw, reps) / 1e6;
		snprintf(metric, sizeof(metric), "%zu KiB objects: memlane_flush vs zstd + mdb_put", size >> 10);
		snprintf(note, sizeof(note), "%zu MiB of text/JSON/binary objects; zstd level %d; %d records a txn", S.spill_mib,
		         level, SPILL_BATCH);
		row_add("spill", metric, "MB/s", m, b, m / b, GOAL_GE, 0.8, note);
		m = bytes / median(mlc, reps) / 1e6;
		b = bytes / median(rawc, reps) / 1e6;
		snprintf(metric, sizeof(metric), "%zu KiB objects: the same by thread CPU time", size >> 10);
		row_add("spill", metric, "MB/s", m, b, m / b, GOAL_NONE, 0, "what other processes' load does not skew");
	}
	if (do_fault) {
		struct span *mlf = xmalloc(2 * S.fault_samples * sizeof(*mlf)), *rawf = mlf + S.fault_samples;
		double *sm = xmalloc(S.fault_samples * sizeof(double)), *sr = xmalloc(S.fault_samples * sizeof(double));
		static const double qs[] = {0.5, 0.99, 0.999};
		static const char *const qn[] = {"median", "p99", "p99.9"};
		spill_faults(a, h, &r, objs, size, n, mlf, rawf);
		for (int cpu = 0; cpu < 2; cpu++) {
			span_sorted(mlf, S.fault_samples, cpu, sm);
			span_sorted(rawf, S.fault_samples, cpu, sr);
			for (int q = 0; q < (cpu ? 1 : 3); q++) {
				double m = quantile_sorted(sm, S.fault_samples, qs[q]), b = quantile_sorted(sr, S.fault_samples, qs[q]);
				snprintf(metric, sizeof(metric), "%zu KiB objects: fault-in %s%s", size >> 10, qn[q],
				         cpu ? " by thread CPU time" : "");
				row_add("faultin", metric, "us", m, b, m / b, q == 0 && !cpu ? GOAL_LE : GOAL_NONE, 1.3,
				        "memlane_prefetch vs mdb_get + ZSTD_decompressDCtx in a read txn");
			}
			if (!cpu) {
				lat_sorted[si][0] = sm;
				lat_sorted[si][1] = sr;
				lat_n = S.fault_samples;
				sm = xmalloc(S.fault_samples * sizeof(double));
				sr = xmalloc(S.fault_samples * sizeof(double));
			}
		}
		free(sm);
		free(sr);
		free(mlf);
	}
	if (do_ratio) {
		uint64_t zb = zstd_bytes(objs, size, n, level), mb = store_value_bytes(mdir);
		memlane_stats st;
		stats_or_die(a, &st);
		snprintf(metric, sizeof(metric), "%zu KiB objects: zstd bytes / memlane record bytes", size >> 10);
		snprintf(note, sizeof(note), "ratio = zstd / memlane; %zu objects of %zu MiB; zstd level %d, one frame each", n,
		         S.spill_mib, level);
		row_add("ratio", metric, "MB", (double)mb / 1e6, (double)zb / 1e6, (double)zb / (double)mb, GOAL_GE, 0.97,
		        note);
		mdb_env_close(r.env);
		r.env = NULL;
		uint64_t raw_pages = 0;
		{
			struct raw_store rr;
			raw_open(&rr, rdir, 0);
			MDB_txn *t;
			MDB_stat s;
			if (mdb_txn_begin(rr.env, NULL, MDB_RDONLY, &t) == 0) {
				if (mdb_stat(t, rr.dbi, &s) == 0)
					raw_pages = (uint64_t)(s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages) * s.ms_psize;
				mdb_txn_abort(t);
			}
			mdb_env_close(rr.env);
		}
		snprintf(metric, sizeof(metric), "%zu KiB objects: LMDB pages, memlane vs raw pipeline", size >> 10);
		row_add("ratio", metric, "MB", (double)st.store_bytes / 1e6, (double)raw_pages / 1e6,
		        (double)st.store_bytes / (double)raw_pages, GOAL_NONE, 0, "stats store_bytes vs mdb_stat of the raw store");
	}
	int rc = memlane_close(a);
	if (rc)
		die("memlane_close", rc);
	if (r.env)
		mdb_env_close(r.env);
	scratch_dir_remove(mdir);
	scratch_dir_remove(rdir);
	munmap(objs, size * n);
	free(h);
}

static void run_spill(int do_spill, int do_fault, int do_ratio)
{
	static const size_t sizes[] = {4096, 65536};
	char fsbuf[64], dir[PATH_MAX];
	scratch_dir(dir, "probe");
	note_add("spill: stores in %s (%s)", scratch_root, fs_name(dir, fsbuf, sizeof(fsbuf)));
	scratch_dir_remove(dir);
	for (int i = 0; i < 2; i++)
		spill_size(i, sizes[i], do_spill, do_fault, do_ratio);
}

/* ---- workload 5: larger than RAM ------------------------------------------ */

/* A data set 10x the lanes, of 4 KiB objects, read (90 %) and written
 * (10 %, the first 64 bytes) in a Zipf(LTR_ZIPF) order of popularity
 * whose ranks are shuffled over the objects. The hit ratio (accesses
 * that needed no fault-in, by the faults counter) is held against an
 * exact LRU simulated on the same sequence with the capacity of the
 * SlowLane's usable bytes (slow_lane_size less the safety margin the
 * allocator keeps free) in whole objects: what the lane could hold. The
 * first tenth of the sequence warms both up and is not counted. Reads
 * and writes go through memlane_read and memlane_write: with two
 * threads a memlane_get pointer could be evicted by the other thread. */
#define LTR_SIZE 4096
#define LTR_ZIPF 0.99
#define LTR_POOL 1024    /* distinct object contents, cycled */
#define LTR_WRITE 0x80000000u
#define RSS_MAX 200000   /* RSS samples kept */

static struct {
	memlane_arena *a;
	memlane_handle *h;
	uint32_t *seq;     /* object number | LTR_WRITE */
	size_t nseq, warm, n;
	unsigned char *pool;
	int bad;           /* a read returned another object's bytes */
	/* RSS over time, sampled by a thread */
	pthread_t sampler;
	volatile int stop;
	double *rss_t, *rss_mib;
	size_t nrss;
	long rss_base;     /* RssAnon before the arena, KiB */
	double t_created, t_warm; /* phase boundaries, s */
	uint64_t t0;
} LT;

static void *rss_sampler(void *p)
{
	(void)p;
	while (!LT.stop) {
		long kib = status_kib("RssAnon");
		if (LT.nrss < RSS_MAX && kib >= 0) {
			LT.rss_t[LT.nrss] = (double)(now_ns() - LT.t0) / 1e9;
			LT.rss_mib[LT.nrss++] = (double)(kib - LT.rss_base) / 1024;
		}
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The access sequence: Zipf ranks by inverse CDF, mapped to objects
 * through a random permutation; one access in ten a write. */
static void ltr_sequence(void)
{
	double *cdf = xmalloc(LT.n * sizeof(*cdf)), sum = 0;
	uint32_t *obj = xmalloc(LT.n * sizeof(*obj));
	for (size_t i = 0; i < LT.n; i++) {
		sum += 1.0 / pow((double)(i + 1), LTR_ZIPF);
		cdf[i] = sum;
		obj[i] = (uint32_t)i;
	}
	for (size_t i = LT.n - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() % (i + 1));
		uint32_t t = obj[i];
		obj[i] = obj[j];
		obj[j] = t;
	}
	for (size_t k = 0; k < LT.nseq; k++) {
		double u = (double)(rnd() >> 11) / 9007199254740992.0 * sum;
		size_t lo = 0, hi = LT.n - 1;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		LT.seq[k] = obj[lo] | (rnd() % 10 == 0 ? LTR_WRITE : 0);
	}
	free(cdf);
	free(obj);
}

/* Hits of an exact LRU cache of @cap objects over the counted part of
 * the sequence. */
static size_t lru_hits(size_t cap)
{
	uint32_t *prev = xmalloc(LT.n * sizeof(uint32_t)), *next = xmalloc(LT.n * sizeof(uint32_t));
	unsigned char *in = calloc(LT.n, 1);
	const uint32_t nil = UINT32_MAX;
	uint32_t head = nil, tail = nil; /* head: most recent */
	size_t used = 0, hits = 0;
	if (!in)
		die_errno("calloc");
	for (size_t k = 0; k < LT.nseq; k++) {
		uint32_t o = LT.seq[k] & ~LTR_WRITE;
		if (in[o]) {
			hits += k >= LT.warm;
			if (head == o)
				continue;
			next[prev[o]] = next[o]; /* unlink; o is not the head */
			if (next[o] != nil)
				prev[next[o]] = prev[o];
			else
				tail = prev[o];
		} else if (used == cap) {
			uint32_t v = tail; /* evict the least recent */
			in[v] = 0;
			tail = prev[v];
			if (tail != nil)
				next[tail] = nil;
			else
				head = nil;
		} else {
			used++;
		}
		in[o] = 1;
		prev[o] = nil;
		next[o] = head;
		if (head != nil)
			prev[head] = o;
		head = o;
		if (tail == nil)
			tail = o;
	}
	free(prev);
	free(next);
	free(in);
	return hits;
}

struct ltr_arg {
	size_t from, to, step;
};

static void *ltr_thread(void *p)
{
	struct ltr_arg *x = p;
	unsigned char buf[64];
	int rc;
	for (size_t k = x->from; k < x->to; k += x->step) {
		uint32_t o = LT.seq[k] & ~LTR_WRITE;
		if (LT.seq[k] & LTR_WRITE) {
			memcpy(buf, LT.pool + (size_t)(k % LTR_POOL) * LTR_SIZE, sizeof(buf));
			memcpy(buf, &o, sizeof(o));
			if ((rc = memlane_write(LT.a, LT.h[o], 0, buf, sizeof(buf))) != 0)
				die("memlane_write", rc);
		} else {
			uint32_t got;
			if ((rc = memlane_read(LT.a, LT.h[o], 0, buf, sizeof(buf))) != 0)
				die("memlane_read", rc);
			memcpy(&got, buf, sizeof(got));
			if (got != o)
				LT.bad = 1;
		}
	}
	return NULL;
}

static void run_ltr(const char *wl, int nthreads)
{
	char opts[128], metric[96], note[160], pre[24] = "", dir[PATH_MAX], name[32];
	size_t lanes = S.ltr_fast + S.ltr_slow;
	memlane_config cfg;
	memlane_stats st0, st1;
	int rc;
	if (nthreads < 1 || nthreads > MAXTHREADS)
		nthreads = MAXTHREADS; /* the callers ask for 1 or 2; the compiler cannot see it */
	if (nthreads > 1)
		snprintf(pre, sizeof(pre), "%d threads, ", nthreads);
	memset(&LT, 0, sizeof(LT));
	LT.n = 10 * lanes / LTR_SIZE;
	LT.warm = S.ltr_accesses / 10;
	LT.nseq = LT.warm + S.ltr_accesses;
	progress("%s: %zu MiB of %d B objects over lanes of %g+%g MiB, %zu accesses, %d thread%s", wl,
	         LT.n * LTR_SIZE / MiB, LTR_SIZE, (double)S.ltr_fast / MiB, (double)S.ltr_slow / MiB, LT.nseq, nthreads,
	         nthreads > 1 ? "s" : "");
	/* Everything the benchmark itself holds is resident before the
	 * baseline is read: only the arena grows RssAnon after it. */
	LT.seq = map_touched(LT.nseq * sizeof(*LT.seq));
	LT.h = map_touched(LT.n * sizeof(*LT.h));
	LT.pool = gen_objects(LTR_SIZE, LTR_POOL);
	LT.rss_t = map_touched(RSS_MAX * sizeof(double));
	LT.rss_mib = map_touched(RSS_MAX * sizeof(double));
	ltr_sequence();
	snprintf(opts, sizeof(opts), "fast_lane_size=%zuK,slow_lane_size=%zuK,persist=0", S.ltr_fast / KiB, S.ltr_slow / KiB);
	memlane_config_init(&cfg);
	if ((rc = memlane_config_parse(&cfg, opts)) != 0)
		die("memlane_config_parse", rc);
	size_t margin = cfg.slow_lane_safety_margin != SIZE_MAX ? cfg.slow_lane_safety_margin
	                : cfg.slow_lane_size / 16 < 16 * MiB ? cfg.slow_lane_size / 16 : 16 * MiB;
	size_t cap = (cfg.slow_lane_size - margin) / LTR_SIZE;
	size_t hits = lru_hits(cap);
	snprintf(name, sizeof(name), "ltr-%d", nthreads);
	scratch_dir(dir, name);

	LT.t0 = now_ns();
	LT.rss_base = status_kib("RssAnon");
	if ((errno = pthread_create(&LT.sampler, NULL, rss_sampler, NULL)) != 0)
		die_errno("pthread_create");
	LT.a = open_arena(dir, opts);
	for (size_t i = 0; i < LT.n; i++) {
		unsigned char *src = LT.pool + (i % LTR_POOL) * LTR_SIZE;
		uint32_t id = (uint32_t)i;
		if ((rc = memlane_alloc(LT.a, LTR_SIZE, &LT.h[i])) != 0 ||
		    (rc = memlane_write(LT.a, LT.h[i], 0, src, LTR_SIZE)) != 0 ||
		    (rc = memlane_write(LT.a, LT.h[i], 0, &id, sizeof(id))) != 0)
			die("memlane_alloc/memlane_write", rc);
	}
	LT.t_created = (double)(now_ns() - LT.t0) / 1e9;
	struct ltr_arg x[MAXTHREADS];
	for (int t = 0; t < nthreads; t++)
		x[t] = (struct ltr_arg){(size_t)t, LT.warm, (size_t)nthreads};
	run_team(nthreads, ltr_thread, x, sizeof(x[0]));
	LT.t_warm = (double)(now_ns() - LT.t0) / 1e9;
	stats_or_die(LT.a, &st0);
	for (int t = 0; t < nthreads; t++)
		x[t] = (struct ltr_arg){LT.warm + (size_t)t, LT.nseq, (size_t)nthreads};
	double s = run_team(nthreads, ltr_thread, x, sizeof(x[0]));
	stats_or_die(LT.a, &st1);
	if ((rc = memlane_close(LT.a)) != 0)
		die("memlane_close", rc);
	LT.stop = 1;
	pthread_join(LT.sampler, NULL);
	scratch_dir_remove(dir);
	if (LT.bad) {
		fprintf(stderr, PROG ": ltr: memlane_read returned another object's bytes\n");
		failures++;
		return;
	}
	double peak = 0;
	for (size_t i = 0; i < LT.nrss; i++)
		if (LT.rss_mib[i] > peak)
			peak = LT.rss_mib[i];
	double acc = (double)S.ltr_accesses, hit = 1.0 - (double)(st1.faults - st0.faults) / acc;
	double lru = (double)hits / acc, lanes_mib = (double)lanes / (double)MiB;
	snprintf(metric, sizeof(metric), "%shit ratio vs exact LRU", pre);
	snprintf(note, sizeof(note), "Zipf %.2f over %zu objects of %d B, %d%% writes; LRU of %zu objects%s", LTR_ZIPF,
	         LT.n, LTR_SIZE, 10, cap, nthreads > 1 ? " on the sequence as interleaved" : "");
	row_add(wl, metric, "ratio", hit, lru, hit / lru, GOAL_GE, 0.95, note);
	snprintf(metric, sizeof(metric), "%saccesses", pre);
	row_add(wl, metric, "k/s", acc / s / 1e3, NAN, NAN, GOAL_NONE, 0, "memlane_read/memlane_write of 64 B; no baseline");
	snprintf(metric, sizeof(metric), "%speak anonymous RSS vs lane sizes", pre);
	snprintf(note, sizeof(note), "lanes %g+%g MiB; goal: <= lanes + 5%% + 8 MiB; RssAnon sampled every 5 ms",
	         (double)S.ltr_fast / MiB, (double)S.ltr_slow / MiB);
	row_add(wl, metric, "MiB", peak, lanes_mib, peak / lanes_mib, GOAL_LE, 1.05 + 8.0 / lanes_mib, note);
}

/* Release what run_ltr keeps for the plot. */
static void ltr_free(void)
{
	if (LT.seq)
		munmap(LT.seq, LT.nseq * sizeof(*LT.seq));
	if (LT.h)
		munmap(LT.h, LT.n * sizeof(*LT.h));
	if (LT.pool)
		munmap(LT.pool, (size_t)LTR_POOL * LTR_SIZE);
	LT.seq = NULL;
	LT.h = NULL;
	LT.pool = NULL;
}

/* The RSS series of the single-threaded run, for the plot. */
static double *plot_rss_t, *plot_rss_mib, plot_t_created, plot_t_warm;
static size_t plot_nrss;

static void run_ltr_keep(const char *wl, int nthreads)
{
	run_ltr(wl, nthreads);
	if (nthreads == 1 && !plot_rss_t) {
		plot_rss_t = LT.rss_t;
		plot_rss_mib = LT.rss_mib;
		plot_nrss = LT.nrss;
		plot_t_created = LT.t_created;
		plot_t_warm = LT.t_warm;
	} else if (LT.rss_t) {
		munmap(LT.rss_t, RSS_MAX * sizeof(double));
		munmap(LT.rss_mib, RSS_MAX * sizeof(double));
	}
	ltr_free();
}

/* ---- workload 6: compaction ----------------------------------------------- */

/* Both lanes filled (a quarter of the bytes FastLane objects of 16 to
 * 1008 B, the rest SlowLane objects of 1 to 16 KiB, every byte written),
 * every other object freed, then memlane_compact timed: the bytes it
 * moved (stats moved_bytes) a second, against memcpy of as many bytes
 * in chunks of the surviving objects' sizes, in their order, between
 * two resident buffers. auto_compaction is off so nothing is compacted
 * before the call that is timed. */

static void *(*volatile libc_memcpy)(void *, const void *, size_t) = memcpy;

struct compact_set {
	size_t n;
	size_t *size;
	memlane_handle *h;
};

static memlane_arena *compact_fill(struct compact_set *cs)
{
	size_t total = S.compact_mib * MiB, fast = total / 4, made = 0;
	char opts[128];
	int rc;
	snprintf(opts, sizeof(opts), "fast_lane_size=%zuK,slow_lane_size=%zuK,auto_compaction=off",
	         (2 * fast + 4 * MiB) / KiB, (2 * (total - fast) + 32 * MiB) / KiB);
	memlane_arena *a = open_arena(NULL, opts);
	uint64_t s = 12345;
	cs->n = 0;
	while (made < total) {
		size_t size = made < fast ? 16 + (size_t)(rnd_r(&s) % 62) * 16 : 1024 + (size_t)(rnd_r(&s) % 961) * 16;
		if ((rc = memlane_alloc(a, size, &cs->h[cs->n])) != 0)
			die("memlane_alloc", rc);
		unsigned char *p = memlane_get(a, cs->h[cs->n]);
		if (!p)
			die("memlane_get", MEMLANE_EHANDLE);
		memset(p, (int)(cs->n & 0xff), size);
		cs->size[cs->n++] = size;
		made += size;
	}
	for (size_t i = 0; i < cs->n; i += 2)
		if ((rc = memlane_free(a, cs->h[i])) != 0)
			die("memlane_free", rc);
	return a;
}

/* The bytes of every surviving object after the compaction. */
static int compact_check(memlane_arena *a, const struct compact_set *cs)
{
	for (size_t i = 1; i < cs->n; i += 2) {
		const unsigned char *p = memlane_get_ro(a, cs->h[i]);
		if (!p || memlane_size(a, cs->h[i]) != cs->size[i] || p[0] != (unsigned char)(i & 0xff) ||
		    p[cs->size[i] - 1] != (unsigned char)(i & 0xff))
			return -1;
	}
	return 0;
}

static void run_compact(void)
{
	size_t cap = S.compact_mib * MiB / 16 + 16;
	struct compact_set cs = {0, xmalloc(cap * sizeof(size_t)), xmalloc(cap * sizeof(memlane_handle))};
	double ml[MAXREPS], mc[MAXREPS], ml_ms[MAXREPS], live_ms[MAXREPS];
	uint64_t moved = 0, objs = 0, live = 0;
	unsigned char *src = NULL, *dst = NULL;
	size_t buf = 0;
	progress("compact: %zu MiB of objects, every other freed", S.compact_mib);
	for (int k = 0; k < S.reps; k++)
		for (int w = 0; w < 2; w++) {
			if ((w + k) % 2 == 0) {
				memlane_stats st0, st1;
				memlane_arena *a = compact_fill(&cs);
				stats_or_die(a, &st0);
				uint64_t t0 = now_ns();
				int rc = memlane_compact(a);
				double s = (double)(now_ns() - t0) / 1e9;
				if (rc)
					die("memlane_compact", rc);
				stats_or_die(a, &st1);
				moved = st1.moved_bytes - st0.moved_bytes;
				objs = st1.moved_objects - st0.moved_objects;
				if (compact_check(a, &cs) != 0) {
					fprintf(stderr, PROG ": compact: an object lost its bytes\n");
					failures++;
					memlane_close(a);
					goto out;
				}
				memlane_close(a);
				if (!moved) {
					fprintf(stderr, PROG ": compact: memlane_compact moved nothing\n");
					failures++;
					goto out;
				}
				ml[k] = (double)moved / s / 1e6;
				ml_ms[k] = s * 1e3;
				continue;
			}
			if (!moved) { /* memlane goes first in the first repetition */
				mc[k] = live_ms[k] = NAN;
				continue;
			}
			if (!live)
				for (size_t j = 1; j < cs.n; j += 2)
					live += cs.size[j];
			if (!src) {
				buf = (size_t)(moved > live ? moved : live) + 64 * KiB;
				src = map_touched(buf);
				dst = map_touched(buf);
				memset(src, 0x5a, buf);
			}
			void *(*cp)(void *, const void *, size_t) = libc_memcpy;
			size_t done = 0, j = 1;
			uint64_t t0 = now_ns();
			while (done < moved) {
				size_t c = cs.size[j];
				if (c > moved - done)
					c = (size_t)(moved - done);
				cp(dst + done, src + done, c);
				done += c;
				j = j + 2 < cs.n ? j + 2 : 1;
			}
			double s = (double)(now_ns() - t0) / 1e9;
			sink(dst);
			mc[k] = (double)moved / s / 1e6;
			/* And every surviving byte once: what a compaction that
			 * slid everything down would copy at least. */
			done = 0;
			t0 = now_ns();
			for (j = 1; j < cs.n && done < live; j += 2) {
				cp(dst + done, src + done, cs.size[j]);
				done += cs.size[j];
			}
			live_ms[k] = (double)(now_ns() - t0) / 1e6;
			sink(dst);
		}
	{
		char note[160];
		double m = median(ml, S.reps), b = median(mc, S.reps);
		snprintf(note, sizeof(note), "%.1f MB in %llu objects moved; memcpy in chunks of the survivors' sizes",
		         (double)moved / 1e6, (unsigned long long)objs);
		row_add("compact", "memlane_compact vs memcpy of the bytes moved", "MB/s", m, b, m / b, GOAL_GE, 0.5, note);
		m = median(ml_ms, S.reps);
		b = median(live_ms, S.reps);
		snprintf(note, sizeof(note), "%.1f MB live; memcpy of every surviving object once, in its size", (double)live / 1e6);
		row_add("compact", "memlane_compact time vs memcpy of all live bytes", "ms", m, b, m / b, GOAL_NONE, 0, note);
	}
out:
	if (src) {
		munmap(src, buf);
		munmap(dst, buf);
	}
	free(cs.size);
	free(cs.h);
}

/* ---- plots ------------------------------------------------------------------ */

/* --plot DIR: the data (faultin.dat, rss.dat), a gnuplot script
 * (plots.gp) and, when gnuplot is installed, the pictures it makes:
 * faultin.svg (fault-in latency distributions, memlane against the raw
 * pipeline) and rss.svg (anonymous RSS over time in workload 5). */
#define PLOT_POINTS 1000

static void write_plots(void)
{
	char path[PATH_MAX];
	FILE *f;
	int wrote = 0;
	if (mkdir(plot_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, PROG ": mkdir %s: %s\n", plot_dir, strerror(errno));
		failures++;
		return;
	}
	path_join(path, plot_dir, "faultin.dat");
	if (lat_n && lat_sorted[0][0] && lat_sorted[1][0] && (f = fopen(path, "w"))) {
		/* At most PLOT_POINTS quantiles: the picture stays small. */
		size_t np = lat_n < PLOT_POINTS ? lat_n : PLOT_POINTS;
		fprintf(f, "# fraction  memlane_4KiB_us raw_4KiB_us memlane_64KiB_us raw_64KiB_us (of %zu fault-ins each)\n",
		        lat_n);
		for (size_t i = 0; i < np; i++) {
			double q = (double)(i + 1) / (double)np;
			fprintf(f, "%.6f %.3f %.3f %.3f %.3f\n", q, quantile_sorted(lat_sorted[0][0], lat_n, q),
			        quantile_sorted(lat_sorted[0][1], lat_n, q), quantile_sorted(lat_sorted[1][0], lat_n, q),
			        quantile_sorted(lat_sorted[1][1], lat_n, q));
		}
		fclose(f);
		wrote |= 1;
	}
	path_join(path, plot_dir, "rss.dat");
	if (plot_nrss && (f = fopen(path, "w"))) { /* every 5 ms: a few thousand points */
		fprintf(f, "# seconds  RssAnon_MiB_above_baseline (objects made until %.3f s, warm-up until %.3f s)\n",
		        plot_t_created, plot_t_warm);
		for (size_t i = 0; i < plot_nrss; i++)
			fprintf(f, "%.4f %.2f\n", plot_rss_t[i], plot_rss_mib[i]);
		fclose(f);
		wrote |= 2;
	}
	if (!wrote) {
		note_add("plot: nothing to plot (the faultin and ltr workloads were not run)");
		return;
	}
	path_join(path, plot_dir, "plots.gp");
	if (!(f = fopen(path, "w"))) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		failures++;
		return;
	}
	fprintf(f, "# gnuplot plots.gp, in this directory; written by " PROG "\n"
	           "set terminal svg size 900,560 dynamic background rgb 'white'\nset grid\nset key bottom right\n");
	if (wrote & 1)
		fprintf(f, "set output 'faultin.svg'\nset title 'Fault-in latency: memlane\\_prefetch vs mdb\\_get + "
		           "ZSTD\\_decompressDCtx'\nset logscale x\nset xlabel 'latency (us)'\nset ylabel 'fraction of "
		           "fault-ins'\nset yrange [0:1]\nplot 'faultin.dat' using 2:1 with lines lw 2 title 'memlane 4 KiB', "
		           "'' using 3:1 with lines lw 2 title 'raw 4 KiB', '' using 4:1 with lines lw 2 title 'memlane 64 "
		           "KiB', '' using 5:1 with lines lw 2 title 'raw 64 KiB'\nunset logscale x\nset yrange [*:*]\n");
	if (wrote & 2)
		fprintf(f, "set output 'rss.svg'\nset title 'Larger than RAM: anonymous RSS over time (lanes %g+%g MiB)'\n"
		           "set xlabel 'seconds'\nset ylabel 'RssAnon above baseline (MiB)'\nset key top left\n"
		           "set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2\n"
		           "set label ' objects made' at %.3f, graph 0.5\n"
		           "set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2\n"
		           "set label ' warm-up done' at %.3f, graph 0.4\n"
		           "plot 'rss.dat' using 1:2 with lines lw 2 title 'memlane RssAnon', %.2f with lines dt 3 title "
		           "'lanes + 5%% + 8 MiB'\n",
		        (double)S.ltr_fast / MiB, (double)S.ltr_slow / MiB, plot_t_created, plot_t_created, plot_t_created,
		        plot_t_warm, plot_t_warm, plot_t_warm,
		        (double)(S.ltr_fast + S.ltr_slow) / (double)MiB * 1.05 + 8);
	fclose(f);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(plot_dir) != 0)
			_exit(126);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		execlp("gnuplot", "gnuplot", "plots.gp", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		note_add("plot: gnuplot not found: %s/plots.gp and its data written, no pictures", plot_dir);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, PROG ": gnuplot %s/plots.gp failed\n", plot_dir);
		failures++;
	} else
		note_add("plot: %s/faultin.svg and %s/rss.svg", plot_dir, plot_dir);
}

/* ---- report ------------------------------------------------------------------ */

struct machine {
	char cpu[256], kernel[128], load[64], date[32];
	long ncpu, mem_mib;
};
static struct machine M;

static void machine_probe(void)
{
	char line[512];
	struct utsname un;
	FILE *f = fopen("/proc/cpuinfo", "r");
	snprintf(M.cpu, sizeof(M.cpu), "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c) {
			c += 1 + (c[1] == ' ');
			c[strcspn(c, "\n")] = 0;
			snprintf(M.cpu, sizeof(M.cpu), "%s", c);
			break;
		}
	}
	if (f)
		fclose(f);
	snprintf(M.kernel, sizeof(M.kernel), "%s", uname(&un) == 0 ? un.release : "?");
	M.ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	M.mem_mib = (long)((double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (double)MiB);
	snprintf(M.load, sizeof(M.load), "?");
	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fgets(line, sizeof(line), f)) {
			char *p = line;
			for (int i = 0; i < 3 && p; i++)
				p = strchr(p + 1, ' ');
			if (p)
				*p = 0;
			snprintf(M.load, sizeof(M.load), "%.60s", line);
		}
		fclose(f);
	}
	time_t t = time(NULL);
	struct tm tm;
	strftime(M.date, sizeof(M.date), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

#ifdef __OPTIMIZE__
#define OPTIMIZED 1
#else
#define OPTIMIZED 0
#endif

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

static void json_num(double v)
{
	if (isnan(v) || isinf(v))
		printf("null");
	else
		printf("%.6g", v);
}

/* A CSV field: quoted when it holds a comma, a quote or a newline. */
static void csv_str(const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void csv_num(double v)
{
	if (!isnan(v) && !isinf(v))
		printf("%.6g", v);
}

static const char *goal_op(const struct row *r)
{
	return r->goal == GOAL_LE ? "<=" : r->goal == GOAL_GE ? ">=" : "";
}

/* The machine as (key, value) pairs, for every format. */
static size_t machine_pairs(const char *k[], char v[][1100])
{
	size_t n = 0;
#define PAIR(key, ...) (k[n] = key, snprintf(v[n], sizeof(v[0]), __VA_ARGS__), n++)
	PAIR("libmemlane", "%s", memlane_version());
	PAIR("cpu", "%s", M.cpu);
	PAIR("cpus", "%ld", M.ncpu);
	PAIR("memory_mib", "%ld", M.mem_mib);
	PAIR("kernel", "Linux %s", M.kernel);
	PAIR("compiler", "%s", __VERSION__);
	PAIR("optimised", "%s", OPTIMIZED ? "yes" : "no");
	PAIR("load_average", "%s", M.load);
	PAIR("date", "%s", M.date);
	PAIR("scale", "%s", S.name);
	PAIR("repetitions", "%d", S.reps);
	PAIR("command", "%s", run_command);
#undef PAIR
	return n;
}

/* A row's baseline, ratio and goal as the text and markdown tables show
 * them, "-" where there is none; @sep goes between the goal's operator
 * and its value. */
struct cells {
	char base[32], ratio[32], goal[32];
};

static struct cells row_cells(const struct row *r, const char *sep)
{
	struct cells c = {"-", "-", "-"};
	if (!isnan(r->base))
		snprintf(c.base, sizeof(c.base), "%.4g", r->base);
	if (!isnan(r->ratio))
		snprintf(c.ratio, sizeof(c.ratio), "%.3f", r->ratio);
	if (r->goal != GOAL_NONE)
		snprintf(c.goal, sizeof(c.goal), "%s%s%.2f", goal_op(r), sep, r->goal_val);
	return c;
}

static void print_table(void)
{
	const char *k[16];
	char v[16][1100];
	size_t nm = machine_pairs(k, v);
	for (size_t i = 0; i < nm; i++)
		printf("%s%s: %s", i % 4 ? "; " : (i ? "\n" : ""), k[i], v[i]);
	printf("\n\nratio: memlane / baseline (for \"ratio\" rows: as the metric says); goal: what the ratio must be\n\n");
	printf("%-8s %-58s %12s %12s %-6s %8s %8s %s\n", "workload", "metric", "memlane", "baseline", "unit", "ratio", "goal",
	       "");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		struct cells c = row_cells(r, "");
		printf("%-8s %-58s %12.4g %12s %-6s %8s %8s %s\n", r->workload, r->metric, r->ml, c.base, r->unit, c.ratio,
		       c.goal, row_mark(r));
	}
	for (size_t i = 0; i < nnotes; i++)
		printf("%snote: %s\n", i ? "" : "\n", notes[i]);
}

static void print_json(void)
{
	const char *k[16];
	char v[16][1100];
	size_t nm = machine_pairs(k, v);
	printf("{\"machine\":{");
	for (size_t i = 0; i < nm; i++) {
		printf("%s", i ? "," : "");
		json_str(k[i]);
		putchar(':');
		json_str(v[i]);
	}
	printf("},\n\"rows\":[");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		printf("%s\n {\"workload\":", i ? "," : "");
		json_str(r->workload);
		printf(",\"metric\":");
		json_str(r->metric);
		printf(",\"unit\":");
		json_str(r->unit);
		printf(",\"memlane\":");
		json_num(r->ml);
		printf(",\"baseline\":");
		json_num(r->base);
		printf(",\"ratio\":");
		json_num(r->ratio);
		printf(",\"goal\":");
		if (r->goal == GOAL_NONE)
			printf("null");
		else {
			printf("{\"op\":\"%s\",\"value\":", goal_op(r));
			json_num(r->goal_val);
			putchar('}');
		}
		printf(",\"pass\":%s,\"note\":", row_mark(r)[0] == '-' ? "null" : row_mark(r)[0] == 'p' ? "true" : "false");
		json_str(r->note);
		putchar('}');
	}
	printf("],\n\"notes\":[");
	for (size_t i = 0; i < nnotes; i++) {
		printf("%s", i ? "," : "");
		json_str(notes[i]);
	}
	printf("]}\n");
}

/* Markdown, for README.md: the machine as a list, the rows as a table,
 * the notes as a list. */
static void print_md(void)
{
	const char *k[16];
	char v[16][1100];
	size_t nm = machine_pairs(k, v);
	for (size_t i = 0; i < nm; i++)
		printf("- %s: `%s`\n", k[i], v[i]);
	printf("\n| workload | metric | memlane | baseline | unit | ratio | goal | |\n"
	       "| --- | --- | ---: | ---: | --- | ---: | --- | --- |\n");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		struct cells c = row_cells(r, " ");
		printf("| %s | %s | %.4g | %s | %s | %s | %s | %s |\n", r->workload, r->metric, r->ml, c.base, r->unit,
		       c.ratio, c.goal, row_mark(r));
	}
	for (size_t i = 0; i < nnotes; i++)
		printf("%s- %s\n", i ? "" : "\n", notes[i]);
}

/* CSV: a header, the machine as rows of workload "machine" (the value
 * in the note column), then the result rows. */
static void print_csv(void)
{
	const char *k[16];
	char v[16][1100];
	size_t nm = machine_pairs(k, v);
	printf("workload,metric,unit,memlane,baseline,ratio,goal,pass,note\n");
	for (size_t i = 0; i < nm; i++) {
		printf("machine,%s,,,,,,,", k[i]);
		csv_str(v[i]);
		putchar('\n');
	}
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		char goal[32] = "";
		if (r->goal != GOAL_NONE)
			snprintf(goal, sizeof(goal), "%s%.4g", goal_op(r), r->goal_val);
		csv_str(r->workload);
		putchar(',');
		csv_str(r->metric);
		putchar(',');
		csv_str(r->unit);
		putchar(',');
		csv_num(r->ml);
		putchar(',');
		csv_num(r->base);
		putchar(',');
		csv_num(r->ratio);
		printf(",%s,%s,", goal, row_mark(r));
		csv_str(r->note);
		putchar('\n');
	}
	for (size_t i = 0; i < nnotes; i++) {
		printf("note,,,,,,,,");
		csv_str(notes[i]);
		putchar('\n');
	}
}

/* ---- main ---------------------------------------------------------------------- */

enum {
	W_TRACES = 1 << 0,
	W_ACCESS = 1 << 1,
	W_SPILL = 1 << 2,
	W_FAULTIN = 1 << 3,
	W_LTR = 1 << 4,
	W_COMPACT = 1 << 5,
	W_RATIO = 1 << 6,
	W_THREADS = 1 << 7,
	W_ALL = (1 << 8) - 1
};

static const struct {
	const char *name;
	int bit;
} commands[] = {{"all", W_ALL},         {"traces", W_TRACES}, {"access", W_ACCESS},   {"spill", W_SPILL},
                {"faultin", W_FAULTIN}, {"ltr", W_LTR},       {"compact", W_COMPACT}, {"ratio", W_RATIO},
                {"threads", W_THREADS}};

static void usage(FILE *f, int status)
{
	fprintf(f,
	        "usage: " PROG " [--quick|--smoke] [--json|--csv|--markdown] [-r N] [-t TRACE]... [-d DIR] [--plot DIR]\n"
	        "                     [all|traces|access|spill|faultin|ltr|compact|ratio|threads]...\n"
	        "Commands (default all):\n"
	        "  traces   replay allocation traces through memlane, glibc, jemalloc, mimalloc\n"
	        "  access   memlane_get over a million resident handles vs a raw pointer array\n"
	        "  spill    memlane_flush vs ZSTD_compressCCtx + mdb_put (4 KiB, 64 KiB objects)\n"
	        "  faultin  memlane_prefetch latency vs mdb_get + ZSTD_decompressDCtx\n"
	        "  ltr      larger than RAM: Zipf reads and writes over 10x the lanes vs exact LRU\n"
	        "  compact  memlane_compact vs memcpy of the bytes it moves\n"
	        "  ratio    bytes in the store vs zstd of each object\n"
	        "  threads  traces, access and ltr with 2 threads (and 1, when run alone)\n"
	        "Options:\n"
	        "  -q, --quick      smaller sizes, 3 repetitions: under a minute\n"
	        "  -s, --smoke      tiny sizes, 1 repetition: a few seconds, for tests (timings meaningless)\n"
	        "  -j, --json       JSON output\n"
	        "  -c, --csv        CSV output\n"
	        "  -m, --markdown   Markdown output (the table of README.md)\n"
	        "  -r, --reps N     repetitions of each measurement, the median kept (1..101)\n"
	        "  -t, --trace F    replay trace F (zstd-compressed or plain; repeatable); default: every\n"
	        "                   *.trace.zst of shared/data/traces beside the checkout\n"
	        "  -d, --dir D      make the scratch directory for the stores in D (default $TMPDIR or /tmp)\n"
	        "  -p, --plot D     write plot data and a gnuplot script to D; run gnuplot if installed\n"
	        "  -V, --version    print the library version and exit\n"
	        "  -h, --help       this help\n"
	        "Exit status: 0 every workload ran (goals missed or not), 1 a workload failed,\n"
	        "2 a usage or setup error.\n");
	exit(status);
}

static int parse_count(const char *opt, const char *s, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v == 0 || v > max) {
		fprintf(stderr, PROG ": %s %s: expected a number from 1 to %lu\n", opt, s, max);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"quick", no_argument, NULL, 'q'},   {"smoke", no_argument, NULL, 's'},       {"json", no_argument, NULL, 'j'},
		{"csv", no_argument, NULL, 'c'},     {"reps", required_argument, NULL, 'r'},  {"trace", required_argument, NULL, 't'},
		{"dir", required_argument, NULL, 'd'}, {"plot", required_argument, NULL, 'p'}, {"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},    {"replay-child", no_argument, NULL, 'R'}, {"markdown", no_argument, NULL, 'm'},
		{NULL, 0, NULL, 0}};
	int c, scale = 0, work = 0;
	if (argc == 5 && !strcmp(argv[1], "--replay-child")) {
		int kind = atoi(argv[2]), nthreads = atoi(argv[3]), fd = atoi(argv[4]);
		if (kind < 0 || kind >= AL_N || nthreads < 1 || nthreads > MAXTHREADS || fd < 0) {
			fprintf(stderr, PROG ": --replay-child ALLOCATOR THREADS FD: bad arguments\n");
			return 2;
		}
		return replay_child(kind, nthreads, fd);
	}
	while ((c = getopt_long(argc, argv, "qsjcmr:t:d:p:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			scale = 1;
			break;
		case 's':
			scale = 2;
			break;
		case 'j':
			fmt = FMT_JSON;
			break;
		case 'c':
			fmt = FMT_CSV;
			break;
		case 'm':
			fmt = FMT_MD;
			break;
		case 'r':
			reps_opt = parse_count("-r", optarg, MAXREPS);
			break;
		case 't':
			if (ntraces == MAXTRACES) {
				fprintf(stderr, PROG ": at most %d traces\n", MAXTRACES);
				return 2;
			}
			traces[ntraces++].path = optarg;
			break;
		case 'd':
			tmp_parent = optarg;
			break;
		case 'p':
			plot_dir = optarg;
			break;
		case 'V':
			printf(PROG " (libmemlane %s)\n", memlane_version());
			return 0;
		case 'h':
			usage(stdout, 0);
			break;
		case 'R':
			fprintf(stderr, PROG ": --replay-child ALLOCATOR THREADS FD: internal; bad arguments\n");
			return 2;
		default:
			usage(stderr, 2);
		}
	}
	for (int i = optind; i < argc; i++) {
		size_t k;
		for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
			if (!strcmp(argv[i], commands[k].name))
				break;
		if (k == sizeof(commands) / sizeof(commands[0])) {
			fprintf(stderr, PROG ": unknown command '%s' (all, traces, access, spill, faultin, ltr, compact, ratio, "
			                "threads)\n",
			        argv[i]);
			return 2;
		}
		work |= commands[k].bit;
	}
	if (!work)
		work = W_ALL;
	S = scales[scale];
	if (reps_opt)
		S.reps = reps_opt;
	{
		size_t w = 0;
		for (int i = 0; i < argc && w < sizeof(run_command) - 1; i++) {
			int n = snprintf(run_command + w, sizeof(run_command) - w, "%s%s", i ? " " : "", i ? argv[i] : PROG);
			if (n < 0)
				break;
			w += (size_t)n;
		}
	}
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		die_errno("readlink /proc/self/exe");
	self_exe[n] = 0;
	machine_probe();
	find_peers();
	if (!OPTIMIZED)
		note_add("built without optimisation: the timings are meaningless (build with -O2)");
	if (getenv("MEMLANE_OPTIONS"))
		note_add("MEMLANE_OPTIONS=%s applies on top of every arena's options", getenv("MEMLANE_OPTIONS"));
	if (S.reps < 3 && scale != 2)
		note_add("fewer than 3 repetitions: medians of little");

	/* The threads workload alone shows 1 and 2 threads; with the others
	 * it adds the 2-thread runs to their single-threaded ones. */
	int threads_only = work & W_THREADS && !(work & (W_TRACES | W_ACCESS | W_LTR));
	if (work & W_TRACES)
		run_traces("traces", 1);
	if (work & W_ACCESS)
		run_access("access", 1);
	if (work & (W_SPILL | W_FAULTIN | W_RATIO))
		run_spill(!!(work & W_SPILL), !!(work & W_FAULTIN), !!(work & W_RATIO));
	if (work & W_LTR)
		run_ltr_keep("ltr", 1);
	if (work & W_COMPACT)
		run_compact();
	if (work & W_THREADS)
		for (int t = threads_only ? 1 : 2; t <= MAXTHREADS; t++) {
			run_traces("threads", t);
			run_access("threads", t);
			run_ltr_keep("threads", t);
		}
	if (plot_dir)
		write_plots();
	if (fmt == FMT_JSON)
		print_json();
	else if (fmt == FMT_CSV)
		print_csv();
	else if (fmt == FMT_MD)
		print_md();
	else
		print_table();
	return failures ? 1 : 0;
}
