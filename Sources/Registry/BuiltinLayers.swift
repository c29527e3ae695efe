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

/// A pooling layer entry: kernel, stride (the kernel when absent) and padding.
private func poolingEntry(
    _ name: String, summary: String, make: @escaping @Sendable (Size2D, Size2D?, Size2D) throws -> (layer: any Layer, window: Window2D)
) -> ComponentEntry {
    ComponentEntry(
        kind: .layer, name: name, summary: summary,
        parameters: [
            ParameterSpec("kernel", .size(1...4096, allowsSame: false), "window size: an integer or [height, width]"),
            ParameterSpec("stride", .size(1...4096, allowsSame: false), default: .null, "step between windows; the kernel when absent"),
            ParameterSpec("padding", .size(0...2048, allowsSame: false), default: .number(0), "padding per side, at most half the kernel"),
        ],
        factory: .layer { args, context in
            try requireRank(context.inputShape, 3, layer: name, expected: "[channels, height, width]", at: args.path)
            let built: (layer: any Layer, window: Window2D)
            do {
                built = try make(args.size("kernel") ?? 1, args.size("stride"), args.size("padding") ?? 0)
            } catch let error as ModelError {
                throw ConfigurationError(args.path, error.description)
            }
            do {
                context.inputShape = try built.window.pooledShape(forExample: context.inputShape, op: name)
            } catch let error as TensorError {
                throw ConfigurationError(args.path, "\(name) with \(shapeText(context.inputShape)) inputs: \(error.description)")
            }
            return built.layer
        })
}

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
            kind: .layer, name: "batchnorm",
            summary: "batch normalization over features, or per channel of images (PyTorch BatchNorm1d / BatchNorm2d, picked from the input)",
            parameters: [
                ParameterSpec("momentum", .number(0...1, exclusiveMinimum: false), default: .number(0.1), "weight of the newest batch in the running statistics"),
                ParameterSpec("epsilon", .number(0...1, exclusiveMinimum: true), default: .number(1e-5), "added to the variance"),
            ],
            factory: .layer { args, context in
                guard let features = context.inputShape.first else {
                    throw ConfigurationError(args.path, "batchnorm needs [features] or [channels, ...] inputs, but its input is a scalar")
                }
                try context.memory.reserve(parameters: [features], copies: 4, output: context.inputShape, layer: "batchnorm", at: args.path)
                return try BatchNorm(
                    featureCount: features, momentum: args.double("momentum"), epsilon: args.double("epsilon"), dtype: context.dtype)
            }),
        ComponentEntry(
            kind: .layer, name: "conv2d", summary: "2-D convolution over [channels, height, width] images (PyTorch Conv2d, NCHW)",
            parameters: [
                ParameterSpec("filters", .integer(1...maximumUnits), "output channels"),
                ParameterSpec("kernel", .size(1...4096, allowsSame: false), "kernel size: an integer or [height, width]"),
                ParameterSpec("stride", .size(1...4096, allowsSame: false), default: .number(1), "step between output positions"),
                ParameterSpec("padding", .size(0...4096, allowsSame: true), default: .number(0), "zero padding per side, or \"same\" (stride 1)"),
                ParameterSpec("dilation", .size(1...4096, allowsSame: false), default: .number(1), "spacing of the kernel taps"),
                ParameterSpec("groups", .integer(1...maximumUnits), default: .number(1), "channel groups (dividing input and output channels)"),
                ParameterSpec("use_bias", .boolean, default: .bool(true), "add a bias"), initializerSpec,
            ],
            factory: .layer { args, context in
                try requireRank(context.inputShape, 3, layer: "conv2d", expected: "[channels, height, width]", at: args.path)
                let (channels, filters, groups) = (context.inputShape[0], args.int("filters"), args.int("groups"))
                guard channels % groups == 0, filters % groups == 0 else {
                    throw ConfigurationError(
                        args.path(of: "groups"), "groups \(groups) must divide both the \(channels) input channels and the \(filters) filters")
                }
                let kernel = args.size("kernel") ?? 1
                let stride = args.size("stride") ?? 1
                let padding: Conv2D.Padding = args.size("padding").map { .explicit($0) } ?? .same
                if padding == .same, stride != 1 {
                    throw ConfigurationError(args.path(of: "padding"), "\"same\" padding needs stride 1, got stride \(stride) (as in PyTorch)")
                }
                let dilation = args.size("dilation") ?? 1
                try context.memory.reserve(
                    parameters: [filters, channels / groups, kernel.height, kernel.width], layer: "conv2d", at: args.path(of: "filters"))
                let shape: [Int]
                do {
                    shape = try Conv2D.outputShape(
                        forExample: context.inputShape, filters: filters, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
                } catch let error as TensorError {
                    throw ConfigurationError(args.path, "conv2d with \(shapeText(context.inputShape)) inputs: \(error.description)")
                }
                try context.memory.reserve(parameters: [], output: shape, layer: "conv2d", at: args.path(of: "filters"))
                context.inputShape = shape
                return try Conv2D(
                    inputChannels: channels, outputChannels: filters, kernel: kernel, stride: stride, padding: padding,
                    dilation: dilation, groups: groups, useBias: args.bool("use_bias"),
                    initializer: args.initializer("initializer"), dtype: context.dtype, using: &context.generator)
            }),
        poolingEntry("max_pool2d", summary: "max pooling over [channels, height, width] images (PyTorch MaxPool2d)") { kernel, stride, padding in
            let layer = try MaxPool2D(kernel: kernel, stride: stride, padding: padding)
            return (layer, layer.window)
        },
        poolingEntry("avg_pool2d", summary: "average pooling over images, padding counted as zeros (PyTorch AvgPool2d)") { kernel, stride, padding in
            let layer = try AvgPool2D(kernel: kernel, stride: stride, padding: padding)
            return (layer, layer.window)
        },
        ComponentEntry(
            kind: .layer, name: "global_avg_pool", summary: "mean of each channel over its positions: [channels, ...] to [channels]",
            factory: .layer { args, context in
                guard context.inputShape.count >= 2 else {
                    throw ConfigurationError(args.path, "global_avg_pool needs [channels, height, width] inputs, but its input has shape \(shapeText(context.inputShape))")
                }
                context.inputShape = [context.inputShape[0]]
                return GlobalAveragePool()
            }),
        ComponentEntry(
            kind: .layer, name: "channel_maxout", summary: "maximum over each group of `pieces` consecutive channels (convolutional maxout)",
            parameters: [ParameterSpec("pieces", .integer(1...4096), "input channels per output channel")],
            factory: .layer { args, context in
                let pieces = args.int("pieces")
                guard let channels = context.inputShape.first, channels % pieces == 0 else {
                    throw ConfigurationError(
                        args.path(of: "pieces"), "channel_maxout needs [channels, ...] inputs with channels a multiple of pieces \(pieces); its input has shape \(shapeText(context.inputShape))")
                }
                context.inputShape[0] = channels / pieces
                return try ChannelMaxout(pieces: pieces)
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
            kind: .layer, name: "residual",
            summary: "activation(shortcut(x) + f(x)): f the listed layers, the shortcut the identity unless given (a projection such as a 1x1 conv2d and batchnorm)",
            parameters: [
                ParameterSpec("layers", .layers, "the branch f"),
                ParameterSpec("shortcut", .layers, default: .null, "the shortcut's layers; the identity when absent"),
                ParameterSpec("activation", .component(.layer), default: .null, "a parameter-free layer applied to the sum (\"relu\" in a ResNet)"),
            ],
            factory: .layer { args, context in
                let input = context.inputShape
                let branch = try context.buildSequence(args["layers"] ?? .array([]), at: args.path(of: "layers"))
                let output = context.inputShape
                var shortcut: Sequential?
                if let layers = args["shortcut"], layers != .null {
                    context.inputShape = input
                    shortcut = try context.buildSequence(layers, at: args.path(of: "shortcut"))
                    guard context.inputShape == output else {
                        throw ConfigurationError(
                            args.path(of: "shortcut"),
                            "the shortcut maps \(shapeText(input)) to \(shapeText(context.inputShape)) but the branch to \(shapeText(output)); they must agree")
                    }
                } else if output != input {
                    throw ConfigurationError(
                        args.path(of: "layers"),
                        "the residual branch maps \(shapeText(input)) to \(shapeText(output)); it must keep the shape, or the block needs a \"shortcut\" (such as a 1x1 conv2d with the branch's stride and a batchnorm)")
                }
                var activation: (any Layer)?
                if let value = args["activation"], value != .null {
                    let registry = context.registry
                    let layer = try registry.buildLayer(value, at: args.path(of: "activation"), context: &context)
                    guard layer.parameters.isEmpty, layer.buffers.isEmpty, context.inputShape == output else {
                        throw ConfigurationError(args.path(of: "activation"), "the activation after the sum must keep the shape and have no tensors")
                    }
                    activation = layer
                }
                return Residual(branch: branch, shortcut: shortcut, activation: activation)
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
    /// Writes a `residual` configuration listing the branch's layers (a `Sequential` branch
    /// unwrapped), and the shortcut and activation when present.
    /// - Throws: `ConfigurationError` when a layer of the block has no registered configuration.
    public func layerConfiguration() throws -> JSONValue {
        var members: [(String, JSONValue)] = [("layers", try listConfiguration(of: branch as? Sequential ?? Sequential([branch])))]
        if let shortcut { members.append(("shortcut", try listConfiguration(of: shortcut as? Sequential ?? Sequential([shortcut])))) }
        if let activation { members.append(("activation", try layerConfigurationOf(activation))) }
        return object("residual", members)
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

extension Conv2D: ConfigurableLayer {
    /// Writes this convolution's configuration: filters, kernel, stride, padding, dilation, groups, bias and initializer.
    public func layerConfiguration() -> JSONValue {
        let pad: JSONValue = switch padding {
        case .explicit(let size): size.json
        case .same: .string("same")
        }
        return object("conv2d", [
            ("filters", .number(Double(outputChannels))), ("kernel", kernel.json), ("stride", stride.json), ("padding", pad),
            ("dilation", dilation.json), ("groups", .number(Double(groups))), ("use_bias", .bool(bias != nil)),
            ("initializer", initializer.json),
        ])
    }
}

/// A pooling layer's configuration: its kernel, stride and (symmetric) padding.
private func poolingConfiguration(_ name: String, _ window: Window2D) -> JSONValue {
    object(name, [("kernel", window.kernel.json), ("stride", window.stride.json), ("padding", Size2D(window.padding.top, window.padding.left).json)])
}

extension MaxPool2D: ConfigurableLayer {
    /// Writes this pooling's configuration: kernel, stride and padding.
    public func layerConfiguration() -> JSONValue { poolingConfiguration("max_pool2d", window) }
}

extension AvgPool2D: ConfigurableLayer {
    /// Writes this pooling's configuration: kernel, stride and padding.
    public func layerConfiguration() -> JSONValue { poolingConfiguration("avg_pool2d", window) }
}

extension GlobalAveragePool: ConfigurableLayer {
    /// Writes `{"layer": "global_avg_pool"}`.
    public func layerConfiguration() -> JSONValue { object("global_avg_pool") }
}

extension ChannelMaxout: ConfigurableLayer {
    /// Writes this layer's configuration with its pieces.
    public func layerConfiguration() -> JSONValue { object("channel_maxout", [("pieces", .number(Double(pieces)))]) }
}
