import SaddleCore

/// Transforms walk and rebuild models through these: a `Sequential` names its children by
/// index, a `Residual` its single branch "branch".
extension Sequential: LayerContainer {
    /// The layers, named by their index (`0`, `1`, ...).
    public var children: [(name: String, layer: any Layer)] { layers.enumerated().map { (String($0.offset), $0.element) } }
    /// True: layers can be inserted and removed.
    public var isSequence: Bool { true }
    /// A `Sequential` of `layers`, however many.
    public func replacingChildren(_ layers: [any Layer]) -> Sequential { Sequential(layers) }
}

extension Residual: LayerContainer {
    /// The single branch, named `branch`.
    public var children: [(name: String, layer: any Layer)] { [("branch", branch)] }
    /// False: the branch can only be replaced.
    public var isSequence: Bool { false }

    /// A residual block around `layers[0]`.
    /// - Throws: `ModelError.invalidConfiguration` unless exactly one layer is given.
    public func replacingChildren(_ layers: [any Layer]) throws -> Residual {
        guard layers.count == 1 else {
            throw ModelError.invalidConfiguration(layer: "residual", reason: "a residual block has exactly one branch, got \(layers.count)")
        }
        return Residual(layers[0])
    }
}
