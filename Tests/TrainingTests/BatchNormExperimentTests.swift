import Saddle
import SaddleTestSupport
import Testing

/// Experiment 4 of EXPERIMENTS.md, second part: a sigmoid MLP 64-100-100-100-10 with small
/// Gaussian initialization (standard deviation 0.01), batch 60, plain SGD, with and without
/// BatchNorm before each sigmoid, across learning rates (after Ioffe and Szegedy 2015).
@Suite("BatchNorm on a sigmoid MLP")
struct BatchNormExperimentTests {
    func model(batchNorm: Bool, seed: UInt64) throws -> Sequential {
        var g = RandomGenerator(seed: seed)
        var layers: [any Layer] = []
        var inputs = 64
        for _ in 0..<3 {
            layers.append(try Dense(inputSize: inputs, units: 100, initializer: .normal(standardDeviation: 0.01), using: &g))
            if batchNorm { layers.append(try BatchNorm(featureCount: 100)) }
            layers.append(Sigmoid())
            inputs = 100
        }
        layers.append(try Dense(inputSize: 100, units: 10, initializer: .normal(standardDeviation: 0.01), using: &g))
        return Sequential(layers)
    }

    /// Held-out accuracy after each epoch.
    func accuracies(batchNorm: Bool, learningRate: Double, seed: UInt64, epochs: Int) throws -> [Double] {
        let (train, validation) = try standardizedDigits(seed: 0)
        var options = try TrainingOptions(epochs: epochs, batchSize: 60, seed: seed)
        options.progress = .silent
        var trainer = Trainer(
            model: try model(batchNorm: batchNorm, seed: seed), loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate),
            options: options)
        return try trainer.fit(training: train, validation: validation).compactMap(\.validationAccuracy)
    }

    @Test("BatchNorm trains where the plain sigmoid net is stuck, and sooner", arguments: [UInt64(1), 2, 3])
    func batchNormAcrossLearningRates(seed: UInt64) throws {
        for rate in [0.1, 0.5, 2.0] {
            let plain = try accuracies(batchNorm: false, learningRate: rate, seed: seed, epochs: 10)
            let normalized = try accuracies(batchNorm: true, learningRate: rate, seed: seed, epochs: 10)
            let context = "seed \(seed), lr \(rate): plain \(plain), batchnorm \(normalized)"
            // The plain net's sigmoids saturate from the small start: it stays far from trained.
            #expect(plain.max()! < 0.5, "\(context)")
            #expect(normalized.max()! >= 0.9, "\(context)")
            // BatchNorm reaches the plain net's best accuracy of 10 epochs within 3 (at least 3x fewer steps).
            let reached = try #require(normalized.firstIndex { $0 >= plain.max()! }, "\(context)") + 1
            #expect(reached <= 3, "\(context)")
        }
    }
}
