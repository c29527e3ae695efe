import Foundation
import Saddle
import SaddleTestSupport
import Testing

@Suite("Checkpoints")
struct CheckpointTests {
    func sample() throws -> Checkpoint {
        var g = RandomGenerator(seed: 3)
        return Checkpoint(
            tensors: ["0.weight": .randomNormal([3, 2], using: &g), "1.running_mean": .randomNormal([3], dtype: .float64, using: &g)],
            optimizerState: ["0.weight.momentum_buffer": .randomNormal([3, 2], using: &g)],
            epoch: 4, step: 120, randomState: g.state, configuration: "{\"model\": [\"dense\"]}", metadata: ["note": "caf\u{e9} \"quoted\""])
    }

    @Test func roundTripKeepsEveryBitAndField() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let original = try sample()
        try original.write(to: dir.file("c.safetensors"))
        let read = try Checkpoint.read(from: dir.file("c.safetensors"))
        #expect(read.tensors["0.weight"]?.floats == original.tensors["0.weight"]?.floats)
        #expect(read.tensors["1.running_mean"]?.dtype == .float64)
        #expect(read.tensors["1.running_mean"]?.doubles == original.tensors["1.running_mean"]?.doubles)
        #expect(read.optimizerState.paths == ["0.weight.momentum_buffer"])
        #expect(read.epoch == 4 && read.step == 120 && read.randomState == original.randomState)
        #expect(read.configuration == original.configuration)
        #expect(read.metadata["note"] == "caf\u{e9} \"quoted\"")
    }

    @Test func anInterruptedWriteLeavesThePreviousCheckpoint() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("last.safetensors")
        let first = try sample()
        try first.write(to: url)
        var second = first
        second.epoch = 5
        second.tensors["0.weight"] = Tensor.zeros([3, 2])
        struct InjectedFault: Error {}
        #expect(throws: CheckpointError.self) {
            try second.write(to: url) { throw InjectedFault() }
        }
        let survivor = try Checkpoint.read(from: url)
        #expect(survivor.epoch == 4)
        #expect(survivor.tensors["0.weight"]?.floats == first.tensors["0.weight"]?.floats)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
        #expect(leftovers == ["last.safetensors"])
        try second.write(to: url)
        #expect(try Checkpoint.read(from: url).epoch == 5)
    }

    @Test func aKilledWriterNeverLeavesAPartialCheckpoint() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.file("last.safetensors")
        for delay in [0.15, 0.3, 0.45] {
            let process = Process()
            process.executableURL = Executables.url("saddle-test-helper")
            process.arguments = ["write-checkpoints", url.path]
            process.standardOutput = Pipe()
            try process.run()
            // Wait for a first complete checkpoint, then kill mid-stream.
            while !FileManager.default.fileExists(atPath: url.path) { usleep(10_000) }
            usleep(UInt32(delay * 1e6))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let checkpoint = try Checkpoint.read(from: url)
            #expect(checkpoint.tensors["weight"]?.shape == [512, 512])
            #expect(try checkpoint.tensors["round"]?.item() == Double(checkpoint.epoch))
        }
    }

    @Test func malformedFilesNameTheFileAndProblem() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let good = try sample().encoded()
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("truncated", good.prefix(good.count - 5)),
            ("huge header", Data([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]) + good.dropFirst(8)),
            ("not json", Data([5, 0, 0, 0, 0, 0, 0, 0]) + Data("{{{{{".utf8)),
            ("bad offsets", header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", body: 8)),
            ("hole", header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", body: 8)),
            ("unknown dtype", header("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", body: 8)),
            ("negative shape", header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", body: 4)),
        ]
        for (name, data) in cases {
            let url = dir.file(name)
            try data.write(to: url)
            do {
                _ = try Checkpoint.read(from: url)
                Issue.record("\(name) was accepted")
            } catch let error as CheckpointError {
                #expect("\(error)".contains(url.path), "\(name): \(error)")
            }
        }
        var future = try sample()
        future.metadata = [:]
        let newer = try Safetensors.encode(future.tensors, metadata: [("format", "saddle.checkpoint"), ("format_version", "99")])
        #expect(throws: CheckpointError.incompatible(file: "x", reason: "checkpoint format version 99 is newer than this Saddle (1)")) {
            try Checkpoint.decode(newer, file: "x")
        }
    }

    func header(_ json: String, body: Int) -> Data {
        var bytes = Array(json.utf8)
        var data = Data()
        withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: bytes)
        bytes = [UInt8](repeating: 0, count: body)
        data.append(contentsOf: bytes)
        return data
    }

    @Test func strictLoadingReportsEachKindOfMismatch() throws {
        var g = RandomGenerator(seed: 1)
        let model = try Sequential {
            try Dense(inputSize: 2, units: 3, using: &g)
            try BatchNorm(featureCount: 3)
        }
        let tensors = model.tensors
        #expect(try model.loading(tensors).parameters.paths == model.parameters.paths)
        var missing = tensors
        missing["1.running_var"] = nil
        #expect(throws: ModelError.missingTensor(path: "1.running_var")) { try model.loading(missing) }
        var extra = tensors
        extra["2.weight"] = Tensor.zeros([1])
        #expect(throws: ModelError.unexpectedTensor(path: "2.weight")) { try model.loading(extra) }
        var wrong = tensors
        wrong["0.weight"] = Tensor.zeros([2, 3])
        #expect(throws: ModelError.shapeMismatch(path: "0.weight", expected: [3, 2], actual: [2, 3])) { try model.loading(wrong) }
    }

    @Test func pytorchStateDictsLoad() throws {
        let mlp = try Checkpoint.read(from: Executables.fixtures.appendingPathComponent("mlp_batchnorm.safetensors"))
        var g = RandomGenerator(seed: 0)
        let template = try Sequential {
            try Dense(inputSize: 4, units: 5, using: &g)
            try BatchNorm(featureCount: 5)
            ReLU()
            try Dense(inputSize: 5, units: 3, using: &g)
        }
        let model = try template.loading(PyTorchNames.importing(mlp.tensors), ignoring: PyTorchNames.isIgnorable)
        let x = Formula.tensor(Formula.seq(8, 0.45, 0.2, 1.5), [2, 4]).converted(to: .float32)
        #expect(TestSupport.close(try model(x).doubles, PyTorchGolden.mlpBatchNormEvalOutput, tolerance: 1e-6))
        #expect(throws: ModelError.unexpectedTensor(path: "1.num_batches_tracked")) { try template.loading(mlp.tensors) }

        let lstmFile = try Checkpoint.read(from: Executables.fixtures.appendingPathComponent("lstm.safetensors"))
        let lstm = try LSTM(inputSize: 3, hiddenSize: 4, returnsSequence: true, using: &g).loading(PyTorchNames.importing(lstmFile.tensors))
        let sequence = Formula.tensor(Formula.seq(30, 0.37, 0, 1), [2, 5, 3]).converted(to: .float32)
        #expect(TestSupport.close(try lstm(sequence).doubles, PyTorchGolden.lstmFloat32Output, tolerance: 1e-6))
    }

    @Test func pythonSafetensorsReadsTheSameNumbers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let checkpoint = try sample()
        try checkpoint.write(to: dir.file("c.safetensors"))
        let script = """
            import json, sys
            from safetensors.numpy import load_file
            from safetensors import safe_open
            tensors = load_file(sys.argv[1])
            with safe_open(sys.argv[1], "np") as f:
                meta = f.metadata()
            print(json.dumps({k: [v.dtype.name, list(v.shape), [float(x).hex() for x in v.astype("float64").ravel()]] for k, v in tensors.items()} | {"__meta": meta}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, dir.file("c.safetensors").path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 with the safetensors package is needed (make test installs it)")
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let weight = try #require(object["0.weight"] as? [Any])
        #expect(weight[0] as? String == "float32")
        #expect(weight[1] as? [Int] == [3, 2])
        // Exact values travel as hexadecimal floats (JSON decimal parsing may round).
        func values(_ entry: [Any]) -> [Double]? { (entry[2] as? [String])?.compactMap(Double.init) }
        #expect(values(weight) == checkpoint.tensors["0.weight"]?.doubles)
        let mean = try #require(object["1.running_mean"] as? [Any])
        #expect(mean[0] as? String == "float64")
        #expect(values(mean) == checkpoint.tensors["1.running_mean"]?.doubles)
        #expect(object["optimizer/0.weight.momentum_buffer"] != nil)
        let meta = try #require(object["__meta"] as? [String: String])
        #expect(meta["epoch"] == "4" && meta["format"] == "saddle.checkpoint")
    }
}
