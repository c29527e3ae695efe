import SaddleCore
import SaddleLayers
import SaddleData
import SaddleOptimizers

/// The kinds of components the registry holds.
public enum ComponentKind: String, Sendable, CaseIterable, Codable {
    /// Layers, activations, losses, optimizers, learning rate schedules, model transforms and data sets.
    case layer, activation, loss, optimizer, schedule, transform, dataset
}

/// Where a component comes from.
public enum ComponentOrigin: Sendable, Equatable, CustomStringConvertible {
    /// Saddle itself.
    case builtin
    /// A plugin, by its declared name and version and its file.
    case plugin(name: String, version: String, path: String)

    /// "built-in", or the plugin's name, version and path.
    public var description: String {
        switch self {
        case .builtin: "built-in"
        case let .plugin(name, version, path): "plugin \(name) \(version) (\(path))"
        }
    }
}

/// The shape and randomness a layer factory builds with.
public struct LayerBuildContext {
    /// The registry nested layers are built from.
    public let registry: Registry
    /// The dtype of the weights.
    public let dtype: DType
    /// The generator weights are drawn from, in build order.
    public var generator: RandomGenerator
    /// The shape of one example entering the layer (the batch axis excluded).
    public var inputShape: [Int]
    /// The memory the layers built so far will need; factories reserve their weights here
    /// before allocating them, and may add working memory per example.
    public var memory: MemoryEstimate

    /// A context for building layers of `dtype` from examples of `inputShape`, refusing
    /// models whose parameters would exceed `memoryLimitBytes`.
    public init(registry: Registry, dtype: DType, generator: RandomGenerator, inputShape: [Int]) {
        self.init(registry: registry, generator: generator, inputShape: inputShape, memory: MemoryEstimate(dtype: dtype))
    }

    /// A context for building layers of `memory`'s dtype from examples of `inputShape`,
    /// checking each layer against `memory`'s limit and batch sizes.
    public init(registry: Registry, generator: RandomGenerator, inputShape: [Int], memory: MemoryEstimate) {
        self.registry = registry
        dtype = memory.dtype
        self.generator = generator
        self.inputShape = inputShape
        self.memory = memory
    }

    /// Builds layer configurations one after another from the current input shape, leaving
    /// `inputShape` at the last one's output shape.
    /// - Throws: `ConfigurationError` naming the path of the first bad layer.
    public mutating func buildLayers(_ value: JSONValue, at path: JSONPath) throws -> [any Layer] {
        try buildSequence(value, at: path).layers
    }

    /// Builds a list of layers as a `Sequential`: numbered children, or named ones when the
    /// list's layers carry `"name"` keys (all of them or none; unique, without dots).
    /// - Throws: `ConfigurationError` naming the path of the first bad layer or name.
    public mutating func buildSequence(_ value: JSONValue, at path: JSONPath) throws -> Sequential {
        guard case .array(let items) = value else {
            throw ConfigurationError(path, "expected a list of layers, got \(value.typeName)")
        }
        var layers: [any Layer] = []
        var names: [String] = []
        for (index, item) in items.enumerated() {
            let itemPath = path.appending(index)
            var configuration = item
            if case .object(let members) = item, let given = item["name"] {
                guard case .string(let name) = given, !name.isEmpty, !name.contains("."), !names.contains(name) else {
                    throw ConfigurationError(
                        itemPath.appending("name"), "expected a name without dots that no other layer of the list has, got \(given.description.prefix(40))")
                }
                names.append(name)
                configuration = .object(members.filter { $0.0 != "name" })
            }
            guard names.isEmpty || names.count == index + 1 else {
                throw ConfigurationError(itemPath.appending("name"), "name every layer of this list or none (layer \(index) has \(names.count == index ? "none" : "one"))")
            }
            layers.append(try registry.buildLayer(configuration, at: itemPath, context: &self))
        }
        guard names.isEmpty else { return try Sequential(named: Array(zip(names, layers))) }
        return Sequential(layers)
    }
}

/// Data a dataset component provides: training and held-out examples.
public struct DataSplits: Sendable {
    /// The examples trained on.
    public var training: Dataset
    /// The examples evaluated on: the test part, or a validation split of the training data.
    public var heldOut: Dataset
    /// The number of classes for classification data, nil otherwise.
    public var classCount: Int?

    /// Data splits from their training and held-out parts and class count.
    public init(training: Dataset, heldOut: Dataset, classCount: Int?) {
        self.training = training
        self.heldOut = heldOut
        self.classCount = classCount
    }
}

