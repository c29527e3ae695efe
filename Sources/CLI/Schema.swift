// `saddle schema`: the JSON Schema of run files.
import ArgumentParser
import Foundation
import Saddle

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the JSON Schema of run files.")

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("schema") {
            print(ConfigurationSchema.make(registry: try registryOptions.registry()).pretty)
        }
    }
}
