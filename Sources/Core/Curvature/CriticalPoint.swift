/// What the Hessian says about a point.
public enum CriticalPointKind: String, Sendable, Codable {
    /// All eigenvalues positive.
    case minimum
    /// All eigenvalues negative.
    case maximum
    /// Eigenvalues of both signs (whatever the zero ones do, the point is a saddle).
    case saddle
    /// Some eigenvalues are indistinguishable from zero and the rest share a sign: second-order
    /// information cannot decide (the monkey saddle x^3 - 3xy^2 at the origin is one).
    case inconclusive
    /// The gradient is not small: not a critical point at all.
    case notCritical = "not_critical"
}

/// The classification of a point from its gradient norm and Hessian eigenvalues.
public struct CriticalPointClassification: Sendable {
    /// What the point is.
    public var kind: CriticalPointKind
    /// The share of negative eigenvalues (Dauphin et al. 2014).
    public var index: Double
    /// The number of eigenvalues below -`zeroThreshold`.
    public var negative: Int
    /// The number of eigenvalues with |lambda| at or below `zeroThreshold`.
    public var zero: Int
    /// The number of eigenvalues above `zeroThreshold`.
    public var positive: Int
    /// The gradient norm the point was classified with.
    public var gradientNorm: Double
    /// The largest |eigenvalue|: the scale tolerances are relative to.
    public var spectralScale: Double
    /// Eigenvalues with |lambda| at or below this count as zero.
    public var zeroThreshold: Double
    /// Gradients with norm at or below this count as zero.
    public var gradientThreshold: Double

    /// A one-line description.
    public var summary: String {
        "\(kind.rawValue): \(negative) negative, \(zero) zero, \(positive) positive eigenvalues (index \(index)), gradient norm \(gradientNorm)"
    }
}

/// Classifies critical points.
///
/// Tolerances are relative: an eigenvalue is zero when |lambda| <= relativeEigenvalueTolerance
/// * scale (scale = the largest |eigenvalue|, or 1 when all vanish), and the point is critical
/// when |gradient| <= relativeGradientTolerance * max(1, scale). Eigenvalues are trusted only
/// above the level the gradient can explain: the threshold is raised to |gradient| when that is
/// larger, since a step of unit length already changes the gradient by that much.
public struct CriticalPointClassifier: Sendable {
    /// Eigenvalues with |lambda| at or below this times the spectral scale count as zero.
    public var relativeEigenvalueTolerance: Double
    /// The point is critical when |gradient| is at or below this times max(1, scale).
    public var relativeGradientTolerance: Double

    /// A classifier with the given relative tolerances.
    public init(relativeEigenvalueTolerance: Double = 1e-8, relativeGradientTolerance: Double = 1e-6) {
        self.relativeEigenvalueTolerance = relativeEigenvalueTolerance
        self.relativeGradientTolerance = relativeGradientTolerance
    }

    /// Classifies a point from its gradient norm and (all, or the extreme) eigenvalues.
    /// When only extremes are known (Lanczos), pass the smallest and largest; the counts then
    /// refer to those estimates.
    public func classify(gradientNorm: Double, eigenvalues: [Double]) -> CriticalPointClassification {
        let scale = eigenvalues.map { Swift.abs($0) }.max().map { $0 > 0 ? $0 : 1 } ?? 1
        let gradientThreshold = relativeGradientTolerance * Swift.max(1, scale)
        let zeroThreshold = Swift.max(relativeEigenvalueTolerance * scale, Swift.min(gradientNorm, scale * 1e-3))
        let negative = eigenvalues.filter { $0 < -zeroThreshold }.count
        let positive = eigenvalues.filter { $0 > zeroThreshold }.count
        let zero = eigenvalues.count - negative - positive
        let kind: CriticalPointKind
        if gradientNorm > gradientThreshold {
            kind = .notCritical
        } else if negative > 0 && positive > 0 {
            kind = .saddle
        } else if zero > 0 || eigenvalues.isEmpty {
            kind = .inconclusive
        } else {
            kind = negative > 0 ? .maximum : .minimum
        }
        return CriticalPointClassification(
            kind: kind, index: eigenvalues.isEmpty ? 0 : Double(negative) / Double(eigenvalues.count), negative: negative, zero: zero,
            positive: positive, gradientNorm: gradientNorm, spectralScale: scale, zeroThreshold: zeroThreshold,
            gradientThreshold: gradientThreshold)
    }
}
