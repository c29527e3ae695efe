import Synchronization

/// Scratch memory that convolutions reuse instead of allocating it per call: the lowered input
/// of one chunk of images, the per-channel output rows, and the padded images.
///
/// A value the caller owns (not a global): every `ForwardContext` carries one, so the
/// convolutions of a forward pass and of the backward pass it records share the same buffers;
/// keep one across steps by assigning it to each step's context. Its size is bounded by the
/// chunking of `conv2d` (the lowered input of a chunk is at most 2^19 elements, and each of the
/// `ComputeThreads.count` threads works on one chunk at a time), whatever the batch. Concurrent use is safe: a workspace already in use by another thread is bypassed
/// (that call allocates its own scratch) rather than waited for.
public final class ConvolutionWorkspace: Sendable {
    private struct State {
        /// The buffers held, by dtype, grown as needed.
        var storage: [DType: [TensorStorage]] = [:]
        /// Whether a call is using the buffers.
        var inUse = false
    }

    private let state = Mutex(State())

    /// An empty workspace; buffers are allocated on first use and grown as needed.
    public init() {}

    /// The number of bytes currently held.
    public var heldBytes: Int {
        state.withLock { $0.storage.values.flatMap { $0 }.reduce(0) { $0 + $1.count * $1.dtype.byteCount } }
    }

    /// Runs `body` with scratch tensors of the given element counts (uninitialized; each a flat
    /// view), from this workspace when it is free, freshly allocated otherwise. The views must
    /// not escape `body`.
    func withScratch<R>(_ counts: [Int], dtype: DType, _ body: ([Tensor]) throws -> R) rethrows -> R {
        let storages = state.withLock { state -> [TensorStorage]? in
            guard !state.inUse else { return nil }
            state.inUse = true
            var held = state.storage[dtype] ?? []
            for (index, count) in counts.enumerated() {
                if index >= held.count {
                    held.append(TensorStorage(count: count, dtype: dtype))
                } else if held[index].count < count {
                    held[index] = TensorStorage(count: count, dtype: dtype)
                }
            }
            state.storage[dtype] = held
            return held
        }
        guard let storages else { return try body(counts.map { Tensor(uninitializedShape: [$0], dtype: dtype) }) }
        defer { state.withLock { $0.inUse = false } }
        return try body(zip(storages, counts).map { Tensor(storage: $0, shape: [$1]) })
    }
}
