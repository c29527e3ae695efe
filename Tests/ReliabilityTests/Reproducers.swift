import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// The `saddle` under test: the one built beside the tests, or `SADDLE_UNDER_TEST` (to run
/// these reproducers against another build, such as one from before a fix).
let saddleUnderTest: URL = ProcessInfo.processInfo.environment["SADDLE_UNDER_TEST"].map { URL(fileURLWithPath: $0) } ?? Executables.url("saddle")

/// Runs `saddle` with `arguments`.
func saddle(_ arguments: [String], in directory: URL? = nil) throws -> CommandResult {
    try SaddleCommandLine.run(arguments, in: directory, executable: saddleUnderTest)
}

/// Expects a clean refusal: exit status 1 (not a signal), and a message on standard error
/// containing each of `mentions` (the file, the JSON path, the reason).
func expectRefusal(_ result: CommandResult, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!result.signaled && result.status == 1, "expected exit status 1: \(result)", sourceLocation: sourceLocation)
    for text in mentions {
        #expect(result.standardError.contains(text), "standard error lacks \"\(text)\": \(result)", sourceLocation: sourceLocation)
    }
}

/// Expects success (exit status 0).
func expectSuccess(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!result.signaled && result.status == 0, "\(result)", sourceLocation: sourceLocation)
}

