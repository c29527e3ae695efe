internal import CSaddleCore
import Foundation

/// Errors loading the BLAS/LAPACK library.
public enum BLASError: Error, Equatable, CustomStringConvertible {
    /// No OpenBLAS library could be opened.
    case libraryMissing(tried: [String], reason: String)
    /// The library lacks a function Saddle needs.
    case symbolMissing(library: String, reason: String)

    /// A sentence saying why OpenBLAS is unusable; for a missing library, how to install one or point to it.
    public var description: String {
        switch self {
        case let .libraryMissing(tried, reason):
            return "OpenBLAS could not be loaded (tried \(tried.joined(separator: ", ")): \(reason)). Install the Debian package libopenblas0 (apt-get install libopenblas0 liblapacke), or set SADDLE_BLAS_LIBRARY to the path of an OpenBLAS shared library"
        case let .symbolMissing(library, reason):
            return "\(library) is not a usable OpenBLAS: \(reason)"
        }
    }
}

/// The BLAS in use: which library, which kernel family, how many threads.
public struct BLASConfiguration: Sendable, Equatable {
    /// The library that was opened.
    public var library: String
    /// The kernel family OpenBLAS reports (`openblas_get_corename`), such as "SkylakeX".
    public var coreName: String
    /// The OPENBLAS_CORETYPE requested before loading, or nil when none was.
    public var requestedCoreType: String?
    /// Whether the core type came from the user's environment rather than Saddle's choice.
    public var coreTypeFromEnvironment: Bool
    /// OpenBLAS's build configuration string.
    public var buildConfiguration: String
    /// Threads OpenBLAS itself uses per call (1: Saddle splits the products over
    /// `ComputeThreads.count` threads).
    public var threadCount: Int
}

/// The run-time BLAS and LAPACK function table.
///
/// Nothing links OpenBLAS. On first use Saddle picks OPENBLAS_CORETYPE from the CPU's features
/// (unless the environment already sets it), then dlopens the library, so the fast kernels
/// are active even where OpenBLAS's own detection fails (Debian's 0.3.21 on recent Intel
/// CPUs). OpenBLAS runs each call on one thread: Saddle splits products over the cores itself
/// (`ComputeThreads`). Environment: OPENBLAS_CORETYPE overrides the kernel family,
/// SADDLE_NUM_THREADS (or OPENBLAS_NUM_THREADS) the thread count, SADDLE_BLAS_LIBRARY the
/// library path.
public enum BLAS {
    /// The resolved functions (all non-null once loading succeeded).
    final class Library: @unchecked Sendable {
        let library: String
        let requested: String?
        let fromEnvironment: Bool
        let sgemm: saddle_sgemm_fn
        let dgemm: saddle_dgemm_fn
        let getCoreName: saddle_string_fn
        let getConfig: saddle_string_fn
        let setThreads: saddle_set_threads_fn
        let getThreads: saddle_get_threads_fn
        let dsyevd: saddle_dsyevd_fn
        let dgesv: saddle_dgesv_fn
        let dgeqrf: saddle_dgeqrf_fn
        let dorgqr: saddle_dorgqr_fn
        let dstev: saddle_dstev_fn

        init?(table: SaddleBLAS, library: String, requested: String?, fromEnvironment: Bool) {
            guard let sgemm = table.sgemm, let dgemm = table.dgemm, let getCoreName = table.get_corename,
                let getConfig = table.get_config, let setThreads = table.set_num_threads,
                let getThreads = table.get_num_threads, let dsyevd = table.dsyevd, let dgesv = table.dgesv,
                let dgeqrf = table.dgeqrf, let dorgqr = table.dorgqr, let dstev = table.dstev
            else { return nil }
            (self.sgemm, self.dgemm, self.getCoreName, self.getConfig) = (sgemm, dgemm, getCoreName, getConfig)
            (self.setThreads, self.getThreads, self.dsyevd, self.dgesv) = (setThreads, getThreads, dsyevd, dgesv)
            (self.dgeqrf, self.dorgqr, self.dstev) = (dgeqrf, dorgqr, dstev)
            self.library = library
            self.requested = requested
            self.fromEnvironment = fromEnvironment
        }
    }

    /// Loaded once, on first use (a `let` global: initialized exactly once, thread-safely).
    private static let loaded: Result<Library, BLASError> = load()

    static func library() throws -> Library { try loaded.get() }

    private static func load() -> Result<Library, BLASError> {
        let environment = ProcessInfo.processInfo.environment
        var requested = environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        let fromEnvironment = requested != nil
        if requested == nil, let suggestion = saddle_suggested_coretype() {
            requested = String(cString: suggestion)
            setenv("OPENBLAS_CORETYPE", suggestion, 0)
        }
        let candidates = environment["SADDLE_BLAS_LIBRARY"].map { [$0] } ?? ["libopenblas.so.0", "libopenblas.so"]
        // OpenBLAS starts its thread pool when it loads, with OPENBLAS_NUM_THREADS threads (else
        // one per core), and idle pool threads spin in sched_yield for a while after each call:
        // in a short run they took a core from Saddle's own threads. Saddle runs every call on
        // the calling thread, so the library loads with one thread; the variable is restored
        // afterwards (read first by ComputeThreads, which falls back on it).
        _ = ComputeThreads.initial
        let previousThreads = environment["OPENBLAS_NUM_THREADS"]
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        defer {
            if let previousThreads { setenv("OPENBLAS_NUM_THREADS", previousThreads, 1) } else { unsetenv("OPENBLAS_NUM_THREADS") }
        }
        var reasons: [String] = []
        for path in candidates {
            var table = SaddleBLAS()
            var message = [CChar](repeating: 0, count: 512)
            let status = saddle_blas_open(path, &table, &message, message.count)
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if status == 0 {
                guard let library = Library(table: table, library: path, requested: requested, fromEnvironment: fromEnvironment)
                else { return .failure(.symbolMissing(library: path, reason: "a function pointer is null")) }
                // Saddle splits the work over the cores itself (ComputeThreads): OpenBLAS runs
                // each call on the calling thread.
                library.setThreads(1)
                return .success(library)
            }
            if status == 2 { return .failure(.symbolMissing(library: path, reason: reason)) }
            reasons.append(reason)
        }
        return .failure(.libraryMissing(tried: candidates, reason: reasons.joined(separator: "; ")))
    }

    /// The library, kernel family and thread count in use (loading the library if needed).
    /// - Throws: `BLASError` when OpenBLAS cannot be loaded.
    public static func configuration() throws -> BLASConfiguration {
        let library = try library()
        return BLASConfiguration(
            library: library.library,
            coreName: library.getCoreName().map { String(cString: $0) } ?? "unknown",
            requestedCoreType: library.requested,
            coreTypeFromEnvironment: library.fromEnvironment,
            buildConfiguration: (library.getConfig().map { String(cString: $0) } ?? "").trimmingCharacters(in: .whitespaces),
            threadCount: Int(library.getThreads()))
    }

    /// Sets the number of threads Saddle's kernels, matrix products included, use: the same as
    /// `ComputeThreads.setCount` (OpenBLAS itself stays at one thread per call).
    /// - Throws: `TensorError` for a count outside 1...256.
    public static func setThreadCount(_ count: Int) throws {
        try ComputeThreads.setCount(count)
    }
}
