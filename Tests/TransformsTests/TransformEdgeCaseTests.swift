import Foundation
import Saddle
import SaddleTestSupport
import Testing

@Suite("Transform paths, placement and records")
struct TransformEdgeCaseTests {
    func model(_ g: inout RandomGenerator) throws -> Sequential {
        Sequential([
            try dense(6, 5, &g), try trainedBatchNorm(5, &g), ReLU(),
            Residual(Sequential([try dense(5, 4, &g), ReLU(), try dense(4, 5, &g)])),
            try dense(5, 3, &g),
        ])
    }

    func message(_ transform: any ModelTransform, on model: any Layer) -> String {
        var context = TransformContext(generator: RandomGenerator(seed: 1), probe: nil, factory: BuiltinLayerFactory())
        do {
            _ = try transform.apply(to: model, context: &context)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test("the reported deviation is NaN when any output is NaN, wherever it falls")
    func deviationSeesNaN() throws {
        var g = RandomGenerator(seed: 5)
        let probe = Tensor.randomNormal([4, 6], dtype: .float64, using: &g)
        // A NaN weight of the last output unit: the first outputs stay finite, so a maximum
        // that skips NaN unless it comes first would report a finite deviation.
        var last = try dense(5, 3, &g)
        var weight = try #require(last.parameters["weight"])
        try weight.withUnsafeMutableBufferPointer(as: Double.self) { $0[$0.count - 1] = .nan }
        last = try last.replacing(["weight": weight])
        let model = Sequential([try dense(6, 5, &g), ReLU(), last])
        let (_, report) = try Net2WiderNet(layer: "0", units: 7).apply(to: model, probe: probe, seed: 3)
        #expect(try #require(report.maxDeviation).isNaN)
    }

    @Test("malformed, unknown and non-canonical paths and impossible widths are refused with a reason")
    func badPathsAndWidths() throws {
        var g = RandomGenerator(seed: 2)
        let m = try model(&g)
        for path in ["", "0..1", "-1", "9", "3.branch.99", "01", "+1", "3.branch.", "3.trunk"] {
            #expect(message(Net2WiderNet(layer: path, units: 9), on: m).contains("no layer at path"), "\(path)")
            #expect(message(Net2DeeperNet(layer: path), on: m).contains("no layer at path"), "\(path)")
            #expect(message(BatchNormInsertion(layer: path), on: m).contains("no layer at path"), "\(path)")
        }
        #expect(message(BatchNormInsertion(layer: "3.branch"), on: m).contains("not an element of a sequence"))
        #expect(message(Net2DeeperNet(layer: "3.branch"), on: m).contains("cannot give an identity-initialized layer"))
        #expect(message(Net2WiderNet(layer: "0", units: 1 << 24), on: m).contains("more than the limit"))
        #expect(message(Net2WiderNet(layer: "0", units: 5), on: m).contains("must be larger"))
        // The residual block reads layer 0's widened outputs only through its skip connection.
        #expect(message(Net2WiderNet(layer: "0", units: 7), on: m).contains("cannot widen its inputs"))
    }

    @Test("deepening after Dense, BatchNorm, ReLU inserts after the ReLU; inside a branch the paths map")
    func placementAndNestedPaths() throws {
        var g = RandomGenerator(seed: 3)
        let m = try model(&g)
        let x = Tensor.randomNormal([32, 6], dtype: .float64, using: &g)
        var context = TransformContext(generator: RandomGenerator(seed: 4), probe: x, factory: BuiltinLayerFactory())
        let (deeper, report) = try Net2DeeperNet(layer: "0", batchNorm: true).apply(to: m, context: &context)
        #expect(try #require(report.maxDeviation) <= 1e-12)
        // [dense, bn, relu, new dense, new bn, relu, residual, dense]
        #expect(deeper.tensors["3.weight"]?.shape == [5, 5])
        #expect(deeper.tensors["4.running_mean"] != nil)
        #expect(report.pathMap.contains { $0 == ("3.branch.0.weight", "6.branch.0.weight") })
        #expect(report.pathMap.contains { $0 == ("1.running_var", "1.running_var") })
        #expect(Set(report.added) == ["3.weight", "3.bias", "4.weight", "4.bias", "4.running_mean", "4.running_var"])

        // Inside the residual branch: statistics come from the branch's own input.
        let (nested, nestedReport) = try Net2DeeperNet(layer: "3.branch.0", batchNorm: true).apply(to: m, context: &context)
        #expect(try #require(nestedReport.maxDeviation) <= 1e-12)
        #expect(nested.tensors["3.branch.2.weight"]?.shape == [4, 4])
        #expect(nestedReport.pathMap.contains { $0 == ("3.branch.2.weight", "3.branch.5.weight") })
        #expect(nestedReport.pathMap.contains { $0 == ("4.weight", "4.weight") })
        let (withNorm, normReport) = try BatchNormInsertion(layer: "3.branch.1").apply(to: m, context: &context)
        #expect(try #require(normReport.maxDeviation) <= 1e-12)
        #expect(withNorm.tensors["3.branch.2.running_var"]?.shape == [4])
    }

    @Test("a BatchNorm set from a batch's statistics is exact on that batch in training mode too")
    func batchNormFromStatisticsInTrainingMode() throws {
        var g = RandomGenerator(seed: 5)
        let m = Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)])
        let x = Tensor.randomNormal([64, 6], dtype: .float64, using: &g)
        var context = TransformContext(generator: RandomGenerator(seed: 6), probe: x, factory: BuiltinLayerFactory())
        let (grown, _) = try BatchNormInsertion(layer: "0").apply(to: m, context: &context)
        var training = ForwardContext(mode: .training)
        let old = try m(x).doubles
        let new = try grown(x, context: &training).doubles
        // Training mode normalizes by the same batch statistics: exact up to epsilon's effect.
        #expect(TestSupport.maxAbsDifference(old, new) <= 1e-10 * max(1, old.map { Swift.abs($0) }.max() ?? 0))
        // On another batch, training mode differs; inference mode does not.
        let y = Tensor.randomNormal([64, 6], dtype: .float64, using: &g)
        var again = ForwardContext(mode: .training)
        #expect(TestSupport.maxAbsDifference(try m(y).doubles, try grown(y, context: &again).doubles) > 1e-3)
        #expect(TestSupport.maxAbsDifference(try m(y).doubles, try grown(y).doubles) <= 1e-10)
    }

    @Test("transform records keep 64-bit seeds and refuse malformed lines")
    func records() throws {
        let configuration = try JSONParser.parse(Array(#"{"name": "net2wider", "layer": "0", "units": 9}"#.utf8))
        for seed in [UInt64(0), 12345, UInt64.max, UInt64(1) << 63 + 1] {
            let record = TransformRecord(configuration: configuration, seed: seed, epoch: 3)
            let parsed = try TransformRecord(line: record.line)
            #expect(parsed.seed == seed && parsed.epoch == 3 && parsed.configuration == configuration)
        }
        for bad in [#"{"name": "x", "seed": 1e30}"#, #"{"name": "x", "seed": -1}"#, #"{"name": "x", "seed": "12a"}"#, #"{"name": "x"}"#,
                    #"{"name": "x", "seed": "1", "at_epoch": 2.5}"#, "[1, 2]", #"{"name": "x", "seed": 0.5}"#] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try TransformRecord(line: bad) }
        }
    }

    @Test("a run file whose transform cannot apply is refused before training, naming transforms[i]")
    func runFileTransformsAreCheckedUpFront() throws {
        let text = """
            {"data": {"name": "digits"}, "model": [{"layer": "dense", "units": 16}, {"layer": "relu"}, {"layer": "dense", "units": 10}],
             "optimizer": {"name": "sgd", "learning_rate": 0.1}, "train": {"epochs": 4, "batch_size": 32, "progress": "silent"},
             "transforms": [{"at_epoch": 1, "name": "net2deeper", "layer": "0"},
                            {"at_epoch": 3, "name": "net2wider", "layer": "2", "units": 32}]}
            """
        let configuration = try RunConfiguration.decode(Array(text.utf8), registry: .builtin)
        // After the deepening at epoch 1, layer 2 is the inserted Dense (16 units): widening it works.
        #expect(try configuration.checkTransforms(on: configuration.buildModel(), exampleShape: [64]).tensors["2.weight"]?.shape == [32, 16])
        let broken = text.replacingOccurrences(of: #""layer": "2", "units": 32"#, with: #""layer": "1", "units": 32"#)
        let refused = try RunConfiguration.decode(Array(broken.utf8), registry: .builtin)
        #expect {
            _ = try Run(refused)
        } throws: { error in
            "\(error)".contains("transforms[1]") && "\(error)".contains("cannot widen its outputs")
        }
    }
}
