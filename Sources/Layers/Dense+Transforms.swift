import SaddleCore

extension Dense: OutputWidening, InputWidening, IdentityInitializable {
    /// The number of output units, `units`.
    public var outputUnits: Int { units }
    /// The number of input features, `inputSize`.
    public var inputFeatures: Int { inputSize }

    /// A copy whose weight rows and bias entries are those of units `mapping`; rows beyond `units` get the noise.
    /// - Throws: `TensorError.invalidArgument` for a mapping entry outside 0..<units.
    public func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> Dense {
        _ = try Replication.counts(mapping, units: units)
        let grown = try Replication.addingNoise(weight.gatheringRows(mapping), toRowsFrom: units, scale: noise, using: &generator)
        return try Dense(weight: grown, bias: try bias.map { try $0.gatheringRows(mapping).detached }, initializer: initializer)
    }

    /// A copy with `count` extra units whose weight rows and biases are drawn as a fresh `Dense` draws them.
    public func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> Dense {
        let fresh = try Dense(inputSize: inputSize, units: count, useBias: bias != nil, initializer: initializer, dtype: weight.dtype, using: &generator)
        let grownBias = try bias.map { try Tensor.concatenating([$0, fresh.bias ?? $0], alongAxis: 0).detached }
        return try Dense(weight: Tensor.concatenating([weight, fresh.weight], alongAxis: 0).detached, bias: grownBias, initializer: initializer)
    }

    /// A copy whose weight columns follow `mapping`, divided by their source's count (`Replication.dividedColumns`);
    /// the bias is kept.
    public func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> Dense {
        try Dense(weight: Replication.dividedColumns(weight, mapping: mapping, counts: counts, split: split, using: &generator), bias: bias, initializer: initializer)
    }

    /// A copy with `count` extra weight columns drawn by `initializer` at the grown fan-in; the bias is kept.
    public func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> Dense {
        let fresh = try Replication.freshColumns(initializer, rows: units, columns: inputSize, count: count, dtype: weight.dtype, using: &generator)
        return try Dense(weight: Tensor.concatenating([weight, fresh], alongAxis: 1).detached, bias: bias, initializer: initializer)
    }

    /// A `Dense` from `units` to `units` features with weight I and a zero bias.
    public func identityLayer() throws -> any Layer {
        try Dense(weight: Replication.identity(units, dtype: weight.dtype), bias: .zeros([units], dtype: weight.dtype), initializer: initializer)
    }

    /// A `Dense` from `units` to `units` features with a zero weight and bias.
    public func zeroLayer() throws -> any Layer {
        try Dense(weight: .zeros([units, units], dtype: weight.dtype), bias: .zeros([units], dtype: weight.dtype), initializer: initializer)
    }

    /// A freshly initialized `Dense` from `units` to `units` features, with a bias.
    public func randomLayer(using generator: inout RandomGenerator) throws -> any Layer {
        try Dense(inputSize: units, units: units, useBias: true, initializer: initializer, dtype: weight.dtype, using: &generator)
    }
}
