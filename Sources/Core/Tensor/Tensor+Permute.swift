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
        var out = Tensor(uninitializedShape: outShape, dtype: dtype)
        var inputStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inputStrides[i] = inputStrides[i + 1] * shape[i + 1] }
        let strides = axes.map { inputStrides[$0] }
        let width = dtype.byteCount
        // Runs of contiguous elements when the last axis stays last.
        let run = axes.last == rank - 1 ? shape[rank - 1] : 1
        let outer = out.count / Swift.max(run, 1)
        let outerRank = run > 1 ? rank - 1 : rank
        var index = [Int](repeating: 0, count: outerRank)
        var source = 0
        let from = address
        var to = out.address
        for _ in 0..<(run == 0 ? 0 : outer) {
            (to).copyMemory(from: from + source * width, byteCount: run * width)
            to += run * width
            var k = outerRank - 1
            while k >= 0 {
                index[k] += 1
                source += strides[k]
                if index[k] < outShape[k] { break }
                source -= strides[k] * outShape[k]
                index[k] = 0
                k -= 1
            }
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
