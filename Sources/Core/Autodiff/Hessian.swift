/// Second-order differentiation: forward-over-reverse where every operation has a forward-mode
/// rule (the built-in ones do), reverse-over-reverse through recorded backward passes otherwise.
///
/// Every built-in pullback is itself written with differentiable operations, so
/// reverse-over-reverse gives exact second derivatives for them and for user-defined operations
/// alike; forward-over-reverse carries tangents through the forward and backward passes
/// instead of recording and replaying the backward graph, which costs less per product.

/// The exact Hessian-vector product of the scalar `f` at `inputs` along `direction`.
///
/// Computed forward-over-reverse: the inputs carry `direction` as a tangent through the forward
/// pass and the backward pass, and the gradient's tangent is the product. Where an operation
/// has no forward-mode rule, the product is taken reverse-over-reverse instead (a backward pass
/// through the recorded gradient graph).
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
    do {
        return try hessianVectorProductForward(at: inputs, along: direction, of: f)
    } catch AutodiffError.noForwardRule {
        return try hessianVectorProductReverse(at: inputs, along: direction, of: f)
    }
}

/// The Hessian-vector product forward-over-reverse; throws `AutodiffError.noForwardRule` when an
/// operation has no forward-mode rule.
func hessianVectorProductForward(
    at inputs: [Tensor], along direction: [Tensor], of f: ([Tensor]) throws -> Tensor
) throws -> [Tensor] {
    let leaves = try zip(inputs, direction).map { x, v in
        x.detached.recorded().withTangent(try v.detached.converted(to: x.dtype).reshaped(to: [1] + x.shape))
    }
    let value = try GradientRecording.with(recording: true, tangents: true) { try f(leaves) }
    guard value.isRecorded else { return leaves.map { $0.detached.zerosLike() } }
    let grads = try GradientRecording.with(recording: false, tangents: true) { try gradients(of: value, wrt: leaves) }
    if let error = grads.lazy.compactMap({ $0.node?.tangentError }).first { throw error }
    return try zip(grads, leaves).map { g, x in try g.tangent?.detached.reshaped(to: x.shape) ?? x.detached.zerosLike() }
}

/// The Hessian-vector product reverse-over-reverse: a recorded backward pass, then one backward
/// pass of the inner product of the gradient with `direction`.
func hessianVectorProductReverse(
    at inputs: [Tensor], along direction: [Tensor], of f: ([Tensor]) throws -> Tensor
) throws -> [Tensor] {
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
/// dtype. Intended for up to a few thousand variables.
///
/// Computed forward-over-reverse: `x` carries `chunk` tangent directions at once (rows of the
/// identity) through the forward pass and the backward pass, so the gradient's tangents are
/// `chunk` rows of the Hessian; every operation runs once per chunk on batched tangents
/// instead of once per direction. When an operation has no forward-mode rule, the Hessian is
/// assembled from Hessian-vector products instead (reverse-over-reverse, one backward pass
/// through the recorded gradient graph per column).
///
/// `symmetrized: false` returns the rows as computed, before averaging with the transpose, so
/// that their symmetry can be checked (it holds to rounding when every rule is exact).
/// - Throws: `AutodiffError` when `f` is not twice differentiable through its operations;
///   `TensorError` when `x` is not a vector.
public func hessian(at x: Tensor, chunk: Int = 128, symmetrized: Bool = true, of f: (Tensor) throws -> Tensor) throws -> Tensor {
    guard x.rank == 1 else {
        throw TensorError.invalidArgument(op: "hessian", reason: "x must be a vector, got shape \(describe(shape: x.shape))")
    }
    let n = x.count
    guard n > 0 else { return Tensor.zeros([0, 0], dtype: x.dtype) }
    do {
        var blocks: [Tensor] = []
        for start in stride(from: 0, to: n, by: max(chunk, 1)) {
            let k = min(max(chunk, 1), n - start)
            var seeds = Tensor.zeros([k, n], dtype: x.dtype)
            for row in 0..<k { seeds.setScalar(1, at: row * n + start + row) }
            let leaf = x.detached.recorded().withTangent(seeds)
            let value = try GradientRecording.with(recording: true, tangents: true) { try f(leaf) }
            guard value.isRecorded else { return Tensor.zeros([n, n], dtype: x.dtype) }
            let gradient = try GradientRecording.with(recording: false, tangents: true) {
                try gradients(of: value, wrt: [leaf])[0]
            }
            if let error = gradient.node?.tangentError { throw error }
            blocks.append(gradient.tangent?.detached ?? Tensor.zeros([k, n], dtype: x.dtype))
        }
        let rows = blocks.count == 1 ? blocks[0] : try Tensor.concatenating(blocks, alongAxis: 0)
        return symmetrized ? try ((rows + rows.transposed()) * 0.5).detached : rows.detached
    } catch AutodiffError.noForwardRule {
        return try hessianFromProducts(at: x, symmetrized: symmetrized, of: f)
    }
}

/// The full Hessian by reverse-over-reverse: one recorded backward pass, then one backward pass
/// per column through the recorded gradient graph; `symmetrized` as for `hessian(at:)`.
public func hessianFromProducts(at x: Tensor, symmetrized: Bool = true, of f: (Tensor) throws -> Tensor) throws -> Tensor {
    guard x.rank == 1 else {
        throw TensorError.invalidArgument(op: "hessian", reason: "x must be a vector, got shape \(describe(shape: x.shape))")
    }
    let n = x.count
    let leaf = x.detached.recorded()
    var columns: [Tensor] = []
    columns.reserveCapacity(n)
    try GradientRecording.with(recording: true, tangents: false) {
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
    return symmetrized ? try ((rows + rows.transposed()) * 0.5).detached : rows.detached
}
