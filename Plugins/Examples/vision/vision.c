/*
 * vision: an example Saddle plugin for ABI 1.1, in C.
 *
 *   vision.dense      layer [in] -> [units]: y = x W^T + b through OpenBLAS, with batched
 *                     second-order rules and Net2Net growth (units, identity)
 *   vision.pointwise  image layer [C, H, W] -> [units, H, W]: a 1x1 convolution, batched
 *                     second-order rules, growth along channels, identity
 *   vision.batchnorm  per-feature normalization of [C] or [C, ...] (statistics over the batch
 *                     and the positions), training and inference modes, running statistics
 *                     as buffers; feature-wise under growth
 *   vision.dropout    inverted dropout drawing from the host's per-example random streams;
 *                     the identity in inference mode
 *
 * Build (one line, from the repository root):
 *   cc -shared -fPIC -O3 -fvisibility=hidden -I Plugins/ABI/include Plugins/Examples/vision/vision.c -o libvision.so -lopenblas -lm
 *
 * VISION_SHAPE_LIE builds a deliberately broken variant for Saddle's tests: vision.dense
 * declares one output unit fewer than its forward kernel writes.
 */
#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "saddle_plugin.h"

static void fail(saddle_sink *sink, const char *message) {
    if (sink && sink->report) sink->report(sink->context, message);
}

static int64_t positions(const saddle_shape *shape) {
    int64_t p = 1;
    for (int32_t k = 1; k < shape->rank; k++) p *= shape->dims[k];
    return p;
}

static saddle_shape vector_shape(int64_t n) {
    saddle_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 1;
    s.dims[0] = n;
    return s;
}

/* Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), as PyTorch initializes linear and conv layers. */
static void fan_in_uniform(const double *uniform, double *values, int64_t count, int64_t fan_in) {
    double bound = 1.0 / sqrt((double)fan_in);
    for (int64_t k = 0; k < count; k++) values[k] = (2 * uniform[k] - 1) * bound;
}

/* ================= vision.dense: weight [units, in], bias [units] ================= */

static const saddle_parameter dense_parameters[] = {
    {sizeof(saddle_parameter), "units", SADDLE_PARAMETER_INTEGER, 1, 0, 1, 1 << 24, "number of output units"},
};
static const char *const dense_weights[] = {"weight", "bias"};
static const int32_t dense_unit_axes[] = {0, 0};
static const int32_t dense_input_axes[] = {1, -1};


static int32_t dense_output_shape(const double *h, const char *const *s, const saddle_shape *in, saddle_shape *out, saddle_sink *e) {
    (void)s;
    if (in->rank != 1) {
        fail(e, "vision.dense takes vectors [features]; put a Flatten before it");
        return SADDLE_ERROR;
    }
    *out = vector_shape((int64_t)h[0]);
    return SADDLE_OK;
}

static int32_t dense_weight_shape(uint32_t index, const double *h, const char *const *s, const saddle_shape *in,
                                  const saddle_shape *out, saddle_shape *w, saddle_sink *e) {
    (void)h, (void)s, (void)e;
    *w = vector_shape(out->dims[0]);
    if (index == 0) {
        w->rank = 2;
        w->dims[1] = in->dims[0];
    }
    return SADDLE_OK;
}

static int32_t dense_initialize(uint32_t index, const double *h, const char *const *s, const saddle_shape *in,
                                const saddle_shape *w, const double *uniform, double *values, int64_t count, saddle_sink *e) {
    (void)index, (void)h, (void)s, (void)w, (void)e;
    fan_in_uniform(uniform, values, count, in->dims[0]);
    return SADDLE_OK;
}

static int32_t dense_identity(uint32_t index, const double *h, const char *const *s, const saddle_shape *shape,
                              const saddle_shape *w, double *values, int64_t count, saddle_sink *e) {
    (void)h, (void)s, (void)shape, (void)e;
    memset(values, 0, (size_t)count * sizeof(double));
    if (index == 0)
        for (int64_t j = 0; j < w->dims[0]; j++) values[j * w->dims[1] + j] = 1;
    return SADDLE_OK;
}

/* VISION_SHAPE_LIE: the forward kernel writes rows as wide as the units hyperparameter plus one,
 * more than output_shape declares. */
