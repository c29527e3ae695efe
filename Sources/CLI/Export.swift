// `saddle export`: a checkpoint's model as ONNX, or its tensors as a PyTorch state dict.
import ArgumentParser
import Foundation
import Saddle

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint's model as an ONNX inference graph or as a PyTorch state dict.",
        discussion: """
            --onnx writes an opset-17 graph with a dynamic batch axis (plugin layers are refused). \
            --pytorch writes a safetensors state dict that torch.nn modules of the same structure load \
            with strict=True; --rename maps what names cannot express.
            """)

    @Argument(help: "The checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "Write the model as ONNX to this file.")
    var onnx: String?

    @Option(help: "Write the tensors as a PyTorch state dict (safetensors) to this file.")
    var pytorch: String?

    @Option(help: "The exported element type, float32 or float64 (default: the checkpoint's).")
    var dtype: String?

    @Option(help: "A path-prefix rename for --pytorch, saddle_prefix=pytorch_prefix (repeatable), for example 0=features.0.")
    var rename: [String] = []

    @OptionGroup var override: ConfigurationOverride

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("export") {
            guard onnx != nil || pytorch != nil else { throw ValidationError("give --onnx FILE, --pytorch FILE or both") }
            var type: DType?
            if let dtype {
                guard let parsed = DType(rawValue: dtype) else { throw ValidationError("--dtype must be float32 or float64, got \"\(dtype)\"") }
                type = parsed
            }
            guard rename.isEmpty || pytorch != nil else { throw ValidationError("--rename applies to --pytorch only") }
            let renames = try rename.map { try PyTorchNames.Rename(parsing: $0) }
            let registry = try registryOptions.registry()
            let configuration = try override.configuration(registry: registry)
            let summaries = try Run.export(
                checkpoint: URL(fileURLWithPath: checkpoint), onnx: onnx.map { URL(fileURLWithPath: $0) },
                pytorch: pytorch.map { URL(fileURLWithPath: $0) }, renames: renames, dtype: type, configuration: configuration,
                registry: registry)
            for summary in summaries {
                switch summary.format {
                case .onnx:
                    print("wrote \(summary.file): ONNX opset \(ONNXGraph.opsetVersion), input \(describe(summary.inputShape)) -> output \(describe(summary.outputShape)), \(summary.dtype.rawValue), \(summary.tensorCount) tensors")
                case .pytorch:
                    print("wrote \(summary.file): PyTorch state dict, \(summary.tensorCount) tensors, \(summary.dtype.rawValue)")
                }
            }
        }
    }

    private func describe(_ shape: [Int]) -> String {
        "[" + shape.map { $0 < 0 ? "batch" : String($0) }.joined(separator: ", ") + "]"
    }
}
