import SaddleCore

/// Net2Net on convolutions: output channels replicate like a dense layer's units, input
/// channels divide like its input features (each channel's kh x kw taps together), and an
/// identity convolution has a single centre tap. Grouped convolutions (groups > 1) are refused:
/// replicating a channel would have to grow every group alike.
extension Conv2D: ChannelOutputWidening, InputWidening, IdentityInitializable {
    /// The number of output channels.
    public var outputUnits: Int { outputChannels }
    /// The number of input channels.
    public var inputFeatures: Int { inputChannels }

    private func requireUngrouped(_ what: String) throws {
        guard groups == 1 else {
            throw ModelError.invalidConfiguration(
                layer: "conv2d", reason: "cannot \(what) a grouped convolution (groups \(groups)); only groups = 1 can be widened")
        }
    }

    /// A copy whose filters (and biases) are those of output channels `mapping`; filters beyond
    /// the original count get the noise.
    /// - Throws: `ModelError` for a grouped convolution; `TensorError` for a mapping entry out of range.
    public func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> Conv2D {
        try requireUngrouped("widen")
        _ = try Replication.counts(mapping, units: outputChannels)
        let grown = try Replication.addingNoise(weight.gatheringRows(mapping), toRowsFrom: outputChannels, scale: noise, using: &generator)
        return try rebuilt(weight: grown.detached, bias: try bias.map { try $0.gatheringRows(mapping).detached })
    }

    /// A copy with `count` extra output channels drawn as a fresh `Conv2D` draws them.
    /// - Throws: `ModelError` for a grouped convolution.
    public func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> Conv2D {
        try requireUngrouped("widen")
        let fresh = try Conv2D(
            inputChannels: inputChannels, outputChannels: count, kernel: kernel, useBias: bias != nil, initializer: initializer,
            dtype: weight.dtype, using: &generator)
        let grownBias = try bias.map { try Tensor.concatenating([$0, fresh.bias ?? $0], alongAxis: 0).detached }
        return try rebuilt(weight: Tensor.concatenating([weight, fresh.weight], alongAxis: 0).detached, bias: grownBias)
    }

    /// The weight as `[out kh kw, in]`: one column per input channel.
    private var channelColumns: Tensor {
        get throws {
            let (o, c, taps) = (outputChannels, inputChannels, kernel.height * kernel.width)
            return try weight.reshaped(to: [o, c, taps]).permuted([0, 2, 1]).reshaped(to: [o * taps, c])
        }
    }

    /// The inverse of `channelColumns` for `channels` input channels.
    private func filters(fromColumns columns: Tensor, channels: Int) throws -> Tensor {
        let (o, taps) = (outputChannels, kernel.height * kernel.width)
        return try columns.reshaped(to: [o, taps, channels]).permuted([0, 2, 1]).reshaped(to: [o, channels, kernel.height, kernel.width]).detached
    }

    /// A copy reading input channels replicated by `mapping`: each channel's taps are divided
    /// by its replication count (`Replication.dividedColumns`, unequal shares with `split`).
    /// - Throws: `ModelError` for a grouped convolution; `TensorError` when the mapping does not fit.
    public func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> Conv2D {
        try requireUngrouped("widen the inputs of")
        let columns = try Replication.dividedColumns(channelColumns, mapping: mapping, counts: counts, split: split, using: &generator)
        return try rebuilt(weight: filters(fromColumns: columns, channels: mapping.count), bias: bias)
    }

    /// A copy reading `count` extra input channels with freshly drawn taps.
    /// - Throws: `ModelError` for a grouped convolution.
    public func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> Conv2D {
        try requireUngrouped("widen the inputs of")
        let fresh = try Conv2D(
            inputChannels: inputChannels + count, outputChannels: outputChannels, kernel: kernel, useBias: false, initializer: initializer,
            dtype: weight.dtype, using: &generator)
        let added = try fresh.weight.narrowed(alongAxis: 1, range: inputChannels..<(inputChannels + count))
        return try rebuilt(weight: Tensor.concatenating([weight, added], alongAxis: 1).detached, bias: bias)
    }

    /// The same settings with other tensors.
    private func rebuilt(weight: Tensor, bias: Tensor?) throws -> Conv2D {
        try Conv2D(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups, initializer: initializer)
    }

    /// A convolution of this kernel size from the output channels to themselves that keeps the
    /// size: stride 1, padding dilation (k - 1) / 2, and `centre` x I at the centre tap.
    private func squareLayer(centre: Double) throws -> Conv2D {
        guard kernel.height % 2 == 1, kernel.width % 2 == 1 else {
            throw ModelError.invalidConfiguration(
                layer: "conv2d", reason: "an identity convolution needs an odd kernel (a centre tap), this layer's is \(kernel)")
        }
        let c = outputChannels
        let taps = kernel.height * kernel.width
        let centreTap = (kernel.height / 2) * kernel.width + kernel.width / 2
        var values = [Double](repeating: 0, count: c * c * taps)
        if centre != 0 { for j in 0..<c { values[(j * c + j) * taps + centreTap] = centre } }
        let weight = try Tensor(shape: [c, c, kernel.height, kernel.width], scalars: values, dtype: self.weight.dtype)
        let padding = Size2D(dilation.height * (kernel.height / 2), dilation.width * (kernel.width / 2))
        return try Conv2D(
            weight: weight, bias: .zeros([c], dtype: weight.dtype), padding: .explicit(padding), dilation: dilation, initializer: initializer)
    }

    /// A size-keeping convolution (this kernel, stride 1) whose centre tap is the identity.
    /// - Throws: `ModelError` for an even kernel, which has no centre tap.
    public func identityLayer() throws -> any Layer { try squareLayer(centre: 1) }

    /// A size-keeping convolution (this kernel, stride 1) with zero weights and bias.
    /// - Throws: `ModelError` for an even kernel.
    public func zeroLayer() throws -> any Layer { try squareLayer(centre: 0) }

    /// A freshly initialized size-keeping convolution (this kernel, stride 1) on the output channels.
    /// - Throws: `ModelError` for an even kernel.
    public func randomLayer(using generator: inout RandomGenerator) throws -> any Layer {
        let shape = try squareLayer(centre: 0)
        return try Conv2D(
            inputChannels: outputChannels, outputChannels: outputChannels, kernel: kernel, padding: shape.padding, dilation: dilation,
            initializer: initializer, dtype: weight.dtype, using: &generator)
    }
}

extension MaxPool2D: FeatureMapping {
    /// The layer itself: pooling acts on each channel alone.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> MaxPool2D { self }
}

extension AvgPool2D: FeatureMapping {
    /// The layer itself: pooling acts on each channel alone.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> AvgPool2D { self }
}

extension GlobalAveragePool: FeatureMapping {
    /// The layer itself: each channel becomes one feature, in order.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> GlobalAveragePool { self }
}

extension Flatten: ChannelBlockFlattening {
    /// The layer itself: channel j becomes the block of features j h w ..< (j + 1) h w.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) -> Flatten { self }
}

extension ChannelMaxout: FeatureGrouping {
    /// Input channels per output channel: `pieces`.
    public var groupSize: Int { pieces }
    /// The layer itself: whole groups of channels replicate, and it has no per-group state.
    public func mappingGroups(_ mapping: [Int], using generator: inout RandomGenerator) -> ChannelMaxout { self }
}
