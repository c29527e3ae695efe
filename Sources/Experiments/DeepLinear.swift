import Foundation
import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers

/// The whitened regression problem of experiment 4 (Saxe, McClelland and Ganguli 2013):
/// inputs whitened so their correlation is the identity, one-hot targets, squared error.
public struct WhitenedProblem: Sendable {
    /// The whitened inputs `[P, dimension]`.
    public var inputs: Tensor
    /// The one-hot targets `[P, 10]`.
    public var targets: Tensor
    /// Singular values s of the input-output correlation Sigma31 = E[y x^T], descending.
    public var singularValues: [Double]
    /// The left singular vectors `[10, modes]` and right ones `[dimension, modes]`.
    public var left: Tensor, right: Tensor
    /// The loss of the least-squares solution W = Sigma31: the floor of the loss gap.
    public var optimalLoss: Double

    /// The mode strengths u_a = left_a^T W right_a of a weight `[10, dimension]`.
    public func modeStrengths(_ weight: Tensor) throws -> [Double] {
        let projected = try matmul(matmul(left, weight, transposeA: true), right).doubles
        let m = singularValues.count
        return (0..<m).map { projected[$0 * m + $0] }
    }
}

extension Experiments {
    /// The first `count` digits training examples, PCA-whitened to their `dimension` leading
    /// components (Float64), with one-hot targets.
    public static func whitenedDigits(count: Int = 500, dimension: Int = 32) throws -> WhitenedProblem {
        let (train, _) = try digits(dtype: .float64)
        let n = Swift.min(count, train.count)
        let x = try train.features.rows(0..<n)
        let centered = try x - x.mean(alongAxis: 0)
        let covariance = try matmul(centered, centered, transposeA: true) * (1 / Double(n))
        let (values, vectorsOrNil) = try LAPACK.symmetricEigen(covariance)
        guard let vectors = vectorsOrNil else { throw ExperimentError.failed("no eigenvectors of the input covariance") }
        let lambda = values.doubles
        // The leading `dimension` components (eigenvalues ascend), each scaled to unit variance.
        let columns = (0..<dimension).map { lambda.count - 1 - $0 }
        let all = vectors.doubles
        let size = lambda.count
        var projection = [Double](repeating: 0, count: size * dimension)
        for (j, column) in columns.enumerated() {
            for i in 0..<size { projection[i * dimension + j] = all[i * size + column] / lambda[column].squareRoot() }
        }
        let inputs = try matmul(centered, try Tensor(shape: [size, dimension], scalars: projection))
        let labels = try train.labels.rows(0..<n).doubles
        var onehot = [Double](repeating: 0, count: n * 10)
        for (k, label) in labels.enumerated() { onehot[k * 10 + Int(label)] = 1 }
        let targets = try Tensor(shape: [n, 10], scalars: onehot)
        // Sigma31 = Y^T X / P = U S V^T from the eigenvectors of Sigma31 Sigma31^T.
        let sigma = try matmul(targets, inputs, transposeA: true) * (1 / Double(n))
        let (outer, leftOrNil) = try LAPACK.symmetricEigen(try matmul(sigma, sigma, transposeB: true))
        guard let leftAll = leftOrNil else { throw ExperimentError.failed("no singular vectors of Sigma31") }
        let order = Array((0..<10).reversed()).filter { outer.doubles[$0] > 1e-12 }
        let s = order.map { outer.doubles[$0].squareRoot() }
        let l = leftAll.doubles
        let left = try Tensor(shape: [10, order.count], scalars: (0..<10).flatMap { i in order.map { l[i * 10 + $0] } })
        let right = try matmul(sigma, left, transposeA: true) * Tensor(shape: [1, order.count], scalars: s.map { 1 / $0 })
        let optimal = try MeanSquaredError()(matmul(inputs, sigma, transposeB: true), targets).item()
        return WhitenedProblem(inputs: inputs, targets: targets, singularValues: s, left: left, right: right, optimalLoss: optimal)
    }

