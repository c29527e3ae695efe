import CSaddlePluginABI
import SaddleCore
import SaddleLayers

// Net2Net growth through plugin layers, from what the plugin declared (saddle_plugin.h,
// "Growth"): which axis of each weight indexes the layer's output units or features, which
// indexes its input features, and how to write an identity.

/// Slices of `tensor` along `axis` picked by `indices` (repeats allowed).
private func gathering(_ tensor: Tensor, _ indices: [Int], alongAxis axis: Int) throws -> Tensor {
    guard axis != 0 else { return try tensor.gatheringRows(indices).detached }
    var order = Array(0..<tensor.rank)
    order.swapAt(0, axis)
    return try tensor.permuted(order).gatheringRows(indices).permuted(order).detached
}

/// `tensor` with its slices along `axis` following `mapping`, each divided by how often its
/// source is replicated (with `split` > 0, unequal zero-sum shares: `Replication.dividedColumns`).
private func dividing(
    _ tensor: Tensor, mapping: [Int], counts: [Int], split: Double, alongAxis axis: Int, using generator: inout RandomGenerator
) throws -> Tensor {
    var order = Array(0..<tensor.rank).filter { $0 != axis }
    order.append(axis)
    let moved = try tensor.permuted(order)
    let rows = moved.count / tensor.shape[axis]
    let matrix = try moved.reshaped(to: [rows, tensor.shape[axis]])
    let divided = try Replication.dividedColumns(matrix, mapping: mapping, counts: counts, split: split, using: &generator)
    let grownShape = order.map { $0 == axis ? mapping.count : tensor.shape[$0] }
    var inverse = [Int](repeating: 0, count: order.count)
    for (position, source) in order.enumerated() { inverse[source] = position }
    return try divided.reshaped(to: grownShape).permuted(inverse).detached
}

/// Slices `from..<shape[axis]` of `tensor` along `axis`.
private func tail(_ tensor: Tensor, from first: Int, alongAxis axis: Int) throws -> Tensor {
    try gathering(tensor, Array(first..<tensor.shape[axis]), alongAxis: axis)
}

extension PluginLayerState {
    private func refuse(_ reason: String) -> TensorError { .invalidArgument(op: name, reason: reason) }

    /// The axis of weight `k` (or buffer `k`) in `axes`, checked against its rank; nil for -1.
    private func axis(_ axes: [Int], _ k: Int, of tensor: Tensor) throws -> Int? {
        let axis = axes.indices.contains(k) ? axes[k] : -1
        guard axis >= 0 else { return nil }
        guard axis < tensor.rank else { throw refuse("declares axis \(axis) for a tensor of rank \(tensor.rank)") }
        return axis
    }

    /// The state the plugin's shape functions give for `arguments` and `input`, holding the
    /// given tensors, which must have exactly the shapes the plugin declares for them.
    func rebuilt(arguments: [(String, JSONValue)], input: [Int], weights: [Tensor], buffers: [Tensor]) throws -> PluginLayerState {
        let (hyper, strings) = descriptor.split(arguments)
        let shapes = try descriptor.shapes(hyper: hyper, strings: strings, input: input)
        for (k, (tensor, shape)) in zip(weights + buffers, shapes.weights + shapes.buffers).enumerated() where tensor.shape != shape {
            let what = k < weights.count ? "weight \(descriptor.weightNames[k])" : "buffer \(descriptor.bufferNames[k - weights.count])"
            throw refuse("grown \(what) has shape \(tensor.shape), but the plugin declares \(shape) for the grown layer")
        }
        return PluginLayerState(
            descriptor: descriptor, arguments: arguments, hyper: hyper, strings: strings, inputShape: input, outputShape: shapes.output,
            weights: weights, buffers: buffers)
    }

    /// The arguments with the units parameter set to `units`.
    func arguments(units: Int) throws -> [(String, JSONValue)] {
        guard let parameter = descriptor.unitsParameter, arguments.contains(where: { $0.0 == parameter }) else {
            throw refuse("declares no units_parameter among its hyperparameters, so its output units cannot change")
        }
        return arguments.map { $0.0 == parameter ? ($0.0, .number(Double(units))) : $0 }
    }

