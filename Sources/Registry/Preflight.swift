import Foundation
import SaddleCore
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
    func preflight() throws {
        try configuration.attributed {
            try checkWritable()
            let model = try trainer.currentModel()
            let batchSize = Swift.min(configuration.train.int("batch_size"), data.training.count)
            try dryRun(model, on: data.training, count: batchSize, mode: .training, split: "training")
            let last = data.training.count % configuration.train.int("batch_size")
            if last != 0, last != batchSize {
                try dryRun(model, on: data.training, count: last, mode: .training, split: "training", lastBatch: true)
            }
            let evaluation = Swift.min(configuration.train.int("evaluation_batch_size"), data.heldOut.count, 64)
            try dryRun(model, on: data.heldOut, count: evaluation, mode: .inference, split: "held-out")
        }
    }

    /// Runs the model and the loss on the first `count` examples of `dataset`, plus the
    /// examples with the smallest and largest labels.
    private func dryRun(_ model: any Layer, on dataset: Dataset, count: Int, mode: ForwardMode, split: String, lastBatch: Bool = false) throws {
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
                    "the last batch of each epoch has \(count) example\(count == 1 ? "" : "s") (\(dataset.count) training examples, batch_size \(configuration.train.int("batch_size"))) and the model fails on it: \(error); choose a batch size that leaves at least 2")
            }
            if count < 2 {
                throw ConfigurationError(batchKey, "the model fails on a \(split) batch of \(count) example in \(mode.rawValue) mode: \(error)")
            }
            throw ConfigurationError(
                JSONPath().appending("model"), "the model fails on a \(split) batch of \(indices.count) examples in \(mode.rawValue) mode: \(error)")
        }
        do {
            let loss = try configuration.buildLoss()
            _ = try GradientRecording.withoutRecording { try loss(output, target) }
        } catch {
            let range = labels.isEmpty ? "" : " (labels from \(JSONValue.format(labels.min() ?? 0)) to \(JSONValue.format(labels.max() ?? 0)))"
            throw ConfigurationError(
                JSONPath().appending("loss"),
                "the loss does not accept the model's output \(shapeText(output.shape)) against the \(split) labels \(shapeText(target.shape))\(range): \(error)")
        }
    }

    /// Throws unless the checkpoint directory and the metrics file can be created or written.
    private func checkWritable() throws {
        let train = JSONPath().appending("train")
        let directory = configuration.checkpointDirectory
        if let problem = Run.writeProblem(directory: directory) {
            throw ConfigurationError(train.appending("checkpoint_dir"), "checkpoints cannot be written to \(directory.path): \(problem)")
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
        let probe = current.appendingPathComponent(".saddle-write-check-\(getpid())").path
        guard mkdir(probe, 0o700) == 0 else { return "nothing can be created in \(current.path): \(String(cString: strerror(errno)))" }
        rmdir(probe)
        return nil
    }
}
