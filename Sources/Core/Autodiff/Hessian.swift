/// Second-order differentiation built on recorded backward passes (reverse-over-reverse).
///
/// Why reverse-over-reverse: every built-in pullback is itself written with differentiable
/// operations, so one mechanism gives exact second derivatives for all of them and for
/// user-defined operations alike, with no second set of (forward-mode) rules to keep in sync.
/// For a full Hessian the recorded gradient graph is built once and reused for every column,
/// so a column costs one backward pass through that graph, not a fresh forward and backward.

/// The exact Hessian-vector product of the scalar `f` at `inputs` along `direction`.
/// - Throws: `AutodiffError` when `f` is not differentiable twice through its operations;
///   `TensorError` when `direction` does not match `inputs`.
public func hessianVectorProduct(
    at inputs: [Tensor], along direction: [Tensor], of f: ([Tensor]) throws -> Tensor
) throws -> [Tensor] {
    guard direction.count == inputs.count, zip(inputs, direction).allSatisfy({ $0.shape == $1.shape }) else {
        throw TensorError.shapeMismatch(
            op: "hessianVectorProduct", shapes: inputs.map(\.shape) + direction.map(\.shape),
            reason: "the direction needs one tensor per input, of the same shape")
    }
    let leaves = inputs.map { $0.detached.recorded() }
    return try GradientRecording.withRecording {
        let value = try f(leaves)
        guard value.isRecorded else { return leaves.map { $0.detached.zerosLike() } }
        let grads = try gradients(of: value, wrt: leaves, creatingGraph: true)
        var inner: Tensor?
        for (g, v) in zip(grads, direction) {
            let term = try (g * v.detached.converted(to: g.dtype)).sum()
            inner = try inner.map { try $0 + term } ?? term
        }
        guard let inner, inner.isRecorded else { return leaves.map { $0.detached.zerosLike() } }
        return try gradients(of: inner, wrt: leaves)
    }
}

/// The full Hessian `[n, n]` of the scalar `f` of a vector `x` `[n]`, symmetrized, in `x`'s
/// dtype. Intended for up to a few thousand variables: it costs one forward and one recorded
/// backward pass, then n backward passes through the recorded gradient graph.
/// - Throws: `AutodiffError` when `f` is not twice differentiable through its operations;
///   `TensorError` when `x` is not a vector.
public func hessian(at x: Tensor, of f: (Tensor) throws -> Tensor) throws -> Tensor {
    guard x.rank == 1 else {
        throw TensorError.invalidArgument(op: "hessian", reason: "x must be a vector, got shape \(describe(shape: x.shape))")
    }
    let n = x.count
    let leaf = x.detached.recorded()
    var columns: [Tensor] = []
    columns.reserveCapacity(n)
    try GradientRecording.withRecording {
        let value = try f(leaf)
        guard value.isRecorded else { return }
        let gradient = try gradients(of: value, wrt: [leaf], creatingGraph: true)[0]
        guard let root = gradient.node, root.isDifferentiable else { return }
        // One plan for all n sweeps through the recorded gradient graph.
        let plan = try BackwardPlan(root: root, inputs: [leaf])
        for i in 0..<n {
            var seed = Tensor.zeros([n], dtype: gradient.dtype)
            seed.setScalar(1, at: i)
            // d(g_i)/dx is row i of the Hessian.
            columns.append(try plan.run(seed: seed, creatingGraph: false)[0].detached)
        }
    }
    guard columns.count == n else { return Tensor.zeros([n, n], dtype: x.dtype) }
    let rows = try Tensor.concatenating(columns.map { try $0.reshaped(to: [1, n]) }, alongAxis: 0)
    return try ((rows + rows.transposed()) * 0.5).detached
}
