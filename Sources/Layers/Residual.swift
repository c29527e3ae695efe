import SaddleCore

/// A residual block y = a(s(x) + f(x)) (He et al. 2016): `branch` f, an optional `shortcut` s
/// (the identity when nil; a 1x1 convolution and BatchNorm when the branch changes the shape,
/// the "projection shortcut"), and an optional `activation` a applied after the sum (ResNet's
/// ReLU). The branch's tensors appear under `branch.`, the shortcut's under `shortcut.`.
///
/// A ResNet basic block is `Residual(branch: [conv 3x3, BatchNorm, ReLU, conv 3x3, BatchNorm],
/// shortcut: [conv 1x1 stride s, BatchNorm], activation: ReLU())`.
public struct Residual: Layer {
    /// The branch f.
    public var branch: any Layer
    /// The shortcut s, or nil for the identity (then f must keep its input's shape).
    public var shortcut: (any Layer)?
    /// Applied to the sum, or nil for none. It must not have tensors.
    public var activation: (any Layer)?

    /// A block around `branch` with an identity shortcut and no activation.
    public init(_ branch: any Layer) {
        self.branch = branch
    }

    /// A block y = activation(shortcut(x) + branch(x)).
    public init(branch: any Layer, shortcut: (any Layer)? = nil, activation: (any Layer)? = nil) {
        self.branch = branch
        self.shortcut = shortcut
        self.activation = activation
    }

    /// A block whose branch is a `Sequential` of the built layers.
    public init(@LayerBuilder _ build: () throws -> [any Layer]) rethrows {
        branch = Sequential(try build())
    }

    /// Applies the block; buffer updates are reported under `branch.` and `shortcut.`.
    /// - Throws: `TensorError.shapeMismatch` when the branch and the shortcut disagree in shape.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        let inner = try context.scoped("branch") { try branch(input, context: &$0) }
        let skip = try shortcut.map { s in try context.scoped("shortcut") { try s(input, context: &$0) } } ?? input
        guard inner.shape == skip.shape else {
            throw TensorError.shapeMismatch(
                op: "residual", shapes: [skip.shape, inner.shape],
                reason: shortcut == nil ? "the branch must keep its input's shape (or give the block a shortcut)" : "the branch and the shortcut must give the same shape")
        }
        let sum = try skip + inner
        return try activation.map { try $0(sum, context: &context) } ?? sum
    }

    /// The branch's trainable tensors under `branch.`, then the shortcut's under `shortcut.`.
    public var parameters: NamedTensors {
        branch.parameters.prefixed(by: "branch").merging(shortcut?.parameters.prefixed(by: "shortcut") ?? NamedTensors())
    }
    /// The branch's buffers under `branch.`, then the shortcut's under `shortcut.`.
    public var buffers: NamedTensors {
        branch.buffers.prefixed(by: "branch").merging(shortcut?.buffers.prefixed(by: "shortcut") ?? NamedTensors())
    }

    /// A copy whose branch and shortcut have the tensors under `branch.` and `shortcut.` replaced.
    public func replacing(_ tensors: NamedTensors) throws -> Residual {
        Residual(
            branch: try branch.replacing(tensors.scoped(to: "branch")),
            shortcut: try shortcut?.replacing(tensors.scoped(to: "shortcut")), activation: activation)
    }
}
