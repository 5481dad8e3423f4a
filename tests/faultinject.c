/* faultinject.c - an LD_PRELOAD shim that fails chosen system, LMDB and
 * zstd calls of libmemlane, for test_faults (faultinject.h has the
 * control interface).
 *
 * Every interposed function asks hit() whether this call fails: hit()
 * looks at the return address, counts the call only when it comes from
 * libmemlane.so (or, for the system calls, from liblmdb.so working for
 * it), logs its site, and answers with the error of an armed fault whose
 * call number this is. A failing call does what the real one does when
 * it fails: errno and -1 or NULL for the C library, an LMDB error code
 * (after aborting the transaction, for mdb_txn_commit, as LMDB does),
 * a zstd error code that ZSTD_isError() recognises (ZSTD_isError itself
 * is left alone: it only compares numbers). Everything else goes to the
 * real function, found with dlsym(RTLD_NEXT); the allocator through
 * glibc's __libc_* entry points, since dlsym may allocate itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <lmdb.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "faultinject.h"

#define FI_API __attribute__((visibility("default")))

FI_API fi_reset_fn faultinject_reset;
FI_API fi_arm_fn faultinject_arm;
FI_API fi_fired_fn faultinject_fired;
FI_API fi_module_loaded_fn faultinject_module_loaded;
FI_API fi_func_name_fn faultinject_func_name;
FI_API fi_count_fn faultinject_count;
FI_API fi_call_site_fn faultinject_call_site;
FI_API fi_site_fn faultinject_site;

/* glibc's allocator entry points: no dlsym needed for these. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);

/* ---- the functions -------------------------------------------------- */

#define M_LIB (1u << FI_MOD_MEMLANE)
#define M_SYS (M_LIB | 1u << FI_MOD_LMDB)

/* name, modules counted, default error */
#define FI_FUNCS(X)                                                                                                    \
	X(malloc, M_SYS, ENOMEM)                                                                                       \
	X(calloc, M_SYS, ENOMEM)                                                                                       \
	X(realloc, M_SYS, ENOMEM)                                                                                      \
	X(posix_memalign, M_SYS, ENOMEM)                                                                               \
	X(strdup, M_SYS, ENOMEM)                                                                                       \
	X(open_memstream, M_SYS, ENOMEM)                                                                               \
	X(open, M_SYS, EMFILE)                                                                                         \
	X(mkdir, M_SYS, EACCES)                                                                                        \
	X(stat, M_SYS, EIO)                                                                                            \
	X(statvfs, M_SYS, EIO)                                                                                         \
	X(flock, M_SYS, ENOLCK)                                                                                        \
	X(fcntl, M_SYS, ENOLCK)                                                                                        \
	X(unlink, M_SYS, EACCES)                                                                                       \
	X(mmap, M_SYS, ENOMEM)                                                                                         \
	X(mprotect, M_SYS, ENOMEM)                                                                                     \
	X(ftruncate, M_SYS, EIO)                                                                                       \
	X(pread, M_SYS, EIO)                                                                                           \
	X(pwrite, M_SYS, EIO)                                                                                          \
	X(write, M_SYS, EIO)                                                                                           \
	X(writev, M_SYS, EIO)                                                                                          \
	X(lseek, M_SYS, EIO)                                                                                           \
	X(fsync, M_SYS, EIO)                                                                                           \
	X(fdatasync, M_SYS, EIO)                                                                                       \
	X(mdb_env_create, M_LIB, ENOMEM)                                                                               \
	X(mdb_env_set_maxdbs, M_LIB, EINVAL)                                                                           \
	X(mdb_env_set_mapsize, M_LIB, ENOMEM)                                                                          \
	X(mdb_env_open, M_LIB, EIO)                                                                                    \
	X(mdb_env_sync, M_LIB, EIO)                                                                                    \
	X(mdb_reader_check, M_LIB, EIO)                                                                                \
	X(mdb_txn_begin, M_LIB, EIO)                                                                                   \
	X(mdb_txn_commit, M_LIB, EIO)                                                                                  \
	X(mdb_dbi_open, M_LIB, EIO)                                                                                    \
	X(mdb_get, M_LIB, EIO)                                                                                         \
	X(mdb_put, M_LIB, EIO)                                                                                         \
	X(mdb_del, M_LIB, EIO)                                                                                         \
	X(mdb_drop, M_LIB, EIO)                                                                                        \
	X(mdb_stat, M_LIB, EIO)                                                                                        \
	X(mdb_cursor_open, M_LIB, ENOMEM)                                                                              \
	X(mdb_cursor_get, M_LIB, EIO)                                                                                  \
	X(mdb_cursor_del, M_LIB, EIO)                                                                                  \
	X(ZSTD_createCCtx, M_LIB, ZSTD_error_memory_allocation)                                                        \
	X(ZSTD_createDCtx, M_LIB, ZSTD_error_memory_allocation)                                                        \
	X(ZSTD_CCtx_reset, M_LIB, ZSTD_error_GENERIC)                                                                  \
	X(ZSTD_CCtx_setParameter, M_LIB, ZSTD_error_parameter_unsupported)                                             \
	X(ZSTD_compress2, M_LIB, ZSTD_error_memory_allocation)                                                         \
	X(ZSTD_decompressDCtx, M_LIB, ZSTD_error_memory_allocation)                                                    \
	X(ZSTD_findFrameCompressedSize, M_LIB, ZSTD_error_GENERIC)                                                     \
	X(mdb_env_get_fd, M_LIB, EINVAL)                                                                               \
	X(mdb_env_info, M_LIB, EINVAL)                                                                                 \
	X(mdb_env_stat, M_LIB, EINVAL)

