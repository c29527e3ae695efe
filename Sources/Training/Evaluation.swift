import SaddleCore
import SaddleData

/// Loss and accuracy of a model over a data set.
public enum Evaluation {
    /// Mean loss and accuracy (for classification) of `model` over `dataset` in inference
    /// mode, `batchSize` examples at a time.
    /// - Throws: whatever the model or loss throws.
    public static func measure(_ model: any Layer, loss: any Loss, on dataset: Dataset, batchSize: Int = 1000) throws -> (loss: Double, accuracy: Double?) {
        var generator = RandomGenerator(seed: 0)
        var lossSum = 0.0
        var correct = 0
        var classified = true
        return try GradientRecording.withoutRecording {
            let plan = try dataset.batchPlan(size: Swift.max(1, batchSize), shuffle: false, using: &generator)
            for index in 0..<plan.count {
                let batch = try plan.batch(index)
                let output = try model(batch.features)
                lossSum += try loss(output, batch.labels).item() * Double(batch.features.shape[0])
                if classified, let hits = try Trainer.correctCount(output, batch.labels) { correct += hits } else { classified = false }
            }
            let n = Double(Swift.max(dataset.count, 1))
            return (lossSum / n, classified ? Double(correct) / n : nil)
        }
    }
}
