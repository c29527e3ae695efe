import Foundation
import Saddle
import Testing

@Suite("Adam, AdamW, clipping and schedules")
struct AdamTests {
    let objective = DiagonalQuadratic(scales: Tensor([1.0, 4.0]), parameters: ["w": Tensor([2.0, -1.0])])

    @Test func adamFirstStepIsClosedForm() throws {
        var adam = try Adam(learningRate: 0.1)
        var p = objective.parameters
        _ = try adam.step(&p, objective: objective)
        // m_hat = g and v_hat = g^2 on the first step: p - lr g / (|g| + eps).
        let g = [2.0, -4.0]
        let expected = zip([2.0, -1.0], g).map { $0 - 0.1 * $1 / (Swift.abs($1) + 1e-8) }
        #expect(zip(p["w"]!.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
        #expect(adam.state.paths == ["w.step", "w.exp_avg", "w.exp_avg_sq"])
        #expect(adam.state["w.step"]!.doubles == [1])
    }

    @Test func adamWDecaysWeightsBeforeTheAdamStep() throws {
        var adamW = try Adam.adamW(learningRate: 0.1, weightDecay: 0.5)
        var p = objective.parameters
        _ = try adamW.step(&p, objective: objective)
        // p (1 - lr wd) - lr g / (|g| + eps), with g taken at the original p.
        let expected = zip([2.0, -1.0], [2.0, -4.0]).map { $0 * 0.95 - 0.1 * $1 / (Swift.abs($1) + 1e-8) }
        #expect(zip(p["w"]!.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
        var adam = try Adam(learningRate: 0.1, weightDecay: 0.5)
        var q = objective.parameters
        _ = try adam.step(&q, objective: objective)
        // L2 penalty folded into g: g' = g + wd p = [3, -4.5], still a unit step per coordinate.
        let coupled = zip([2.0, -1.0], [3.0, -4.5]).map { $0 - 0.1 * $1 / (Swift.abs($1) + 1e-8) }
        #expect(zip(q["w"]!.doubles, coupled).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
    }

    @Test func adamConverges() throws {
        var adam = try Adam(learningRate: 0.05)
        var p = objective.parameters
        for _ in 0..<2000 { _ = try adam.step(&p, objective: objective) }
        #expect(p["w"]!.doubles.allSatisfy { Swift.abs($0) < 1e-3 })
        var adamW = try Adam.adamW(learningRate: 0.05, weightDecay: 0.01)
        var q = objective.parameters
        for _ in 0..<2000 { _ = try adamW.step(&q, objective: objective) }
        #expect(q["w"]!.doubles.allSatisfy { Swift.abs($0) < 1e-3 })
    }

    @Test func gradientNormClipping() throws {
        var sgd = try SGD(learningRate: 1, maxGradientNorm: 1)
        var p = objective.parameters
        let report = try sgd.step(&p, objective: objective)
        let norm = 20.0.squareRoot()
        #expect(Swift.abs(report.gradientNorm! - norm) < 1e-15)
        let scale = 1 / (norm + 1e-6)
        let expected = [2 - 2 * scale, -1 + 4 * scale]
        #expect(zip(p["w"]!.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
        #expect(throws: OptimizerError.self) { try SGD(learningRate: 1, maxGradientNorm: 0) }
        #expect(throws: OptimizerError.self) { try Adam(beta1: 1) }
    }

    @Test func schedulesFollowTheirFormulas() throws {
        #expect(ConstantSchedule().learningRate(base: 0.3, epoch: 7, step: 99) == 0.3)
        let step = try StepSchedule(stepSize: 3, gamma: 0.5)
        #expect([0, 2, 3, 6].map { step.learningRate(base: 1, epoch: $0, step: 0) } == [1, 1, 0.5, 0.25])
        let cosine = try CosineSchedule(epochs: 30)
        #expect(cosine.learningRate(base: 0.1, epoch: 0, step: 0) == 0.1)
        #expect(Swift.abs(cosine.learningRate(base: 0.1, epoch: 15, step: 0) - 0.05) < 1e-16)
        #expect(Swift.abs(cosine.learningRate(base: 0.1, epoch: 10, step: 0) - 0.1 * (1 + cos(Double.pi / 3)) / 2) < 1e-17)
        #expect(cosine.learningRate(base: 0.1, epoch: 30, step: 0) < 1e-17)
        let warmup = try LinearWarmup(steps: 4, then: cosine)
        #expect(warmup.learningRate(base: 0.1, epoch: 0, step: 0) == 0.025)
        #expect(warmup.learningRate(base: 0.1, epoch: 0, step: 3) == 0.1)
        #expect(warmup.learningRate(base: 0.1, epoch: 15, step: 500) == cosine.learningRate(base: 0.1, epoch: 15, step: 500))
        #expect(throws: OptimizerError.self) { try CosineSchedule(epochs: 0) }
        #expect(throws: OptimizerError.self) { try StepSchedule(stepSize: 0) }
    }
}
