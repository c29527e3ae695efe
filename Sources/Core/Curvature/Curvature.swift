/// Curvature of an objective at a parameter point, in Float64: gradients, Hessian-vector
/// products and full Hessians on flat parameter vectors.
///
/// The objective is converted to Float64 once (a copy; the caller's model is untouched), and
/// every query evaluates it at the given point without committing any layer state, so
/// analyses never mutate the model or its running statistics. Every quantity passes through
/// the objective's `summedOverShards`, so a `DataParallelObjective` gives the curvature of the
/// loss over all ranks' data.
public struct Curvature<O: Objective> {
    /// The Float64 copy of the objective.
    public let objective: O
    /// The point analysed, in Float64.
    public let point: NamedTensors

    /// - Parameters:
    ///   - objective: the objective (converted to Float64 internally).
    ///   - point: where to analyse; the objective's own parameters when nil.
    /// - Throws: errors converting the objective.
    public init(_ objective: O, at point: NamedTensors? = nil) throws {
        self.objective = try objective.converted(to: .float64)
        self.point = (point ?? objective.parameters).converted(to: .float64).detached
    }

    /// The number of parameters.
    public var dimension: Int { point.scalarCount }

    /// The point as one vector `[dimension]`.
    public func flatPoint() throws -> Tensor { try point.flattened(dtype: .float64) }

    /// The loss as a function of a flat parameter vector (differentiable).
    public func loss(flat theta: Tensor) throws -> Tensor {
        try objective.loss(at: try point.unflattening(theta)).loss
    }

    /// The loss value at `theta` (default: the point).
    public func value(at theta: Tensor? = nil) throws -> Double {
        let local = try GradientRecording.withoutRecording { try loss(flat: try theta ?? flatPoint()).detached }
        return try objective.summedOverShards([local])[0].item()
    }

    /// The gradient at `theta` (default: the point), as a flat vector.
    public func gradient(at theta: Tensor? = nil) throws -> Tensor {
        let leaf = try (theta ?? flatPoint()).detached.recorded()
        let value = try GradientRecording.withRecording { try loss(flat: leaf) }
        let local = value.isRecorded ? try gradients(of: value, wrt: [leaf])[0] : leaf.detached.zerosLike()
        return try objective.summedOverShards([local])[0]
    }

    /// The exact Hessian-vector product H v at `theta` (default: the point).
    public func hessianVectorProduct(_ v: Tensor, at theta: Tensor? = nil) throws -> Tensor {
        try objective.summedOverShards(SaddleCore.hessianVectorProduct(at: [theta ?? flatPoint()], along: [v]) { try loss(flat: $0[0]) })[0]
    }

    /// The full symmetric Hessian `[dimension, dimension]` at `theta` (default: the point).
    /// Meant for up to a few thousand parameters.
    /// - Throws: `TensorError.invalidArgument` above `limit` parameters.
    public func hessian(at theta: Tensor? = nil, limit: Int = 5000) throws -> Tensor {
        guard dimension <= limit else {
            throw TensorError.invalidArgument(
                op: "hessian", reason: "\(dimension) parameters exceed the full-Hessian limit \(limit); use Lanczos for large models")
        }
        return try objective.summedOverShards([SaddleCore.hessian(at: theta ?? flatPoint()) { try loss(flat: $0) }])[0]
    }

    /// Eigenvalues (ascending) and eigenvectors of the full Hessian.
    public func spectrum(at theta: Tensor? = nil, limit: Int = 5000) throws -> (values: [Double], vectors: Tensor) {
        let (values, vectors) = try LAPACK.symmetricEigen(try hessian(at: theta, limit: limit))
        // Vectors were requested.
        return (values.doubles, vectors ?? Tensor.zeros([dimension, dimension], dtype: .float64))
    }
}
