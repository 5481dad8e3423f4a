/* error.c - error codes, their descriptions, and the thread-local
 * message that names the culprit of this thread's last failure.
 * Owns only the message buffer; touches no arena. */
/* The GNU strerror_r, which returns the string it chose. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char ml_errbuf[ML_ERRMSG_MAX];

static const char *const ml_errstr[] = {
	[0] = "success",
	[-MEMLANE_EINVAL] = "invalid argument or option",
	[-MEMLANE_ENOMEM] = "no room in the lanes, even after compaction and promotion",
	[-MEMLANE_EHANDLE] = "null, freed, stale or foreign handle",
	[-MEMLANE_ERANGE] = "offset or length outside the object",
	[-MEMLANE_ENOTRESIDENT] = "object is spilled, not in RAM",
	[-MEMLANE_EPINNED] = "object is pinned",
	[-MEMLANE_ESTORE] = "spill store failure",
	[-MEMLANE_ECORRUPT] = "checksum, format or decompression failure",
	[-MEMLANE_ENOSPC] = "disk or store full",
	[-MEMLANE_EBUSY] = "spill directory held by another arena",
	[-MEMLANE_EEXIST] = "directory holds a persistent arena that these options would discard",
	[-MEMLANE_ENOSPILL] = "operation needs a spill directory",
	[-MEMLANE_ETOOBIG] = "object larger than any lane can hold",
	[-MEMLANE_ENOTFOUND] = "no such root",
};

const char *memlane_strerror(int err)
{
	if (err <= 0 && err >= MEMLANE_ELAST)
		return ml_errstr[-err];
	if (err > 0) {
		/* strerror is not thread-safe, and strerror_r's GNU form may
		 * return a static string: either way the result is usable. */
		static _Thread_local char buf[128];
		const char *s = strerror_r(err, buf, sizeof(buf));
		return s ? s : "unknown error";
	}
	return "unknown libmemlane error";
}

const char *memlane_errmsg(void)
{
	return ml_errbuf;
}

int ml_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ml_errbuf, sizeof(ml_errbuf), fmt, ap);
	va_end(ap);
	return code;
}

void ml_errclear(void)
{
	ml_errbuf[0] = '\0';
}

/* For calls that swallow the errors of their parts (a policy cycle):
 * the caller's last message stays as it was. */
/* Only the message, not the whole buffer: memlane_realloc saves it on
 * every move. */
void ml_err_save(char saved[ML_ERRMSG_MAX])
{
	size_t n = strnlen(ml_errbuf, ML_ERRMSG_MAX - 1);
	memcpy(saved, ml_errbuf, n);
	saved[n] = '\0';
}

void ml_err_restore(const char saved[ML_ERRMSG_MAX])
{
	size_t n = strnlen(saved, ML_ERRMSG_MAX - 1);
	memcpy(ml_errbuf, saved, n);
	ml_errbuf[n] = '\0';
}
