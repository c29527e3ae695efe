import Foundation
import SaddleCore
import SaddleRegistry
import SaddleTraining

/// A transform as recorded in checkpoints: its configuration, the seed it ran with and, for a
/// scheduled transform, the epoch after which it ran.
public struct TransformRecord: Sendable {
    /// The transform's configuration (`{"name": ..., ...}`).
    public var configuration: JSONValue
    /// The seed of the transform's randomness (unit mappings, noise, fresh weights).
    public var seed: UInt64
    /// The epoch after which a run applied it; nil when applied to a checkpoint.
    public var epoch: Int?

    /// One line of the checkpoint's "transforms" metadata. The seed is written as a decimal
    /// string, since JSON numbers are doubles and lose 64-bit integers.
    public var line: String {
        guard case .object(let members) = configuration else { return configuration.description }
        var fields = members
        fields.append(("seed", .string(String(seed))))
        if let epoch { fields.insert(("at_epoch", .number(Double(epoch))), at: 0) }
        return JSONValue.object(fields).description
    }

    /// Parses a line written by `line`.
    /// - Throws: `ConfigurationError` for malformed lines.
    public init(line: String) throws {
        func malformed(_ reason: String) -> ConfigurationError {
            ConfigurationError(path: "transforms", message: "malformed transform record (\(reason)): \(line.prefix(80))")
        }
        let value = try JSONParser.parse(Array(line.utf8))
        guard case .object(let members) = value else { throw malformed("not an object") }
        switch value["seed"] {
        case .string(let text)?:
            guard let seed = UInt64(text) else { throw malformed("seed \"\(text.prefix(30))\" is not an unsigned 64-bit integer") }
            self.seed = seed
        case .number(let number)? where number >= 0 && number <= 9_007_199_254_740_992 && number.rounded() == number:
            seed = UInt64(number)
        default:
            throw malformed("missing or invalid seed")
        }
        switch value["at_epoch"] {
        case nil: epoch = nil
        case .number(let number)? where number >= 0 && number <= 1e9 && number.rounded() == number: epoch = Int(number)
        default: throw malformed("invalid at_epoch")
        }
        configuration = .object(members.filter { $0.0 != "seed" && $0.0 != "at_epoch" })
    }

    /// A record of `configuration` applied with `seed` (after `epoch`, for a scheduled one).
    public init(configuration: JSONValue, seed: UInt64, epoch: Int?) {
        self.configuration = configuration
        self.seed = seed
        self.epoch = epoch
    }
}

/// Applies a configured transform to a model with the run's probe batch, deterministically
/// from the record's seed.
func applyTransform(
    _ record: TransformRecord, to model: any Layer, probe: Tensor, registry: Registry
) throws -> (model: any Layer, report: TransformReport) {
    try registry.buildTransform(record.configuration, at: JSONPath().appending("transforms")).apply(to: model, probe: probe, seed: record.seed)
}

/// Applies the run's scheduled transforms at the end of their epochs, keeping the optimizer
/// state of surviving parameters.
struct ScheduledTransforms: TrainingCallback {
    let transforms: [ScheduledTransform]
    let probe: Tensor
    let registry: Registry
    let seed: UInt64

    func epochEnded(_ metrics: EpochMetrics, trainer: inout Trainer) throws {
        for (index, scheduled) in transforms.enumerated() where scheduled.atEpoch == metrics.epoch {
            let record = TransformRecord(configuration: scheduled.configuration, seed: seed &+ UInt64(1000 * metrics.epoch + index), epoch: metrics.epoch)
            let (model, report) = try applyTransform(record, to: try trainer.currentModel(), probe: probe, registry: registry)
            trainer.replaceModel(model, pathMap: report.pathMap)
            trainer.appliedTransforms.append(record.line)
            let deviation = report.maxDeviation.map { String(format: "%.3g", $0) } ?? "n/a"
            FileHandle.standardError.write(Data("applied \(record.configuration) after epoch \(metrics.epoch): max |f_new - f_old| = \(deviation)\n".utf8))
        }
    }
}

extension Run {
    /// The probe batch transforms use: the first examples of the training data.
    static func probe(_ data: DataSplits) throws -> Tensor {
        try data.training.features.rows(0..<Swift.min(256, data.training.count))
    }

