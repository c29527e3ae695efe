import Saddle
import SaddleTestSupport
import Testing

/// Experiment 3 of EXPERIMENTS.md: linear interpolation (Goodfellow, Vinyals and Saxe 2015) on
/// digits.
@Suite("Linear interpolation on digits")
struct InterpolationTests {
    static let unit = LinearInterpolation.alphas(from: 0, to: 1, count: 11)

    /// Trains `model` (SGD, momentum 0.9, batch 32) and returns the trained model.
    func trained(_ model: any Layer, on train: Dataset, epochs: Int, learningRate: Double, seed: UInt64) throws -> any Layer {
        var options = try TrainingOptions(epochs: epochs, batchSize: 32, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate, momentum: 0.9), options: options)
        try trainer.fit(training: train)
        return try trainer.currentModel()
    }

    func models(_ kind: String, seed: UInt64) throws -> (any Layer, Dataset, Dataset) {
        var g = RandomGenerator(seed: seed)
        let (train, validation) = try standardizedDigits(seed: 0)
        switch kind {
        case "maxout":
            return (try Sequential { try Maxout(inputSize: 64, units: 64, pieces: 3, using: &g); try Dense(inputSize: 64, units: 10, using: &g) }, train, validation)
        case "lstm":
            let rows = { (d: Dataset) in try d.reshapingExamples(to: [8, 8]) }
            return (try Sequential { try LSTM(inputSize: 8, hiddenSize: 32, using: &g); try Dense(inputSize: 32, units: 10, using: &g) }, try rows(train), try rows(validation))
        default:
            return (try digitsMLP(seed: seed, hidden: 128), train, validation)
        }
    }

    @Test("from initialization to solution the training cost falls without a barrier", arguments: ["relu", "maxout", "lstm"], [UInt64(1), 2, 3])
    func noBarrierFromInitialization(kind: String, seed: UInt64) throws {
        let (initial, train, validation) = try models(kind, seed: seed)
        let solution = try trained(initial, on: train, epochs: kind == "lstm" ? 15 : 10, learningRate: kind == "lstm" ? 0.1 : 0.02, seed: seed)
        let before = solution.tensors
        let points = try LinearInterpolation.evaluate(
            model: solution, from: initial.parameters, to: solution.parameters, alphas: Self.unit, loss: SoftmaxCrossEntropy(),
            training: train, validation: validation)
        let losses = points.map(\.trainingLoss)
        print("\(kind) seed \(seed): \(losses)")
        for (a, b) in zip(losses, losses.dropFirst()) { #expect(b <= a + 0.01 * losses[0], "\(kind) seed \(seed): \(losses)") }
        #expect(losses.last! < 0.25 * losses.first!)
        #expect(try #require(points.last?.validationAccuracy) >= 0.9)
        for (path, tensor) in solution.tensors { #expect(before[path]?.floats == tensor.floats, "the analysis changed \(path)") }
    }

    /// W = F_0 F_1 F_2 F_3 with each factor drawn with standard deviation 0.04, so the model
    /// starts next to the saddle at the origin.
    @Test("a deep linear model from a small initialization is flat near the start (the saddle at the origin)", arguments: [UInt64(1), 2, 3])
    func deepLinearPlateau(seed: UInt64) throws {
        var g = RandomGenerator(seed: seed)
        let (train, _) = try standardizedDigits(seed: 0)
        let initial = Sequential([try FactoredLinear(inputSize: 64, units: 10, rank: 32, depth: 4, initializer: .normal(standardDeviation: 0.04), using: &g)])
        let solution = try trained(initial, on: train, epochs: 30, learningRate: 0.01, seed: seed)
        let losses = try LinearInterpolation.evaluate(
            model: solution, from: initial.parameters, to: solution.parameters, alphas: Self.unit, loss: SoftmaxCrossEntropy(), training: train
        ).map(\.trainingLoss)
        print("deep linear seed \(seed): \(losses)")
        // The product of four small factors barely moves at first: within 2% at alpha = 0.1 and
        // 10% at 0.2, where the ReLU MLP's cost has already fallen by about 20% and 40%.
        #expect(Swift.abs(losses[1] - losses[0]) <= 0.02 * losses[0], "not flat near alpha = 0: \(losses)")
        #expect(Swift.abs(losses[2] - losses[0]) <= 0.10 * losses[0], "not flat near alpha = 0: \(losses)")
        #expect(losses[10] < 0.3 * losses[0])
    }

    @Test("between two independently trained solutions there is a barrier", arguments: [UInt64(1), 2, 3])
    func barrierBetweenSolutions(seed: UInt64) throws {
        let (first, train, _) = try models("relu", seed: seed)
        let (second, _, _) = try models("relu", seed: seed + 100)
        let a = try trained(first, on: train, epochs: 10, learningRate: 0.02, seed: seed)
        let b = try trained(second, on: train, epochs: 10, learningRate: 0.02, seed: seed + 100)
        let losses = try LinearInterpolation.evaluate(
            model: a, from: a.parameters, to: b.parameters, alphas: Self.unit, loss: SoftmaxCrossEntropy(), training: train
        ).map(\.trainingLoss)
        print("barrier seed \(seed): \(losses)")
        let ends = max(losses[0], losses[10])
        #expect(losses[1..<10].max()! > 3 * ends, "no barrier: \(losses)")
    }

    /// The 2-D view: the parameters after each epoch, placed against the line from the
    /// initialization to the final parameters.
    @Test("training moves along the line steadily and strays from it in between", arguments: [UInt64(1), 2, 3])
    func trajectoryAgainstTheLine(seed: UInt64) throws {
        let (initial, train, _) = try models("relu", seed: seed)
        var options = try TrainingOptions(epochs: 1, batchSize: 32, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: initial, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: 0.02, momentum: 0.9), options: options)
        var snapshots = [initial.parameters]
        for epoch in 1...10 {
            trainer.options.epochs = epoch
            try trainer.fit(training: train)
            snapshots.append(trainer.parameters)
        }
        let path = try LinearInterpolation.coordinates(of: snapshots, from: snapshots[0], to: snapshots[10])
        let summary = "seed \(seed): \(path.map { "(\($0.alpha), \($0.offLine))" })"
        #expect(Swift.abs(path[0].alpha) < 1e-9 && path[0].offLine < 1e-6 && Swift.abs(path[10].alpha - 1) < 1e-9 && path[10].offLine < 1e-4, "\(summary)")
        for (a, b) in zip(path, path.dropFirst()) { #expect(b.alpha > a.alpha, "progress along the line goes back: \(summary)") }
        let distance = try snapshots[10].adding(snapshots[0], scaledBy: -1).norm
        #expect(path[1..<10].map(\.offLine).max()! > 0.05 * distance, "training never left the line: \(summary)")
    }

    /// Half clean, half fast-gradient-sign examples (x + epsilon sign(grad_x J), Goodfellow,
    /// Shlens and Szegedy 2015), the perturbation taken at the current parameters and not
    /// differentiated through.
    struct AdversarialObjective: Objective {
        let model: any Layer
        let input: Tensor
        let target: Tensor
        let epsilon: Double
        var parameters: NamedTensors { model.parameters }

        static func perturbation(_ model: any Layer, _ input: Tensor, _ target: Tensor, epsilon: Double) throws -> Tensor {
            try GradientRecording.withRecording {
                let x = input.recorded()
                let loss = try SoftmaxCrossEntropy()(model(x), target)
                return try sign(try gradients(of: loss, wrt: [x])[0]) * epsilon
            }.detached
        }

        func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
            let evaluated = try model.replacing(parameters)
            let shift = try Self.perturbation(try model.replacing(parameters.detached), input, target, epsilon: epsilon)
            let clean = try SoftmaxCrossEntropy()(evaluated(input), target)
            let adversarial = try SoftmaxCrossEntropy()(evaluated(input + shift), target)
            return ObjectiveOutput(loss: try (clean + adversarial) * 0.5)
        }
    }

    /// Accuracy on fast-gradient-sign examples of `data` against `model` itself.
    func adversarialAccuracy(_ model: any Layer, _ data: Dataset, epsilon: Double) throws -> Double {
        let shifted = try data.features + AdversarialObjective.perturbation(model, data.features, data.labels, epsilon: epsilon)
        let predicted = try GradientRecording.withoutRecording { try model(shifted).argmax(alongAxis: 1).doubles }
        return Double(zip(predicted, data.labels.doubles).filter { $0 == $1 }.count) / Double(data.count)
    }

    @Test("an adversarially trained MLP shows no barrier from its initialization either", arguments: [UInt64(1), 2, 3])
    func adversarialTraining(seed: UInt64) throws {
        let (initial, train, validation) = try models("relu", seed: seed)
        var parameters = initial.parameters
        var sgd = try SGD(learningRate: 0.02, momentum: 0.9)
        var g = RandomGenerator(seed: seed)
        for _ in 0..<10 {
            for batch in try train.batches(size: 32, shuffle: true, using: &g) {
                let objective = AdversarialObjective(model: initial, input: batch.features, target: batch.labels, epsilon: 0.25)
                _ = try sgd.step(&parameters, objective: objective)
            }
        }
        let robust = try initial.replacing(parameters)
        let plain = try trained(initial, on: train, epochs: 10, learningRate: 0.02, seed: seed)
        // The training did what it is for: more accurate on its own adversarial examples.
        let robustAccuracy = try adversarialAccuracy(robust, validation, epsilon: 0.25)
        let plainAccuracy = try adversarialAccuracy(plain, validation, epsilon: 0.25)
        #expect(robustAccuracy > plainAccuracy + 0.1, "adversarial accuracy: robust \(robustAccuracy), plain \(plainAccuracy)")
        let losses = try LinearInterpolation.evaluate(
            model: robust, from: initial.parameters, to: parameters, alphas: Self.unit, loss: SoftmaxCrossEntropy(), training: train
        ).map(\.trainingLoss)
        for (a, b) in zip(losses, losses.dropFirst()) { #expect(b <= a + 0.01 * losses[0], "seed \(seed): \(losses)") }
        #expect(losses.last! < 0.25 * losses.first!)
    }

    @Test("running statistics are recomputed for the weights in between")
    func batchNormStatisticsRecomputed() throws {
        var g = RandomGenerator(seed: 4)
        let (train, _) = try standardizedDigits(seed: 0)
        let model = try Sequential {
            try Dense(inputSize: 64, units: 16, using: &g)
            try BatchNorm(featureCount: 16)
            ReLU()
            try Dense(inputSize: 16, units: 10, using: &g)
        }
        // One batch: the statistics become that batch's mean and unbiased variance.
        let x = try train.features.rows(0..<600)
        let calibrated = try model.recalibratingStatistics(on: [x])
        let h = try model.parameters.isEmpty ? x : Dense(weight: try #require(model.tensors["0.weight"]), bias: model.tensors["0.bias"])(x)
        let mean = try h.mean(alongAxis: 0)
        let unbiased = try (h - mean).squared().sum(alongAxis: 0) / 599
        #expect(TestSupport.maxAbsDifference(try #require(calibrated.tensors["1.running_mean"]).doubles, mean.doubles) <= 1e-5)
        #expect(TestSupport.maxAbsDifference(try #require(calibrated.tensors["1.running_var"]).doubles, unbiased.doubles) <= 1e-4)
        // Several batches: the size-weighted average of their statistics.
        let parts = [try x.rows(0..<200), try x.rows(200..<600)]
        let averaged = try model.recalibratingStatistics(on: parts)
        let partMeans = try parts.map { try Dense(weight: try #require(model.tensors["0.weight"]), bias: model.tensors["0.bias"])($0).mean(alongAxis: 0) }
        let expected = try partMeans[0] * (1.0 / 3) + partMeans[1] * (2.0 / 3)
        #expect(TestSupport.maxAbsDifference(try #require(averaged.tensors["1.running_mean"]).doubles, expected.doubles) <= 1e-5)
        // The model itself keeps its statistics.
        #expect(model.tensors["1.running_mean"]?.doubles == [Double](repeating: 0, count: 16))
    }
}
