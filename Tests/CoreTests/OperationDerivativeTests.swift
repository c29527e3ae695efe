import SaddleCore
import SaddleTestSupport
import Testing

/// One differentiable operation under test: how to draw its inputs (Float64, away from kinks
/// and ties) and how to apply it.
struct OperationCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputs: @Sendable (inout RandomGenerator) -> [Tensor]
    let apply: @Sendable ([Tensor]) throws -> Tensor
    var testDescription: String { name }
}

/// Input generators.
enum Draw {
    static func normal(_ shape: [Int], _ g: inout RandomGenerator) -> Tensor {
        .randomNormal(shape, dtype: .float64, using: &g)
    }

    /// Uniform in [0.5, 2]: safe for log, sqrt, division, powers.
    static func positive(_ shape: [Int], _ g: inout RandomGenerator) -> Tensor {
        .randomUniform(shape, in: 0.5...2, dtype: .float64, using: &g)
    }

    /// |x| in [0.2, 1.5] with random signs: away from the kinks of relu and abs.
    static func awayFromZero(_ shape: [Int], _ g: inout RandomGenerator) -> Tensor {
        let values = (0..<shape.reduce(1, *)).map { _ in (g.nextUniform() < 0.5 ? -1.0 : 1.0) * (0.2 + 1.3 * g.nextUniform()) }
        return try! Tensor(shape: shape, scalars: values)
    }

    /// Distinct values spaced at least 0.1 apart in random order: no ties for max/argmax.
    static func distinct(_ shape: [Int], _ g: inout RandomGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var values = (0..<n).map { Double($0) * 0.1 - Double(n) * 0.05 }
        values.shuffle(using: &g)
        return try! Tensor(shape: shape, scalars: values)
    }
}

