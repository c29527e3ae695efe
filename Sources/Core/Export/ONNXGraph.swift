import Foundation

/// A value flowing through an exported ONNX graph: its name and its shape without the batch axis
/// (the batch axis is dynamic).
public struct ONNXValue: Sendable, Hashable {
    /// The value's name in the graph.
    public var name: String
    /// The shape of one example (`[channels, height, width]` for images).
    public var exampleShape: [Int]

    /// A value named `name` whose examples have shape `exampleShape`.
    public init(name: String, exampleShape: [Int]) {
        self.name = name
        self.exampleShape = exampleShape
    }
}

/// An attribute of an ONNX node.
public enum ONNXAttribute: Sendable, Hashable {
    /// An integer (`INT`).
    case int(Int)
    /// A list of integers (`INTS`).
    case ints([Int])
    /// A 32-bit float (`FLOAT`).
    case float(Float)
    /// A list of 32-bit floats (`FLOATS`).
    case floats([Float])
    /// A UTF-8 string (`STRING`).
    case string(String)
}

/// Why a model cannot be exported, naming the layer's path.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// The layer at `path` has no export (plugin layers, or a layer type without a rule).
    case unsupportedLayer(path: String, type: String, reason: String)
    /// The layer at `path` rejected the example shape it would receive.
    case shape(path: String, exampleShape: [Int], reason: String)
    /// An argument of the export is invalid.
    case invalidArgument(String)

    /// A sentence naming the layer (or the argument) and what is wrong.
    public var description: String {
        switch self {
        case let .unsupportedLayer(path, type, reason):
            return "layer \(path.isEmpty ? "(the model)" : path) (\(type)) cannot be exported to ONNX: \(reason)"
        case let .shape(path, shape, reason):
            return "layer \(path.isEmpty ? "(the model)" : path) cannot take examples of shape \(describe(shape: shape)): \(reason)"
        case let .invalidArgument(message):
            return message
        }
    }
}

/// A layer that can write itself as ONNX operators (inference mode: running statistics, no
/// dropout). Built-in layers conform; a Swift layer of a user's own can too.
public protocol ONNXExportable: Layer {
    /// Appends the nodes computing this layer from `input` to `graph` and returns the name of
    /// their output. Tensors go in through `graph.initializer(_:_:)` under this layer's path.
    /// - Throws: `ExportError` for a configuration ONNX cannot express.
    func appendONNX(_ input: ONNXValue, to graph: inout ONNXGraph) throws -> String
}

/// An ONNX inference graph under construction (opset 17, IR version 8), with a dynamic batch
/// axis. Layers append nodes and initializers to it through `ONNXExportable`; `encoded(...)`
/// writes the `ModelProto` bytes, by hand (no protobuf code generator).
public struct ONNXGraph: Sendable {
    /// The operator set version the graph is written against. Opset 17 keeps ReduceMax's axes
    /// an attribute (from 18 they are an input), which maxout relies on.
    public static let opsetVersion = 17
    /// The IR version matching opset 17.
    public static let irVersion = 8
    /// The name of the graph's input.
    public static let inputName = "input"
    /// The name of the graph's output.
    public static let outputName = "output"

    /// The element type of the graph's input, output and floating-point initializers.
    public let elementType: DType
    /// The dtype layers are probed in (the model's own).
    let probeType: DType
    private var nodes: [[UInt8]] = []
    private var initializers: [[UInt8]] = []
    private var names: Set<String> = [ONNXGraph.inputName, ONNXGraph.outputName]
    private var scope: [String] = []

    init(elementType: DType, probeType: DType) {
        self.elementType = elementType
        computeType = elementType
        self.probeType = probeType
    }

    /// The dotted path of the layer being exported (`3.branch.0`).
    public var path: String { scope.joined(separator: ".") }

    /// Runs `body` with `component` appended to the path (containers call this for children).
    public mutating func scoped<R>(_ component: String, _ body: (inout ONNXGraph) throws -> R) rethrows -> R {
        scope.append(component)
        defer { scope.removeLast() }
        return try body(&self)
    }

    private mutating func unique(_ base: String) -> String {
        var name = base
        var k = 1
        while names.contains(name) {
            name = "\(base)_\(k)"
            k += 1
        }
        names.insert(name)
        return name
    }

    /// The element type nodes compute in at this point: the graph's, or Float32 inside
    /// `inFloat32(_:_:)`.
    public private(set) var computeType: DType

    /// Runs `body` on `input` in Float32: in a Float64 graph the input is cast to Float32, the
    /// body's initializers default to Float32, and its output is cast back. For operators ONNX
    /// Runtime implements in Float32 only (LSTM, Conv, the poolings); in a Float32 graph it is
    /// `body` alone.
    public mutating func inFloat32(_ input: String, _ body: (inout ONNXGraph, String) throws -> String) rethrows -> String {
        guard computeType == .float64 else { return try body(&self, input) }
        let cast = node("Cast", [input], attributes: [("to", .int(DType.float32.onnxElementType))])
        computeType = .float32
        defer { computeType = .float64 }
        let output = try body(&self, cast)
        return node("Cast", [output], attributes: [("to", .int(DType.float64.onnxElementType))])
    }

