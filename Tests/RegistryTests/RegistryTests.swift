import Foundation
import Saddle
import SaddleTestSupport
import Testing

func pluginEntry(_ name: String, plugin: String = "acme", version: String = "1.0", summary: String = "test") -> ComponentEntry {
    ComponentEntry(
        kind: .activation, name: name, summary: summary, origin: .plugin(name: plugin, version: version, path: "/tmp/lib\(plugin).so"),
        factory: .layer { _, _ in ReLU() })
}

@Suite("Registry")
struct RegistryTests {
    @Test func builtinNamesAreBareAndListed() {
        let registry = Registry.builtin
        #expect(registry.entry(.layer, "dense")?.origin == .builtin)
        #expect(registry.entry(.activation, "relu") != nil)
        #expect(registry.entries(.optimizer).map(\.name) == ["sgd", "adam", "adamw", "newton", "damped_newton", "saddle_free_newton", "newton_cg"])
        #expect(registry.allEntries.allSatisfy { !$0.name.contains(".") && $0.name == $0.name.lowercased() })
    }

    @Test func registriesAreIsolatedValues() throws {
        var mine = Registry.builtin
        try mine.register(pluginEntry("acme.swish"))
        #expect(mine.entry(.activation, "acme.swish") != nil)
        #expect(Registry.builtin.entry(.activation, "acme.swish") == nil)
        #expect(Registry().allEntries.isEmpty)
    }

    @Test func aTakenNameNamesBothOrigins() throws {
        var registry = Registry.builtin
        try registry.register(pluginEntry("acme.swish"))
        try registry.register(pluginEntry("acme.swish"))  // the same component again: harmless
        do {
            try registry.register(pluginEntry("acme.swish", plugin: "other", version: "2.0"))
            Issue.record("a second component took the name")
        } catch let error as RegistryError {
            #expect("\(error)".contains("plugin acme 1.0"))
            #expect("\(error)".contains("plugin other 2.0"))
        }
        #expect(throws: RegistryError.self) {
            try registry.register(ComponentEntry(kind: .layer, name: "relu", summary: "clash", identity: "different", factory: .layer { _, _ in ReLU() }))
        }
    }

    @Test func namingRules() {
        var registry = Registry()
        #expect(throws: RegistryError.self) { try registry.register(pluginEntry("swish")) }
        #expect(throws: RegistryError.self) { try registry.register(pluginEntry("Acme.Swish")) }
        #expect(throws: RegistryError.self) { try registry.register(pluginEntry("acme..swish")) }
        #expect(throws: RegistryError.self) {
            try registry.register(ComponentEntry(kind: .loss, name: "acme.loss", summary: "", factory: .loss { _ in MeanSquaredError() }))
        }
    }

    @Test func registeringSeveralIsAtomic() throws {
        var registry = Registry.builtin
        let before = registry.allEntries.count
        #expect(throws: RegistryError.self) {
            try registry.register(all: [pluginEntry("acme.one"), pluginEntry("acme.two"), pluginEntry("bad")])
        }
        #expect(registry.allEntries.count == before)
        #expect(registry.entry(.activation, "acme.one") == nil)
        try registry.register(all: [pluginEntry("acme.one"), pluginEntry("acme.two")])
        #expect(registry.allEntries.count == before + 2)
    }

    @Test func pluginComponentsAreUsableFromJSON() throws {
        var registry = Registry.builtin
        try registry.register(pluginEntry("acme.swish"))
        let text = baseConfiguration.replacingOccurrences(of: #"{"layer": "relu"}"#, with: #"{"layer": "acme.swish"}"#)
        let configuration = try RunConfiguration.decode(Array(text.utf8), registry: registry)
        #expect(try configuration.buildModel().parameterCount > 0)
        #expect(throws: ConfigurationError.self) {
            try RunConfiguration.decode(Array(text.utf8), registry: .builtin).buildModel()
        }
    }
}

@Suite("Schema and the saddle command")
struct CommandTests {
    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    func saddle(_ arguments: [String], in directory: URL? = nil) throws -> Output {
        let process = Process()
        process.executableURL = Executables.url("saddle")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Output(status: process.terminationStatus, standardOutput: stdout, standardError: stderr)
    }

    func percentage(after label: String, in text: String) -> Double? {
        guard let range = text.range(of: label) else { return nil }
        let rest = text[range.upperBound...].drop { $0 == " " }
        return Double(rest.prefix { $0.isNumber || $0 == "." })
    }

