import Saddle
import SaddleTestSupport
import Testing

/// Experiment 6 of EXPERIMENTS.md: a deep program initialized to no-ops. Thirty Dense layers
/// of width 32 on digits, with PyTorch's default initialization (uniform, bound 1/sqrt(fan_in)),
/// either stacked plainly or as residual blocks x + W2 relu(W1 x) whose W2 starts at zero.
@Suite("Residual nets on digits")
struct ResidualExperimentTests {
    static let width = 32

    func plain(seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        var layers: [any Layer] = [try Dense(inputSize: 64, units: Self.width, dtype: .float64, using: &g), ReLU()]
        for _ in 0..<28 { layers += [try Dense(inputSize: Self.width, units: Self.width, dtype: .float64, using: &g), ReLU()] }
        layers.append(try Dense(inputSize: Self.width, units: 10, dtype: .float64, using: &g))
        return Sequential(layers)
    }

    func residual(seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        var layers: [any Layer] = [try Dense(inputSize: 64, units: Self.width, dtype: .float64, using: &g), ReLU()]
        for _ in 0..<14 {
            let inner = try Dense(inputSize: Self.width, units: Self.width, dtype: .float64, using: &g)
            let last = try Dense(inputSize: Self.width, units: Self.width, dtype: .float64, using: &g).zeroLayer()
            layers.append(Residual(Sequential([inner, ReLU(), last])))
        }
        layers.append(try Dense(inputSize: Self.width, units: 10, dtype: .float64, using: &g))
        return Sequential(layers)
    }

    @Test("the plain 30-layer net barely trains; the residual one trains like a shallow net")
    func deepPlainAgainstResidual() throws {
        let (train, validation) = try digitsFloat64()
        func accuracy(_ model: any Layer, seed: UInt64) throws -> (losses: [Double], accuracy: Double) {
            let (trainer, losses) = try trainRecordingLoss(model, on: train, epochs: 10, learningRate: 0.01, seed: seed)
            return (losses, try #require(try trainer.evaluate(validation).accuracy))
        }
        let plainRun = try accuracy(try plain(seed: 1), seed: 1)
        let residualRun = try accuracy(try residual(seed: 1), seed: 1)
        let shallowRun = try accuracy(try reluMLP(hidden: [Self.width], seed: 1), seed: 1)
        print("30 layers plain: loss \(plainRun.losses) accuracy \(plainRun.accuracy)")
        print("30 layers residual: loss \(residualRun.losses) accuracy \(residualRun.accuracy)")
        print("shallow: loss \(shallowRun.losses) accuracy \(shallowRun.accuracy)")
        #expect(plainRun.losses.last! > 0.5 * plainRun.losses.first!, "the plain net trained: \(plainRun.losses)")
        #expect(plainRun.accuracy < 0.5)
        #expect(residualRun.accuracy >= 0.93)
        #expect(residualRun.accuracy >= shallowRun.accuracy - 0.02)
    }

    @Test("residual insertion into a trained shallow net preserves its function on digits")
    func insertionIntoATrainedNet() throws {
        let (train, validation) = try digitsFloat64()
        let trainer = try trainRecordingLoss(try reluMLP(hidden: [Self.width], seed: 2), on: train, epochs: 5, learningRate: 0.05, seed: 2).trainer
        let teacher = try trainer.currentModel()
        var model: any Layer = teacher
        for block in 0..<3 {
            model = try grow(model, ResidualInsertion(layer: "0"), probe: try train.features.rows(0..<256), seed: UInt64(block)).model
        }
        let x = validation.features
        let old = try teacher(x).doubles, new = try model(x).doubles
        let scale = max(1, old.map { Swift.abs($0) }.max() ?? 0)
        #expect(TestSupport.maxAbsDifference(old, new) <= 1e-10 * scale)
        #expect(model.tensors.paths.contains("4.branch.2.weight"), "\(model.tensors.paths)")
        #expect(model.tensors.paths.contains("5.weight"))
    }
}
