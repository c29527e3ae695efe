import SaddleCore

/// A Gemm computing `input W^T + b` for `[batch, in]` inputs.
private func appendGemm(_ input: ONNXValue, weight: Tensor, bias: Tensor?, layer: String, to graph: inout ONNXGraph) throws -> String {
    guard input.exampleShape.count == 1 else {
        throw ExportError.shape(path: graph.path, exampleShape: input.exampleShape, reason: "\(layer) takes [batch, features] inputs")
    }
    var inputs = [input.name, graph.initializer("weight", weight)]
    if let bias { inputs.append(graph.initializer("bias", bias)) }
    return graph.node("Gemm", inputs, attributes: [("transB", .int(1))])
}

extension Dense: ONNXExportable {
    /// A Gemm with the weight transposed (`transB = 1`), as PyTorch exports `nn.Linear`.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        try appendGemm(input, weight: weight, bias: bias, layer: "dense", to: &graph)
    }
}

extension FactoredLinear: ONNXExportable {
    /// One Gemm with the product of the factors (computed here as the forward pass computes it).
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        try appendGemm(input, weight: weight(), bias: bias, layer: "factored_linear", to: &graph)
    }
}

extension Maxout: ONNXExportable {
    /// A Gemm to `[batch, units * pieces]`, a Reshape to `[batch, units, pieces]` and a
    /// ReduceMax over the pieces.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        let affine = try appendGemm(input, weight: weight, bias: bias, layer: "maxout", to: &graph)
        let grouped = graph.node("Reshape", [affine, graph.int64Constant("shape", [0, units, pieces])])
        return graph.node("ReduceMax", [grouped], attributes: [("axes", .ints([2])), ("keepdims", .int(0))])
    }
}
