/// What a transform changed and how far the model's function moved.
public struct TransformReport: Sendable {
    /// Old parameter/buffer path to new path, for every tensor that survives (inserting a
    /// layer renumbers a Sequential).
    public var pathMap: [(old: String, new: String)]
    /// New paths with no predecessor.
    public var added: [String]
    /// New paths whose tensor changed shape.
    public var resized: [String]
    /// Old paths with no successor.
    public var removed: [String]
    /// max |f_new(x) - f_old(x)| over a probe batch, when one was given.
    public var maxDeviation: Double?
    /// How many examples the probe batch held.
    public var probeExamples: Int?
    /// Caveats (for example: exact in inference mode only).
    public var notes: [String]
    /// For each widened layer, its path and the unit mapping g: new unit j copies old unit g(j).
    public var unitMappings: [(path: String, mapping: [Int])]

    /// A report; transforms fill in what applies.
    public init(
        pathMap: [(old: String, new: String)] = [], added: [String] = [], resized: [String] = [],
        removed: [String] = [], maxDeviation: Double? = nil, notes: [String] = [],
        unitMappings: [(path: String, mapping: [Int])] = []
    ) {
        self.pathMap = pathMap
        self.added = added
        self.resized = resized
        self.removed = removed
        self.maxDeviation = maxDeviation
        self.notes = notes
        self.unitMappings = unitMappings
    }
}

/// What a transform may use besides the model.
public struct TransformContext {
    /// Randomness (unit mappings, noise, fresh weights).
    public var generator: RandomGenerator
    /// A batch of model inputs: data statistics for new BatchNorm layers, and the probe on
    /// which the report measures max |f_new(x) - f_old(x)|.
    public var probe: Tensor?
    /// Builds the container and normalization layers some transforms insert.
    public var factory: (any TransformLayerFactory)?

    /// A context with the given randomness and, optionally, a probe batch and a layer factory
    /// (`BuiltinLayerFactory` from the registry module builds Saddle's own layers).
    public init(generator: RandomGenerator, probe: Tensor? = nil, factory: (any TransformLayerFactory)? = nil) {
        self.generator = generator
        self.probe = probe
        self.factory = factory
    }
}

/// A model-to-model map (Net2WiderNet, Net2DeeperNet, residual or BatchNorm insertion).
/// Transforms never mutate their input; they return a new model and a report.
public protocol ModelTransform: Sendable {
    /// The registry name of the transform.
    var name: String { get }

    /// The transformed model and what changed.
    /// - Throws: when the transform does not apply to this model (an error saying why).
    func apply(to model: any Layer, context: inout TransformContext) throws -> (model: any Layer, report: TransformReport)
}
