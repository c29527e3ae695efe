import SaddleCore

/// Batch normalization over features (Ioffe and Szegedy 2015), as PyTorch's `BatchNorm1d` and
/// `BatchNorm2d`: one layer that picks the form from its input's rank.
///
/// Shapes: input and output `[batch, features]` (`BatchNorm1d`), or `[batch, channels, ...]`
/// normalized per channel over the batch and spatial positions (`[batch, channels, h, w]` is
/// `BatchNorm2d`, `[batch, channels, length]` is `BatchNorm1d` over sequences); `weight`
/// (gamma), `bias` (beta), `running_mean` and `running_var` `[features]`.
/// Training mode: y = gamma (x - mean_B) / sqrt(var_B + epsilon) + beta with the batch mean and
/// biased variance, and new running statistics reported through the context:
/// running = (1 - momentum) running + momentum batch (the unbiased variance for running_var).
/// Inference mode: the running statistics replace the batch ones.
public struct BatchNorm: Layer {
    /// The scale gamma, `[features]`.
    public private(set) var weight: Tensor
    /// The shift beta, `[features]`.
    public private(set) var bias: Tensor
    /// The running mean used in inference mode, `[features]` (buffer `running_mean`).
    public private(set) var runningMean: Tensor
    /// The running unbiased variance used in inference mode, `[features]` (buffer `running_var`).
    public private(set) var runningVariance: Tensor
    /// Weight of the newest batch in the running statistics (PyTorch's convention).
    public let momentum: Double
    /// Added to the variance before the square root, for stability.
    public let epsilon: Double

    /// The number of features (read from the weight).
    public var featureCount: Int { weight.shape[0] }

    /// gamma = 1, beta = 0, running mean 0 and variance 1.
    /// - Throws: `ModelError.invalidConfiguration` for a bad size, momentum or epsilon.
    public init(featureCount: Int, momentum: Double = 0.1, epsilon: Double = 1e-5, dtype: DType = .float32) throws {
        guard featureCount >= 1 else {
            throw ModelError.invalidConfiguration(layer: "batchnorm", reason: "featureCount \(featureCount) must be at least 1")
        }
        try self.init(
            weight: .ones([featureCount], dtype: dtype), bias: .zeros([featureCount], dtype: dtype),
            runningMean: .zeros([featureCount], dtype: dtype), runningVariance: .ones([featureCount], dtype: dtype),
            momentum: momentum, epsilon: epsilon)
    }

