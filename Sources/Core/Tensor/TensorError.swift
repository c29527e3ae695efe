/// Errors from tensor operations: wrong shapes, dtypes or arguments, named by operation.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// The operands of `op` have shapes that do not fit together.
    case shapeMismatch(op: String, shapes: [[Int]], reason: String)
    /// The operands of `op` have different element types.
    case dtypeMismatch(op: String, dtypes: [DType])
    /// An argument of `op` is out of range or otherwise invalid.
    case invalidArgument(op: String, reason: String)
    /// A BLAS or LAPACK routine reported failure.
    case linearAlgebra(routine: String, info: Int32, reason: String)

    /// A sentence naming the operation (or routine) and what went wrong.
    public var description: String {
        switch self {
        case let .shapeMismatch(op, shapes, reason):
            let list = shapes.map { "[\($0.map(String.init).joined(separator: ", "))]" }
            return "\(op): shapes \(list.joined(separator: " and ")) do not fit: \(reason)"
        case let .dtypeMismatch(op, dtypes):
            return "\(op): operands have different dtypes \(dtypes.map(\.rawValue).joined(separator: " and ")); convert one with converted(to:)"
        case let .invalidArgument(op, reason):
            return "\(op): \(reason)"
        case let .linearAlgebra(routine, info, reason):
            return "\(routine) failed (info \(info)): \(reason)"
        }
    }
}

/// Formats a shape the way error messages print it: `[2, 3]`.
func describe(shape: [Int]) -> String {
    "[\(shape.map(String.init).joined(separator: ", "))]"
}
