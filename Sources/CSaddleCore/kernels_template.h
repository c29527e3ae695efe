// Kernel bodies, included once per scalar type by saddle_kernels.c with T (the scalar type),
// S(name) (the suffixed function name) and the math functions EXP, LOG, TANH, SIGMOID, SQRT,
// POW, FLOOR defined. Not a public header.

#define SADDLE_UNARY_CASE(OP, EXPR)                                                           \
    case OP:                                                                                  \
        for (int64_t i = 0; i < n; i++) {                                                     \
            T v = x[i];                                                                       \
            out[i] = (EXPR);                                                                  \
        }                                                                                     \
        break;

SADDLE_CLONES void S(saddle_unary)(int op, const T *x, T *out, int64_t n) {
    switch (op) {
        SADDLE_UNARY_CASE(SADDLE_NEG, -v)
        SADDLE_UNARY_CASE(SADDLE_EXP, EXP(v))
        SADDLE_UNARY_CASE(SADDLE_LOG, LOG(v))
        SADDLE_UNARY_CASE(SADDLE_TANH, TANH(v))
        SADDLE_UNARY_CASE(SADDLE_SIGMOID, SIGMOID(v))
        SADDLE_UNARY_CASE(SADDLE_RELU, v < (T)0 ? (T)0 : v)
        SADDLE_UNARY_CASE(SADDLE_ABS, v < (T)0 ? -v : v)
        SADDLE_UNARY_CASE(SADDLE_SQRT, SQRT(v))
        SADDLE_UNARY_CASE(SADDLE_SQUARE, v * v)
        SADDLE_UNARY_CASE(SADDLE_SIGN, (T)(v > (T)0) - (T)(v < (T)0))
        SADDLE_UNARY_CASE(SADDLE_RECIPROCAL, (T)1 / v)
        SADDLE_UNARY_CASE(SADDLE_STEP, v > (T)0 ? (T)1 : (T)0)
        default: break;
    }
}

// One loop per stride pattern, so that each is a plain vectorizable loop.
#define SADDLE_BINARY_CASE(OP, EXPR)                                                          \
    case OP:                                                                                  \
        if (stride_a != 0 && stride_b != 0) {                                                 \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T u = a[i], w = b[i];                                                         \
                out[i] = (EXPR);                                                              \
            }                                                                                 \
        } else if (stride_a != 0) {                                                           \
            T w = b[0];                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T u = a[i];                                                                   \
                out[i] = (EXPR);                                                              \
            }                                                                                 \
        } else if (stride_b != 0) {                                                           \
            T u = a[0];                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T w = b[i];                                                                   \
                out[i] = (EXPR);                                                              \
            }                                                                                 \
        } else {                                                                              \
            T u = a[0], w = b[0];                                                             \
            T value = (EXPR);                                                                 \
            for (int64_t i = 0; i < n; i++) out[i] = value;                                   \
        }                                                                                     \
        break;

SADDLE_CLONES void S(saddle_binary)(int op, const T *a, int64_t stride_a, const T *b,
                                    int64_t stride_b, T *out, int64_t n) {
    switch (op) {
        SADDLE_BINARY_CASE(SADDLE_ADD, u + w)
        SADDLE_BINARY_CASE(SADDLE_SUB, u - w)
        SADDLE_BINARY_CASE(SADDLE_MUL, u * w)
        SADDLE_BINARY_CASE(SADDLE_DIV, u / w)
        SADDLE_BINARY_CASE(SADDLE_MAX, (u >= w || u != u) ? u : w)
        SADDLE_BINARY_CASE(SADDLE_MIN, (u <= w || u != u) ? u : w)
        SADDLE_BINARY_CASE(SADDLE_POW, POW(u, w))
        SADDLE_BINARY_CASE(SADDLE_GT, (T)(u > w))
        SADDLE_BINARY_CASE(SADDLE_GE, (T)(u >= w))
        SADDLE_BINARY_CASE(SADDLE_LT, (T)(u < w))
        SADDLE_BINARY_CASE(SADDLE_LE, (T)(u <= w))
        SADDLE_BINARY_CASE(SADDLE_EQ, (T)(u == w))
        SADDLE_BINARY_CASE(SADDLE_NE, (T)(u != w))
        SADDLE_BINARY_CASE(SADDLE_RELU_BACKWARD, w > (T)0 ? u : (T)0)
        SADDLE_BINARY_CASE(SADDLE_TANH_BACKWARD, u * ((T)1 - w * w))
        SADDLE_BINARY_CASE(SADDLE_SIGMOID_BACKWARD, u * w * ((T)1 - w))
        SADDLE_BINARY_CASE(SADDLE_GE_MASK_FIRST, u >= w ? (T)1 : (T)0)
        SADDLE_BINARY_CASE(SADDLE_SECOND, ((void)u, w))
        default: break;
    }
}

