import Dispatch
import Foundation

/// Splits independent, memory-bound work over the machine's cores.
///
/// Used only where each part writes its own output elements (images of a batch, planes of a
/// pooling), so results are bit-identical whatever the number of parts: no reduction is ever
/// split. Work below `minimumElements` runs on the calling thread.
enum Parallel {
    /// At most this many parts (the machines Saddle targets have 2 to 4 cores per process).
    static let maximumParts = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, 4))

    /// Below this many elements touched, splitting costs more than it saves (measured on the
    /// 2-core machine of the benchmarks: a thread hand-off is a few microseconds).
    static let minimumElements = 1 << 16

    /// Calls `body` on disjoint ranges covering `0 ..< count`, concurrently when `elements`
    /// (the work's total size) is large enough.
    static func forEachRange(_ count: Int, elements: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = elements >= minimumElements ? Swift.min(maximumParts, count) : 1
        guard parts > 1 else {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            body((count * part / parts)..<(count * (part + 1) / parts))
        }
    }
}
