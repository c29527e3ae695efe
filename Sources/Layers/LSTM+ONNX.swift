import SaddleCore

extension LSTM: ONNXExportable {
    /// ONNX's `LSTM` between Transposes (Saddle's input is `[batch, time, features]`, ONNX's
    /// `[time, batch, features]`). The gate blocks are reordered from PyTorch's (i, f, g, o) to
    /// ONNX's (i, o, f, c), and the biases go in as one `[1, 8 hidden]` tensor `[b_ih; b_hh]`.
    /// ONNX Runtime implements LSTM in Float32 only, so in a Float64 graph it runs in Float32
    /// between two Casts.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        let h = hiddenSize
        func onnxOrder(_ tensor: Tensor) throws -> Tensor {
            let blocks = try [0, 3, 1, 2].map { try tensor.rows($0 * h..<($0 + 1) * h) }
            return try Tensor.concatenating(blocks, alongAxis: 0)
        }
        let w = try onnxOrder(weightIH).reshaped(to: [1, 4 * h, inputSize])
        let r = try onnxOrder(weightHH).reshaped(to: [1, 4 * h, h])
        let b = try Tensor.concatenating([onnxOrder(biasIH), onnxOrder(biasHH)], alongAxis: 0).reshaped(to: [1, 8 * h])
        let x = graph.node("Transpose", [input.name], attributes: [("perm", .ints([1, 0, 2]))])
        return graph.inFloat32(x) { graph, x in
            let outputs = graph.node(
                "LSTM", [x, graph.initializer("W", w), graph.initializer("R", r), graph.initializer("B", b)],
                outputs: 2, attributes: [("hidden_size", .int(h)), ("direction", .string("forward"))])
            if returnsSequence {
                // Y is [time, directions, batch, hidden].
                let squeezed = graph.node("Squeeze", [outputs[0], graph.int64Constant("axes", [1])])
                return graph.node("Transpose", [squeezed], attributes: [("perm", .ints([1, 0, 2]))])
            }
            // Y_h is [directions, batch, hidden].
            return graph.node("Squeeze", [outputs[1], graph.int64Constant("axes", [0])])
        }
    }
}
