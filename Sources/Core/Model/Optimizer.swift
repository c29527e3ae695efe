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

    /// A report; optimizers fill in what they know.
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

    /// The kinds of state the optimizer keeps per parameter, or nil when it does not declare
    /// them (then any entry with its parameter's shape and dtype, or a scalar, is accepted).
    /// State read from a file is checked against this before it is used.
    var stateSlots: [OptimizerSlot]? { get }
}

extension Optimizer {
    /// Undeclared: see `Optimizer.stateSlots`.
    public var stateSlots: [OptimizerSlot]? { nil }
}

/// One kind of per-parameter optimizer state (`<parameter path>.<name>`).
public struct OptimizerSlot: Sendable, Equatable {
    /// What the entry holds.
    public enum Layout: Sendable, Equatable {
        /// A tensor with its parameter's shape and dtype (a momentum buffer, a moment estimate).
        case parameter
        /// A Float64 scalar holding a whole number of steps in 0...2^53.
        case stepCount
    }

    /// The slot's name, the last component of the entry's path.
    public var name: String
    /// What the entry holds.
    public var layout: Layout

    /// A slot `name` laid out as `layout`.
    public init(_ name: String, _ layout: Layout) {
        self.name = name
        self.layout = layout
    }
}

extension Optimizer {
    /// Checks optimizer state read from a file against `parameters`: every entry belongs to a
    /// parameter and a declared slot, has the shape and dtype the slot requires, and holds
    /// finite values (whole step counts in range). Run before the state is handed to `step`,
    /// so a wrong buffer is an error naming its path instead of a crash or an out-of-bounds
    /// write in a kernel.
    /// - Throws: `OptimizerError.invalidState` naming the first bad entry.
    public func validateState(_ state: NamedTensors, for parameters: NamedTensors) throws {
        let slots = stateSlots
        for (path, tensor) in state {
            // The longest parameter path that prefixes the entry, followed by a slot name.
            let owner = parameters.paths.filter { path.hasPrefix($0 + ".") }.max { $0.count < $1.count }
            guard let owner, let parameter = parameters[owner] else {
                throw OptimizerError.invalidState(path: path, reason: "it belongs to no parameter of the model")
            }
            let slotName = String(path.dropFirst(owner.count + 1))
            let layout: OptimizerSlot.Layout
            if let slots {
                guard let slot = slots.first(where: { $0.name == slotName }) else {
                    let known = slots.map(\.name).joined(separator: ", ")
                    throw OptimizerError.invalidState(
                        path: path, reason: "\"\(slotName)\" is not state of this optimizer (its slots: \(known.isEmpty ? "none" : known))")
                }
                layout = slot.layout
            } else {
                layout = tensor.rank == 0 ? .stepCount : .parameter
            }
            switch layout {
            case .parameter:
                guard tensor.shape == parameter.shape, tensor.dtype == parameter.dtype else {
                    throw OptimizerError.invalidState(
                        path: path,
                        reason: "it is \(tensor.dtype) \(tensor.shape) but its parameter \(owner) is \(parameter.dtype) \(parameter.shape)")
                }
                if let bad = tensor.firstNonFiniteIndex {
                    throw OptimizerError.invalidState(path: path, reason: "element \(bad) is not finite")
                }
            case .stepCount:
                guard tensor.rank == 0, tensor.dtype == .float64 else {
                    throw OptimizerError.invalidState(path: path, reason: "a step count is a float64 scalar, found \(tensor.dtype) \(tensor.shape)")
                }
                let value = tensor.doubles.first ?? .nan
                guard value.isFinite, value >= 0, value <= 9_007_199_254_740_992, value.rounded() == value else {
                    throw OptimizerError.invalidState(path: path, reason: "step count \(value) is not a whole number in 0...2^53")
                }
            }
        }
    }
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
    /// Evaluates the gradient, clips its norm when `maxGradientNorm` is set, then calls `update`; the report
    /// holds the norm before clipping.
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
    /// An entry of optimizer state does not fit its parameter or the optimizer.
    case invalidState(path: String, reason: String)

    /// A sentence naming the optimizer (or the state path) and the problem.
    public var description: String {
        switch self {
        case let .invalidHyperparameter(optimizer, name, reason): "\(optimizer): \(name) \(reason)"
        case let .numericalFailure(optimizer, reason): "\(optimizer): \(reason)"
        case let .invalidState(path, reason): "optimizer state \(path): \(reason)"
        }
    }
}

extension NamedTensors {
    /// Modifies the optimizer-state entry `path` of `parameter` in place, inserting
    /// `initial()` when it is absent, after checking that an existing entry has the
    /// parameter's shape and dtype (state is a public variable: a wrong buffer is an error,
    /// never a crash).
    /// - Throws: `OptimizerError.invalidState` for an entry of another shape or dtype.
    public mutating func modifyState<R>(
        _ path: String, like parameter: Tensor, insertingIfAbsent initial: () throws -> Tensor, _ body: (inout Tensor) throws -> R
    ) throws -> R {
        if let existing = self[path], existing.shape != parameter.shape || existing.dtype != parameter.dtype {
            throw OptimizerError.invalidState(
                path: path, reason: "it is \(existing.dtype) \(existing.shape) but its parameter is \(parameter.dtype) \(parameter.shape)")
        }
        return try modify(path, insertingIfAbsent: initial, body)
    }

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
