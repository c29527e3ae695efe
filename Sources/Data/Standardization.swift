import SaddleCore

/// Feature standardization (x - mean) / std, fitted on training data and applied to any split.
public struct Standardization: Sendable {
    /// Either one mean per feature or a single mean (scalar form).
    public var mean: Tensor
    public var standardDeviation: Tensor

    /// Whether statistics are per feature or one scalar over all features.
    public enum Granularity: String, Sendable, Codable {
        case perFeature = "per_feature"
        case scalar
    }

    /// Statistics of `dataset`'s features. Zero deviations (constant features) are replaced
    /// by 1 so that they map to 0.
    /// - Throws: `DataError.invalid` for an empty data set.
    public init(fittedTo dataset: Dataset, granularity: Granularity = .perFeature) throws {
        guard dataset.count > 0 else { throw DataError.invalid(file: dataset.name, reason: "cannot standardize an empty data set") }
        let x = try dataset.features.converted(to: .float64).reshaped(to: [dataset.count, -1])
        if granularity == .scalar {
            let m = try x.mean().item()
            let variance = try (x - m).squared().mean().item()
            mean = Tensor(m, dtype: .float64)
            standardDeviation = Tensor(variance > 0 ? variance.squareRoot() : 1, dtype: .float64)
        } else {
            let m = try x.mean(alongAxis: 0)
            let variance = try (x - m).squared().mean(alongAxis: 0)
            mean = m
            standardDeviation = try sqrt(variance).replacing(where: variance .> 0, with: Tensor(1.0, dtype: .float64))
        }
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
