import SaddleCore

/// Saddle-free Newton (Dauphin et al. 2014): d = -|H|^-1 g with |H| = Q |Lambda| Q^T, so the
/// step descends along negative-curvature directions instead of climbing to the saddle. The
/// damping mu in (|H| + mu I) is chosen by a line search over a quarter-decade grid relative to
/// the spectrum's scale (each candidate step also tried at twice its length), keeping the
/// lowest loss; then the chosen step is lengthened while that lowers the loss, or shortened
/// when no candidate lowered it.
///
/// Models with up to `maximumParameters` parameters use the full Hessian; larger ones work in
/// the Krylov subspace of `krylovDimension` Lanczos vectors started from the gradient, as
/// Dauphin et al. did.
public struct SaddleFreeNewton: Optimizer {
    /// The scale of each candidate step before the line search.
    public var learningRate: Double
    /// The most parameters for the exact method (full Hessian); larger models use the Krylov subspace.
    public var maximumParameters: Int
    /// The number of Lanczos vectors for models above `maximumParameters`; at least 2.
    public var krylovDimension: Int
    /// Optimizer state, unused: the method keeps none.
    public var state = NamedTensors()
    /// None: the method keeps no state between steps.
    public var stateSlots: [OptimizerSlot]? { [] }

    /// - Throws: `OptimizerError.invalidHyperparameter` for out-of-range settings.
    public init(learningRate: Double = 1, maximumParameters: Int = 3000, krylovDimension: Int = 20) throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw OptimizerError.invalidHyperparameter(optimizer: "saddle_free_newton", name: "learning_rate", reason: "is \(learningRate); it must be positive")
        }
        guard krylovDimension >= 2 else {
            throw OptimizerError.invalidHyperparameter(optimizer: "saddle_free_newton", name: "krylov_dimension", reason: "is \(krylovDimension); it must be at least 2")
        }
        self.learningRate = learningRate
        self.maximumParameters = maximumParameters
        self.krylovDimension = krylovDimension
    }

    /// Damping candidates: 0 and scale * 10^(k/4), k = -24 ... 12 (a quarter-decade grid).
    static func dampings(scale: Double) -> [Double] {
        [0] + (-24...12).map { scale * power10(Double($0) / 4) }
    }

    /// Takes the step d = -(|H| + mu I)^-1 g, with mu and the step's length chosen by the line search.
    /// - Throws: `OptimizerError.numericalFailure` when no damping gives a finite step.
    public mutating func step(_ parameters: inout NamedTensors, objective: some Objective) throws -> StepReport {
        let evaluation = try objective.evaluation(at: parameters)
        let curvature = try Curvature(objective, at: parameters)
        let theta = try curvature.flatPoint()
        let gradient = try curvature.gradient(at: theta)
        let n = theta.count
        // Eigenvalues and the gradient in a basis where |H| is diagonal: the full eigenbasis,
        // or the Ritz basis of the Krylov subspace.
        let values: [Double]
        let basis: Tensor
        let coordinates: [Double]
        var mode = "exact"
        if n <= maximumParameters {
            (values, basis) = try curvature.spectrum(at: theta, limit: maximumParameters)
            coordinates = try matmul(basis, gradient.reshaped(to: [n, 1]), transposeA: true).doubles
        } else {
            let norm = gradient.squaredNorm.squareRoot()
            guard norm > 0 else {
                return StepReport(loss: evaluation.value, state: evaluation.state, gradientNorm: 0, prediction: evaluation.prediction, message: "zero gradient")
            }
            let (alphas, betas, vectors) = try Lanczos.tridiagonalize(
                dimension: n, steps: krylovDimension, start: gradient, operator: { try curvature.hessianVectorProduct($0, at: theta) })
            let k = alphas.count
            let (ritz, s) = try LAPACK.tridiagonalEigen(diagonal: alphas, offDiagonal: Array(betas.prefix(k - 1)))
            values = ritz
            let v = try Tensor.concatenating(vectors.prefix(k).map { try $0.reshaped(to: [n, 1]) }, alongAxis: 1)
            var entries = [Double](repeating: 0, count: k * k)
            for column in 0..<k { for row in 0..<k { entries[row * k + column] = s[column][row] } }
            let sMatrix = try Tensor(shape: [k, k], scalars: entries)
            basis = try matmul(v, sMatrix)
            // V^T g = |g| e1, so the coordinates of g are |g| times the first row of S.
            coordinates = s.map { norm * ($0.first ?? 0) }
            mode = "krylov(\(k))"
        }
        let scale = Swift.max(values.map { Swift.abs($0) }.max() ?? 0, 1e-300)
        var best: (value: Double, step: Tensor, damping: Double)?
        for mu in SaddleFreeNewton.dampings(scale: scale) {
            let divisors = values.map { Swift.abs($0) + mu }
            guard divisors.allSatisfy({ $0 > 1e-12 * scale }) else { continue }
            let scaled = zip(coordinates, divisors).map { -$0 / $1 }
            let step = try matmul(basis, Tensor(shape: [scaled.count, 1], scalars: scaled)).reshaped(to: [n]) * learningRate
            guard step.doubles.allSatisfy(\.isFinite) else { continue }
            for length in [1.0, 2.0] {
                let value = try curvature.value(at: theta + step * length)
                if value.isFinite, value < best?.value ?? .infinity { best = (value, step * length, mu) }
            }
        }
        guard var best else {
            throw OptimizerError.numericalFailure(optimizer: "saddle_free_newton", reason: "no damping gave a finite step")
        }
        // Longer steps along the chosen direction while they keep lowering the loss.
        let chosen = best.step
        for factor in [1.5, 2.0, 3.0, 4.0] {
            let value = try curvature.value(at: theta + chosen * factor)
            guard value.isFinite, value < best.value else { break }
            best = (value, chosen * factor, best.damping)
        }
        // No damping decreased the loss: backtrack along the most damped direction, or stay.
        let current = try curvature.value(at: theta)
        var note = ""
        if best.value >= current {
            var length = 0.5
            var found = false
            while length > 1e-6 {
                let value = try curvature.value(at: theta + best.step * length)
                if value < current {
                    best = (value, best.step * length, best.damping)
                    found = true
                    break
                }
                length *= 0.5
            }
            if !found { best = (current, best.step * 0, best.damping) }
            note = found ? ", backtracked to length \(length)" : ", no decrease found: the parameters stay"
        }
        parameters = try parameters.unflattening(theta + best.step).detached
        let negative = values.filter { $0 < -1e-12 * scale }.count
        return StepReport(
            loss: evaluation.value, state: evaluation.state, gradientNorm: gradient.squaredNorm.squareRoot(), prediction: evaluation.prediction,
            message: "\(mode): damping \(best.damping), \(negative) negative curvature directions\(note)")
    }
}

/// 10^x for the damping grid, by squaring-free exponent splitting (no platform math).
func power10(_ x: Double) -> Double {
    let whole = Int(x.rounded(.down))
    let fraction = x - Double(whole)
    // 10^f for f in {0, 0.25, 0.5, 0.75}.
    let table: [Double: Double] = [0: 1, 0.25: 1.7782794100389228, 0.5: 3.1622776601683795, 0.75: 5.623413251903491]
    return pow10(whole) * (table[fraction] ?? 1)
}

/// 10^k for small integer k.
func pow10(_ k: Int) -> Double {
    var result = 1.0
    for _ in 0..<Swift.abs(k) { result *= 10 }
    return k < 0 ? 1 / result : result
}
