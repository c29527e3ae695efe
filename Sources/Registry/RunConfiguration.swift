import Foundation
import SaddleCore
import SaddleLayers
import SaddleOptimizers
import SaddleTraining

/// A plugin a run loads: a shared library path and, optionally, its pinned SHA-256.
public struct PluginReference: Sendable, Equatable {
    /// The shared library's path (absolute once loaded).
    public var path: String
    /// The library's pinned SHA-256 in lowercase hexadecimal, or nil for no pin.
    public var sha256: String?
}

/// A transform applied during training (at the end of epoch `atEpoch`).
public struct ScheduledTransform: Sendable {
    /// The epoch after which the transform is applied (1-based).
    public var atEpoch: Int
    /// The transform's configuration (its name under "name" and its arguments).
    public var configuration: JSONValue
}

/// A run file, decoded strictly: every key known, every value checked, every component name
/// registered. Component sections keep their validated JSON so the file can be written back.
///
/// ```json
/// {"format_version": 1, "seed": 7, "dtype": "float32", "data": {"name": "digits"},
///  "model": [{"layer": "dense", "units": 256}, {"layer": "relu"}, {"layer": "dense", "units": 10}],
///  "loss": "softmax_cross_entropy", "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
///  "schedule": {"name": "cosine"}, "train": {"epochs": 20, "batch_size": 32}}
/// ```
public struct RunConfiguration: Sendable {
    /// The configuration format this version reads and writes.
    public static let formatVersion = 1

    /// The run's name; checkpoints go to runs/<name> unless train.checkpoint_dir says otherwise.
    public var name: String
    /// The seed weights and data order are drawn from (0 unless given).
    public var seed: UInt64
    /// The dtype of weights and data (float32 unless given).
    public var dtype: DType
    /// The plugins the run loads, pinned to the SHA-256 of the bytes loaded.
    public var plugins: [PluginReference]
    /// The data set section, as written.
    public var data: JSONValue
    /// The model section: the list of layer configurations, as written.
    public var model: JSONValue
    /// The loss section (softmax_cross_entropy unless given).
    public var loss: JSONValue
    /// The optimizer section, as written.
    public var optimizer: JSONValue
    /// The learning rate schedule section (constant unless given).
    public var schedule: JSONValue
    /// The validated "train" section, defaults filled in (see `trainSpecs`).
    public var train: Arguments
    /// The transforms applied during training, in the order written.
    public var transforms: [ScheduledTransform]
    /// The file the configuration came from; errors found later (while building) name it.
    public var file: String?
    /// The registry the configuration was validated against, with its plugins loaded; every
    /// component is built from it.
    public let registry: Registry
    /// The most memory the run may need, estimated layer by layer before anything large is
    /// allocated (see `MemoryEstimate`); the registry's limit (16 GiB unless
    /// `--memory-limit` says otherwise) when decoded.
    public var memoryLimitBytes: Int

    /// Top-level keys, in the order they are written.
    public static let topLevelKeys = ["format_version", "name", "seed", "dtype", "plugins", "data", "model", "loss", "optimizer", "schedule", "train", "transforms"]

    /// The settings of the "train" section.
    public static let trainSpecs: [ParameterSpec] = [
        ParameterSpec("epochs", .integer(1...1_000_000), "passes over the training data"),
        ParameterSpec("batch_size", .integer(1...1_000_000), "examples per optimizer step"),
        ParameterSpec("evaluation_batch_size", .integer(1...1_000_000), default: .number(1000), "examples per evaluation batch"),
        ParameterSpec("checkpoint_dir", .string, default: .null, "where last.safetensors and best.safetensors go (default runs/<name>)"),
        ParameterSpec("metrics_file", .string, default: .null, "JSON-lines metrics, one object per epoch (default <checkpoint_dir>/metrics.jsonl)"),
        ParameterSpec("progress", .choice(["automatic", "bar", "lines", "silent"]), default: .string("automatic"), "how progress is shown"),
        ParameterSpec(
            "batchnorm_statistics", .choice(["local", "synchronized"]), default: .string("local"),
            "under mpirun: BatchNorm's batch statistics from each process's share (local) or from the whole global batch (synchronized)"),
    ]

    /// Decodes and validates a run file's text.
    /// - Throws: `ConfigurationError` naming the file and JSON path of the first problem.
    public static func decode(_ data: some Collection<UInt8>, file: String = "configuration", registry: Registry) throws -> RunConfiguration {
        let value: JSONValue
        do {
            value = try JSONParser.parse(data)
        } catch let error as JSONSyntaxError {
            throw ConfigurationError(path: "line \(error.line), column \(error.column)", message: "invalid JSON: \(error.message)", file: file)
        }
        do {
            var configuration = try RunConfiguration(value, registry: registry)
            configuration.file = file
            return configuration
        } catch let error as ConfigurationError {
            throw error.inFile(file)
        }
    }

