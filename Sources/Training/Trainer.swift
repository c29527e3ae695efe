import Foundation
import SaddleCore
import SaddleData
import SaddleOptimizers

/// Settings of a training run.
public struct TrainingOptions: Sendable {
    /// The epoch count `fit` trains up to, counting epochs completed before a resume.
    public var epochs: Int
    /// Training examples per optimizer step (an epoch's last batch may be smaller).
    public var batchSize: Int
    /// Reshuffle the training set every epoch (from the trainer's seeded generator).
    public var shuffle = true
    /// Seeds the trainer's generator: shuffling and dropout masks.
    public var seed: UInt64 = 0
    /// Sets the optimizer's learning rate before each step from its base rate.
    public var schedule: (any LearningRateSchedule)?
    /// Where `last.safetensors` (every epoch) and `best.safetensors` (best held-out accuracy)
    /// go; nil writes no checkpoints.
    public var checkpointDirectory: URL?
    /// A JSON-lines file receiving one object of metrics per epoch.
    public var metricsFile: URL?
    /// How progress is shown on standard error.
    public var progress: ProgressStyle = .automatic
    /// Batch size for evaluation passes.
    public var evaluationBatchSize = 1000
    /// The run's configuration (JSON), stored in checkpoints.
    public var configuration: String?
    /// The processes training together. With more than one (data-parallel training under
    /// `mpirun`), every process holds the same model and takes a contiguous share of every
    /// global batch of `batchSize` examples; gradients are summed over the processes, weighted
    /// by their shares, in one collective per step. BatchNorm normalizes with each process's
    /// own batch statistics, and the running statistics are averaged over the processes at the
    /// end of every epoch, before evaluation and checkpoints. Only rank 0 shows progress and
    /// writes checkpoints and metrics. The default is one process.
    public var communicator: any Communicator = SingleProcess()
    /// With several processes, whether BatchNorm normalizes with the statistics of the whole
    /// global batch (synchronized, like PyTorch's SyncBatchNorm: two more collectives per
    /// BatchNorm layer and pass) instead of each process's share (the default).
    public var synchronizedBatchNorm = false

    /// - Throws: `TrainingError.invalidOptions` for epochs or batch sizes below 1.
    public init(epochs: Int, batchSize: Int, seed: UInt64 = 0) throws {
        guard epochs >= 1 else { throw TrainingError.invalidOptions("epochs is \(epochs); it must be at least 1") }
        guard batchSize >= 1 else { throw TrainingError.invalidOptions("batch_size is \(batchSize); it must be at least 1") }
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
    }
}

/// What one epoch measured.
public struct EpochMetrics: Sendable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    /// The optimizer steps taken in this epoch.
    public var steps: Int
    /// Mean training loss over the epoch's batches (weighted by batch size), in training mode.
    public var trainingLoss: Double
    /// The share of the epoch's examples the model classified correctly as it trained on them, or nil when not classifying.
    public var trainingAccuracy: Double?
    /// The mean held-out loss after the epoch, in inference mode, or nil without held-out data.
    public var validationLoss: Double?
    /// The held-out accuracy after the epoch, or nil without held-out data or classification output.
    public var validationAccuracy: Double?
    /// The learning rate of the epoch's last step.
    public var learningRate: Double
    /// Wall time of the epoch, evaluation included.
    public var seconds: Double
    /// Wall time of the optimizer steps alone (no evaluation).
    public var trainingSeconds: Double = 0

    /// One JSON object (stable key order), as written to the metrics file.
    public var json: String {
        var fields = ["\"epoch\":\(epoch)", "\"steps\":\(steps)", "\"train_loss\":\(number(trainingLoss))"]
        if let trainingAccuracy { fields.append("\"train_accuracy\":\(number(trainingAccuracy))") }
        if let validationLoss { fields.append("\"validation_loss\":\(number(validationLoss))") }
        if let validationAccuracy { fields.append("\"validation_accuracy\":\(number(validationAccuracy))") }
        fields.append("\"learning_rate\":\(number(learningRate))")
        fields.append("\"seconds\":\(number(seconds))")
        fields.append("\"training_seconds\":\(number(trainingSeconds))")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Parses one metrics-file line (as `json` writes it; numbers are read with Swift's exact
    /// decimal parser so that a round trip through a checkpoint is bit-exact).
    init?(json: String) {
        var fields: [String: Double] = [:]
        for pair in json.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",") {
            let parts = pair.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let key = parts[0].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            if let value = Double(parts[1].trimmingCharacters(in: .whitespaces)) { fields[key] = value }
        }
        guard let epoch = fields["epoch"], let steps = fields["steps"], let loss = fields["train_loss"],
            let rate = fields["learning_rate"], let seconds = fields["seconds"]
        else { return nil }
        func count(_ value: Double) -> Int? {
            value.rounded() == value && value >= 0 && value <= Double(Checkpoint.maximumCount) ? Int(value) : nil
        }
        guard let epoch = count(epoch), let steps = count(steps) else { return nil }
        self.init(
            epoch: epoch, steps: steps, trainingLoss: loss, trainingAccuracy: fields["train_accuracy"],
            validationLoss: fields["validation_loss"], validationAccuracy: fields["validation_accuracy"],
            learningRate: rate, seconds: seconds)
        trainingSeconds = fields["training_seconds"] ?? 0
    }

    /// Metrics from their values; `trainingSeconds` starts at 0.
    public init(
        epoch: Int, steps: Int, trainingLoss: Double, trainingAccuracy: Double?, validationLoss: Double?,
        validationAccuracy: Double?, learningRate: Double, seconds: Double
    ) {
        (self.epoch, self.steps, self.trainingLoss, self.trainingAccuracy) = (epoch, steps, trainingLoss, trainingAccuracy)
        (self.validationLoss, self.validationAccuracy, self.learningRate, self.seconds) = (validationLoss, validationAccuracy, learningRate, seconds)
    }
}

