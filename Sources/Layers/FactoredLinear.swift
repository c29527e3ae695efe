import SaddleCore

/// A linear layer whose weight is a product of factors, W = F_0 F_1 ... F_(depth-1): the deep
/// linear "factored" model of Saxe et al. (2013). Same function class as `Dense`, different
/// (non-convex) geometry: with small initial factors the origin is a saddle point.
///
/// Shapes: input `[batch, in]`, factors `factors.0` `[units, rank]`, `factors.k` `[rank, rank]`,
/// `factors.(depth-1)` `[rank, in]`, optional `bias` `[units]`; output `[batch, units]`.
public struct FactoredLinear: Layer {
    /// The factors F_0 ... F_(depth-1): `[units, rank]`, then `[rank, rank]` ..., then `[rank, in]`.
    public private(set) var factors: [Tensor]
    /// The bias, `[units]`, or nil for a layer without one.
    public private(set) var bias: Tensor?
    /// How the factors were initialized (kept so the configuration can be written back).
    public let initializer: WeightInitializer

    /// The number of output units (rows of the first factor).
    public var units: Int { factors[0].shape[0] }
    /// The number of input features (columns of the last factor).
    public var inputSize: Int { factors[factors.count - 1].shape[1] }
    /// The inner dimension of the product (columns of the first factor).
    public var rank: Int { factors[0].shape[1] }

    /// - Throws: `ModelError.invalidConfiguration` for sizes below 1 or depth below 2.
    public init(
        inputSize: Int, units: Int, rank: Int, depth: Int = 2, useBias: Bool = false,
        initializer: WeightInitializer = .fanInUniform, dtype: DType = .float32, using generator: inout RandomGenerator
    ) throws {
        guard inputSize >= 1, units >= 1, rank >= 1, depth >= 2 else {
            throw ModelError.invalidConfiguration(
                layer: "factored_linear",
                reason: "inputSize \(inputSize), units \(units), rank \(rank) must be at least 1 and depth \(depth) at least 2")
        }
        var shapes = [[units, rank]]
        for _ in 0..<(depth - 2) { shapes.append([rank, rank]) }
        shapes.append([rank, inputSize])
        self.initializer = initializer
        factors = try shapes.map { try initializer.make($0, dtype: dtype, using: &generator) }
        if useBias { bias = .zeros([units], dtype: dtype) }
    }

    /// - Throws: `ModelError` unless the factors chain (`[units, r] [r, r] ... [r, in]`).
    public init(factors: [Tensor], bias: Tensor?, initializer: WeightInitializer = .fanInUniform) throws {
        guard factors.count >= 2, factors.allSatisfy({ $0.rank == 2 }),
            zip(factors, factors.dropFirst()).allSatisfy({ $0.shape[1] == $1.shape[0] })
        else {
            throw ModelError.invalidConfiguration(
                layer: "factored_linear", reason: "factors \(factors.map(\.shape)) do not chain into a product")
        }
        if let bias, bias.shape != [factors[0].shape[0]] {
            throw ModelError.shapeMismatch(path: "bias", expected: [factors[0].shape[0]], actual: bias.shape)
        }
        self.factors = factors
        self.bias = bias
        self.initializer = initializer
    }

    /// The product W = F_0 ... F_(depth-1), `[units, in]`.
    public func weight() throws -> Tensor {
        try factors.dropFirst().reduce(factors[0]) { try matmul($0, $1) }
    }

    /// Applies the layer: y = x W^T + b with W = F_0 ... F_(depth-1), `[batch, in]` to `[batch, units]`.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try linear(input, weight: weight(), bias: bias)
    }

    /// Trainable tensors: `factors.0` ... `factors.(depth-1)` and, when present, `bias` `[units]`.
    public var parameters: NamedTensors {
        var result = NamedTensors(factors.enumerated().map { ("factors.\($0.offset)", $0.element) })
        if let bias { result["bias"] = bias }
        return result
    }

    /// A copy with the factors (`factors.k`) and `bias` replaced where given.
    public func replacing(_ tensors: NamedTensors) throws -> FactoredLinear {
        var copy = self
        copy.factors = try factors.enumerated().map { try replacement(for: $0.element, at: "factors.\($0.offset)", in: tensors) }
        if let bias { copy.bias = try replacement(for: bias, at: "bias", in: tensors) }
        return copy
    }
}
