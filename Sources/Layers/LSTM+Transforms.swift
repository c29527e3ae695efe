import SaddleCore

extension LSTM: OutputWidening, InputWidening {
    /// The number of output units, `hiddenSize`.
    public var outputUnits: Int { hiddenSize }
    /// The number of input features, `inputSize`.
    public var inputFeatures: Int { inputSize }

    /// Rows of all four gate blocks for hidden units `mapping`.
    private func gateRows(_ mapping: [Int]) -> [Int] {
        (0..<4).flatMap { gate in mapping.map { gate * hiddenSize + $0 } }
    }

    /// Widening the hidden state: every gate block's rows follow the mapping, and the recurrent
    /// weights read the replicated hidden state divided by the replication counts, so each
    /// replica's gates, cell and output equal the original unit's.
    public func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> LSTM {
        let counts = try Replication.counts(mapping, units: hiddenSize)
        let rows = gateRows(mapping)
        var inputWeights = try weightIH.gatheringRows(rows)
        var recurrent = try Replication.dividedColumns(weightHH.gatheringRows(rows), mapping: mapping, counts: counts, using: &generator)
        if noise > 0 {
            // Noise on the new units' rows of each gate block.
            let q = mapping.count
            var mask = [Double](repeating: 0, count: 4 * q)
            for gate in 0..<4 { for j in hiddenSize..<q { mask[gate * q + j] = 1 } }
            let rowMask = try Tensor(shape: [4 * q, 1], scalars: mask, dtype: weightIH.dtype)
            func perturbed(_ base: Tensor) throws -> Tensor {
                let deviation = Replication.standardDeviation(base.doubles)
                return try (base + Tensor.randomNormal(base.shape, standardDeviation: noise * deviation, dtype: base.dtype, using: &generator) * rowMask).detached
            }
            inputWeights = try perturbed(inputWeights)
            recurrent = try perturbed(recurrent)
        }
        return try LSTM(
            weightIH: inputWeights.detached, weightHH: recurrent, biasIH: biasIH.gatheringRows(rows).detached,
            biasHH: biasHH.gatheringRows(rows).detached, returnsSequence: returnsSequence)
    }

    /// A copy with `count` extra hidden units: the old units' entries are kept; all others (the new units' rows, and the
    /// old units' recurrent weights on the new units) are drawn as `init` draws them.
    public func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> LSTM {
        let q = hiddenSize + count
        let fresh = try LSTM(inputSize: inputSize, hiddenSize: q, returnsSequence: returnsSequence, dtype: weightIH.dtype, using: &generator)
        // Keep the old units' weights where they exist; new rows and columns are fresh.
        func merge(_ old: Tensor, _ new: Tensor, oldColumns: Int) throws -> Tensor {
            var values = new.doubles
            let oldValues = old.doubles
            let newColumns = new.shape.count == 2 ? new.shape[1] : 1
            for gate in 0..<4 {
                for unit in 0..<hiddenSize {
                    for column in 0..<oldColumns {
                        values[(gate * q + unit) * newColumns + column] = oldValues[(gate * hiddenSize + unit) * oldColumns + column]
                    }
                }
            }
            return try Tensor(shape: new.shape, scalars: values, dtype: new.dtype)
        }
        return try LSTM(
            weightIH: merge(weightIH, fresh.weightIH, oldColumns: inputSize), weightHH: merge(weightHH, fresh.weightHH, oldColumns: hiddenSize),
            biasIH: merge(biasIH, fresh.biasIH, oldColumns: 1), biasHH: merge(biasHH, fresh.biasHH, oldColumns: 1), returnsSequence: returnsSequence)
    }

    /// A copy whose `weight_ih` columns follow `mapping`, divided by their source's count (`Replication.dividedColumns`).
    public func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> LSTM {
        try LSTM(
            weightIH: Replication.dividedColumns(weightIH, mapping: mapping, counts: counts, split: split, using: &generator), weightHH: weightHH, biasIH: biasIH,
            biasHH: biasHH, returnsSequence: returnsSequence)
    }

    /// A copy with `count` extra `weight_ih` columns drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)), as `init` draws them.
    public func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> LSTM {
        let bound = 1 / Double(hiddenSize).squareRoot()
        let fresh = Tensor.randomUniform([4 * hiddenSize, count], in: -bound...bound, dtype: weightIH.dtype, using: &generator)
        return try LSTM(
            weightIH: Tensor.concatenating([weightIH, fresh], alongAxis: 1).detached, weightHH: weightHH, biasIH: biasIH, biasHH: biasHH,
            returnsSequence: returnsSequence)
    }
}
