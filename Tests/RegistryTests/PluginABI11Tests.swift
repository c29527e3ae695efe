import Foundation
import Saddle
import SaddleRegistry
import SaddleTestSupport
import Testing

/// A registry with the ABI 1.1 examples (vision in C, cxxopt in C++) loaded.
func registryWithVision() throws -> Registry {
    var registry = Registry.builtin
    try registry.loadPlugin(at: plugins().vision)
    try registry.loadPlugin(at: plugins().cxxopt)
    return registry
}

/// max |a - b| / max(1, max |b|).
func relativeDifference(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.doubles, y = b.doubles
    guard x.count == y.count else { return .infinity }
    let scale = max(1, y.map(Swift.abs).max() ?? 0)
    return (zip(x, y).map { Swift.abs($0 - $1) }.max() ?? 0) / scale
}

@Suite("Plugin ABI 1.1 through real shared libraries")
struct PluginABI11Tests {
    @Test func anImageModelOfPluginLayersTrainsFromJSONWithBuffersCheckpointed() throws {
        let built = try plugins()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let text = """
            {"name": "vision_run", "seed": 4,
             "plugins": [{"path": "\(built.vision)"}],
             "data": {"name": "digits", "format": "images", "standardize": "scalar"},
             "model": [{"layer": "conv2d", "filters": 6, "kernel": 3, "padding": 1}, {"layer": "relu"},
                       {"layer": "vision.pointwise", "units": 8}, {"layer": "vision.batchnorm"}, {"layer": "relu"},
                       {"layer": "flatten"}, {"layer": "vision.dropout", "rate": 0.1}, {"layer": "vision.dense", "units": 10}],
             "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
             "train": {"epochs": 4, "batch_size": 32, "progress": "silent", "checkpoint_dir": "\(dir.url.path)"}}
            """
        let configuration = try RunConfiguration.decode(Array(text.utf8), registry: .builtin)
        var run = try Run(configuration)
        let history = try run.train()
        let accuracy = try #require(history.last?.validationAccuracy)
        #expect(accuracy >= 0.9, "accuracy \(accuracy)")
        // The plugin normalization's running statistics were committed each step and saved.
        let checkpoint = try Checkpoint.read(from: dir.file("last.safetensors"))
        let mean = try #require(checkpoint.tensors["3.running_mean"])
        let variance = try #require(checkpoint.tensors["3.running_var"])
        #expect(mean.shape == [8] && mean.doubles.contains { Swift.abs($0) > 1e-3 })
        #expect(variance.doubles.allSatisfy { $0 > 0 } && variance.doubles.contains { Swift.abs($0 - 1) > 1e-3 })
        // Evaluation (inference mode: running statistics, no dropout) from the checkpoint agrees.
        let evaluated = try Run.evaluate(checkpoint: dir.file("last.safetensors"), registry: .builtin)
        #expect(evaluated.accuracy == accuracy)
    }

    @Test func pluginBatchNormMatchesTheBuiltinInBothModes() throws {
        let registry = try registryWithVision()
        let plugin = try ModelSpec { LayerSpec("vision.batchnorm") }.build(inputShape: [3, 4, 4], dtype: .float64, registry: registry)
        let builtin = try ModelSpec { LayerSpec("batchnorm") }.build(inputShape: [3, 4, 4], dtype: .float64, registry: registry)
        var g = RandomGenerator(seed: 3)
        let x = Tensor.randomNormal([5, 3, 4, 4], dtype: .float64, using: &g) * 2 + 1
        var a = ForwardContext(mode: .training), b = ForwardContext(mode: .training)
        let y = try plugin(x, context: &a), z = try builtin(x, context: &b)
        #expect(relativeDifference(y, z) < 1e-12)
        for name in ["0.running_mean", "0.running_var"] {
            #expect(relativeDifference(try #require(a.bufferUpdates[name]), try #require(b.bufferUpdates[name])) < 1e-12, "\(name)")
        }
        // Gradients in training mode, then inference with the updated statistics.
        let r = Tensor.randomNormal([5, 3, 4, 4], dtype: .float64, using: &g)
        func gradient(_ model: any Layer) throws -> [Tensor] {
            let input = x.recorded()
            var context = ForwardContext(mode: .training)
            return try gradients(of: (try model(input, context: &context) * r).sum(), wrt: [input])
        }
        #expect(relativeDifference(try gradient(plugin)[0], try gradient(builtin)[0]) < 1e-12)
        let updatedPlugin = try plugin.replacing(a.bufferUpdates), updatedBuiltin = try builtin.replacing(b.bufferUpdates)
        var inference = ForwardContext(mode: .inference)
        #expect(relativeDifference(try updatedPlugin(x, context: &inference), try updatedBuiltin(x, context: &inference)) < 1e-12)
        #expect(updatedPlugin.buffers["0.running_mean"]?.doubles == a.bufferUpdates["0.running_mean"]?.doubles)
    }

