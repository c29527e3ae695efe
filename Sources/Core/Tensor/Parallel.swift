import Dispatch
import Foundation

/// Splits independent, memory-bound work over the machine's cores when they are free.
///
/// Used only where each part writes its own output elements (images of a batch, planes of a
/// pooling, elements of an element-wise operation), so results are bit-identical whatever the
/// number of parts: no reduction is ever split. Work below a size threshold runs on the calling
/// thread, and so does all of it while OpenBLAS runs more than one thread: its workers keep
/// the other cores spinning between matrix products, and threads of Saddle's own stacked on
/// them were measured slower than one (CNN step 79-80 ms serial against 95-106 ms split, in
/// interleaved runs on the 2-core benchmark machine).
enum Parallel {
    /// At most this many parts (the machines Saddle targets have 2 to 4 cores per process).
    static let maximumParts = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, 4))

    /// Below this many elements touched, splitting costs more than it saves (a thread
    /// hand-off is a few microseconds).
    static let minimumElements = 1 << 16

    /// Element-wise kernels split only from this many elements: below it, one core streams
    /// the data faster than a hand-off to a second one pays for.
    static let minimumElementwise = 1 << 17

    /// Forces a number of parts regardless of size and BLAS threads (tests compare the bits
    /// of split and unsplit runs with it).
    @TaskLocal static var forcedParts: Int?

    /// The number of parts for work touching `elements` elements.
    static func parts(_ count: Int, elements: Int, minimum: Int) -> Int {
        if let forced = forcedParts { return Swift.max(1, Swift.min(forced, count)) }
        guard elements >= minimum, maximumParts > 1, count > 1 else { return 1 }
        let blasThreads = (try? BLAS.library().getThreads()).map(Int.init) ?? 1
        return blasThreads > 1 ? 1 : Swift.min(maximumParts, count)
    }

    /// Calls `body` on disjoint ranges covering `0 ..< count`, concurrently when `elements`
    /// (the work's total size) reaches `minimum` and the cores are free.
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
