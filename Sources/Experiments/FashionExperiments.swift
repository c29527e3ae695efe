import Foundation
import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers
import SaddleTraining
import SaddleTransforms

/// One run of the conv-net growth comparison: held-out accuracy against training wall time.
public struct TimedRun: Sendable {
    /// The run's name ("student", "random pad", "from scratch").
    public var name: String
    /// (seconds of training so far, held-out accuracy), from the start.
    public var points: [(seconds: Double, accuracy: Double)]
    /// The training loss on the probe examples at the start.
    public var startLoss: Double

    /// The training seconds until held-out accuracy first reached `target`, or nil.
    public func seconds(toReach target: Double) -> Double? { points.first { $0.accuracy >= target }?.seconds }
}

extension Experiments {
    /// The first `trainCount` Fashion-MNIST training images and the first `testCount` test
    /// images as `[1, 28, 28]` examples, scalar-standardized with the training part's statistics.
    /// - Throws: `DataError.missingDataset` naming the Debian package when it is not installed.
    public static func fashion(trainCount: Int = 10_000, testCount: Int = 2_000) throws -> (train: Dataset, test: Dataset) {
        let train = try FashionMNIST.load(.train).subset(Array(0..<trainCount))
        let test = try FashionMNIST.load(.test).subset(Array(0..<testCount))
        let scaler = try Standardization(fittedTo: train, granularity: .scalar)
        return (try scaler.apply(to: train).reshapingExamples(to: [1, 28, 28]), try scaler.apply(to: test).reshapingExamples(to: [1, 28, 28]))
    }

    /// A CNN conv(1 -> c1, 3x3) - ReLU - max pool 2 - conv(c1 -> c2) - ReLU - max pool 2 [- conv(c2 -> c2) - ReLU] - flatten - dense 10.
    public static func fashionCNN(channels: (Int, Int), extraLayer: Bool = false, seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        var layers: [any Layer] = [
            try Conv2D(inputChannels: 1, outputChannels: channels.0, kernel: 3, padding: .explicit(1), using: &g), ReLU(), try MaxPool2D(kernel: 2),
            try Conv2D(inputChannels: channels.0, outputChannels: channels.1, kernel: 3, padding: .explicit(1), using: &g), ReLU(),
        ]
        if extraLayer { layers += [try Conv2D(inputChannels: channels.1, outputChannels: channels.1, kernel: 3, padding: .explicit(1), using: &g), ReLU()] }
        layers += [try MaxPool2D(kernel: 2), Flatten(), try Dense(inputSize: channels.1 * 49, units: 10, using: &g)]
        return Sequential(layers)
    }

    /// A convolutional maxout net: conv(1 -> 16) - maxout of 2 - max pool 2 - dropout 0.2 -
    /// conv(8 -> 32) - maxout of 2 - max pool 2 - dropout 0.2 - flatten - dense 10.
    public static func convMaxout(seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        return Sequential([
            try Conv2D(inputChannels: 1, outputChannels: 16, kernel: 3, padding: .explicit(1), using: &g), try ChannelMaxout(pieces: 2), try MaxPool2D(kernel: 2),
            try Dropout(rate: 0.2),
            try Conv2D(inputChannels: 8, outputChannels: 32, kernel: 3, padding: .explicit(1), using: &g), try ChannelMaxout(pieces: 2), try MaxPool2D(kernel: 2),
            try Dropout(rate: 0.2), Flatten(), try Dense(inputSize: 16 * 49, units: 10, using: &g),
        ])
    }

