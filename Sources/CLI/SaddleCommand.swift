// The `saddle` command and what its subcommands share: error reporting, option groups and
// reading run files. Each subcommand has a file of its own.
import ArgumentParser
import Foundation
import Saddle

@main
struct SaddleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saddle",
        abstract: "Compose, train and analyse neural networks.",
        version: "saddle \(SaddleVersion.current)",
        subcommands: [
            Train.self, Evaluate.self, Analyze.self, Interpolate.self, Transform.self, Export.self, ReportCommand.self, List.self, Schema.self,
            Validate.self, Plugins.self,
        ])
}

/// Runs `body`, turning any error into a one-paragraph message on standard error and exit
/// status 1.
func reportingErrors<R>(_ command: String, _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("saddle \(command): \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Options shared by the commands that read configurations.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("plugin"), help: "Load a plugin shared library (repeatable).")
    var plugins: [String] = []

    @Flag(help: "Load plugins even when their SHA-256 differs from the one pinned in the run file or recorded in the checkpoint.")
    var allowPluginChange = false

    @Option(parsing: .unconditional, help: "The most memory (GiB) a run may need, as estimated before building the model (default 16).")
    var memoryLimit: Double?

    /// The built-in registry with the named plugins loaded and the limits set.
    func registry() throws -> Registry {
        var registry = Registry.builtin
        registry.allowsChangedPlugins = allowPluginChange
        if let memoryLimit {
            guard memoryLimit.isFinite, memoryLimit > 0, memoryLimit <= 1_048_576 else {
                throw ValidationError("--memory-limit must be a positive number of GiB up to 1048576, got \(memoryLimit)")
            }
            registry.memoryLimitBytes = Int(memoryLimit * Double(1 << 30))
        }
        for path in plugins { try registry.loadPlugin(at: path) }
        return registry
    }
}

/// The run file that replaces a checkpoint's embedded configuration (eval, analyze,
/// interpolate, transform).
struct ConfigurationOverride: ParsableArguments {
    @Option(help: "Use this run file instead of the configuration embedded in the checkpoint.")
    var config: String?

    /// The run file read and validated against `registry`, or nil when none was given.
    func configuration(registry: Registry) throws -> RunConfiguration? {
        try config.map { try RunConfiguration.read(URL(fileURLWithPath: $0), registry: registry) }
    }
}

/// The run file at `path`, or the built-in default configuration when there is none.
func readConfiguration(_ path: String?, registry: Registry) throws -> RunConfiguration {
    guard let path else {
        return try RunConfiguration.decode(Array(RunConfiguration.defaultText.utf8), file: "(built-in default)", registry: registry)
    }
    return try RunConfiguration.read(URL(fileURLWithPath: path), registry: registry)
}

/// A fraction as a percentage with two decimals ("n/a" for none).
func percent(_ value: Double?) -> String {
    value.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a"
}

/// Runs `body` on one process of a job. In a job of several processes, an error stops the
/// whole job at once (MPI_Abort) with a message naming this rank and the cause; otherwise the
/// other ranks would wait in their next collective forever. A single process rethrows.
func stoppingTheJobOnError(_ command: String, _ communicator: any Communicator, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error where communicator.size > 1 && !(error is ExitCode) {
        communicator.abort("saddle \(command): rank \(communicator.rank) of \(communicator.size) stopped the job: \(error)")
    }
}
