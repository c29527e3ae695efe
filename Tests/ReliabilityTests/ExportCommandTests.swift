import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// `saddle export` as a user meets it: what it writes, and clean refusals that leave any file
/// already at the destination untouched.
@Suite("saddle export and --version through the command")
struct ExportCommandTests {
    @Test func exportsBothFormatsAndRefusesBadArgumentsKeepingExistingFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, checkpoint) = try trainedRun(in: dir.url)
        let onnx = dir.file("model.onnx"), torch = dir.file("model.safetensors")
        let written = try saddle(["export", checkpoint.path, "--onnx", onnx.path, "--pytorch", torch.path, "--dtype", "float64"])
        expectSuccess(written)
        #expect(written.standardOutput.contains("ONNX opset 17, input [batch, 64] -> output [batch, 10], float64"), "\(written)")
        let stateDict = try Checkpoint.read(from: torch)
        #expect(Set(stateDict.tensors.paths) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(stateDict.tensors.tensors.allSatisfy { $0.dtype == .float64 })
        #expect(try Data(contentsOf: onnx).count > 1000)

        let kept = Data("an earlier file".utf8)
        try kept.write(to: onnx)
        try kept.write(to: torch)
        expectRefusal(try saddle(["export", checkpoint.path]), mentions: ["--onnx FILE, --pytorch FILE"])
        expectRefusal(try saddle(["export", checkpoint.path, "--onnx", onnx.path, "--dtype", "float16"]), mentions: ["--dtype", "float16"])
        expectRefusal(try saddle(["export", checkpoint.path, "--pytorch", torch.path, "--rename", "0"]), mentions: ["saddle_prefix=pytorch_prefix"])
        expectRefusal(try saddle(["export", checkpoint.path, "--onnx", onnx.path, "--rename", "0=a"]), mentions: ["--rename applies to --pytorch"])
        // Two tensors would share a name: refused, and the file already there is intact.
        expectRefusal(try saddle(["export", checkpoint.path, "--pytorch", torch.path, "--rename", "0=2"]), mentions: ["2.weight"])
        expectRefusal(try saddle(["export", checkpoint.path, "--onnx", dir.url.path]), mentions: [dir.url.path, "directory"])
        let missing = dir.file("no/such/folder/model.onnx")
        expectRefusal(try saddle(["export", checkpoint.path, "--onnx", missing.path]), mentions: [missing.path])
        expectRefusal(try saddle(["export", dir.file("absent.safetensors").path, "--onnx", onnx.path]), mentions: ["absent.safetensors"])
        #expect(try Data(contentsOf: onnx) == kept)
        #expect(try Data(contentsOf: torch) == kept)
    }

    @Test func versionIsTheSourceTreesVersion() throws {
        let result = try saddle(["--version"])
        expectSuccess(result)
        #expect(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "saddle \(SaddleVersion.current)")
        // The CHANGELOG records the version.
        let changelog = try String(contentsOf: Executables.examples.deletingLastPathComponent().appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        #expect(changelog.contains("## \(SaddleVersion.current) - "))
    }
}
