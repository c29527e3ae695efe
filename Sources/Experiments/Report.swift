import Foundation

/// One claim of an experiment and whether this run bore it out.
public struct Check: Sendable {
    /// What the experiment is expected to show, as a sentence.
    public var claim: String
    /// Whether this run bore the claim out.
    public var passed: Bool
    /// The numbers behind the verdict.
    public var detail: String

    /// A check of `claim` with its verdict and the numbers behind it.
    public init(_ claim: String, _ passed: Bool, _ detail: String) {
        self.claim = claim
        self.passed = passed
        self.detail = detail
    }
}

/// What one experiment of the report found.
public struct ExperimentResult: Sendable {
    /// A short identifier (`saddle report --only` takes these).
    public var id: String
    /// The experiment's heading in the report and its table of contents.
    public var title: String
    /// What the experiment shows and how it was run.
    public var description: String
    /// The charts drawn in the experiment's section.
    public var figures: [Figure]
    /// The claims checked, with their verdicts.
    public var checks: [Check]
    /// The run's wall-clock time in seconds, which `Experiments.run` records.
    public var seconds: Double = 0

    /// A result from its parts; `seconds` starts at 0.
    public init(id: String, title: String, description: String, figures: [Figure], checks: [Check]) {
        self.id = id
        self.title = title
        self.description = description
        self.figures = figures
        self.checks = checks
    }
}

/// The experiments of the talk as one HTML page with inline SVG figures.
public enum Report {
    /// `text` with HTML's special characters escaped.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The page for `results`.
    public static func html(_ results: [ExperimentResult], generated: String) -> String {
        var page = [
            "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Saddle: the experiments</title>",
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
                + "h2{border-bottom:1px solid #ccc;padding-bottom:.2em}.pass{color:#2a7a2a}.fail{color:#b22}"
                + "td{padding:.2em .6em;vertical-align:top}figure{margin:1em 0}</style></head><body>",
            "<h1>Saddle: the experiments of “Design Philosophy of Optimization for Deep Learning”</h1>",
            "<p>\(escape(generated))</p>",
        ]
        let passed = results.flatMap(\.checks).filter(\.passed).count, total = results.flatMap(\.checks).count
        page.append("<p>\(passed) of \(total) claims borne out.</p><ul>")
        for result in results { page.append("<li><a href=\"#\(escape(result.id))\">\(escape(result.title))</a></li>") }
        page.append("</ul>")
        for result in results {
            page.append("<h2 id=\"\(escape(result.id))\">\(escape(result.title))</h2>")
            page.append("<p>\(escape(result.description))</p><table>")
            for check in result.checks {
                let mark = check.passed ? "<span class=\"pass\">✓</span>" : "<span class=\"fail\">✗</span>"
                page.append("<tr><td>\(mark)</td><td>\(escape(check.claim))<br><small>\(escape(check.detail))</small></td></tr>")
            }
            page.append("</table>")
            for figure in result.figures { page.append("<figure>\(figure.svg)</figure>") }
            page.append("<p><small>\(String(format: "%.1f", result.seconds)) s</small></p>")
        }
        page.append("</body></html>")
        return page.joined(separator: "\n")
    }
}
