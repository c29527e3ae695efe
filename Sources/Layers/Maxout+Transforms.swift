import SaddleCore

extension Maxout: OutputWidening, InputWidening, IdentityInitializable {
    /// The number of output units, `units`.
    public var outputUnits: Int { units }
    /// The number of input features, `inputSize`.
    public var inputFeatures: Int { inputSize }

    /// The weight rows of `unitMapping`'s units, all pieces of each.
    private func rows(for unitMapping: [Int]) -> [Int] {
        unitMapping.flatMap { unit in (0..<pieces).map { unit * pieces + $0 } }
    }

    /// A copy whose units are those of `mapping` (every piece's weight row and bias copied); rows of new units get the noise.
    /// - Throws: `TensorError.invalidArgument` for a mapping entry outside 0..<units.
    public func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> Maxout {
        _ = try Replication.counts(mapping, units: units)
        let indices = rows(for: mapping)
        let grown = try Replication.addingNoise(weight.gatheringRows(indices), toRowsFrom: units * pieces, scale: noise, using: &generator)
        return try Maxout(weight: grown, bias: bias.gatheringRows(indices).detached, pieces: pieces, initializer: initializer)
    }

    /// A copy with `count` extra units whose pieces are drawn as a fresh `Maxout` draws them.
    public func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> Maxout {
        let fresh = try Maxout(inputSize: inputSize, units: count, pieces: pieces, initializer: initializer, dtype: weight.dtype, using: &generator)
        return try Maxout(
            weight: Tensor.concatenating([weight, fresh.weight], alongAxis: 0).detached,
            bias: Tensor.concatenating([bias, fresh.bias], alongAxis: 0).detached, pieces: pieces, initializer: initializer)
    }

    /// A copy whose weight columns follow `mapping`, divided by their source's count (`Replication.dividedColumns`);
    /// the bias is kept.
    public func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> Maxout {
        try Maxout(weight: Replication.dividedColumns(weight, mapping: mapping, counts: counts, split: split, using: &generator), bias: bias, pieces: pieces, initializer: initializer)
    }

    /// A copy with `count` extra weight columns drawn by `initializer` at the grown fan-in; the bias is kept.
    public func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> Maxout {
        let fresh = try Replication.freshColumns(initializer, rows: units * pieces, columns: inputSize, count: count, dtype: weight.dtype, using: &generator)
        return try Maxout(weight: Tensor.concatenating([weight, fresh], alongAxis: 1).detached, bias: bias, pieces: pieces, initializer: initializer)
    }

    /// Every piece the identity: max(x, ..., x) = x.
    public func identityLayer() throws -> any Layer {
        let identity = Replication.identity(units, dtype: weight.dtype)
        let stacked = try identity.gatheringRows(rows(for: Array(0..<units)).map { $0 / pieces })
        return try Maxout(weight: stacked, bias: .zeros([units * pieces], dtype: weight.dtype), pieces: pieces, initializer: initializer)
    }

    /// A `Maxout` from `units` to `units` features with every piece's weight and bias zero.
    public func zeroLayer() throws -> any Layer {
        try Maxout(weight: .zeros([units * pieces, units], dtype: weight.dtype), bias: .zeros([units * pieces], dtype: weight.dtype), pieces: pieces, initializer: initializer)
    }

    /// A freshly initialized `Maxout` from `units` to `units` features with as many pieces.
    public func randomLayer(using generator: inout RandomGenerator) throws -> any Layer {
        try Maxout(inputSize: units, units: units, pieces: pieces, initializer: initializer, dtype: weight.dtype, using: &generator)
    }
}
