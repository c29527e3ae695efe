import SaddleCore

/// Transforms walk and rebuild models through these: a `Sequential` names its children by
/// index, a `Residual` its single branch "branch".
extension Sequential: LayerContainer {
    public var children: [(name: String, layer: any Layer)] { layers.enumerated().map { (String($0.offset), $0.element) } }
    public var isSequence: Bool { true }
    public func replacingChildren(_ layers: [any Layer]) -> Sequential { Sequential(layers) }
}

extension Residual: LayerContainer {
    public var children: [(name: String, layer: any Layer)] { [("branch", branch)] }
    public var isSequence: Bool { false }

    public func replacingChildren(_ layers: [any Layer]) throws -> Residual {
        guard layers.count == 1 else {
            throw ModelError.invalidConfiguration(layer: "residual", reason: "a residual block has exactly one branch, got \(layers.count)")
        }
        return Residual(layers[0])
    }
}
