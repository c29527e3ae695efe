import Foundation

/// Executables built beside the test bundle (`swift build --build-tests` builds every target).
public enum Executables {
    public static var directory: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// The repository's examples folder.
    public static var examples: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples")
    }

    /// The repository's Tests/Fixtures folder.
    public static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    }
}

/// What a finished `saddle` process did.
public struct CommandResult: Sendable, CustomStringConvertible {
    /// The exit status, or the signal number when `signaled`.
    public var status: Int32
    /// Whether the process ended by a signal (a crash) rather than by exiting.
    public var signaled: Bool
    public var standardOutput: String
    public var standardError: String

    public var description: String {
        "\(signaled ? "signal" : "exit status") \(status)\nstdout: \(standardOutput.suffix(2000))\nstderr: \(standardError.suffix(2000))"
    }
}

/// Runs the `saddle` command (or another executable) as a user would, capturing both streams
/// through files (so neither can fill a pipe and stall the process).
public enum SaddleCommandLine {
    /// Runs `executable` (default: the `saddle` built beside the tests) with `arguments` in
    /// `directory` and waits for it, at most `timeout` seconds when given (then kills it and
    /// reports status -1). `environment` replaces the inherited one when given; `whileRunning`
    /// is called once after the start, for tests that interfere with a running process.
    public static func run(
        _ arguments: [String], in directory: URL? = nil, executable: URL = Executables.url("saddle"),
        environment: [String: String]? = nil, timeout: Double? = nil, whileRunning: ((Process) throws -> Void)? = nil
    ) throws -> CommandResult {
        let scratch = try TemporaryDirectory("saddle-command")
        defer { scratch.remove() }
        let out = scratch.file("stdout"), err = scratch.file("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try whileRunning?(process)
        var timedOut = false
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            timedOut = process.isRunning
            if timedOut {
                process.terminate()
                Thread.sleep(forTimeInterval: 1)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
        }
        process.waitUntilExit()
        return CommandResult(
            status: timedOut ? -1 : process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            standardOutput: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
