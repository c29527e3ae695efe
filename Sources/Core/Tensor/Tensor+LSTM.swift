internal import CSaddleCore
import Synchronization

/// The LSTM recurrence over time-major projected inputs, from a zero initial state.
///
/// `projected` `[time, batch, 4 hidden]` holds x_t W_ih^T + b_ih + b_hh with gates in PyTorch's
/// order (input, forget, cell, output); `recurrentWeight` `[4 hidden, hidden]` is W_hh. For
/// each step: gates = projected_t + h_{t-1} W_hh^T, i, f, o = sigmoid, g = tanh,
/// c_t = f c_{t-1} + i g, h_t = o tanh(c_t). Returns every h_t, `[time, batch, hidden]`.
/// One matrix product and one fused cell kernel per step forward, the same backward, and one
/// matrix product for the recurrent weight's gradient; blocks of the batch's rows run the whole
/// recurrence concurrently (`LSTMRowBlocks`); exact second derivatives come from a
/// step-by-step reference built of differentiable operations.
/// - Throws: `TensorError` when the shapes or dtypes disagree.
public func lstmRecurrence(projected: Tensor, recurrentWeight: Tensor) throws -> Tensor {
    guard projected.rank == 3, recurrentWeight.rank == 2, recurrentWeight.shape[0] == 4 * recurrentWeight.shape[1],
        projected.shape[2] == recurrentWeight.shape[0]
    else {
        throw TensorError.shapeMismatch(
            op: "lstmRecurrence", shapes: [projected.shape, recurrentWeight.shape],
            reason: "need projected inputs [time, batch, 4 hidden] and a recurrent weight [4 hidden, hidden]")
    }
    guard projected.dtype == recurrentWeight.dtype else {
        throw TensorError.dtypeMismatch(op: "lstmRecurrence", dtypes: [projected.dtype, recurrentWeight.dtype])
    }
    let (steps, batch, hidden) = (projected.shape[0], projected.shape[1], recurrentWeight.shape[1])
    let dtype = projected.dtype
    let gates = Tensor(uninitializedShape: projected.shape, dtype: dtype)
    let hs = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    let cs = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    let tanhCs = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    let weight = recurrentWeight.detached
    let blocks = LSTMRowBlocks(batch: batch, hidden: hidden, steps: steps)
    try blocks.forEach { rows in
        func view(_ t: Tensor, _ step: Int, _ width: Int) -> Tensor {
            Tensor(storage: t.storage, offset: t.offset + (step * batch + rows.lowerBound) * width, shape: [rows.count, width])
        }
        for t in 0..<steps {
            // Step t's gates: h_{t-1} W_hh^T into the block, then the cell adds the projected
            // inputs (at t = 0 the gates are the projected inputs alone), so the block is
            // written once and read while it is still in the core's cache.
            var gatesT = view(gates, t, 4 * hidden)
            if t > 0 {
                try Tensor.gemm(view(hs, t - 1, hidden), transposeA: false, weight, transposeB: true, into: &gatesT, beta: 0, blocked: false)
            } else {
                gatesT.address.copyMemory(from: view(projected, 0, 4 * hidden).address, byteCount: gatesT.count * dtype.byteCount)
            }
            lstmCellForward(gatesT, added: t > 0 ? view(projected, t, 4 * hidden) : nil, previousCell: t > 0 ? view(cs, t - 1, hidden) : nil,
                            hidden: hidden, cell: view(cs, t, hidden), tanhCell: view(tanhCs, t, hidden), output: view(hs, t, hidden))
        }
    }
    let saved = (gates, cs, tanhCs, hs)
    return Tensor.recordFused(
        "lstmRecurrence", inputs: [projected, recurrentWeight], output: hs,
        reference: { inputs in try lstmReference(projected: inputs[0], recurrentWeight: inputs[1]) },
        pullback: { c in
            let (gates, cs, tanhCs, hs) = saved
            let g = c.cotangent.detached
            let weight = c.inputs[1].detached
            let dGates = Tensor(uninitializedShape: [steps, batch, 4 * hidden], dtype: dtype)
            let dc = Tensor.zeros([batch, hidden], dtype: dtype)
            let dh = Tensor(uninitializedShape: [batch, hidden], dtype: dtype)
            try blocks.forEach { rows in
                func view(_ t: Tensor, _ step: Int, _ width: Int) -> Tensor {
                    Tensor(storage: t.storage, offset: t.offset + (step * batch + rows.lowerBound) * width, shape: [rows.count, width])
                }
                var dhRows = view(dh, 0, hidden)
                for t in stride(from: steps - 1, through: 0, by: -1) {
                    dhRows.address.copyMemory(from: view(g, t, hidden).address, byteCount: rows.count * hidden * dtype.byteCount)
                    if t < steps - 1 {
                        try Tensor.gemm(view(dGates, t + 1, 4 * hidden), transposeA: false, weight, transposeB: false, into: &dhRows, beta: 1, blocked: false)
                    }
                    lstmCellBackward(
                        gates: view(gates, t, 4 * hidden), previousCell: t > 0 ? view(cs, t - 1, hidden) : nil,
                        tanhCell: view(tanhCs, t, hidden), dh: dhRows, dc: view(dc, 0, hidden), hidden: hidden,
                        dGates: view(dGates, t, 4 * hidden))
                }
            }
            var dWeight: Tensor?
            if c.needsGradient(1) {
                if steps > 1 {
                    // The sum over steps and rows of dGates_t^T h_{t-1}, computed as the
                    // transpose of h^T dGates: OpenBLAS ran [3456 x 128]^T [3456 x 512] in two
                    // column blocks at 55-58 GFLOP/s per core, the direct product in four row
                    // blocks at 44-47; the Fashion-MNIST LSTM's epoch took 6-10% less.
                    let later = Tensor(storage: dGates.storage, offset: dGates.offset + batch * 4 * hidden, shape: [(steps - 1) * batch, 4 * hidden])
                    let earlier = Tensor(storage: hs.storage, offset: hs.offset, shape: [(steps - 1) * batch, hidden])
                    var transposedResult = Tensor(uninitializedShape: [hidden, 4 * hidden], dtype: dtype)
                    try Tensor.gemm(earlier, transposeA: true, later, transposeB: false, into: &transposedResult, beta: 0)
                    dWeight = try transposedResult.transposed()
                } else {
                    dWeight = Tensor.zeros([4 * hidden, hidden], dtype: dtype)
                }
            }
            return [dGates, dWeight]
        })
}

