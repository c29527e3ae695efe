import SaddleCore

/// Flattens every axis after the first: `[batch, d1, d2, ...]` to `[batch, d1 * d2 * ...]`.
public struct Flatten: Layer {
    /// A flattening layer (no parameters).
    public init() {}
    /// Reshapes `[batch, d1, d2, ...]` to `[batch, d1 * d2 * ...]`.
    /// - Throws: `TensorError.invalidArgument` for a scalar input.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard input.rank >= 1 else {
            throw TensorError.invalidArgument(op: "flatten", reason: "needs a batch axis, got a scalar")
        }
        return try input.reshaped(to: [input.shape[0], input.shape.dropFirst().reduce(1, *)])
    }
}

/// Passes its input through unchanged. Any shape.
public struct Identity: Layer {
    /// An identity layer (no parameters).
    public init() {}
    /// Returns the input unchanged.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor { input }
}
