import Saddle
import SaddleTestSupport
import Testing

/// A model, a transform that must preserve its function, and inputs to check on (Float64).
struct PreservationCase: Sendable, CustomTestStringConvertible {
    let name: String
    let model: @Sendable (inout RandomGenerator) throws -> any Layer
    let transform: any ModelTransform
    let inputShape: [Int]
    var testDescription: String { name }
}

func dense(_ inputs: Int, _ units: Int, _ g: inout RandomGenerator) throws -> Dense {
    try Dense(inputSize: inputs, units: units, dtype: .float64, using: &g)
}

/// A BatchNorm with non-trivial statistics.
func trainedBatchNorm(_ features: Int, _ g: inout RandomGenerator) throws -> BatchNorm {
    try BatchNorm(
        weight: .randomUniform([features], in: 0.5...1.5, dtype: .float64, using: &g), bias: .randomNormal([features], dtype: .float64, using: &g),
        runningMean: .randomNormal([features], dtype: .float64, using: &g), runningVariance: .randomUniform([features], in: 0.5...2, dtype: .float64, using: &g))
}

let preservationCases: [PreservationCase] = [
    PreservationCase(name: "net2wider dense-relu-dense", model: { g in Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)]) },
                     transform: Net2WiderNet(layer: "0", units: 9), inputShape: [6]),
    PreservationCase(name: "net2wider with an unequal split", model: { g in Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)]) },
                     transform: Net2WiderNet(layer: "0", units: 13, split: 0.5), inputShape: [6]),
    PreservationCase(name: "net2wider lstm into lstm with an unequal split", model: { g in
        Sequential([
            try LSTM(inputSize: 3, hiddenSize: 4, returnsSequence: true, dtype: .float64, using: &g),
            try LSTM(inputSize: 4, hiddenSize: 3, dtype: .float64, using: &g), try dense(3, 2, &g),
        ])
    }, transform: Net2WiderNet(layer: "0", units: 9, split: 1), inputShape: [4, 3]),
    PreservationCase(name: "net2wider dense into maxout with an unequal split", model: { g in
        Sequential([try dense(6, 5, &g), ReLU(), try Maxout(inputSize: 5, units: 3, pieces: 2, dtype: .float64, using: &g)])
    }, transform: Net2WiderNet(layer: "0", units: 11, split: 0.3), inputShape: [6]),
    PreservationCase(name: "net2wider through batchnorm", model: { g in
        Sequential([try dense(6, 5, &g), try trainedBatchNorm(5, &g), ReLU(), try dense(5, 3, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 12), inputShape: [6]),
    PreservationCase(name: "net2wider through tanh, sigmoid, leaky relu and dropout", model: { g in
        Sequential([try dense(6, 5, &g), Tanh(), Sigmoid(), try LeakyReLU(slope: 0.1), try Dropout(rate: 0.3), try dense(5, 3, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 8), inputShape: [6]),
    PreservationCase(name: "net2wider maxout", model: { g in
        Sequential([try Maxout(inputSize: 6, units: 4, pieces: 3, dtype: .float64, using: &g), try dense(4, 3, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 7), inputShape: [6]),
    PreservationCase(name: "net2wider dense into maxout", model: { g in
        Sequential([try dense(6, 5, &g), ReLU(), try Maxout(inputSize: 5, units: 3, pieces: 2, dtype: .float64, using: &g)])
    }, transform: Net2WiderNet(layer: "0", units: 9), inputShape: [6]),
    PreservationCase(name: "net2wider lstm hidden units", model: { g in
        Sequential([try LSTM(inputSize: 3, hiddenSize: 4, dtype: .float64, using: &g), try dense(4, 2, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 7), inputShape: [5, 3]),
    PreservationCase(name: "net2wider lstm into lstm", model: { g in
        Sequential([
            try LSTM(inputSize: 3, hiddenSize: 4, returnsSequence: true, dtype: .float64, using: &g),
            try LSTM(inputSize: 4, hiddenSize: 3, dtype: .float64, using: &g), try dense(3, 2, &g),
        ])
    }, transform: Net2WiderNet(layer: "0", units: 6), inputShape: [4, 3]),
    PreservationCase(name: "net2wider inside a residual branch", model: { g in
        Sequential([try dense(6, 5, &g), Residual(Sequential([try dense(5, 4, &g), ReLU(), try dense(4, 5, &g)])), try dense(5, 2, &g)])
    }, transform: Net2WiderNet(layer: "1.branch.0", units: 8), inputShape: [6]),
    PreservationCase(name: "net2wider factored linear", model: { g in
        Sequential([try FactoredLinear(inputSize: 6, units: 5, rank: 3, depth: 3, useBias: true, dtype: .float64, using: &g), ReLU(), try dense(5, 3, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 9, split: 0.2), inputShape: [6]),
    PreservationCase(name: "net2wider dense into factored linear", model: { g in
        Sequential([try dense(6, 5, &g), Tanh(), try FactoredLinear(inputSize: 5, units: 3, rank: 2, dtype: .float64, using: &g)])
    }, transform: Net2WiderNet(layer: "0", units: 8), inputShape: [6]),
    PreservationCase(name: "net2deeper after relu", model: { g in Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)]) },
                     transform: Net2DeeperNet(layer: "0"), inputShape: [6]),
    PreservationCase(name: "net2deeper after a linear layer", model: { g in Sequential([try dense(6, 5, &g), try dense(5, 3, &g)]) },
                     transform: Net2DeeperNet(layer: "0"), inputShape: [6]),
    PreservationCase(name: "net2deeper maxout", model: { g in
        Sequential([try Maxout(inputSize: 6, units: 4, pieces: 3, dtype: .float64, using: &g), try dense(4, 3, &g)])
    }, transform: Net2DeeperNet(layer: "0"), inputShape: [6]),
    PreservationCase(name: "net2deeper with batchnorm", model: { g in Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)]) },
                     transform: Net2DeeperNet(layer: "0", batchNorm: true), inputShape: [6]),
    PreservationCase(name: "residual insertion after relu", model: { g in Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)]) },
                     transform: ResidualInsertion(layer: "0"), inputShape: [6]),
    PreservationCase(name: "residual insertion after tanh", model: { g in Sequential([try dense(6, 5, &g), Tanh(), try dense(5, 3, &g)]) },
                     transform: ResidualInsertion(layer: "0"), inputShape: [6]),
    PreservationCase(name: "residual insertion after maxout", model: { g in
        Sequential([try Maxout(inputSize: 6, units: 4, pieces: 2, dtype: .float64, using: &g), try dense(4, 3, &g)])
    }, transform: ResidualInsertion(layer: "0"), inputShape: [6]),
    PreservationCase(name: "batchnorm insertion after relu", model: { g in Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)]) },
                     transform: BatchNormInsertion(layer: "1"), inputShape: [6]),
    PreservationCase(name: "batchnorm insertion after maxout", model: { g in
        Sequential([try Maxout(inputSize: 6, units: 4, pieces: 2, dtype: .float64, using: &g), try dense(4, 3, &g)])
    }, transform: BatchNormInsertion(layer: "0"), inputShape: [6]),
    PreservationCase(name: "net2deeper maxout with batchnorm", model: { g in
        Sequential([try Maxout(inputSize: 6, units: 4, pieces: 3, dtype: .float64, using: &g), try dense(4, 3, &g)])
    }, transform: Net2DeeperNet(layer: "0", batchNorm: true), inputShape: [6]),
    PreservationCase(name: "batchnorm insertion", model: { g in Sequential([try dense(6, 5, &g), Tanh(), try dense(5, 3, &g)]) },
                     transform: BatchNormInsertion(layer: "0"), inputShape: [6]),
] + convolutionPreservationCases

@Suite("Transforms preserve the function")
struct FunctionPreservationTests {
    @Test("max |f_new - f_old| <= 1e-10 max(1, |f_old|) in Float64, inference mode", arguments: preservationCases)
    func preserves(_ preservation: PreservationCase) throws {
        var g = RandomGenerator(seed: 41)
        let model = try preservation.model(&g)
        let before = model.tensors
        let x = Tensor.randomNormal([16] + preservation.inputShape, dtype: .float64, using: &g)
        var context = TransformContext(generator: RandomGenerator(seed: 42), probe: x, factory: BuiltinLayerFactory())
        let (grown, report) = try preservation.transform.apply(to: model, context: &context)
        let old = try model(x)
        let new = try grown(x)
        let scale = max(1, old.doubles.map { Swift.abs($0) }.max() ?? 0)
        let deviation = TestSupport.maxAbsDifference(old.doubles, new.doubles)
        #expect(deviation <= 1e-10 * scale, "\(preservation.name): \(deviation)")
        #expect(report.maxDeviation.map { $0 <= 1e-10 * scale } == true)
        #expect(grown.parameterCount > model.parameterCount)
        // The input model is untouched.
        for (path, tensor) in model.tensors { #expect(before[path]?.doubles == tensor.doubles, "\(path) changed") }
        // Every surviving tensor is found at its new path with its old values (unless resized).
        for (old, new) in report.pathMap where !report.resized.contains(new) {
            #expect(grown.tensors[new]?.doubles == before[old]?.doubles, "\(old) -> \(new)")
        }
    }

    @Test func baselinesChangeTheFunction() throws {
        var g = RandomGenerator(seed: 1)
        let model = Sequential([try dense(6, 5, &g), ReLU(), try dense(5, 3, &g)])
        let x = Tensor.randomNormal([16, 6], dtype: .float64, using: &g)
        for transform: any ModelTransform in [RandomPadWidening(layer: "0", units: 9), RandomDeeper(layer: "0")] {
            var context = TransformContext(generator: RandomGenerator(seed: 2), probe: x, factory: BuiltinLayerFactory())
            let (_, report) = try transform.apply(to: model, context: &context)
            #expect((report.maxDeviation ?? 0) > 1e-3, "\(transform.name)")
        }
    }

    @Test func refusalsSayWhy() throws {
        var g = RandomGenerator(seed: 3)
        let model = Sequential([try dense(6, 5, &g), Tanh(), try dense(5, 3, &g), Softmax()])
        var context = TransformContext(generator: RandomGenerator(seed: 4), factory: BuiltinLayerFactory())
        func message(_ transform: any ModelTransform) -> String {
            do {
                _ = try transform.apply(to: model, context: &context)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(Net2WiderNet(layer: "2", units: 6)).contains("cannot widen layer 2"))
        #expect(message(Net2DeeperNet(layer: "0")).contains("Tanh"))
        #expect(message(Net2DeeperNet(layer: "0")).contains("force"))
        #expect(message(Net2DeeperNet(layer: "0", force: true)) == "accepted")
        #expect(message(Net2WiderNet(layer: "7", units: 9)).contains("no layer at path \"7\""))
        #expect(message(Net2WiderNet(layer: "0", units: 4)).contains("must be larger"))
        #expect(message(Net2WiderNet(layer: "1", units: 9)).contains("cannot widen its outputs"))
    }
}
