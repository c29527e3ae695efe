import Foundation
import SaddleCore
import SaddleLayers
import SaddleTraining
import SaddleTransforms

/// The layers transforms insert (residual blocks, BatchNorm set to the identity), built from
/// Saddle's layer types; transforms themselves never name concrete layer types.
public struct BuiltinLayerFactory: TransformLayerFactory {
    /// The factory; it has no settings.
    public init() {}

    /// A `Residual` block whose branch is `branch` as a `Sequential`.
    public func residual(branch: [any Layer]) throws -> any Layer {
        Residual(Sequential(branch))
    }

    /// A `BatchNorm` that is the identity in inference mode on data with this `mean` and `variance`:
    /// running statistics set to them, weight sqrt(variance + 1e-5) and bias `mean` (momentum 0.1).
    public func identityBatchNorm(mean: Tensor, variance: Tensor) throws -> any Layer {
        let epsilon = 1e-5
        return try BatchNorm(
            weight: sqrt(variance + epsilon).detached, bias: mean.detached, runningMean: mean.detached, runningVariance: variance.detached,
            momentum: 0.1, epsilon: epsilon)
    }
}

private let layerPathSpec = ParameterSpec("layer", .string, "path of the layer, as in parameter paths (\"0\", \"3.branch.1\")")

func builtinTransformEntries() -> [ComponentEntry] {
    let units = ParameterSpec("units", .integer(2...maximumUnits), "the new number of units")
    return [
        ComponentEntry(
            kind: .transform, name: "net2wider", summary: "widen a layer by replicating units (Net2WiderNet; function-preserving)",
            parameters: [
                layerPathSpec, units,
                ParameterSpec("noise", .number(0...10, exclusiveMinimum: false), default: .number(0), "noise on the replicas' incoming weights, relative to the weights' standard deviation (breaks symmetry; changes the function slightly)"),
                ParameterSpec("split", .number(0...10, exclusiveMinimum: false), default: .number(0), "unequal zero-sum shares of outgoing weights among replicas, relative to the weights' standard deviation (breaks symmetry; function unchanged)"),
            ],
            factory: .transform { args in
                Net2WiderNet(layer: args.string("layer"), units: args.int("units"), noise: args.double("noise"), split: args.double("split"))
            }),
        ComponentEntry(
            kind: .transform, name: "random_pad", summary: "widen a layer with freshly initialized units (baseline for net2wider)",
            parameters: [layerPathSpec, units],
            factory: .transform { args in RandomPadWidening(layer: args.string("layer"), units: args.int("units")) }),
        ComponentEntry(
            kind: .transform, name: "net2deeper", summary: "insert an identity-initialized layer after a layer (Net2DeeperNet; function-preserving)",
            parameters: [
                layerPathSpec,
                ParameterSpec("batch_norm", .boolean, default: .bool(false), "add a BatchNorm set from data statistics (identity in inference mode)"),
                ParameterSpec("force", .boolean, default: .bool(false), "insert even after a non-idempotent activation (tanh, sigmoid)"),
            ],
            factory: .transform { args in Net2DeeperNet(layer: args.string("layer"), batchNorm: args.bool("batch_norm"), force: args.bool("force")) }),
        ComponentEntry(
            kind: .transform, name: "random_deeper", summary: "insert a randomly initialized layer after a layer (baseline for net2deeper)",
            parameters: [layerPathSpec],
            factory: .transform { args in RandomDeeper(layer: args.string("layer")) }),
        ComponentEntry(
            kind: .transform, name: "insert_residual", summary: "insert a residual block whose branch starts at zero (function-preserving)",
            parameters: [layerPathSpec],
            factory: .transform { args in ResidualInsertion(layer: args.string("layer")) }),
        ComponentEntry(
            kind: .transform, name: "insert_batchnorm", summary: "insert a BatchNorm after a layer, the identity in inference mode",
            parameters: [layerPathSpec],
            factory: .transform { args in BatchNormInsertion(layer: args.string("layer")) }),
    ]
}

extension Registry {
    /// The transform a configuration names.
    /// - Throws: `ConfigurationError` at `path`.
    public func buildTransform(_ value: JSONValue, at path: JSONPath) throws -> any ModelTransform {
        try build(.transform, value, at: path) { factory, args -> (any ModelTransform)? in
            guard case .transform(let make) = factory else { return nil }
            return try make(args)
        }
    }
}

extension ModelTransform {
    /// The transform applied with Saddle's own layer factory, `probe` as the data batch, and
    /// its randomness drawn from `seed`.
    /// - Throws: what the transform throws when it does not apply.
    public func apply(to model: any Layer, probe: Tensor?, seed: UInt64) throws -> (model: any Layer, report: TransformReport) {
        var context = TransformContext(generator: RandomGenerator(seed: seed), probe: probe, factory: BuiltinLayerFactory())
        return try apply(to: model, context: &context)
    }
}
