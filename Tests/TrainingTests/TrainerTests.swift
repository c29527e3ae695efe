import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// Digits split 80/20 and standardized with the training part's statistics.
func standardizedDigits(seed: UInt64) throws -> (train: Dataset, validation: Dataset) {
    let (train, validation) = try Digits.load().split(validationFraction: 0.2, seed: seed)
    let scaler = try Standardization(fittedTo: train)
    return (try scaler.apply(to: train), try scaler.apply(to: validation))
}

func digitsMLP(seed: UInt64, hidden: Int = 128, dropout: Double = 0) throws -> Sequential {
    var g = RandomGenerator(seed: seed)
    return try Sequential {
        try Dense(inputSize: 64, units: hidden, using: &g)
        ReLU()
        if dropout > 0 { try Dropout(rate: dropout) }
        try Dense(inputSize: hidden, units: 10, using: &g)
    }
}

@Suite("Training on real data")
struct TrainerTests {
    /// The held-out fifth is fixed (split seed 0); the seed varies initialization and shuffling.
    @Test("an MLP reaches 97% held-out accuracy on digits", arguments: [UInt64(1), 2, 3])
    func digitsAccuracy(seed: UInt64) throws {
        let (train, validation) = try standardizedDigits(seed: 0)
        var options = try TrainingOptions(epochs: 20, batchSize: 32, seed: seed)
        options.progress = .silent
        options.schedule = try CosineSchedule(epochs: 20)
        var trainer = Trainer(
            model: try digitsMLP(seed: seed, hidden: 256), loss: SoftmaxCrossEntropy(),
            optimizer: try SGD(learningRate: 0.05, momentum: 0.9), options: options)
        let history = try trainer.fit(training: train, validation: validation)
        let accuracy = try #require(history.last?.validationAccuracy)
        #expect(accuracy >= 0.97, "seed \(seed): \(accuracy)")
        #expect(try trainer.evaluate(validation).accuracy == accuracy)
        let probabilities = try trainer.predict(validation.features.rows(0..<5))
        for total in try probabilities.sum(alongAxis: 1).doubles { #expect(Swift.abs(total - 1) < 1e-5) }
    }

    func run(epochs: Int, resumeAfter: Int? = nil, directory: TemporaryDirectory) throws -> Trainer {
        let (train, validation) = try standardizedDigits(seed: 4)
        var options = try TrainingOptions(epochs: epochs, batchSize: 64, seed: 9)
        options.progress = .silent
        options.checkpointDirectory = directory.url
        options.schedule = try CosineSchedule(epochs: epochs)
        let make = { try Trainer(model: digitsMLP(seed: 5, dropout: 0.2), loss: SoftmaxCrossEntropy(), optimizer: try Adam(learningRate: 0.01), options: options) }
        var trainer = try make()
        guard let resumeAfter else {
            try trainer.fit(training: train, validation: validation)
            return trainer
        }
        var first = trainer
        first.options.epochs = resumeAfter
        try first.fit(training: train, validation: validation)
        let saved = try Checkpoint.read(from: directory.file("last.safetensors"))
        trainer = try make()
        try trainer.resume(from: saved)
        try trainer.fit(training: train, validation: validation)
        return trainer
    }

    @Test func sameSeedIsBitIdenticalAndResumingContinuesExactly() throws {
        let a = try TemporaryDirectory()
        let b = try TemporaryDirectory()
        let c = try TemporaryDirectory()
        defer { [a, b, c].forEach { $0.remove() } }
        let straight = try run(epochs: 4, directory: a)
        let again = try run(epochs: 4, directory: b)
        let resumed = try run(epochs: 4, resumeAfter: 2, directory: c)
        for (path, tensor) in straight.parameters {
            #expect(again.parameters[path]?.floats == tensor.floats, "rerun differs at \(path)")
            #expect(resumed.parameters[path]?.floats == tensor.floats, "resumed run differs at \(path)")
        }
        for (path, tensor) in straight.optimizer.state {
            #expect(resumed.optimizer.state[path]?.doubles == tensor.doubles, "optimizer state differs at \(path)")
        }
        #expect(resumed.history.count == straight.history.count)
        for (r, s) in zip(resumed.history, straight.history) {
            #expect(r.trainingLoss == s.trainingLoss && r.trainingAccuracy == s.trainingAccuracy, "epoch \(s.epoch)")
            #expect(r.validationLoss == s.validationLoss && r.validationAccuracy == s.validationAccuracy, "epoch \(s.epoch)")
            #expect(r.learningRate == s.learningRate && r.steps == s.steps, "epoch \(s.epoch)")
        }
        #expect(resumed.step == straight.step)
    }

    @Test func metricsFileAndCheckpointsAreWritten() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (train, validation) = try standardizedDigits(seed: 6)
        var options = try TrainingOptions(epochs: 3, batchSize: 64, seed: 1)
        options.progress = .silent
        options.checkpointDirectory = dir.url
        options.metricsFile = dir.file("metrics.jsonl")
        var trainer = Trainer(model: try digitsMLP(seed: 1), loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: 0.05, momentum: 0.9), options: options)
        try trainer.fit(training: train, validation: validation)
        let lines = try String(contentsOf: dir.file("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let object = try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any]
        #expect(object?["epoch"] as? Int == 3)
        #expect(object?["validation_accuracy"] as? Double == trainer.history[2].validationAccuracy)
        let best = try Checkpoint.read(from: dir.file("best.safetensors"))
        let last = try Checkpoint.read(from: dir.file("last.safetensors"))
        #expect(last.epoch == 3 && last.step == trainer.step)
        let bestEpoch = trainer.history.max { ($0.validationAccuracy ?? 0) < ($1.validationAccuracy ?? 0) }?.epoch
        #expect(best.epoch == bestEpoch)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func aNonFiniteLossStopsTrainingAndKeepsTheLastGoodCheckpoint() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (train, _) = try standardizedDigits(seed: 7)
        var options = try TrainingOptions(epochs: 2, batchSize: 64, seed: 1)
        options.progress = .silent
        options.checkpointDirectory = dir.url
        var trainer = Trainer(model: try digitsMLP(seed: 1), loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: 0.01), options: options)
        try trainer.fit(training: train)
        let good = try Checkpoint.read(from: dir.file("last.safetensors"))
        trainer.options.epochs = 4
        trainer.optimizer.learningRate = 1e30
        var caught: TrainingError?
        do {
            try trainer.fit(training: train)
        } catch let error as TrainingError {
            caught = error
        }
        guard case let .nonFiniteLoss(epoch, _, _, last)? = caught else {
            Issue.record("expected a non-finite loss error, got \(String(describing: caught))")
            return
        }
        #expect(epoch == 3)
        #expect(last == dir.file("last.safetensors").path)
        let kept = try Checkpoint.read(from: dir.file("last.safetensors"))
        #expect(kept.epoch == 2)
        #expect(kept.tensors["0.weight"]?.floats == good.tensors["0.weight"]?.floats)
    }
}