#define X_ENUM(n, m, e) F_##n,
enum { FI_FUNCS(X_ENUM) NF };
#define X_NAME(n, m, e) #n,
static const char *const fname[NF] = {FI_FUNCS(X_NAME)};
#define X_MODS(n, m, e) m,
static const unsigned fmods[NF] = {FI_FUNCS(X_MODS)};
#define X_ERR(n, m, e) e,
static const int ferr[NF] = {FI_FUNCS(X_ERR)};

/* ---- state ---------------------------------------------------------- */

struct range {
	uintptr_t lo, hi, base;
};

#define MAX_RANGES 8
#define MAX_ARMED 8
#define MAX_SITES 4096
#define LOG_MAX 65536

static struct range ranges[FI_NMOD][MAX_RANGES];
static int nranges[FI_NMOD];

static struct {
	int f;
	uint64_t n;
	int err;
	int fired;
	int rel; /* n counts from the first fault that fired */
} armed[MAX_ARMED];
static uint64_t fire_base[NF]; /* the counts when the first fault fired */
static int narmed;
static int nfired;
static char fired_desc[512];

static uint64_t counts[NF];
static uint16_t calllog[NF][LOG_MAX];

static struct {
	int f, mod;
	uintptr_t off;
} sites[MAX_SITES];
static long nsites;

static volatile int busy; /* one hit() at a time; the scenario is single-threaded anyway */

/* ---- modules -------------------------------------------------------- */

static int module_of_name(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	if (strncmp(b, "libmemlane.so", 13) == 0)
		return FI_MOD_MEMLANE;
	if (strncmp(b, "liblmdb.so", 10) == 0)
		return FI_MOD_LMDB;
	return -1;
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	int m = info->dlpi_name ? module_of_name(info->dlpi_name) : -1;
	if (m < 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && nranges[m] < MAX_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		struct range *r = &ranges[m][nranges[m]++];
		r->base = info->dlpi_addr;
		r->lo = info->dlpi_addr + ph->p_vaddr;
		r->hi = r->lo + ph->p_memsz;
	}
	return 0;
}

static void find_modules(void)
{
	memset(nranges, 0, sizeof(nranges));
	dl_iterate_phdr(phdr_cb, NULL);
}

__attribute__((constructor)) static void fi_init(void)
{
	find_modules();
	const char *spec = getenv("MEMLANE_FAULT");
	if (spec && *spec && faultinject_arm(spec) != 0)
		fprintf(stderr, "faultinject: bad MEMLANE_FAULT '%s'\n", spec);
}

static int module_of(uintptr_t ra, uintptr_t *off)
{
	for (int m = 0; m < FI_NMOD; m++)
		for (int i = 0; i < nranges[m]; i++)
			if (ra >= ranges[m][i].lo && ra < ranges[m][i].hi) {
				*off = ra - ranges[m][i].base;
				return m;
			}
	return -1;
}

