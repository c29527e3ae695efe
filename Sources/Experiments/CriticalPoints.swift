import SaddleCore
import SaddleData
import SaddleLayers

/// A point found by the critical-point search, classified from its full Hessian spectrum.
public struct FoundCriticalPoint: Sendable {
    /// The training loss at the point.
    public var loss: Double
    /// The Euclidean norm of the gradient at the point.
    public var gradientNorm: Double
    /// The point's kind and index, from its full Hessian spectrum.
    public var classification: CriticalPointClassification
}

extension Experiments {
    /// Digits pooled 2x2 to 16 features: the first `count` training examples, standardized.
    public static func pooledDigits(count: Int) throws -> Dataset {
        try pooledDigitsSplit(count: count).train
    }

    /// A critical point near `start`, of any index: Levenberg-Marquardt on |g|^2 / 2, whose
    /// step is -(H^2 + mu I)^-1 H g in the Hessian's eigenbasis, mu adapted.
    public static func criticalPointSearch<O: Objective>(_ curvature: Curvature<O>, from start: Tensor, iterations: Int) throws -> Tensor {
        var theta = start
        var mu = 1e-3
        var g = try curvature.gradient(at: theta)
        var norm = g.squaredNorm
        for _ in 0..<iterations {
            let (values, vectors) = try curvature.spectrum(at: theta)
            let projected = try matmul(vectors.transposed(), g.reshaped(to: [g.count, 1])).doubles
            var accepted = false
            for _ in 0..<12 {
                let coefficients = zip(values, projected).map { -$0 * $1 / ($0 * $0 + mu) }
                let step = try matmul(vectors, Tensor(shape: [coefficients.count, 1], scalars: coefficients)).reshaped(to: [g.count])
                let candidate = try (theta + step).detached
                let candidateGradient = try curvature.gradient(at: candidate)
                if candidateGradient.squaredNorm < norm {
                    (theta, g, norm) = (candidate, candidateGradient, candidateGradient.squaredNorm)
                    mu = Swift.max(mu / 10, 1e-12)
                    accepted = true
                    break
                }
                mu *= 10
            }
            if !accepted || norm < 1e-20 { break }
        }
        return theta
    }

    /// The pooled digits: the first `count` training examples and the held-out part, standardized
    /// with the training part's statistics.
    public static func pooledDigitsSplit(count: Int) throws -> (train: Dataset, validation: Dataset) {
        let (train, validation) = try Digits.load(dtype: .float64).split(validationFraction: 0.2, seed: 0)
        func pooled(_ data: Dataset, _ n: Int) throws -> Dataset {
            let pixels = try data.features.rows(0..<n).doubles
            var values = [Double](repeating: 0, count: n * 16)
            for example in 0..<n {
                for r in 0..<8 { for c in 0..<8 { values[example * 16 + (r / 2) * 4 + c / 2] += pixels[example * 64 + r * 8 + c] / 4 } }
            }
            return try Dataset(features: try Tensor(shape: [n, 16], scalars: values, dtype: .float64), labels: try data.labels.rows(0..<n), classCount: 10)
        }
        let small = try pooled(train, Swift.min(count, train.count))
        let scaler = try Standardization(fittedTo: small)
        return (try scaler.apply(to: small), try scaler.apply(to: try pooled(validation, validation.count)))
    }

    /// The tanh MLP 16 - `hidden` - 10 of experiments 2 and 9, Float64.
    public static func tanhMLP(hidden: Int, seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        return try Sequential {
            try Dense(inputSize: 16, units: hidden, dtype: .float64, using: &g)
            Tanh()
            try Dense(inputSize: hidden, units: 10, dtype: .float64, using: &g)
        }
    }