    /// Adds `tensor` as an initializer named `<path>.<name>` (the Saddle path of a parameter when
    /// `name` is one), in `computeType` unless `dtype` says otherwise; returns its name.
    @discardableResult
    public mutating func initializer(_ name: String, _ tensor: Tensor, dtype: DType? = nil) -> String {
        let full = unique((scope + [name]).joined(separator: "."))
        let type = dtype ?? computeType
        var message = ProtobufWriter()
        for d in tensor.shape { message.int(1, d) }
        message.int(2, type.onnxElementType)
        message.string(8, full)
        switch type {
        case .float32: message.bytes(9, littleEndianBytes(tensor.converted(to: .float32).floats))
        case .float64: message.bytes(9, littleEndianBytes(tensor.converted(to: .float64).doubles))
        }
        initializers.append(message.bytes)
        return full
    }

    /// Adds a constant `int64` tensor (shapes and axes for Reshape, Squeeze) and returns its name.
    public mutating func int64Constant(_ name: String, _ values: [Int]) -> String {
        let full = unique((scope + [name]).joined(separator: "."))
        var message = ProtobufWriter()
        message.int(1, values.count)
        message.int(2, 7)  // INT64
        message.string(8, full)
        message.bytes(9, littleEndianBytes(values.map { Int64($0) }))
        initializers.append(message.bytes)
        return full
    }

    /// Appends a node `op` reading `inputs` and returns the names of its `outputs` outputs
    /// (empty input names stand for omitted optional inputs).
    public mutating func node(
        _ op: String, _ inputs: [String], outputs: Int = 1, attributes: [(String, ONNXAttribute)] = []
    ) -> [String] {
        let base = (scope.isEmpty ? "" : path + "/") + op
        let nodeName = unique(base)
        let outputNames = (0..<outputs).map { outputs == 1 ? nodeName + ":out" : nodeName + ":out\($0)" }
        outputNames.forEach { names.insert($0) }
        write(op, nodeName: nodeName, inputs: inputs, outputs: outputNames, attributes: attributes)
        return outputNames
    }

    /// Names `value` as the graph's output through an Identity node.
    mutating func markOutput(_ value: String) {
        write("Identity", nodeName: unique("output/Identity"), inputs: [value], outputs: [ONNXGraph.outputName], attributes: [])
    }

    private mutating func write(_ op: String, nodeName: String, inputs: [String], outputs: [String], attributes: [(String, ONNXAttribute)]) {
        var message = ProtobufWriter()
        for input in inputs { message.string(1, input) }
        for output in outputs { message.string(2, output) }
        message.string(3, nodeName)
        message.string(4, op)
        for (name, value) in attributes {
            message.message(5) { attribute in
                attribute.string(1, name)
                switch value {
                case .float(let f):
                    attribute.float(2, f)
                    attribute.int(20, 1)
                case .int(let i):
                    attribute.int(3, i)
                    attribute.int(20, 2)
                case .string(let s):
                    attribute.string(4, s)
                    attribute.int(20, 3)
                case .floats(let fs):
                    for f in fs { attribute.float(7, f) }
                    attribute.int(20, 6)
                case .ints(let values):
                    for i in values { attribute.int(8, i) }
                    attribute.int(20, 7)
                }
            }
        }
        nodes.append(message.bytes)
    }

    /// Appends a node with one output and returns that output's name.
    public mutating func node(_ op: String, _ inputs: [String], attributes: [(String, ONNXAttribute)] = []) -> String {
        node(op, inputs, outputs: 1, attributes: attributes)[0]
    }

    /// Appends `layer` (in inference mode) reading `input`, and returns its output with the shape
    /// of one example, found by running the layer on one example of zeros.
    /// - Throws: `ExportError` naming the layer's path when it has no export or rejects the shape.
    public mutating func append(_ layer: any Layer, _ input: ONNXValue) throws -> ONNXValue {
        guard let exportable = layer as? any ONNXExportable else {
            throw ExportError.unsupportedLayer(
                path: path, type: String(describing: type(of: layer)),
                reason: "it has no ONNX export (it does not conform to ONNXExportable); plugin layers run code ONNX cannot carry")
        }
        let outputShape: [Int]
        do {
            var context = ForwardContext(mode: .inference)
            let probe = try layer(Tensor.zeros([1] + input.exampleShape, dtype: probeType), context: &context)
            outputShape = Array(probe.shape.dropFirst())
        } catch {
            // A container names the child that rejects its input, found by exporting it.
            var scratch = self
            _ = try exportable.appendONNX(input, to: &scratch)
            throw ExportError.shape(path: path, exampleShape: input.exampleShape, reason: String(describing: error))
        }
        let name = try exportable.appendONNX(input, to: &self)
        return ONNXValue(name: name, exampleShape: outputShape)
    }

