import SaddleCore
import SaddleTestSupport
import Testing

/// The plane functions as objectives in Core terms (Tests/Support has them via Saddle too).
struct Plane: Objective {
    var parameters: NamedTensors
    let function: @Sendable (Tensor, Tensor) throws -> Tensor

    init(_ x: Double, _ y: Double, _ function: @escaping @Sendable (Tensor, Tensor) throws -> Tensor) {
        parameters = ["p": Tensor([x, y])]
        self.function = function
    }

    func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        let parts = try parameters["p"]!.split(sizes: [1, 1], alongAxis: 0)
        return ObjectiveOutput(loss: try function(parts[0], parts[1]).sum())
    }
}

/// The 2-8-8-1 tanh network's MSE on fixed data, as a flat function.
struct TinyNetwork {
    let inputs: Tensor
    let targets: Tensor

    init(seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        inputs = Tensor.randomNormal([32, 2], dtype: .float64, using: &g)
        targets = Tensor.randomNormal([32, 1], dtype: .float64, using: &g)
    }

    func loss(_ t: Tensor) throws -> Tensor {
        let p = try t.split(sizes: [16, 8, 64, 8, 8, 1], alongAxis: 0)
        let h1 = tanh(try linear(inputs, weight: p[0].reshaped(to: [8, 2]), bias: p[1]))
        let h2 = tanh(try linear(h1, weight: p[2].reshaped(to: [8, 8]), bias: p[3]))
        let out = try linear(h2, weight: p[4].reshaped(to: [1, 8]), bias: p[5])
        return try (out - targets).squared().mean()
    }
}

@Suite("Curvature analyses")
struct CurvatureTests {
    func classify(_ objective: Plane) throws -> CriticalPointClassification {
        let curvature = try Curvature(objective)
        let gradient = try curvature.gradient()
        let (values, _) = try curvature.spectrum()
        return CriticalPointClassifier().classify(gradientNorm: gradient.squaredNorm.squareRoot(), eigenvalues: values)
    }

    @Test func knownPointsAreClassified() throws {
        #expect(try classify(Plane(0, 0) { x, y in try x.squared() + y.squared() * 3 }).kind == .minimum)
        #expect(try classify(Plane(0, 0) { x, y in -(try x.squared() + y.squared()) }).kind == .maximum)
        let saddle = try classify(Plane(0, 0) { x, y in try x.squared() - y.squared() })
        #expect(saddle.kind == .saddle && saddle.index == 0.5)
        // The monkey saddle x^3 - 3 x y^2: H = 0 at the origin, so the test is inconclusive.
        let monkey = try classify(Plane(0, 0) { x, y in try pow(x, 3) - x * y.squared() * 3 })
        #expect(monkey.kind == .inconclusive && monkey.zero == 2)
        #expect(try classify(Plane(1, 0) { x, y in try x.squared() + y.squared() }).kind == .notCritical)
        // A degenerate minimum direction with a negative one is still a saddle.
        let mixed = CriticalPointClassifier().classify(gradientNorm: 0, eigenvalues: [-1, 0, 2])
        #expect(mixed.kind == .saddle && mixed.zero == 1)
        #expect(CriticalPointClassifier().classify(gradientNorm: 0, eigenvalues: [0, 1, 2]).kind == .inconclusive)
    }

