import Foundation
import SaddleCore
import SaddleRegistry
import SaddleTraining

/// A configured run, ready to train: the data, the trainer, and the configuration.
public struct Run {
    /// The validated run file the run was built from.
    public var configuration: RunConfiguration
    /// The loaded data: training and held-out examples.
    public var data: DataSplits
    /// The trainer holding the model, loss, optimizer and training options.
    public var trainer: Trainer

    /// Loads the data and builds model, loss, optimizer and schedule from `configuration`
    /// (through the registry it was validated against, plugins included), then checks
    /// everything training could otherwise only find out later (see `preflight`).
    ///
    /// With a `communicator` of several processes (`MPICommunicator` under `mpirun`), every
    /// process builds the same model from the seed and trains data-parallel on shares of each
    /// global batch (`TrainingOptions.communicator`).
    /// - Throws: `ConfigurationError`, `DataError` and model errors, each naming what is wrong.
    public init(_ configuration: RunConfiguration, communicator: any Communicator = SingleProcess()) throws {
        self.configuration = configuration
        data = try configuration.loadData()
        let model = try configuration.buildModel(inputShape: data.training.exampleShape)
        let grown = try configuration.checkTransforms(on: model, exampleShape: data.training.exampleShape)
        var options = try configuration.trainingOptions(model: model)
        options.communicator = communicator
        trainer = Trainer(
            model: model, loss: try configuration.buildLoss(),
            optimizer: try configuration.buildOptimizer(),
            options: options)
        try preflight(grown: configuration.transforms.isEmpty ? nil : grown)
        try checkDataParallel(ranks: communicator.size, grown: configuration.transforms.isEmpty ? nil : grown)
    }

    /// Continues from a checkpoint written by a run of the same configuration.
    /// - Throws: `CheckpointError` or `TrainingError` when it does not fit.
    public mutating func resume(from url: URL) throws {
        try resume(from: try Checkpoint.read(from: url), file: url.path)
    }

    /// Continues from `checkpoint` (read from `file`), checking first that the plugins the
    /// run loaded are the ones the checkpoint recorded. On any error the run is unchanged.
    /// - Throws: `CheckpointError` or `TrainingError` when it does not fit.
    public mutating func resume(from checkpoint: Checkpoint, file: String) throws {
        try Run.requirePinnedPlugins(of: checkpoint, file: file, match: configuration)
        var next = trainer
        // A transformed model: rebuild its structure by replaying the recorded transforms.
        if checkpoint.metadata["transforms"] != nil {
            next.replaceModel(try Run.model(for: checkpoint, configuration: configuration, data: data, file: file), pathMap: [])
        }
        try next.resume(from: checkpoint, file: file)
        trainer = next
    }

    /// Throws unless every plugin recorded (with its SHA-256) in `checkpoint`'s embedded
    /// configuration is loaded by `configuration` with the same digest, so that a run file
    /// without pins cannot swap a plugin under a checkpoint. `--allow-plugin-change` lifts it.
    static func requirePinnedPlugins(of checkpoint: Checkpoint, file: String, match configuration: RunConfiguration) throws {
        guard !configuration.registry.allowsChangedPlugins, let text = checkpoint.configuration,
            let embedded = try? JSONParser.parse(Array(text.utf8)), case .array(let plugins)? = embedded["plugins"]
        else { return }
        let loaded = Set(configuration.plugins.compactMap(\.sha256))
        for plugin in plugins {
            guard case .string(let digest)? = plugin["sha256"], case .string(let path)? = plugin["path"] else { continue }
            guard loaded.contains(digest.lowercased()) else {
                throw CheckpointError.incompatible(
                    file: file,
                    reason: "it was trained with plugin \(path) of SHA-256 \(digest), which this run does not load; refusing (--allow-plugin-change overrides)")
            }
        }
    }

    /// Trains to the configured number of epochs, applying the configured transforms at the
    /// end of their epochs.
    @discardableResult
    public mutating func train(callbacks: [any TrainingCallback] = []) throws -> [EpochMetrics] {
        var all = callbacks
        if !configuration.transforms.isEmpty {
            all.insert(
                ScheduledTransforms(
                    transforms: configuration.transforms, probe: try Run.probe(data), registry: configuration.registry, seed: configuration.seed),
                at: 0)
        }
        return try trainer.fit(training: data.training, validation: data.heldOut, callbacks: all)
    }

