import Saddle
import SaddleTestSupport
import Testing

/// Digits in Float64, 80/20 split (seed 0), standardized with the training part's statistics.
func digitsFloat64() throws -> (train: Dataset, validation: Dataset) {
    let (train, validation) = try Digits.load().converted(to: .float64).split(validationFraction: 0.2, seed: 0)
    let scaler = try Standardization(fittedTo: train)
    return (try scaler.apply(to: train), try scaler.apply(to: validation))
}

/// A ReLU MLP 64 - hidden - 10 in Float64.
func reluMLP(hidden: [Int], seed: UInt64) throws -> Sequential {
    var g = RandomGenerator(seed: seed)
    var layers: [any Layer] = []
    var inputs = 64
    for units in hidden {
        layers.append(try Dense(inputSize: inputs, units: units, dtype: .float64, using: &g))
        layers.append(ReLU())
        inputs = units
    }
    layers.append(try Dense(inputSize: inputs, units: 10, dtype: .float64, using: &g))
    return Sequential(layers)
}

/// Trains `model` with SGD (momentum 0.9, batch 64) and returns the trainer and the full
/// training-set loss before training and after each epoch (inference mode).
func trainRecordingLoss(
    _ model: any Layer, on train: Dataset, epochs: Int, learningRate: Double, seed: UInt64
) throws -> (trainer: Trainer, losses: [Double]) {
    var options = try TrainingOptions(epochs: 1, batchSize: 64, seed: seed)
    options.progress = .silent
    var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: learningRate, momentum: 0.9), options: options)
    var losses = [try trainer.evaluate(train).loss]
    for epoch in 1...max(1, epochs) where epochs > 0 {
        trainer.options.epochs = epoch
        try trainer.fit(training: train)
        losses.append(try trainer.evaluate(train).loss)
    }
    return (trainer, losses)
}

func grow(_ model: any Layer, _ transform: any ModelTransform, probe: Tensor, seed: UInt64) throws -> (model: any Layer, report: TransformReport) {
    var context = TransformContext(generator: RandomGenerator(seed: seed), probe: probe, factory: BuiltinLayerFactory())
    return try transform.apply(to: model, context: &context)
}

/// max |a - b| / max(max |a|, max |b|).
func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
    let scale = max(a.map { Swift.abs($0) }.max() ?? 0, b.map { Swift.abs($0) }.max() ?? 0)
    return scale == 0 ? 0 : TestSupport.maxAbsDifference(a, b) / scale
}

/// Experiment 5 of EXPERIMENTS.md (Net2Net, Chen, Goodfellow and Shlens 2016) on digits.
@Suite("Net2Net on digits")
struct Net2NetExperimentTests {
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
        let (train, _) = try digitsFloat64()
        let (teacherTrainer, _) = try trainRecordingLoss(try reluMLP(hidden: [8], seed: 1), on: train, epochs: 2, learningRate: 0.05, seed: 1)
        let teacher = try teacherTrainer.currentModel()
        let probe = try train.features.rows(0..<256)
        for (noise, split) in [(0.0, 0.0), (0.05, 0.0), (0.0, 0.5)] {
            let (student, report) = try grow(teacher, Net2WiderNet(layer: "0", units: 14, noise: noise, split: split), probe: probe, seed: 7)
            if split > 0 { #expect(try #require(report.maxDeviation) <= 1e-12) }
            let mapping = try #require(report.unitMappings.first { $0.path == "0" }?.mapping)
            #expect(mapping.count == 14 && mapping[..<8] == ArraySlice(0..<8))
            let (trainer, losses) = try trainRecordingLoss(student, on: train, epochs: 5, learningRate: 0.05, seed: 2)
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

    /// Teacher 64-12-10 trained 10 epochs; student widened to 36 units (Net2WiderNet with the
    /// function-preserving unequal split, so it starts exactly at the teacher's loss) against
    /// the 64-36-10 model from random init and against random pad, 10 more epochs each, the
    /// same optimizer and shuffling for all three.
    @Test("a Net2Wider student starts at the teacher's loss and stays below both baselines", arguments: [UInt64(1), 2, 3])
    func wider(seed: UInt64) throws {
        let (train, _) = try digitsFloat64()
        let rate = 0.01
        let (teacherTrainer, teacherLosses) = try trainRecordingLoss(try reluMLP(hidden: [12], seed: seed), on: train, epochs: 10, learningRate: rate, seed: seed)
        let teacher = try teacherTrainer.currentModel()
        let probe = try train.features.rows(0..<256)
        let student = try grow(teacher, Net2WiderNet(layer: "0", units: 36, split: 0.5), probe: probe, seed: seed).model
        let pad = try grow(teacher, RandomPadWidening(layer: "0", units: 36), probe: probe, seed: seed).model
        let students = try trainRecordingLoss(student, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses
        let padded = try trainRecordingLoss(pad, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses
        let scratch = try trainRecordingLoss(try reluMLP(hidden: [36], seed: seed + 20), on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses
        print("net2wider (split 0.5) seed \(seed): teacher \(teacherLosses.last!) student \(students) pad \(padded) scratch \(scratch)")
        #expect(Swift.abs(students[0] - teacherLosses.last!) <= 1e-10 * teacherLosses.last!)
        for epoch in 0...10 {
            #expect(students[epoch] < padded[epoch], "seed \(seed) epoch \(epoch): student \(students[epoch]) vs random pad \(padded[epoch])")
            #expect(students[epoch] < scratch[epoch], "seed \(seed) epoch \(epoch): student \(students[epoch]) vs random init \(scratch[epoch])")
        }
    }

    /// Teacher 64-24-10 trained 10 epochs; student with an identity ReLU layer of 24 units
    /// inserted (Net2DeeperNet) against the 64-24-24-10 model from random init.
    @Test("a Net2Deeper student starts at the teacher's loss and stays below the deeper model from random init", arguments: [UInt64(1), 2, 3])
    func deeper(seed: UInt64) throws {
        let (train, _) = try digitsFloat64()
        let rate = 0.01
        let (teacherTrainer, teacherLosses) = try trainRecordingLoss(try reluMLP(hidden: [24], seed: seed), on: train, epochs: 10, learningRate: rate, seed: seed)
        let teacher = try teacherTrainer.currentModel()
        let probe = try train.features.rows(0..<256)
        let (student, report) = try grow(teacher, Net2DeeperNet(layer: "0"), probe: probe, seed: seed)
        #expect(report.pathMap.contains { $0.old == "2.weight" && $0.new == "4.weight" })
        let students = try trainRecordingLoss(student, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses
        let random = try grow(teacher, RandomDeeper(layer: "0"), probe: probe, seed: seed).model
        let randomInserted = try trainRecordingLoss(random, on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses
        let scratch = try trainRecordingLoss(try reluMLP(hidden: [24, 24], seed: seed + 20), on: train, epochs: 10, learningRate: rate, seed: seed + 10).losses
        print("net2deeper seed \(seed): teacher \(teacherLosses.last!) student \(students) random layer \(randomInserted) scratch \(scratch)")
        #expect(Swift.abs(students[0] - teacherLosses.last!) <= 1e-10 * teacherLosses.last!)
        for epoch in 0...10 {
            #expect(students[epoch] < scratch[epoch], "seed \(seed) epoch \(epoch): student \(students[epoch]) vs random init \(scratch[epoch])")
            #expect(students[epoch] < randomInserted[epoch], "seed \(seed) epoch \(epoch): student \(students[epoch]) vs random inserted layer \(randomInserted[epoch])")
        }
    }
}
