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
    /// Replaces `values` by their element-wise sum over all processes.
    /// - Throws: `DistributedError` when the collective fails.
    func sum(_ values: inout [Double]) throws
    /// Replaces `values` by their element-wise sum over all processes.
    /// - Throws: `DistributedError` when the collective fails.
    func sum(_ values: inout [Float]) throws
    /// Replaces `values` by their element-wise maximum over all processes.
    /// - Throws: `DistributedError` when the collective fails.
    func maximum(_ values: inout [Double]) throws
    /// Replaces `bytes` on every process by those of process `root` (all must pass the same count).
    /// - Throws: `DistributedError` when the collective fails.
    func broadcast(_ bytes: inout [UInt8], from root: Int) throws
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
    /// Leaves `values` as they are (the sum over one process).
    public func sum(_ values: inout [Double]) throws {}
    /// Leaves `values` as they are (the sum over one process).
    public func sum(_ values: inout [Float]) throws {}
    /// Leaves `values` as they are (the maximum over one process).
    public func maximum(_ values: inout [Double]) throws {}
    /// Leaves `bytes` as they are.
    public func broadcast(_ bytes: inout [UInt8], from root: Int) throws {}
    /// Writes `message` to standard error and exits with status 1.
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
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

    /// The tensors summed element-wise over all processes, in one collective over a fused
    /// buffer (Float32 when every tensor is Float32, Float64 otherwise); shapes and dtypes are
    /// kept. A single process returns them unchanged without copying.
    /// - Throws: `DistributedError` when the collective fails.
    public func sum(_ tensors: [Tensor]) throws -> [Tensor] {
        guard size > 1, !tensors.isEmpty else { return tensors }
        if tensors.allSatisfy({ $0.dtype == .float32 }) {
            var buffer = pack(tensors, as: Float.self)
            try sum(&buffer)
            return unpack(buffer, like: tensors)
        }
        var buffer = pack(tensors, as: Double.self)
        try sum(&buffer)
        return unpack(buffer, like: tensors)
    }

    /// The scalar summed over all processes.
    /// - Throws: `DistributedError` when the collective fails.
    public func sum(_ value: Double) throws -> Double {
        var buffer = [value]
        try sum(&buffer)
        return buffer[0]
    }

    /// The tensors' elements, one after another, in one buffer of `T` (memory copies when the
    /// dtypes agree).
    private func pack<T: TensorScalar>(_ tensors: [Tensor], as _: T.Type) -> [T] {
        let total = tensors.reduce(0) { $0 + $1.count }
        return [T](unsafeUninitializedCapacity: total) { buffer, initialized in
            var offset = 0
            for tensor in tensors {
                let converted = tensor.detached.converted(to: T.dtype)
                (buffer.baseAddress! + offset).initialize(from: converted.pointer(T.self), count: converted.count)
                offset += converted.count
            }
            initialized = total
        }
    }

    /// Tensors of `tensors`' shapes and dtypes filled from `buffer` in order.
    private func unpack<T: TensorScalar>(_ buffer: [T], like tensors: [Tensor]) -> [Tensor] {
        var offset = 0
        return buffer.withUnsafeBufferPointer { source in
            tensors.map { tensor in
                let result = Tensor(uninitializedShape: tensor.shape, dtype: T.dtype)
                result.pointer(T.self).update(from: source.baseAddress! + offset, count: tensor.count)
                offset += tensor.count
                return result.converted(to: tensor.dtype)
            }
        }
    }
}