private func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }

/// Errors that stop training.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// The options are out of range (epochs or batch size below 1).
    case invalidOptions(String)
    /// The loss became NaN or infinite; the last good checkpoint (if any) is kept.
    case nonFiniteLoss(epoch: Int, step: Int, loss: Double, lastCheckpoint: String?)
    /// A checkpoint does not fit this trainer.
    case incompatibleCheckpoint(String)
    /// A parameter, buffer or the held-out loss became NaN or infinite by the end of an epoch;
    /// no checkpoint of that epoch was written and the last good one (if any) is kept.
    case nonFiniteState(what: String, epoch: Int, lastCheckpoint: String?)

    /// The error as a sentence, with advice when values became non-finite.
    public var description: String {
        switch self {
        case .invalidOptions(let reason): return "invalid training options: \(reason)"
        case let .nonFiniteLoss(epoch, step, loss, last):
            let kept = last.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written yet"
            return "the training loss became \(loss) at epoch \(epoch), step \(step); training stopped and \(kept). Lower the learning rate or clip gradients."
        case .incompatibleCheckpoint(let reason): return "cannot resume: \(reason)"
        case let .nonFiniteState(what, epoch, last):
            let kept = last.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written yet"
            return "\(what) at the end of epoch \(epoch); training stopped without writing a checkpoint of that epoch and \(kept). Lower the learning rate or clip gradients."
        }
    }
}

/// Hooks run at epoch boundaries (transforms and analyses hang here).
public protocol TrainingCallback {
    /// Called after each epoch's metrics are reported, before its checkpoints and metrics line
    /// are written (so they include what the callback changed).
    func epochEnded(_ metrics: EpochMetrics, trainer: inout Trainer) throws
}

/// Trains a model on mini-batches: epochs of optimizer steps, held-out evaluation, metrics,
/// checkpoints. A fixed seed reproduces a run bit for bit (same BLAS kernel and threads), and
/// resuming from a checkpoint continues exactly as an uninterrupted run would.
public struct Trainer {
    /// The model's structure; its parameter values may be stale (see `currentModel()`).
    private var architecture: any Layer
    /// Trainable tensors, updated in place by the optimizer.
    public private(set) var parameters: NamedTensors
    /// Buffers (running statistics), committed after every step.
    public private(set) var buffers: NamedTensors
    /// The loss minimized, of the model's output and the labels.
    public var loss: any Loss
    /// The optimizer updating the parameters; its state goes into checkpoints.
    public var optimizer: any Optimizer
    /// The settings: epochs, batch sizes, schedule, checkpoint and metrics files, progress.
    public var options: TrainingOptions
    /// The optimizer's learning rate before any schedule.
    public let baseLearningRate: Double
    /// Completed epochs and steps.
    public private(set) var epoch = 0
    /// Optimizer steps completed, over all epochs.
    public private(set) var step = 0
    /// The generator for shuffling and dropout masks, seeded from `options.seed` and saved in checkpoints.
    public private(set) var random: RandomGenerator
    /// The metrics of every completed epoch, in order (restored on resume).
    public private(set) var history: [EpochMetrics] = []
    /// The highest held-out accuracy of any epoch so far, or nil; best.safetensors holds that epoch when checkpoints are on.
    public private(set) var bestValidationAccuracy: Double?
    /// The last checkpoint written, if any: its weights and its held-out loss (or, without
    /// held-out data, its loss on the first training examples) were evaluated finite.
    public private(set) var lastCheckpoint: URL?
    /// The step count when `lastCheckpoint` was written.
    private var lastCheckpointStep: Int?
    /// The transforms applied to the model so far, one JSON object each, in order (stored in
    /// checkpoints so that the model's history can be replayed).
    public var appliedTransforms: [String] = []
    private var stopRequested = false

