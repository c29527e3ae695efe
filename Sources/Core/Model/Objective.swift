/// The loss at one parameter point, with the layer state that evaluation produced.
public struct ObjectiveOutput {
    /// The scalar loss (recorded when the parameters were).
    public var loss: Tensor
    /// New buffer values (BatchNorm running statistics) to commit if this point is accepted.
    public var state: NamedTensors
    /// The model's output, when the objective has one (for accuracy).
    public var prediction: Tensor?

    /// An output with `loss` and, when there are any, the layer state and prediction that came with it.
    public init(loss: Tensor, state: NamedTensors = NamedTensors(), prediction: Tensor? = nil) {
        self.loss = loss
        self.state = state
        self.prediction = prediction
    }
}

/// A scalar function of named parameters: what optimizers and curvature analyses work on.
///
/// An objective evaluates at any parameter point without mutating anything (like
/// `torch.func.functional_call`): layer state comes back in `ObjectiveOutput.state`, so line
/// searches, Hessian-vector products and interpolations never move running statistics.
/// Implement `loss(at:)` with differentiable operations; value, gradient and exact
/// Hessian-vector products follow.
public protocol Objective: Sendable {
    /// The parameter point the objective is naturally evaluated around (the model's own).
    var parameters: NamedTensors { get }

    /// The loss at `parameters` (which may be recorded tensors; keep the computation
    /// differentiable in them).
    /// - Throws: whatever evaluating the model throws.
    func loss(at parameters: NamedTensors) throws -> ObjectiveOutput

    /// The same objective computing in `dtype` (a converted copy; curvature analyses of
    /// Float32 models run in Float64). The default returns the objective unchanged.
    func converted(to dtype: DType) throws -> Self

    /// Sums quantities computed from this process's `loss(at:)` over every shard of a
    /// data-parallel objective (`DataParallelObjective`: one collective over a fused buffer).
    /// Values, gradients, Hessian-vector products and Hessians all pass through it, so an
    /// optimizer or analysis sees the whole objective. The default, for an objective held by
    /// one process, returns `values` unchanged.
    /// - Throws: `DistributedError` when the collective fails.
    func summedOverShards(_ values: [Tensor]) throws -> [Tensor]
}

extension Objective {
    /// The objective unchanged, ignoring `dtype` (the default).
    public func converted(to dtype: DType) throws -> Self { self }

    /// `values` unchanged: the objective is held whole by this process (the default).
    public func summedOverShards(_ values: [Tensor]) throws -> [Tensor] { values }
}

/// Value and gradient at one point.
public struct ObjectiveGradient {
    /// The loss value.
    public var value: Double
    /// The gradient, under the parameters' paths.
    public var gradient: NamedTensors
    /// New buffer values the evaluation produced, to commit if this point is accepted.
    public var state: NamedTensors
    /// The model's output (detached), when the objective has one.
    public var prediction: Tensor?
}

extension Objective {
    /// The loss value at `parameters`, recording nothing.
    public func value(at parameters: NamedTensors) throws -> Double {
        try evaluation(at: parameters).value
    }

    /// The loss value, the layer state and the prediction at `parameters`: a forward pass
    /// only, recording nothing (for optimizers that take the gradient elsewhere).
    public func evaluation(at parameters: NamedTensors) throws -> (value: Double, state: NamedTensors, prediction: Tensor?) {
        let (value, state, prediction) = try GradientRecording.withoutRecording {
            let output = try loss(at: parameters.detached)
            return (output.loss.detached, output.state, output.prediction?.detached)
        }
        return (try summedOverShards([value])[0].item(), state, prediction)
    }

    /// The loss value and its gradient with respect to every parameter.
    /// - Throws: `AutodiffError` when the loss does not depend differentiably on the parameters.
    public func valueAndGradient(at parameters: NamedTensors) throws -> ObjectiveGradient {
        let leaves = parameters.recorded()
        let output = try GradientRecording.withRecording { try loss(at: leaves) }
        let local = output.loss.isRecorded
            ? try gradients(of: output.loss, wrt: leaves.tensors) : leaves.tensors.map { $0.detached.zerosLike() }
        // One collective for the value and every gradient (the identity in one process).
        let summed = try summedOverShards([output.loss.detached] + local)
        let value = try summed[0].item()
        let grads = summed.dropFirst()
        var gradient = parameters.detached
        for (k, g) in grads.enumerated() { gradient[gradient.paths[k]] = g }
        return ObjectiveGradient(value: value, gradient: gradient, state: output.state, prediction: output.prediction?.detached)
    }

