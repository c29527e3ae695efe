import SaddleCore

extension BatchNorm: ONNXExportable {
    /// `BatchNormalization` in inference mode with the running statistics (its `epsilon`
    /// attribute is a Float32). Works on `[batch, features]` and on images, channels second.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        let inputs = [
            input.name, graph.initializer("weight", weight), graph.initializer("bias", bias),
            graph.initializer("running_mean", runningMean), graph.initializer("running_var", runningVariance),
        ]
        return graph.node("BatchNormalization", inputs, attributes: [("epsilon", .float(Float(epsilon)))])
    }
}
