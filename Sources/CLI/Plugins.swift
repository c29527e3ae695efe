// `saddle plugins inspect`: what a plugin library offers, checked as loading checks it.
import ArgumentParser
import Foundation
import Saddle

struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with plugin libraries.", subcommands: [Inspect.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a plugin offers (ABI version, components, parameters) without registering anything.")

        @Argument(help: "The plugin's shared library.")
        var path: String

        @Option(help: "Refuse the file unless its SHA-256 is this.")
        var sha256: String?

        func run() throws {
            try reportingErrors("plugins inspect") {
                let plugin = try PluginLoader.load(path: path, sha256: sha256)
                print("\(plugin.name) \(plugin.version): \(plugin.summary)")
                print("file \(plugin.path), sha256 \(plugin.sha256), plugin ABI \(plugin.abiVersion)")
                for entry in plugin.entries {
                    print("  \(entry.kind.rawValue) \(entry.name)  \(entry.summary)")
                    for spec in entry.parameters {
                        let value = spec.defaultValue.map { "default \($0)" } ?? "required"
                        print("      \(spec.name): \(spec.typeDescription), \(value). \(spec.summary)")
                    }
                }
            }
        }
    }
}
