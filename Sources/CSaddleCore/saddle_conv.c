// Image kernel instantiation for Float32 and Float64; the bodies live in conv_template.h.
#include "saddle_conv.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define SADDLE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// The output columns [lo, hi) whose input column ox sw + ix0 lies inside the image [0, w).
static inline void saddle_inside_columns(SaddleWindow g, int64_t ix0, int64_t *lo, int64_t *hi) {
    int64_t first = ix0 >= 0 ? 0 : (-ix0 + g.sw - 1) / g.sw;
    int64_t last = g.w - ix0 <= 0 ? 0 : (g.w - ix0 + g.sw - 1) / g.sw;
    if (last > g.ow) last = g.ow;
    *lo = first > last ? last : first;
    *hi = last;
}

#define T float
#define S(name) name##_f32
#define SQRT sqrtf
#include "conv_template.h"
#undef T
#undef S
#undef SQRT

#define T double
#define S(name) name##_f64
#define SQRT sqrt
#include "conv_template.h"
