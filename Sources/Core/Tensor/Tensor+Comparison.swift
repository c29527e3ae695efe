internal import CSaddleCore

/// Element-wise comparisons with broadcasting. They return masks (1 where true, 0 where false)
/// of the operands' dtype and are not differentiable: a mask is a constant for every consumer,
/// and differentiating a mask itself throws `AutodiffError.notDifferentiable`.
extension Tensor {
    private func compared(_ op: SaddleBinaryOp, _ name: String, _ other: Tensor) throws -> Tensor {
        Tensor.recordNondifferentiable(name, inputs: [self, other], output: try rawBinary(op, other, name: name))
    }

    private func compared(_ op: SaddleBinaryOp, _ name: String, _ value: Double) -> Tensor {
        let scalar = Tensor(value, dtype: dtype)
        // A scalar of the same dtype always broadcasts.
        let mask = (try? rawBinary(op, scalar, name: name)) ?? zerosLike()
        return Tensor.recordNondifferentiable(name, inputs: [self], output: mask)
    }

    /// The mask of `lhs > rhs` element-wise, with broadcasting: 1 where it holds, 0 elsewhere.
    public static func .> (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.compared(SADDLE_GT, "greater", rhs) }
    /// The mask of `lhs >= rhs` element-wise, with broadcasting: 1 where it holds, 0 elsewhere.
    public static func .>= (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.compared(SADDLE_GE, "greaterOrEqual", rhs) }
    /// The mask of `lhs < rhs` element-wise, with broadcasting: 1 where it holds, 0 elsewhere.
    public static func .< (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.compared(SADDLE_LT, "less", rhs) }
    /// The mask of `lhs <= rhs` element-wise, with broadcasting: 1 where it holds, 0 elsewhere.
    public static func .<= (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.compared(SADDLE_LE, "lessOrEqual", rhs) }
    /// The mask of `lhs == rhs` element-wise, with broadcasting: 1 where it holds, 0 elsewhere.
    public static func .== (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.compared(SADDLE_EQ, "equal", rhs) }
    /// The mask of `lhs != rhs` element-wise, with broadcasting: 1 where it holds, 0 elsewhere.
    public static func .!= (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.compared(SADDLE_NE, "notEqual", rhs) }

    /// The mask of `lhs > rhs` element-wise, for a scalar right operand: 1 where it holds, 0 elsewhere.
    public static func .> (lhs: Tensor, rhs: Double) -> Tensor { lhs.compared(SADDLE_GT, "greater", rhs) }
    /// The mask of `lhs >= rhs` element-wise, for a scalar right operand: 1 where it holds, 0 elsewhere.
    public static func .>= (lhs: Tensor, rhs: Double) -> Tensor { lhs.compared(SADDLE_GE, "greaterOrEqual", rhs) }
    /// The mask of `lhs < rhs` element-wise, for a scalar right operand: 1 where it holds, 0 elsewhere.
    public static func .< (lhs: Tensor, rhs: Double) -> Tensor { lhs.compared(SADDLE_LT, "less", rhs) }
    /// The mask of `lhs <= rhs` element-wise, for a scalar right operand: 1 where it holds, 0 elsewhere.
    public static func .<= (lhs: Tensor, rhs: Double) -> Tensor { lhs.compared(SADDLE_LE, "lessOrEqual", rhs) }
    /// The mask of `lhs == rhs` element-wise, for a scalar right operand: 1 where it holds, 0 elsewhere.
    public static func .== (lhs: Tensor, rhs: Double) -> Tensor { lhs.compared(SADDLE_EQ, "equal", rhs) }
    /// The mask of `lhs != rhs` element-wise, for a scalar right operand: 1 where it holds, 0 elsewhere.
    public static func .!= (lhs: Tensor, rhs: Double) -> Tensor { lhs.compared(SADDLE_NE, "notEqual", rhs) }

    /// Elements of `self` where `mask` is nonzero and of `other` elsewhere (broadcasting all
    /// three). Differentiable in `self` and `other`; the mask is a constant.
    /// - Throws: `TensorError` when the shapes do not broadcast or the dtypes differ.
    public func replacing(where mask: Tensor, with other: Tensor) throws -> Tensor {
        let keep = try mask.detached.rawBinary(SADDLE_NE, Tensor(0, dtype: mask.dtype), name: "replacing(where:with:)")
            .converted(to: dtype)
        let outShape = try Tensor.broadcastShape(
            try Tensor.broadcastShape(shape, other.shape, op: "replacing(where:with:)"), keep.shape,
            op: "replacing(where:with:)")
        // out = other + keep * (self - other), computed without cancellation: pick per element.
        let mine = try rawBroadcast(to: outShape)
        let theirs = try other.detached.rawBroadcast(to: outShape)
        let choice = try keep.rawBroadcast(to: outShape)
        var out = theirs.count == 0 ? theirs : theirs.detached
        out.prepareForMutation()
        for i in 0..<out.count where choice.scalar(at: i) != 0 {
            out.setScalar(mine.scalar(at: i), at: i)
        }
        let (a, b) = (shape, other.shape)
        return Tensor.record(
            "replacing(where:with:)", inputs: [self, other], output: out,
            tangent: { c in try c.linearCombination([(0, keep), (1, 1 - keep)]) }
        ) { c in
            [c.needsGradient(0) ? try (c.cotangent * keep).summed(toShape: a) : nil,
             c.needsGradient(1) ? try (c.cotangent * (1 - keep)).summed(toShape: b) : nil]
        }
    }

    /// Writes one scalar (internal; storage must be unique).
    mutating func setScalar(_ value: Double, at index: Int) {
        switch dtype {
        case .float32: pointer(Float.self)[index] = Float(value)
        case .float64: pointer(Double.self)[index] = value
        }
    }
}
