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
            return sign(try gradients(of: loss, wrt: [x])[0]) * epsilon
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

/// The cost at each point of a linear interpolation, with its sampling noise.
public struct InterpolationCurve: Sendable {
    /// The positions a.
    public var alphas: [Double]
    /// The mean training loss at each position (inference mode).
    public var losses: [Double]
    /// The standard error of each mean: the spread of the means of batches of 100 over the
    /// square root of their count.
    public var noise: [Double]
    /// The held-out loss at each position, when held-out data was given.
    public var validationLosses: [Double]

    /// The part of the curve from a = 0 to a = 1.
    public var unitInterval: (losses: [Double], noise: [Double]) {
        let inside = alphas.indices.filter { alphas[$0] >= -1e-12 && alphas[$0] <= 1 + 1e-12 }
        return (inside.map { losses[$0] }, inside.map { noise[$0] })
    }

    /// The loss at the position closest to `alpha`.
    public func loss(at alpha: Double) -> Double {
        alphas.indices.min { Swift.abs(alphas[$0] - alpha) < Swift.abs(alphas[$1] - alpha) }.map { losses[$0] } ?? .nan
    }
}

extension Experiments {
    /// a = -0.5, -0.45, ..., 1.5: the 41 positions of the interpolation figures.
    public static let interpolationLine = LinearInterpolation.alphas(from: -0.5, to: 1.5, count: 41)

    /// The mean cross-entropy of `model` on `data` and its standard error, from batches of `batchSize`.
    static func lossWithNoise(_ model: any Layer, on data: Dataset, batchSize: Int = 100) throws -> (loss: Double, noise: Double) {
        var means: [Double] = [], weights: [Double] = []
        try GradientRecording.withoutRecording {
            for start in stride(from: 0, to: data.count, by: batchSize) {
                let rows = start..<Swift.min(start + batchSize, data.count)
                means.append(try SoftmaxCrossEntropy()(try model(try data.features.rows(rows)), try data.labels.rows(rows)).item())
                weights.append(Double(rows.count))
            }
        }
        let total = weights.reduce(0, +)
        let average = zip(means, weights).map { $0 * $1 }.reduce(0, +) / total
        let variance = means.count > 1 ? means.map { ($0 - average) * ($0 - average) }.reduce(0, +) / Double(means.count - 1) : 0
        return (average, (variance / Double(means.count)).squareRoot())
    }

    /// The cost along the line from `start` to `end` at `alphas`, with its noise; running
    /// statistics (BatchNorm) are recomputed at every point from up to 2,000 training examples.
    /// `model` is not changed.
    public static func interpolationCurve(
        _ model: any Layer, from start: NamedTensors, to end: NamedTensors, alphas: [Double] = interpolationLine, training: Dataset,
        validation: Dataset? = nil
    ) throws -> InterpolationCurve {
        let calibration: [Tensor] = model.buffers.isEmpty
            ? [] : try stride(from: 0, to: Swift.min(2000, training.count), by: 500).map { try training.features.rows($0..<Swift.min($0 + 500, training.count, 2000)) }
        var curve = InterpolationCurve(alphas: alphas, losses: [], noise: [], validationLosses: [])
        for alpha in alphas {
            var point = try model.replacing(try start.scaled(by: 1 - alpha).adding(end, scaledBy: alpha))
            if !calibration.isEmpty { point = try point.recalibratingStatistics(on: calibration) }
            let (loss, noise) = try lossWithNoise(point, on: training)
            curve.losses.append(loss)
            curve.noise.append(noise)
            if let validation { curve.validationLosses.append(try lossWithNoise(point, on: validation).loss) }
        }
        return curve
    }

