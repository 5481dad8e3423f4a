/* test_unload.c - the library can be unloaded (dlclose) while a thread
 * that used it lives on: the thread's exit must not call into the
 * unmapped library. A thread that earned an arena's bias has a record
 * released by a pthread key destructor of lib/lock.c's; the library's
 * own destructor deletes that key. Loads the build tree's shared
 * library by path (MEMLANE_SO), so the program is not linked to it;
 * skipped when there is no shared library (--disable-shared). */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memlane.h"

/* The records of threads that used a bias are never freed (a revoker
 * may read one whose thread is gone); the unload drops the library's
 * pointers to them, which LeakSanitizer would report. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "detect_leaks=0";
}

static int (*p_open)(memlane_arena **, const char *, const memlane_config *);
static int (*p_alloc)(memlane_arena *, size_t, memlane_handle *);
static int (*p_free)(memlane_arena *, memlane_handle);
static int (*p_close)(memlane_arena *);
static pthread_barrier_t barrier;
static int worker_rc;

/* Earn an arena's bias (far more than 1024 calls in a row), close it,
 * then wait, alive, while the main thread unloads the library. */
static void *worker(void *arg)
{
	(void)arg;
	memlane_arena *a = NULL;
	worker_rc = p_open(&a, NULL, NULL);
	for (int i = 0; i < 3000 && worker_rc == 0; i++) {
		memlane_handle h;
		if ((worker_rc = p_alloc(a, 32, &h)) == 0)
			worker_rc = p_free(a, h);
	}
	if (a && p_close(a) != 0 && worker_rc == 0)
		worker_rc = -1;
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier); /* the library is gone now */
	return NULL;
}

static void test_thread_outlives_library(void **state)
{
	(void)state;
	if (access(MEMLANE_SO, F_OK) != 0)
		skip(); /* a static-only build */
	void *lib = dlopen(MEMLANE_SO, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(lib);
	*(void **)&p_open = dlsym(lib, "memlane_open");
	*(void **)&p_alloc = dlsym(lib, "memlane_alloc");
	*(void **)&p_free = dlsym(lib, "memlane_free");
	*(void **)&p_close = dlsym(lib, "memlane_close");
	assert_true(p_open && p_alloc && p_free && p_close);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, worker, NULL), 0);
	pthread_barrier_wait(&barrier);
	assert_int_equal(worker_rc, 0);
	assert_int_equal(dlclose(lib), 0);
	void *still = dlopen(MEMLANE_SO, RTLD_NOW | RTLD_NOLOAD);
	if (still)
		dlclose(still);
	pthread_barrier_wait(&barrier);
	/* Its exit runs the key destructors: a crash here is the bug. */
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_barrier_destroy(&barrier);
	if (still)
		print_message("the library stayed loaded: nothing was unmapped\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_outlives_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