    /// The exact Hessian-vector product H v at `parameters` (reverse-over-reverse: the gradient
    /// is computed with a recorded backward pass, then g . v is differentiated again).
    /// - Throws: `AutodiffError.noSecondOrderRule` when the loss passes through an operation
    ///   without a second-order rule; `TensorError` when `direction`'s layout differs.
    public func hessianVectorProduct(at parameters: NamedTensors, along direction: NamedTensors) throws -> NamedTensors {
        try parameters.checkSameLayout(as: direction, op: "hessianVectorProduct")
        let products = try summedOverShards(
            SaddleCore.hessianVectorProduct(at: parameters.tensors, along: direction.tensors) { leaves in
                try loss(at: NamedTensors(zip(parameters.paths, leaves))).loss
            })
        var result = parameters.detached
        for (k, p) in products.enumerated() { result[result.paths[k]] = p }
        return result
    }
}

/// The loss of a model on one batch: `loss(model(input), target)` as a function of the model's
/// parameters, in the given mode.
public struct SupervisedObjective: Objective {
    /// The model whose parameters the objective is a function of.
    public var model: any Layer
    /// The loss comparing the model's output with `target`.
    public var lossFunction: any Loss
    /// The batch's inputs.
    public var input: Tensor
    /// The batch's targets.
    public var target: Tensor
    /// The forward mode every evaluation runs in.
    public var mode: ForwardMode
    /// The generator each evaluation starts from, so repeated evaluations (line searches)
    /// see the same dropout masks.
    public var random: RandomGenerator
    /// The global index of `input`'s first example in its batch (nonzero for a shard of a
    /// data-parallel batch; keys the dropout masks, see `ForwardContext.exampleOffset`).
    public var exampleOffset = 0
    /// The processes whose batch statistics BatchNorm shares in training mode (see
    /// `ForwardContext.statisticsCommunicator`); nil for each process's own.
    public var statisticsCommunicator: (any Communicator)?

    /// The objective `loss(model(input), target)`, evaluated in `mode` starting from `random`.
    public init(
        model: any Layer, loss: any Loss, input: Tensor, target: Tensor, mode: ForwardMode = .training,
        random: RandomGenerator = RandomGenerator(seed: 0)
    ) {
        self.model = model
        self.lossFunction = loss
        self.input = input
        self.target = target
        self.mode = mode
        self.random = random
    }

    /// The model's own parameters.
    public var parameters: NamedTensors { model.parameters }

    /// A copy whose model tensors, input and target are in `dtype`.
    public func converted(to dtype: DType) throws -> SupervisedObjective {
        var copy = self
        copy.model = try model.replacing(model.tensors.converted(to: dtype))
        copy.input = input.converted(to: dtype)
        copy.target = target.converted(to: dtype)
        return copy
    }

    /// The loss and its gradient with respect to the input (`[batch, ...]`, the input's
    /// shape), at `parameters` (the model's own when nil): what saliency maps and adversarial
    /// examples (the fast gradient sign method steps along its sign) need. Nothing is mutated.
    /// - Throws: whatever evaluating the model throws; `AutodiffError` when the loss does not
    ///   depend differentiably on the input.
    public func inputGradient(at parameters: NamedTensors? = nil) throws -> (value: Double, gradient: Tensor) {
        let evaluated = try parameters.map { try model.replacing($0.detached) } ?? model
        let leaf = input.detached.recorded()
        let value = try GradientRecording.withRecording { () throws -> Tensor in
            var context = ForwardContext(mode: mode, random: random)
            context.exampleOffset = exampleOffset
            context.statisticsCommunicator = statisticsCommunicator
            return try lossFunction(try evaluated(leaf, context: &context), target)
        }
        guard value.isRecorded else { return (try value.item(), leaf.detached.zerosLike()) }
        return (try value.item(), try gradients(of: value, wrt: [leaf])[0])
    }

    /// Runs the model with `parameters` on `input` and applies the loss against `target`; the buffer
    /// updates and the prediction come with it.
    public func loss(at parameters: NamedTensors) throws -> ObjectiveOutput {
        let evaluated = try model.replacing(parameters)
        var context = ForwardContext(mode: mode, random: random)
        context.exampleOffset = exampleOffset
        context.statisticsCommunicator = statisticsCommunicator
        let prediction = try evaluated(input, context: &context)
        let value = try lossFunction(prediction, target)
        return ObjectiveOutput(loss: value, state: context.bufferUpdates, prediction: prediction)
    }
}
