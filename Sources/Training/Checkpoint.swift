import Foundation
import SaddleCore

/// Errors reading, writing or applying checkpoints.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// The file is not a valid safetensors file.
    case malformed(file: String, reason: String)
    /// The file cannot be read (missing, a directory, no permission).
    case unreadable(file: String, reason: String)
    /// The file is valid safetensors but not a Saddle checkpoint this version understands.
    case incompatible(file: String, reason: String)
    /// Writing failed; the previous file at `file` is untouched.
    case writeFailed(file: String, reason: String)
    /// Tensors do not fit the model.
    case model(file: String, ModelError)

    /// The error as a sentence naming the file.
    public var description: String {
        switch self {
        case let .malformed(file, reason): "\(file): not a valid safetensors file: \(reason)"
        case let .unreadable(file, reason): "\(file): \(reason)"
        case let .incompatible(file, reason): "\(file): \(reason)"
        case let .writeFailed(file, reason): "could not write \(file) (any previous file there is intact): \(reason)"
        case let .model(file, error): "\(file): \(error)"
        }
    }
}

/// A training checkpoint: the model's parameters and buffers under their dotted paths,
/// optimizer state, progress counters, the random generator's state and the model's
/// configuration, in one safetensors file (readable by Python's `safetensors` package).
///
/// Model tensors are stored under their own paths (`0.weight`) so PyTorch tooling sees a plain
/// state dict; optimizer state goes under `optimizer/<path>.<slot>`; the rest is metadata.
public struct Checkpoint: Sendable {
    /// The format written by this version.
    public static let formatVersion = 1
    /// The largest epoch or step count a checkpoint may hold (2^53: exact in a Double, and far
    /// from overflowing when training continues).
    public static let maximumCount = 1 << 53
    static let optimizerPrefix = "optimizer/"

    /// Parameters and buffers.
    public var tensors: NamedTensors
    /// Optimizer state under `<parameter path>.<slot>`.
    public var optimizerState: NamedTensors
    /// Completed epochs and optimizer steps.
    public var epoch: Int
    /// Completed optimizer steps.
    public var step: Int
    /// The trainer's generator state after `epoch`.
    public var randomState: [UInt64]?
    /// The model (or run) configuration as JSON, when known.
    public var configuration: String?
    /// Free-form string metadata (optimizer name, metrics, history).
    public var metadata: [String: String]

    /// A checkpoint from its parts; everything but `tensors` defaults to empty or zero.
    public init(
        tensors: NamedTensors, optimizerState: NamedTensors = NamedTensors(), epoch: Int = 0, step: Int = 0,
        randomState: [UInt64]? = nil, configuration: String? = nil, metadata: [String: String] = [:]
    ) {
        self.tensors = tensors
        self.optimizerState = optimizerState
        self.epoch = epoch
        self.step = step
        self.randomState = randomState
        self.configuration = configuration
        self.metadata = metadata
    }

    /// The file's bytes.
    public func encoded() throws -> Data {
        var all = tensors
        for (path, tensor) in optimizerState { all[Checkpoint.optimizerPrefix + path] = tensor }
        var meta: [(String, String)] = [
            ("format", "saddle.checkpoint"), ("format_version", String(Checkpoint.formatVersion)),
            ("epoch", String(epoch)), ("step", String(step)),
        ]
        if let randomState { meta.append(("random_state", randomState.map(String.init).joined(separator: ","))) }
        if let configuration { meta.append(("configuration", configuration)) }
        for key in metadata.keys.sorted() { meta.append((key, metadata[key] ?? "")) }
        return try Safetensors.encode(all, metadata: meta)
    }

    /// Writes the checkpoint atomically: a temporary file in the same directory is written and
    /// flushed to disk, then renamed over `url`, so a crash at any point leaves either the old
    /// file or the new one. `beforeRename` runs between the two (tests inject faults there).
    /// - Throws: `CheckpointError.writeFailed`; the previous file is then untouched.
    public func write(to url: URL, beforeRename: (() throws -> Void)? = nil) throws {
        try AtomicFile.write(try encoded(), to: url, beforeRename: beforeRename)
    }

    /// Reads a checkpoint (or a plain safetensors state dict, such as one exported from
    /// PyTorch, which then has no optimizer state or progress).
    /// - Throws: `CheckpointError` naming the file and the problem.
    public static func read(from url: URL) throws -> Checkpoint {
        let data: Data
        do {
            data = try FileSystem.read(url)
        } catch let error as FileError {
            throw CheckpointError.unreadable(file: url.path, reason: error.reason)
        }
        return try decode(data, file: url.path)
    }

