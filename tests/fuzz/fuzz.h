/* fuzz.h - what the libFuzzer harnesses share: the entry point's
 * prototype, a failed invariant, temporary directories. A failed check
 * prints what broke and aborts, which libFuzzer reports as a crash and
 * saves the input (crash-*) for reproduction. */
#ifndef MEMLANE_FUZZ_H
#define MEMLANE_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw, open_memstream */
#endif
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant: on failure say which and where, then abort. */
#define FUZZ_CHECK(cond, ...)                                                                                          \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond);                  \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fputc('\n', stderr);                                                                           \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

/* Make $TMPDIR/memlane-fuzz-@name-XXXXXX (or under /tmp) into @out;
 * aborts when it cannot (the harness cannot run without it). */
static inline void fuzz_mkdtemp(char *out, size_t n, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int len = snprintf(out, n, "%s/memlane-fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	FUZZ_CHECK(len > 0 && (size_t)len < n && mkdtemp(out), "mkdtemp(%s): %s", out, strerror(errno));
}

static inline int fuzz_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove @path and everything below it (symlinks are not followed). */
static inline void fuzz_rm_rf(const char *path)
{
	nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The harness's temporary directory, made on first use and removed at
 * exit (libFuzzer ends with exit()). */
static inline char *fuzz_tmp_root(void)
{
	static char root[4096];
	return root;
}

static inline void fuzz_tmp_cleanup(void)
{
	if (fuzz_tmp_root()[0])
		fuzz_rm_rf(fuzz_tmp_root());
}

static inline const char *fuzz_tmpdir(const char *name)
{
	char *root = fuzz_tmp_root();
	if (!root[0]) {
		fuzz_mkdtemp(root, 4096, name);
		atexit(fuzz_tmp_cleanup);
	}
	return root;
}

#endif /* MEMLANE_FUZZ_H */