    /// A conv net of `depth` weighted layers with `width` channels: a stride-2 stem conv(1 ->
    /// width) to 14x14, then (depth - 2) 3x3 convolutions (plain, with BatchNorm, or as
    /// residual blocks of two with BatchNorm whose last BatchNorm scale starts at zero), a 2x2
    /// max pool to 7x7 and a dense layer. Plain nets without BatchNorm use He initialization.
    public static func convStack(_ kind: StackKind, depth: Int, width: Int = 16, seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        let initializer: WeightInitializer = kind == .plainHe ? .heNormal : .fanInUniform
        func conv(_ inputs: Int, stride: Int = 1) throws -> Conv2D {
            try Conv2D(inputChannels: inputs, outputChannels: width, kernel: 3, stride: Size2D(stride, stride), padding: .explicit(1),
                       useBias: kind == .plainHe || kind == .plainDefault, initializer: initializer, using: &g)
        }
        let normalized = kind != .plainHe && kind != .plainDefault
        var layers: [any Layer] = [try conv(1, stride: 2)]
        if normalized { layers.append(try BatchNorm(featureCount: width)) }
        layers.append(ReLU())
        if kind == .residual {
            for _ in 0..<((depth - 2) / 2) {
                let last = try BatchNorm(
                    weight: .zeros([width]), bias: .zeros([width]), runningMean: .zeros([width]), runningVariance: .ones([width]))
                layers.append(Residual(branch: Sequential([try conv(width), try BatchNorm(featureCount: width), ReLU(), try conv(width), last]), activation: ReLU()))
            }
        } else {
            for _ in 0..<(depth - 2) {
                layers.append(try conv(width))
                if normalized { layers.append(try BatchNorm(featureCount: width)) }
                layers.append(ReLU())
            }
        }
        layers += [try MaxPool2D(kernel: 2), Flatten(), try Dense(inputSize: width * 49, units: 10, using: &g)]
        return Sequential(layers)
    }

    /// A ResNet with BatchNorm for the interpolation experiment: stem conv(1 -> 16, stride 2),
    /// BatchNorm, ReLU, two basic blocks of 16 channels, global average pooling, dense 10.
    public static func smallResNet(seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        func conv(_ inputs: Int, stride: Int = 1) throws -> Conv2D {
            try Conv2D(inputChannels: inputs, outputChannels: 16, kernel: 3, stride: Size2D(stride, stride), padding: .explicit(1), useBias: false, using: &g)
        }
        var layers: [any Layer] = [try conv(1, stride: 2), try BatchNorm(featureCount: 16), ReLU()]
        for _ in 0..<2 {
            layers.append(Residual(branch: Sequential([try conv(16), try BatchNorm(featureCount: 16), ReLU(), try conv(16), try BatchNorm(featureCount: 16)]), activation: ReLU()))
        }
        layers += [GlobalAveragePool(), try Dense(inputSize: 16, units: 10, using: &g)]
        return Sequential(layers)
    }

    // MARK: 8a. Interpolation

