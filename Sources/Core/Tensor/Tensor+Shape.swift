internal import CSaddleCore

/// Shape operations: reshape, 2-D transpose, row views and gathers, narrowing, concatenation
/// and splitting. Reshapes and row ranges share storage; the others copy.
extension Tensor {
    /// The same elements with a new shape; one extent may be -1 (inferred). Shares storage.
    /// - Throws: `TensorError.shapeMismatch` when the element counts differ.
    public func reshaped(to newShape: [Int]) throws -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0, target.filter({ $0 == -1 }).count == 1 else {
                throw TensorError.shapeMismatch(
                    op: "reshaped(to:)", shapes: [shape, newShape], reason: "cannot infer the -1 extent")
            }
            target[hole] = count / known
        }
        guard target.allSatisfy({ $0 >= 0 }), target.reduce(1, *) == count else {
            throw TensorError.shapeMismatch(
                op: "reshaped(to:)", shapes: [shape, newShape],
                reason: "\(count) elements cannot take shape \(describe(shape: newShape))")
        }
        if target == shape { return self }
        let source = shape
        let finalShape = target
        return Tensor.record(
            "reshaped(to:)", inputs: [self], output: viewed(as: finalShape),
            tangent: { c in try c.tangents[0].map { try $0.reshaped(to: [c.directions] + finalShape) } }
        ) { c in
            [try c.cotangent.reshaped(to: source)]
        }
    }

    /// The transpose of a 2-D tensor (a copy). Matrix products take transposes as flags
    /// instead; see `matmul(_:_:transposeA:transposeB:)`.
    /// - Throws: `TensorError.invalidArgument` unless the tensor has two axes.
    public func transposed() throws -> Tensor {
        guard rank == 2 else {
            throw TensorError.invalidArgument(op: "transposed", reason: "needs 2 axes, got shape \(describe(shape: shape))")
        }
        let out = Tensor(uninitializedShape: [shape[1], shape[0]], dtype: dtype)
        switch dtype {
        case .float32: saddle_transpose_f32(pointer(Float.self), Int64(shape[0]), Int64(shape[1]), out.pointer(Float.self))
        case .float64: saddle_transpose_f64(pointer(Double.self), Int64(shape[0]), Int64(shape[1]), out.pointer(Double.self))
        }
        return Tensor.record(
            "transposed", inputs: [self], output: out,
            tangent: { c in try c.tangents[0].map { try $0.permuted([0, 2, 1]) } }
        ) { c in [try c.cotangent.transposed()] }
    }

    /// The rows `range` along the first axis: a view sharing storage.
    /// - Throws: `TensorError.invalidArgument` for a scalar or a range outside the first axis.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        try narrowed(alongAxis: 0, range: range)
    }

    /// The elements whose index along `axis` lies in `range`. A view for the first axis, a copy
    /// otherwise. Gradient: the cotangent padded with zeros.
    /// - Throws: `TensorError.invalidArgument` for a bad axis or a range outside it.
    public func narrowed(alongAxis axis: Int, range: Range<Int>) throws -> Tensor {
        let axis = try normalized(axis: axis, op: "narrowed(alongAxis:range:)")
        guard range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw TensorError.invalidArgument(
                op: "narrowed(alongAxis:range:)",
                reason: "range \(range) is outside axis \(axis) of shape \(describe(shape: shape))")
        }
        if range.count == shape[axis] { return self }
        var outShape = shape
        outShape[axis] = range.count
        let inner = shape[(axis + 1)...].reduce(1, *)
        let output: Tensor
        if axis == 0 {
            output = Tensor(storage: storage, offset: offset + range.lowerBound * inner, shape: outShape)
        } else {
            output = Tensor.copyBlocks(
                from: [(self, range.lowerBound, range.count)], axis: axis, outShape: outShape)
        }
        let extent = shape[axis]
        return Tensor.record(
            "narrowed", inputs: [self], output: output,
            tangent: { c in try c.tangents[0].map { try $0.narrowed(alongAxis: axis + 1, range: range) } }
        ) { c in
            [try c.cotangent.padded(alongAxis: axis, before: range.lowerBound, after: extent - range.upperBound)]
        }
    }

    /// Zeros added before and after the elements along `axis`. Gradient: the cotangent
    /// narrowed back.
    /// - Throws: `TensorError.invalidArgument` for a bad axis or a negative amount.
    public func padded(alongAxis axis: Int, before: Int, after: Int) throws -> Tensor {
        let axis = try normalized(axis: axis, op: "padded(alongAxis:before:after:)")
        guard before >= 0, after >= 0 else {
            throw TensorError.invalidArgument(op: "padded(alongAxis:before:after:)", reason: "negative padding \(before), \(after)")
        }
        var outShape = shape
        outShape[axis] += before + after
        let zeros = Tensor.zeros([], dtype: dtype)
        let output = Tensor.copyBlocks(
            from: [(zeros, 0, before), (self, 0, shape[axis]), (zeros, 0, after)], axis: axis, outShape: outShape)
        let range = before..<(before + shape[axis])
        return Tensor.record(
            "padded", inputs: [self], output: output,
            tangent: { c in try c.tangents[0].map { try $0.padded(alongAxis: axis + 1, before: before, after: after) } }
        ) { c in
            [try c.cotangent.narrowed(alongAxis: axis, range: range)]
        }
    }

    /// Builds a tensor of `outShape` by laying, for every outer index, the given slices of
    /// each source along `axis` one after another. A rank-0 source stands for zeros.
    private static func copyBlocks(
        from sources: [(tensor: Tensor, start: Int, length: Int)], axis: Int, outShape: [Int]
    ) -> Tensor {
        let dtype = sources.first { $0.tensor.rank > 0 }?.tensor.dtype ?? sources[0].tensor.dtype
        let out = Tensor(uninitializedShape: outShape, dtype: dtype)
        let outer = outShape[..<axis].reduce(1, *)
        let inner = outShape[(axis + 1)...].reduce(1, *)
        let width = dtype.byteCount
        var destination = out.address
        for o in 0..<outer {
            for source in sources where source.length > 0 {
                let bytes = source.length * inner * width
                if source.tensor.rank == 0 {
                    destination.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
                } else {
                    let n = source.tensor.shape[axis]
                    let from = source.tensor.address + ((o * n + source.start) * inner) * width
                    destination.copyMemory(from: from, byteCount: bytes)
                }
                destination += bytes
            }
        }
        return out
    }

    /// Joins tensors along `axis`; all other extents and the dtype must agree. Gradient: the
    /// cotangent split back.
    /// - Throws: `TensorError` for an empty list, mismatched shapes or dtypes, or a bad axis.
    public static func concatenating(_ tensors: [Tensor], alongAxis axis: Int) throws -> Tensor {
        guard let first = tensors.first else {
            throw TensorError.invalidArgument(op: "concatenating", reason: "needs at least one tensor")
        }
        let axis = try first.normalized(axis: axis, op: "concatenating")
        for t in tensors {
            guard t.dtype == first.dtype else { throw TensorError.dtypeMismatch(op: "concatenating", dtypes: [first.dtype, t.dtype]) }
            guard t.rank == first.rank,
                zip(t.shape, first.shape).enumerated().allSatisfy({ $0.offset == axis || $0.element.0 == $0.element.1 })
            else {
                throw TensorError.shapeMismatch(
                    op: "concatenating", shapes: tensors.map(\.shape),
                    reason: "all extents except axis \(axis) must agree")
            }
        }
        var outShape = first.shape
        outShape[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
        let output = copyBlocks(from: tensors.map { ($0, 0, $0.shape[axis]) }, axis: axis, outShape: outShape)
        let sizes = tensors.map { $0.shape[axis] }
        return record(
            "concatenating", inputs: tensors, output: output,
            tangent: { c in
                let pieces = c.inputs.indices.map { k in
                    c.tangents[k] ?? Tensor.zeros([c.directions] + c.inputs[k].shape, dtype: c.output.dtype)
                }
                return try Tensor.concatenating(pieces, alongAxis: axis + 1)
            }
        ) { c in
            var start = 0
            return try sizes.enumerated().map { k, size in
                defer { start += size }
                return c.needsGradient(k) ? try c.cotangent.narrowed(alongAxis: axis, range: start..<(start + size)) : nil
            }
        }
    }

    /// Splits along `axis` into pieces of the given sizes, which must add up to the extent.
    /// - Throws: `TensorError` for a bad axis or sizes that do not add up.
    public func split(sizes: [Int], alongAxis axis: Int) throws -> [Tensor] {
        let resolved = try normalized(axis: axis, op: "split(sizes:alongAxis:)")
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[resolved] else {
            throw TensorError.invalidArgument(
                op: "split(sizes:alongAxis:)",
                reason: "sizes \(sizes) do not add up to extent \(shape[resolved]) of axis \(axis)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try narrowed(alongAxis: resolved, range: start..<(start + size))
        }
    }

    /// Rows picked by `indices` along the first axis (repeats allowed; a copy). Gradient: the
    /// cotangent rows added back at their indices.
    /// - Throws: `TensorError.invalidArgument` for a scalar or an index out of range.
    public func gatheringRows(_ indices: [Int]) throws -> Tensor {
        guard rank >= 1 else { throw TensorError.invalidArgument(op: "gatheringRows", reason: "a scalar has no rows") }
        if let bad = indices.first(where: { $0 < 0 || $0 >= shape[0] }) {
            throw TensorError.invalidArgument(op: "gatheringRows", reason: "row \(bad) is outside 0..<\(shape[0])")
        }
        let rowBytes = shape.dropFirst().reduce(1, *) * dtype.byteCount
        let out = Tensor(uninitializedShape: [indices.count] + shape.dropFirst(), dtype: dtype)
        for (k, row) in indices.enumerated() {
            (out.address + k * rowBytes).copyMemory(from: address + row * rowBytes, byteCount: rowBytes)
        }
        let rows = shape[0]
        return Tensor.record(
            "gatheringRows", inputs: [self], output: out,
            tangent: { c in
                guard let t = c.tangents[0] else { return nil }
                let swap = [1, 0] + Array(2..<t.rank)
                return try t.permuted(swap).gatheringRows(indices).permuted(swap)
            }
        ) { c in
            [try c.cotangent.scatteringRows(indices, rowCount: rows)]
        }
    }

    /// A tensor of `rowCount` rows where row `indices[k]` receives the sum of this tensor's
    /// rows `k` (zeros elsewhere): the adjoint of `gatheringRows`.
    /// - Throws: `TensorError.invalidArgument` when indices and rows disagree.
    public func scatteringRows(_ indices: [Int], rowCount: Int) throws -> Tensor {
        guard rank >= 1, shape[0] == indices.count else {
            throw TensorError.invalidArgument(
                op: "scatteringRows", reason: "\(indices.count) indices for shape \(describe(shape: shape))")
        }
        if let bad = indices.first(where: { $0 < 0 || $0 >= rowCount }) {
            throw TensorError.invalidArgument(op: "scatteringRows", reason: "row \(bad) is outside 0..<\(rowCount)")
        }
        let width = shape.dropFirst().reduce(1, *)
        let out = Tensor.zeros([rowCount] + shape.dropFirst(), dtype: dtype)
        for (k, row) in indices.enumerated() {
            let source = Tensor(storage: storage, offset: offset + k * width, shape: [width])
            var target = Tensor(storage: out.storage, offset: row * width, shape: [width])
            target.addInPlaceSharing(source)
        }
        return Tensor.record(
            "scatteringRows", inputs: [self], output: out,
            tangent: { c in
                guard let t = c.tangents[0] else { return nil }
                let swap = [1, 0] + Array(2..<t.rank)
                return try t.permuted(swap).scatteringRows(indices, rowCount: rowCount).permuted(swap)
            }
        ) { c in
            [try c.cotangent.gatheringRows(indices)]
        }
    }

    /// self += other through shared storage (internal; for building fresh outputs).
    private mutating func addInPlaceSharing(_ other: Tensor) {
        rawAxpby(other, scaledBy: 1, scalingSelfBy: 1)
    }
}