    /// Full-batch gradient descent at `learningRate` on the factored linear `model` for the
    /// whitened problem, up to `steps` steps: the loss before each step and the mode strengths
    /// every `every` steps; stops early once the loss is within `stopShare` of the gap.
    static func linearDescent(
        _ model: FactoredLinear, _ problem: WhitenedProblem, learningRate: Double, steps: Int, every: Int = 0, stopShare: Double? = nil
    ) throws -> (losses: [Double], modes: [[Double]]) {
        let objective = SupervisedObjective(model: Sequential([model]), loss: MeanSquaredError(), input: problem.inputs, target: problem.targets, mode: .inference)
        var parameters = objective.parameters
        var sgd = try SGD(learningRate: learningRate)
        var losses: [Double] = [], modes: [[Double]] = []
        for step in 0...steps {
            if every > 0 && step % every == 0 {
                guard let current = try Sequential([model]).replacing(parameters).layers.first as? FactoredLinear else {
                    throw ExperimentError.failed("the factored linear model lost its layer")
                }
                modes.append(try problem.modeStrengths(try current.weight()))
            }
            if step == steps { break }
            let report = try sgd.step(&parameters, objective: objective)
            losses.append(report.loss)
            guard report.loss.isFinite else { break }
            if let share = stopShare, let first = losses.first, report.loss <= problem.optimalLoss + share * (first - problem.optimalLoss) { break }
        }
        return (losses, modes)
    }

    /// Saxe et al.'s closed form for depth 2 from a decoupled start: the strength of a mode
    /// of singular value s at time t (in units of tau), from u0: s e^(2st) / (e^(2st) - 1 + s / u0).
    public static func modeStrength(s: Double, u0: Double, t: Double) -> Double {
        let e = Foundation.exp(2 * s * t)
        return s * e / (e - 1 + s / u0)
    }

    /// Experiment 4a: a depth-2 factored linear model started decoupled (W = U diag(u0) V^T,
    /// balanced factors) with u0 = 1e-4 on every mode: the mode strengths every 5 steps of
    /// gradient descent at learning rate 1, against the closed form (tau = 1 / (2 c lr) steps
    /// with c = 1/10, the mean squared error's scale).
    public static func decoupledModes(_ problem: WhitenedProblem, steps: Int = 400) throws -> (measured: [[Double]], predicted: [[Double]], tau: Double) {
        let m = problem.singularValues.count
        let rank = 16
        let a = 1e-2
        let l = problem.left.doubles, r = problem.right.doubles
        let d = problem.inputs.shape[1]
        var first = [Double](repeating: 0, count: 10 * rank), second = [Double](repeating: 0, count: rank * d)
        for k in 0..<m {
            for i in 0..<10 { first[i * rank + k] = l[i * m + k] * a }
            for j in 0..<d { second[k * d + j] = r[j * m + k] * a }
        }
        let model = try FactoredLinear(factors: [try Tensor(shape: [10, rank], scalars: first), try Tensor(shape: [rank, d], scalars: second)], bias: nil)
        let rate = 1.0
        let tau = 1 / (2 * 0.1 * rate)
        let (_, modes) = try linearDescent(model, problem, learningRate: rate, steps: steps, every: 5)
        let predicted = modes.indices.map { k in problem.singularValues.map { modeStrength(s: $0, u0: a * a, t: Double(k * 5) / tau) } }
        return (modes, predicted, tau)
    }

