import Foundation
import Saddle

/// Fashion-MNIST time to accuracy with the recipe of ../shared/bench/README.md (the same as
/// torch_fmnist.py): pixels / 255, standardized with the training set's scalar mean and std;
/// batch 128 reshuffled every epoch, last partial batch kept; SGD momentum 0.9, learning rate
/// 0.1 (0.05 for the CNN) with per-epoch cosine decay over `maxEpochs`; PyTorch's default initialization; test
/// accuracy on the 10k test images after every epoch, stopping at the target.
struct FashionRun {
    var model = "mlp_bn"
    var maxEpochs = 30
    var seed: UInt64 = 0
    var stopAtTarget = true

    struct StopAtTarget: TrainingCallback {
        let target: Double
        let stop: Bool
        func epochEnded(_ metrics: EpochMetrics, trainer: inout Trainer) throws {
            if stop, let accuracy = metrics.validationAccuracy, accuracy >= target { trainer.requestStop() }
        }
    }

    func run() throws -> String {
        let loadStart = DispatchTime.now().uptimeNanoseconds
        var train = try FashionMNIST.load(.train).scaled(by: 1.0 / 255)
        var test = try FashionMNIST.load(.test).scaled(by: 1.0 / 255)
        let scaler = try Standardization(fittedTo: train, granularity: .scalar)
        train = try scaler.apply(to: train)
        test = try scaler.apply(to: test)
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        var generator = RandomGenerator(seed: seed)
        let network: any Layer
        let target: Double
        var clip: Double?
        var learningRate = 0.1
        switch model {
        case "mlp_bn", "mlp":
            train = try train.flattened()
            test = try test.flattened()
            let sizes = [784, 256, 256, 10]
            var layers: [any Layer] = []
            for i in 0..<3 {
                layers.append(try Dense(inputSize: sizes[i], units: sizes[i + 1], using: &generator))
                if i < 2 {
                    if model == "mlp_bn" { layers.append(try BatchNorm(featureCount: sizes[i + 1])) }
                    layers.append(ReLU())
                }
            }
            network = Sequential(layers)
            target = 0.89
        case "lstm":
            network = try Sequential {
                try LSTM(inputSize: 28, hiddenSize: 128, using: &generator)
                try Dense(inputSize: 128, units: 10, using: &generator)
            }
            target = 0.87
            clip = 1
        case "cnn":
            train = try train.reshapingExamples(to: [1, 28, 28])
            test = try test.reshapingExamples(to: [1, 28, 28])
            network = try fashionCNN(using: &generator)
            target = 0.91
            learningRate = 0.05
        default:
            throw BenchError.usage("unknown model \(model); use mlp_bn, mlp, lstm or cnn")
        }
        var options = try TrainingOptions(epochs: maxEpochs, batchSize: 128, seed: seed)
        options.schedule = try CosineSchedule(epochs: maxEpochs)
        options.progress = .lines
        var trainer = Trainer(
            model: network, loss: SoftmaxCrossEntropy(),
            optimizer: try SGD(learningRate: learningRate, momentum: 0.9, maxGradientNorm: clip), options: options)
        let history = try trainer.fit(training: train, validation: test, callbacks: [StopAtTarget(target: target, stop: stopAtTarget)])
        var cumulative = 0.0
        var reachedEpoch: Int?
        var reachedSeconds: Double?
        for metrics in history {
            cumulative += metrics.trainingSeconds
            if reachedEpoch == nil, let accuracy = metrics.validationAccuracy, accuracy >= target {
                reachedEpoch = metrics.epoch
                reachedSeconds = cumulative
            }
        }
        let epochs = history.map { "{\"epoch\":\($0.epoch),\"test_acc\":\($0.validationAccuracy ?? 0),\"train_loss\":\($0.trainingLoss),\"epoch_train_s\":\($0.trainingSeconds)}" }
        return "{\"model\":\"\(model)\",\"target\":\(target),\"reached\":\(reachedEpoch != nil),\"epochs_to_target\":\(reachedEpoch.map(String.init) ?? "null"),"
            + "\"train_s_to_target\":\(reachedSeconds.map { String($0) } ?? "null"),\"epochs_run\":\(history.count),\"train_s_total\":\(cumulative),"
            + "\"final_test_acc\":\(history.last?.validationAccuracy ?? 0),\"best_test_acc\":\(history.compactMap(\.validationAccuracy).max() ?? 0),"
            + "\"samples_per_s\":\(Double(train.count * history.count) / cumulative),\"data_load_s\":\(loadSeconds),\"seed\":\(seed),"
            + "\"blas_core\":\"\((try? BLAS.configuration().coreName) ?? "unknown")\",\"history\":[\(epochs.joined(separator: ","))]}"
    }
}
