internal import CSaddleCore

/// Broadcasting (NumPy rules: shapes align on the right; an extent of 1 stretches) and the raw
/// element-wise kernels that every differentiable element-wise operation is built on.
extension Tensor {
    /// The shape two operands broadcast to.
    /// - Throws: `TensorError.shapeMismatch` naming `op` when an axis differs and neither is 1.
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: String = "broadcast") throws -> [Int] {
        if a == b { return a }
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw TensorError.shapeMismatch(
                    op: op, shapes: [a, b],
                    reason: "axis \(i - rank) has extents \(da) and \(db); broadcasting needs them equal or one of them 1")
            }
            result[i] = da == 1 ? db : da
        }
        return result
    }

    /// Element strides of this tensor's elements when broadcast to `target` (0 on stretched axes).
    private func broadcastStrides(to target: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: target.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let axis = target.count - shape.count + i
            strides[axis] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// `op` applied element-wise with broadcasting; no recording.
    func rawBinary(_ op: SaddleBinaryOp, _ other: Tensor, name: String) throws -> Tensor {
        guard dtype == other.dtype else { throw TensorError.dtypeMismatch(op: name, dtypes: [dtype, other.dtype]) }
        let outShape = try Tensor.broadcastShape(shape, other.shape, op: name)
        var out = Tensor(uninitializedShape: outShape, dtype: dtype)
        let n = out.count
        if n == 0 { return out }
        if shape == other.shape || (count == n && other.count == 1) || (count == 1 && other.count == n) {
            Tensor.binaryKernel(op, self, 0, count == 1 ? 0 : 1, other, 0, other.count == 1 ? 0 : 1, &out, 0, n)
            return out
        }
        // Merge axes from the innermost outwards while both operands stay regular across them.
        let sa = broadcastStrides(to: outShape)
        let sb = other.broadcastStrides(to: outShape)
        var dims: [(extent: Int, a: Int, b: Int)] = []
        for axis in stride(from: outShape.count - 1, through: 0, by: -1) where outShape[axis] != 1 {
            let (e, a, b) = (outShape[axis], sa[axis], sb[axis])
            if let last = dims.last, a == last.a * last.extent, b == last.b * last.extent {
                dims[dims.count - 1].extent *= e
            } else {
                dims.append((e, a, b))
            }
        }
        // A small broadcast of up to 8 merged axes runs in one C call that steps through the
        // runs itself (thousands of short runs cost more in Swift than in their kernels); a
        // large one splits each run over the threads.
        if dims.count <= 8, Parallel.parts(dims[0].extent, elements: n, minimum: Parallel.minimumElementwise) == 1 {
            let (extents, stridesA, stridesB) = (dims.map { Int64($0.extent) }, dims.map { Int64($0.a) }, dims.map { Int64($0.b) })
            extents.withUnsafeBufferPointer { e in
                stridesA.withUnsafeBufferPointer { sa in
                    stridesB.withUnsafeBufferPointer { sb in
                        let rank = Int64(e.count)
                        switch dtype {
                        case .float32:
                            saddle_binary_broadcast_f32(
                                Int32(op.rawValue), pointer(Float.self), other.pointer(Float.self), out.pointer(Float.self), rank, e.baseAddress,
                                sa.baseAddress, sb.baseAddress)
                        case .float64:
                            saddle_binary_broadcast_f64(
                                Int32(op.rawValue), pointer(Double.self), other.pointer(Double.self), out.pointer(Double.self), rank, e.baseAddress,
                                sa.baseAddress, sb.baseAddress)
                        }
                    }
                }
            }
            return out
        }
        let inner = dims.removeFirst()
        var index = [Int](repeating: 0, count: dims.count)
        var offsetA = 0
        var offsetB = 0
        var offsetOut = 0
        while offsetOut < n {
            Tensor.binaryKernel(op, self, offsetA, inner.a, other, offsetB, inner.b, &out, offsetOut, inner.extent)
            offsetOut += inner.extent
            // Odometer over the outer axes.
            var k = 0
            while k < dims.count {
                index[k] += 1
                offsetA += dims[k].a
                offsetB += dims[k].b
                if index[k] < dims[k].extent { break }
                offsetA -= dims[k].a * dims[k].extent
                offsetB -= dims[k].b * dims[k].extent
                index[k] = 0
                k += 1
            }
        }
        return out
    }

    private static func binaryKernel(
        _ op: SaddleBinaryOp, _ a: Tensor, _ offsetA: Int, _ strideA: Int, _ b: Tensor, _ offsetB: Int,
        _ strideB: Int, _ out: inout Tensor, _ offsetOut: Int, _ n: Int
    ) {
        // Every element is computed alone, so splitting the range over the cores gives the
        // same bits for any number of parts.
        let target = out
        Parallel.forEachRange(n, elements: n, minimum: Parallel.minimumElementwise) { range in
            let (first, length) = (range.lowerBound, Int64(range.count))
            switch a.dtype {
            case .float32:
                saddle_binary_f32(
                    Int32(op.rawValue), a.pointer(Float.self) + offsetA + first * strideA, Int64(strideA),
                    b.pointer(Float.self) + offsetB + first * strideB, Int64(strideB), target.pointer(Float.self) + offsetOut + first, length)
            case .float64:
                saddle_binary_f64(
                    Int32(op.rawValue), a.pointer(Double.self) + offsetA + first * strideA, Int64(strideA),
                    b.pointer(Double.self) + offsetB + first * strideB, Int64(strideB), target.pointer(Double.self) + offsetOut + first, length)
            }
        }
    }

    /// `op` applied element-wise; no recording.
    func rawUnary(_ op: SaddleUnaryOp) -> Tensor {
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        let source = self
        Parallel.forEachRange(count, elements: count, minimum: Parallel.minimumElementwise) { range in
            let (first, length) = (range.lowerBound, Int64(range.count))
            switch source.dtype {
            case .float32: saddle_unary_f32(Int32(op.rawValue), source.pointer(Float.self) + first, out.pointer(Float.self) + first, length)
            case .float64: saddle_unary_f64(Int32(op.rawValue), source.pointer(Double.self) + first, out.pointer(Double.self) + first, length)
            }
        }
        return out
    }

    /// alpha * self + beta element-wise; no recording.
    func rawAffine(scale alpha: Double, shift beta: Double) -> Tensor {
        let (out, source) = (Tensor(uninitializedShape: shape, dtype: dtype), self)
        Parallel.forEachRange(count, elements: count, minimum: Parallel.minimumElementwise) { range in
            let (first, length) = (range.lowerBound, Int64(range.count))
            switch source.dtype {
            case .float32:
                saddle_affine_f32(source.pointer(Float.self) + first, Float(alpha), Float(beta), out.pointer(Float.self) + first, length)
            case .float64:
                saddle_affine_f64(source.pointer(Double.self) + first, alpha, beta, out.pointer(Double.self) + first, length)
            }
        }
        return out
    }

    /// self + other for equal shapes, reusing this tensor's storage when it is not shared;
    /// used to accumulate gradients. No recording.
    func accumulating(_ other: Tensor) -> Tensor {
        var result = self
        result.addInPlace(other, scaledBy: 1)
        return result
    }

    /// self = scale * other + self, in place (copying shared storage first). Shapes must match;
    /// drops the autodiff node. The building block of optimizer updates.
    public mutating func addInPlace(_ other: Tensor, scaledBy scale: Double) {
        precondition(shape == other.shape && dtype == other.dtype, "addInPlace: \(shape) vs \(other.shape)")  // trap-ok
        prepareForMutation()
        rawAxpby(other, scaledBy: scale, scalingSelfBy: 1)
    }

    /// self = scale * self + otherScale * other, in place; shapes must match. Drops the node.
    public mutating func scaleInPlace(by scale: Double, adding other: Tensor, scaledBy otherScale: Double) {
        precondition(shape == other.shape && dtype == other.dtype, "scaleInPlace: \(shape) vs \(other.shape)")  // trap-ok
        prepareForMutation()
        rawAxpby(other, scaledBy: otherScale, scalingSelfBy: scale)
    }

    /// self = b * self + a * other through this tensor's storage, split over the threads by
    /// element ranges (each element alone, so the bits do not depend on the split).
    func rawAxpby(_ other: Tensor, scaledBy a: Double, scalingSelfBy b: Double) {
        let target = self
        Parallel.forEachRange(count, elements: count, minimum: Parallel.minimumElementwise) { range in
            let (first, length) = (range.lowerBound, Int64(range.count))
            switch target.dtype {
            case .float32:
                saddle_axpby_f32(other.pointer(Float.self) + first, Float(a), target.pointer(Float.self) + first, Float(b), length)
            case .float64:
                saddle_axpby_f64(other.pointer(Double.self) + first, a, target.pointer(Double.self) + first, b, length)
            }
        }
    }

    /// Sum over the axes that broadcasting stretched, giving `targetShape`; no recording.
    func rawSummed(toShape targetShape: [Int]) -> Tensor {
        if shape == targetShape { return self }
        var current = self
        let extra = shape.count - targetShape.count
        if extra > 0 {
            let lead = shape.prefix(extra).reduce(1, *)
            current = current.viewed(as: [lead] + Array(shape.dropFirst(extra))).rawSum(axis: 0, keepingAxis: false)
        }
        for axis in 0..<targetShape.count where targetShape[axis] == 1 && current.shape[axis] != 1 {
            current = current.rawSum(axis: axis, keepingAxis: true)
        }
        return current
    }

    /// This tensor stretched to `targetShape`; no recording.
    func rawBroadcast(to targetShape: [Int]) throws -> Tensor {
        if shape == targetShape { return self }
        guard try Tensor.broadcastShape(shape, targetShape, op: "broadcasted(to:)") == targetShape else {
            throw TensorError.shapeMismatch(
                op: "broadcasted(to:)", shapes: [shape, targetShape], reason: "the source does not broadcast to the target")
        }
        return try Tensor(uninitializedShape: targetShape, dtype: dtype).rawBinary(SADDLE_SECOND, self, name: "broadcasted(to:)")
    }
}

