import Foundation

/// One claim of an experiment and whether this run bore it out.
public struct Check: Sendable {
    /// What the experiment is expected to show, as a sentence.
    public var claim: String
    /// Whether this run bore the claim out.
    public var passed: Bool
    /// The numbers behind the verdict, for every seed.
    public var detail: String

    /// A check of `claim` with its verdict and the numbers behind it.
    public init(_ claim: String, _ passed: Bool, _ detail: String) {
        self.claim = claim
        self.passed = passed
        self.detail = detail
    }
}

/// A table of numbers in an experiment's section (one row per seed, point or run).
public struct ReportTable: Sendable {
    /// What the table shows, drawn above it.
    public var caption: String
    /// The column headings.
    public var header: [String]
    /// The rows, each as many cells as `header`.
    public var rows: [[String]]

    /// A table with `caption`, `header` and `rows`.
    public init(caption: String, header: [String], rows: [[String]]) {
        self.caption = caption
        self.header = header
        self.rows = rows
    }
}

/// What one experiment of the report found.
public struct ExperimentResult: Sendable {
    /// A short identifier (`saddle report --only` takes these).
    public var id: String
    /// The experiment's heading in the report and its table of contents.
    public var title: String
    /// The claim of the paper or talk the experiment tests, with its citation.
    public var claim: String
    /// How the experiment was run: data, model, optimizer, steps, seeds.
    public var method: String
    /// Where the protocol departs from the paper's, and why ("none" when it does not).
    public var departures: String
    /// The charts drawn in the experiment's section.
    public var figures: [Figure]
    /// Tables of the numbers behind the checks.
    public var tables: [ReportTable]
    /// The claims checked, with their verdicts.
    public var checks: [Check]
    /// The run's wall-clock time in seconds, which `Experiments.run` records.
    public var seconds: Double = 0

    /// A result from its parts; `seconds` starts at 0.
    public init(
        id: String, title: String, claim: String, method: String, departures: String, figures: [Figure], tables: [ReportTable] = [],
        checks: [Check]
    ) {
        self.id = id
        self.title = title
        self.claim = claim
        self.method = method
        self.departures = departures
        self.figures = figures
        self.tables = tables
        self.checks = checks
    }

    /// Whether every check held.
    public var held: Bool { checks.allSatisfy(\.passed) }
}

/// The experiments of the talk as one HTML page with inline SVG figures.
public enum Report {
    /// `text` with HTML's special characters escaped.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The page for `results`; `generated` says how and where it was made.
    public static func html(_ results: [ExperimentResult], generated: String) -> String {
        var page = [
            "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Saddle: the experiments</title>",
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
                + "h2{border-bottom:1px solid #ccc;padding-bottom:.2em}.pass{color:#2a7a2a}.fail{color:#b22}"
                + "td,th{padding:.2em .6em;vertical-align:top;text-align:left}table.numbers td{font-family:monospace}"
                + "table.numbers{border-collapse:collapse}table.numbers td,table.numbers th{border-bottom:1px solid #eee}"
                + "figure{margin:1em 0}dt{font-weight:bold;margin-top:.5em}dd{margin-left:1.5em}</style></head><body>",
            "<h1>Saddle: the experiments of “Design Philosophy of Optimization for Deep Learning”</h1>",
            "<p>\(escape(generated))</p>",
        ]
        let checks = results.flatMap(\.checks)
        page.append("<p>\(checks.filter(\.passed).count) of \(checks.count) checks held; a check that did not hold is shown as such (✗).</p>")
        page.append("<table><tr><th>experiment</th><th>checks held</th><th>time</th></tr>")
        for result in results {
            page.append(
                "<tr><td><a href=\"#\(escape(result.id))\">\(escape(result.title))</a></td><td>\(result.checks.filter(\.passed).count) of \(result.checks.count)</td>"
                    + "<td>\(String(format: "%.1f", result.seconds)) s</td></tr>")
        }
        page.append("</table>")
        for result in results {
            page.append("<h2 id=\"\(escape(result.id))\">\(escape(result.title))</h2><dl>")
            page.append("<dt>The claim</dt><dd>\(escape(result.claim))</dd>")
            page.append("<dt>Protocol</dt><dd>\(escape(result.method))</dd>")
            page.append("<dt>Departures from the paper</dt><dd>\(escape(result.departures))</dd>")
            page.append("<dt>Verdicts</dt><dd><table>")
            for check in result.checks {
                let mark = check.passed ? "<span class=\"pass\">✓ held</span>" : "<span class=\"fail\">✗ did not hold</span>"
                page.append("<tr><td>\(mark)</td><td>\(escape(check.claim))<br><small>\(escape(check.detail))</small></td></tr>")
            }
            page.append("</table></dd></dl>")
            for table in result.tables {
                page.append("<p><small>\(escape(table.caption))</small></p><table class=\"numbers\"><tr>")
                page.append(table.header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>")
                for row in table.rows { page.append("<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>") }
                page.append("</table>")
            }
            for figure in result.figures { page.append("<figure>\(figure.svg)</figure>") }
            page.append("<p><small>\(String(format: "%.1f", result.seconds)) s</small></p>")
        }
        page.append("</body></html>")
        return page.joined(separator: "\n")
    }
}
