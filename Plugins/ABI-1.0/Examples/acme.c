/*
 * acme: an example Saddle plugin in C.
 *
 *   acme.swish   activation x * sigmoid(beta * x), with first and second derivatives
 *   acme.relu    activation max(x, 0) (the built-in relu's twin, for overhead measurements)
 *   acme.prelu   layer: parametric ReLU, y = x for x > 0 and alpha_j x otherwise, one learned
 *                slope per feature, with its second-order rule (jvp and backward_jvp)
 *
 * Build (one line, from the repository root):
 *   cc -shared -fPIC -O3 -fvisibility=hidden -I Plugins/ABI/include Plugins/Examples/acme/acme.c -o libacme.so -lm
 *
 * The ACME_* macros below build deliberately broken variants for Saddle's tests.
 */
#include <math.h>
#include <stddef.h>

#include "saddle_plugin.h"

#ifndef ACME_ABI_MAJOR
#define ACME_ABI_MAJOR SADDLE_PLUGIN_ABI_MAJOR
#endif
#ifndef ACME_VERSION
#define ACME_VERSION "1.0"
#endif
#ifndef ACME_ENTRY
#define ACME_ENTRY saddle_plugin_init
#endif
#ifndef ACME_SWISH_NAME
#define ACME_SWISH_NAME "acme.swish"
#endif
#ifndef ACME_SWISH_F32
#define ACME_SWISH_F32 (void *)swish_f32
#endif
#ifndef ACME_SWISH_SIGNATURE
#define ACME_SWISH_SIGNATURE "nxyhe"
#endif

static void fail(saddle_sink *sink, const char *message) {
    if (sink && sink->report) sink->report(sink->context, message);
}

/* ---- acme.swish: f = x s, s = sigmoid(beta x) ---- */

#define SWISH_KERNELS(T, S)                                                                        \
    static int32_t swish_##S(int64_t n, const T *x, T *y, const double *h, saddle_sink *e) {       \
        T beta = (T)h[0];                                                                          \
        if (!(beta >= 0)) {                                                                        \
            fail(e, "beta must be at least 0");                                                    \
            return SADDLE_ERROR;                                                                   \
        }                                                                                          \
        for (int64_t i = 0; i < n; i++) y[i] = x[i] / ((T)1 + (T)exp(-(double)(beta * x[i])));     \
        return SADDLE_OK;                                                                          \
    }                                                                                              \
    static int32_t swish_d_##S(int64_t n, const T *x, T *y, const double *h, saddle_sink *e) {     \
        (void)e;                                                                                   \
        T beta = (T)h[0];                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T s = (T)1 / ((T)1 + (T)exp(-(double)(beta * x[i])));                                  \
            y[i] = s + beta * x[i] * s * ((T)1 - s);                                               \
        }                                                                                          \
        return SADDLE_OK;                                                                          \
    }                                                                                              \
    static int32_t swish_dd_##S(int64_t n, const T *x, T *y, const double *h, saddle_sink *e) {    \
        (void)e;                                                                                   \
        T beta = (T)h[0];                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T s = (T)1 / ((T)1 + (T)exp(-(double)(beta * x[i])));                                  \
            T ds = s * ((T)1 - s);                                                                 \
            y[i] = (T)2 * beta * ds + beta * beta * x[i] * ds * ((T)1 - (T)2 * s);                 \
        }                                                                                          \
        return SADDLE_OK;                                                                          \
    }

SWISH_KERNELS(float, f32)
SWISH_KERNELS(double, f64)

/* ---- acme.relu ---- */

#define RELU_KERNELS(T, S)                                                                         \
    static int32_t relu_##S(int64_t n, const T *x, T *y) {                                         \
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : (T)0;                             \
        return SADDLE_OK;                                                                          \
    }                                                                                              \
    static int32_t relu_d_##S(int64_t n, const T *x, T *y) {                                       \
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? (T)1 : (T)0;                             \
        return SADDLE_OK;                                                                          \
    }                                                                                              \
    static int32_t relu_dd_##S(int64_t n, const T *x, T *y) {                                      \
        (void)x;                                                                                   \
        for (int64_t i = 0; i < n; i++) y[i] = 0;                                                  \
        return SADDLE_OK;                                                                          \
    }

