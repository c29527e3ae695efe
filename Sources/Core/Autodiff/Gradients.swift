/// Errors from differentiation.
public enum AutodiffError: Error, Equatable, CustomStringConvertible {
    /// The differentiated value was not computed from recorded tensors.
    case notRecorded(what: String)
    /// The value came from an operation that has no derivative.
    case notDifferentiable(op: String)
    /// A second-order derivative was asked through an operation that has no second-order rule.
    case noSecondOrderRule(op: String)
    /// A pullback returned a gradient whose shape or dtype differs from its input's.
    case badPullback(op: String, input: Int, expected: [Int], actual: [Int])
    /// The differentiated value is not a scalar and no seed cotangent was given.
    case nonScalarOutput(shape: [Int])
    /// Forward-mode tangents were asked through an operation without a forward-mode rule.
    case noForwardRule(op: String)

    /// A sentence naming the operation (or value) and what went wrong.
    public var description: String {
        switch self {
        case let .notRecorded(what):
            return "\(what) is not recorded for differentiation; call recorded() on the tensors to differentiate with respect to, and compute the value from them with recording on"
        case let .notDifferentiable(op):
            return "\(op) is not differentiable: its output is piecewise constant, so it has no gradient"
        case let .noSecondOrderRule(op):
            return "\(op) has no second-order rule, so exact Hessian-vector products cannot pass through it"
        case let .badPullback(op, input, expected, actual):
            return "the pullback of \(op) returned a gradient of shape \(describe(shape: actual)) for input \(input) of shape \(describe(shape: expected))"
        case let .nonScalarOutput(shape):
            return "gradients need a scalar output or a seed cotangent; the output has shape \(describe(shape: shape))"
        case let .noForwardRule(op):
            return "\(op) has no forward-mode (tangent) rule"
        }
    }
}

/// Reverse-mode differentiation over the recorded graph.
///
/// Returns the gradient of `output` with respect to each of `inputs` (zeros for inputs the
/// output does not depend on). `output` must be a scalar unless `seed`, the cotangent of
/// `output`, is given. With `creatingGraph: true` the backward pass is itself recorded, so the
/// gradients can be differentiated again (Hessian-vector products, reverse-over-reverse).
///
/// - Throws: `AutodiffError` when `output` or an input is not recorded, when the graph passes
///   through a non-differentiable operation that `output` is, or a pullback fails.
public func gradients(
    of output: Tensor, wrt inputs: [Tensor], seed: Tensor? = nil, creatingGraph: Bool = false
) throws -> [Tensor] {
    guard let root = output.node else { throw AutodiffError.notRecorded(what: "the differentiated value") }
    guard root.isDifferentiable else { throw AutodiffError.notDifferentiable(op: root.name) }
    let rootCotangent: Tensor
    if let seed {
        guard seed.shape == output.shape else {
            throw TensorError.shapeMismatch(
                op: "gradients", shapes: [output.shape, seed.shape],
                reason: "the seed cotangent must have the output's shape")
        }
        rootCotangent = seed.converted(to: output.dtype)
    } else {
        guard output.count == 1 else { throw AutodiffError.nonScalarOutput(shape: output.shape) }
        rootCotangent = Tensor(filling: 1, shape: output.shape, dtype: output.dtype)
    }
    let plan = try BackwardPlan(root: root, inputs: inputs)
    return try plan.run(seed: rootCotangent, creatingGraph: creatingGraph)
}

/// The part of a backward pass that depends only on the graph: the nodes between the output
/// and the inputs in reverse topological order, with each node's input positions. Running it
/// for several seeds (the rows of a Jacobian) sorts the graph once.
struct BackwardPlan {
    private let order: [GraphNode]
    private let relevant: [Bool]
    private let inputPositions: [[Int?]]
    /// Per node, which inputs lead to a target.
    private let needs: [[Bool]]
    private let isTarget: [Bool]
    private let targetPositions: [Int?]
    private let inputs: [Tensor]

    /// - Throws: `AutodiffError` when an input is not recorded or not differentiable.
    init(root: GraphNode, inputs: [Tensor]) throws {
        var targets: [ObjectIdentifier] = []
        for (i, input) in inputs.enumerated() {
            guard let node = input.node else { throw AutodiffError.notRecorded(what: "input \(i) of gradients(of:wrt:)") }
            guard node.isDifferentiable else { throw AutodiffError.notDifferentiable(op: node.name) }
            targets.append(ObjectIdentifier(node))
        }
        let order = topologicalOrder(from: root)
        var position: [ObjectIdentifier: Int] = [:]
        position.reserveCapacity(order.count)
        for (i, node) in order.enumerated() { position[ObjectIdentifier(node)] = i }
        let targetSet = Set(targets)
        var relevant = [Bool](repeating: false, count: order.count)
        var inputPositions: [[Int?]] = []
        inputPositions.reserveCapacity(order.count)
        var isTarget = [Bool](repeating: false, count: order.count)
        for (i, node) in order.enumerated() {
            let positions = node.inputs.map { $0.node.flatMap { position[ObjectIdentifier($0)] } }
            inputPositions.append(positions)
            isTarget[i] = targetSet.contains(ObjectIdentifier(node))
            // Relevant: some target is reachable from this node (it is one, or an input is).
            relevant[i] = isTarget[i] || positions.contains { $0.map { relevant[$0] } ?? false }
        }
        self.order = order
        self.relevant = relevant
        self.inputPositions = inputPositions
        self.needs = inputPositions.map { positions in positions.map { $0.map { relevant[$0] } ?? false } }
        self.isTarget = isTarget
        self.targetPositions = targets.map { position[$0] }
        self.inputs = inputs
    }

