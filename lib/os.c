/* os.c - the operating system layer: mapping the lanes and giving pages
 * back. The only file that calls mmap, munmap and madvise. */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

size_t ml_os_page(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

/* Reserve @size bytes of address space; pages are materialised on first
 * touch, so a large lane costs nothing until it is used. */
void *ml_os_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Reserve @size bytes of address space that cannot be touched yet: no
 * memory, and no commit charge even under strict overcommit. Parts are
 * made usable with ml_os_commit. */
void *ml_os_reserve(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Make [p, p + size) of a reservation readable and writable. */
bool ml_os_commit(void *p, size_t size)
{
	return mprotect(p, size, PROT_READ | PROT_WRITE) == 0;
}

void ml_os_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

/* Give the whole pages inside [from, to) of a lane back to the OS.
 * MADV_DONTNEED (not MADV_FREE) so RSS drops at once and the pages read
 * as zero when touched again. Returns the bytes given back. */
size_t ml_os_release(uint8_t *base, size_t from, size_t to)
{
	size_t page = ml_os_page();
	size_t lo = ml_align_up(from, page), hi = ml_align_down(to, page);
	if (hi <= lo)
		return 0;
	if (madvise(base + lo, hi - lo, MADV_DONTNEED) != 0)
		return 0;
	return hi - lo;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older headers lack it */
#endif

/* Whether MADV_POPULATE_WRITE works here: cleared at the first EINVAL
 * (a kernel before 5.14), so such a kernel costs one failed call. */
static atomic_bool prefault_usable = true;

/* Make the pages that start inside [from, to) resident and writable
 * now, in one system call, instead of one page fault each as they are
 * first written (a page that starts below @from is shared with bytes
 * already in use, so resident). Returns the bytes made resident, 0 when
 * the kernel cannot: the pages then fault in on first touch as before. */
size_t ml_os_prefault(uint8_t *base, size_t from, size_t to)
{
	size_t page = ml_os_page();
	size_t lo = ml_align_up(from, page), hi = ml_align_up(to, page);
	if (hi <= lo || !atomic_load_explicit(&prefault_usable, memory_order_relaxed))
		return 0;
	if (madvise(base + lo, hi - lo, MADV_POPULATE_WRITE) != 0) {
		if (errno == EINVAL)
			atomic_store_explicit(&prefault_usable, false, memory_order_relaxed);
		return 0;
	}
	return hi - lo;
}
