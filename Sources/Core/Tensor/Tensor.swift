/// An n-dimensional array of `Float` or `Double` scalars, contiguous in row-major order.
///
/// `Tensor` is a value type with copy-on-write storage. Slicing rows along the first axis gives a
/// view that shares storage; every other shape operation copies. The element type is a run-time
/// tag (`dtype`) so that configurations and plugins can choose it; `converted(to:)` changes it.
///
/// A tensor may carry a node of the autodiff graph: operations on recorded tensors are recorded
/// (define-by-run), and `gradients(of:wrt:)` differentiates through them. Tensors without a
/// node are constants and cost nothing extra.
public struct Tensor: @unchecked Sendable {
    var storage: TensorStorage
    /// Offset of the first element in `storage`, in elements.
    var offset: Int
    /// The extent of each axis; empty for a scalar.
    public private(set) var shape: [Int]
    /// The autodiff node that produced this value, or nil for a constant.
    var node: GraphNode?

    init(storage: TensorStorage, offset: Int = 0, shape: [Int], node: GraphNode? = nil) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.node = node
    }

    /// Uninitialized tensor; callers write every element before it escapes (plugin kernels,
    /// whose output buffers the ABI leaves unspecified, use it from the registry).
    package init(uninitializedShape shape: [Int], dtype: DType) {
        self.init(storage: TensorStorage(count: shape.reduce(1, *), dtype: dtype), shape: shape)
    }

    /// The largest tensor a configuration, a loaded file or a transform may ask for: 2^30
    /// elements (4 GiB of Float32), so that a typo such as `"units": 1e9` is an error naming
    /// the layer instead of an attempt to allocate terabytes.
    public static let maximumConfiguredElements = 1 << 30

    /// The element type.
    public var dtype: DType { storage.dtype }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// The number of scalars (the product of the shape).
    public var count: Int { shape.reduce(1, *) }

    /// Address of the first element.
    var address: UnsafeMutableRawPointer { storage.pointer + offset * storage.dtype.byteCount }

    func pointer<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
        address.assumingMemoryBound(to: T.self)
    }

    /// This value without its autodiff node: a constant with the same storage.
    public var detached: Tensor {
        Tensor(storage: storage, offset: offset, shape: shape)
    }

    /// Address of the first element, for handing buffers to C kernels (plugins). Valid while
    /// this tensor value is alive; write only through tensors made unique with
    /// `makeUniquelyOwned()` or created for the purpose.
    public var unsafeAddress: UnsafeMutableRawPointer { address }

    /// Copies the storage if another tensor shares it (and drops the autodiff node), so that
    /// writes through `unsafeAddress` affect this tensor only.
    public mutating func makeUniquelyOwned() { prepareForMutation() }

    /// Makes the storage unique to this tensor (copying if shared) before an in-place write,
    /// and drops the autodiff node: an in-place write is never recorded.
    mutating func prepareForMutation() {
        node = nil
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(count: count, dtype: dtype)
            copy.pointer.copyMemory(from: address, byteCount: count * dtype.byteCount)
            storage = copy
            offset = 0
        }
    }

    /// Returns the same storage with a new shape of equal element count (no checks; internal).
    func viewed(as newShape: [Int]) -> Tensor {
        Tensor(storage: storage, offset: offset, shape: newShape)
    }
}

// MARK: - Reading scalars

extension Tensor {
    /// The scalars in row-major order, converted to `T`.
    public func scalars<T: TensorScalar>(as _: T.Type = T.self) -> [T] {
        let n = count
        switch dtype {
        case .float32:
            let p = pointer(Float.self)
            return (0..<n).map { T(p[$0]) }
        case .float64:
            let p = pointer(Double.self)
            return (0..<n).map { T(p[$0]) }
        }
    }

    /// The scalars as `Double`s, in row-major order.
    public var doubles: [Double] { scalars(as: Double.self) }

    /// The scalars as `Float`s, in row-major order.
    public var floats: [Float] { scalars(as: Float.self) }

    /// The single scalar of a one-element tensor.
    /// - Throws: `TensorError.invalidArgument` when the tensor holds more or fewer than one.
    public func item() throws -> Double {
        guard count == 1 else {
            throw TensorError.invalidArgument(
                op: "item", reason: "tensor of shape \(describe(shape: shape)) holds \(count) scalars, not 1")
        }
        return scalar(at: 0)
    }

    /// The scalar at flat (row-major) position `index`, as a `Double`. `index` must be valid.
    func scalar(at index: Int) -> Double {
        switch dtype {
        case .float32: Double(pointer(Float.self)[index])
        case .float64: pointer(Double.self)[index]
        }
    }

    /// The flat (row-major) position of the first NaN or infinite scalar, or nil when every
    /// scalar is finite.
    public var firstNonFiniteIndex: Int? {
        let n = count
        switch dtype {
        case .float32:
            let p = pointer(Float.self)
            return (0..<n).first { !p[$0].isFinite }
        case .float64:
            let p = pointer(Double.self)
            return (0..<n).first { !p[$0].isFinite }
        }
    }

    /// Calls `body` with the scalars as a buffer of `T`, which must be this tensor's type.
    /// - Throws: `TensorError.dtypeMismatch` when `T` is not the tensor's dtype.
    public func withUnsafeBufferPointer<T: TensorScalar, R>(
        as _: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) throws -> R {
        guard T.dtype == dtype else {
            throw TensorError.dtypeMismatch(op: "withUnsafeBufferPointer", dtypes: [dtype, T.dtype])
        }
        return try body(UnsafeBufferPointer(start: pointer(T.self), count: count))
    }

    /// Calls `body` with mutable access to the scalars, copying shared storage first. The
    /// result is a constant: a tensor written through this method loses its autodiff node.
    /// - Throws: `TensorError.dtypeMismatch` when `T` is not the tensor's dtype.
    public mutating func withUnsafeMutableBufferPointer<T: TensorScalar, R>(
        as _: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) throws -> R {
        guard T.dtype == dtype else {
            throw TensorError.dtypeMismatch(
                op: "withUnsafeMutableBufferPointer", dtypes: [dtype, T.dtype])
        }
        prepareForMutation()
        return try body(UnsafeMutableBufferPointer(start: pointer(T.self), count: count))
    }
}

extension Tensor: CustomStringConvertible {
    /// One line: the dtype, the shape and the first eight elements.
    public var description: String {
        let preview = doubles.prefix(8).map { "\($0)" }.joined(separator: ", ")
        let more = count > 8 ? ", ..." : ""
        return "Tensor(\(dtype), shape: \(describe(shape: shape)), [\(preview)\(more)])"
    }
}
