import SaddleCore
import SaddleLayers

/// One layer of a model description, written in Swift the way it is written in JSON:
/// `dense(units: 256)` is `{"layer": "dense", "units": 256}`.
public struct LayerSpec: Sendable {
    /// The layer's configuration object.
    public let configuration: JSONValue

    /// Any registered layer by name (plugin layers included), with its JSON arguments.
    public init(_ name: String, _ arguments: [(String, JSONValue)] = []) {
        configuration = .object([("layer", .string(name))] + arguments)
    }
}

// Layer descriptions as functions named like their registry entries, so that a model in Swift
// reads like its JSON (`dense(units: 256)` is `{"layer": "dense", "units": 256}`). They are
// functions rather than static members because statements starting with a dot would chain
// onto the previous line inside a builder.

/// A `dense` layer of `units` outputs, with a bias unless `useBias` is false.
public func dense(units: Int, useBias: Bool = true, initializer: WeightInitializer = .fanInUniform) -> LayerSpec {
    LayerSpec("dense", [("units", .number(Double(units))), ("use_bias", .bool(useBias)), ("initializer", initializer.json)])
}

/// A `factored_linear` layer: `units` outputs through `depth` factors of inner width `rank`, without a bias by default.
public func factoredLinear(units: Int, rank: Int, depth: Int = 2, useBias: Bool = false, initializer: WeightInitializer = .fanInUniform) -> LayerSpec {
    LayerSpec("factored_linear", [
        ("units", .number(Double(units))), ("rank", .number(Double(rank))), ("depth", .number(Double(depth))),
        ("use_bias", .bool(useBias)), ("initializer", initializer.json),
    ])
}

/// A `maxout` layer: `units` outputs, each the maximum of `pieces` affine functions.
public func maxout(units: Int, pieces: Int, initializer: WeightInitializer = .fanInUniform) -> LayerSpec {
    LayerSpec("maxout", [("units", .number(Double(units))), ("pieces", .number(Double(pieces))), ("initializer", initializer.json)])
}

/// An `lstm` layer of `hiddenSize` units, giving the last hidden state or, with `returnsSequence`, every one.
public func lstm(hiddenSize: Int, returnsSequence: Bool = false) -> LayerSpec {
    LayerSpec("lstm", [("hidden_size", .number(Double(hiddenSize))), ("returns_sequence", .bool(returnsSequence))])
}

/// A `batchnorm` layer, by default with the momentum and epsilon of PyTorch's BatchNorm1d.
public func batchnorm(momentum: Double = 0.1, epsilon: Double = 1e-5) -> LayerSpec {
    LayerSpec("batchnorm", [("momentum", .number(momentum)), ("epsilon", .number(epsilon))])
}

/// A `dropout` layer zeroing each element with probability `rate` in training mode.
public func dropout(rate: Double) -> LayerSpec { LayerSpec("dropout", [("rate", .number(rate))]) }
/// A `leaky_relu` activation with `slope` for negative inputs.
public func leakyRelu(slope: Double = 0.01) -> LayerSpec { LayerSpec("leaky_relu", [("slope", .number(slope))]) }
/// A `relu` activation, max(x, 0).
public func relu() -> LayerSpec { LayerSpec("relu") }
/// A `sigmoid` activation.
public func sigmoid() -> LayerSpec { LayerSpec("sigmoid") }
/// A `tanh` activation.
public func tanh() -> LayerSpec { LayerSpec("tanh") }
/// A `softmax` activation over the last axis.
public func softmax() -> LayerSpec { LayerSpec("softmax") }
/// A `flatten` layer: each example becomes a vector.
public func flatten() -> LayerSpec { LayerSpec("flatten") }
/// An `identity` layer, passing its input through.
public func identity() -> LayerSpec { LayerSpec("identity") }

/// x + f(x) with f the listed layers.
public func residual(@ModelBuilder _ branch: () -> [LayerSpec]) -> LayerSpec {
    LayerSpec("residual", [("layers", .array(branch().map(\.configuration)))])
}

/// activation(shortcut(x) + f(x)): f the `branch` layers, the shortcut the `shortcut` layers
/// (the identity when empty), the activation after the sum when given (`relu()` in a ResNet).
public func residual(
    activation: LayerSpec? = nil, @ModelBuilder shortcut: () -> [LayerSpec], @ModelBuilder branch: () -> [LayerSpec]
) -> LayerSpec {
    let path = shortcut()
    var arguments: [(String, JSONValue)] = [("layers", .array(branch().map(\.configuration)))]
    if !path.isEmpty { arguments.append(("shortcut", .array(path.map(\.configuration)))) }
    if let activation { arguments.append(("activation", activation.configuration)) }
    return LayerSpec("residual", arguments)
}

