import Foundation

// A line chart (linear or log y) with scatter points, dashed vertical markers (level switches)
// and a legend to the right of the plot area.

/// One line of a line chart.
public struct PlotSeries {
    public var label: String
    public var points: [(x: Double, y: Double)]
    public var color: String
    public var width: Double
    public var dash: String?
    /// The shape drawn on some of the points (nil: none): 0 circle, 1 square, 2 triangle,
    /// 3 diamond, repeating. Curves that coincide stay visible by their markers.
    public var marker: Int?

    public init(label: String, points: [(x: Double, y: Double)], color: String, width: Double = 2, dash: String? = nil,
                marker: Int? = nil) {
        self.label = label
        self.points = points
        self.color = color
        self.width = width
        self.dash = dash
        self.marker = marker
    }
}

/// A vertical dashed line at `x` with a short label (a level switch).
public struct PlotMarker {
    public var x: Double
    public var label: String
    public var color: String
}

/// A line chart with a legend to the right of the plot area.
struct LineChart {
    var id: String
    var title: String
    var xLabel: String
    var yLabel: String
    var yScale: PlotAxis.Scale = .linear
    var integerX = false
    var series: [PlotSeries] = []
    var markers: [PlotMarker] = []
    /// A horizontal dotted line across the plot with its label (the time-to-target chart's target).
    var target: (y: Double, label: String)? = nil
    /// Drawn as small dots under the lines (e.g. test points).
    var scatter: (label: String, points: [(x: Double, y: Double)])? = nil
    /// A fixed x range and ticks instead of fitted ones (the fit chart's [0, 2π] in multiples of π/2).
    var xDomain: (lower: Double, upper: Double)? = nil
    var xTicks: [(value: Double, label: String)]? = nil
    var width = 820.0
    var height = 440.0

    static let margin = (left: 78.0, right: 170.0, top: 44.0, bottom: 56.0)

    var xAxis: PlotAxis {
        if let d = xDomain {
            return PlotAxis(scale: .linear, lower: d.lower, upper: d.upper, pixelLower: Self.margin.left,
                            pixelUpper: width - Self.margin.right)
        }
        var xs = series.flatMap { $0.points.map(\.x) } + markers.map(\.x)
        xs += scatter?.points.map(\.x) ?? []
        return PlotAxis.fitting(xs, scale: .linear, pixelLower: Self.margin.left,
                                pixelUpper: width - Self.margin.right, integer: integerX)
    }

    var yAxis: PlotAxis {
        var ys = series.flatMap { $0.points.map(\.y) } + (target.map { [$0.y] } ?? [])
        ys += scatter?.points.map(\.y) ?? []
        return PlotAxis.fitting(ys, scale: yScale, pixelLower: height - Self.margin.bottom, pixelUpper: Self.margin.top)
    }

    /// The title's font size: 16, or smaller (not under 10) when a bold sans-serif line of
    /// `title` (about 0.6 em a character) would run past `room` pixels.
    static func titleSize(_ title: String, room: Double) -> Double {
        min(16, max(10, room / (0.6 * Double(max(title.count, 1)))))
    }

