/// How a layer initializes a weight laid out `[out, in, ...]`.
public enum WeightInitializer: Sendable, Hashable {
    /// U(-1/sqrt(fanIn), 1/sqrt(fanIn)): PyTorch's default for `nn.Linear` and `nn.LSTM`.
    case fanInUniform
    /// Glorot (Xavier) uniform.
    case glorotUniform
    /// He (Kaiming) normal, for ReLU networks.
    case heNormal
    /// He (Kaiming) uniform.
    case heUniform
    /// A scaled (semi-)orthogonal matrix (Saxe et al. 2013).
    case orthogonal(gain: Double)
    /// N(0, standardDeviation^2).
    case normal(standardDeviation: Double)
    /// All zeros.
    case zeros

    /// A weight of `shape` drawn from this initializer.
    /// - Throws: LAPACK errors from the orthogonal initializer.
    public func make(_ shape: [Int], dtype: DType, using generator: inout RandomGenerator) throws -> Tensor {
        switch self {
        case .fanInUniform:
            let bound = 1 / Double(max(Tensor.fans(of: shape).fanIn, 1)).squareRoot()
            return .randomUniform(shape, in: -bound...bound, dtype: dtype, using: &generator)
        case .glorotUniform: return .glorotUniform(shape, dtype: dtype, using: &generator)
        case .heNormal: return .heNormal(shape, dtype: dtype, using: &generator)
        case .heUniform: return .heUniform(shape, dtype: dtype, using: &generator)
        case .orthogonal(let gain): return try .orthogonal(shape, gain: gain, dtype: dtype, using: &generator)
        case .normal(let deviation): return .randomNormal(shape, standardDeviation: deviation, dtype: dtype, using: &generator)
        case .zeros: return .zeros(shape, dtype: dtype)
        }
    }
}