    @Test func closedFormGradientFlowMatchesNumericalIntegration() throws {
        var g = RandomGenerator(seed: 3)
        let n = 5
        let q = try LAPACK.orthonormalColumns(of: Tensor.randomNormal([n, n], dtype: .float64, using: &g))
        let lambda: [Double] = [-1.5, -0.2, 0, 0.7, 2.0]
        var diagonal = [Double](repeating: 0, count: n * n)
        for i in 0..<n { diagonal[i * n + i] = lambda[i] }
        let h = try matmul(matmul(q, Tensor(shape: [n, n], scalars: diagonal)), q, transposeB: true)
        let gradient = Tensor.randomNormal([n], dtype: .float64, using: &g)
        let start = Tensor.randomNormal([n], dtype: .float64, using: &g)
        let flow = try GradientFlow(hessian: h, gradient: gradient, point: start)
        // Fourth-order Runge-Kutta on d theta / dt = -(g + H (theta - theta0)).
        func velocity(_ theta: Tensor) throws -> Tensor {
            -(try gradient + matmul(h, (theta - start).reshaped(to: [n, 1])).reshaped(to: [n]))
        }
        var theta = start
        let dt = 1e-3
        var t = 0.0
        for checkpoint in [0.5, 1.0, 2.0] {
            while t < checkpoint - dt / 2 {
                let k1 = try velocity(theta)
                let k2 = try velocity(theta + k1 * (dt / 2))
                let k3 = try velocity(theta + k2 * (dt / 2))
                let k4 = try velocity(theta + k3 * dt)
                theta = try theta + (k1 + k2 * 2 + k3 * 2 + k4) * (dt / 6)
                t += dt
            }
            let closed = try flow.point(at: checkpoint)
            let error = try (closed - theta).squaredNorm.squareRoot() / Swift.max(1, theta.squaredNorm.squareRoot())
            #expect(error < 1e-10, "t = \(checkpoint): \(error)")
        }
        #expect(GradientFlow.factor(0, 2) == 2)
        #expect(Swift.abs(GradientFlow.factor(1e-9, 2) - 2 * (1 - 1e-9)) < 1e-15)
    }

    @Test func lanczosAgreesWithTheFullEigendecomposition() throws {
        let network = TinyNetwork(seed: 5)
        var g = RandomGenerator(seed: 6)
        let theta = Tensor.randomNormal([105], standardDeviation: 0.7, dtype: .float64, using: &g)
        let full = try LAPACK.symmetricEigen(hessian(at: theta) { try network.loss($0) }).values.doubles
        let result = try Lanczos.extremeEigenvalues(dimension: 105, count: 3, maximumSteps: 105, tolerance: 1e-10) { v in
            try hessianVectorProduct(at: [theta], along: [v]) { try network.loss($0[0]) }[0]
        }
        #expect(result.converged)
        let scale = full.map { Swift.abs($0) }.max()!
        for (estimate, exact) in zip(result.largest, full.reversed()) { #expect(Swift.abs(estimate - exact) <= 1e-8 * scale) }
        for (estimate, exact) in zip(result.smallest, full) { #expect(Swift.abs(estimate - exact) <= 1e-8 * scale) }
        #expect(full.first! < 0, "this point is a saddle of the network's loss")
        // Hutchinson's trace and the spectral density by stochastic Lanczos quadrature.
        let h = try hessian(at: theta) { try network.loss($0) }
        let exactTrace = full.reduce(0, +)
        let trace = try SpectralEstimates.trace(dimension: 105, samples: 200, seed: 1) { try matmul(h, $0.reshaped(to: [105, 1])).reshaped(to: [105]) }
        #expect(Swift.abs(trace.estimate - exactTrace) <= 4 * trace.standardError)
        let density = try SpectralEstimates.density(dimension: 105, probes: 4, steps: 40, seed: 2) { try matmul(h, $0.reshaped(to: [105, 1])).reshaped(to: [105]) }
        #expect(Swift.abs(density.weights.reduce(0, +) - 1) < 1e-8)
        #expect(density.nodes.min()! >= full.first! - 1e-8 && density.nodes.max()! <= full.last! + 1e-8)
    }

    @Test func analysesNeverMutateTheObjective() throws {
        let objective = Plane(0.3, -0.2) { x, y in try x.squared() - y.squared() }
        let before = objective.parameters["p"]!.doubles
        let curvature = try Curvature(objective, at: ["p": Tensor([Float(1), Float(2)])])
        _ = try curvature.hessian()
        #expect(objective.parameters["p"]!.doubles == before)
        #expect(curvature.point["p"]!.dtype == .float64)
    }
}
