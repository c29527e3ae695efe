/// One process's share of an objective whose data is split over the ranks of a job: the loss
/// over the whole global batch is the sum over ranks of each shard's mean loss weighted by its
/// share of the examples, `L = sum_r (n_r / N) L_r`.
///
/// `loss(at:)` is this rank's weighted term; values, gradients, Hessian-vector products and
/// Hessians are summed over ranks by `summedOverShards` (one collective over a fused buffer),
/// so optimizers (the Newton family included) and curvature analyses work on `L` unchanged.
/// Every rank must evaluate the same sequence of quantities.
public struct DataParallelObjective<Base: Objective>: Objective {
    /// This rank's shard as an objective (its mean loss over `examples` examples).
    public var base: Base
    /// The job's processes.
    public var communicator: any Communicator
    /// The examples in this rank's shard.
    public var examples: Int
    /// The examples over all ranks (the global batch).
    public var globalExamples: Int

    /// The objective of the global batch from this rank's `base` over `examples` of
    /// `globalExamples` examples. A rank with no examples contributes zero (its `base` is never
    /// evaluated).
    public init(base: Base, communicator: any Communicator, examples: Int, globalExamples: Int) {
        self.base = base
        self.communicator = communicator
        self.examples = examples
        self.globalExamples = Swift.max(globalExamples, 1)
    }

    /// The base objective's parameters.
    public var parameters: NamedTensors { base.parameters }

    /// This rank's term `(n_r / N) L_r` (recorded when the parameters are); zero on an empty shard.
    public func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        guard examples > 0 else {
            // Zero, but recorded through the parameters so that derivatives exist (and vanish).
            var zero = Tensor(0, dtype: parameters.tensors.first?.dtype ?? .float64)
            for p in parameters.tensors { zero = try zero + (p * 0).sum() }
            return ObjectiveOutput(loss: zero)
        }
        var output = try base.loss(at: parameters)
        output.loss = try output.loss * (Double(examples) / Double(globalExamples))
        return output
    }

    /// The same shard in `dtype`.
    public func converted(to dtype: DType) throws -> DataParallelObjective<Base> {
        var copy = self
        copy.base = try base.converted(to: dtype)
        return copy
    }

    /// The sum over ranks, in one collective.
    public func summedOverShards(_ values: [Tensor]) throws -> [Tensor] {
        try communicator.sum(values)
    }
}
