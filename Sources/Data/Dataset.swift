import SaddleCore

/// Examples in memory: `features` `[count, ...]` and `labels` `[count]` (class indices as
/// whole numbers, or regression targets), in one dtype.
public struct Dataset: Sendable {
    /// One row per example.
    public var features: Tensor
    /// One entry per example.
    public var labels: Tensor
    /// The number of classes, for classification data.
    public var classCount: Int?
    /// Where the data came from (for messages).
    public var name: String

    /// The most classes a classification data set may have: 100,000 (labels 0...99,999).
    public static let maximumClassCount = 100_000
    /// The largest data file read, after decompression: 1 GiB (Fashion-MNIST's largest file
    /// inflates to 47 MB).
    public static let maximumFileBytes = 1 << 30

    /// - Throws: `DataError.invalid` when features and labels disagree on the example count.
    public init(features: Tensor, labels: Tensor, classCount: Int? = nil, name: String = "dataset") throws {
        guard features.rank >= 1, labels.rank >= 1, features.shape[0] == labels.shape[0] else {
            throw DataError.invalid(
                file: name, reason: "features \(features.shape) and labels \(labels.shape) disagree on the example count")
        }
        self.features = features
        self.labels = labels.converted(to: features.dtype)
        self.classCount = classCount
        self.name = name
    }

    /// The number of examples.
    public var count: Int { features.shape[0] }

    /// The shape of one example's features.
    public var exampleShape: [Int] { Array(features.shape.dropFirst()) }

    /// The examples at `indices`, in that order.
    /// - Throws: `TensorError` for an index out of range.
    public func subset(_ indices: [Int]) throws -> Dataset {
        try Dataset(features: features.gatheringRows(indices), labels: labels.gatheringRows(indices), classCount: classCount, name: name)
    }

    /// A deterministic split: the examples are shuffled by `seed`, and the last
    /// `validationFraction` of them (rounded) form the validation set.
    /// - Throws: `DataError.invalid` for a fraction outside [0, 1) or an empty training part.
    public func split(validationFraction: Double, seed: UInt64) throws -> (train: Dataset, validation: Dataset) {
        guard validationFraction >= 0, validationFraction < 1 else {
            throw DataError.invalid(file: name, reason: "validation fraction \(validationFraction) must be in [0, 1)")
        }
        var generator = RandomGenerator(seed: seed)
        let order = Dataset.permutation(count, using: &generator)
        let validationCount = Int((Double(count) * validationFraction).rounded())
        let trainCount = count - validationCount
        guard trainCount > 0 else { throw DataError.invalid(file: name, reason: "no examples left for training") }
        return (try subset(Array(order[..<trainCount])), try subset(Array(order[trainCount...])))
    }

    /// A uniformly random permutation of 0..<n (Fisher-Yates with the portable generator).
    public static func permutation(_ n: Int, using generator: inout RandomGenerator) -> [Int] {
        var order = Array(0..<n)
        guard n > 1 else { return order }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }

    /// Mini-batches of `size` examples (the last one smaller unless `dropLast`), in a fresh
    /// random order drawn from `generator` when `shuffle`, else in order.
    /// - Throws: `DataError.invalid` for a size below 1.
    public func batches(size: Int, shuffle: Bool, dropLast: Bool = false, using generator: inout RandomGenerator) throws -> [Batch] {
        let plan = try batchPlan(size: size, shuffle: shuffle, dropLast: dropLast, using: &generator)
        return try (0..<plan.count).map { try plan.batch($0) }
    }

    /// The same mini-batches as `batches`, gathered one at a time when asked for, so that an
    /// epoch never holds a shuffled copy of the whole data set.
    /// - Throws: `DataError.invalid` for a size below 1.
    public func batchPlan(size: Int, shuffle: Bool, dropLast: Bool = false, using generator: inout RandomGenerator) throws -> BatchPlan {
        guard size >= 1 else { throw DataError.invalid(file: name, reason: "batch size \(size) must be at least 1") }
        let order = shuffle ? Dataset.permutation(count, using: &generator) : nil
        let batchCount = dropLast ? count / size : (count + size - 1) / size
        return BatchPlan(dataset: self, order: order, size: size, count: batchCount)
    }

