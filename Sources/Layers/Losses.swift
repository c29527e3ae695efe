import SaddleCore

/// Mean softmax cross-entropy from logits `[batch, classes]` against class indices `[batch]`
/// (whole numbers stored in the logits' dtype). Stable for large logits.
public struct SoftmaxCrossEntropy: Loss {
    public init() {}
    public func callAsFunction(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        try softmaxCrossEntropy(logits: prediction, labels: target.converted(to: prediction.dtype))
    }
}

/// Mean squared error: mean((prediction - target)^2) over all elements; shapes must match.
public struct MeanSquaredError: Loss {
    public init() {}
    public func callAsFunction(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        guard prediction.shape == target.shape else {
            throw TensorError.shapeMismatch(
                op: "meanSquaredError", shapes: [prediction.shape, target.shape], reason: "prediction and target must have the same shape")
        }
        return try (prediction - target.converted(to: prediction.dtype)).squared().mean()
    }
}
