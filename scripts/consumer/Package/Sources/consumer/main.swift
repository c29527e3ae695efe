// Trains a small MLP on the bundled digits through `import Saddle` alone, checks that it
// learned, and exports it to ONNX: what a package depending on Saddle does first.
import Foundation
import Saddle

var generator = RandomGenerator(seed: 7)
let (training, heldOut) = try Digits.load().split(validationFraction: 0.2, seed: 0)
let model = try Sequential {
    try Dense(inputSize: 64, units: 64, using: &generator)
    ReLU()
    try Dense(inputSize: 64, units: 10, using: &generator)
}
var options = try TrainingOptions(epochs: 10, batchSize: 32, seed: 7)
options.progress = .silent
var trainer = Trainer(model: model, loss: SoftmaxCrossEntropy(), optimizer: try SGD(learningRate: 0.01, momentum: 0.9), options: options)
let history = try trainer.fit(training: training, validation: heldOut)
guard let accuracy = history.last?.validationAccuracy, accuracy > 0.9 else {
    print("consumer: held-out accuracy \(String(describing: history.last?.validationAccuracy)) is too low")
    exit(1)
}
let onnx = try trainer.currentModel().onnxModel(exampleShape: [64])
print("consumer: trained to \(String(format: "%.1f", accuracy * 100))% held-out accuracy with Saddle \(SaddleVersion.current); ONNX export of \(onnx.bytes.count) bytes")