    /// Checks that every tensor, model and optimizer state alike, holds finite values: a
    /// checkpoint with NaN or infinite weights is refused by name instead of giving NaN losses
    /// or curvature downstream.
    /// - Throws: `CheckpointError.incompatible` naming the file, the tensor and the element.
    public func requireFinite(file: String) throws {
        let all = Array(tensors) + optimizerState.map { (Checkpoint.optimizerPrefix + $0.path, $0.tensor) }
        for (path, tensor) in all {
            if let index = tensor.firstNonFiniteIndex {
                throw CheckpointError.incompatible(
                    file: file, reason: "tensor \(path) holds \(tensor.doubles[index]) at element \(index); a checkpoint must be finite")
            }
        }
    }

    /// Decodes checkpoint bytes; `file` names them in errors.
    /// - Throws: `CheckpointError` naming the file and the problem.
    public static func decode(_ data: Data, file: String) throws -> Checkpoint {
        let (entries, metadata) = try Safetensors.decode(data, file: file)
        if let version = metadata["format_version"], metadata["format"] == "saddle.checkpoint" {
            guard let number = Int(version), number >= 1 else {
                throw CheckpointError.incompatible(file: file, reason: "checkpoint format version \"\(version.prefix(40))\" is not a version number")
            }
            guard number <= formatVersion else {
                throw CheckpointError.incompatible(
                    file: file, reason: "checkpoint format version \(version) is newer than this Saddle (\(formatVersion))")
            }
        }
        // Tensors in file order is alphabetical in other writers; keep the file's own order.
        var tensors = NamedTensors()
        var optimizer = NamedTensors()
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            if entry.name.hasPrefix(optimizerPrefix) {
                optimizer[String(entry.name.dropFirst(optimizerPrefix.count))] = entry.tensor
            } else {
                tensors[entry.name] = entry.tensor
            }
        }
        func integer(_ key: String) throws -> Int {
            guard let text = metadata[key] else { return 0 }
            guard let value = Int(text), (0...maximumCount).contains(value) else {
                throw CheckpointError.incompatible(file: file, reason: "metadata \(key) is \"\(text.prefix(40))\", not a count in 0...\(maximumCount)")
            }
            return value
        }
        var random: [UInt64]?
        if let text = metadata["random_state"] {
            let words = text.split(separator: ",", omittingEmptySubsequences: false).map { UInt64($0) }
            guard words.count == 4, let state = words as? [UInt64] else {
                throw CheckpointError.incompatible(file: file, reason: "metadata random_state is \"\(text.prefix(100))\", not 4 unsigned 64-bit words")
            }
            guard state.contains(where: { $0 != 0 }) else {
                throw CheckpointError.incompatible(file: file, reason: "metadata random_state is all zero, a state the generator never reaches")
            }
            random = state
        }
        let reserved: Set = ["format", "format_version", "epoch", "step", "random_state", "configuration"]
        return Checkpoint(
            tensors: tensors, optimizerState: optimizer, epoch: try integer("epoch"), step: try integer("step"),
            randomState: random, configuration: metadata["configuration"],
            metadata: metadata.filter { !reserved.contains($0.key) })
    }
}

/// Atomic file replacement for checkpoints and metrics (`FileSystem.writeAtomically`), with
/// failures reported as `CheckpointError.writeFailed`.
enum AtomicFile {

    /// Replaces the file at `url` with `data`; `beforeRename` runs just before the rename.
    /// - Throws: `CheckpointError.writeFailed` naming the file; the previous file is intact.
    static func write(_ data: Data, to url: URL, beforeRename: (() throws -> Void)? = nil) throws {
        do {
            try FileSystem.writeAtomically(data, to: url, beforeRename: beforeRename)
        } catch let error as FileError {
            throw CheckpointError.writeFailed(file: url.path, reason: error.reason)
        }
    }

    /// Removes temporary files of `url` left by processes that no longer run (a run killed
    /// between writing a checkpoint and renaming it). Files of running processes are kept.
    static func removeAbandonedTemporaries(of url: URL) {
        let directory = url.deletingLastPathComponent()
        let prefix = FileSystem.temporaryPrefix(of: url)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pid = rest.split(separator: "-").first.flatMap({ pid_t($0) }), pid > 0 else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                unlink(directory.appendingPathComponent(name).path)
            }
        }
    }
}
