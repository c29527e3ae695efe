import SaddleCore
import Testing

/// x^3 as a user-defined operation, through the same public mechanism the built-ins use.
func cube(_ x: Tensor, secondOrder: SecondOrderRule = .differentiablePullback, wrongPullback: Bool = false) throws -> Tensor {
    let value = try GradientRecording.withoutRecording { try x.detached * x.detached * x.detached }
    return Tensor.record("cube", inputs: [x], output: value, secondOrder: secondOrder) { c in
        if secondOrder == .none {
            // A raw pullback: values only.
            let xv = c.inputs[0].detached
            return [try c.cotangent.detached * xv.squared() * (wrongPullback ? 2 : 3)]
        }
        return [try c.cotangent * c.inputs[0].squared() * (wrongPullback ? 2 : 3)]
    }
}

@Suite("Custom differentiable operations")
struct CustomOperationTests {
    let x = try! Tensor(shape: [4], scalars: [0.5, -1.2, 2.0, 0.3])

    @Test func gradientAndHessianOfCustomOperation() throws {
        let grad = try GradientCheck().checkGradient(at: [x]) { try cube($0[0]).sum() }
        #expect(grad.allSatisfy { $0.passed })
        let v = try Tensor(shape: [4], scalars: [1.0, 2, -1, 0.5])
        let hvp = try hessianVectorProduct(at: [x], along: [v]) { try cube($0[0]).sum() }[0]
        // d^2/dx^2 sum(x^3) = diag(6x).
        let expected = zip(x.doubles, v.doubles).map { 6 * $0 * $1 }
        for (a, b) in zip(hvp.doubles, expected) { #expect(Swift.abs(a - b) <= 1e-12 * Swift.max(1, Swift.abs(b))) }
    }

    @Test func wrongPullbackIsCaughtByTheGradientCheck() throws {
        let reports = try GradientCheck().checkGradient(at: [x]) { try cube($0[0], wrongPullback: true).sum() }
        #expect(!reports[0].passed)
        #expect(reports[0].maxRelativeError > 0.3)
    }

    @Test func firstOrderOnlyOperationRefusesHessianVectorProducts() throws {
        let grad = try GradientCheck().checkGradient(at: [x]) { try cube($0[0], secondOrder: .none).sum() }
        #expect(grad.allSatisfy { $0.passed })
        #expect(throws: AutodiffError.noSecondOrderRule(op: "cube")) {
            _ = try hessianVectorProduct(at: [x], along: [x]) { try cube($0[0], secondOrder: .none).sum() }
        }
    }
}
