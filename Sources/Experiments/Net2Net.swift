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

    static func net2NetReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        var checks: [Check] = []
        var figures: [Figure] = []
        for (name, run) in [("Net2Wider", net2Wider), ("Net2Deeper", net2Deeper)] {
            var comparisons: [GrowthComparison] = []
            for seed in seeds {
                context.note("\(name), seed \(seed)")
                comparisons.append(try run(seed))
            }
            checks.append(Check(
                "the \(name) student starts at the teacher's training loss (to \(Verdict.preservationFloat64), relative)",
                comparisons.allSatisfy { Verdict.preserves($0.student[0], $0.teacherLoss, tolerance: Verdict.preservationFloat64) },
                perSeed(seeds, comparisons) { "teacher \(format($0.teacherLoss)), student \(format($0.student[0]))" }))
            checks.append(Check(
                "the \(name) student stays below \(list(comparisons[0].baselines.map(\.name))) at every epoch",
                comparisons.allSatisfy { Verdict.staysBelow($0.student, $0.baselines.map(\.losses)) },
                perSeed(seeds, comparisons) { c in
                    "epoch 10: student \(format(c.student.last ?? .nan)), " + c.baselines.map { "\($0.name) \(format($0.losses.last ?? .nan))" }.joined(separator: ", ")
                }))
            let first = comparisons[0]
            figures.append(Figure(
                title: "\(name) on digits (seed \(first.seed))", xLabel: "epoch after growing", yLabel: "training loss", logY: true,
                series: [Figure.Series("student", values: first.student)] + first.baselines.map { Figure.Series($0.name, values: $0.losses) }))
        }
        return ExperimentResult(
            id: "net2net", title: "7. Net2Net: growing a trained network",
            claim: "A function-preserving transformation lets a larger student start exactly where its trained teacher is and then train "
                + "faster than the same architecture from random initialization or with randomly initialized new units (Chen, Goodfellow "
                + "and Shlens 2016, Net2Net, Figures 5 and 6).",
            method: "A ReLU MLP teacher on the digits (Float64, SGD with momentum 0.9, 10 epochs) is widened from 12 to 36 units "
                + "(Net2WiderNet with an unequal split) or deepened by an identity ReLU layer (Net2DeeperNet); the student and the "
                + "baselines (random pad or a random new layer, and the larger net from random initialization) train 10 more epochs. "
                + "Seeds \(list(seeds.map(String.init))).",
            departures: "Chen et al. grew Inception networks on ImageNet and measured validation accuracy against wall time; here digits "
                + "MLPs and the training loss per epoch. Experiment 8b grows a conv net on Fashion-MNIST and measures wall time.",
            figures: figures, checks: checks)
    }
}
