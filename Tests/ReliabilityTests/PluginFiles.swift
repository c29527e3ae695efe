import CSaddlePluginABI
import Foundation
import Saddle
import SaddleRegistry
import SaddleTestSupport
import Testing

@Suite("Plugin files handed to the saddle command")
struct PluginFileTests {
    @Test("a relative plugin path is recorded absolute and pinned: eval works from elsewhere and refuses a swapped library")
    func relativePathsAndPins() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let work = dir.url.appendingPathComponent("work"), elsewhere = dir.url.appendingPathComponent("elsewhere")
        for folder in [work, elsewhere] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        _ = try PluginBuilds.acme(in: work)
        let run = work.appendingPathComponent("run.json")
        try """
            {"name": "plugged", "seed": 2, "plugins": [{"path": "libacme.so"}], "data": {"name": "digits"},
             "model": [{"layer": "dense", "units": 8}, {"layer": "acme.swish"}, {"layer": "dense", "units": 10}],
             "optimizer": {"name": "sgd", "learning_rate": 0.05}, "train": {"epochs": 1, "batch_size": 64, "progress": "silent", "checkpoint_dir": "out"}}
            """.write(to: run, atomically: true, encoding: .utf8)
        expectSuccess(try saddle(["train", "run.json"], in: work))
        let checkpoint = work.appendingPathComponent("out/last.safetensors")
        let embedded = try #require(try Checkpoint.read(from: checkpoint).configuration)
        #expect(embedded.contains(work.appendingPathComponent("libacme.so").path) && embedded.contains("sha256"))
        let before = try saddle(["eval", checkpoint.path], in: elsewhere)
        expectSuccess(before)
        // Swap the library for one that computes something else under the same names.
        _ = try PluginBuilds.acme(["ACME_VERSION=\"1.1\""], in: work)
        expectRefusal(try saddle(["eval", checkpoint.path], in: elsewhere), mentions: ["libacme.so", "SHA-256", "refusing"])
        expectSuccess(try saddle(["eval", checkpoint.path, "--allow-plugin-change"], in: elsewhere))
        // A run file without pins does not get around the checkpoint's record either.
        expectRefusal(try saddle(["eval", checkpoint.path, "--config", "run.json"], in: work), mentions: [checkpoint.path, "SHA-256", "refusing"])
        expectRefusal(try saddle(["train", "run.json", "--resume", checkpoint.path], in: work), mentions: [checkpoint.path, "SHA-256", "refusing"])
    }

    @Test("plugins inspect refuses the names that loading refuses")
    func inspectChecksNames() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for (name, mention) in [("swish", "acme.<name>"), ("acme.Swish", "lowercase"), ("acme.relu", "registered twice")] {
            let path = try PluginBuilds.acme(["ACME_SWISH_NAME=\"\(name)\""], in: dir.url, name: "lib\(name.replacingOccurrences(of: ".", with: "_")).so")
            expectRefusal(try saddle(["plugins", "inspect", path]), mentions: [path, mention])
            expectRefusal(try saddle(["list", "--plugin", path]), mentions: [path, mention])
        }
    }

    @Test("validate refuses a Float32 run whose plugin has only Float64 kernels")
    func missingFloat32Kernels() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try PluginBuilds.acme(["ACME_SWISH_F32=NULL"], in: dir.url)
        let run = try writeRun(
            in: dir.url, model: #"[{"layer": "dense", "units": 8}, {"layer": "acme.swish"}, {"layer": "dense", "units": 10}]"#,
            extra: #""plugins": [{"path": "\#(path)"}],"#)
        expectRefusal(try saddle(["validate", run.path]), mentions: [run.path, "model[1]", "float32", "float64"])
        let float64 = try writeRun(
            in: dir.url, name: "double", model: #"[{"layer": "dense", "units": 8}, {"layer": "acme.swish"}, {"layer": "dense", "units": 10}]"#,
            extra: #""plugins": [{"path": "\#(path)"}], "dtype": "float64","#)
        expectSuccess(try saddle(["validate", float64.path]))
    }

    @Test("a directory given as a plugin is named as such")
    func directoryAsPlugin() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        expectRefusal(try saddle(["plugins", "inspect", dir.url.path]), mentions: [dir.url.path, "is a directory"])
        let run = try writeRun(in: dir.url, extra: #""plugins": [{"path": "\#(dir.url.path)"}],"#)
        expectRefusal(try saddle(["validate", run.path]), mentions: [run.path, "plugins[0]", "is a directory"])
    }
}

