import SaddleCore

extension Dense: OutputWidening, InputWidening, IdentityInitializable {
    public var outputUnits: Int { units }
    public var inputFeatures: Int { inputSize }

    public func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> Dense {
        _ = try Replication.counts(mapping, units: units)
        let grown = try Replication.addingNoise(weight.gatheringRows(mapping), toRowsFrom: units, scale: noise, using: &generator)
        return try Dense(weight: grown, bias: try bias.map { try $0.gatheringRows(mapping).detached }, initializer: initializer)
    }

    public func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> Dense {
        let fresh = try Dense(inputSize: inputSize, units: count, useBias: bias != nil, initializer: initializer, dtype: weight.dtype, using: &generator)
        let grownBias = try bias.map { try Tensor.concatenating([$0, fresh.bias ?? $0], alongAxis: 0).detached }
        return try Dense(weight: Tensor.concatenating([weight, fresh.weight], alongAxis: 0).detached, bias: grownBias, initializer: initializer)
    }

    public func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> Dense {
        try Dense(weight: Replication.dividedColumns(weight, mapping: mapping, counts: counts, split: split, using: &generator), bias: bias, initializer: initializer)
    }

    public func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> Dense {
        let fresh = try Replication.freshColumns(initializer, rows: units, columns: inputSize, count: count, dtype: weight.dtype, using: &generator)
        return try Dense(weight: Tensor.concatenating([weight, fresh], alongAxis: 1).detached, bias: bias, initializer: initializer)
    }

    public func identityLayer() throws -> any Layer {
        try Dense(weight: Replication.identity(units, dtype: weight.dtype), bias: .zeros([units], dtype: weight.dtype), initializer: initializer)
    }

    public func zeroLayer() throws -> any Layer {
        try Dense(weight: .zeros([units, units], dtype: weight.dtype), bias: .zeros([units], dtype: weight.dtype), initializer: initializer)
    }

    public func randomLayer(using generator: inout RandomGenerator) throws -> any Layer {
        try Dense(inputSize: units, units: units, useBias: true, initializer: initializer, dtype: weight.dtype, using: &generator)
    }
}
