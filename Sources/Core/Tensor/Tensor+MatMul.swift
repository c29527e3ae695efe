internal import CSaddleCore
import Dispatch

extension Tensor {
    /// c = alpha * op(a) op(b) + beta * c through sgemm/dgemm; shapes already checked. A large
    /// product runs as blocks of rows or columns over `ComputeThreads` threads unless `blocked`
    /// is false (one BLAS call on the calling thread, for callers that split the work themselves).
    static func gemm(
        _ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: inout Tensor,
        alpha: Double = 1, beta: Double, blocked: Bool = true
    ) throws {
        let m = c.shape[0]
        let n = c.shape[1]
        let k = transposeA ? a.shape[0] : a.shape[1]
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { c.fill(with: 0) }
            return
        }
        guard [m, n, k, a.shape[1], b.shape[1]].allSatisfy({ $0 <= Int(Int32.max) }) else {
            throw TensorError.invalidArgument(op: "matmul", reason: "extents beyond 2^31 - 1 are not supported by BLAS")
        }
        let blas = try BLAS.library()
        let lda = a.shape[1]
        // c in blocks of rows (op(a)'s row i starts at i lda, or at column i when transposed)
        // or, when c is wider than tall, of columns (op(b)'s column j starts at column j, or at
        // j ldb when transposed), so that each thread packs only its part of the larger operand.
        // The blocks depend on the shape alone, never on the thread count, so the bits do not
        // either: OpenBLAS's kernels sum an element differently by its position in a call (with
        // 0.3.21's Haswell sgemm, only row cuts at multiples of 12 reproduce the bits of one whole
        // call), so one thread makes the same block calls as several.
        let byColumns = blocked && n > m
        let extent = byColumns ? n : m
        let blockSize = blocked ? Tensor.gemmBlockExtent(extent, other: byColumns ? m : n, k: k) : m
        let blocks = (extent + blockSize - 1) / blockSize
        let (a, b, target, ldb) = (a, b, c, b.shape[1])
        @Sendable func multiply(_ range: Range<Int>) {
            let (ta, tb) = (Int32(transposeA ? SADDLE_CBLAS_TRANS : SADDLE_CBLAS_NO_TRANS), Int32(transposeB ? SADDLE_CBLAS_TRANS : SADDLE_CBLAS_NO_TRANS))
            let (rows, columns) = byColumns ? (m, range.count) : (range.count, n)
            let (aOffset, bOffset, cOffset) = byColumns
                ? (0, transposeB ? range.lowerBound * ldb : range.lowerBound, range.lowerBound)
                : (transposeA ? range.lowerBound : range.lowerBound * lda, 0, range.lowerBound * n)
            let order = Int32(SADDLE_CBLAS_ROW_MAJOR)
            switch target.dtype {
            case .float32:
                blas.sgemm(
                    order, ta, tb, Int32(rows), Int32(columns), Int32(k), Float(alpha), a.pointer(Float.self) + aOffset, Int32(lda),
                    b.pointer(Float.self) + bOffset, Int32(ldb), Float(beta), target.pointer(Float.self) + cOffset, Int32(n))
            case .float64:
                blas.dgemm(
                    order, ta, tb, Int32(rows), Int32(columns), Int32(k), alpha, a.pointer(Double.self) + aOffset, Int32(lda),
                    b.pointer(Double.self) + bOffset, Int32(ldb), beta, target.pointer(Double.self) + cOffset, Int32(n))
            }
        }
        let parts = Parallel.parts(blocks, elements: Int.max, minimum: 0)
        let run: @Sendable (Int) -> Void = { part in
            for index in (blocks * part / parts)..<(blocks * (part + 1) / parts) {
                multiply((index * blockSize)..<Swift.min(extent, (index + 1) * blockSize))
            }
        }
        if parts > 1 { DispatchQueue.concurrentPerform(iterations: parts, execute: run) } else { run(0) }
    }

    /// Products below this many multiply-adds run as one BLAS call.
    static let gemmBlockMinimum = 1 << 21

    /// Products from this many multiply-adds (and 192 along the split extent) run as four
    /// blocks, smaller ones as two: every block packs the whole of the other operand again,
    /// which cost the LSTM step (8.9 M multiply-adds per product) 8.0-8.4 ms with four blocks
    /// against 6.6-7.3 ms with two, in interleaved runs on the 2-core benchmark machine.
    static let gemmFourBlockMinimum = 1 << 26

    /// The block size along the split extent `extent` of c (the other extent `other`, inner
    /// extent `k`): two or four blocks whose sizes are multiples of 16 (the kernels' register
    /// tiles), or the whole extent for a small product. A function of the shape alone.
    static func gemmBlockExtent(_ extent: Int, other: Int, k: Int) -> Int {
        let size = Double(extent) * Double(other) * Double(k)
        guard extent >= 32, size >= Double(gemmBlockMinimum) else { return Swift.max(extent, 1) }
        let blocks = extent >= 192 && size >= Double(gemmFourBlockMinimum) ? 4 : 2
        return ((extent + blocks - 1) / blocks + 15) / 16 * 16
    }
}

