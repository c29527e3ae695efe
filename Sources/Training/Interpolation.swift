import SaddleCore
import SaddleData

/// One point of a linear interpolation between two parameter vectors.
public struct InterpolationPoint: Sendable, Equatable {
    /// The position: 0 is the start, 1 the end; outside [0, 1] extrapolates.
    public var alpha: Double
    /// The mean loss on the training data at this point, in inference mode.
    public var trainingLoss: Double
    /// The training accuracy at this point, or nil when the output is not classification.
    public var trainingAccuracy: Double?
    /// The mean held-out loss at this point, or nil without held-out data.
    public var validationLoss: Double?
    /// The held-out accuracy at this point, or nil without held-out data or classification output.
    public var validationAccuracy: Double?
}

/// The linear-interpolation experiment (Goodfellow, Vinyals and Saxe, "Qualitatively
/// characterizing neural network optimization problems", ICLR 2015): the cost along the
/// straight line theta(a) = (1 - a) theta_start + a theta_end, usually from initialization to
/// a trained solution, or between two solutions.
public enum LinearInterpolation {
    /// `count` evenly spaced positions from `lower` to `upper` (both included).
    public static func alphas(from lower: Double = -0.5, to upper: Double = 1.5, count: Int = 21) -> [Double] {
        guard count > 1 else { return [lower] }
        return (0..<count).map { lower + (upper - lower) * Double($0) / Double(count - 1) }
    }

    /// The training and validation cost, in inference mode, of `model` with its parameters at
    /// each position of `alphas` between `start` and `end`. Models with running statistics
    /// (BatchNorm) get them recomputed at every point from up to `calibrationExamples`
    /// training examples, since statistics of either end do not fit the weights in between.
    /// Neither `model` nor the parameter sets are changed.
    /// - Throws: `TensorError` when `start` or `end` do not have the model's parameter layout;
    ///   whatever the model or loss throws.
    public static func evaluate(
        model: any Layer, from start: NamedTensors, to end: NamedTensors, alphas: [Double], loss: any Loss,
        training: Dataset, validation: Dataset? = nil, calibrationExamples: Int = 10_000, batchSize: Int = 1000
    ) throws -> [InterpolationPoint] {
        let layout = model.parameters
        try start.checkSameLayout(as: layout, op: "interpolation start")
        try end.checkSameLayout(as: layout, op: "interpolation end")
        let calibration: [Tensor]
        if model.buffers.isEmpty {
            calibration = []
        } else {
            let count = Swift.min(calibrationExamples, training.count)
            calibration = try stride(from: 0, to: count, by: batchSize).map {
                try training.features.rows($0..<Swift.min($0 + batchSize, count))
            }
        }
        return try alphas.map { alpha in
            let theta = try start.scaled(by: 1 - alpha).adding(end, scaledBy: alpha)
            var point = try model.replacing(theta)
            if !calibration.isEmpty { point = try point.recalibratingStatistics(on: calibration) }
            let train = try Evaluation.measure(point, loss: loss, on: training, batchSize: batchSize)
            let held = try validation.map { try Evaluation.measure(point, loss: loss, on: $0, batchSize: batchSize) }
            return InterpolationPoint(
                alpha: alpha, trainingLoss: train.loss, trainingAccuracy: train.accuracy,
                validationLoss: held?.loss, validationAccuracy: held?.accuracy)
        }
    }
}

extension LinearInterpolation {
    /// Where each of `points` (for example the parameters after each epoch of training) lies
    /// relative to the line from `start` to `end`: `alpha`, the progress along the line
    /// (<theta - start, d> / |d|^2 with d = end - start), and `offLine`, the distance from the
    /// line (|theta - start - alpha d|). Goodfellow, Vinyals and Saxe (2015) plot the one
    /// against the other to show how far training strays from the straight path.
    /// - Throws: `TensorError` when a point does not have the layout of `start`.
    public static func coordinates(
        of points: [NamedTensors], from start: NamedTensors, to end: NamedTensors
    ) throws -> [(alpha: Double, offLine: Double)] {
        let direction = try end.adding(start, scaledBy: -1)
        let length = try direction.dot(direction)
        guard length > 0 else {
            throw TensorError.invalidArgument(op: "interpolation coordinates", reason: "the start and end points are equal")
        }
        return try points.map { point in
            let offset = try point.adding(start, scaledBy: -1)
            let alpha = try offset.dot(direction) / length
            let residual = try offset.adding(direction, scaledBy: -alpha)
            return (alpha, try residual.dot(residual).squareRoot())
        }
    }
}