// MARK: - Differentiable broadcasting

extension Tensor {
    /// This tensor stretched to `shape` by broadcasting. Gradient: summed back.
    /// - Throws: `TensorError.shapeMismatch` when the shapes do not broadcast to `shape`.
    public func broadcasted(to shape: [Int]) throws -> Tensor {
        let source = self.shape
        return Tensor.record(
            "broadcasted(to:)", inputs: [self], output: try rawBroadcast(to: shape),
            tangent: { c in try c.linearCombination([(0, nil)]) }
        ) { context in
            [try context.cotangent.summed(toShape: source)]
        }
    }

    /// The sum over the axes that broadcasting from `shape` stretched: the adjoint of
    /// `broadcasted(to:)`, and how broadcast operands receive their gradients.
    /// - Throws: `TensorError.shapeMismatch` when `shape` does not broadcast to this shape.
    public func summed(toShape shape: [Int]) throws -> Tensor {
        guard try Tensor.broadcastShape(shape, self.shape, op: "summed(toShape:)") == self.shape else {
            throw TensorError.shapeMismatch(
                op: "summed(toShape:)", shapes: [self.shape, shape], reason: "the target does not broadcast to the source")
        }
        let source = self.shape
        return Tensor.record(
            "summed(toShape:)", inputs: [self], output: rawSummed(toShape: shape),
            tangent: { c in
                guard let t = c.tangents[0] else { return nil }
                let lifted = [c.directions] + [Int](repeating: 1, count: source.count - shape.count) + shape
                return try t.summed(toShape: lifted).reshaped(to: [c.directions] + shape)
            }
        ) { context in
            [try context.cotangent.broadcasted(to: source)]
        }
    }
}
