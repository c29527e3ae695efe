import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers
import SaddleTraining

/// Half clean, half fast-gradient-sign examples x + epsilon sign(grad_x J) (Goodfellow,
/// Shlens and Szegedy 2015), the perturbation taken at the current parameters and not
/// differentiated through; softmax cross-entropy.
public struct FastGradientSignObjective: Objective {
    /// The classifier whose parameters are evaluated.
    public let model: any Layer
    /// The clean examples.
    public let input: Tensor
    /// Their class labels.
    public let target: Tensor
    /// The size of the perturbation epsilon sign(grad_x J).
    public let epsilon: Double
    /// The model's own parameters.
    public var parameters: NamedTensors { model.parameters }

    /// The objective of `model` on `input` and `target`, perturbed by `epsilon`.
    public init(model: any Layer, input: Tensor, target: Tensor, epsilon: Double) {
        self.model = model
        self.input = input
        self.target = target
        self.epsilon = epsilon
    }

    /// epsilon sign(grad_x J(model(x), target)).
    /// - Throws: whatever the model throws.
    public static func perturbation(_ model: any Layer, _ input: Tensor, _ target: Tensor, epsilon: Double) throws -> Tensor {
        try GradientRecording.withRecording {
            let x = input.recorded()
            let loss = try SoftmaxCrossEntropy()(model(x), target)
            return try sign(try gradients(of: loss, wrt: [x])[0]) * epsilon
        }.detached
    }

    /// The mean of the clean and the perturbed softmax cross-entropy at `parameters` (inference mode),
    /// the perturbation taken at their detached values.
    /// - Throws: whatever the model throws.
    public func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        let evaluated = try model.replacing(parameters)
        let shift = try Self.perturbation(try model.replacing(parameters.detached), input, target, epsilon: epsilon)
        let clean = try SoftmaxCrossEntropy()(evaluated(input), target)
        let adversarial = try SoftmaxCrossEntropy()(evaluated(input + shift), target)
        return ObjectiveOutput(loss: try (clean + adversarial) * 0.5)
    }
}

extension Experiments {
    static let unitLine = LinearInterpolation.alphas(from: 0, to: 1, count: 11)

