import Foundation
import SaddleCore

/// What a model will need in memory, accumulated layer by layer while it is built, before any
/// large tensor is allocated, so that a configuration asking for more than the machine can
/// give is an error naming the layer instead of an abort in the allocator.
///
/// The estimate counts, for each layer, its largest weight (reserved by the layer's factory
/// before allocating it), the elements of its output for one example, and any working memory
/// per example it declares (an LSTM's gates, later convolution buffers). A run then needs
///
///     parameters x 4                          (values, gradients, two optimizer slots)
///     + outputs per example x batch_size x 2  (the recorded forward pass and its gradients)
///     + the largest output x evaluation_batch_size x 2
///
/// elements of the run's dtype. It is an estimate of the order of magnitude, not a bound.
public struct MemoryEstimate: Sendable {
    /// The default limit: 16 GiB.
    public static let defaultLimitBytes = 16 << 30

    /// The most bytes the run may need; `--memory-limit` raises it.
    public var limitBytes: Int
    /// Bytes per element of the run's dtype.
    public let bytesPerElement: Int
    /// Elements of the weights reserved so far.
    public private(set) var parameterElements = 0
    /// Output and working elements per example, summed over the layers built so far.
    public private(set) var activationElementsPerExample = 0
    /// The largest single layer output or working memory per example, and the layer's path.
    public private(set) var largestPerExample: (elements: Int, path: String) = (0, "")

    /// An empty estimate for elements of `dtype`, refusing more than `limitBytes`.
    public init(dtype: DType, limitBytes: Int = MemoryEstimate.defaultLimitBytes) {
        self.limitBytes = limitBytes
        bytesPerElement = dtype.byteCount
    }

    /// Reserves a weight of `counts` elements (the product) for the layer at `path`, before
    /// it is allocated.
    /// - Throws: `ConfigurationError` at `path` when the one tensor exceeds the tensor limit or
    ///   all parameters with their gradients and optimizer state would exceed `limitBytes`.
    public mutating func reserveParameters(_ counts: [Int], layer: String, at path: JSONPath) throws {
        let total = counts.reduce(1.0) { $0 * Double($1) }
        guard total <= Double(maximumTensorElements) else {
            throw ConfigurationError(path, "\(layer) would need a tensor of \(counts.map(String.init).joined(separator: " x ")) = \(JSONValue.format(total)) elements; the limit is \(maximumTensorElements)")
        }
        let bytes = (Double(parameterElements) + total) * 4 * Double(bytesPerElement)
        guard bytes <= Double(limitBytes) else {
            throw ConfigurationError(
                path, "\(layer) brings the model's parameters to \(JSONValue.format(Double(parameterElements) + total)) elements, about \(MemoryEstimate.text(bytes)) with gradients and optimizer state, over the memory limit of \(MemoryEstimate.text(Double(limitBytes))); use smaller layers or raise the limit with --memory-limit")
        }
        parameterElements += Int(total)
    }

    /// Records `elements` of output or working memory per example for the layer at `path`.
    public mutating func addPerExample(_ elements: Int, at path: JSONPath) {
        activationElementsPerExample = activationElementsPerExample.addingReportingOverflow(elements).overflow
            ? Int.max : activationElementsPerExample + elements
        if elements > largestPerExample.elements { largestPerExample = (elements, path.description) }
    }

    /// The bytes training at `batchSize` and evaluating at `evaluationBatchSize` would need.
    public func bytes(batchSize: Int, evaluationBatchSize: Int) -> (parameters: Double, training: Double, evaluation: Double) {
        let width = Double(bytesPerElement)
        return (
            Double(parameterElements) * 4 * width,
            Double(activationElementsPerExample) * Double(batchSize) * 2 * width,
            Double(largestPerExample.elements) * Double(evaluationBatchSize) * 2 * width
        )
    }

    /// Throws unless the whole run fits `limitBytes` at these batch sizes.
    /// - Throws: `ConfigurationError` at `train.batch_size` (or `train.evaluation_batch_size`)
    ///   giving the estimate and its parts.
    public func check(batchSize: Int, evaluationBatchSize: Int) throws {
        let (parameters, training, evaluation) = bytes(batchSize: batchSize, evaluationBatchSize: evaluationBatchSize)
        let total = parameters + Swift.max(training, evaluation)
        guard total > Double(limitBytes) else { return }
        let key = evaluation > training ? "evaluation_batch_size" : "batch_size"
        throw ConfigurationError(
            JSONPath().appending("train").appending(key),
            "the run would need about \(MemoryEstimate.text(total)) (parameters with gradients and optimizer state \(MemoryEstimate.text(parameters)); training activations at batch_size \(batchSize) \(MemoryEstimate.text(training)); evaluation at evaluation_batch_size \(evaluationBatchSize) \(MemoryEstimate.text(evaluation)); the largest layer output is \(largestPerExample.elements) elements per example at \(largestPerExample.path)), over the memory limit of \(MemoryEstimate.text(Double(limitBytes))); lower the sizes or raise the limit with --memory-limit")
    }

    /// Bytes as "1.5 GiB" or "300 MiB".
    static func text(_ bytes: Double) -> String {
        bytes >= Double(1 << 30) ? String(format: "%.1f GiB", bytes / Double(1 << 30)) : String(format: "%.0f MiB", bytes / Double(1 << 20))
    }
}