    /// The full-batch objective of `model` on `data` (inference mode: these models have no dropout or statistics).
    static func fullBatch(_ model: any Layer, _ data: Dataset) -> SupervisedObjective {
        SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: data.features, target: data.labels, mode: .inference)
    }

    /// `point` classified from its gradient and full Hessian spectrum.
    static func classified<O: Objective>(_ curvature: Curvature<O>, _ point: Tensor) throws -> FoundCriticalPoint {
        let gradient = try curvature.gradient(at: point).squaredNorm.squareRoot()
        return FoundCriticalPoint(
            loss: try curvature.value(at: point), gradientNorm: gradient,
            classification: CriticalPointClassifier().classify(gradientNorm: gradient, eigenvalues: try curvature.spectrum(at: point).values))
    }

    /// Experiment 2 for one seed: a 16-4-10 tanh MLP (118 parameters) on 400 pooled digits,
    /// Float64, full batch. Gradient descent (learning rate 1) runs 2,000 iterations; the
    /// critical-point search (30 iterations) starts from its iterates 0, 10, 30, 100, 300 and
    /// 1,000 and from 3 other initializations. Returns the points found (with where each
    /// search started), the gradient norm at the initialization, gradient descent's end point
    /// and the exact saddle found from the initialization.
    public static func criticalPoints(seed: UInt64) throws -> (found: [(start: String, point: FoundCriticalPoint)], initialGradient: Double, end: FoundCriticalPoint, saddle: Tensor) {
        let data = try pooledDigits(count: 400)
        let curvature = try Curvature(fullBatch(try tanhMLP(hidden: 4, seed: seed), data))
        var theta = try curvature.flatPoint()
        let initialGradient = try curvature.gradient(at: theta).squaredNorm.squareRoot()
        var found: [(start: String, point: FoundCriticalPoint)] = []
        var saddle = theta
        for iteration in 0..<2000 {
            if [0, 10, 30, 100, 300, 1000].contains(iteration) {
                let point = try criticalPointSearch(curvature, from: theta, iterations: 30)
                if iteration == 0 { saddle = point }
                found.append(("gradient descent, iteration \(iteration)", try classified(curvature, point)))
            }
            theta = try (theta - curvature.gradient(at: theta)).detached
        }
        for k in 1...3 {
            let other = try Curvature(fullBatch(try tanhMLP(hidden: 4, seed: seed * 1000 + UInt64(k)), data))
            let start = try other.flatPoint()
            found.append(("initialization \(k) of 3 others", try classified(curvature, try criticalPointSearch(curvature, from: start, iterations: 30))))
        }
        return (found, initialGradient, try classified(curvature, theta), saddle)
    }

    /// Gradient descent at step sizes `rates` from `saddle` + `offset` against the exact
    /// continuous-time path of the quadratic model there (`GradientFlow`) up to time `horizon`:
    /// the largest gap between iterate k and the flow at t = k * rate, relative to the flow's
    /// largest displacement, for each rate; and the distances from the saddle over time.
    public static func flowAgainstIterates<O: Objective>(
        _ curvature: Curvature<O>, saddle: Tensor, offset: Tensor, rates: [Double], horizon: Double
    ) throws -> (gaps: [Double], flow: [(x: Double, y: Double)], iterates: [[(x: Double, y: Double)]], slowest: Double) {
        let start = try (saddle + offset).detached
        let flow = try GradientFlow(hessian: try curvature.hessian(at: start), gradient: try curvature.gradient(at: start), point: start)
        func distance(_ theta: Tensor) throws -> Double { try (theta - saddle).squaredNorm.squareRoot() }
        var flowPath: [(x: Double, y: Double)] = []
        for k in 0...100 {
            let t = horizon * Double(k) / 100
            flowPath.append((t, try distance(try flow.point(at: t))))
        }
        var gaps: [Double] = [], paths: [[(x: Double, y: Double)]] = []
        for rate in rates {
            var theta = start
            var gap = 0.0, displacement = 0.0
            var path: [(x: Double, y: Double)] = [(0, try distance(theta))]
            let steps = Int((horizon / rate).rounded())
            for k in 1...Swift.max(steps, 1) {
                theta = try (theta - curvature.gradient(at: theta) * rate).detached
                let exact = try flow.point(at: Double(k) * rate)
                gap = Swift.max(gap, try (theta - exact).squaredNorm.squareRoot())
                displacement = Swift.max(displacement, try (exact - start).squaredNorm.squareRoot())
                path.append((Double(k) * rate, try distance(theta)))
            }
            gaps.append(gap / Swift.max(displacement, 1e-300))
            paths.append(path)
        }
        return (gaps, flowPath, paths, flow.eigenvalues.first ?? .nan)
    }

    static func criticalPointsReport(_ context: ExperimentContext) throws -> ExperimentResult {
        let seeds = context.seeds
        var runs: [(found: [(start: String, point: FoundCriticalPoint)], initialGradient: Double, end: FoundCriticalPoint, saddle: Tensor)] = []
        for seed in seeds {
            context.note("critical points, seed \(seed)")
            runs.append(try criticalPoints(seed: seed))
        }
        // Points whose gradient norm fell below the share of the start's that counts as critical.
        let critical = runs.flatMap { run in run.found.map(\.point).filter { Verdict.isNearCritical(gradientNorm: $0.gradientNorm, initial: run.initialGradient) } }
        let rho = Verdict.rankCorrelation(critical.map(\.loss), critical.map(\.classification.index))
        var checks = [
            Check(
                "from the initialization the search finds an exact saddle of high error (loss at least \(format(Verdict.highErrorShare)) of chance, ln 10)",
                runs.allSatisfy { $0.found[0].point.classification.kind == .saddle && Verdict.isHighError($0.found[0].point.loss, classes: 10) },
                perSeed(seeds, runs) { "loss \(format($0.found[0].point.loss)), index \(format($0.found[0].point.classification.index)), |g| \(format($0.found[0].point.gradientNorm))" }),
            Check(
                "error grows with index: among the points whose gradient fell below \(Verdict.searchedPointShare) of its start, loss and index are rank-correlated at least \(Verdict.indexCorrelation)",
                Verdict.errorGrowsWithIndex(losses: critical.map(\.loss), indices: critical.map(\.classification.index)),
                "Spearman correlation \(format(rho)) over \(critical.count) of \(runs.map(\.found.count).reduce(0, +)) points"),
            Check(
                "gradient descent (2,000 iterations) ends near a minimum: at most \(format(100 * Verdict.nearMinimumIndex))% negative eigenvalues and a gradient below \(Verdict.nearCriticalShare) of its start",
                runs.allSatisfy { Verdict.isNearMinimum(index: $0.end.classification.index, gradientNorm: $0.end.gradientNorm, initial: $0.initialGradient) },
                perSeed(seeds, runs) { "loss \(format($0.end.loss)), \($0.end.classification.negative) negative eigenvalues of 118, |g| \(format($0.end.gradientNorm)) (start \(format($0.initialGradient))), \($0.end.classification.kind.rawValue)" }),
        ]
        // Gradient descent near the exact saddle of seed 1 against the flow's closed form.
        context.note("critical points: gradient flow against the iterates")
        let curvature = try Curvature(fullBatch(try tanhMLP(hidden: 4, seed: seeds[0]), try pooledDigits(count: 400)))
        var g = RandomGenerator(seed: seeds[0])
        let direction = Tensor.randomNormal([curvature.dimension], dtype: .float64, using: &g)
        let offset = direction * (1e-3 / direction.squaredNorm.squareRoot())
        let rates = [0.2, 0.1, 0.05]
        let flow = try flowAgainstIterates(curvature, saddle: runs[0].saddle, offset: offset, rates: rates, horizon: 20)
        checks.append(Check(
            "near the saddle, gradient descent follows the continuous-time path of the quadratic model, its gap shrinking in proportion to the step",
            Verdict.convergesAtFirstOrder(flow.gaps),
            "largest gap relative to the displacement: " + zip(rates, flow.gaps).map { "\(format($1)) at learning rate \(format($0))" }.joined(separator: ", ")
                + "; the most negative eigenvalue \(format(flow.slowest))"))
        let rows = zip(seeds, runs).flatMap { seed, run in
            run.found.map { ["\(seed)", $0.start, format($0.point.loss), format($0.point.gradientNorm), format($0.point.classification.index), $0.point.classification.kind.rawValue] }
                + [["\(seed)", "gradient descent's end (2,000 iterations)", format(run.end.loss), format(run.end.gradientNorm), format(run.end.classification.index), run.end.classification.kind.rawValue]]
        }
        let points = runs.flatMap { $0.found.map(\.point) }
        return ExperimentResult(
            id: "critical_points", title: "2. Critical points of a real network, classified",
            claim: "In high-dimensional non-convex problems critical points of high error are overwhelmingly saddles, and the error of a "
                + "critical point grows with its index, the share of negative Hessian eigenvalues (Dauphin et al. 2014, after Bray and Dean "
                + "2007); gradient descent near a critical point follows the continuous-time flow, escaping along negative curvature like "
                + "exp(|lambda| t) (the talk's gradient-flow slide).",
            method: "A 16-4-10 tanh MLP (118 parameters) on 400 digits pooled 2x2 to 16 features, Float64, full batch. Gradient descent "
                + "(learning rate 1) for 2,000 iterations; a Levenberg-Marquardt search on |g|^2/2 (30 iterations, exact Hessian) from its "
                + "iterates 0, 10, 30, 100, 300 and 1,000 and from 3 further initializations; every point classified from its full "
                + "spectrum. Seeds \(list(seeds.map(String.init))). The flow comparison starts 1e-3 from seed \(seeds[0])'s saddle and "
                + "runs to t = 20 at learning rates 0.2, 0.1 and 0.05.",
            departures: "Dauphin et al. used Newton's method on a 2-layer MLP on down-sampled MNIST and CIFAR-10 to find critical points; "
                + "this search minimizes |g|^2, which also finds saddles, on a smaller network. Searches that stall on nearly flat "
                + "directions give near-critical points: they are shown with their gradient norm, and only those below \(Verdict.searchedPointShare) "
                + "of the start's gradient enter the correlation. Every search from a random initialization ends at the same "
                + "symmetric saddle (loss ln 10, all hidden units alike), which the table shows as found once per start.",
            figures: [
                Figure(
                    title: "Training loss against index", xLabel: "index (share of negative eigenvalues)", yLabel: "training loss",
                    series: [
                        Figure.Series("near-critical (|g| at most \(format(100 * Verdict.searchedPointShare))% of the start)", critical.map { (x: $0.classification.index, y: $0.loss) }, connected: false),
                        Figure.Series("other points found", points.filter { p in !critical.contains { $0.loss == p.loss } }.map { (x: $0.classification.index, y: $0.loss) }, connected: false),
                        Figure.Series("gradient descent's end", runs.map { (x: $0.end.classification.index, y: $0.end.loss) }, connected: false),
                    ]),
                Figure(
                    title: "Leaving the saddle (seed \(seeds[0])): distance from it", xLabel: "time t (iterations x learning rate)", yLabel: "|theta - saddle|", logY: true,
                    series: [Figure.Series("gradient flow (closed form)", flow.flow)]
                        + zip(rates, flow.iterates).map { Figure.Series("gradient descent, learning rate \(format($0))", $1) }),
            ],
            tables: [ReportTable(caption: "Every point found: training loss, gradient norm, index and kind.", header: ["seed", "search started from", "loss", "|g|", "index", "kind"], rows: rows)],
            checks: checks)
    }
}
