/// What a pullback rule receives: the cotangent of the operation's output, its recorded inputs
/// and its output, and which inputs need a gradient.
///
/// When the backward pass is creating a graph (for Hessian-vector products), `cotangent`,
/// `inputs` and `output` are recorded tensors, so a pullback written with differentiable
/// `Tensor` operations is itself differentiated exactly.
public struct PullbackContext {
    /// The gradient of the differentiated scalar with respect to the operation's output.
    public let cotangent: Tensor
    /// The operation's inputs, as they were recorded.
    public let inputs: [Tensor]
    /// The operation's output. Recorded (carrying this operation's node) while creating a graph.
    public let output: Tensor
    /// True while the backward pass records a graph of its own (second-order differentiation).
    public let isCreatingGraph: Bool
    let needs: [Bool]

    /// Whether input `index` needs a gradient; a pullback may return nil for the others.
    public func needsGradient(_ index: Int) -> Bool { needs[index] }
}

/// A rule mapping the output's cotangent to one gradient per input (nil where not needed or
/// identically zero). Gradients must have their input's shape and dtype.
public typealias PullbackRule = @Sendable (PullbackContext) throws -> [Tensor?]

/// How an operation supports second-order differentiation (Hessian-vector products).
public enum SecondOrderRule: Sendable {
    /// The pullback is written with differentiable `Tensor` operations, so differentiating it
    /// (reverse-over-reverse) is exact.
    case differentiablePullback
    /// The pullback computes raw values; differentiating through it throws
    /// `AutodiffError.noSecondOrderRule` instead of returning a wrong number.
    case none
}

/// A node of the autodiff graph: one recorded operation (or a leaf that gradients are taken
/// with respect to). Nodes reference their inputs, never their consumers, so the graph is
/// freed when the last tensor referring to it goes away.
final class GraphNode: @unchecked Sendable {
    enum Kind {
        /// A tensor gradients can be taken with respect to.
        case leaf
        /// A recorded differentiable operation.
        case operation(PullbackRule, SecondOrderRule)
        /// The output of a non-differentiable operation (argmax, comparisons, one-hot):
        /// treated as a constant, and named in the error when someone differentiates it.
        case nondifferentiable
        /// A value that only carries forward-mode tangents (it is not recorded).
        case tangentOnly
    }

    let name: String
    let kind: Kind
    /// The recorded inputs (emptied by `deinit` when it tears the graph down).
    private(set) var inputs: [Tensor]
    /// The output value, without a node (no reference cycle).
    let output: Tensor
    /// Forward-mode tangents of the output, `[directions] + shape`, when they are being
    /// propagated (forward-over-reverse second derivatives).
    var tangent: Tensor?
    /// Why the tangent could not be computed (an operation without a forward-mode rule).
    var tangentError: AutodiffError?

    init(name: String, kind: Kind, inputs: [Tensor], output: Tensor) {
        self.name = name
        self.kind = kind
        self.inputs = inputs
        self.output = output.detached
    }

    /// Frees the graph below this node without recursion: a chain of 50,000 recorded
    /// operations would otherwise release each node from its consumer's `deinit`, one stack
    /// frame per node, and overflow the stack. Nodes that are the last reference to their
    /// inputs' nodes hand those over to an explicit work list instead.
    deinit {
        guard !inputs.isEmpty || tangent?.node != nil else { return }
        var pending: [GraphNode] = []
        detachChildren(into: &pending)
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) { node.detachChildren(into: &pending) }
            // `node` is released here; its own inputs were moved out, so its deinit is shallow.
        }
    }

    /// Moves the nodes of this node's inputs and tangent into `pending`, leaving them empty.
    private func detachChildren(into pending: inout [GraphNode]) {
        for index in inputs.indices {
            if let child = inputs[index].node {
                inputs[index].node = nil
                pending.append(child)
            }
        }
        inputs.removeAll()
        if let child = tangent?.node {
            tangent?.node = nil
            pending.append(child)
        }
    }

    /// Whether gradients flow through this node.
    var isDifferentiable: Bool {
        switch kind {
        case .nondifferentiable, .tangentOnly: false
        default: true
        }
    }
}

/// Controls whether operations are recorded for differentiation.
///
/// Recording is task-local: `withoutRecording` turns it off for the current task (and tasks it
/// creates) for the duration of a closure, like PyTorch's `no_grad`. Operations whose inputs
/// carry no autodiff node are never recorded and cost nothing extra in any case.
public enum GradientRecording {
    /// What operations do besides computing values.
    struct State: Sendable {
        /// Record operations on recorded tensors (reverse mode).
        var recording = true
        /// Propagate forward-mode tangents of inputs that carry them.
        var tangents = false
    }

