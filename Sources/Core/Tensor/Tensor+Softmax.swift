internal import CSaddleCore

/// log softmax along `axis`: x - max - log(sum(exp(x - max))), stable for large inputs. Along
/// the last axis, large inputs are split over the threads by rows.
/// Gradient: g - softmax(x) * sum(g).
/// - Throws: `TensorError.invalidArgument` for an axis out of range.
public func logSoftmax(_ x: Tensor, alongAxis axis: Int = -1) throws -> Tensor {
    let axis = try x.normalized(axis: axis, op: "logSoftmax")
    let output: Tensor
    if axis == x.rank - 1 {
        let cols = x.shape[axis]
        let rows = cols == 0 ? 0 : x.count / cols
        output = rowsSplit(x, rows: rows, cols: cols, f32: saddle_log_softmax_rows_f32, f64: saddle_log_softmax_rows_f64)
    } else {
        output = try GradientRecording.withoutRecording {
            let shift = try x.detached.max(alongAxis: axis, keepingAxis: true)
            let shifted = try x.detached - shift
            return try shifted - log(try exp(shifted).sum(alongAxis: axis, keepingAxis: true))
        }
    }
    return Tensor.record(
        "logSoftmax", inputs: [x], output: output,
        tangent: { c in
            guard let t = c.tangents[0] else { return nil }
            return try t - (t * exp(c.output)).sum(alongAxis: axis + 1, keepingAxis: true)
        }
    ) { c in
        let total = try c.cotangent.sum(alongAxis: axis, keepingAxis: true)
        return [try c.cotangent - exp(c.output) * total]
    }
}

/// softmax along `axis`: exp(x - max) / sum(exp(x - max)), split over the threads by rows
/// along the last axis. Gradient: y (g - sum(g y)).
/// - Throws: `TensorError.invalidArgument` for an axis out of range.
public func softmax(_ x: Tensor, alongAxis axis: Int = -1) throws -> Tensor {
    let axis = try x.normalized(axis: axis, op: "softmax")
    let output: Tensor
    if axis == x.rank - 1 {
        let cols = x.shape[axis]
        let rows = cols == 0 ? 0 : x.count / cols
        output = rowsSplit(x, rows: rows, cols: cols, f32: saddle_softmax_rows_f32, f64: saddle_softmax_rows_f64)
    } else {
        output = exp(try logSoftmax(x.detached, alongAxis: axis))
    }
    return Tensor.record(
        "softmax", inputs: [x], output: output,
        tangent: { c in
            guard let t = c.tangents[0] else { return nil }
            return try c.output * (t - (t * c.output).sum(alongAxis: axis + 1, keepingAxis: true))
        }
    ) { c in
        let y = c.output
        let weighted = try (c.cotangent * y).sum(alongAxis: axis, keepingAxis: true)
        return [try y * (c.cotangent - weighted)]
    }
}

/// A row-wise kernel (softmax or log softmax) over `x` `[rows, cols]`, split over the threads
/// by rows; each row is computed alone, so the bits do not depend on the split.
private func rowsSplit(
    _ x: Tensor, rows: Int, cols: Int,
    f32: @Sendable (UnsafePointer<Float>?, Int64, Int64, UnsafeMutablePointer<Float>?) -> Void,
    f64: @Sendable (UnsafePointer<Double>?, Int64, Int64, UnsafeMutablePointer<Double>?) -> Void
) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    Parallel.forEachRange(rows, elements: x.count, minimum: Parallel.minimumElementwise) { range in
        let (at, count) = (range.lowerBound * cols, Int64(range.count))
        switch x.dtype {
        case .float32: f32(x.pointer(Float.self) + at, count, Int64(cols), out.pointer(Float.self) + at)
        case .float64: f64(x.pointer(Double.self) + at, count, Int64(cols), out.pointer(Double.self) + at)
        }
    }
    return out
}

