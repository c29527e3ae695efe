@testable import SaddleCore
import Testing

@Suite("Kernels split over the cores give the bits of one core")
struct ParallelKernelTests {
    @Test("conv2d, its adjoints, matrix products, max pooling and element-wise operations: the same bits on 1, 2 or 3 parts")
    func splittingDoesNotChangeBits() throws {
        var g = RandomGenerator(seed: 5)
        let x = Tensor.randomNormal([64, 3, 20, 20], using: &g)
        let w = Tensor.randomNormal([8, 3, 3, 3], using: &g)
        let options = Convolution2DOptions(padding: Padding2D(1))
        let strided = Convolution2DOptions(stride: 2, padding: Padding2D(1))
        let (a, b, at) = (Tensor.randomNormal([203, 140], using: &g), Tensor.randomNormal([140, 93], using: &g), Tensor.randomNormal([140, 197], using: &g))
        func run() throws -> [[Float]] {
            let y = try conv2d(x, weight: w, options: options)
            let leaf = y.recorded()
            let pooled = try maxPool2d(relu(leaf), window: Window2D(kernel: 2, stride: 2))
            let dy = try gradients(of: pooled, wrt: [leaf], seed: tanh(pooled))[0]
            let dx = try conv2dInputGradient(dy, weight: w, inputShape: x.shape, options: options)
            let dw = try conv2dWeightGradient(x, outputGradient: dy, weightShape: w.shape, options: options)
            let ys = try conv2d(x, weight: w, options: strided)
            let dws = try conv2dWeightGradient(x, outputGradient: ys, weightShape: w.shape, options: strided)
            let products = try [matmul(a, b), matmul(at, b, transposeA: true), matmul(a, a, transposeB: true), matmul(at, at, transposeA: true)]
            return [y.floats, pooled.floats, dy.floats, dx.floats, dw.floats, try (x * x + 1).floats, ys.floats, dws.floats] + products.map(\.floats)
        }
        let serial = try Parallel.$forcedParts.withValue(1) { try run() }
        for parts in [2, 3] {
            let split = try Parallel.$forcedParts.withValue(parts) { try run() }
            for (index, (a, b)) in zip(serial, split).enumerated() {
                let same = a == b
                #expect(same, "result \(index) differs with \(parts) parts: \(zip(a, b).filter { $0 != $1 }.count) of \(a.count) values")
            }
        }
    }
}
