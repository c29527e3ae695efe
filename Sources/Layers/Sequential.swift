import SaddleCore

/// Layers applied one after another. Child `i`'s tensors appear under its name: its index
/// (`0.weight`) by default, or the name it was given (`head.weight`), as PyTorch names the
/// submodules of a module.
public struct Sequential: Layer {
    /// The layers, applied in order.
    public private(set) var layers: [any Layer]
    /// The children's names, or nil when they are numbered 0, 1, 2, ...
    public private(set) var names: [String]?

    /// A model applying `layers` in order, numbered 0, 1, 2, ...
    public init(_ layers: [any Layer]) {
        self.layers = layers
    }

    /// A model applying the built layers in order, numbered 0, 1, 2, ...
    public init(@LayerBuilder _ build: () throws -> [any Layer]) rethrows {
        self.layers = try build()
    }

    /// A model applying `children` in order, each under its name (`[("lstm", ...), ("head",
    /// ...)]` gives the paths `lstm.weight_ih` and `head.weight`).
    /// - Throws: `ModelError.invalidConfiguration` for an empty name, one with a dot, or a
    ///   name given twice.
    public init(named children: [(String, any Layer)]) throws {
        var seen = Set<String>()
        for (name, _) in children {
            guard !name.isEmpty, !name.contains("."), seen.insert(name).inserted else {
                throw ModelError.invalidConfiguration(
                    layer: "sequential", reason: "child name \"\(name)\" is empty, contains a dot or is given twice")
            }
        }
        layers = children.map(\.1)
        names = children.map(\.0)
    }

    /// The path component of child `index`: its name, or its index.
    public func name(at index: Int) -> String {
        if let names, index < names.count { return names[index] }
        return String(index)
    }

    /// Applies the layers in order, each under its name in buffer paths.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        var x = input
        for (i, layer) in layers.enumerated() {
            x = try context.scoped(name(at: i)) { try layer(x, context: &$0) }
        }
        return x
    }

    /// Every layer's trainable tensors, under its name (`0.weight`, `head.weight`).
    public var parameters: NamedTensors {
        layers.enumerated().reduce(into: NamedTensors()) { $0 = $0.merging($1.element.parameters.prefixed(by: name(at: $1.offset))) }
    }

    /// Every layer's buffers, under its name (`1.running_mean`, `bn1.running_mean`).
    public var buffers: NamedTensors {
        layers.enumerated().reduce(into: NamedTensors()) { $0 = $0.merging($1.element.buffers.prefixed(by: name(at: $1.offset))) }
    }

    /// A copy whose layer `i` has the tensors under its name replaced (layers with none given
    /// are kept as they are).
    public func replacing(_ tensors: NamedTensors) throws -> Sequential {
        var copy = self
        for (i, layer) in layers.enumerated() {
            let scoped = tensors.scoped(to: name(at: i))
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