    func render() -> SVGWriter {
        var svg = SVGWriter(width: width, height: height)
        let xa = xAxis, ya = yAxis
        let m = Self.margin
        let left = m.left, right = width - m.right, top = m.top, bottom = height - m.bottom
        svg.text(title, x: left, y: 26, size: Self.titleSize(title, room: width - left - 10), weight: "bold", cls: "title")

        // Grid and ticks.
        for t in ya.ticks() {
            let y = ya.position(t.value)
            let major = ya.scale == .linear || abs(log10(t.value).rounded() - log10(t.value)) < 1e-9
            svg.line(left, y, right, y, stroke: major ? "#dddddd" : "#eeeeee", cls: "grid")
            svg.text(t.label, x: left - 6, y: y + 4, size: 11, anchor: "end", cls: "ytick")
        }
        for t in xTicks ?? xa.ticks(integer: integerX) {
            let x = xa.position(t.value)
            svg.line(x, top, x, bottom, stroke: "#eeeeee", cls: "grid")
            svg.line(x, bottom, x, bottom + 5, stroke: "#444444")
            svg.text(t.label, x: x, y: bottom + 18, size: 11, anchor: "middle", cls: "xtick")
        }
        svg.rect(x: left, y: top, width: right - left, height: bottom - top, fill: "none",
                 extra: [("stroke", "#444444"), ("stroke-width", "1")])
        svg.text(xLabel, x: (left + right) / 2, y: height - 14, size: 13, anchor: "middle", cls: "xlabel")
        svg.text(yLabel, x: 18, y: (top + bottom) / 2, size: 13, anchor: "middle", rotate: -90, cls: "ylabel")

        drawMarkers(&svg, xa: xa, top: top, bottom: bottom)
        // The target's line under the curves; its label over them (below).
        let targetY = target.flatMap { ya.accepts($0.y) ? ya.position($0.y) : nil }
        if let target, let y = targetY {
            svg.line(left, y, right, y, stroke: "#333333", width: 1.2, dash: "2 3", cls: "target",
                     extra: [("data-y", svgNumber(target.y))])
        }

        for (i, s) in series.enumerated() {
            var a: [(String, String)] = [("class", "series"), ("id", "\(id)-series-\(i)"), ("data-label", s.label),
                                         ("d", pathData(s.points, xa: xa, ya: ya)), ("fill", "none"),
                                         ("stroke", s.color), ("stroke-width", svgNumber(s.width)),
                                         ("stroke-linejoin", "round")]
            if let dash = s.dash { a.append(("stroke-dasharray", dash)) }
            svg.element("path", a)
        }
        for (i, s) in series.enumerated() { drawPointMarkers(&svg, s, index: i, xa: xa, ya: ya) }
        if let scatter {
            svg.open("g", [("class", "points"), ("data-label", scatter.label), ("fill", "#888888"), ("fill-opacity", "0.6")])
            for p in scatter.points where xa.accepts(p.x) && ya.accepts(p.y) {
                svg.element("circle", [("cx", svgNumber(xa.position(p.x))), ("cy", svgNumber(ya.position(p.y))), ("r", "2")])
            }
            svg.close("g")
        }
        // The target's label over the curves, on a white halo so that a curve through it stays readable.
        if let target, let y = targetY {
            svg.element("text", [("class", "target-label"), ("x", svgNumber(right - 4)), ("y", svgNumber(y - 5)),
                                 ("font-size", "11"), ("text-anchor", "end"), ("fill", "#333333"), ("stroke", "#ffffff"),
                                 ("stroke-width", "3"), ("stroke-linejoin", "round"), ("paint-order", "stroke")],
                        text: target.label)
        }

        drawLegend(&svg, x: right + 16, y: top + 6)
        return svg
    }

    /// "M x,y L x,y …"; a point that cannot be drawn (NaN, ≤ 0 on a log axis) breaks the line.
    /// Of several points in one pixel column only the first, lowest, highest and last are drawn:
    /// the same picture for a curve of 8000 epochs at a fraction of the size.
    func pathData(_ points: [(x: Double, y: Double)], xa: PlotAxis, ya: PlotAxis) -> String {
        var parts: [String] = []
        var column: [(x: Double, y: Double)] = []
        var pen = false
        func flush() {
            guard let first = column.first, let last = column.last else { return }
            let low = column.min { $0.y < $1.y }!, high = column.max { $0.y < $1.y }!
            var kept = [first]
            for p in (low.x <= high.x ? [low, high] : [high, low]) + [last] where p != kept.last! { kept.append(p) }
            for p in kept {
                parts.append("\(pen ? "L" : "M")\(svgNumber(p.x)),\(svgNumber(p.y))")
                pen = true
            }
            column = []
        }
        for p in points {
            guard xa.accepts(p.x), ya.accepts(p.y) else { flush(); pen = false; continue }
            let pixel = (x: xa.position(p.x), y: ya.position(p.y))
            if let c = column.first, pixel.x.rounded(.down) != c.x.rounded(.down) { flush() }
            column.append(pixel)
        }
        flush()
        return parts.joined(separator: " ")
    }

    /// About `pointMarkers` markers along a series, each series starting at another offset so
    /// that the markers of identical curves fall on different points.
    static let pointMarkers = 12

    static func markerIndices(count: Int, series: Int, of seriesCount: Int) -> [Int] {
        guard count > 0 else { return [] }
        let step = max(1, count / pointMarkers)
        let offset = step * (series % max(1, seriesCount)) / max(1, seriesCount)
        return Array(stride(from: min(offset, count - 1), to: count, by: step))
    }

