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

    /// Which header and example sources a build uses: the current ABI (Plugins/ABI/include and
    /// Plugins/Examples), or ABI 1.0 as Saddle 0.2.0 shipped it, frozen (Plugins/ABI-1.0: its
    /// header and the 0.2.0 example sources, unchanged).
    public enum ABI: String, Sendable, CaseIterable {
        case current
        case frozen1_0 = "frozen 1.0"

        var include: String { self == .current ? "Plugins/ABI/include" : "Plugins/ABI-1.0/include" }
        var acmeSource: String { self == .current ? "Plugins/Examples/acme/acme.c" : "Plugins/ABI-1.0/Examples/acme.c" }
        var zooSource: String { self == .current ? "Plugins/Examples/zoo/RMSprop.swift" : "Plugins/ABI-1.0/Examples/RMSprop.swift" }
    }

    private static func path(_ relative: String) -> String { repository.appendingPathComponent(relative).path }

    /// The C example plugin compiled with `defines` (such as `ACME_FAIL_PARTWAY`) into `directory`.
    public static func acme(_ defines: [String] = [], in directory: URL, name: String = "libacme.so", abi: ABI = .current) throws -> String {
        let output = directory.appendingPathComponent(name).path
        try run(["cc", "-shared", "-fPIC", "-O3", "-fvisibility=hidden", "-I", path(abi.include)]
            + defines.map { "-D" + $0 } + [path(abi.acmeSource), "-o", output, "-lm"])
        return output
    }

    /// The Swift example plugin compiled into `directory`.
    public static func zoo(in directory: URL, abi: ABI = .current) throws -> String {
        let output = directory.appendingPathComponent(abi == .current ? "libzoo.so" : "libzoo-1.0.so").path
        try run(["swiftc", "-emit-library", "-parse-as-library", "-O", "-I", path(abi.include), path(abi.zooSource), "-o", output])
        return output
    }

    /// The ABI 1.1 C example plugin (image, normalization and dropout layers; links OpenBLAS).
    public static func vision(_ defines: [String] = [], in directory: URL, name: String = "libvision.so") throws -> String {
        let output = directory.appendingPathComponent(name).path
        try run(["cc", "-shared", "-fPIC", "-O3", "-fvisibility=hidden", "-I", path("Plugins/ABI/include")]
            + defines.map { "-D" + $0 } + [path("Plugins/Examples/vision/vision.c"), "-o", output, "-lopenblas", "-lm"])
        return output
    }

    /// The C++ example plugin (softsign and LAMB).
    public static func cxxopt(in directory: URL) throws -> String {
        let output = directory.appendingPathComponent("libcxxopt.so").path
        try run(["c++", "-std=c++17", "-shared", "-fPIC", "-O3", "-fvisibility=hidden", "-fno-exceptions", "-I", path("Plugins/ABI/include"),
                 path("Plugins/Examples/cxx/cxxopt.cpp"), "-o", output])
        return output
    }
}
