import Foundation
import Saddle
import SaddleExperiments
import SaddleTestSupport
import Testing

/// The report's machinery: figures render to readable images, the page has every section,
/// and `saddle report` refuses bad arguments without writing. The claims themselves are
/// checked by `saddle report --quick`, which `make test` runs in a release build and whose
/// page scripts/check_report.py checks; their thresholds are tested in VerdictTests.
@Suite("The report")
struct ExperimentTests {
    /// Runs scripts/check_report.py on `page`; returns its exit status and output.
    func checkPage(_ page: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", PluginBuilds.repository.appendingPathComponent("scripts/check_report.py").path, page.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test("every kind of figure renders with rsvg-convert to a non-blank image; a blank one is caught")
    func figuresRender() throws {
        let levels = Figure.levelCurves(of: { x, y in x * x - y * y }, x: -1...1, y: -1...1, levels: [-0.5, 0.1, 0.5])
        #expect(levels.allSatisfy { $0.isGuide && $0.points.count > 10 })
        let figures = [
            Figure(title: "log axis with exact zeros", xLabel: "step", yLabel: "|y|", logY: true,
                   series: [Figure.Series("hits zero", values: [1e-3, 0, 0, 0]), Figure.Series("grows", values: [1e-3, 1.2e-3, 1.44e-3, 1.7e-3])]),
            Figure(title: "level curves and paths", xLabel: "x", yLabel: "y", xRange: -1...1, yRange: -1...1,
                   series: levels + [Figure.Series("path", [(x: 0.9, y: 0.01), (x: 0, y: 0)]), Figure.Series("point", [(x: 0, y: 0)], connected: false)]),
            Figure(title: "identical lines stay visible by their markers", xLabel: "a", yLabel: "loss",
                   series: (0..<8).map { k in Figure.Series("series \(k)", values: [3, 2, 1, 0.5]) }),
        ]
        let result = ExperimentResult(id: "figures", title: "Figures", claim: "c", method: "m", departures: "d", figures: figures,
                                      tables: [ReportTable(caption: "t", header: ["a"], rows: [["1"]])], checks: [Check("it renders", true, "detail")])
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let page = dir.file("figures.html")
        try Data(Report.html([result], generated: "test").utf8).write(to: page)
        let good = try checkPage(page)
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("3 figures rendered"), "\(good.output)")
        // A figure whose series are all outside its fixed range draws nothing: the checker must say so.
        let blank = Figure(title: "blank", xLabel: "x", yLabel: "y", xRange: 0...1, yRange: 0...1, series: [Figure.Series("outside", values: [5, 6, 7])])
        let empty = ExperimentResult(id: "blank", title: "Blank", claim: "c", method: "m", departures: "d", figures: [blank], checks: [Check("x", false, "y")])
        try Data(Report.html([empty], generated: "test").utf8).write(to: page)
        let bad = try checkPage(page)
        #expect(bad.status == 1 && bad.output.contains("blank"), "\(bad.output)")
    }

    @Test("the page states each experiment's claim, protocol, departures and verdicts, a failed check as not holding")
    func pageSections() {
        let result = ExperimentResult(id: "x", title: "X <1>", claim: "the claim", method: "the protocol", departures: "none", figures: [],
                                      checks: [Check("held one", true, "numbers"), Check("failed one", false, "other numbers")])
        let html = Report.html([result], generated: "generated")
        for part in ["<dt>The claim</dt><dd>the claim</dd>", "<dt>Protocol</dt><dd>the protocol</dd>", "<dt>Departures from the paper</dt><dd>none</dd>",
                     "✓ held", "✗ did not hold", "1 of 2 checks held", "X &lt;1&gt;"] {
            #expect(html.contains(part), "missing \(part)")
        }
        #expect(!result.held)
    }

    @Test("saddle report runs named experiments, and refuses an unknown one, clashing tiers and a missing folder without writing")
    func command() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
            let process = Process()
            process.executableURL = Executables.url("saddle")
            process.arguments = ["report"] + arguments
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text, message)
        }
        let page = dir.file("report.html")
        let ok = try run(["--only", "saddles", "--seeds", "1", "--output", page.path])
        #expect(ok.status == 0, "\(ok.output) \(ok.error)")
        #expect(ok.error.contains("1/1 saddles"), "progress: \(ok.error)")
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == 4)
        #expect(html.contains("monkey saddle"))
        for (arguments, expected) in [(["--only", "sadles"], "saddles"), (["--quick", "--full"], "exclude"), (["--seeds", "0"], "--seeds")] {
            let target = dir.file("bad.html")
            let bad = try run(arguments + ["--output", target.path])
            #expect(bad.status != 0 && bad.error.contains(expected), "\(arguments): \(bad.error)")
            #expect(!FileManager.default.fileExists(atPath: target.path))
        }
        let missing = try run(["--only", "saddles", "--output", dir.file("no/such/folder/r.html").path])
        #expect(missing.status != 0 && missing.error.contains("does not exist"), "\(missing.error)")
    }
}
