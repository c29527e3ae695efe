import Synchronization

/// A contiguous, 64-byte aligned buffer of scalars shared by tensors (copy-on-write).
final class TensorStorage: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    let dtype: DType
    private let byteCount: Int

    /// Uninitialized storage for `count` elements.
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        byteCount = max(count, 1) * dtype.byteCount
        pointer = BufferPool.allocate(byteCount: byteCount)
    }

    deinit { BufferPool.release(pointer, byteCount: byteCount) }

    func typed<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}

/// Reuses large buffers between tensors of equal size.
///
/// Training repeats the same shapes every step; handing a freed buffer to the next tensor of
/// that size avoids the page faults (and the kernel's page zeroing) of fresh large
/// allocations. Buffers below `minimumBytes` go straight to the system allocator. The pool is
/// process-wide, guarded by a mutex, and holds at most `limitBytes` (SADDLE_BUFFER_CACHE_MB,
/// default 1024) of idle buffers.
enum BufferPool {
    static let minimumBytes = 1 << 16
    private static let alignment = 64
    private struct State {
        var idle: [Int: [UInt]] = [:]  // addresses by byte count
        var idleBytes = 0
    }

    private static let state = Mutex(State())
    private static let limitBytes: Int = {
        guard let text = getenv("SADDLE_BUFFER_CACHE_MB").map({ String(cString: $0) }), let megabytes = Int(text), megabytes >= 0
        else { return 1 << 30 }
        return megabytes << 20
    }()

    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumBytes {
            let reused = state.withLock { state -> UInt? in
                guard let address = state.idle[byteCount]?.popLast() else { return nil }
                state.idleBytes -= byteCount
                return address
            }
            if let reused, let pointer = UnsafeMutableRawPointer(bitPattern: reused) { return pointer }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: alignment)
    }

    static func release(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= minimumBytes {
            let address = UInt(bitPattern: pointer)
            let kept = state.withLock { state -> Bool in
                guard state.idleBytes + byteCount <= limitBytes else { return false }
                state.idle[byteCount, default: []].append(address)
                state.idleBytes += byteCount
                return true
            }
            if kept { return }
        }
        pointer.deallocate()
    }
}

import Glibc
