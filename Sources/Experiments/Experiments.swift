import Foundation
import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers
import SaddleRegistry
import SaddleTraining

/// The experiments of the talk (../shared/EXPERIMENTS.md in the project's planning documents),
/// at laptop scale on the bundled digits, as functions that return their numbers. The tests
/// check the claims over 3 seeds; `saddle report` draws them.
public enum Experiments {
    /// Digits split 80/20 (split seed 0), standardized with the training part's statistics.
    public static func digits(dtype: DType = .float64) throws -> (train: Dataset, validation: Dataset) {
        let (train, validation) = try Digits.load().converted(to: dtype).split(validationFraction: 0.2, seed: 0)
        let scaler = try Standardization(fittedTo: train)
        return (try scaler.apply(to: train), try scaler.apply(to: validation))
    }

    /// A ReLU MLP 64 - hidden... - 10.
    public static func reluMLP(hidden: [Int], seed: UInt64, dtype: DType = .float64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        var layers: [any Layer] = []
        var inputs = 64
        for units in hidden {
            layers.append(try Dense(inputSize: inputs, units: units, dtype: dtype, using: &g))
            layers.append(ReLU())
            inputs = units
        }
        layers.append(try Dense(inputSize: inputs, units: 10, dtype: dtype, using: &g))
        return Sequential(layers)
    }

    /// Trains `model` with SGD (momentum 0.9 by default) and returns the trainer and the full
    /// training-set loss before training and after each epoch (inference mode).
    public static func trainRecordingLoss(
        _ model: any Layer, on train: Dataset, epochs: Int, learningRate: Double, momentum: Double = 0.9, batchSize: Int = 64, seed: UInt64
    ) throws -> (trainer: Trainer, losses: [Double]) {
        var options = try TrainingOptions(epochs: 1, batchSize: batchSize, seed: seed)
        options.progress = .silent
        var trainer = Trainer(
            model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate, momentum: momentum), options: options)
        var losses = [try trainer.evaluate(train).loss]
        for epoch in stride(from: 1, through: epochs, by: 1) {
            trainer.options.epochs = epoch
            try trainer.fit(training: train)
            losses.append(try trainer.evaluate(train).loss)
        }
        return (trainer, losses)
    }

    /// The experiments of `saddle report --quick`: digits and the toy problems, in report order.
    public static let quick = [
        "saddles", "newton_variants", "critical_points", "good_minima", "interpolation", "deep_linear", "batchnorm", "net2net",
        "residual", "curvature_training", "gradient_growth",
    ]

    /// The experiments `saddle report --full` adds: Fashion-MNIST conv nets.
    public static let fashion = ["fashion_interpolation", "fashion_net2net", "fashion_residual", "fashion_curvature"]

    /// Every experiment's identifier, in report order.
    public static let all = quick + fashion

    /// Runs the experiment `id` over `seeds` for the report, telling `progress` what it is doing.
    /// - Throws: `ExperimentError.unknown` for an unknown identifier; whatever training throws.
    public static func run(_ id: String, seeds: [UInt64], progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> ExperimentResult {
        guard !seeds.isEmpty else { throw ExperimentError.noSeeds }
        let context = ExperimentContext(seeds: seeds, progress: progress)
        let start = DispatchTime.now().uptimeNanoseconds
        var result: ExperimentResult
        switch id {
        case "saddles": result = try saddlesReport(context)
        case "newton_variants": result = try newtonVariantsReport(context)
        case "critical_points": result = try criticalPointsReport(context)
        case "good_minima": result = try goodMinimaReport(context)
        case "interpolation": result = try interpolationReport(context)
        case "deep_linear": result = try deepLinearReport(context)
        case "batchnorm": result = try batchNormReport(context)
        case "net2net": result = try net2NetReport(context)
        case "residual": result = try residualReport(context)
        case "curvature_training": result = try curvatureTrainingReport(context)
        case "gradient_growth": result = try gradientGrowthReport(context)
        case "fashion_interpolation": result = try fashionInterpolationReport(context)
        case "fashion_net2net": result = try fashionNet2NetReport(context)
        case "fashion_residual": result = try fashionResidualReport(context)
        case "fashion_curvature": result = try fashionCurvatureReport(context)
        default: throw ExperimentError.unknown(id: id, known: all)
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }
}

/// What an experiment of the report runs with: its seeds and where its progress goes.
public struct ExperimentContext: Sendable {
    /// The seeds every claim is checked over.
    public var seeds: [UInt64]
    /// Receives a line for each stage of a long experiment.
    public var progress: @Sendable (String) -> Void

    /// A context of `seeds` reporting to `progress`.
    public init(seeds: [UInt64], progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.seeds = seeds
        self.progress = progress
    }

    /// Tells the progress receiver about a stage.
    public func note(_ stage: String) { progress(stage) }
}

/// Why an experiment could not run.
public enum ExperimentError: Error, CustomStringConvertible {
    /// No experiment has the identifier `id`; `known` lists those that do exist.
    case unknown(id: String, known: [String])
    /// The list of seeds is empty.
    case noSeeds
    /// An experiment could not compute what it needed.
    case failed(String)

    /// The problem as a sentence, listing the experiments for an unknown identifier.
    public var description: String {
        switch self {
        case let .unknown(id, known): return "no experiment \"\(id)\"; the experiments are \(known.joined(separator: ", "))"
        case .noSeeds: return "an experiment needs at least one seed"
        case let .failed(reason): return "an experiment failed: \(reason)"
        }
    }
}

/// "a, b and c".
func list(_ values: [String]) -> String {
    values.count <= 1 ? values.joined() : values.dropLast().joined(separator: ", ") + " and " + (values.last ?? "")
}

func format(_ x: Double) -> String { String(format: "%.3g", x) }

/// "seed 1: a; seed 2: b" for values per seed.
func perSeed<T>(_ seeds: [UInt64], _ values: [T], _ describe: (T) -> String) -> String {
    zip(seeds, values).map { "seed \($0): \(describe($1))" }.joined(separator: "; ")
}

/// The mean of `values` (NaN when empty).
func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
