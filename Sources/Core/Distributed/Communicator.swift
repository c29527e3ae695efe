import Foundation

/// The processes of a data-parallel job and the collective operations between them: what the
/// trainer and the curvature tools need to sum over shards of the data.
///
/// A communicator is a value handed to whatever needs it (`TrainingOptions.communicator`,
/// `DataParallelObjective`), never a global. A single process uses `SingleProcess`, whose
/// collectives are the identity; under `mpirun`, `MPICommunicator` (in SaddleRuns) calls MPI.
/// Every process must call the same collectives in the same order, or the job deadlocks.
public protocol Communicator: Sendable {
    /// This process's index, 0 ..< `size`.
    var rank: Int { get }
    /// The number of processes in the job.
    var size: Int { get }
    /// Replaces the buffer's values by their element-wise sum over all processes, in place.
    /// - Throws: `DistributedError` when the collective fails.
    func sum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Replaces the buffer's values by their element-wise sum over all processes, in place.
    /// - Throws: `DistributedError` when the collective fails.
    func sum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Stops every process of the job after writing `message` (which should name this rank
    /// and the cause) to standard error.
    func abort(_ message: String) -> Never
}

/// A job of one process: every collective is the identity.
public struct SingleProcess: Communicator {
    /// A single-process communicator.
    public init() {}
    /// 0.
    public var rank: Int { 0 }
    /// 1.
    public var size: Int { 1 }
    /// Leaves the values as they are (the sum over one process).
    public func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    /// Leaves the values as they are (the sum over one process).
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    /// Writes `message` to standard error and exits with status 1.
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
}

/// Process `rank`'s contiguous share of `count` items split over `ranks` processes:
/// `[count * rank / ranks, count * (rank + 1) / ranks)`. Shares differ by at most one item, and
/// a process gets none when there are fewer items than processes.
public func share(of count: Int, rank: Int, of ranks: Int) -> Range<Int> {
    (count * rank / ranks)..<(count * (rank + 1) / ranks)
}

/// A collective operation that failed.
public struct DistributedError: Error, Equatable, CustomStringConvertible {
    /// The rank that saw the failure.
    public var rank: Int
    /// What failed and why.
    public var reason: String

    /// A failure seen by `rank`.
    public init(rank: Int, reason: String) {
        self.rank = rank
        self.reason = reason
    }

    /// "rank R: reason".
    public var description: String { "rank \(rank): \(reason)" }
}

extension Communicator {
    /// Whether this is the process that prints progress and writes files (rank 0).
    public var isRoot: Bool { rank == 0 }

    /// This process's contiguous share of `count` items (examples of a batch or a data set).
    public func share(of count: Int) -> Range<Int> { SaddleCore.share(of: count, rank: rank, of: size) }

    /// Replaces `values` by their element-wise sum over all processes.
    /// - Throws: `DistributedError` when the collective fails.
    public func sum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try sum($0) }
    }

    /// Replaces `values` by their element-wise sum over all processes.
    /// - Throws: `DistributedError` when the collective fails.
    public func sum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try sum($0) }
    }

    /// The scalar summed over all processes.
    /// - Throws: `DistributedError` when the collective fails.
    public func sum(_ value: Double) throws -> Double {
        var buffer = [value]
        try sum(&buffer)
        return buffer[0]
    }

    /// The tensors summed element-wise over all processes, in one collective over a fused
    /// buffer (Float32 when every tensor is Float32, Float64 otherwise); shapes and dtypes are
    /// kept. The buffer comes from the tensor pool and the results are views into it, so a
    /// step copies its gradients once. A single process returns them unchanged.
    /// - Throws: `DistributedError` when the collective fails.
    public func sum(_ tensors: [Tensor]) throws -> [Tensor] {
        guard size > 1, !tensors.isEmpty else { return tensors }
        if tensors.allSatisfy({ $0.dtype == .float32 }) { return try fusedSum(tensors, as: Float.self) }
        return try fusedSum(tensors, as: Double.self)
    }

    private func fusedSum<T: TensorScalar>(_ tensors: [Tensor], as _: T.Type) throws -> [Tensor] {
        let total = tensors.reduce(0) { $0 + $1.count }
        let fused = Tensor(uninitializedShape: [total], dtype: T.dtype)
        let base = fused.pointer(T.self)
        var offset = 0
        for tensor in tensors {
            let converted = tensor.detached.converted(to: T.dtype)
            (base + offset).update(from: converted.pointer(T.self), count: converted.count)
            offset += converted.count
        }
        switch T.dtype {
        case .float32: try sum(UnsafeMutableBufferPointer(start: fused.pointer(Float.self), count: total))
        case .float64: try sum(UnsafeMutableBufferPointer(start: fused.pointer(Double.self), count: total))
        }
        offset = 0
        return tensors.map { tensor in
            defer { offset += tensor.count }
            return Tensor(storage: fused.storage, offset: offset, shape: tensor.shape).converted(to: tensor.dtype)
        }
    }
}