    @Test func pluginDropoutDrawsPerExampleReplaysInBackwardAndIsTheIdentityInInference() throws {
        let registry = try registryWithVision()
        let model = try ModelSpec { LayerSpec("vision.dropout", [("rate", .number(0.4))]) }.build(inputShape: [50], dtype: .float64, registry: registry)
        var g = RandomGenerator(seed: 5)
        let x = Tensor.randomNormal([6, 50], dtype: .float64, using: &g)
        var whole = ForwardContext(mode: .training, random: RandomGenerator(seed: 9))
        let y = try model(x, context: &whole)
        let kept = y.doubles.filter { $0 != 0 }.count
        #expect(kept > 120 && kept < 240, "kept \(kept) of 300")
        // Split like two ranks of a data-parallel job: the same masks.
        let halves = try x.split(sizes: [3, 3], alongAxis: 0)
        var first = ForwardContext(mode: .training, random: RandomGenerator(seed: 9))
        var second = ForwardContext(mode: .training, random: RandomGenerator(seed: 9))
        second.exampleOffset = 3
        let joined = try Tensor.concatenating([try model(halves[0], context: &first), try model(halves[1], context: &second)], alongAxis: 0)
        #expect(joined.doubles == y.doubles)
        // The backward kernel redraws the forward's mask: d(sum(y * r))/dx = mask * r.
        let r = Tensor.randomNormal([6, 50], dtype: .float64, using: &g)
        let input = x.recorded()
        var context = ForwardContext(mode: .training, random: RandomGenerator(seed: 9))
        let grad = try gradients(of: (try model(input, context: &context) * r).sum(), wrt: [input])[0]
        let expected = zip(zip(y.doubles, x.doubles), r.doubles).map { pair, rv in pair.0 == 0 ? 0 : rv / 0.6 }
        #expect(zip(grad.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
        var inference = ForwardContext(mode: .inference)
        #expect(try model(x, context: &inference).doubles == x.doubles)
    }

