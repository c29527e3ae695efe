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
        let (train, _) = try Digits.load(dtype: .float64).split(validationFraction: 0.2, seed: 0)
        let n = Swift.min(count, train.count)
        let pixels = try train.features.rows(0..<n).doubles
        var pooled = [Double](repeating: 0, count: n * 16)
        for example in 0..<n {
            for r in 0..<8 { for c in 0..<8 { pooled[example * 16 + (r / 2) * 4 + c / 2] += pixels[example * 64 + r * 8 + c] / 4 } }
        }
        let data = try Dataset(
            features: try Tensor(shape: [n, 16], scalars: pooled, dtype: .float64), labels: try train.labels.rows(0..<n), classCount: 10)
        return try Standardization(fittedTo: data).apply(to: data)
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

    /// Experiment 2: a 16-4-10 tanh MLP (118 parameters) on 400 pooled digits, Float64, full
    /// batch. Gradient descent (learning rate 1) runs 200 iterations; from its iterates 0, 10,
    /// 30 and 100 the critical-point search runs 40 iterations. Returns the points found, the
    /// gradient norm at the initialization, and where gradient descent ended.
    public static func criticalPoints(seed: UInt64) throws -> (found: [FoundCriticalPoint], initialGradient: Double, end: FoundCriticalPoint) {
        let data = try pooledDigits(count: 400)
        let classifier = CriticalPointClassifier()
        var g = RandomGenerator(seed: seed)
        let model = try Sequential {
            try Dense(inputSize: 16, units: 4, dtype: .float64, using: &g)
            Tanh()
            try Dense(inputSize: 4, units: 10, dtype: .float64, using: &g)
        }
        let objective = SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: data.features, target: data.labels)
        let curvature = try Curvature(objective)
        func classified(_ point: Tensor) throws -> FoundCriticalPoint {
            let gradient = try curvature.gradient(at: point).squaredNorm.squareRoot()
            return FoundCriticalPoint(
                loss: try curvature.value(at: point), gradientNorm: gradient,
                classification: classifier.classify(gradientNorm: gradient, eigenvalues: try curvature.spectrum(at: point).values))
        }
        var theta = try curvature.flatPoint()
        let initialGradient = try curvature.gradient(at: theta).squaredNorm.squareRoot()
        var found: [FoundCriticalPoint] = []
        for iteration in 0..<200 {
            if [0, 10, 30, 100].contains(iteration) { found.append(try classified(try criticalPointSearch(curvature, from: theta, iterations: 40))) }
            theta = try (theta - curvature.gradient(at: theta)).detached
        }
        return (found, initialGradient, try classified(theta))
    }

    static func criticalPointsReport(seeds: [UInt64]) throws -> ExperimentResult {
        let runs = try seeds.map { try criticalPoints(seed: $0) }
        let points = runs.flatMap(\.found)
        let checks = [
            Check(
                "from the initialization the search finds an exact saddle of high error",
                runs.allSatisfy { $0.found[0].classification.kind == .saddle && $0.found[0].gradientNorm < 1e-8 && $0.found[0].loss > 2 },
                runs.map { "loss \(format($0.found[0].loss)), index \(format($0.found[0].classification.index))" }.joined(separator: "; ")),
            Check(
                "error grows with index: a point of clearly higher error never has the lower index",
                runs.allSatisfy { run in run.found.allSatisfy { a in run.found.allSatisfy { b in !(a.loss > b.loss + 0.05) || a.classification.index >= b.classification.index } } },
                points.map { "(\(format($0.loss)), \(format($0.classification.index)))" }.joined(separator: " ")),
            Check(
                "gradient descent ends near a minimum, far below the saddles",
                runs.allSatisfy { $0.end.classification.index < 0.05 && $0.end.loss < 0.5 * $0.found[0].loss },
                runs.map { "loss \(format($0.end.loss)), index \(format($0.end.classification.index))" }.joined(separator: "; ")),
        ]
        return ExperimentResult(
            id: "critical_points", title: "2. Critical points of a real network, classified",
            description: "A 16-4-10 tanh MLP on 400 pooled digits (Float64, full batch): critical points searched from gradient-descent "
                + "iterates, each classified from its full Hessian spectrum (Dauphin et al. 2014). Points other than the first are "
                + "near-critical: the search stalls along nearly flat directions.",
            figures: [Figure(
                title: "Training loss against index", xLabel: "index (share of negative eigenvalues)", yLabel: "training loss",
                series: [
                    Figure.Series("points found", points.map { (x: $0.classification.index, y: $0.loss) }, connected: false),
                    Figure.Series("gradient descent after 200 iterations", runs.map { (x: $0.end.classification.index, y: $0.end.loss) }, connected: false),
                ])],
            checks: checks)
    }
}
