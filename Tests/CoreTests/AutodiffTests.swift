import SaddleCore
import Testing

@Suite("Autodiff mechanics")
struct AutodiffTests {
    let x = try! Tensor(shape: [2, 2], scalars: [1.0, -2, 3, 0.5])

    @Test func reusedTensorsAccumulateAndUnusedInputsGetZeros() throws {
        let a = x.recorded()
        let b = x.recorded()
        let grads = try gradients(of: (a * a + a).sum(), wrt: [a, b])
        #expect(grads[0].doubles == x.doubles.map { 2 * $0 + 1 })
        #expect(grads[1].doubles == [0, 0, 0, 0])
    }

    @Test func gradientWithRespectToAnIntermediateValue() throws {
        let a = x.recorded()
        let middle = a * 3
        let grads = try gradients(of: (middle.squared()).sum(), wrt: [middle, a])
        #expect(grads[0].doubles == x.doubles.map { 6 * $0 })
        #expect(grads[1].doubles == x.doubles.map { 18 * $0 })
    }

    @Test func constantsAndSuspendedRecordingRecordNothing() throws {
        let constant = try x * x
        #expect(!constant.isRecorded)
        let leaf = x.recorded()
        #expect(try (leaf * x).isRecorded)
        let suspended = try GradientRecording.withoutRecording { try leaf * x }
        #expect(!suspended.isRecorded)
        #expect(throws: AutodiffError.self) { try gradients(of: constant.sum(), wrt: [leaf]) }
        #expect(throws: AutodiffError.notRecorded(what: "input 0 of gradients(of:wrt:)")) {
            try gradients(of: (leaf * 2).sum(), wrt: [x])
        }
    }

    @Test func nonScalarOutputsNeedASeed() throws {
        let leaf = x.recorded()
        #expect(throws: AutodiffError.nonScalarOutput(shape: [2, 2])) { try gradients(of: leaf * 2, wrt: [leaf]) }
        let seeded = try gradients(of: leaf * 2, wrt: [leaf], seed: Tensor.ones([2, 2], dtype: .float64))
        #expect(seeded[0].doubles == [2, 2, 2, 2])
    }

    @Test func nonDifferentiableOperationsSaySo() throws {
        let leaf = x.recorded()
        #expect(throws: AutodiffError.notDifferentiable(op: "argmax")) {
            try gradients(of: leaf.argmax(alongAxis: 1).sum(), wrt: [leaf])
        }
        let mask = leaf .> 0
        #expect(throws: AutodiffError.notDifferentiable(op: "greater")) { try gradients(of: mask, wrt: [leaf], seed: mask) }
        #expect(throws: AutodiffError.notDifferentiable(op: "sign")) { try gradients(of: sign(leaf), wrt: [leaf], seed: x) }
        let labels = Tensor([0.0, 1]).recorded()
        #expect(throws: AutodiffError.notDifferentiable(op: "oneHot")) {
            try gradients(of: oneHot(labels, classCount: 3), wrt: [labels], seed: Tensor.ones([2, 3], dtype: .float64))
        }
        // Used as a constant inside a differentiable expression, a mask is fine.
        let masked = try gradients(of: (leaf * mask).sum(), wrt: [leaf])[0]
        #expect(masked.doubles == [1, 0, 1, 1])
    }

    @Test func conversionIsDifferentiableBothWays() throws {
        let leaf = x.recorded()
        let through = leaf.converted(to: .float32).converted(to: .float64)
        let g = try gradients(of: (through * x).sum(), wrt: [leaf])[0]
        #expect(g.dtype == .float64)
        #expect(g.doubles == x.doubles)
    }

    @Test func deepChainsDoNotOverflowTheStack() throws {
        let leaf = Tensor([1.0]).recorded()
        var y = leaf
        for _ in 0..<20_000 { y = y * 1.0001 }
        let g = try gradients(of: y.sum(), wrt: [leaf])[0].doubles[0]
        #expect(Swift.abs(g - repeatedProduct(1.0001, 20_000)) < 1e-9 * g)
    }
}

private func repeatedProduct(_ a: Double, _ b: Double) -> Double {
    var result = 1.0
    for _ in 0..<Int(b) { result *= a }
    return result
}
