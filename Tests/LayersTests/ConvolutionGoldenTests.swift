import Foundation
import Saddle
import SaddleTestSupport
import Testing

/// PyTorch conv nets (scripts/pytorch_conv_golden.py, float64) rebuilt from run-file layers,
/// loaded from their state dicts, and compared in logits, loss, gradients, running statistics
/// and inference-mode logits.
@Suite("Conv nets agree with PyTorch")
struct ConvolutionGoldenTests {
    static let convSmall = """
        [{"layer": "conv2d", "filters": 4, "kernel": 3, "padding": 1}, {"layer": "relu"}, {"layer": "max_pool2d", "kernel": 2},
         {"layer": "conv2d", "filters": 6, "kernel": 3, "padding": 2, "dilation": 2, "groups": 2}, {"layer": "batchnorm"}, {"layer": "tanh"},
         {"layer": "avg_pool2d", "kernel": 2}, {"layer": "conv2d", "filters": 6, "kernel": [2, 4], "padding": "same", "use_bias": false},
         {"layer": "conv2d", "filters": 8, "kernel": 3, "stride": 2, "padding": 1}, {"layer": "flatten"}, {"layer": "dense", "units": 3}]
        """

    /// The resnet8 of torch_bench.py: each block a residual with named branch layers, a
    /// projection shortcut where the shape changes, and a ReLU after the sum.
    static func block(_ filters: Int, stride: Int) -> String {
        let shortcut = stride == 1 ? "" : """
            , "shortcut": [{"layer": "conv2d", "filters": \(filters), "kernel": 1, "stride": \(stride), "use_bias": false}, {"layer": "batchnorm"}]
            """
        return """
            {"layer": "residual", "activation": "relu", "layers": [
              {"name": "c1", "layer": "conv2d", "filters": \(filters), "kernel": 3, "stride": \(stride), "padding": 1, "use_bias": false},
              {"name": "b1", "layer": "batchnorm"}, {"name": "relu", "layer": "relu"},
              {"name": "c2", "layer": "conv2d", "filters": \(filters), "kernel": 3, "padding": 1, "use_bias": false},
              {"name": "b2", "layer": "batchnorm"}]\(shortcut)}
            """
    }

    static let resnet8 = """
        [{"layer": "conv2d", "filters": 16, "kernel": 3, "padding": 1, "use_bias": false}, {"layer": "batchnorm"}, {"layer": "relu"},
         \(block(16, stride: 1)), \(block(32, stride: 2)), \(block(64, stride: 2)),
         {"layer": "global_avg_pool"}, {"layer": "flatten"}, {"layer": "dense", "units": 10}]
        """

    /// PyTorch's block attributes `3.c1` and `4.short.0` are Saddle's `3.branch.c1` and `4.shortcut.0`.
    static let resnetRenaming: [(from: String, to: String)] = ["3", "4", "5"].flatMap { [("\($0).short", "\($0).shortcut"), ($0, "\($0).branch")] }

    func build(_ layers: String, inputShape: [Int]) throws -> Sequential {
        var context = LayerBuildContext(registry: .builtin, dtype: .float64, generator: RandomGenerator(seed: 3), inputShape: inputShape)
        return try context.buildSequence(JSONParser.parse(Array(layers.utf8)), at: JSONPath().appending("model"))
    }

    func close(_ actual: Tensor, _ expected: Tensor, _ what: String, tolerance: Double = 1e-12) {
        #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape) vs \(expected.shape)")
        // Tensors that are zero in exact arithmetic (the gradient of a bias before BatchNorm)
        // are judged against a floor of 1e-3.
        let scale = max(expected.doubles.map(Swift.abs).max() ?? 0, 1e-3)
        let difference = TestSupport.maxAbsDifference(actual.doubles, expected.doubles)
        #expect(difference <= tolerance * scale, "\(what): max difference \(difference) at scale \(scale)")
    }