#ifdef VISION_SHAPE_LIE
#define DENSE_LIE(o, h) o = (int64_t)h[0] + 1;
#else
#define DENSE_LIE(o, h) (void)h;
#endif

/* The host's parallel_for (ABI 1.1), kept from the entry point; NULL runs blocks in turn. */
static void (*parallel_for)(int64_t count, int64_t cost, void (*body)(void *user, int64_t item), void *user);

/* Blocks of a product with `work` multiply-adds: fixed by the shape (never by the thread
 * count), so the bits are the same on every machine. */
static int64_t blocks_for(int64_t work, int64_t extent) {
    int64_t blocks = work < (1 << 20) ? 1 : work < (1 << 23) ? 2 : 4;
    return blocks < extent ? blocks : (extent > 0 ? extent : 1);
}

static void run_blocks(int64_t blocks, int64_t work, void (*body)(void *, int64_t), void *task) {
    if (parallel_for && blocks > 1) {
        parallel_for(blocks, work, body, task);
    } else {
        for (int64_t k = 0; k < blocks; k++) body(task, k);
    }
}

/* C [m, n] = beta C + op(A) op(B), split into blocks of columns of C run by the host's
 * compute threads (GEMM is cblas_sgemm or cblas_dgemm). */
#define PARALLEL_GEMM(T, S, GEMM)                                                                          \
    typedef struct {                                                                                       \
        int ta, tb;                                                                                        \
        int64_t m, n, k, lda, ldb, ldc, blocks;                                                            \
        const T *a, *b;                                                                                    \
        T beta, *c;                                                                                        \
    } gemm_task_##S;                                                                                       \
    static void gemm_block_##S(void *user, int64_t q) {                                                    \
        const gemm_task_##S *t = user;                                                                     \
        int64_t n0 = t->n * q / t->blocks, n1 = t->n * (q + 1) / t->blocks;                                \
        GEMM(CblasRowMajor, t->ta ? CblasTrans : CblasNoTrans, t->tb ? CblasTrans : CblasNoTrans, t->m,    \
             n1 - n0, t->k, 1, t->a, t->lda, t->tb ? t->b + n0 * t->ldb : t->b + n0, t->ldb, t->beta,       \
             t->c + n0, t->ldc);                                                                           \
    }                                                                                                      \
    static void pgemm_##S(int ta, int tb, int64_t m, int64_t n, int64_t k, const T *a, int64_t lda,        \
                          const T *b, int64_t ldb, T beta, T *c, int64_t ldc) {                            \
        gemm_task_##S t = {ta, tb, m, n, k, lda, ldb, ldc, blocks_for(m * n * k, n), a, b, beta, c};       \
        run_blocks(t.blocks, m * n * k, gemm_block_##S, &t);                                               \
    }

PARALLEL_GEMM(float, f32, cblas_sgemm)
PARALLEL_GEMM(double, f64, cblas_dgemm)

/* The dense kernels for one element type. In the batched rules, tangent s of a value of n
 * elements starts at s * n; products over all K tangents run as single large products (the
 * input x is packed once, not once per tangent), through a scratch buffer. */
#define DENSE_KERNELS(T, S)                                                                                \
    static int32_t dense_forward_##S(int64_t b, int64_t i, int64_t o, const T *x, const T *const *w, T *y,  \
                                     const double *h) {                                                    \
        DENSE_LIE(o, h)                                                                                    \
        pgemm_##S(0, 1, b, o, i, x, i, w[0], i, 0, y, o); /* y = x W^T */                                 \
        for (int64_t r = 0; r < b; r++)                                                                    \
            for (int64_t j = 0; j < o; j++) y[r * o + j] += w[1][j];                                       \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t dense_backward_##S(int64_t b, int64_t i, int64_t o, int64_t needed, const T *x,        \
                                      const T *const *w, const T *g, T *d, T *const *dw) {                 \
        if (needed & 1) pgemm_##S(0, 0, b, i, o, g, o, w[0], i, 0, d, i); /* d = g W */                   \
        if (needed & 6) {                                                                                  \
            pgemm_##S(1, 0, o, i, b, g, o, x, i, 0, dw[0], i); /* dW = g^T x */                            \
            for (int64_t j = 0; j < o; j++) dw[1][j] = 0;                                                  \
            for (int64_t r = 0; r < b; r++)                                                                \
                for (int64_t j = 0; j < o; j++) dw[1][j] += g[r * o + j];                                  \
        }                                                                                                  \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t dense_jvp_##S(int64_t b, int64_t i, int64_t o, int64_t k, const T *x, const T *const *w, \
                                 const T *X, const T *const *W, T *y, saddle_sink *e) {                    \
        /* y_s = X_s W^T + x W_s^T + bias_s; a NULL tangent is zero. */                                    \
        if (X) pgemm_##S(0, 1, k * b, o, i, X, i, w[0], i, 0, y, o);                                       \
        else memset(y, 0, (size_t)(k * b * o) * sizeof(T));                                               \
        if (W[0]) {                                                                                        \
            T *xw = malloc((size_t)(b * k * o) * sizeof(T)); /* [b, k o]: x [W_0; ...; W_k-1]^T */         \
            if (!xw) {                                                                                     \
                fail(e, "vision.dense jvp: out of memory");                                                \
                return SADDLE_ERROR;                                                                       \
            }                                                                                              \
            pgemm_##S(0, 1, b, k * o, i, x, i, W[0], i, 0, xw, k * o);                                     \
            for (int64_t s = 0; s < k; s++)                                                                \
                for (int64_t r = 0; r < b; r++)                                                            \
                    for (int64_t j = 0; j < o; j++) y[(s * b + r) * o + j] += xw[r * k * o + s * o + j];   \
            free(xw);                                                                                      \
        }                                                                                                  \
        if (W[1])                                                                                          \
            for (int64_t s = 0; s < k; s++)                                                                \
                for (int64_t r = 0; r < b; r++)                                                            \
                    for (int64_t j = 0; j < o; j++) y[(s * b + r) * o + j] += W[1][s * o + j];             \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t dense_backward_jvp_##S(int64_t b, int64_t i, int64_t o, int64_t k, int64_t needed,      \
                                          const T *x, const T *const *w, const T *g, const T *X,           \
                                          const T *const *W, const T *G, T *d, T *const *dw, saddle_sink *e) { \
        /* d_s = G_s W + g W_s;  dW_s = G_s^T x + g^T X_s;  db_s = sum over rows of G_s (NULL: zero).      \
         * 'q' (needed): bit 0 for d, bits 1 and 2 for dW and db; the others are skipped. */              \
        if (needed & 1) {                                                                                  \
            if (G) pgemm_##S(0, 0, k * b, i, o, G, o, w[0], i, 0, d, i);                                   \
            else memset(d, 0, (size_t)(k * b * i) * sizeof(T));                                            \
            if (W[0])                                                                                      \
                for (int64_t s = 0; s < k; s++) pgemm_##S(0, 0, b, i, o, g, o, W[0] + s * o * i, i, 1, d + s * b * i, i); \
        }                                                                                                  \
        if (!(needed & 6)) return SADDLE_OK;                                                               \
        if (G) {                                                                                           \
            T *gs = malloc((size_t)(b * k * o) * sizeof(T)); /* [b, k o]: row r holds G_0[r] ... G_k-1[r] */ \
            if (!gs) {                                                                                     \
                fail(e, "vision.dense backward_jvp: out of memory");                                       \
                return SADDLE_ERROR;                                                                       \
            }                                                                                              \
            for (int64_t s = 0; s < k; s++)                                                                \
                for (int64_t r = 0; r < b; r++) memcpy(gs + r * k * o + s * o, G + (s * b + r) * o, (size_t)o * sizeof(T)); \
            pgemm_##S(1, 0, k * o, i, b, gs, k * o, x, i, 0, dw[0], i); /* all G_s^T x at once */          \
            free(gs);                                                                                      \
        } else {                                                                                           \
            memset(dw[0], 0, (size_t)(k * o * i) * sizeof(T));                                             \
        }                                                                                                  \
        for (int64_t s = 0; s < k; s++) {                                                                  \
            if (X) pgemm_##S(1, 0, o, i, b, g, o, X + s * b * i, i, 1, dw[0] + s * o * i, i);              \
            T *dbs = dw[1] + s * o;                                                                        \
            for (int64_t j = 0; j < o; j++) dbs[j] = 0;                                                    \
            if (G)                                                                                         \
                for (int64_t r = 0; r < b; r++)                                                            \
                    for (int64_t j = 0; j < o; j++) dbs[j] += G[(s * b + r) * o + j];                      \
        }                                                                                                  \
        return SADDLE_OK;                                                                                  \
    }

