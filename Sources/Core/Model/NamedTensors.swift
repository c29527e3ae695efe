/// An ordered collection of tensors under dotted paths (`0.weight`, `3.running_mean`).
///
/// Parameters, buffers, gradients and optimizer state all travel as `NamedTensors`. Order is
/// insertion order and is what files and flattened vectors follow. It is also a vector space
/// (for optimizers and curvature code): entries combine path by path.
public struct NamedTensors: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// An entry: its path and its tensor.
    public typealias Element = (path: String, tensor: Tensor)

    /// The paths, in insertion order.
    public private(set) var paths: [String] = []
    /// The tensors, in the order of `paths`.
    public private(set) var tensors: [Tensor] = []
    private var positions: [String: Int] = [:]

    /// An empty collection.
    public init() {}

    /// Entries in the order written: `["weight": w, "bias": b]`.
    public init(dictionaryLiteral elements: (String, Tensor)...) {
        for (path, tensor) in elements { self[path] = tensor }
    }

    /// Entries from pairs; a later duplicate path replaces an earlier one.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, Tensor) {
        for (path, tensor) in pairs { self[path] = tensor }
    }

    /// The number of entries.
    public var count: Int { paths.count }
    /// Whether there are no entries.
    public var isEmpty: Bool { paths.isEmpty }

    /// The tensor at `path`, or nil. Setting nil removes the entry; setting a new path appends.
    public subscript(path: String) -> Tensor? {
        get { positions[path].map { tensors[$0] } }
        set {
            if let newValue {
                if let at = positions[path] {
                    tensors[at] = newValue
                } else {
                    positions[path] = paths.count
                    paths.append(path)
                    tensors.append(newValue)
                }
            } else if let at = positions[path] {
                paths.remove(at: at)
                tensors.remove(at: at)
                positions = Dictionary(uniqueKeysWithValues: paths.enumerated().map { ($1, $0) })
            }
        }
    }

    /// Whether an entry exists at `path`.
    public func contains(_ path: String) -> Bool { positions[path] != nil }

    /// Iterates the entries as (path, tensor) pairs in insertion order.
    public func makeIterator() -> AnyIterator<Element> {
        var i = 0
        return AnyIterator {
            guard i < paths.count else { return nil }
            defer { i += 1 }
            return (paths[i], tensors[i])
        }
    }

    /// The entries with `prefix + "."` prepended to each path (unchanged for an empty prefix).
    public func prefixed(by prefix: String) -> NamedTensors {
        guard !prefix.isEmpty else { return self }
        var result = NamedTensors()
        for (path, tensor) in self { result["\(prefix).\(path)"] = tensor }
        return result
    }

    /// The entries under `prefix.`, with that prefix removed.
    public func scoped(to prefix: String) -> NamedTensors {
        let head = prefix + "."
        var result = NamedTensors()
        for (path, tensor) in self where path.hasPrefix(head) {
            result[String(path.dropFirst(head.count))] = tensor
        }
        return result
    }

    /// The entries with path prefixes renamed, for loading state dicts whose module structure
    /// differs from the model's: the first rule whose `from` is the path or a dotted prefix of
    /// it (`"3"` matches `"3.c1.weight"`, not `"30.weight"`) replaces that prefix by `to`.
    /// Paths no rule matches are kept. PyTorch's `3.c1.weight` in a hand-written block becomes
    /// Saddle's `3.branch.c1.weight` with the rule `("3", "3.branch")`.
    /// - Throws: `ModelError.invalidConfiguration` when two paths are renamed to the same one.
    public func renamingPrefixes(_ rules: [(from: String, to: String)]) throws -> NamedTensors {
        var result = NamedTensors()
        for (path, tensor) in self {
            var name = path
            for rule in rules where path == rule.from || path.hasPrefix(rule.from + ".") {
                name = rule.to + path.dropFirst(rule.from.count)
                break
            }
            guard !result.contains(name) else {
                throw ModelError.invalidConfiguration(layer: "renamingPrefixes", reason: "two tensors would be named \(name) (the second from \(path))")
            }
            result[name] = tensor
        }
        return result
    }

    /// These entries followed by `other`'s (other wins on a shared path).
    public func merging(_ other: NamedTensors) -> NamedTensors {
        var result = self
        for (path, tensor) in other { result[path] = tensor }
        return result
    }

    /// Each tensor transformed, paths kept.
    public func mapTensors(_ transform: (Tensor) throws -> Tensor) rethrows -> NamedTensors {
        var result = self
        result.tensors = try tensors.map(transform)
        return result
    }

    /// The total number of scalars.
    public var scalarCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// Paths and shapes, in order.
    public var shapes: [(path: String, shape: [Int])] { zip(paths, tensors.map(\.shape)).map { ($0, $1) } }
}

