import Foundation
import SaddleCore

/// A learning-rate schedule: the rate for an epoch (0-based) and a global step, given the
/// optimizer's base rate. The trainer sets the optimizer's rate before every step.
public protocol LearningRateSchedule: Sendable {
    func learningRate(base: Double, epoch: Int, step: Int) -> Double
}

/// The base rate throughout.
public struct ConstantSchedule: LearningRateSchedule {
    /// A schedule keeping the base rate.
    public init() {}
    /// The base rate, whatever the epoch and step.
    public func learningRate(base: Double, epoch: Int, step: Int) -> Double { base }
}

/// The base rate times `gamma` every `stepSize` epochs (PyTorch's `StepLR`).
public struct StepSchedule: LearningRateSchedule {
    /// The number of epochs between decays.
    public let stepSize: Int
    /// The factor applied at each decay, in (0, 1].
    public let gamma: Double

    /// - Throws: `OptimizerError.invalidHyperparameter` for a step size below 1 or gamma outside (0, 1].
    public init(stepSize: Int, gamma: Double = 0.1) throws {
        guard stepSize >= 1 else { throw OptimizerError.invalidHyperparameter(optimizer: "step", name: "step_size", reason: "is \(stepSize); it must be at least 1") }
        guard gamma > 0, gamma <= 1 else { throw OptimizerError.invalidHyperparameter(optimizer: "step", name: "gamma", reason: "is \(gamma); it must be in (0, 1]") }
        self.stepSize = stepSize
        self.gamma = gamma
    }

    /// The base rate times gamma^(epoch / stepSize), the division rounding down.
    public func learningRate(base: Double, epoch: Int, step: Int) -> Double {
        base * pow(gamma, Double(epoch / stepSize))
    }
}

/// Cosine annealing per epoch from the base rate to `minimum` over `epochs` (PyTorch's
/// `CosineAnnealingLR` stepped once per epoch): min + (base - min) (1 + cos(pi e / epochs)) / 2.
public struct CosineSchedule: LearningRateSchedule {
    /// The number of epochs to anneal over; the rate stays at `minimum` after them.
    public let epochs: Int
    /// The rate reached after `epochs` epochs.
    public let minimum: Double

    /// - Throws: `OptimizerError.invalidHyperparameter` for fewer than 1 epoch or a negative minimum.
    public init(epochs: Int, minimum: Double = 0) throws {
        guard epochs >= 1 else { throw OptimizerError.invalidHyperparameter(optimizer: "cosine", name: "epochs", reason: "is \(epochs); it must be at least 1") }
        guard minimum >= 0, minimum.isFinite else { throw OptimizerError.invalidHyperparameter(optimizer: "cosine", name: "minimum", reason: "is \(minimum); it must be at least 0") }
        self.epochs = epochs
        self.minimum = minimum
    }

    /// The annealed rate min + (base - min) (1 + cos(pi e / epochs)) / 2, with e = min(epoch, epochs).
    public func learningRate(base: Double, epoch: Int, step: Int) -> Double {
        let e = Double(Swift.min(epoch, epochs))
        return minimum + (base - minimum) * (1 + cos(Double.pi * e / Double(epochs))) / 2
    }
}

/// A linear warm-up over the first `steps` steps (rate (step + 1) / steps of the scheduled one),
/// then `schedule`.
public struct LinearWarmup: LearningRateSchedule {
    /// The number of warm-up steps.
    public let steps: Int
    /// The schedule followed during the warm-up (scaled down) and after it.
    public let schedule: any LearningRateSchedule

    /// - Throws: `OptimizerError.invalidHyperparameter` for fewer than 1 step.
    public init(steps: Int, then schedule: any LearningRateSchedule = ConstantSchedule()) throws {
        guard steps >= 1 else { throw OptimizerError.invalidHyperparameter(optimizer: "warmup", name: "steps", reason: "is \(steps); it must be at least 1") }
        self.steps = steps
        self.schedule = schedule
    }

    /// The scheduled rate times (step + 1) / steps for the first `steps` steps, then the scheduled rate.
    public func learningRate(base: Double, epoch: Int, step: Int) -> Double {
        let scheduled = schedule.learningRate(base: base, epoch: epoch, step: step)
        return step < steps ? scheduled * Double(step + 1) / Double(steps) : scheduled
    }
}
