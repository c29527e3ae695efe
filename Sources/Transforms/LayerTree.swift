import SaddleCore

/// Paths into a model's container tree: "2" is the third layer of the top-level sequence,
/// "3.branch.1" the second layer of the branch of a residual block at index 3.
struct LayerTree {
    /// Every layer path, depth first.
    static func paths(in layer: any Layer, prefix: String = "") -> [String] {
        guard let container = layer as? any LayerContainer else { return [] }
        return container.children.flatMap { name, child -> [String] in
            let path = prefix.isEmpty ? name : "\(prefix).\(name)"
            return [path] + paths(in: child, prefix: path)
        }
    }

    /// The layer at `path`.
    static func layer(at path: String, in model: any Layer) throws -> any Layer {
        var current = model
        for component in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            guard let container = current as? any LayerContainer, let child = container.children.first(where: { $0.name == component }) else {
                throw TransformError.unknownLayer(path: path, available: paths(in: model))
            }
            current = child.layer
        }
        return current
    }

    /// The container at `path`, or the model itself for "" (the root).
    static func container(at path: String, in model: any Layer) throws -> any Layer {
        path.isEmpty ? model : try layer(at: path, in: model)
    }

    /// The model with the container at `path` ("" for the root) rebuilt by `edit`.
    static func editing(_ path: String, in model: any Layer, _ edit: (any LayerContainer) throws -> any Layer) throws -> any Layer {
        guard let container = model as? any LayerContainer else {
            throw TransformError.unknownLayer(path: path, available: paths(in: model))
        }
        if path.isEmpty { return try edit(container) }
        let components = path.split(separator: ".", maxSplits: 1).map(String.init)
        guard let index = container.children.firstIndex(where: { $0.name == components[0] }) else {
            throw TransformError.unknownLayer(path: path, available: paths(in: model))
        }
        var layers = container.children.map(\.layer)
        layers[index] = try editing(components.count > 1 ? components[1] : "", in: layers[index], edit)
        return try container.replacingChildren(layers)
    }

    /// Splits a layer path into its parent sequence's path and its index there.
    static func position(of path: String, in model: any Layer) throws -> (parent: String, index: Int) {
        var components = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let last = components.removeLast()
        let parent = components.joined(separator: ".")
        let target = try layer(at: path, in: model)
        let container = try container(at: parent, in: model)
        guard let sequence = container as? any LayerContainer, sequence.isSequence else {
            throw TransformError.unsupported(
                path: path, layer: "\(type(of: target))",
                reason: "is not an element of a sequence of layers, so nothing can be inserted after it or widened beside it; name a layer inside it, such as \(path).0")
        }
        guard let index = sequence.children.firstIndex(where: { $0.name == last }) else {
            throw TransformError.unknownLayer(path: path, available: paths(in: model))
        }
        return (parent, index)
    }

    /// Tensor paths of `layer` under `prefix`.
    static func tensorPaths(of layer: any Layer, prefix: String) -> [String] {
        layer.tensors.paths.map { "\(prefix).\($0)" }
    }
}

/// Shared by the transforms: inserting layers into a sequence with the path map that results,
/// and finishing a report with the measured deviation.
enum TransformSupport {
    /// The model with `layers` inserted at `index` of the sequence at `parent`, and the report
    /// of renamed and added tensors.
    static func inserting(_ layers: [any Layer], into parent: String, at index: Int, in model: any Layer) throws -> (any Layer, TransformReport) {
        let oldPaths = model.tensors.paths
        let prefix = parent.isEmpty ? "" : parent + "."
        var before: [String] = []
        var names: [String] = []
        var after: [String] = []
        let updated = try LayerTree.editing(parent, in: model) { container in
            before = container.children.map(\.name)
            let (inserted, given) = try container.insertingChildren(layers, at: index)
            names = given
            after = inserted.children.map(\.name)
            return inserted
        }
        // Each surviving child moves from its old path component to its new one (numbered
        // children shift; named ones stay where they were).
        var moved: [String: String] = [:]
        for (position, name) in before.enumerated() {
            moved[name] = after[position < index ? position : position + layers.count]
        }
        var map: [(old: String, new: String)] = []
        for path in oldPaths {
            guard path.hasPrefix(prefix) else {
                map.append((path, path))
                continue
            }
            let parts = path.dropFirst(prefix.count).split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 2, let target = moved[parts[0]] {
                map.append((path, "\(prefix)\(target).\(parts[1])"))
            } else {
                map.append((path, path))
            }
        }
        var added: [String] = []
        for (layer, name) in zip(layers, names) {
            added += LayerTree.tensorPaths(of: layer, prefix: "\(prefix)\(name)")
        }
        return (updated, TransformReport(pathMap: map, added: added))
    }

