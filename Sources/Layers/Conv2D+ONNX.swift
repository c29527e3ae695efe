import SaddleCore

/// The window attributes of Conv and the pooling operators: ONNX orders pads as
/// [top, left, bottom, right].
private func windowAttributes(_ window: Window2D) -> [(String, ONNXAttribute)] {
    let p = window.padding
    return [
        ("kernel_shape", .ints([window.kernel.height, window.kernel.width])),
        ("strides", .ints([window.stride.height, window.stride.width])),
        ("pads", .ints([p.top, p.left, p.bottom, p.right])),
    ]
}

extension Conv2D: ONNXExportable {
    /// `Conv` with explicit pads ("same" padding resolved to its sides), dilations and groups;
    /// in Float32 between Casts in a Float64 graph (ONNX Runtime's Conv is Float32 only).
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        let window = try options.window(kernel: kernel)
        return graph.inFloat32(input.name) { graph, x in
            var inputs = [x, graph.initializer("weight", weight)]
            if let bias { inputs.append(graph.initializer("bias", bias)) }
            return graph.node(
                "Conv", inputs,
                attributes: windowAttributes(window) + [
                    ("dilations", .ints([dilation.height, dilation.width])), ("group", .int(groups)),
                ])
        }
    }
}

extension MaxPool2D: ONNXExportable {
    /// `MaxPool` (floor mode; padded positions never win, as in Saddle and PyTorch).
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        graph.node(
            "MaxPool", [input.name],
            attributes: windowAttributes(window) + [("dilations", .ints([window.dilation.height, window.dilation.width]))])
    }
}

extension AvgPool2D: ONNXExportable {
    /// `AveragePool` with `count_include_pad = 1` (the divisor is always the kernel's area); in
    /// Float32 between Casts in a Float64 graph (ONNX Runtime's AveragePool is Float32 only).
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        graph.inFloat32(input.name) { graph, x in
            graph.node("AveragePool", [x], attributes: windowAttributes(window) + [("count_include_pad", .int(1))])
        }
    }
}

extension GlobalAveragePool: ONNXExportable {
    /// `ReduceMean` over the spatial axes to `[batch, channels]` (what `GlobalAveragePool` and
    /// `Flatten` compute, in any element type ONNX Runtime supports).
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        let spatialAxes = Array(2...Swift.max(2, input.exampleShape.count))
        return graph.node("ReduceMean", [input.name], attributes: [("axes", .ints(spatialAxes)), ("keepdims", .int(0))])
    }
}

extension ChannelMaxout: ONNXExportable {
    /// A Reshape to `[batch, channels, pieces, spatial...]` and a ReduceMax over the pieces.
    public func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String {
        guard let channels = input.exampleShape.first else {
            throw ExportError.shape(path: graph.path, exampleShape: input.exampleShape, reason: "channel_maxout needs a channel axis")
        }
        let shape = [0, channels / pieces, pieces] + input.exampleShape.dropFirst()
        let grouped = graph.node("Reshape", [input.name, graph.int64Constant("shape", shape)])
        return graph.node("ReduceMax", [grouped], attributes: [("axes", .ints([2])), ("keepdims", .int(0))])
    }
}