/* ---- the decision ----------------------------------------------------- */

static long site_id(int f, int mod, uintptr_t off)
{
	for (long i = 0; i < nsites; i++)
		if (sites[i].f == f && sites[i].mod == mod && sites[i].off == off)
			return i;
	if (nsites == MAX_SITES)
		return -1;
	sites[nsites].f = f;
	sites[nsites].mod = mod;
	sites[nsites].off = off;
	return nsites++;
}

/* 0: go on with the real call; else the error this call fails with. */
static int hit(int f, void *ret)
{
	uintptr_t off;
	int mod = module_of((uintptr_t)ret, &off);
	if (mod < 0 || !(fmods[f] & (1u << mod)))
		return 0;
	while (__atomic_test_and_set(&busy, __ATOMIC_ACQUIRE))
		;
	uint64_t n = ++counts[f];
	long site = site_id(f, mod, off);
	if (n <= LOG_MAX)
		calllog[f][n - 1] = (uint16_t)(site < 0 ? 0xFFFF : site);
	int err = 0;
	for (int i = 0; i < narmed; i++) {
		if (armed[i].f != f || armed[i].fired)
			continue;
		if (armed[i].rel ? !nfired || n != fire_base[f] + armed[i].n : n != armed[i].n)
			continue;
		armed[i].fired = 1;
		if (nfired == 0)
			memcpy(fire_base, counts, sizeof(counts));
		size_t used = strlen(fired_desc);
		snprintf(fired_desc + used, sizeof(fired_desc) - used, "%s%s call %llu (%s+0x%lx)", nfired ? "; " : "",
		         fname[f], (unsigned long long)n, mod == FI_MOD_MEMLANE ? "libmemlane.so" : "liblmdb.so",
		         (unsigned long)off);
		nfired++;
		err = armed[i].err;
	}
	__atomic_clear(&busy, __ATOMIC_RELEASE);
	return err;
}

#define RA __builtin_return_address(0)

static void *real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		fprintf(stderr, "faultinject: no next '%s'\n", name);
		abort();
	}
	return p;
}

/* The real function @n, looked up once. */
#define REAL(n)                                                                                                        \
	static __typeof__(n) *real_##n;                                                                                \
	if (!real_##n)                                                                                                 \
	real_##n = (__typeof__(n) *)real(#n)

/* ---- the control interface ------------------------------------------ */

void faultinject_reset(void)
{
	find_modules();
	memset(counts, 0, sizeof(counts));
	nsites = 0;
	narmed = 0;
	nfired = 0;
	fired_desc[0] = 0;
}

static int parse_err(const char *s, int *err)
{
	static const struct {
		const char *name;
		int v;
	} names[] = {
		{"EIO", EIO},           {"ENOSPC", ENOSPC},         {"ENOMEM", ENOMEM},
		{"EACCES", EACCES},     {"EMFILE", EMFILE},         {"ENOLCK", ENOLCK},
		{"EINVAL", EINVAL},     {"EDQUOT", EDQUOT},         {"MAP_FULL", MDB_MAP_FULL},
		{"TXN_FULL", MDB_TXN_FULL}, {"READERS_FULL", MDB_READERS_FULL}, {"DBS_FULL", MDB_DBS_FULL},
		{"PANIC", MDB_PANIC},   {"CORRUPTED", MDB_CORRUPTED}, {"PAGE_NOTFOUND", MDB_PAGE_NOTFOUND},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*err = names[i].v;
			return 0;
		}
	char *end;
	long v = strtol(s, &end, 0);
	if (*s == 0 || *end != 0 || v == 0)
		return -1;
	*err = (int)v;
	return 0;
}

int faultinject_arm(const char *spec)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *c1 = strchr(item, ':');
		if (!c1 || narmed == MAX_ARMED)
			return -1;
		*c1++ = 0;
		char *c2 = strchr(c1, ':');
		if (c2)
			*c2++ = 0;
		int f = -1;
		for (int i = 0; i < NF; i++)
			if (strcmp(item, fname[i]) == 0)
				f = i;
		int rel = *c1 == '+';
		if (rel)
			c1++;
		char *end;
		unsigned long long n = strtoull(c1, &end, 10);
		if (f < 0 || *c1 == 0 || *end != 0 || n == 0)
			return -1;
		int err = ferr[f];
		if (c2 && parse_err(c2, &err) != 0)
			return -1;
		armed[narmed].f = f;
		armed[narmed].n = n;
		armed[narmed].err = err;
		armed[narmed].fired = 0;
		armed[narmed].rel = rel;
		narmed++;
	}
	return 0;
}

