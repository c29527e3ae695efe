// `saddle eval`: held-out loss and accuracy of a checkpoint.
import ArgumentParser
import Foundation
import Saddle

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a checkpoint on the held-out data of its configuration.")

    @Argument(help: "The checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "A replacement \"data\" section: a data set name or a JSON object such as '{\"name\": \"fashion_mnist\"}'.")
    var data: String?

    @OptionGroup var override: ConfigurationOverride

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("eval") {
            let registry = try registryOptions.registry()
            let configuration = try override.configuration(registry: registry)
            var section: JSONValue?
            if let data {
                section = data.hasPrefix("{") ? try JSONParser.parse(Array(data.utf8)) : .string(data)
            }
            let result = try Run.evaluate(checkpoint: URL(fileURLWithPath: checkpoint), configuration: configuration, data: section, registry: registry)
            print("held-out accuracy \(percent(result.accuracy)), loss \(String(format: "%.4f", result.loss)) on \(result.count) examples")
        }
    }
}
