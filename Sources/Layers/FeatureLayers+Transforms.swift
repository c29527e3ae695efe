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
    /// The layer itself: ReLU has no per-feature state.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> ReLU { self }
    /// True: relu(relu(x)) = relu(x).
    public var isIdempotent: Bool { true }
}

extension LeakyReLU: FeatureMapping, IdempotenceReporting {
    /// The layer itself: leaky ReLU has no per-feature state.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> LeakyReLU { self }
    /// Only for slopes 0 and 1 (relu and the identity).
    public var isIdempotent: Bool { slope == 0 || slope == 1 }
}

extension Sigmoid: FeatureMapping, IdempotenceReporting {
    /// The layer itself: sigmoid has no per-feature state.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Sigmoid { self }
    /// False: sigmoid(sigmoid(x)) differs from sigmoid(x).
    public var isIdempotent: Bool { false }
}

extension Tanh: FeatureMapping, IdempotenceReporting {
    /// The layer itself: tanh has no per-feature state.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Tanh { self }
    /// False: tanh(tanh(x)) differs from tanh(x).
    public var isIdempotent: Bool { false }
}

extension Identity: FeatureMapping, IdempotenceReporting {
    /// The layer itself: the identity has no per-feature state.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Identity { self }
    /// True: the identity repeated is the identity.
    public var isIdempotent: Bool { true }
}

extension Dropout: FeatureMapping {
    /// The layer itself: dropout has no per-feature state.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Dropout { self }
}
