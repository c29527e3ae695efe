import Foundation

/// A line or scatter chart of one or more series, drawn as SVG (no JavaScript, no external
/// files), for the experiment report.
///
/// Every series gets its own color, dash pattern and marker shape, so a line drawn exactly
/// under another stays visible by its markers. On a logarithmic axis, values at or below zero
/// are drawn as hollow markers on the bottom edge (a note under the chart says so) instead of
/// disappearing.
public struct Figure: Sendable {
    /// One named series of (x, y) points.
    public struct Series: Sendable {
        /// The series' name in the legend.
        public var name: String
        /// The points in drawing order; a non-finite point breaks the line (so one series can
        /// hold several curves), and points outside the figure's fixed ranges are left out.
        public var points: [(x: Double, y: Double)]
        /// Lines join the points; otherwise each point is a marker.
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
    /// A logarithmic y axis (values at or below zero are drawn on the bottom edge).
    public var logY: Bool
    /// The series, guides drawn first; the others get the palette's colors in order.
    public var series: [Series]
    /// A fixed x range (points outside are left out); the data's range when nil.
    public var xRange: ClosedRange<Double>?
    /// A fixed y range (points outside are left out); the data's range when nil.
    public var yRange: ClosedRange<Double>?

    /// A chart of `series`, with a linear y axis unless `logY` is set.
    public init(
        title: String, xLabel: String, yLabel: String, logY: Bool = false, xRange: ClosedRange<Double>? = nil,
        yRange: ClosedRange<Double>? = nil, series: [Series]
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.xRange = xRange
        self.yRange = yRange
        self.series = series
    }

    static let palette = ["#1f6fb4", "#d9541e", "#2a9d4b", "#8e44ad", "#b8860b", "#c0392b", "#16a085", "#555555"]
    static let dashes = ["", "7 4", "2 3", "10 3 2 3", "4 4", "1 2", "12 5", "6 2 1 2"]
    static let markerCount = 6

    /// The marker of series `k` at (x, y): circle, square, triangle, diamond, cross, inverted
    /// triangle, in turn; hollow when `hollow`.
    static func marker(_ k: Int, at x: Double, _ y: Double, color: String, hollow: Bool = false) -> String {
        let r = 3.6
        let paint = hollow ? "fill=\"white\" stroke=\"\(color)\" stroke-width=\"1.4\"" : "fill=\"\(color)\""
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        switch k % markerCount {
        case 0: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" \(paint)/>"
        case 1: return "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" \(paint)/>"
        case 2: return "<polygon points=\"\(f(x)),\(f(y - r)) \(f(x + r)),\(f(y + r)) \(f(x - r)),\(f(y + r))\" \(paint)/>"
        case 3: return "<polygon points=\"\(f(x)),\(f(y - r)) \(f(x + r)),\(f(y)) \(f(x)),\(f(y + r)) \(f(x - r)),\(f(y))\" \(paint)/>"
        case 4:
            return "<path d=\"M\(f(x - r)),\(f(y - r))L\(f(x + r)),\(f(y + r))M\(f(x - r)),\(f(y + r))L\(f(x + r)),\(f(y - r))\" stroke=\"\(color)\" stroke-width=\"2\"/>"
        default: return "<polygon points=\"\(f(x)),\(f(y + r)) \(f(x + r)),\(f(y - r)) \(f(x - r)),\(f(y - r))\" \(paint)/>"
        }
    }

