import SaddleCore

/// Maxout (Goodfellow et al. 2013): each of `units` outputs is the maximum of `pieces` affine
/// functions of the input, y_j = max_k (x W_(j,k)^T + b_(j,k)).
///
/// Shapes: input `[batch, in]`, `weight` `[units * pieces, in]` with unit j's pieces in rows
/// j * pieces ..< (j + 1) * pieces, `bias` `[units * pieces]`, output `[batch, units]`.
/// The gradient flows through the maximal piece of each unit.
public struct Maxout: Layer {
    /// The pieces' weights, `[units * pieces, in]`, unit j's in rows j * pieces ..< (j + 1) * pieces.
    public private(set) var weight: Tensor
    /// The pieces' biases, `[units * pieces]`.
    public private(set) var bias: Tensor
    /// Affine pieces per unit (not derivable from the shapes, so stored).
    public let pieces: Int
    /// How the weight was initialized (kept so the configuration can be written back).
    public let initializer: WeightInitializer

    /// The number of output units (weight rows divided by `pieces`).
    public var units: Int { weight.shape[0] / pieces }
    /// The number of input features (read from the weight).
    public var inputSize: Int { weight.shape[1] }

    /// - Throws: `ModelError.invalidConfiguration` for sizes or pieces below 1.
    public init(
        inputSize: Int, units: Int, pieces: Int, initializer: WeightInitializer = .fanInUniform,
        dtype: DType = .float32, using generator: inout RandomGenerator
    ) throws {
        guard inputSize >= 1, units >= 1, pieces >= 1 else {
            throw ModelError.invalidConfiguration(
                layer: "maxout", reason: "inputSize \(inputSize), units \(units) and pieces \(pieces) must be at least 1")
        }
        let bound = 1 / Double(inputSize).squareRoot()
        self.pieces = pieces
        self.initializer = initializer
        weight = try initializer.make([units * pieces, inputSize], dtype: dtype, using: &generator)
        bias = .randomUniform([units * pieces], in: -bound...bound, dtype: dtype, using: &generator)
    }

    /// - Throws: `ModelError` when the tensors do not fit `pieces`.
    public init(weight: Tensor, bias: Tensor, pieces: Int, initializer: WeightInitializer = .fanInUniform) throws {
        guard pieces >= 1, weight.rank == 2, weight.shape[0] % pieces == 0 else {
            throw ModelError.invalidConfiguration(
                layer: "maxout", reason: "weight \(weight.shape) must be [units * pieces, in] with pieces \(pieces)")
        }
        guard bias.shape == [weight.shape[0]] else {
            throw ModelError.shapeMismatch(path: "bias", expected: [weight.shape[0]], actual: bias.shape)
        }
        self.weight = weight
        self.bias = bias
        self.pieces = pieces
        self.initializer = initializer
    }

    /// Applies the layer: y_j = max_k (x W_(j,k)^T + b_(j,k)), `[batch, in]` to `[batch, units]`.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        let affine = try linear(input, weight: weight, bias: bias)
        return try affine.reshaped(to: [input.shape[0], units, pieces]).max(alongAxis: 2)
    }

    /// Trainable tensors: `weight` `[units * pieces, in]` and `bias` `[units * pieces]`.
    public var parameters: NamedTensors { ["weight": weight, "bias": bias] }

    /// A copy with `weight` and `bias` replaced where given.
    public func replacing(_ tensors: NamedTensors) throws -> Maxout {
        var copy = self
        copy.weight = try replacement(for: weight, at: "weight", in: tensors)
        copy.bias = try replacement(for: bias, at: "bias", in: tensors)
        return copy
    }
}
