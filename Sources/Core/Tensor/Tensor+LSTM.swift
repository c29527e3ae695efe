internal import CSaddleCore

/// The LSTM recurrence over time-major projected inputs, from a zero initial state.
///
/// `projected` `[time, batch, 4 hidden]` holds x_t W_ih^T + b_ih + b_hh with gates in PyTorch's
/// order (input, forget, cell, output); `recurrentWeight` `[4 hidden, hidden]` is W_hh. For
/// each step: gates = projected_t + h_{t-1} W_hh^T, i, f, o = sigmoid, g = tanh,
/// c_t = f c_{t-1} + i g, h_t = o tanh(c_t). Returns every h_t, `[time, batch, hidden]`.
/// One matrix product and one fused cell kernel per step forward, the same backward, and one
/// matrix product for the recurrent weight's gradient; exact second derivatives come from a
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
    let stepSize = batch * hidden
    var gates = Tensor(uninitializedShape: projected.shape, dtype: dtype)
    gates.address.copyMemory(from: projected.address, byteCount: projected.count * dtype.byteCount)
    var hs = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    var cs = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    var tanhCs = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    let weight = recurrentWeight.detached
    @Sendable func view(_ t: Tensor, _ step: Int, _ width: Int) -> Tensor {
        Tensor(storage: t.storage, offset: t.offset + step * batch * width, shape: [batch, width])
    }
    for t in 0..<steps {
        var gatesT = view(gates, t, 4 * hidden)
        if t > 0 { try Tensor.gemm(view(hs, t - 1, hidden), transposeA: false, weight, transposeB: true, into: &gatesT, beta: 1) }
        lstmCellForward(gatesT, previousCell: t > 0 ? view(cs, t - 1, hidden) : nil, batch: batch, hidden: hidden,
                        cell: view(cs, t, hidden), tanhCell: view(tanhCs, t, hidden), output: view(hs, t, hidden))
    }
    let saved = (gates, cs, tanhCs, hs)
    return Tensor.recordFused(
        "lstmRecurrence", inputs: [projected, recurrentWeight], output: hs,
        reference: { inputs in try lstmReference(projected: inputs[0], recurrentWeight: inputs[1]) },
        pullback: { c in
            let (gates, cs, tanhCs, hs) = saved
            let g = c.cotangent.detached
            let weight = c.inputs[1].detached
            var dGates = Tensor(uninitializedShape: [steps, batch, 4 * hidden], dtype: dtype)
            var dc = Tensor.zeros([batch, hidden], dtype: dtype)
            var dh = Tensor(uninitializedShape: [batch, hidden], dtype: dtype)
            for t in stride(from: steps - 1, through: 0, by: -1) {
                dh.address.copyMemory(from: g.address + t * stepSize * dtype.byteCount, byteCount: stepSize * dtype.byteCount)
                if t < steps - 1 {
                    try Tensor.gemm(view(dGates, t + 1, 4 * hidden), transposeA: false, weight, transposeB: false, into: &dh, beta: 1)
                }
                lstmCellBackward(
                    gates: view(gates, t, 4 * hidden), previousCell: t > 0 ? view(cs, t - 1, hidden) : nil,
                    tanhCell: view(tanhCs, t, hidden), dh: dh, dc: dc, batch: batch, hidden: hidden,
                    dGates: view(dGates, t, 4 * hidden))
            }
            var dWeight: Tensor?
            if c.needsGradient(1) {
                var result = Tensor.zeros([4 * hidden, hidden], dtype: dtype)
                if steps > 1 {
                    let later = Tensor(storage: dGates.storage, offset: dGates.offset + batch * 4 * hidden, shape: [(steps - 1) * batch, 4 * hidden])
                    let earlier = Tensor(storage: hs.storage, offset: hs.offset, shape: [(steps - 1) * batch, hidden])
                    try Tensor.gemm(later, transposeA: true, earlier, transposeB: false, into: &result, beta: 0)
                }
                dWeight = result
            }
            return [dGates, dWeight]
        })
}

/// The fused cell of one step, split over the cores by rows of the batch (each row is computed
/// alone, so the bits do not depend on the split).
private func lstmCellForward(_ gates: Tensor, previousCell: Tensor?, batch: Int, hidden: Int, cell: Tensor, tanhCell: Tensor, output: Tensor) {
    Parallel.forEachRange(batch, elements: batch * 4 * hidden, minimum: Parallel.minimumElementwise) { rows in
        let (wide, narrow, n) = (rows.lowerBound * 4 * hidden, rows.lowerBound * hidden, Int64(rows.count))
        switch gates.dtype {
        case .float32:
            saddle_lstm_cell_forward_f32(
                gates.pointer(Float.self) + wide, previousCell.map { $0.pointer(Float.self) + narrow }, n, Int64(hidden),
                cell.pointer(Float.self) + narrow, tanhCell.pointer(Float.self) + narrow, output.pointer(Float.self) + narrow)
        case .float64:
            saddle_lstm_cell_forward_f64(
                gates.pointer(Double.self) + wide, previousCell.map { $0.pointer(Double.self) + narrow }, n, Int64(hidden),
                cell.pointer(Double.self) + narrow, tanhCell.pointer(Double.self) + narrow, output.pointer(Double.self) + narrow)
        }
    }
}

/// The fused cell's backward step, split like the forward one.
private func lstmCellBackward(gates: Tensor, previousCell: Tensor?, tanhCell: Tensor, dh: Tensor, dc: Tensor, batch: Int, hidden: Int, dGates: Tensor) {
    Parallel.forEachRange(batch, elements: batch * 4 * hidden, minimum: Parallel.minimumElementwise) { rows in
        let (wide, narrow, n) = (rows.lowerBound * 4 * hidden, rows.lowerBound * hidden, Int64(rows.count))
        switch gates.dtype {
        case .float32:
            saddle_lstm_cell_backward_f32(
                gates.pointer(Float.self) + wide, previousCell.map { $0.pointer(Float.self) + narrow }, tanhCell.pointer(Float.self) + narrow,
                dh.pointer(Float.self) + narrow, dc.pointer(Float.self) + narrow, n, Int64(hidden), dGates.pointer(Float.self) + wide)
        case .float64:
            saddle_lstm_cell_backward_f64(
                gates.pointer(Double.self) + wide, previousCell.map { $0.pointer(Double.self) + narrow }, tanhCell.pointer(Double.self) + narrow,
                dh.pointer(Double.self) + narrow, dc.pointer(Double.self) + narrow, n, Int64(hidden), dGates.pointer(Double.self) + wide)
        }
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
