// Image kernel bodies, included once per scalar type by saddle_conv.c with T and S(name)
// defined. Not a public header.

// Lowers one image [c, h, w] to columns: row (ci, ki, kj) of `cols` (leading dimension ld)
// holds, for every output position (oy, ox), the input at (oy sh - ph + ki dh, ox sw - pw + kj dw),
// or 0 in the padding.
SADDLE_CLONES void S(saddle_im2col)(const T *x, SaddleWindow g, T *cols, int64_t ld) {
    for (int64_t ci = 0; ci < g.c; ci++) {
        for (int64_t ki = 0; ki < g.kh; ki++) {
            for (int64_t kj = 0; kj < g.kw; kj++) {
                T *dst = cols + ((ci * g.kh + ki) * g.kw + kj) * ld;
                int64_t ix0 = kj * g.dw - g.pw, lo, hi;
                saddle_inside_columns(g, ix0, &lo, &hi);
                for (int64_t oy = 0; oy < g.oh; oy++) {
                    T *row = dst + oy * g.ow;
                    int64_t iy = oy * g.sh - g.ph + ki * g.dh;
                    if (iy < 0 || iy >= g.h) {
                        for (int64_t ox = 0; ox < g.ow; ox++) row[ox] = 0;
                        continue;
                    }
                    const T *src = x + (ci * g.h + iy) * g.w + ix0;
                    for (int64_t ox = 0; ox < lo; ox++) row[ox] = 0;
                    if (g.sw == 1) {
                        for (int64_t ox = lo; ox < hi; ox++) row[ox] = src[ox];
                    } else {
                        for (int64_t ox = lo; ox < hi; ox++) row[ox] = src[ox * g.sw];
                    }
                    for (int64_t ox = hi; ox < g.ow; ox++) row[ox] = 0;
                }
            }
        }
    }
}

// The adjoint of im2col: adds each column entry into the input position it was read from
// (positions in the padding are dropped). `x` must be initialized (usually zero).
SADDLE_CLONES void S(saddle_col2im)(const T *cols, int64_t ld, SaddleWindow g, T *x) {
    for (int64_t ci = 0; ci < g.c; ci++) {
        for (int64_t ki = 0; ki < g.kh; ki++) {
            for (int64_t kj = 0; kj < g.kw; kj++) {
                const T *src = cols + ((ci * g.kh + ki) * g.kw + kj) * ld;
                int64_t ix0 = kj * g.dw - g.pw, lo, hi;
                saddle_inside_columns(g, ix0, &lo, &hi);
                for (int64_t oy = 0; oy < g.oh; oy++) {
                    int64_t iy = oy * g.sh - g.ph + ki * g.dh;
                    if (iy < 0 || iy >= g.h) continue;
                    const T *row = src + oy * g.ow;
                    T *dst = x + (ci * g.h + iy) * g.w + ix0;
                    if (g.sw == 1) {
                        for (int64_t ox = lo; ox < hi; ox++) dst[ox] += row[ox];
                    } else {
                        for (int64_t ox = lo; ox < hi; ox++) dst[ox * g.sw] += row[ox];
                    }
                }
            }
        }
    }
}

