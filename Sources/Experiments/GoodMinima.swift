import SaddleCore
import SaddleData
import SaddleLayers

/// Where one restart of experiment 9 ended.
public struct Restart: Sendable {
    /// The training loss at the end.
    public var trainingLoss: Double
    /// The held-out loss at the end.
    public var testLoss: Double
    /// The end point classified from its full spectrum.
    public var end: FoundCriticalPoint
    /// The smallest and largest Hessian eigenvalues at the end.
    public var extremes: (smallest: Double, largest: Double)
}

extension Experiments {
    /// Experiment 9: `count` restarts of the tanh MLP 16 - `hidden` - 10 (initialization seeds
    /// `seed` * 1000 + k) on 400 pooled digits, each trained by full-batch gradient descent
    /// (learning rate 0.5, 3,000 iterations) and analysed at its end.
    public static func restarts(hidden: Int, count: Int, seed: UInt64) throws -> [Restart] {
        let (train, test) = try pooledDigitsSplit(count: 400)
        return try (0..<count).map { k in
            let model = try tanhMLP(hidden: hidden, seed: seed * 1000 + UInt64(k))
            let curvature = try Curvature(fullBatch(model, train))
            var theta = try curvature.flatPoint()
            for _ in 0..<3000 { theta = try (theta - curvature.gradient(at: theta) * 0.5).detached }
            let values = try curvature.spectrum(at: theta).values
            let gradient = try curvature.gradient(at: theta).squaredNorm.squareRoot()
            let trained = try model.replacing(try curvature.point.unflattening(theta))
            let testLoss = try Curvature(fullBatch(trained, test)).value()
            let trainingLoss = try curvature.value(at: theta)
            return Restart(
                trainingLoss: trainingLoss, testLoss: testLoss,
                end: FoundCriticalPoint(loss: trainingLoss, gradientNorm: gradient,
                                        classification: CriticalPointClassifier().classify(gradientNorm: gradient, eigenvalues: values)),
                extremes: (values.first ?? .nan, values.last ?? .nan))
        }
    }

    static func goodMinimaReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let perSeedCount = 6
        var results: [Int: [Restart]] = [:]
        for hidden in [4, 16] {
            for seed in seeds {
                context.note("restarts, 16-\(hidden)-10, seed \(seed)")
                results[hidden, default: []] += try restarts(hidden: hidden, count: perSeedCount, seed: seed)
            }
        }
        let small = results[4] ?? [], large = results[16] ?? []
        let (smallSpread, largeSpread) = (Verdict.spread(small.map(\.testLoss)), Verdict.spread(large.map(\.testLoss)))
        func summary(_ runs: [Restart]) -> String {
            let test = runs.map(\.testLoss), train = runs.map(\.trainingLoss)
            return "training loss \(format(train.min() ?? .nan))-\(format(train.max() ?? .nan)), held-out \(format(test.min() ?? .nan))-\(format(test.max() ?? .nan))"
                + " (relative spread \(format(Verdict.spread(test))))"
        }
        let checks = [
            Check("the end points of the larger net's restarts are similar: the relative spread of their held-out losses is at most \(Verdict.similarMinima)",
                  Verdict.areSimilar(spread: largeSpread), "16 hidden units: " + summary(large)),
            Check("the spread shrinks as the network grows (Choromanska et al.: bad minima become rare with size)", largeSpread < smallSpread,
                  "4 hidden units: " + summary(small) + "; 16: relative spread \(format(largeSpread))"),
            Check("the restarts end at (or near) minima: at most \(format(100 * Verdict.nearMinimumIndex))% negative eigenvalues",
                  (small + large).allSatisfy { $0.end.classification.index <= Verdict.nearMinimumIndex },
                  "largest share of negative eigenvalues: 4 units \(format(small.map(\.end.classification.index).max() ?? .nan)), 16 units \(format(large.map(\.end.classification.index).max() ?? .nan))"),
        ]
        var rows: [[String]] = []
        for hidden in [4, 16] {
            for (k, run) in (results[hidden] ?? []).enumerated() {
                rows.append(["16-\(hidden)-10", "\(seeds[k / perSeedCount])", format(run.trainingLoss), format(run.testLoss), format(run.end.gradientNorm),
                             "\(run.end.classification.negative)", format(run.extremes.smallest), format(run.extremes.largest)])
            }
        }
        func scatter(_ name: String, _ runs: [Restart]) -> Figure.Series {
            Figure.Series(name, runs.map { (x: $0.trainingLoss, y: $0.testLoss) }, connected: false)
        }
        return ExperimentResult(
            id: "good_minima", title: "9. Most local minima are good",
            claim: "For large networks the local minima found from different starts have similar, low test error, and poor minima "
                + "become rare as the network grows (Choromanska et al. 2015, The loss surfaces of multilayer networks; Dauphin et al. 2014).",
            method: "\(perSeedCount) restarts per seed (seeds \(list(seeds.map(String.init))), \(perSeedCount * seeds.count) per size) of tanh MLPs 16-4-10 "
                + "(118 parameters) and 16-16-10 (442) on 400 pooled digits, each trained by full-batch gradient descent (learning rate 1, "
                + "1,500 iterations), Float64; at each end the training and held-out (360 pooled digits) losses and the full Hessian spectrum.",
            departures: "Choromanska et al. trained MNIST networks of 25 to 500 hidden units with SGD and compared test-loss histograms; "
                + "here the networks are far smaller, so that every end point's full spectrum can be computed.",
            figures: [Figure(title: "Each restart's end: held-out against training loss", xLabel: "training loss", yLabel: "held-out loss",
                             series: [scatter("16-4-10", small), scatter("16-16-10", large)])],
            tables: [ReportTable(caption: "Every restart's end point.", header: ["net", "seed", "training loss", "held-out loss", "|g|", "negative eigenvalues", "smallest", "largest"], rows: rows)],
            checks: checks)
    }
}