    /// The features reshaped per example (for example `[784]` to `[28, 28]` for row sequences).
    /// - Throws: `TensorError` when the element counts differ.
    public func reshapingExamples(to shape: [Int]) throws -> Dataset {
        var copy = self
        copy.features = try features.reshaped(to: [count] + shape)
        return copy
    }

    /// Features as flat vectors `[count, features]`.
    public func flattened() throws -> Dataset {
        try reshapingExamples(to: [exampleShape.reduce(1, *)])
    }

    /// Features times `factor` (for example 1/255 for pixels).
    public func scaled(by factor: Double) -> Dataset {
        var copy = self
        copy.features = features * factor
        return copy
    }

    /// Features and labels in `dtype`.
    public func converted(to dtype: DType) -> Dataset {
        var copy = self
        copy.features = features.converted(to: dtype)
        copy.labels = labels.converted(to: dtype)
        return copy
    }
}

/// One mini-batch.
public struct Batch: Sendable {
    /// The examples' features, `[batch, ...]`.
    public var features: Tensor
    /// The examples' labels, one entry per example.
    public var labels: Tensor
}

/// An epoch's mini-batches in order: which examples each holds, gathered on request.
public struct BatchPlan: Sendable {
    let dataset: Dataset
    /// The shuffled order of the examples, or nil for their stored order.
    let order: [Int]?
    let size: Int
    /// The number of batches.
    public let count: Int

    /// Batch `index` (0-based): examples `index * size ..< min((index + 1) * size, dataset count)`
    /// of the order.
    /// - Throws: `DataError.invalid` for an index outside 0..<count.
    public func batch(_ index: Int) throws -> Batch {
        guard index >= 0, index < count else {
            throw DataError.invalid(file: dataset.name, reason: "batch \(index) is outside 0..<\(count)")
        }
        let start = index * size, end = Swift.min(start + size, dataset.count)
        guard let order else {
            return Batch(features: try dataset.features.rows(start..<end), labels: try dataset.labels.rows(start..<end))
        }
        let indices = Array(order[start..<end])
        return Batch(features: try dataset.features.gatheringRows(indices), labels: try dataset.labels.gatheringRows(indices))
    }

    /// The examples of batch `index` (0-based) that process `rank` of `ranks` trains on in
    /// data-parallel training: its contiguous share of the batch (`share(of:rank:of:)`), so
    /// shares differ by at most one example and a rank may get none when the batch has fewer
    /// examples than there are ranks.
    /// - Returns: the shard, the global index of its first example within the batch, and the
    ///   batch's size.
    /// - Throws: `DataError.invalid` for an index outside 0..<count or a rank outside 0..<ranks.
    public func shard(_ index: Int, rank: Int, of ranks: Int) throws -> (batch: Batch, offset: Int, batchCount: Int) {
        guard index >= 0, index < count, ranks >= 1, rank >= 0, rank < ranks else {
            throw DataError.invalid(file: dataset.name, reason: "shard \(rank) of \(ranks) of batch \(index) is outside 0..<\(count)")
        }
        let start = index * size, end = Swift.min(start + size, dataset.count)
        let n = end - start
        let part = share(of: n, rank: rank, of: ranks)
        let rows = (start + part.lowerBound)..<(start + part.upperBound)
        let indices = order.map { Array($0[rows]) } ?? Array(rows)
        let batch = Batch(features: try dataset.features.gatheringRows(indices), labels: try dataset.labels.gatheringRows(indices))
        return (batch, part.lowerBound, n)
    }

    /// The sizes of every rank's share of every batch: the smallest non-empty share and
    /// whether some rank gets an empty one (a preflight check for BatchNorm, which needs at
    /// least 2 examples per shard in training mode).
    public func smallestShard(ranks: Int) -> (smallest: Int, someEmpty: Bool) {
        var smallest = Int.max, someEmpty = false
        for index in 0..<count {
            let n = Swift.min(size, dataset.count - index * size)
            for rank in 0..<Swift.max(ranks, 1) {
                let part = share(of: n, rank: rank, of: ranks).count
                if part == 0 { someEmpty = true } else { smallest = Swift.min(smallest, part) }
            }
        }
        return (smallest, someEmpty)
    }
}
