import Foundation

/// A line or scatter chart of one or more series, drawn as SVG (no JavaScript, no external
/// files), for the experiment report.
public struct Figure: Sendable {
    /// One named series of (x, y) points.
    public struct Series: Sendable {
        /// The series' name in the legend.
        public var name: String
        /// The points in drawing order; non-finite ones (and, on a log axis, non-positive y) are left out.
        public var points: [(x: Double, y: Double)]
        /// Lines join the points; otherwise each point is a dot.
        public var connected: Bool
        /// A thin grey line without a legend entry (level curves, reference lines).
        public var isGuide: Bool

        /// A series of `points`, joined by lines unless `connected` is false.
        public init(_ name: String, _ points: [(x: Double, y: Double)], connected: Bool = true, isGuide: Bool = false) {
            self.name = name
            self.points = points
            self.connected = connected
            self.isGuide = isGuide
        }

        /// A series over 0, 1, 2, ... (epochs, iterations).
        public init(_ name: String, values: [Double], from start: Double = 0, connected: Bool = true) {
            self.init(name, values.enumerated().map { (start + Double($0.offset), $0.element) }, connected: connected)
        }
    }

    /// The chart's title, drawn above it.
    public var title: String
    /// The label of the x axis.
    public var xLabel: String
    /// The label of the y axis ("(log scale)" is appended with `logY`).
    public var yLabel: String
    /// A logarithmic y axis (non-positive values are left out).
    public var logY: Bool
    /// The series, guides drawn first; the others get the palette's colors in order.
    public var series: [Series]

    /// A chart of `series`, with a linear y axis unless `logY` is set.
    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.series = series
    }

    static let palette = ["#1f6fb4", "#d9541e", "#2a9d4b", "#8e44ad", "#b8860b", "#c0392b", "#16a085", "#555555"]

    /// The chart as an `<svg>` element, 760 by 360 pixels.
    public var svg: String {
        let width = 760.0, height = 360.0, left = 70.0, right = 250.0, top = 34.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func transformY(_ y: Double) -> Double? {
            guard y.isFinite else { return nil }
            if logY { return y > 0 ? log10(y) : nil }
            return y
        }
        let all = series.flatMap { $0.points }.compactMap { p in transformY(p.y).map { (p.x, $0) } }.filter { $0.0.isFinite }
        var (xMin, xMax) = (all.map(\.0).min() ?? 0, all.map(\.0).max() ?? 1)
        var (yMin, yMax) = (all.map(\.1).min() ?? 0, all.map(\.1).max() ?? 1)
        if xMax <= xMin { (xMin, xMax) = (xMin - 1, xMax + 1) }
        if yMax <= yMin { (yMin, yMax) = (yMin - 1, yMax + 1) }
        let pad = (yMax - yMin) * 0.05
        yMin -= pad
        yMax += pad
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func label(_ v: Double) -> String { String(format: "%.3g", logY ? pow(10, v) : v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(f(left))\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(Report.escape(title))</text>",
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#999\"/>",
        ]
        for k in 0...4 {
            let xv = xMin + (xMax - xMin) * Double(k) / 4, yv = yMin + (yMax - yMin) * Double(k) / 4
            out.append("<line x1=\"\(f(px(xv)))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(px(xv)))\" y2=\"\(f(top + plotHeight + 4))\" stroke=\"#999\"/>")
            out.append("<text x=\"\(f(px(xv)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(String(format: "%.3g", xv))</text>")
            out.append("<line x1=\"\(f(left - 4))\" y1=\"\(f(py(yv)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(yv)))\" stroke=\"#eee\"/>")
            out.append("<text x=\"\(f(left - 6))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(label(yv))</text>")
        }
        out.append("<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(Report.escape(xLabel))</text>")
        out.append(
            "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\">\(Report.escape(yLabel + (logY ? " (log scale)" : "")))</text>")
        for one in series where one.isGuide {
            let points = one.points.compactMap { p in transformY(p.y).flatMap { p.x.isFinite ? (px(p.x), py($0)) : nil } }
            guard points.count > 1 else { continue }
            out.append("<polyline points=\"\(points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\" fill=\"none\" stroke=\"#bbb\" stroke-width=\"0.8\"/>")
        }
        for (k, one) in series.filter({ !$0.isGuide }).enumerated() {
            let color = Figure.palette[k % Figure.palette.count]
            let points = one.points.compactMap { p in transformY(p.y).flatMap { p.x.isFinite ? (px(p.x), py($0)) : nil } }
            if one.connected && points.count > 1 {
                let path = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
                out.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"/>")
            }
            for point in points where !one.connected || points.count == 1 {
                out.append("<circle cx=\"\(f(point.0))\" cy=\"\(f(point.1))\" r=\"3\" fill=\"\(color)\"/>")
            }
            let y = top + 12 + Double(k) * 16
            out.append("<line x1=\"\(f(left + plotWidth + 12))\" y1=\"\(f(y - 4))\" x2=\"\(f(left + plotWidth + 30))\" y2=\"\(f(y - 4))\" stroke=\"\(color)\" stroke-width=\"3\"/>")
            out.append("<text x=\"\(f(left + plotWidth + 36))\" y=\"\(f(y))\">\(Report.escape(one.name))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
