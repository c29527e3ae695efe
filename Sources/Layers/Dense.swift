import SaddleCore

/// A fully connected layer: y = x W^T + b.
///
/// Shapes: input `[batch, in]`, `weight` `[out, in]` (PyTorch's layout), `bias` `[out]`,
/// output `[batch, out]`. Parameters: `weight`, and `bias` unless built without one.
public struct Dense: Layer {
    /// The weight, `[units, inputSize]` (PyTorch's layout).
    public private(set) var weight: Tensor
    /// The bias, `[units]`, or nil for a layer without one.
    public private(set) var bias: Tensor?
    /// How the weight was initialized (kept so the configuration can be written back).
    public let initializer: WeightInitializer

    /// The number of input features (read from the weight).
    public var inputSize: Int { weight.shape[1] }
    /// The number of output units (read from the weight).
    public var units: Int { weight.shape[0] }

    /// A layer with freshly initialized weights; the bias is drawn like PyTorch's,
    /// U(-1/sqrt(in), 1/sqrt(in)), unless `biasInitializer` is given.
    /// - Throws: `ModelError.invalidConfiguration` for sizes below 1.
    public init(
        inputSize: Int, units: Int, useBias: Bool = true, initializer: WeightInitializer = .fanInUniform,
        biasInitializer: WeightInitializer? = nil, dtype: DType = .float32, using generator: inout RandomGenerator
    ) throws {
        guard inputSize >= 1, units >= 1 else {
            throw ModelError.invalidConfiguration(layer: "dense", reason: "inputSize \(inputSize) and units \(units) must be at least 1")
        }
        self.initializer = initializer
        weight = try initializer.make([units, inputSize], dtype: dtype, using: &generator)
        if useBias {
            let bound = 1 / Double(inputSize).squareRoot()
            bias = try biasInitializer?.make([units], dtype: dtype, using: &generator)
                ?? .randomUniform([units], in: -bound...bound, dtype: dtype, using: &generator)
        }
    }

    /// A layer from explicit tensors.
    /// - Throws: `ModelError` when the weight is not 2-D or the bias does not match it.
    public init(weight: Tensor, bias: Tensor?, initializer: WeightInitializer = .fanInUniform) throws {
        guard weight.rank == 2 else {
            throw ModelError.shapeMismatch(path: "weight", expected: [-1, -1], actual: weight.shape)
        }
        if let bias {
            guard bias.shape == [weight.shape[0]] else {
                throw ModelError.shapeMismatch(path: "bias", expected: [weight.shape[0]], actual: bias.shape)
            }
            guard bias.dtype == weight.dtype else {
                throw ModelError.dtypeMismatch(path: "bias", expected: weight.dtype, actual: bias.dtype)
            }
        }
        self.weight = weight
        self.bias = bias
        self.initializer = initializer
    }

    /// Applies the layer: y = x W^T + b, `[batch, in]` to `[batch, out]`.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try linear(input, weight: weight, bias: bias)
    }

    /// Trainable tensors: `weight` `[units, in]` and, when present, `bias` `[units]`.
    public var parameters: NamedTensors {
        var result: NamedTensors = ["weight": weight]
        if let bias { result["bias"] = bias }
        return result
    }

    /// A copy with `weight` and `bias` replaced where given.
    public func replacing(_ tensors: NamedTensors) throws -> Dense {
        var copy = self
        copy.weight = try replacement(for: weight, at: "weight", in: tensors)
        if let bias { copy.bias = try replacement(for: bias, at: "bias", in: tensors) }
        return copy
    }
}
