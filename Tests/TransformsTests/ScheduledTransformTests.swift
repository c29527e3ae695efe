import Foundation
import Saddle
import SaddleExperiments
import SaddleTestSupport
import Testing

/// Stops training after a given epoch, as an interrupted run would.
struct StopAfter: TrainingCallback {
    let epoch: Int
    func epochEnded(_ metrics: EpochMetrics, trainer: inout Trainer) throws {
        if metrics.epoch == epoch { trainer.requestStop() }
    }
}

@Suite("Transforms in runs, checkpoints and optimizer state")
struct ScheduledTransformTests {
    func runFile(checkpoints: URL) -> String {
        """
        {"name": "growing", "seed": 4, "data": {"name": "digits"},
         "model": [{"layer": "dense", "units": 24}, {"layer": "relu"}, {"layer": "dense", "units": 10}],
         "optimizer": {"name": "adam", "learning_rate": 0.01},
         "transforms": [{"at_epoch": 2, "name": "net2wider", "layer": "0", "units": 48, "split": 0.3},
                        {"at_epoch": 3, "name": "net2deeper", "layer": "0"}],
         "train": {"epochs": 5, "batch_size": 32, "progress": "silent", "checkpoint_dir": "\(checkpoints.path)"}}
        """
    }

    @Test("a run file's transforms apply during training; eval and resume replay them")
    func transformsInARunFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let whole = dir.url.appendingPathComponent("whole"), interrupted = dir.url.appendingPathComponent("interrupted")
        var run = try Run(try RunConfiguration.decode(Array(runFile(checkpoints: whole).utf8), registry: .builtin))
        let history = try run.train()
        let model = try run.trainer.currentModel()
        #expect(model.tensors["0.weight"]?.shape == [48, 64])
        #expect(model.tensors["2.weight"]?.shape == [48, 48], "the inserted layer")
        #expect(model.tensors["4.weight"]?.shape == [10, 48])
        #expect(run.trainer.appliedTransforms.count == 2)
        // Function-preserving growth: no jump in the held-out loss at the epochs that grew.
        let accuracy = try #require(history.last?.validationAccuracy)
        #expect(accuracy >= 0.95, "accuracy \(accuracy)")

        // The checkpoint records the history; eval rebuilds the grown model from it.
        let checkpoint = try Checkpoint.read(from: whole.appendingPathComponent("last.safetensors"))
        #expect(checkpoint.metadata["transforms"]?.split(separator: "\n").count == 2)
        let evaluated = try Run.evaluate(checkpoint: whole.appendingPathComponent("last.safetensors"), registry: .builtin)
        #expect(evaluated.accuracy == accuracy)

        // Interrupted after epoch 3 (both transforms applied), then resumed: the same result.
        var first = try Run(try RunConfiguration.decode(Array(runFile(checkpoints: interrupted).utf8), registry: .builtin))
        try first.train(callbacks: [StopAfter(epoch: 3)])
        #expect(first.trainer.epoch == 3)
        var resumed = try Run(try RunConfiguration.decode(Array(runFile(checkpoints: interrupted).utf8), registry: .builtin))
        try resumed.resume(from: interrupted.appendingPathComponent("last.safetensors"))
        let rest = try resumed.train()
        #expect(rest.last?.validationAccuracy == accuracy)
        let final = try resumed.trainer.currentModel().tensors
        for (path, tensor) in model.tensors { #expect(final[path]?.doubles == tensor.doubles, "\(path) differs after resuming") }
    }

