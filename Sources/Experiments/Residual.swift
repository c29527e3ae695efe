import SaddleCore
import SaddleData
import SaddleLayers

/// How a deep stack of experiment 6 is built.
public enum StackKind: String, Sendable, CaseIterable {
    /// Plain layers with PyTorch's default initialization (uniform, bound 1/sqrt(fan-in)).
    case plainDefault = "plain, default init"
    /// Plain layers with He initialization (normal, variance 2/fan-in).
    case plainHe = "plain, He init"
    /// Plain layers, each followed by BatchNorm (default initialization).
    case plainBatchNorm = "plain with BatchNorm"
    /// Residual blocks whose branch's last layer starts at zero.
    case residual = "residual"
}

/// The training losses (before training and after each epoch) and final held-out accuracy of
/// one stack.
public struct StackRun: Sendable {
    /// The training loss before training and after each epoch (inference mode).
    public var losses: [Double]
    /// The held-out accuracy at the end.
    public var accuracy: Double

    /// The last training loss.
    public var finalLoss: Double { losses.last ?? .nan }
}

extension Experiments {
    /// A ReLU MLP on the digits of `depth` Dense layers of width 32 (Float32): plain, or the
    /// first and last layers around (depth - 2) / 2 residual blocks x + W2 relu(W1 x) whose W2 starts at zero.
    public static func denseStack(_ kind: StackKind, depth: Int, seed: UInt64) throws -> Sequential {
        let width = 32
        var g = RandomGenerator(seed: seed)
        let initializer: WeightInitializer = kind == .plainHe ? .heNormal : .fanInUniform
        func dense(_ inputs: Int, _ units: Int) throws -> Dense { try Dense(inputSize: inputs, units: units, initializer: initializer, using: &g) }
        var layers: [any Layer] = [try dense(64, width), ReLU()]
        if kind == .residual {
            for _ in 0..<((depth - 2) / 2) {
                let inner = try dense(width, width)
                let last = try dense(width, width).zeroLayer()
                layers.append(Residual(Sequential([inner, ReLU(), last])))
            }
        } else {
            for _ in 0..<(depth - 2) {
                layers.append(try dense(width, width))
                if kind == .plainBatchNorm { layers.append(try BatchNorm(featureCount: width)) }
                layers.append(ReLU())
            }
        }
        layers.append(try dense(width, 10))
        return Sequential(layers)
    }

    /// Trains every stack of `kinds` at every depth of `depths` with SGD (momentum 0.9) and
    /// returns their runs by kind and depth.
    static func depthComparison(
        kinds: [StackKind], depths: [Int], train: Dataset, validation: Dataset, epochs: Int, learningRate: Double, batchSize: Int = 64,
        seed: UInt64, context: ExperimentContext, build: (StackKind, Int) throws -> any Layer
    ) throws -> [StackKind: [Int: StackRun]] {
        var runs: [StackKind: [Int: StackRun]] = [:]
        for kind in kinds {
            for depth in depths {
                context.note("\(kind.rawValue), depth \(depth), seed \(seed)")
                let (trainer, losses) = try trainRecordingLoss(try build(kind, depth), on: train, epochs: epochs, learningRate: learningRate, batchSize: batchSize, seed: seed)
                runs[kind, default: [:]][depth] = StackRun(losses: losses, accuracy: try trainer.evaluate(validation).accuracy ?? 0)
            }
        }
        return runs
    }

    /// The checks and figure of a depth comparison over seeds (experiment 6 and its conv-net twin).
    static func depthChecks(
        _ runs: [[StackKind: [Int: StackRun]]], seeds: [UInt64], kinds: [StackKind], depths: [Int], plainBaselines: [StackKind]
    ) -> (checks: [Check], table: ReportTable, figure: Figure) {
        let (shallow, deep) = (depths[0], depths[depths.count - 1])
        func loss(_ run: [StackKind: [Int: StackRun]], _ kind: StackKind, _ depth: Int) -> Double { run[kind]?[depth]?.finalLoss ?? .nan }
        func detail(_ kind: StackKind) -> String {
            perSeed(seeds, runs) { "\(format(loss($0, kind, shallow))) at depth \(shallow), \(format(loss($0, kind, deep))) at \(deep)" }
        }
        var checks = plainBaselines.map { kind in
            Check("\(kind.rawValue): the deeper plain net trains worse than the shallower (final training loss above it by \(format(100 * Verdict.depthMargin))% + 0.01)",
                  runs.allSatisfy { Verdict.deeperIsWorse(shallow: loss($0, kind, shallow), deep: loss($0, kind, deep)) }, detail(kind))
        }
        checks.append(Check(
            "residual: the deeper residual net trains no worse than the shallower",
            runs.allSatisfy { !Verdict.deeperIsWorse(shallow: loss($0, .residual, shallow), deep: loss($0, .residual, deep)) }, detail(.residual)))
        let rows = zip(seeds, runs).flatMap { seed, run in
            kinds.flatMap { kind in depths.map { depth in
                ["\(seed)", kind.rawValue, "\(depth)", format(run[kind]?[depth]?.finalLoss ?? .nan), String(format: "%.1f%%", 100 * (run[kind]?[depth]?.accuracy ?? .nan))]
            } }
        }
        let first = runs[0]
        let figure = Figure(
            title: "Training loss (seed \(seeds[0]))", xLabel: "epoch", yLabel: "training loss", logY: true,
            series: kinds.flatMap { kind in depths.compactMap { depth in first[kind]?[depth].map { Figure.Series("\(kind.rawValue), depth \(depth)", values: $0.losses) } } })
        return (checks, ReportTable(caption: "Final training loss and held-out accuracy.", header: ["seed", "stack", "depth", "training loss", "held-out accuracy"], rows: rows), figure)
    }

    static func residualReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let (train, validation) = try digits(dtype: .float32)
        let kinds = StackKind.allCases, depths = [10, 30]
        let runs = try seeds.map { seed in
            try depthComparison(kinds: kinds, depths: depths, train: train, validation: validation, epochs: 10, learningRate: 0.01, seed: seed, context: context) {
                try denseStack($0, depth: $1, seed: seed)
            }
        }
        let (checks, table, figure) = depthChecks(runs, seeds: seeds, kinds: kinds, depths: depths, plainBaselines: [.plainDefault, .plainHe, .plainBatchNorm])
        return ExperimentResult(
            id: "residual", title: "6. Residual nets: a deep program initialized to no-ops",
            claim: "Deeper plain networks reach a higher training error than shallower ones even with careful initialization and "
                + "BatchNorm (the degradation problem), while residual networks, which start as the identity, do not degrade with depth "
                + "(He, Zhang, Ren and Sun 2016, Deep residual learning, Figure 1 and Table 2).",
            method: "ReLU MLPs of 10 and 30 Dense layers of width 32 on the digits (Float32): plain with PyTorch's default initialization, "
                + "plain with He initialization, plain with BatchNorm after each hidden layer, and residual blocks x + W2 relu(W1 x) whose W2 "
                + "starts at zero; SGD (learning rate 0.01, momentum 0.9, batch 64), 10 epochs. Seeds \(list(seeds.map(String.init))).",
            departures: "He et al. compared 18- and 34-layer conv nets on ImageNet (and up to 110 layers on CIFAR-10); these are MLPs on "
                + "8x8 digits, and experiment 8c repeats the comparison with conv nets on Fashion-MNIST.",
            figures: [figure], tables: [table], checks: checks)
    }
}
