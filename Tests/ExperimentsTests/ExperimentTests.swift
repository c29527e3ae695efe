import Foundation
import Saddle
import SaddleExperiments
import SaddleTestSupport
import Testing

/// The claims of ../shared/EXPERIMENTS.md, each over 3 seeds, on the numbers the experiments
/// of SaddleExperiments return (the same functions `saddle report` draws).
@Suite("The talk's experiments")
struct ExperimentTests {
    // MARK: 2. Critical points

    @Test("critical points found early have high error and high index; gradient descent ends near a minimum", arguments: [UInt64(1), 2, 3])
    func errorGrowsWithIndex(seed: UInt64) throws {
        let (found, initialGradient, end) = try Experiments.criticalPoints(seed: seed)
        let summary = "seed \(seed): \(found.map { "(loss \($0.loss), index \($0.classification.index), |g| \($0.gradientNorm))" }); GD end \(end.loss), \(end.classification.index)"
        // From the initialization: an exact saddle of high error (the hidden units' symmetric point).
        #expect(found[0].classification.kind == .saddle && found[0].gradientNorm < 1e-8 && found[0].classification.index > 0.2 && found[0].loss > 2, "\(summary)")
        // Every point is near-critical: the gradient norm is below 3% of its value at the
        // initialization (the search stalls along nearly flat directions short of exact zeros).
        for point in found { #expect(point.gradientNorm < 0.03 * initialGradient, "\(summary)") }
        // Error grows with index: a point of clearly higher error never has the lower index.
        for a in found { for b in found where a.loss > b.loss + 0.05 { #expect(a.classification.index >= b.classification.index, "\(summary)") } }
        #expect(end.classification.index < 0.05 && end.loss < 0.5 * found[0].loss, "\(summary)")
    }

    // MARK: 4. Deep linear networks and BatchNorm

    @Test("orthogonal initialization learns in a depth-independent number of epochs; small Gaussian slows with depth", arguments: [UInt64(1), 2, 3])
    func deepLinearDepthSweep(seed: UInt64) throws {
        var orthogonal: [Int] = []
        for depth in [2, 4, 8] {
            let losses = try Experiments.deepLinearTraining(depth: depth, initializer: .orthogonal(gain: 1), seed: seed)
            orthogonal.append(try #require(Experiments.firstEpoch(below: 0.5, in: losses), "orthogonal depth \(depth), seed \(seed): \(losses)"))
        }
        #expect(orthogonal.max()! <= 6 && orthogonal.max()! <= 3 * orthogonal.min()!, "orthogonal, seed \(seed): epochs \(orthogonal)")
        let shallow = try Experiments.deepLinearTraining(depth: 2, initializer: .normal(standardDeviation: 0.02), seed: seed)
        #expect((Experiments.firstEpoch(below: 0.5, in: shallow) ?? Int.max) >= 2 * orthogonal[0], "small, depth 2, seed \(seed): \(shallow)")
        for depth in [4, 8] {
            let losses = try Experiments.deepLinearTraining(depth: depth, initializer: .normal(standardDeviation: 0.02), seed: seed)
            #expect(Experiments.firstEpoch(below: 0.5, in: losses) == nil && losses.last! > 2.2, "small, depth \(depth), seed \(seed): \(losses)")
        }
    }

    @Test("BatchNorm trains where the plain sigmoid net is stuck, sooner, and keeps the sigmoid inputs in place", arguments: [UInt64(1), 2, 3])
    func batchNormAcrossLearningRates(seed: UInt64) throws {
        for rate in [0.1, 0.5, 2.0] {
            let plain = try Experiments.sigmoidTraining(batchNorm: false, learningRate: rate, seed: seed)
            let normalized = try Experiments.sigmoidTraining(batchNorm: true, learningRate: rate, seed: seed)
            let context = "seed \(seed), lr \(rate): plain \(plain), batchnorm \(normalized)"
            #expect(plain.accuracies.max()! < 0.5, "\(context)")
            #expect(normalized.accuracies.max()! >= 0.9, "\(context)")
            // BatchNorm reaches the plain net's best accuracy of 10 epochs within 3.
            let reached = try #require(normalized.accuracies.firstIndex { $0 >= plain.accuracies.max()! }, "\(context)") + 1
            #expect(reached <= 3, "\(context)")
            // The median input of the last sigmoid (epochs 2 to 10) stays put with BatchNorm
            // and drifts without it: by 0.8-1.9 at learning rates 0.5 and 2 against 0.03-0.21.
            let (driftPlain, driftNormalized) = (Experiments.medianDrift(plain.bands), Experiments.medianDrift(normalized.bands))
            #expect(driftNormalized < driftPlain, "\(context)")
            if rate >= 0.5 { #expect(driftPlain > 0.5 && driftPlain > 5 * driftNormalized, "\(context)") }
        }
    }

    // MARK: 5. Net2Net

    @Test("a Net2Wider student starts at the teacher's loss and stays below both baselines", arguments: [UInt64(1), 2, 3])
    func net2Wider(seed: UInt64) throws {
        try checkGrowth(try Experiments.net2Wider(seed: seed))
    }

    @Test("a Net2Deeper student starts at the teacher's loss and stays below the deeper baselines", arguments: [UInt64(1), 2, 3])
    func net2Deeper(seed: UInt64) throws {
        try checkGrowth(try Experiments.net2Deeper(seed: seed))
    }

    func checkGrowth(_ comparison: GrowthComparison) throws {
        #expect(Swift.abs(comparison.student[0] - comparison.teacherLoss) <= 1e-10 * comparison.teacherLoss)
        #expect(comparison.student.count == 11)
        for (name, losses) in comparison.baselines {
            for epoch in 0...10 {
                #expect(comparison.student[epoch] < losses[epoch], "seed \(comparison.seed) epoch \(epoch): student \(comparison.student[epoch]) vs \(name) \(losses[epoch])")
            }
        }
    }

    // MARK: 6. Residual nets

    @Test("the plain 30-layer net barely trains; the residual one trains like a shallow net", arguments: [UInt64(1), 2, 3])
    func deepPlainAgainstResidual(seed: UInt64) throws {
        let runs = try Experiments.residualDepth(seed: seed)
        #expect(runs.plain.losses[10] > 0.5 * runs.plain.losses[0], "the plain net trained: \(runs.plain.losses)")
        #expect(runs.plain.accuracy < 0.5)
        #expect(runs.residual.accuracy >= 0.93, "\(runs.residual)")
        #expect(runs.residual.accuracy >= runs.shallow.accuracy - 0.02, "residual \(runs.residual.accuracy), shallow \(runs.shallow.accuracy)")
    }

    // MARK: The report

    @Test("saddle report writes a page with every claim of the experiments it ran")
    func report() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let page = dir.file("report.html")
        let process = Process()
        process.executableURL = Executables.url("saddle")
        process.arguments = ["report", "--only", "saddles,residual", "--seeds", "1", "--output", page.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("every claim borne out"), "\(text)")
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == 4)
        #expect(html.contains("7 of 7 claims borne out"))
        #expect(!html.contains("nan") && !html.contains("inf\""))
        let bad = Process()
        bad.executableURL = Executables.url("saddle")
        bad.arguments = ["report", "--only", "sadles", "--output", dir.file("bad.html").path]
        bad.standardOutput = Pipe()
        let err = Pipe()
        bad.standardError = err
        try bad.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bad.waitUntilExit()
        #expect(bad.terminationStatus != 0 && message.contains("saddles"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad.html").path))
    }
}
