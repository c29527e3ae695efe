import SaddleCore

/// A residual block y = x + f(x) (He et al. 2016), with `branch` f any layer whose output has
/// its input's shape. The branch's tensors appear under `branch.`.
public struct Residual: Layer {
    public var branch: any Layer

    public init(_ branch: any Layer) {
        self.branch = branch
    }

    public init(@LayerBuilder _ build: () throws -> [any Layer]) rethrows {
        branch = Sequential(try build())
    }

    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        let inner = try context.scoped("branch") { try branch(input, context: &$0) }
        guard inner.shape == input.shape else {
            throw TensorError.shapeMismatch(
                op: "residual", shapes: [input.shape, inner.shape], reason: "the branch must keep its input's shape")
        }
        return try input + inner
    }

    public var parameters: NamedTensors { branch.parameters.prefixed(by: "branch") }
    public var buffers: NamedTensors { branch.buffers.prefixed(by: "branch") }

    public func replacing(_ tensors: NamedTensors) throws -> Residual {
        Residual(try branch.replacing(tensors.scoped(to: "branch")))
    }
}
