import CSaddlePluginABI
import SaddleCore
import Synchronization

// Values the host hands to plugin functions in ABI 1.1: shapes, string hyperparameters and
// per-example random streams.

extension saddle_shape {
    /// A shape holding `dims` (at most SADDLE_MAX_RANK of them; callers check the rank).
    init(_ dims: [Int]) {
        self.init()
        rank = Int32(dims.count)
        withUnsafeMutableBytes(of: &self.dims) { raw in
            let slots = raw.bindMemory(to: Int64.self)
            for (k, d) in dims.prefix(slots.count).enumerated() { slots[k] = Int64(d) }
        }
    }

    /// The dims, or nil when a plugin's answer is out of range: the rank must be 1 to
    /// SADDLE_MAX_RANK, every dim at least 1, and the element count within the tensor size limit.
    var checkedDims: [Int]? {
        guard rank >= 1, rank <= Int32(SADDLE_MAX_RANK) else { return nil }
        let values = withUnsafeBytes(of: dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(rank))) }
        guard values.allSatisfy({ $0 >= 1 && $0 <= Int64(Tensor.maximumConfiguredElements) }) else { return nil }
        let dims = values.map(Int.init)
        guard dims.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) <= Tensor.maximumConfiguredElements else { return nil }
        return dims
    }

    /// The rank and dims as text, for error messages ("rank 2 [3, 0]").
    var text: String {
        let count = Swift.max(0, Swift.min(Int(rank), Int(SADDLE_MAX_RANK)))
        let values = withUnsafeBytes(of: dims) { Array($0.bindMemory(to: Int64.self).prefix(count)) }
        return "rank \(rank) \(values)"
    }
}

/// Runs `body` with a pointer to a `saddle_shape` holding `dims`.
func withShape<R>(_ dims: [Int], _ body: (UnsafeMutablePointer<saddle_shape>) throws -> R) rethrows -> R {
    var shape = saddle_shape(dims)
    return try body(&shape)
}

/// NUL-terminated copies of strings, kept alive as a C array `const char *const *` for as long
/// as this value lives (string hyperparameters for 'S' and shape functions).
final class CStringArray: @unchecked Sendable {
    let strings: [String]
    private let storage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        self.strings = strings
        storage = .allocate(capacity: strings.count + 1)
        for (k, string) in strings.enumerated() {
            let bytes = Array(string.utf8CString)
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
            copy.initialize(from: bytes, count: bytes.count)
            storage[k] = copy
        }
        storage[strings.count] = nil
    }

    deinit {
        for k in 0..<strings.count { storage[k]?.deallocate() }
        storage.deallocate()
    }

    /// The array, for kernels ('S').
    var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage) }

    /// The array, for shape functions.
    var pointer: UnsafePointer<UnsafePointer<CChar>?> { UnsafeRawPointer(storage).assumingMemoryBound(to: UnsafePointer<CChar>?.self) }
}

/// The per-example random streams of one layer pass ('r'): example e draws from
/// `base.derived(key: offset + e)`, as the built-in dropout does, and every kernel call of the
/// pass gets fresh streams from the same `base`, so the backward kernel replays the forward
/// kernel's draws.
struct RandomStreams: Sendable {
    let base: RandomGenerator
    let offset: Int
    let batch: Int

    /// The streams drawn from so far; a kernel may draw from `parallel_for` bodies, so under a lock.
    private final class Box: Sendable {
        let streams: RandomStreams
        let generators = Mutex<[Int: RandomGenerator]>([:])
        init(_ streams: RandomStreams) { self.streams = streams }
    }

    /// Runs `body` with a `saddle_random` over fresh streams.
    func with<R>(_ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        let box = Box(self)
        var random = saddle_random(
            struct_size: UInt32(MemoryLayout<saddle_random>.size), context: Unmanaged.passUnretained(box).toOpaque(),
            uniform: { context, example, values, count in
                guard let context, let values, count >= 0 else { return SADDLE_ERROR }
                let box = Unmanaged<Box>.fromOpaque(context).takeUnretainedValue()
                guard example >= 0, example < Int64(box.streams.batch) else { return SADDLE_ERROR }
                let e = Int(example)
                box.generators.withLock { generators in
                    var generator = generators[e] ?? box.streams.base.derived(key: UInt64(box.streams.offset + e))
                    for k in 0..<Int(count) { values[k] = generator.nextUniform() }
                    generators[e] = generator
                }
                return SADDLE_OK
            })
        return try withExtendedLifetime(box) { try body(&random) }
    }
}
