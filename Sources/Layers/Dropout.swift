import SaddleCore

/// Inverted dropout: in training mode each element is zeroed with probability `rate` and the
/// rest scaled by 1 / (1 - rate); in inference mode the identity. Any shape. The mask comes
/// from the forward context's generator.
public struct Dropout: Layer {
    /// The probability of zeroing each element in training mode, in [0, 1).
    public let rate: Double

    /// - Throws: `ModelError.invalidConfiguration` unless 0 <= rate < 1.
    public init(rate: Double) throws {
        guard rate >= 0, rate < 1 else {
            throw ModelError.invalidConfiguration(layer: "dropout", reason: "rate \(rate) must be in [0, 1)")
        }
        self.rate = rate
    }

    /// Training mode: zeroes each element with probability `rate` and scales the rest by
    /// 1 / (1 - rate); example i's mask is drawn from `context.random.derived(key:
    /// context.exampleOffset + i)`, so it does not depend on how a batch is split over processes.
    /// Inference mode: returns the input unchanged.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard context.mode == .training, rate > 0 else { return input }
        // Each example's mask comes from its own stream, keyed by its index in the batch.
        let uniform = Tensor.randomUniform(input.shape, dtype: input.dtype, rowsKeyedBy: context.random, from: context.exampleOffset)
        // The next stochastic layer of the pass draws from other streams.
        _ = context.random.next()
        let keep = (uniform .>= rate).detached * (1 / (1 - rate))
        return try input * keep
    }
}
