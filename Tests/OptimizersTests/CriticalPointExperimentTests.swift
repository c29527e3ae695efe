import Saddle
import SaddleTestSupport
import Testing

@Suite("Critical points of a real network")
struct CriticalPointExperimentTests {
    /// Digits pooled 2x2 to 16 features, the first `count` training examples, standardized.
    func pooledDigits(count: Int) throws -> Dataset {
        let (train, _) = try Digits.load(dtype: .float64).split(validationFraction: 0.2, seed: 0)
        let pixels = try train.features.rows(0..<count).doubles
        var pooled = [Double](repeating: 0, count: count * 16)
        for n in 0..<count {
            for r in 0..<8 { for c in 0..<8 { pooled[n * 16 + (r / 2) * 4 + c / 2] += pixels[n * 64 + r * 8 + c] / 4 } }
        }
        let data = try Dataset(features: try Tensor(shape: [count, 16], scalars: pooled, dtype: .float64), labels: try train.labels.rows(0..<count), classCount: 10)
        return try Standardization(fittedTo: data).apply(to: data)
    }

    /// Newton's method with the pseudo-inverse (eigenvalues below 1e-9 of the spectrum's scale
    /// ignored: softmax is unchanged by a common shift of the logits).
    func newton(_ curvature: Curvature<SupervisedObjective>, from start: Tensor, iterations: Int) throws -> Tensor {
        // Levenberg-Marquardt on |g|^2 / 2: step = -(H^2 + mu I)^-1 H g, mu adapted.
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
                    theta = candidate
                    g = candidateGradient
                    norm = g.squaredNorm
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

    /// A 16-4-10 tanh MLP (118 parameters) on 400 pooled digits, Float64, full batch. Gradient
    /// descent (learning rate 1) runs 200 iterations; from its iterates 0, 10, 30 and 100 a
    /// critical-point search (Levenberg-Marquardt on |g|^2 / 2, which finds critical points of
    /// any index) runs 40 iterations, and each point found is classified from its full
    /// Hessian spectrum.
    @Test("critical points found early have high error and high index; gradient descent ends near a minimum", arguments: [UInt64(1), 2, 3])
    func errorGrowsWithIndex(seed: UInt64) throws {
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
        var theta = try curvature.flatPoint()
        let initialGradient = try curvature.gradient(at: theta).squaredNorm.squareRoot()
        var found: [(loss: Double, index: Double, gradient: Double, kind: CriticalPointKind)] = []
        for iteration in 0..<200 {
            if [0, 10, 30, 100].contains(iteration) {
                let point = try newton(curvature, from: theta, iterations: 40)
                let gradient = try curvature.gradient(at: point).squaredNorm.squareRoot()
                let verdict = classifier.classify(gradientNorm: gradient, eigenvalues: try curvature.spectrum(at: point).values)
                found.append((try curvature.value(at: point), verdict.index, gradient, verdict.kind))
            }
            theta = try (theta - curvature.gradient(at: theta)).detached
        }
        let end = classifier.classify(
            gradientNorm: try curvature.gradient(at: theta).squaredNorm.squareRoot(), eigenvalues: try curvature.spectrum(at: theta).values)
        let endLoss = try curvature.value(at: theta)
        let summary = "seed \(seed): found \(found.map { "(loss \($0.loss), index \($0.index), |g| \($0.gradient))" }); gradient descent ends at loss \(endLoss), index \(end.index)"
        print(summary)
        // From the initialization: an exact saddle of high error (the hidden units' symmetric point).
        #expect(found[0].kind == .saddle && found[0].gradient < 1e-8 && found[0].index > 0.2 && found[0].loss > 2, "\(summary)")
        // Every point is near-critical: the gradient norm is below 3% of its value at the
        // initialization (the search stalls along nearly flat directions short of exact zeros).
        for point in found { #expect(point.gradient < 0.03 * initialGradient, "\(summary)") }
        // Error grows with index: a point of clearly higher error never has the lower index.
        for a in found { for b in found where a.loss > b.loss + 0.05 { #expect(a.index >= b.index, "\(summary)") } }
        // Gradient descent ends far below the saddles, with almost no negative curvature.
        #expect(end.index < 0.05 && endLoss < 0.5 * found[0].loss, "\(summary)")
    }
}
