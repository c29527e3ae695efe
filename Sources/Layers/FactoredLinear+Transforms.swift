import SaddleCore

/// W = F_0 F_1 ... F_{k-1}: output unit i is row i of F_0 (and bias i); input feature j is
/// column j of F_{k-1}. Widening touches only those two factors.
extension FactoredLinear: OutputWidening, InputWidening {
    /// The number of output units, `units` (rows of the first factor).
    public var outputUnits: Int { units }
    /// The number of input features, `inputSize` (columns of the last factor).
    public var inputFeatures: Int { inputSize }

    /// A copy whose first factor's rows and bias entries are those of units `mapping`; rows beyond `units` get the noise.
    /// - Throws: `TensorError.invalidArgument` for a mapping entry outside 0..<units.
    public func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> FactoredLinear {
        _ = try Replication.counts(mapping, units: units)
        var grown = factors
        grown[0] = try Replication.addingNoise(factors[0].gatheringRows(mapping), toRowsFrom: units, scale: noise, using: &generator)
        return try FactoredLinear(factors: grown, bias: try bias.map { try $0.gatheringRows(mapping).detached }, initializer: initializer)
    }

    /// A copy with `count` extra rows of the first factor drawn by `initializer`, and zero biases for them.
    public func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> FactoredLinear {
        var grown = factors
        let fresh = try initializer.make([count, rank], dtype: factors[0].dtype, using: &generator)
        grown[0] = try Tensor.concatenating([factors[0], fresh], alongAxis: 0).detached
        let grownBias = try bias.map { try Tensor.concatenating([$0, .zeros([count], dtype: $0.dtype)], alongAxis: 0).detached }
        return try FactoredLinear(factors: grown, bias: grownBias, initializer: initializer)
    }

    /// A copy whose last factor's columns follow `mapping`, divided by their source's count (`Replication.dividedColumns`).
    public func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> FactoredLinear {
        var grown = factors
        let last = factors.count - 1
        grown[last] = try Replication.dividedColumns(factors[last], mapping: mapping, counts: counts, split: split, using: &generator)
        return try FactoredLinear(factors: grown, bias: bias, initializer: initializer)
    }

    /// A copy with `count` extra columns of the last factor drawn by `initializer` at the grown fan-in.
    public func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> FactoredLinear {
        var grown = factors
        let last = factors.count - 1
        let fresh = try Replication.freshColumns(
            initializer, rows: factors[last].shape[0], columns: inputSize, count: count, dtype: factors[last].dtype, using: &generator)
        grown[last] = try Tensor.concatenating([factors[last], fresh], alongAxis: 1).detached
        return try FactoredLinear(factors: grown, bias: bias, initializer: initializer)
    }
}