int faultinject_fired(char *desc, size_t len)
{
	if (desc && len)
		snprintf(desc, len, "%s", fired_desc);
	return nfired;
}

int faultinject_module_loaded(int mod)
{
	if (nranges[FI_MOD_MEMLANE] == 0)
		find_modules();
	return mod >= 0 && mod < FI_NMOD && nranges[mod] > 0;
}

const char *faultinject_func_name(size_t i)
{
	return i < NF ? fname[i] : NULL;
}

uint64_t faultinject_count(size_t i)
{
	return i < NF ? counts[i] : 0;
}

long faultinject_call_site(size_t i, uint64_t k)
{
	if (i >= NF || k >= counts[i] || k >= LOG_MAX || calllog[i][k] == 0xFFFF)
		return -1;
	return calllog[i][k];
}

int faultinject_site(long site, size_t *func, int *mod, uintptr_t *off)
{
	if (site < 0 || site >= nsites)
		return -1;
	*func = (size_t)sites[site].f;
	*mod = sites[site].mod;
	*off = sites[site].off;
	return 0;
}

/* ---- the C library ---------------------------------------------------- */

#define FAIL_ERRNO(f, ret)                                                                                             \
	do {                                                                                                           \
		int e_ = hit(f, RA);                                                                                   \
		if (e_) {                                                                                              \
			errno = e_;                                                                                    \
			return ret;                                                                                    \
		}                                                                                                      \
	} while (0)

void *malloc(size_t n)
{
	FAIL_ERRNO(F_malloc, NULL);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	FAIL_ERRNO(F_calloc, NULL);
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	FAIL_ERRNO(F_realloc, NULL);
	return __libc_realloc(p, n);
}

int posix_memalign(void **p, size_t al, size_t n)
{
	int e = hit(F_posix_memalign, RA);
	if (e)
		return e;
	REAL(posix_memalign);
	return real_posix_memalign(p, al, n);
}

char *strdup(const char *s)
{
	FAIL_ERRNO(F_strdup, NULL);
	REAL(strdup);
	return real_strdup(s);
}

FILE *open_memstream(char **p, size_t *n)
{
	FAIL_ERRNO(F_open_memstream, NULL);
	REAL(open_memstream);
	return real_open_memstream(p, n);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, unsigned);
		va_end(ap);
	}
	FAIL_ERRNO(F_open, -1);
	REAL(open);
	return real_open(path, flags, mode);
}

int mkdir(const char *path, mode_t mode)
{
	FAIL_ERRNO(F_mkdir, -1);
	REAL(mkdir);
	return real_mkdir(path, mode);
}

int stat(const char *restrict path, struct stat *restrict sb)
{
	FAIL_ERRNO(F_stat, -1);
	REAL(stat);
	return real_stat(path, sb);
}

int statvfs(const char *restrict path, struct statvfs *restrict v)
{
	FAIL_ERRNO(F_statvfs, -1);
	REAL(statvfs);
	return real_statvfs(path, v);
}

int flock(int fd, int op)
{
	FAIL_ERRNO(F_flock, -1);
	REAL(flock);
	return real_flock(fd, op);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *); /* an int or a pointer: both fit, and are passed on as they came */
	va_end(ap);
	FAIL_ERRNO(F_fcntl, -1);
	REAL(fcntl);
	return real_fcntl(fd, cmd, arg);
}

int unlink(const char *path)
{
	FAIL_ERRNO(F_unlink, -1);
	REAL(unlink);
	return real_unlink(path);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	FAIL_ERRNO(F_mmap, MAP_FAILED);
	REAL(mmap);
	return real_mmap(addr, len, prot, flags, fd, off);
}

