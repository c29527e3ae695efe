internal import CSaddleCore

// Differentiable element-wise functions. Each pullback has a fast path for first-order
// gradients (one fused kernel) and a composed path of differentiable operations used while
// the backward pass is recorded, so Hessian-vector products through them are exact.

/// e^x element-wise. Gradient: g * e^x.
public func exp(_ x: Tensor) -> Tensor {
    Tensor.record("exp", inputs: [x], output: x.rawUnary(SADDLE_EXP), tangent: { c in try c.linearCombination([(0, c.output)]) }) { c in
        [try c.cotangent * c.output]
    }
}

/// Natural logarithm element-wise (-inf at 0, NaN below). Gradient: g / x.
public func log(_ x: Tensor) -> Tensor {
    Tensor.record("log", inputs: [x], output: x.rawUnary(SADDLE_LOG), tangent: { c in try c.linearCombination([(0, c.inputs[0].reciprocal())]) }) { c in
        [try c.cotangent / c.inputs[0]]
    }
}

/// Hyperbolic tangent element-wise. Gradient: g (1 - tanh(x)^2).
public func tanh(_ x: Tensor) -> Tensor {
    Tensor.record("tanh", inputs: [x], output: x.rawUnary(SADDLE_TANH), tangent: { c in try c.linearCombination([(0, 1 - c.output.squared())]) }) { c in
        if c.isCreatingGraph { return [try c.cotangent * (1 - c.output.squared())] }
        return [try c.cotangent.rawBinary(SADDLE_TANH_BACKWARD, c.output, name: "tanh")]
    }
}

/// Logistic sigmoid 1 / (1 + e^-x) element-wise. Gradient: g s (1 - s).
public func sigmoid(_ x: Tensor) -> Tensor {
    Tensor.record(
        "sigmoid", inputs: [x], output: x.rawUnary(SADDLE_SIGMOID),
        tangent: { c in try c.linearCombination([(0, try c.output * (1 - c.output))]) }
    ) { c in
        if c.isCreatingGraph { return [try c.cotangent * c.output * (1 - c.output)] }
        return [try c.cotangent.rawBinary(SADDLE_SIGMOID_BACKWARD, c.output, name: "sigmoid")]
    }
}

/// max(x, 0) element-wise. Gradient: g where x > 0, else 0 (0 at the kink).
public func relu(_ x: Tensor) -> Tensor {
    Tensor.record("relu", inputs: [x], output: x.rawUnary(SADDLE_RELU), tangent: { c in try c.linearCombination([(0, c.inputs[0].rawUnary(SADDLE_STEP))]) }) { c in
        let input = c.inputs[0].detached
        if c.isCreatingGraph { return [try c.cotangent * input.rawUnary(SADDLE_STEP)] }
        return [try c.cotangent.rawBinary(SADDLE_RELU_BACKWARD, input, name: "relu")]
    }
}

/// x where x > 0, else slope * x. Gradient: g or slope * g.
public func leakyRelu(_ x: Tensor, slope: Double = 0.01) -> Tensor {
    var out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    switch x.dtype {
    case .float32: saddle_leaky_relu_f32(x.pointer(Float.self), Float(slope), out.pointer(Float.self), Int64(x.count))
    case .float64: saddle_leaky_relu_f64(x.pointer(Double.self), slope, out.pointer(Double.self), Int64(x.count))
    }
    return Tensor.record(
        "leakyRelu", inputs: [x], output: out,
        tangent: { c in try c.linearCombination([(0, c.inputs[0].rawUnary(SADDLE_STEP).rawAffine(scale: 1 - slope, shift: slope))]) }
    ) { c in
        let input = c.inputs[0].detached
        let factor = input.rawUnary(SADDLE_STEP).rawAffine(scale: 1 - slope, shift: slope)
        return [try c.cotangent * factor]
    }
}

/// |x| element-wise. Gradient: g sign(x) (0 at 0).
public func abs(_ x: Tensor) -> Tensor {
    Tensor.record("abs", inputs: [x], output: x.rawUnary(SADDLE_ABS), tangent: { c in try c.linearCombination([(0, c.inputs[0].rawUnary(SADDLE_SIGN))]) }) { c in
        [try c.cotangent * c.inputs[0].detached.rawUnary(SADDLE_SIGN)]
    }
}

/// Square root element-wise. Gradient: g / (2 sqrt(x)).
public func sqrt(_ x: Tensor) -> Tensor {
    Tensor.record("sqrt", inputs: [x], output: x.rawUnary(SADDLE_SQRT), tangent: { c in try c.linearCombination([(0, c.output.reciprocal() * 0.5)]) }) { c in
        [try c.cotangent / c.output * 0.5]
    }
}

/// The sign of each element (-1, 0 or 1). Not differentiable (piecewise constant).
public func sign(_ x: Tensor) -> Tensor {
    Tensor.recordNondifferentiable("sign", inputs: [x], output: x.rawUnary(SADDLE_SIGN))
}

extension Tensor {
    /// x^2 element-wise. Gradient: 2 g x.
    public func squared() -> Tensor {
        Tensor.record("squared", inputs: [self], output: rawUnary(SADDLE_SQUARE), tangent: { c in try c.linearCombination([(0, c.inputs[0] * 2)]) }) { c in
            [try c.cotangent * c.inputs[0] * 2]
        }
    }

    /// 1 / x element-wise. Gradient: -g / x^2.
    public func reciprocal() -> Tensor {
        Tensor.record(
            "reciprocal", inputs: [self], output: rawUnary(SADDLE_RECIPROCAL),
            tangent: { c in try c.linearCombination([(0, -c.output.squared())]) }
        ) { c in
            [try -(c.cotangent * c.output.squared())]
        }
    }
}