    /// The layer at `path` as a source of layers of its kind, with its parent sequence's path,
    /// its index there and its siblings (what depth-inserting transforms start from).
    /// - Throws: `TransformError` for an unknown path or a layer that cannot give layers of its
    ///   kind (`purpose` says what for).
    static func insertionSite(of path: String, in model: any Layer, purpose: String) throws
        -> (source: any IdentityInitializable, parent: String, index: Int, siblings: [any Layer])
    {
        let target = try LayerTree.layer(at: path, in: model)
        guard let source = target as? any IdentityInitializable else {
            throw TransformError.unsupported(path: path, layer: "\(type(of: target))", reason: "cannot give \(purpose)")
        }
        let (parent, index) = try LayerTree.position(of: path, in: model)
        let container = try LayerTree.container(at: parent, in: model) as? any LayerContainer
        return (source, parent, index, container?.children.map(\.layer) ?? [])
    }

    /// The note of every transform that inserts a BatchNorm set from data statistics.
    static let batchNormNote = "the new BatchNorm is the identity in inference mode only; in training mode it normalizes with batch statistics"

    /// A BatchNorm that is the identity, in inference mode, on the activations entering the
    /// layer at `index` of the container at `parent` for `probe`: running statistics = the
    /// probe's (biased) statistics, gamma = sqrt(var + eps), beta = mean. `path` names the layer
    /// producing those activations, for the error.
    /// - Throws: `TransformError.unsupported` when the activations are not `[batch, features]`.
    static func identityBatchNorm(
        before index: Int, in parent: String, of model: any Layer, probe: Tensor, factory: any TransformLayerFactory, path: String
    ) throws -> any Layer {
        var h = try activations(before: index, in: parent, of: model, probe: probe)
        guard h.rank >= 2 else {
            throw TransformError.unsupported(
                path: path, layer: "\(type(of: try LayerTree.layer(at: path, in: model)))",
                reason: "does not output [batch, features] or [batch, channels, ...], so a BatchNorm cannot follow it")
        }
        if h.rank > 2 {
            // Per-channel statistics over the batch and the spatial positions, as BatchNorm2d computes them.
            let (n, c) = (h.shape[0], h.shape[1])
            h = try h.reshaped(to: [n, c, h.count / (n * c)]).permuted([0, 2, 1]).reshaped(to: [h.count / c, c])
        }
        let mean = try h.mean(alongAxis: 0)
        let variance = try (h - mean).squared().mean(alongAxis: 0)
        return try factory.identityBatchNorm(mean: mean, variance: variance)
    }

    /// Where a layer inserted after the layer at `index` goes: after the activation that
    /// follows it (looking past per-feature layers that are not activations, such as BatchNorm
    /// and dropout), with that activation; or right after the layer when no activation follows.
    static func insertionPoint(after index: Int, in siblings: [any Layer]) -> (position: Int, activation: (any IdempotenceReporting)?) {
        var position = index + 1
        while position < siblings.count, siblings[position] is any FeatureMapping, !(siblings[position] is any IdempotenceReporting) {
            position += 1
        }
        if position < siblings.count, let activation = siblings[position] as? any IdempotenceReporting {
            return (position + 1, activation)
        }
        return (index + 1, nil)
    }

    /// `report` with max |f_new(probe) - f_old(probe)| (inference mode), when there is a probe.
    static func measured(_ report: TransformReport, old: any Layer, new: any Layer, probe: Tensor?) throws -> TransformReport {
        guard let probe else { return report }
        var result = report
        result.probeExamples = probe.shape.first
        let before = try GradientRecording.withoutRecording { try old(probe) }
        let after = try GradientRecording.withoutRecording { try new(probe) }
        guard before.shape == after.shape else {
            result.maxDeviation = .infinity
            return result
        }
        // NaN anywhere makes the deviation NaN (a plain `max()` skips NaN unless it comes first).
        var deviation = 0.0
        for (old, new) in zip(before.doubles, after.doubles) {
            let difference = Swift.abs(old - new)
            if difference.isNaN { deviation = .nan; break }
            deviation = Swift.max(deviation, difference)
        }
        result.maxDeviation = deviation
        return result
    }

    /// The activations entering the layer at `index` of the container at `parent` when the
    /// model reads `probe` (inference mode). A sequence feeds each child the previous child's
    /// output; any other container (a residual block) feeds each child its own input.
    static func activations(before index: Int, in parent: String, of model: any Layer, probe: Tensor) throws -> Tensor {
        let container = try LayerTree.container(at: parent, in: model)
        guard let node = container as? any LayerContainer else {
            throw TransformError.unknownLayer(path: parent, available: LayerTree.paths(in: model))
        }
        var x = probe
        if !parent.isEmpty {
            // The input of the container itself: what enters it in its own parent.
            var components = parent.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let name = components.removeLast()
            let grandparent = components.joined(separator: ".")
            let outer = try LayerTree.container(at: grandparent, in: model) as? any LayerContainer
            guard let position = outer?.children.firstIndex(where: { $0.name == name }) else {
                throw TransformError.unknownLayer(path: parent, available: LayerTree.paths(in: model))
            }
            x = try activations(before: position, in: grandparent, of: model, probe: probe)
        }
        guard node.isSequence else { return x }
        var context = ForwardContext(mode: .inference)
        for child in node.children.prefix(index) {
            x = try GradientRecording.withoutRecording { try child.layer(x, context: &context) }
        }
        return x
    }
}
