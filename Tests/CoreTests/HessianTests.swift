import SaddleCore
import SaddleTestSupport
import Testing

@Suite("Hessian-vector products and Hessians against closed forms")
struct HessianTests {
    let a = try! Tensor(shape: [3, 3], scalars: [4.0, 1, -2, 1, 3, 0.5, -2, 0.5, -1])
    let x = try! Tensor(shape: [3], scalars: [0.3, -1.1, 2.0])
    let v = try! Tensor(shape: [3], scalars: [1.0, -2, 0.25])

    /// f(x) = 1/2 x^T A x.
    func quadratic(_ x: Tensor) throws -> Tensor {
        let column = try x.reshaped(to: [3, 1])
        return try (matmul(matmul(column, a, transposeA: true), column)).sum() * 0.5
    }

    @Test func quadraticGivesAv() throws {
        let hv = try hessianVectorProduct(at: [x], along: [v]) { try quadratic($0[0]) }[0]
        let expected = try matmul(a, v.reshaped(to: [3, 1])).doubles
        for (got, want) in zip(hv.doubles, expected) { #expect(Swift.abs(got - want) <= 1e-14 * Swift.max(1, Swift.abs(want))) }
        let h = try hessian(at: x) { try quadratic($0) }
        for (got, want) in zip(h.doubles, a.doubles) { #expect(Swift.abs(got - want) <= 1e-14) }
    }

    @Test func saddleGivesDiagonalTwoMinusTwo() throws {
        let point = try Tensor(shape: [2], scalars: [1.0, 1e-3])
        let direction = try Tensor(shape: [2], scalars: [0.7, -1.3])
        func saddle(_ p: Tensor) throws -> Tensor {
            let parts = try p.split(sizes: [1, 1], alongAxis: 0)
            return try (parts[0].squared() - parts[1].squared()).sum()
        }
        let hv = try hessianVectorProduct(at: [point], along: [direction]) { try saddle($0[0]) }[0]
        #expect(hv.doubles == [1.4, 2.6])
        let h = try hessian(at: point) { try saddle($0) }
        #expect(h.doubles == [2, 0, 0, -2])
        let grad = try gradients(of: saddle(point.recorded()), wrt: [])
        #expect(grad.isEmpty)
    }

    @Test func hessianIsSymmetricAndMatchesFiniteDifferencesForATanhNetwork() throws {
        var g = RandomGenerator(seed: 4)
        let inputs = Tensor.randomNormal([16, 2], dtype: .float64, using: &g)
        let targets = Tensor.randomNormal([16, 1], dtype: .float64, using: &g)
        let theta = Tensor.randomNormal([2 * 4 + 4 + 4 + 1], dtype: .float64, using: &g)
        func loss(_ t: Tensor) throws -> Tensor {
            let p = try t.split(sizes: [8, 4, 4, 1], alongAxis: 0)
            let hidden = tanh(try linear(inputs, weight: p[0].reshaped(to: [4, 2]), bias: p[1]))
            let out = try linear(hidden, weight: p[2].reshaped(to: [1, 4]), bias: p[3])
            return try (out - targets).squared().mean()
        }
        let h = try hessian(at: theta) { try loss($0) }
        let n = theta.count
        // The rows as computed (forward-over-reverse and reverse-over-reverse) are symmetric to
        // rounding before any averaging; NaN fails the comparison.
        for raw in [try hessian(at: theta, symmetrized: false) { try loss($0) }, try hessianFromProducts(at: theta, symmetrized: false) { try loss($0) }] {
            let values = raw.doubles
            let scale = values.map(Swift.abs).max() ?? 0
            #expect(scale > 0)
            for i in 0..<n { for j in 0..<n { #expect(Swift.abs(values[i * n + j] - values[j * n + i]) <= 1e-12 * scale) } }
            #expect(TestSupport.maxAbsDifference(try ((raw + raw.transposed()) * 0.5).doubles, h.doubles) <= 1e-12 * scale)
        }
        let direction = Tensor.randomNormal([n], dtype: .float64, using: &g)
        let reports = try GradientCheck().checkHessianVectorProduct(at: [theta], along: [direction]) { try loss($0[0]) }
        #expect(reports.allSatisfy { $0.passed })
        let hv = try matmul(h, direction.reshaped(to: [n, 1])).doubles
        let direct = try hessianVectorProduct(at: [theta], along: [direction]) { try loss($0[0]) }[0].doubles
        for (p, q) in zip(hv, direct) { #expect(Swift.abs(p - q) <= 1e-12 * Swift.max(1, Swift.abs(q))) }
    }
}
