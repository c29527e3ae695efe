import Foundation

/// Builds the example plugins (and deliberately broken variants of the C one) for tests.
public enum PluginBuilds {
    public static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public struct BuildError: Error, CustomStringConvertible {
        public var description: String
    }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BuildError(description: "\(arguments.joined(separator: " ")) failed: \(message)") }
    }

    /// The C example plugin compiled with `defines` (such as `ACME_FAIL_PARTWAY`) into `directory`.
    public static func acme(_ defines: [String] = [], in directory: URL, name: String = "libacme.so") throws -> String {
        let output = directory.appendingPathComponent(name).path
        try run(["cc", "-shared", "-fPIC", "-O3", "-fvisibility=hidden", "-I", repository.appendingPathComponent("Plugins/ABI/include").path]
            + defines.map { "-D" + $0 } + [repository.appendingPathComponent("Plugins/Examples/acme/acme.c").path, "-o", output, "-lm"])
        return output
    }

    /// The Swift example plugin compiled into `directory`.
    public static func zoo(in directory: URL) throws -> String {
        let output = directory.appendingPathComponent("libzoo.so").path
        try run(["swiftc", "-emit-library", "-parse-as-library", "-O", "-I", repository.appendingPathComponent("Plugins/ABI/include").path,
                 repository.appendingPathComponent("Plugins/Examples/zoo/RMSprop.swift").path, "-o", output])
        return output
    }
}
