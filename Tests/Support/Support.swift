import Saddle

/// Shared helpers for Saddle's test targets.
public enum TestSupport {
    /// The largest |a - b| over two equal-length arrays; infinity when the lengths differ, so
    /// that a missing or extra value fails any tolerance.
    public static func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
    }
}
