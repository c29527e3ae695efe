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
public struct SGD: GradientOptimizer {
    /// The step size.
    public var learningRate: Double
    /// The momentum factor; 0 for none.
    public var momentum: Double
    /// Whether the momentum is Nesterov's.
    public var nesterov: Bool
    /// The L2 penalty: weightDecay * p is added to the gradient.
    public var weightDecay: Double
    /// The largest global gradient norm let through, or nil for no clipping.
    public var maxGradientNorm: Double?
    /// Per-parameter state: `<path>.momentum_buffer` when momentum is nonzero.
    public var state = NamedTensors()
    /// `momentum_buffer`, shaped like its parameter.
    public var stateSlots: [OptimizerSlot]? { [OptimizerSlot("momentum_buffer", .parameter)] }

    /// - Throws: `OptimizerError.invalidHyperparameter` for a negative or non-finite setting,
    ///   or Nesterov momentum without momentum.
    public init(
        learningRate: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0,
        maxGradientNorm: Double? = nil
    ) throws {
        try checkHyperparameters("sgd", ["learning_rate": learningRate, "momentum": momentum, "weight_decay": weightDecay])
        try checkClipping("sgd", maxGradientNorm)
        guard !nesterov || momentum > 0 else {
            throw OptimizerError.invalidHyperparameter(optimizer: "sgd", name: "nesterov", reason: "needs a positive momentum")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
    }

    /// Applies one SGD update to every parameter, advancing its momentum buffer when momentum is nonzero.
    /// - Throws: `TensorError` when the layouts differ; `OptimizerError.invalidState` for a buffer of another shape or dtype.
    public mutating func update(_ parameters: inout NamedTensors, gradient: NamedTensors) throws {
        try parameters.checkSameLayout(as: gradient, op: "sgd")
        for k in 0..<parameters.count {
            let path = parameters.paths[k]
            var direction = gradient.tensors[k].detached
            if weightDecay != 0 { direction.addInPlace(parameters.tensors[k], scaledBy: weightDecay) }
            if momentum != 0 {
                var isNew = false
                let buffer = try state.modifyState(path + ".momentum_buffer", like: parameters.tensors[k], insertingIfAbsent: { isNew = true; return direction }) { buffer in
                    if !isNew { buffer.scaleInPlace(by: momentum, adding: direction, scaledBy: 1) }
                    return buffer
                }
                if nesterov { direction.addInPlace(buffer, scaledBy: momentum) } else { direction = buffer }
            }
            parameters.modifyTensor(at: k) { $0.addInPlace(direction, scaledBy: -learningRate) }
        }
    }
}

/// Throws unless every value is finite and non-negative.
func checkHyperparameters(_ optimizer: String, _ values: KeyValuePairs<String, Double>) throws {
    for (name, value) in values where !(value.isFinite && value >= 0) {
        throw OptimizerError.invalidHyperparameter(optimizer: optimizer, name: name, reason: "is \(value); it must be finite and at least 0")
    }
}

/// Throws unless the clipping norm is absent or positive and finite.
func checkClipping(_ optimizer: String, _ maxNorm: Double?) throws {
    if let maxNorm, !(maxNorm.isFinite && maxNorm > 0) {
        throw OptimizerError.invalidHyperparameter(optimizer: optimizer, name: "max_gradient_norm", reason: "is \(maxNorm); it must be positive")
    }
}
