internal import CSaddleCore

extension Tensor {
    /// The axes reordered: output axis k is input axis `axes[k]` (a copy).
    /// Gradient: the inverse permutation.
    /// - Throws: `TensorError.invalidArgument` unless `axes` is a permutation of 0..<rank.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw TensorError.invalidArgument(
                op: "permuted", reason: "\(axes) is not a permutation of the \(rank) axes of \(describe(shape: shape))")
        }
        if axes == Array(0..<rank) { return self }
        let outShape = axes.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape, dtype: dtype)
        var inputStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inputStrides[i] = inputStrides[i + 1] * shape[i + 1] }
        // Output axes that are also adjacent and in order in the input merge into one.
        var extents: [Int64] = []
        var steps: [Int64] = []
        for axis in axes where shape[axis] != 1 {
            let (extent, step) = (Int64(shape[axis]), Int64(inputStrides[axis]))
            if let last = steps.last, last == step * extent {
                extents[extents.count - 1] *= extent
                steps[steps.count - 1] = step
            } else {
                extents.append(extent)
                steps.append(step)
            }
        }
        if extents.isEmpty { (extents, steps) = ([1], [1]) }
        if out.count > 0 {
            Tensor.permuteCopy(from: self, extents: extents, steps: steps, into: out)
        }
        var inversion = [Int](repeating: 0, count: rank)
        for (k, axis) in axes.enumerated() { inversion[axis] = k }
        let inverse = inversion
        return Tensor.record(
            "permuted", inputs: [self], output: out,
            tangent: { c in try c.tangents[0].map { try $0.permuted([0] + axes.map { $0 + 1 }) } }
        ) { c in [try c.cotangent.permuted(inverse)] }
    }
}

extension Tensor {
    /// Copies `source` into `out` in the merged order `extents`/`steps` (input strides of the
    /// output axes), through the C kernel for up to 8 axes and element by element beyond.
    fileprivate static func permuteCopy(from source: Tensor, extents: [Int64], steps: [Int64], into out: Tensor) {
        if extents.count <= 8 {
            extents.withUnsafeBufferPointer { e in
                steps.withUnsafeBufferPointer { s in
                    switch source.dtype {
                    case .float32: saddle_permute_f32(source.pointer(Float.self), Int64(e.count), e.baseAddress, s.baseAddress, out.pointer(Float.self))
                    case .float64: saddle_permute_f64(source.pointer(Double.self), Int64(e.count), e.baseAddress, s.baseAddress, out.pointer(Double.self))
                    }
                }
            }
            return
        }
        let width = source.dtype.byteCount
        var index = [Int64](repeating: 0, count: extents.count)
        var offset: Int64 = 0
        for element in 0..<out.count {
            (out.address + element * width).copyMemory(from: source.address + Int(offset) * width, byteCount: width)
            var k = extents.count - 1
            while k >= 0 {
                index[k] += 1
                offset += steps[k]
                if index[k] < extents[k] { break }
                offset -= steps[k] * extents[k]
                index[k] = 0
                k -= 1
            }
        }
    }
}
