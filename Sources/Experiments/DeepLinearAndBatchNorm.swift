import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers
import SaddleTraining

extension Experiments {
    /// Experiment 4: a deep linear network W = F_0 ... F_{depth-1} (FactoredLinear, rank 64) on
    /// the Float32 digits, plain SGD (learning rate 0.01, batch 32), 20 epochs: the training
    /// loss after each epoch.
    public static func deepLinearTraining(depth: Int, initializer: WeightInitializer, seed: UInt64, epochs: Int = 20) throws -> [Double] {
        var g = RandomGenerator(seed: seed)
        let (train, _) = try digits(dtype: .float32)
        let model = Sequential([try FactoredLinear(inputSize: 64, units: 10, rank: 64, depth: depth, initializer: initializer, using: &g)])
        var options = try TrainingOptions(epochs: epochs, batchSize: 32, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: 0.01), options: options)
        return try trainer.fit(training: train).map(\.trainingLoss)
    }

    /// The first epoch (1-based) whose loss is below `target`.
    public static func firstEpoch(below target: Double, in losses: [Double]) -> Int? {
        losses.firstIndex { $0 < target }.map { $0 + 1 }
    }

    /// The sigmoid MLP 64-100-100-100-10 of experiment 4, from small Gaussian weights
    /// (standard deviation 0.01), with or without BatchNorm before each sigmoid.
    public static func sigmoidMLP(batchNorm: Bool, seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        var layers: [any Layer] = []
        var inputs = 64
        for _ in 0..<3 {
            layers.append(try Dense(inputSize: inputs, units: 100, initializer: .normal(standardDeviation: 0.01), using: &g))
            if batchNorm { layers.append(try BatchNorm(featureCount: 100)) }
            layers.append(Sigmoid())
            inputs = 100
        }
        layers.append(try Dense(inputSize: 100, units: 10, initializer: .normal(standardDeviation: 0.01), using: &g))
        return Sequential(layers)
    }

    /// The 15th, 50th and 85th percentiles of the last sigmoid's inputs on `x` (inference mode).
    public static func lastSigmoidInputPercentiles(_ model: Sequential, _ x: Tensor) throws -> [Double] {
        let last = model.layers.lastIndex { $0 is Sigmoid } ?? model.layers.count
        var h = x
        try GradientRecording.withoutRecording {
            for layer in model.layers[..<last] { h = try layer(h) }
        }
        let values = h.doubles.sorted()
        guard !values.isEmpty else { return [] }
        return [0.15, 0.5, 0.85].map { values[Int($0 * Double(values.count - 1))] }
    }

    /// Experiment 4: the sigmoid MLP trained with plain SGD (batch 60) at `learningRate`:
    /// held-out accuracy and the percentiles of the last sigmoid's inputs after each epoch.
    public static func sigmoidTraining(batchNorm: Bool, learningRate: Double, seed: UInt64, epochs: Int = 10) throws -> (accuracies: [Double], bands: [[Double]]) {
        let (train, validation) = try digits(dtype: .float32)
        var options = try TrainingOptions(epochs: 1, batchSize: 60, seed: seed)
        options.progress = .silent
        var trainer = Trainer(
            model: try sigmoidMLP(batchNorm: batchNorm, seed: seed), loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate),
            options: options)
        var accuracies: [Double] = [], bands: [[Double]] = []
        for epoch in 1...epochs {
            trainer.options.epochs = epoch
            try trainer.fit(training: train)
            accuracies.append(try trainer.evaluate(validation).accuracy ?? 0)
            guard let current = try trainer.currentModel() as? Sequential else { continue }
            bands.append(try lastSigmoidInputPercentiles(current, validation.features))
        }
        return (accuracies, bands)
    }

    /// How far the median moves over epochs 2 to the last (max - min).
    public static func medianDrift(_ bands: [[Double]]) -> Double {
        let medians = bands.dropFirst().compactMap { $0.count > 1 ? $0[1] : nil }
        return (medians.max() ?? 0) - (medians.min() ?? 0)
    }

    static func deepLinearReport(seeds: [UInt64]) throws -> ExperimentResult {
        var checks: [Check] = []
        var curves: [Figure.Series] = []
        var orthogonalEpochs: [[Int?]] = [], smallEpochs: [[Int?]] = []
        for seed in seeds {
            var o: [Int?] = [], s: [Int?] = []
            for depth in [2, 4, 8] {
                let orthogonal = try deepLinearTraining(depth: depth, initializer: .orthogonal(gain: 1), seed: seed)
                let small = try deepLinearTraining(depth: depth, initializer: .normal(standardDeviation: 0.02), seed: seed)
                o.append(firstEpoch(below: 0.5, in: orthogonal))
                s.append(firstEpoch(below: 0.5, in: small))
                if seed == seeds[0] {
                    curves.append(Figure.Series("orthogonal, depth \(depth)", values: orthogonal, from: 1))
                    curves.append(Figure.Series("small Gaussian, depth \(depth)", values: small, from: 1))
                }
            }
            orthogonalEpochs.append(o)
            smallEpochs.append(s)
        }
        func text(_ epochs: [[Int?]]) -> String {
            epochs.map { "[" + $0.map { $0.map(String.init) ?? "never" }.joined(separator: ", ") + "]" }.joined(separator: "; ")
        }
        checks.append(Check(
            "from orthogonal factors, learning takes about the same number of epochs at depths 2, 4 and 8",
            orthogonalEpochs.allSatisfy { e in let v = e.compactMap { $0 }; return v.count == 3 && (v.max() ?? 99) <= 6 && (v.max() ?? 0) <= 3 * (v.min() ?? 1) },
            "epochs to a training loss below 0.5 at depths 2, 4, 8: \(text(orthogonalEpochs))"))
        checks.append(Check(
            "from small Gaussian factors, learning slows with depth (stuck on the plateau at depths 4 and 8)",
            zip(smallEpochs, orthogonalEpochs).allSatisfy { s, o in (s[0] ?? Int.max) >= 2 * (o[0] ?? 0) && s[1] == nil && s[2] == nil },
            "epochs at depths 2, 4, 8: \(text(smallEpochs))"))
        var bnChecks: [Bool] = [], driftChecks: [Bool] = [], details: [String] = [], driftDetails: [String] = []
        var accuracyCurves: [Figure.Series] = [], medianCurves: [Figure.Series] = []
        for seed in seeds {
            for rate in [0.1, 0.5, 2.0] {
                let plain = try sigmoidTraining(batchNorm: false, learningRate: rate, seed: seed)
                let normalized = try sigmoidTraining(batchNorm: true, learningRate: rate, seed: seed)
                let plainBest = plain.accuracies.max() ?? 0
                let reached = normalized.accuracies.firstIndex { $0 >= plainBest }.map { $0 + 1 }
                bnChecks.append(plainBest < 0.5 && (normalized.accuracies.max() ?? 0) >= 0.9 && (reached ?? 99) <= 3)
                details.append(String(format: "seed %d lr %g: plain best %.1f%%, BatchNorm best %.1f%%", seed, rate, 100 * plainBest, 100 * (normalized.accuracies.max() ?? 0)))
                let (dp, dn) = (medianDrift(plain.bands), medianDrift(normalized.bands))
                driftChecks.append(dn < dp && (rate < 0.5 || (dp > 0.5 && dp > 5 * dn)))
                driftDetails.append(String(format: "lr %g: %.2f without, %.2f with", rate, dp, dn))
                if seed == seeds[0] {
                    accuracyCurves.append(Figure.Series("plain, lr \(rate)", values: plain.accuracies, from: 1))
                    accuracyCurves.append(Figure.Series("BatchNorm, lr \(rate)", values: normalized.accuracies, from: 1))
                    if rate == 0.5 {
                        for (k, name) in ["15th", "50th", "85th"].enumerated() {
                            medianCurves.append(Figure.Series("plain, \(name) percentile", values: plain.bands.map { $0[k] }, from: 1))
                        }
                        for (k, name) in ["15th", "50th", "85th"].enumerated() {
                            medianCurves.append(Figure.Series("BatchNorm, \(name)", values: normalized.bands.map { $0[k] }, from: 1))
                        }
                    }
                }
            }
        }
        checks.append(Check(
            "BatchNorm trains at learning rates where the plain sigmoid net is stuck, reaching its best accuracy within 3 epochs",
            bnChecks.allSatisfy { $0 }, details.joined(separator: "; ")))
        checks.append(Check(
            "the last sigmoid's input distribution stays put with BatchNorm and drifts without it",
            driftChecks.allSatisfy { $0 }, "median drift over epochs 2-10, " + driftDetails.joined(separator: "; ")))
        return ExperimentResult(
            id: "deep_linear", title: "4. Deep linear nets and batch normalization",
            description: "Deep linear networks (factored linear maps, plain SGD) from orthogonal or small Gaussian factors across depths "
                + "(Saxe, McClelland and Ganguli 2013); a sigmoid MLP 3 x 100 from a small Gaussian start, batch 60, with and without "
                + "BatchNorm across learning rates (Ioffe and Szegedy 2015).",
            figures: [
                Figure(title: "Deep linear nets (seed \(seeds[0]))", xLabel: "epoch", yLabel: "training loss", logY: true, series: curves),
                Figure(title: "Sigmoid MLP (seed \(seeds[0]))", xLabel: "epoch", yLabel: "held-out accuracy", series: accuracyCurves),
                Figure(title: "Last sigmoid's inputs, lr 0.5 (seed \(seeds[0]))", xLabel: "epoch", yLabel: "percentile", series: medianCurves),
            ],
            checks: checks)
    }
}