DENSE_KERNELS(float, f32)
DENSE_KERNELS(double, f64)

/* ========= vision.pointwise: [C, H, W] -> [units, H, W]; weight [units, C], bias [units] ========= */

static const saddle_shape pointwise_example = {3, 0, {3, 4, 5}};

static int32_t pointwise_output_shape(const double *h, const char *const *s, const saddle_shape *in, saddle_shape *out,
                                      saddle_sink *e) {
    (void)s;
    if (in->rank < 2) {
        fail(e, "vision.pointwise takes [channels, positions...], such as an image [C, H, W]");
        return SADDLE_ERROR;
    }
    *out = *in;
    out->dims[0] = (int64_t)h[0];
    return SADDLE_OK;
}

static int32_t pointwise_weight_shape(uint32_t index, const double *h, const char *const *s, const saddle_shape *in,
                                      const saddle_shape *out, saddle_shape *w, saddle_sink *e) {
    (void)h, (void)s, (void)e;
    *w = vector_shape(out->dims[0]);
    if (index == 0) {
        w->rank = 2;
        w->dims[1] = in->dims[0];
    }
    return SADDLE_OK;
}

/* Per example n: y_n [U, P] = W [U, C] x_n [C, P] + bias. */
#define POINTWISE_KERNELS(T, S, GEMM)                                                                      \
    static int32_t pointwise_forward_##S(int64_t b, const saddle_shape *in, const saddle_shape *out, const T *x, \
                                         const T *const *w, T *y) {                                        \
        int64_t C = in->dims[0], U = out->dims[0], P = positions(in);                                          \
        for (int64_t n = 0; n < b; n++) {                                                                  \
            T *yn = y + n * U * P;                                                                         \
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, U, P, C, 1, w[0], C, x + n * C * P, P, 0, yn, P); \
            for (int64_t u = 0; u < U; u++)                                                                \
                for (int64_t p = 0; p < P; p++) yn[u * P + p] += w[1][u];                                  \
        }                                                                                                  \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t pointwise_backward_##S(int64_t b, const saddle_shape *in, const saddle_shape *out, const T *x, \
                                          const T *const *w, const T *g, T *d, T *const *dw) {             \
        int64_t C = in->dims[0], U = out->dims[0], P = positions(in);                                          \
        for (int64_t u = 0; u < U; u++) dw[1][u] = 0;                                                      \
        for (int64_t n = 0; n < b; n++) {                                                                  \
            const T *gn = g + n * U * P;                                                                   \
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, C, P, U, 1, w[0], C, gn, P, 0, d + n * C * P, P); \
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, U, C, P, 1, gn, P, x + n * C * P, P, n ? 1 : 0,    \
                 dw[0], C);                                                                                \
            for (int64_t u = 0; u < U; u++)                                                                \
                for (int64_t p = 0; p < P; p++) dw[1][u] += gn[u * P + p];                                 \
        }                                                                                                  \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t pointwise_jvp_##S(int64_t b, int64_t k, const saddle_shape *in, const saddle_shape *out,  \
                                     const T *x, const T *const *w, const T *X, const T *const *W, T *y) { \
        /* y_tn = W X_tn + W_t x_n + bias_t; a NULL tangent is zero. */                                    \
        int64_t C = in->dims[0], U = out->dims[0], P = positions(in);                                      \
        memset(y, 0, (size_t)(k * b * U * P) * sizeof(T));                                                 \
        for (int64_t t = 0; t < k; t++)                                                                    \
            for (int64_t n = 0; n < b; n++) {                                                              \
                T *yn = y + (t * b + n) * U * P;                                                           \
                if (X)                                                                                     \
                    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, U, P, C, 1, w[0], C, X + (t * b + n) * C * P, \
                         P, 1, yn, P);                                                                     \
                if (W[0])                                                                                  \
                    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, U, P, C, 1, W[0] + t * U * C, C,        \
                         x + n * C * P, P, 1, yn, P);                                                      \
                if (W[1])                                                                                  \
                    for (int64_t u = 0; u < U; u++)                                                        \
                        for (int64_t p = 0; p < P; p++) yn[u * P + p] += W[1][t * U + u];                  \
            }                                                                                              \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t pointwise_backward_jvp_##S(int64_t b, int64_t k, const saddle_shape *in,                 \
                                              const saddle_shape *out, const T *x, const T *const *w,        \
                                              const T *g, const T *X, const T *const *W, const T *G, T *d, \
                                              T *const *dw) {                                              \
        /* d_tn = W^T G_tn + W_t^T g_n;  dW_t = sum_n G_tn x_n^T + g_n X_tn^T;  db_t from G (NULL: zero) */ \
        int64_t C = in->dims[0], U = out->dims[0], P = positions(in);                                      \
        memset(d, 0, (size_t)(k * b * C * P) * sizeof(T));                                                 \
        memset(dw[0], 0, (size_t)(k * U * C) * sizeof(T));                                                 \
        memset(dw[1], 0, (size_t)(k * U) * sizeof(T));                                                     \
        for (int64_t t = 0; t < k; t++) {                                                                  \
            T *dWt = dw[0] + t * U * C, *dbt = dw[1] + t * U;                                              \
            for (int64_t n = 0; n < b; n++) {                                                              \
                const T *gn = g + n * U * P;                                                               \
                T *dn = d + (t * b + n) * C * P;                                                           \
                if (G) {                                                                                   \
                    const T *Gn = G + (t * b + n) * U * P;                                                 \
                    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, C, P, U, 1, w[0], C, Gn, P, 1, dn, P);    \
                    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, U, C, P, 1, Gn, P, x + n * C * P, P, 1, dWt, C); \
                    for (int64_t u = 0; u < U; u++)                                                        \
                        for (int64_t p = 0; p < P; p++) dbt[u] += Gn[u * P + p];                           \
                }                                                                                          \
                if (W[0])                                                                                  \
                    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, C, P, U, 1, W[0] + t * U * C, C, gn, P, 1, dn, P); \
                if (X)                                                                                     \
                    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, U, C, P, 1, gn, P, X + (t * b + n) * C * P, P, 1, \
                         dWt, C);                                                                          \
            }                                                                                              \
        }                                                                                                  \
        return SADDLE_OK;                                                                                  \
    }