int mprotect(void *addr, size_t len, int prot)
{
	FAIL_ERRNO(F_mprotect, -1);
	REAL(mprotect);
	return real_mprotect(addr, len, prot);
}

int ftruncate(int fd, off_t len)
{
	FAIL_ERRNO(F_ftruncate, -1);
	REAL(ftruncate);
	return real_ftruncate(fd, len);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	FAIL_ERRNO(F_pread, -1);
	REAL(pread);
	return real_pread(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	FAIL_ERRNO(F_pwrite, -1);
	REAL(pwrite);
	return real_pwrite(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	FAIL_ERRNO(F_write, -1);
	REAL(write);
	return real_write(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	FAIL_ERRNO(F_writev, -1);
	REAL(writev);
	return real_writev(fd, iov, n);
}

off_t lseek(int fd, off_t off, int whence)
{
	FAIL_ERRNO(F_lseek, (off_t)-1);
	REAL(lseek);
	return real_lseek(fd, off, whence);
}

int fsync(int fd)
{
	FAIL_ERRNO(F_fsync, -1);
	REAL(fsync);
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	FAIL_ERRNO(F_fdatasync, -1);
	REAL(fdatasync);
	return real_fdatasync(fd);
}

/* ---- LMDB ------------------------------------------------------------- */

#define FAIL_MDB(f)                                                                                                    \
	do {                                                                                                           \
		int e_ = hit(f, RA);                                                                                   \
		if (e_)                                                                                                \
			return e_;                                                                                     \
	} while (0)

int mdb_env_create(MDB_env **env)
{
	FAIL_MDB(F_mdb_env_create);
	REAL(mdb_env_create);
	return real_mdb_env_create(env);
}

int mdb_env_set_maxdbs(MDB_env *env, MDB_dbi n)
{
	FAIL_MDB(F_mdb_env_set_maxdbs);
	REAL(mdb_env_set_maxdbs);
	return real_mdb_env_set_maxdbs(env, n);
}

int mdb_env_set_mapsize(MDB_env *env, size_t size)
{
	FAIL_MDB(F_mdb_env_set_mapsize);
	REAL(mdb_env_set_mapsize);
	return real_mdb_env_set_mapsize(env, size);
}

int mdb_env_open(MDB_env *env, const char *path, unsigned flags, mdb_mode_t mode)
{
	FAIL_MDB(F_mdb_env_open);
	REAL(mdb_env_open);
	return real_mdb_env_open(env, path, flags, mode);
}

int mdb_env_sync(MDB_env *env, int force)
{
	FAIL_MDB(F_mdb_env_sync);
	REAL(mdb_env_sync);
	return real_mdb_env_sync(env, force);
}

int mdb_reader_check(MDB_env *env, int *dead)
{
	FAIL_MDB(F_mdb_reader_check);
	REAL(mdb_reader_check);
	return real_mdb_reader_check(env, dead);
}

int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned flags, MDB_txn **txn)
{
	FAIL_MDB(F_mdb_txn_begin);
	REAL(mdb_txn_begin);
	return real_mdb_txn_begin(env, parent, flags, txn);
}

/* A failed commit has freed the transaction: so does this one. */
int mdb_txn_commit(MDB_txn *txn)
{
	int e = hit(F_mdb_txn_commit, RA);
	if (e) {
		REAL(mdb_txn_abort);
		real_mdb_txn_abort(txn);
		return e;
	}
	REAL(mdb_txn_commit);
	return real_mdb_txn_commit(txn);
}

int mdb_dbi_open(MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi)
{
	FAIL_MDB(F_mdb_dbi_open);
	REAL(mdb_dbi_open);
	return real_mdb_dbi_open(txn, name, flags, dbi);
}

int mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
	FAIL_MDB(F_mdb_get);
	REAL(mdb_get);
	return real_mdb_get(txn, dbi, key, data);
}

int mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
	FAIL_MDB(F_mdb_put);
	REAL(mdb_put);
	return real_mdb_put(txn, dbi, key, data, flags);
}

int mdb_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
	FAIL_MDB(F_mdb_del);
	REAL(mdb_del);
	return real_mdb_del(txn, dbi, key, data);
}

