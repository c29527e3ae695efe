import Foundation
import SaddleCore
import SaddleData
import SaddleRegistry
import SaddleTraining

/// What an export wrote.
public struct ExportSummary: Sendable {
    /// The formats a checkpoint exports to.
    public enum Format: Sendable, Hashable {
        /// An ONNX inference graph.
        case onnx
        /// A PyTorch state dict (safetensors).
        case pytorch
    }

    /// The format written.
    public var format: Format
    /// The file written.
    public var file: String
    /// The input shape, batch axis first (`-1` for the dynamic batch).
    public var inputShape: [Int]
    /// The output shape, batch axis first (`-1` for the dynamic batch); empty for a state dict.
    public var outputShape: [Int]
    /// The element type of the file's tensors.
    public var dtype: DType
    /// How many tensors the file holds.
    public var tensorCount: Int
}

extension Run {
    /// Exports a checkpoint's model, loaded once, as an ONNX inference graph (opset 17,
    /// dynamic batch axis) at `onnx` and/or as a PyTorch state dict (safetensors) at `pytorch`,
    /// each written atomically. `torch.nn` modules of the same structure load the state dict
    /// with `strict=True` (`PyTorchNames.exporting`: LSTM tensors gain `_l0`, `renames` apply).
    /// Both are made before either is written, so a refusal of one writes neither.
    /// - Parameters:
    ///   - dtype: the files' element type; nil keeps the checkpoint's.
    /// - Returns: one summary per file written, ONNX first.
    /// - Throws: checkpoint and configuration errors naming the file; `ExportError` naming the
    ///   layer that ONNX cannot express (plugin layers); `ModelError` when renames collide;
    ///   `FileError` when a file cannot be written.
    public static func export(
        checkpoint url: URL, onnx: URL? = nil, pytorch: URL? = nil, renames: [PyTorchNames.Rename] = [], dtype: DType? = nil,
        configuration: RunConfiguration? = nil, registry: Registry
    ) throws -> [ExportSummary] {
        let (_, _, data, model) = try Run.loaded(url, configuration: configuration, registry: registry)
        let exampleShape = data.training.exampleShape
        // Both files are made before either is written, so a refusal writes nothing.
        let graph = try onnx.map { _ in try model.onnxModel(exampleShape: exampleShape, dtype: dtype) }
        let stateDict = try pytorch.map { _ in
            let tensors = try PyTorchNames.exporting(model.tensors, renames: renames)
            return dtype.map { tensors.converted(to: $0) } ?? tensors
        }
        var summaries: [ExportSummary] = []
        if let onnx, let graph {
            try FileSystem.writeAtomically(graph.bytes, to: onnx)
            summaries.append(ExportSummary(
                format: .onnx, file: onnx.path, inputShape: [-1] + graph.exampleInputShape,
                outputShape: [-1] + graph.exampleOutputShape, dtype: graph.elementType, tensorCount: model.tensors.count))
        }
        if let pytorch, let stateDict {
            try FileSystem.writeAtomically(try Safetensors.encode(stateDict, metadata: [("format", "pt")]), to: pytorch)
            summaries.append(ExportSummary(
                format: .pytorch, file: pytorch.path, inputShape: [-1] + exampleShape, outputShape: [],
                dtype: stateDict.tensors.first?.dtype ?? .float32, tensorCount: stateDict.count))
        }
        return summaries
    }
}
