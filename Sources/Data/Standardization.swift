import SaddleCore

/// Feature standardization (x - mean) / std, fitted on training data and applied to any split.
public struct Standardization: Sendable {
    /// Either one mean per feature or a single mean (scalar form).
    public var mean: Tensor
    /// Either one (biased) standard deviation per feature or a single one, like `mean`; zero deviations are stored as 1.
    public var standardDeviation: Tensor

    /// Whether statistics are per feature or one scalar over all features.
    public enum Granularity: String, Sendable, Codable {
        /// One mean and standard deviation per feature.
    case perFeature = "per_feature"
        /// One mean and standard deviation over all features (for pixels).
    case scalar
    }

    /// Statistics of `dataset`'s features. Zero deviations (constant features) are replaced
    /// by 1 so that they map to 0.
    /// - Throws: `DataError.invalid` for an empty data set.
    public init(fittedTo dataset: Dataset, granularity: Granularity = .perFeature) throws {
        guard dataset.count > 0 else { throw DataError.invalid(file: dataset.name, reason: "cannot standardize an empty data set") }
        // Scalar statistics are per-feature statistics of the features laid out as one column.
        let x = try dataset.features.reshaped(to: granularity == .scalar ? [-1, 1] : [dataset.count, -1])
        let (m, variance) = try Standardization.meanAndVariance(of: x)
        mean = granularity == .scalar ? try m.reshaped(to: []) : m
        let deviation = try sqrt(variance).replacing(where: variance .> 0, with: Tensor(1.0, dtype: .float64))
        standardDeviation = granularity == .scalar ? try deviation.reshaped(to: []) : deviation
    }

    /// Column means and (biased) variances of `x` `[rows, columns]` in Float64, a block of rows
    /// at a time (combined as Chan, Golub and LeVeque 1979 describe), so that a large data set
    /// is never copied whole into Float64.
    static func meanAndVariance(of x: Tensor) throws -> (mean: Tensor, variance: Tensor) {
        let rows = x.shape[0], columns = x.shape[1]
        let block = Swift.max(1, (1 << 21) / Swift.max(columns, 1))
        var mean = Tensor.zeros([columns], dtype: .float64)
        var squares = Tensor.zeros([columns], dtype: .float64)
        var seen = 0
        for start in stride(from: 0, to: rows, by: block) {
            let chunk = try x.rows(start..<Swift.min(start + block, rows)).converted(to: .float64)
            let n = chunk.shape[0]
            let chunkMean = try chunk.mean(alongAxis: 0)
            let chunkSquares = try (chunk - chunkMean).squared().sum(alongAxis: 0)
            let delta = try chunkMean - mean
            let total = Double(seen + n)
            squares = try squares + chunkSquares + delta.squared() * (Double(seen) * Double(n) / total)
            mean = try mean + delta * (Double(n) / total)
            seen += n
        }
        return (mean, try squares / Double(rows))
    }

    /// `dataset` with standardized features.
    /// - Throws: `TensorError` when the feature count differs from the fitted one.
    public func apply(to dataset: Dataset) throws -> Dataset {
        var copy = dataset
        let dtype = dataset.features.dtype
        let flat = try dataset.features.reshaped(to: [dataset.count, -1])
        let standardized = try (flat - mean.converted(to: dtype)) / standardDeviation.converted(to: dtype)
        copy.features = try standardized.reshaped(to: dataset.features.shape)
        return copy
    }
}
