import Saddle
import SaddleTestSupport
import Testing

/// A layer under test with an input drawn for it (Float64, away from kinks and ties).
struct LayerCase: Sendable, CustomTestStringConvertible {
    let name: String
    let mode: ForwardMode
    let make: @Sendable (inout RandomGenerator) throws -> (any Layer, Tensor)
    var testDescription: String { "\(name) (\(mode))" }
}

let layerCases: [LayerCase] = [
    LayerCase(name: "dense", mode: .training) { g in
        (try Dense(inputSize: 4, units: 3, dtype: .float64, using: &g), .randomNormal([5, 4], dtype: .float64, using: &g))
    },
    LayerCase(name: "factored linear depth 3", mode: .training) { g in
        (try FactoredLinear(inputSize: 4, units: 3, rank: 2, depth: 3, useBias: true, dtype: .float64, using: &g),
         .randomNormal([5, 4], dtype: .float64, using: &g))
    },
    LayerCase(name: "maxout", mode: .training) { g in
        (try Maxout(inputSize: 4, units: 3, pieces: 3, dtype: .float64, using: &g), .randomNormal([5, 4], dtype: .float64, using: &g))
    },
    LayerCase(name: "batchnorm", mode: .training) { g in
        let bn = try BatchNorm(featureCount: 3, dtype: .float64)
        let moved = try bn.replacing(["weight": .randomNormal([3], dtype: .float64, using: &g), "bias": .randomNormal([3], dtype: .float64, using: &g)])
        return (moved, .randomNormal([6, 3], dtype: .float64, using: &g))
    },
    LayerCase(name: "batchnorm", mode: .inference) { g in
        let bn = try BatchNorm(featureCount: 3, dtype: .float64)
        let moved = try bn.replacing([
            "weight": .randomNormal([3], dtype: .float64, using: &g), "bias": .randomNormal([3], dtype: .float64, using: &g),
            "running_mean": .randomNormal([3], dtype: .float64, using: &g),
            "running_var": .randomUniform([3], in: 0.5...2, dtype: .float64, using: &g),
        ])
        return (moved, .randomNormal([6, 3], dtype: .float64, using: &g))
    },
    LayerCase(name: "lstm sequence", mode: .training) { g in
        (try LSTM(inputSize: 3, hiddenSize: 4, returnsSequence: true, dtype: .float64, using: &g),
         .randomNormal([2, 4, 3], dtype: .float64, using: &g))
    },
    LayerCase(name: "lstm last state", mode: .training) { g in
        (try LSTM(inputSize: 2, hiddenSize: 3, dtype: .float64, using: &g), .randomNormal([3, 5, 2], dtype: .float64, using: &g))
    },
    LayerCase(name: "dropout", mode: .training) { g in
        (try Dropout(rate: 0.3), .randomNormal([4, 5], dtype: .float64, using: &g))
    },
    LayerCase(name: "dropout", mode: .inference) { g in
        (try Dropout(rate: 0.3), .randomNormal([4, 5], dtype: .float64, using: &g))
    },
    LayerCase(name: "residual of dense-tanh", mode: .training) { g in
        let branch = try Sequential {
            try Dense(inputSize: 4, units: 4, dtype: .float64, using: &g)
            Tanh()
        }
        return (Residual(branch), .randomNormal([3, 4], dtype: .float64, using: &g))
    },
    LayerCase(name: "flatten then dense", mode: .training) { g in
        let model = try Sequential {
            Flatten()
            try Dense(inputSize: 6, units: 2, dtype: .float64, using: &g)
        }
        return (model, .randomNormal([3, 2, 3], dtype: .float64, using: &g))
    },
    LayerCase(name: "identity", mode: .training) { g in (Identity(), .randomNormal([2, 3], dtype: .float64, using: &g)) },
    LayerCase(name: "relu", mode: .training) { g in (ReLU(), .randomUniform([3, 4], in: 0.2...1, dtype: .float64, using: &g) * -1 + 0.6) },
    LayerCase(name: "leaky relu", mode: .training) { g in
        (try LeakyReLU(slope: 0.2), .randomUniform([3, 4], in: 0.2...1, dtype: .float64, using: &g) * -1 + 0.6)
    },
    LayerCase(name: "sigmoid", mode: .training) { g in (Sigmoid(), .randomNormal([3, 4], dtype: .float64, using: &g)) },
    LayerCase(name: "tanh", mode: .training) { g in (Tanh(), .randomNormal([3, 4], dtype: .float64, using: &g)) },
    LayerCase(name: "softmax", mode: .training) { g in (Softmax(), .randomNormal([3, 4], dtype: .float64, using: &g)) },
]

