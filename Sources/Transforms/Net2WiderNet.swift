import Foundation
import SaddleCore

/// Net2WiderNet (Chen, Goodfellow and Shlens 2016): widens the layer at `layer` to `units`
/// output units without changing the function.
///
/// New unit j replicates unit g(j) (g(j) = j for the original units, uniform over them for the
/// new ones): its incoming weights and bias are copied, never divided. Per-feature layers in
/// between (BatchNorm: gamma, beta and both running statistics; activations; dropout) follow
/// g, and the next layer that reads the units divides its incoming weights by the replication
/// counts. Maxout replicates whole units, LSTM all four gate blocks and its recurrent weights.
///
/// Without help, replicas stay identical through training (they receive identical gradients),
/// so the wider model behaves like the narrow one. Two opt-in ways break the symmetry, each a
/// scale relative to the weights' standard deviation:
/// - `noise` perturbs the replicas' incoming weights, as the paper does; the function changes
///   slightly.
/// - `split` shares each outgoing weight unequally among the replicas (zero-sum offsets); the
///   function is unchanged, yet the replicas receive different gradients and separate.
public struct Net2WiderNet: ModelTransform {
    /// The registry name.
    public let name = "net2wider"
    /// The path of the layer to grow after or widen ("0", "3.branch.1").
    public var layer: String
    /// The width after the transform; larger than the current one.
    public var units: Int
    /// Noise on the replicas' incoming weights, relative to the weights' standard deviation.
    public var noise: Double
    /// Spread of the replicas' unequal (zero-sum) shares of outgoing weights, relative to their standard deviation.
    public var split: Double

    /// A widening of the layer at `layer` to `units`; `noise` and `split` default to 0 (no symmetry breaking).
    public init(layer: String, units: Int, noise: Double = 0, split: Double = 0) {
        self.layer = layer
        self.units = units
        self.noise = noise
        self.split = split
    }

    /// Widens by replication (with `noise`), maps the per-feature layers after it, and divides the next
    /// reader's incoming weights among the replicas (shared unequally by `split`).
    /// - Throws: `TransformError` when the layer cannot widen, `units` is not larger, or no successor can
    ///   widen its inputs.
    public func apply(to model: any Layer, context: inout TransformContext) throws -> (model: any Layer, report: TransformReport) {
        try Widening.apply(layer: layer, units: units, split: split, to: model, context: &context) { target, current, group, generator in
            let mapping = Widening.randomMapping(from: current, to: units, groupSize: group, using: &generator)
            return try .replicate(mapping, target.wideningOutputs(to: mapping, noise: noise, using: &generator))
        }
    }
}

/// The "random pad" baseline Net2WiderNet is compared against: the same widening with the new
/// units' incoming and outgoing weights drawn afresh (the function changes).
public struct RandomPadWidening: ModelTransform {
    /// The registry name.
    public let name = "random_pad"
    /// The path of the layer to grow after or widen ("0", "3.branch.1").
    public var layer: String
    /// The width after the transform; larger than the current one.
    public var units: Int

    /// A random-pad widening of the layer at `layer` to `units`.
    public init(layer: String, units: Int) {
        self.layer = layer
        self.units = units
    }

    /// Widens with fresh random units and gives the next reader freshly drawn weights for them.
    /// - Throws: `TransformError` when the layer cannot widen, `units` is not larger, or no successor can
    ///   widen its inputs.
    public func apply(to model: any Layer, context: inout TransformContext) throws -> (model: any Layer, report: TransformReport) {
        try Widening.apply(layer: layer, units: units, split: 0, to: model, context: &context) { target, current, _, generator in
            .pad(units - current, try target.paddingOutputs(by: units - current, using: &generator))
        }
    }
}

/// The walk both widenings share: widen the layer, carry the change through per-feature layers,
/// adapt the next reader's inputs.
enum Widening {
    enum Plan {
        /// Replicas following a mapping, and the widened layer.
        case replicate([Int], any Layer)
        /// Fresh units appended, and the widened layer.
        case pad(Int, any Layer)

        var isReplication: Bool {
            if case .replicate = self { return true }
            return false
        }
    }

    /// g for `units` units over `current` ones: g(j) = j for the originals, uniform over them
    /// for the new ones.
    static func randomMapping(from current: Int, to units: Int, using generator: inout RandomGenerator) -> [Int] {
        Array(0..<current) + (current..<Swift.max(units, current)).map { _ in Int(generator.next() % UInt64(current)) }
    }

    /// g over units in whole groups of `groupSize`: new group j copies group g(j), unit by unit.
    static func randomMapping(from current: Int, to units: Int, groupSize: Int, using generator: inout RandomGenerator) -> [Int] {
        guard groupSize > 1 else { return randomMapping(from: current, to: units, using: &generator) }
        let groups = randomMapping(from: current / groupSize, to: units / groupSize, using: &generator)
        return groups.flatMap { g in (0..<groupSize).map { g * groupSize + $0 } }
    }

    /// The first grouping layer (a channel maxout) among the per-feature layers after `index`.
    static func grouping(after index: Int, in siblings: [any Layer]) -> (any FeatureGrouping)? {
        var position = index + 1
        while position < siblings.count {
            if let grouping = siblings[position] as? any FeatureGrouping { return grouping }
            guard siblings[position] is any FeatureMapping else { return nil }
            position += 1
        }
        return nil
    }

