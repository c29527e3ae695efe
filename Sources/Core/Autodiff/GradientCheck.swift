/// The outcome of comparing analytic derivatives with finite differences for one tensor.
public struct GradientCheckReport: Sendable, CustomStringConvertible {
    /// What was checked (an input index or a parameter path).
    public var name: String
    /// The largest element-wise relative error.
    public var maxRelativeError: Double
    /// The flat index where it occurred, and the two values there.
    public var worstIndex: Int
    /// The analytic derivative at `worstIndex`.
    public var analytic: Double
    /// The finite-difference derivative at `worstIndex`.
    public var numeric: Double
    /// Whether `maxRelativeError` is within the tolerance.
    public var passed: Bool

    /// One line: the name, the largest relative error, its index, both values there, and FAILED when the check failed.
    public var description: String {
        "\(name): max relative error \(maxRelativeError) at \(worstIndex) (analytic \(analytic), numeric \(numeric))\(passed ? "" : " FAILED")"
    }
}

/// Finite-difference checks of gradients and Hessian-vector products, in Float64.
///
/// Derivatives are compared with the fourth-order central difference
/// (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h, whose error is O(h^4), element by element.
/// The relative error of an element is |a - n| / max(|a|, |n|, 1e-3 * max(1, scale)), with
/// `scale` the largest |n| of the tensor, so entries that are zero up to rounding are judged
/// absolutely. Layer and plugin authors call this on their own operations.
public struct GradientCheck: Sendable {
    /// The finite-difference step.
    public var step: Double
    /// The largest acceptable relative error.
    public var tolerance: Double

    /// A checker with finite-difference step `step` and relative-error tolerance `tolerance`.
    public init(step: Double = 1e-4, tolerance: Double = 1e-6) {
        self.step = step
        self.tolerance = tolerance
    }

    /// Checks the gradient of the scalar `f` with respect to each of `inputs` (converted to
    /// Float64). Returns one report per input.
    /// - Throws: whatever `f` or differentiation throws.
    public func checkGradient(
        at inputs: [Tensor], names: [String]? = nil, of f: ([Tensor]) throws -> Tensor
    ) throws -> [GradientCheckReport] {
        let points = inputs.map { $0.detached.converted(to: .float64) }
        let leaves = points.map { $0.recorded() }
        let value = try GradientRecording.withRecording { try f(leaves) }
        let analytic = value.isRecorded ? try gradients(of: value, wrt: leaves) : points.map { $0.zerosLike() }
        return try points.indices.map { k in
            let numeric = try differences(points, k) { shifted in
                try GradientRecording.withoutRecording { try f(shifted) }.converted(to: .float64)
            }
            return compare(analytic[k], numeric, name: names?[k] ?? "input \(k)")
        }
    }

    /// Checks Hessian-vector products of the scalar `f` along `direction` against central
    /// differences of its gradient along that direction.
    /// - Throws: whatever `f` or differentiation throws.
    public func checkHessianVectorProduct(
        at inputs: [Tensor], along direction: [Tensor], names: [String]? = nil,
        of f: ([Tensor]) throws -> Tensor
    ) throws -> [GradientCheckReport] {
        let points = inputs.map { $0.detached.converted(to: .float64) }
        let v = direction.map { $0.detached.converted(to: .float64) }
        let analytic = try hessianVectorProduct(at: points, along: v, of: f)
        func gradient(at shift: Double) throws -> [Tensor] {
            let moved = try zip(points, v).map { try ($0 + $1 * shift).recorded() }
            let value = try GradientRecording.withRecording { try f(moved) }
            return value.isRecorded ? try gradients(of: value, wrt: moved) : moved.map { $0.detached.zerosLike() }
        }
        let h = step
        let (p2, p1, m1, m2) = (try gradient(at: 2 * h), try gradient(at: h), try gradient(at: -h), try gradient(at: -2 * h))
        return try points.indices.map { k in
            let numeric = try ((m2[k] - p2[k]) + (p1[k] - m1[k]) * 8) * (1 / (12 * h))
            return compare(analytic[k], numeric, name: names?[k] ?? "input \(k)")
        }
    }

    /// Checks a layer's gradient with respect to its input and each parameter path, through
    /// the scalar sum(layer(x) * r) with a fixed random r, in Float64.
    /// - Throws: whatever the layer throws.
    public func checkLayer(
        _ layer: some Layer, input: Tensor, mode: ForwardMode = .inference, seed: UInt64 = 0
    ) throws -> [GradientCheckReport] {
        let parameters = layer.parameters.converted(to: .float64)
        let base = try layer.replacing(layer.tensors.converted(to: .float64))
        var generator = RandomGenerator(seed: seed)
        var probeContext = ForwardContext(mode: mode, random: RandomGenerator(seed: seed &+ 1))
        let probeOutput = try GradientRecording.withoutRecording {
            try base(input.detached.converted(to: .float64), context: &probeContext)
        }
        let weights = Tensor.randomNormal(probeOutput.shape, dtype: .float64, using: &generator)
        let paths = parameters.paths
        return try checkGradient(
            at: [input] + parameters.tensors, names: ["input"] + paths
        ) { tensors in
            let replaced = try base.replacing(NamedTensors(zip(paths, tensors.dropFirst())))
            var context = ForwardContext(mode: mode, random: RandomGenerator(seed: seed &+ 1))
            return try (try replaced(tensors[0], context: &context) * weights).sum()
        }
    }

    /// Fourth-order central differences of `f` with respect to every element of input `k`.
    private func differences(_ points: [Tensor], _ k: Int, _ f: ([Tensor]) throws -> Tensor) throws -> Tensor {
        var result = points[k].zerosLike()
        var shifted = points
        for i in 0..<points[k].count {
            func value(_ offset: Double) throws -> Double {
                var moved = points[k]
                moved.prepareForMutation()
                moved.setScalar(points[k].scalar(at: i) + offset, at: i)
                shifted[k] = moved
                return try f(shifted).item()
            }
            let h = step
            let derivative = (-(try value(2 * h)) + 8 * (try value(h)) - 8 * (try value(-h)) + (try value(-2 * h))) / (12 * h)
            result.setScalar(derivative, at: i)
        }
        return result
    }

    private func compare(_ analytic: Tensor, _ numeric: Tensor, name: String) -> GradientCheckReport {
        let a = analytic.doubles
        let n = numeric.doubles
        let scale = n.map { Swift.abs($0) }.max() ?? 0
        let floor = 1e-3 * Swift.max(1, scale)
        var report = GradientCheckReport(name: name, maxRelativeError: 0, worstIndex: 0, analytic: a.first ?? 0, numeric: n.first ?? 0, passed: true)
        for i in a.indices {
            let error = Swift.abs(a[i] - n[i]) / Swift.max(Swift.abs(a[i]), Swift.abs(n[i]), floor)
            if error > report.maxRelativeError || error.isNaN {
                report.maxRelativeError = error
                report.worstIndex = i
                report.analytic = a[i]
                report.numeric = n[i]
            }
        }
        report.passed = report.maxRelativeError <= tolerance
        return report
    }
}
