import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// The plugins every test here shares, built once.
final class BuiltPlugins: Sendable {
    let directory: URL
    let acme: String
    let zoo: String
    /// The 0.2.0 example sources built against the frozen ABI 1.0 header.
    let frozenAcme: String
    let frozenZoo: String
    let vision: String
    let cxxopt: String

    static let shared: Result<BuiltPlugins, Error> = Result { try BuiltPlugins() }

    private init() throws {
        directory = try TemporaryDirectory("saddle-plugins").url
        acme = try PluginBuilds.acme(in: directory)
        zoo = try PluginBuilds.zoo(in: directory)
        frozenAcme = try PluginBuilds.acme(in: directory, name: "libacme-1.0.so", abi: .frozen1_0)
        frozenZoo = try PluginBuilds.zoo(in: directory, abi: .frozen1_0)
        vision = try PluginBuilds.vision(in: directory)
        cxxopt = try PluginBuilds.cxxopt(in: directory)
    }

    /// acme and zoo as built for `abi`.
    func examples(_ abi: PluginBuilds.ABI) -> (acme: String, zoo: String) {
        abi == .current ? (acme, zoo) : (frozenAcme, frozenZoo)
    }

    func variant(_ name: String, _ defines: [String]) throws -> String {
        try PluginBuilds.acme(defines, in: directory, name: "lib\(name).so")
    }
}

func plugins() throws -> BuiltPlugins { try BuiltPlugins.shared.get() }

func registryWithPlugins(_ abi: PluginBuilds.ABI = .current) throws -> Registry {
    var registry = Registry.builtin
    let (acme, zoo) = try plugins().examples(abi)
    try registry.loadPlugin(at: acme)
    try registry.loadPlugin(at: zoo)
    return registry
}

/// The tests run on the example plugins built against the current header and, unchanged since
/// 0.2.0, against the frozen ABI 1.0 header: a 1.0 plugin works on this host exactly as before.
@Suite("Plugins")
struct PluginTests {
    @Test(arguments: PluginBuilds.ABI.allCases)
    func aModelWithPluginComponentsTrainsFromJSONAndCheckpoints(_ abi: PluginBuilds.ABI) throws {
        let built = try plugins().examples(abi)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let loaded = try PluginLoader.load(path: built.acme)
        #expect(loaded.abiVersion == (abi == .current ? "1.1" : "1.0"))
        let digest = loaded.sha256
        let text = """
            {"name": "plugin_run", "seed": 3,
             "plugins": [{"path": "\(built.acme)", "sha256": "\(digest)"}, {"path": "\(built.zoo)"}],
             "data": {"name": "digits"},
             "model": [{"layer": "dense", "units": 64}, {"layer": "acme.prelu", "init": 0.1}, {"layer": "acme.swish", "beta": 1.5},
                       {"layer": "dense", "units": 10}],
             "optimizer": {"name": "zoo.rmsprop", "learning_rate": 0.003},
             "train": {"epochs": 6, "batch_size": 32, "progress": "silent", "checkpoint_dir": "\(dir.url.path)"}}
            """
        let configuration = try RunConfiguration.decode(Array(text.utf8), registry: .builtin)
        var run = try Run(configuration)
        let history = try run.train()
        let accuracy = try #require(history.last?.validationAccuracy)
        #expect(accuracy >= 0.93, "accuracy \(accuracy)")
        #expect(run.trainer.optimizer.state.paths.contains("1.alpha.square_avg"))
        // The learned slopes moved away from their initial value and were checkpointed.
        let checkpoint = try Checkpoint.read(from: dir.file("last.safetensors"))
        let alpha = try #require(checkpoint.tensors["1.alpha"])
        #expect(alpha.shape == [64] && alpha.doubles.contains { Swift.abs($0 - 0.1) > 1e-3 })
        // The checkpoint's embedded configuration rebuilds the model and evaluates the same.
        let evaluated = try Run.evaluate(checkpoint: dir.file("last.safetensors"), registry: .builtin)
        #expect(evaluated.accuracy == accuracy)
        let canonical = try configuration.json()
        #expect(canonical["model"]?.description.contains("acme.prelu") == true)
        // ONNX cannot carry a plugin's code: the export names the layer and writes nothing.
        let onnx = dir.file("model.onnx")
        let result = try SaddleCommandLine.run(["export", dir.file("last.safetensors").path, "--onnx", onnx.path])
        #expect(result.status == 1 && !result.signaled, "\(result)")
        #expect(result.standardError.contains("layer 1 (PluginLayer) cannot be exported to ONNX"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: onnx.path))
    }