    @Test func hessiansThroughBatchedPluginRulesEqualTheBuiltinLayers() throws {
        let registry = try registryWithVision()
        let plugin = try ModelSpec {
            LayerSpec("vision.dense", [("units", .number(4))])
            LayerSpec("tanh")
            LayerSpec("vision.dense", [("units", .number(3))])
        }.build(inputShape: [5], dtype: .float64, seed: 7, registry: registry)
        let builtin = try ModelSpec {
            dense(units: 4)
            LayerSpec("tanh")
            dense(units: 3)
        }.build(inputShape: [5], dtype: .float64, seed: 7, registry: registry)
        let weights = plugin.parameters
        let same = try builtin.replacing(weights)
        #expect(same.parameters.paths == weights.paths)
        var g = RandomGenerator(seed: 2)
        let x = Tensor.randomNormal([6, 5], dtype: .float64, using: &g)
        let labels = Tensor([0, 2, 1, 1, 0, 2].map(Double.init)).converted(to: .float64)
        func hessianOf(_ model: any Layer) throws -> Tensor {
            let flat = try Tensor.concatenating(model.parameters.tensors.map { try $0.reshaped(to: [$0.count]) }, alongAxis: 0)
            let shapes = model.parameters.tensors.map(\.shape)
            let paths = model.parameters.paths
            return try hessian(at: flat) { v in
                let pieces = try v.split(sizes: shapes.map { $0.reduce(1, *) }, alongAxis: 0)
                let named = NamedTensors(zip(paths, try zip(pieces, shapes).map { try $0.reshaped(to: $1) }))
                return try softmaxCrossEntropy(logits: try model.replacing(named)(x), labels: labels)
            }
        }
        let loaded = try PluginLoader.load(path: plugins().vision)
        let before = loaded.layerKernelCalls("vision.dense")
        let h = try hessianOf(plugin)
        let after = loaded.layerKernelCalls("vision.dense")
        // Forward-over-reverse with all 39 directions in one pass: one jvp and one backward_jvp
        // call per layer (two layers), not one per direction.
        #expect(after["jvp", default: 0] - before["jvp", default: 0] == 2, "\(before) -> \(after)")
        #expect(after["backward_jvp", default: 0] - before["backward_jvp", default: 0] == 2, "\(before) -> \(after)")
        let reference = try hessianOf(same)
        #expect(h.shape == [39, 39])
        #expect(relativeDifference(h, reference) < 1e-12, "\(relativeDifference(h, reference))")
    }

    @Test func net2WiderAndNet2DeeperGrowThroughPluginLayersPreservingTheFunction() throws {
        let registry = try registryWithVision()
        var g = RandomGenerator(seed: 4)
        // Vectors: the plugin dense layer widens, and the one after it reads the replicas.
        let vectors = try ModelSpec {
            LayerSpec("vision.dense", [("units", .number(4))])
            LayerSpec("relu")
            LayerSpec("vision.dense", [("units", .number(3))])
        }.build(inputShape: [5], dtype: .float64, seed: 1, registry: registry)
        let x = Tensor.randomNormal([8, 5], dtype: .float64, using: &g)
        var context = TransformContext(generator: RandomGenerator(seed: 1), probe: x, factory: BuiltinLayerFactory())
        let (wider, report) = try Net2WiderNet(layer: "0", units: 7).apply(to: vectors, context: &context)
        var inference = ForwardContext(mode: .inference)
        let before = try vectors(x, context: &inference), after = try wider(x, context: &inference)
        #expect(relativeDifference(after, before) <= 1e-10, "\(relativeDifference(after, before))")
        #expect(try #require(report.maxDeviation) <= 1e-10)
        #expect(wider.tensors["0.weight"]?.shape == [7, 5] && wider.tensors["2.weight"]?.shape == [3, 7])
        // The grown model's configuration names the new width and rebuilds with its tensors.
        let configuration = try #require(wider as? any ConfigurableLayer).layerConfiguration()
        #expect(configuration.description.contains("\"units\":7") || configuration.description.contains("\"units\": 7"), "\(configuration)")
        let (deeper, _) = try Net2DeeperNet(layer: "0").apply(to: wider, context: &context)
        #expect(deeper.tensors["2.weight"]?.shape == [7, 7])
        #expect(relativeDifference(try deeper(x, context: &inference), before) <= 1e-10)
        // Images: a widening of the pointwise layer passes through the plugin BatchNorm
        // (feature-wise, running statistics replicated) to the next pointwise layer.
        let images = try ModelSpec {
            LayerSpec("vision.pointwise", [("units", .number(4))])
            LayerSpec("vision.batchnorm")
            LayerSpec("relu")
            LayerSpec("vision.pointwise", [("units", .number(2))])
        }.build(inputShape: [3, 4, 4], dtype: .float64, seed: 2, registry: registry)
        let mean = Tensor.randomNormal([4], dtype: .float64, using: &g)
        let variance = Tensor.randomUniform([4], in: 0.5...2, dtype: .float64, using: &g)
        let trained = try images.replacing(["1.running_mean": mean, "1.running_var": variance])
        let xi = Tensor.randomNormal([3, 3, 4, 4], dtype: .float64, using: &g)
        var imageContext = TransformContext(generator: RandomGenerator(seed: 1), probe: xi, factory: BuiltinLayerFactory())
        let (grown, _) = try Net2WiderNet(layer: "0", units: 6).apply(to: trained, context: &imageContext)
        #expect(grown.tensors["1.running_mean"]?.shape == [6])
        #expect(relativeDifference(try grown(xi, context: &inference), try trained(xi, context: &inference)) <= 1e-10)
    }

