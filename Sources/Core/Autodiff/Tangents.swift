/// What a forward-mode rule receives: the operation's input values, their tangents and its
/// output. Tangents are batched: a tangent of a value of shape `s` has shape
/// `[directions] + s`, one slice per direction, and nil stands for zero.
public struct TangentContext {
    /// Input values (constants).
    public let inputs: [Tensor]
    /// Input tangents, `[directions] + input shape`, nil where zero.
    public let tangents: [Tensor?]
    /// The output value (a constant).
    public let output: Tensor
    /// The number of tangent directions.
    public let directions: Int

    /// The tangent of input `k` with singleton axes inserted after the direction axis so that
    /// it broadcasts against output-shaped values; nil when zero.
    public func lifted(_ k: Int) throws -> Tensor? {
        guard let t = tangents[k] else { return nil }
        let rank = inputs[k].rank
        let outputRank = output.rank
        guard rank < outputRank else { return t }
        return try t.reshaped(to: [directions] + [Int](repeating: 1, count: outputRank - rank) + inputs[k].shape)
    }

    /// `tangent` broadcast to the full output tangent shape `[directions] + output shape`.
    public func complete(_ tangent: Tensor) throws -> Tensor {
        let target = [directions] + output.shape
        return tangent.shape == target ? tangent : try tangent.broadcasted(to: target)
    }

    /// The sum of the lifted tangents of the given inputs, each scaled by its factor
    /// (output-broadcastable), completed to the output tangent shape; nil when all are zero.
    public func linearCombination(_ terms: [(input: Int, factor: Tensor?)]) throws -> Tensor? {
        var total: Tensor?
        for (k, factor) in terms {
            guard var t = try lifted(k) else { continue }
            if let factor { t = try t * factor }
            total = try total.map { try $0 + t } ?? t
        }
        return try total.map(complete)
    }
}

/// A forward-mode rule: the output's tangent from the inputs' tangents (nil for zero).
public typealias TangentRule = @Sendable (TangentContext) throws -> Tensor?

extension Tensor {
    /// The forward-mode tangent this tensor carries, if any.
    var tangent: Tensor? { node?.tangent }

    /// A copy of this tensor carrying `tangent` (`[directions] + shape`) for forward mode,
    /// keeping its autodiff node (and so its place in a recorded graph).
    func withTangent(_ tangent: Tensor) -> Tensor {
        var copy = self
        let node = self.node ?? GraphNode(name: "tangent", kind: .tangentOnly, inputs: [], output: self)
        node.tangent = tangent
        copy.node = node
        return copy
    }

    /// The output tangent of an operation: nil when no input carries one, otherwise the rule's
    /// result or the error that kept it from being computed.
    static func propagateTangent(_ name: String, inputs: [Tensor], output: Tensor, rule: TangentRule?) -> (Tensor?, AutodiffError?)? {
        guard let carrier = inputs.first(where: { $0.node?.tangent != nil || $0.node?.tangentError != nil }) else { return nil }
        if let error = inputs.lazy.compactMap({ $0.node?.tangentError }).first { return (nil, error) }
        guard let rule else { return (nil, .noForwardRule(op: name)) }
        let directions = carrier.node?.tangent?.shape.first ?? 1
        let context = TangentContext(
            inputs: inputs.map(\.detached), tangents: inputs.map(\.tangent), output: output.detached, directions: directions)
        do {
            let value = try GradientRecording.with(recording: false, tangents: false) { try rule(context) }
            return (value, nil)
        } catch let error as AutodiffError {
            return (nil, error)
        } catch {
            return (nil, .noForwardRule(op: "\(name) (\(error))"))
        }
    }
}
