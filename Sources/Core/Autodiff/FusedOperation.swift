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
        record(name, inputs: inputs, output: output) { c in
            guard c.isCreatingGraph else { return try pullback(c) }
            let active = c.inputs.indices.filter { c.needsGradient($0) && c.inputs[$0].isRecorded }
            let value = try reference(c.inputs)
            guard value.isRecorded else { return Array(repeating: nil, count: c.inputs.count) }
            let grads = try gradients(of: value, wrt: active.map { c.inputs[$0] }, seed: c.cotangent, creatingGraph: true)
            var result = [Tensor?](repeating: nil, count: c.inputs.count)
            for (k, i) in active.enumerated() { result[i] = grads[k] }
            return result
        }
    }
}
