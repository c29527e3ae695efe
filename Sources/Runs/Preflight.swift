import Foundation
import SaddleCore
import SaddleRegistry
import SaddleData
import SaddleTraining

extension Run {
    /// Checks everything training would otherwise find out later, so that `saddle validate`
    /// rejects exactly what `saddle train` would, with the file and the JSON path:
    ///
    /// - the checkpoint directory and metrics file can be written (`train.checkpoint_dir`,
    ///   `train.metrics_file`);
    /// - the model runs on a training batch of `batch_size` examples in training mode and on
    ///   the epoch's last, smaller batch (`train.batch_size`: BatchNorm needs two examples);
    /// - the loss accepts the model's output and every label of both splits (`loss`): the
    ///   dry run includes the examples with the smallest and largest labels, so a label the
    ///   model has no output for is found, as is mean squared error on class labels;
    /// - the held-out data runs in inference mode.
    ///
    /// Nothing is trained and the model is not changed.
    /// - Throws: `ConfigurationError` naming the run file and the JSON path.
    ///
    /// `grown`, the model as the scheduled transforms will leave it, gets the same dry run, so
    /// that a layer a transform inserts (a BatchNorm) is checked against the batch sizes too.
    func preflight(grown: (any Layer)? = nil) throws {
        try configuration.attributed {
            try checkWritable()
            for (index, model) in [try trainer.currentModel(), grown].compactMap({ $0 }).enumerated() {
                let stage = index == 0 ? "" : " as the scheduled transforms leave it"
                let batchSize = Swift.min(configuration.train.int("batch_size"), data.training.count)
                try Run.dryRun(model, configuration: configuration, on: data.training, count: batchSize, mode: .training, split: "training", stage: stage)
                let last = data.training.count % configuration.train.int("batch_size")
                if last != 0, last != batchSize {
                    try Run.dryRun(
                        model, configuration: configuration, on: data.training, count: last, mode: .training, split: "training", stage: stage,
                        lastBatch: true)
                }
                let evaluation = Swift.min(configuration.train.int("evaluation_batch_size"), data.heldOut.count, 64)
                try Run.dryRun(model, configuration: configuration, on: data.heldOut, count: evaluation, mode: .inference, split: "held-out", stage: stage)
            }
        }
    }

    /// Checks what data-parallel training on `ranks` processes would refuse before its first
    /// step: with BatchNorm in the model (or added by a scheduled transform), every share of
    /// every global batch must hold at least 2 examples. A single process passes.
    /// - Throws: `ConfigurationError` at `train.batch_size` naming the run file.
    public func checkDataParallel(ranks: Int, grown: (any Layer)? = nil) throws {
        let batchSize = configuration.train.int("batch_size")
        for model in [try trainer.currentModel(), grown].compactMap({ $0 }) {
            guard let problem = try Trainer.batchNormShareProblem(model: model, training: data.training, batchSize: batchSize, ranks: ranks) else {
                continue
            }
            try configuration.attributed { () throws -> Void in
                throw ConfigurationError(JSONPath().appending("train").appending("batch_size"), problem)
            }
        }
    }