    @Test(arguments: PluginBuilds.ABI.allCases)
    func pluginLayerAndActivationPassGradientAndHessianChecks(_ abi: PluginBuilds.ABI) throws {
        let registry = try registryWithPlugins(abi)
        let spec = ModelSpec {
            LayerSpec("acme.prelu", [("init", .number(0.3))])
            LayerSpec("acme.swish", [("beta", .number(1.2))])
        }
        let model = try spec.build(inputShape: [5], dtype: .float64, seed: 2, registry: registry)
        var g = RandomGenerator(seed: 8)
        // Inputs away from the PReLU kink at 0.
        let x = try Tensor(shape: [4, 5], scalars: (0..<20).map { _ in (g.nextUniform() < 0.5 ? -1.0 : 1.0) * (0.2 + g.nextUniform()) })
        let alpha = Tensor.randomUniform([5], in: 0.1...0.5, dtype: .float64, using: &g)
        let moved = try model.replacing(["0.alpha": alpha])
        let reports = try GradientCheck().checkLayer(moved, input: x)
        #expect(reports.map(\.name) == ["input", "0.alpha"])
        for report in reports { #expect(report.passed, "\(report)") }
        let direction = [Tensor.randomNormal([4, 5], dtype: .float64, using: &g), Tensor.randomNormal([5], dtype: .float64, using: &g)]
        let r = Tensor.randomNormal([4, 5], dtype: .float64, using: &g)
        let hvp = try GradientCheck().checkHessianVectorProduct(at: [x, alpha], along: direction) { t in
            let out = try moved.replacing(["0.alpha": t[1]])(t[0])
            return try (out * r).sum() + (out.squared() * r).sum() * 0.5
        }
        for report in hvp { #expect(report.passed, "\(report)") }
        #expect(ConfigurationSchema.make(registry: registry).description.contains("acme.prelu"))
    }

    @Test func transformsWidenThroughPluginActivationsAndWillNotDeepenAfterThemUnforced() throws {
        let registry = try registryWithPlugins()
        let spec = ModelSpec {
            dense(units: 6)
            LayerSpec("acme.swish", [("beta", .number(1.2))])
            dense(units: 3)
        }
        let model = try spec.build(inputShape: [5], dtype: .float64, seed: 2, registry: registry)
        var g = RandomGenerator(seed: 9)
        let x = Tensor.randomNormal([8, 5], dtype: .float64, using: &g)
        var context = TransformContext(generator: RandomGenerator(seed: 1), probe: x, factory: BuiltinLayerFactory())
        let (wider, report) = try Net2WiderNet(layer: "0", units: 10).apply(to: model, context: &context)
        #expect(try #require(report.maxDeviation) <= 1e-12)
        #expect(wider.tensors["2.weight"]?.shape == [3, 10])
        #expect(throws: TransformError.self) { try Net2DeeperNet(layer: "0").apply(to: model, context: &context) }
        #expect(try Net2DeeperNet(layer: "0", force: true).apply(to: model, context: &context).report.notes.contains { $0.contains("forced") })
    }

    @Test func withoutASecondOrderRuleHessiansAreRefusedButGradientsWork() throws {
        var registry = Registry.builtin
        try registry.loadPlugin(at: plugins().variant("acme_first_order", ["ACME_NO_SECOND_ORDER", "ACME_VERSION=\"1.1\""]))
        for name in ["acme.prelu", "acme.swish"] {
            let model = try ModelSpec { LayerSpec(name) }.build(inputShape: [3], dtype: .float64, registry: registry)
            let x = try Tensor(shape: [2, 3], scalars: [0.5, -0.7, 1.1, -0.3, 0.9, -1.2])
            #expect(try GradientCheck().checkLayer(model, input: x).allSatisfy(\.passed))
            #expect(throws: AutodiffError.noSecondOrderRule(op: name)) {
                _ = try hessianVectorProduct(at: [x], along: [x]) { try model($0[0]).squared().sum() }
            }
        }
    }

    @Test(arguments: PluginBuilds.ABI.allCases)
    func rmspropUpdateIsPyTorchs(_ abi: PluginBuilds.ABI) throws {
        let registry = try registryWithPlugins(abi)
        var optimizer = try registry.build(.optimizer, JSONValue.object([("name", "zoo.rmsprop"), ("learning_rate", .number(0.1))]), at: JSONPath()) { factory, args -> (any Optimizer)? in
            guard case .optimizer(let make) = factory else { return nil }
            return try make(args)
        }
        let objective = Quadratic(parameters: ["w": Tensor([2.0, -1.0])])
        var p = objective.parameters
        _ = try optimizer.step(&p, objective: objective)
        // g = w; v = 0.01 g^2; w - 0.1 g / (sqrt(v) + 1e-8) = w - 0.1 sign(g) / (0.1 + 1e-8 / |g|).
        let expected = [2.0, -1.0].map { $0 - 0.1 * $0 / ((0.01 * $0 * $0).squareRoot() + 1e-8) }
        #expect(zip(p["w"]!.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
        for _ in 0..<300 { _ = try optimizer.step(&p, objective: objective) }
        #expect(p["w"]!.doubles.allSatisfy { Swift.abs($0) < 0.05 })
    }
}

extension PluginTests {
    @Test("a plugin optimizer's kernel is never handed a state buffer smaller than the parameter")
    func pluginOptimizerStateIsChecked() throws {
        let registry = try registryWithPlugins()
        var optimizer = try registry.build(.optimizer, JSONValue.object([("name", "zoo.rmsprop"), ("learning_rate", .number(0.1))]), at: JSONPath()) { factory, args -> (any Optimizer)? in
            guard case .optimizer(let make) = factory else { return nil }
            return try make(args)
        }
        let objective = Quadratic(parameters: ["w": Tensor([2.0, -1.0, 0.5, 3.0])])
        var p = objective.parameters
        _ = try optimizer.step(&p, objective: objective)
        let slots = try #require(optimizer.stateSlots).map(\.name)
        #expect(slots.contains("step") && slots.count >= 2)
        let buffer = try #require(optimizer.state.paths.first { !$0.hasSuffix(".step") })
        for bad in [Tensor([1.0]), Tensor([1.0, 2, 3, 4]).converted(to: .float32), Tensor.zeros([2, 2], dtype: .float64)] {
            var state = optimizer.state
            state[buffer] = bad
            #expect(throws: OptimizerError.self) { try optimizer.validateState(state, for: p) }
            var damaged = optimizer
            damaged.state = state
            var q = p
            #expect(throws: OptimizerError.self) { _ = try damaged.step(&q, objective: objective) }
            #expect(q["w"]?.doubles == p["w"]?.doubles)
        }
    }
}

/// f(w) = 1/2 |w|^2.
struct Quadratic: Objective {
    var parameters: NamedTensors
    func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        ObjectiveOutput(loss: try parameters["w"]!.squared().sum() * 0.5)
    }
}

