// `saddle transform`: grows or reshapes a checkpoint's model.
import ArgumentParser
import Foundation
import Saddle

struct Transform: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grow or reshape a checkpoint's model (net2wider, net2deeper, insert_residual, insert_batchnorm, ...).")

    @Argument(help: "The checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "The transform as JSON, for example '{\"name\": \"net2wider\", \"layer\": \"0\", \"units\": 512}'.")
    var spec: String

    @Option(help: "Where to write the transformed checkpoint (default: next to the input, named after the transform).")
    var output: String?

    @Option(help: "Seed of the transform's randomness (unit mappings, noise, fresh weights).")
    var seed: UInt64 = 0

    @OptionGroup var override: ConfigurationOverride

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("transform") {
            let registry = try registryOptions.registry()
            let value = try JSONParser.parse(Array(spec.utf8))
            let name: String
            if case .string(let given)? = value["name"] { name = given } else { name = "transform" }
            let input = URL(fileURLWithPath: checkpoint)
            let destination = output.map { URL(fileURLWithPath: $0) }
                ?? input.deletingPathExtension().appendingPathExtension(name).appendingPathExtension("safetensors")
            let configuration = try override.configuration(registry: registry)
            let report = try Run.transform(
                checkpoint: input, spec: value, output: destination, seed: seed, configuration: configuration, registry: registry)
            print("wrote \(destination.path)")
            if !report.added.isEmpty { print("added: \(report.added.joined(separator: ", "))") }
            if !report.resized.isEmpty { print("resized: \(report.resized.joined(separator: ", "))") }
            let renamed = report.pathMap.filter { $0.old != $0.new }
            if !renamed.isEmpty { print("renamed: \(renamed.map { "\($0.old) -> \($0.new)" }.joined(separator: ", "))") }
            if let deviation = report.maxDeviation { print("max |f_new - f_old| on \(report.probeExamples ?? 0) training examples: \(deviation)") }
            for note in report.notes { print("note: \(note)") }
        }
    }
}
