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

public func dense(units: Int, useBias: Bool = true, initializer: WeightInitializer = .fanInUniform) -> LayerSpec {
    LayerSpec("dense", [("units", .number(Double(units))), ("use_bias", .bool(useBias)), ("initializer", initializer.json)])
}

public func factoredLinear(units: Int, rank: Int, depth: Int = 2, useBias: Bool = false, initializer: WeightInitializer = .fanInUniform) -> LayerSpec {
    LayerSpec("factored_linear", [
        ("units", .number(Double(units))), ("rank", .number(Double(rank))), ("depth", .number(Double(depth))),
        ("use_bias", .bool(useBias)), ("initializer", initializer.json),
    ])
}

public func maxout(units: Int, pieces: Int, initializer: WeightInitializer = .fanInUniform) -> LayerSpec {
    LayerSpec("maxout", [("units", .number(Double(units))), ("pieces", .number(Double(pieces))), ("initializer", initializer.json)])
}

public func lstm(hiddenSize: Int, returnsSequence: Bool = false) -> LayerSpec {
    LayerSpec("lstm", [("hidden_size", .number(Double(hiddenSize))), ("returns_sequence", .bool(returnsSequence))])
}

public func batchnorm(momentum: Double = 0.1, epsilon: Double = 1e-5) -> LayerSpec {
    LayerSpec("batchnorm", [("momentum", .number(momentum)), ("epsilon", .number(epsilon))])
}

public func dropout(rate: Double) -> LayerSpec { LayerSpec("dropout", [("rate", .number(rate))]) }
public func leakyRelu(slope: Double = 0.01) -> LayerSpec { LayerSpec("leaky_relu", [("slope", .number(slope))]) }
public func relu() -> LayerSpec { LayerSpec("relu") }
public func sigmoid() -> LayerSpec { LayerSpec("sigmoid") }
public func tanh() -> LayerSpec { LayerSpec("tanh") }
public func softmax() -> LayerSpec { LayerSpec("softmax") }
public func flatten() -> LayerSpec { LayerSpec("flatten") }
public func identity() -> LayerSpec { LayerSpec("identity") }

/// x + f(x) with f the listed layers.
public func residual(@ModelBuilder _ branch: () -> [LayerSpec]) -> LayerSpec {
    LayerSpec("residual", [("layers", .array(branch().map(\.configuration)))])
}

/// The listed layers as one block.
public func sequential(@ModelBuilder _ body: () -> [LayerSpec]) -> LayerSpec {
    LayerSpec("sequential", [("layers", .array(body().map(\.configuration)))])
}

/// Collects `LayerSpec` statements.
@resultBuilder
public enum ModelBuilder {
    public static func buildExpression(_ layer: LayerSpec) -> [LayerSpec] { [layer] }
    public static func buildBlock(_ parts: [LayerSpec]...) -> [LayerSpec] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [LayerSpec]?) -> [LayerSpec] { part ?? [] }
    public static func buildEither(first: [LayerSpec]) -> [LayerSpec] { first }
    public static func buildEither(second: [LayerSpec]) -> [LayerSpec] { second }
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
    public var layers: [LayerSpec]

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
        return Sequential(try context.buildLayers(configuration, at: JSONPath().appending("model")))
    }
}