    /// `model` trained with SGD (momentum 0.9, batch 32) for `epochs` epochs.
    static func trained(_ model: any Layer, on train: Dataset, epochs: Int, learningRate: Double, seed: UInt64) throws -> any Layer {
        var options = try TrainingOptions(epochs: epochs, batchSize: 32, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate, momentum: 0.9), options: options)
        try trainer.fit(training: train)
        return try trainer.currentModel()
    }

    /// A freshly initialized model of `kind` ("relu": 64-128-10, "maxout": 64 units of 3
    /// pieces, "lstm": 32 hidden units over the 8 image rows) and the Float32 digits in the
    /// form it reads.
    public static func interpolationModel(_ kind: String, seed: UInt64) throws -> (model: any Layer, train: Dataset, validation: Dataset) {
        var g = RandomGenerator(seed: seed)
        let (train, validation) = try digits(dtype: .float32)
        switch kind {
        case "maxout":
            return (try Sequential { try Maxout(inputSize: 64, units: 64, pieces: 3, using: &g); try Dense(inputSize: 64, units: 10, using: &g) }, train, validation)
        case "lstm":
            return (
                try Sequential { try LSTM(inputSize: 8, hiddenSize: 32, using: &g); try Dense(inputSize: 32, units: 10, using: &g) },
                try train.reshapingExamples(to: [8, 8]), try validation.reshapingExamples(to: [8, 8])
            )
        default:
            return (try reluMLP(hidden: [128], seed: seed, dtype: .float32), train, validation)
        }
    }

    /// Experiment 3: the cost along the line from the initialization of a `kind` model to the
    /// solution SGD reaches (10 epochs; 15 for the LSTM), at alpha = 0, 0.1, ..., 1.
    public static func interpolationFromInitialization(_ kind: String, seed: UInt64) throws -> (initial: any Layer, solution: any Layer, points: [InterpolationPoint]) {
        let (initial, train, validation) = try interpolationModel(kind, seed: seed)
        let solution = try trained(initial, on: train, epochs: kind == "lstm" ? 15 : 10, learningRate: kind == "lstm" ? 0.1 : 0.02, seed: seed)
        let points = try LinearInterpolation.evaluate(
            model: solution, from: initial.parameters, to: solution.parameters, alphas: unitLine, loss: SoftmaxCrossEntropy(),
            training: train, validation: validation)
        return (initial, solution, points)
    }

    /// Experiment 3: a deep linear model W = F_0 F_1 F_2 F_3 (rank 32, factors drawn with
    /// standard deviation 0.04, next to the saddle at the origin), trained 30 epochs; the
    /// training cost along the line from its initialization.
    public static func deepLinearInterpolation(seed: UInt64) throws -> [Double] {
        var g = RandomGenerator(seed: seed)
        let (train, _) = try digits(dtype: .float32)
        let initial = Sequential([try FactoredLinear(inputSize: 64, units: 10, rank: 32, depth: 4, initializer: .normal(standardDeviation: 0.04), using: &g)])
        let solution = try trained(initial, on: train, epochs: 30, learningRate: 0.01, seed: seed)
        return try LinearInterpolation.evaluate(
            model: solution, from: initial.parameters, to: solution.parameters, alphas: unitLine, loss: SoftmaxCrossEntropy(), training: train
        ).map(\.trainingLoss)
    }

    /// Experiment 3: the training cost along the line between two ReLU MLPs trained from
    /// different initializations (seeds `seed` and `seed + 100`).
    public static func interpolationBetweenSolutions(seed: UInt64) throws -> [Double] {
        let (first, train, _) = try interpolationModel("relu", seed: seed)
        let (second, _, _) = try interpolationModel("relu", seed: seed + 100)
        let a = try trained(first, on: train, epochs: 10, learningRate: 0.02, seed: seed)
        let b = try trained(second, on: train, epochs: 10, learningRate: 0.02, seed: seed + 100)
        return try LinearInterpolation.evaluate(
            model: a, from: a.parameters, to: b.parameters, alphas: unitLine, loss: SoftmaxCrossEntropy(), training: train
        ).map(\.trainingLoss)
    }

    /// Experiment 3's 2-D view: the parameters after each of 10 epochs of SGD on the ReLU MLP,
    /// placed against the line from the initialization to the final parameters, with that
    /// line's length.
    public static func trainingTrajectory(seed: UInt64) throws -> (coordinates: [(alpha: Double, offLine: Double)], length: Double) {
        let (initial, train, _) = try interpolationModel("relu", seed: seed)
        var options = try TrainingOptions(epochs: 1, batchSize: 32, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: initial, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: 0.02, momentum: 0.9), options: options)
        var snapshots = [initial.parameters]
        for epoch in 1...10 {
            trainer.options.epochs = epoch
            try trainer.fit(training: train)
            snapshots.append(trainer.parameters)
        }
        let coordinates = try LinearInterpolation.coordinates(of: snapshots, from: snapshots[0], to: snapshots[10])
        return (coordinates, try snapshots[10].adding(snapshots[0], scaledBy: -1).norm)
    }

    /// Accuracy of `model` on fast-gradient-sign examples of `data` against itself.
    public static func adversarialAccuracy(_ model: any Layer, _ data: Dataset, epsilon: Double) throws -> Double {
        let shifted = try data.features + FastGradientSignObjective.perturbation(model, data.features, data.labels, epsilon: epsilon)
        let predicted = try GradientRecording.withoutRecording { try model(shifted).argmax(alongAxis: 1).doubles }
        return Double(zip(predicted, data.labels.doubles).filter { $0 == $1 }.count) / Double(data.count)
    }

    /// Experiment 3: a ReLU MLP trained 10 epochs on half clean, half fast-gradient-sign
    /// examples (epsilon 0.25): the training cost along the line from its initialization, and
    /// held-out accuracy on adversarial examples for it and for the plainly trained MLP.
    public static func adversarialInterpolation(seed: UInt64) throws -> (losses: [Double], robustAccuracy: Double, plainAccuracy: Double) {
        let (initial, train, validation) = try interpolationModel("relu", seed: seed)
        var parameters = initial.parameters
        var sgd = try SGD(learningRate: 0.02, momentum: 0.9)
        var g = RandomGenerator(seed: seed)
        for _ in 0..<10 {
            let plan = try train.batchPlan(size: 32, shuffle: true, using: &g)
            for index in 0..<plan.count {
                let batch = try plan.batch(index)
                _ = try sgd.step(&parameters, objective: FastGradientSignObjective(model: initial, input: batch.features, target: batch.labels, epsilon: 0.25))
            }
        }
        let robust = try initial.replacing(parameters)
        let plain = try trained(initial, on: train, epochs: 10, learningRate: 0.02, seed: seed)
        let losses = try LinearInterpolation.evaluate(
            model: robust, from: initial.parameters, to: parameters, alphas: unitLine, loss: SoftmaxCrossEntropy(), training: train
        ).map(\.trainingLoss)
        return (losses, try adversarialAccuracy(robust, validation, epsilon: 0.25), try adversarialAccuracy(plain, validation, epsilon: 0.25))
    }

    /// Whether `losses` never rise by more than 1% of the first.
    static func roughlyMonotone(_ losses: [Double]) -> Bool {
        zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 + 0.01 * losses[0] }
    }

    static func interpolationReport(seeds: [UInt64]) throws -> ExperimentResult {
        var checks: [Check] = []
        var fromInit: [String: [Double]] = [:]
        for kind in ["relu", "maxout", "lstm"] {
            let runs = try seeds.map { try interpolationFromInitialization(kind, seed: $0).points.map(\.trainingLoss) }
            fromInit[kind] = runs[0]
            checks.append(Check(
                "\(kind): the cost falls from the initialization to the solution without a barrier",
                runs.allSatisfy { roughlyMonotone($0) && $0[10] < 0.25 * $0[0] },
                runs.map { "from \(format($0[0])) to \(format($0[10]))" }.joined(separator: "; ")))
        }
        let adversarial = try seeds.map { try adversarialInterpolation(seed: $0) }
        checks.append(Check(
            "an adversarially trained MLP shows no barrier either (and resists its adversarial examples better)",
            adversarial.allSatisfy { roughlyMonotone($0.losses) && $0.robustAccuracy > $0.plainAccuracy + 0.1 },
            adversarial.map { String(format: "adversarial accuracy %.1f%% against %.1f%% for plain training", 100 * $0.robustAccuracy, 100 * $0.plainAccuracy) }
                .joined(separator: "; ")))
        let deep = try seeds.map { try deepLinearInterpolation(seed: $0) }
        checks.append(Check(
            "a deep linear model from a small initialization is flat near alpha = 0 (the saddle at the origin)",
            deep.allSatisfy { Swift.abs($0[1] - $0[0]) <= 0.02 * $0[0] && Swift.abs($0[2] - $0[0]) <= 0.1 * $0[0] && $0[10] < 0.3 * $0[0] },
            deep.map { "alpha 0: \(format($0[0])), 0.1: \(format($0[1])), 0.2: \(format($0[2])), 1: \(format($0[10]))" }.joined(separator: "; ")))
        let between = try seeds.map { try interpolationBetweenSolutions(seed: $0) }
        checks.append(Check(
            "between two independently trained solutions there is a barrier",
            between.allSatisfy { ($0[1..<10].max() ?? 0) > 3 * Swift.max($0[0], $0[10]) },
            between.map { "ends \(format($0[0])) and \(format($0[10])), highest \(format($0[1..<10].max() ?? 0))" }.joined(separator: "; ")))
        let path = try trainingTrajectory(seed: seeds[0])
        checks.append(Check(
            "training moves along the line steadily and strays from it in between",
            zip(path.coordinates, path.coordinates.dropFirst()).allSatisfy { $1.alpha > $0.alpha }
                && (path.coordinates[1..<10].map(\.offLine).max() ?? 0) > 0.05 * path.length,
            "after epoch 1: alpha \(format(path.coordinates[1].alpha)), \(format(path.coordinates[1].offLine)) off a line of length \(format(path.length))"))
        let alphas = unitLine
        func series(_ name: String, _ losses: [Double]) -> Figure.Series { Figure.Series(name, Array(zip(alphas, losses)).map { (x: $0.0, y: $0.1) }) }
        return ExperimentResult(
            id: "interpolation", title: "3. Linear interpolation from initialization to solution",
            description: "J((1 - a) theta_init + a theta_final) over the digits training set in inference mode (Goodfellow, Vinyals and Saxe 2015), "
                + "for ReLU, maxout and LSTM models, an adversarially trained MLP, a deep linear model from a small start, and between two solutions.",
            figures: [
                Figure(
                    title: "From initialization (seed \(seeds[0]))", xLabel: "alpha", yLabel: "training loss", logY: true,
                    series: [series("ReLU MLP", fromInit["relu"] ?? []), series("maxout", fromInit["maxout"] ?? []), series("LSTM", fromInit["lstm"] ?? []),
                             series("adversarial", adversarial[0].losses), series("deep linear", deep[0])]),
                Figure(title: "Between two solutions (seed \(seeds[0]))", xLabel: "alpha", yLabel: "training loss", series: [series("ReLU MLP", between[0])]),
                Figure(
                    title: "Training against the line (seed \(seeds[0]))", xLabel: "progress along the line (alpha)", yLabel: "distance off the line",
                    series: [Figure.Series("SGD, one point per epoch", path.coordinates.map { (x: $0.alpha, y: $0.offLine) })]),
            ],
            checks: checks)
    }
}