    private func drawPointMarkers(_ svg: inout SVGWriter, _ s: PlotSeries, index: Int, xa: PlotAxis, ya: PlotAxis) {
        guard let shape = s.marker else { return }
        svg.open("g", [("class", "point-markers"), ("data-label", s.label), ("fill", s.color),
                       ("stroke", "#ffffff"), ("stroke-width", "0.8")])
        for k in Self.markerIndices(count: s.points.count, series: index, of: series.count) {
            let p = s.points[k]
            guard xa.accepts(p.x), ya.accepts(p.y) else { continue }
            Self.drawShape(&svg, shape, x: xa.position(p.x), y: ya.position(p.y))
        }
        svg.close("g")
    }

    static func drawShape(_ svg: inout SVGWriter, _ shape: Int, x: Double, y: Double, r: Double = 3.6) {
        let n = svgNumber
        switch shape % 4 {
        case 0: svg.element("circle", [("cx", n(x)), ("cy", n(y)), ("r", n(r))])
        case 1: svg.element("rect", [("x", n(x - r)), ("y", n(y - r)), ("width", n(2 * r)), ("height", n(2 * r))])
        case 2: svg.element("path", [("d", "M\(n(x)),\(n(y - r * 1.2)) L\(n(x + r * 1.1)),\(n(y + r * 0.8)) L\(n(x - r * 1.1)),\(n(y + r * 0.8)) Z")])
        default: svg.element("path", [("d", "M\(n(x)),\(n(y - r * 1.3)) L\(n(x + r * 1.1)),\(n(y)) L\(n(x)),\(n(y + r * 1.3)) L\(n(x - r * 1.1)),\(n(y)) Z")])
        }
    }

    private func drawMarkers(_ svg: inout SVGWriter, xa: PlotAxis, top: Double, bottom: Double) {
        // Several variants may switch at the same epoch: draw the line once. A label goes on the
        // first row where it runs into no label placed before it (switches at one epoch, or close
        // enough that their labels would overlap, stack).
        var lines = Set<Double>()
        var seen = Set<String>()
        var placed: [(row: Int, from: Double, to: Double)] = []
        for mk in markers {
            let key = "\(mk.x)|\(mk.label)"
            guard !seen.contains(key) else { continue }
            seen.insert(key)
            let x = xa.position(mk.x)
            if lines.insert(mk.x).inserted {
                svg.line(x, top, x, bottom, stroke: mk.color, width: 1.3, dash: "6 4", cls: "switch",
                         extra: [("data-x", svgNumber(mk.x))])
            }
            let from = x + 4, to = from + Self.labelWidth(mk.label, size: 11)
            var row = 0
            while placed.contains(where: { $0.row == row && $0.from < to + 4 && from < $0.to + 4 }) { row += 1 }
            placed.append((row, from, to))
            svg.text(mk.label, x: from, y: top + 14 + Double(row) * 14, size: 11, fill: mk.color, cls: "switch-label")
        }
    }

    /// A generous estimate of a label's width in pixels (0.62 em a character, the sans-serif
    /// average with room): enough to keep labels apart without measuring the font.
    static func labelWidth(_ text: String, size: Double) -> Double { 0.62 * size * Double(text.count) }

    private func drawLegend(_ svg: inout SVGWriter, x: Double, y: Double) {
        var row = 0.0
        for s in series {
            let yy = y + row * 20
            svg.line(x, yy, x + 24, yy, stroke: s.color, width: s.width + 0.5, dash: s.dash, cls: "legend-line")
            if let shape = s.marker {
                svg.open("g", [("fill", s.color), ("stroke", "#ffffff"), ("stroke-width", "0.8")])
                Self.drawShape(&svg, shape, x: x + 12, y: yy)
                svg.close("g")
            }
            svg.text(s.label, x: x + 30, y: yy + 4, size: 12, cls: "legend")
            row += 1
        }
        if let scatter {
            let yy = y + row * 20
            svg.element("circle", [("cx", svgNumber(x + 12)), ("cy", svgNumber(yy)), ("r", "3"), ("fill", "#888888")])
            svg.text(scatter.label, x: x + 30, y: yy + 4, size: 12, cls: "legend")
            row += 1
        }
        if !markers.isEmpty {
            let yy = y + row * 20
            svg.line(x, yy, x + 24, yy, stroke: "#555555", width: 1.3, dash: "6 4", cls: "legend-line")
            svg.text("level switch", x: x + 30, y: yy + 4, size: 12, cls: "legend")
        }
    }
}