    @Test func trainWithoutArgumentsThenEvaluate() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let trained = try saddle(["train"], in: dir.url)
        #expect(trained.status == 0, "\(trained.standardError)")
        let accuracy = try #require(percentage(after: "final held-out accuracy", in: trained.standardOutput))
        #expect(accuracy >= 97)
        let checkpoint = dir.file("runs/default/last.safetensors")
        #expect(FileManager.default.fileExists(atPath: checkpoint.path))
        #expect(trained.standardOutput.contains(checkpoint.lastPathComponent))
        let evaluated = try saddle(["eval", checkpoint.path], in: dir.url)
        #expect(evaluated.status == 0, "\(evaluated.standardError)")
        #expect(percentage(after: "held-out accuracy", in: evaluated.standardOutput) == accuracy)
        let resumed = try saddle(["train", "--resume", checkpoint.path], in: dir.url)
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardOutput.contains("resuming"))

        // Grow the trained model, evaluate the student: the same accuracy.
        let grown = dir.file("grown.safetensors")
        let transformed = try saddle(["transform", checkpoint.path, "--spec", #"{"name": "net2deeper", "layer": "0", "batch_norm": true}"#, "--output", grown.path], in: dir.url)
        #expect(transformed.status == 0, "\(transformed.standardError)")
        #expect(transformed.standardOutput.contains("max |f_new - f_old|") && transformed.standardOutput.contains("inference mode"))
        #expect(percentage(after: "held-out accuracy", in: try saddle(["eval", grown.path], in: dir.url).standardOutput) == accuracy)
        let refused = try saddle(["transform", checkpoint.path, "--spec", #"{"name": "net2wider", "layer": "1", "units": 512}"#, "--output", grown.path + ".2"], in: dir.url)
        #expect(refused.status != 0 && refused.standardError.contains("cannot widen its outputs"), "\(refused.standardError)")
        #expect(!FileManager.default.fileExists(atPath: grown.path + ".2"))

        // The line from the run's initialization to the checkpoint ends at the checkpoint.
        let line = try saddle(["interpolate", checkpoint.path, "--lower", "0", "--upper", "1", "--points", "3", "--json"], in: dir.url)
        #expect(line.status == 0, "\(line.standardError)")
        let report = try JSONParser.parse(Array(line.standardOutput.utf8))
        guard case .array(let points)? = report["points"], points.count == 3, case .number(let last)? = points[2]["validation_accuracy"] else {
            Issue.record("unexpected interpolation output \(line.standardOutput)")
            return
        }
        #expect(Swift.abs(100 * last - accuracy) < 0.01)
        if case .number(let first)? = points[0]["training_loss"], case .number(let end)? = points[2]["training_loss"] { #expect(end < first) }
        let refusedLine = try saddle(["interpolate", grown.path], in: dir.url)
        #expect(refusedLine.status != 0 && refusedLine.standardError.contains("--from"), "\(refusedLine.standardError)")
        #expect(try saddle(["interpolate", checkpoint.path, "--points", "1"], in: dir.url).status != 0)
    }

    @Test func badInputExitsNonZeroWithAParagraphOnStandardError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try #"{"data": {"name": "digits"}, "model": [{"layer": "dense", "units": 0}], "optimizer": {"name": "sgd", "learning_rate": 0.1}, "train": {"epochs": 1, "batch_size": 8}}"#
            .write(to: dir.file("bad.json"), atomically: true, encoding: .utf8)
        for arguments in [["validate", dir.file("bad.json").path], ["train", dir.file("bad.json").path], ["eval", dir.file("missing.safetensors").path], ["list", "--kind", "gadget"]] {
            let result = try saddle(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(!result.standardError.isEmpty && result.standardError.split(separator: "\n").count <= 3, "\(arguments): \(result.standardError)")
        }
        let invalid = try saddle(["validate", dir.file("bad.json").path])
        #expect(invalid.standardError.contains("model[0].units"))
        for command in [[], ["train"], ["eval"], ["list"], ["schema"], ["validate"], ["transform"], ["analyze"], ["interpolate"]] {
            #expect(try saddle(command + ["--help"]).status == 0, "\(command) --help")
        }
        #expect(try saddle(["list"]).standardOutput.contains("maxout"))
    }

    @Test func theSchemaAcceptsEveryExampleAndRejectsABrokenOne() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let schema = try saddle(["schema"])
        #expect(schema.status == 0)
        try schema.standardOutput.write(to: dir.file("schema.json"), atomically: true, encoding: .utf8)
        let examples = try FileManager.default.contentsOfDirectory(atPath: Executables.examples.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(examples.count >= 6)
        for example in examples {
            let path = Executables.examples.appendingPathComponent(example).path
            #expect(try saddle(["validate", path]).status == 0, "\(example)")
        }
        try #"{"data": {"name": "digits"}, "model": [{"layer": "dense", "unit": 3}], "optimizer": {"name": "sgd", "learning_rate": 0.1}, "train": {"epochs": 1, "batch_size": 8}}"#
            .write(to: dir.file("broken.json"), atomically: true, encoding: .utf8)
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator
            schema = json.load(open(sys.argv[1]))
            Draft202012Validator.check_schema(schema)
            validator = Draft202012Validator(schema)
            for path in sys.argv[2:]:
                errors = list(validator.iter_errors(json.load(open(path))))
                print(("valid" if not errors else "invalid"), path)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, dir.file("schema.json").path]
            + examples.map { Executables.examples.appendingPathComponent($0).path } + [dir.file("broken.json").path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 with jsonschema is needed (make test installs it)")
        #expect(lines.count == examples.count + 1)
        for line in lines.dropLast() { #expect(line.hasPrefix("valid "), "\(line)") }
        #expect(lines.last?.hasPrefix("invalid ") == true)
    }
}