int mdb_drop(MDB_txn *txn, MDB_dbi dbi, int del)
{
	FAIL_MDB(F_mdb_drop);
	REAL(mdb_drop);
	return real_mdb_drop(txn, dbi, del);
}

int mdb_stat(MDB_txn *txn, MDB_dbi dbi, MDB_stat *st)
{
	FAIL_MDB(F_mdb_stat);
	REAL(mdb_stat);
	return real_mdb_stat(txn, dbi, st);
}

int mdb_cursor_open(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cur)
{
	FAIL_MDB(F_mdb_cursor_open);
	REAL(mdb_cursor_open);
	return real_mdb_cursor_open(txn, dbi, cur);
}

int mdb_cursor_get(MDB_cursor *cur, MDB_val *key, MDB_val *data, MDB_cursor_op op)
{
	FAIL_MDB(F_mdb_cursor_get);
	REAL(mdb_cursor_get);
	return real_mdb_cursor_get(cur, key, data, op);
}

int mdb_cursor_del(MDB_cursor *cur, unsigned flags)
{
	FAIL_MDB(F_mdb_cursor_del);
	REAL(mdb_cursor_del);
	return real_mdb_cursor_del(cur, flags);
}

/* ---- zstd ------------------------------------------------------------- */

#define FAIL_ZSTD(f)                                                                                                   \
	do {                                                                                                           \
		int e_ = hit(f, RA);                                                                                   \
		if (e_)                                                                                                \
			return (size_t) - (e_);                                                                        \
	} while (0)

ZSTD_CCtx *ZSTD_createCCtx(void)
{
	if (hit(F_ZSTD_createCCtx, RA))
		return NULL;
	REAL(ZSTD_createCCtx);
	return real_ZSTD_createCCtx();
}

ZSTD_DCtx *ZSTD_createDCtx(void)
{
	if (hit(F_ZSTD_createDCtx, RA))
		return NULL;
	REAL(ZSTD_createDCtx);
	return real_ZSTD_createDCtx();
}

size_t ZSTD_CCtx_reset(ZSTD_CCtx *c, ZSTD_ResetDirective r)
{
	FAIL_ZSTD(F_ZSTD_CCtx_reset);
	REAL(ZSTD_CCtx_reset);
	return real_ZSTD_CCtx_reset(c, r);
}

size_t ZSTD_CCtx_setParameter(ZSTD_CCtx *c, ZSTD_cParameter p, int v)
{
	FAIL_ZSTD(F_ZSTD_CCtx_setParameter);
	REAL(ZSTD_CCtx_setParameter);
	return real_ZSTD_CCtx_setParameter(c, p, v);
}

size_t ZSTD_compress2(ZSTD_CCtx *c, void *dst, size_t cap, const void *src, size_t n)
{
	FAIL_ZSTD(F_ZSTD_compress2);
	REAL(ZSTD_compress2);
	return real_ZSTD_compress2(c, dst, cap, src, n);
}

size_t ZSTD_decompressDCtx(ZSTD_DCtx *d, void *dst, size_t cap, const void *src, size_t n)
{
	FAIL_ZSTD(F_ZSTD_decompressDCtx);
	REAL(ZSTD_decompressDCtx);
	return real_ZSTD_decompressDCtx(d, dst, cap, src, n);
}

size_t ZSTD_findFrameCompressedSize(const void *src, size_t n)
{
	FAIL_ZSTD(F_ZSTD_findFrameCompressedSize);
	REAL(ZSTD_findFrameCompressedSize);
	return real_ZSTD_findFrameCompressedSize(src, n);
}

int mdb_env_get_fd(MDB_env *env, mdb_filehandle_t *fd)
{
	FAIL_MDB(F_mdb_env_get_fd);
	REAL(mdb_env_get_fd);
	return real_mdb_env_get_fd(env, fd);
}

int mdb_env_info(MDB_env *env, MDB_envinfo *info)
{
	FAIL_MDB(F_mdb_env_info);
	REAL(mdb_env_info);
	return real_mdb_env_info(env, info);
}

int mdb_env_stat(MDB_env *env, MDB_stat *st)
{
	FAIL_MDB(F_mdb_env_stat);
	REAL(mdb_env_stat);
	return real_mdb_env_stat(env, st);
}
