// `saddle train`: trains a run file (or the built-in default), optionally resuming a checkpoint.
import ArgumentParser
import Foundation
import Saddle

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model described by a run file (default: an MLP on the bundled digits).")

    @Argument(help: "The run file (JSON). Without it, the built-in default configuration.")
    var config: String?

    @Option(help: "Continue from this checkpoint (its embedded configuration is used unless a run file is given).")
    var resume: String?

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("train") {
            // Under mpirun: data-parallel over the job's processes; rank 0 prints and writes.
            let communicator = try MPICommunicator.forThisProcess()
            try stoppingTheJobOnError("train", communicator) {
                try train(communicator)
            }
            try (communicator as? MPICommunicator)?.finalize()
        }
    }

    private func train(_ communicator: any Communicator) throws {
        func print(_ line: String) { if communicator.isRoot { Swift.print(line) } }
        let registry = try registryOptions.registry()
        var configuration: RunConfiguration
        var checkpoint: Checkpoint?
        if let resume {
            checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: resume))
        }
        if config == nil, let checkpoint, let resume {
            configuration = try Run.configuration(of: checkpoint, file: resume, registry: registry)
        } else {
            configuration = try readConfiguration(config, registry: registry)
        }
        var run = try Run(configuration, communicator: communicator)
        if let resume, let checkpoint {
            try run.resume(from: checkpoint, file: resume)
            print("resuming \(resume) at epoch \(run.trainer.epoch) of \(configuration.train.int("epochs"))")
        }
        print("training \(configuration.name): \(run.data.training.count) training and \(run.data.heldOut.count) held-out examples, \(run.trainer.parameters.scalarCount) parameters\(communicator.size > 1 ? ", data-parallel over \(communicator.size) processes" : "")")
        fflush(nil)  // the lines so far, before the progress lines on standard error
        let history = try run.train()
        let final = history.last
        if !run.trainer.appliedTransforms.isEmpty {
            let count = run.trainer.appliedTransforms.count
            print("\(count) transform\(count == 1 ? "" : "s") applied; the model now has \(run.trainer.parameters.scalarCount) parameters")
        }
        print("final held-out accuracy \(percent(final?.validationAccuracy)), loss \(String(format: "%.4f", final?.validationLoss ?? .nan))")
        let directory = configuration.checkpointDirectory.path
        print("checkpoint: \(directory)/last.safetensors (best held-out accuracy \(percent(run.trainer.bestValidationAccuracy)): \(directory)/best.safetensors)")
    }
}
