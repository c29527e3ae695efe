/// Whether a forward pass trains or infers. BatchNorm uses batch statistics and Dropout drops
/// units only in training mode.
public enum ForwardMode: String, Sendable, Hashable, Codable {
    /// Batch statistics, dropout masks and buffer updates: the mode of optimizer steps.
    case training
    /// Running statistics, no dropout, no buffer updates: the mode of evaluation and analysis.
    case inference
}

/// What a forward pass carries besides its input: the mode, a random generator (for dropout),
/// and the buffer updates layers produce (BatchNorm's running statistics).
///
/// Layers never change their own buffers during a forward pass; they report new values here
/// under their dotted path, and the caller decides whether to commit them (once per optimizer
/// step, never during line searches or Hessian-vector products).
public struct ForwardContext: Sendable {
    /// Training or inference.
    public var mode: ForwardMode
    /// The generator stochastic layers draw from.
    public var random: RandomGenerator
    /// New buffer values reported during this pass, under full dotted paths.
    public private(set) var bufferUpdates = NamedTensors()
    /// When set, layers with running statistics (BatchNorm) update them with this momentum
    /// instead of their own in training mode: 1 replaces them by this batch's statistics.
    /// `recalibratingStatistics(on:)` uses it to recompute them for new weights.
    public var statisticsMomentum: Double?
    /// The global index of the input's first example within its batch: stochastic layers draw
    /// example i's randomness from `random.derived(key: exampleOffset + i)`, so a batch split
    /// over the processes of a data-parallel job gets the masks it would get whole.
    public var exampleOffset = 0
    /// When set (to a communicator of several processes), BatchNorm in training mode normalizes
    /// with the batch statistics of every process's share together (synchronized BatchNorm),
    /// not with this process's share alone.
    public var statisticsCommunicator: (any Communicator)?
    /// Scratch memory the convolutions of this pass (and of the backward pass it records)
    /// reuse; assign one kept across steps to reuse it between passes too.
    public var workspace = ConvolutionWorkspace()
    private var scope: [String] = []

    /// A context for a pass in `mode` drawing from `random`, with no buffer updates yet.
    public init(mode: ForwardMode, random: RandomGenerator = RandomGenerator(seed: 0)) {
        self.mode = mode
        self.random = random
    }

    /// Reports a new value for the buffer `name` of the layer currently running.
    public mutating func updateBuffer(_ name: String, to value: Tensor) {
        bufferUpdates[(scope + [name]).joined(separator: ".")] = value.detached
    }

    /// Runs a child layer's forward pass under the path component `component` (containers
    /// call this so that buffer paths match parameter paths).
    public mutating func scoped<R>(_ component: String, _ body: (inout ForwardContext) throws -> R) rethrows -> R {
        scope.append(component)
        defer { scope.removeLast() }
        return try body(&self)
    }
}

/// A differentiable function with named tensors: the unit models are built from.
///
/// A layer is a value. It lists its trainable `parameters` and non-trainable `buffers` under
/// paths relative to itself (`weight`, `running_mean`); containers prefix their children's
/// paths (`0.weight`). Sizes are read from tensor shapes, never stored beside them. A forward
/// pass runs in an explicit mode and reports buffer updates through the context instead of
/// mutating the layer, so evaluating a model at other parameters (`replacing(_:)`) never
/// disturbs it.
public protocol Layer: Sendable {
    /// Applies the layer to `input`.
    /// - Throws: `TensorError` when the input's shape does not fit the layer.
    func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor

    /// Trainable tensors, in order, under paths relative to this layer.
    var parameters: NamedTensors { get }

    /// Non-trainable state (such as running statistics), under paths relative to this layer.
    var buffers: NamedTensors { get }

    /// A copy whose tensors at the given relative paths (parameters or buffers) are replaced;
    /// tensors not mentioned are kept. Replacements may be recorded tensors, which is how an
    /// objective differentiates a model without mutating it.
    /// - Throws: `ModelError` when a replacement's shape differs from the tensor it replaces.
    func replacing(_ tensors: NamedTensors) throws -> Self
}

extension Layer {
    /// No parameters: the default for layers without trainable tensors.
    public var parameters: NamedTensors { NamedTensors() }
    /// No buffers: the default for layers without non-trainable state.
    public var buffers: NamedTensors { NamedTensors() }
    /// The layer unchanged, ignoring `tensors`: the default for layers without tensors.
    public func replacing(_ tensors: NamedTensors) throws -> Self { self }

    /// Applies the layer in inference mode, discarding buffer updates.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        var context = ForwardContext(mode: .inference)
        return try self(input, context: &context)
    }

    /// Parameters followed by buffers.
    public var tensors: NamedTensors { parameters.merging(buffers) }

    /// The number of trainable scalars.
    public var parameterCount: Int { parameters.scalarCount }
}

/// Errors about models: tensors that do not fit, paths that do not exist.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// A tensor has the wrong shape for its path.
    case shapeMismatch(path: String, expected: [Int], actual: [Int])
    /// A tensor has the wrong dtype for its path.
    case dtypeMismatch(path: String, expected: DType, actual: DType)
    /// A required tensor is absent.
    case missingTensor(path: String)
    /// A tensor was given for a path the model does not have.
    case unexpectedTensor(path: String)
    /// A layer's configuration is invalid.
    case invalidConfiguration(layer: String, reason: String)

    /// A sentence naming the tensor path (or the layer) and what is wrong.
    public var description: String {
        switch self {
        case let .shapeMismatch(path, expected, actual):
            return "tensor \(path) has shape \(describe(shape: actual)), expected \(describe(shape: expected))"
        case let .dtypeMismatch(path, expected, actual):
            return "tensor \(path) has dtype \(actual), expected \(expected)"
        case let .missingTensor(path):
            return "tensor \(path) is missing"
        case let .unexpectedTensor(path):
            return "tensor \(path) is not part of the model"
        case let .invalidConfiguration(layer, reason):
            return "\(layer): \(reason)"
        }
    }
}

/// Picks the replacement for `current` at `path` from `tensors`, checking its shape.
/// - Throws: `ModelError.shapeMismatch` when the shapes differ.
public func replacement(for current: Tensor, at path: String, in tensors: NamedTensors) throws -> Tensor {
    guard let new = tensors[path] else { return current }
    guard new.shape == current.shape else {
        throw ModelError.shapeMismatch(path: path, expected: current.shape, actual: new.shape)
    }
    return new
}
