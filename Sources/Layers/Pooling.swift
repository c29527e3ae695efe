import SaddleCore

/// Max pooling over images (PyTorch's `nn.MaxPool2d`, floor mode): `[batch, channels, h, w]` to
/// `[batch, channels, oh, ow]`, each output the largest input of its window. Ties go to the
/// first position in row-major order, in the gradient and forward-mode tangent as in the value.
public struct MaxPool2D: Layer {
    /// The window: kernel, stride (the kernel by default), padding and dilation.
    public let window: Window2D

    /// A pooling layer; `stride` defaults to the kernel, as in PyTorch.
    /// - Throws: `ModelError.invalidConfiguration` for extents out of range or padding above
    ///   half the kernel.
    public init(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0, dilation: Size2D = 1) throws {
        window = try poolingWindow("max_pool2d", kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    }

    /// Applies the pooling.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try maxPool2d(input, window: window)
    }
}

/// Average pooling over images (PyTorch's `nn.AvgPool2d`, floor mode, padding counted as zeros).
public struct AvgPool2D: Layer {
    /// The window: kernel, stride (the kernel by default) and padding.
    public let window: Window2D

    /// A pooling layer; `stride` defaults to the kernel, as in PyTorch.
    /// - Throws: `ModelError.invalidConfiguration` for extents out of range or padding above
    ///   half the kernel.
    public init(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0) throws {
        window = try poolingWindow("avg_pool2d", kernel: kernel, stride: stride, padding: padding, dilation: 1)
    }

    /// Applies the pooling.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try avgPool2d(input, window: window)
    }
}

/// The checked window of a pooling layer.
private func poolingWindow(_ layer: String, kernel: Size2D, stride: Size2D?, padding: Size2D, dilation: Size2D) throws -> Window2D {
    guard padding.height <= kernel.height / 2, padding.width <= kernel.width / 2 else {
        throw ModelError.invalidConfiguration(layer: layer, reason: "padding \(padding) must be at most half the kernel \(kernel)")
    }
    do {
        return try Window2D(kernel: kernel, stride: stride ?? kernel, padding: Padding2D(padding), dilation: dilation)
    } catch let error as TensorError {
        throw ModelError.invalidConfiguration(layer: layer, reason: error.description)
    }
}

extension Window2D {
    /// The output shape `[channels, oh, ow]` of a pooling for one example `[channels, h, w]`.
    /// - Throws: `TensorError` for an example that is not `[channels, h, w]` or is smaller than the window.
    public func pooledShape(forExample shape: [Int], op: String) throws -> [Int] {
        guard shape.count == 3 else {
            throw TensorError.shapeMismatch(op: op, shapes: [shape], reason: "input must be images [channels, height, width]")
        }
        let size = try outputSize(height: shape[1], width: shape[2], op: op)
        return [shape[0], size.height, size.width]
    }
}

/// The mean of each channel over its spatial positions: `[batch, channels, ...]` to
/// `[batch, channels]` (PyTorch's `AdaptiveAvgPool2d(1)` then `Flatten`).
public struct GlobalAveragePool: Layer {
    /// A global average pooling layer (no parameters).
    public init() {}
    /// Averages each channel over its spatial positions.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try globalAveragePooled(input)
    }
}

/// Maxout over channels (Goodfellow et al. 2013, convolutional form): output channel j is the
/// element-wise maximum of input channels j k ..< (j + 1) k, so `[batch, channels k, ...]` becomes
/// `[batch, channels, ...]`. Ties go to the first piece.
public struct ChannelMaxout: Layer {
    /// Input channels per output channel.
    public let pieces: Int

    /// A channel maxout of `pieces` pieces.
    /// - Throws: `ModelError.invalidConfiguration` for pieces below 1.
    public init(pieces: Int) throws {
        guard pieces >= 1 else { throw ModelError.invalidConfiguration(layer: "channel_maxout", reason: "pieces \(pieces) must be at least 1") }
        self.pieces = pieces
    }

    /// Takes the maximum over each group of `pieces` consecutive channels.
    /// - Throws: `TensorError` when the input has no channel axis or its channels are not a multiple of `pieces`.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard input.rank >= 2, input.shape[1] % pieces == 0 else {
            throw TensorError.shapeMismatch(
                op: "channel_maxout", shapes: [input.shape], reason: "the \(input.rank >= 2 ? input.shape[1] : 0) channels must be a multiple of pieces \(pieces)")
        }
        let (n, c) = (input.shape[0], input.shape[1] / pieces)
        let spatial = Array(input.shape.dropFirst(2))
        let grouped = try input.reshaped(to: [n, c, pieces, spatial.reduce(1, *)])
        return try grouped.max(alongAxis: 2).reshaped(to: [n, c] + spatial)
    }
}