    static func fashionInterpolationReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let (train, test) = try fashion()
        let curveTrain = try train.subset(Array(0..<2000)), curveTest = try test.subset(Array(0..<1000))
        var checks: [Check] = []
        var fromInit: [String: InterpolationCurve] = [:], between: [String: InterpolationCurve] = [:]
        let builders: [(String, (UInt64) throws -> Sequential)] = [("conv maxout", convMaxout), ("ResNet with BatchNorm", smallResNet)]
        for (name, build) in builders {
            var initCurves: [InterpolationCurve] = [], betweenCurves: [InterpolationCurve] = []
            for seed in seeds {
                context.note("Fashion-MNIST interpolation, \(name), seed \(seed)")
                let initial = try build(seed)
                let solution = try trained(initial, on: train, epochs: 3, learningRate: 0.05, batchSize: 128, seed: seed)
                let other = try trained(try build(seed + 100), on: train, epochs: 3, learningRate: 0.05, batchSize: 128, seed: seed + 100)
                initCurves.append(try interpolationCurve(solution, from: initial.parameters, to: solution.parameters, training: curveTrain, validation: curveTest))
                betweenCurves.append(try interpolationCurve(solution, from: solution.parameters, to: other.parameters, training: curveTrain, validation: curveTest))
            }
            fromInit[name] = initCurves[0]
            between[name] = betweenCurves[0]
            checks.append(Check(
                "\(name): the cost falls from the initialization to the solution without a barrier (no rise beyond \(format(Verdict.noiseMultiple)) standard errors; the solution's loss at most \(format(Verdict.trainedShare)) of the start's)",
                initCurves.allSatisfy(fallsWithoutBarrier),
                perSeed(seeds, initCurves) { "from \(format($0.loss(at: 0))) to \(format($0.loss(at: 1))), largest rise \(largestRise($0)) standard errors" }))
            checks.append(Check(
                "\(name): between two independently trained solutions there is a barrier",
                betweenCurves.allSatisfy { Verdict.hasBarrier($0.unitInterval.losses, noise: $0.unitInterval.noise) },
                perSeed(seeds, betweenCurves) { "ends \(format($0.loss(at: 0))) and \(format($0.loss(at: 1))), highest \(format($0.unitInterval.losses.max() ?? .nan))" }))
        }
        func series(_ name: String, _ curve: InterpolationCurve?, validation: Bool = false) -> Figure.Series {
            Figure.Series(name, zip(curve?.alphas ?? [], (validation ? curve?.validationLosses : curve?.losses) ?? []).map { (x: $0, y: $1) })
        }
        return ExperimentResult(
            id: "fashion_interpolation", title: "8a. Fashion-MNIST: interpolation for conv nets",
            claim: "The monotone decrease of the cost from initialization to solution holds for convolutional networks, including maxout "
                + "and residual networks with batch normalization, while two solutions are separated by a barrier (Goodfellow, Vinyals and "
                + "Saxe 2015, their convolutional CIFAR-10 networks).",
            method: "10,000 Fashion-MNIST training images (2,000 test), scalar-standardized. A conv maxout net (conv 1->16, maxout of 2, pool, "
                + "dropout 0.2, conv 8->32, maxout of 2, pool, dropout 0.2, dense) and a ResNet with BatchNorm (stride-2 stem, 2 basic blocks "
                + "of 16 channels, global average pooling), each trained 3 epochs with SGD (learning rate 0.05, momentum 0.9, batch 128). "
                + "The cost at a = -0.5 ... 1.5 (41 points) on 2,000 training and 1,000 test images in inference mode, BatchNorm "
                + "statistics recomputed at every point from 2,000 training images; the second solution starts from seed + 100. "
                + "Seeds \(list(seeds.map(String.init))).",
            departures: "The paper used CIFAR-10 with larger maxout and conv nets trained to convergence; these nets are trained for 3 epochs "
                + "on a 10,000-image subset so that the full report fits its time.",
            figures: [
                Figure(title: "From initialization (seed \(seeds[0]))", xLabel: "a", yLabel: "loss", logY: true,
                       series: builders.flatMap { [series("\($0.0), training", fromInit[$0.0]), series("\($0.0), test", fromInit[$0.0], validation: true)] }),
                Figure(title: "Between two solutions (seed \(seeds[0]))", xLabel: "a", yLabel: "training loss",
                       series: builders.map { series($0.0, between[$0.0]) }),
            ],
            checks: checks)
    }

    // MARK: 8b. Net2Net on a conv net

    /// Trains `model` (no BatchNorm) with SGD (learning rate 0.05, momentum 0.9, batch 128) for
    /// `epochs` epochs, measuring held-out accuracy every 20 steps against training seconds.
    static func timedTraining(_ name: String, _ model: any Layer, train: Dataset, test: Dataset, epochs: Int, seed: UInt64, extraSeconds: Double = 0) throws -> TimedRun {
        var parameters = model.parameters
        var sgd = try SGD(learningRate: 0.05, momentum: 0.9)
        var g = RandomGenerator(seed: seed)
        func accuracy() throws -> Double { try Evaluation.measure(try model.replacing(parameters), loss: SoftmaxCrossEntropy(), on: test).accuracy ?? 0 }
        let probe = try train.subset(Array(0..<1000))
        let startLoss = try Evaluation.measure(model, loss: SoftmaxCrossEntropy(), on: probe).loss
        var seconds = extraSeconds
        var points = [(seconds: seconds, accuracy: try accuracy())]
        for _ in 0..<epochs {
            let plan = try train.batchPlan(size: 128, shuffle: true, using: &g)
            for index in 0..<plan.count {
                let batch = try plan.batch(index)
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try sgd.step(&parameters, objective: SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: batch.features, target: batch.labels))
                seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if (index + 1) % 20 == 0 || index == plan.count - 1 { points.append((seconds, try accuracy())) }
            }
        }
        return TimedRun(name: name, points: points, startLoss: startLoss)
    }

    static func fashionNet2NetReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let (train, test) = try fashion()
        let probeSet = try train.subset(Array(0..<1000))
        var checks: [Check] = []
        var figures: [Figure] = []
        var rows: [[String]] = []
        for growth in ["Net2Wider", "Net2Deeper"] {
            var comparisons: [(teacherLoss: Double, teacherAccuracy: Double, runs: [TimedRun])] = []
            for seed in seeds {
                context.note("Fashion-MNIST \(growth), seed \(seed)")
                let teacher = try trained(try fashionCNN(channels: (8, 16), seed: seed), on: train, epochs: 2, learningRate: 0.05, batchSize: 128, seed: seed)
                let teacherLoss = try Evaluation.measure(teacher, loss: SoftmaxCrossEntropy(), on: probeSet).loss
                let teacherAccuracy = try Evaluation.measure(teacher, loss: SoftmaxCrossEntropy(), on: test).accuracy ?? 0
                let probe = try train.features.rows(0..<256)
                let started = DispatchTime.now().uptimeNanoseconds
                let student: any Layer, random: any Layer, scratch: any Layer
                if growth == "Net2Wider" {
                    student = try Net2WiderNet(layer: "0", units: 16, split: 0.5).apply(to: teacher, probe: probe, seed: seed).model
                    random = try RandomPadWidening(layer: "0", units: 16).apply(to: teacher, probe: probe, seed: seed).model
                    scratch = try fashionCNN(channels: (16, 16), seed: seed + 20)
                } else {
                    student = try Net2DeeperNet(layer: "3").apply(to: teacher, probe: probe, seed: seed).model
                    random = try RandomDeeper(layer: "3").apply(to: teacher, probe: probe, seed: seed).model
                    scratch = try fashionCNN(channels: (8, 16), extraLayer: true, seed: seed + 20)
                }
                let growSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                comparisons.append((teacherLoss, teacherAccuracy, [
                    try timedTraining("student", student, train: train, test: test, epochs: 3, seed: seed + 10, extraSeconds: growSeconds),
                    try timedTraining(growth == "Net2Wider" ? "random pad" : "random new layer", random, train: train, test: test, epochs: 3, seed: seed + 10),
                    try timedTraining("larger net from scratch", scratch, train: train, test: test, epochs: 3, seed: seed + 10),
                ]))
            }
            checks.append(Check(
                "\(growth): the conv student starts at its teacher's loss (to \(Verdict.preservationFloat32), relative, Float32)",
                comparisons.allSatisfy { Verdict.preserves($0.runs[0].startLoss, $0.teacherLoss, tolerance: Verdict.preservationFloat32) },
                perSeed(seeds, comparisons) { "teacher \(format($0.teacherLoss)), student \(format($0.runs[0].startLoss))" }))
            func nearBest(_ c: (teacherLoss: Double, teacherAccuracy: Double, runs: [TimedRun])) -> Double {
                (c.runs.flatMap { $0.points.map(\.accuracy) }.max() ?? 1) - 0.005
            }
            func time(_ value: Double?) -> String { value.map { String(format: "%.1f s", $0) } ?? "never" }
            checks.append(Check(
                "\(growth): the student reaches the teacher's test accuracy sooner in wall time than both baselines",
                comparisons.allSatisfy { c in
                    let student = c.runs[0].seconds(toReach: c.teacherAccuracy) ?? .infinity
                    return student.isFinite && c.runs.dropFirst().allSatisfy { ($0.seconds(toReach: c.teacherAccuracy) ?? .infinity) > student }
                },
                perSeed(seeds, comparisons) { c in
                    c.runs.map { "\($0.name) \(time($0.seconds(toReach: c.teacherAccuracy)))" }.joined(separator: ", ") + String(format: " (teacher %.1f%%)", 100 * c.teacherAccuracy)
                }))
            checks.append(Check(
                "\(growth): the student reaches within 0.5 points of the best test accuracy of any run sooner in wall time than both baselines",
                comparisons.allSatisfy { c in
                    let student = c.runs[0].seconds(toReach: nearBest(c)) ?? .infinity
                    return student.isFinite && c.runs.dropFirst().allSatisfy { ($0.seconds(toReach: nearBest(c)) ?? .infinity) > student }
                },
                perSeed(seeds, comparisons) { c in
                    c.runs.map { "\($0.name) \(time($0.seconds(toReach: nearBest(c))))" }.joined(separator: ", ") + String(format: " (best %.1f%%)", 100 * (nearBest(c) + 0.005))
                }))
            for (seed, c) in zip(seeds, comparisons) {
                for run in c.runs {
                    rows.append([growth, "\(seed)", run.name, time(run.seconds(toReach: c.teacherAccuracy)), time(run.seconds(toReach: nearBest(c))),
                                 String(format: "%.1f%%", 100 * (run.points.map(\.accuracy).max() ?? .nan))])
                }
            }
            let first = comparisons[0]
            figures.append(Figure(
                title: "\(growth) on a Fashion-MNIST conv net (seed \(seeds[0]); teacher \(String(format: "%.1f%%", 100 * first.teacherAccuracy)))",
                xLabel: "training seconds after growing", yLabel: "test accuracy",
                series: first.runs.map { run in Figure.Series(run.name, run.points.map { (x: $0.seconds, y: $0.accuracy) }) }))
        }
        return ExperimentResult(
            id: "fashion_net2net", title: "8b. Fashion-MNIST: Net2Net on a conv net",
            claim: "Growing a trained conv net with Net2WiderNet or Net2DeeperNet gives a student that starts at the teacher's accuracy and "
                + "reaches a given accuracy in less wall time than random padding or the larger net trained from scratch (Chen, Goodfellow "
                + "and Shlens 2016, Figures 5 and 6, Inception on ImageNet).",
            method: "10,000 Fashion-MNIST training and 2,000 test images. Teacher: conv 1->8, pool, conv 8->16, pool, dense (2 epochs, SGD "
                + "learning rate 0.05, momentum 0.9, batch 128). Net2Wider widens the first conv to 16 channels (unequal split 0.5), against "
                + "random padding and the 16-16 net from scratch; Net2Deeper inserts an identity 3x3 conv + ReLU after the second conv, "
                + "against a random new layer and the deeper net from scratch. Each trains 3 more epochs; test accuracy every 20 steps "
                + "against training seconds (the student's include the transform's time). Seeds \(list(seeds.map(String.init))).",
            departures: "The paper grew Inception networks on ImageNet; this is a small conv net on a 10,000-image subset for 3 epochs. "
                + "Wall times are of this 2-core machine with the report's other work paused during the measured steps.",
            figures: figures,
            tables: [ReportTable(caption: "Training seconds to the teacher's accuracy / to within 0.5 points of the best, and the best test accuracy.",
                                 header: ["growth", "seed", "run", "to teacher's", "to near-best", "best"], rows: rows)],
            checks: checks)
    }

    // MARK: 8c. Residual against plain conv nets

    static func fashionResidualReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let (train, test) = try fashion(trainCount: 3000, testCount: 2000)
        let kinds: [StackKind] = [.plainHe, .plainBatchNorm, .residual], depths = [8, 20]
        let runs = try seeds.map { seed in
            try depthComparison(kinds: kinds, depths: depths, train: train, validation: test, epochs: 4, learningRate: 0.02, batchSize: 32, seed: seed, context: context) {
                try convStack($0, depth: $1, seed: seed)
            }
        }
        let (checks, table, figure) = depthChecks(runs, seeds: seeds, kinds: kinds, depths: depths, plainBaselines: [.plainHe, .plainBatchNorm])
        return ExperimentResult(
            id: "fashion_residual", title: "8c. Fashion-MNIST: residual against plain conv nets at two depths",
            claim: "Deeper plain conv nets train worse than shallower ones, with He initialization or BatchNorm; residual conv nets do not "
                + "(He, Zhang, Ren and Sun 2016, Figure 1 and section 4.2 on CIFAR-10).",
            method: "3,000 Fashion-MNIST training and 2,000 test images. Conv nets of 8 and 20 weighted layers with 16 channels (a stride-2 "
                + "stem conv, 6 or 18 3x3 convs on 14x14 maps, a 2x2 max pool, dense): plain with He initialization, plain with BatchNorm after every conv, and "
                + "residual blocks of two convs with BatchNorm, the block's last BatchNorm scale starting at zero. SGD (learning rate "
                + "0.02, momentum 0.9, batch 32), 4 epochs (375 steps). Seeds \(list(seeds.map(String.init))).",
            departures: "He et al. trained 20- to 110-layer nets of 16-64 channels on CIFAR-10 for 64,000 steps; these nets have 16 "
                + "channels throughout and train for 375 steps on a subset, so the comparison is of early training.",
            figures: [figure], tables: [table], checks: checks)
    }

    // MARK: 8d. Curvature and gradient norm of a conv net

    static func fashionCurvatureReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let (train, test) = try fashion()
        let probe = try train.subset(Array(0..<500))
        let runs = try seeds.map { seed in
            try curvatureOverTraining(
                try fashionCNN(channels: (8, 16), seed: seed), train: train, probe: probe, checkpoints: [0, 1, 4], learningRate: 0.05, batchSize: 128,
                seed: seed, steps: 30, probes: 2, context: context)
        }
        let (curvatureCheckList, curvatureFigures, table) = curvatureChecks(runs, seeds: seeds, label: "conv net on Fashion-MNIST")
        var gradientRuns: [[GradientEpoch]] = []
        for seed in seeds {
            context.note("Fashion-MNIST gradient norm, seed \(seed)")
            gradientRuns.append(try gradientNormTraining(try fashionCNN(channels: (8, 16), seed: seed), train: train, validation: test, epochs: 15, learningRate: 0.05, batchSize: 128, seed: seed))
        }
        let (gradientCheck, gradientFigure) = gradientChecks(gradientRuns, seeds: seeds, label: "conv net on Fashion-MNIST")
        return ExperimentResult(
            id: "fashion_curvature", title: "8d. Fashion-MNIST: a conv net's Hessian spectrum over training, and its gradient norm",
            claim: "A conv net's Hessian spectrum is a bulk near zero with outliers, with negative eigenvalues at initialization and still "
                + "after training (Ghorbani, Krishnan and Xiao 2019; Sagun et al. 2016); and a successful run need not shrink the gradient "
                + "norm (Goodfellow, Bengio and Courville 2016, Figure 8.1).",
            method: "10,000 Fashion-MNIST training images (2,000 test); the CNN conv 1->8, pool, conv 8->16, pool, dense (9,098 "
                + "parameters) trained with SGD (learning rate 0.05, momentum 0.9, batch 128). At epochs 0, 1 and 4 the Hessian of the "
                + "cross-entropy on 500 training images in Float64: extreme eigenvalues by Lanczos (30 steps) and the density by "
                + "stochastic Lanczos quadrature (2 probes of 30 steps). Separately, 15 epochs recording the mean mini-batch gradient norm, "
                + "training cost and test error. Seeds \(list(seeds.map(String.init))).",
            departures: "Ghorbani et al. used 90 Lanczos steps and 10 probes on ResNets over ImageNet; 30 steps and 2 probes on 500 "
                + "images resolve the outliers and the sign of the bulk's edge but not its fine shape.",
            figures: curvatureFigures + [gradientFigure], tables: [table], checks: curvatureCheckList + [gradientCheck])
    }
}