// Max pooling of `planes` planes h x w (g.c is ignored): each output is the largest input in its
// window, the padding excluded; ties go to the first position in row-major order, and a NaN wins
// (as in PyTorch). `index` receives the flat position of the chosen input, counted from
// `index_base` at x (the position of x in a larger buffer when the planes are split up).
SADDLE_CLONES void S(saddle_maxpool)(const T *x, int64_t planes, SaddleWindow g, T *out,
                                     int64_t *index, int64_t index_base) {
    if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1) {
        // The common 2x2 window, stride 2: the same first-maximum rule, without bounds checks.
        for (int64_t p = 0; p < planes; p++) {
            const T *plane = x + p * g.h * g.w;
            for (int64_t oy = 0; oy < g.oh; oy++) {
                const T *r0 = plane + 2 * oy * g.w, *r1 = r0 + g.w;
                T *o = out + (p * g.oh + oy) * g.ow;
                int64_t *at = index + (p * g.oh + oy) * g.ow;
                int64_t base = index_base + p * g.h * g.w + 2 * oy * g.w;
                for (int64_t ox = 0; ox < g.ow; ox++) {
                    T best = r0[2 * ox];
                    int64_t k = 0;
                    T v = r0[2 * ox + 1];
                    if (v > best || v != v) { best = v; k = 1; }
                    v = r1[2 * ox];
                    if (v > best || v != v) { best = v; k = g.w; }
                    v = r1[2 * ox + 1];
                    if (v > best || v != v) { best = v; k = g.w + 1; }
                    o[ox] = best;
                    at[ox] = base + 2 * ox + k;
                }
            }
        }
        return;
    }
    for (int64_t p = 0; p < planes; p++) {
        const T *plane = x + p * g.h * g.w;
        for (int64_t oy = 0; oy < g.oh; oy++) {
            for (int64_t ox = 0; ox < g.ow; ox++) {
                int64_t best_at = -1;
                T best = 0;
                for (int64_t ki = 0; ki < g.kh; ki++) {
                    int64_t iy = oy * g.sh - g.ph + ki * g.dh;
                    if (iy < 0 || iy >= g.h) continue;
                    for (int64_t kj = 0; kj < g.kw; kj++) {
                        int64_t ix = ox * g.sw - g.pw + kj * g.dw;
                        if (ix < 0 || ix >= g.w) continue;
                        int64_t at = iy * g.w + ix;
                        T v = plane[at];
                        if (best_at < 0 || v > best || v != v) {
                            best = v;
                            best_at = at;
                        }
                    }
                }
                int64_t o = (p * g.oh + oy) * g.ow + ox;
                out[o] = best;
                index[o] = index_base + p * g.h * g.w + (best_at < 0 ? 0 : best_at);
            }
        }
    }
}

// Average pooling (the padding counts as zeros; the divisor is always kh kw).
SADDLE_CLONES void S(saddle_avgpool)(const T *x, int64_t planes, SaddleWindow g, T *out) {
    T scale = (T)1 / (T)(g.kh * g.kw);
    for (int64_t p = 0; p < planes; p++) {
        const T *plane = x + p * g.h * g.w;
        for (int64_t oy = 0; oy < g.oh; oy++) {
            for (int64_t ox = 0; ox < g.ow; ox++) {
                T total = 0;
                for (int64_t ki = 0; ki < g.kh; ki++) {
                    int64_t iy = oy * g.sh - g.ph + ki * g.dh;
                    if (iy < 0 || iy >= g.h) continue;
                    for (int64_t kj = 0; kj < g.kw; kj++) {
                        int64_t ix = ox * g.sw - g.pw + kj * g.dw;
                        if (ix < 0 || ix >= g.w) continue;
                        total += plane[iy * g.w + ix];
                    }
                }
                out[(p * g.oh + oy) * g.ow + ox] = total * scale;
            }
        }
    }
}

// The adjoint of average pooling: adds g / (kh kw) into every input of each window. `dx` must
// be initialized (usually zero).
SADDLE_CLONES void S(saddle_avgpool_adjoint)(const T *g, int64_t planes, SaddleWindow w, T *dx) {
    T scale = (T)1 / (T)(w.kh * w.kw);
    for (int64_t p = 0; p < planes; p++) {
        T *plane = dx + p * w.h * w.w;
        for (int64_t oy = 0; oy < w.oh; oy++) {
            for (int64_t ox = 0; ox < w.ow; ox++) {
                T v = g[(p * w.oh + oy) * w.ow + ox] * scale;
                for (int64_t ki = 0; ki < w.kh; ki++) {
                    int64_t iy = oy * w.sh - w.ph + ki * w.dh;
                    if (iy < 0 || iy >= w.h) continue;
                    for (int64_t kj = 0; kj < w.kw; kj++) {
                        int64_t ix = ox * w.sw - w.pw + kj * w.dw;
                        if (ix < 0 || ix >= w.w) continue;
                        plane[iy * w.w + ix] += v;
                    }
                }
            }
        }
    }
}

// out[r, i] = x[r, index[i]] for each of `reps` stacked copies.
SADDLE_CLONES void S(saddle_gather)(const T *x, int64_t in_count, const int64_t *index,
                                    int64_t out_count, int64_t reps, T *out) {
    for (int64_t r = 0; r < reps; r++) {
        const T *src = x + r * in_count;
        T *dst = out + r * out_count;
        for (int64_t i = 0; i < out_count; i++) dst[i] = src[index[i]];
    }
}

