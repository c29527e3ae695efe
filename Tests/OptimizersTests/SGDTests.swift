import Saddle
import Testing

/// f(w) = 1/2 sum(a * w^2): gradient a * w, minimum at 0.
struct DiagonalQuadratic: Objective {
    var scales: Tensor
    var parameters: NamedTensors

    func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        ObjectiveOutput(loss: try (parameters["w"]!.squared() * scales).sum() * 0.5)
    }
}

@Suite("SGD")
struct SGDTests {
    let objective = DiagonalQuadratic(
        scales: Tensor([1.0, 4.0]), parameters: ["w": Tensor([2.0, -1.0])])

    @Test func plainStepIsClosedForm() throws {
        var sgd = try SGD(learningRate: 0.1)
        var p = objective.parameters
        let report = try sgd.step(&p, objective: objective)
        #expect(report.loss == 0.5 * (4 + 4))
        // w - lr * a * w.
        let expected: [Double] = [2 - 0.1 * 2, -1 + 0.1 * 4]
        #expect(p["w"]!.doubles == expected)
    }

    @Test func momentumNesterovAndWeightDecayFollowPyTorch() throws {
        var p = objective.parameters
        var sgd = try SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.5)
        _ = try sgd.step(&p, objective: objective)
        // g = a w + wd w = [3, -4.5]; b = g; w = w - 0.1 b.
        let afterOne: [Double] = [2 - 0.3, -1 + 0.45]
        #expect(zip(p["w"]!.doubles, afterOne).allSatisfy { Swift.abs($0 - $1) < 1e-15 })
        #expect(sgd.state["w.momentum_buffer"]!.doubles == [3, -4.5])
        _ = try sgd.step(&p, objective: objective)
        // g2 = 1.5 * w1 for the first, 4.5 * w1 for the second; b2 = 0.9 b1 + g2.
        let b2: [Double] = [0.9 * 3 + 1.5 * 1.7, 0.9 * -4.5 + 4.5 * -0.55]
        #expect(zip(sgd.state["w.momentum_buffer"]!.doubles, b2).allSatisfy { Swift.abs($0 - $1) < 1e-14 })

        var q = objective.parameters
        var nesterov = try SGD(learningRate: 0.1, momentum: 0.9, nesterov: true)
        _ = try nesterov.step(&q, objective: objective)
        // First step: b = g, d = g + 0.9 b = 1.9 g.
        let nesterovStep: [Double] = [2 - 0.1 * 1.9 * 2, -1 + 0.1 * 1.9 * 4]
        #expect(q["w"]!.doubles == nesterovStep)
    }

    @Test func convergesOnAQuadratic() throws {
        var p = objective.parameters
        var sgd = try SGD(learningRate: 0.1, momentum: 0.5)
        for _ in 0..<200 { _ = try sgd.step(&p, objective: objective) }
        #expect(p["w"]!.doubles.allSatisfy { Swift.abs($0) < 1e-8 })
    }

    @Test func rejectsBadHyperparameters() {
        #expect(throws: OptimizerError.self) { try SGD(learningRate: -1) }
        #expect(throws: OptimizerError.self) { try SGD(learningRate: .nan) }
        #expect(throws: OptimizerError.self) { try SGD(learningRate: 0.1, nesterov: true) }
    }
}