    /// A fresh state (weights drawn by the plugin's initializer) for other arguments and input.
    func fresh(arguments: [(String, JSONValue)], input: [Int], using generator: inout RandomGenerator) throws -> PluginLayerState {
        try descriptor.makeState(arguments: arguments, input: input, dtype: weights.first?.dtype ?? buffers.first?.dtype ?? .float64, generator: &generator)
    }

    /// Feature-wise: features replicated by `mapping` (new feature j copies old `mapping[j]`).
    func mappingFeatures(_ mapping: [Int]) throws -> PluginLayerState {
        _ = try Replication.counts(mapping, units: inputShape[0])
        let grown = [mapping.count] + inputShape.dropFirst()
        let weights = try self.weights.enumerated().map { k, w in
            try axis(descriptor.weightUnitAxes, k, of: w).map { try gathering(w, mapping, alongAxis: $0) } ?? w
        }
        let buffers = try self.buffers.enumerated().map { k, b in
            try axis(descriptor.bufferUnitAxes, k, of: b).map { try gathering(b, mapping, alongAxis: $0) } ?? b
        }
        return try rebuilt(arguments: arguments, input: grown, weights: weights, buffers: buffers)
    }

    /// Units: output units following `mapping`, with noise on the replicas' weights of rank 2 or more.
    func wideningOutputs(_ mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> PluginLayerState {
        let units = outputShape[0]
        _ = try Replication.counts(mapping, units: units)
        let weights = try self.weights.enumerated().map { k, w -> Tensor in
            guard let axis = try axis(descriptor.weightUnitAxes, k, of: w) else { return w }
            let grown = try gathering(w, mapping, alongAxis: axis)
            guard noise > 0, w.rank >= 2, mapping.count > units else { return grown }
            // Noise on the replicas (slices units...) only, scaled by the weight's deviation.
            let deviation = Replication.standardDeviation(w.doubles) * noise
            var order = Array(0..<w.rank)
            order.swapAt(0, axis)
            let front = try grown.permuted(order)
            let extra = Tensor.randomNormal(
                [mapping.count - units] + front.shape.dropFirst(), standardDeviation: deviation, dtype: w.dtype, using: &generator)
            let padded = try extra.padded(alongAxis: 0, before: units, after: 0)
            return try (front + padded).permuted(order).detached
        }
        let buffers = try self.buffers.enumerated().map { k, b in
            try axis(descriptor.bufferUnitAxes, k, of: b).map { try gathering(b, mapping, alongAxis: $0) } ?? b
        }
        return try rebuilt(arguments: try arguments(units: mapping.count), input: inputShape, weights: weights, buffers: buffers)
    }

    /// Units: `count` extra output units whose slices come from a fresh layer of the grown size.
    func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> PluginLayerState {
        let units = outputShape[0]
        let grownArguments = try arguments(units: units + count)
        let fresh = try self.fresh(arguments: grownArguments, input: inputShape, using: &generator)
        let weights = try zip(self.weights, fresh.weights).enumerated().map { k, pair -> Tensor in
            guard let axis = try axis(descriptor.weightUnitAxes, k, of: pair.0) else { return pair.0 }
            return try Tensor.concatenating([pair.0, try tail(pair.1, from: units, alongAxis: axis)], alongAxis: axis).detached
        }
        let buffers = try zip(self.buffers, fresh.buffers).enumerated().map { k, pair -> Tensor in
            guard let axis = try axis(descriptor.bufferUnitAxes, k, of: pair.0) else { return pair.0 }
            return try Tensor.concatenating([pair.0, try tail(pair.1, from: units, alongAxis: axis)], alongAxis: axis).detached
        }
        return try rebuilt(arguments: grownArguments, input: inputShape, weights: weights, buffers: buffers)
    }

    /// Units: input features (axis 0 of the input) following `mapping`, the slices along the
    /// declared input axes divided by their replication counts.
    func wideningInputs(_ mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> PluginLayerState {
        guard counts.count == inputShape[0] else { throw refuse("a mapping onto \(counts.count) inputs does not fit \(inputShape[0]) input features") }
        let weights = try self.weights.enumerated().map { k, w in
            try axis(descriptor.weightInputAxes, k, of: w).map {
                try dividing(w, mapping: mapping, counts: counts, split: split, alongAxis: $0, using: &generator)
            } ?? w
        }
        return try rebuilt(arguments: arguments, input: [mapping.count] + inputShape.dropFirst(), weights: weights, buffers: buffers)
    }

    /// Units: `count` extra input features whose slices come from a fresh layer of the grown size.
    func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> PluginLayerState {
        let grownInput = [inputShape[0] + count] + inputShape.dropFirst()
        let fresh = try self.fresh(arguments: arguments, input: grownInput, using: &generator)
        let weights = try zip(self.weights, fresh.weights).enumerated().map { k, pair -> Tensor in
            guard let axis = try axis(descriptor.weightInputAxes, k, of: pair.0) else { return pair.0 }
            return try Tensor.concatenating([pair.0, try tail(pair.1, from: inputShape[0], alongAxis: axis)], alongAxis: axis).detached
        }
        return try rebuilt(arguments: arguments, input: grownInput, weights: weights, buffers: buffers)
    }

    /// Units: a layer from this layer's output shape to itself, with weights from the plugin's
    /// `identity` function (`identity: true`) or all zero. Both need the plugin to declare
    /// `identity`: only then does it promise that zero weights give a zero output.
    func squareLayer(identity: Bool) throws -> PluginLayerState {
        guard descriptor.raw.identity != nil else { throw refuse("does not declare an identity initialization") }
        let shape = outputShape
        var unused = RandomGenerator(seed: 0)  // the drawn weights are replaced below
        var square = try fresh(arguments: try arguments(units: shape[0]), input: shape, using: &unused)
        guard square.outputShape == shape else { throw refuse("maps \(shape) to \(square.outputShape), not to itself, so it cannot be inserted as an identity") }
        if !identity {
            square.weights = square.weights.map { $0.zerosLike() }
            return square
        }
        guard let function = descriptor.raw.identity else { return square }
        square.weights = try square.weights.enumerated().map { index, w in
            var values = [Double](repeating: 0, count: w.count)
            try square.hyper.withUnsafeBufferPointer { h in
                try withShape(shape) { s in
                    try withShape(w.shape) { ws in
                        try descriptor.check("identity") { function(UInt32(index), h.baseAddress, square.strings.pointer, s, ws, &values, Int64(w.count), $0) }
                    }
                }
            }
            return try Tensor(shape: w.shape, scalars: values, dtype: w.dtype)
        }
        return square
    }
}

/// The widening and identity capabilities of the two unit layer types, from their state.
public protocol PluginUnitValue: PluginLayerValue {}

extension PluginUnitValue {
    /// The number of output units (axis 0 of the output per example).
    public var outputUnits: Int { state.outputShape[0] }

    /// A copy whose output units follow `mapping` (slices along the declared unit axes copied).
    public func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> Self {
        Self(state: try state.wideningOutputs(mapping, noise: noise, using: &generator))
    }

    /// A copy with `count` extra output units drawn by the plugin's initializer.
    public func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> Self {
        Self(state: try state.paddingOutputs(by: count, using: &generator))
    }

    /// A copy reading inputs replicated by `mapping` (slices along the declared input axes divided).
    public func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> Self {
        Self(state: try state.wideningInputs(mapping, counts: counts, split: split, using: &generator))
    }

    /// A copy reading `count` extra inputs with weights drawn by the plugin's initializer.
    public func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> Self {
        Self(state: try state.paddingInputs(by: count, using: &generator))
    }

    /// The plugin's identity layer on this layer's outputs.
    public func identityLayer() throws -> any Layer { try state.squareLayer(identity: true).layer }

    /// A layer of this kind on this layer's outputs with every weight zero.
    public func zeroLayer() throws -> any Layer { try state.squareLayer(identity: false).layer }

    /// A freshly initialized layer of this kind on this layer's outputs.
    public func randomLayer(using generator: inout RandomGenerator) throws -> any Layer {
        try state.fresh(arguments: try state.arguments(units: state.outputShape[0]), input: state.outputShape, using: &generator).layer
    }
}

extension PluginUnitLayer: PluginUnitValue {}
extension PluginChannelLayer: PluginUnitValue {}
