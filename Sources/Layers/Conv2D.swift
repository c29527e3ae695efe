import SaddleCore

/// A 2-D convolution over images (PyTorch's `nn.Conv2d`): y = conv(x, W) + b.
///
/// Shapes: input `[batch, in, height, width]` (NCHW), `weight` `[out, in / groups, kh, kw]`
/// (PyTorch's layout, so state dicts load unchanged), `bias` `[out]`, output
/// `[batch, out, oh, ow]` with oh = (height + padding - dilation (kh - 1) - 1) / stride + 1.
/// Initialization is PyTorch's default: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
/// fan_in = in / groups x kh x kw.
public struct Conv2D: Layer {
    /// How the input is padded.
    public enum Padding: Sendable, Hashable, CustomStringConvertible {
        /// The same zero padding above and below (height) and on both sides (width).
        case explicit(Size2D)
        /// The padding that keeps the size (stride 1 only): dilation x (k - 1) in total per
        /// axis, the odd extra row or column below or on the right, as PyTorch's `"same"`.
        case same

        /// The padding on each side for a kernel `kernel` with taps `dilation` apart.
        public func resolved(kernel: Size2D, dilation: Size2D) -> Padding2D {
            switch self {
            case .explicit(let size): Padding2D(size)
            case .same: .same(kernel: kernel, dilation: dilation)
            }
        }

        /// `same`, or the padding pair.
        public var description: String {
            switch self {
            case .explicit(let size): size.description
            case .same: "same"
            }
        }
    }

    /// The kernels, `[out, in / groups, kh, kw]`.
    public private(set) var weight: Tensor
    /// The bias, `[out]`, or nil.
    public private(set) var bias: Tensor?
    /// The step between output positions.
    public let stride: Size2D
    /// The padding rule.
    public let padding: Padding
    /// The spacing of the kernel's taps.
    public let dilation: Size2D
    /// Channel groups (1: every output channel sees every input channel).
    public let groups: Int
    /// How the weight was initialized (kept so the configuration can be written back).
    public let initializer: WeightInitializer

    /// Output channels (read from the weight).
    public var outputChannels: Int { weight.shape[0] }
    /// Input channels (the weight's second extent times `groups`).
    public var inputChannels: Int { weight.shape[1] * groups }
    /// The kernel size (read from the weight).
    public var kernel: Size2D { Size2D(weight.shape[2], weight.shape[3]) }

    /// The resolved options handed to `conv2d`.
    public var options: Convolution2DOptions {
        Convolution2DOptions(stride: stride, padding: padding.resolved(kernel: kernel, dilation: dilation), dilation: dilation, groups: groups)
    }

    /// A layer with freshly initialized weights (PyTorch's default initialization unless
    /// `initializer` says otherwise).
    /// - Throws: `ModelError.invalidConfiguration` for sizes below 1, groups that do not divide
    ///   both channel counts, or `"same"` padding with a stride other than 1.
    public init(
        inputChannels: Int, outputChannels: Int, kernel: Size2D, stride: Size2D = 1, padding: Padding = .explicit(0),
        dilation: Size2D = 1, groups: Int = 1, useBias: Bool = true, initializer: WeightInitializer = .fanInUniform,
        dtype: DType = .float32, using generator: inout RandomGenerator
    ) throws {
        guard inputChannels >= 1, outputChannels >= 1, groups >= 1, inputChannels % groups == 0, outputChannels % groups == 0 else {
            throw ModelError.invalidConfiguration(
                layer: "conv2d",
                reason: "channels \(inputChannels) -> \(outputChannels) must be at least 1 and divisible by groups \(groups)")
        }
        let shape = [outputChannels, inputChannels / groups, kernel.height, kernel.width]
        let weight = try initializer.make(shape, dtype: dtype, using: &generator)
        var bias: Tensor?
        if useBias {
            let bound = 1 / Double(inputChannels / groups * kernel.height * kernel.width).squareRoot()
            bias = .randomUniform([outputChannels], in: -bound...bound, dtype: dtype, using: &generator)
        }
        try self.init(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups, initializer: initializer)
    }

