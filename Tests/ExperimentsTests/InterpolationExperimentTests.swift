import Saddle
import SaddleExperiments
import SaddleTestSupport
import Testing

/// Experiment 3 of EXPERIMENTS.md: linear interpolation (Goodfellow, Vinyals and Saxe 2015) on
/// digits, 3 seeds per claim.
@Suite("Linear interpolation on digits")
struct InterpolationExperimentTests {
    func roughlyMonotone(_ losses: [Double]) -> Bool {
        zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 + 0.01 * losses[0] }
    }

    @Test("from initialization to solution the training cost falls without a barrier", arguments: ["relu", "maxout", "lstm"], [UInt64(1), 2, 3])
    func noBarrierFromInitialization(kind: String, seed: UInt64) throws {
        let (_, _, points) = try Experiments.interpolationFromInitialization(kind, seed: seed)
        let losses = points.map(\.trainingLoss)
        #expect(roughlyMonotone(losses), "\(kind) seed \(seed): \(losses)")
        #expect(losses.last! < 0.25 * losses.first!)
        #expect(try #require(points.last?.validationAccuracy) >= 0.9)
    }

    /// W = F_0 F_1 F_2 F_3, each factor drawn with standard deviation 0.04: the model starts
    /// next to the saddle at the origin.
    @Test("a deep linear model from a small initialization is flat near the start (the saddle at the origin)", arguments: [UInt64(1), 2, 3])
    func deepLinearPlateau(seed: UInt64) throws {
        let losses = try Experiments.deepLinearInterpolation(seed: seed)
        // Within 2% at alpha = 0.1 and 10% at 0.2, where the ReLU MLP's cost has already fallen
        // by about 20% and 40%.
        #expect(Swift.abs(losses[1] - losses[0]) <= 0.02 * losses[0], "not flat near alpha = 0: \(losses)")
        #expect(Swift.abs(losses[2] - losses[0]) <= 0.10 * losses[0], "not flat near alpha = 0: \(losses)")
        #expect(losses[10] < 0.3 * losses[0])
    }

    @Test("between two independently trained solutions there is a barrier", arguments: [UInt64(1), 2, 3])
    func barrierBetweenSolutions(seed: UInt64) throws {
        let losses = try Experiments.interpolationBetweenSolutions(seed: seed)
        #expect(losses[1..<10].max()! > 3 * max(losses[0], losses[10]), "no barrier: \(losses)")
    }

    @Test("training moves along the line steadily and strays from it in between", arguments: [UInt64(1), 2, 3])
    func trajectoryAgainstTheLine(seed: UInt64) throws {
        let (path, length) = try Experiments.trainingTrajectory(seed: seed)
        let summary = "seed \(seed): \(path.map { "(\($0.alpha), \($0.offLine))" })"
        #expect(Swift.abs(path[0].alpha) < 1e-9 && path[0].offLine < 1e-6 && Swift.abs(path[10].alpha - 1) < 1e-9 && path[10].offLine < 1e-4, "\(summary)")
        for (a, b) in zip(path, path.dropFirst()) { #expect(b.alpha > a.alpha, "progress along the line goes back: \(summary)") }
        #expect(path[1..<10].map(\.offLine).max()! > 0.05 * length, "training never left the line: \(summary)")
    }

    @Test("an adversarially trained MLP shows no barrier from its initialization either", arguments: [UInt64(1), 2, 3])
    func adversarialTraining(seed: UInt64) throws {
        let (losses, robust, plain) = try Experiments.adversarialInterpolation(seed: seed)
        // The training did what it is for: more accurate on its own adversarial examples.
        #expect(robust > plain + 0.1, "adversarial accuracy: robust \(robust), plain \(plain)")
        #expect(roughlyMonotone(losses), "seed \(seed): \(losses)")
        #expect(losses.last! < 0.25 * losses.first!)
    }
}
