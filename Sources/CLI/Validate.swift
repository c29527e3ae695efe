// `saddle validate`: everything `train` checks before its first step, without training.
import ArgumentParser
import Foundation
import Saddle

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a run file without training (exit status 0 when valid).")

    @Argument(help: "The run file (JSON).")
    var config: String

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("validate") {
            let registry = try registryOptions.registry()
            let configuration = try RunConfiguration.read(URL(fileURLWithPath: config), registry: registry)
            // Everything training checks before its first step: the data loaded, the model
            // built, the transforms applied, a dry run of the model and the loss.
            let run = try Run(configuration)
            let model = try run.trainer.currentModel()
            let shape = run.data.training.exampleShape
            let grown = try configuration.checkTransforms(on: model, exampleShape: shape)
            print("\(config): valid; \(model.parameterCount) parameters for examples of shape \(shape), \(run.data.training.count) training and \(run.data.heldOut.count) held-out examples")
            if !configuration.transforms.isEmpty {
                print("its \(configuration.transforms.count) transforms apply and grow the model to \(grown.parameterCount) parameters")
            }
        }
    }
}
