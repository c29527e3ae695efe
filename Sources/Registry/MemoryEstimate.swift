import Foundation
import SaddleCore

/// What a run will need in memory, accumulated layer by layer while its model is built and
/// checked before each large tensor is allocated, so that a configuration asking for more
/// than the machine can give is an error naming the layer instead of an abort in the
/// allocator.
///
/// Each layer contributes its weights (reserved by its factory before allocating them), its
/// output for one example, and any working memory per example it declares (an LSTM's gates,
/// convolution buffers). A run then needs about
///
///     parameters x 4                           (values, gradients, two optimizer slots)
///     + max(outputs per example x batch_size x 2,          (forward values and gradients)
///           largest output x evaluation_batch_size x 2)    (inference, no graph kept)
///
/// elements of the run's dtype. It is an estimate of the order of magnitude, not a bound.
public struct MemoryEstimate: Sendable {
    /// The default limit: 16 GiB.
    public static let defaultLimitBytes = 16 << 30

    /// The most bytes the run may need; `--memory-limit` sets it.
    public var limitBytes: Int
    /// The run's dtype.
    public let dtype: DType
    /// Bytes per element of the run's dtype.
    public var bytesPerElement: Int { dtype.byteCount }
    /// Examples per training step and per evaluation batch.
    public let batchSize: Int, evaluationBatchSize: Int
    /// Elements of the weights reserved so far.
    public private(set) var parameterElements = 0
    /// Output and working elements per example, summed over the layers built so far.
    public private(set) var activationElementsPerExample = 0
    /// The largest single output or working memory per example, and its layer's path.
    public private(set) var largestPerExample: (elements: Int, path: String) = (0, "")
    /// Whether the layer being built has reported its output already.
    private var outputPending = false

    /// An empty estimate for elements of `dtype` at these batch sizes, refusing more than
    /// `limitBytes`.
    public init(dtype: DType, batchSize: Int = 1, evaluationBatchSize: Int = 1, limitBytes: Int = MemoryEstimate.defaultLimitBytes) {
        self.limitBytes = limitBytes
        self.dtype = dtype
        self.batchSize = batchSize
        self.evaluationBatchSize = evaluationBatchSize
    }

    /// Reserves `copies` weights of `counts` elements each (the product) and, when given, the
    /// layer's output shape per example, before the layer allocates anything.
    /// - Throws: `ConfigurationError` at `path` when one tensor exceeds the tensor limit or the
    ///   run would exceed `limitBytes`.
    public mutating func reserve(parameters counts: [Int], copies: Int = 1, output: [Int]? = nil, layer: String, at path: JSONPath) throws {
        let total = counts.reduce(1.0) { $0 * Double($1) }
        guard total <= Double(Tensor.maximumConfiguredElements) else {
            throw ConfigurationError(path, "\(layer) would need a tensor of \(counts.map(String.init).joined(separator: " x ")) = \(JSONValue.format(total)) elements; the limit is \(Tensor.maximumConfiguredElements)")
        }
        parameterElements += Int(total) * Swift.max(copies, 1)
        if let output {
            add(perExample: MemoryEstimate.product(output), at: path)
            outputPending = false
        }
        try check(at: path)
    }

    /// Adds working memory of `elements` per example for the layer at `path`.
    /// - Throws: `ConfigurationError` at `path` when the run would exceed `limitBytes`.
    public mutating func reserve(workingElementsPerExample elements: Int, at path: JSONPath) throws {
        add(perExample: elements, at: path)
        try check(at: path)
    }

    /// Marks the start of a layer's build (its output is added at the end unless reserved).
    mutating func beginLayer() { outputPending = true }

    /// Adds the output of a layer that did not reserve it (one that allocates nothing large).
    mutating func endLayer(output: [Int], at path: JSONPath) throws {
        if outputPending { add(perExample: MemoryEstimate.product(output), at: path) }
        outputPending = false
        try check(at: path)
    }

    private mutating func add(perExample elements: Int, at path: JSONPath) {
        let (sum, overflow) = activationElementsPerExample.addingReportingOverflow(elements)
        activationElementsPerExample = overflow ? Int.max : sum
        if elements > largestPerExample.elements { largestPerExample = (elements, path.description) }
    }

    private static func product(_ shape: [Int]) -> Int {
        shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
    }

    /// The bytes of parameters (with gradients and optimizer state), training activations
    /// and evaluation activations.
    public var bytes: (parameters: Double, training: Double, evaluation: Double) {
        let width = Double(bytesPerElement)
        return (
            Double(parameterElements) * 4 * width,
            Double(activationElementsPerExample) * Double(batchSize) * 2 * width,
            Double(largestPerExample.elements) * Double(evaluationBatchSize) * 2 * width
        )
    }

    /// Throws unless the run so far fits `limitBytes`, naming the layer at `path`.
    private func check(at path: JSONPath) throws {
        let (parameters, training, evaluation) = bytes
        let total = parameters + Swift.max(training, evaluation)
        guard total > Double(limitBytes) else { return }
        throw ConfigurationError(
            path,
            "with this layer the run would need about \(MemoryEstimate.text(total)) (parameters with gradients and optimizer state \(MemoryEstimate.text(parameters)); training activations at batch_size \(batchSize) \(MemoryEstimate.text(training)); evaluation at evaluation_batch_size \(evaluationBatchSize) \(MemoryEstimate.text(evaluation))), over the memory limit of \(MemoryEstimate.text(Double(limitBytes))); use smaller layers or batches, or raise the limit with --memory-limit")
    }

    /// Bytes as "1.5 GiB" or "300 MiB".
    static func text(_ bytes: Double) -> String {
        bytes >= Double(1 << 30) ? String(format: "%.1f GiB", bytes / Double(1 << 30)) : String(format: "%.0f MiB", bytes / Double(1 << 20))
    }
}
