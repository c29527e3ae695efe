import SaddleCore

extension Sequential: ONNXExportable {
    /// The children in order, each under its name.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        var x = input
        for (i, layer) in layers.enumerated() {
            x = try graph.scoped(name(at: i)) { try $0.append(layer, x) }
        }
        return x.name
    }
}

extension Residual: ONNXExportable {
    /// The branch and the shortcut (or the input), an `Add`, then the activation if any.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        let inner = try graph.scoped("branch") { try $0.append(branch, input) }
        let skip = try shortcut.map { s in try graph.scoped("shortcut") { try $0.append(s, input) } } ?? input
        let sum = ONNXValue(name: graph.node("Add", [skip.name, inner.name]), exampleShape: inner.exampleShape)
        guard let activation else { return sum.name }
        return try graph.scoped("activation") { try $0.append(activation, sum) }.name
    }
}