/// A small run on the bundled digits in `directory`, written as `name`.json, with `extra`
/// top-level members and `train` members replacing the defaults.
func writeRun(
    in directory: URL, name: String = "run", model: String = #"[{"layer": "dense", "units": 8}, {"layer": "relu"}, {"layer": "dense", "units": 10}]"#,
    data: String = #"{"name": "digits"}"#, optimizer: String = #"{"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}"#,
    train: String = #""epochs": 1, "batch_size": 64"#, extra: String = ""
) throws -> URL {
    let url = directory.appendingPathComponent("\(name).json")
    let text = """
        {"format_version": 1, "name": "\(name)", "seed": 1, \(extra)
         "data": \(data), "model": \(model), "optimizer": \(optimizer),
         "train": {\(train), "progress": "silent", "checkpoint_dir": "\(directory.appendingPathComponent(name).path)"}}
        """
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

/// Trains the small run and returns the run file and its last checkpoint.
func trainedRun(in directory: URL, optimizer: String = #"{"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}"#) throws -> (run: URL, checkpoint: URL) {
    let run = try writeRun(in: directory, optimizer: optimizer)
    let result = try saddle(["train", run.path])
    guard result.status == 0, !result.signaled else { throw ReproducerError(description: "training the base run failed: \(result)") }
    return (run, directory.appendingPathComponent("run/last.safetensors"))
}

struct ReproducerError: Error, CustomStringConvertible {
    var description: String
}

/// Rewrites a checkpoint file through `change`.
func rewrite(_ url: URL, _ change: (inout Checkpoint) throws -> Void) throws {
    var checkpoint = try Checkpoint.read(from: url)
    try change(&checkpoint)
    try checkpoint.write(to: url)
}

@Suite("Hostile files through the saddle command: crashes found before, now refusals")
struct CrashReproducerTests {
    @Test("resume refuses optimizer state of the wrong shape or dtype, naming the entry", arguments: [
        "transposed", "one element", "float64 buffer", "whole checkpoint float64", "unknown slot", "no parameter", "NaN buffer",
    ])
    func resumeWithBadOptimizerState(_ variant: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, checkpoint) = try trainedRun(in: dir.url)
        var mention = "0.weight.momentum_buffer"
        try rewrite(checkpoint) { c in
            let buffer = try #require(c.optimizerState["0.weight.momentum_buffer"])
            switch variant {
            case "transposed": c.optimizerState["0.weight.momentum_buffer"] = try buffer.transposed().detached
            case "one element": c.optimizerState["0.weight.momentum_buffer"] = Tensor([Float(1)])
            case "float64 buffer": c.optimizerState["0.weight.momentum_buffer"] = buffer.converted(to: .float64)
            case "whole checkpoint float64":
                c.tensors = c.tensors.converted(to: .float64)
                c.optimizerState = c.optimizerState.converted(to: .float64)
                mention = "float64"
            case "unknown slot":
                c.optimizerState["0.weight.exp_avg"] = buffer
                mention = "0.weight.exp_avg"
            case "no parameter":
                c.optimizerState["9.weight.momentum_buffer"] = buffer
                mention = "9.weight.momentum_buffer"
            default:
                var poisoned = buffer
                try poisoned.withUnsafeMutableBufferPointer(as: Float.self) { $0[3] = .nan }
                c.optimizerState["0.weight.momentum_buffer"] = poisoned
            }
        }
        expectRefusal(try saddle(["train", "--resume", checkpoint.path]), mentions: [checkpoint.path, mention])
    }

    @Test("analyze refuses weights holding NaN or infinity, and curvature that overflows")
    func analyzeNonFinite() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, checkpoint) = try trainedRun(in: dir.url)
        let nan = dir.file("nan.safetensors"), huge = dir.file("huge.safetensors")
        try FileManager.default.copyItem(at: checkpoint, to: nan)
        try FileManager.default.copyItem(at: checkpoint, to: huge)
        try rewrite(nan) { c in
            var weight = try #require(c.tensors["2.weight"])
            try weight.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = .nan; $0[1] = .infinity }
            c.tensors["2.weight"] = weight
        }
        expectRefusal(try saddle(["analyze", nan.path]), mentions: [nan.path, "2.weight"])
        expectRefusal(try saddle(["eval", nan.path]), mentions: [nan.path, "2.weight"])
        // Float64 values beyond Float32's range would become infinities in the Float32 model.
        try rewrite(huge) { c in c.tensors["2.weight"] = try #require(c.tensors["2.weight"]).converted(to: .float64) * 1e300 }
        expectRefusal(try saddle(["analyze", huge.path]), mentions: [huge.path, "2.weight", "does not fit float32"])
    }

    @Test("curvature that overflows Float64 is reported as undefined, not classified")
    func analyzeOverflowingCurvature() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Ten linear layers whose weights are finite in Float32 but whose product overflows
        // even Float64: the loss at this checkpoint is not finite.
        let layers = Array(repeating: #"{"layer": "dense", "units": 4}"#, count: 10).joined(separator: ",")
        let run = try writeRun(in: dir.url, model: "[\(layers), {\"layer\": \"dense\", \"units\": 10}]")
        expectSuccess(try saddle(["train", run.path]))
        let checkpoint = dir.url.appendingPathComponent("run/last.safetensors")
        try rewrite(checkpoint) { c in c.tensors = c.tensors.mapTensors { $0.rank == 2 ? $0 * 1e36 : $0 } }
        expectRefusal(try saddle(["analyze", checkpoint.path, "--examples", "50"]), mentions: [checkpoint.path, "curvature is undefined"])
    }

    @Test("a widening whose size estimate overflows Int is refused")
    func wideningBeyondInt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let run = try writeRun(
            in: dir.url, model: #"[{"layer": "dense", "units": 100000}, {"layer": "dense", "units": 1}, {"layer": "dense", "units": 10}]"#,
            train: #""epochs": 2, "batch_size": 64, "evaluation_batch_size": 64"#,
            extra: #""transforms": [{"at_epoch": 1, "name": "net2wider", "layer": "1", "units": 16777216}],"#)
        expectRefusal(try saddle(["validate", run.path]), mentions: [run.path, "transforms[0]", "limit"])
    }

    @Test("a CSV label of 1e19 is refused by validate and train, naming the file and line")
    func hugeCSVLabel() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let csv = dir.file("labels.csv")
        try "1,2,0\n3,4,1\n5,6,1e19\n7,8,1\n".write(to: csv, atomically: true, encoding: .utf8)
        let run = try writeRun(in: dir.url, data: #"{"name": "csv", "path": "\#(csv.path)", "validation": 0.25}"#)
        for command in ["validate", "train"] {
            expectRefusal(try saddle([command, run.path]), mentions: [csv.path, "line 3", "100000"])
        }
    }

    @Test("counters near Int.max and history entries with NaN epochs are refused on resume")
    func outOfRangeMetadata() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, checkpoint) = try trainedRun(in: dir.url)
        let copies = ["step", "epoch", "history", "best", "random"].map { dir.file("\($0).safetensors") }
        for copy in copies { try FileManager.default.copyItem(at: checkpoint, to: copy) }
        try rewrite(copies[0]) { $0.step = Int.max }
        try rewrite(copies[1]) { $0.epoch = Int.max - 1 }
        try rewrite(copies[2]) { $0.metadata["history"] = #"{"epoch":nan,"steps":1e300,"train_loss":1,"learning_rate":0.1,"seconds":1}"# }
        try rewrite(copies[3]) { $0.metadata["best_validation_accuracy"] = "nan" }
        try rewrite(copies[4]) { $0.randomState = [0, 0, 0, 0] }
        for (copy, mention) in zip(copies, ["metadata step", "metadata epoch", "metadata history", "best_validation_accuracy", "random_state"]) {
            expectRefusal(try saddle(["train", "--resume", copy.path]), mentions: [copy.path, mention])
        }
    }

    @Test("a model of 50,000 activation layers that validates also trains (no stack overflow freeing the graph)")
    func deepModel() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let activations = Array(repeating: #"{"layer": "relu"}"#, count: 50_000).joined(separator: ",")
        let run = try writeRun(
            in: dir.url, model: #"[{"layer": "dense", "units": 8}, \#(activations), {"layer": "dense", "units": 10}]"#,
            train: #""epochs": 1, "batch_size": 719, "evaluation_batch_size": 400"#)
        expectSuccess(try saddle(["validate", run.path]))
        expectSuccess(try saddle(["train", run.path]))
    }

    @Test("layers too large for memory are refused by validate with the estimate, and the limit can be raised")
    func memoryEstimate() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let run = try writeRun(in: dir.url, model: #"[{"layer": "dense", "units": 4000000}, {"layer": "dense", "units": 10}]"#)
        for command in ["validate", "train"] {
            expectRefusal(try saddle([command, run.path]), mentions: [run.path, "model[0].units", "evaluation_batch_size 1000", "GiB", "--memory-limit"])
        }
        // Parameters add up layer by layer, before any is allocated: the sixth 16000-unit
        // layer passes 16 GiB with gradients and optimizer state; half a GiB stops the second.
        let layers = Array(repeating: #"{"layer": "dense", "units": 16000}"#, count: 6).joined(separator: ",")
        let wide = try writeRun(in: dir.url, name: "wide", model: "[\(layers)]")
        expectRefusal(try saddle(["validate", wide.path]), mentions: [wide.path, "model[5].units", "memory limit of 16.0 GiB"])
        expectRefusal(try saddle(["validate", wide.path, "--memory-limit", "0.5"]), mentions: [wide.path, "model[1].units", "memory limit of 512 MiB"])
        expectRefusal(try saddle(["validate", wide.path, "--memory-limit", "-3"]), mentions: ["--memory-limit"])
    }

    @Test("a small gzip file that inflates past the limit is refused, not read into memory")
    func decompressionBomb() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // 1.1 GiB of zeros as 70 concatenated gzip members of 16 MiB each (about 1 MB on disk).
        let member = dir.file("member.gz")
        let status = try runProgram("/bin/sh", ["-c", "head -c 16777216 /dev/zero | gzip -9 -c > \(member.path)"])
        #expect(status == 0)
        let bytes = try Data(contentsOf: member)
        let bomb = dir.file("bomb.csv.gz")
        try Data((0..<70).flatMap { _ in bytes }).write(to: bomb)
        let run = try writeRun(in: dir.url, data: #"{"name": "csv", "path": "\#(bomb.path)"}"#)
        expectRefusal(try saddle(["validate", run.path]), mentions: [bomb.path, "decompresses to more than"])
    }

    @Test("safetensors headers whose sizes overflow are refused")
    func overflowingSafetensorsHeader() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for (index, shape) in ["[1099511627775, 4194304]", "[1099511627775, 1099511627775]", "[4611686018427387904]"].enumerated() {
            let header = #"{"0.weight": {"dtype": "F64", "shape": \#(shape), "data_offsets": [0, 8]}}"#
            var data = Data()
            var length = UInt64(header.utf8.count).littleEndian
            data.append(Data(bytes: &length, count: 8))
            data.append(Data(header.utf8))
            data.append(Data(count: 8))
            let file = dir.file("overflow\(index).safetensors")
            try data.write(to: file)
            expectRefusal(try saddle(["eval", file.path]), mentions: [file.path])
        }
    }
}

