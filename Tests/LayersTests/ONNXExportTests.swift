import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// ONNX export checked by ONNX Runtime: every example model of examples/ and hand-built models
/// covering each built-in layer, with biases, BatchNorm statistics and affine parameters drawn
/// at random (so epsilon, variance and bias-split mistakes show), in Float32 and Float64.
@Suite struct ONNXExportTests {
    /// A model to export, its example shape, and its name in the report.
    struct Case {
        var name: String
        var model: any Layer
        var exampleShape: [Int]
    }

    /// The bound on |ONNX Runtime - Saddle|, relative to max(1, max |output|): Float32 rounding
    /// of sums taken in another order, and Float64 rounding (Float32 inside an LSTM, which ONNX
    /// Runtime runs in Float32 only, as Conv and AveragePool).
    static func bound(dtype: DType, hasFloat32Region: Bool) -> Double {
        dtype == .float32 || hasFloat32Region ? 2e-6 : 1e-12
    }

    /// Replaces biases, BatchNorm scales and running statistics by random values.
    static func randomized(_ model: any Layer, seed: UInt64) throws -> any Layer {
        var g = RandomGenerator(seed: seed)
        var replacements = NamedTensors()
        let batchNormScales = Set(model.buffers.paths.filter { $0.hasSuffix("running_mean") }.map { String($0.dropLast("running_mean".count)) + "weight" })
        for (path, tensor) in model.tensors {
            let dtype = tensor.dtype
            if path.hasSuffix("running_var") {
                replacements[path] = .randomUniform(tensor.shape, in: 0.5...2, dtype: dtype, using: &g)
            } else if path.hasSuffix("running_mean") || path.hasSuffix("bias") || path.hasSuffix("bias_ih") || path.hasSuffix("bias_hh") {
                replacements[path] = .randomUniform(tensor.shape, in: -0.5...0.5, dtype: dtype, using: &g)
            } else if batchNormScales.contains(path) {
                replacements[path] = .randomUniform(tensor.shape, in: 0.5...1.5, dtype: dtype, using: &g)
            }
        }
        return try model.replacing(replacements)
    }