POINTWISE_KERNELS(float, f32, cblas_sgemm)
POINTWISE_KERNELS(double, f64, cblas_dgemm)

/* ====== vision.batchnorm: gamma, beta [C]; buffers running_mean (0), running_var (1) [C] ====== */

static const saddle_parameter norm_parameters[] = {
    {sizeof(saddle_parameter), "momentum", SADDLE_PARAMETER_NUMBER, 0, 0.1, 0, 1, "weight of the newest batch in the running statistics"},
    {sizeof(saddle_parameter), "epsilon", SADDLE_PARAMETER_NUMBER, 0, 1e-5, 1e-12, 1, "added to the variance"},
};
static const char *const norm_weights[] = {"weight", "bias"};
static const char *const norm_buffers[] = {"running_mean", "running_var"};
static const double norm_initial[] = {0, 1};
static const int32_t norm_axes[] = {0, 0};
static const saddle_shape norm_example = {3, 0, {3, 2, 2}};

static int32_t same_shape(const double *h, const char *const *s, const saddle_shape *in, saddle_shape *out, saddle_sink *e) {
    (void)h, (void)s, (void)e;
    *out = *in;
    return SADDLE_OK;
}

static int32_t per_channel(uint32_t index, const double *h, const char *const *s, const saddle_shape *in,
                           const saddle_shape *out, saddle_shape *w, saddle_sink *e) {
    (void)index, (void)h, (void)s, (void)out, (void)e;
    *w = vector_shape(in->dims[0]);
    return SADDLE_OK;
}