    /// Experiment 4b: steps of full-batch gradient descent until the loss has closed 95% of
    /// its gap to the least-squares optimum, for a factored linear model of `depth` factors
    /// (rank 32) from `initializer`, at the best learning rate of `rates` (fewest steps; the
    /// first on a tie); nil steps when none got there within `maximumSteps`.
    public static func stepsToLearn(
        _ problem: WhitenedProblem, depth: Int, initializer: WeightInitializer, seed: UInt64, rates: [Double] = linearRates, maximumSteps: Int = 600
    ) throws -> (steps: Int?, rate: Double, losses: [Double]) {
        var best: (steps: Int?, rate: Double, losses: [Double])?
        for rate in rates {
            var g = RandomGenerator(seed: seed)
            let model = try FactoredLinear(inputSize: problem.inputs.shape[1], units: 10, rank: 32, depth: depth, initializer: initializer, dtype: .float64, using: &g)
            let (losses, _) = try linearDescent(model, problem, learningRate: rate, steps: maximumSteps, stopShare: 0.05)
            guard let first = losses.first else { continue }
            let target = problem.optimalLoss + 0.05 * (first - problem.optimalLoss)
            let steps = losses.firstIndex { $0 <= target }
            if best == nil || (steps ?? Int.max) < (best?.steps ?? Int.max) { best = (steps, rate, losses) }
        }
        return best ?? (nil, .nan, [])
    }

    /// The learning-rate grid of the depth sweep.
    public static let linearRates = [0.01, 0.03, 0.1, 0.3, 1, 3]

    /// The depths of the sweep.
    public static let linearDepths = [2, 4, 8, 16, 32]