    /// Runs the model and the loss on the first `count` examples of `dataset`, plus the
    /// examples with the smallest and largest labels, turning a failure into an error at the
    /// JSON path responsible (`model`, `loss`, `train.batch_size`, `data`). A non-finite loss
    /// is an error unless `allowingNonFiniteLoss` (a trained checkpoint may have diverged).
    static func dryRun(
        _ model: any Layer, configuration: RunConfiguration, on dataset: Dataset, count: Int, mode: ForwardMode, split: String,
        stage: String, lastBatch: Bool = false, allowingNonFiniteLoss: Bool = false
    ) throws {
        guard count > 0 else { return }
        let labels = dataset.labels.doubles
        var indices = Array(0..<count)
        if !lastBatch, let low = labels.indices.min(by: { labels[$0] < labels[$1] }),
            let high = labels.indices.max(by: { labels[$0] < labels[$1] })
        {
            indices = Array(indices.prefix(Swift.max(count - 2, 0))) + [low, high].prefix(count)
        }
        let input = try dataset.features.gatheringRows(indices)
        let target = try dataset.labels.gatheringRows(indices)
        let batchKey = JSONPath().appending("train").appending("batch_size")
        let output: Tensor
        do {
            var context = ForwardContext(mode: mode, random: RandomGenerator(seed: configuration.seed))
            output = try GradientRecording.withoutRecording { try model(input, context: &context) }
        } catch {
            if lastBatch {
                throw ConfigurationError(
                    batchKey,
                    "the last batch of each epoch has \(count) example\(count == 1 ? "" : "s") (\(dataset.count) training examples, batch_size \(configuration.train.int("batch_size"))) and the model\(stage) fails on it: \(error); choose a batch size that leaves at least 2")
            }
            if count < 2 {
                throw ConfigurationError(batchKey, "the model\(stage) fails on a \(split) batch of \(count) example in \(mode.rawValue) mode: \(error)")
            }
            throw ConfigurationError(
                JSONPath().appending("model"), "the model\(stage) fails on a \(split) batch of \(indices.count) examples in \(mode.rawValue) mode: \(error)")
        }
        let value: Double
        do {
            let loss = try configuration.buildLoss()
            value = try GradientRecording.withoutRecording { try loss(output, target) }.item()
        } catch {
            let range = labels.isEmpty ? "" : " (labels from \(JSONValue.format(labels.min() ?? 0)) to \(JSONValue.format(labels.max() ?? 0)))"
            throw ConfigurationError(
                JSONPath().appending("loss"),
                "the loss does not accept the model's output \(shapeText(output.shape)) against the \(split) labels \(shapeText(target.shape))\(range): \(error)")
        }
        // Before any step, a non-finite loss comes from the data (values too large for the
        // dtype) or from the initialization, not from training.
        guard value.isFinite || allowingNonFiniteLoss else {
            throw ConfigurationError(
                JSONPath().appending("data"),
                "the loss of the model\(stage) as initialized is \(value) on \(split) examples; check the data for values too large for \(configuration.dtype.rawValue)")
        }
    }

    /// Throws unless the checkpoint directory and the metrics file can be created or written.
    private func checkWritable() throws {
        let train = JSONPath().appending("train")
        let directory = configuration.checkpointDirectory
        if let problem = Run.writeProblem(directory: directory) {
            throw ConfigurationError(train.appending("checkpoint_dir"), "checkpoints cannot be written to \(directory.path): \(problem)")
        }
        for name in ["last.safetensors", "best.safetensors"] where FileSystem.isDirectory(directory.appendingPathComponent(name)) {
            throw ConfigurationError(train.appending("checkpoint_dir"), "\(directory.appendingPathComponent(name).path) is a directory, so the checkpoint cannot be written")
        }
        if let metrics = trainer.options.metricsFile {
            if FileSystem.isDirectory(metrics) {
                throw ConfigurationError(train.appending("metrics_file"), "\(metrics.path) is a directory, not a file")
            }
            if let problem = Run.writeProblem(directory: metrics.deletingLastPathComponent()) {
                throw ConfigurationError(train.appending("metrics_file"), "metrics cannot be written to \(metrics.path): \(problem)")
            }
        }
    }

    /// Why files cannot be created in `directory` (made with its parents if missing), or nil.
    static func writeProblem(directory: URL) -> String? {
        var current = directory.standardizedFileURL
        var info = stat()
        while stat(current.path, &info) != 0 {
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { return "no existing parent directory" }
            current = parent
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            return current.path == directory.standardizedFileURL.path ? "it is a file, not a directory" : "\(current.path) is a file, not a directory"
        }
        // Permission bits do not tell the whole story (root, read-only mounts, special file
        // systems), so the directory is probed by creating and removing an entry in it.
        let probe = current.appendingPathComponent(".saddle-write-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        guard mkdir(probe, 0o700) == 0 else { return "nothing can be created in \(current.path): \(String(cString: strerror(errno)))" }
        rmdir(probe)
        return nil
    }
}
