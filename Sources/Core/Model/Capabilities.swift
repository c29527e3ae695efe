// Capability protocols through which layers take part in model transforms (Net2Net growth,
// residual and BatchNorm insertion). Transforms use only these, never concrete layer types, so
// any layer (plugin layers included) that adopts them can be grown.

/// A layer whose output units can be replicated: unit j of the copy computes exactly what
/// unit `mapping[j]` of the original computes (incoming weights and biases copied, never
/// divided).
public protocol OutputWidening: Layer {
    /// The number of output units.
    var outputUnits: Int { get }

    /// A copy with `mapping.count` output units following `mapping`. With `noise` > 0, the
    /// incoming weights of units beyond the original count get Gaussian noise of standard
    /// deviation `noise` times the standard deviation of the layer's weights (breaking the
    /// symmetry between replicas; the function then changes slightly).
    /// - Throws: when `mapping` refers to units that do not exist.
    func wideningOutputs(to mapping: [Int], noise: Double, using generator: inout RandomGenerator) throws -> Self

    /// A copy with `count` extra output units whose incoming weights are drawn afresh (the
    /// "random pad" baseline).
    func paddingOutputs(by count: Int, using generator: inout RandomGenerator) throws -> Self
}

/// A layer whose input features can be replicated with compensation: reading feature j of a
/// widened input as a replica of feature `mapping[j]`, it divides the weights on replicas of
/// feature k by `counts[k]`, so its output is unchanged.
public protocol InputWidening: Layer {
    /// The number of input features.
    var inputFeatures: Int { get }

    /// With `split` > 0 the replicas' shares of each weight are unequal (zero-sum Gaussian
    /// offsets of standard deviation `split` times the weights' standard deviation, see
    /// `Replication.dividedColumns`): the output is still unchanged, but the replicas receive
    /// different gradients, so training can tell them apart.
    /// - Throws: when `mapping` or `counts` do not fit the inputs.
    func wideningInputs(to mapping: [Int], counts: [Int], split: Double, using generator: inout RandomGenerator) throws -> Self

    /// A copy reading `count` extra inputs with freshly drawn weights (the "random pad" baseline).
    func paddingInputs(by count: Int, using generator: inout RandomGenerator) throws -> Self
}

/// A layer acting feature by feature (activations, dropout, BatchNorm): it follows a feature
/// mapping by replicating its per-feature state.
public protocol FeatureMapping: Layer {
    /// A copy acting on features replicated by `mapping` (new feature j copies old `mapping[j]`).
    /// - Throws: when `mapping` does not fit the layer's features.
    func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) throws -> Self
}

/// A layer that reduces each group of `groupSize` consecutive features to one (a channel maxout):
/// a widening passing through it replicates whole groups, and the layers after it see one
/// feature per group.
public protocol FeatureGrouping: Layer {
    /// Input features per output feature.
    var groupSize: Int { get }

    /// A copy acting on groups replicated by `mapping` (new group j copies old `mapping[j]`).
    /// - Throws: when `mapping` does not fit the layer.
    func mappingGroups(_ mapping: [Int], using generator: inout RandomGenerator) throws -> Self
}

/// A layer whose output units are channels: axis 1 of `[batch, channels, ...]` (convolutions).
/// Only such a layer's widening may pass through a `ChannelBlockFlattening` layer.
public protocol ChannelOutputWidening: OutputWidening {}

/// A per-channel layer that lays each channel's positions out as one contiguous block of
/// features (Flatten of `[channels, h, w]` in (C, H, W) order): a widening passing through it
/// replicates whole blocks, the block size read from the next layer's input width.
public protocol ChannelBlockFlattening: FeatureMapping {}

/// A layer that can give a layer of its own kind initialized to the identity on its outputs,
/// for inserting depth without changing the function (Net2DeeperNet).
public protocol IdentityInitializable: Layer {
    /// A new layer mapping this layer's outputs to themselves exactly.
    func identityLayer() throws -> any Layer

    /// A new layer mapping this layer's outputs to zero (the last layer of a new residual
    /// branch).
    func zeroLayer() throws -> any Layer

    /// A new layer of this kind mapping its outputs to themselves, freshly initialized at random
    /// instead (the "deeper from random init" baseline).
    func randomLayer(using generator: inout RandomGenerator) throws -> any Layer
}

/// An element-wise activation that says whether phi(phi(v)) = phi(v) for every v, which
/// decides whether it may be repeated after an identity layer without changing the function.
public protocol IdempotenceReporting: Layer {
    /// Whether phi(phi(v)) = phi(v) for every v (ReLU and the identity: yes; tanh, sigmoid,
    /// leaky ReLU: no). Report false when unsure: Net2DeeperNet then refuses unless forced.
    var isIdempotent: Bool { get }
}

/// A layer made of child layers (Sequential, Residual): transforms walk and rebuild models
/// through this.
public protocol LayerContainer: Layer {
    /// The children with the path component each one's tensors appear under.
    var children: [(name: String, layer: any Layer)] { get }

    /// Whether children can be inserted and removed (a list), or only replaced.
    var isSequence: Bool { get }

    /// A copy with these children (same count unless `isSequence`).
    /// - Throws: when the children do not fit the container.
    func replacingChildren(_ layers: [any Layer]) throws -> Self

    /// A copy with `layers` inserted at `index` (sequences only), and the path components the
    /// inserted children received. The default renumbers children 0, 1, 2, ...
    /// - Throws: when the container cannot take them.
    func insertingChildren(_ layers: [any Layer], at index: Int) throws -> (container: Self, names: [String])
}

extension LayerContainer {
    /// Inserts through `replacingChildren`; the new children are numbered by position.
    public func insertingChildren(_ layers: [any Layer], at index: Int) throws -> (container: Self, names: [String]) {
        var all = children.map(\.layer)
        all.insert(contentsOf: layers, at: index)
        return (try replacingChildren(all), (index..<(index + layers.count)).map(String.init))
    }
}

/// Builds the few layers transforms insert, so that transforms need no concrete layer types;
/// the registry provides Saddle's implementation.
public protocol TransformLayerFactory: Sendable {
    /// A residual block x + branch(x).
    func residual(branch: [any Layer]) throws -> any Layer

    /// A BatchNorm over `features` that is the identity in inference mode for inputs with the
    /// given per-feature mean and (biased) variance: running statistics set to them,
    /// gamma = sqrt(variance + epsilon), beta = mean.
    func identityBatchNorm(mean: Tensor, variance: Tensor) throws -> any Layer
}
