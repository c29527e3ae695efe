import SaddleCore
import SaddleData
import SaddleTraining
import SaddleTransforms

/// Training-set losses (before training and after each epoch) of a grown student and its
/// baselines, continuing from one teacher.
public struct GrowthComparison: Sendable {
    /// The seed of the teacher's initialization and training; the other runs derive theirs from it.
    public var seed: UInt64
    /// The teacher's training loss when it was grown.
    public var teacherLoss: Double
    /// The grown student's training losses, before training and after each epoch.
    public var student: [Double]
    /// Baselines by name ("random pad", "random init", "random layer").
    public var baselines: [(name: String, losses: [Double])]
}

extension Experiments {
    /// Experiment 5, Net2WiderNet (Chen, Goodfellow and Shlens 2016): a 64-12-10 ReLU teacher
    /// trained 10 epochs (SGD, learning rate 0.01, momentum 0.9, Float64) is widened to 36
    /// units with the function-preserving unequal split (0.5), and trained 10 more epochs
    /// beside the 64-36-10 model from random init and random pad, with the same optimizer and
    /// shuffling for all three.
    public static func net2Wider(seed: UInt64) throws -> GrowthComparison {
        let (train, _) = try digits()
        let rate = 0.01
        let (teacherTrainer, teacherLosses) = try trainRecordingLoss(try reluMLP(hidden: [12], seed: seed), on: train, epochs: 10, learningRate: rate, seed: seed)
        let teacher = try teacherTrainer.currentModel()
        let probe = try train.features.rows(0..<256)
        let student = try Net2WiderNet(layer: "0", units: 36, split: 0.5).apply(to: teacher, probe: probe, seed: seed).model
        let pad = try RandomPadWidening(layer: "0", units: 36).apply(to: teacher, probe: probe, seed: seed).model
        return GrowthComparison(
            seed: seed, teacherLoss: teacherLosses[teacherLosses.count - 1],
            student: try trainRecordingLoss(student, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses,
            baselines: [
                ("random pad", try trainRecordingLoss(pad, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses),
                ("random init", try trainRecordingLoss(try reluMLP(hidden: [36], seed: seed + 20), on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses),
            ])
    }

    /// Experiment 5, Net2DeeperNet: a 64-24-10 ReLU teacher trained 10 epochs gets an identity
    /// ReLU layer of 24 units; 10 more epochs beside the same layer inserted at random and the
    /// 64-24-24-10 model from random init.
    public static func net2Deeper(seed: UInt64) throws -> GrowthComparison {
        let (train, _) = try digits()
        let rate = 0.01
        let (teacherTrainer, teacherLosses) = try trainRecordingLoss(try reluMLP(hidden: [24], seed: seed), on: train, epochs: 10, learningRate: rate, seed: seed)
        let teacher = try teacherTrainer.currentModel()
        let probe = try train.features.rows(0..<256)
        let student = try Net2DeeperNet(layer: "0").apply(to: teacher, probe: probe, seed: seed).model
        let random = try RandomDeeper(layer: "0").apply(to: teacher, probe: probe, seed: seed).model
        return GrowthComparison(
            seed: seed, teacherLoss: teacherLosses[teacherLosses.count - 1],
            student: try trainRecordingLoss(student, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses,
            baselines: [
                ("random layer", try trainRecordingLoss(random, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses),
                ("random init", try trainRecordingLoss(try reluMLP(hidden: [24, 24], seed: seed + 20), on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses),
            ])
    }

    static func net2NetReport(seeds: [UInt64]) throws -> ExperimentResult {
        var checks: [Check] = []
        var figures: [Figure] = []
        for (name, run) in [("Net2Wider", net2Wider), ("Net2Deeper", net2Deeper)] {
            let comparisons = try seeds.map { try run($0) }
            let starts = comparisons.allSatisfy { Swift.abs($0.student[0] - $0.teacherLoss) <= 1e-10 * $0.teacherLoss }
            checks.append(Check(
                "the \(name) student starts at the teacher's training loss", starts,
                comparisons.map { "seed \($0.seed): teacher \(format($0.teacherLoss)), student \(format($0.student[0]))" }.joined(separator: "; ")))
            let below = comparisons.allSatisfy { c in c.baselines.allSatisfy { b in zip(c.student, b.losses).allSatisfy { $0 < $1 } } }
            checks.append(Check(
                "the \(name) student stays below \(list(comparisons[0].baselines.map(\.name))) at every epoch", below,
                comparisons.map { c in
                    "seed \(c.seed), epoch 10: student \(format(c.student[c.student.count - 1])), "
                        + c.baselines.map { "\($0.name) \(format($0.losses[$0.losses.count - 1]))" }.joined(separator: ", ")
                }.joined(separator: "; ")))
            let first = comparisons[0]
            figures.append(Figure(
                title: "\(name) on digits (seed \(first.seed))", xLabel: "epoch after growing", yLabel: "training loss", logY: true,
                series: [Figure.Series("student", values: first.student)] + first.baselines.map { Figure.Series($0.name, values: $0.losses) }))
        }
        return ExperimentResult(
            id: "net2net", title: "5. Net2Net: growing a trained network",
            description: "A trained ReLU teacher is widened (12 to 36 units, Net2WiderNet with a function-preserving unequal split) or deepened "
                + "(an identity ReLU layer, Net2DeeperNet); the student trains 10 more epochs beside the same architectures started at random.",
            figures: figures, checks: checks)
    }
}
