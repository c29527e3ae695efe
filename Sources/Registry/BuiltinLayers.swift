import SaddleCore
import SaddleLayers

let maximumUnits = 1 << 24

/// Throws unless `shape` (one example, batch excluded) has `rank` axes.
func requireRank(_ shape: [Int], _ rank: Int, layer: String, expected: String, at path: JSONPath) throws {
    guard shape.count == rank else {
        throw ConfigurationError(path, "\(layer) needs \(expected) inputs, but its input has shape \(shapeText(shape))")
    }
}

/// A shape as "[2, 3]" for messages.
package func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

private let unitsSpec = ParameterSpec("units", .integer(1...maximumUnits), "number of output units")
private let initializerSpec = ParameterSpec("initializer", .initializer, default: .string("fan_in_uniform"), "how weights are drawn")

/// Built-in layers and activations.
func builtinLayerEntries() -> [ComponentEntry] {
    [
        ComponentEntry(
            kind: .layer, name: "dense", summary: "fully connected layer y = x W^T + b",
            parameters: [unitsSpec, ParameterSpec("use_bias", .boolean, default: .bool(true), "add a bias"), initializerSpec],
            factory: .layer { args, context in
                try requireRank(context.inputShape, 1, layer: "dense", expected: "[features]", at: args.path)
                let (inputs, units) = (context.inputShape[0], args.int("units"))
                try context.memory.reserve(parameters: [units, inputs], output: [units], layer: "dense", at: args.path(of: "units"))
                context.inputShape = [units]
                return try Dense(
                    inputSize: inputs, units: units, useBias: args.bool("use_bias"), initializer: args.initializer("initializer"),
                    dtype: context.dtype, using: &context.generator)
            }),
        ComponentEntry(
            kind: .layer, name: "factored_linear", summary: "linear layer with W = F_0 ... F_(depth-1) (deep linear model)",
            parameters: [
                unitsSpec, ParameterSpec("rank", .integer(1...maximumUnits), "inner width of the factors"),
                ParameterSpec("depth", .integer(2...256), default: .number(2), "number of factors"),
                ParameterSpec("use_bias", .boolean, default: .bool(false), "add a bias"), initializerSpec,
            ],
            factory: .layer { args, context in
                try requireRank(context.inputShape, 1, layer: "factored_linear", expected: "[features]", at: args.path)
                let (inputs, units, rank) = (context.inputShape[0], args.int("units"), args.int("rank"))
                try context.memory.reserve(
                    parameters: [Swift.max(units, inputs, rank), rank], copies: args.int("depth"), output: [units], layer: "factored_linear",
                    at: args.path(of: "rank"))
                context.inputShape = [units]
                return try FactoredLinear(
                    inputSize: inputs, units: units, rank: rank, depth: args.int("depth"), useBias: args.bool("use_bias"),
                    initializer: args.initializer("initializer"), dtype: context.dtype, using: &context.generator)
            }),
        ComponentEntry(
            kind: .layer, name: "maxout", summary: "maximum of `pieces` affine functions per unit",
            parameters: [unitsSpec, ParameterSpec("pieces", .integer(1...4096), "affine pieces per unit"), initializerSpec],
            factory: .layer { args, context in
                try requireRank(context.inputShape, 1, layer: "maxout", expected: "[features]", at: args.path)
                let (inputs, units, pieces) = (context.inputShape[0], args.int("units"), args.int("pieces"))
                try context.memory.reserve(parameters: [units, pieces, inputs], output: [units, pieces], layer: "maxout", at: args.path(of: "units"))
                context.inputShape = [units]
                return try Maxout(
                    inputSize: inputs, units: units, pieces: pieces, initializer: args.initializer("initializer"),
                    dtype: context.dtype, using: &context.generator)
            }),
        ComponentEntry(
            kind: .layer, name: "lstm", summary: "LSTM over [time, features] sequences (PyTorch layout)",
            parameters: [
                ParameterSpec("hidden_size", .integer(1...maximumUnits), "hidden units"),
                ParameterSpec("returns_sequence", .boolean, default: .bool(false), "output every hidden state instead of the last"),
            ],
            factory: .layer { args, context in
                try requireRank(context.inputShape, 2, layer: "lstm", expected: "[time, features]", at: args.path)
                let (steps, inputs, hidden) = (context.inputShape[0], context.inputShape[1], args.int("hidden_size"))
                let sequence = args.bool("returns_sequence")
                try context.memory.reserve(
                    parameters: [4 * hidden, Swift.max(inputs, hidden)], copies: 2, output: sequence ? [steps, hidden] : [hidden], layer: "lstm",
                    at: args.path(of: "hidden_size"))
                // Gates, cell and hidden states of every step are kept for the backward pass.
                try context.memory.reserve(workingElementsPerExample: steps * hidden * 8, at: args.path(of: "hidden_size"))
                context.inputShape = sequence ? [steps, hidden] : [hidden]
                return try LSTM(inputSize: inputs, hiddenSize: hidden, returnsSequence: sequence, dtype: context.dtype, using: &context.generator)
            }),
        ComponentEntry(
            kind: .layer, name: "batchnorm", summary: "batch normalization over features (PyTorch BatchNorm1d)",
            parameters: [
                ParameterSpec("momentum", .number(0...1, exclusiveMinimum: false), default: .number(0.1), "weight of the newest batch in the running statistics"),
                ParameterSpec("epsilon", .number(0...1, exclusiveMinimum: true), default: .number(1e-5), "added to the variance"),
            ],
            factory: .layer { args, context in
                try requireRank(context.inputShape, 1, layer: "batchnorm", expected: "[features]", at: args.path)
                return try BatchNorm(
                    featureCount: context.inputShape[0], momentum: args.double("momentum"), epsilon: args.double("epsilon"), dtype: context.dtype)
            }),
        ComponentEntry(
            kind: .layer, name: "dropout", summary: "inverted dropout (training mode only)",
            parameters: [ParameterSpec("rate", .number(0...0.999, exclusiveMinimum: false), "probability of zeroing an element")],
            factory: .layer { args, _ in try Dropout(rate: args.double("rate")) }),
        ComponentEntry(
            kind: .layer, name: "flatten", summary: "flattens each example to a vector",
            factory: .layer { _, context in
                context.inputShape = [context.inputShape.reduce(1, *)]
                return Flatten()
            }),
        ComponentEntry(kind: .layer, name: "identity", summary: "passes its input through", factory: .layer { _, _ in Identity() }),
        ComponentEntry(
            kind: .layer, name: "residual", summary: "x + f(x) with f the listed layers (shape-preserving)",
            parameters: [ParameterSpec("layers", .layers, "the branch f")],
            factory: .layer { args, context in
                let input = context.inputShape
                let branch = try context.buildSequence(args["layers"] ?? .array([]), at: args.path(of: "layers"))
                guard context.inputShape == input else {
                    throw ConfigurationError(
                        args.path(of: "layers"), "the residual branch maps \(shapeText(input)) to \(shapeText(context.inputShape)); it must keep the shape")
                }
                return Residual(branch)
            }),
        ComponentEntry(
            kind: .layer, name: "sequential", summary: "the listed layers one after another (numbered, or named by their \"name\" keys)",
            parameters: [ParameterSpec("layers", .layers, "the layers")],
            factory: .layer { args, context in try context.buildSequence(args["layers"] ?? .array([]), at: args.path(of: "layers")) }),
        ComponentEntry(kind: .activation, name: "relu", summary: "max(x, 0)", factory: .layer { _, _ in ReLU() }),
        ComponentEntry(
            kind: .activation, name: "leaky_relu", summary: "x for x > 0, slope * x otherwise",
            parameters: [ParameterSpec("slope", .number(-1e6...1e6, exclusiveMinimum: false), default: .number(0.01), "slope for negative inputs")],
            factory: .layer { args, _ in try LeakyReLU(slope: args.double("slope")) }),
        ComponentEntry(kind: .activation, name: "sigmoid", summary: "logistic sigmoid 1 / (1 + e^-x)", factory: .layer { _, _ in Sigmoid() }),
        ComponentEntry(kind: .activation, name: "tanh", summary: "hyperbolic tangent", factory: .layer { _, _ in Tanh() }),
        ComponentEntry(kind: .activation, name: "softmax", summary: "softmax over the last axis", factory: .layer { _, _ in Softmax() }),
    ]
}

