internal import CSaddleCore

/// Batch normalization of `x` with the batch's own statistics (training mode): each feature
/// is normalized over its batch values with the biased variance, then scaled by gamma and
/// shifted by beta (both `[features]`). `x` is `[batch, features]` (PyTorch's `BatchNorm1d`),
/// or `[batch, channels, ...]` normalized per channel over the batch and spatial positions
/// (`BatchNorm2d` for images). Returns the output and the per-feature mean and biased variance
/// (constants, for running statistics). One fused kernel each way; exact second derivatives
/// through a reference of differentiable operations.
/// - Throws: `TensorError` when the shapes disagree or a feature has fewer than 2 values.
public func batchNormalized(
    _ x: Tensor, scale gamma: Tensor, offset beta: Tensor, epsilon: Double
) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
    guard x.rank >= 2, gamma.shape == [x.shape[1]], beta.shape == [x.shape[1]] else {
        throw TensorError.shapeMismatch(
            op: "batchNormalized", shapes: [x.shape, gamma.shape, beta.shape],
            reason: "need x [batch, features] or [batch, channels, ...] and scale, offset [features]")
    }
    guard x.dtype == gamma.dtype, x.dtype == beta.dtype else {
        throw TensorError.dtypeMismatch(op: "batchNormalized", dtypes: [x.dtype, gamma.dtype, beta.dtype])
    }
    // [n, f, s]: s = 1 for [batch, features], the spatial positions for images.
    let (n, f) = (x.shape[0], x.shape[1])
    let s = x.shape.dropFirst(2).reduce(1, *)
    guard n * s >= 2 else {
        throw TensorError.invalidArgument(
            op: "batchNormalized", reason: "training-mode batch statistics need at least 2 values per feature, got \(n * s)")
    }
    let kernels = BatchNormKernels(n: n, f: f, s: s, rows: x.rank == 2)
    let normalized = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    let out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    let mean = Tensor(uninitializedShape: [f], dtype: x.dtype)
    let variance = Tensor(uninitializedShape: [f], dtype: x.dtype)
    let inverseStd = Tensor(uninitializedShape: [f], dtype: x.dtype)
    kernels.forward(x, gamma, beta, epsilon, normalized: normalized, out: out, mean: mean, variance: variance, inverseStd: inverseStd)
    let shape = x.shape
    let output = Tensor.recordFused(
        "batchNormalized", inputs: [x, gamma, beta], output: out,
        reference: { inputs in
            let grouped = try inputs[0].reshaped(to: [n, f, s])
            let mean = try grouped.mean(alongAxis: 2, keepingAxis: true).mean(alongAxis: 0, keepingAxis: true)
            let centered = try grouped - mean
            let variance = try centered.squared().mean(alongAxis: 2, keepingAxis: true).mean(alongAxis: 0, keepingAxis: true)
            let scaled = try centered / sqrt(variance + epsilon) * inputs[1].reshaped(to: [1, f, 1]) + inputs[2].reshaped(to: [1, f, 1])
            return try scaled.reshaped(to: shape)
        },
        pullback: { c in
            let dx = Tensor(uninitializedShape: shape, dtype: x.dtype)
            let dGamma = Tensor(uninitializedShape: [f], dtype: x.dtype)
            let dBeta = Tensor(uninitializedShape: [f], dtype: x.dtype)
            kernels.backward(c.cotangent, normalized, c.inputs[1].detached, inverseStd, dx: dx, dGamma: dGamma, dBeta: dBeta)
            return [dx, dGamma, dBeta]
        })
    return (output, mean, variance)
}

/// The fused batch-normalization kernels for an `[n, f, s]` layout: the row-wise pair for
/// `[batch, features]` (vectorized across features), the per-channel pair otherwise. Features
/// are independent, so large inputs are split over the threads by ranges of features; each
/// feature is summed in the same order whatever the split.
private struct BatchNormKernels: Sendable {
    let n, f, s: Int
    let rows: Bool