@Suite("Plugin descriptors checked as they register")
struct DescriptorTests {
    /// Registers one optimizer described by `parameter` and `states`, as a plugin would.
    func register(parameter: saddle_parameter, states: [String]) -> Result<[ComponentEntry], Error> {
        let strings = ["fuzz", "1.0", "fuzz.step", "learning_rate", "npgs"] + states
        let copies = strings.map { strdup($0)! }
        defer { copies.forEach { free($0) } }
        var info = saddle_plugin_info(
            struct_size: UInt32(MemoryLayout<saddle_plugin_info>.size), abi_major: UInt16(SADDLE_PLUGIN_ABI_MAJOR),
            abi_minor: UInt16(SADDLE_PLUGIN_ABI_MINOR), name: copies[0], version: copies[1], summary: nil, flags: 0)
        var parameters = [parameter]
        parameters[0].name = UnsafePointer(copies[3])
        var stateNames: [UnsafePointer<CChar>?] = copies[5...].map { UnsafePointer($0) }
        return parameters.withUnsafeBufferPointer { p in
            stateNames.withUnsafeMutableBufferPointer { names in
                var optimizer = saddle_optimizer(
                    struct_size: UInt32(MemoryLayout<saddle_optimizer>.size), name: copies[2], summary: nil, parameter_count: 1,
                    parameters: p.baseAddress, state_count: UInt32(states.count), state_names: UnsafePointer(names.baseAddress),
                    update: saddle_kernel(struct_size: UInt32(MemoryLayout<saddle_kernel>.size), signature: copies[4], f32: UnsafeMutableRawPointer(bitPattern: 0x1000), f64: nil),
                    string_parameter_count: 0, string_parameters: nil)
                return withUnsafePointer(to: &info) { info in
                    withUnsafePointer(to: &optimizer) { DescriptorCheck.register(info: info, calls: [.optimizer($0)]) }
                }
            }
        }
    }

    func parameter(type: Int32, default value: Double, minimum: Double, maximum: Double) -> saddle_parameter {
        saddle_parameter(
            struct_size: UInt32(MemoryLayout<saddle_parameter>.size), name: nil, type: type, required: 0, default_value: value,
            minimum: minimum, maximum: maximum, summary: nil)
    }

    @Test("integer ranges with no whole number, huge bounds and defaults outside the range are refused, not trapped on")
    func parameterRanges() throws {
        let integer = Int32(SADDLE_PARAMETER_INTEGER), number = Int32(SADDLE_PARAMETER_NUMBER)
        let good = register(parameter: parameter(type: number, default: 0.1, minimum: 0, maximum: 10), states: ["v"])
        #expect((try? good.get())?.count == 1)
        for (label, bad) in [
            ("no whole number", parameter(type: integer, default: 0.5, minimum: 0.4, maximum: 0.6)),
            ("bounds beyond Int", parameter(type: integer, default: 1e300, minimum: 1e300, maximum: .infinity)),
            ("NaN default", parameter(type: number, default: .nan, minimum: 0, maximum: 1)),
            ("default out of range", parameter(type: number, default: 5, minimum: 0, maximum: 1)),
            ("fractional integer default", parameter(type: integer, default: 0.5, minimum: 0, maximum: 10)),
        ] {
            guard case .failure(let error) = register(parameter: bad, states: ["v"]) else {
                Issue.record("\(label) was accepted")
                continue
            }
            #expect("\(error)".contains("learning_rate"), "\(label): \(error)")
        }
    }

    @Test("state names are unique and leave `step` to the host")
    func stateNames() throws {
        let rate = parameter(type: Int32(SADDLE_PARAMETER_NUMBER), default: 0.1, minimum: 0, maximum: 10)
        for states in [["step"], ["v", "v"]] {
            guard case .failure(let error) = register(parameter: rate, states: states) else {
                Issue.record("\(states) was accepted")
                continue
            }
            #expect("\(error)".contains(states[0]), "\(error)")
        }
    }
}
