/// The exact continuous-time gradient-descent path of the quadratic model at a point.
///
/// With H = Q diag(lambda) Q^T and gradient g at theta0, dtheta/dt = -(g + H (theta - theta0))
/// solves to theta(t) = theta0 - Q diag((1 - e^(-lambda t)) / lambda) Q^T g. Directions of
/// negative curvature grow like e^(|lambda| t): gradient descent flees saddles.
public struct GradientFlow: Sendable {
    /// The Hessian's eigenvalues lambda, ascending.
    public let eigenvalues: [Double]
    /// Q^T g, the gradient in the eigenbasis.
    let projectedGradient: [Double]
    /// Q as a `[n, n]` Float64 tensor (columns are eigenvectors).
    let basis: Tensor
    let origin: Tensor

    /// - Parameters: `hessian` symmetric `[n, n]`, `gradient` and `point` `[n]`.
    /// - Throws: `TensorError` for mismatched shapes; LAPACK errors.
    public init(hessian: Tensor, gradient: Tensor, point: Tensor) throws {
        let n = gradient.count
        guard hessian.shape == [n, n], point.count == n else {
            throw TensorError.shapeMismatch(
                op: "GradientFlow", shapes: [hessian.shape, gradient.shape, point.shape], reason: "need H [n, n], g [n] and theta0 [n]")
        }
        let (values, vectors) = try LAPACK.symmetricEigen(hessian.converted(to: .float64))
        eigenvalues = values.doubles
        basis = vectors ?? Tensor.zeros([n, n], dtype: .float64)
        projectedGradient = try matmul(basis, gradient.converted(to: .float64).reshaped(to: [n, 1]), transposeA: true).doubles
        origin = try point.converted(to: .float64).reshaped(to: [n])
    }

    /// (1 - e^(-lambda t)) / lambda, continuous at lambda = 0 (where it is t).
    public static func factor(_ lambda: Double, _ t: Double) -> Double {
        let x = lambda * t
        if Swift.abs(x) < 1e-5 {
            // Series: t (1 - x/2 + x^2/6 - x^3/24).
            return t * (1 - x / 2 + x * x / 6 - x * x * x / 24)
        }
        return -expm1Portable(-x) / lambda
    }

    /// theta(t).
    public func point(at t: Double) throws -> Tensor {
        let n = eigenvalues.count
        let scaled = zip(eigenvalues, projectedGradient).map { GradientFlow.factor($0, t) * $1 }
        let step = try matmul(basis, Tensor(shape: [n, 1], scalars: scaled))
        return try origin - step.reshaped(to: [n])
    }
}

/// e^x - 1, accurate near 0.
func expm1Portable(_ x: Double) -> Double {
    if Swift.abs(x) < 0.5 {
        var term = x
        var sum = x
        for n in 2...30 {
            term *= x / Double(n)
            sum += term
            if Swift.abs(term) < 1e-18 * Swift.abs(sum) { break }
        }
        return sum
    }
    return portableExp(x) - 1
}