    /// Calls `body` with feature ranges as (first feature, feature count, element offset of the first).
    private func forEachFeatureRange(_ body: @Sendable (Int, Int64, Int) -> Void) {
        let stride = rows ? 1 : s
        Parallel.forEachRange(f, elements: n * f * s, minimum: Parallel.minimumElementwise) { range in
            body(range.lowerBound, Int64(range.count), range.lowerBound * stride)
        }
    }

    func forward(
        _ x: Tensor, _ gamma: Tensor, _ beta: Tensor, _ epsilon: Double,
        normalized: Tensor, out: Tensor, mean: Tensor, variance: Tensor, inverseStd: Tensor
    ) {
        let (n, ld, s, rows) = (Int64(n), Int64(f), Int64(s), rows)
        forEachFeatureRange { j, count, at in
            switch x.dtype {
            case .float32:
                func p(_ t: Tensor, _ offset: Int) -> UnsafeMutablePointer<Float> { t.pointer(Float.self) + offset }
                if rows {
                    saddle_batchnorm_forward_f32(
                        p(x, at), n, count, ld, p(gamma, j), p(beta, j), Float(epsilon), p(normalized, at), p(out, at), p(mean, j),
                        p(variance, j), p(inverseStd, j))
                } else {
                    saddle_batchnorm_channels_forward_f32(
                        p(x, at), n, count, ld, s, p(gamma, j), p(beta, j), Float(epsilon), p(normalized, at), p(out, at), p(mean, j),
                        p(variance, j), p(inverseStd, j))
                }
            case .float64:
                func p(_ t: Tensor, _ offset: Int) -> UnsafeMutablePointer<Double> { t.pointer(Double.self) + offset }
                if rows {
                    saddle_batchnorm_forward_f64(
                        p(x, at), n, count, ld, p(gamma, j), p(beta, j), epsilon, p(normalized, at), p(out, at), p(mean, j),
                        p(variance, j), p(inverseStd, j))
                } else {
                    saddle_batchnorm_channels_forward_f64(
                        p(x, at), n, count, ld, s, p(gamma, j), p(beta, j), epsilon, p(normalized, at), p(out, at), p(mean, j),
                        p(variance, j), p(inverseStd, j))
                }
            }
        }
    }

    func backward(_ g: Tensor, _ normalized: Tensor, _ gamma: Tensor, _ inverseStd: Tensor, dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        let (n, ld, s, rows) = (Int64(n), Int64(f), Int64(s), rows)
        forEachFeatureRange { j, count, at in
            switch g.dtype {
            case .float32:
                func p(_ t: Tensor, _ offset: Int) -> UnsafeMutablePointer<Float> { t.pointer(Float.self) + offset }
                if rows {
                    saddle_batchnorm_backward_f32(
                        p(g, at), p(normalized, at), n, count, ld, p(gamma, j), p(inverseStd, j), p(dx, at), p(dGamma, j), p(dBeta, j))
                } else {
                    saddle_batchnorm_channels_backward_f32(
                        p(g, at), p(normalized, at), n, count, ld, s, p(gamma, j), p(inverseStd, j), p(dx, at), p(dGamma, j), p(dBeta, j))
                }
            case .float64:
                func p(_ t: Tensor, _ offset: Int) -> UnsafeMutablePointer<Double> { t.pointer(Double.self) + offset }
                if rows {
                    saddle_batchnorm_backward_f64(
                        p(g, at), p(normalized, at), n, count, ld, p(gamma, j), p(inverseStd, j), p(dx, at), p(dGamma, j), p(dBeta, j))
                } else {
                    saddle_batchnorm_channels_backward_f64(
                        p(g, at), p(normalized, at), n, count, ld, s, p(gamma, j), p(inverseStd, j), p(dx, at), p(dGamma, j), p(dBeta, j))
                }
            }
        }
    }
}
