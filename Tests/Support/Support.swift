import Saddle

/// Shared helpers for Saddle's test targets.
public enum TestSupport {
    /// The largest |a - b| over two equal-length arrays; infinity when the lengths differ, so
    /// that a missing or extra value fails any tolerance.
    public static func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        return maximumPropagatingNaN(zip(a, b).map { Swift.abs($0 - $1) })
    }

    /// The largest value, or NaN when any value is NaN (`Array.max()` returns a NaN only when
    /// it comes first), or 0 for none.
    public static func maximumPropagatingNaN(_ values: [Double]) -> Double {
        var largest = 0.0
        for value in values {
            if value.isNaN { return .nan }
            largest = Swift.max(largest, value)
        }
        return largest
    }
}
