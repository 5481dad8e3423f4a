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

/* Bytes of a block of each class: a load where the arithmetic took a
 * branch and six instructions on the allocation and free paths. */
static const uint32_t ml_class_sizes[ML_NCLASSES] = {
	16,    32,    48,    64,    80,    96,    112,   128,   144,   160,   176,   192,
	208,   224,   240,   256,   320,   384,   448,   512,   640,   768,   896,   1024,
	1280,  1536,  1792,  2048,  2560,  3072,  3584,  4096,  5120,  6144,  7168,  8192,
	10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536};

/* Bytes of a block of class @cls. */
static inline size_t ml_class_size(unsigned cls)
{
	return ml_class_sizes[cls];
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
