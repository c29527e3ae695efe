@testable import SaddleCore
import Testing

@Suite("Kernels split over the cores give the bits of one core")
struct ParallelKernelTests {
    @Test("conv2d, its adjoints, matrix products, the LSTM cell, max pooling, BatchNorm, softmax and element-wise operations: the same bits on 1, 2 or 3 parts")
    func splittingDoesNotChangeBits() throws {
        var g = RandomGenerator(seed: 5)
        let x = Tensor.randomNormal([64, 3, 20, 20], using: &g)
        let w = Tensor.randomNormal([8, 3, 3, 3], using: &g)
        let options = Convolution2DOptions(padding: Padding2D(1))
        let strided = Convolution2DOptions(stride: 2, padding: Padding2D(1))
        let wide = Tensor.randomNormal([80, 140], using: &g)
        // 20 steps of 96 rows with 32 hidden units: two blocks of 48 rows run the recurrence.
        let (projected, recurrent) = (Tensor.randomNormal([20, 96, 128], using: &g), Tensor.randomNormal([128, 32], using: &g) * 0.3)
        let (a, b, at) = (Tensor.randomNormal([203, 140], using: &g), Tensor.randomNormal([140, 93], using: &g), Tensor.randomNormal([140, 197], using: &g))
        let (features, gamma, beta) = (Tensor.randomNormal([50, 37], using: &g), Tensor.randomNormal([37], using: &g), Tensor.randomNormal([37], using: &g))
        let (gammaC, betaC) = (Tensor.randomNormal([8], using: &g), Tensor.randomNormal([8], using: &g))
        func run() throws -> [[Float]] {
            let y = try conv2d(x, weight: w, options: options)
            let leaf = y.recorded()
            let pooled = try maxPool2d(relu(leaf), window: Window2D(kernel: 2, stride: 2))
            let dy = try gradients(of: pooled, wrt: [leaf], seed: tanh(pooled))[0]
            let dx = try conv2dInputGradient(dy, weight: w, inputShape: x.shape, options: options)
            let dw = try conv2dWeightGradient(x, outputGradient: dy, weightShape: w.shape, options: options)
            let ys = try conv2d(x, weight: w, options: strided)
            let dws = try conv2dWeightGradient(x, outputGradient: ys, weightShape: w.shape, options: strided)
            let products = try [matmul(a, b), matmul(at, b, transposeA: true), matmul(a, a, transposeB: true), matmul(at, at, transposeA: true),
                                matmul(wide, at), matmul(wide, a, transposeB: true), matmul(b, at, transposeA: true)]
            let (p, r) = (projected.recorded(), recurrent.recorded())
            let states = try lstmRecurrence(projected: p, recurrentWeight: r)
            let lstmGradients = try gradients(of: states, wrt: [p, r], seed: tanh(states))
            var normalizations: [Tensor] = []
            for (input, scale, offset) in [(features, gamma, beta), (y, gammaC, betaC)] {
                let leaves = [input.recorded(), scale.recorded(), offset.recorded()]
                let result = try batchNormalized(leaves[0], scale: leaves[1], offset: leaves[2], epsilon: 1e-5)
                normalizations += [result.output, result.mean, result.variance]
                normalizations += try gradients(of: result.output, wrt: leaves, seed: tanh(result.output))
            }
            normalizations += [try softmax(a), try logSoftmax(wide)]
            var updated = x.detached
            updated.addInPlace(try y.reshaped(to: [x.count * 8 / 3]).rows(0..<x.count).reshaped(to: x.shape), scaledBy: -0.7)
            updated.scaleInPlace(by: 0.9, adding: x, scaledBy: 0.3)
            return [y.floats, pooled.floats, dy.floats, dx.floats, dw.floats, try (x * x + 1).floats, ys.floats, dws.floats, states.floats,
                    updated.floats, x.rawAffine(scale: 1.5, shift: -0.25).floats]
                + lstmGradients.map(\.floats) + products.map(\.floats) + normalizations.map(\.floats)
        }
        #expect(LSTMRowBlocks(batch: 96, hidden: 32, steps: 20).size < 96, "the recurrence runs in row blocks")
        let serial = try Parallel.withForcedParts(1) { try run() }
        for parts in [2, 3] {
            let split = try Parallel.withForcedParts(parts) { try run() }
            for (index, (a, b)) in zip(serial, split).enumerated() {
                let same = a == b
                #expect(same, "result \(index) differs with \(parts) parts: \(zip(a, b).filter { $0 != $1 }.count) of \(a.count) values")
            }
        }
    }

    @Test("matrix products split in row or column blocks equal the textbook sum, for every transposition")
    func blockedProductsAreCorrect() throws {
        var g = RandomGenerator(seed: 11)
        // [m, k] x [k, n] with m*n*k above the blocking threshold: tall (row blocks) and wide (column blocks).
        for (m, k, n) in [(230, 120, 90), (70, 110, 300)] {
            let a = Tensor.randomNormal([m, k], using: &g).converted(to: .float64)
            let b = Tensor.randomNormal([k, n], using: &g).converted(to: .float64)
            #expect(Tensor.gemmBlockExtent(Swift.max(m, n), other: Swift.min(m, n), k: k) < Swift.max(m, n), "the product is split")
            let (av, bv) = (a.doubles, b.doubles)
            var expected = [Double](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n { for l in 0..<k { expected[i * n + j] += av[i * k + l] * bv[l * n + j] } } }
            let at = try a.transposed(), bt = try b.transposed()
            let results = try Parallel.withForcedParts(2) {
                try [matmul(a, b), matmul(at, b, transposeA: true), matmul(a, bt, transposeB: true), matmul(at, bt, transposeA: true, transposeB: true)]
            }
            for (index, result) in results.enumerated() {
                let worst = zip(result.doubles, expected).map { abs($0 - $1) }.max() ?? .nan
                #expect(result.shape == [m, n] && worst < 1e-10, "case \(index) of [\(m), \(k)] x [\(k), \(n)]: largest error \(worst)")
            }
        }
    }
}
