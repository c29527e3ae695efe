// saddle-bench: the reference workloads of ../shared/bench/README.md, timed the way
// torch_bench.py times them (median over blocks of steps after a warm-up), printed as one
// JSON line. Build in release: `swift build -c release --product saddle-bench`.
import Foundation
import Saddle

struct Options {
    /// `fashion`: the Fashion-MNIST time-to-accuracy run instead of the step benchmarks.
    var fashion: FashionRun?
    /// `--plugin PATH`: also measure the acme example plugin's per-call overhead.
    var plugin: String?
    /// `--vision PATH`: also measure the vision example plugin's dense layer beside the built-in.
    var vision: String?
    /// Saddle's threads (ComputeThreads); nil keeps SADDLE_NUM_THREADS / OPENBLAS_NUM_THREADS when set, else 2.
    var threads: Int?
    var quick = false
    var only: Set<String>?

    init(arguments: [String]) throws {
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            switch argument {
            case "--threads":
                guard let value = rest.popFirst().flatMap(Int.init), value >= 1 else { throw BenchError.usage("--threads needs a positive integer") }
                threads = value
            case "--quick": quick = true
            case "fashion": fashion = FashionRun()
            case "--model":
                guard let value = rest.popFirst(), fashion != nil else { throw BenchError.usage("--model follows fashion") }
                fashion?.model = value
            case "--max-epochs":
                guard let value = rest.popFirst().flatMap(Int.init), value >= 1, fashion != nil else { throw BenchError.usage("--max-epochs needs a positive integer after fashion") }
                fashion?.maxEpochs = value
            case "--seed":
                guard let value = rest.popFirst().flatMap(UInt64.init), fashion != nil else { throw BenchError.usage("--seed needs a non-negative integer after fashion") }
                fashion?.seed = value
            case "--no-stop": fashion?.stopAtTarget = false
            case "--plugin":
                guard let value = rest.popFirst() else { throw BenchError.usage("--plugin needs the path of the acme example plugin") }
                plugin = value
            case "--vision":
                guard let value = rest.popFirst() else { throw BenchError.usage("--vision needs the path of the vision example plugin") }
                vision = value
            case "--only":
                guard let value = rest.popFirst() else { throw BenchError.usage("--only needs a comma-separated list of keys") }
                only = Set(value.split(separator: ",").map(String.init))
            case "--help", "-h":
                throw BenchError.usage("")
            default: throw BenchError.usage("unknown argument \(argument)")
            }
        }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    var description: String {
        switch self {
        case .usage(let message):
            return (message.isEmpty ? "" : message + "\n") + "usage: saddle-bench [--threads N] [--quick] [--only key1,key2] [--plugin libacme.so] [--vision libvision.so]\n       saddle-bench fashion [--model mlp_bn|mlp|lstm|cnn] [--max-epochs N] [--seed S] [--no-stop] [--threads N]"
        }
    }
}

