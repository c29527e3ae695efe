import Saddle
import SaddleExperiments
import SaddleTestSupport
import Testing

/// max |a - b| / max(max |a|, max |b|).
func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
    let scale = max(a.map { Swift.abs($0) }.max() ?? 0, b.map { Swift.abs($0) }.max() ?? 0)
    return scale == 0 ? 0 : TestSupport.maxAbsDifference(a, b) / scale
}

@Suite("Replicas of a widened layer")
struct ReplicaSymmetryTests {
    /// The largest relative difference, over the widened layer's replicas, between a replica
    /// and the unit it copies: incoming weights and bias (rows of layer 0), outgoing weights
    /// (columns of layer 2).
    func replicaDifferences(_ model: any Layer, mapping: [Int], original: Int) throws -> (incoming: Double, outgoing: Double) {
        let tensors = model.tensors
        let weight = try #require(tensors["0.weight"]).doubles, bias = try #require(tensors["0.bias"]).doubles
        let next = try #require(tensors["2.weight"])
        let inputs = 64, units = mapping.count, outputs = next.shape[0]
        var incoming = 0.0, outgoing = 0.0
        for j in original..<units {
            let i = mapping[j]
            let rowJ = Array(weight[j * inputs..<(j + 1) * inputs]) + [bias[j]]
            let rowI = Array(weight[i * inputs..<(i + 1) * inputs]) + [bias[i]]
            incoming = max(incoming, relativeDifference(rowJ, rowI))
            let columns = next.doubles
            outgoing = max(outgoing, relativeDifference((0..<outputs).map { columns[$0 * units + j] }, (0..<outputs).map { columns[$0 * units + i] }))
        }
        return (incoming, outgoing)
    }

    @Test("replicas stay equal through SGD without noise and separate with noise or an unequal split")
    func symmetry() throws {
        let (train, _) = try Experiments.digits()
        let (teacherTrainer, _) = try Experiments.trainRecordingLoss(try Experiments.reluMLP(hidden: [8], seed: 1), on: train, epochs: 2, learningRate: 0.05, seed: 1)
        let teacher = try teacherTrainer.currentModel()
        let probe = try train.features.rows(0..<256)
        for (noise, split) in [(0.0, 0.0), (0.05, 0.0), (0.0, 0.5)] {
            let (student, report) = try Net2WiderNet(layer: "0", units: 14, noise: noise, split: split).apply(to: teacher, probe: probe, seed: 7)
            if split > 0 { #expect(try #require(report.maxDeviation) <= 1e-12) }
            let mapping = try #require(report.unitMappings.first { $0.path == "0" }?.mapping)
            #expect(mapping.count == 14 && mapping[..<8] == ArraySlice(0..<8))
            let (trainer, losses) = try Experiments.trainRecordingLoss(student, on: train, epochs: 5, learningRate: 0.05, seed: 2)
            #expect(losses.last! < losses.first!)
            let (incoming, outgoing) = try replicaDifferences(try trainer.currentModel(), mapping: mapping, original: 8)
            if noise == 0 && split == 0 {
                #expect(incoming <= 1e-12, "incoming weights of replicas differ by \(incoming)")
                #expect(outgoing <= 1e-12, "outgoing weights of replicas differ by \(outgoing)")
            } else {
                #expect(incoming > 1e-3, "noise \(noise), split \(split): replicas' incoming weights differ by only \(incoming)")
                #expect(outgoing > 1e-3, "noise \(noise), split \(split): replicas' outgoing weights differ by only \(outgoing)")
            }
        }
    }
}
