import SaddleCore

/// Mean softmax cross-entropy from logits `[batch, classes]` against class indices `[batch]`
/// (whole numbers stored in the logits' dtype). Stable for large logits.
public struct SoftmaxCrossEntropy: Loss {
    /// A softmax cross-entropy loss (no settings).
    public init() {}
    /// The mean over the batch of -log softmax(prediction)[label], as a rank-0 tensor.
    /// - Throws: `TensorError` for mismatched shapes or labels outside 0..<classes.
    public func callAsFunction(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        try softmaxCrossEntropy(logits: prediction, labels: target.converted(to: prediction.dtype))
    }
}

/// Mean squared error: mean((prediction - target)^2) over all elements; shapes must match.
public struct MeanSquaredError: Loss {
    /// A mean squared error loss (no settings).
    public init() {}
    /// The mean of (prediction - target)^2 over all elements, as a rank-0 tensor.
    /// - Throws: `TensorError.shapeMismatch` when the shapes differ.
    public func callAsFunction(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        guard prediction.shape == target.shape else {
            throw TensorError.shapeMismatch(
                op: "meanSquaredError", shapes: [prediction.shape, target.shape], reason: "prediction and target must have the same shape")
        }
        return try (prediction - target.converted(to: prediction.dtype)).squared().mean()
    }
}
