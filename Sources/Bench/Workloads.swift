import Foundation
import Saddle

/// Median and best seconds per call over `repeats` blocks of `steps` calls, after `warmup` calls.
func time(steps: Int, repeats: Int, warmup: Int = 3, _ body: () throws -> Void) rethrows -> (median: Double, best: Double) {
    for _ in 0..<warmup { try body() }
    var samples: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { try body() }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps))
    }
    samples.sort()
    return (samples[samples.count / 2], samples[0])
}

func mlp(_ sizes: [Int], using generator: inout RandomGenerator) throws -> Sequential {
    var layers: [any Layer] = []
    for i in 0..<(sizes.count - 1) {
        layers.append(try Dense(inputSize: sizes[i], units: sizes[i + 1], using: &generator))
        if i < sizes.count - 2 { layers.append(ReLU()) }
    }
    return Sequential(layers)
}

func classificationBatch(_ batch: Int, features: Int, classes: Int, using generator: inout RandomGenerator) -> (Tensor, Tensor) {
    let x = Tensor.randomNormal([batch, features], using: &generator)
    let labels = (0..<batch).map { _ in Float(generator.next() % UInt64(classes)) }
    return (x, Tensor(labels))
}

func trainStepMilliseconds(_ sizes: [Int], batch: Int, steps: Int, repeats: Int) throws -> (ms: Double, parameters: Int) {
    var generator = RandomGenerator(seed: 0)
    let model = try mlp(sizes, using: &generator)
    let (x, y) = classificationBatch(batch, features: sizes[0], classes: sizes.last ?? 1, using: &generator)
    var parameters = model.parameters
    var optimizer = try SGD(learningRate: 0.01, momentum: 0.9)
    let loss = SoftmaxCrossEntropy()
    let result = try time(steps: steps, repeats: repeats) {
        let objective = SupervisedObjective(model: model, loss: loss, input: x, target: y)
        _ = try optimizer.step(&parameters, objective: objective)
    }
    return (result.median * 1e3, model.parameterCount)
}

func batchNormMLP(_ sizes: [Int], using generator: inout RandomGenerator) throws -> Sequential {
    var layers: [any Layer] = []
    for i in 0..<(sizes.count - 1) {
        layers.append(try Dense(inputSize: sizes[i], units: sizes[i + 1], using: &generator))
        if i < sizes.count - 2 {
            layers.append(try BatchNorm(featureCount: sizes[i + 1]))
            layers.append(ReLU())
        }
    }
    return Sequential(layers)
}

/// Milliseconds per training step (forward, backward, SGD momentum update) of `model`.
func stepMilliseconds(_ model: any Layer, input: Tensor, labels: Tensor, steps: Int, repeats: Int) throws -> Double {
    var parameters = model.parameters
    var current = model
    var optimizer = try SGD(learningRate: 0.01, momentum: 0.9)
    let loss = SoftmaxCrossEntropy()
    let result = try time(steps: steps, repeats: repeats) {
        let objective = SupervisedObjective(model: current, loss: loss, input: input, target: labels)
        let report = try optimizer.step(&parameters, objective: objective)
        if !report.state.isEmpty { current = try current.replacing(report.state) }
    }
    return result.median * 1e3
}

func batchNormStepMilliseconds(_ sizes: [Int], batch: Int, steps: Int, repeats: Int) throws -> (ms: Double, parameters: Int) {
    var generator = RandomGenerator(seed: 0)
    let model = try batchNormMLP(sizes, using: &generator)
    let (x, y) = classificationBatch(batch, features: sizes[0], classes: sizes.last ?? 1, using: &generator)
    return (try stepMilliseconds(model, input: x, labels: y, steps: steps, repeats: repeats), model.parameterCount)
}

/// LSTM input 8, hidden 128, 8 steps, batch 128, a Dense head on the last hidden state.
func lstmStepMilliseconds(steps: Int, repeats: Int) throws -> (ms: Double, parameters: Int) {
    var generator = RandomGenerator(seed: 0)
    let model = try Sequential {
        try LSTM(inputSize: 8, hiddenSize: 128, using: &generator)
        try Dense(inputSize: 128, units: 10, using: &generator)
    }
    let x = Tensor.randomNormal([128, 8, 8], using: &generator)
    let labels = Tensor((0..<128).map { _ in Float(generator.next() % 10) })
    return (try stepMilliseconds(model, input: x, labels: labels, steps: steps, repeats: repeats), model.parameterCount)
}

/// Two stacked LSTM layers, input 28, hidden 256, over 28 steps (an image's rows), batch 128, a
/// Dense head on the last output (torch_bench.py's `c2_lstm2_i28_h256_t28_b128`).
func stackedLSTMStepMilliseconds(steps: Int, repeats: Int) throws -> (ms: Double, parameters: Int) {
    var generator = RandomGenerator(seed: 0)
    let model = try Sequential {
        try LSTM(inputSize: 28, hiddenSize: 256, returnsSequence: true, using: &generator)
        try LSTM(inputSize: 256, hiddenSize: 256, using: &generator)
        try Dense(inputSize: 256, units: 10, using: &generator)
    }
    let x = Tensor.randomNormal([128, 28, 28], using: &generator)
    let labels = Tensor((0..<128).map { _ in Float(generator.next() % 10) })
    return (try stepMilliseconds(model, input: x, labels: labels, steps: steps, repeats: repeats), model.parameterCount)
}

