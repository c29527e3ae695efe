@testable import SaddleCore
import Testing

@Suite("Hessian-vector products forward-over-reverse agree with reverse-over-reverse")
struct HessianVectorProductTests {
    @Test("matrix products with every transposition, linear layers, a convolution and max pooling (Float64, 1e-12)")
    func bothWaysAgree() throws {
        var g = RandomGenerator(seed: 21)
        let inputs = [
            Tensor.randomNormal([6, 5], dtype: .float64, using: &g),  // weight of a linear layer
            Tensor.randomNormal([5, 4], dtype: .float64, using: &g),  // right factor
            Tensor.randomNormal([3, 2, 3, 3], dtype: .float64, using: &g),  // convolution weight
        ]
        let direction = inputs.map { Tensor.randomNormal($0.shape, dtype: .float64, using: &g) }
        let x = Tensor.randomNormal([7, 5], dtype: .float64, using: &g)
        let images = Tensor.randomNormal([2, 2, 6, 6], dtype: .float64, using: &g)
        func f(_ p: [Tensor]) throws -> Tensor {
            let hidden = try tanh(linear(x, weight: p[0], bias: nil))  // [7, 6]
            let a = try matmul(hidden, p[0])  // [7, 5]
            let b = try matmul(p[1], a, transposeA: true, transposeB: true)  // [4, 7]
            let c = try matmul(matmul(b, a), p[1])  // [4, 4]
            let d = try matmul(c, p[1], transposeB: true)  // [4, 5]
            let conv = try conv2d(images, weight: p[2], options: Convolution2DOptions(padding: Padding2D(1)))
            let pooled = try maxPool2d(tanh(conv), window: Window2D(kernel: 2, stride: 2))
            return try tanh(d).squared().sum() + pooled.squared().sum() * 0.5
        }
        let forward = try hessianVectorProductForward(at: inputs, along: direction, of: f)
        let reverse = try hessianVectorProductReverse(at: inputs, along: direction, of: f)
        for (index, (a, b)) in zip(forward, reverse).enumerated() {
            let scale = b.doubles.map(Swift.abs).max() ?? 1
            let worst = zip(a.doubles, b.doubles).map { Swift.abs($0 - $1) }.max() ?? .nan
            #expect(a.shape == b.shape && worst <= 1e-12 * Swift.max(scale, 1), "input \(index): largest difference \(worst) against \(scale)")
        }
    }
}
