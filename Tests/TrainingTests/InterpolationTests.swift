import Saddle
import SaddleTestSupport
import Testing

/// What the linear-interpolation experiment relies on; the experiment's claims are tested in
/// SaddleExperimentsTests.
@Suite("Linear interpolation")
struct InterpolationTests {
    @Test("running statistics are recomputed for the weights in between")
    func batchNormStatisticsRecomputed() throws {
        var g = RandomGenerator(seed: 4)
        let (train, _) = try standardizedDigits(seed: 0)
        let model = try Sequential {
            try Dense(inputSize: 64, units: 16, using: &g)
            try BatchNorm(featureCount: 16)
            ReLU()
            try Dense(inputSize: 16, units: 10, using: &g)
        }
        // One batch: the statistics become that batch's mean and unbiased variance.
        let x = try train.features.rows(0..<600)
        let calibrated = try model.recalibratingStatistics(on: [x])
        let h = try model.parameters.isEmpty ? x : Dense(weight: try #require(model.tensors["0.weight"]), bias: model.tensors["0.bias"])(x)
        let mean = try h.mean(alongAxis: 0)
        let unbiased = try (h - mean).squared().sum(alongAxis: 0) / 599
        #expect(TestSupport.maxAbsDifference(try #require(calibrated.tensors["1.running_mean"]).doubles, mean.doubles) <= 1e-5)
        #expect(TestSupport.maxAbsDifference(try #require(calibrated.tensors["1.running_var"]).doubles, unbiased.doubles) <= 1e-4)
        // Several batches: the size-weighted average of their statistics.
        let parts = [try x.rows(0..<200), try x.rows(200..<600)]
        let averaged = try model.recalibratingStatistics(on: parts)
        let partMeans = try parts.map { try Dense(weight: try #require(model.tensors["0.weight"]), bias: model.tensors["0.bias"])($0).mean(alongAxis: 0) }
        let expected = try partMeans[0] * (1.0 / 3) + partMeans[1] * (2.0 / 3)
        #expect(TestSupport.maxAbsDifference(try #require(averaged.tensors["1.running_mean"]).doubles, expected.doubles) <= 1e-5)
        // The model itself keeps its statistics.
        #expect(model.tensors["1.running_mean"]?.doubles == [Double](repeating: 0, count: 16))
        // An interpolation (which recalibrates at every point) leaves the model alone too.
        let before = model.tensors
        var endGenerator = RandomGenerator(seed: 5)
        let end = model.parameters.mapTensors { Tensor.randomNormal($0.shape, dtype: $0.dtype, using: &endGenerator) }
        _ = try LinearInterpolation.evaluate(
            model: model, from: model.parameters, to: end, alphas: [0, 0.5, 1], loss: SoftmaxCrossEntropy(), training: try train.subset(Array(0..<300)))
        #expect(model.tensors.paths == before.paths)
        for (path, tensor) in model.tensors { #expect(before[path]?.floats == tensor.floats, "the interpolation changed \(path)") }
    }

    @Test("coordinates against a line: on it, beside it, beyond its end")
    func coordinates() throws {
        let start: NamedTensors = ["w": Tensor([0.0, 0.0])], end: NamedTensors = ["w": Tensor([2.0, 0.0])]
        let points: [NamedTensors] = [["w": Tensor([1.0, 0.0])], ["w": Tensor([1.0, 3.0])], ["w": Tensor([3.0, -4.0])]]
        let placed = try LinearInterpolation.coordinates(of: points, from: start, to: end)
        #expect(placed.map(\.alpha) == [0.5, 0.5, 1.5])
        #expect(placed.map(\.offLine) == [0, 3, 4])
        #expect(throws: TensorError.self) { try LinearInterpolation.coordinates(of: points, from: start, to: start) }
        #expect(LinearInterpolation.alphas(from: -0.5, to: 1.5, count: 5) == [-0.5, 0, 0.5, 1, 1.5])
    }
}
