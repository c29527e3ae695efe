import SaddleCore

/// Why a transform does not apply.
public enum TransformError: Error, Equatable, CustomStringConvertible {
    /// No layer has this path.
    case unknownLayer(path: String, available: [String])
    /// The layer lacks a capability the transform needs.
    case unsupported(path: String, layer: String, reason: String)
    /// The layer's successor cannot take part.
    case successor(path: String, reason: String)
    /// The requested width is not larger than the current one.
    case notWider(path: String, current: Int, requested: Int)
    /// Inserting after this activation would change the function.
    case notFunctionPreserving(path: String, activation: String, reason: String)
    /// A probe batch or layer factory is needed.
    case missingInput(transform: String, reason: String)

    /// A sentence naming the layer path (or the transform) and why the transform does not apply.
    public var description: String {
        switch self {
        case let .unknownLayer(path, available):
            return "no layer at path \"\(path)\"; layers are \(available.joined(separator: ", "))"
        case let .unsupported(path, layer, reason):
            return "layer \(path) (\(layer)) \(reason)"
        case let .successor(path, reason):
            return "cannot widen layer \(path): \(reason)"
        case let .notWider(path, current, requested):
            return "layer \(path) has \(current) units; the target width \(requested) must be larger"
        case let .notFunctionPreserving(path, activation, reason):
            return "inserting a layer after \(path) followed by \(activation) would change the function (\(reason)); set force to insert it anyway"
        case let .missingInput(transform, reason):
            return "\(transform): \(reason)"
        }
    }
}
