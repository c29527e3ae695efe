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
public struct FuzzHarness: Sendable {
    /// A directory for the files inputs are written to (and runs' outputs).
    public let scratch: URL
    /// The registry, with a small memory limit so accepted runs stay cheap.
    let registry: Registry
    /// Where the tiny CSV data set that the corpus' run files and checkpoints name lives
    /// (`tiny.csv`, 40 rows of 3 features and 3 classes), at a fixed path so that the corpus
    /// can name it.
    public static let dataDirectory = URL(fileURLWithPath: "/tmp/saddle-fuzz-data")

    /// A harness writing its files under `scratch` (created), with the tiny data set in place.
    public init(scratch: URL) throws {
        self.scratch = scratch
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: FuzzHarness.dataDirectory, withIntermediateDirectories: true)
        var rows = ""
        for i in 0..<40 { rows += "\(Double(i % 7) * 0.5),\(Double(i % 5) - 2),\(Double(i % 3)),\(i % 3)\n" }
        try rows.write(to: FuzzHarness.dataDirectory.appendingPathComponent("tiny.csv"), atomically: true, encoding: .utf8)
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

    /// A CSV file (plain or gzip), as the `csv` data set reads and prepares it.
    func csv(_ bytes: [UInt8]) -> FuzzOutcome {
        let url = scratch.appendingPathComponent("fuzz.csv")
        let name = url.path
        do {
            try Data(bytes).write(to: url)
            // A first line that is not numbers is a header, as a user would declare it.
            let firstCell = String(decoding: bytes.prefix { $0 != 0x0a && $0 != 0x2c && $0 != 0x0d }, as: UTF8.self)
            let header = Double(firstCell.trimmingCharacters(in: .whitespaces)) == nil && bytes.first != 0x1f
            let data = try CSVReader(hasHeader: header).read(url)
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
            func writeLabels(_ n: Int) throws {
                try Data([0, 0, 8, 1, UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] + (0..<n).map { UInt8($0 % 10) })
                    .write(to: labels)
            }
            // Labels for as many images as the file turns out to hold (when that is small).
            try writeLabels(1)
            do {
                _ = try IDXReader.read(images: images, labels: labels).flattened()
            } catch DataError.countMismatch(_, let imageCount, _, _) where imageCount <= 4096 {
                try writeLabels(imageCount)
                _ = try IDXReader.read(images: images, labels: labels).flattened()
            }
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