    static func deepLinearReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        let problem = try whitenedDigits()
        context.note("deep linear: decoupled modes")
        let modes = try decoupledModes(problem)
        let top = problem.singularValues.count
        let followed = (0..<top).allSatisfy { k in
            Verdict.follows(modes.measured.map { $0[k] }, modes.predicted.map { $0[k] }, scale: problem.singularValues[k])
        }
        let gaps = (0..<top).map { k in zip(modes.measured, modes.predicted).map { Swift.abs($0[k] - $1[k]) }.max() ?? .nan }
        var orthogonal: [[(Int?, Double)]] = [], gaussian: [[(Int?, Double)]] = []
        var curves: [Figure.Series] = []
        for seed in seeds {
            var o: [(Int?, Double)] = [], s: [(Int?, Double)] = []
            for depth in linearDepths {
                context.note("deep linear: depth \(depth), seed \(seed)")
                let runO = try stepsToLearn(problem, depth: depth, initializer: .orthogonal(gain: 1), seed: seed)
                let runG = try stepsToLearn(problem, depth: depth, initializer: .normal(standardDeviation: 1 / Double(32).squareRoot()), seed: seed)
                o.append((runO.steps, runO.rate))
                s.append((runG.steps, runG.rate))
                if seed == seeds[0] && [2, 8, 32].contains(depth) {
                    curves.append(Figure.Series("orthogonal, depth \(depth)", values: runO.losses.map { $0 - problem.optimalLoss }))
                    curves.append(Figure.Series("scaled Gaussian, depth \(depth)", values: runG.losses.map { $0 - problem.optimalLoss }))
                }
            }
            orthogonal.append(o)
            gaussian.append(s)
        }
        func text(_ steps: [(Int?, Double)]) -> String {
            "[" + steps.map { step, rate in (step.map(String.init) ?? "not within 600") + " (lr \(format(rate)))" }.joined(separator: ", ") + "]"
        }
        let checks = [
            Check(
                "from a decoupled small start, each of the \(top) modes follows the closed form u(t) = s e^(2st/tau) / (e^(2st/tau) - 1 + s/u0) to within \(format(Verdict.curveTolerance)) s",
                followed,
                "largest gaps over the run, as a share of s: " + zip(gaps, problem.singularValues).map { format($0 / $1) }.joined(separator: ", ")
                    + "; s = " + problem.singularValues.prefix(top).map(format).joined(separator: ", ")),
            Check(
                "from orthogonal factors, learning time is independent of depth: steps to 95% of the loss gap at depths \(linearDepths.map(String.init).joined(separator: ", ")) within a factor \(format(Verdict.depthSpread))",
                orthogonal.allSatisfy { Verdict.isDepthIndependent($0.map(\.0)) }, perSeed(seeds, orthogonal, text)),
            Check(
                "from scaled Gaussian factors (variance 1/fan-in), learning slows with depth: depth 32 takes at least \(format(Verdict.speedup)) times the steps of depth 2",
                gaussian.allSatisfy { Verdict.slowsWithDepth($0.map(\.0)) }, perSeed(seeds, gaussian, text)),
        ]
        func cells(_ steps: [(Int?, Double)]) -> [String] { steps.map { step, rate in (step.map { String($0) } ?? "-") + " (lr \(format(rate)))" } }
        var rows: [[String]] = []
        for (k, seed) in seeds.enumerated() {
            rows.append(["\(seed)", "orthogonal"] + cells(orthogonal[k]))
            rows.append(["\(seed)", "scaled Gaussian"] + cells(gaussian[k]))
        }
        let modeSeries = Array(stride(from: 0, to: top, by: 2).prefix(4)).flatMap { k in
            [Figure.Series("mode \(k + 1) (s = \(format(problem.singularValues[k]))), measured", modes.measured.enumerated().map { (x: Double($0.offset * 5), y: $0.element[k]) }),
             Figure.Series("mode \(k + 1), closed form", modes.predicted.enumerated().map { (x: Double($0.offset * 5), y: $0.element[k]) })]
        }
        return ExperimentResult(
            id: "deep_linear", title: "4. Deep linear networks: learning dynamics and depth",
            claim: "In deep linear networks each mode of the input-output correlation is learned along a sigmoidal curve with a closed form, "
                + "in a time inversely proportional to its singular value; from orthogonal (dynamical-isometry) initial factors the learning "
                + "time is independent of depth, while from scaled Gaussian factors it grows with depth (Saxe, McClelland and Ganguli 2013, "
                + "Exact solutions to the nonlinear dynamics of learning in deep linear neural networks).",
            method: "500 digits training examples PCA-whitened to their 32 leading components (input correlation = I), one-hot targets, "
                + "mean squared error, full-batch gradient descent in Float64. (a) Depth 2, rank 16, factors started decoupled along the "
                + "singular vectors of Sigma31 with u0 = 1e-4, learning rate 1, 400 steps, against the closed form with tau = 5 steps. "
                + "(b) Depths \(linearDepths.map(String.init).joined(separator: ", ")), rank 32, orthogonal or scaled Gaussian factors "
                + "(standard deviation 1/sqrt(32) = 1/sqrt(fan-in)), steps until 95% of the gap between the initial and the "
                + "least-squares loss is closed (at most 600) at the best learning rate of 0.01, 0.03, 0.1, 0.3, 1 and 3 for each depth and start, as the paper chose the best rate per depth. Seeds \(list(seeds.map(String.init))).",
            departures: "Saxe et al. used MNIST with a 1,000-unit width and depths up to 100; here the whitened digits, width 32 and "
                + "depths up to 32, with a 6-point learning-rate grid. Whitened inputs make the end-to-end least-squares problem perfectly "
                + "conditioned, so a well-conditioned start can close the gap in very few steps at the best rate. A very small start (the plateau of the saddle at the origin) is a different effect, shown in "
                + "experiment 3's deep linear interpolation and in (a)'s slow start.",
            figures: [
                Figure(title: "Depth 2 from a decoupled small start: mode strengths", xLabel: "step", yLabel: "u (mode strength)", series: modeSeries),
                Figure(title: "Loss gap over training (seed \(seeds[0]))", xLabel: "step", yLabel: "loss - least-squares loss", logY: true, series: curves),
                Figure(
                    title: "Steps to 95% of the loss gap, against depth (seed \(seeds[0]); missing: not within 600)", xLabel: "depth", yLabel: "steps",
                    series: [
                        Figure.Series("orthogonal", zip(linearDepths, orthogonal[0].map(\.0)).compactMap { d, s in s.map { (x: Double(d), y: Double($0)) } }),
                        Figure.Series("scaled Gaussian", zip(linearDepths, gaussian[0].map(\.0)).compactMap { d, s in s.map { (x: Double(d), y: Double($0)) } }),
                    ]),
            ],
            tables: [ReportTable(caption: "Steps to 95% of the loss gap per depth.", header: ["seed", "start"] + linearDepths.map { "depth \($0)" }, rows: rows)],
            checks: checks)
    }
}
