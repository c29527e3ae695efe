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

/// Batch normalization over the channels of `x` `[batch, channels, ...]` (PyTorch's
/// `BatchNorm2d` for images, `BatchNorm1d` for `[batch, channels, length]`) with the batch's
/// own statistics: each channel is normalized over its batch x spatial values with the biased
/// variance, then scaled by gamma and shifted by beta (both `[channels]`). Returns the output
/// and the per-channel mean and biased variance (constants, for running statistics). One fused
/// kernel each way; exact second derivatives through a reference of differentiable operations.
/// - Throws: `TensorError` when the shapes disagree or a channel has fewer than 2 values.
public func batchNormalizedChannels(
    _ x: Tensor, scale gamma: Tensor, offset beta: Tensor, epsilon: Double
) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
    guard x.rank >= 3, gamma.shape == [x.shape[1]], beta.shape == [x.shape[1]] else {
        throw TensorError.shapeMismatch(
            op: "batchNormalizedChannels", shapes: [x.shape, gamma.shape, beta.shape],
            reason: "need x [batch, channels, ...] and scale, offset [channels]")
    }
    guard x.dtype == gamma.dtype, x.dtype == beta.dtype else {
        throw TensorError.dtypeMismatch(op: "batchNormalizedChannels", dtypes: [x.dtype, gamma.dtype, beta.dtype])
    }
    let (n, c) = (x.shape[0], x.shape[1])
    let s = x.shape.dropFirst(2).reduce(1, *)
    guard n * s >= 2 else {
        throw TensorError.invalidArgument(
            op: "batchNormalizedChannels", reason: "training-mode batch statistics need at least 2 values per channel, got \(n * s)")
    }
    let normalized = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    let out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    let mean = Tensor(uninitializedShape: [c], dtype: x.dtype)
    let variance = Tensor(uninitializedShape: [c], dtype: x.dtype)
    let inverseStd = Tensor(uninitializedShape: [c], dtype: x.dtype)
    switch x.dtype {
    case .float32:
        saddle_batchnorm_channels_forward_f32(
            x.pointer(Float.self), Int64(n), Int64(c), Int64(s), gamma.pointer(Float.self), beta.pointer(Float.self), Float(epsilon),
            normalized.pointer(Float.self), out.pointer(Float.self), mean.pointer(Float.self),
            variance.pointer(Float.self), inverseStd.pointer(Float.self))
    case .float64:
        saddle_batchnorm_channels_forward_f64(
            x.pointer(Double.self), Int64(n), Int64(c), Int64(s), gamma.pointer(Double.self), beta.pointer(Double.self), epsilon,
            normalized.pointer(Double.self), out.pointer(Double.self), mean.pointer(Double.self),
            variance.pointer(Double.self), inverseStd.pointer(Double.self))
    }
    let shape = x.shape
    let output = Tensor.recordFused(
        "batchNormalizedChannels", inputs: [x, gamma, beta], output: out,
        reference: { inputs in
            let grouped = try inputs[0].reshaped(to: [n, c, s])
            let mean = try grouped.mean(alongAxis: 2, keepingAxis: true).mean(alongAxis: 0, keepingAxis: true)
            let centered = try grouped - mean
            let variance = try centered.squared().mean(alongAxis: 2, keepingAxis: true).mean(alongAxis: 0, keepingAxis: true)
            let scaled = try centered / sqrt(variance + epsilon) * inputs[1].reshaped(to: [1, c, 1]) + inputs[2].reshaped(to: [1, c, 1])
            return try scaled.reshaped(to: shape)
        },
        pullback: { context in
            let g = context.cotangent
            let weights = context.inputs[1].detached
            let dx = Tensor(uninitializedShape: shape, dtype: g.dtype)
            let dGamma = Tensor(uninitializedShape: [c], dtype: g.dtype)
            let dBeta = Tensor(uninitializedShape: [c], dtype: g.dtype)
            switch g.dtype {
            case .float32:
                saddle_batchnorm_channels_backward_f32(
                    g.pointer(Float.self), normalized.pointer(Float.self), Int64(n), Int64(c), Int64(s), weights.pointer(Float.self),
                    inverseStd.pointer(Float.self), dx.pointer(Float.self), dGamma.pointer(Float.self), dBeta.pointer(Float.self))
            case .float64:
                saddle_batchnorm_channels_backward_f64(
                    g.pointer(Double.self), normalized.pointer(Double.self), Int64(n), Int64(c), Int64(s), weights.pointer(Double.self),
                    inverseStd.pointer(Double.self), dx.pointer(Double.self), dGamma.pointer(Double.self), dBeta.pointer(Double.self))
            }
            return [dx, dGamma, dBeta]
        })
    return (output, mean, variance)
}