    /// The run file embedded in a checkpoint.
    /// - Throws: `CheckpointError` when it has none; `ConfigurationError` when it is invalid.
    public static func configuration(of checkpoint: Checkpoint, file: String, registry: Registry) throws -> RunConfiguration {
        guard let text = checkpoint.configuration else {
            throw CheckpointError.incompatible(file: file, reason: "the checkpoint carries no run configuration; pass one with --config")
        }
        return try RunConfiguration.decode(Array(text.utf8), file: "\(file) (embedded configuration)", registry: registry)
    }

    /// A checkpoint read from `url` with its run configuration (`configuration`, else the one
    /// embedded in it), the configuration's data, and the model it holds (recorded transforms
    /// replayed, tensors loaded). `known` is data already loaded for a "data" section; it is
    /// used instead of loading again when the configuration's section is the same.
    /// - Throws: configuration, data and checkpoint errors, each naming the file.
    static func loaded(
        _ url: URL, configuration: RunConfiguration?, registry: Registry, known: (section: JSONValue, data: DataSplits)? = nil,
        adjust: (inout RunConfiguration) throws -> Void = { _ in }
    ) throws -> (checkpoint: Checkpoint, run: RunConfiguration, data: DataSplits, model: any Layer) {
        let checkpoint = try Checkpoint.read(from: url)
        var run = try configuration ?? Run.configuration(of: checkpoint, file: url.path, registry: registry)
        try Run.requirePinnedPlugins(of: checkpoint, file: url.path, match: run)
        try adjust(&run)
        let data = try known.flatMap { $0.section == run.data ? $0.data : nil } ?? run.loadData()
        do {
            try checkpoint.requireFinite(file: url.path)
            let model = try Run.model(for: checkpoint, configuration: run, data: data, file: url.path)
                .loading(checkpoint.tensors, converting: true)
            // The data must fit the model and the loss before any command evaluates them.
            try run.attributed {
                for (split, dataset) in [("training", data.training), ("held-out", data.heldOut)] {
                    try Run.dryRun(
                        model, configuration: run, on: dataset, count: Swift.min(64, dataset.count), mode: .inference, split: split,
                        stage: "", allowingNonFiniteLoss: true)
                }
            }
            return (checkpoint, run, data, model)
        } catch let error as ModelError {
            throw CheckpointError.model(file: url.path, error)
        }
    }

    /// Evaluates a checkpoint on the held-out part of its configuration's data (or of `data`, a
    /// replacement "data" section).
    /// - Throws: configuration, data and checkpoint errors, each naming what is wrong.
    public static func evaluate(checkpoint url: URL, configuration: RunConfiguration? = nil, data: JSONValue? = nil, registry: Registry)
        throws -> (loss: Double, accuracy: Double?, count: Int)
    {
        let (_, run, splits, loaded) = try Run.loaded(url, configuration: configuration, registry: registry) { run in
            if let data {
                _ = try run.registry.arguments(for: data, nameKey: "name", kinds: [.dataset], at: JSONPath().appending("data"))
                run.data = data
            }
        }
        var options = try TrainingOptions(epochs: 1, batchSize: 1, seed: run.seed)
        options.evaluationBatchSize = run.train.int("evaluation_batch_size")
        let trainer = Trainer(model: loaded, loss: try run.buildLoss(), optimizer: try run.buildOptimizer(), options: options)
        let result = try trainer.evaluate(splits.heldOut)
        return (result.loss, result.accuracy, splits.heldOut.count)
    }
}

extension RunConfiguration {
    /// The configuration `saddle train` uses without an argument: an MLP on the bundled digits.
    public static let defaultText = """
        {
          "format_version": 1,
          "name": "default",
          "seed": 1,
          "dtype": "float32",
          "data": {"name": "digits", "validation": 0.2, "split_seed": 0, "standardize": "per_feature"},
          "model": [
            {"layer": "dense", "units": 256},
            {"layer": "relu"},
            {"layer": "dense", "units": 10}
          ],
          "loss": "softmax_cross_entropy",
          "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
          "schedule": {"name": "cosine"},
          "train": {"epochs": 20, "batch_size": 32}
        }
        """
}
