internal import CSaddleCore

/// Creating tensors: constants, from arrays, and seeded random initializers.
///
/// Shapes given to these functions are the caller's to validate (a negative extent is a
/// programmer error); `init(shape:scalars:)` checks its data and throws.
extension Tensor {
    /// A tensor of `shape` filled with `value`.
    public init(filling value: Double, shape: [Int], dtype: DType = .float32) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")  // trap-ok
        self.init(uninitializedShape: shape, dtype: dtype)
        fill(with: value)
    }

    /// A rank-0 tensor holding `value`.
    public init(_ value: Double, dtype: DType = .float32) {
        self.init(filling: value, shape: [], dtype: dtype)
    }

    /// Zeros of `shape`.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(filling: 0, shape: shape, dtype: dtype)
    }

    /// Ones of `shape`.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(filling: 1, shape: shape, dtype: dtype)
    }

    /// Zeros with this tensor's shape and dtype.
    public func zerosLike() -> Tensor { .zeros(shape, dtype: dtype) }

    /// A tensor of `shape` holding `scalars` in row-major order, stored as `dtype`.
    /// - Throws: `TensorError.shapeMismatch` when the count differs from the shape's product,
    ///   `TensorError.invalidArgument` for a negative extent.
    public init<C: Collection>(shape: [Int], scalars: C, dtype: DType? = nil) throws
    where C.Element: TensorScalar {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "Tensor(shape:scalars:)", reason: "negative extent in \(describe(shape: shape))")
        }
        let expected = shape.reduce(1, *)
        guard scalars.count == expected else {
            throw TensorError.shapeMismatch(
                op: "Tensor(shape:scalars:)", shapes: [shape, [scalars.count]],
                reason: "shape holds \(expected) scalars but \(scalars.count) were given")
        }
        self.init(uninitializedShape: shape, dtype: dtype ?? C.Element.dtype)
        switch self.dtype {
        case .float32:
            let p = pointer(Float.self)
            for (i, v) in scalars.enumerated() { p[i] = Float(v) }
        case .float64:
            let p = pointer(Double.self)
            for (i, v) in scalars.enumerated() { p[i] = Double(v) }
        }
    }

    /// A one-dimensional tensor of `scalars`.
    public init<T: TensorScalar>(_ scalars: [T], dtype: DType? = nil) {
        // The count always matches a one-dimensional shape.
        self = (try? Tensor(shape: [scalars.count], scalars: scalars, dtype: dtype)) ?? .zeros([0])
    }

    /// Writes `value` into every element (in place; drops the autodiff node).
    public mutating func fill(with value: Double) {
        prepareForMutation()
        switch dtype {
        case .float32: saddle_fill_f32(pointer(Float.self), Float(value), Int64(count))
        case .float64: saddle_fill_f64(pointer(Double.self), value, Int64(count))
        }
    }

    /// This tensor with elements of `dtype` (the same tensor when it already has that dtype).
    /// Differentiable: the gradient is converted back.
    public func converted(to dtype: DType) -> Tensor {
        guard dtype != self.dtype else { return self }
        var out = Tensor(uninitializedShape: shape, dtype: dtype)
        switch dtype {
        case .float64: saddle_convert_f32_f64(pointer(Float.self), out.pointer(Double.self), Int64(count))
        case .float32: saddle_convert_f64_f32(pointer(Double.self), out.pointer(Float.self), Int64(count))
        }
        let source = self.dtype
        out = Tensor.record(
            "converted", inputs: [self], output: out,
            tangent: { c in c.tangents[0].map { $0.converted(to: dtype) } }
        ) { context in
            [context.cotangent.converted(to: source)]
        }
        return out
    }
}

// MARK: - Random initializers

