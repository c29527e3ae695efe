import SaddleCore

/// Stochastic gradient descent with optional classical or Nesterov momentum and weight decay,
/// following PyTorch's `torch.optim.SGD`:
///
///     g = grad + weightDecay * p
///     b = momentum * b + g            (b = g on the first step)
///     d = nesterov ? g + momentum * b : b
///     p = p - learningRate * d
///
/// State: `<path>.momentum_buffer` per parameter when momentum is nonzero.
public struct SGD: Optimizer {
    public var learningRate: Double
    public var momentum: Double
    public var nesterov: Bool
    public var weightDecay: Double
    public var state = NamedTensors()

    /// - Throws: `OptimizerError.invalidHyperparameter` for a negative or non-finite setting,
    ///   or Nesterov momentum without momentum.
    public init(learningRate: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0) throws {
        for (name, value) in [("learning_rate", learningRate), ("momentum", momentum), ("weight_decay", weightDecay)]
        where !(value.isFinite && value >= 0) {
            throw OptimizerError.invalidHyperparameter(optimizer: "sgd", name: name, reason: "is \(value); it must be finite and at least 0")
        }
        guard !nesterov || momentum > 0 else {
            throw OptimizerError.invalidHyperparameter(optimizer: "sgd", name: "nesterov", reason: "needs a positive momentum")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public mutating func step(_ parameters: inout NamedTensors, objective: some Objective) throws -> StepReport {
        let evaluation = try objective.valueAndGradient(at: parameters)
        try update(&parameters, gradient: evaluation.gradient)
        return StepReport(loss: evaluation.value, state: evaluation.state, prediction: evaluation.prediction)
    }

    /// Applies one update from a precomputed gradient.
    /// - Throws: `TensorError` when the gradient's layout differs from the parameters'.
    public mutating func update(_ parameters: inout NamedTensors, gradient: NamedTensors) throws {
        try parameters.checkSameLayout(as: gradient, op: "sgd")
        for k in 0..<parameters.count {
            let path = parameters.paths[k]
            var direction = gradient.tensors[k]
            if weightDecay != 0 { direction.addInPlace(parameters.tensors[k], scaledBy: weightDecay) }
            if momentum != 0 {
                var isNew = false
                let buffer = state.modify(path + ".momentum_buffer", insertingIfAbsent: { isNew = true; return direction }) { buffer in
                    if !isNew { buffer.scaleInPlace(by: momentum, adding: direction, scaledBy: 1) }
                    return buffer
                }
                if nesterov { direction.addInPlace(buffer, scaledBy: momentum) } else { direction = buffer }
            }
            parameters.modifyTensor(at: k) { $0.addInPlace(direction, scaledBy: -learningRate) }
        }
    }
}