    private func valueInfo(_ name: String, exampleShape: [Int]) -> [UInt8] {
        var info = ProtobufWriter()
        info.string(1, name)
        info.message(2) { type in
            type.message(1) { tensorType in
                tensorType.int(1, elementType.onnxElementType)
                tensorType.message(2) { shape in
                    shape.message(1) { $0.string(2, "batch") }
                    for d in exampleShape { shape.message(1) { $0.int(1, d) } }
                }
            }
        }
        return info.bytes
    }

    /// The `ModelProto` bytes of the graph from `input` to `output`.
    func encoded(input: ONNXValue, output: ONNXValue, producerVersion: String, documentation: String) -> [UInt8] {
        var model = ProtobufWriter()
        model.int(1, ONNXGraph.irVersion)
        model.string(2, "Saddle")
        model.string(3, producerVersion)
        model.string(6, documentation)
        model.message(7) { graph in
            for node in nodes { graph.bytes(1, node) }
            graph.string(2, "saddle")
            for tensor in initializers { graph.bytes(5, tensor) }
            graph.bytes(11, valueInfo(input.name, exampleShape: input.exampleShape))
            graph.bytes(12, valueInfo(output.name, exampleShape: output.exampleShape))
        }
        model.message(8) { opset in
            opset.string(1, "")
            opset.int(2, ONNXGraph.opsetVersion)
        }
        return model.bytes
    }
}

extension DType {
    /// The `TensorProto.DataType` code: FLOAT 1, DOUBLE 11.
    var onnxElementType: Int { self == .float32 ? 1 : 11 }
}

private func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    var result = [UInt8]()
    result.reserveCapacity(values.count * MemoryLayout<T>.size)
    for v in values { withUnsafeBytes(of: v.littleEndian) { result.append(contentsOf: $0) } }
    return result
}

private func littleEndianBytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }
private func littleEndianBytes(_ values: [Double]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }

/// An exported ONNX model: the file's bytes and the shapes of its input and output.
public struct ONNXModel: Sendable {
    /// The `ModelProto` bytes, ready to write to a `.onnx` file.
    public var bytes: Data
    /// The shape of one input example (the graph's input is `[batch, exampleInputShape...]`).
    public var exampleInputShape: [Int]
    /// The shape of one output example.
    public var exampleOutputShape: [Int]
    /// The element type of the graph's input and output.
    public var elementType: DType
}

extension Layer {
    /// This model as an ONNX inference graph (opset 17) from `input`
    /// `[batch, exampleShape...]` to `output`, with a dynamic batch axis.
    ///
    /// The graph's element type is `dtype`, or the model's own. ONNX Runtime implements LSTM,
    /// Conv and AveragePool in Float32 only, so in a Float64 graph
    /// those operators run in Float32 between two Casts (the rest keeps Float64).
    /// - Parameters:
    ///   - exampleShape: the shape of one input example (`[784]`, `[1, 28, 28]`, `[time, features]`).
    ///   - dtype: the graph's element type; nil keeps the model's.
    ///   - producerVersion: written as the model's `producer_version`.
    /// - Throws: `ExportError` naming the layer that cannot be exported (plugin layers) or
    ///   rejects the example shape.
    public func onnxModel(exampleShape: [Int], dtype: DType? = nil, producerVersion: String = SaddleVersion.current) throws -> ONNXModel {
        guard !exampleShape.isEmpty, exampleShape.allSatisfy({ $0 >= 1 }) else {
            throw ExportError.invalidArgument("the example shape \(describe(shape: exampleShape)) must have at least one axis, each at least 1")
        }
        let own = tensors.tensors.first?.dtype ?? .float32
        var graph = ONNXGraph(elementType: dtype ?? own, probeType: own)
        let input = ONNXValue(name: ONNXGraph.inputName, exampleShape: exampleShape)
        let last = try graph.append(self, input)
        graph.markOutput(last.name)
        let output = ONNXValue(name: ONNXGraph.outputName, exampleShape: last.exampleShape)
        let bytes = graph.encoded(input: input, output: output, producerVersion: producerVersion, documentation: "Exported by Saddle")
        return ONNXModel(bytes: Data(bytes), exampleInputShape: exampleShape, exampleOutputShape: last.exampleShape, elementType: graph.elementType)
    }

    /// Writes this model as an ONNX file at `url` (atomically: a temporary file renamed over it).
    /// - Throws: as `onnxModel(exampleShape:dtype:producerVersion:)`; `FileError` when the file
    ///   cannot be written.
    public func exportONNX(to url: URL, exampleShape: [Int], dtype: DType? = nil) throws {
        try FileSystem.writeAtomically(try onnxModel(exampleShape: exampleShape, dtype: dtype).bytes, to: url)
    }
}