// `op` over a broadcast: axis 0 of `extents` (rank 1...8) is the innermost, run by
// saddle_binary with the operands' element strides strides_a[0] and strides_b[0]; the other
// axes step through the runs like an odometer, innermost first. out is dense.
SADDLE_CLONES void S(saddle_binary_broadcast)(int op, const T *a, const T *b, T *out, int64_t rank,
                                              const int64_t *extents, const int64_t *strides_a,
                                              const int64_t *strides_b) {
    int64_t index[8] = {0};
    int64_t runs = 1, inner = extents[0];
    for (int64_t k = 1; k < rank; k++) runs *= extents[k];
    int64_t offset_a = 0, offset_b = 0;
    for (int64_t r = 0; r < runs; r++) {
        S(saddle_binary)(op, a + offset_a, strides_a[0], b + offset_b, strides_b[0], out, inner);
        out += inner;
        for (int64_t k = 1; k < rank; k++) {
            index[k]++;
            offset_a += strides_a[k];
            offset_b += strides_b[k];
            if (index[k] < extents[k]) break;
            offset_a -= strides_a[k] * extents[k];
            offset_b -= strides_b[k] * extents[k];
            index[k] = 0;
        }
    }
}

SADDLE_CLONES void S(saddle_affine)(const T *x, T alpha, T beta, T *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = alpha * x[i] + beta;
}

SADDLE_CLONES void S(saddle_leaky_relu)(const T *x, T slope, T *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        T v = x[i];
        out[i] = v < (T)0 ? slope * v : v;
    }
}

SADDLE_CLONES void S(saddle_leaky_relu_backward)(const T *g, const T *x, T slope, T *out,
                                                 int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = x[i] > (T)0 ? g[i] : slope * g[i];
}

SADDLE_CLONES void S(saddle_axpby)(const T *x, T alpha, T *y, T beta, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = alpha * x[i] + beta * y[i];
}

SADDLE_CLONES void S(saddle_fill)(T *out, T value, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = value;
}

// Sums accumulate in double; reassociation lets the compiler keep one partial sum per lane.
SADDLE_CLONES double S(saddle_sum)(const T *x, int64_t n) {
#pragma clang fp reassociate(on)
    double total = 0;
    for (int64_t i = 0; i < n; i++) total += (double)x[i];
    return total;
}

SADDLE_CLONES double S(saddle_dot)(const T *x, const T *y, int64_t n) {
#pragma clang fp reassociate(on)
    double total = 0;
    for (int64_t i = 0; i < n; i++) total += (double)x[i] * (double)y[i];
    return total;
}

// x viewed as [outer, n, inner]; out is [outer, inner].
SADDLE_CLONES void S(saddle_sum_axis)(const T *x, int64_t outer, int64_t n, int64_t inner,
                                      T *out) {
#pragma clang fp reassociate(on)
    if (inner == 1) {
        for (int64_t o = 0; o < outer; o++) {
            const T *row = x + o * n;
            T total = 0;
            for (int64_t i = 0; i < n; i++) total += row[i];
            out[o] = total;
        }
        return;
    }
    for (int64_t o = 0; o < outer; o++) {
        T *target = out + o * inner;
        const T *block = x + o * n * inner;
        for (int64_t j = 0; j < inner; j++) target[j] = block[j];
        for (int64_t i = 1; i < n; i++) {
            const T *row = block + i * inner;
            for (int64_t j = 0; j < inner; j++) target[j] += row[j];
        }
    }
}

