/// `x` summed element-wise over the processes of `communicator` (every process gets the same
/// sum), as a differentiable operation: its tangent and its cotangent are summed over the
/// processes too. With the loss of a data-parallel job being the sum of the processes' terms,
/// the cotangent's sum is what each process's input contributes to the whole loss, so
/// gradients, Hessian-vector products and Hessians through it stay exact (synchronized
/// BatchNorm statistics use it). Every process must call it at the same point of its pass.
/// A single process returns `x`.
/// - Throws: `DistributedError` when the collective fails.
public func allReduced(_ x: Tensor, over communicator: any Communicator) throws -> Tensor {
    guard communicator.size > 1 else { return x }
    let value = try communicator.sum([x.detached])[0]
    return Tensor.record(
        "allReduced", inputs: [x], output: value,
        tangent: { c in try c.tangents[0].map { try allReduced($0, over: communicator) } }
    ) { c in
        [try allReduced(c.cotangent, over: communicator)]
    }
}
