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
    /// by how often its source column is replicated (`counts`).
    public static func dividedColumns(_ matrix: Tensor, mapping: [Int], counts: [Int]) throws -> Tensor {
        let gathered = try matrix.transposed().gatheringRows(mapping).transposed()
        let scale = try Tensor(shape: [1, mapping.count], scalars: mapping.map { 1 / Double(counts[$0]) }, dtype: matrix.dtype)
        return try (gathered * scale).detached
    }

    /// `matrix` with Gaussian noise of standard deviation `scale` times the matrix's standard
    /// deviation added to rows `from...` (the replicas beyond the original units).
    public static func addingNoise(_ matrix: Tensor, toRowsFrom first: Int, scale: Double, using generator: inout RandomGenerator) throws -> Tensor {
        guard scale > 0, first < matrix.shape[0] else { return matrix }
        let values = matrix.doubles
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(values.count, 1))).squareRoot()
        let rowSize = matrix.count / matrix.shape[0]
        let noise = Tensor.randomNormal([matrix.shape[0] - first, rowSize], standardDeviation: scale * deviation, dtype: matrix.dtype, using: &generator)
        let padded = try noise.padded(alongAxis: 0, before: first, after: 0).reshaped(to: matrix.shape)
        return try (matrix + padded).detached
    }

    /// The identity matrix `[n, n]`.
    public static func identity(_ n: Int, dtype: DType) -> Tensor {
        var result = Tensor.zeros([n, n], dtype: dtype)
        for i in 0..<n { result.setScalar(1, at: i * n + i) }
        return result
    }
}
