// `saddle interpolate`: the cost along a straight line between two parameter vectors.
import ArgumentParser
import Foundation
import Saddle

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Training and held-out cost along the straight line from the run's initialization (or another checkpoint) to a checkpoint.")

    @Argument(help: "The checkpoint at alpha = 1 (.safetensors).")
    var checkpoint: String

    @Option(help: "A checkpoint of the same architecture at alpha = 0 (default: the run's initialization, rebuilt from its seed).")
    var from: String?

    @OptionGroup var override: ConfigurationOverride

    @Option(parsing: .unconditional, help: "The first alpha (negative values as typed: --lower -0.25).")
    var lower: Double = -0.5

    @Option(parsing: .unconditional, help: "The last alpha.")
    var upper: Double = 1.5

    @Option(help: "How many evenly spaced alphas, both ends included (2 to 1001).")
    var points: Int = 21

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("interpolate") {
            guard points >= 2, points <= 1001 else { throw ValidationError("--points must be between 2 and 1001, got \(points)") }
            guard lower.isFinite, upper.isFinite, lower < upper, Swift.abs(lower) <= 1e6, Swift.abs(upper) <= 1e6 else {
                throw ValidationError("--lower must be below --upper, both finite and within +-1e6 (got \(lower) and \(upper))")
            }
            let registry = try registryOptions.registry()
            let configuration = try override.configuration(registry: registry)
            let report = try Run.interpolate(
                checkpoint: URL(fileURLWithPath: checkpoint), from: from.map { URL(fileURLWithPath: $0) }, configuration: configuration,
                registry: registry, alphas: LinearInterpolation.alphas(from: lower, to: upper, count: points))
            print(json ? report.json.pretty : report.text)
        }
    }
}
