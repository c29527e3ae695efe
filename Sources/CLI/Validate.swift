// `saddle validate`: everything `train` checks before its first step, without training.
import ArgumentParser
import Foundation
import Saddle

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a run file without training (exit status 0 when valid).")

    @Argument(help: "The run file (JSON).")
    var config: String

    @Option(help: "Also check what data-parallel training on this many processes (mpirun -np N) would refuse.")
    var ranks: Int = 1

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("validate") {
            guard (1...1_000_000).contains(ranks) else { throw ValidationError("--ranks must be in 1...1000000") }
            let registry = try registryOptions.registry()
            let configuration = try RunConfiguration.read(URL(fileURLWithPath: config), registry: registry)
            // Everything training checks before its first step: the data loaded, the model
            // built, the transforms applied, a dry run of the model and the loss.
            let run = try Run(configuration)
            let model = try run.trainer.currentModel()
            let shape = run.data.training.exampleShape
            let grown = try configuration.checkTransforms(on: model, exampleShape: shape)
            try run.checkDataParallel(ranks: ranks, grown: configuration.transforms.isEmpty ? nil : grown)
            print("\(config): valid; \(model.parameterCount) parameters for examples of shape \(shape), \(run.data.training.count) training and \(run.data.heldOut.count) held-out examples")
            if !configuration.transforms.isEmpty {
                print("its \(configuration.transforms.count) transforms apply and grow the model to \(grown.parameterCount) parameters")
            }
        }
    }
}
