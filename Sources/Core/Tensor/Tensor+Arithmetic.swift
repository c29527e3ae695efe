internal import CSaddleCore

/// Differentiable element-wise arithmetic with broadcasting.
///
/// Tensor-tensor operators throw `TensorError` naming the operation and both shapes when the
/// shapes do not broadcast or the dtypes differ; operators with a `Double` operand cannot fail.
extension Tensor {
    /// The element-wise sum, with broadcasting.
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor {
        let (a, b) = (lhs.shape, rhs.shape)
        return record(
            "add", inputs: [lhs, rhs], output: try lhs.rawBinary(SADDLE_ADD, rhs, name: "add"),
            tangent: { c in try c.linearCombination([(0, nil), (1, nil)]) }
        ) { c in
            [c.needsGradient(0) ? try c.cotangent.summed(toShape: a) : nil,
             c.needsGradient(1) ? try c.cotangent.summed(toShape: b) : nil]
        }
    }

    /// The element-wise difference, with broadcasting.
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor {
        let (a, b) = (lhs.shape, rhs.shape)
        return record(
            "subtract", inputs: [lhs, rhs], output: try lhs.rawBinary(SADDLE_SUB, rhs, name: "subtract"),
            tangent: { c in try c.linearCombination([(0, nil), (1, Tensor(-1, dtype: c.output.dtype))]) }
        ) { c in
            [c.needsGradient(0) ? try c.cotangent.summed(toShape: a) : nil,
             c.needsGradient(1) ? try (-c.cotangent).summed(toShape: b) : nil]
        }
    }

    /// The element-wise product, with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor {
        record(
            "multiply", inputs: [lhs, rhs], output: try lhs.rawBinary(SADDLE_MUL, rhs, name: "multiply"),
            tangent: { c in try c.linearCombination([(0, c.inputs[1]), (1, c.inputs[0])]) }
        ) { c in
            let (x, y) = (c.inputs[0], c.inputs[1])
            return [c.needsGradient(0) ? try (c.cotangent * y).summed(toShape: x.shape) : nil,
                    c.needsGradient(1) ? try (c.cotangent * x).summed(toShape: y.shape) : nil]
        }
    }

    /// The element-wise quotient, with broadcasting.
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor {
        record(
            "divide", inputs: [lhs, rhs], output: try lhs.rawBinary(SADDLE_DIV, rhs, name: "divide"),
            tangent: { c in try c.linearCombination([(0, c.inputs[1].reciprocal()), (1, -(c.output / c.inputs[1]))]) }
        ) { c in
            let (x, y) = (c.inputs[0], c.inputs[1])
            return [c.needsGradient(0) ? try (c.cotangent / y).summed(toShape: x.shape) : nil,
                    c.needsGradient(1) ? try (-(c.cotangent * c.output) / y).summed(toShape: y.shape) : nil]
        }
    }

    /// The element-wise negation.
    public static prefix func - (operand: Tensor) -> Tensor {
        record(
            "negate", inputs: [operand], output: operand.rawUnary(SADDLE_NEG),
            tangent: { c in try c.linearCombination([(0, Tensor(-1, dtype: c.output.dtype))]) }
        ) { c in [-c.cotangent] }
    }

    // MARK: Scalar operands

    /// `scale * x + shift`, differentiable in `x`.
    public func affine(scale: Double, shift: Double) -> Tensor {
        Tensor.record(
            "affine", inputs: [self], output: rawAffine(scale: scale, shift: shift),
            tangent: { c in try c.linearCombination([(0, Tensor(scale, dtype: c.output.dtype))]) }
        ) { c in
            [c.cotangent * scale]
        }
    }

    /// `lhs + rhs` element-wise for a scalar right operand.
    public static func + (lhs: Tensor, rhs: Double) -> Tensor { lhs.affine(scale: 1, shift: rhs) }
    /// `lhs + rhs` element-wise for a scalar left operand.
    public static func + (lhs: Double, rhs: Tensor) -> Tensor { rhs.affine(scale: 1, shift: lhs) }
    /// `lhs - rhs` element-wise for a scalar right operand.
    public static func - (lhs: Tensor, rhs: Double) -> Tensor { lhs.affine(scale: 1, shift: -rhs) }
    /// `lhs - rhs` element-wise for a scalar left operand.
    public static func - (lhs: Double, rhs: Tensor) -> Tensor { rhs.affine(scale: -1, shift: lhs) }
    /// `lhs * rhs` element-wise for a scalar right operand.
    public static func * (lhs: Tensor, rhs: Double) -> Tensor { lhs.affine(scale: rhs, shift: 0) }
    /// `lhs * rhs` element-wise for a scalar left operand.
    public static func * (lhs: Double, rhs: Tensor) -> Tensor { rhs.affine(scale: lhs, shift: 0) }
    /// `lhs / rhs` element-wise for a scalar divisor (a multiplication by 1 / rhs).
    public static func / (lhs: Tensor, rhs: Double) -> Tensor { lhs.affine(scale: 1 / rhs, shift: 0) }

    /// `lhs / rhs` element-wise for a scalar numerator.
    public static func / (lhs: Double, rhs: Tensor) -> Tensor {
        rhs.reciprocal() * lhs
    }
}