    /// Reads and validates a run file.
    /// - Throws: `ConfigurationError` naming the file and path of the problem.
    public static func read(_ url: URL, registry: Registry) throws -> RunConfiguration {
        let data: Data
        do {
            data = try FileSystem.read(url, limit: 64 << 20)
        } catch let error as FileError {
            throw ConfigurationError(path: "(file)", message: error.reason, file: url.path)
        }
        return try decode(data, file: url.path, registry: registry)
    }

    /// Validates a parsed run file.
    /// - Throws: `ConfigurationError` naming the JSON path of the first problem.
    public init(_ value: JSONValue, registry: Registry) throws {
        let root = JSONPath()
        guard case .object(let members) = value else {
            throw ConfigurationError(root, "a run file is a JSON object, got \(value.typeName)")
        }
        for (key, _) in members where !RunConfiguration.topLevelKeys.contains(key) {
            let hint = nearest(to: key, among: RunConfiguration.topLevelKeys).map { "; did you mean \"\($0)\"?" } ?? ""
            throw ConfigurationError(root.appending(key), "unknown key \"\(key)\"\(hint)")
        }
        if let version = value["format_version"] {
            guard case .number(let v) = version, v.rounded() == v else {
                throw ConfigurationError(root.appending("format_version"), "expected an integer, got \(version.typeName)")
            }
            guard v >= 1, v <= Double(RunConfiguration.formatVersion) else {
                throw ConfigurationError(root.appending("format_version"), "format version \(JSONValue.format(v)) is not supported; this Saddle reads version \(RunConfiguration.formatVersion)")
            }
        }
        name = "run"
        if let given = value["name"] {
            guard case .string(let text) = given, !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
                throw ConfigurationError(root.appending("name"), "expected a name of letters, digits, '_', '-' or '.', got \(given.description.prefix(40))")
            }
            name = text
        }
        seed = 0
        if let given = value["seed"] {
            try Arguments.check(given, against: ParameterSpec("seed", .integer(0...Int(Int32.max)), ""), at: root.appending("seed"))
            if case .number(let x) = given { seed = UInt64(x) }
        }
        dtype = .float32
        if let given = value["dtype"] {
            try Arguments.check(given, against: ParameterSpec("dtype", .choice(["float32", "float64"]), ""), at: root.appending("dtype"))
            if case .string(let text) = given { dtype = DType(rawValue: text) ?? .float32 }
        }
        let (registry, plugins) = try registry.loadingPinned(
            RunConfiguration.decodePlugins(value["plugins"], at: root.appending("plugins")))
        self.plugins = plugins
        self.registry = registry
        memoryLimitBytes = registry.memoryLimitBytes
        guard let data = value["data"] else { throw ConfigurationError(root.appending("data"), "missing required key \"data\" (the data set)") }
        _ = try registry.arguments(for: data, nameKey: "name", kinds: [.dataset], at: root.appending("data"))
        self.data = data
        guard let model = value["model"] else { throw ConfigurationError(root.appending("model"), "missing required key \"model\" (a list of layers)") }
        guard case .array(let layers) = model else { throw ConfigurationError(root.appending("model"), "expected a list of layers, got \(model.typeName)") }
        guard !layers.isEmpty else { throw ConfigurationError(root.appending("model"), "the model has no layers") }
        self.model = model
        loss = value["loss"] ?? .string("softmax_cross_entropy")
        _ = try registry.arguments(for: loss, nameKey: "name", kinds: [.loss], at: root.appending("loss"))
        guard let optimizer = value["optimizer"] else {
            throw ConfigurationError(root.appending("optimizer"), "missing required key \"optimizer\" (for example {\"name\": \"sgd\", \"learning_rate\": 0.1})")
        }
        _ = try registry.arguments(for: optimizer, nameKey: "name", kinds: [.optimizer], at: root.appending("optimizer"))
        self.optimizer = optimizer
        schedule = value["schedule"] ?? .string("constant")
        _ = try registry.arguments(for: schedule, nameKey: "name", kinds: [.schedule], at: root.appending("schedule"))
        guard let trainValue = value["train"] else {
            throw ConfigurationError(root.appending("train"), "missing required key \"train\" (with epochs and batch_size)")
        }
        guard case .object(let trainMembers) = trainValue else {
            throw ConfigurationError(root.appending("train"), "expected an object, got \(trainValue.typeName)")
        }
        train = try Arguments(trainMembers, specs: RunConfiguration.trainSpecs, path: root.appending("train"), component: "train")
        transforms = try RunConfiguration.decodeTransforms(value["transforms"], at: root.appending("transforms"), registry: registry, epochs: train.int("epochs"))
        // Components whose constructors check combinations of settings (e.g. Nesterov without
        // momentum) are built once here, so such mistakes surface at validation.
        _ = try buildLoss()
        if let plugin = try buildOptimizer() as? PluginOptimizer, !plugin.kernel.update.supports(dtype) {
            throw ConfigurationError(
                root.appending("optimizer"),
                "\(plugin.kernel.name) has no \(dtype.rawValue) update kernel (it offers \(plugin.kernel.update.dtypesText)); set the run's \"dtype\" accordingly")
        }
        _ = try buildSchedule()
    }

    private static func decodePlugins(_ value: JSONValue?, at path: JSONPath) throws -> [PluginReference] {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw ConfigurationError(path, "expected a list of plugins, got \(value.typeName)") }
        let specs = [
            ParameterSpec("path", .string, "the plugin's shared library"),
            ParameterSpec("sha256", .string, default: .null, "pinned SHA-256 of the library (64 hexadecimal digits)"),
        ]
        return try items.enumerated().map { index, item in
            let itemPath = path.appending(index)
            guard case .object(let members) = item else { throw ConfigurationError(itemPath, "expected an object with \"path\", got \(item.typeName)") }
            let args = try Arguments(members, specs: specs, path: itemPath, component: "plugin")
            var digest: String?
            if case .string(let hex)? = args["sha256"] {
                guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
                    throw ConfigurationError(itemPath.appending("sha256"), "expected 64 hexadecimal digits, got \"\(hex.prefix(80))\"")
                }
                digest = hex.lowercased()
            }
            return PluginReference(path: args.string("path"), sha256: digest)
        }
    }

    private static func decodeTransforms(_ value: JSONValue?, at path: JSONPath, registry: Registry, epochs: Int) throws -> [ScheduledTransform] {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw ConfigurationError(path, "expected a list of transforms, got \(value.typeName)") }
        return try items.enumerated().map { index, item in
            let itemPath = path.appending(index)
            guard case .object(let members) = item else { throw ConfigurationError(itemPath, "expected an object with \"at_epoch\" and \"name\", got \(item.typeName)") }
            guard let at = item["at_epoch"] else { throw ConfigurationError(itemPath.appending("at_epoch"), "missing required key \"at_epoch\"") }
            try Arguments.check(at, against: ParameterSpec("at_epoch", .integer(1...Swift.max(epochs, 1)), ""), at: itemPath.appending("at_epoch"))
            let rest = JSONValue.object(members.filter { $0.0 != "at_epoch" })
            _ = try registry.arguments(for: rest, nameKey: "name", kinds: [.transform], at: itemPath)
            guard case .number(let epoch) = at else { return ScheduledTransform(atEpoch: 1, configuration: rest) }
            return ScheduledTransform(atEpoch: Int(epoch), configuration: rest)
        }
    }

    /// The canonical JSON form: every section, defaults filled in, in a fixed key order.
    /// `model`, when given, is the configured model already built (saves building it again).
    public func json(model: (any Layer)? = nil) throws -> JSONValue {
        func canonical(_ value: JSONValue, _ kind: ComponentKind, _ key: String) throws -> JSONValue {
            let (entry, args) = try registry.arguments(for: value, nameKey: "name", kinds: [kind], at: JSONPath().appending(key))
            return .object([("name", .string(entry.name))] + args.values)
        }
        var members: [(String, JSONValue)] = [
            ("format_version", .number(Double(RunConfiguration.formatVersion))), ("name", .string(name)),
            ("seed", .number(Double(seed))), ("dtype", .string(dtype.rawValue)),
            ("plugins", .array(plugins.map { .object([("path", .string($0.path))] + ($0.sha256.map { [("sha256", JSONValue.string($0))] } ?? [])) })),
            ("data", try canonical(data, .dataset, "data")),
            ("model", try model?.configuration ?? canonicalModel()),
            ("loss", try canonical(loss, .loss, "loss")),
            ("optimizer", try canonical(optimizer, .optimizer, "optimizer")),
            ("schedule", try canonical(schedule, .schedule, "schedule")),
            ("train", .object(train.values)),
        ]
        members.append(("transforms", .array(try transforms.map { transform in
            let canonicalTransform = try canonical(transform.configuration, .transform, "transforms")
            guard case .object(let inner) = canonicalTransform else { return canonicalTransform }
            return .object([("at_epoch", .number(Double(transform.atEpoch)))] + inner)
        })))
        return .object(members)
    }

    /// The model section as the built model writes it back (every parameter explicit).
    public func canonicalModel() throws -> JSONValue {
        try buildModel().configuration
    }

    // MARK: Building

    /// The shape of one example of the configured data (without loading it).
    /// - Throws: `ConfigurationError` at `data`.
    public func exampleShape() throws -> [Int] {
        try attributed { try registry.build(.dataset, data, at: JSONPath().appending("data")) { factory, args -> [Int]? in
            guard case .dataset(let shape, _) = factory else { return nil }
            return try shape(args)
        } }
    }

    /// Runs `body`, attributing configuration errors to this configuration's file.
    package func attributed<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ConfigurationError {
            guard let file, error.file == nil else { throw error }
            throw error.inFile(file)
        }
    }

    /// Loads the configured data.
    /// - Throws: `ConfigurationError` or `DataError`.
    public func loadData() throws -> DataSplits {
        try attributed { try registry.build(.dataset, data, at: JSONPath().appending("data")) { factory, args -> DataSplits? in
            guard case .dataset(_, let load) = factory else { return nil }
            return try load(args, dtype)
        } }
    }

    /// Builds the model for the configured data's example shape (or `inputShape`), with
    /// weights drawn from the run's seed, so the same configuration always builds the same model.
    /// - Throws: `ConfigurationError` naming the path of the first bad layer or shape.
    ///
    /// The memory the run would need (parameters, and activations at the configured batch
    /// sizes) is estimated layer by layer as the model is built, before each layer allocates,
    /// and must stay within `memoryLimitBytes`.
    /// - Throws: `ConfigurationError` naming the path of the first bad layer or shape, or the
    ///   batch size that makes the run too large.
    public func buildModel(inputShape: [Int]? = nil) throws -> any Layer {
        try attributed {
            let memory = MemoryEstimate(
                dtype: dtype, batchSize: train.int("batch_size"), evaluationBatchSize: train.int("evaluation_batch_size"), limitBytes: memoryLimitBytes)
            var context = LayerBuildContext(
                registry: registry, generator: RandomGenerator(seed: seed), inputShape: try inputShape ?? exampleShape(), memory: memory)
            return try context.buildSequence(model, at: JSONPath().appending("model"))
        }
    }

    /// Builds the configured loss.
    /// - Throws: `ConfigurationError` at `loss`.
    public func buildLoss() throws -> any Loss {
        try registry.build(.loss, loss, at: JSONPath().appending("loss")) { factory, args -> (any Loss)? in
            guard case .loss(let make) = factory else { return nil }
            return try make(args)
        }
    }

    /// Builds the configured optimizer.
    /// - Throws: `ConfigurationError` at `optimizer`.
    public func buildOptimizer() throws -> any Optimizer {
        try registry.build(.optimizer, optimizer, at: JSONPath().appending("optimizer")) { factory, args -> (any Optimizer)? in
            guard case .optimizer(let make) = factory else { return nil }
            return try make(args)
        }
    }

    /// Builds the configured learning rate schedule for the run's number of epochs.
    /// - Throws: `ConfigurationError` at `schedule`.
    public func buildSchedule() throws -> any LearningRateSchedule {
        try registry.build(.schedule, schedule, at: JSONPath().appending("schedule")) { factory, args -> (any LearningRateSchedule)? in
            guard case .schedule(let make) = factory else { return nil }
            return try make(args, train.int("epochs"), registry)
        }
    }

    /// Where checkpoints go: `train.checkpoint_dir`, or runs/<name>.
    public var checkpointDirectory: URL {
        if case .string(let path)? = train["checkpoint_dir"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: "runs").appendingPathComponent(name)
    }

    /// Training options from the "train" section.
    public func trainingOptions(model: (any Layer)? = nil) throws -> TrainingOptions {
        var options = try TrainingOptions(epochs: train.int("epochs"), batchSize: train.int("batch_size"), seed: seed)
        options.evaluationBatchSize = train.int("evaluation_batch_size")
        options.schedule = try buildSchedule()
        options.checkpointDirectory = checkpointDirectory
        if case .string(let path)? = train["metrics_file"] {
            options.metricsFile = URL(fileURLWithPath: path)
        } else {
            options.metricsFile = checkpointDirectory.appendingPathComponent("metrics.jsonl")
        }
        options.progress = ProgressStyle(rawValue: train.string("progress")) ?? .automatic
        options.synchronizedBatchNorm = train.string("batchnorm_statistics") == "synchronized"
        options.configuration = try json(model: model).pretty
        return options
    }
}
