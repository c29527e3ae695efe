import Saddle
import Testing

@Suite("Dense and Sequential")
struct DenseTests {
    @Test func gradientCheckForInputAndEveryParameter() throws {
        var g = RandomGenerator(seed: 1)
        let layer = try Dense(inputSize: 4, units: 3, dtype: .float64, using: &g)
        let x = Tensor.randomNormal([5, 4], dtype: .float64, using: &g)
        let reports = try GradientCheck().checkLayer(layer, input: x)
        #expect(reports.map(\.name) == ["input", "weight", "bias"])
        for report in reports { #expect(report.passed, "\(report)") }
    }

    @Test func computesXWTransposePlusB() throws {
        let layer = try Dense(
            weight: Tensor(shape: [2, 3], scalars: [1.0, 0, -1, 2, 1, 0]), bias: Tensor([0.5, -0.5]))
        let y = try layer(Tensor(shape: [1, 3], scalars: [1.0, 2, 3]))
        let expected: [Double] = [1 - 3 + 0.5, 2 + 2 - 0.5]
        #expect(y.doubles == expected)
        #expect(layer.units == 2 && layer.inputSize == 3)
    }

    @Test func explicitTensorsAreValidated() throws {
        #expect(throws: ModelError.shapeMismatch(path: "bias", expected: [2], actual: [3])) {
            try Dense(weight: Tensor.zeros([2, 3]), bias: Tensor.zeros([3]))
        }
        var g = RandomGenerator(seed: 0)
        #expect(throws: ModelError.self) { try Dense(inputSize: 0, units: 3, using: &g) }
        let layer = try Dense(inputSize: 3, units: 2, using: &g)
        #expect(throws: ModelError.shapeMismatch(path: "weight", expected: [2, 3], actual: [3, 3])) {
            try layer.replacing(["weight": Tensor.zeros([3, 3])])
        }
    }

    @Test func sequentialNamesPathsAndReplacesByPath() throws {
        var g = RandomGenerator(seed: 2)
        let model = try Sequential {
            try Dense(inputSize: 4, units: 8, using: &g)
            ReLU()
            try Dense(inputSize: 8, units: 2, useBias: false, using: &g)
        }
        #expect(model.parameters.paths == ["0.weight", "0.bias", "2.weight"])
        #expect(model.parameterCount == 4 * 8 + 8 + 16)
        let zeroed = try model.replacing(["2.weight": Tensor.zeros([2, 8])])
        let out = try zeroed(Tensor.randomNormal([3, 4], using: &g))
        #expect(out.floats == Array(repeating: 0, count: 6))
        // The original model is untouched.
        #expect(try model.parameters["2.weight"]!.squared().sum().item() > 0)
    }

    @Test func sequentialGradientCheck() throws {
        var g = RandomGenerator(seed: 3)
        let model = try Sequential {
            try Dense(inputSize: 3, units: 5, dtype: .float64, using: &g)
            Tanh()
            try Dense(inputSize: 5, units: 4, dtype: .float64, using: &g)
            Sigmoid()
            try Dense(inputSize: 4, units: 2, dtype: .float64, using: &g)
            Softmax()
        }
        let reports = try GradientCheck().checkLayer(model, input: Tensor.randomNormal([6, 3], dtype: .float64, using: &g))
        #expect(reports.count == 7)
        for report in reports { #expect(report.passed, "\(report)") }
    }
}