    /// - Throws: `ModelError` when the tensors are not all `[features]` or a setting is bad.
    public init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, momentum: Double = 0.1, epsilon: Double = 1e-5) throws {
        guard momentum >= 0, momentum <= 1 else {
            throw ModelError.invalidConfiguration(layer: "batchnorm", reason: "momentum \(momentum) must be in [0, 1]")
        }
        guard epsilon > 0, epsilon.isFinite else {
            throw ModelError.invalidConfiguration(layer: "batchnorm", reason: "epsilon \(epsilon) must be positive")
        }
        guard weight.rank == 1 else { throw ModelError.shapeMismatch(path: "weight", expected: [-1], actual: weight.shape) }
        for (path, tensor) in [("bias", bias), ("running_mean", runningMean), ("running_var", runningVariance)]
        where tensor.shape != weight.shape {
            throw ModelError.shapeMismatch(path: path, expected: weight.shape, actual: tensor.shape)
        }
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVariance = runningVariance
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// Normalizes `[batch, features]`, or `[batch, channels, ...]` per channel, with the batch
    /// statistics, reporting new running statistics (training mode), or with the running
    /// statistics (inference mode).
    /// - Throws: `TensorError` for an input whose second axis is not the features, or fewer
    ///   than 2 values per feature in training mode.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard input.rank >= 2, input.shape[1] == featureCount else {
            throw TensorError.shapeMismatch(
                op: "batchnorm", shapes: [input.shape, weight.shape],
                reason: "input must be [batch, \(featureCount)] or [batch, \(featureCount), ...] (channels second)")
        }
        // Per-feature tensors broadcast over the spatial axes of images.
        let perFeature = [featureCount] + [Int](repeating: 1, count: input.rank - 2)
        if context.mode == .inference {
            let scale = try weight / sqrt(runningVariance.detached + epsilon)
            let shift = try bias - runningMean.detached * scale
            return try input * scale.reshaped(to: perFeature) + shift.reshaped(to: perFeature)
        }
        let values = input.count / Swift.max(1, featureCount)
        guard values >= 2 else {
            // One value per feature has no batch variance (and the unbiased running variance
            // divides by n - 1); PyTorch refuses it too.
            throw TensorError.invalidArgument(
                op: "batchnorm", reason: "training mode needs at least 2 values per feature for batch statistics, got \(values) (input \(input.shape))")
        }
        if let communicator = context.statisticsCommunicator, communicator.size > 1 {
            return try synchronized(input, over: communicator, context: &context)
        }
        let (output, mean, variance) = try batchNormalized(input, scale: weight, offset: bias, epsilon: epsilon)
        try reportRunningStatistics(mean: mean, variance: variance, count: Double(values), context: &context)
        return output
    }

    /// Reports the running statistics moved towards this batch's `mean` and (biased)
    /// `variance` over `count` values per feature: the variance enters unbiased, n / (n - 1).
    private func reportRunningStatistics(mean: Tensor, variance: Tensor, count n: Double, context: inout ForwardContext) throws {
        let momentum = context.statisticsMomentum ?? self.momentum
        let newMean = try runningMean.detached * (1 - momentum) + mean.detached * momentum
        let newVariance = try runningVariance.detached * (1 - momentum) + variance.detached * (momentum * n / (n - 1))
        context.updateBuffer("running_mean", to: newMean)
        context.updateBuffer("running_var", to: newVariance)
    }

    /// Training mode with the statistics of every process's share of the batch: per-feature
    /// sums of the values and of the squared deviations are summed over the processes
    /// (`allReduced`, differentiable), so every process normalizes with the global batch's
    /// mean and variance and gets the running statistics one process would.
    private func synchronized(_ input: Tensor, over communicator: any Communicator, context: inout ForwardContext) throws -> Tensor {
        let (n, c) = (input.shape[0], featureCount)
        let spatial = input.count / Swift.max(1, n * c)
        let total = try communicator.sum(Double(n * spatial))
        guard total >= 2 else {
            throw TensorError.invalidArgument(
                op: "batchnorm", reason: "synchronized batch statistics need at least 2 values per feature over all processes, got \(Int(total))")
        }
        let grouped = try input.reshaped(to: [n, c, spatial])
        let perFeature = [1, c, 1]
        let mean = try allReduced(grouped.sum(alongAxis: 2).sum(alongAxis: 0), over: communicator) / total
        let centered = try grouped - mean.reshaped(to: perFeature)
        let variance = try allReduced((centered * centered).sum(alongAxis: 2).sum(alongAxis: 0), over: communicator) / total
        let normalized = try centered / sqrt(variance + epsilon).reshaped(to: perFeature)
        let output = try (normalized * weight.reshaped(to: perFeature) + bias.reshaped(to: perFeature)).reshaped(to: input.shape)
        try reportRunningStatistics(mean: mean, variance: variance, count: total, context: &context)
        return output
    }

    /// Trainable tensors: `weight` (gamma) and `bias` (beta), both `[features]`.
    public var parameters: NamedTensors { ["weight": weight, "bias": bias] }
    /// Non-trainable tensors: `running_mean` and `running_var`, both `[features]`.
    public var buffers: NamedTensors { ["running_mean": runningMean, "running_var": runningVariance] }

    /// A copy with `weight`, `bias`, `running_mean` and `running_var` replaced where given.
    public func replacing(_ tensors: NamedTensors) throws -> BatchNorm {
        var copy = self
        copy.weight = try replacement(for: weight, at: "weight", in: tensors)
        copy.bias = try replacement(for: bias, at: "bias", in: tensors)
        copy.runningMean = try replacement(for: runningMean, at: "running_mean", in: tensors)
        copy.runningVariance = try replacement(for: runningVariance, at: "running_var", in: tensors)
        return copy
    }
}
