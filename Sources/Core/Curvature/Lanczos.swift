/// Extreme eigenvalues of a large symmetric operator from its products alone.
public struct LanczosResult: Sendable {
    /// The largest eigenvalue estimates, largest first.
    public var largest: [Double]
    /// The smallest eigenvalue estimates, smallest first (the negative ones reveal saddles).
    public var smallest: [Double]
    /// Residual bounds |beta_m s_mi| of those estimates (an eigenvalue lies within its residual).
    public var largestResiduals: [Double]
    /// Residual bounds of the smallest estimates, in the same order.
    public var smallestResiduals: [Double]
    /// Lanczos steps taken (operator products).
    public var steps: Int
    /// Whether every requested estimate met the tolerance.
    public var converged: Bool
}

/// The Lanczos method with full reorthogonalization (each new basis vector is orthogonalized
/// twice against all previous ones, so no spurious copies of converged eigenvalues appear).
public enum Lanczos {
    /// The tridiagonal projection T = V^T A V after up to `steps` steps from `start`
    /// (diagonal `alphas`, off-diagonal `betas`), and the orthonormal basis V.
    /// - Throws: whatever `apply` or `check` throws.
    public static func tridiagonalize(
        dimension: Int, steps: Int, start: Tensor, operator apply: (Tensor) throws -> Tensor,
        check: ((_ alphas: [Double], _ betas: [Double]) throws -> Bool)? = nil
    ) throws -> (alphas: [Double], betas: [Double], basis: [Tensor]) {
        var q = start.detached.converted(to: .float64)
        q = q * (1 / q.squaredNorm.squareRoot())
        var basis: [Tensor] = [q]
        var alphas: [Double] = []
        var betas: [Double] = []
        for j in 0..<min(steps, dimension) {
            var w = try apply(basis[j]).detached
            let alpha = try basis[j].dot(w)
            alphas.append(alpha)
            w.addInPlace(basis[j], scaledBy: -alpha)
            if j > 0 { w.addInPlace(basis[j - 1], scaledBy: -betas[j - 1]) }
            for _ in 0..<2 {
                for v in basis {
                    let overlap = try v.dot(w)
                    w.addInPlace(v, scaledBy: -overlap)
                }
            }
            let beta = w.squaredNorm.squareRoot()
            let scale = alphas.map { Swift.abs($0) }.max() ?? 1
            if j + 1 == min(steps, dimension) || beta <= 1e-12 * Swift.max(scale, 1e-300) {
                betas.append(beta)
                break
            }
            betas.append(beta)
            basis.append(w * (1 / beta))
            if let check, try check(alphas, betas) { break }
        }
        return (alphas, betas, basis)
    }

    /// The `count` largest and smallest eigenvalues of the symmetric operator `apply` on
    /// vectors of `dimension`, to relative `tolerance` where possible within `maximumSteps`.
    /// - Throws: whatever `apply` throws; `TensorError` for a bad count.
    public static func extremeEigenvalues(
        dimension: Int, count: Int, maximumSteps: Int? = nil, tolerance: Double = 1e-8, seed: UInt64 = 0,
        operator apply: (Tensor) throws -> Tensor
    ) throws -> LanczosResult {
        guard count >= 1, count <= dimension else {
            throw TensorError.invalidArgument(op: "Lanczos", reason: "count \(count) must be in 1...\(dimension)")
        }
        var generator = RandomGenerator(seed: seed)
        let start = Tensor.randomNormal([dimension], dtype: .float64, using: &generator)
        let limit = Swift.min(dimension, maximumSteps ?? Swift.max(4 * count + 20, 60))
        var result = LanczosResult(largest: [], smallest: [], largestResiduals: [], smallestResiduals: [], steps: 0, converged: false)
        func evaluate(_ alphas: [Double], _ betas: [Double]) throws -> Bool {
            let m = alphas.count
            guard m >= Swift.min(2 * count, dimension) else { return false }
            let (values, vectors) = try LAPACK.tridiagonalEigen(diagonal: alphas, offDiagonal: Array(betas.prefix(m - 1)))
            let beta = betas.count >= m ? betas[m - 1] : 0
            let residuals = vectors.map { Swift.abs(beta * ($0.last ?? 0)) }
            let k = Swift.min(count, m)
            result.smallest = Array(values.prefix(k))
            result.smallestResiduals = Array(residuals.prefix(k))
            result.largest = Array(values.suffix(k).reversed())
            result.largestResiduals = Array(residuals.suffix(k).reversed())
            result.steps = m
            let scale = Swift.max(values.map { Swift.abs($0) }.max() ?? 0, 1e-300)
            result.converged = k == count && (result.smallestResiduals + result.largestResiduals).allSatisfy { $0 <= tolerance * scale }
            return result.converged
        }
        let (alphas, betas, _) = try tridiagonalize(dimension: dimension, steps: limit, start: start, operator: apply, check: evaluate)
        // The last projection (an exhausted Krylov space is exact).
        if !result.converged || result.steps != alphas.count {
            _ = try evaluate(alphas, betas)
            if alphas.count == dimension || (betas.last ?? 1) <= 1e-12 {
                result.converged = result.largest.count == count
            }
        }
        return result
    }
}

