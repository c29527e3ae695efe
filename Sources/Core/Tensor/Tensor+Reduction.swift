internal import CSaddleCore

/// Reductions: sum, mean, max and argmax, in total and along one axis.
extension Tensor {
    /// `axis` made non-negative (negative axes count from the end).
    /// - Throws: `TensorError.invalidArgument` naming `op` when the axis is out of range.
    func normalized(axis: Int, op: String) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0 && resolved < rank else {
            throw TensorError.invalidArgument(
                op: op, reason: "axis \(axis) is out of range for shape \(describe(shape: shape))")
        }
        return resolved
    }

    /// The extents before, at and after `axis`.
    private func split(at axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    private func reducedShape(_ axis: Int, keepingAxis: Bool) -> [Int] {
        var result = shape
        if keepingAxis { result[axis] = 1 } else { result.remove(at: axis) }
        return result
    }

    /// Sum along a valid non-negative `axis`; no recording.
    func rawSum(axis: Int, keepingAxis: Bool) -> Tensor {
        let (outer, n, inner) = split(at: axis)
        var out = Tensor(uninitializedShape: reducedShape(axis, keepingAxis: keepingAxis), dtype: dtype)
        if n == 0 {
            out.fill(with: 0)
            return out
        }
        switch dtype {
        case .float32:
            saddle_sum_axis_f32(pointer(Float.self), Int64(outer), Int64(n), Int64(inner), out.pointer(Float.self))
        case .float64:
            saddle_sum_axis_f64(pointer(Double.self), Int64(outer), Int64(n), Int64(inner), out.pointer(Double.self))
        }
        return out
    }

    /// The inner product with `other` (same shape and dtype), accumulated in Float64; not
    /// recorded.
    /// - Throws: `TensorError` when shapes or dtypes differ.
    public func dot(_ other: Tensor) throws -> Double {
        guard shape == other.shape else {
            throw TensorError.shapeMismatch(op: "dot", shapes: [shape, other.shape], reason: "the shapes must be equal")
        }
        guard dtype == other.dtype else { throw TensorError.dtypeMismatch(op: "dot", dtypes: [dtype, other.dtype]) }
        switch dtype {
        case .float32: return saddle_dot_f32(pointer(Float.self), other.pointer(Float.self), Int64(count))
        case .float64: return saddle_dot_f64(pointer(Double.self), other.pointer(Double.self), Int64(count))
        }
    }

    /// The sum of squares of all elements, accumulated in Float64 (not recorded).
    public var squaredNorm: Double {
        switch dtype {
        case .float32: saddle_dot_f32(pointer(Float.self), pointer(Float.self), Int64(count))
        case .float64: saddle_dot_f64(pointer(Double.self), pointer(Double.self), Int64(count))
        }
    }

    /// The sum of all elements, as a rank-0 tensor. Gradient: g broadcast to the input.
    public func sum() -> Tensor {
        let total: Double
        switch dtype {
        case .float32: total = saddle_sum_f32(pointer(Float.self), Int64(count))
        case .float64: total = saddle_sum_f64(pointer(Double.self), Int64(count))
        }
        let source = shape
        return Tensor.record(
            "sum", inputs: [self], output: Tensor(total, dtype: dtype),
            tangent: { c in try c.tangents[0].map { try $0.reshaped(to: [c.directions, -1]).sum(alongAxis: 1) } }
        ) { c in
            [try c.cotangent.broadcasted(to: source)]
        }
    }

    /// The sum along `axis`, which is removed unless `keepingAxis`.
    /// - Throws: `TensorError.invalidArgument` for an axis out of range.
    public func sum(alongAxis axis: Int, keepingAxis: Bool = false) throws -> Tensor {
        let axis = try normalized(axis: axis, op: "sum(alongAxis:)")
        let source = shape
        let kept = reducedShape(axis, keepingAxis: true)
        return Tensor.record(
            "sum(alongAxis:)", inputs: [self], output: rawSum(axis: axis, keepingAxis: keepingAxis),
            tangent: { c in try c.tangents[0].map { try $0.sum(alongAxis: axis + 1, keepingAxis: keepingAxis) } }
        ) { c in
            [try c.cotangent.reshaped(to: kept).broadcasted(to: source)]
        }
    }

    /// The mean of all elements, as a rank-0 tensor.
    public func mean() -> Tensor {
        sum() * (1 / Double(Swift.max(count, 1)))
    }

    /// The mean along `axis`, which is removed unless `keepingAxis`.
    /// - Throws: `TensorError.invalidArgument` for an axis out of range.
    public func mean(alongAxis axis: Int, keepingAxis: Bool = false) throws -> Tensor {
        let n = shape[try normalized(axis: axis, op: "mean(alongAxis:)")]
        return try sum(alongAxis: axis, keepingAxis: keepingAxis) * (1 / Double(Swift.max(n, 1)))
    }

    /// Maximum and the index of its first occurrence along a valid axis; no recording.
    private func rawMax(axis: Int, keepingAxis: Bool) -> (values: Tensor, indices: [Int64]) {
        let (outer, n, inner) = split(at: axis)
        var out = Tensor(uninitializedShape: reducedShape(axis, keepingAxis: keepingAxis), dtype: dtype)
        var indices = [Int64](repeating: 0, count: outer * inner)
        indices.withUnsafeMutableBufferPointer { index in
            switch dtype {
            case .float32:
                saddle_max_axis_f32(pointer(Float.self), Int64(outer), Int64(n), Int64(inner), out.pointer(Float.self), index.baseAddress)
            case .float64:
                saddle_max_axis_f64(pointer(Double.self), Int64(outer), Int64(n), Int64(inner), out.pointer(Double.self), index.baseAddress)
            }
        }
        return (out, indices)
    }

    /// The maximum along `axis` (removed unless `keepingAxis`). The gradient goes to the first
    /// maximal element of each slice.
    /// - Throws: `TensorError.invalidArgument` for an axis out of range or an empty axis.
    public func max(alongAxis axis: Int, keepingAxis: Bool = false) throws -> Tensor {
        let axis = try normalized(axis: axis, op: "max(alongAxis:)")
        guard shape[axis] > 0 else {
            throw TensorError.invalidArgument(op: "max(alongAxis:)", reason: "axis \(axis) of shape \(describe(shape: shape)) is empty")
        }
        let (values, indices) = rawMax(axis: axis, keepingAxis: keepingAxis)
        let (outer, n, inner) = split(at: axis)
        let source = shape
        let kept = reducedShape(axis, keepingAxis: true)
        let dtype = self.dtype
        // A constant mask selecting each slice's first maximum.
        let mask: @Sendable () -> Tensor = {
            var mask = Tensor.zeros(source, dtype: dtype)
            for o in 0..<outer {
                for j in 0..<inner {
                    mask.setScalar(1, at: (o * n + Int(indices[o * inner + j])) * inner + j)
                }
            }
            return mask
        }
        return Tensor.record(
            "max(alongAxis:)", inputs: [self], output: values,
            tangent: { c in try c.tangents[0].map { try ($0 * mask()).sum(alongAxis: axis + 1, keepingAxis: keepingAxis) } }
        ) { c in
            [try c.cotangent.reshaped(to: kept).broadcasted(to: source) * mask()]
        }
    }

    /// The largest element, as a rank-0 tensor.
    /// - Throws: `TensorError.invalidArgument` for an empty tensor.
    public func max() throws -> Tensor {
        try reshaped(to: [count]).max(alongAxis: 0)
    }

    /// The minimum along `axis` (removed unless `keepingAxis`).
    /// - Throws: `TensorError.invalidArgument` for an axis out of range or an empty axis.
    public func min(alongAxis axis: Int, keepingAxis: Bool = false) throws -> Tensor {
        -(try (-self).max(alongAxis: axis, keepingAxis: keepingAxis))
    }

    /// The smallest element, as a rank-0 tensor.
    /// - Throws: `TensorError.invalidArgument` for an empty tensor.
    public func min() throws -> Tensor {
        -(try (-self).max())
    }

    /// The index of the first maximum along `axis` (removed), as a tensor of whole numbers of
    /// this dtype. Not differentiable.
    /// - Throws: `TensorError.invalidArgument` for an axis out of range or an empty axis.
    public func argmax(alongAxis axis: Int) throws -> Tensor {
        let axis = try normalized(axis: axis, op: "argmax(alongAxis:)")
        guard shape[axis] > 0 else {
            throw TensorError.invalidArgument(op: "argmax(alongAxis:)", reason: "axis \(axis) of shape \(describe(shape: shape)) is empty")
        }
        let indices = rawMax(axis: axis, keepingAxis: false).indices
        var out = Tensor(uninitializedShape: reducedShape(axis, keepingAxis: false), dtype: dtype)
        for (i, index) in indices.enumerated() { out.setScalar(Double(index), at: i) }
        return Tensor.recordNondifferentiable("argmax", inputs: [self], output: out)
    }

    /// The flat (row-major) index of the first maximum.
    /// - Throws: `TensorError.invalidArgument` for an empty tensor.
    public func argmax() throws -> Int {
        guard count > 0 else { throw TensorError.invalidArgument(op: "argmax", reason: "the tensor is empty") }
        return Int(viewed(as: [count]).rawMax(axis: 0, keepingAxis: false).indices[0])
    }
}