@Suite("What the fuzzers found")
struct FuzzFindingTests {
    @Test("an IDX header with a zero extent and huge others is refused (libFuzzer: overflow in Dataset.flattened)")
    func idxZeroExtent() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        #expect(throws: DataError.self) { try IDXReader.parse(Data(header), name: "zero.idx") }
        // Through the command: a Fashion-MNIST directory holding such files.
        try Data(header).write(to: dir.file("train-images-idx3-ubyte"))
        try Data([0, 0, 8, 1, 0, 0, 0, 0]).write(to: dir.file("train-labels-idx1-ubyte"))
        try Data(header).write(to: dir.file("t10k-images-idx3-ubyte"))
        try Data([0, 0, 8, 1, 0, 0, 0, 0]).write(to: dir.file("t10k-labels-idx1-ubyte"))
        let run = try writeRun(in: dir.url, data: #"{"name": "fashion_mnist", "directory": "\#(dir.url.path)"}"#)
        expectRefusal(try saddle(["validate", run.path]), mentions: [dir.file("train-images-idx3-ubyte").path, "too large"])
    }

    @Test("eval of a checkpoint whose configuration's labels do not fit the loss names the file (libFuzzer)")
    func evalWithLabelsTheLossRefuses() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let csv = dir.file("data.csv")
        try (0..<40).map { "\(Double($0 % 7) * 0.5),\($0 % 3)\n" }.joined().write(to: csv, atomically: true, encoding: .utf8)
        let run = try writeRun(in: dir.url, model: #"[{"layer": "dense", "units": 3}]"#, data: #"{"name": "csv", "path": "\#(csv.path)"}"#)
        expectSuccess(try saddle(["train", run.path]))
        let checkpoint = dir.url.appendingPathComponent("run/last.safetensors")
        // The same run with the label column pointing at the fractional feature.
        let other = try writeRun(in: dir.url, name: "other", model: #"[{"layer": "dense", "units": 3}]"#, data: #"{"name": "csv", "path": "\#(csv.path)", "label_column": 0}"#)
        expectRefusal(try saddle(["eval", checkpoint.path, "--config", other.path]), mentions: [other.path, "loss"])
    }
}

@Suite("Saddle's own files")
struct ResourceTests {
    @Test("a saddle binary copied without its resource bundle says what is missing instead of trapping")
    func copiedBinaryWithoutResources() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let copy = dir.file("saddle")
        try FileManager.default.copyItem(at: saddleUnderTest, to: copy)
        let run = try writeRun(in: dir.url)
        let result = try SaddleCommandLine.run(["validate", run.path], executable: copy)
        expectRefusal(result, mentions: [run.path, "digits.csv.gz", "SaddleData", dir.url.path])
        // Beside the build's resource bundle the same binary works.
        expectSuccess(try saddle(["validate", run.path]))
    }
}

