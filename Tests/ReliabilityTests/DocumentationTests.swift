import Foundation
import SaddleTestSupport
import Testing

@Suite("Every public declaration is documented")
struct DocumentationTests {
    /// Runs scripts/check_docs.py on `roots` and returns its exit status and output.
    func check(_ roots: [String]) throws -> (status: Int32, output: String) {
        let scratch = try TemporaryDirectory("saddle-docs")
        defer { scratch.remove() }
        let out = scratch.file("out")
        let script = PluginBuilds.repository.appendingPathComponent("scripts/check_docs.py").path
        let status = try runProgram("/bin/sh", ["-c", "python3 '\(script)' \(roots.map { "'\($0)'" }.joined(separator: " ")) > '\(out.path)' 2>&1"])
        return (status, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }

    @Test("the README's performance table is the one its result file gives (written by scripts/performance_table.py, not by hand)")
    func performanceTableIsGenerated() throws {
        let scratch = try TemporaryDirectory("saddle-table")
        defer { scratch.remove() }
        let out = scratch.file("out")
        let repository = PluginBuilds.repository.path
        let status = try runProgram("/bin/sh", ["-c", "cd '\(repository)' && python3 scripts/performance_table.py --check > '\(out.path)' 2>&1"])
        #expect(status == 0, "\((try? String(contentsOf: out, encoding: .utf8)) ?? "")")
    }

    @Test("Sources/ has a /// comment on every public declaration")
    func sourcesAreDocumented() throws {
        let (status, output) = try check([PluginBuilds.repository.appendingPathComponent("Sources").path])
        #expect(status == 0, "\(output)")
    }

    @Test("the check fails when a declaration loses its comment, and sees through attributes")
    func checkCanFail() throws {
        let dir = try TemporaryDirectory("saddle-docs-sample")
        defer { dir.remove() }
        let documented = """
            /// A type.
            public struct A {
                /// A value.
                @inlinable
                public var value: Int { 1 }
            }
            extension A: Equatable {}
            """
        try documented.write(to: dir.file("A.swift"), atomically: true, encoding: .utf8)
        #expect(try check([dir.url.path]).status == 0)
        try (documented + "\n@discardableResult\npublic func lost() -> Int { 0 }\n").write(to: dir.file("A.swift"), atomically: true, encoding: .utf8)
        let (status, output) = try check([dir.url.path])
        #expect(status == 1 && output.contains("A.swift:9: public func lost()"), "\(output)")
        // The cases of a public enum are public declarations too.
        try (documented + "\n/// Kinds.\npublic enum Kind {\n    /// One.\n    case one\n    case two\n}\n").write(to: dir.file("A.swift"), atomically: true, encoding: .utf8)
        let (enumStatus, enumOutput) = try check([dir.url.path])
        #expect(enumStatus == 1 && enumOutput.contains("A.swift:12: case two") && !enumOutput.contains("case one"), "\(enumOutput)")
    }
}