/// How a registered component is built.
public enum ComponentFactory: Sendable {
    /// Builds a layer from validated arguments; sets `context.inputShape` to its output shape.
    case layer(@Sendable (Arguments, inout LayerBuildContext) throws -> any Layer)
    /// Builds a loss from validated arguments.
    case loss(@Sendable (Arguments) throws -> any Loss)
    /// Builds an optimizer from validated arguments.
    case optimizer(@Sendable (Arguments) throws -> any Optimizer)
    /// Builds a schedule; the integer is the run's number of epochs (a default for cosine).
    case schedule(@Sendable (Arguments, Int, Registry) throws -> any LearningRateSchedule)
    /// Builds a model transform from validated arguments.
    case transform(@Sendable (Arguments) throws -> any ModelTransform)
    /// The shape of one example (without loading), and the loader (seed, dtype).
    case dataset(shape: @Sendable (Arguments) throws -> [Int], load: @Sendable (Arguments, DType) throws -> DataSplits)
}

/// One registered component: name, documentation, parameters, origin and factory.
public struct ComponentEntry: Sendable {
    /// What the component is.
    public let kind: ComponentKind
    /// The name configurations use (`dense`, `acme.swish`).
    public let name: String
    /// A one-line description for listings and the schema.
    public let summary: String
    /// The parameters its configuration takes, in order.
    public let parameters: [ParameterSpec]
    /// Built-in, or the plugin that provides it.
    public let origin: ComponentOrigin
    /// Equal identities mean the same component (registering it twice is harmless).
    public let identity: String
    /// How the component is built.
    public let factory: ComponentFactory

    /// An entry; `identity` defaults to its origin, kind and name.
    public init(
        kind: ComponentKind, name: String, summary: String, parameters: [ParameterSpec] = [], origin: ComponentOrigin = .builtin,
        identity: String? = nil, factory: ComponentFactory
    ) {
        self.kind = kind
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.origin = origin
        self.identity = identity ?? "\(origin)|\(kind.rawValue)|\(name)"
        self.factory = factory
    }
}

/// Errors registering components.
public enum RegistryError: Error, Equatable, CustomStringConvertible {
    /// A different component already has this name.
    case nameTaken(kind: ComponentKind, name: String, existing: ComponentOrigin, new: ComponentOrigin)
    /// The name does not follow the naming rules.
    case invalidName(name: String, origin: ComponentOrigin, reason: String)

    /// The problem as a sentence naming the component and its origin.
    public var description: String {
        switch self {
        case let .nameTaken(kind, name, existing, new):
            "cannot register \(kind.rawValue) \"\(name)\" from \(new): the name is taken by \(existing)"
        case let .invalidName(name, origin, reason):
            "cannot register \"\(name)\" from \(origin): \(reason)"
        }
    }
}

/// A registry of named components. A value: create one, register into it, pass it along;
/// `Registry.builtin` holds Saddle's own components. Built-in names are bare lowercase words
/// (`dense`); plugin components live in the plugin's namespace (`acme.swish`).
public struct Registry: Sendable {
    private var entries: [ComponentKind: [String: ComponentEntry]] = [:]
    private var order: [ComponentKind: [String]] = [:]
    /// Whether plugins load even when their SHA-256 differs from the one pinned in a run file
    /// or recorded in a checkpoint (`--allow-plugin-change`). Off by default: a plugin swapped
    /// after training would otherwise change results silently.
    public var allowsChangedPlugins = false
    /// The memory limit run configurations decoded with this registry start with (see
    /// `RunConfiguration.memoryLimitBytes`); `--memory-limit` sets it.
    public var memoryLimitBytes = MemoryEstimate.defaultLimitBytes

    /// An empty registry.
    public init() {}

    /// Saddle's built-in components.
    public static let builtin: Registry = {
        var registry = Registry()
        for entry in builtinEntries() {
            // Built-in names are distinct by construction.
            try? registry.register(entry)
        }
        return registry
    }()

    /// Adds `entry`. Registering the same component again does nothing.
    /// - Throws: `RegistryError.nameTaken` naming both origins when a different component has
    ///   the name; `.invalidName` when a plugin name lacks its namespace or a name is malformed.
    public mutating func register(_ entry: ComponentEntry) throws {
        let family = entry.kind == .activation ? ComponentKind.layer : entry.kind
        for kind in family == .layer ? [ComponentKind.layer, .activation] : [entry.kind] {
            if let existing = entries[kind]?[entry.name] {
                if existing.identity == entry.identity, existing.kind == entry.kind { return }
                throw RegistryError.nameTaken(kind: entry.kind, name: entry.name, existing: existing.origin, new: entry.origin)
            }
        }
        try Registry.checkName(entry.name, origin: entry.origin)
        entries[entry.kind, default: [:]][entry.name] = entry
        order[entry.kind, default: []].append(entry.name)
    }

    /// Adds several entries atomically: either all are registered or, on the first error,
    /// none (the registry is left exactly as it was).
    public mutating func register(all newEntries: [ComponentEntry]) throws {
        var copy = self
        for entry in newEntries { try copy.register(entry) }
        self = copy
    }