/// Stochastic estimates of a symmetric operator's trace and spectral density.
public enum SpectralEstimates {
    /// Hutchinson's estimate of the trace: the mean of z^T A z over Rademacher vectors z.
    /// Returns the estimate and its standard error (the convergence measure).
    public static func trace(
        dimension: Int, samples: Int = 100, seed: UInt64 = 0, operator apply: (Tensor) throws -> Tensor
    ) throws -> (estimate: Double, standardError: Double) {
        var generator = RandomGenerator(seed: seed)
        var values: [Double] = []
        for _ in 0..<Swift.max(samples, 2) {
            let z = rademacher(dimension, using: &generator)
            values.append(try z.dot(try apply(z).detached))
        }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        return (mean, (variance / Double(values.count)).squareRoot())
    }

    static func rademacher(_ n: Int, using generator: inout RandomGenerator) -> Tensor {
        let values = (0..<n).map { _ in generator.next() >> 63 == 0 ? 1.0 : -1.0 }
        return Tensor(values)
    }

    /// The eigenvalue density by stochastic Lanczos quadrature (Ubaru, Chen and Saad 2017;
    /// Ghorbani, Krishnan and Xiao 2019): `probes` Lanczos runs of `steps` steps from
    /// Rademacher vectors give nodes (Ritz values) and weights (squared first components);
    /// the density is their Gaussian-smoothed sum on `gridPoints` points.
    public static func density(
        dimension: Int, probes: Int = 4, steps: Int = 60, gridPoints: Int = 200, smoothing: Double? = nil, seed: UInt64 = 0,
        operator apply: (Tensor) throws -> Tensor
    ) throws -> SpectralDensity {
        var generator = RandomGenerator(seed: seed)
        var nodes: [Double] = []
        var weights: [Double] = []
        var stepsTaken: [Int] = []
        for _ in 0..<Swift.max(probes, 1) {
            let start = rademacher(dimension, using: &generator)
            let (alphas, betas, _) = try Lanczos.tridiagonalize(dimension: dimension, steps: steps, start: start, operator: apply)
            let (values, vectors) = try LAPACK.tridiagonalEigen(diagonal: alphas, offDiagonal: Array(betas.prefix(alphas.count - 1)))
            nodes += values
            weights += vectors.map { ($0.first ?? 0) * ($0.first ?? 0) / Double(Swift.max(probes, 1)) }
            stepsTaken.append(alphas.count)
        }
        let low = nodes.min() ?? 0
        let high = nodes.max() ?? 0
        let width = Swift.max(high - low, 1e-12)
        let sigma = smoothing ?? width / 100
        let grid = (0..<gridPoints).map { low - 3 * sigma + (width + 6 * sigma) * Double($0) / Double(Swift.max(gridPoints - 1, 1)) }
        let normalizer = 1 / (sigma * (2 * Double.pi).squareRoot())
        let values = grid.map { t in
            zip(nodes, weights).reduce(0.0) { total, pair in
                let z = (t - pair.0) / sigma
                return total + pair.1 * normalizer * portableExp(-0.5 * z * z)
            }
        }
        return SpectralDensity(grid: grid, density: values, nodes: nodes, weights: weights, steps: stepsTaken)
    }
}

/// An estimated eigenvalue density.
public struct SpectralDensity: Sendable {
    /// The eigenvalues the density is evaluated at, ascending: the nodes' range widened by 3 sigma on each side.
    public var grid: [Double]
    /// The Gaussian-smoothed density at each grid point.
    public var density: [Double]
    /// Quadrature nodes and weights (weights sum to about 1).
    public var nodes: [Double]
    /// The weight of each node: the squared first component of its Ritz vector, divided by the probe count.
    public var weights: [Double]
    /// Lanczos steps of each probe (fewer than asked means the Krylov space was exhausted).
    public var steps: [Int]
}

/// e^x for the density's Gaussian bumps (no platform dependence needed here, but kept in
/// Core without Foundation math).
func portableExp(_ x: Double) -> Double {
    if x < -745 { return 0 }
    // e^x = 2^k e^r, |r| <= ln2/2, with a Taylor series for e^r.
    let k = (x / 0.6931471805599453).rounded()
    let r = x - k * 0.6931471805599453
    var term = 1.0
    var sum = 1.0
    for n in 1...20 {
        term *= r / Double(n)
        sum += term
    }
    return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
}
