import SaddleCore

extension BatchNorm: FeatureMapping {
    /// Gamma, beta and both running statistics follow the mapping.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) throws -> BatchNorm {
        _ = try Replication.counts(mapping, units: featureCount)
        return try BatchNorm(
            weight: weight.gatheringRows(mapping).detached, bias: bias.gatheringRows(mapping).detached,
            runningMean: runningMean.gatheringRows(mapping).detached, runningVariance: runningVariance.gatheringRows(mapping).detached,
            momentum: momentum, epsilon: epsilon)
    }
}

extension ReLU: FeatureMapping, IdempotenceReporting {
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> ReLU { self }
    public var isIdempotent: Bool { true }
}

extension LeakyReLU: FeatureMapping, IdempotenceReporting {
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> LeakyReLU { self }
    /// Only for slopes 0 and 1 (relu and the identity).
    public var isIdempotent: Bool { slope == 0 || slope == 1 }
}

extension Sigmoid: FeatureMapping, IdempotenceReporting {
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Sigmoid { self }
    public var isIdempotent: Bool { false }
}

extension Tanh: FeatureMapping, IdempotenceReporting {
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Tanh { self }
    public var isIdempotent: Bool { false }
}

extension Identity: FeatureMapping, IdempotenceReporting {
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Identity { self }
    public var isIdempotent: Bool { true }
}

extension Dropout: FeatureMapping {
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Dropout { self }
}