    /// The chart as an `<svg>` element, 760 pixels wide.
    public var svg: String {
        let width = 760.0, left = 70.0, right = 250.0, top = 34.0, bottom = 50.0
        let plotHeight = 276.0, plotWidth = width - left - right
        func transformY(_ y: Double) -> Double? {
            guard y.isFinite else { return nil }
            if logY { return y > 0 ? log10(y) : nil }
            return y
        }
        func inRange(_ p: (x: Double, y: Double)) -> Bool {
            (xRange.map { $0.contains(p.x) } ?? true) && (yRange.map { $0.contains(p.y) } ?? true)
        }
        let all = series.flatMap { $0.points }.filter(inRange).compactMap { p in transformY(p.y).map { (p.x, $0) } }.filter { $0.0.isFinite }
        var (xMin, xMax) = (all.map(\.0).min() ?? 0, all.map(\.0).max() ?? 1)
        var (yMin, yMax) = (all.map(\.1).min() ?? 0, all.map(\.1).max() ?? 1)
        if let range = xRange { (xMin, xMax) = (range.lowerBound, range.upperBound) }
        if let range = yRange, let low = transformY(range.lowerBound), let high = transformY(range.upperBound) { (yMin, yMax) = (low, high) }
        if xMax <= xMin { (xMin, xMax) = (xMin - 1, xMax + 1) }
        if yMax <= yMin { (yMin, yMax) = (yMin - 1, yMax + 1) }
        if yRange == nil {
            let pad = (yMax - yMin) * 0.05
            yMin -= pad
            yMax += pad
        }
        let hasZeros = logY && series.contains { !$0.isGuide && $0.points.contains { $0.y.isFinite && $0.y <= 0 && inRange($0) } }
        let height = top + plotHeight + bottom + (hasZeros ? 16 : 0)
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
        out.append("<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 38))\" text-anchor=\"middle\">\(Report.escape(xLabel))</text>")
        out.append(
            "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\">\(Report.escape(yLabel + (logY ? " (log scale)" : "")))</text>")
        if hasZeros {
            out.append("<text x=\"\(f(left))\" y=\"\(f(height - 6))\" fill=\"#555\">Hollow markers on the bottom edge are values of exactly 0 (or below), which a log axis cannot show.</text>")
        }
        // Each run of finite, in-range points is one polyline.
        func runs(_ points: [(x: Double, y: Double)], zerosAtBottom: Bool) -> [[(Double, Double)]] {
            var result: [[(Double, Double)]] = [[]]
            for p in points {
                if inRange(p), p.x.isFinite, let y = transformY(p.y) {
                    result[result.count - 1].append((px(p.x), py(y)))
                } else if zerosAtBottom, logY, p.x.isFinite, p.y.isFinite, p.y <= 0, inRange(p) {
                    result[result.count - 1].append((px(p.x), top + plotHeight))
                } else if !(result.last?.isEmpty ?? true) {
                    result.append([])
                }
            }
            return result.filter { !$0.isEmpty }
        }
        func polyline(_ points: [(Double, Double)], _ attributes: String) -> String {
            "<polyline points=\"\(points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\" fill=\"none\" \(attributes)/>"
        }
        for one in series where one.isGuide {
            for run in runs(one.points, zerosAtBottom: false) where run.count > 1 {
                out.append(polyline(run, "stroke=\"#bbb\" stroke-width=\"0.8\""))
            }
        }
        for (k, one) in series.filter({ !$0.isGuide }).enumerated() {
            let color = Figure.palette[k % Figure.palette.count]
            let dash = Figure.dashes[k % Figure.dashes.count]
            let pieces = runs(one.points, zerosAtBottom: true)
            let total = pieces.map(\.count).reduce(0, +)
            // At most about 24 markers per connected series, evenly spaced, ends included.
            let every = one.connected ? Swift.max(1, total / 24) : 1
            var index = 0
            for run in pieces {
                if one.connected && run.count > 1 {
                    out.append(polyline(run, "stroke=\"\(color)\" stroke-width=\"1.8\"" + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")))
                }
                for (position, point) in run.enumerated() {
                    defer { index += 1 }
                    let atBottom = logY && Swift.abs(point.1 - (top + plotHeight)) < 1e-9
                    guard atBottom || index % every == 0 || (position == run.count - 1) || !one.connected else { continue }
                    out.append(Figure.marker(k, at: point.0, point.1, color: color, hollow: atBottom))
                }
            }
            let y = top + 12 + Double(k) * 16
            out.append("<line x1=\"\(f(left + plotWidth + 8))\" y1=\"\(f(y - 4))\" x2=\"\(f(left + plotWidth + 34))\" y2=\"\(f(y - 4))\" stroke=\"\(color)\" stroke-width=\"2\""
                + (dash.isEmpty || !one.connected ? "" : " stroke-dasharray=\"\(dash)\"") + (one.connected ? "" : " stroke-opacity=\"0\"") + "/>")
            out.append(Figure.marker(k, at: left + plotWidth + 21, y - 4, color: color))
            out.append("<text x=\"\(f(left + plotWidth + 40))\" y=\"\(f(y))\">\(Report.escape(one.name))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    /// Level curves f(x, y) = c for each of `levels` over the rectangle `x` by `y`, by marching
    /// squares on a `resolution` by `resolution` grid: one guide series per level, its segments
    /// separated by non-finite points.
    public static func levelCurves(
        of function: (Double, Double) -> Double, x: ClosedRange<Double>, y: ClosedRange<Double>, levels: [Double], resolution: Int = 80
    ) -> [Series] {
        let n = Swift.max(resolution, 2)
        let xs = (0...n).map { x.lowerBound + (x.upperBound - x.lowerBound) * Double($0) / Double(n) }
        let ys = (0...n).map { y.lowerBound + (y.upperBound - y.lowerBound) * Double($0) / Double(n) }
        let values = ys.map { yv in xs.map { function($0, yv) } }
        let gap = (x: Double.nan, y: Double.nan)
        return levels.map { level in
            var points: [(x: Double, y: Double)] = []
            for j in 0..<n {
                for i in 0..<n {
                    // Corners counter-clockwise from the bottom left, and the crossings on the four edges.
                    let corners = [(xs[i], ys[j], values[j][i]), (xs[i + 1], ys[j], values[j][i + 1]),
                                   (xs[i + 1], ys[j + 1], values[j + 1][i + 1]), (xs[i], ys[j + 1], values[j + 1][i])]
                    var crossings: [(x: Double, y: Double)] = []
                    for edge in 0..<4 {
                        let (a, b) = (corners[edge], corners[(edge + 1) % 4])
                        guard (a.2 - level) * (b.2 - level) < 0 || (a.2 == level && b.2 != level) else { continue }
                        let t = (level - a.2) / (b.2 - a.2)
                        crossings.append((x: a.0 + t * (b.0 - a.0), y: a.1 + t * (b.1 - a.1)))
                    }
                    var k = 0
                    while k + 1 < crossings.count {
                        points += [crossings[k], crossings[k + 1], gap]
                        k += 2
                    }
                }
            }
            return Series("f = \(String(format: "%g", level))", points, isGuide: true)
        }
    }
}