/// A layer that can write the configuration that rebuilds it.
public protocol ConfigurableLayer: Layer {
    /// The layer's configuration object (`{"layer": name, ...}`), every parameter given.
    func layerConfiguration() throws -> JSONValue
}

extension Layer {
    /// The configuration that rebuilds this layer through the registry: an object for one
    /// layer, a list for a `Sequential` (the form of a run file's `model`).
    /// - Throws: `ConfigurationError` when a layer inside cannot describe itself.
    public var configuration: JSONValue {
        get throws {
            if let sequential = self as? Sequential { return try listConfiguration(of: sequential) }
            return try layerConfigurationOf(self)
        }
    }
}

/// The list of a sequence's layer configurations, each with its `"name"` when the sequence
/// names its children.
func listConfiguration(of sequential: Sequential) throws -> JSONValue {
    .array(try sequential.layers.enumerated().map { index, layer in
        let configuration = try layerConfigurationOf(layer)
        guard sequential.names != nil, case .object(let members) = configuration else { return configuration }
        return .object([("name", .string(sequential.name(at: index)))] + members)
    })
}

func layerConfigurationOf(_ layer: any Layer) throws -> JSONValue {
    guard let configurable = layer as? any ConfigurableLayer else {
        throw ConfigurationError(path: "model", message: "\(type(of: layer)) has no registered configuration")
    }
    return try configurable.layerConfiguration()
}