static int32_t norm_initialize(uint32_t index, const double *h, const char *const *s, const saddle_shape *in,
                               const saddle_shape *w, const double *uniform, double *values, int64_t count, saddle_sink *e) {
    (void)h, (void)s, (void)in, (void)w, (void)uniform, (void)e;
    for (int64_t k = 0; k < count; k++) values[k] = index == 0 ? 1 : 0;
    return SADDLE_OK;
}

/* Element (n, c, p) of [b, C, P] is at (n * C + c) * P + p. Statistics per channel c over the
 * m = b * P values; the variance is the biased one, the running variance the unbiased one. */
#define NORM_KERNELS(T, S)                                                                                 \
    static void norm_statistics_##S(int64_t b, int64_t C, int64_t P, const T *x, int64_t c, double *mean,  \
                                    double *var) {                                                         \
        double sum = 0, squares = 0, m = (double)(b * P);                                                  \
        for (int64_t n = 0; n < b; n++)                                                                    \
            for (int64_t p = 0; p < P; p++) sum += x[(n * C + c) * P + p];                                 \
        *mean = sum / m;                                                                                   \
        for (int64_t n = 0; n < b; n++)                                                                    \
            for (int64_t p = 0; p < P; p++) {                                                              \
                double v = x[(n * C + c) * P + p] - *mean;                                                 \
                squares += v * v;                                                                          \
            }                                                                                              \
        *var = squares / m;                                                                                \
    }                                                                                                      \
    static int32_t norm_forward_##S(int64_t b, const saddle_shape *in, int64_t mode, const T *x,            \
                                    const T *const *w, const T *const *u, T *const *U, T *y, const double *h) { \
        int64_t C = in->dims[0], P = positions(in);                                                          \
        for (int64_t c = 0; c < C; c++) {                                                                  \
            double mean, var;                                                                              \
            if (mode == SADDLE_MODE_TRAINING) {                                                            \
                norm_statistics_##S(b, C, P, x, c, &mean, &var);                                           \
                double m = (double)(b * P), momentum = h[0];                                               \
                U[0][c] = (T)((1 - momentum) * u[0][c] + momentum * mean);                                 \
                if (m > 1) U[1][c] = (T)((1 - momentum) * u[1][c] + momentum * var * m / (m - 1));         \
            } else {                                                                                       \
                mean = u[0][c];                                                                            \
                var = u[1][c];                                                                             \
            }                                                                                              \
            double scale = w[0][c] / sqrt(var + h[1]);                                                     \
            for (int64_t n = 0; n < b; n++)                                                                \
                for (int64_t p = 0; p < P; p++) {                                                          \
                    int64_t at = (n * C + c) * P + p;                                                      \
                    y[at] = (T)((x[at] - mean) * scale + w[1][c]);                                         \
                }                                                                                          \
        }                                                                                                  \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t norm_backward_##S(int64_t b, const saddle_shape *in, int64_t mode, const T *x,           \
                                     const T *const *w, const T *const *u, const T *g, T *d, T *const *dw,  \
                                     const double *h) {                                                    \
        int64_t C = in->dims[0], P = positions(in);                                                          \
        double m = (double)(b * P);                                                                        \
        for (int64_t c = 0; c < C; c++) {                                                                  \
            double mean, var;                                                                              \
            int training = mode == SADDLE_MODE_TRAINING;                                                   \
            if (training) norm_statistics_##S(b, C, P, x, c, &mean, &var);                                 \
            else {                                                                                         \
                mean = u[0][c];                                                                            \
                var = u[1][c];                                                                             \
            }                                                                                              \
            double inv = 1 / sqrt(var + h[1]), sum_g = 0, sum_gx = 0;                                      \
            for (int64_t n = 0; n < b; n++)                                                                \
                for (int64_t p = 0; p < P; p++) {                                                          \
                    int64_t at = (n * C + c) * P + p;                                                      \
                    sum_g += g[at];                                                                        \
                    sum_gx += g[at] * (x[at] - mean) * inv;                                                \
                }                                                                                          \
            dw[0][c] = (T)sum_gx;                                                                          \
            dw[1][c] = (T)sum_g;                                                                           \
            for (int64_t n = 0; n < b; n++)                                                                \
                for (int64_t p = 0; p < P; p++) {                                                          \
                    int64_t at = (n * C + c) * P + p;                                                      \
                    double xhat = (x[at] - mean) * inv;                                                    \
                    double gi = training ? g[at] - sum_g / m - xhat * sum_gx / m : g[at];                  \
                    d[at] = (T)(w[0][c] * inv * gi);                                                       \
                }                                                                                          \
        }                                                                                                  \
        return SADDLE_OK;                                                                                  \
    }

