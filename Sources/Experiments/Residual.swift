import SaddleCore
import SaddleLayers

/// Training-set losses and final held-out accuracies of a deep plain net, the same depth as
/// zero-initialized residual blocks, and a shallow net.
public struct DepthComparison: Sendable {
    /// The seed of the three models' initializations and of their training.
    public var seed: UInt64
    /// The plain deep net's training losses (before training and after each epoch) and final held-out accuracy.
    public var plain: (losses: [Double], accuracy: Double)
    /// The same for the net of zero-initialized residual blocks.
    public var residual: (losses: [Double], accuracy: Double)
    /// The same for the shallow 64-32-10 net.
    public var shallow: (losses: [Double], accuracy: Double)
}

extension Experiments {
    /// Experiment 6: thirty Dense layers of width 32 (PyTorch's default initialization) on
    /// digits, stacked plainly with ReLU or as 14 residual blocks x + W2 relu(W1 x) whose W2
    /// starts at zero, against the shallow 64-32-10 net; SGD (0.01, momentum 0.9), 10 epochs.
    public static func residualDepth(seed: UInt64) throws -> DepthComparison {
        let width = 32
        let (train, validation) = try digits()
        var g = RandomGenerator(seed: seed)
        var plain: [any Layer] = [try Dense(inputSize: 64, units: width, dtype: .float64, using: &g), ReLU()]
        for _ in 0..<28 { plain += [try Dense(inputSize: width, units: width, dtype: .float64, using: &g), ReLU()] }
        plain.append(try Dense(inputSize: width, units: 10, dtype: .float64, using: &g))
        g = RandomGenerator(seed: seed)
        var residual: [any Layer] = [try Dense(inputSize: 64, units: width, dtype: .float64, using: &g), ReLU()]
        for _ in 0..<14 {
            let inner = try Dense(inputSize: width, units: width, dtype: .float64, using: &g)
            let last = try Dense(inputSize: width, units: width, dtype: .float64, using: &g).zeroLayer()
            residual.append(Residual(Sequential([inner, ReLU(), last])))
        }
        residual.append(try Dense(inputSize: width, units: 10, dtype: .float64, using: &g))
        func run(_ model: any Layer) throws -> (losses: [Double], accuracy: Double) {
            let (trainer, losses) = try trainRecordingLoss(model, on: train, epochs: 10, learningRate: 0.01, seed: seed)
            return (losses, try trainer.evaluate(validation).accuracy ?? 0)
        }
        return DepthComparison(
            seed: seed, plain: try run(Sequential(plain)), residual: try run(Sequential(residual)),
            shallow: try run(try reluMLP(hidden: [width], seed: seed)))
    }

    static func residualReport(seeds: [UInt64]) throws -> ExperimentResult {
        let runs = try seeds.map { try residualDepth(seed: $0) }
        func accuracies(_ pick: (DepthComparison) -> (losses: [Double], accuracy: Double)) -> String {
            runs.map { String(format: "%.1f%%", 100 * pick($0).accuracy) }.joined(separator: ", ")
        }
        let checks = [
            Check(
                "the plain 30-layer net barely trains", runs.allSatisfy { $0.plain.losses[10] > 0.5 * $0.plain.losses[0] && $0.plain.accuracy < 0.5 },
                "held-out accuracy \(accuracies(\.plain)); final training loss \(runs.map { format($0.plain.losses[10]) }.joined(separator: ", "))"),
            Check(
                "the same depth as zero-initialized residual blocks trains like a shallow net",
                runs.allSatisfy { $0.residual.accuracy >= 0.93 && $0.residual.accuracy >= $0.shallow.accuracy - 0.02 },
                "residual \(accuracies(\.residual)); shallow \(accuracies(\.shallow))"),
        ]
        let first = runs[0]
        return ExperimentResult(
            id: "residual", title: "6. Residual nets: a deep program initialized to no-ops",
            description: "Thirty Dense layers of width 32 on digits, plain or as residual blocks whose branch's last layer starts at zero, "
                + "beside a shallow 64-32-10 net; SGD with momentum, 10 epochs.",
            figures: [Figure(
                title: "30 layers on digits (seed \(first.seed))", xLabel: "epoch", yLabel: "training loss", logY: true,
                series: [
                    Figure.Series("plain", values: first.plain.losses), Figure.Series("residual", values: first.residual.losses),
                    Figure.Series("shallow", values: first.shallow.losses),
                ])],
            checks: checks)
    }
}
