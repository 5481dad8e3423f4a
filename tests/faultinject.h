/* faultinject.h - the control interface of the fault-injection shim
 * (faultinject.c), an LD_PRELOAD library for test_faults.
 *
 * The shim interposes the system, LMDB and zstd calls that libmemlane
 * makes (and the system calls LMDB makes for it), counts the calls that
 * come from those libraries, one counter per function, and fails the
 * Nth call of a function when armed to. A call site is a (function,
 * calling module, return address offset) triple. Functions called from
 * anywhere else (libc itself, the test program, cmocka) are passed
 * through uncounted.
 *
 * The test program finds these functions with dlsym(RTLD_DEFAULT, ...):
 * it links no code of the shim, so it also runs (and skips) without it. */
#ifndef FAULTINJECT_H
#define FAULTINJECT_H

#include <stddef.h>
#include <stdint.h>

/* The calling modules whose calls are counted. */
enum fi_module { FI_MOD_MEMLANE = 0, FI_MOD_LMDB = 1, FI_NMOD = 2 };

/* Forget every count, site and armed fault. */
typedef void fi_reset_fn(void);
/* Arm faults: "FUNC:N[:ERR],FUNC:+N[:ERR]..." fails the Nth counted call
 * (1-based) of FUNC, with ERR (an errno or LMDB name, or a number)
 * instead of the function's usual failure; +N counts from the moment
 * the first fault fired (a fault in the recovery from another). 0, or
 * -1 for a bad spec. */
typedef int fi_arm_fn(const char *spec);
/* How many armed faults fired so far; their descriptions go to @desc,
 * "FUNC call N (MODULE+0xOFFSET)" each, separated by "; ". */
typedef int fi_fired_fn(char *desc, size_t len);
/* Whether a module (FI_MOD_*) is loaded as a shared object. */
typedef int fi_module_loaded_fn(int mod);
/* The functions the shim knows: name of number @i, NULL past the end. */
typedef const char *fi_func_name_fn(size_t i);
/* Calls of function @i counted since the reset. */
typedef uint64_t fi_count_fn(size_t i);
/* The site of call number @k (0-based) of function @i, or -1 when not
 * logged (more calls than the log holds). */
typedef long fi_call_site_fn(size_t i, uint64_t k);
/* Site @site: its function, module and return address offset; 0, or
 * -1 past the last site. */
typedef int fi_site_fn(long site, size_t *func, int *mod, uintptr_t *off);

#endif /* FAULTINJECT_H */