// Maximum along the middle axis of [outer, n, inner], with the index of the first maximum.
// NaN wins over numbers, as in PyTorch.
SADDLE_CLONES void S(saddle_max_axis)(const T *x, int64_t outer, int64_t n, int64_t inner,
                                      T *out, int64_t *index) {
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            const T *base = x + o * n * inner + j;
            T best = base[0];
            int64_t at = 0;
            for (int64_t i = 1; i < n; i++) {
                T v = base[i * inner];
                if (best != best) break;
                if (v > best || v != v) {
                    best = v;
                    at = i;
                }
            }
            out[o * inner + j] = best;
            index[o * inner + j] = at;
        }
    }
}

static inline T S(saddle_row_max)(const T *row, int64_t cols) {
    T best = row[0];
    for (int64_t c = 1; c < cols; c++) best = row[c] > best ? row[c] : best;
    return best;
}

SADDLE_CLONES void S(saddle_log_softmax_rows)(const T *x, int64_t rows, int64_t cols, T *out) {
#pragma clang fp reassociate(on)
    for (int64_t r = 0; r < rows; r++) {
        const T *row = x + r * cols;
        T *target = out + r * cols;
        T shift = S(saddle_row_max)(row, cols);
        T total = 0;
        for (int64_t c = 0; c < cols; c++) total += EXP(row[c] - shift);
        T lse = shift + LOG(total);
        for (int64_t c = 0; c < cols; c++) target[c] = row[c] - lse;
    }
}

SADDLE_CLONES void S(saddle_softmax_rows)(const T *x, int64_t rows, int64_t cols, T *out) {
#pragma clang fp reassociate(on)
    for (int64_t r = 0; r < rows; r++) {
        const T *row = x + r * cols;
        T *target = out + r * cols;
        T shift = S(saddle_row_max)(row, cols);
        T total = 0;
        for (int64_t c = 0; c < cols; c++) {
            T e = EXP(row[c] - shift);
            target[c] = e;
            total += e;
        }
        T scale = (T)1 / total;
        for (int64_t c = 0; c < cols; c++) target[c] *= scale;
    }
}

// Sum over rows of -log softmax(logits)[label]; the softmax probabilities are written too.
SADDLE_CLONES double S(saddle_softmax_xent_rows)(const T *logits, int64_t rows, int64_t cols,
                                                 const int64_t *labels, T *probabilities) {
    double loss = 0;
    for (int64_t r = 0; r < rows; r++) {
        const T *row = logits + r * cols;
        T *target = probabilities + r * cols;
        T shift = S(saddle_row_max)(row, cols);
        T total = 0;
        for (int64_t c = 0; c < cols; c++) {
            T e = EXP(row[c] - shift);
            target[c] = e;
            total += e;
        }
        T scale = (T)1 / total;
        for (int64_t c = 0; c < cols; c++) target[c] *= scale;
        loss += (double)(shift + LOG(total) - row[labels[r]]);
    }
    return loss;
}

SADDLE_CLONES void S(saddle_repeat_rows)(const T *row, int64_t rows, int64_t cols, T *out) {
    for (int64_t r = 0; r < rows; r++) {
        T *target = out + r * cols;
        for (int64_t c = 0; c < cols; c++) target[c] = row[c];
    }
}

// Cache-blocked 2-D transpose: out[c][r] = x[r][c].
SADDLE_CLONES void S(saddle_transpose)(const T *x, int64_t rows, int64_t cols, T *out) {
    const int64_t block = 32;
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
        int64_t r1 = r0 + block < rows ? r0 + block : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += block) {
            int64_t c1 = c0 + block < cols ? c0 + block : cols;
            for (int64_t r = r0; r < r1; r++) {
                for (int64_t c = c0; c < c1; c++) out[c * rows + r] = x[r * cols + c];
            }
        }
    }
}

#undef SADDLE_UNARY_CASE
#undef SADDLE_BINARY_CASE