    static func apply(
        layer path: String, units: Int, split: Double, to model: any Layer, context: inout TransformContext,
        plan: (any OutputWidening, Int, Int, inout RandomGenerator) throws -> Plan
    ) throws -> (model: any Layer, report: TransformReport) {
        let target = try LayerTree.layer(at: path, in: model)
        guard let widenable = target as? any OutputWidening else {
            throw TransformError.unsupported(path: path, layer: "\(type(of: target))", reason: "cannot widen its outputs")
        }
        let current = widenable.outputUnits
        guard units > current else { throw TransformError.notWider(path: path, current: current, requested: units) }
        // A tensor grows at most with the square of the width ratio (an LSTM's recurrent
        // weights); refuse before allocating what cannot fit.
        let ratio = Double(units) / Double(current)
        let largest = Double(widenable.tensors.tensors.map(\.count).max() ?? 0) * ratio * ratio
        guard largest <= Double(Tensor.maximumConfiguredElements) else {
            throw TransformError.unsupported(
                path: path, layer: "\(type(of: target))",
                reason: "would need a tensor of about \(String(format: "%.3g", largest)) elements at \(units) units, more than the limit of \(Tensor.maximumConfiguredElements)")
        }
        let (parent, index) = try LayerTree.position(of: path, in: model)
        let container = try LayerTree.container(at: parent, in: model) as? any LayerContainer
        guard let siblings = container?.children.map(\.layer) else {
            throw TransformError.unknownLayer(path: path, available: LayerTree.paths(in: model))
        }
        var replaced = siblings
        // A channel maxout downstream takes the maximum over groups of k channels: whole
        // groups replicate, and after it the features are the groups.
        let groupSize = grouping(after: index, in: siblings)?.groupSize ?? 1
        guard current % groupSize == 0, units % groupSize == 0 else {
            throw TransformError.successor(
                path: path,
                reason: "a maxout over groups of \(groupSize) channels follows, so the \(current) outputs widen in whole groups: \(units) is not a multiple of \(groupSize)")
        }
        let decision = try plan(widenable, current, groupSize, &context.generator)
        var mapping: [Int]
        switch decision {
        case let .replicate(g, widened):
            mapping = g
            replaced[index] = widened
        case let .pad(extra, widened):
            // Per-feature layers give the new features copies of existing features' state.
            mapping = randomMapping(from: current, to: current + extra, groupSize: groupSize, using: &context.generator)
            replaced[index] = widened
        }
        let unitMapping = mapping
        var features = current
        var extraFeatures = units - current
        var reader = index + 1
        var flattened = false
        while reader < siblings.count {
            if let grouping = siblings[reader] as? any FeatureGrouping {
                let k = grouping.groupSize
                let groups = stride(from: 0, to: mapping.count, by: k).map { mapping[$0] / k }
                replaced[reader] = try grouping.mappingGroups(groups, using: &context.generator)
                (mapping, features, extraFeatures) = (groups, features / k, extraFeatures / k)
                reader += 1
                continue
            }
            guard let passing = siblings[reader] as? any FeatureMapping else { break }
            replaced[reader] = try passing.mappingFeatures(mapping, using: &context.generator)
            if passing is any ChannelBlockFlattening {
                guard widenable is any ChannelOutputWidening else {
                    throw TransformError.successor(
                        path: path, reason: "its outputs are not channels, so a widening cannot pass through the flatten at \(parent.isEmpty ? "" : parent + ".")\(reader)")
                }
                flattened = true
            }
            reader += 1
        }
        let counts = try Replication.counts(mapping, units: features)
        let prefix = parent.isEmpty ? "" : parent + "."
        guard reader < siblings.count else {
            throw TransformError.successor(path: path, reason: "no later layer in its sequence reads its \(features) outputs")
        }
        guard let next = siblings[reader] as? any InputWidening else {
            throw TransformError.successor(
                path: path, reason: "its successor \(prefix)\(reader) (\(type(of: siblings[reader]))) cannot widen its inputs")
        }
        let readerLargest = Double(next.tensors.tensors.map(\.count).max() ?? 0) * ratio
        guard readerLargest <= Double(Tensor.maximumConfiguredElements) else {
            throw TransformError.successor(
                path: path, reason: "its successor \(prefix)\(reader) would need a tensor of about \(String(format: "%.3g", readerLargest)) elements, more than the limit of \(Tensor.maximumConfiguredElements)")
        }
        // Through a flatten, channel j is the block of features j b ..< (j + 1) b (b = h x w,
        // read from the reader's width): whole blocks replicate.
        let block = flattened && features > 0 && next.inputFeatures % features == 0 ? next.inputFeatures / features : 1
        guard next.inputFeatures == features * block else {
            throw TransformError.successor(
                path: path, reason: "its successor \(prefix)\(reader) reads \(next.inputFeatures) features, not the layer's \(features) outputs\(flattened ? " (or a whole number of flattened positions per output)" : "")")
        }
        let expanded = block == 1 ? mapping : mapping.flatMap { source in (0..<block).map { source * block + $0 } }
        let expandedCounts = block == 1 ? counts : counts.flatMap { Array(repeating: $0, count: block) }
        switch decision {
        case .replicate: replaced[reader] = try next.wideningInputs(to: expanded, counts: expandedCounts, split: split, using: &context.generator)
        case .pad: replaced[reader] = try next.paddingInputs(by: extraFeatures * block, using: &context.generator)
        }
        let updated = try LayerTree.editing(parent, in: model) { try $0.replacingChildren(replaced) }
        let before = model.tensors
        let after = updated.tensors
        let resized = after.paths.filter { before[$0]?.shape != after[$0]?.shape }
        let report = TransformReport(
            pathMap: before.paths.map { ($0, $0) }, resized: resized,
            notes: ["\(path) widened from \(widenable.outputUnits) to \(units) units"], unitMappings: decision.isReplication ? [(path, unitMapping)] : [])
        return (updated, try TransformSupport.measured(report, old: model, new: updated, probe: context.probe))
    }
}
