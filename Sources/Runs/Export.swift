import Foundation
import SaddleCore
import SaddleData
import SaddleRegistry
import SaddleTraining

/// What an export wrote.
public struct ExportSummary: Sendable {
    /// The file written.
    public var file: String
    /// The input shape, batch axis first (`-1` for the dynamic batch).
    public var inputShape: [Int]
    /// The output shape, batch axis first (`-1` for the dynamic batch).
    public var outputShape: [Int]
    /// The element type of the file's tensors.
    public var dtype: DType
    /// How many tensors the file holds.
    public var tensorCount: Int
}

extension Run {
    /// Exports a checkpoint's model as an ONNX inference graph (opset 17, dynamic batch axis)
    /// at `output`, written atomically.
    /// - Parameters:
    ///   - dtype: the graph's element type; nil keeps the checkpoint's.
    /// - Throws: checkpoint and configuration errors naming the file; `ExportError` naming the
    ///   layer that ONNX cannot express (plugin layers); `CheckpointError.writeFailed`.
    public static func exportONNX(
        checkpoint url: URL, to output: URL, configuration: RunConfiguration? = nil, dtype: DType? = nil, registry: Registry
    ) throws -> ExportSummary {
        let (_, _, data, model) = try Run.loaded(url, configuration: configuration, registry: registry)
        let exported = try model.onnxModel(exampleShape: data.training.exampleShape, dtype: dtype)
        try FileSystem.writeAtomically(exported.bytes, to: output)
        return ExportSummary(
            file: output.path, inputShape: [-1] + exported.exampleInputShape, outputShape: [-1] + exported.exampleOutputShape,
            dtype: exported.elementType, tensorCount: model.tensors.count)
    }

    /// Exports a checkpoint's parameters and buffers as a PyTorch state dict (safetensors) at
    /// `output`, written atomically: `torch.nn` modules of the same structure load it with
    /// `strict=True` (`PyTorchNames.exporting`: LSTM tensors gain `_l0`, `renames` apply).
    /// - Throws: checkpoint errors naming the file; `ModelError` when renames collide;
    ///   `CheckpointError.writeFailed`.
    public static func exportPyTorch(
        checkpoint url: URL, to output: URL, configuration: RunConfiguration? = nil, renames: [PyTorchNames.Rename] = [],
        dtype: DType? = nil, registry: Registry
    ) throws -> ExportSummary {
        let (_, _, data, model) = try Run.loaded(url, configuration: configuration, registry: registry)
        var tensors = try PyTorchNames.exporting(model.tensors, renames: renames)
        if let dtype { tensors = tensors.converted(to: dtype) }
        try FileSystem.writeAtomically(try Safetensors.encode(tensors, metadata: [("format", "pt")]), to: output)
        let own = tensors.first(where: { _ in true })?.tensor.dtype ?? .float32
        return ExportSummary(
            file: output.path, inputShape: [-1] + data.training.exampleShape, outputShape: [], dtype: own, tensorCount: tensors.count)
    }
}