@Suite("Gradients of every layer")
struct LayerGradientTests {
    @Test("input and every parameter path against central differences", arguments: layerCases)
    func gradients(_ layerCase: LayerCase) throws {
        var g = RandomGenerator(seed: 21)
        let (layer, input) = try layerCase.make(&g)
        let reports = try GradientCheck().checkLayer(layer, input: input, mode: layerCase.mode)
        #expect(reports.count == 1 + layer.parameters.count)
        for report in reports { #expect(report.passed, "\(layerCase.name): \(report)") }
    }

    @Test("exact Hessian-vector products through the layer", arguments: layerCases)
    func hessianVectorProducts(_ layerCase: LayerCase) throws {
        var g = RandomGenerator(seed: 22)
        let (layer, input) = try layerCase.make(&g)
        let paths = layer.parameters.paths
        let points = [input] + layer.parameters.tensors
        let direction = points.map { Tensor.randomNormal($0.shape, dtype: .float64, using: &g) }
        var probe = RandomGenerator(seed: 23)
        let weights = try layer(input).shape
        let r = Tensor.randomNormal(weights, dtype: .float64, using: &probe)
        let reports = try GradientCheck().checkHessianVectorProduct(at: points, along: direction) { tensors in
            let replaced = try layer.replacing(NamedTensors(zip(paths, tensors.dropFirst())))
            var context = ForwardContext(mode: layerCase.mode, random: RandomGenerator(seed: 24))
            let out = try replaced(tensors[0], context: &context)
            return try (out * r).sum() + (out.squared() * r).sum() * 0.5
        }
        for report in reports { #expect(report.passed, "\(layerCase.name): \(report)") }
    }
}

/// `SupervisedObjective.inputGradient` against central differences of the loss in each input
/// element, through a conv net with BatchNorm in training mode, without touching the model.
@Test func inputGradientsMatchCentralDifferences() throws {
    var g = RandomGenerator(seed: 31)
    let model = Sequential([
        try Conv2D(inputChannels: 1, outputChannels: 2, kernel: 2, dtype: .float64, using: &g), try BatchNorm(featureCount: 2, dtype: .float64),
        Tanh(), Flatten(), try Dense(inputSize: 8, units: 3, dtype: .float64, using: &g),
    ])
    let input = Tensor.randomNormal([2, 1, 3, 3], dtype: .float64, using: &g)
    let target = try Tensor(shape: [2], scalars: [0.0, 2], dtype: .float64)
    let objective = SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: input, target: target)
    let before = model.tensors.tensors.map(\.doubles)
    let (value, gradient) = try objective.inputGradient()
    #expect(gradient.shape == input.shape)
    let h = 1e-6
    var worst = 0.0
    for i in 0..<input.count {
        func loss(_ shift: Double) throws -> Double {
            var x = input.doubles
            x[i] += shift
            var shifted = objective
            shifted.input = try Tensor(shape: input.shape, scalars: x, dtype: .float64)
            return try shifted.value(at: model.parameters)
        }
        let numeric = (try loss(h) - loss(-h)) / (2 * h)
        worst = Swift.max(worst, Swift.abs(numeric - gradient.doubles[i]))
        #expect(!gradient.doubles[i].isNaN)
    }
    #expect(worst < 1e-8, "max |numeric - exact| = \(worst)")
    #expect(value == (try objective.value(at: model.parameters)))
    #expect(model.tensors.tensors.map(\.doubles) == before)
}

@Suite("Full Hessians through every layer")
struct LayerHessianTests {
    @Test("forward-over-reverse equals reverse-over-reverse", arguments: layerCases)
    func fullHessian(_ layerCase: LayerCase) throws {
        var g = RandomGenerator(seed: 31)
        let (layer, input) = try layerCase.make(&g)
        let parameters = layer.parameters
        var probe = RandomGenerator(seed: 32)
        let r = Tensor.randomNormal(try layer(input).shape, dtype: .float64, using: &probe)
        // The Hessian in the parameters; for a layer without any, in its input.
        let inParameters = parameters.scalarCount > 0
        let f = { (theta: Tensor) throws -> Tensor in
            let model = inParameters ? try layer.replacing(try parameters.unflattening(theta)) : layer
            var context = ForwardContext(mode: layerCase.mode, random: RandomGenerator(seed: 33))
            let out = try model(inParameters ? input : theta.reshaped(to: input.shape), context: &context)
            return try (out * r).sum() + (out.squared() * r).sum() * 0.5
        }
        let theta = inParameters ? try parameters.flattened() : try input.reshaped(to: [input.count])
        let forward = try hessian(at: theta, of: f)
        let reverse = try hessianFromProducts(at: theta, of: f)
        let scale = max(1, reverse.doubles.map { Swift.abs($0) }.max() ?? 0)
        #expect(TestSupport.maxAbsDifference(forward.doubles, reverse.doubles) <= 1e-11 * scale, "\(layerCase.testDescription)")
    }
}