    @Test func lambReadsTheParameterShapeAndItsStringHyperparameter() throws {
        let registry = try registryWithVision()
        func lamb(_ trust: String) throws -> any Optimizer {
            try registry.build(.optimizer, JSONValue.object([("name", "cxxopt.lamb"), ("learning_rate", .number(0.1)), ("trust", .string(trust))]), at: JSONPath()) { factory, args -> (any Optimizer)? in
                guard case .optimizer(let make) = factory else { return nil }
                return try make(args)
            }
        }
        let w = try Tensor(shape: [3, 4], scalars: (0..<12).map { Double($0) / 4 - 1.3 }, dtype: .float64)
        let objective = Quadratic(parameters: ["w": w])
        // Reference: one LAMB step from zero moments with gradient g = w (bias-corrected m = g,
        // v = g^2), direction d = g / (|g| + 1e-6) + 0.01 w, trust ratio per row.
        var p = objective.parameters
        var optimizer = try lamb("row")
        _ = try optimizer.step(&p, objective: objective)
        let values = w.doubles
        var expected = values
        for row in 0..<3 {
            let range = (row * 4)..<(row * 4 + 4)
            let d = range.map { values[$0] / (Swift.abs(values[$0]) + 1e-6) + 0.01 * values[$0] }
            let ratio = (range.map { values[$0] * values[$0] }.reduce(0, +)).squareRoot() / (d.map { $0 * $0 }.reduce(0, +)).squareRoot()
            for (k, i) in range.enumerated() { expected[i] = values[i] - 0.1 * ratio * d[k] }
        }
        #expect(zip(p["w"]!.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "\(p["w"]!.doubles) vs \(expected)")
        var q = objective.parameters
        var perTensor = try lamb("tensor")
        _ = try perTensor.step(&q, objective: objective)
        #expect(q["w"]!.doubles != p["w"]!.doubles)
        // A value outside the declared choices is refused with the choices named.
        #expect {
            _ = try lamb("columns")
        } throws: { error in
            "\(error)".contains("trust") && "\(error)".contains("row")
        }
    }

    @Test func callsIntoAPluginNotDeclaredThreadSafeNeverOverlap() async throws {
        var registry = Registry.builtin
        try registry.loadPlugin(at: plugins().variant("acme_overlap", ["ACME_DETECT_OVERLAP", "ACME_VERSION=\"1.2\""]))
        let model = try ModelSpec { LayerSpec("acme.relu") }.build(inputShape: [64], dtype: .float64, registry: registry)
        var g = RandomGenerator(seed: 1)
        let x = Tensor.randomNormal([8, 64], dtype: .float64, using: &g)
        // Four tasks at once; the kernel reports an error whenever another call is inside it.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<100 { _ = try model(x) }
                }
            }
            try await group.waitForAll()
        }
        #expect(try PluginLoader.load(path: plugins().vision).isThreadSafe)
        #expect(try !PluginLoader.load(path: plugins().acme).isThreadSafe)
    }
}

@Suite("saddle plugins check")
struct PluginCheckTests {
    func failures(_ path: String) throws -> [PluginCheckResult] {
        PluginChecker.check(try PluginLoader.load(path: path)).filter { !$0.passed }
    }