/// A `conv2d` layer of `filters` output channels (PyTorch's `Conv2d`); `padding` nil means `"same"`.
public func conv2d(
    filters: Int, kernel: Size2D, stride: Size2D = 1, padding: Size2D? = 0, dilation: Size2D = 1, groups: Int = 1,
    useBias: Bool = true, initializer: WeightInitializer = .fanInUniform
) -> LayerSpec {
    LayerSpec("conv2d", [
        ("filters", .number(Double(filters))), ("kernel", kernel.json), ("stride", stride.json),
        ("padding", padding?.json ?? .string("same")), ("dilation", dilation.json), ("groups", .number(Double(groups))),
        ("use_bias", .bool(useBias)), ("initializer", initializer.json),
    ])
}

/// A `max_pool2d` layer; `stride` defaults to the kernel.
public func maxPool2d(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0) -> LayerSpec {
    pooling("max_pool2d", kernel: kernel, stride: stride, padding: padding)
}

/// An `avg_pool2d` layer; `stride` defaults to the kernel.
public func avgPool2d(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0) -> LayerSpec {
    pooling("avg_pool2d", kernel: kernel, stride: stride, padding: padding)
}

/// A pooling layer `name` with its kernel, stride (the kernel when nil) and padding.
private func pooling(_ name: String, kernel: Size2D, stride: Size2D?, padding: Size2D) -> LayerSpec {
    LayerSpec(name, [("kernel", kernel.json), ("stride", (stride ?? kernel).json), ("padding", padding.json)])
}

/// A `global_avg_pool` layer: the mean of each channel.
public func globalAvgPool() -> LayerSpec { LayerSpec("global_avg_pool") }

/// A `channel_maxout` layer: the maximum of each group of `pieces` channels.
public func channelMaxout(pieces: Int) -> LayerSpec { LayerSpec("channel_maxout", [("pieces", .number(Double(pieces)))]) }

/// The listed layers as one block.
public func sequential(@ModelBuilder _ body: () -> [LayerSpec]) -> LayerSpec {
    LayerSpec("sequential", [("layers", .array(body().map(\.configuration)))])
}

/// Collects `LayerSpec` statements.
@resultBuilder
public enum ModelBuilder {
    /// One layer statement, as a list of one.
    public static func buildExpression(_ layer: LayerSpec) -> [LayerSpec] { [layer] }
    /// The statements of a block, in order.
    public static func buildBlock(_ parts: [LayerSpec]...) -> [LayerSpec] { parts.flatMap { $0 } }
    /// An `if` without `else`: its layers, or none.
    public static func buildOptional(_ part: [LayerSpec]?) -> [LayerSpec] { part ?? [] }
    /// The first branch of an `if`/`else`.
    public static func buildEither(first: [LayerSpec]) -> [LayerSpec] { first }
    /// The second branch of an `if`/`else`.
    public static func buildEither(second: [LayerSpec]) -> [LayerSpec] { second }
    /// A `for` loop: the layers of every iteration, in order.
    public static func buildArray(_ parts: [[LayerSpec]]) -> [LayerSpec] { parts.flatMap { $0 } }
}

/// A model description in Swift that reads like the JSON `model` list; it builds through the
/// registry, so a Swift description and its JSON reach the same model.
///
/// ```swift
/// let spec = ModelSpec {
///     dense(units: 256)
///     batchnorm()
///     relu()
///     maxout(units: 128, pieces: 4)
///     dense(units: 10)
/// }
/// let model = try spec.build(inputShape: [64], seed: 7)
/// ```
public struct ModelSpec: Sendable {
    /// The layers, in order.
    public var layers: [LayerSpec]

    /// A model description from a block of layer statements.
    public init(@ModelBuilder _ body: () -> [LayerSpec]) {
        layers = body()
    }

    /// The JSON `model` list.
    public var configuration: JSONValue { .array(layers.map(\.configuration)) }

    /// Builds the model for examples of `inputShape` (batch axis excluded), weights drawn from
    /// `seed` exactly as a run file with that seed draws them.
    /// - Throws: `ConfigurationError` naming the path of the first bad layer or shape.
    public func build(inputShape: [Int], dtype: DType = .float32, seed: UInt64 = 0, registry: Registry = .builtin) throws -> any Layer {
        var context = LayerBuildContext(registry: registry, dtype: dtype, generator: RandomGenerator(seed: seed), inputShape: inputShape)
        return try context.buildSequence(configuration, at: JSONPath().appending("model"))
    }
}
