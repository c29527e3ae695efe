// Element-wise, row-wise and axis kernels over contiguous buffers, for Float32 and Float64.
//
// Each function is compiled for AVX-512, AVX2 and baseline x86-64 (target_clones) and the
// dynamic loader picks one at start-up, so the package needs no compiler flags. Loops carry one
// accumulator chain per output and call no library function per element for Float32 (the
// transcendental functions below are polynomial approximations accurate to a few ulp).
#ifndef SADDLE_KERNELS_H
#define SADDLE_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Unary element-wise operations: out[i] = f(x[i]).
typedef enum SaddleUnaryOp {
    SADDLE_NEG = 0,
    SADDLE_EXP,
    SADDLE_LOG,
    SADDLE_TANH,
    SADDLE_SIGMOID,
    SADDLE_RELU,
    SADDLE_ABS,
    SADDLE_SQRT,
    SADDLE_SQUARE,
    SADDLE_SIGN,
    SADDLE_RECIPROCAL,
    SADDLE_STEP, // 1 where x > 0, else 0 (the derivative of relu)
} SaddleUnaryOp;

/// Binary element-wise operations: out[i] = f(a[i * stride_a], b[i * stride_b]), strides 0 or 1.
/// Comparisons give 1 where true and 0 where false.
typedef enum SaddleBinaryOp {
    SADDLE_ADD = 0,
    SADDLE_SUB,
    SADDLE_MUL,
    SADDLE_DIV,
    SADDLE_MAX,
    SADDLE_MIN,
    SADDLE_POW,
    SADDLE_GT,
    SADDLE_GE,
    SADDLE_LT,
    SADDLE_LE,
    SADDLE_EQ,
    SADDLE_NE,
    SADDLE_RELU_BACKWARD,    // a where b > 0, else 0
    SADDLE_TANH_BACKWARD,    // a * (1 - b^2), b = tanh(x)
    SADDLE_SIGMOID_BACKWARD, // a * b * (1 - b), b = sigmoid(x)
    SADDLE_GE_MASK_FIRST,    // 1 where a >= b (ties go to the first operand), else 0
    SADDLE_SECOND,           // b (broadcast copy)
} SaddleBinaryOp;

#define SADDLE_DECLARE_KERNELS(T, S)                                                            \
    void saddle_unary_##S(int op, const T *x, T *out, int64_t n);                              \
    void saddle_binary_broadcast_##S(int op, const T *a, const T *b, T *out, int64_t rank,     \
                                     const int64_t *extents, const int64_t *strides_a,         \
                                     const int64_t *strides_b);                                \
    void saddle_binary_##S(int op, const T *a, int64_t stride_a, const T *b, int64_t stride_b, \
                           T *out, int64_t n);                                                 \
    void saddle_affine_##S(const T *x, T alpha, T beta, T *out, int64_t n);                    \
    void saddle_leaky_relu_##S(const T *x, T slope, T *out, int64_t n);                        \
    void saddle_leaky_relu_backward_##S(const T *g, const T *x, T slope, T *out, int64_t n);   \
    void saddle_axpby_##S(const T *x, T alpha, T *y, T beta, int64_t n);                       \
    void saddle_fill_##S(T *out, T value, int64_t n);                                          \
    double saddle_sum_##S(const T *x, int64_t n);                                              \
    double saddle_dot_##S(const T *x, const T *y, int64_t n);                                  \
    void saddle_sum_axis_##S(const T *x, int64_t outer, int64_t n, int64_t inner, T *out);     \
    void saddle_max_axis_##S(const T *x, int64_t outer, int64_t n, int64_t inner, T *out,      \
                             int64_t *index);                                                  \
    void saddle_log_softmax_rows_##S(const T *x, int64_t rows, int64_t cols, T *out);          \
    void saddle_softmax_rows_##S(const T *x, int64_t rows, int64_t cols, T *out);              \
    double saddle_softmax_xent_rows_##S(const T *logits, int64_t rows, int64_t cols,           \
                                        const int64_t *labels, T *probabilities);              \
    void saddle_repeat_rows_##S(const T *row, int64_t rows, int64_t cols, T *out);             \
    void saddle_transpose_##S(const T *x, int64_t rows, int64_t cols, T *out);                 \
    void saddle_batchnorm_forward_##S(const T *x, int64_t n, int64_t f, int64_t ld,            \
                                      const T *gamma, const T *beta, T epsilon, T *x_hat,      \
                                      T *out, T *mean, T *variance, T *inv_std);               \
    void saddle_batchnorm_backward_##S(const T *g, const T *x_hat, int64_t n, int64_t f,       \
                                       int64_t ld, const T *gamma, const T *inv_std, T *dx,    \
                                       T *dgamma, T *dbeta);                                   \
    void saddle_permute_##S(const T *x, int64_t rank, const int64_t *shape,                    \
                            const int64_t *strides, T *out);                                   \
    void saddle_lstm_cell_forward_##S(T *gates, const T *added, const T *c_prev, int64_t b,    \
                                      int64_t h, T *c_out, T *tanh_c, T *h_out);               \
    void saddle_lstm_cell_backward_##S(const T *gates, const T *c_prev, const T *tanh_c,      \
                                       const T *dh, T *dc, int64_t b, int64_t h, T *d_gates);

SADDLE_DECLARE_KERNELS(float, f32)
SADDLE_DECLARE_KERNELS(double, f64)

void saddle_convert_f32_f64(const float *x, double *out, int64_t n);
void saddle_convert_f64_f32(const double *x, float *out, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