    /// `model` trained with SGD (momentum 0.9 and batch 32 unless given) for `epochs` epochs.
    static func trained(
        _ model: any Layer, on train: Dataset, epochs: Int, learningRate: Double, momentum: Double = 0.9, batchSize: Int = 32, seed: UInt64
    ) throws -> any Layer {
        var options = try TrainingOptions(epochs: epochs, batchSize: batchSize, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate, momentum: momentum), options: options)
        try trainer.fit(training: train)
        return try trainer.currentModel()
    }

    /// The kinds of model of the interpolation experiment.
    public static let interpolationKinds = ["relu", "sigmoid", "maxout", "lstm"]

    /// A freshly initialized model of `kind` ("relu": 64-128-10; "sigmoid": experiment 5's
    /// 64-100-100-100-10 sigmoid net from Gaussian weights of standard deviation 0.01; "maxout": dropout 0.2 on the input, 64 maxout units of 3 pieces, dropout
    /// 0.5; "lstm": 32 hidden units over the 8 image rows) and the Float32 digits in the form it reads.
    public static func interpolationModel(_ kind: String, seed: UInt64) throws -> (model: any Layer, train: Dataset, validation: Dataset) {
        var g = RandomGenerator(seed: seed)
        let (train, validation) = try digits(dtype: .float32)
        switch kind {
        case "maxout":
            return (try Sequential {
                try Dropout(rate: 0.2)
                try Maxout(inputSize: 64, units: 64, pieces: 3, using: &g)
                try Dropout(rate: 0.5)
                try Dense(inputSize: 64, units: 10, using: &g)
            }, train, validation)
        case "sigmoid":
            return (try sigmoidMLP(batchNorm: false, seed: seed), train, validation)
        case "lstm":
            return (
                try Sequential { try LSTM(inputSize: 8, hiddenSize: 32, using: &g); try Dense(inputSize: 32, units: 10, using: &g) },
                try train.reshapingExamples(to: [8, 8]), try validation.reshapingExamples(to: [8, 8])
            )
        default:
            return (try reluMLP(hidden: [128], seed: seed, dtype: .float32), train, validation)
        }
    }

    /// Experiment 3: the cost along the line through the initialization of a `kind` model and
    /// the solution SGD reaches (momentum 0.9, 10 epochs at learning rate 0.02; the LSTM 15 at
    /// 0.1; the sigmoid net 40 epochs of plain SGD at 2), at a = -0.5 ... 1.5.
    public static func interpolationFromInitialization(_ kind: String, seed: UInt64) throws -> (initial: any Layer, solution: any Layer, curve: InterpolationCurve) {
        let (initial, train, validation) = try interpolationModel(kind, seed: seed)
        let solution: any Layer
        switch kind {
        case "lstm": solution = try trained(initial, on: train, epochs: 15, learningRate: 0.1, seed: seed)
        case "sigmoid": solution = try trained(initial, on: train, epochs: 40, learningRate: 2, momentum: 0, seed: seed)
        default: solution = try trained(initial, on: train, epochs: 10, learningRate: 0.02, seed: seed)
        }
        let curve = try interpolationCurve(solution, from: initial.parameters, to: solution.parameters, training: train, validation: validation)
        return (initial, solution, curve)
    }

    /// Experiment 3: a deep linear model W = F_0 F_1 F_2 F_3 (rank 32, factors drawn with
    /// standard deviation 0.04, next to the saddle at the origin), trained 30 epochs; the
    /// training cost along the line through its initialization.
    public static func deepLinearInterpolation(seed: UInt64) throws -> InterpolationCurve {
        var g = RandomGenerator(seed: seed)
        let (train, _) = try digits(dtype: .float32)
        let initial = Sequential([try FactoredLinear(inputSize: 64, units: 10, rank: 32, depth: 4, initializer: .normal(standardDeviation: 0.04), using: &g)])
        let solution = try trained(initial, on: train, epochs: 30, learningRate: 0.01, seed: seed)
        return try interpolationCurve(solution, from: initial.parameters, to: solution.parameters, training: train)
    }

    /// Experiment 3: the training cost along the line between two ReLU MLPs trained from
    /// different initializations (seeds `seed` and `seed + 100`), a = -0.5 ... 1.5.
    public static func interpolationBetweenSolutions(seed: UInt64) throws -> InterpolationCurve {
        let (first, train, _) = try interpolationModel("relu", seed: seed)
        let (second, _, _) = try interpolationModel("relu", seed: seed + 100)
        let a = try trained(first, on: train, epochs: 10, learningRate: 0.02, seed: seed)
        let b = try trained(second, on: train, epochs: 10, learningRate: 0.02, seed: seed + 100)
        return try interpolationCurve(a, from: a.parameters, to: b.parameters, training: train)
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
    /// examples (epsilon 0.25): the training cost along the line through its initialization,
    /// and held-out accuracy on adversarial examples for it and for the plainly trained MLP.
    public static func adversarialInterpolation(seed: UInt64) throws -> (curve: InterpolationCurve, robustAccuracy: Double, plainAccuracy: Double) {
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
        let curve = try interpolationCurve(robust, from: initial.parameters, to: parameters, training: train)
        return (curve, try adversarialAccuracy(robust, validation, epsilon: 0.25), try adversarialAccuracy(plain, validation, epsilon: 0.25))
    }

    /// Whether a curve falls from a = 0 to a = 1 with no rise beyond its noise, and the run
    /// trained (its solution's loss at most `Verdict.trainedShare` of the start's).
    static func fallsWithoutBarrier(_ curve: InterpolationCurve) -> Bool {
        let unit = curve.unitInterval
        return Verdict.isMonotone(unit.losses, noise: unit.noise) && Verdict.trained(from: curve.loss(at: 0), to: curve.loss(at: 1))
    }

    /// The largest rise of a curve over a = 0 ... 1, in standard errors.
    static func largestRise(_ curve: InterpolationCurve) -> String {
        let unit = curve.unitInterval
        let rises = unit.losses.indices.dropFirst().map { (unit.losses[$0] - unit.losses[$0 - 1]) / Swift.max(unit.noise[$0], 1e-300) }
        return format(rises.max() ?? .nan)
    }

    static func interpolationReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        var checks: [Check] = []
        var fromInit: [String: InterpolationCurve] = [:]
        for kind in interpolationKinds {
            var curves: [InterpolationCurve] = []
            for seed in seeds {
                context.note("interpolation, \(kind), seed \(seed)")
                curves.append(try interpolationFromInitialization(kind, seed: seed).curve)
            }
            fromInit[kind] = curves[0]
            checks.append(Check(
                "\(kind): the cost falls from the initialization to the solution without a barrier (no rise beyond \(format(Verdict.noiseMultiple)) standard errors; the solution's loss at most \(format(Verdict.trainedShare)) of the start's)",
                curves.allSatisfy(fallsWithoutBarrier),
                perSeed(seeds, curves) { "from \(format($0.loss(at: 0))) to \(format($0.loss(at: 1))), largest rise \(largestRise($0)) standard errors" }))
            if kind == "sigmoid" {
                checks.append(Check(
                    "sigmoid: the cost rises on the far side of the initialization (a < 0)",
                    curves.allSatisfy { Verdict.risesBeyondNoise(from: $0.loss(at: 0), to: $0.loss(at: -0.5), noise: $0.noise.first ?? .nan) },
                    perSeed(seeds, curves) { "a = -0.5: \(format($0.loss(at: -0.5))), a = 0: \(format($0.loss(at: 0)))" }))
            }
        }
        context.note("interpolation, adversarial training")
        let adversarial = try seeds.map { try adversarialInterpolation(seed: $0) }
        checks.append(Check(
            "an adversarially trained MLP shows no barrier either (and beats plain training on its adversarial examples by \(format(100 * Verdict.robustnessGain)) points)",
            adversarial.allSatisfy { fallsWithoutBarrier($0.curve) && Verdict.resistsBetter($0.robustAccuracy, than: $0.plainAccuracy) },
            perSeed(seeds, adversarial) { String(format: "adversarial accuracy %.1f%% against %.1f%% for plain training; largest rise ", 100 * $0.robustAccuracy, 100 * $0.plainAccuracy) + largestRise($0.curve) }))
        context.note("interpolation, deep linear and between solutions")
        let deep = try seeds.map { try deepLinearInterpolation(seed: $0) }
        checks.append(Check(
            "a deep linear model from a small initialization is flat near a = 0 (the saddle at the origin: within \(format(100 * Verdict.flatness))% from a = 0 to 0.1)",
            deep.allSatisfy { Verdict.isFlat($0.loss(at: 0), $0.loss(at: 0.1)) && Verdict.trained(from: $0.loss(at: 0), to: $0.loss(at: 1)) },
            perSeed(seeds, deep) { "a = 0: \(format($0.loss(at: 0))), 0.1: \(format($0.loss(at: 0.1))), 0.2: \(format($0.loss(at: 0.2))), 1: \(format($0.loss(at: 1)))" }))
        let between = try seeds.map { try interpolationBetweenSolutions(seed: $0) }
        checks.append(Check(
            "between two independently trained solutions there is a barrier (the highest point above the ends by half the higher end, and beyond the noise)",
            between.allSatisfy { Verdict.hasBarrier($0.unitInterval.losses, noise: $0.unitInterval.noise) },
            perSeed(seeds, between) { "ends \(format($0.loss(at: 0))) and \(format($0.loss(at: 1))), highest \(format($0.unitInterval.losses.max() ?? .nan))" }))
        let path = try trainingTrajectory(seed: seeds[0])
        checks.append(Check(
            "training moves along the line steadily and strays from it in between (by more than \(format(100 * Verdict.offLineShare))% of its length)",
            zip(path.coordinates, path.coordinates.dropFirst()).allSatisfy { $1.alpha > $0.alpha }
                && Verdict.strays(path.coordinates[1..<10].map(\.offLine), length: path.length),
            "seed \(seeds[0]), after epoch 1: a \(format(path.coordinates[1].alpha)), \(format(path.coordinates[1].offLine)) off a line of length \(format(path.length))"))
        func series(_ name: String, _ curve: InterpolationCurve?) -> Figure.Series {
            Figure.Series(name, zip(curve?.alphas ?? [], curve?.losses ?? []).map { (x: $0, y: $1) })
        }
        return ExperimentResult(
            id: "interpolation", title: "3. Linear interpolation from initialization to solution",
            claim: "On the straight line from the initialization to the solution SGD finds, the cost of many networks falls monotonically: "
                + "no barrier, local minimum or saddle obstructs the path (Goodfellow, Vinyals and Saxe 2015, Qualitatively characterizing "
                + "neural network optimization problems); deep linear models show the flat region of the saddle at the origin, and between "
                + "two independently trained solutions there is a barrier.",
            method: "J((1 - a) theta_init + a theta_final) at a = -0.5, -0.45, ..., 1.5 (41 points) over the digits training set (1,437 "
                + "examples) in inference mode, with the standard error of the mean from batches of 100 as the noise; models: ReLU MLP "
                + "64-128-10, experiment 5's sigmoid MLP 64-100-100-100-10 from a small Gaussian start (40 epochs of plain SGD at "
                + "learning rate 2), maxout (64 units of 3 pieces, dropout 0.2 on the input and 0.5 on the hidden layer), "
                + "LSTM over the 8 rows, an adversarially trained ReLU MLP (half fast-gradient-sign examples, epsilon 0.25), and a rank-32 "
                + "depth-4 factored linear model from a small start. SGD with momentum 0.9, batch 32, 10 epochs (LSTM 15, deep linear 30). "
                + "Seeds \(list(seeds.map(String.init))).",
            departures: "The paper trained on MNIST (and CIFAR-10, Street View) with larger networks and tuned hyperparameters; these are "
                + "digits-scale models (experiment 8 repeats the conv-net cases on Fashion-MNIST). A rise counts as a barrier only "
                + "beyond \(format(Verdict.noiseMultiple)) standard errors of the mean, which the paper did not measure.",
            figures: [
                Figure(
                    title: "From initialization (seed \(seeds[0]))", xLabel: "a", yLabel: "training loss", logY: true,
                    series: interpolationKinds.map { series($0 == "relu" ? "ReLU MLP" : $0 == "lstm" ? "LSTM" : $0, fromInit[$0]) }
                        + [series("adversarial", adversarial[0].curve), series("deep linear", deep[0])]),
                Figure(title: "Between two solutions (seed \(seeds[0]))", xLabel: "a", yLabel: "training loss", series: [series("ReLU MLP", between[0])]),
                Figure(
                    title: "Training against the line (seed \(seeds[0]))", xLabel: "progress along the line (a)", yLabel: "distance off the line",
                    series: [Figure.Series("SGD, one point per epoch", path.coordinates.map { (x: $0.alpha, y: $0.offLine) })]),
            ],
            checks: checks)
    }
}
