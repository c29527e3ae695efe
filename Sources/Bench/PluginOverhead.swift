import Foundation
import Saddle

/// Per-call cost of a plugin kernel beside the same built-in operation: relu on a 64x256
/// batch, forward alone and forward plus backward, in microseconds (median of blocks).
func pluginOverhead(plugin path: String, repeats: Int) throws -> [(String, Any)] {
    var registry = Registry.builtin
    try registry.loadPlugin(at: path)
    let pluginReLU = try ModelSpec { LayerSpec("acme.relu") }.build(inputShape: [256], registry: registry)
    let builtinReLU = ReLU()
    var generator = RandomGenerator(seed: 5)
    let x = Tensor.randomNormal([64, 256], using: &generator)
    let one = Tensor.randomNormal([1, 1], using: &generator)
    let pluginOne = try ModelSpec { LayerSpec("acme.relu") }.build(inputShape: [1], registry: registry)
    func forwardOne(_ layer: any Layer) throws -> Double {
        try time(steps: 5000, repeats: repeats) { _ = try layer(one) }.median * 1e6
    }
    func forward(_ layer: any Layer) throws -> Double {
        try time(steps: 2000, repeats: repeats) { _ = try layer(x) }.median * 1e6
    }
    func forwardBackward(_ layer: any Layer) throws -> Double {
        try time(steps: 1000, repeats: repeats) {
            let input = x.recorded()
            _ = try gradients(of: try layer(input).sum(), wrt: [input])
        }.median * 1e6
    }
    let results: [(String, Double)] = [
        ("plugin_relu_1x1_forward_us", try forwardOne(pluginOne)),
        ("builtin_relu_1x1_forward_us", try forwardOne(builtinReLU)),
        ("plugin_relu_64x256_forward_us", try forward(pluginReLU)),
        ("builtin_relu_64x256_forward_us", try forward(builtinReLU)),
        ("plugin_relu_64x256_forward_backward_us", try forwardBackward(pluginReLU)),
        ("builtin_relu_64x256_forward_backward_us", try forwardBackward(builtinReLU)),
    ]
    return results.map { ($0.0, $0.1 as Any) }
}

/// A plugin dense layer (the vision example, OpenBLAS inside the plugin) beside the built-in
/// `Dense` with the same weights, 64x256 -> 256: forward, forward plus backward (Float32, as
/// training runs), a Hessian-vector product through it (Float64, forward-over-reverse: one
/// tangent direction) and a full Hessian of a 8 -> 8 layer whose 72 directions travel in one
/// batched tangent call. Times in microseconds (median of blocks).
func visionOverhead(plugin path: String, repeats: Int) throws -> [(String, Any)] {
    var registry = Registry.builtin
    try registry.loadPlugin(at: path)
    func pair(inputs: Int, units: Int, dtype: DType) throws -> (plugin: any Layer, builtin: any Layer) {
        let plugin = try ModelSpec { LayerSpec("vision.dense", [("units", .number(Double(units)))]) }
            .build(inputShape: [inputs], dtype: dtype, seed: 3, registry: registry)
        let builtin = try ModelSpec { LayerSpec("dense", [("units", .number(Double(units)))]) }
            .build(inputShape: [inputs], dtype: dtype, seed: 3, registry: registry).replacing(plugin.parameters)
        return (plugin, builtin)
    }
    var generator = RandomGenerator(seed: 5)
    let (plugin32, builtin32) = try pair(inputs: 256, units: 256, dtype: .float32)
    let x32 = Tensor.randomNormal([64, 256], using: &generator)
    func forward(_ layer: any Layer) throws -> Double {
        try time(steps: 500, repeats: repeats) { _ = try layer(x32) }.median * 1e6
    }
    func forwardBackward(_ layer: any Layer) throws -> Double {
        try time(steps: 300, repeats: repeats) {
            let parameters = layer.parameters.recorded()
            _ = try gradients(of: try layer.replacing(parameters)(x32).squared().sum(), wrt: parameters.tensors)
        }.median * 1e6
    }
    let (plugin64, builtin64) = try pair(inputs: 256, units: 256, dtype: .float64)
    let x64 = Tensor.randomNormal([64, 256], dtype: .float64, using: &generator)
    func hvp(_ layer: any Layer) throws -> Double {
        let layout = layer.parameters
        let theta = try layout.flattened(dtype: .float64)
        let direction = Tensor.randomNormal(theta.shape, dtype: .float64, using: &generator)
        return try time(steps: 50, repeats: repeats) {
            _ = try hessianVectorProduct(at: [theta], along: [direction]) { t in
                tanh(try layer.replacing(try layout.unflattening(t[0]))(x64)).squared().sum()
            }
        }.median * 1e6
    }
    let (pluginSmall, builtinSmall) = try pair(inputs: 8, units: 8, dtype: .float64)
    let xs = Tensor.randomNormal([64, 8], dtype: .float64, using: &generator)
    func fullHessian(_ layer: any Layer) throws -> Double {
        let layout = layer.parameters
        let theta = try layout.flattened(dtype: .float64)
        return try time(steps: 20, repeats: repeats) {
            _ = try hessian(at: theta) { t in tanh(try layer.replacing(try layout.unflattening(t))(xs)).squared().sum() }
        }.median * 1e6
    }
    let results: [(String, Double)] = [
        ("plugin_dense_64x256_forward_us", try forward(plugin32)),
        ("builtin_dense_64x256_forward_us", try forward(builtin32)),
        ("plugin_dense_64x256_forward_backward_us", try forwardBackward(plugin32)),
        ("builtin_dense_64x256_forward_backward_us", try forwardBackward(builtin32)),
        ("plugin_dense_64x256_hvp_f64_us", try hvp(plugin64)),
        ("builtin_dense_64x256_hvp_f64_us", try hvp(builtin64)),
        ("plugin_dense_8x8_hessian_72_directions_us", try fullHessian(pluginSmall)),
        ("builtin_dense_8x8_hessian_72_directions_us", try fullHessian(builtinSmall)),
    ]
    return results.map { ($0.0, $0.1 as Any) }
}
