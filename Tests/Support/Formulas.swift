import Foundation
import Saddle

/// The value formulas of scripts/pytorch_golden.py, so tests rebuild its inputs exactly.
public enum Formula {
    /// [s sin(a j + c) for j < n].
    public static func seq(_ n: Int, _ a: Double, _ c: Double, _ s: Double) -> [Double] {
        (0..<n).map { s * Foundation.sin(a * Double($0) + c) }
    }

    /// [cos(a j) for j < n].
    public static func cosines(_ n: Int, _ a: Double) -> [Double] {
        (0..<n).map { Foundation.cos(a * Double($0)) }
    }

    /// A Float64 tensor of `shape` from `values`.
    public static func tensor(_ values: [Double], _ shape: [Int]) -> Tensor {
        // The formulas always produce shape.reduce(1, *) values.
        (try? Tensor(shape: shape, scalars: values)) ?? Tensor.zeros(shape, dtype: .float64)
    }
}

extension TestSupport {
    /// Whether `a` and `b` agree to `tolerance` relative to max(1, |b|) everywhere.
    public static func close(_ a: [Double], _ b: [Double], tolerance: Double) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) <= tolerance * Swift.max(1, Swift.abs($1)) }
    }
}
