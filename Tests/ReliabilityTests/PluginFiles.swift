import Foundation
import Saddle
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
