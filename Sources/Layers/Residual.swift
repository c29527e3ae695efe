import SaddleCore

/// A residual block y = x + f(x) (He et al. 2016), with `branch` f any layer whose output has
/// its input's shape. The branch's tensors appear under `branch.`.
public struct Residual: Layer {
    /// The branch f; its output must have its input's shape.
    public var branch: any Layer

    /// A block around `branch`.
    public init(_ branch: any Layer) {
        self.branch = branch
    }

    /// A block whose branch is a `Sequential` of the built layers.
    public init(@LayerBuilder _ build: () throws -> [any Layer]) rethrows {
        branch = Sequential(try build())
    }

    /// Applies the block: y = x + branch(x), the branch's buffer updates reported under `branch.`.
    /// - Throws: `TensorError.shapeMismatch` when the branch changes the shape.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        let inner = try context.scoped("branch") { try branch(input, context: &$0) }
        guard inner.shape == input.shape else {
            throw TensorError.shapeMismatch(
                op: "residual", shapes: [input.shape, inner.shape], reason: "the branch must keep its input's shape")
        }
        return try input + inner
    }

    /// The branch's trainable tensors, under `branch.`.
    public var parameters: NamedTensors { branch.parameters.prefixed(by: "branch") }
    /// The branch's buffers, under `branch.`.
    public var buffers: NamedTensors { branch.buffers.prefixed(by: "branch") }

    /// A copy whose branch has the tensors under `branch.` replaced.
    public func replacing(_ tensors: NamedTensors) throws -> Residual {
        Residual(try branch.replacing(tensors.scoped(to: "branch")))
    }
}