    @TaskLocal static var state = State()

    /// Whether operations on recorded tensors are currently recorded.
    public static var isEnabled: Bool { state.recording }

    /// Runs `body` with recording off: results carry no autodiff node.
    public static func withoutRecording<R>(_ body: () throws -> R) rethrows -> R {
        var next = state
        next.recording = false
        return try $state.withValue(next) { try body() }
    }

    /// Runs `body` with recording on (the default state), even inside `withoutRecording`
    /// (like `torch.enable_grad`): for gradients taken inside an evaluation, such as an
    /// adversarial perturbation computed within a loss.
    public static func withRecording<R>(_ body: () throws -> R) rethrows -> R {
        var next = state
        next.recording = true
        return try $state.withValue(next) { try body() }
    }

    /// Runs `body` with recording and tangent propagation as given.
    static func with<R>(recording: Bool, tangents: Bool, _ body: () throws -> R) rethrows -> R {
        try $state.withValue(State(recording: recording, tangents: tangents)) { try body() }
    }
}

extension Tensor {
    /// Whether this tensor carries a differentiable autodiff node (a leaf or a recorded result).
    public var isRecorded: Bool { node?.isDifferentiable ?? false }

    /// A copy that is a new leaf of the autodiff graph: operations on it are recorded and
    /// `gradients(of:wrt:)` can differentiate with respect to it.
    public func recorded() -> Tensor {
        var copy = detached
        copy.node = GraphNode(name: "leaf", kind: .leaf, inputs: [], output: copy)
        return copy
    }

    /// Records `output = name(inputs)` with its pullback, returning `output` attached to the
    /// graph, or `output` unchanged when no input is recorded or recording is off.
    ///
    /// This is how every built-in differentiable operation is defined, and the public way to
    /// add one from Swift: compute the output from the inputs' values (without recording),
    /// then call `record` with a pullback. Write the pullback with differentiable `Tensor`
    /// operations and `secondOrder: .differentiablePullback` (the default), and Hessian-vector
    /// products through the operation are exact; declare `.none` when it computes raw values.
    ///
    /// `tangent`, the operation's forward-mode rule, maps the inputs' tangents to the output's
    /// (see `TangentContext`); full Hessians use it (forward-over-reverse, many directions in
    /// one pass). An operation without one still differentiates in reverse mode, and full
    /// Hessians through it fall back to Hessian-vector products.
    public static func record(
        _ name: String, inputs: [Tensor], output: Tensor,
        secondOrder: SecondOrderRule = .differentiablePullback,
        tangent: TangentRule? = nil,
        pullback: @escaping PullbackRule
    ) -> Tensor {
        let state = GradientRecording.state
        var node: GraphNode?
        if state.recording, inputs.contains(where: \.isRecorded) {
            node = GraphNode(name: name, kind: .operation(pullback, secondOrder), inputs: inputs, output: output)
        }
        if state.tangents, let (value, error) = propagateTangent(name, inputs: inputs, output: output, rule: tangent) {
            let carrier = node ?? GraphNode(name: name, kind: .tangentOnly, inputs: [], output: output)
            carrier.tangent = value
            carrier.tangentError = error
            node = carrier
        }
        guard let node else {
            // With recording suspended nothing is recorded, not even markers.
            return state.recording ? inheritingNondifferentiableOrigin(of: inputs, output) : output
        }
        var result = output.detached
        result.node = node
        return result
    }

    /// `output` carrying the marker of a non-differentiable input (argmax, a comparison), so
    /// that differentiating a value computed only from such outputs names the culprit.
    private static func inheritingNondifferentiableOrigin(of inputs: [Tensor], _ output: Tensor) -> Tensor {
        guard let marker = inputs.lazy.compactMap(\.node).first(where: { !$0.isDifferentiable }) else { return output }
        var result = output.detached
        result.node = marker
        return result
    }

    /// Marks `output` as the result of the non-differentiable operation `name`: it is a
    /// constant for every consumer, and differentiating it directly throws
    /// `AutodiffError.notDifferentiable` naming the operation.
    public static func recordNondifferentiable(
        _ name: String, inputs: [Tensor], output: Tensor
    ) -> Tensor {
        guard inputs.contains(where: \.isRecorded), GradientRecording.isEnabled else {
            return output
        }
        var result = output.detached
        result.node = GraphNode(name: name, kind: .nondifferentiable, inputs: [], output: output)
        return result
    }
}