    /// A trainer at epoch 0 with `model`'s parameters and buffers; the optimizer's current learning
    /// rate becomes the base rate, and the generator is seeded from `options.seed`.
    public init(model: any Layer, loss: any Loss, optimizer: any Optimizer, options: TrainingOptions) {
        architecture = model
        parameters = model.parameters
        buffers = model.buffers
        self.loss = loss
        self.optimizer = optimizer
        self.options = options
        baseLearningRate = optimizer.learningRate
        random = RandomGenerator(seed: options.seed)
    }

    /// The model with the current parameters and buffers.
    public func currentModel() throws -> any Layer {
        try architecture.replacing(parameters.merging(buffers))
    }

    /// Replaces the model (after a transform), keeping optimizer state for surviving paths
    /// given by `pathMap` (old to new) and dropping the rest.
    public mutating func replaceModel(_ model: any Layer, pathMap: [(old: String, new: String)]) {
        let newParameters = model.parameters
        optimizer.state = optimizer.state.remappingOptimizerState(pathMap: pathMap, oldParameters: parameters, newParameters: newParameters)
        architecture = model
        parameters = newParameters
        buffers = model.buffers
    }

    /// Trains until `options.epochs` epochs are complete, evaluating on `validation` after
    /// each epoch. Returns the whole history.
    /// - Throws: `TrainingError.nonFiniteLoss` when the loss becomes NaN or infinite, and any
    ///   error from the model, the data, a checkpoint write or a callback.
    @discardableResult
    public mutating func fit(training: Dataset, validation: Dataset? = nil, callbacks: [any TrainingCallback] = []) throws -> [EpochMetrics] {
        let reporter = ProgressReporter(style: options.communicator.isRoot ? options.progress : .silent)
        stopRequested = false
        try requireShardsFitBatchNorm(training)
        if let directory = options.checkpointDirectory {
            for name in ["last.safetensors", "best.safetensors"] {
                AtomicFile.removeAbandonedTemporaries(of: directory.appendingPathComponent(name))
            }
        }
        // The metrics file always agrees with the checkpoint training continues from: after a
        // kill between a checkpoint and its metrics line (or the other way round), resuming
        // rewrites it from the checkpoint's history.
        try writeMetrics()
        while epoch < options.epochs && !stopRequested {
            let metrics = try trainEpoch(training, validation: validation, reporter: reporter)
            history.append(metrics)
            reporter.epochEnded(metrics, of: options.epochs)
            // Callbacks may change the model (scheduled transforms); the checkpoint then holds
            // what training continues from, so resuming reproduces an uninterrupted run.
            for callback in callbacks { try callback.epochEnded(metrics, trainer: &self) }
            try requireFiniteState(after: metrics, training: training)
            try writeCheckpoints(after: metrics)
            try writeMetrics()
        }
        return history
    }

    /// Ends `fit` after the current epoch (callbacks call this, for example at a target accuracy).
    public mutating func requestStop() {
        stopRequested = true
    }