// dx[r, index[i]] += g[r, i] for each of `reps` stacked copies (the adjoint of the gather).
SADDLE_CLONES void S(saddle_scatter_add)(const T *g, int64_t out_count, const int64_t *index,
                                         int64_t in_count, int64_t reps, T *dx) {
    for (int64_t r = 0; r < reps; r++) {
        const T *src = g + r * out_count;
        T *dst = dx + r * in_count;
        for (int64_t i = 0; i < out_count; i++) dst[index[i]] += src[i];
    }
}

// Training-mode batch normalization of x [n, c, s] over the n s values of each channel, with the
// biased variance; x_hat receives the normalized values. The c channels are the first of images
// ld channels apart (c = ld for all of them), so channel ranges can run on different threads.
SADDLE_CLONES void S(saddle_batchnorm_channels_forward)(const T *x, int64_t n, int64_t c, int64_t ld,
                                                        int64_t s, const T *gamma, const T *beta, T epsilon,
                                                        T *x_hat, T *out, T *mean, T *variance,
                                                        T *inv_std) {
#pragma clang fp reassociate(on)
    T scale = (T)1 / (T)(n * s);
    for (int64_t j = 0; j < c; j++) {
        T total = 0;
        for (int64_t i = 0; i < n; i++) {
            const T *v = x + (i * ld + j) * s;
            for (int64_t k = 0; k < s; k++) total += v[k];
        }
        T m = total * scale;
        T squares = 0;
        for (int64_t i = 0; i < n; i++) {
            const T *v = x + (i * ld + j) * s;
            for (int64_t k = 0; k < s; k++) {
                T d = v[k] - m;
                squares += d * d;
            }
        }
        mean[j] = m;
        variance[j] = squares * scale;
        inv_std[j] = (T)1 / SQRT(variance[j] + epsilon);
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < c; j++) {
            const T *v = x + (i * ld + j) * s;
            T *h = x_hat + (i * ld + j) * s;
            T *o = out + (i * ld + j) * s;
            T m = mean[j], r = inv_std[j], a = gamma[j], b = beta[j];
            for (int64_t k = 0; k < s; k++) {
                T z = (v[k] - m) * r;
                h[k] = z;
                o[k] = a * z + b;
            }
        }
    }
}

// Gradients of the above from the upstream g [n, c, s]: dbeta = sum g, dgamma = sum g x_hat,
// dx = gamma inv_std (g - dbeta/m - x_hat dgamma/m) with m = n s.
SADDLE_CLONES void S(saddle_batchnorm_channels_backward)(const T *g, const T *x_hat, int64_t n,
                                                         int64_t c, int64_t ld, int64_t s, const T *gamma,
                                                         const T *inv_std, T *dx, T *dgamma,
                                                         T *dbeta) {
#pragma clang fp reassociate(on)
    T scale = (T)1 / (T)(n * s);
    for (int64_t j = 0; j < c; j++) {
        T sum_g = 0, sum_gh = 0;
        for (int64_t i = 0; i < n; i++) {
            const T *gv = g + (i * ld + j) * s;
            const T *h = x_hat + (i * ld + j) * s;
            for (int64_t k = 0; k < s; k++) {
                sum_g += gv[k];
                sum_gh += gv[k] * h[k];
            }
        }
        dbeta[j] = sum_g;
        dgamma[j] = sum_gh;
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < c; j++) {
            const T *gv = g + (i * ld + j) * s;
            const T *h = x_hat + (i * ld + j) * s;
            T *d = dx + (i * ld + j) * s;
            T a = gamma[j] * inv_std[j], mg = dbeta[j] * scale, mh = dgamma[j] * scale;
            for (int64_t k = 0; k < s; k++) d[k] = a * (gv[k] - mg - h[k] * mh);
        }
    }
}

// Copies x [n, o, oh, ow] into rows [o, ld]: image i's plane of channel j goes to row j from
// column i oh wp, each output row of ow values followed by wp - ow zeros (the lanes of the
// padded-row lowering that are not outputs; wp = ow for the plain lowering).
SADDLE_CLONES void S(saddle_planes_to_rows)(const T *x, int64_t n, int64_t o, int64_t oh, int64_t ow,
                                            int64_t wp, T *rows, int64_t ld) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < o; j++) {
            const T *src = x + (i * o + j) * oh * ow;
            T *dst = rows + j * ld + i * oh * wp;
            if (wp == ow) {
                memcpy(dst, src, (size_t)(oh * ow) * sizeof(T));
                continue;
            }
            for (int64_t y = 0; y < oh; y++) {
                memcpy(dst + y * wp, src + y * ow, (size_t)ow * sizeof(T));
                for (int64_t k = ow; k < wp; k++) dst[y * wp + k] = 0;
            }
        }
}