// Batch normalization over the rows of x [n, f] (training mode). Writes the normalized values
// x_hat, the output gamma * x_hat + beta, the batch mean, the biased variance and
// 1 / sqrt(var + eps) per feature.
SADDLE_CLONES void S(saddle_batchnorm_forward)(const T *x, int64_t n, int64_t f, int64_t ld,
                                               const T *gamma, const T *beta, T epsilon, T *x_hat,
                                               T *out, T *mean, T *variance, T *inv_std) {
#pragma clang fp reassociate(on)
    for (int64_t j = 0; j < f; j++) {
        mean[j] = 0;
        variance[j] = 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const T *row = x + i * ld;
        for (int64_t j = 0; j < f; j++) mean[j] += row[j];
    }
    T scale = (T)1 / (T)n;
    for (int64_t j = 0; j < f; j++) mean[j] *= scale;
    for (int64_t i = 0; i < n; i++) {
        const T *row = x + i * ld;
        for (int64_t j = 0; j < f; j++) {
            T d = row[j] - mean[j];
            variance[j] += d * d;
        }
    }
    for (int64_t j = 0; j < f; j++) {
        variance[j] *= scale;
        inv_std[j] = (T)1 / SQRT(variance[j] + epsilon);
    }
    for (int64_t i = 0; i < n; i++) {
        const T *row = x + i * ld;
        T *h = x_hat + i * ld;
        T *o = out + i * ld;
        for (int64_t j = 0; j < f; j++) {
            T v = (row[j] - mean[j]) * inv_std[j];
            h[j] = v;
            o[j] = gamma[j] * v + beta[j];
        }
    }
}

// Gradients of training-mode batch normalization from the upstream g [n, f]:
// dbeta = sum g, dgamma = sum g x_hat, dx = gamma inv_std (g - dbeta/n - x_hat dgamma/n).
// Like the forward kernel, it covers f features of rows ld apart.
SADDLE_CLONES void S(saddle_batchnorm_backward)(const T *g, const T *x_hat, int64_t n, int64_t f,
                                                int64_t ld, const T *gamma, const T *inv_std,
                                                T *dx, T *dgamma, T *dbeta) {
#pragma clang fp reassociate(on)
    for (int64_t j = 0; j < f; j++) {
        dgamma[j] = 0;
        dbeta[j] = 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const T *gr = g + i * ld;
        const T *h = x_hat + i * ld;
        for (int64_t j = 0; j < f; j++) {
            dbeta[j] += gr[j];
            dgamma[j] += gr[j] * h[j];
        }
    }
    T scale = (T)1 / (T)n;
    for (int64_t i = 0; i < n; i++) {
        const T *gr = g + i * ld;
        const T *h = x_hat + i * ld;
        T *d = dx + i * ld;
        for (int64_t j = 0; j < f; j++) {
            d[j] = gamma[j] * inv_std[j] * (gr[j] - dbeta[j] * scale - h[j] * dgamma[j] * scale);
        }
    }
}

// One LSTM step on a batch of b rows with h hidden units. `gates` [b, 4h] holds the
// pre-activations (i, f, g, o blocks) on entry, plus `added` [b, 4h] when that is not NULL (the
// step's input projection, added here rather than copied into gates before the recurrent
// product), and the activations on exit; c_prev [b, h] (NULL means zeros) gives
// c = f c_prev + i g, and h_out = o tanh(c); tanh(c) is kept for backward.
SADDLE_CLONES void S(saddle_lstm_cell_forward)(T *gates, const T *added, const T *c_prev, int64_t b,
                                               int64_t h, T *c_out, T *tanh_c, T *h_out) {
    for (int64_t r = 0; r < b; r++) {
        if (added) {
            T *restrict row = gates + r * 4 * h;
            const T *restrict extra = added + r * 4 * h;
            for (int64_t k = 0; k < 4 * h; k++) row[k] += extra[k];
        }
        T *restrict gi = gates + r * 4 * h;
        T *restrict gf = gi + h;
        T *restrict gg = gf + h;
        T *restrict go = gg + h;
        T *restrict c = c_out + r * h;
        T *restrict tc = tanh_c + r * h;
        T *restrict ho = h_out + r * h;
        for (int64_t k = 0; k < h; k++) gi[k] = SIGMOID(gi[k]);
        for (int64_t k = 0; k < h; k++) gf[k] = SIGMOID(gf[k]);
        for (int64_t k = 0; k < h; k++) gg[k] = TANH(gg[k]);
        for (int64_t k = 0; k < h; k++) go[k] = SIGMOID(go[k]);
        if (c_prev) {
            const T *restrict cp = c_prev + r * h;
            for (int64_t k = 0; k < h; k++) c[k] = gf[k] * cp[k] + gi[k] * gg[k];
        } else {
            for (int64_t k = 0; k < h; k++) c[k] = gi[k] * gg[k];
        }
        for (int64_t k = 0; k < h; k++) tc[k] = TANH(c[k]);
        for (int64_t k = 0; k < h; k++) ho[k] = go[k] * tc[k];
    }
}

