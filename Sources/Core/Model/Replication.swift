/// Helpers for growing tensors by unit mappings (used by layers adopting the transform
/// capabilities).
public enum Replication {
    /// How many times each of `units` original units appears in `mapping`.
    /// - Throws: `TensorError.invalidArgument` when an entry is outside 0..<units.
    public static func counts(_ mapping: [Int], units: Int) throws -> [Int] {
        var counts = [Int](repeating: 0, count: units)
        for unit in mapping {
            guard unit >= 0 && unit < units else {
                throw TensorError.invalidArgument(op: "replication", reason: "mapping entry \(unit) is outside 0..<\(units)")
            }
            counts[unit] += 1
        }
        return counts
    }

    /// `matrix` `[rows, columns]` with its columns replaced by columns `mapping[j]`, each divided
    /// by how often its source column is replicated (`counts`). With `split` > 0, each row's
    /// shares among the replicas of one column get Gaussian offsets (standard deviation `split`
    /// times the matrix's standard deviation) minus their mean: the shares still sum to the
    /// original weight, so the product with a replicated input is unchanged, yet the replicas
    /// differ.
    public static func dividedColumns(
        _ matrix: Tensor, mapping: [Int], counts: [Int], split: Double = 0, using generator: inout RandomGenerator
    ) throws -> Tensor {
        guard matrix.rank == 2, counts.count == matrix.shape[1], mapping.allSatisfy({ $0 >= 0 && $0 < counts.count }) else {
            throw TensorError.invalidArgument(
                op: "replication", reason: "a mapping onto \(counts.count) units does not fit a weight of shape \(matrix.shape)")
        }
        let gathered = try matrix.transposed().gatheringRows(mapping).transposed()
        let scale = try Tensor(shape: [1, mapping.count], scalars: mapping.map { 1 / Double(counts[$0]) }, dtype: matrix.dtype)
        let divided = try (gathered * scale).detached
        guard split > 0, counts.contains(where: { $0 > 1 }) else { return divided }
        let deviation = standardDeviation(matrix.doubles) * split
        let rows = matrix.shape[0], columns = mapping.count
        var members = [[Int]](repeating: [], count: counts.count)
        for (j, source) in mapping.enumerated() { members[source].append(j) }
        var offsets = [Double](repeating: 0, count: rows * columns)
        for group in members where group.count > 1 {
            for row in 0..<rows {
                let draws = group.map { _ in generator.nextNormal() * deviation }
                let mean = draws.reduce(0, +) / Double(group.count)
                for (j, draw) in zip(group, draws) { offsets[row * columns + j] = draw - mean }
            }
        }
        return try (divided + Tensor(shape: divided.shape, scalars: offsets, dtype: matrix.dtype)).detached
    }

    /// The population standard deviation of `values` (0 when empty).
    public static func standardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(values.count, 1))).squareRoot()
    }

    /// `matrix` with Gaussian noise of standard deviation `scale` times the matrix's standard
    /// deviation added to rows `from...` (the replicas beyond the original units).
    public static func addingNoise(_ matrix: Tensor, toRowsFrom first: Int, scale: Double, using generator: inout RandomGenerator) throws -> Tensor {
        guard scale > 0, first < matrix.shape[0] else { return matrix }
        let deviation = standardDeviation(matrix.doubles)
        let rowSize = matrix.count / matrix.shape[0]
        let noise = Tensor.randomNormal([matrix.shape[0] - first, rowSize], standardDeviation: scale * deviation, dtype: matrix.dtype, using: &generator)
        let padded = try noise.padded(alongAxis: 0, before: first, after: 0).reshaped(to: matrix.shape)
        return try (matrix + padded).detached
    }

    /// `count` new columns for a weight `[rows, columns]` that grows to `columns + count` inputs,
    /// drawn by `initializer` at the grown fan-in (the "random pad" baseline), so they have the
    /// scale a freshly built layer of the grown size would have.
    public static func freshColumns(
        _ initializer: WeightInitializer, rows: Int, columns: Int, count: Int, dtype: DType, using generator: inout RandomGenerator
    ) throws -> Tensor {
        let grown = try initializer.make([rows, columns + count], dtype: dtype, using: &generator)
        return try grown.transposed().gatheringRows(Array(columns..<(columns + count))).transposed().detached
    }

    /// The identity matrix `[n, n]`.
    public static func identity(_ n: Int, dtype: DType) -> Tensor {
        var result = Tensor.zeros([n, n], dtype: dtype)
        for i in 0..<n { result.setScalar(1, at: i * n + i) }
        return result
    }
}