    @Test func theExamplePluginsPassEveryCheck() throws {
        let built = try plugins()
        for path in [built.acme, built.zoo, built.vision, built.cxxopt] {
            let results = PluginChecker.check(try PluginLoader.load(path: path))
            #expect(results.count >= 4)
            let failed = results.filter { !$0.passed }
            #expect(failed.isEmpty, "\(failed)")
        }
        // Every capability the checks cover was exercised by one of the examples.
        let all = try [built.acme, built.zoo, built.vision, built.cxxopt].flatMap { PluginChecker.check(try PluginLoader.load(path: $0)) }.map(\.check)
        for check in ["backward matches finite differences of forward (training)", "jvp agrees with backward (dot-product test)",
                      "a batched jvp call equals one call per direction", "backward_jvp matches finite differences of backward",
                      "training reports finite buffer updates", "random draws follow the seed",
                      "widening preserves the function (Net2Wider through two of these layers)", "replicating features replicates outputs",
                      "state round-trips through a checkpoint", "second_derivative matches finite differences of derivative"] {
            #expect(all.contains(check), "\(check)")
        }
    }

    @Test func aWrongDerivativeIsCaught() throws {
        let bad = try failures(plugins().variant("acme_wrong_derivative", ["ACME_WRONG_DERIVATIVE", "ACME_VERSION=\"1.3\""]))
        #expect(bad.contains { $0.component == "acme.swish" && $0.check == "derivative matches finite differences of forward" }, "\(bad)")
    }

    @Test func aWrongTangentRuleIsCaught() throws {
        let bad = try failures(plugins().variant("acme_wrong_tangent", ["ACME_WRONG_TANGENT", "ACME_VERSION=\"1.4\""]))
        #expect(bad.map(\.check) == ["jvp agrees with backward (dot-product test)"], "\(bad)")
    }

    @Test func anUnwrittenOutputIsCaught() throws {
        let bad = try failures(plugins().variant("acme_unwritten", ["ACME_UNWRITTEN", "ACME_VERSION=\"1.5\""]))
        #expect(bad.contains { $0.check == "forward writes exactly its output" && $0.detail.contains("left 1 of 15 elements of y unwritten") }, "\(bad)")
    }

    @Test func aShapeLieIsCaughtWithoutCorruptingMemory() throws {
        let path = try PluginBuilds.vision(["VISION_SHAPE_LIE"], in: plugins().directory, name: "libvision_lie.so")
        let bad = try failures(path)
        #expect(bad.contains { $0.component == "vision.dense" && $0.detail.contains("past the end of y") }, "\(bad)")
        // The command prints one line per check and fails; the honest library passes.
        let result = try SaddleCommandLine.run(["plugins", "check", path])
        #expect(result.status == 1 && !result.signaled, "\(result)")
        #expect(result.standardOutput.contains("FAIL vision.dense  forward writes exactly its output"), "\(result)")
        let honest = try SaddleCommandLine.run(["plugins", "check", plugins().vision])
        #expect(honest.status == 0, "\(honest)")
        #expect(honest.standardOutput.contains("checks passed") && !honest.standardOutput.contains("FAIL"))
    }

    @Test func inspectShowsTheDeclaredCapabilities() throws {
        let result = try SaddleCommandLine.run(["plugins", "inspect", plugins().vision])
        #expect(result.status == 0, "\(result)")
        for text in ["plugin ABI 1.1", "declared thread-safe", "inputs: any rank up to 8 per example, example [3, 4, 5]",
                     "buffers: running_mean (starts at 0.0), running_var (starts at 1.0), updated in training",
                     "random streams: yes", "batched tangents", "growth: output units (hyperparameter units)", "growth: feature-wise"] {
            #expect(result.standardOutput.contains(text), "\(text)\n\(result.standardOutput)")
        }
    }
}
