// `saddle plugins inspect` and `saddle plugins check`: what a plugin library offers, and
// whether its components do what they declare.
import ArgumentParser
import Foundation
import Saddle

/// The library a plugins subcommand reads, and the digest it must have.
struct PluginFile: ParsableArguments {
    @Argument(help: "The plugin's shared library.")
    var path: String

    @Option(help: "Refuse the file unless its SHA-256 is this.")
    var sha256: String?

    /// The plugin, loaded (not registered anywhere).
    func load() throws -> LoadedPlugin { try PluginLoader.load(path: path, sha256: sha256) }
}

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with plugin libraries.", subcommands: [Inspect.self, Check.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a plugin offers (ABI version, components, parameters, capabilities) without registering anything or running kernels.")

        @OptionGroup var file: PluginFile

        func run() throws {
            try reportingErrors("plugins inspect") {
                let plugin = try file.load()
                print("\(plugin.name) \(plugin.version): \(plugin.summary)")
                print("file \(plugin.path), sha256 \(plugin.sha256), plugin ABI \(plugin.abiVersion)")
                print(plugin.isThreadSafe ? "threads: declared thread-safe (calls may overlap)" : "threads: not declared thread-safe (the host serializes every call into it)")
                for entry in plugin.entries {
                    print("  \(entry.kind.rawValue) \(entry.name)  \(entry.summary)")
                    for spec in entry.parameters {
                        let value = spec.defaultValue.map { "default \($0)" } ?? "required"
                        print("      \(spec.name): \(spec.typeDescription), \(value). \(spec.summary)")
                    }
                    for line in plugin.capabilities(of: entry.name) { print("      \(line)") }
                }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every component of a plugin: gradients against finite differences (Float64), tangent rules, shapes, unwritten outputs, NaN, buffers, random streams, growth, optimizer state round-trips.",
            discussion: "Prints one PASS or FAIL line per check and exits with status 1 when any check fails.")

        @OptionGroup var file: PluginFile

        func run() throws {
            let results = try reportingErrors("plugins check") { PluginChecker.check(try file.load()) }
            for result in results { print(result) }
            let failed = results.filter { !$0.passed }.count
            print("\(results.count - failed) of \(results.count) checks passed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
