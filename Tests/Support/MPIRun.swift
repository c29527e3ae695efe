import Foundation

/// Runs a command under Open MPI's `mpirun` on this machine as the distributed tests need it:
/// as root when the tests are, oversubscribed, without shared-memory single copy (it fails in
/// containers), one compute thread per rank, and with the MPI shim built by `make mpi`.
public enum MPIRun {
    /// The repository's `.build/mpi/libsaddle_mpi.so` (built by `make mpi`, which `make test` runs).
    public static var shim: URL {
        Executables.examples.deletingLastPathComponent().appendingPathComponent(".build/mpi/libsaddle_mpi.so")
    }

    /// The mpirun arguments before the program: `-np ranks` and the settings above, forwarding
    /// `forwarded` environment variables.
    public static func launcherArguments(ranks: Int, forwarded: [String] = []) -> [String] {
        var arguments = ["-np", String(ranks), "--oversubscribe", "--bind-to", "none", "--mca", "btl_vader_single_copy_mechanism", "none"]
        for name in ["SADDLE_MPI_SHIM", "SADDLE_NUM_THREADS"] + forwarded { arguments += ["-x", name] }
        return arguments
    }

    /// The environment mpirun runs with: root allowed, the shim, one thread per rank, plus `extra`.
    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["SADDLE_MPI_SHIM"] = shim.path
        environment["SADDLE_NUM_THREADS"] = "1"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Runs `program arguments` on `ranks` processes and waits at most `timeout` seconds (then
    /// kills mpirun and reports status -1). `whileRunning` is called once after the start with
    /// the mpirun process, for tests that interfere with a running job.
    public static func run(
        ranks: Int, _ arguments: [String], program: URL = Executables.url("saddle"), in directory: URL? = nil,
        environment extra: [String: String] = [:], timeout: Double = 600, whileRunning: ((Process) throws -> Void)? = nil
    ) throws -> CommandResult {
        try SaddleCommandLine.run(
            launcherArguments(ranks: ranks, forwarded: Array(extra.keys)) + [program.path] + arguments, in: directory,
            executable: URL(fileURLWithPath: "/usr/bin/mpirun"), environment: environment(extra), timeout: timeout, whileRunning: whileRunning)
    }

    /// The process ids of running processes whose command line contains `text` (the ranks of a
    /// job started with a unique run file path).
    public static func processes(containing text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(text) && !line.contains("mpirun")
        }.sorted()
    }
}
