import Foundation
import SaddleCore
import Synchronization

/// The communicator of a job launched by `mpirun`: MPI's collectives over MPI_COMM_WORLD,
/// through the MPI shim (`libsaddle_mpi.so`, built by `make mpi` against the system's Open MPI)
/// loaded at run time. Neither the `saddle` binary nor the library links MPI: a single process
/// never loads it.
///
/// The shim is loaded with `RTLD_GLOBAL` (Open MPI 4.1's components, loaded later with dlopen,
/// fail with undefined symbols otherwise). MPI is initialized with `MPI_THREAD_MULTIPLE` so the
/// watchdog may abort from its own thread. The shim's path is `SADDLE_MPI_SHIM`, or
/// `libsaddle_mpi.so` beside the executable, or `.build/mpi/libsaddle_mpi.so` of the build the
/// executable belongs to.
///
/// MPI's collectives have no timeout: a rank that hangs would leave the others waiting forever.
/// A watchdog thread aborts the job when one collective has waited longer than
/// `collectiveTimeout` (`SADDLE_COLLECTIVE_TIMEOUT` seconds, default 600), naming this rank and
/// the collective.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    // Immutable after init: the C function pointers and the rank and size MPI reported. MPI
    // itself is called from any thread (MPI_THREAD_MULTIPLE).
    private typealias Init = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32
    private typealias ReduceF64 = @convention(c) (UnsafeMutablePointer<Double>, Int64) -> Int32
    private typealias ReduceF32 = @convention(c) (UnsafeMutablePointer<Float>, Int64) -> Int32
    private typealias Plain = @convention(c) () -> Int32
    private typealias Abort = @convention(c) (Int32) -> Void
    private typealias LastError = @convention(c) () -> UnsafePointer<CChar>
    private typealias Version = @convention(c) (UnsafeMutablePointer<CChar>, Int32) -> Void

    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// The number of processes in MPI_COMM_WORLD.
    public let size: Int
    /// The MPI library's version line (`Open MPI v4.1.4, ...`).
    public let libraryVersion: String
    /// The shim that was loaded.
    public let shimPath: String
    private let sumF64: ReduceF64
    private let sumF32: ReduceF32
    private let barrierCall: Plain
    private let finalizeCall: Plain
    private let abortCall: Abort
    private let lastError: LastError
    /// How long one collective may wait before the watchdog stops the job, in seconds.
    public let collectiveTimeout: Double
    /// The collective in progress and when it started (uptime nanoseconds), for the watchdog.
    private let inProgress = Mutex<(name: String, since: UInt64)?>(nil)

    /// Whether this process was started by `mpirun` (or another MPI launcher): Open MPI's
    /// `OMPI_COMM_WORLD_SIZE`, or PMI's `PMI_SIZE`, is set.
    public static var isLaunchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        let size = environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"]
        return size != nil
    }

    /// The communicator of this process: MPI's when `mpirun` started it, else `SingleProcess`.
    /// - Throws: `DistributedError` when MPI should be used but cannot be loaded.
    public static func forThisProcess() throws -> any Communicator {
        isLaunchedByMPI ? try MPICommunicator() : SingleProcess()
    }

    /// The paths searched for the shim, in order.
    public static func shimCandidates() -> [String] {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["SADDLE_MPI_SHIM"], !path.isEmpty { candidates.append(path) }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent("libsaddle_mpi.so").path)
        // .build/<triple>/<configuration>/saddle -> .build/mpi
        candidates.append(executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("mpi/libsaddle_mpi.so").path)
        return candidates
    }

    /// Loads the shim and initializes MPI.
    /// - Throws: `DistributedError` (rank -1 before MPI knows it) naming the paths tried when
    ///   no shim is found, or the MPI call that failed.
    public init() throws {
        let candidates = MPICommunicator.shimCandidates()
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw DistributedError(
                rank: -1,
                reason: "this process runs under mpirun but the MPI shim libsaddle_mpi.so is not built (run `make mpi`, or set SADDLE_MPI_SHIM); looked in \(candidates.joined(separator: ", "))")
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else {
            throw DistributedError(rank: -1, reason: "cannot load the MPI shim \(path): \(String(cString: dlerror()))")
        }
        func symbol<T>(_ name: String, as _: T.Type) throws -> T {
            guard let pointer = dlsym(handle, name) else {
                throw DistributedError(rank: -1, reason: "the MPI shim \(path) lacks \(name) (rebuild it with `make mpi`)")
            }
            return unsafeBitCast(pointer, to: T.self)
        }
        let initialize = try symbol("saddle_mpi_init", as: Init.self)
        sumF64 = try symbol("saddle_mpi_allreduce_sum_f64", as: ReduceF64.self)
        sumF32 = try symbol("saddle_mpi_allreduce_sum_f32", as: ReduceF32.self)
        barrierCall = try symbol("saddle_mpi_barrier", as: Plain.self)
        finalizeCall = try symbol("saddle_mpi_finalize", as: Plain.self)
        abortCall = try symbol("saddle_mpi_abort", as: Abort.self)
        lastError = try symbol("saddle_mpi_last_error", as: LastError.self)
        let version = try symbol("saddle_mpi_library_version", as: Version.self)
        var r: Int32 = 0, s: Int32 = 0, level: Int32 = 0
        guard initialize(&r, &s, &level) == 0 else {
            throw DistributedError(rank: -1, reason: String(cString: lastError()))
        }
        rank = Int(r)
        size = Int(s)
        shimPath = path
        var text = [CChar](repeating: 0, count: 512)
        version(&text, Int32(text.count))
        libraryVersion = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
        let timeout = ProcessInfo.processInfo.environment["SADDLE_COLLECTIVE_TIMEOUT"].flatMap(Double.init) ?? 600
        collectiveTimeout = timeout.isFinite && timeout > 0 ? timeout : 600
        guard level == 3 else {
            abortCall(1)
            throw DistributedError(rank: rank, reason: "MPI granted thread level \(level), not MPI_THREAD_MULTIPLE (the watchdog needs it)")
        }
        startWatchdog()
    }

    private func startWatchdog() {
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: Swift.min(1, collectiveTimeout / 4))
                // The clock is read after the start it is compared with (a collective may begin
                // between the two reads), so the difference cannot be negative.
                guard let (name, since) = inProgress.withLock({ $0 }) else { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if now > since, Double(now - since) / 1e9 > collectiveTimeout {
                    abort(
                        "saddle: rank \(rank) of \(size) waited more than \(collectiveTimeout) s in \(name) (SADDLE_COLLECTIVE_TIMEOUT); another rank hangs or died; stopping the job")
                }
            }
        }
        thread.name = "saddle-mpi-watchdog"
        thread.start()
    }

    /// Runs the collective `call` under the watchdog's eye and checks its status.
    private func collective(_ name: String, _ call: () -> Int32) throws {
        inProgress.withLock { $0 = (name, DispatchTime.now().uptimeNanoseconds) }
        let code = call()
        inProgress.withLock { $0 = nil }
        guard code == 0 else { throw DistributedError(rank: rank, reason: String(cString: lastError())) }
    }

    /// MPI_Allreduce with MPI_SUM over doubles, in place.
    public func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        try collective("MPI_Allreduce (sum)") { sumF64(base, Int64(values.count)) }
    }

    /// MPI_Allreduce with MPI_SUM over floats, in place.
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        try collective("MPI_Allreduce (sum)") { sumF32(base, Int64(values.count)) }
    }

    /// MPI_Barrier.
    /// - Throws: `DistributedError` when the collective fails.
    public func barrier() throws { try collective("MPI_Barrier") { barrierCall() } }

    /// MPI_Finalize; call once, when every collective is done.
    /// - Throws: `DistributedError` when it fails.
    public func finalize() throws { try collective("MPI_Finalize") { finalizeCall() } }

    /// Writes `message` to standard error and calls MPI_Abort: mpirun stops every rank.
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        abortCall(1)
        exit(1)
    }
}
