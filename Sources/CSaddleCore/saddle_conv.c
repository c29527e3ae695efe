// Image kernel instantiation for Float32 and Float64; the bodies live in conv_template.h.
#include "saddle_conv.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define SADDLE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

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