    private mutating func trainEpoch(_ training: Dataset, validation: Dataset?, reporter: ProgressReporter) throws -> EpochMetrics {
        let start = DispatchTime.now().uptimeNanoseconds
        let batches = try training.batchPlan(size: options.batchSize, shuffle: options.shuffle, using: &random)
        let communicator = options.communicator
        var lossSum = 0.0
        var correct = 0
        var seen = 0
        var classified = true
        var learningRate = optimizer.learningRate
        var model = try architecture.replacing(buffers)
        for index in 0..<batches.count {
            // This process's share of the global batch (the whole batch in a single process).
            let (batch, offset, globalCount) = communicator.size > 1
                ? try batches.shard(index, rank: communicator.rank, of: communicator.size)
                : (try batches.batch(index), 0, 0)
            let local = batch.features.shape[0]
            learningRate = options.schedule?.learningRate(base: baseLearningRate, epoch: epoch, step: step) ?? optimizer.learningRate
            optimizer.learningRate = learningRate
            var objective = SupervisedObjective(
                model: model, loss: loss, input: batch.features, target: batch.labels, mode: .training, random: random.split())
            objective.exampleOffset = offset
            if options.synchronizedBatchNorm, communicator.size > 1 { objective.statisticsCommunicator = communicator }
            let report = communicator.size > 1
                ? try optimizer.step(
                    &parameters,
                    objective: DataParallelObjective(base: objective, communicator: communicator, examples: local, globalExamples: globalCount))
                : try optimizer.step(&parameters, objective: objective)
            step += 1
            guard report.loss.isFinite else {
                var last = lastCheckpoint?.path
                if let path = last, lastCheckpointStep == step - 1 {
                    last = "\(path), although this loss was computed at its very weights (on this batch)"
                }
                throw TrainingError.nonFiniteLoss(epoch: epoch + 1, step: step, loss: report.loss, lastCheckpoint: last)
            }
            if !report.state.isEmpty {
                buffers = buffers.merging(report.state)
                model = try model.replacing(report.state)
            }
            // The step's loss is the global batch's; accuracy counts are summed over processes below.
            let n = communicator.size > 1 ? globalCount : local
            lossSum += report.loss * Double(n)
            seen += n
            if local > 0 {
                if classified, let prediction = report.prediction, let hits = try Trainer.correctCount(prediction, batch.labels) {
                    correct += hits
                } else {
                    classified = false
                }
            }
            reporter.stepEnded(epoch: epoch + 1, of: options.epochs, batch: index + 1, of: batches.count, loss: lossSum / Double(seen))
        }
        if communicator.size > 1 {
            var counts = [Double(correct), classified ? 0 : 1]
            try communicator.sum(&counts)
            correct = Int(counts[0])
            classified = counts[1] == 0
            // Every process ends the epoch with the same running statistics: their mean.
            if !buffers.isEmpty {
                let summed = try communicator.sum(buffers.tensors)
                for (k, path) in buffers.paths.enumerated() { buffers[path] = try summed[k] / Double(communicator.size) }
                model = try model.replacing(buffers)
            }
        }
        architecture = model
        epoch += 1
        let trainingSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var metrics = EpochMetrics(
            epoch: epoch, steps: batches.count, trainingLoss: lossSum / Double(Swift.max(seen, 1)),
            trainingAccuracy: classified && seen > 0 ? Double(correct) / Double(seen) : nil,
            validationLoss: nil, validationAccuracy: nil, learningRate: learningRate, seconds: 0)
        if let validation {
            let result = try evaluate(validation)
            metrics.validationLoss = result.loss
            metrics.validationAccuracy = result.accuracy
        }
        metrics.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metrics.trainingSeconds = trainingSeconds
        return metrics
    }

    /// The number of rows whose argmax equals the label, or nil when this is not
    /// classification output.
    static func correctCount(_ prediction: Tensor, _ labels: Tensor) throws -> Int? {
        guard prediction.rank == 2, labels.rank == 1, prediction.shape[0] == labels.shape[0] else { return nil }
        let predicted = try prediction.detached.argmax(alongAxis: 1).doubles
        return zip(predicted, labels.doubles).filter { $0 == $1 }.count
    }

    /// Mean loss and accuracy (for classification) over `dataset` in inference mode. With
    /// several processes, each evaluates a contiguous share and the sums are combined (every
    /// process must call this at the same point).
    /// - Throws: whatever the model or loss throws; `DistributedError`.
    public func evaluate(_ dataset: Dataset) throws -> (loss: Double, accuracy: Double?) {
        let communicator = options.communicator
        guard communicator.size > 1 else {
            return try Evaluation.measure(try currentModel(), loss: loss, on: dataset, batchSize: options.evaluationBatchSize)
        }
        let range = communicator.share(of: dataset.count)
        var sums = [0.0, 0.0, 0.0]
        if !range.isEmpty {
            let share = try dataset.subset(Array(range))
            let (meanLoss, accuracy) = try Evaluation.measure(try currentModel(), loss: loss, on: share, batchSize: options.evaluationBatchSize)
            let n = Double(range.count)
            sums = [meanLoss * n, (accuracy.map { ($0 * n).rounded() }) ?? 0, accuracy == nil ? 1 : 0]
        }
        try communicator.sum(&sums)
        let n = Double(Swift.max(dataset.count, 1))
        return (sums[0] / n, sums[2] == 0 ? sums[1] / n : nil)
    }