    /// The models of examples/*.json at their initial weights.
    static func exampleCases() throws -> [Case] {
        let files = try FileManager.default.contentsOfDirectory(at: Executables.examples, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
        return try files.map { file in
            let run = try RunConfiguration.read(file, registry: .builtin)
            let shape = try run.exampleShape()
            return Case(name: file.deletingPathExtension().lastPathComponent, model: try run.buildModel(inputShape: shape), exampleShape: shape)
        }
    }

    /// Models covering the layers and options the examples do not.
    static func layerCases() throws -> [Case] {
        var g = RandomGenerator(seed: 11)
        let activations = Sequential([
            try Dense(inputSize: 6, units: 8, using: &g), try LeakyReLU(slope: 0.2), try Dense(inputSize: 8, units: 8, using: &g), Sigmoid(),
            try FactoredLinear(inputSize: 8, units: 7, rank: 3, depth: 3, useBias: true, using: &g), Tanh(), Identity(),
            try Dropout(rate: 0.3), try Maxout(inputSize: 7, units: 4, pieces: 3, using: &g), Softmax(),
        ])
        let sequence = Sequential([
            try LSTM(inputSize: 3, hiddenSize: 5, returnsSequence: true, using: &g),
            try LSTM(inputSize: 5, hiddenSize: 4, using: &g), try Dense(inputSize: 4, units: 2, using: &g),
        ])
        let images = try Sequential(named: [
            ("conv", try Conv2D(inputChannels: 2, outputChannels: 6, kernel: 3, padding: .same, using: &g)),
            ("bn", try BatchNorm(featureCount: 6)),
            ("act", ReLU()),
            ("grouped", try Conv2D(inputChannels: 6, outputChannels: 4, kernel: Size2D(3, 2), stride: Size2D(2, 1), padding: .explicit(Size2D(1, 0)), dilation: Size2D(1, 2), groups: 2, using: &g)),
            ("avg", try AvgPool2D(kernel: 3, stride: 1, padding: 1)),
            ("pool", try MaxPool2D(kernel: 2, stride: Size2D(2, 1), padding: Size2D(1, 0))),
            ("maxout", try ChannelMaxout(pieces: 2)),
            ("block", Residual(
                branch: Sequential([
                    try Conv2D(inputChannels: 2, outputChannels: 4, kernel: 3, stride: 2, padding: .explicit(1), using: &g),
                    try BatchNorm(featureCount: 4), ReLU(),
                    try Conv2D(inputChannels: 4, outputChannels: 4, kernel: 3, padding: .explicit(1), useBias: false, using: &g),
                ]),
                shortcut: try Conv2D(inputChannels: 2, outputChannels: 4, kernel: 1, stride: 2, useBias: false, using: &g), activation: ReLU())),
            ("gap", GlobalAveragePool()),
            ("head", try Dense(inputSize: 4, units: 3, using: &g)),
        ])
        let flattened = Sequential([
            try Conv2D(inputChannels: 1, outputChannels: 3, kernel: 2, using: &g), Tanh(), Flatten(),
            try BatchNorm(featureCount: 3 * 4 * 4), try Dense(inputSize: 48, units: 5, using: &g),
        ])
        return [
            Case(name: "activations_factored_maxout", model: activations, exampleShape: [6]),
            Case(name: "stacked_lstm", model: sequence, exampleShape: [7, 3]),
            Case(name: "conv_pool_residual", model: images, exampleShape: [2, 9, 8]),
            Case(name: "conv_flatten_batchnorm", model: flattened, exampleShape: [1, 5, 5]),
        ]
    }

    @Test func onnxRuntimeAgreesWithSaddleOnEveryExampleModel() throws {
        let dir = try TemporaryDirectory("onnx-export")
        defer { dir.remove() }
        var manifest: [JSONValue] = []
        var bounds: [String: Double] = [:]
        var g = RandomGenerator(seed: 5)
        for (k, base) in try (Self.exampleCases() + Self.layerCases()).enumerated() {
            for dtype in [DType.float32, .float64] {
                let name = "\(base.name)_\(dtype.rawValue)"
                var model = try Self.randomized(base.model, seed: UInt64(k))
                model = try model.replacing(model.tensors.converted(to: dtype))
                let input = Tensor.randomNormal([5] + base.exampleShape, dtype: dtype, using: &g)
                let output = try model(input)
                let onnx = dir.file("\(name).onnx")
                try model.exportONNX(to: onnx, exampleShape: base.exampleShape)
                try write(input, to: dir.file("\(name).input"))
                try write(output, to: dir.file("\(name).expected"))
                let casts = try Data(contentsOf: onnx).range(of: Data("Cast".utf8)) != nil
                bounds[name] = Self.bound(dtype: dtype, hasFloat32Region: casts)
                manifest.append(.object([
                    ("name", .string(name)), ("onnx", .string(onnx.path)), ("dtype", .string(dtype.rawValue)),
                    ("input", .string(dir.file("\(name).input").path)), ("input_shape", .array(input.shape.map { JSONValue.number(Double($0)) })),
                    ("expected", .string(dir.file("\(name).expected").path)),
                    ("expected_shape", .array(output.shape.map { JSONValue.number(Double($0)) })),
                ]))
            }
        }
        try Data(JSONValue.array(manifest).description.utf8).write(to: dir.file("manifest.json"))
        let script = Executables.examples.deletingLastPathComponent().appendingPathComponent("scripts/interop/onnx_check.py").path
        let out = dir.file("results.jsonl")
        let status = try runProgram("/bin/sh", ["-c", "python3 '\(script)' '\(dir.file("manifest.json").path)' > '\(out.path)' 2>&1"])
        let text = try String(contentsOf: out, encoding: .utf8)
        #expect(status == 0, "onnx_check.py (needs onnx and onnxruntime: make test installs them): \(text)")
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count == manifest.count, "\(text)")
        for line in lines {
            let result = try JSONParser.parse(Array(line.utf8))
            guard case .string(let name)? = result["name"] else { Issue.record("no name in \(line)"); continue }
            #expect(result["error"] == nil, "\(name): \(line)")
            guard case .number(let difference)? = result["max_abs_difference"], case .number(let scale)? = result["max_abs_output"] else {
                continue
            }
            let bound = (bounds[name] ?? 0) * Swift.max(1, scale)
            print("onnx export \(name): max |ORT - Saddle| = \(difference) (bound \(bound))")
            #expect(!difference.isNaN && difference <= bound, "\(name): \(line)")
            #expect(result["dynamic_batch"] == .bool(true) && result["shape_ok"] == .bool(true) && result["finite"] == .bool(true), "\(name): \(line)")
        }
    }

    @Test func pluginAndUnknownLayersAreRefusedByPath() throws {
        struct Doubling: Layer {
            func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor { try input * 2 }
        }
        var g = RandomGenerator(seed: 1)
        let model = try Sequential(named: [("dense", try Dense(inputSize: 3, units: 2, using: &g)), ("custom", Doubling())])
        #expect(throws: ExportError.self) { try model.onnxModel(exampleShape: [3]) }
        do {
            _ = try model.onnxModel(exampleShape: [3])
        } catch {
            #expect("\(error)".contains("layer custom (Doubling) cannot be exported to ONNX"), "\(error)")
        }
        do {
            _ = try model.onnxModel(exampleShape: [4])
        } catch {
            #expect("\(error)".contains("layer dense cannot take examples of shape [4]"), "\(error)")
        }
        #expect(throws: ExportError.self) { try model.onnxModel(exampleShape: []) }
    }

    private func write(_ tensor: Tensor, to url: URL) throws {
        let data: Data
        switch tensor.dtype {
        case .float32: data = tensor.floats.withUnsafeBufferPointer { Data(buffer: $0) }
        case .float64: data = tensor.doubles.withUnsafeBufferPointer { Data(buffer: $0) }
        }
        try data.write(to: url)
    }
}
