/// A contiguous, 64-byte aligned buffer of scalars shared by tensors (copy-on-write).
final class TensorStorage: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    let dtype: DType

    /// Uninitialized storage for `count` elements.
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        pointer = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * dtype.byteCount, alignment: 64)
    }

    deinit { pointer.deallocate() }

    func typed<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}