    /// With several processes and BatchNorm in the model, every non-empty share of every batch
    /// must hold at least 2 examples, decided before training the same way on every process.
    private func requireShardsFitBatchNorm(_ training: Dataset) throws {
        if let problem = try Trainer.batchNormShareProblem(
            model: architecture, training: training, batchSize: options.batchSize, ranks: options.communicator.size)
        {
            throw TrainingError.invalidOptions("batch_size \(problem)")
        }
    }

    /// Why data-parallel training of `model` over `ranks` processes cannot take batches of
    /// `batchSize` from `training`, or nil: with BatchNorm in the model, a share of one example
    /// (or none) of some batch has no batch statistics. Decided from the sizes alone. The text
    /// starts with the batch size, for the caller to name the setting.
    /// - Throws: `DataError` for a data set that cannot be batched.
    public static func batchNormShareProblem(model: any Layer, training: Dataset, batchSize: Int, ranks: Int) throws -> String? {
        guard ranks > 1, model.buffers.paths.contains(where: { $0.hasSuffix("running_mean") }) else { return nil }
        var generator = RandomGenerator(seed: 0)
        let plan = try training.batchPlan(size: batchSize, shuffle: false, using: &generator)
        let (smallest, someEmpty) = plan.smallestShard(ranks: ranks)
        guard smallest < 2 || someEmpty else { return nil }
        return "\(batchSize) over \(ranks) processes (\(training.count) training examples) gives some process a share of \(someEmpty ? "no example" : "one example") in some batch, and BatchNorm needs at least 2 examples per share in training mode; use a batch size of at least \(2 * ranks) whose epoch's last batch has at least \(2 * ranks) examples, or fewer processes"
    }

    /// Class probabilities `[count, classes]` (softmax of the model's outputs) in inference mode.
    /// - Throws: whatever the model throws.
    public func predict(_ features: Tensor) throws -> Tensor {
        let model = try currentModel()
        return try GradientRecording.withoutRecording { try softmax(model(features)) }
    }

    // MARK: Checkpoints

    /// The trainer's state as a checkpoint.
    public func checkpoint() throws -> Checkpoint {
        var metadata = [
            "optimizer": String(describing: type(of: optimizer)),
            "learning_rate": "\(optimizer.learningRate)",
            "history": history.map(\.json).joined(separator: "\n"),
        ]
        if let best = bestValidationAccuracy { metadata["best_validation_accuracy"] = "\(best)" }
        if !appliedTransforms.isEmpty { metadata["transforms"] = appliedTransforms.joined(separator: "\n") }
        return Checkpoint(
            tensors: parameters.merging(buffers), optimizerState: optimizer.state, epoch: epoch, step: step,
            randomState: random.state, configuration: options.configuration, metadata: metadata)
    }