/// The matrix product op(a) op(b) of 2-D tensors, where op transposes when its flag is set
/// (transposes are passed to BLAS, never materialized). Gradients are products again, so
/// second derivatives are exact.
/// - Throws: `TensorError` when an operand is not 2-D, the inner extents differ, or the dtypes
///   differ; `BLASError` when OpenBLAS cannot be loaded.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    guard a.rank == 2, b.rank == 2 else {
        throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape], reason: "both operands must have 2 axes")
    }
    guard a.dtype == b.dtype else { throw TensorError.dtypeMismatch(op: "matmul", dtypes: [a.dtype, b.dtype]) }
    let (m, ka) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    guard ka == kb else {
        throw TensorError.shapeMismatch(
            op: "matmul", shapes: [a.shape, b.shape],
            reason: "inner extents \(ka) and \(kb) differ (transposeA: \(transposeA), transposeB: \(transposeB))")
    }
    var out = Tensor(uninitializedShape: [m, n], dtype: a.dtype)
    try Tensor.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &out, beta: 0)
    return Tensor.record(
        "matmul", inputs: [a, b], output: out,
        tangent: { c in try matmulTangent(c, transposeA: transposeA, transposeB: transposeB) }
    ) { c in
        let (x, y, g) = (c.inputs[0], c.inputs[1], c.cotangent)
        var grads: [Tensor?] = [nil, nil]
        switch (transposeA, transposeB) {
        case (false, false):
            if c.needsGradient(0) { grads[0] = try matmul(g, y, transposeB: true) }
            if c.needsGradient(1) { grads[1] = try matmul(x, g, transposeA: true) }
        case (true, false):
            if c.needsGradient(0) { grads[0] = try matmul(y, g, transposeB: true) }
            if c.needsGradient(1) { grads[1] = try matmul(x, g) }
        case (false, true):
            if c.needsGradient(0) { grads[0] = try matmul(g, y) }
            if c.needsGradient(1) { grads[1] = try matmul(g, x, transposeA: true) }
        case (true, true):
            if c.needsGradient(0) { grads[0] = try matmul(y, g, transposeA: true, transposeB: true) }
            if c.needsGradient(1) { grads[1] = try matmul(g, x, transposeA: true, transposeB: true) }
        }
        return grads
    }
}

/// The affine map x W^T + b of a dense layer, fused into one GEMM: `input` is `[batch, in]`,
/// `weight` `[out, in]` (PyTorch's layout), `bias` `[out]`; the result is `[batch, out]`.
/// Gradients: dx = g W, dW = g^T x, db = sum of g over the batch.
/// - Throws: `TensorError` when the shapes or dtypes disagree; `BLASError` without OpenBLAS.
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
    guard input.rank == 2, weight.rank == 2, input.shape[1] == weight.shape[1] else {
        throw TensorError.shapeMismatch(
            op: "linear", shapes: [input.shape, weight.shape],
            reason: "input must be [batch, in] and weight [out, in] with the same in")
    }
    guard input.dtype == weight.dtype else { throw TensorError.dtypeMismatch(op: "linear", dtypes: [input.dtype, weight.dtype]) }
    let batch = input.shape[0]
    let units = weight.shape[0]
    var out = Tensor(uninitializedShape: [batch, units], dtype: input.dtype)
    if let bias {
        guard bias.shape == [units] else {
            throw TensorError.shapeMismatch(op: "linear", shapes: [weight.shape, bias.shape], reason: "bias must be [out]")
        }
        guard bias.dtype == input.dtype else { throw TensorError.dtypeMismatch(op: "linear", dtypes: [input.dtype, bias.dtype]) }
        switch out.dtype {
        case .float32: saddle_repeat_rows_f32(bias.pointer(Float.self), Int64(batch), Int64(units), out.pointer(Float.self))
        case .float64: saddle_repeat_rows_f64(bias.pointer(Double.self), Int64(batch), Int64(units), out.pointer(Double.self))
        }
    }
    try Tensor.gemm(input, transposeA: false, weight, transposeB: true, into: &out, beta: bias == nil ? 0 : 1)
    let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
    return Tensor.record("linear", inputs: inputs, output: out, tangent: linearTangent) { c in
        let (x, w, g) = (c.inputs[0], c.inputs[1], c.cotangent)
        return [c.needsGradient(0) ? try matmul(g, w) : nil,
                c.needsGradient(1) ? try weightGradient(g, x) : nil]
            + (c.inputs.count == 3 ? [c.needsGradient(2) ? try g.sum(alongAxis: 0) : nil] : [])
    }
}