    /// A layer from explicit tensors (a PyTorch `Conv2d`'s `weight` and `bias`).
    /// - Throws: `ModelError` when the weight is not 4-D, the bias does not match it, or the
    ///   settings are invalid.
    public init(
        weight: Tensor, bias: Tensor?, stride: Size2D = 1, padding: Padding = .explicit(0), dilation: Size2D = 1,
        groups: Int = 1, initializer: WeightInitializer = .fanInUniform
    ) throws {
        guard weight.rank == 4, weight.shape.allSatisfy({ $0 >= 1 }) else {
            throw ModelError.shapeMismatch(path: "weight", expected: [-1, -1, -1, -1], actual: weight.shape)
        }
        guard groups >= 1, weight.shape[0] % groups == 0 else {
            throw ModelError.invalidConfiguration(layer: "conv2d", reason: "groups \(groups) must divide the \(weight.shape[0]) output channels")
        }
        if let bias {
            guard bias.shape == [weight.shape[0]] else { throw ModelError.shapeMismatch(path: "bias", expected: [weight.shape[0]], actual: bias.shape) }
            guard bias.dtype == weight.dtype else { throw ModelError.dtypeMismatch(path: "bias", expected: weight.dtype, actual: bias.dtype) }
        }
        if padding == .same, stride != 1 {
            throw ModelError.invalidConfiguration(layer: "conv2d", reason: "\"same\" padding needs stride 1, got stride \(stride) (as in PyTorch)")
        }
        if case .explicit(let size) = padding, size.height < 0 || size.width < 0 {
            throw ModelError.invalidConfiguration(layer: "conv2d", reason: "padding \(size) must not be negative")
        }
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.initializer = initializer
        // Checks stride, dilation and padding ranges once, here.
        _ = try options.window(kernel: kernel)
    }

    /// The output shape `[out, oh, ow]` for one example of shape `[in, height, width]`.
    /// - Throws: `TensorError` when the input has the wrong channels or is smaller than the kernel.
    public func outputShape(forExample shape: [Int]) throws -> [Int] {
        guard shape.count == 3, shape[0] == inputChannels else {
            throw TensorError.shapeMismatch(op: "conv2d", shapes: [shape, weight.shape], reason: "input must be [\(inputChannels), height, width]")
        }
        return try Conv2D.outputShape(
            forExample: shape, filters: outputChannels, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    }

    /// The output shape `[filters, oh, ow]` of a convolution with these settings for one example
    /// `[channels, height, width]`, before any weight exists (shape inference).
    /// - Throws: `TensorError` for an extent out of range or an input smaller than the kernel.
    public static func outputShape(
        forExample shape: [Int], filters: Int, kernel: Size2D, stride: Size2D, padding: Padding, dilation: Size2D
    ) throws -> [Int] {
        let window = try Window2D(kernel: kernel, stride: stride, padding: padding.resolved(kernel: kernel, dilation: dilation), dilation: dilation)
        let size = try window.outputSize(height: shape[1], width: shape[2], op: "conv2d")
        return [filters, size.height, size.width]
    }

    /// Applies the convolution to `[batch, in, height, width]`, with the context's scratch memory.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try conv2d(input, weight: weight, bias: bias, options: options, workspace: context.workspace)
    }

    /// Trainable tensors: `weight` and, when present, `bias`.
    public var parameters: NamedTensors {
        var result: NamedTensors = ["weight": weight]
        if let bias { result["bias"] = bias }
        return result
    }

    /// A copy with `weight` and `bias` replaced where given.
    public func replacing(_ tensors: NamedTensors) throws -> Conv2D {
        var copy = self
        copy.weight = try replacement(for: weight, at: "weight", in: tensors)
        if let bias { copy.bias = try replacement(for: bias, at: "bias", in: tensors) }
        return copy
    }
}