func main() throws {
    let options = try Options(arguments: CommandLine.arguments)
    let environment = ProcessInfo.processInfo.environment
    let threads = options.threads
        ?? (environment["SADDLE_NUM_THREADS"] ?? environment["OPENBLAS_NUM_THREADS"]).flatMap(Int.init) ?? 2
    try ComputeThreads.setCount(threads)
    if let fashion = options.fashion {
        print(try fashion.run())
        return
    }
    let repeats = options.quick ? 3 : 7
    // `--only distributed`: the data-parallel workloads (under mpirun, or as one process).
    if options.only == ["distributed"] {
        let communicator = try MPICommunicator.forThisProcess()
        var results = try distributedResults(repeats: options.quick ? 3 : 5, communicator: communicator)
        results += machineDescription(try BLAS.configuration())
        if communicator.isRoot { print(json(results)) }
        try (communicator as? MPICommunicator)?.finalize()
        return
    }
    func wanted(_ key: String) -> Bool { options.only?.contains(key) ?? true }
    var results: [(String, Any)] = []
    let blas = try BLAS.configuration()
    results.append(("blas_core", blas.coreName))
    results.append(("blas_core_requested", blas.requestedCoreType ?? "none"))
    results.append(("blas_core_from_environment", blas.coreTypeFromEnvironment ? "yes" : "no"))
    results += machineDescription(blas)

    if wanted("sgemm_1024_gflops") {
        var generator = RandomGenerator(seed: 1)
        let a = Tensor.randomNormal([1024, 1024], using: &generator)
        let b = Tensor.randomNormal([1024, 1024], using: &generator)
        let t = try time(steps: 10, repeats: repeats) { _ = try matmul(a, b) }
        results.append(("sgemm_1024_gflops", 2 * pow(1024.0, 3) / t.median / 1e9))
    }
    if wanted("mlp_64_256_256_10_b128_step_ms") {
        let (ms, parameters) = try trainStepMilliseconds([64, 256, 256, 10], batch: 128, steps: 200, repeats: repeats)
        results += [("mlp_64_256_256_10_b128_step_ms", ms), ("mlp_64_256_256_10_b128_params", parameters)]
    }
    if wanted("mlp_784_1024_1024_10_b256_step_ms") {
        let (ms, parameters) = try trainStepMilliseconds([784, 1024, 1024, 10], batch: 256, steps: 10, repeats: repeats)
        results += [("mlp_784_1024_1024_10_b256_step_ms", ms), ("mlp_784_1024_1024_10_b256_params", parameters)]
    }
    if wanted("mlp_64_256_256_10_b128_bn_step_ms") {
        let (ms, parameters) = try batchNormStepMilliseconds([64, 256, 256, 10], batch: 128, steps: 200, repeats: repeats)
        results += [("mlp_64_256_256_10_b128_bn_step_ms", ms), ("mlp_64_256_256_10_b128_bn_params", parameters)]
    }
    if wanted("mlp_784_1024_1024_10_b256_bn_step_ms") {
        let (ms, parameters) = try batchNormStepMilliseconds([784, 1024, 1024, 10], batch: 256, steps: 10, repeats: repeats)
        results += [("mlp_784_1024_1024_10_b256_bn_step_ms", ms), ("mlp_784_1024_1024_10_b256_bn_params", parameters)]
    }
    if wanted("lstm_i8_h128_t8_b128_step_ms") {
        let (ms, parameters) = try lstmStepMilliseconds(steps: 50, repeats: repeats)
        results += [("lstm_i8_h128_t8_b128_step_ms", ms), ("lstm_i8_h128_t8_b128_params", parameters)]
    }
    if wanted("lstm2_i28_h256_t28_b128_step_ms") {
        let (ms, parameters) = try stackedLSTMStepMilliseconds(steps: 5, repeats: repeats)
        results += [("lstm2_i28_h256_t28_b128_step_ms", ms), ("lstm2_i28_h256_t28_b128_params", parameters)]
    }
    if wanted("hvp_mlp_64_256_256_10_b128_ms") || wanted("grad_mlp_64_256_256_10_b128_ms") {
        var generator = RandomGenerator(seed: 2)
        let model = try mlp([64, 256, 256, 10], using: &generator)
        let (x, y) = classificationBatch(128, features: 64, classes: 10, using: &generator)
        results += try curvatureResults(
            model, input: x, labels: y, keys: ("hvp_mlp_64_256_256_10_b128_ms", "grad_mlp_64_256_256_10_b128_ms", "curvature_mlp_64_256_256_10_b128_params"), steps: 50, repeats: repeats,
            wanted: wanted, using: &generator)
    }
    if wanted("hessian_tiny_105_ms") {
        var generator = RandomGenerator(seed: 3)
        var layers: [any Layer] = []
        let sizes = [2, 8, 8, 1]
        for i in 0..<3 {
            layers.append(try Dense(inputSize: sizes[i], units: sizes[i + 1], dtype: .float64, using: &generator))
            if i < 2 { layers.append(Tanh()) }
        }
        let model = Sequential(layers)
        let x = Tensor.randomNormal([64, 2], dtype: .float64, using: &generator)
        let y = Tensor.randomNormal([64, 1], dtype: .float64, using: &generator)
        let objective = SupervisedObjective(model: model, loss: MeanSquaredError(), input: x, target: y, mode: .inference)
        let layout = model.parameters
        let theta = try layout.flattened(dtype: .float64)
        let t = try time(steps: 3, repeats: repeats, warmup: 1) {
            _ = try hessian(at: theta) { try objective.loss(at: try layout.unflattening($0)).loss }
        }
        results.append(("hessian_tiny_105_ms", t.median * 1e3))
        results.append(("hessian_tiny_params", layout.scalarCount))
    }
    results += try convolutionResults(repeats: repeats, wanted: wanted)
    if let plugin = options.plugin { results += try pluginOverhead(plugin: plugin, repeats: repeats) }
    if let vision = options.vision { results += try visionOverhead(plugin: vision, repeats: repeats) }
    if options.only?.contains("lanczos") == true { results += try lanczosReport() }
    if options.only?.contains("cnn_profile") == true { results += try convolutionProfile(repeats: repeats) }
    if options.only?.contains("elementwise_split") == true { results += try elementwiseSplitReport(threads: threads, repeats: repeats) }
    if options.only?.contains("kernel_split") == true { results += try kernelSplitReport(threads: threads, repeats: repeats) }
    results.append(("threads", threads))
    results.append(("blas_threads", try BLAS.configuration().threadCount))
    results.append(("repeats", repeats))
    print(json(results))
}

/// The machine a result comes from: CPU model, cores, operating-system kernel, and the BLAS
/// library loaded with its build configuration.
func machineDescription(_ blas: BLASConfiguration) -> [(String, Any)] {
    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    let model = read("/proc/cpuinfo")?.split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
    return [
        ("cpu_model", model ?? "unknown"),
        ("cpu_cores", ProcessInfo.processInfo.activeProcessorCount),
        ("os_kernel", read("/proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"),
        ("blas_library", blas.library),
        ("blas_build", blas.buildConfiguration),
    ]
}

func json(_ pairs: [(String, Any)]) -> String {
    let body = pairs.map { key, value -> String in
        let rendered: String
        switch value {
        case let s as String: rendered = "\"\(s)\""
        case let d as Double: rendered = d.isFinite ? String(d) : "null"
        case let i as Int: rendered = String(i)
        default: rendered = "\"\(value)\""
        }
        return "\"\(key)\": \(rendered)"
    }
    return "{" + body.joined(separator: ", ") + "}"
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("saddle-bench: \(error)\n".utf8))
    exit(1)
}
