import SaddleCore

/// Adam (Kingma and Ba 2015) and AdamW (Loshchilov and Hutter 2019), following PyTorch:
///
///     g = grad + weightDecay * p                   (Adam's L2 penalty; AdamW: p *= 1 - lr * wd)
///     m = beta1 * m + (1 - beta1) * g
///     v = beta2 * v + (1 - beta2) * g^2
///     p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
///
/// State per parameter: `<path>.exp_avg`, `<path>.exp_avg_sq` and `<path>.step`.
public struct Adam: GradientOptimizer {
    /// The step size lr.
    public var learningRate: Double
    /// The decay rate of the first-moment estimate m, in [0, 1).
    public var beta1: Double
    /// The decay rate of the second-moment estimate v, in [0, 1).
    public var beta2: Double
    /// Added to the denominator, for stability.
    public var epsilon: Double
    /// The weight decay wd: an L2 penalty added to the gradient, or decoupled (AdamW) with `decoupledWeightDecay`.
    public var weightDecay: Double
    /// Whether weight decay is decoupled from the gradient (AdamW).
    public var decoupledWeightDecay: Bool
    /// The largest global gradient norm let through, or nil for no clipping.
    public var maxGradientNorm: Double?
    /// Per-parameter state: `<path>.exp_avg`, `<path>.exp_avg_sq` and `<path>.step`.
    public var state = NamedTensors()
    /// `exp_avg` and `exp_avg_sq` shaped like their parameter, and the `step` count.
    public var stateSlots: [OptimizerSlot]? {
        [OptimizerSlot("exp_avg", .parameter), OptimizerSlot("exp_avg_sq", .parameter), OptimizerSlot("step", .stepCount)]
    }

    /// - Throws: `OptimizerError.invalidHyperparameter` for out-of-range settings.
    public init(
        learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0, decoupledWeightDecay: Bool = false, maxGradientNorm: Double? = nil
    ) throws {
        let name = decoupledWeightDecay ? "adamw" : "adam"
        try checkHyperparameters(name, ["learning_rate": learningRate, "epsilon": epsilon, "weight_decay": weightDecay])
        try checkClipping(name, maxGradientNorm)
        for (key, beta) in [("beta1", beta1), ("beta2", beta2)] where !(beta >= 0 && beta < 1) {
            throw OptimizerError.invalidHyperparameter(optimizer: name, name: key, reason: "is \(beta); it must be in [0, 1)")
        }
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        self.maxGradientNorm = maxGradientNorm
    }

    /// AdamW: Adam with decoupled weight decay (default 0.01, as PyTorch).
    public static func adamW(
        learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0.01, maxGradientNorm: Double? = nil
    ) throws -> Adam {
        try Adam(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            decoupledWeightDecay: true, maxGradientNorm: maxGradientNorm)
    }

    /// Applies one Adam (or AdamW) update to every parameter, advancing its moment estimates and step count.
    /// - Throws: `TensorError` when the layouts differ; `OptimizerError.invalidState` for state of another shape or dtype.
    public mutating func update(_ parameters: inout NamedTensors, gradient: NamedTensors) throws {
        try parameters.checkSameLayout(as: gradient, op: decoupledWeightDecay ? "adamw" : "adam")
        for k in 0..<parameters.count {
            let path = parameters.paths[k]
            var g = gradient.tensors[k].detached
            if weightDecay != 0 {
                if decoupledWeightDecay {
                    let factor = 1 - learningRate * weightDecay
                    parameters.modifyTensor(at: k) { $0.scaleInPlace(by: factor, adding: g, scaledBy: 0) }
                } else {
                    g.addInPlace(parameters.tensors[k], scaledBy: weightDecay)
                }
            }
            let zeros = { g.zerosLike() }
            if let count = state[path + ".step"], count.rank != 0 || count.dtype != .float64 {
                throw OptimizerError.invalidState(path: path + ".step", reason: "a step count is a float64 scalar, found \(count.dtype) \(count.shape)")
            }
            let step = state.modify(path + ".step", insertingIfAbsent: { Tensor(0, dtype: .float64) }) { step -> Double in
                step.fill(with: (step.doubles.first ?? 0) + 1)
                return step.doubles.first ?? 1
            }
            let (b1, b2) = (beta1, beta2)
            let m = try state.modifyState(path + ".exp_avg", like: parameters.tensors[k], insertingIfAbsent: zeros) { m in
                m.scaleInPlace(by: b1, adding: g, scaledBy: 1 - b1)
                return m
            }
            let squared = g.squared()
            let v = try state.modifyState(path + ".exp_avg_sq", like: parameters.tensors[k], insertingIfAbsent: zeros) { v in
                v.scaleInPlace(by: b2, adding: squared, scaledBy: 1 - b2)
                return v
            }
            let correction1 = 1 - pow(beta1, step)
            let correction2 = 1 - pow(beta2, step)
            let denominator = sqrt(v) * (1 / correction2.squareRoot()) + epsilon
            let direction = try m / denominator
            parameters.modifyTensor(at: k) { $0.addInPlace(direction, scaledBy: -learningRate / correction1) }
        }
    }
}

import Foundation