    /// Gradients of the output (cotangent `seed`) with respect to the inputs. When forward-mode
    /// tangents are being propagated (forward-over-reverse), the backward pass composes
    /// differentiable operations so that the gradients carry tangents too.
    func run(seed: Tensor, creatingGraph: Bool) throws -> [Tensor] {
        let tangents = GradientRecording.state.tangents
        let composed = creatingGraph || tangents
        var cotangents = [Tensor?](repeating: nil, count: order.count)
        cotangents[order.count - 1] = seed
        let sweep = {
            for i in stride(from: order.count - 1, through: 0, by: -1) {
                let node = order[i]
                guard relevant[i], let cotangent = cotangents[i],
                    case let .operation(rule, secondOrder) = node.kind
                else { continue }
                if !isTarget[i] { cotangents[i] = nil }
                let positions = inputPositions[i]
                let needs = self.needs[i]
                guard needs.contains(true) else { continue }
                let grads = try pullback(
                    node, rule: rule, secondOrder: secondOrder, cotangent: cotangent,
                    needs: needs, creatingGraph: creatingGraph, tangents: tangents)
                for (k, grad) in grads.enumerated() where k < needs.count && needs[k] {
                    guard let grad, let target = positions[k] else { continue }
                    let input = node.inputs[k]
                    guard grad.shape == input.shape, grad.dtype == input.dtype else {
                        throw AutodiffError.badPullback(op: node.name, input: k, expected: input.shape, actual: grad.shape)
                    }
                    if let existing = cotangents[target] {
                        cotangents[target] = composed ? try existing + grad : existing.accumulating(grad)
                    } else {
                        cotangents[target] = grad
                    }
                }
            }
        }
        try GradientRecording.with(recording: creatingGraph, tangents: tangents, sweep)
        return inputs.enumerated().map { k, input in
            if let at = targetPositions[k], let gradient = cotangents[at] { return gradient }
            return input.detached.zerosLike()
        }
    }
}

/// Runs one node's pullback. While a graph is recorded or tangents propagate, the pullback
/// composes differentiable operations; an operation without a second-order rule then computes
/// its gradients as constants, attached to a node that refuses further differentiation (or
/// carrying a tangent error).
private func pullback(
    _ node: GraphNode, rule: PullbackRule, secondOrder: SecondOrderRule, cotangent: Tensor,
    needs: [Bool], creatingGraph: Bool, tangents: Bool
) throws -> [Tensor?] {
    var output = node.output
    if creatingGraph {
        output.node = node
    } else if tangents, let tangent = node.tangent {
        output = output.withTangent(tangent)
    }
    let composed = creatingGraph || tangents
    let context = PullbackContext(
        cotangent: cotangent, inputs: node.inputs, output: output,
        isCreatingGraph: composed, needs: needs)
    guard composed, case .none = secondOrder else { return try rule(context) }
    let raw = try GradientRecording.with(recording: false, tangents: false) { try rule(context) }
    let name = node.name
    return raw.map { grad in
        grad.map { value in
            var result = value
            if creatingGraph {
                result = Tensor.record("pullback of \(name)", inputs: node.inputs + [cotangent], output: value) { _ in
                    throw AutodiffError.noSecondOrderRule(op: name)
                }
            }
            if tangents {
                let carrier = result.node ?? GraphNode(name: "pullback of \(name)", kind: .tangentOnly, inputs: [], output: value)
                carrier.tangentError = .noSecondOrderRule(op: name)
                result.node = carrier
            }
            return result
        }
    }
}

/// Nodes reachable from `root` through differentiable nodes, inputs before consumers
/// (iterative depth-first search, so deep graphs cannot overflow the stack).
private func topologicalOrder(from root: GraphNode) -> [GraphNode] {
    var order: [GraphNode] = []
    var visited: Set<ObjectIdentifier> = [ObjectIdentifier(root)]
    var stack: [(node: GraphNode, next: Int)] = [(root, 0)]
    while !stack.isEmpty {
        let (node, next) = stack[stack.count - 1]
        if next < node.inputs.count {
            stack[stack.count - 1].next += 1
            if let child = node.inputs[next].node, child.isDifferentiable,
                visited.insert(ObjectIdentifier(child)).inserted
            {
                stack.append((child, 0))
            }
        } else {
            order.append(node)
            stack.removeLast()
        }
    }
    return order
}
