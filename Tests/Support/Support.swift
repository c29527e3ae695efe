import Saddle

/// Shared helpers for Saddle's test targets.
public enum TestSupport {
    /// The largest |a - b| over two equal-length arrays.
    public static func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
    }
}
