import SaddleCore

/// Flattens every axis after the first: `[batch, d1, d2, ...]` to `[batch, d1 * d2 * ...]`.
public struct Flatten: Layer {
    public init() {}
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard input.rank >= 1 else {
            throw TensorError.invalidArgument(op: "flatten", reason: "needs a batch axis, got a scalar")
        }
        return try input.reshaped(to: [input.shape[0], input.shape.dropFirst().reduce(1, *)])
    }
}

/// Passes its input through unchanged. Any shape.
public struct Identity: Layer {
    public init() {}
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor { input }
}