/// The batch's rows in blocks that run the whole recurrence on their own: a row's state never
/// depends on another row's, so each block runs every step (its gate product and cell) without
/// waiting for the others, and the blocks are spread over the threads once per sequence rather
/// than once per step. The blocks are a function of the shape alone (the sizes of
/// `Tensor.gemmBlockExtent`, over all steps), so the bits do not depend on the thread count.
struct LSTMRowBlocks: Sendable {
    /// Rows per block (the last block may have fewer).
    let size: Int
    /// The number of rows.
    let batch: Int

    init(batch: Int, hidden: Int, steps: Int) {
        self.batch = batch
        size = Tensor.gemmBlockExtent(batch, other: 4 * hidden, k: hidden * steps)
    }

    /// Calls `body` once per block, the blocks spread over `ComputeThreads` threads; rethrows
    /// the first error.
    func forEach(_ body: @Sendable (Range<Int>) throws -> Void) throws {
        let count = (batch + size - 1) / size
        let failure = Mutex<(any Error)?>(nil)
        Parallel.forEachRange(count, elements: Int.max, minimum: 0) { blocks in
            for block in blocks {
                do { try body((block * size)..<Swift.min(batch, (block + 1) * size)) } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

/// The fused cell of one step over a block of rows (each row is computed alone), adding `added`
/// to the gates first when given.
private func lstmCellForward(_ gates: Tensor, added: Tensor?, previousCell: Tensor?, hidden: Int, cell: Tensor, tanhCell: Tensor, output: Tensor) {
    let (n, h) = (Int64(gates.shape[0]), Int64(hidden))
    switch gates.dtype {
    case .float32:
        saddle_lstm_cell_forward_f32(
            gates.pointer(Float.self), added?.pointer(Float.self), previousCell?.pointer(Float.self), n, h, cell.pointer(Float.self),
            tanhCell.pointer(Float.self), output.pointer(Float.self))
    case .float64:
        saddle_lstm_cell_forward_f64(
            gates.pointer(Double.self), added?.pointer(Double.self), previousCell?.pointer(Double.self), n, h, cell.pointer(Double.self),
            tanhCell.pointer(Double.self), output.pointer(Double.self))
    }
}

/// The fused cell's backward step over a block of rows.
private func lstmCellBackward(gates: Tensor, previousCell: Tensor?, tanhCell: Tensor, dh: Tensor, dc: Tensor, hidden: Int, dGates: Tensor) {
    let (n, h) = (Int64(gates.shape[0]), Int64(hidden))
    switch gates.dtype {
    case .float32:
        saddle_lstm_cell_backward_f32(
            gates.pointer(Float.self), previousCell?.pointer(Float.self), tanhCell.pointer(Float.self), dh.pointer(Float.self),
            dc.pointer(Float.self), n, h, dGates.pointer(Float.self))
    case .float64:
        saddle_lstm_cell_backward_f64(
            gates.pointer(Double.self), previousCell?.pointer(Double.self), tanhCell.pointer(Double.self), dh.pointer(Double.self),
            dc.pointer(Double.self), n, h, dGates.pointer(Double.self))
    }
}

/// The same recurrence written step by step with differentiable operations.
func lstmReference(projected: Tensor, recurrentWeight: Tensor) throws -> Tensor {
    let (steps, batch, hidden) = (projected.shape[0], projected.shape[1], recurrentWeight.shape[1])
    var h: Tensor?
    var c: Tensor?
    var outputs: [Tensor] = []
    for t in 0..<steps {
        var gates = try projected.rows(t..<(t + 1)).reshaped(to: [batch, 4 * hidden])
        if let h { gates = try gates + matmul(h, recurrentWeight, transposeB: true) }
        let parts = try gates.split(sizes: [hidden, hidden, hidden, hidden], alongAxis: 1)
        let (i, f, g, o) = (sigmoid(parts[0]), sigmoid(parts[1]), tanh(parts[2]), sigmoid(parts[3]))
        let cell = try c.map { try f * $0 + i * g } ?? (try i * g)
        let state = try o * tanh(cell)
        outputs.append(try state.reshaped(to: [1, batch, hidden]))
        (h, c) = (state, cell)
    }
    return try Tensor.concatenating(outputs, alongAxis: 0)
}
