internal import CSaddleCore

/// Batch normalization of `x` `[batch, features]` with the batch's own statistics (training
/// mode): y = gamma (x - mean) / sqrt(var + epsilon) + beta, with the biased variance.
/// Returns the output and the batch mean and biased variance (constants, for running
/// statistics). One fused kernel each way; exact second derivatives through a reference.
/// - Throws: `TensorError` when the shapes disagree or the batch has fewer than 2 rows.
public func batchNormalized(
    _ x: Tensor, scale gamma: Tensor, offset beta: Tensor, epsilon: Double
) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
    guard x.rank == 2, gamma.shape == [x.shape[1]], beta.shape == [x.shape[1]] else {
        throw TensorError.shapeMismatch(
            op: "batchNormalized", shapes: [x.shape, gamma.shape, beta.shape],
            reason: "need x [batch, features] and scale, offset [features]")
    }
    guard x.dtype == gamma.dtype, x.dtype == beta.dtype else {
        throw TensorError.dtypeMismatch(op: "batchNormalized", dtypes: [x.dtype, gamma.dtype, beta.dtype])
    }
    guard x.shape[0] >= 2 else {
        throw TensorError.invalidArgument(op: "batchNormalized", reason: "training-mode batch statistics need at least 2 rows, got \(x.shape[0])")
    }
    let (n, f) = (x.shape[0], x.shape[1])
    var normalized = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    var out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    var mean = Tensor(uninitializedShape: [f], dtype: x.dtype)
    var variance = Tensor(uninitializedShape: [f], dtype: x.dtype)
    var inverseStd = Tensor(uninitializedShape: [f], dtype: x.dtype)
    switch x.dtype {
    case .float32:
        saddle_batchnorm_forward_f32(
            x.pointer(Float.self), Int64(n), Int64(f), gamma.pointer(Float.self), beta.pointer(Float.self), Float(epsilon),
            normalized.pointer(Float.self), out.pointer(Float.self), mean.pointer(Float.self),
            variance.pointer(Float.self), inverseStd.pointer(Float.self))
    case .float64:
        saddle_batchnorm_forward_f64(
            x.pointer(Double.self), Int64(n), Int64(f), gamma.pointer(Double.self), beta.pointer(Double.self), epsilon,
            normalized.pointer(Double.self), out.pointer(Double.self), mean.pointer(Double.self),
            variance.pointer(Double.self), inverseStd.pointer(Double.self))
    }
    let (savedNormalized, savedInverseStd) = (normalized, inverseStd)
    let output = Tensor.recordFused(
        "batchNormalized", inputs: [x, gamma, beta], output: out,
        reference: { inputs in
            let centered = try inputs[0] - inputs[0].mean(alongAxis: 0, keepingAxis: true)
            let variance = try centered.squared().mean(alongAxis: 0, keepingAxis: true)
            return try centered / sqrt(variance + epsilon) * inputs[1] + inputs[2]
        },
        pullback: { c in
            let g = c.cotangent
            let weights = c.inputs[1].detached
            var dx = Tensor(uninitializedShape: [n, f], dtype: g.dtype)
            var dGamma = Tensor(uninitializedShape: [f], dtype: g.dtype)
            var dBeta = Tensor(uninitializedShape: [f], dtype: g.dtype)
            switch g.dtype {
            case .float32:
                saddle_batchnorm_backward_f32(
                    g.pointer(Float.self), savedNormalized.pointer(Float.self), Int64(n), Int64(f), weights.pointer(Float.self),
                    savedInverseStd.pointer(Float.self), dx.pointer(Float.self), dGamma.pointer(Float.self), dBeta.pointer(Float.self))
            case .float64:
                saddle_batchnorm_backward_f64(
                    g.pointer(Double.self), savedNormalized.pointer(Double.self), Int64(n), Int64(f), weights.pointer(Double.self),
                    savedInverseStd.pointer(Double.self), dx.pointer(Double.self), dGamma.pointer(Double.self), dBeta.pointer(Double.self))
            }
            return [dx, dGamma, dBeta]
        })
    return (output, mean, variance)
}