@Suite("Plugin failures leave the registry unchanged")
struct PluginFailureTests {
    /// Loads `path` into a registry that already holds acme 1.0, expecting `PluginError` whose
    /// message contains `mentions`, and checks nothing was added.
    func refuses(_ path: String, sha256: String? = nil, mentions: [String]) throws {
        var registry = Registry.builtin
        try registry.loadPlugin(at: plugins().acme)
        let before = registry.allEntries.map(\.name)
        do {
            try registry.loadPlugin(at: path, sha256: sha256)
            Issue.record("\(path) was accepted")
        } catch let error as PluginError {
            for text in mentions { #expect("\(error)".contains(text), "\(error)") }
        }
        #expect(registry.allEntries.map(\.name) == before)
    }

    @Test func missingFile() throws { try refuses("/nonexistent/libnothing.so", mentions: ["/nonexistent/libnothing.so", "does not exist"]) }

    @Test func notASharedLibrary() throws {
        let path = try plugins().directory.appendingPathComponent("notes.so")
        try "not an ELF file".write(to: path, atomically: true, encoding: .utf8)
        try refuses(path.path, mentions: [path.path, "not a loadable shared library"])
    }

    @Test func noEntryPoint() throws {
        let path = try plugins().variant("acme_no_entry", ["ACME_ENTRY=something_else"])
        try refuses(path, mentions: [path, "saddle_plugin_init"])
    }

    @Test func abiTooNew() throws {
        let path = try plugins().variant("acme_abi2", ["ACME_ABI_MAJOR=2"])
        try refuses(path, mentions: ["ABI 2.1", "speaks ABI 1.1"])
    }

    @Test func abiTooOld() throws {
        let path = try plugins().variant("acme_abi0", ["ACME_ABI_MAJOR=0"])
        try refuses(path, mentions: ["ABI 0.1", "speaks ABI 1.1"])
    }

    @Test func collisionWithABuiltin() throws {
        let path = try plugins().variant("acme_relu", ["ACME_SWISH_NAME=\"relu\"", "ACME_VERSION=\"3.0\""])
        // Refused while the plugin registers (so `plugins inspect` refuses it too): a plugin's
        // components live in its own namespace, so none can take a built-in name.
        try refuses(path, mentions: ["relu", "acme.<name>", "plugin acme 3.0", path])
    }

    @Test func collisionWithAnotherPlugin() throws {
        let path = try plugins().variant("acme_v2", ["ACME_VERSION=\"2.0\""])
        try refuses(path, mentions: ["acme.swish", "plugin acme 1.0", "plugin acme 2.0"])
    }

    @Test func checksumMismatch() throws {
        let path = try plugins().variant("acme_pinned", ["ACME_VERSION=\"4.0\""])
        try refuses(path, sha256: String(repeating: "0", count: 64), mentions: ["SHA-256", String(repeating: "0", count: 64)])
    }

    @Test func failurePartWay() throws {
        let path = try plugins().variant("acme_partway", ["ACME_FAIL_PARTWAY", "ACME_VERSION=\"5.0\""])
        try refuses(path, mentions: ["simulated failure"])
    }

    @Test func unsupportedKernelSignature() throws {
        let path = try plugins().variant("acme_signature", ["ACME_SWISH_SIGNATURE=\"nxyq\"", "ACME_VERSION=\"6.0\""])
        try refuses(path, mentions: ["acme.swish", "forward", "'q'"])
    }

    @Test func structTooSmall() throws {
        let path = try plugins().variant("acme_small", ["ACME_SMALL_STRUCT", "ACME_VERSION=\"7.0\""])
        try refuses(path, mentions: ["saddle_activation", "struct_size 8"])
    }
}