// The inverse of saddle_planes_to_rows, dropping the lanes beyond ow.
SADDLE_CLONES void S(saddle_rows_to_planes)(const T *rows, int64_t ld, int64_t n, int64_t o, int64_t oh,
                                            int64_t ow, int64_t wp, T *x) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < o; j++) {
            T *dst = x + (i * o + j) * oh * ow;
            const T *src = rows + j * ld + i * oh * wp;
            if (wp == ow) {
                memcpy(dst, src, (size_t)(oh * ow) * sizeof(T));
                continue;
            }
            for (int64_t y = 0; y < oh; y++) memcpy(dst + y * ow, src + y * wp, (size_t)ow * sizeof(T));
        }
}

// Copies `planes` planes h x w into zero planes hp x wp (top rows and left columns of padding),
// one every `stride` elements; the stride - hp wp elements after each plane are zeroed too.
SADDLE_CLONES void S(saddle_pad_planes)(const T *x, int64_t planes, int64_t h, int64_t w, int64_t top,
                                        int64_t left, int64_t hp, int64_t wp, int64_t stride, T *out) {
    for (int64_t p = 0; p < planes; p++) {
        T *dst = out + p * stride;
        const T *src = x + p * h * w;
        for (int64_t k = 0; k < top * wp; k++) dst[k] = 0;
        for (int64_t y = 0; y < h; y++) {
            T *row = dst + (top + y) * wp;
            for (int64_t k = 0; k < left; k++) row[k] = 0;
            memcpy(row + left, src + y * w, (size_t)w * sizeof(T));
            for (int64_t k = left + w; k < wp; k++) row[k] = 0;
        }
        for (int64_t k = (top + h) * wp; k < stride; k++) dst[k] = 0;
    }
}

// The inverse of saddle_pad_planes: the h x w interior of each padded plane.
SADDLE_CLONES void S(saddle_crop_planes)(const T *padded, int64_t planes, int64_t h, int64_t w,
                                         int64_t top, int64_t left, int64_t wp, int64_t stride, T *x) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < h; y++)
            memcpy(x + (p * h + y) * w, padded + p * stride + (top + y) * wp + left, (size_t)w * sizeof(T));
}

// The padded-row lowering of a stride-1 convolution: row (ci, ki, kj) of `cols` holds, for
// image i, the `lanes` = oh wp values of padded plane (i, ci) from offset ki dh wp + kj dw. Output
// position (y, x) is lane y wp + x; lanes with x >= ow are computed and dropped. Every row is
// one contiguous copy.
SADDLE_CLONES void S(saddle_lower_rows)(const T *padded, int64_t n, int64_t c, int64_t stride,
                                        int64_t wp, int64_t kh, int64_t kw, int64_t dh, int64_t dw,
                                        int64_t lanes, T *cols, int64_t ld) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t ci = 0; ci < c; ci++) {
            const T *plane = padded + (i * c + ci) * stride;
            for (int64_t ki = 0; ki < kh; ki++)
                for (int64_t kj = 0; kj < kw; kj++)
                    memcpy(cols + ((ci * kh + ki) * kw + kj) * ld + i * lanes, plane + ki * dh * wp + kj * dw,
                           (size_t)lanes * sizeof(T));
        }
}

// The adjoint of saddle_lower_rows: adds each row back at its offset (padded must be initialized).
SADDLE_CLONES void S(saddle_raise_rows)(const T *cols, int64_t ld, int64_t n, int64_t c, int64_t stride,
                                        int64_t wp, int64_t kh, int64_t kw, int64_t dh, int64_t dw,
                                        int64_t lanes, T *padded) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t ci = 0; ci < c; ci++) {
            T *plane = padded + (i * c + ci) * stride;
            for (int64_t ki = 0; ki < kh; ki++)
                for (int64_t kj = 0; kj < kw; kj++) {
                    const T *src = cols + ((ci * kh + ki) * kw + kj) * ld + i * lanes;
                    T *dst = plane + ki * dh * wp + kj * dw;
                    for (int64_t k = 0; k < lanes; k++) dst[k] += src[k];
                }
        }
}
