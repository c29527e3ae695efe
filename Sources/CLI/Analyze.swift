// `saddle analyze`: the Hessian spectrum and critical-point class at a checkpoint.
import ArgumentParser
import Foundation
import Saddle

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hessian spectrum and critical-point class of a checkpoint's training loss.")

    @Argument(help: "The checkpoint (.safetensors).")
    var checkpoint: String

    @OptionGroup var override: ConfigurationOverride

    @Option(help: "Training examples in the loss (the first N of the training split).")
    var examples: Int = 2000

    @Option(help: "BatchNorm and dropout mode: inference or training.")
    var mode: String = "inference"

    @Option(help: "Largest model whose full spectrum is computed (at most 10000); larger ones use Lanczos.")
    var fullSpectrumLimit: Int = 3000

    @Option(help: "How many extreme eigenvalues to report at each end. Above --full-spectrum-limit parameters only these extremes are estimated (Lanczos), and the negative share reported is of these estimates, not the index of the whole spectrum.")
    var count: Int = 5

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("analyze") {
            guard let forwardMode = ForwardMode(rawValue: mode) else { throw ValidationError("--mode must be inference or training") }
            // The full spectrum needs the dense Hessian (8 n^2 bytes): 10,000 parameters is 800 MB.
            guard (1...10_000_000).contains(examples), (1...1000).contains(count), (1...10_000).contains(fullSpectrumLimit) else {
                throw ValidationError("--examples must be in 1...10000000, --count in 1...1000 and --full-spectrum-limit in 1...10000 (the dense Hessian of n parameters takes 8 n^2 bytes)")
            }
            // Under mpirun: the examples are split over the processes and the curvature summed.
            let communicator = try MPICommunicator.forThisProcess()
            try stoppingTheJobOnError("analyze", communicator) {
                let registry = try registryOptions.registry()
                let configuration = try override.configuration(registry: registry)
                let report = try Run.analyze(
                    checkpoint: URL(fileURLWithPath: checkpoint), configuration: configuration, registry: registry, examples: examples,
                    mode: forwardMode, fullSpectrumLimit: fullSpectrumLimit, lanczosCount: count, communicator: communicator)
                if communicator.isRoot { print(json ? report.json.pretty : report.text) }
            }
            try (communicator as? MPICommunicator)?.finalize()
        }
    }
}
