/// The element type of a tensor, chosen at run time.
///
/// Models train in `float32` for speed; curvature analyses run in `float64` on a converted copy.
public enum DType: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// 32-bit IEEE floating point (`Float`): the default for training.
    case float32
    /// 64-bit IEEE floating point (`Double`): for curvature analyses and gradient checks.
    case float64

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float32: MemoryLayout<Float>.stride
        case .float64: MemoryLayout<Double>.stride
        }
    }

    /// The raw name: "float32" or "float64".
    public var description: String { rawValue }
}

/// The Swift scalar types a tensor can hold: `Float` and `Double`.
public protocol TensorScalar: BinaryFloatingPoint, Sendable {
    /// The run-time tag of this scalar type.
    static var dtype: DType { get }
}

extension Float: TensorScalar {
    /// The run-time tag of `Float`: `.float32`.
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    /// The run-time tag of `Double`: `.float64`.
    public static var dtype: DType { .float64 }
}
