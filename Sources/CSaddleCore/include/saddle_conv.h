// Kernels of the image layers over NCHW buffers, for Float32 and Float64: the im2col lowering of
// 2-D convolution and its adjoint col2im, max and average pooling, index gathers and scatters,
// and batch normalization over the channels of [n, c, s] buffers.
//
// Compiled for AVX-512, AVX2 and baseline x86-64 like saddle_kernels.h. Geometry arguments are
// checked by the Swift callers; the kernels trust them.
#ifndef SADDLE_CONV_H
#define SADDLE_CONV_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The geometry of one 2-D window operation over an image of c planes h x w: kernel kh x kw,
/// stride sh x sw, top and left padding ph, pw (bottom and right padding are implied by the
/// output size oh x ow), dilation dh x dw.
typedef struct SaddleWindow {
    int64_t c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
} SaddleWindow;

#define SADDLE_DECLARE_CONV_KERNELS(T, S)                                                       \
    void saddle_im2col_##S(const T *x, SaddleWindow g, T *cols, int64_t ld);                   \
    void saddle_col2im_##S(const T *cols, int64_t ld, SaddleWindow g, T *x);                   \
    void saddle_maxpool_##S(const T *x, int64_t planes, SaddleWindow g, T *out,                \
                            int64_t *index, int64_t index_base);                               \
    void saddle_avgpool_##S(const T *x, int64_t planes, SaddleWindow g, T *out);               \
    void saddle_avgpool_adjoint_##S(const T *g, int64_t planes, SaddleWindow w, T *dx);        \
    void saddle_gather_##S(const T *x, int64_t in_count, const int64_t *index,                 \
                           int64_t out_count, int64_t reps, T *out);                           \
    void saddle_scatter_add_##S(const T *g, int64_t out_count, const int64_t *index,           \
                                int64_t in_count, int64_t reps, T *dx);                        \
    void saddle_batchnorm_channels_forward_##S(const T *x, int64_t n, int64_t c, int64_t ld,   \
                                               int64_t s, const T *gamma, const T *beta,       \
                                               T epsilon, T *x_hat, T *out, T *mean,           \
                                               T *variance, T *inv_std);                       \
    void saddle_batchnorm_channels_backward_##S(const T *g, const T *x_hat, int64_t n,         \
                                                int64_t c, int64_t ld, int64_t s,              \
                                                const T *gamma, const T *inv_std, T *dx,       \
                                                T *dgamma, T *dbeta);                          \
    void saddle_planes_to_rows_##S(const T *x, int64_t n, int64_t o, int64_t oh, int64_t ow,   \
                                   int64_t wp, T *rows, int64_t ld);                           \
    void saddle_rows_to_planes_##S(const T *rows, int64_t ld, int64_t n, int64_t o, int64_t oh, \
                                   int64_t ow, int64_t wp, T *x);                              \
    void saddle_pad_planes_##S(const T *x, int64_t planes, int64_t h, int64_t w, int64_t top,  \
                               int64_t left, int64_t hp, int64_t wp, int64_t stride, T *out);  \
    void saddle_crop_planes_##S(const T *padded, int64_t planes, int64_t h, int64_t w,         \
                                int64_t top, int64_t left, int64_t wp, int64_t stride, T *x);  \
    void saddle_lower_rows_##S(const T *padded, int64_t n, int64_t c, int64_t stride,          \
                               int64_t wp, int64_t kh, int64_t kw, int64_t dh, int64_t dw,     \
                               int64_t lanes, T *cols, int64_t ld);                            \
    void saddle_raise_rows_##S(const T *cols, int64_t ld, int64_t n, int64_t c, int64_t stride,\
                               int64_t wp, int64_t kh, int64_t kw, int64_t dh, int64_t dw,     \
                               int64_t lanes, T *padded);

SADDLE_DECLARE_CONV_KERNELS(float, f32)
SADDLE_DECLARE_CONV_KERNELS(double, f64)

#ifdef __cplusplus
}
#endif

#endif
