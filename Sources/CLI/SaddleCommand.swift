// The `saddle` command: train, evaluate, list components, print the configuration schema and
// validate run files.
import ArgumentParser
import Foundation
import Saddle

@main
struct SaddleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saddle",
        abstract: "Compose, train and analyse neural networks.",
        subcommands: [Train.self, Evaluate.self, Analyze.self, Interpolate.self, Transform.self, ReportCommand.self, List.self, Schema.self, Validate.self, Plugins.self])
}

/// Runs `body`, turning any error into a one-paragraph message on standard error and exit
/// status 1.
func reportingErrors(_ command: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("saddle \(command): \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Options shared by the commands that read configurations.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("plugin"), help: "Load a plugin shared library (repeatable).")
    var plugins: [String] = []

    @Flag(help: "Load plugins even when their SHA-256 differs from the one pinned in the run file or recorded in the checkpoint.")
    var allowPluginChange = false

    @Option(parsing: .unconditional, help: "The most memory (GiB) a run may need, as estimated before building the model (default 16).")
    var memoryLimit: Double?

    /// The built-in registry with the named plugins loaded and the limits set.
    func registry() throws -> Registry {
        var registry = Registry.builtin
        registry.allowsChangedPlugins = allowPluginChange
        if let memoryLimit {
            guard memoryLimit.isFinite, memoryLimit > 0, memoryLimit <= 1_048_576 else {
                throw ValidationError("--memory-limit must be a positive number of GiB up to 1048576, got \(memoryLimit)")
            }
            registry.memoryLimitBytes = Int(memoryLimit * Double(1 << 30))
        }
        for path in plugins { try registry.loadPlugin(at: path) }
        return registry
    }
}

func readConfiguration(_ path: String?, registry: Registry) throws -> RunConfiguration {
    guard let path else {
        return try RunConfiguration.decode(Array(RunConfiguration.defaultText.utf8), file: "(built-in default)", registry: registry)
    }
    return try RunConfiguration.read(URL(fileURLWithPath: path), registry: registry)
}

func percent(_ value: Double?) -> String {
    value.map { String(format: "%.2f%%", 100 * $0) } ?? "n/a"
}

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
            var run = try Run(configuration)
            if let resume, let checkpoint {
                try run.resume(from: checkpoint, file: resume)
                print("resuming \(resume) at epoch \(run.trainer.epoch) of \(configuration.train.int("epochs"))")
            }
            print("training \(configuration.name): \(run.data.training.count) training and \(run.data.heldOut.count) held-out examples, \(run.trainer.parameters.scalarCount) parameters")
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
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a checkpoint on the held-out data of its configuration.")

    @Argument(help: "The checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "A replacement \"data\" section: a data set name or a JSON object such as '{\"name\": \"fashion_mnist\"}'.")
    var data: String?

    @Option(help: "Use this run file instead of the configuration embedded in the checkpoint.")
    var config: String?

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("eval") {
            let registry = try registryOptions.registry()
            let configuration = try config.map { try RunConfiguration.read(URL(fileURLWithPath: $0), registry: registry) }
            var section: JSONValue?
            if let data {
                section = data.hasPrefix("{") ? try JSONParser.parse(Array(data.utf8)) : .string(data)
            }
            let result = try Run.evaluate(checkpoint: URL(fileURLWithPath: checkpoint), configuration: configuration, data: section, registry: registry)
            print("held-out accuracy \(percent(result.accuracy)), loss \(String(format: "%.4f", result.loss)) on \(result.count) examples")
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every registered component with its parameters.")

    @Option(help: "Only this kind (layer, activation, loss, optimizer, schedule, transform, dataset).")
    var kind: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("list") {
            let registry = try registryOptions.registry()
            var kinds = ComponentKind.allCases
            if let kind {
                guard let chosen = ComponentKind(rawValue: kind) else {
                    throw ValidationError("unknown kind \"\(kind)\"; use one of \(ComponentKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kinds = [chosen]
            }
            let entries = kinds.flatMap { registry.entries($0) }
            if json {
                let items: [JSONValue] = entries.map { entry in
                    .object([
                        ("kind", .string(entry.kind.rawValue)), ("name", .string(entry.name)), ("summary", .string(entry.summary)),
                        ("origin", .string(entry.origin.description)),
                        ("parameters", .array(entry.parameters.map { spec in
                            .object([("name", .string(spec.name)), ("type", .string(spec.typeDescription)),
                                     ("default", spec.defaultValue ?? .null), ("required", .bool(spec.isRequired)), ("summary", .string(spec.summary))])
                        })),
                    ])
                }
                print(JSONValue.array(items).pretty)
                return
            }
            for kind in kinds {
                let group = registry.entries(kind)
                guard !group.isEmpty else { continue }
                print("\(kind == .loss ? "losses" : kind.rawValue + "s"):")
                for entry in group {
                    print("  \(entry.name)  \(entry.summary)\(entry.origin == .builtin ? "" : "  [\(entry.origin)]")")
                    for spec in entry.parameters {
                        let value = spec.defaultValue.map { "default \($0)" } ?? "required"
                        print("      \(spec.name): \(spec.typeDescription), \(value). \(spec.summary)")
                    }
                }
            }
        }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the JSON Schema of run files.")

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try reportingErrors("schema") {
            print(ConfigurationSchema.make(registry: try registryOptions.registry()).pretty)
        }
    }
}

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

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Run the talk's experiments on the bundled digits and write them as one HTML page with SVG figures.")

    @Option(help: "Where to write the page.")
    var output: String = "saddle-report.html"

    @Option(help: "Only these experiments, comma-separated (\(Experiments.all.joined(separator: ", "))).")
    var only: String?

    @Option(help: "How many seeds each claim is checked over (1 to 10).")
    var seeds: Int = 3

    func run() throws {
        try reportingErrors("report") {
            guard seeds >= 1, seeds <= 10 else { throw ValidationError("--seeds must be between 1 and 10, got \(seeds)") }
            let ids = only.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? Experiments.all
            for id in ids where !Experiments.all.contains(id) { throw ExperimentError.unknown(id: id, known: Experiments.all) }
            var results: [ExperimentResult] = []
            for id in ids {
                FileHandle.standardError.write(Data("running \(id)...\n".utf8))
                let result = try Experiments.run(id, seeds: (1...seeds).map { UInt64($0) })
                for check in result.checks { print("\(check.passed ? "pass" : "FAIL")  \(id): \(check.claim)") }
                results.append(result)
            }
            let page = Report.html(results, generated: "Generated by saddle report with seeds 1-\(seeds).")
            let url = URL(fileURLWithPath: output)
            do {
                try Data(page.utf8).write(to: url, options: .atomic)
            } catch {
                throw ValidationError("cannot write \(url.path): \((error as NSError).localizedDescription)")
            }
            let failed = results.flatMap(\.checks).filter { !$0.passed }.count
            print("wrote \(url.path): \(results.count) experiments, \(failed == 0 ? "every claim borne out" : "\(failed) claims not borne out")")
        }
    }
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Training and held-out cost along the straight line from the run's initialization (or another checkpoint) to a checkpoint.")

    @Argument(help: "The checkpoint at alpha = 1 (.safetensors).")
    var checkpoint: String

    @Option(help: "A checkpoint of the same architecture at alpha = 0 (default: the run's initialization, rebuilt from its seed).")
    var from: String?

    @Option(help: "Use this run file instead of the configuration embedded in the checkpoint.")
    var config: String?

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
            let configuration = try config.map { try RunConfiguration.read(URL(fileURLWithPath: $0), registry: registry) }
            let report = try Run.interpolate(
                checkpoint: URL(fileURLWithPath: checkpoint), from: from.map { URL(fileURLWithPath: $0) }, configuration: configuration,
                registry: registry, alphas: LinearInterpolation.alphas(from: lower, to: upper, count: points))
            print(json ? report.json.pretty : report.text)
        }
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hessian spectrum and critical-point class of a checkpoint's training loss.")

    @Argument(help: "The checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "Use this run file instead of the configuration embedded in the checkpoint.")
    var config: String?

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
            let registry = try registryOptions.registry()
            let configuration = try config.map { try RunConfiguration.read(URL(fileURLWithPath: $0), registry: registry) }
            let report = try Run.analyze(
                checkpoint: URL(fileURLWithPath: checkpoint), configuration: configuration, registry: registry, examples: examples,
                mode: forwardMode, fullSpectrumLimit: fullSpectrumLimit, lanczosCount: count)
            print(json ? report.json.pretty : report.text)
        }
    }
}

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

    @Option(help: "Use this run file instead of the configuration embedded in the checkpoint.")
    var config: String?

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
            let configuration = try config.map { try RunConfiguration.read(URL(fileURLWithPath: $0), registry: registry) }
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
