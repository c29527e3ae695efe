import SaddleCore

/// Rectified linear unit, max(x, 0), element-wise. Any shape.
public struct ReLU: Layer {
    /// A ReLU layer (no parameters).
    public init() {}
    /// Applies max(x, 0) element-wise; the output has the input's shape.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor { relu(input) }
}

/// Leaky ReLU: x for x > 0, slope * x otherwise, element-wise. Any shape.
public struct LeakyReLU: Layer {
    /// The slope for negative inputs.
    public var slope: Double

    /// - Throws: `ModelError.invalidConfiguration` for a non-finite slope.
    public init(slope: Double = 0.01) throws {
        guard slope.isFinite else { throw ModelError.invalidConfiguration(layer: "leaky_relu", reason: "slope \(slope) must be finite") }
        self.slope = slope
    }

    /// Applies x for x > 0, `slope` * x otherwise, element-wise; the output has the input's shape.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        leakyRelu(input, slope: slope)
    }
}

/// Logistic sigmoid 1 / (1 + e^-x), element-wise. Any shape.
public struct Sigmoid: Layer {
    /// A sigmoid layer (no parameters).
    public init() {}
    /// Applies 1 / (1 + e^-x) element-wise; the output has the input's shape.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor { sigmoid(input) }
}

/// Hyperbolic tangent, element-wise. Any shape.
public struct Tanh: Layer {
    /// A tanh layer (no parameters).
    public init() {}
    /// Applies tanh(x) element-wise; the output has the input's shape.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor { tanh(input) }
}

/// Softmax over the last axis: exp(x_i) / sum_j exp(x_j). Any shape with at least one axis.
public struct Softmax: Layer {
    /// A softmax layer (no parameters).
    public init() {}
    /// Applies the softmax over the last axis; the output has the input's shape.
    /// - Throws: `TensorError.invalidArgument` for a scalar input (no axis).
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try softmax(input, alongAxis: -1)
    }
}
