import SaddleCore

/// Newton-CG (Hessian-free): solves H d = -g approximately by conjugate gradients on
/// Hessian-vector products, stopping at the forcing tolerance
/// min(0.5, sqrt(|g|)) |g| or as soon as a direction of non-positive curvature appears
/// (then the current iterate, or -g on the first iteration, is used), followed by a
/// backtracking line search for sufficient decrease. Matrix-free: any model size.
public struct NewtonCG: Optimizer {
    /// The scale of the CG solution d before the line search.
    public var learningRate: Double
    /// The most CG iterations per step.
    public var maximumIterations: Int
    /// Whether a backtracking line search (sufficient decrease) shortens the step.
    public var lineSearch: Bool
    /// The relative residual at which CG stops; nil uses the forcing term min(0.5, sqrt(|g|)).
    public var tolerance: Double?
    /// Optimizer state, unused: the method keeps none.
    public var state = NamedTensors()
    /// None: the method keeps no state between steps.
    public var stateSlots: [OptimizerSlot]? { [] }

    /// - Throws: `OptimizerError.invalidHyperparameter` for out-of-range settings.
    public init(learningRate: Double = 1, maximumIterations: Int = 50, lineSearch: Bool = true, tolerance: Double? = nil) throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw OptimizerError.invalidHyperparameter(optimizer: "newton_cg", name: "learning_rate", reason: "is \(learningRate); it must be positive")
        }
        guard maximumIterations >= 1 else {
            throw OptimizerError.invalidHyperparameter(optimizer: "newton_cg", name: "max_iterations", reason: "is \(maximumIterations); it must be at least 1")
        }
        self.learningRate = learningRate
        self.maximumIterations = maximumIterations
        self.lineSearch = lineSearch
        self.tolerance = tolerance
    }

    /// Solves H d = -g by CG on Hessian-vector products, then searches along d when `lineSearch`.
    /// - Throws: `OptimizerError.numericalFailure` for a non-finite step; whatever evaluating the objective throws.
    public mutating func step(_ parameters: inout NamedTensors, objective: some Objective) throws -> StepReport {
        let evaluation = try objective.evaluation(at: parameters)
        let curvature = try Curvature(objective, at: parameters)
        let theta = try curvature.flatPoint()
        let g = try curvature.gradient(at: theta)
        let gradientNorm = g.squaredNorm.squareRoot()
        guard gradientNorm > 0 else {
            return StepReport(loss: evaluation.value, state: evaluation.state, gradientNorm: 0, prediction: evaluation.prediction, message: "zero gradient")
        }
        let tolerance = (self.tolerance ?? Swift.min(0.5, gradientNorm.squareRoot())) * gradientNorm
        var d = g.zerosLike()
        var r = g * -1  // residual of H d = -g at d = 0
        var p = r
        var rr = r.squaredNorm
        var iterations = 0
        var note = "converged"
        while iterations < maximumIterations {
            let hp = try curvature.hessianVectorProduct(p, at: theta)
            let curvatureAlongP = try p.dot(hp)
            if curvatureAlongP <= 1e-12 * p.squaredNorm * Swift.max(1, gradientNorm) {
                if iterations == 0 { d = g * -1 }
                note = "stopped on non-positive curvature at iteration \(iterations)"
                break
            }
            let alpha = rr / curvatureAlongP
            d.addInPlace(p, scaledBy: alpha)
            r.addInPlace(hp, scaledBy: -alpha)
            iterations += 1
            let next = r.squaredNorm
            if next.squareRoot() <= tolerance { break }
            p.scaleInPlace(by: next / rr, adding: r, scaledBy: 1)
            rr = next
        }
        var step = d * learningRate
        try requireFinite(step, optimizer: "newton_cg")
        if lineSearch {
            let start = try curvature.value(at: theta)
            let slope = try g.dot(step)
            var t = 1.0
            while t > 1e-10 {
                let candidate = try curvature.value(at: theta + step * t)
                if candidate.isFinite, candidate <= start + 1e-4 * t * slope { break }
                t *= 0.5
            }
            step = step * t
            note += ", step length \(t)"
        }
        parameters = try parameters.unflattening(theta + step).detached
        return StepReport(
            loss: evaluation.value, state: evaluation.state, gradientNorm: gradientNorm, prediction: evaluation.prediction,
            message: "\(iterations) CG iterations, \(note)")
    }
}