let operationCases: [OperationCase] = [
    OperationCase(name: "add (broadcast row)", inputs: { [Draw.normal([3, 4], &$0), Draw.normal([4], &$0)] }) { try $0[0] + $0[1] },
    OperationCase(name: "add (same shape)", inputs: { [Draw.normal([2, 3], &$0), Draw.normal([2, 3], &$0)] }) { try $0[0] + $0[1] },
    OperationCase(name: "subtract (broadcast column)", inputs: { [Draw.normal([2, 3], &$0), Draw.normal([2, 1], &$0)] }) { try $0[0] - $0[1] },
    OperationCase(name: "multiply (rank 3 broadcast)", inputs: { [Draw.normal([2, 3, 4], &$0), Draw.normal([3, 1], &$0)] }) { try $0[0] * $0[1] },
    OperationCase(name: "divide", inputs: { [Draw.normal([3, 4], &$0), Draw.positive([3, 4], &$0)] }) { try $0[0] / $0[1] },
    OperationCase(name: "negate", inputs: { [Draw.normal([5], &$0)] }) { -$0[0] },
    OperationCase(name: "scalar affine", inputs: { [Draw.normal([2, 3], &$0)] }) { $0[0] * 2.5 + 1 },
    OperationCase(name: "scalar over tensor", inputs: { [Draw.positive([4], &$0)] }) { 2 / $0[0] },
    OperationCase(name: "maximum", inputs: { g in
        let a = Draw.distinct([3, 4], &g)
        return [a, try! a + Draw.awayFromZero([3, 4], &g) * 0.5]
    }) { try maximum($0[0], $0[1]) },
    OperationCase(name: "minimum (broadcast)", inputs: { [Draw.distinct([3, 4], &$0), Tensor([0.05])] }) { try minimum($0[0], $0[1]) },
    OperationCase(name: "pow (tensor exponent)", inputs: { [Draw.positive([3, 2], &$0), Draw.normal([3, 2], &$0)] }) { try pow($0[0], $0[1]) },
    OperationCase(name: "pow (scalar 3)", inputs: { [Draw.normal([4], &$0)] }) { pow($0[0], 3) },
    OperationCase(name: "pow (scalar 0.5)", inputs: { [Draw.positive([4], &$0)] }) { pow($0[0], 0.5) },
    OperationCase(name: "exp", inputs: { [Draw.normal([2, 3], &$0)] }) { exp($0[0]) },
    OperationCase(name: "log", inputs: { [Draw.positive([2, 3], &$0)] }) { log($0[0]) },
    OperationCase(name: "tanh", inputs: { [Draw.normal([2, 3], &$0)] }) { tanh($0[0]) },
    OperationCase(name: "sigmoid", inputs: { [Draw.normal([2, 3], &$0)] }) { sigmoid($0[0]) },
    OperationCase(name: "relu", inputs: { [Draw.awayFromZero([3, 4], &$0)] }) { relu($0[0]) },
    OperationCase(name: "leakyRelu", inputs: { [Draw.awayFromZero([3, 4], &$0)] }) { leakyRelu($0[0], slope: 0.1) },
    OperationCase(name: "abs", inputs: { [Draw.awayFromZero([3, 4], &$0)] }) { abs($0[0]) },
    OperationCase(name: "sqrt", inputs: { [Draw.positive([3, 4], &$0)] }) { sqrt($0[0]) },
    OperationCase(name: "squared", inputs: { [Draw.normal([3, 4], &$0)] }) { $0[0].squared() },
    OperationCase(name: "reciprocal", inputs: { [Draw.positive([3, 4], &$0)] }) { $0[0].reciprocal() },
    OperationCase(name: "sum", inputs: { [Draw.normal([3, 4], &$0)] }) { $0[0].sum() },
    OperationCase(name: "sum along axis 1", inputs: { [Draw.normal([2, 3, 4], &$0)] }) { try $0[0].sum(alongAxis: 1) },
    OperationCase(name: "sum along axis -1 keeping it", inputs: { [Draw.normal([2, 3], &$0)] }) { try $0[0].sum(alongAxis: -1, keepingAxis: true) },
    OperationCase(name: "mean", inputs: { [Draw.normal([3, 4], &$0)] }) { $0[0].mean() },
    OperationCase(name: "mean along axis 0", inputs: { [Draw.normal([3, 4], &$0)] }) { try $0[0].mean(alongAxis: 0) },
    OperationCase(name: "max along axis 1", inputs: { [Draw.distinct([3, 5], &$0)] }) { try $0[0].max(alongAxis: 1) },
    OperationCase(name: "max along axis 0 of rank 3", inputs: { [Draw.distinct([3, 2, 2], &$0)] }) { try $0[0].max(alongAxis: 0, keepingAxis: true) },
    OperationCase(name: "max of all", inputs: { [Draw.distinct([3, 4], &$0)] }) { try $0[0].max() },
    OperationCase(name: "min along axis 1", inputs: { [Draw.distinct([3, 4], &$0)] }) { try $0[0].min(alongAxis: 1) },
    OperationCase(name: "broadcasted(to:)", inputs: { [Draw.normal([3, 1], &$0)] }) { try $0[0].broadcasted(to: [2, 3, 4]) },
    OperationCase(name: "summed(toShape:)", inputs: { [Draw.normal([2, 3, 4], &$0)] }) { try $0[0].summed(toShape: [3, 1]) },
    OperationCase(name: "reshaped", inputs: { [Draw.normal([2, 6], &$0)] }) { try $0[0].reshaped(to: [3, -1]) },
    OperationCase(name: "transposed", inputs: { [Draw.normal([3, 5], &$0)] }) { try $0[0].transposed() },
    OperationCase(name: "rows (view)", inputs: { [Draw.normal([5, 3], &$0)] }) { try $0[0].rows(1..<4) },
    OperationCase(name: "narrowed along axis 1", inputs: { [Draw.normal([3, 5, 2], &$0)] }) { try $0[0].narrowed(alongAxis: 1, range: 1..<3) },
    OperationCase(name: "padded", inputs: { [Draw.normal([3, 2], &$0)] }) { try $0[0].padded(alongAxis: 1, before: 1, after: 2) },
    OperationCase(name: "concatenating along axis 0", inputs: { [Draw.normal([2, 3], &$0), Draw.normal([1, 3], &$0)] }) {
        try Tensor.concatenating($0, alongAxis: 0)
    },
    OperationCase(name: "concatenating along axis 1", inputs: { [Draw.normal([2, 3], &$0), Draw.normal([2, 2], &$0)] }) {
        try Tensor.concatenating($0, alongAxis: 1)
    },
    OperationCase(name: "split", inputs: { [Draw.normal([2, 5], &$0)] }) { x in
        let parts = try x[0].split(sizes: [2, 3], alongAxis: 1)
        return try parts[0].sum(alongAxis: 1) * parts[1].max(alongAxis: 1)
    },
    OperationCase(name: "gatheringRows (repeats)", inputs: { [Draw.normal([4, 3], &$0)] }) { try $0[0].gatheringRows([2, 0, 2, 3]) },
    OperationCase(name: "scatteringRows", inputs: { [Draw.normal([3, 2], &$0)] }) { try $0[0].scatteringRows([1, 3, 1], rowCount: 4) },
    OperationCase(name: "matmul", inputs: { [Draw.normal([3, 4], &$0), Draw.normal([4, 2], &$0)] }) { try matmul($0[0], $0[1]) },
    OperationCase(name: "matmul transposeA", inputs: { [Draw.normal([4, 3], &$0), Draw.normal([4, 2], &$0)] }) { try matmul($0[0], $0[1], transposeA: true) },
    OperationCase(name: "matmul transposeB", inputs: { [Draw.normal([3, 4], &$0), Draw.normal([2, 4], &$0)] }) { try matmul($0[0], $0[1], transposeB: true) },
    OperationCase(name: "matmul transposeA transposeB", inputs: { [Draw.normal([4, 3], &$0), Draw.normal([2, 4], &$0)] }) {
        try matmul($0[0], $0[1], transposeA: true, transposeB: true)
    },
    OperationCase(name: "linear", inputs: { [Draw.normal([5, 3], &$0), Draw.normal([4, 3], &$0), Draw.normal([4], &$0)] }) {
        try linear($0[0], weight: $0[1], bias: $0[2])
    },
    OperationCase(name: "linear without bias", inputs: { [Draw.normal([5, 3], &$0), Draw.normal([4, 3], &$0)] }) {
        try linear($0[0], weight: $0[1], bias: nil)
    },
    OperationCase(name: "logSoftmax", inputs: { [Draw.normal([3, 5], &$0)] }) { try logSoftmax($0[0]) },
    OperationCase(name: "logSoftmax along axis 0", inputs: { [Draw.normal([3, 4], &$0)] }) { try logSoftmax($0[0], alongAxis: 0) },
    OperationCase(name: "softmax", inputs: { [Draw.normal([3, 5], &$0)] }) { try softmax($0[0]) },
    OperationCase(name: "softmax along axis 0", inputs: { [Draw.normal([3, 4], &$0)] }) { try softmax($0[0], alongAxis: 0) },
    OperationCase(name: "softmaxCrossEntropy", inputs: { [Draw.normal([4, 5], &$0)] }) {
        try softmaxCrossEntropy(logits: $0[0], labels: Tensor([0.0, 3, 4, 3]))
    },
    OperationCase(name: "replacing(where:with:)", inputs: { [Draw.normal([3, 4], &$0), Draw.normal([4], &$0)] }) {
        try $0[0].replacing(where: Tensor([1.0, 0, 1, 0]), with: $0[1])
    },
] + imageOperationCases

