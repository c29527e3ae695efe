// Feeds arbitrary bytes to Saddle as each kind of file a user hands it, the way the `saddle`
// commands read them. Shared by the seeded mutator in `make test` (SaddleReliabilityTests)
// and the coverage-guided libFuzzer target of `make fuzz` (saddle-fuzz).
import CSaddlePluginABI
import Foundation
import Saddle
import SaddleRegistry

/// The kinds of input the fuzzers exercise.
public enum FuzzFormat: String, CaseIterable, Sendable {
    case runFile = "run_file"
    case checkpoint
    case csv
    case idx
    case pluginDescriptor = "plugin_descriptor"
}

/// What became of one input.
public struct FuzzOutcome: Sendable {
    /// Whether Saddle accepted the input (and used it: built, evaluated, resumed, split).
    public var accepted: Bool
    /// The refusal's message, empty when accepted.
    public var message: String
    /// A refusal whose message does not say what is wrong where (no file name, empty text):
    /// a finding, like a crash, though a softer one.
    public var problem: String?
}

/// Runs inputs through Saddle's readers and the steps the commands take after reading.
public struct FuzzHarness {
    /// A directory for the files inputs are written to (and runs' outputs).
    public let scratch: URL
    /// The registry, with a small memory limit so accepted runs stay cheap.
    let registry: Registry
    /// A tiny CSV data set the corpus' run files and checkpoints refer to.
    public var tinyCSV: URL { scratch.appendingPathComponent("tiny.csv") }

    /// A harness writing its files under `scratch` (created, with the tiny CSV data set).
    public init(scratch: URL) throws {
        self.scratch = scratch
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var rows = ""
        for i in 0..<40 { rows += "\(Double(i % 7) * 0.5),\(Double(i % 5) - 2),\(Double(i % 3)),\(i % 3)\n" }
        try rows.write(to: scratch.appendingPathComponent("tiny.csv"), atomically: true, encoding: .utf8)
        var registry = Registry.builtin
        registry.memoryLimitBytes = 256 << 20
        self.registry = registry
    }

    /// Feeds `bytes` as a file of `format`.
    public func run(_ format: FuzzFormat, _ bytes: [UInt8]) -> FuzzOutcome {
        switch format {
        case .runFile: runFile(bytes)
        case .checkpoint: checkpoint(bytes)
        case .csv: csv(bytes)
        case .idx: idx(bytes)
        case .pluginDescriptor: pluginDescriptor(bytes)
        }
    }

    /// A refusal, checked to name `file` when one is given.
    func refused(_ error: Error, file: String?) -> FuzzOutcome {
        let message = "\(error)"
        var problem: String?
        if message.trimmingCharacters(in: .whitespaces).isEmpty {
            problem = "empty message from \(type(of: error))"
        } else if let file, !message.contains(file) {
            problem = "the message does not name \(file): \(message)"
        }
        return FuzzOutcome(accepted: false, message: message, problem: problem)
    }

    static let accepted = FuzzOutcome(accepted: true, message: "", problem: nil)

    /// Data sets cheap enough to load for every input (others are checked without loading).
    static func cheapData(_ configuration: RunConfiguration) -> Bool {
        guard case .object = configuration.data, case .string(let name)? = configuration.data["name"] else {
            if case .string(let name) = configuration.data { return name == "digits" }
            return false
        }
        return name == "digits" || name == "csv"
    }

    /// A run file, as `saddle validate` reads it: decoded, then (for cheap data) the whole
    /// run prepared as `train` would before its first step.
    func runFile(_ bytes: [UInt8]) -> FuzzOutcome {
        let file = scratch.appendingPathComponent("fuzz-run.json").path
        do {
            let configuration = try RunConfiguration.decode(bytes, file: file, registry: registry)
            if FuzzHarness.cheapData(configuration) {
                _ = try Run(configuration)
            } else {
                _ = try configuration.buildModel()
            }
            return FuzzHarness.accepted
        } catch {
            // Data files the run names report their own path, not the run file's.
            if error is DataError { return refused(error, file: nil) }
            return refused(error, file: file)
        }
    }

    /// A checkpoint, as `saddle eval` and `saddle train --resume` read it.
    func checkpoint(_ bytes: [UInt8]) -> FuzzOutcome {
        let url = scratch.appendingPathComponent("fuzz.safetensors")
        do {
            try Data(bytes).write(to: url)
            let checkpoint = try Checkpoint.read(from: url)
            let configuration = try Run.configuration(of: checkpoint, file: url.path, registry: registry)
            guard FuzzHarness.cheapData(configuration) else { return FuzzHarness.accepted }
            _ = try Run.evaluate(checkpoint: url, registry: registry)
            var run = try Run(configuration)
            try run.resume(from: url)
            return FuzzHarness.accepted
        } catch {
            if error is DataError { return refused(error, file: nil) }
            return refused(error, file: url.path)
        }
    }

    /// A CSV file, as the `csv` data set reads and prepares it.
    func csv(_ bytes: [UInt8]) -> FuzzOutcome {
        let name = "fuzz.csv"
        do {
            let data = try CSVReader().parse(Data(bytes), name: name)
            guard data.count >= 2 else { return FuzzHarness.accepted }
            let (train, held) = try data.split(validationFraction: 0.25, seed: 1)
            let scaler = try Standardization(fittedTo: train)
            _ = try scaler.apply(to: held)
            return FuzzHarness.accepted
        } catch {
            return refused(error, file: name)
        }
    }

    /// An IDX image file (plain or gzip) with a matching label file, as Fashion-MNIST loads.
    func idx(_ bytes: [UInt8]) -> FuzzOutcome {
        let images = scratch.appendingPathComponent("fuzz-images-idx")
        let labels = scratch.appendingPathComponent("fuzz-labels-idx")
        do {
            try Data(bytes).write(to: images)
            // Labels for as many images as the header claims (up to 64), else a short file.
            let count = bytes.count >= 8 && bytes[3] >= 1 ? Int(bytes[4]) << 24 | Int(bytes[5]) << 16 | Int(bytes[6]) << 8 | Int(bytes[7]) : 1
            let n = Swift.min(count, 64)
            try Data([0, 0, 8, 1, UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] + (0..<n).map { UInt8($0 % 10) })
                .write(to: labels)
            let data = try IDXReader.read(images: images, labels: labels)
            _ = try data.flattened()
            return FuzzHarness.accepted
        } catch {
            let message = "\(error)"
            return refused(error, file: message.contains(labels.path) ? labels.path : images.path)
        }
    }

    /// A plugin's registration, described by `bytes` (see `DescriptorDecoder`), checked as
    /// loading checks it.
    func pluginDescriptor(_ bytes: [UInt8]) -> FuzzOutcome {
        var decoder = DescriptorDecoder(bytes)
        return decoder.withDescriptors { info, calls in
            switch DescriptorCheck.register(info: info, calls: calls, path: "fuzz-plugin.so") {
            case .success: return FuzzHarness.accepted
            case .failure(let error): return refused(error, file: nil)
            }
        }
    }
}