    @Test("optimizer state follows renamed paths and is dropped for resized ones")
    func optimizerStateRemap() throws {
        let (train, _) = try Experiments.digits()
        var options = try TrainingOptions(epochs: 1, batchSize: 64, seed: 1)
        options.progress = .silent
        var trainer = Trainer(model: try Experiments.reluMLP(hidden: [16, 12], seed: 1), loss: SoftmaxCrossEntropy(), optimizer: try Adam(learningRate: 0.01), options: options)
        try trainer.fit(training: train)
        let before = trainer.optimizer.state
        #expect(before["4.weight.exp_avg"] != nil && before["4.weight.step"] != nil)

        // Deepening after layer 2 renumbers the last Dense from 4 to 6.
        let (deeper, report) = try Net2DeeperNet(layer: "2").apply(to: try trainer.currentModel(), probe: try train.features.rows(0..<64), seed: 2)
        trainer.replaceModel(deeper, pathMap: report.pathMap)
        var state = trainer.optimizer.state
        for slot in ["exp_avg", "exp_avg_sq", "step"] {
            #expect(state["6.weight.\(slot)"]?.doubles == before["4.weight.\(slot)"]?.doubles, "4.weight.\(slot) -> 6.weight.\(slot)")
            #expect(state["0.weight.\(slot)"]?.doubles == before["0.weight.\(slot)"]?.doubles)
            #expect(state["4.weight.\(slot)"] == nil, "the new layer starts without state")
        }
        // Training continues with the remapped state.
        trainer.options.epochs = 2
        try trainer.fit(training: train)

        // Widening layer 0 resizes 0.weight, 0.bias and 2.weight: all their slots go, step included.
        state = trainer.optimizer.state
        let (wider, widening) = try Net2WiderNet(layer: "0", units: 20).apply(to: try trainer.currentModel(), probe: try train.features.rows(0..<64), seed: 3)
        #expect(Set(widening.resized) == ["0.weight", "0.bias", "2.weight"])
        trainer.replaceModel(wider, pathMap: widening.pathMap)
        let after = trainer.optimizer.state
        for path in ["0.weight", "0.bias", "2.weight"] { #expect(!after.paths.contains { $0.hasPrefix(path + ".") }, "\(path) kept state") }
        for path in ["2.bias", "4.weight", "6.weight", "6.bias"] {
            #expect(after["\(path).exp_avg"]?.doubles == state["\(path).exp_avg"]?.doubles, "\(path) lost its state")
        }
        trainer.options.epochs = 3
        try trainer.fit(training: train)
        #expect(trainer.optimizer.state["0.weight.exp_avg"]?.shape == [20, 64])
    }

    @Test("saddle transform on a checkpoint: same accuracy, history recorded, refusals leave no file")
    func transformingACheckpoint() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let text = """
            {"seed": 2, "data": {"name": "digits"}, "model": [{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}],
             "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
             "train": {"epochs": 2, "batch_size": 32, "progress": "silent", "checkpoint_dir": "\(dir.url.path)"}}
            """
        var run = try Run(try RunConfiguration.decode(Array(text.utf8), registry: .builtin))
        try run.train()
        let source = dir.file("last.safetensors"), grown = dir.file("grown.safetensors")
        let original = try Run.evaluate(checkpoint: source, registry: .builtin)
        let spec = try JSONParser.parse(Array(#"{"name": "net2wider", "layer": "0", "units": 40}"#.utf8))
        let report = try Run.transform(checkpoint: source, spec: spec, output: grown, seed: 5, registry: .builtin)
        #expect(try #require(report.maxDeviation) < 1e-4)
        let transformed = try Run.evaluate(checkpoint: grown, registry: .builtin)
        #expect(transformed.accuracy == original.accuracy)
        #expect(Swift.abs(transformed.loss - original.loss) < 1e-5)
        let checkpoint = try Checkpoint.read(from: grown)
        #expect(checkpoint.tensors["0.weight"]?.shape == [40, 64])
        #expect(checkpoint.metadata["transforms"]?.contains("net2wider") == true)
        #expect(checkpoint.optimizerState["2.bias.momentum_buffer"] != nil)
        #expect(checkpoint.optimizerState["0.weight.momentum_buffer"] == nil)

        // Deepening the grown checkpoint replays the widening first.
        let deeper = dir.file("deeper.safetensors")
        let deepening = try JSONParser.parse(Array(#"{"name": "net2deeper", "layer": "0"}"#.utf8))
        try Run.transform(checkpoint: grown, spec: deepening, output: deeper, seed: 6, registry: .builtin)
        #expect(try Run.evaluate(checkpoint: deeper, registry: .builtin).accuracy == original.accuracy)
        #expect(try Checkpoint.read(from: deeper).metadata["transforms"]?.split(separator: "\n").count == 2)

        let refused = dir.file("refused.safetensors")
        for (bad, expected) in [
            (#"{"name": "net2wider", "layer": "5", "units": 40}"#, "no layer at path \"5\""),
            (#"{"name": "net2wider", "layer": "0", "units": 8}"#, "must be larger"),
            (#"{"name": "net2widr", "layer": "0", "units": 40}"#, "net2wider"),
        ] {
            #expect {
                try Run.transform(checkpoint: source, spec: try JSONParser.parse(Array(bad.utf8)), output: refused, registry: .builtin)
            } throws: { error in
                "\(error)".contains(expected)
            }
            #expect(!FileManager.default.fileExists(atPath: refused.path))
        }
    }
}
