import SaddleCore

extension ReLU: ONNXExportable {
    /// `Relu`.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        graph.node("Relu", [input.name])
    }
}

extension LeakyReLU: ONNXExportable {
    /// `LeakyRelu` with `alpha` = the slope. Its attribute is a Float32, so in a Float64 graph
    /// a slope Float32 cannot hold exactly is written as `Where(x > 0, x, slope * x)` instead.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        if graph.computeType == .float32 || Double(Float(slope)) == slope {
            return graph.node("LeakyRelu", [input.name], attributes: [("alpha", .float(Float(slope)))])
        }
        let positive = graph.node("Greater", [input.name, graph.initializer("zero", Tensor(0, dtype: .float64))])
        let scaled = graph.node("Mul", [input.name, graph.initializer("slope", Tensor(slope, dtype: .float64))])
        return graph.node("Where", [positive, input.name, scaled])
    }
}

extension Sigmoid: ONNXExportable {
    /// `Sigmoid`.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        graph.node("Sigmoid", [input.name])
    }
}

extension Tanh: ONNXExportable {
    /// `Tanh`.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        graph.node("Tanh", [input.name])
    }
}

extension Softmax: ONNXExportable {
    /// `Softmax` over the last axis (from opset 13 it normalizes that axis alone).
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        graph.node("Softmax", [input.name], attributes: [("axis", .int(-1))])
    }
}

extension Identity: ONNXExportable {
    /// The input itself: no node.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String { input.name }
}

extension Dropout: ONNXExportable {
    /// The input itself: dropout is the identity in inference mode.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String { input.name }
}

extension Flatten: ONNXExportable {
    /// `Flatten` at axis 1, which keeps the batch axis dynamic.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        graph.node("Flatten", [input.name], attributes: [("axis", .int(1))])
    }
}