    /// Restores parameters, buffers, optimizer state, progress and the generator from
    /// `checkpoint`, so that `fit` continues exactly where the checkpointed run was.
    /// - Throws: `CheckpointError.model` when tensors do not fit; `TrainingError` otherwise.
    ///
    /// Everything is checked before anything changes: tensors must have the model's paths,
    /// shapes and dtype and be finite; optimizer state must belong to the optimizer's declared
    /// slots with its parameter's shape and dtype; the history and counters must be in range.
    /// On any error the trainer is left as it was.
    public mutating func resume(from checkpoint: Checkpoint, file: String = "checkpoint") throws {
        func incompatible(_ reason: String) -> CheckpointError { .incompatible(file: file, reason: reason) }
        for (path, current) in architecture.tensors {
            if let stored = checkpoint.tensors[path], stored.dtype != current.dtype {
                throw incompatible(
                    "tensor \(path) is \(stored.dtype) but this run trains in \(current.dtype); resuming continues a run exactly, so it needs the run's own dtype (set \"dtype\" to \"\(stored.dtype)\" to continue in that precision)")
            }
        }
        try checkpoint.requireFinite(file: file)
        let model: any Layer
        do {
            model = try architecture.loading(checkpoint.tensors)
        } catch let error as ModelError {
            throw CheckpointError.model(file: file, error)
        }
        do {
            try optimizer.validateState(checkpoint.optimizerState, for: model.parameters)
        } catch let error as OptimizerError {
            throw incompatible("\(error) (the run's optimizer is \(type(of: optimizer)))")
        }
        var restoredHistory: [EpochMetrics] = []
        for (index, line) in (checkpoint.metadata["history"] ?? "").split(separator: "\n").enumerated() {
            guard let metrics = EpochMetrics(json: String(line)), metrics.epoch == (restoredHistory.last?.epoch ?? 0) + 1,
                metrics.epoch <= checkpoint.epoch
            else {
                throw CheckpointError.incompatible(file: file, reason: "metadata history line \(index + 1) is not the record of epoch \((restoredHistory.last?.epoch ?? 0) + 1) of \(checkpoint.epoch): \(line.prefix(80))")
            }
            restoredHistory.append(metrics)
        }
        var best: Double?
        if let text = checkpoint.metadata["best_validation_accuracy"] {
            guard let value = Double(text), value.isFinite, (0...1).contains(value) else {
                throw CheckpointError.incompatible(file: file, reason: "metadata best_validation_accuracy is \"\(text.prefix(40))\", not an accuracy in 0...1")
            }
            best = value
        }
        let restoredRandom = try checkpoint.randomState.map { try RandomGenerator(state: $0) }
        architecture = model
        parameters = model.parameters
        buffers = model.buffers
        optimizer.state = checkpoint.optimizerState
        epoch = checkpoint.epoch
        step = checkpoint.step
        if let restoredRandom { random = restoredRandom }
        history = restoredHistory
        bestValidationAccuracy = best
        appliedTransforms = (checkpoint.metadata["transforms"] ?? "").split(separator: "\n").map(String.init)
    }

    /// Throws unless the parameters and buffers are finite and so is the loss at them (held-out
    /// loss when there is held-out data, else the loss on the first training examples), so that
    /// a checkpoint written next is one that was evaluated finite.
    private mutating func requireFiniteState(after metrics: EpochMetrics, training: Dataset) throws {
        for (path, tensor) in parameters.merging(buffers) where tensor.firstNonFiniteIndex != nil {
            throw TrainingError.nonFiniteState(what: "\(path) became non-finite", epoch: epoch, lastCheckpoint: lastCheckpoint?.path)
        }
        var loss = metrics.validationLoss
        if loss == nil, training.count > 0 {
            let first = 0..<Swift.min(training.count, options.evaluationBatchSize)
            let sample = try Dataset(
                features: training.features.rows(first), labels: training.labels.rows(first), classCount: training.classCount,
                name: training.name)
            loss = try evaluate(sample).loss
        }
        if let loss, !loss.isFinite {
            let which = metrics.validationLoss == nil ? "the loss on the first training examples" : "the held-out loss"
            throw TrainingError.nonFiniteState(what: "\(which) became \(loss)", epoch: epoch, lastCheckpoint: lastCheckpoint?.path)
        }
    }

    /// Rewrites the metrics file (atomically) with one line per epoch of `history`.
    private func writeMetrics() throws {
        guard let file = options.metricsFile, options.communicator.isRoot else { return }
        let text = history.map { $0.json + "\n" }.joined()
        try createDirectory(file.deletingLastPathComponent())
        AtomicFile.removeAbandonedTemporaries(of: file)
        try AtomicFile.write(Data(text.utf8), to: file)
    }

    private mutating func writeCheckpoints(after metrics: EpochMetrics) throws {
        let improved = metrics.validationAccuracy.map { accuracy in bestValidationAccuracy.map { accuracy > $0 } ?? true } ?? false
        if improved { bestValidationAccuracy = metrics.validationAccuracy }
        guard let directory = options.checkpointDirectory else { return }
        let last = directory.appendingPathComponent("last.safetensors")
        // Rank 0 writes; every process knows where the last checkpoint is.
        if options.communicator.isRoot {
            try createDirectory(directory)
            let bytes = try checkpoint().encoded()
            try AtomicFile.write(bytes, to: last)
            if improved { try AtomicFile.write(bytes, to: directory.appendingPathComponent("best.safetensors")) }
        }
        lastCheckpoint = last
        lastCheckpointStep = step
    }
}

/// Creates `directory` and its parents when missing.
/// - Throws: `CheckpointError.writeFailed` naming the directory and the system's reason.
func createDirectory(_ directory: URL) throws {
    do {
        try FileSystem.createDirectory(directory)
    } catch let error as FileError {
        throw CheckpointError.writeFailed(file: directory.path, reason: error.reason)
    }
}