private func object(_ name: String, _ members: [(String, JSONValue)] = []) -> JSONValue {
    .object([("layer", .string(name))] + members)
}

extension Dense: ConfigurableLayer {
    /// Writes this dense layer's configuration: units, whether it has a bias, and its initializer.
    public func layerConfiguration() -> JSONValue {
        object("dense", [("units", .number(Double(units))), ("use_bias", .bool(bias != nil)), ("initializer", initializer.json)])
    }
}

extension FactoredLinear: ConfigurableLayer {
    /// Writes this layer's configuration: units, rank, depth (its number of factors), bias and initializer.
    public func layerConfiguration() -> JSONValue {
        object("factored_linear", [
            ("units", .number(Double(units))), ("rank", .number(Double(rank))), ("depth", .number(Double(factors.count))),
            ("use_bias", .bool(bias != nil)), ("initializer", initializer.json),
        ])
    }
}

extension Maxout: ConfigurableLayer {
    /// Writes this maxout layer's configuration: units, pieces and initializer.
    public func layerConfiguration() -> JSONValue {
        object("maxout", [("units", .number(Double(units))), ("pieces", .number(Double(pieces))), ("initializer", initializer.json)])
    }
}

extension LSTM: ConfigurableLayer {
    /// Writes this LSTM's configuration: hidden size and whether it returns the whole sequence.
    public func layerConfiguration() -> JSONValue {
        object("lstm", [("hidden_size", .number(Double(hiddenSize))), ("returns_sequence", .bool(returnsSequence))])
    }
}

extension BatchNorm: ConfigurableLayer {
    /// Writes this batch normalization's configuration: momentum and epsilon.
    public func layerConfiguration() -> JSONValue {
        object("batchnorm", [("momentum", .number(momentum)), ("epsilon", .number(epsilon))])
    }
}

extension Dropout: ConfigurableLayer {
    /// Writes this dropout layer's configuration with its rate.
    public func layerConfiguration() -> JSONValue { object("dropout", [("rate", .number(rate))]) }
}

extension Flatten: ConfigurableLayer {
    /// Writes `{"layer": "flatten"}`.
    public func layerConfiguration() -> JSONValue { object("flatten") }
}

extension Identity: ConfigurableLayer {
    /// Writes `{"layer": "identity"}`.
    public func layerConfiguration() -> JSONValue { object("identity") }
}

extension Residual: ConfigurableLayer {
    /// Writes a `residual` configuration listing the branch's layers (a `Sequential` branch unwrapped).
    /// - Throws: `ConfigurationError` when a layer of the branch has no registered configuration.
    public func layerConfiguration() throws -> JSONValue {
        return object("residual", [("layers", try listConfiguration(of: branch as? Sequential ?? Sequential([branch])))])
    }
}

extension Sequential: ConfigurableLayer {
    /// Writes a `sequential` configuration listing each layer's configuration.
    /// - Throws: `ConfigurationError` when a layer inside has no registered configuration.
    public func layerConfiguration() throws -> JSONValue {
        object("sequential", [("layers", try listConfiguration(of: self))])
    }
}

extension ReLU: ConfigurableLayer {
    /// Writes `{"layer": "relu"}`.
    public func layerConfiguration() -> JSONValue { object("relu") }
}

extension LeakyReLU: ConfigurableLayer {
    /// Writes this activation's configuration with its negative slope.
    public func layerConfiguration() -> JSONValue { object("leaky_relu", [("slope", .number(slope))]) }
}

extension Sigmoid: ConfigurableLayer {
    /// Writes `{"layer": "sigmoid"}`.
    public func layerConfiguration() -> JSONValue { object("sigmoid") }
}

extension Tanh: ConfigurableLayer {
    /// Writes `{"layer": "tanh"}`.
    public func layerConfiguration() -> JSONValue { object("tanh") }
}

extension Softmax: ConfigurableLayer {
    /// Writes `{"layer": "softmax"}`.
    public func layerConfiguration() -> JSONValue { object("softmax") }
}
