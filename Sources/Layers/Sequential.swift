import SaddleCore

/// Layers applied one after another. Child `i`'s tensors appear under `i.` (`0.weight`).
public struct Sequential: Layer {
    public var layers: [any Layer]

    public init(_ layers: [any Layer]) {
        self.layers = layers
    }

    public init(@LayerBuilder _ build: () throws -> [any Layer]) rethrows {
        self.layers = try build()
    }

    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        var x = input
        for (i, layer) in layers.enumerated() {
            x = try context.scoped(String(i)) { try layer(x, context: &$0) }
        }
        return x
    }

    public var parameters: NamedTensors {
        layers.enumerated().reduce(into: NamedTensors()) { $0 = $0.merging($1.element.parameters.prefixed(by: String($1.offset))) }
    }

    public var buffers: NamedTensors {
        layers.enumerated().reduce(into: NamedTensors()) { $0 = $0.merging($1.element.buffers.prefixed(by: String($1.offset))) }
    }

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
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    public static func buildExpression(_ layers: [any Layer]) -> [any Layer] { layers }
    public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
    public static func buildEither(first: [any Layer]) -> [any Layer] { first }
    public static func buildEither(second: [any Layer]) -> [any Layer] { second }
    public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
}