    /// The configured model with the transforms recorded in `checkpoint` replayed, ready to
    /// receive the checkpoint's tensors.
    /// - Throws: `CheckpointError.incompatible` naming `file` and the line of a malformed or
    ///   inapplicable record; configuration errors from building the model.
    static func model(for checkpoint: Checkpoint, configuration: RunConfiguration, data: DataSplits, file: String) throws -> any Layer {
        var model = try configuration.buildModel(inputShape: data.training.exampleShape)
        let history = (checkpoint.metadata["transforms"] ?? "").split(separator: "\n")
        guard !history.isEmpty else { return model }
        let batch = try probe(data)
        for (index, line) in history.enumerated() {
            do {
                model = try applyTransform(try TransformRecord(line: String(line)), to: model, probe: batch, registry: configuration.registry).model
            } catch {
                let reason = (error as? ConfigurationError)?.message ?? "\(error)"
                throw CheckpointError.incompatible(file: file, reason: "metadata transforms line \(index + 1) cannot be replayed: \(reason)")
            }
        }
        return model
    }
}

extension Run {
    /// Applies the transform `spec` to a checkpoint's model and writes the result as a new
    /// checkpoint at `output` (atomically): the transformed tensors, the optimizer state of
    /// surviving parameters (remapped by the report's path map; resized ones dropped), and the
    /// transform appended to the recorded history.
    /// - Throws: configuration, checkpoint and transform errors, each naming what is wrong.
    @discardableResult
    public static func transform(
        checkpoint url: URL, spec: JSONValue, output: URL, seed: UInt64 = 0, configuration: RunConfiguration? = nil, registry: Registry
    ) throws -> TransformReport {
        let (checkpoint, run, data, model) = try Run.loaded(url, configuration: configuration, registry: registry)
        let record = TransformRecord(configuration: spec, seed: seed, epoch: nil)
        let (transformed, report) = try applyTransform(record, to: model, probe: try probe(data), registry: run.registry)
        let state = checkpoint.optimizerState.remappingOptimizerState(
            pathMap: report.pathMap, oldParameters: model.parameters, newParameters: transformed.parameters)
        var metadata = checkpoint.metadata
        let history = (metadata["transforms"].map { [$0] } ?? []) + [record.line]
        metadata["transforms"] = history.joined(separator: "\n")
        // The configuration the history replays against: the one given, else the embedded one.
        let embedded = try configuration.map { try $0.json().pretty } ?? checkpoint.configuration
        let result = Checkpoint(
            tensors: transformed.tensors, optimizerState: state, epoch: checkpoint.epoch, step: checkpoint.step,
            randomState: checkpoint.randomState, configuration: embedded, metadata: metadata)
        try result.write(to: output)
        return report
    }
}

extension RunConfiguration {
    /// Applies the scheduled transforms, in the order a run applies them, to `model` with a
    /// probe batch of zeros, so that one which cannot apply (an unknown layer path, a layer
    /// that cannot widen, a target width not larger than the current one) is an error naming
    /// `transforms[i]` before training starts rather than after its epoch.
    /// - Returns: the model's structure after all of them (its weights are not meaningful).
    /// - Throws: `ConfigurationError` at the offending transform.
    public func checkTransforms(on model: any Layer, exampleShape: [Int]) throws -> any Layer {
        try attributed {
            var current = model
            let probe = Tensor.zeros([2] + exampleShape, dtype: dtype)
            let order = transforms.indices.sorted { (transforms[$0].atEpoch, $0) < (transforms[$1].atEpoch, $1) }
            for index in order {
                let scheduled = transforms[index]
                let path = JSONPath().appending("transforms").appending(index)
                let transform = try registry.buildTransform(scheduled.configuration, at: path)
                do {
                    current = try transform.apply(to: current, probe: probe, seed: seed).model
                } catch let error as ConfigurationError {
                    throw error
                } catch {
                    // Most failures concern the layer the transform names.
                    let at = scheduled.configuration["layer"] != nil ? path.appending("layer") : path
                    throw ConfigurationError(at, "\(error) (the model as it will be after epoch \(scheduled.atEpoch))")
                }
            }
            return current
        }
    }
}
