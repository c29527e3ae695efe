import SaddleCore

/// The eigendecomposition of the Hessian at the current parameters, shared by the Newton
/// family for models small enough for a full Hessian (Float64 throughout).
struct NewtonModel<O: Objective> {
    let curvature: Curvature<O>
    let theta: Tensor
    let gradient: Tensor
    let eigenvalues: [Double]
    let eigenvectors: Tensor
    /// Q^T g.
    let projected: [Double]

    init(_ objective: O, at parameters: NamedTensors, limit: Int) throws {
        curvature = try Curvature(objective, at: parameters)
        theta = try curvature.flatPoint()
        gradient = try curvature.gradient(at: theta)
        (eigenvalues, eigenvectors) = try curvature.spectrum(at: theta, limit: limit)
        let n = theta.count
        projected = try matmul(eigenvectors, gradient.reshaped(to: [n, 1]), transposeA: true).doubles
    }

    var scale: Double { Swift.max(eigenvalues.map { Swift.abs($0) }.max() ?? 0, 1e-300) }

    /// d = -Q diag(1 / curvature(lambda)) Q^T g.
    func direction(_ curvature: (Double) -> Double) throws -> Tensor {
        let n = theta.count
        let scaled = zip(eigenvalues, projected).map { -$1 / curvature($0) }
        return try matmul(eigenvectors, Tensor(shape: [n, 1], scalars: scaled)).reshaped(to: [n])
    }

    /// The loss at theta + step.
    func value(after step: Tensor) throws -> Double {
        try curvature.value(at: theta + step)
    }

    /// The parameters moved by `step` (in the parameters' own dtypes).
    func parameters(after step: Tensor, like parameters: NamedTensors) throws -> NamedTensors {
        try parameters.unflattening(try theta + step).detached
    }

    var negativeCount: Int { eigenvalues.filter { $0 < -1e-12 * scale }.count }
}

/// Throws unless every element of `step` is finite.
func requireFinite(_ step: Tensor, optimizer: String) throws {
    guard step.doubles.allSatisfy(\.isFinite) else {
        throw OptimizerError.numericalFailure(optimizer: optimizer, reason: "the step is not finite (an ill-conditioned system); try damping")
    }
}

/// Newton's method: d = -H^-1 g, the step to the critical point of the local quadratic model,
/// whatever its kind. Drawn to saddles (Dauphin et al. 2014): on x^2 - y^2 one step lands on
/// the saddle. For models with up to `maximumParameters` parameters (a full Hessian in
/// Float64). `learningRate` scales the step (1: the full Newton step).
///
/// A singular Hessian is refused unless `pseudoInverseCutoff` is set: then the step is
/// -H^+ g, the pseudo-inverse over the eigenvalues with |lambda| above the cutoff times the
/// largest |lambda|, and the gradient's components along the others are dropped. That is the
/// undamped Newton step Dauphin et al. (2014) show is attracted to saddles on networks, whose
/// Hessians are singular (rescaling symmetries, dead units).
public struct Newton: Optimizer {
    /// The step scale (1: the full Newton step).
    public var learningRate: Double
    /// The most parameters a model may have (the full Hessian is n x n in Float64).
    public var maximumParameters: Int
    /// Eigenvalues with |lambda| at or below this times the largest |lambda| are left out of a
    /// pseudo-inverse step; nil refuses singular Hessians.
    public var pseudoInverseCutoff: Double?
    /// Optimizer state, unused: the method keeps none.
    public var state = NamedTensors()
    /// None: the method keeps no state between steps.
    public var stateSlots: [OptimizerSlot]? { [] }

    /// - Throws: `OptimizerError.invalidHyperparameter` for a non-positive step scale or a
    ///   cutoff outside [0, 1).
    public init(learningRate: Double = 1, maximumParameters: Int = 5000, pseudoInverseCutoff: Double? = nil) throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw OptimizerError.invalidHyperparameter(optimizer: "newton", name: "learning_rate", reason: "is \(learningRate); it must be positive")
        }
        if let cutoff = pseudoInverseCutoff, !(cutoff >= 0 && cutoff < 1) {
            throw OptimizerError.invalidHyperparameter(optimizer: "newton", name: "pseudo_inverse_cutoff", reason: "is \(cutoff); it must be in [0, 1)")
        }
        self.learningRate = learningRate
        self.maximumParameters = maximumParameters
        self.pseudoInverseCutoff = pseudoInverseCutoff
    }

    /// - Throws: `OptimizerError.numericalFailure` when the Hessian is singular.
    public mutating func step(_ parameters: inout NamedTensors, objective: some Objective) throws -> StepReport {
        let evaluation = try objective.evaluation(at: parameters)
        let model = try NewtonModel(objective, at: parameters, limit: maximumParameters)
        let step: Tensor
        if let cutoff = pseudoInverseCutoff {
            let tolerance = Swift.max(cutoff, 1e-300) * model.scale
            step = try model.direction { Swift.abs($0) > tolerance ? $0 : .infinity } * learningRate
        } else {
            let tolerance = 1e-12 * model.scale
            if let tiny = model.eigenvalues.first(where: { Swift.abs($0) <= tolerance }) {
                throw OptimizerError.numericalFailure(
                    optimizer: "newton",
                    reason: "the Hessian is singular (eigenvalue \(tiny) against a scale of \(model.scale)); set pseudo_inverse_cutoff, or use damped_newton or saddle_free_newton")
            }
            step = try model.direction { $0 } * learningRate
        }
        try requireFinite(step, optimizer: "newton")
        parameters = try model.parameters(after: step, like: parameters)
        let negative = model.negativeCount
        return StepReport(
            loss: evaluation.value, state: evaluation.state, gradientNorm: model.gradient.squaredNorm.squareRoot(),
            prediction: evaluation.prediction,
            message: negative > 0 ? "the Hessian is indefinite (\(negative) negative eigenvalues): the step heads for a saddle point" : nil)
    }
}

