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

/* Bytes of a block of class @c, by the rule above: 16-byte steps up to
 * 256, then four classes per doubling. For the table below. */
#define ML_CLASS_BYTES(c) ((c) < 16 ? ((c) + 1) * 16 : (4 + ((c) - 16) % 4 + 1) << (6 + ((c) - 16) / 4))
#define ML_CLASS_BYTES4(c) ML_CLASS_BYTES(c), ML_CLASS_BYTES(c + 1), ML_CLASS_BYTES(c + 2), ML_CLASS_BYTES(c + 3)

/* Bytes of a block of each class: a load where the arithmetic took a
 * branch and six instructions on the allocation and free paths. */
static const uint32_t ml_class_sizes[ML_NCLASSES] = {
	ML_CLASS_BYTES4(0),  ML_CLASS_BYTES4(4),  ML_CLASS_BYTES4(8),  ML_CLASS_BYTES4(12),
	ML_CLASS_BYTES4(16), ML_CLASS_BYTES4(20), ML_CLASS_BYTES4(24), ML_CLASS_BYTES4(28),
	ML_CLASS_BYTES4(32), ML_CLASS_BYTES4(36), ML_CLASS_BYTES4(40), ML_CLASS_BYTES4(44)};
_Static_assert(ML_CLASS_BYTES(ML_NCLASSES - 1) == ML_CLASS_MAX_SIZE, "the last class holds ML_CLASS_MAX_SIZE");

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