NORM_KERNELS(float, f32)
NORM_KERNELS(double, f64)

/* ============ vision.dropout: no weights; rate in [0, 1) ============ */

static const saddle_parameter dropout_parameters[] = {
    {sizeof(saddle_parameter), "rate", SADDLE_PARAMETER_NUMBER, 0, 0.5, 0, 0.99, "probability of zeroing each value in training"},
};

static int32_t any_shape(const double *h, const char *const *s, const saddle_shape *in, saddle_shape *out, saddle_sink *e) {
    return same_shape(h, s, in, out, e);
}

/* out_k = mask * in_k for k < K tangents (K = 1 for the forward and backward kernels), the
 * mask drawn per example in chunks from its stream, so every kernel of a pass sees one mask. */
#define DROPOUT_KERNELS(T, S)                                                                              \
    static int32_t dropout_apply_##S(int64_t b, int64_t f, int64_t k, int64_t mode, saddle_random *r,      \
                                     const double *h, const T *in, T *out, saddle_sink *e) {               \
        double rate = h[0], keep = 1 / (1 - rate), draws[256];                                             \
        if (!in) { /* a NULL tangent is zero */                                                            \
            memset(out, 0, (size_t)(k * b * f) * sizeof(T));                                               \
            return SADDLE_OK;                                                                              \
        }                                                                                                  \
        if (mode != SADDLE_MODE_TRAINING || rate == 0) {                                                   \
            memcpy(out, in, (size_t)(k * b * f) * sizeof(T));                                              \
            return SADDLE_OK;                                                                              \
        }                                                                                                  \
        for (int64_t n = 0; n < b; n++)                                                                    \
            for (int64_t start = 0; start < f; start += 256) {                                             \
                int64_t count = f - start < 256 ? f - start : 256;                                         \
                if (r->uniform(r->context, n, draws, count) != SADDLE_OK) {                                \
                    fail(e, "the random stream refused a draw");                                           \
                    return SADDLE_ERROR;                                                                   \
                }                                                                                          \
                for (int64_t t = 0; t < k; t++)                                                            \
                    for (int64_t j = 0; j < count; j++) {                                                  \
                        int64_t at = (t * b + n) * f + start + j;                                          \
                        out[at] = draws[j] >= rate ? (T)(in[at] * keep) : (T)(in[at] * 0);                 \
                    }                                                                                      \
            }                                                                                              \
        return SADDLE_OK;                                                                                  \
    }                                                                                                      \
    static int32_t dropout_forward_##S(int64_t b, int64_t i, int64_t m, saddle_random *r, const double *h, \
                                       const T *x, T *y, saddle_sink *e) {                                 \
        return dropout_apply_##S(b, i, 1, m, r, h, x, y, e);                                               \
    }                                                                                                      \
    static int32_t dropout_backward_##S(int64_t b, int64_t i, int64_t m, saddle_random *r, const double *h, \
                                        const T *g, T *d, saddle_sink *e) {                                \
        return dropout_apply_##S(b, i, 1, m, r, h, g, d, e);                                               \
    }                                                                                                      \
    static int32_t dropout_jvp_##S(int64_t b, int64_t i, int64_t k, int64_t m, saddle_random *r,           \
                                   const double *h, const T *X, T *y, saddle_sink *e) {                    \
        return dropout_apply_##S(b, i, k, m, r, h, X, y, e);                                               \
    }                                                                                                      \
    static int32_t dropout_backward_jvp_##S(int64_t b, int64_t i, int64_t k, int64_t m, saddle_random *r,  \
                                            const double *h, const T *G, T *d, saddle_sink *e) {           \
        /* backward is linear in g and does not depend on x: only the G term remains. */                   \
        return dropout_apply_##S(b, i, k, m, r, h, G, d, e);                                               \
    }