// MARK: - Vector-space operations

extension NamedTensors {
    /// Checks that `other` has the same paths, in the same order, with the same shapes.
    /// - Throws: `TensorError.shapeMismatch` naming the first differing path.
    public func checkSameLayout(as other: NamedTensors, op: String) throws {
        guard paths == other.paths else {
            let missing = paths.first { !other.contains($0) } ?? other.paths.first { !contains($0) } ?? "(order)"
            throw TensorError.invalidArgument(op: op, reason: "the tensor sets differ at path \(missing)")
        }
        for (k, path) in paths.enumerated() where tensors[k].shape != other.tensors[k].shape {
            throw TensorError.shapeMismatch(
                op: op, shapes: [tensors[k].shape, other.tensors[k].shape], reason: "at path \(path)")
        }
    }

    /// Sum over paths of the elementwise products (in Float64).
    /// - Throws: `TensorError` when the layouts differ.
    public func dot(_ other: NamedTensors) throws -> Double {
        try checkSameLayout(as: other, op: "dot")
        var total = 0.0
        for k in 0..<count {
            total += try (tensors[k].detached * other.tensors[k].detached.converted(to: tensors[k].dtype)).sum().item()
        }
        return total
    }

    /// The Euclidean norm of all entries together.
    public var norm: Double {
        tensors.reduce(0.0) { $0 + $1.squaredNorm }.squareRoot()
    }

    /// self * scale, path by path (differentiable).
    public func scaled(by scale: Double) -> NamedTensors { mapTensors { $0 * scale } }

    /// self + scale * other, path by path (differentiable).
    /// - Throws: `TensorError` when the layouts differ.
    public func adding(_ other: NamedTensors, scaledBy scale: Double = 1) throws -> NamedTensors {
        try checkSameLayout(as: other, op: "adding")
        var result = self
        result.tensors = try zip(tensors, other.tensors).map { try $0 + $1.converted(to: $0.dtype) * scale }
        return result
    }

    /// All entries concatenated into one vector of `dtype`, in order.
    public func flattened(dtype: DType = .float64) throws -> Tensor {
        guard !isEmpty else { return Tensor.zeros([0], dtype: dtype) }
        return try Tensor.concatenating(tensors.map { try $0.converted(to: dtype).reshaped(to: [$0.count]) }, alongAxis: 0)
    }

    /// Entries with this layout (paths, shapes, dtypes) filled from a flat vector.
    /// - Throws: `TensorError` when the vector's length differs from `scalarCount`.
    public func unflattening(_ vector: Tensor) throws -> NamedTensors {
        guard vector.rank == 1, vector.count == scalarCount else {
            throw TensorError.shapeMismatch(
                op: "unflattening", shapes: [vector.shape, [scalarCount]], reason: "the vector must hold every scalar once")
        }
        var result = self
        var start = 0
        for k in 0..<count {
            let n = tensors[k].count
            result.tensors[k] = try vector.narrowed(alongAxis: 0, range: start..<(start + n))
                .reshaped(to: tensors[k].shape).converted(to: tensors[k].dtype)
            start += n
        }
        return result
    }

    /// Every tensor converted to `dtype`.
    public func converted(to dtype: DType) -> NamedTensors { mapTensors { $0.converted(to: dtype) } }

    /// Every tensor as a new leaf of the autodiff graph.
    public func recorded() -> NamedTensors { mapTensors { $0.recorded() } }

    /// Every tensor without its autodiff node.
    public var detached: NamedTensors { mapTensors(\.detached) }
}

extension NamedTensors {
    /// Modifies the tensor at position `index` in place (no copy when its storage is unique).
    public mutating func modifyTensor<R>(at index: Int, _ body: (inout Tensor) throws -> R) rethrows -> R {
        try body(&tensors[index])
    }
}

extension NamedTensors {
    /// Modifies the tensor at `path` in place, inserting `initial()` first when it is absent.
    @discardableResult
    public mutating func modify<R>(
        _ path: String, insertingIfAbsent initial: () throws -> Tensor, _ body: (inout Tensor) throws -> R
    ) rethrows -> R {
        if positions[path] == nil { self[path] = try initial() }
        return try body(&tensors[positions[path] ?? 0])
    }
}
