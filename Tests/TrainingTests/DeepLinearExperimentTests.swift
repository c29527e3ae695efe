import Saddle
import SaddleTestSupport
import Testing

/// Experiment 4 of EXPERIMENTS.md, first part: deep linear networks W = F_0 F_1 ... F_{d-1}
/// (FactoredLinear, rank 64) on digits with plain SGD (learning rate 0.01, batch 32), from
/// orthogonal factors or small Gaussian ones (standard deviation 0.02), after Saxe, McClelland
/// and Ganguli 2013.
@Suite("Deep linear networks")
struct DeepLinearExperimentTests {
    /// The first epoch (1-based) whose training loss is below `target`, or nil within `limit`.
    func epochsToLoss(depth: Int, initializer: WeightInitializer, seed: UInt64, target: Double = 0.5, limit: Int = 20) throws -> (Int?, [Double]) {
        var g = RandomGenerator(seed: seed)
        let (train, _) = try standardizedDigits(seed: 0)
        let model = Sequential([try FactoredLinear(inputSize: 64, units: 10, rank: 64, depth: depth, initializer: initializer, using: &g)])
        var options = try TrainingOptions(epochs: limit, batchSize: 32, seed: seed)
        options.progress = .silent
        var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: 0.01), options: options)
        let losses = try trainer.fit(training: train).map(\.trainingLoss)
        return (losses.firstIndex { $0 < target }.map { $0 + 1 }, losses)
    }

    @Test("orthogonal initialization learns in a depth-independent number of epochs; small Gaussian slows with depth", arguments: [UInt64(1), 2, 3])
    func depthSweep(seed: UInt64) throws {
        var orthogonal: [Int] = []
        for depth in [2, 4, 8] {
            let (epochs, losses) = try epochsToLoss(depth: depth, initializer: .orthogonal(gain: 1), seed: seed)
            let reached = try #require(epochs, "orthogonal depth \(depth), seed \(seed): \(losses)")
            orthogonal.append(reached)
        }
        #expect(orthogonal.max()! <= 6 && orthogonal.max()! <= 3 * orthogonal.min()!, "orthogonal, seed \(seed): epochs \(orthogonal)")
        let (shallow, shallowLosses) = try epochsToLoss(depth: 2, initializer: .normal(standardDeviation: 0.02), seed: seed)
        #expect((shallow ?? Int.max) >= 2 * orthogonal[0], "small, depth 2, seed \(seed): \(shallowLosses)")
        for depth in [4, 8] {
            let (epochs, losses) = try epochsToLoss(depth: depth, initializer: .normal(standardDeviation: 0.02), seed: seed)
            #expect(epochs == nil, "small, depth \(depth), seed \(seed) learned: \(losses)")
            #expect(losses.last! > 2.2, "small, depth \(depth), seed \(seed) left the plateau: \(losses)")
        }
    }
}
