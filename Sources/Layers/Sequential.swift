import SaddleCore

/// Layers applied one after another. Child `i`'s tensors appear under `i.` (`0.weight`).
public struct Sequential: Layer {
    /// The layers, applied in order.
    public var layers: [any Layer]

    /// A model applying `layers` in order.
    public init(_ layers: [any Layer]) {
        self.layers = layers
    }

    /// A model applying the built layers in order.
    public init(@LayerBuilder _ build: () throws -> [any Layer]) rethrows {
        self.layers = try build()
    }

    /// Applies the layers in order, each under its index in buffer paths.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        var x = input
        for (i, layer) in layers.enumerated() {
            x = try context.scoped(String(i)) { try layer(x, context: &$0) }
        }
        return x
    }

    /// Every layer's trainable tensors, under its index (`0.weight`).
    public var parameters: NamedTensors {
        layers.enumerated().reduce(into: NamedTensors()) { $0 = $0.merging($1.element.parameters.prefixed(by: String($1.offset))) }
    }

    /// Every layer's buffers, under its index (`1.running_mean`).
    public var buffers: NamedTensors {
        layers.enumerated().reduce(into: NamedTensors()) { $0 = $0.merging($1.element.buffers.prefixed(by: String($1.offset))) }
    }

    /// A copy whose layer `i` has the tensors under `i.` replaced (layers with none given are kept as they are).
    public func replacing(_ tensors: NamedTensors) throws -> Sequential {
        var copy = self
        for (i, layer) in layers.enumerated() {
            let scoped = tensors.scoped(to: String(i))
            if !scoped.isEmpty {
                copy.layers[i] = try layer.replacing(scoped)
            }
        }
        return copy
    }
}

/// Builds a list of layers from statements, so models written in Swift read like their JSON.
@resultBuilder
public enum LayerBuilder {
    /// One layer, as a list of one.
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    /// A list of layers, spliced in as it is.
    public static func buildExpression(_ layers: [any Layer]) -> [any Layer] { layers }
    /// The statements' layers, concatenated in order.
    public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
    /// The layers of an `if` without `else`, or none when its condition is false.
    public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
    /// The layers of an `if`'s first branch.
    public static func buildEither(first: [any Layer]) -> [any Layer] { first }
    /// The layers of an `if`'s other (`else`) branch.
    public static func buildEither(second: [any Layer]) -> [any Layer] { second }
    /// A `for` loop's layers, concatenated in order.
    public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
}