RELU_KERNELS(float, f32)
RELU_KERNELS(double, f64)

/* ---- acme.prelu: weight alpha [in]; output features = input features ---- */

#define PRELU_KERNELS(T, S)                                                                        \
    static int32_t prelu_forward_##S(int64_t b, int64_t f, const T *x, const T *const *w, T *y) {  \
        const T *alpha = w[0];                                                                     \
        for (int64_t r = 0; r < b; r++)                                                            \
            for (int64_t j = 0; j < f; j++) {                                                      \
                T v = x[r * f + j];                                                                \
                y[r * f + j] = v > 0 ? v : alpha[j] * v;                                           \
            }                                                                                      \
        return SADDLE_OK;                                                                          \
    }                                                                                              \
    static int32_t prelu_backward_##S(int64_t b, int64_t f, const T *x, const T *const *w,         \
                                      const T *g, T *d, T *const *dw) {                            \
        const T *alpha = w[0];                                                                     \
        T *dalpha = dw[0];                                                                         \
        for (int64_t j = 0; j < f; j++) dalpha[j] = 0;                                             \
        for (int64_t r = 0; r < b; r++)                                                            \
            for (int64_t j = 0; j < f; j++) {                                                      \
                T v = x[r * f + j], u = g[r * f + j];                                              \
                d[r * f + j] = v > 0 ? u : alpha[j] * u;                                           \
                if (!(v > 0)) dalpha[j] += u * v;                                                  \
            }                                                                                      \
        return SADDLE_OK;                                                                          \
    }                                                                                              \
    static int32_t prelu_jvp_##S(int64_t b, int64_t f, const T *x, const T *const *w,              \
                                 const T *tx, const T *const *tw, T *y) {                          \
        const T *alpha = w[0], *talpha = tw[0];                                                    \
        for (int64_t r = 0; r < b; r++)                                                            \
            for (int64_t j = 0; j < f; j++) {                                                      \
                T v = x[r * f + j];                                                                \
                y[r * f + j] = v > 0 ? tx[r * f + j] : alpha[j] * tx[r * f + j] + talpha[j] * v;   \
            }                                                                                      \
        return SADDLE_OK;                                                                          \
    }                                                                                              \
    static int32_t prelu_backward_jvp_##S(int64_t b, int64_t f, const T *x, const T *g,            \
                                          const T *tx, const T *const *tw, T *d, T *const *dw) {   \
        const T *talpha = tw[0];                                                                   \
        T *dalpha = dw[0];                                                                         \
        for (int64_t j = 0; j < f; j++) dalpha[j] = 0;                                             \
        for (int64_t r = 0; r < b; r++)                                                            \
            for (int64_t j = 0; j < f; j++) {                                                      \
                T v = x[r * f + j], u = g[r * f + j];                                              \
                d[r * f + j] = v > 0 ? (T)0 : talpha[j] * u;                                       \
                if (!(v > 0)) dalpha[j] += u * tx[r * f + j];                                      \
            }                                                                                      \
        return SADDLE_OK;                                                                          \
    }

PRELU_KERNELS(float, f32)
PRELU_KERNELS(double, f64)

static int32_t prelu_output_features(const double *hyper, int64_t in, int64_t *out, saddle_sink *sink) {
    (void)hyper;
    (void)sink;
    *out = in;
    return SADDLE_OK;
}

static int32_t prelu_weight_shape(uint32_t index, const double *hyper, int64_t in, int64_t out, int64_t *dims,
                                  int32_t *rank, saddle_sink *sink) {
    (void)hyper;
    (void)out;
    if (index != 0) {
        fail(sink, "prelu has one weight");
        return SADDLE_ERROR;
    }
    dims[0] = in;
    *rank = 1;
    return SADDLE_OK;
}

static int32_t prelu_initialize(uint32_t index, const double *hyper, int64_t in, int64_t out, const double *uniform,
                                double *values, int64_t count, saddle_sink *sink) {
    (void)index;
    (void)in;
    (void)out;
    (void)uniform;
    (void)sink;
    for (int64_t i = 0; i < count; i++) values[i] = hyper[0];
    return SADDLE_OK;
}