    func check(fixture name: String, layers: String, inputShape: [Int], renaming: [(from: String, to: String)] = []) throws {
        let file = try Checkpoint.read(from: Executables.fixtures.appendingPathComponent("\(name).safetensors"))
        let all = file.tensors
        var stateDict = NamedTensors()
        for (path, tensor) in all where !["input", "labels", "logits", "loss", "eval_logits"].contains(path) && !path.hasPrefix("grad.") && !path.hasPrefix("after.") {
            stateDict[path] = tensor
        }
        let model = try build(layers, inputShape: inputShape).loading(stateDict.renamingPrefixes(renaming))
        #expect(model.tensors.count == stateDict.count)
        let (input, labels) = (try #require(all["input"]), try #require(all["labels"]))

        // Training mode: batch statistics, the loss and every parameter's gradient.
        let parameters = model.parameters.recorded()
        var context = ForwardContext(mode: .training)
        let logits = try model.replacing(parameters)(input, context: &context)
        close(logits, try #require(all["logits"]), "\(name) training logits")
        let loss = try softmaxCrossEntropy(logits: logits, labels: labels)
        close(try loss.reshaped(to: [1]), try #require(all["loss"]), "\(name) loss")
        let grads = try gradients(of: loss, wrt: parameters.tensors)
        let torchPaths = try stateDict.renamingPrefixes(renaming).paths
        for (path, grad) in zip(parameters.paths, grads) {
            let torchPath = stateDict.paths[try #require(torchPaths.firstIndex(of: path))]
            close(grad, try #require(all["grad." + torchPath], "no gradient for \(torchPath)"), "\(name) gradient of \(path)")
        }

        // Running statistics after that pass (PyTorch momentum, unbiased variance), then inference.
        let updated = try model.replacing(context.bufferUpdates)
        var checked = 0
        for (path, tensor) in updated.buffers {
            let torchPath = stateDict.paths[try #require(torchPaths.firstIndex(of: path))]
            close(tensor, try #require(all["after." + torchPath]), "\(name) \(path) after one step")
            checked += 1
        }
        #expect(checked > 0)
        let evaluation = try GradientRecording.withoutRecording { try updated(input) }
        close(evaluation, try #require(all["eval_logits"]), "\(name) inference logits")
    }

    @Test("a small conv net (stride, padding, dilation, groups, \"same\", pooling, BatchNorm2d) gives PyTorch's numbers to 1e-12")
    func smallConvNet() throws {
        try check(fixture: "conv_small", layers: Self.convSmall, inputShape: [1, 8, 8])
    }

    @Test("resnet8 (residual blocks with projection shortcuts) gives PyTorch's numbers to 1e-12")
    func resnet8() throws {
        try check(fixture: "resnet8", layers: Self.resnet8, inputShape: [1, 12, 12], renaming: Self.resnetRenaming)
    }

    @Test("a conv net's full Hessian agrees three ways: forward-over-reverse, Hessian-vector products, finite differences")
    func fullHessianThreeWays() throws {
        var g = RandomGenerator(seed: 4)
        let model = try Sequential {
            try Conv2D(inputChannels: 1, outputChannels: 2, kernel: 3, padding: .explicit(1), dtype: .float64, using: &g)
            Tanh()
            try AvgPool2D(kernel: 2)
            try Conv2D(inputChannels: 2, outputChannels: 2, kernel: 2, stride: 2, groups: 2, dtype: .float64, using: &g)
            Flatten()
            try Dense(inputSize: 2, units: 3, dtype: .float64, using: &g)
        }
        let input = Tensor.randomNormal([3, 1, 4, 4], dtype: .float64, using: &g)
        let labels = Tensor([0.0, 2, 1])
        let template = model.parameters
        let f = { (theta: Tensor) throws -> Tensor in
            let replaced = try model.replacing(template.unflattening(theta))
            return try softmaxCrossEntropy(logits: replaced(input), labels: labels)
        }
        let theta = try template.flattened()
        #expect(theta.count == 20 + 2 * 4 + 2 + 9)
        let forward = try hessian(at: theta, chunk: 8, of: f)
        let products = try hessianFromProducts(at: theta, of: f)
        let scale = products.doubles.map(Swift.abs).max() ?? 1
        #expect(TestSupport.maxAbsDifference(forward.doubles, products.doubles) <= 1e-12 * scale)
        // Central differences of the gradient, column by column.
        let n = theta.count
        let h = 1e-5
        var worst = 0.0
        for j in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[j] = h
            let step = Tensor(e)
            func gradient(_ point: Tensor) throws -> [Double] {
                let leaf = point.recorded()
                return try gradients(of: f(leaf), wrt: [leaf])[0].doubles
            }
            let plus = try gradient(theta + step), minus = try gradient(theta - step)
            let column = (0..<n).map { (plus[$0] - minus[$0]) / (2 * h) }
            let exact = (0..<n).map { products.doubles[$0 * n + j] }
            worst = max(worst, TestSupport.maxAbsDifference(column, exact))
        }
        #expect(worst <= 1e-7 * max(scale, 1), "finite differences differ by \(worst)")
    }
}

@Suite("Conv nets train")
struct ConvolutionTrainingTests {
    @Test("examples/digits_cnn.json (8x8 digit images) learns: held-out accuracy far above chance after 3 epochs")
    func digitsCNN() throws {
        let configuration = try RunConfiguration.read(Executables.examples.appendingPathComponent("digits_cnn.json"), registry: .builtin)
        var run = try Run(configuration)
        let history = try run.train()
        let accuracy = try #require(history.last?.validationAccuracy)
        #expect(history.allSatisfy { $0.trainingLoss.isFinite })
        #expect(accuracy >= 0.6, "held-out accuracy \(accuracy)")
    }
}

@Suite("Convolution scratch memory")
struct ConvolutionWorkspaceTests {
    @Test("a caller-owned workspace gives the same numbers, is reused, and stays bounded by the chunking at a large batch")
    func workspaceIsReusedAndBounded() throws {
        var g = RandomGenerator(seed: 9)
        let x = Tensor.randomNormal([600, 3, 12, 12], using: &g)
        let w = Tensor.randomNormal([8, 3, 3, 3], using: &g)
        let options = Convolution2DOptions(padding: Padding2D(1))
        let workspace = ConvolutionWorkspace()
        let plain = try conv2d(x, weight: w, options: options)
        let reused = try conv2d(x, weight: w, options: options, workspace: workspace)
        #expect(plain.floats == reused.floats)
        let held = workspace.heldBytes
        // The lowered input of 600 images would be 600 x 27 x 168 elements; a chunk holds at most 2^19, one chunk per thread.
        #expect(held > 0 && held <= ((1 << 19) + 8 * (1 << 19) / 27 + 3 * (1 << 19) / 27 + 1 << 16) * 4 * ComputeThreads.count, "held \(held) bytes")
        let grad = try conv2dInputGradient(reused, weight: w, inputShape: x.shape, options: options, workspace: workspace)
        #expect(grad.floats == (try conv2dInputGradient(plain, weight: w, inputShape: x.shape, options: options)).floats)
        #expect(workspace.heldBytes == held, "the same buffers serve the adjoint")
    }
}
