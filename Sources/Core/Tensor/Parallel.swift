import Dispatch
import Foundation
import Synchronization

/// The number of threads Saddle's kernels use: Saddle owns the cores.
///
/// OpenBLAS runs one thread per call, and Saddle splits the work itself: matrix products by
/// blocks of rows or columns, convolutions by chunks of images (each chunk lowered and
/// multiplied on one core, so the lowered matrix stays in that core's cache), and memory-bound
/// kernels by images, planes or element ranges. Letting OpenBLAS thread its own products left
/// its idle workers spinning on the second core while Saddle's memory-bound work ran beside
/// them: side by side with PyTorch on the 2-core benchmark machine, the CNN step went from 0.95x
/// to 0.73x of PyTorch's time and resnet8 from 1.29x to 1.00x with this change
/// (`bench-results/2026-12-01-compare.json`, `...-compare-threads.json`).
///
/// No split ever changes a result: blocks and chunks are functions of the shapes, never of the
/// thread count, and no reduction is summed in an order that depends on it (tests compare the
/// bits of 1, 2 and 3 parts). The count starts from `SADDLE_NUM_THREADS`, else
/// `OPENBLAS_NUM_THREADS`, else the machine's cores (at most 4) divided among the processes of
/// an MPI job on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`).
public enum ComputeThreads {
    /// The count at start-up, from the environment or the machine.
    static let initial: Int = {
        let environment = ProcessInfo.processInfo.environment
        let requested = (environment["SADDLE_NUM_THREADS"] ?? environment["OPENBLAS_NUM_THREADS"]).flatMap(Int.init)
        if let requested, (1...maximum).contains(requested) { return requested }
        // Processes of an MPI job on one machine share its cores.
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init).map { Swift.max(1, $0) } ?? 1
        return Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount / local, 4))
    }()

    /// The largest count accepted.
    public static let maximum = 256

    private static let current = Mutex(0)

    /// The number of threads kernels split their work over (1: everything on the calling thread).
    public static var count: Int {
        let value = current.withLock { $0 }
        return value == 0 ? initial : value
    }

    /// Sets the number of threads kernels split their work over, for the whole process.
    /// - Throws: `TensorError.invalidArgument` for a count outside 1...256.
    public static func setCount(_ count: Int) throws {
        guard (1...maximum).contains(count) else {
            throw TensorError.invalidArgument(op: "ComputeThreads.setCount", reason: "thread count \(count) must be in 1...\(maximum)")
        }
        current.withLock { $0 = count }
    }
}

/// Splits independent work over `ComputeThreads.count` threads.
///
/// Used only where each part writes its own output elements (images of a batch, planes of a
/// pooling, blocks of a matrix product, elements of an element-wise operation), so results are
/// bit-identical whatever the number of parts. Work below a size threshold runs on the calling
/// thread.
enum Parallel {
    /// Kernels over planes (max pooling) split from this many input elements.
    /// `SADDLE_KERNEL_SPLIT_MINIMUM=0 saddle-bench --only kernel_split` on the 2-core benchmark
    /// machine (microseconds, one thread / two, two runs): 2x2 max pooling of 2^16 elements
    /// 35-35 / 39-44, of 2^17 68-70 / 60-63, of 2^18 137-150 / 91-106. `SADDLE_KERNEL_SPLIT_MINIMUM`
    /// overrides it and `minimumLowering`.
    static let minimumElements = kernelSplitOverride ?? 1 << 17

    /// Convolutions run their chunks (and, with one chunk, their lowering) concurrently from this
    /// many lowered elements (images x rows x lanes). Same measurement, a 3x3 convolution of 8
    /// to 8 channels on 16x16 images: 16 images (2^18.2 lowered elements) 180-207 / 210-219, 32
    /// images (2^19.2) 458-460 / 371-377, 64 images 777-946 / 562-594; with the earlier
    /// threshold of 2^16, 4 and 8 images ran up to 2.7 times slower on two threads.
    static let minimumLowering = kernelSplitOverride ?? 1 << 19

    private static let kernelSplitOverride = environmentMinimum("SADDLE_KERNEL_SPLIT_MINIMUM")

    /// A threshold set in the environment variable `name` (a whole number; negatives mean 0).
    private static func environmentMinimum(_ name: String) -> Int? {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init).map { Swift.max(0, $0) }
    }

    /// Element-wise kernels split only from this many elements: below it, one core streams
    /// the data faster than a hand-off to a second one pays for. Measured with
    /// `SADDLE_SPLIT_MINIMUM=0 saddle-bench --only elementwise_split` on the 2-core benchmark
    /// machine (microseconds, one thread / two, two runs): ReLU at 2^17 elements 16 / 24-26, at
    /// 2^18 32-39 / 33-35, at 2^19 63 / 50-54; a product of two tensors at 2^17 24 / 30-35, at
    /// 2^18 47-52 / 41-49, at 2^19 95-97 / 69-72. `SADDLE_SPLIT_MINIMUM` overrides it.
    static let minimumElementwise = environmentMinimum("SADDLE_SPLIT_MINIMUM") ?? 1 << 18

    /// Forces a number of parts regardless of size and thread count (tests compare the bits
    /// of split and unsplit runs with it); set through `withForcedParts`.
    @TaskLocal private static var forcedParts: Int?

    /// How many `withForcedParts` scopes are open in the process: while none is, `parts` does
    /// not read the task-local (a lookup that cost the tiny Hessian's thousands of small
    /// kernels several percent of their time).
    private static let forcing = Atomic<Int>(0)

    /// Runs `body` with every split forced to `parts` parts (at most the number of items).
    static func withForcedParts<R>(_ parts: Int, _ body: () throws -> R) rethrows -> R {
        forcing.add(1, ordering: .sequentiallyConsistent)
        defer { forcing.subtract(1, ordering: .sequentiallyConsistent) }
        return try $forcedParts.withValue(parts, operation: body)
    }

    /// The number of parts for `count` independent items of work touching `elements` elements.
    static func parts(_ count: Int, elements: Int, minimum: Int) -> Int {
        if forcing.load(ordering: .relaxed) > 0, let forced = forcedParts { return Swift.max(1, Swift.min(forced, count)) }
        guard elements >= minimum, count > 1 else { return 1 }
        return Swift.min(ComputeThreads.count, count)
    }

    /// Calls `body` on disjoint ranges covering `0 ..< count`, concurrently when `elements`
    /// (the work's total size) reaches `minimum`.
    static func forEachRange(_ count: Int, elements: Int, minimum: Int = minimumElements, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = parts(count, elements: elements, minimum: minimum)
        guard parts > 1 else {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            body((count * part / parts)..<(count * (part + 1) / parts))
        }
    }
}

extension ComputeThreads {
    /// Runs `body` once for each item in `0 ..< count`, spreading the items over the compute
    /// threads when `elements` (the work's total size) reaches 2^17, and returns when all have
    /// run. Each item must write its own outputs: results then do not depend on the split.
    /// Plugins reach this through the host table's `parallel_for` (plugin ABI 1.1).
    public static func forEachItem(_ count: Int, elements: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        Parallel.forEachRange(count, elements: elements) { range in
            for item in range { body(item) }
        }
    }
}