// MARK: - Maximum, minimum, power

/// The element-wise maximum of two tensors, with broadcasting. Where they tie, the gradient
/// goes to `a`.
/// - Throws: `TensorError` when shapes do not broadcast or dtypes differ.
public func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    Tensor.record(
        "maximum", inputs: [a, b], output: try a.rawBinary(SADDLE_MAX, b, name: "maximum"),
        tangent: { c in
            let first = try c.inputs[0].rawBinary(SADDLE_GE_MASK_FIRST, c.inputs[1], name: "maximum")
            return try c.linearCombination([(0, first), (1, 1 - first)])
        }
    ) { c in
        let (x, y) = (c.inputs[0], c.inputs[1])
        let first = try x.detached.rawBinary(SADDLE_GE_MASK_FIRST, y.detached, name: "maximum")
        return [c.needsGradient(0) ? try (c.cotangent * first).summed(toShape: x.shape) : nil,
                c.needsGradient(1) ? try (c.cotangent * (1 - first)).summed(toShape: y.shape) : nil]
    }
}

/// The element-wise minimum of two tensors, with broadcasting. Where they tie, the gradient
/// goes to `a`.
/// - Throws: `TensorError` when shapes do not broadcast or dtypes differ.
public func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    Tensor.record(
        "minimum", inputs: [a, b], output: try a.rawBinary(SADDLE_MIN, b, name: "minimum"),
        tangent: { c in
            let first = try c.inputs[1].rawBinary(SADDLE_GE_MASK_FIRST, c.inputs[0], name: "minimum")
            return try c.linearCombination([(0, first), (1, 1 - first)])
        }
    ) { c in
        let (x, y) = (c.inputs[0], c.inputs[1])
        let first = try y.detached.rawBinary(SADDLE_GE_MASK_FIRST, x.detached, name: "minimum")
        return [c.needsGradient(0) ? try (c.cotangent * first).summed(toShape: x.shape) : nil,
                c.needsGradient(1) ? try (c.cotangent * (1 - first)).summed(toShape: y.shape) : nil]
    }
}

/// `base` raised to `exponent` element-wise, with broadcasting. The gradient with respect to
/// the exponent is `out * log(base)`, defined for positive bases.
/// - Throws: `TensorError` when shapes do not broadcast or dtypes differ.
public func pow(_ base: Tensor, _ exponent: Tensor) throws -> Tensor {
    Tensor.record(
        "pow", inputs: [base, exponent], output: try base.rawBinary(SADDLE_POW, exponent, name: "pow"),
        tangent: { c in
            let (x, p) = (c.inputs[0], c.inputs[1])
            return try c.linearCombination([(0, try p * pow(x, p - 1)), (1, try c.output * log(x))])
        }
    ) { c in
        let (x, p) = (c.inputs[0], c.inputs[1])
        return [c.needsGradient(0) ? try (c.cotangent * p * pow(x, p - 1)).summed(toShape: x.shape) : nil,
                c.needsGradient(1) ? try (c.cotangent * c.output * log(x)).summed(toShape: p.shape) : nil]
    }
}

/// `base` raised to the constant `exponent` element-wise.
public func pow(_ base: Tensor, _ exponent: Double) -> Tensor {
    if exponent == 2 { return base.squared() }
    if exponent == 1 { return base }
    let power = Tensor(exponent, dtype: base.dtype)
    // Same dtype and a scalar exponent: broadcasting cannot fail.
    let output = (try? base.rawBinary(SADDLE_POW, power, name: "pow")) ?? base
    return Tensor.record(
        "pow", inputs: [base], output: output,
        tangent: { c in try c.linearCombination([(0, pow(c.inputs[0], exponent - 1) * exponent)]) }
    ) { c in
        [try c.cotangent * pow(c.inputs[0], exponent - 1) * exponent]
    }
}