/// g^T x, `[units, features]`, for `g` `[rows, units]` and `x` `[rows, features]`: a weight's
/// gradient summed over a batch of rows. When the rows are at least 4 times the larger of units
/// and features (an LSTM's input projection over every time step), it is computed as (x^T g)^T:
/// OpenBLAS ran that orientation 20-40% faster on such shapes (`.build/blas-shapes`, the LSTM's
/// [3584 x 512]^T [3584 x 28] at 23-27 GFLOP/s per core, its transpose at 30-48). Both are
/// differentiable products, so second derivatives stay exact.
func weightGradient(_ g: Tensor, _ x: Tensor) throws -> Tensor {
    if g.shape[0] >= 4 * Swift.max(g.shape[1], x.shape[1]) {
        return try matmul(x, g, transposeA: true).transposed()
    }
    return try matmul(g, x, transposeA: true)
}

/// Batched tangent of op(a) op(b): op(ta) op(b) + op(a) op(tb), one product per term over all
/// directions at once.
private func matmulTangent(_ c: TangentContext, transposeA: Bool, transposeB: Bool) throws -> Tensor? {
    let p = c.directions
    let (a, b) = (c.inputs[0], c.inputs[1])
    let (m, n) = (c.output.shape[0], c.output.shape[1])
    var total: Tensor?
    if p == 1 {
        // One direction: the tangents are op(a)- and op(b)-shaped matrices, and BLAS takes
        // their transposes as flags.
        if let ta = c.tangents[0] {
            total = try matmul(ta.reshaped(to: a.shape), b, transposeA: transposeA, transposeB: transposeB)
        }
        if let tb = c.tangents[1] {
            let term = try matmul(a, tb.reshaped(to: b.shape), transposeA: transposeA, transposeB: transposeB)
            total = try total.map { try $0 + term } ?? term
        }
        return try total?.reshaped(to: [1, m, n])
    }
    if let ta = c.tangents[0] {
        let left = transposeA ? try ta.permuted([0, 2, 1]) : ta  // [p, m, k]
        let k = left.shape[2]
        total = try matmul(left.reshaped(to: [p * m, k]), b, transposeB: transposeB).reshaped(to: [p, m, n])
    }
    if let tb = c.tangents[1] {
        let right = transposeB ? try tb.permuted([0, 2, 1]) : tb  // [p, k, n]
        let k = right.shape[1]
        let arranged = try right.permuted([1, 0, 2]).reshaped(to: [k, p * n])
        let term = try matmul(a, arranged, transposeA: transposeA).reshaped(to: [m, p, n]).permuted([1, 0, 2])
        total = try total.map { try $0 + term } ?? term
    }
    return total
}

/// Batched tangent of x W^T + b.
@Sendable private func linearTangent(_ c: TangentContext) throws -> Tensor? {
    let p = c.directions
    let (x, w) = (c.inputs[0], c.inputs[1])
    let (batch, units, features) = (x.shape[0], w.shape[0], w.shape[1])
    var total: Tensor?
    if let tx = c.tangents[0] {
        total = try matmul(tx.reshaped(to: [p * batch, features]), w, transposeB: true).reshaped(to: [p, batch, units])
    }
    if let tw = c.tangents[1] {
        let product = try matmul(x, tw.reshaped(to: [p * units, features]), transposeB: true)
        // With one direction, [batch, 1, units] is already [1, batch, units] in memory.
        let term = p == 1 ? try product.reshaped(to: [1, batch, units]) : try product.reshaped(to: [batch, p, units]).permuted([1, 0, 2])
        total = try total.map { try $0 + term } ?? term
    }
    if c.inputs.count == 3, let tb = c.tangents[2] {
        let term = try tb.reshaped(to: [p, 1, units])
        total = try total.map { try $0 + term } ?? term
    }
    return try total.map(c.complete)
}
