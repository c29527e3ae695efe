/// A loss: maps a prediction and a target to a scalar tensor (differentiable in the
/// prediction).
public protocol Loss: Sendable {
    /// The loss of `prediction` against `target`, as a rank-0 tensor.
    /// - Throws: `TensorError` when the shapes do not fit.
    func callAsFunction(_ prediction: Tensor, _ target: Tensor) throws -> Tensor
}
