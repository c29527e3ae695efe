import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// PyTorch names both ways: Saddle's example models exported with `PyTorchNames.exporting`
/// carry exactly the keys and shapes torch gives modules of the same structure (a fixture made
/// with torch, read back here with Python's safetensors and numpy), and import back strictly.
@Suite struct PyTorchExportTests {
    static var repository: URL { Executables.examples.deletingLastPathComponent() }

    @Test(arguments: ["fashion_resnet", "fashion_resnet_named", "digits_batchnorm", "digits_lstm"])
    func exportedKeysAreTorchsAndRoundTrip(_ name: String) throws {
        let fixtureURL = Executables.fixtures.appendingPathComponent("pytorch_state_dict_keys.json")
        let fixture = try JSONParser.parse(Array(try Data(contentsOf: fixtureURL)))
        guard case .string(let example)? = fixture[name]?["example"], case .array(let renameTexts)? = fixture[name]?["renames"] else {
            Issue.record("fixture has no entry \(name)")
            return
        }
        let renames = try renameTexts.map { value -> PyTorchNames.Rename in
            guard case .string(let text) = value else { throw ModelError.invalidConfiguration(layer: "rename", reason: "not a string") }
            return try PyTorchNames.Rename(parsing: text)
        }
        let run = try RunConfiguration.read(Executables.examples.appendingPathComponent("\(example).json"), registry: .builtin)
        let model = try run.buildModel(inputShape: try run.exampleShape())
        let exported = try PyTorchNames.exporting(model.tensors, renames: renames)

        let dir = try TemporaryDirectory("pytorch-export")
        defer { dir.remove() }
        let file = dir.file("\(name).safetensors")
        try Data(try Safetensors.encode(exported, metadata: [("format", "pt")])).write(to: file)
        let out = dir.file("result.json")
        let script = Self.repository.appendingPathComponent("scripts/interop/state_dict_check.py").path
        let status = try runProgram("/bin/sh", ["-c", "python3 '\(script)' '\(fixtureURL.path)' \(name) '\(file.path)' > '\(out.path)' 2>&1"])
        let text = try String(contentsOf: out, encoding: .utf8)
        #expect(status == 0, "state_dict_check.py (needs safetensors and numpy: make test installs them): \(text)")
        let result = try JSONParser.parse(Array(text.utf8))
        for key in ["missing", "unexpected", "shape_mismatches", "non_finite"] {
            #expect(result[key] == .array([]), "\(name) \(key): \(text)")
        }
        #expect(result["count"] == .number(Double(model.tensors.count)), "\(text)")

        // Back: the state dict loads into the model strictly, every tensor unchanged.
        let back = try model.loading(PyTorchNames.importing(exported, renames: renames))
        for (path, tensor) in model.tensors {
            #expect(back.tensors[path]?.doubles == tensor.doubles, "\(path)")
        }
    }

    @Test func renamesThatCollideAreRefused() throws {
        var g = RandomGenerator(seed: 1)
        let model = Sequential([try Dense(inputSize: 2, units: 2, using: &g), try Dense(inputSize: 2, units: 2, using: &g)])
        #expect(throws: ModelError.self) {
            try PyTorchNames.exporting(model.tensors, renames: [PyTorchNames.Rename(saddle: "0", pytorch: "1")])
        }
        #expect(throws: ModelError.self) { try PyTorchNames.Rename(parsing: "0=") }
        #expect(throws: ModelError.self) { try PyTorchNames.Rename(parsing: "a=b=c") }
        // The longest matching prefix wins, on whole path components only.
        let renamed = try PyTorchNames.exporting(
            model.tensors, renames: [.init(saddle: "0", pytorch: "encoder"), .init(saddle: "1", pytorch: "head.linear")])
        #expect(renamed.paths == ["encoder.weight", "encoder.bias", "head.linear.weight", "head.linear.bias"])
    }

    @Test func float64WeightsAreRefusedByAFloat32ModelUnlessConverting() throws {
        var g = RandomGenerator(seed: 2)
        let model = try Dense(inputSize: 3, units: 2, using: &g)
        let float64 = model.tensors.converted(to: .float64)
        #expect(throws: ModelError.dtypeMismatch(path: "weight", expected: .float32, actual: .float64)) { try model.loading(float64) }
        let converted = try model.loading(float64, converting: true)
        #expect(converted.weight.dtype == .float32)
        #expect(converted.weight.floats == model.weight.floats)
    }
}