/* ---- descriptors ---- */

static const saddle_parameter swish_parameters[] = {
    {sizeof(saddle_parameter), "beta", SADDLE_PARAMETER_NUMBER, 0, 1.0, 0.0, 100.0, "sharpness of the sigmoid gate"},
};

static const saddle_activation swish = {
#ifdef ACME_SMALL_STRUCT
    8,
#else
    sizeof(saddle_activation),
#endif
    ACME_SWISH_NAME,
    "x * sigmoid(beta * x) (Ramachandran et al. 2017)",
    1,
    swish_parameters,
    {sizeof(saddle_kernel), ACME_SWISH_SIGNATURE, ACME_SWISH_F32, (void *)swish_f64},
    {sizeof(saddle_kernel), "nxyhe", (void *)swish_d_f32, (void *)swish_d_f64},
#ifdef ACME_NO_SECOND_ORDER
    {sizeof(saddle_kernel), "nxyhe", NULL, NULL},
#else
    {sizeof(saddle_kernel), "nxyhe", (void *)swish_dd_f32, (void *)swish_dd_f64},
#endif
};

static const saddle_activation relu = {
    sizeof(saddle_activation),
    "acme.relu",
    "max(x, 0), computed by the plugin",
    0,
    NULL,
    {sizeof(saddle_kernel), "nxy", (void *)relu_f32, (void *)relu_f64},
    {sizeof(saddle_kernel), "nxy", (void *)relu_d_f32, (void *)relu_d_f64},
    {sizeof(saddle_kernel), "nxy", (void *)relu_dd_f32, (void *)relu_dd_f64},
};

static const saddle_parameter prelu_parameters[] = {
    {sizeof(saddle_parameter), "init", SADDLE_PARAMETER_NUMBER, 0, 0.25, -10.0, 10.0, "initial slope for negative inputs"},
};

static const char *const prelu_weights[] = {"alpha"};

static const saddle_layer prelu = {
    sizeof(saddle_layer),
    "acme.prelu",
    "parametric ReLU with one learned slope per feature (He et al. 2015)",
    1,
    prelu_parameters,
    prelu_output_features,
    1,
    prelu_weights,
    prelu_weight_shape,
    prelu_initialize,
    {sizeof(saddle_kernel), "bixwy", (void *)prelu_forward_f32, (void *)prelu_forward_f64},
    {sizeof(saddle_kernel), "bixwgdD", (void *)prelu_backward_f32, (void *)prelu_backward_f64},
#ifdef ACME_NO_SECOND_ORDER
    {sizeof(saddle_kernel), "bixwXWy", NULL, NULL},
    {sizeof(saddle_kernel), "bixgXWdD", NULL, NULL},
#else
    {sizeof(saddle_kernel), "bixwXWy", (void *)prelu_jvp_f32, (void *)prelu_jvp_f64},
    {sizeof(saddle_kernel), "bixgXWdD", (void *)prelu_backward_jvp_f32, (void *)prelu_backward_jvp_f64},
#endif
};

SADDLE_PLUGIN_EXPORT int32_t ACME_ENTRY(const saddle_host *host) {
    saddle_plugin_info info = {sizeof(saddle_plugin_info), ACME_ABI_MAJOR, SADDLE_PLUGIN_ABI_MINOR, "acme", ACME_VERSION,
                               "example activations and a parametric ReLU layer"};
    if (host->declare(host->context, &info) != SADDLE_OK) return SADDLE_ERROR;
    if (host->register_activation(host->context, &swish) != SADDLE_OK) return SADDLE_ERROR;
#ifdef ACME_FAIL_PARTWAY
    host->report(host->context, "acme: simulated failure after registering one component");
    return SADDLE_ERROR;
#endif
    if (host->register_activation(host->context, &relu) != SADDLE_OK) return SADDLE_ERROR;
    if (host->register_layer(host->context, &prelu) != SADDLE_OK) return SADDLE_ERROR;
    return SADDLE_OK;
}
