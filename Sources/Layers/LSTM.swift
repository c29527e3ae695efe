import SaddleCore

/// A long short-term memory layer (Hochreiter and Schmidhuber 1997) over sequences, with
/// PyTorch's weight layout and gate order (input, forget, cell, output) and a zero initial
/// state.
///
/// Shapes: input `[batch, time, features]`; `weight_ih` `[4 hidden, features]`, `weight_hh`
/// `[4 hidden, hidden]`, `bias_ih` and `bias_hh` `[4 hidden]`; output `[batch, time, hidden]`
/// when `returnsSequence`, else the last hidden state `[batch, hidden]`.
/// Math: gates = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh; i, f, o = sigmoid, g = tanh;
/// c_t = f c_{t-1} + i g; h_t = o tanh(c_t). The input projection for all steps is one matrix
/// product; each step is one fused gate product and one cell kernel.
public struct LSTM: Layer {
    /// The input-to-hidden weights, `[4 hidden, features]` (`weight_ih`).
    public private(set) var weightIH: Tensor
    /// The hidden-to-hidden weights, `[4 hidden, hidden]` (`weight_hh`).
    public private(set) var weightHH: Tensor
    /// The input-to-hidden bias, `[4 hidden]` (`bias_ih`).
    public private(set) var biasIH: Tensor
    /// The hidden-to-hidden bias, `[4 hidden]` (`bias_hh`).
    public private(set) var biasHH: Tensor
    /// Whether the output is every hidden state or only the last.
    public let returnsSequence: Bool

    /// The number of hidden units (read from `weight_hh`).
    public var hiddenSize: Int { weightHH.shape[1] }
    /// The number of input features (read from `weight_ih`).
    public var inputSize: Int { weightIH.shape[1] }

    /// Weights and biases drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)), as PyTorch does.
    /// - Throws: `ModelError.invalidConfiguration` for sizes below 1.
    public init(inputSize: Int, hiddenSize: Int, returnsSequence: Bool = false, dtype: DType = .float32, using generator: inout RandomGenerator) throws {
        guard inputSize >= 1, hiddenSize >= 1 else {
            throw ModelError.invalidConfiguration(layer: "lstm", reason: "inputSize \(inputSize) and hiddenSize \(hiddenSize) must be at least 1")
        }
        let bound = 1 / Double(hiddenSize).squareRoot()
        func draw(_ shape: [Int]) -> Tensor { .randomUniform(shape, in: -bound...bound, dtype: dtype, using: &generator) }
        weightIH = draw([4 * hiddenSize, inputSize])
        weightHH = draw([4 * hiddenSize, hiddenSize])
        biasIH = draw([4 * hiddenSize])
        biasHH = draw([4 * hiddenSize])
        self.returnsSequence = returnsSequence
    }

    /// - Throws: `ModelError` when the tensors do not fit PyTorch's layout.
    public init(weightIH: Tensor, weightHH: Tensor, biasIH: Tensor, biasHH: Tensor, returnsSequence: Bool = false) throws {
        guard weightHH.rank == 2, weightHH.shape[0] == 4 * weightHH.shape[1] else {
            throw ModelError.invalidConfiguration(layer: "lstm", reason: "weight_hh \(weightHH.shape) must be [4 hidden, hidden]")
        }
        let gates = weightHH.shape[0]
        guard weightIH.rank == 2, weightIH.shape[0] == gates else {
            throw ModelError.shapeMismatch(path: "weight_ih", expected: [gates, -1], actual: weightIH.shape)
        }
        for (path, bias) in [("bias_ih", biasIH), ("bias_hh", biasHH)] where bias.shape != [gates] {
            throw ModelError.shapeMismatch(path: path, expected: [gates], actual: bias.shape)
        }
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.biasIH = biasIH
        self.biasHH = biasHH
        self.returnsSequence = returnsSequence
    }

    /// Runs the recurrence over `[batch, time, features]`; returns `[batch, time, hidden]` when `returnsSequence`,
    /// else `[batch, hidden]`.
    /// - Throws: `TensorError` for an input of another shape or an empty sequence.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard input.rank == 3, input.shape[2] == inputSize else {
            throw TensorError.shapeMismatch(
                op: "lstm", shapes: [input.shape, weightIH.shape], reason: "input must be [batch, time, \(inputSize)]")
        }
        let (batch, steps) = (input.shape[0], input.shape[1])
        guard steps >= 1 else { throw TensorError.invalidArgument(op: "lstm", reason: "the sequence is empty") }
        let timeMajor = try input.permuted([1, 0, 2]).reshaped(to: [steps * batch, inputSize])
        let projected = try linear(timeMajor, weight: weightIH, bias: biasIH + biasHH)
            .reshaped(to: [steps, batch, 4 * hiddenSize])
        let states = try lstmRecurrence(projected: projected, recurrentWeight: weightHH)
        if returnsSequence { return try states.permuted([1, 0, 2]) }
        return try states.rows((steps - 1)..<steps).reshaped(to: [batch, hiddenSize])
    }

    /// Trainable tensors: `weight_ih`, `weight_hh`, `bias_ih` and `bias_hh`, in PyTorch's layout.
    public var parameters: NamedTensors {
        ["weight_ih": weightIH, "weight_hh": weightHH, "bias_ih": biasIH, "bias_hh": biasHH]
    }

    /// A copy with `weight_ih`, `weight_hh`, `bias_ih` and `bias_hh` replaced where given.
    public func replacing(_ tensors: NamedTensors) throws -> LSTM {
        var copy = self
        copy.weightIH = try replacement(for: weightIH, at: "weight_ih", in: tensors)
        copy.weightHH = try replacement(for: weightHH, at: "weight_hh", in: tensors)
        copy.biasIH = try replacement(for: biasIH, at: "bias_ih", in: tensors)
        copy.biasHH = try replacement(for: biasHH, at: "bias_hh", in: tensors)
        return copy
    }
}