extension Tensor {
    /// Writes `count` values from `next` in order.
    private init(shape: [Int], dtype: DType, generating next: () -> Double) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")  // trap-ok
        self.init(uninitializedShape: shape, dtype: dtype)
        let n = count
        switch dtype {
        case .float32:
            let p = pointer(Float.self)
            for i in 0..<n { p[i] = Float(next()) }
        case .float64:
            let p = pointer(Double.self)
            for i in 0..<n { p[i] = next() }
        }
    }

    /// Samples from the normal distribution N(mean, standardDeviation^2).
    public static func randomNormal(
        _ shape: [Int], mean: Double = 0, standardDeviation: Double = 1,
        dtype: DType = .float32, using generator: inout RandomGenerator
    ) -> Tensor {
        var pending: Double?
        return Tensor(shape: shape, dtype: dtype) {
            if let value = pending {
                pending = nil
                return mean + standardDeviation * value
            }
            let (a, b) = generator.nextNormalPair()
            pending = b
            return mean + standardDeviation * a
        }
    }

    /// Samples uniformly from `range` (lower bound included, upper excluded).
    public static func randomUniform(
        _ shape: [Int], in range: ClosedRange<Double> = 0...1,
        dtype: DType = .float32, using generator: inout RandomGenerator
    ) -> Tensor {
        let width = range.upperBound - range.lowerBound
        return Tensor(shape: shape, dtype: dtype) {
            range.lowerBound + width * generator.nextUniform()
        }
    }

    /// Samples uniformly from [0, 1), example by example: row i (along the first axis) comes
    /// from the stream `generator.derived(key: firstKey + i)`, so a row's values depend on its
    /// key alone, not on which other rows are drawn with it (dropout masks of a batch split
    /// over processes).
    public static func randomUniform(_ shape: [Int], dtype: DType = .float32, rowsKeyedBy generator: RandomGenerator, from firstKey: Int) -> Tensor {
        let perRow = shape.dropFirst().reduce(1, *)
        var produced = 0
        var stream = generator
        return Tensor(shape: shape, dtype: dtype) {
            if produced % Swift.max(perRow, 1) == 0 {
                stream = generator.derived(key: UInt64(firstKey + produced / Swift.max(perRow, 1)))
            }
            produced += 1
            return stream.nextUniform()
        }
    }

    /// Fan-in and fan-out of a weight of `shape` laid out `[out, in, ...]`.
    static func fans(of shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        guard shape.count >= 2 else { return (Swift.max(shape.first ?? 1, 1), Swift.max(shape.first ?? 1, 1)) }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Glorot (Xavier) uniform: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)), for a
    /// weight laid out `[out, in]` (Glorot and Bengio 2010).
    public static func glorotUniform(
        _ shape: [Int], gain: Double = 1, dtype: DType = .float32,
        using generator: inout RandomGenerator
    ) -> Tensor {
        let (fanIn, fanOut) = fans(of: shape)
        let bound = gain * (6.0 / Double(Swift.max(fanIn + fanOut, 1))).squareRoot()
        return randomUniform(shape, in: -bound...bound, dtype: dtype, using: &generator)
    }

    /// He (Kaiming) normal: N(0, 2 / fanIn), for ReLU layers laid out `[out, in]` (He et al. 2015).
    public static func heNormal(
        _ shape: [Int], dtype: DType = .float32, using generator: inout RandomGenerator
    ) -> Tensor {
        let (fanIn, _) = fans(of: shape)
        return randomNormal(
            shape, standardDeviation: (2.0 / Double(Swift.max(fanIn, 1))).squareRoot(), dtype: dtype,
            using: &generator)
    }

    /// He (Kaiming) uniform: U(-a, a) with a = sqrt(6 / fanIn).
    public static func heUniform(
        _ shape: [Int], dtype: DType = .float32, using generator: inout RandomGenerator
    ) -> Tensor {
        let (fanIn, _) = fans(of: shape)
        let bound = (6.0 / Double(Swift.max(fanIn, 1))).squareRoot()
        return randomUniform(shape, in: -bound...bound, dtype: dtype, using: &generator)
    }

    /// A (semi-)orthogonal matrix times `gain` (Saxe et al. 2013): the Q factor of a Gaussian
    /// matrix's QR decomposition, signs fixed by R's diagonal so the distribution is uniform
    /// (Haar). Shapes beyond two axes are flattened to `[shape[0], rest]`.
    /// - Throws: `TensorError.invalidArgument` for fewer than two axes; LAPACK failures.
    public static func orthogonal(
        _ shape: [Int], gain: Double = 1, dtype: DType = .float32,
        using generator: inout RandomGenerator
    ) throws -> Tensor {
        guard shape.count >= 2 else {
            throw TensorError.invalidArgument(
                op: "orthogonal", reason: "needs at least 2 axes, got \(describe(shape: shape))")
        }
        let rows = shape[0]
        let cols = shape.dropFirst().reduce(1, *)
        // Q of an [tall, short] Gaussian, transposed when the matrix is wide.
        let tall = Swift.max(rows, cols)
        let short = Swift.min(rows, cols)
        let gaussian = randomNormal([tall, short], dtype: .float64, using: &generator)
        var q = try LAPACK.orthonormalColumns(of: gaussian)  // [tall, short]
        if rows < cols { q = try q.transposed() }
        return try (q * gain).converted(to: dtype).reshaped(to: shape)
    }
}
