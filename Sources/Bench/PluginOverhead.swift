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
