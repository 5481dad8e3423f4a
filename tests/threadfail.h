/* threadfail.h - failures seen by worker threads of the threaded tests.
 *
 * cmocka's asserts belong to the main thread: a worker records its
 * first failure here (thread_fail), every worker stops early once one
 * has failed (failed), and the main thread fails the test with the
 * message after joining them. */
#ifndef MEMLANE_THREADFAIL_H
#define MEMLANE_THREADFAIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

static struct {
	pthread_mutex_t lock;
	atomic_bool set;
	char msg[1024];
} failure = {.lock = PTHREAD_MUTEX_INITIALIZER};

static inline void failure_reset(void)
{
	failure.msg[0] = '\0';
	atomic_store(&failure.set, false);
}

/* Record the first failure of any thread; later ones add nothing. */
static inline void thread_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void thread_fail(const char *file, int line, const char *fmt, ...)
{
	pthread_mutex_lock(&failure.lock);
	if (!atomic_load(&failure.set)) {
		int n = snprintf(failure.msg, sizeof(failure.msg), "%s:%d: ", file, line);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(failure.msg + n, sizeof(failure.msg) - (size_t)n, fmt, ap);
		va_end(ap);
		atomic_store(&failure.set, true);
	}
	pthread_mutex_unlock(&failure.lock);
}

/* Every thread stops early once one has failed. */
static inline bool failed(void)
{
	return atomic_load(&failure.set);
}

/* In a worker's bool function: on a false condition record the failure
 * and return false. */
#define TCHECK(cond, ...)                                                                                              \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			thread_fail(__FILE__, __LINE__, __VA_ARGS__);                                                  \
			return false;                                                                                  \
		}                                                                                                      \
	} while (0)

#endif /* MEMLANE_THREADFAIL_H */
