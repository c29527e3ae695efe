import SaddleCore
import SaddleTestSupport
import Testing

@Suite("Tensor values, shapes and broadcasting")
struct TensorTests {
    @Test func copyOnWriteKeepsValuesIndependent() throws {
        let a = try Tensor(shape: [2, 2], scalars: [1.0, 2, 3, 4])
        var b = a
        b.fill(with: 9)
        #expect(a.doubles == [1, 2, 3, 4])
        #expect(b.doubles == [9, 9, 9, 9])
        var rows = try a.rows(1..<2)
        #expect(rows.doubles == [3, 4])
        rows.addInPlace(Tensor(filling: 1, shape: [1, 2], dtype: .float64), scaledBy: 10)
        #expect(rows.doubles == [13, 14])
        #expect(a.doubles == [1, 2, 3, 4])
    }

    @Test func creationChecksShapes() throws {
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 3], scalars: [1.0, 2]) }
        #expect(throws: TensorError.self) { try Tensor(shape: [-1, 2], scalars: [Double]()) }
        let scalar = Tensor(3.5, dtype: .float64)
        #expect(scalar.shape == [] && scalar.count == 1)
        #expect(try scalar.item() == 3.5)
        #expect(throws: TensorError.self) { try Tensor.zeros([2]).item() }
        #expect(Tensor.ones([2, 3], dtype: .float64).doubles == Array(repeating: 1, count: 6))
        #expect(Tensor([Float(1), 2]).dtype == .float32)
    }

    @Test func broadcastingEdgeCases() throws {
        let column = try Tensor(shape: [3, 1], scalars: [1.0, 2, 3])
        let row = try Tensor(shape: [1, 4], scalars: [10.0, 20, 30, 40])
        let outer = try column + row
        #expect(outer.shape == [3, 4])
        #expect(outer.doubles == [11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43])
        let scalar = Tensor(2, dtype: .float64)
        #expect(try (scalar * outer).doubles == outer.doubles.map { 2 * $0 })
        let cube = try Tensor.ones([2, 1, 4], dtype: .float64) * Tensor(shape: [3, 1], scalars: [1.0, 2, 3])
        #expect(cube.shape == [2, 3, 4])
        #expect(try cube.sum().item() == 2 * 4 * 6)
        let empty = try Tensor.zeros([0, 4], dtype: .float64) + Tensor.ones([4], dtype: .float64)
        #expect(empty.shape == [0, 4])
        // Gradients of broadcast operands are summed back to their shapes.
        let c = column.recorded()
        let r = row.recorded()
        let grads = try gradients(of: (c * r).sum(), wrt: [c, r])
        #expect(grads[0].shape == [3, 1] && grads[0].doubles == [100, 100, 100])
        #expect(grads[1].shape == [1, 4] && grads[1].doubles == [6, 6, 6, 6])
    }

    @Test func errorsNameTheOperationAndShapes() throws {
        let a = Tensor.zeros([2, 3], dtype: .float64)
        let b = Tensor.zeros([4, 5], dtype: .float64)
        do {
            _ = try a + b
            Issue.record("expected a shape error")
        } catch let error as TensorError {
            #expect("\(error)".contains("add"))
            #expect("\(error)".contains("[2, 3]") && "\(error)".contains("[4, 5]"))
        }
        do {
            _ = try matmul(a, b)
            Issue.record("expected a shape error")
        } catch let error as TensorError {
            #expect("\(error)".hasPrefix("matmul"))
            #expect("\(error)".contains("inner extents 3 and 4"))
        }
        #expect(throws: TensorError.dtypeMismatch(op: "multiply", dtypes: [.float64, .float32])) {
            try a * Tensor.zeros([2, 3], dtype: .float32)
        }
        #expect(throws: TensorError.self) { try a.reshaped(to: [4, 2]) }
        #expect(throws: TensorError.self) { try a.sum(alongAxis: 2) }
        #expect(throws: TensorError.self) { try a.rows(1..<3) }
        #expect(throws: TensorError.self) { try a.gatheringRows([0, 2]) }
        #expect(throws: TensorError.self) { try Tensor.concatenating([a, b], alongAxis: 0) }
        #expect(throws: TensorError.self) { try softmaxCrossEntropy(logits: a, labels: Tensor([0.0, 3])) }
        #expect(throws: TensorError.self) { try softmaxCrossEntropy(logits: a, labels: Tensor([0.0, 1.5])) }
        #expect(throws: TensorError.self) { try oneHot([0, 4], classCount: 3) }
    }

    @Test func shapeOperations() throws {
        let x = try Tensor(shape: [2, 3], scalars: [1.0, 2, 3, 4, 5, 6])
        #expect(try x.transposed().doubles == [1, 4, 2, 5, 3, 6])
        #expect(try x.reshaped(to: [-1]).shape == [6])
        #expect(try x.narrowed(alongAxis: 1, range: 1..<3).doubles == [2, 3, 5, 6])
        #expect(try x.padded(alongAxis: 0, before: 1, after: 0).doubles == [0, 0, 0, 1, 2, 3, 4, 5, 6])
        let parts = try x.split(sizes: [1, 2], alongAxis: 1)
        #expect(parts.map(\.shape) == [[2, 1], [2, 2]])
        #expect(try Tensor.concatenating(parts, alongAxis: 1).doubles == x.doubles)
        #expect(try x.gatheringRows([1, 1, 0]).doubles == [4, 5, 6, 4, 5, 6, 1, 2, 3])
        #expect(try x.argmax(alongAxis: 1).doubles == [2, 2])
        #expect(try x.argmax() == 5)
        #expect(try x.max(alongAxis: 0).doubles == [4, 5, 6])
        #expect(try x.min().item() == 1)
        #expect(try x.mean(alongAxis: 1).doubles == [2, 5])
        #expect(try oneHot([2, 0], classCount: 3).floats == [0, 0, 1, 1, 0, 0])
        #expect(try (x .> 3).doubles == [0, 0, 0, 1, 1, 1])
        #expect(try (x .== Tensor([1.0, 5, 0])).doubles == [1, 0, 0, 0, 1, 0])
    }

    @Test func logSoftmaxIsStableForHugeLogits() throws {
        let logits = try Tensor(shape: [2, 3], scalars: [1000.0, 1001, 1002, -1000, -1001, -1002])
        // log(1 + e^-1 + e^-2) = 0.40760596444...; Float32 resolves 1000 only to about 6e-5.
        for (dtype, tolerance) in [(DType.float32, 1e-4), (.float64, 1e-12)] {
            let values = try logSoftmax(logits.converted(to: dtype)).doubles
            #expect(values.allSatisfy { $0.isFinite })
            #expect(Swift.abs(values[2] - (-0.40760596444438)) < tolerance)
            let loss = try softmaxCrossEntropy(logits: logits.converted(to: dtype), labels: Tensor([2.0, 0]).converted(to: dtype))
            #expect(Swift.abs(try loss.item() - 0.40760596444438) < tolerance)
        }
    }

    @Test func fastTranscendentalsAreAccurateOverWideRanges() throws {
        // Float32 kernels use polynomial approximations; compare with Float64 (libm).
        let values = stride(from: -100.0, through: 100.0, by: 0.0137).map { $0 }
        // The reference sees exactly the Float32 inputs, so only the functions' errors count.
        let x32 = Tensor(values).converted(to: .float32)
        let x64 = x32.converted(to: .float64)
        func check(_ name: String, _ f: (Tensor) -> Tensor, relative: Double) {
            let exact = f(x64).doubles
            let fast = f(x32).doubles
            for (i, (e, a)) in zip(exact, fast).enumerated() where e.isFinite && Float(e).isFinite && Float(e).isNormal {
                let error = Swift.abs(e - a) / Swift.max(Swift.abs(e), 1e-30)
                // Written so that a NaN result fails too.
                if !(error <= relative) { Issue.record("\(name)(\(values[i])): \(a) vs \(e)"); return }
            }
        }
        check("exp", exp, relative: 3e-7)
        check("tanh", tanh, relative: 4e-7)
        check("sigmoid", sigmoid, relative: 4e-7)
        check("log", { log(abs($0)) }, relative: 3e-7)
        let special = Tensor([Float(0), -1, .infinity, .nan]).converted(to: .float32)
        let logs = log(special).floats
        #expect(logs[0] == -.infinity && logs[1].isNaN && logs[2] == .infinity && logs[3].isNaN)
        let exps = exp(Tensor([Float(-200), 200, .nan, -.infinity])).floats
        #expect(exps[0] == 0 && exps[1] == .infinity && exps[2].isNaN && exps[3] == 0)
    }
}