/// Lanczos for the 10 largest and 10 smallest Hessian eigenvalues of the 64-256-256-10 MLP's
/// loss on one batch of 128 (Float64): time, steps and the estimates.
func lanczosReport() throws -> [(String, Any)] {
    var generator = RandomGenerator(seed: 2)
    let model = try mlp([64, 256, 256, 10], using: &generator)
    let (x, y) = classificationBatch(128, features: 64, classes: 10, using: &generator)
    let objective = SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: x, target: y)
    let curvature = try Curvature(objective)
    let theta = try curvature.flatPoint()
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try Lanczos.extremeEigenvalues(dimension: curvature.dimension, count: 10, maximumSteps: 300, tolerance: 1e-6) {
        try curvature.hessianVectorProduct($0, at: theta)
    }
    let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    return [
        ("lanczos_mlp_64_256_256_10_b128_10_extremes_ms", milliseconds), ("lanczos_steps", result.steps),
        ("lanczos_converged", result.converged ? "yes" : "no"), ("lanczos_parameters", curvature.dimension),
        ("lanczos_largest", result.largest.map { String(format: "%.6g", $0) }.joined(separator: " ")),
        ("lanczos_smallest", result.smallest.map { String(format: "%.6g", $0) }.joined(separator: " ")),
    ]
}

/// Median milliseconds of one Hessian-vector product (along a direction drawn from
/// `generator`) and one gradient of the cross-entropy of `model` on (`input`, `labels`), each
/// under its key when wanted.
func curvatureResults(
    _ model: any Layer, input: Tensor, labels: Tensor, keys: (hvp: String, gradient: String, parameters: String), steps: Int, repeats: Int,
    wanted: (String) -> Bool, using generator: inout RandomGenerator
) throws -> [(String, Any)] {
    let objective = SupervisedObjective(model: model, loss: SoftmaxCrossEntropy(), input: input, target: labels)
    let parameters = model.parameters
    let direction = parameters.mapTensors { Tensor.randomNormal($0.shape, using: &generator) }
    var results: [(String, Any)] = []
    if wanted(keys.hvp) {
        let t = try time(steps: steps, repeats: repeats) { _ = try objective.hessianVectorProduct(at: parameters, along: direction) }
        results.append((keys.hvp, t.median * 1e3))
    }
    if wanted(keys.gradient) {
        let t = try time(steps: steps, repeats: repeats) { _ = try objective.valueAndGradient(at: parameters) }
        results.append((keys.gradient, t.median * 1e3))
    }
    results.append((keys.parameters, model.parameterCount))
    return results
}

/// Microseconds of element-wise work (ReLU, and a product of two tensors) on one thread and on
/// `threads`, at sizes 2^12 ... 2^21 elements (`--only elementwise_split`): where splitting
/// over the cores starts to pay, the measurement behind `Parallel.minimumElementwise`.
func elementwiseSplitReport(threads: Int, repeats: Int) throws -> [(String, Any)] {
    var generator = RandomGenerator(seed: 4)
    var results: [(String, Any)] = []
    defer { try? ComputeThreads.setCount(threads) }
    for power in 12...21 {
        let n = 1 << power
        let (x, y) = (Tensor.randomNormal([n], using: &generator), Tensor.randomNormal([n], using: &generator))
        let steps = Swift.max(5, (1 << 24) / n)
        for count in [1, threads] {
            try ComputeThreads.setCount(count)
            let relu = try time(steps: steps, repeats: repeats) { _ = SaddleCore.relu(x) }
            let product = try time(steps: steps, repeats: repeats) { _ = try x * y }
            results.append(("split_relu_2^\(power)_t\(count)_us", relu.median * 1e6))
            results.append(("split_mul_2^\(power)_t\(count)_us", product.median * 1e6))
        }
    }
    return results
}

/// One thread against `threads` for the kernels split from `Parallel.minimumElements` (max
/// pooling over planes, and a 3x3 convolution whose lowering is chunked over images), at input
/// sizes 2^12 ... 2^20 elements (`--only kernel_split`; run with SADDLE_KERNEL_SPLIT_MINIMUM=0 so
/// that every size splits): where splitting starts to pay on this machine.
func kernelSplitReport(threads: Int, repeats: Int) throws -> [(String, Any)] {
    var generator = RandomGenerator(seed: 6)
    var results: [(String, Any)] = []
    defer { try? ComputeThreads.setCount(threads) }
    let options = Convolution2DOptions(padding: Padding2D(1))
    let weight = Tensor.randomNormal([8, 8, 3, 3], using: &generator)
    for power in 12...20 {
        // [n, 8, 16, 16]: 2^11 elements per image.
        let images = Swift.max(1, (1 << power) / 2048)
        let x = Tensor.randomNormal([images, 8, 16, 16], using: &generator)
        let steps = Swift.max(3, (1 << 22) / (images * 2048))
        for count in [1, threads] {
            try ComputeThreads.setCount(count)
            let pool = try time(steps: steps, repeats: repeats) { _ = try maxPool2d(x, window: Window2D(kernel: 2, stride: 2)) }
            let conv = try time(steps: Swift.max(1, steps / 8), repeats: repeats) { _ = try conv2d(x, weight: weight, options: options) }
            results.append(("split_maxpool_2^\(power)_t\(count)_us", pool.median * 1e6))
            results.append(("split_conv3x3_2^\(power)_t\(count)_us", conv.median * 1e6))
        }
    }
    return results
}
