import Foundation
import SaddleCore
import SaddleRegistry
import SaddleTraining

/// What `saddle interpolate` reports: the cost along the line between two parameter points
/// (by default the run's initialization and the checkpoint).
public struct InterpolationReport: Sendable {
    /// Where the line starts ("initialization (seed N)" or a checkpoint path) and ends.
    public var start: String
    /// The checkpoint the line ends at (its path).
    public var end: String
    /// ||theta_end - theta_start||.
    public var distance: Double
    /// The costs at each alpha, in the order the alphas were given.
    public var points: [InterpolationPoint]

    /// The report as a JSON object with snake_case keys, null for costs not measured (`saddle interpolate --json`).
    public var json: JSONValue {
        func number(_ x: Double?) -> JSONValue { x.map { .number($0) } ?? .null }
        return .object([
            ("start", .string(start)), ("end", .string(end)), ("distance", .number(distance)),
            ("points", .array(points.map { point in
                .object([
                    ("alpha", .number(point.alpha)), ("training_loss", .number(point.trainingLoss)),
                    ("training_accuracy", number(point.trainingAccuracy)), ("validation_loss", number(point.validationLoss)),
                    ("validation_accuracy", number(point.validationAccuracy)),
                ])
            })),
        ])
    }

    /// A table with a bar per point for the training loss.
    public var text: String {
        var lines = [
            "from \(start) (alpha 0) to \(end) (alpha 1), distance \(String(format: "%.6g", distance))",
            "   alpha   training loss  accuracy   held-out loss  accuracy",
        ]
        let finite = points.map(\.trainingLoss).filter(\.isFinite)
        let peak = finite.max() ?? 1
        for point in points {
            func percent(_ x: Double?) -> String { x.map { String(format: "%7.2f%%", 100 * $0) } ?? "       -" }
            let held = point.validationLoss.map { String(format: "%14.6g", $0) } ?? String(repeating: " ", count: 13) + "-"
            let width = point.trainingLoss.isFinite && peak > 0 ? Int((point.trainingLoss / peak * 30).rounded()) : 0
            lines.append(
                String(format: "%8.3f  %14.6g", point.alpha, point.trainingLoss) + "  \(percent(point.trainingAccuracy))  \(held)  "
                    + "\(percent(point.validationAccuracy))  " + String(repeating: "#", count: Swift.max(0, width)))
        }
        return lines.joined(separator: "\n")
    }
}

extension Run {
    /// The linear-interpolation experiment on a checkpoint: training and held-out cost at each
    /// of `alphas` on the line from `start` (another checkpoint of the same architecture; by
    /// default the run's initialization, rebuilt from its seed) to the checkpoint's parameters.
    /// Nothing is changed on disk or in the models.
    /// - Throws: configuration, data and checkpoint errors; `CheckpointError.incompatible` when
    ///   the two points do not have the same parameters.
    public static func interpolate(
        checkpoint url: URL, from start: URL? = nil, configuration: RunConfiguration? = nil, registry: Registry, alphas: [Double]
    ) throws -> InterpolationReport {
        let (checkpoint, run, data, model) = try Run.loaded(url, configuration: configuration, registry: registry)
        let origin: NamedTensors
        let startName: String
        if let start {
            origin = try Run.loaded(start, configuration: nil, registry: registry, known: (run.data, data)).model.parameters
            startName = start.path
        } else {
            guard checkpoint.metadata["transforms"] == nil else {
                throw CheckpointError.incompatible(
                    file: url.path,
                    reason: "its model was grown by transforms, so the run's initialization has other parameters; give a start checkpoint of the same architecture (--from)")
            }
            origin = try run.buildModel(inputShape: data.training.exampleShape).parameters
            startName = "initialization (seed \(run.seed))"
        }
        let end = model.parameters
        guard origin.shapes.map(\.path) == end.shapes.map(\.path), origin.shapes.map(\.shape) == end.shapes.map(\.shape) else {
            throw CheckpointError.incompatible(file: startName, reason: "its parameters (\(origin.count) tensors) do not match those of \(url.path) (\(end.count) tensors)")
        }
        let points = try LinearInterpolation.evaluate(
            model: model, from: origin.converted(to: run.dtype), to: end, alphas: alphas, loss: try run.buildLoss(),
            training: data.training, validation: data.heldOut.count > 0 ? data.heldOut : nil)
        let distance = try end.adding(origin.converted(to: run.dtype), scaledBy: -1).norm
        return InterpolationReport(start: startName, end: url.path, distance: distance, points: points)
    }
}
