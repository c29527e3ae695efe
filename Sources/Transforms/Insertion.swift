import SaddleCore

/// Inserts, after the layer at `layer` (and after the activation that follows it), a residual
/// block x + f(x) whose branch is [a fresh layer of the same kind, a copy of the activation, a
/// layer of the same kind starting at zero]: f = 0 at first, so the model is unchanged, and the
/// branch can learn (He et al. 2016).
public struct ResidualInsertion: ModelTransform {
    /// The registry name.
    public let name = "insert_residual"
    /// The path of the layer to grow after or widen ("0", "3.branch.1").
    public var layer: String

    /// A residual insertion after the layer at `layer`.
    public init(layer: String) { self.layer = layer }

    /// Inserts the residual block, its branch's last layer at zero; the report notes it starts as the identity.
    /// - Throws: `TransformError` when the layer cannot give layers of its kind or no layer factory is given.
    public func apply(to model: any Layer, context: inout TransformContext) throws -> (model: any Layer, report: TransformReport) {
        let (source, parent, index, siblings) = try TransformSupport.insertionSite(of: layer, in: model, purpose: "layers of its kind for a residual branch")
        guard let factory = context.factory else {
            throw TransformError.missingInput(transform: name, reason: "a layer factory is needed to build the residual block")
        }
        var branch: [any Layer] = [try source.randomLayer(using: &context.generator)]
        let (position, activation) = TransformSupport.insertionPoint(after: index, in: siblings)
        if let activation { branch.append(activation) }
        branch.append(try source.zeroLayer())
        var (updated, report) = try TransformSupport.inserting([try factory.residual(branch: branch)], into: parent, at: position, in: model)
        report.notes = ["the branch's last layer starts at zero, so the block starts as the identity"]
        return (updated, try TransformSupport.measured(report, old: model, new: updated, probe: context.probe))
    }
}

/// Inserts a BatchNorm right after the layer at `layer`, initialized from the probe batch's
/// statistics of that layer's outputs so that it is the identity in inference mode
/// (running statistics = batch statistics, gamma = sqrt(var + eps), beta = mean).
public struct BatchNormInsertion: ModelTransform {
    /// The registry name.
    public let name = "insert_batchnorm"
    /// The path of the layer to grow after or widen ("0", "3.branch.1").
    public var layer: String

    /// A BatchNorm insertion after the layer at `layer`.
    public init(layer: String) { self.layer = layer }

    /// Inserts the BatchNorm right after the layer (before its activation), set from the probe's statistics.
    /// - Throws: `TransformError` without a probe batch or layer factory, or when the layer's output is not
    ///   `[batch, features]`.
    public func apply(to model: any Layer, context: inout TransformContext) throws -> (model: any Layer, report: TransformReport) {
        let (parent, index) = try LayerTree.position(of: layer, in: model)
        guard let probe = context.probe, let factory = context.factory else {
            throw TransformError.missingInput(transform: name, reason: "a probe batch (for statistics) and a layer factory are needed")
        }
        let norm = try TransformSupport.identityBatchNorm(before: index + 1, in: parent, of: model, probe: probe, factory: factory, path: layer)
        var (updated, report) = try TransformSupport.inserting([norm], into: parent, at: index + 1, in: model)
        report.notes = [TransformSupport.batchNormNote]
        return (updated, try TransformSupport.measured(report, old: model, new: updated, probe: context.probe))
    }
}
