import SaddleCore

/// Net2DeeperNet (Chen, Goodfellow and Shlens 2016): inserts, after the layer at `layer` (and
/// after the activation that follows it, looking past BatchNorm and dropout), a layer of the same kind initialized to the identity,
/// followed by a copy of that activation. Exact when the activation is idempotent
/// (phi(phi(v)) = phi(v): ReLU) and for maxout (identical pieces); for sigmoid or tanh it
/// refuses unless `force`. With `batchNorm`, a BatchNorm set from the probe batch's statistics
/// (gamma = sqrt(var + eps), beta = mean) follows the new layer: exact in inference mode only.
public struct Net2DeeperNet: ModelTransform {
    /// The registry name.
    public let name = "net2deeper"
    /// The path of the layer to grow after or widen ("0", "3.branch.1").
    public var layer: String
    /// Whether a BatchNorm set from the probe batch follows the new layer.
    public var batchNorm: Bool
    /// Insert even after an activation that is not idempotent (the function then changes).
    public var force: Bool

    /// A Net2DeeperNet after the layer at `layer`, with or without a BatchNorm, forced or not.
    public init(layer: String, batchNorm: Bool = false, force: Bool = false) {
        self.layer = layer
        self.batchNorm = batchNorm
        self.force = force
    }

    /// Inserts the identity layer, the BatchNorm when asked, and the activation copy, in that order.
    /// - Throws: `TransformError.notFunctionPreserving` after an activation that is not idempotent, unless
    ///   `force`; `TransformError.missingInput` for a BatchNorm without a probe batch or layer factory.
    public func apply(to model: any Layer, context: inout TransformContext) throws -> (model: any Layer, report: TransformReport) {
        let (source, parent, index, siblings) = try TransformSupport.insertionSite(of: layer, in: model, purpose: "an identity-initialized layer")
        var inserted: [any Layer] = [try source.identityLayer()]
        let (position, activation) = TransformSupport.insertionPoint(after: index, in: siblings)
        var notes: [String] = []
        if let activation {
            if !activation.isIdempotent && !force {
                throw TransformError.notFunctionPreserving(
                    path: layer, activation: "\(type(of: activation))",
                    reason: "phi(phi(v)) = phi(v) does not hold (or is not known to hold) for it, so repeating the activation after an identity layer may change the output")
            }
            if !activation.isIdempotent { notes.append("forced after \(type(of: activation)): the function changes") }
            inserted.append(activation)
        }
        if batchNorm {
            guard let probe = context.probe, let factory = context.factory else {
                throw TransformError.missingInput(transform: name, reason: "a BatchNorm layer needs a probe batch for its statistics")
            }
            inserted.insert(
                try TransformSupport.identityBatchNorm(before: position, in: parent, of: model, probe: probe, factory: factory, path: layer), at: 1)
            notes.append(TransformSupport.batchNormNote)
        }
        var (updated, report) = try TransformSupport.inserting(inserted, into: parent, at: position, in: model)
        report.notes = notes
        return (updated, try TransformSupport.measured(report, old: model, new: updated, probe: context.probe))
    }
}

/// The baseline Net2DeeperNet is compared against: the same inserted layer (and activation copy)
/// initialized at random.
public struct RandomDeeper: ModelTransform {
    /// The registry name.
    public let name = "random_deeper"
    /// The path of the layer to grow after or widen ("0", "3.branch.1").
    public var layer: String

    /// A random deepening after the layer at `layer`.
    public init(layer: String) { self.layer = layer }

    /// Inserts a randomly initialized layer of the same kind, and the activation copy; the function changes.
    /// - Throws: `TransformError` when the layer cannot give layers of its kind.
    public func apply(to model: any Layer, context: inout TransformContext) throws -> (model: any Layer, report: TransformReport) {
        let (source, parent, index, siblings) = try TransformSupport.insertionSite(of: layer, in: model, purpose: "a layer of its kind")
        var inserted: [any Layer] = [try source.randomLayer(using: &context.generator)]
        let (position, activation) = TransformSupport.insertionPoint(after: index, in: siblings)
        if let activation { inserted.append(activation) }
        let (updated, report) = try TransformSupport.inserting(inserted, into: parent, at: position, in: model)
        return (updated, try TransformSupport.measured(report, old: model, new: updated, probe: context.probe))
    }
}
