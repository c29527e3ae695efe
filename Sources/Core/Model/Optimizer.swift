/// What one optimizer step reports.
public struct StepReport: Sendable {
    /// The loss at the parameters the step started from.
    public var loss: Double
    /// Layer state (buffer updates) produced at the starting point, to commit to the model.
    public var state: NamedTensors
    /// The gradient's norm at the starting point, when the optimizer computed it.
    public var gradientNorm: Double?
    /// The model's output at the starting point, when the objective produced one.
    public var prediction: Tensor?
    /// What the optimizer noticed (an indefinite Hessian, the damping it chose, ...).
    public var message: String?

    public init(loss: Double, state: NamedTensors, gradientNorm: Double? = nil, prediction: Tensor? = nil, message: String? = nil) {
        self.loss = loss
        self.state = state
        self.gradientNorm = gradientNorm
        self.prediction = prediction
        self.message = message
    }
}

/// An optimization algorithm: steps an `Objective` (value, gradient, Hessian-vector product),
/// not just a gradient, since Newton-type methods and line searches need more.
///
/// State (momentum buffers, moment estimates) is keyed by parameter path, as
/// `<parameter path>.<slot>` in `state`, never by position, so that a transform renaming a
/// path can remap or drop exactly that entry.
public protocol Optimizer: Sendable {
    /// Updates `parameters` by one step on `objective`.
    /// - Throws: whatever evaluating the objective throws; `OptimizerError` for bad settings.
    mutating func step(_ parameters: inout NamedTensors, objective: some Objective) throws -> StepReport

    /// The optimizer's state, under `<parameter path>.<slot>` paths.
    var state: NamedTensors { get set }

    /// The step size (schedules set it before each step; Newton-type methods scale their step).
    var learningRate: Double { get set }
}

/// An optimizer driven by the gradient alone: a step evaluates the gradient, clips its global
/// norm when `maxGradientNorm` is set (scaling by maxNorm / (norm + 1e-6) as PyTorch's
/// `clip_grad_norm_` does), then calls `update`.
public protocol GradientOptimizer: Optimizer {
    /// The largest global gradient norm let through, or nil for no clipping.
    var maxGradientNorm: Double? { get set }

    /// Applies one update from a gradient with the parameters' layout.
    /// - Throws: `TensorError` when the layouts differ.
    mutating func update(_ parameters: inout NamedTensors, gradient: NamedTensors) throws
}

extension GradientOptimizer {
    public mutating func step(_ parameters: inout NamedTensors, objective: some Objective) throws -> StepReport {
        let evaluation = try objective.valueAndGradient(at: parameters)
        var gradient = evaluation.gradient
        let norm = gradient.norm
        if let maxNorm = maxGradientNorm, norm > maxNorm {
            gradient = gradient.scaled(by: maxNorm / (norm + 1e-6))
        }
        try update(&parameters, gradient: gradient)
        return StepReport(loss: evaluation.value, state: evaluation.state, gradientNorm: norm, prediction: evaluation.prediction)
    }
}

/// Errors from optimizers.
public enum OptimizerError: Error, Equatable, CustomStringConvertible {
    /// A hyperparameter is out of range.
    case invalidHyperparameter(optimizer: String, name: String, reason: String)
    /// A linear system was singular or indefinite where the method cannot proceed.
    case numericalFailure(optimizer: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidHyperparameter(optimizer, name, reason): "\(optimizer): \(name) \(reason)"
        case let .numericalFailure(optimizer, reason): "\(optimizer): \(reason)"
        }
    }
}

extension NamedTensors {
    /// Optimizer state (`<parameter path>.<slot>` entries) carried across a model change:
    /// entries of parameters that `pathMap` (old path to new) keeps with the same shape move
    /// to the new path; every slot of a parameter that was resized or removed is dropped, so
    /// the optimizer treats it as new (Adam restarts its step count for it too).
    public func remappingOptimizerState(
        pathMap: [(old: String, new: String)], oldParameters: NamedTensors, newParameters: NamedTensors
    ) -> NamedTensors {
        var newPath: [String: String] = [:]
        for (old, new) in pathMap {
            if let before = oldParameters[old], let after = newParameters[new], before.shape == after.shape { newPath[old] = new }
        }
        var remapped = NamedTensors()
        for (key, tensor) in self {
            guard let dot = key.lastIndex(of: "."), let target = newPath[String(key[..<dot])] else { continue }
            remapped[target + key[dot...]] = tensor
        }
        return remapped
    }
}
