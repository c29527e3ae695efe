extension Tensor {
    /// Records an operation whose first-order pullback is a fast raw kernel and whose second
    /// order comes from a differentiable reference implementation.
    ///
    /// First-order backward passes call `pullback`. While a backward pass is recorded (for
    /// Hessian-vector products), the pullback is instead derived exactly by differentiating
    /// `reference(inputs)`, which must compute the same function with differentiable
    /// operations. Fused kernels (BatchNorm, the LSTM recurrence) use this to be both fast and
    /// exactly twice differentiable.
    public static func recordFused(
        _ name: String, inputs: [Tensor], output: Tensor,
        reference: @escaping @Sendable ([Tensor]) throws -> Tensor,
        pullback: @escaping PullbackRule
    ) -> Tensor {
        record(
            name, inputs: inputs, output: output,
            tangent: { c in
                // Forward mode through the reference implementation.
                let carriers = zip(c.inputs, c.tangents).map { value, tangent in tangent.map { value.withTangent($0) } ?? value }
                let result = try GradientRecording.with(recording: false, tangents: true) { try reference(carriers) }
                if let error = result.node?.tangentError { throw error }
                return result.tangent
            }
        ) { c in
            guard c.isCreatingGraph else { return try pullback(c) }
            let active = c.inputs.indices.filter { c.needsGradient($0) && c.inputs[$0].isRecorded }
            // Record the reference (also while only tangents propagate, so that it can be
            // differentiated), then differentiate it in the current mode.
            let state = GradientRecording.state
            let value = try GradientRecording.with(recording: true, tangents: state.tangents) { try reference(c.inputs) }
            guard value.isRecorded else { return Array(repeating: nil, count: c.inputs.count) }
            let grads = try gradients(of: value, wrt: active.map { c.inputs[$0] }, seed: c.cotangent, creatingGraph: state.recording)
            var result = [Tensor?](repeating: nil, count: c.inputs.count)
            for (k, i) in active.enumerated() { result[i] = grads[k] }
            return result
        }
    }
}