/// Class indices read from a tensor of whole numbers in 0..<classCount.
/// - Throws: `TensorError.invalidArgument` naming the first bad entry.
func classIndices(_ labels: Tensor, classCount: Int, op: String) throws -> [Int64] {
    let values = labels.doubles
    return try values.enumerated().map { i, value in
        guard value.rounded() == value, value >= 0, value < Double(classCount) else {
            throw TensorError.invalidArgument(
                op: op, reason: "label \(i) is \(value); labels must be whole numbers in 0..<\(classCount)")
        }
        return Int64(value)
    }
}

/// Mean softmax cross-entropy of `logits` `[batch, classes]` against class indices `labels`
/// `[batch]` (whole numbers of any dtype): mean over rows of -log softmax(logits)[label].
/// Computed in one fused, stable pass. Gradient: (softmax(logits) - onehot(labels)) g / batch.
/// - Throws: `TensorError` for mismatched shapes or labels outside 0..<classes.
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor) throws -> Tensor {
    guard logits.rank == 2, labels.rank == 1, labels.shape[0] == logits.shape[0] else {
        throw TensorError.shapeMismatch(
            op: "softmaxCrossEntropy", shapes: [logits.shape, labels.shape],
            reason: "logits must be [batch, classes] and labels [batch]")
    }
    let (rows, cols) = (logits.shape[0], logits.shape[1])
    guard rows > 0 else {
        throw TensorError.invalidArgument(op: "softmaxCrossEntropy", reason: "the batch is empty")
    }
    let indices = try classIndices(labels, classCount: cols, op: "softmaxCrossEntropy")
    var probabilities = Tensor(uninitializedShape: logits.shape, dtype: logits.dtype)
    let total = indices.withUnsafeBufferPointer { index in
        switch logits.dtype {
        case .float32:
            saddle_softmax_xent_rows_f32(
                logits.pointer(Float.self), Int64(rows), Int64(cols), index.baseAddress, probabilities.pointer(Float.self))
        case .float64:
            saddle_softmax_xent_rows_f64(
                logits.pointer(Double.self), Int64(rows), Int64(cols), index.baseAddress, probabilities.pointer(Double.self))
        }
    }
    let loss = Tensor(total / Double(rows), dtype: logits.dtype)
    let saved = probabilities
    let target = try oneHot(indices.map(Int.init), classCount: cols, dtype: logits.dtype)
    return Tensor.record(
        "softmaxCrossEntropy", inputs: [logits], output: loss,
        tangent: { c in
            guard let t = c.tangents[0] else { return nil }
            return try (t * (saved - target)).reshaped(to: [c.directions, -1]).sum(alongAxis: 1) * (1 / Double(rows))
        }
    ) { c in
        let scale = c.cotangent * (1 / Double(rows))
        if c.isCreatingGraph {
            return [try (softmax(c.inputs[0]) - target) * scale]
        }
        var grad = saved
        grad.addInPlace(target, scaledBy: -1)
        return [try grad * scale]
    }
}

/// One-hot rows `[labels.count, classCount]`: row i has a 1 at column labels[i]. Not
/// differentiable.
/// - Throws: `TensorError.invalidArgument` for a label outside 0..<classCount.
public func oneHot(_ labels: [Int], classCount: Int, dtype: DType = .float32) throws -> Tensor {
    guard classCount >= 1 else {
        throw TensorError.invalidArgument(op: "oneHot", reason: "classCount \(classCount) must be at least 1")
    }
    var out = Tensor.zeros([labels.count, classCount], dtype: dtype)
    for (i, label) in labels.enumerated() {
        guard label >= 0 && label < classCount else {
            throw TensorError.invalidArgument(op: "oneHot", reason: "label \(i) is \(label), outside 0..<\(classCount)")
        }
        out.setScalar(1, at: i * classCount + label)
    }
    return out
}

/// One-hot rows for class indices held in a tensor (whole numbers). Not differentiable.
/// - Throws: `TensorError.invalidArgument` for a label that is not a whole number in range.
public func oneHot(_ labels: Tensor, classCount: Int) throws -> Tensor {
    let indices = try classIndices(labels, classCount: classCount, op: "oneHot")
    let out = try oneHot(indices.map(Int.init), classCount: classCount, dtype: labels.dtype)
    return Tensor.recordNondifferentiable("oneHot", inputs: [labels], output: out)
}