@Suite("Derivatives of every differentiable operation")
struct OperationDerivativeTests {
    /// sum(out * r): its gradient is the operation's vector-Jacobian product with r.
    static func linearProbe(_ out: Tensor, seed: UInt64) throws -> Tensor {
        var g = RandomGenerator(seed: seed)
        return try (out * Tensor.randomNormal(out.shape, dtype: .float64, using: &g)).sum()
    }

    /// sum(out * r) + sum(out^2 * s) / 2: curvature that passes through the operation's pullback.
    static func quadraticProbe(_ out: Tensor, seed: UInt64) throws -> Tensor {
        var g = RandomGenerator(seed: seed)
        let r = Tensor.randomNormal(out.shape, dtype: .float64, using: &g)
        let s = Tensor.randomNormal(out.shape, dtype: .float64, using: &g)
        return try (out * r).sum() + (out.squared() * s).sum() * 0.5
    }

    @Test("gradient matches central differences", arguments: operationCases)
    func gradient(_ operation: OperationCase) throws {
        var g = RandomGenerator(seed: 11)
        let inputs = operation.inputs(&g)
        let reports = try GradientCheck().checkGradient(at: inputs) { try Self.linearProbe(operation.apply($0), seed: 5) }
        for report in reports { #expect(report.passed, "\(operation.name): \(report)") }
    }

    @Test("Hessian-vector product matches differences of gradients", arguments: operationCases)
    func hessianVectorProduct(_ operation: OperationCase) throws {
        var g = RandomGenerator(seed: 12)
        let inputs = operation.inputs(&g)
        let direction = inputs.map { Tensor.randomNormal($0.shape, dtype: .float64, using: &g) }
        let reports = try GradientCheck().checkHessianVectorProduct(at: inputs, along: direction) {
            try Self.quadraticProbe(operation.apply($0), seed: 6)
        }
        for report in reports { #expect(report.passed, "\(operation.name): \(report)") }
    }

    @Test("Float32 agrees with Float64 to single precision", arguments: operationCases)
    func singlePrecision(_ operation: OperationCase) throws {
        var g = RandomGenerator(seed: 13)
        let inputs = operation.inputs(&g)
        let double = try operation.apply(inputs).doubles
        let single = try operation.apply(inputs.map { $0.converted(to: .float32) })
        #expect(single.dtype == .float32)
        let scale = max(1, double.map { Swift.abs($0) }.max() ?? 0)
        let difference = TestSupport.maxAbsDifference(double, single.doubles)
        #expect(difference <= 5e-6 * scale, "\(operation.name): |f32 - f64| = \(difference)")
    }
}

@Suite("Forward-over-reverse Hessians agree with reverse-over-reverse")
struct ForwardModeTests {
    @Test("every operation's tangent rule", arguments: operationCases)
    func fullHessian(_ operation: OperationCase) throws {
        var g = RandomGenerator(seed: 14)
        let inputs = operation.inputs(&g)
        let shapes = inputs.map(\.shape)
        let sizes = inputs.map(\.count)
        let flat = try Tensor.concatenating(inputs.map { try $0.reshaped(to: [$0.count]) }, alongAxis: 0)
        let f = { (x: Tensor) throws -> Tensor in
            let parts = try x.split(sizes: sizes, alongAxis: 0)
            let tensors = try zip(parts, shapes).map { try $0.reshaped(to: $1) }
            return try OperationDerivativeTests.quadraticProbe(operation.apply(tensors), seed: 6)
        }
        // Chunks smaller than the dimension exercise the blocked assembly too.
        let forward = try hessian(at: flat, chunk: 7, of: f)
        let reverse = try hessianFromProducts(at: flat, of: f)
        let scale = max(1, reverse.doubles.map { Swift.abs($0) }.max() ?? 0)
        let difference = TestSupport.maxAbsDifference(forward.doubles, reverse.doubles)
        #expect(difference <= 1e-11 * scale, "\(operation.name): \(difference)")
    }
}