    static func checkName(_ name: String, origin: ComponentOrigin) throws {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        let wordRule = parts.allSatisfy { part in
            !part.isEmpty && part.allSatisfy { ($0.isLetter && $0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" } && part.first?.isLetter == true
        }
        guard wordRule else {
            throw RegistryError.invalidName(name: name, origin: origin, reason: "names are lowercase ASCII words (letters, digits, _) joined by dots")
        }
        switch origin {
        case .builtin where parts.count != 1:
            throw RegistryError.invalidName(name: name, origin: origin, reason: "built-in names have no namespace")
        case .plugin where parts.count < 2:
            throw RegistryError.invalidName(name: name, origin: origin, reason: "plugin components need a namespace, as in vendor.\(name)")
        default: break
        }
    }

    /// The entry of `kind` named `name`.
    public func entry(_ kind: ComponentKind, _ name: String) -> ComponentEntry? { entries[kind]?[name] }

    /// Every entry of `kind`, in registration order.
    public func entries(_ kind: ComponentKind) -> [ComponentEntry] {
        (order[kind] ?? []).compactMap { entries[kind]?[$0] }
    }

    /// Every entry, kind by kind.
    public var allEntries: [ComponentEntry] { ComponentKind.allCases.flatMap { entries($0) } }

    /// Looks up a component by name among `kinds`, or throws an error suggesting the nearest
    /// registered name.
    /// - Throws: `ConfigurationError` at `path`.
    public func resolve(_ name: String, kinds: [ComponentKind], at path: JSONPath) throws -> ComponentEntry {
        for kind in kinds { if let entry = entry(kind, name) { return entry } }
        let candidates = kinds.flatMap { entries($0).map(\.name) }
        let what = kinds.map(\.rawValue).joined(separator: " or ")
        let hint = nearest(to: name, among: candidates).map { "; did you mean \"\($0)\"?" } ?? "; run `saddle list` to see the registered names"
        throw ConfigurationError(path, "unknown \(what) \"\(name)\"\(hint)")
    }

    /// Splits a component configuration, a bare name or an object with a name under
    /// `nameKey`, into its entry and validated arguments.
    /// - Throws: `ConfigurationError` at `path`.
    public func arguments(for value: JSONValue, nameKey: String, kinds: [ComponentKind], at path: JSONPath) throws -> (ComponentEntry, Arguments) {
        let name: String
        var members: [(String, JSONValue)] = []
        switch value {
        case .string(let text):
            name = text
        case .object(let object):
            guard let given = value[nameKey] else {
                throw ConfigurationError(path.appending(nameKey), "missing required key \"\(nameKey)\" naming the \(kinds[0].rawValue)")
            }
            guard case .string(let text) = given else {
                throw ConfigurationError(path.appending(nameKey), "expected a component name (a string), got \(given.typeName)")
            }
            name = text
            members = object.filter { $0.0 != nameKey }
        default:
            throw ConfigurationError(path, "expected a \(kinds[0].rawValue) name or an object with \"\(nameKey)\", got \(value.typeName)")
        }
        let entry = try resolve(name, kinds: kinds, at: value[nameKey] == nil ? path : path.appending(nameKey))
        return (entry, try Arguments(members, specs: entry.parameters, path: path, component: "\(entry.kind.rawValue) \"\(name)\""))
    }

    /// Builds one layer from its configuration at `path`.
    /// - Throws: `ConfigurationError` naming the path of the problem.
    public func buildLayer(_ value: JSONValue, at path: JSONPath, context: inout LayerBuildContext) throws -> any Layer {
        let (entry, arguments) = try self.arguments(for: value, nameKey: "layer", kinds: [.layer, .activation], at: path)
        guard case .layer(let make) = entry.factory else { throw ConfigurationError(path, "\(entry.name) is not a layer") }
        do {
            context.memory.beginLayer()
            let layer = try make(arguments, &context)
            try context.memory.endLayer(output: context.inputShape, at: path)
            return layer
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(path, "\(error)")
        }
    }

    /// Builds a component of a non-layer kind from its configuration.
    /// - Throws: `ConfigurationError` naming the path of the problem.
    public func build<Result>(
        _ kind: ComponentKind, _ value: JSONValue, at path: JSONPath, nameKey: String = "name",
        _ make: (ComponentFactory, Arguments) throws -> Result?
    ) throws -> Result {
        let (entry, arguments) = try self.arguments(for: value, nameKey: nameKey, kinds: [kind], at: path)
        do {
            guard let result = try make(entry.factory, arguments) else {
                throw ConfigurationError(path, "\(entry.name) is not a \(kind.rawValue)")
            }
            return result
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(path, "\(error)")
        }
    }
}
