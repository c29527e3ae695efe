import Foundation
import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers
import SaddleTraining

/// The Hessian's extremes and negative mass at one point of training.
public struct CurvatureSnapshot: Sendable {
    /// The epochs of training done.
    public var epoch: Int
    /// The training loss on the probe examples.
    public var loss: Double
    /// The largest and smallest eigenvalues (Lanczos).
    public var largest: Double, smallest: Double
    /// The share of the spectral density below zero (stochastic Lanczos quadrature).
    public var negativeMass: Double
    /// The density itself.
    public var density: SpectralDensity
}

/// One epoch of the gradient-norm experiment.
public struct GradientEpoch: Sendable {
    /// The mean norm of the mini-batch gradients the optimizer saw during the epoch.
    public var meanGradientNorm: Double
    /// The mean training loss over the epoch's mini-batches.
    public var trainingLoss: Double
    /// The held-out classification error at the end of the epoch.
    public var heldOutError: Double
}

extension Experiments {
    /// The curvature of `model`'s cross-entropy on `probe` (inference mode): the extreme
    /// eigenvalues by Lanczos (`steps` steps) and the density by stochastic Lanczos quadrature
    /// (`probes` probes of `steps` steps). `model` is not changed.
    public static func curvatureSnapshot(_ model: any Layer, probe: Dataset, epoch: Int, steps: Int, probes: Int, seed: UInt64) throws -> CurvatureSnapshot {
        let curvature = try Curvature(SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: probe.features, target: probe.labels, mode: .inference))
        let hvp: (Tensor) throws -> Tensor = { try curvature.hessianVectorProduct($0) }
        let extremes = try Lanczos.extremeEigenvalues(dimension: curvature.dimension, count: 1, maximumSteps: steps, seed: seed, operator: hvp)
        let density = try SpectralEstimates.density(dimension: curvature.dimension, probes: probes, steps: steps, seed: seed, operator: hvp)
        return CurvatureSnapshot(
            epoch: epoch, loss: try curvature.value(), largest: extremes.largest.first ?? .nan, smallest: extremes.smallest.first ?? .nan,
            negativeMass: Verdict.negativeMass(nodes: density.nodes, weights: density.weights), density: density)
    }

    /// Trains `model` with SGD (momentum 0.9) and takes a curvature snapshot on `probe` at
    /// each epoch of `checkpoints` (0: before training).
    public static func curvatureOverTraining(
        _ model: any Layer, train: Dataset, probe: Dataset, checkpoints: [Int], learningRate: Double, batchSize: Int, seed: UInt64,
        steps: Int, probes: Int, context: ExperimentContext
    ) throws -> [CurvatureSnapshot] {
        var options = try TrainingOptions(epochs: 1, batchSize: batchSize, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate, momentum: 0.9), options: options)
        var snapshots: [CurvatureSnapshot] = []
        for epoch in checkpoints.sorted() {
            if epoch > 0 {
                trainer.options.epochs = epoch
                try trainer.fit(training: train)
            }
            context.note("curvature at epoch \(epoch), seed \(seed)")
            snapshots.append(try curvatureSnapshot(try trainer.currentModel(), probe: probe, epoch: epoch, steps: steps, probes: probes, seed: seed))
        }
        return snapshots
    }

    /// Trains `model` (no BatchNorm or dropout) with SGD at `learningRate` (momentum 0.9) for
    /// `epochs` epochs, recording each epoch's mean mini-batch gradient norm, mean training loss
    /// and final held-out error.
    public static func gradientNormTraining(
        _ model: any Layer, train: Dataset, validation: Dataset, epochs: Int, learningRate: Double, batchSize: Int, seed: UInt64
    ) throws -> [GradientEpoch] {
        var parameters = model.parameters
        var sgd = try SGD(learningRate: learningRate, momentum: 0.9)
        var g = RandomGenerator(seed: seed)
        var history: [GradientEpoch] = []
        for _ in 0..<epochs {
            let plan = try train.batchPlan(size: batchSize, shuffle: true, using: &g)
            var norms: [Double] = [], losses: [Double] = []
            for index in 0..<plan.count {
                let batch = try plan.batch(index)
                let report = try sgd.step(&parameters, objective: SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: batch.features, target: batch.labels))
                norms.append(report.gradientNorm ?? .nan)
                losses.append(report.loss)
            }
            let trained = try model.replacing(parameters)
            let predicted = try GradientRecording.withoutRecording { try trained(validation.features).argmax(alongAxis: 1).doubles }
            let correct = zip(predicted, validation.labels.doubles).filter { $0 == $1 }.count
            history.append(GradientEpoch(meanGradientNorm: mean(norms), trainingLoss: mean(losses), heldOutError: 1 - Double(correct) / Double(validation.count)))
        }
        return history
    }

    /// The checks and figures of curvature snapshots over seeds.
    static func curvatureChecks(_ runs: [[CurvatureSnapshot]], seeds: [UInt64], label: String) -> (checks: [Check], figures: [Figure], table: ReportTable) {
        func describe(_ run: [CurvatureSnapshot]) -> String {
            run.map { "epoch \($0.epoch): [\(format($0.smallest)), \(format($0.largest))], negative mass \(format($0.negativeMass))" }.joined(separator: ", ")
        }
        let checks = [
            Check("\(label): the Hessian has negative eigenvalues from the start to the end of training (training ends near, not at, a minimum)",
                  runs.allSatisfy { $0.allSatisfy { $0.smallest < 0 } }, perSeed(seeds, runs, describe)),
            Check("\(label): the negative share of the spectral density shrinks over training (to at most \(format(Verdict.negativeMassShrink)) of its start)",
                  runs.allSatisfy { Verdict.negativeMassShrank(from: $0.first?.negativeMass ?? .nan, to: $0.last?.negativeMass ?? .nan) },
                  perSeed(seeds, runs) { "\(format($0.first?.negativeMass ?? .nan)) to \(format($0.last?.negativeMass ?? .nan))" }),
            Check("\(label): the largest eigenvalue grows from its value at initialization (the loss sharpens as it falls)",
                  runs.allSatisfy { ($0.last?.largest ?? .nan) > ($0.first?.largest ?? .nan) },
                  perSeed(seeds, runs) { "\(format($0.first?.largest ?? .nan)) to \(format($0.last?.largest ?? .nan))" }),
        ]
        let first = runs[0]
        let epochs = first.map { Double($0.epoch) }
        let figures = [
            Figure(title: "\(label): extreme eigenvalues over training (seed \(seeds[0]))", xLabel: "epoch", yLabel: "eigenvalue",
                   series: [Figure.Series("largest", Array(zip(epochs, first.map(\.largest))).map { (x: $0.0, y: $0.1) }),
                            Figure.Series("smallest", Array(zip(epochs, first.map(\.smallest))).map { (x: $0.0, y: $0.1) })]),
            Figure(title: "\(label): negative share of the spectral density (seed \(seeds[0]))", xLabel: "epoch", yLabel: "share of the density below zero",
                   series: [Figure.Series("negative mass", Array(zip(epochs, first.map(\.negativeMass))).map { (x: $0.0, y: $0.1) })]),
            Figure(title: "\(label): spectral density (stochastic Lanczos quadrature, seed \(seeds[0]))", xLabel: "eigenvalue", yLabel: "density", logY: true,
                   series: [first.first, first.last].compactMap { $0 }.map { snapshot in
                       Figure.Series("epoch \(snapshot.epoch)", Array(zip(snapshot.density.grid, snapshot.density.density)).map { (x: $0.0, y: Swift.max($0.1, 1e-8)) })
                   }),
        ]
        let rows = zip(seeds, runs).flatMap { seed, run in
            run.map { ["\(seed)", "\($0.epoch)", format($0.loss), format($0.smallest), format($0.largest), format($0.negativeMass)] }
        }
        return (checks, figures, ReportTable(caption: "\(label): curvature at each checkpoint.", header: ["seed", "epoch", "loss", "smallest", "largest", "negative mass"], rows: rows))
    }

    /// The check and figure of gradient-norm runs over seeds.
    static func gradientChecks(_ runs: [[GradientEpoch]], seeds: [UInt64], label: String) -> (check: Check, figure: Figure) {
        let check = Check(
            "\(label): training succeeds while the gradient norm grows: the mean mini-batch gradient norm of the last epoch is at least \(format(Verdict.gradientGrowth)) times the first's while held-out error falls by at least \(format(100 * Verdict.errorDrop))%",
            runs.allSatisfy { run in
                Verdict.succeedsWhileGradientGrows(
                    gradient: (run.first?.meanGradientNorm ?? .nan, run.last?.meanGradientNorm ?? .nan),
                    error: (run.first?.heldOutError ?? .nan, run.last?.heldOutError ?? .nan))
            },
            perSeed(seeds, runs) { run in
                "gradient norm \(format(run.first?.meanGradientNorm ?? .nan)) to \(format(run.last?.meanGradientNorm ?? .nan)) (largest \(format(run.map(\.meanGradientNorm).max() ?? .nan))), held-out error \(format(run.first?.heldOutError ?? .nan)) to \(format(run.last?.heldOutError ?? .nan))"
            })
        let first = runs[0]
        func series(_ name: String, _ values: [Double]) -> Figure.Series { Figure.Series(name, values: values, from: 1) }
        let figure = Figure(
            title: "\(label) (seed \(seeds[0])): gradient norm, cost and held-out error", xLabel: "epoch", yLabel: "value", logY: true,
            series: [series("mean mini-batch gradient norm", first.map(\.meanGradientNorm)), series("training cost", first.map(\.trainingLoss)),
                     series("held-out error", first.map(\.heldOutError))])
        return (check, figure)
    }

    static func curvatureTrainingReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let (train, _) = try digits()
        let probe = try train.subset(Array(0..<500))
        let runs = try seeds.map { seed in
            try curvatureOverTraining(
                try reluMLP(hidden: [32], seed: seed), train: train, probe: probe, checkpoints: [0, 1, 2, 4, 8, 15], learningRate: 0.01, batchSize: 32,
                seed: seed, steps: 60, probes: 3, context: context)
        }
        let (checks, figures, table) = curvatureChecks(runs, seeds: seeds, label: "ReLU MLP on digits")
        return ExperimentResult(
            id: "curvature_training", title: "10. Curvature during training",
            claim: "The Hessian of a network's loss has negative eigenvalues throughout training and its spectrum is a bulk near zero with "
                + "a few outliers; training does not end at a strict minimum, but the negative part shrinks as the loss falls (Dauphin et "
                + "al. 2014; Sagun, Bottou and LeCun 2016; Ghorbani, Krishnan and Xiao 2019).",
            method: "A ReLU MLP 64-32-10 (2,410 parameters, Float64) trained with SGD (learning rate 0.01, momentum 0.9, batch 32) on the "
                + "digits; at epochs 0, 1, 2, 4, 8 and 15 the Hessian of the cross-entropy on 500 training examples: the extreme "
                + "eigenvalues by Lanczos (60 steps) and the density by stochastic Lanczos quadrature (3 probes of 60 steps), nodes below "
                + "-\(Verdict.negativeNodeShare) of the largest |node| counting as negative. Seeds \(list(seeds.map(String.init))).",
            departures: "Ghorbani et al. tracked ResNets on ImageNet with 90-step Lanczos and 10 probes; this is a small MLP (experiment 8d "
                + "repeats it for a conv net on Fashion-MNIST). The negative mass is of the smoothed quadrature, not an exact count.",
            figures: figures, tables: [table], checks: checks)
    }

    static func gradientGrowthReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let (train, validation) = try digits(dtype: .float32)
        var runs: [[GradientEpoch]] = []
        for seed in seeds {
            context.note("gradient norm, seed \(seed)")
            runs.append(try gradientNormTraining(try reluMLP(hidden: [128], seed: seed, dtype: .float32), train: train, validation: validation, epochs: 60, learningRate: 0.01, batchSize: 32, seed: seed))
        }
        let (check, figure) = gradientChecks(runs, seeds: seeds, label: "ReLU MLP on digits")
        return ExperimentResult(
            id: "gradient_growth", title: "11. Success without a critical point: the gradient norm grows",
            claim: "Training need not approach a critical point of any kind: the gradient norm can grow throughout a successful run while "
                + "the cost and the held-out error fall; optimization strives for success, not for perfection (Goodfellow, Bengio and "
                + "Courville, Deep Learning, 2016, section 8.2.3 and Figure 8.1; the talk's approximate-minimization slide).",
            method: "A ReLU MLP 64-128-10 (Float32) trained with SGD (learning rate 0.01, momentum 0.9, batch 32) for 60 epochs on the "
                + "digits; per epoch the mean norm of the mini-batch gradients, the mean training cost and the held-out error (360 "
                + "examples). Seeds \(list(seeds.map(String.init))).",
            departures: "The book's figure is a convolutional network on an object-detection task; this is a small MLP (experiment 8d adds "
                + "a conv net on Fashion-MNIST). The gradient norm is of the mini-batch gradients the optimizer used.",
            figures: [figure], checks: [check])
    }
}
