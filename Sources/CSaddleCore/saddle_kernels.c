// Kernel instantiation for Float32 and Float64; the bodies live in kernels_template.h.
#include "saddle_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define SADDLE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

static inline float saddle_bits_to_float(uint32_t bits) {
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline uint32_t saddle_float_to_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

// 2^n for n in [-126, 127], built from the exponent bits.
static inline float saddle_exp2i(int32_t n) {
    return saddle_bits_to_float((uint32_t)(n + 127) << 23);
}

// exp(x) for Float32: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, then the degree-7
// minimax polynomial of the Cephes library (S. L. Moshier) for exp(r). The scale 2^n is applied
// in two halves so that results near overflow and in the subnormal range stay correct.
static inline float saddle_expf(float x) {
    float xc = x > 89.0f ? 89.0f : x;
    xc = xc < -104.0f ? -104.0f : xc;
    float fx = floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - fx * 0.693359375f;
    r = r + fx * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t n = (int32_t)fx;
    int32_t half = n / 2;
    y = y * saddle_exp2i(half) * saddle_exp2i(n - half);
    return x != x ? x : y;
}

// log(x) for Float32: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then the Cephes polynomial for
// log(1 + f). Zero gives -inf, negative numbers NaN, +inf stays +inf.
static inline float saddle_logf(float x) {
    int subnormal = x < 1.17549435e-38f;
    float xs = subnormal ? x * 8388608.0f : x;
    uint32_t bits = saddle_float_to_bits(xs);
    int32_t e = (int32_t)((bits >> 23) & 0xff) - 126 - (subnormal ? 23 : 0);
    float m = saddle_bits_to_float((bits & 0x807fffffu) | 0x3f000000u);
    int small = m < 0.707106781186547524f;
    e = small ? e - 1 : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    float fe = (float)e;
    float y = p * m * z;
    y = y + fe * -2.12194440e-4f;
    y = y - 0.5f * z;
    float result = m + y + fe * 0.693359375f;
    result = x == 0.0f ? -INFINITY : result;
    result = x < 0.0f ? NAN : result;
    result = x == INFINITY ? INFINITY : result;
    return x != x ? x : result;
}

// tanh(x) for Float32: an odd polynomial (Cephes) for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1)
// otherwise.
static inline float saddle_tanhf(float x) {
    float ax = fabsf(x);
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = x + x * z * p;
    float e = saddle_expf(2.0f * ax);
    float large = 1.0f - 2.0f / (e + 1.0f);
    large = x < 0.0f ? -large : large;
    return ax < 0.625f ? small : large;
}

static inline float saddle_sigmoidf(float x) { return 1.0f / (1.0f + saddle_expf(-x)); }
static inline double saddle_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

#define T float
#define S(name) name##_f32
#define EXP saddle_expf
#define LOG saddle_logf
#define TANH saddle_tanhf
#define SIGMOID saddle_sigmoidf
#define SQRT sqrtf
#define POW powf
#define FLOOR floorf
#include "kernels_template.h"
#undef T
#undef S
#undef EXP
#undef LOG
#undef TANH
#undef SIGMOID
#undef SQRT
#undef POW
#undef FLOOR

#define T double
#define S(name) name##_f64
#define EXP exp
#define LOG log
#define TANH tanh
#define SIGMOID saddle_sigmoid
#define SQRT sqrt
#define POW pow
#define FLOOR floor
#include "kernels_template.h"

SADDLE_CLONES void saddle_convert_f32_f64(const float *x, double *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = (double)x[i];
}

SADDLE_CLONES void saddle_convert_f64_f32(const double *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = (float)x[i];
}