// Backward through one LSTM step. dh [b, h] is the gradient reaching h_t; dc [b, h] holds the
// gradient reaching c_t from step t+1 on entry and the gradient for c_{t-1} on exit. Writes the
// pre-activation gradients [b, 4h] into d_gates.
SADDLE_CLONES void S(saddle_lstm_cell_backward)(const T *gates, const T *c_prev, const T *tanh_c,
                                                const T *dh, T *dc, int64_t b, int64_t h,
                                                T *d_gates) {
    // The rows of the inputs and outputs never overlap: the loops say so to the vectorizer, and
    // the first step (no c_prev) has its own loop. With a branch inside the loop and eleven
    // streams to check for overlap at run time, clang had left it scalar.
    for (int64_t r = 0; r < b; r++) {
        const T *restrict gi = gates + r * 4 * h;
        const T *restrict gf = gi + h;
        const T *restrict gg = gf + h;
        const T *restrict go = gg + h;
        const T *restrict tc = tanh_c + r * h;
        const T *restrict dhr = dh + r * h;
        T *restrict dcr = dc + r * h;
        T *restrict di = d_gates + r * 4 * h;
        T *restrict df = di + h;
        T *restrict dg = df + h;
        T *restrict dout = dg + h;
        if (c_prev) {
            const T *restrict cp = c_prev + r * h;
#pragma clang loop vectorize(assume_safety)
            for (int64_t k = 0; k < h; k++) {
                T o = go[k], t = tc[k], i = gi[k], f = gf[k], g = gg[k];
                T dcell = dcr[k] + dhr[k] * o * ((T)1 - t * t);
                dout[k] = dhr[k] * t * o * ((T)1 - o);
                di[k] = dcell * g * i * ((T)1 - i);
                df[k] = dcell * cp[k] * f * ((T)1 - f);
                dg[k] = dcell * i * ((T)1 - g * g);
                dcr[k] = dcell * f;
            }
        } else {
#pragma clang loop vectorize(assume_safety)
            for (int64_t k = 0; k < h; k++) {
                T o = go[k], t = tc[k], i = gi[k], f = gf[k], g = gg[k];
                T dcell = dcr[k] + dhr[k] * o * ((T)1 - t * t);
                dout[k] = dhr[k] * t * o * ((T)1 - o);
                di[k] = dcell * g * i * ((T)1 - i);
                df[k] = dcell * (T)0 * f * ((T)1 - f);
                dg[k] = dcell * i * ((T)1 - g * g);
                dcr[k] = dcell * f;
            }
        }
    }
}

// Copies x into out in the order of a permutation of its axes: out has `rank` (1...8) axes of
// extents `shape`, and moving one step along output axis k moves strides[k] elements in x. The
// last output axis is copied as a run (memcpy when it is contiguous in x, a strided loop
// otherwise).
SADDLE_CLONES void S(saddle_permute)(const T *x, int64_t rank, const int64_t *shape,
                                     const int64_t *strides, T *out) {
    int64_t index[8] = {0};
    int64_t inner = shape[rank - 1], step = strides[rank - 1], outer = 1;
    for (int64_t k = 0; k < rank - 1; k++) outer *= shape[k];
    int64_t offset = 0;
    for (int64_t o = 0; o < outer; o++) {
        const T *src = x + offset;
        if (step == 1) {
            memcpy(out, src, (size_t)inner * sizeof(T));
        } else {
            for (int64_t j = 0; j < inner; j++) out[j] = src[j * step];
        }
        out += inner;
        for (int64_t k = rank - 2; k >= 0; k--) {
            index[k]++;
            offset += strides[k];
            if (index[k] < shape[k]) break;
            offset -= strides[k] * shape[k];
            index[k] = 0;
        }
    }
}
