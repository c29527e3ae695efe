extension Layer {
    /// A copy whose running statistics (BatchNorm's mean and variance) are recomputed from
    /// `batches` of inputs, as a cumulative average weighted by batch size, the way one
    /// recomputes them after changing the weights (interpolated or averaged parameters).
    /// The pass runs in training mode, so dropout is active while the statistics are taken.
    /// A model without running statistics comes back unchanged.
    /// - Throws: whatever the model throws on the inputs.
    public func recalibratingStatistics(on batches: [Tensor], random: RandomGenerator = RandomGenerator(seed: 0)) throws -> any Layer {
        var model: any Layer = self
        guard !buffers.isEmpty else { return model }
        var seen = 0
        var generator = random
        for input in batches where input.rank >= 1 && input.shape[0] > 1 {
            let n = input.shape[0]
            var context = ForwardContext(mode: .training, random: generator.split())
            context.statisticsMomentum = Double(n) / Double(seen + n)
            _ = try GradientRecording.withoutRecording { try model(input, context: &context) }
            model = try model.replacing(context.bufferUpdates)
            seen += n
        }
        return model
    }
}
