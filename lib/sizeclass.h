/* sizeclass.h - the size classes shared by the FastLane and the
 * SlowLane's block region.
 *
 * Classes are 16-byte steps up to 256 bytes, then four classes per
 * doubling up to 64 KiB: 48 classes, each a multiple of 16 bytes, so
 * every block starts 16-byte aligned and the worst padding above 256
 * bytes is 25%. Owns only arithmetic; touches no arena state. */
#ifndef MEMLANE_SIZECLASS_H
#define MEMLANE_SIZECLASS_H

#include <stddef.h>
#include <stdint.h>

#define ML_NCLASSES 48
#define ML_CLASS_MAX_SIZE ((size_t)65536)
/* Minimum alignment of every object: also the block granularity. */
#define ML_MIN_ALIGN ((size_t)16)

/* The class holding @size bytes; size must be <= ML_CLASS_MAX_SIZE. */
static inline unsigned ml_class_of(size_t size)
{
	if (size <= 256)
		return size ? (unsigned)((size + 15) >> 4) - 1 : 0;
	size_t s = size - 1;
	unsigned msb = 63u - (unsigned)__builtin_clzll((unsigned long long)s);
	unsigned quarter = (unsigned)(s >> (msb - 2)); /* 4..7 */
	return 16u + (msb - 8u) * 4u + (quarter - 4u);
}

/* Bytes of a block of class @cls. */
static inline size_t ml_class_size(unsigned cls)
{
	if (cls < 16)
		return (size_t)(cls + 1) * 16;
	unsigned k = cls - 16;
	unsigned msb = 8 + k / 4;
	return (size_t)(4 + k % 4 + 1) << (msb - 2);
}

static inline size_t ml_align_up(size_t v, size_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static inline size_t ml_align_down(size_t v, size_t align)
{
	return v & ~(align - 1);
}

#endif /* MEMLANE_SIZECLASS_H */