DROPOUT_KERNELS(float, f32)
DROPOUT_KERNELS(double, f64)

/* ============ registration ============ */

#define KERNEL(signature, name) {sizeof(saddle_kernel), signature, (void *)name##_f32, (void *)name##_f64}

SADDLE_PLUGIN_EXPORT int32_t saddle_plugin_init(const saddle_host *host) {
    saddle_plugin_info info = {sizeof(saddle_plugin_info), SADDLE_PLUGIN_ABI_MAJOR, SADDLE_PLUGIN_ABI_MINOR, "vision", "1.1",
                               "image, normalization and stochastic layers for plugin ABI 1.1", SADDLE_PLUGIN_THREAD_SAFE};
    if (host->declare(host->context, &info) != SADDLE_OK) return SADDLE_ERROR;
    parallel_for = host->parallel_for;

    saddle_layer dense;
    memset(&dense, 0, sizeof dense);
    dense.struct_size = sizeof dense;
    dense.name = "vision.dense";
    dense.summary = "y = x W^T + b through OpenBLAS, with batched second-order rules and growth";
    dense.parameter_count = 1;
    dense.parameters = dense_parameters;
    dense.weight_count = 2;
    dense.weight_names = dense_weights;
    dense.forward = (saddle_kernel)KERNEL("bioxwyh", dense_forward);
    dense.backward = (saddle_kernel)KERNEL("bioqxwgdD", dense_backward);
    dense.jvp = (saddle_kernel)KERNEL("biokxwXWye", dense_jvp);
    dense.backward_jvp = (saddle_kernel)KERNEL("biokqxwgXWGdDe", dense_backward_jvp);
    dense.output_shape = dense_output_shape;
    dense.weight_shape_of = dense_weight_shape;
    dense.initialize_of = dense_initialize;
    dense.transform_role = SADDLE_TRANSFORM_UNITS;
    dense.units_parameter = "units";
    dense.weight_unit_axes = dense_unit_axes;
    dense.weight_input_axes = dense_input_axes;
    dense.identity = dense_identity;
    if (host->register_layer(host->context, &dense) != SADDLE_OK) return SADDLE_ERROR;

    saddle_layer pointwise = dense;
    pointwise.name = "vision.pointwise";
    pointwise.summary = "1x1 convolution of [C, H, W] to [units, H, W], with batched second-order rules and growth";
    pointwise.forward = (saddle_kernel)KERNEL("bIOxwy", pointwise_forward);
    pointwise.backward = (saddle_kernel)KERNEL("bIOxwgdD", pointwise_backward);
    pointwise.jvp = (saddle_kernel)KERNEL("bkIOxwXWy", pointwise_jvp);
    pointwise.backward_jvp = (saddle_kernel)KERNEL("bkIOxwgXWGdD", pointwise_backward_jvp);
    pointwise.output_shape = pointwise_output_shape;
    pointwise.weight_shape_of = pointwise_weight_shape;
    pointwise.example_input = &pointwise_example;
    if (host->register_layer(host->context, &pointwise) != SADDLE_OK) return SADDLE_ERROR;

    saddle_layer norm;
    memset(&norm, 0, sizeof norm);
    norm.struct_size = sizeof norm;
    norm.name = "vision.batchnorm";
    norm.summary = "per-feature (per-channel) batch normalization with running statistics";
    norm.parameter_count = 2;
    norm.parameters = norm_parameters;
    norm.weight_count = 2;
    norm.weight_names = norm_weights;
    norm.forward = (saddle_kernel)KERNEL("bImxwuUyh", norm_forward);
    norm.backward = (saddle_kernel)KERNEL("bImxwugdDh", norm_backward);
    norm.output_shape = same_shape;
    norm.weight_shape_of = per_channel;
    norm.initialize_of = norm_initialize;
    norm.example_input = &norm_example;
    norm.buffer_count = 2;
    norm.buffer_names = norm_buffers;
    norm.buffer_shape = per_channel;
    norm.buffer_initial_values = norm_initial;
    norm.transform_role = SADDLE_TRANSFORM_FEATURE_WISE;
    norm.weight_unit_axes = norm_axes;
    norm.buffer_unit_axes = norm_axes;
    if (host->register_layer(host->context, &norm) != SADDLE_OK) return SADDLE_ERROR;

    saddle_layer dropout;
    memset(&dropout, 0, sizeof dropout);
    dropout.struct_size = sizeof dropout;
    dropout.name = "vision.dropout";
    dropout.summary = "inverted dropout from the host's per-example random streams";
    dropout.parameter_count = 1;
    dropout.parameters = dropout_parameters;
    dropout.forward = (saddle_kernel)KERNEL("bimrhxye", dropout_forward);
    dropout.backward = (saddle_kernel)KERNEL("bimrhgde", dropout_backward);
    dropout.jvp = (saddle_kernel)KERNEL("bikmrhXye", dropout_jvp);
    dropout.backward_jvp = (saddle_kernel)KERNEL("bikmrhGde", dropout_backward_jvp);
    dropout.output_shape = any_shape;
    dropout.transform_role = SADDLE_TRANSFORM_FEATURE_WISE;
    if (host->register_layer(host->context, &dropout) != SADDLE_OK) return SADDLE_ERROR;
    return SADDLE_OK;
}