/// Damped Newton: d = -(H + mu I)^-1 g. With `adaptive` the damping follows
/// Levenberg-Marquardt: it grows until H + mu I is positive definite and the loss decreases,
/// and shrinks after each accepted step.
public struct DampedNewton: Optimizer {
    /// The step scale (1: the full damped Newton step).
    public var learningRate: Double
    /// The damping mu; with `adaptive`, the starting value, set to a third of the accepted one after each step.
    public var damping: Double
    /// Whether mu is searched for at each step, Levenberg-Marquardt style.
    public var adaptive: Bool
    /// The most parameters a model may have (the full Hessian is n x n in Float64).
    public var maximumParameters: Int
    /// Optimizer state, unused: the method keeps none.
    public var state = NamedTensors()
    /// None: the method keeps no state between steps.
    public var stateSlots: [OptimizerSlot]? { [] }

    /// - Throws: `OptimizerError.invalidHyperparameter` for a negative damping or step scale.
    public init(learningRate: Double = 1, damping: Double = 1, adaptive: Bool = false, maximumParameters: Int = 5000) throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw OptimizerError.invalidHyperparameter(optimizer: "damped_newton", name: "learning_rate", reason: "is \(learningRate); it must be positive")
        }
        guard damping >= 0, damping.isFinite else {
            throw OptimizerError.invalidHyperparameter(optimizer: "damped_newton", name: "damping", reason: "is \(damping); it must be at least 0")
        }
        self.learningRate = learningRate
        self.damping = damping
        self.adaptive = adaptive
        self.maximumParameters = maximumParameters
    }

    /// - Throws: `OptimizerError.numericalFailure` when H + mu I is singular, or when the
    ///   adaptive search finds no decrease.
    public mutating func step(_ parameters: inout NamedTensors, objective: some Objective) throws -> StepReport {
        let evaluation = try objective.evaluation(at: parameters)
        let model = try NewtonModel(objective, at: parameters, limit: maximumParameters)
        let minimum = model.eigenvalues.first ?? 0
        var mu = damping
        var message: String?
        if adaptive {
            let start = try model.value(after: Tensor.zeros([model.theta.count], dtype: .float64))
            mu = Swift.max(mu, -minimum + 1e-6 * model.scale)
            var accepted = false
            for _ in 0..<40 {
                let step = try model.direction { $0 + mu } * learningRate
                if step.doubles.allSatisfy(\.isFinite), try model.value(after: step) < start {
                    parameters = try model.parameters(after: step, like: parameters)
                    accepted = true
                    break
                }
                mu = Swift.max(mu * 4, 1e-8 * model.scale)
            }
            guard accepted else {
                throw OptimizerError.numericalFailure(optimizer: "damped_newton", reason: "no damping up to \(mu) decreased the loss")
            }
            damping = mu / 3
            message = "damping \(mu)"
        } else {
            if let singular = model.eigenvalues.first(where: { Swift.abs($0 + mu) <= 1e-12 * model.scale }) {
                throw OptimizerError.numericalFailure(
                    optimizer: "damped_newton", reason: "H + \(mu) I is singular (eigenvalue \(singular)); increase the damping")
            }
            let step = try model.direction { $0 + mu } * learningRate
            try requireFinite(step, optimizer: "damped_newton")
            parameters = try model.parameters(after: step, like: parameters)
            if minimum + mu < 0 { message = "H + \(mu) I is indefinite (smallest eigenvalue \(minimum + mu)): the step heads for a saddle point" }
        }
        return StepReport(
            loss: evaluation.value, state: evaluation.state, gradientNorm: model.gradient.squaredNorm.squareRoot(),
            prediction: evaluation.prediction, message: message)
    }
}
