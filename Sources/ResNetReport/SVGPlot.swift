import Foundation
import ResNetTraining

// A small, dependency-free SVG writer for the run report: line charts (linear or log y), scatter
// points, dashed vertical markers and stacked bar panels. Output is deterministic: attributes are
// written in a fixed order and every number with a fixed format, so the same runs give the same bytes.

/// Escapes text for XML character data and attribute values.
public func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(ch)
        }
    }
    return out
}

/// A fixed-format number for coordinates (two decimals, no locale, no "-0.00").
func svgNumber(_ v: Double) -> String {
    let s = String(format: "%.2f", v)
    return s == "-0.00" ? "0.00" : s
}

/// Collects SVG elements in order and renders the document.
struct SVGWriter {
    let width: Double
    let height: Double
    private(set) var body: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    mutating func element(_ name: String, _ attributes: [(String, String)], text: String? = nil) {
        let attrs = attributes.map { " \($0.0)=\"\(xmlEscape($0.1))\"" }.joined()
        if let text {
            body.append("<\(name)\(attrs)>\(xmlEscape(text))</\(name)>")
        } else {
            body.append("<\(name)\(attrs)/>")
        }
    }

    mutating func open(_ name: String, _ attributes: [(String, String)]) {
        body.append("<\(name)\(attributes.map { " \($0.0)=\"\(xmlEscape($0.1))\"" }.joined())>")
    }

    mutating func close(_ name: String) { body.append("</\(name)>") }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                       width: Double = 1, dash: String? = nil, cls: String? = nil, extra: [(String, String)] = []) {
        var a: [(String, String)] = []
        if let cls { a.append(("class", cls)) }
        a += extra
        a += [("x1", svgNumber(x1)), ("y1", svgNumber(y1)), ("x2", svgNumber(x2)), ("y2", svgNumber(y2)),
              ("stroke", stroke), ("stroke-width", svgNumber(width))]
        if let dash { a.append(("stroke-dasharray", dash)) }
        element("line", a)
    }

    mutating func text(_ s: String, x: Double, y: Double, size: Double = 12, anchor: String = "start",
                       weight: String? = nil, fill: String = "#222", rotate: Double? = nil, cls: String? = nil) {
        var a: [(String, String)] = []
        if let cls { a.append(("class", cls)) }
        a += [("x", svgNumber(x)), ("y", svgNumber(y)), ("font-size", svgNumber(size)),
              ("text-anchor", anchor), ("fill", fill)]
        if let weight { a.append(("font-weight", weight)) }
        if let rotate { a.append(("transform", "rotate(\(svgNumber(rotate)) \(svgNumber(x)) \(svgNumber(y)))")) }
        element("text", a, text: s)
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                       cls: String? = nil, extra: [(String, String)] = []) {
        var a: [(String, String)] = []
        if let cls { a.append(("class", cls)) }
        a += extra
        a += [("x", svgNumber(x)), ("y", svgNumber(y)), ("width", svgNumber(width)),
              ("height", svgNumber(height)), ("fill", fill)]
        element("rect", a)
    }

    /// The whole document, with an XML declaration (for a standalone `.svg` file).
    func render() -> String {
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += inlineSVG()
        return s
    }

    /// The `<svg>` element alone, for inlining into HTML.
    func inlineSVG() -> String {
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
        s += body.joined(separator: "\n")
        s += "\n</svg>\n"
        return s
    }
}

/// Colours chosen to stay distinguishable for common colour-vision deficiencies (Okabe–Ito).
enum Palette {
    static let series = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    static let levels = ["#9ecae1", "#4292c6", "#08519c", "#08306b", "#6baed6", "#2171b5"]
    static func color(_ i: Int) -> String { series[i % series.count] }
    static func level(_ i: Int) -> String { levels[i % levels.count] }
}

/// A linear or base-10 logarithmic map from data values to pixels, with its ticks.
public struct PlotAxis: Equatable {
    public enum Scale: Equatable { case linear, log }
    public var scale: Scale
    public var lower: Double
    public var upper: Double
    public var pixelLower: Double
    public var pixelUpper: Double

    public init(scale: Scale, lower: Double, upper: Double, pixelLower: Double, pixelUpper: Double) {
        self.scale = scale
        self.lower = lower
        self.upper = upper
        self.pixelLower = pixelLower
        self.pixelUpper = pixelUpper
    }

    /// The pixel coordinate of `value` (`pixelLower` at `lower`, `pixelUpper` at `upper`).
    public func position(_ value: Double) -> Double {
        let t: Double
        switch scale {
        case .linear: t = (value - lower) / (upper - lower)
        case .log: t = (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
        return pixelLower + t * (pixelUpper - pixelLower)
    }

    /// Whether a value can be drawn on this axis (finite, and positive on a log axis).
    public func accepts(_ value: Double) -> Bool {
        value.isFinite && (scale == .linear || value > 0)
    }

    /// An axis whose range covers `values` and ends on round numbers (powers of ten on a log axis).
    public static func fitting(_ values: [Double], scale: Scale, pixelLower: Double, pixelUpper: Double,
                               integer: Bool = false, includeZero: Bool = false) -> PlotAxis {
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        var lo = usable.min() ?? (scale == .log ? 0.1 : 0)
        var hi = usable.max() ?? 1
        switch scale {
        case .log:
            // Round outwards to 1, 2 or 5 times a power of ten, so the data fills the plot.
            let below = pow(10, floor(log10(lo)))
            lo = [5.0, 2, 1].map { $0 * below }.first { $0 <= lo * (1 + 1e-12) } ?? below
            let above = pow(10, floor(log10(hi)))
            hi = [1.0, 2, 5, 10].map { $0 * above }.first { $0 >= hi * (1 - 1e-12) } ?? above * 10
            if hi / lo < 10 { lo = min(lo, pow(10, floor(log10(lo)))); hi = max(hi, lo * 10) }
        case .linear:
            if includeZero { lo = min(lo, 0); hi = max(hi, 0) }
            if hi - lo < 1e-12 { lo -= max(1, abs(lo)) * 0.5; hi += max(1, abs(hi)) * 0.5 }
            let step = niceStep((hi - lo) / 5, integer: integer)
            lo = floor(lo / step + 1e-9) * step
            hi = ceil(hi / step - 1e-9) * step
        }
        return PlotAxis(scale: scale, lower: lo, upper: hi, pixelLower: pixelLower, pixelUpper: pixelUpper)
    }

    /// 1, 2 or 5 times a power of ten, at least `raw` (at least 1 for integer axes).
    static func niceStep(_ raw: Double, integer: Bool) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = pow(10, floor(log10(raw)))
        let f = raw / p
        let m: Double = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10
        return integer ? max(1, (m * p).rounded()) : m * p
    }

    /// Tick values with their labels.
    public func ticks(integer: Bool = false) -> [(value: Double, label: String)] {
        switch scale {
        case .linear:
            let step = Self.niceStep((upper - lower) / 5, integer: integer)
            let decimals = integer ? 0 : max(0, Int(-floor(log10(step) + 1e-9)))
            var out: [(Double, String)] = []
            var i = (lower / step - 1e-9).rounded(.up)
            while i * step <= upper + step * 1e-9 {
                let v = i * step
                out.append((v, Self.formatLinear(v, decimals: decimals)))
                i += 1
            }
            return out
        case .log:
            let a = Int(floor(log10(lower) + 1e-9)), b = Int(ceil(log10(upper) - 1e-9))
            let decades = b - a
            let stride = decades > 6 ? 2 : 1
            let inside = { (v: Double) in v >= self.lower * (1 - 1e-9) && v <= self.upper * (1 + 1e-9) }
            var out: [(Double, String)] = []
            for e in Swift.stride(from: a, through: b, by: stride) {
                let p = pow(10, Double(e))
                if inside(p) { out.append((p, Self.formatPower(e))) }
                if decades <= 2 {
                    for m in [2.0, 5.0] where inside(m * p) { out.append((m * p, Self.formatPlain(m * p))) }
                }
            }
            return out.sorted { $0.0 < $1.0 }
        }
    }

    static func formatLinear(_ v: Double, decimals: Int) -> String {
        let s = String(format: "%.\(decimals)f", v)
        return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
    }

    static func formatPlain(_ v: Double) -> String {
        if v >= 1e-3, v < 1e5 { return String(format: "%g", v) }
        return String(format: "%.0e", v)
    }

    /// 10^e written plainly for everyday magnitudes, with superscript digits otherwise.
    static func formatPower(_ e: Int) -> String {
        if e >= -3, e <= 4 { return formatPlain(pow(10, Double(e))) }
        let sup: [Character: Character] = ["0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵",
                                           "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻"]
        return "10" + String(String(e).map { sup[$0] ?? $0 })
    }
}

/// One line of a line chart.
public struct PlotSeries {
    public var label: String
    public var points: [(x: Double, y: Double)]
    public var color: String
    public var width: Double
    public var dash: String?

    public init(label: String, points: [(x: Double, y: Double)], color: String, width: Double = 2, dash: String? = nil) {
        self.label = label
        self.points = points
        self.color = color
        self.width = width
        self.dash = dash
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
        var ys = series.flatMap { $0.points.map(\.y) }
        ys += scatter?.points.map(\.y) ?? []
        return PlotAxis.fitting(ys, scale: yScale, pixelLower: height - Self.margin.bottom, pixelUpper: Self.margin.top)
    }

    func render() -> SVGWriter {
        var svg = SVGWriter(width: width, height: height)
        let xa = xAxis, ya = yAxis
        let m = Self.margin
        let left = m.left, right = width - m.right, top = m.top, bottom = height - m.bottom
        svg.text(title, x: left, y: 26, size: 16, weight: "bold", cls: "title")

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

        for (i, s) in series.enumerated() {
            var a: [(String, String)] = [("class", "series"), ("id", "\(id)-series-\(i)"), ("data-label", s.label),
                                         ("d", pathData(s.points, xa: xa, ya: ya)), ("fill", "none"),
                                         ("stroke", s.color), ("stroke-width", svgNumber(s.width)),
                                         ("stroke-linejoin", "round")]
            if let dash = s.dash { a.append(("stroke-dasharray", dash)) }
            svg.element("path", a)
        }
        if let scatter {
            svg.open("g", [("class", "points"), ("data-label", scatter.label), ("fill", "#888888"), ("fill-opacity", "0.6")])
            for p in scatter.points where xa.accepts(p.x) && ya.accepts(p.y) {
                svg.element("circle", [("cx", svgNumber(xa.position(p.x))), ("cy", svgNumber(ya.position(p.y))), ("r", "2")])
            }
            svg.close("g")
        }

        drawLegend(&svg, x: right + 16, y: top + 6)
        return svg
    }

    /// "M x,y L x,y …"; a point that cannot be drawn (NaN, ≤ 0 on a log axis) breaks the line.
    func pathData(_ points: [(x: Double, y: Double)], xa: PlotAxis, ya: PlotAxis) -> String {
        var parts: [String] = []
        var pen = false
        for p in points {
            guard xa.accepts(p.x), ya.accepts(p.y) else { pen = false; continue }
            parts.append("\(pen ? "L" : "M")\(svgNumber(xa.position(p.x))),\(svgNumber(ya.position(p.y)))")
            pen = true
        }
        return parts.joined(separator: " ")
    }

    private func drawMarkers(_ svg: inout SVGWriter, xa: PlotAxis, top: Double, bottom: Double) {
        // Several variants may switch at the same epoch: draw the line once and stack the labels.
        var drawn: [Double: Int] = [:]
        var seen = Set<String>()
        for mk in markers {
            let key = "\(mk.x)|\(mk.label)"
            guard !seen.contains(key) else { continue }
            seen.insert(key)
            let x = xa.position(mk.x)
            let row = drawn[mk.x, default: 0]
            if row == 0 {
                svg.line(x, top, x, bottom, stroke: mk.color, width: 1.3, dash: "6 4", cls: "switch",
                         extra: [("data-x", svgNumber(mk.x))])
            }
            drawn[mk.x] = row + 1
            svg.text(mk.label, x: x + 4, y: top + 14 + Double(row) * 14, size: 11, fill: mk.color, cls: "switch-label")
        }
    }

    private func drawLegend(_ svg: inout SVGWriter, x: Double, y: Double) {
        var row = 0.0
        for s in series {
            let yy = y + row * 20
            svg.line(x, yy, x + 24, yy, stroke: s.color, width: s.width + 0.5, dash: s.dash, cls: "legend-line")
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

/// One bar panel: a bar per category, each a stack of segments, with the total written above.
struct BarPanel {
    struct Bar {
        var category: String
        var segments: [(label: String, value: Double, color: String)]
        var totalLabel: String
    }
    var id: String
    var title: String
    var yLabel: String
    var bars: [Bar]
    /// Legend entries for the segments (empty: none).
    var legend: [(label: String, color: String)] = []

    func draw(_ svg: inout SVGWriter, x0: Double, y0: Double, width: Double, height: Double) {
        let left = x0 + 70, right = x0 + width - (legend.isEmpty ? 16 : 96)
        let top = y0 + 44, bottom = y0 + height - 50
        let totals = bars.map { $0.segments.reduce(0) { $0 + max(0, $1.value) } }
        let ya = PlotAxis.fitting(totals + [0], scale: .linear, pixelLower: bottom, pixelUpper: top + 14)
        svg.text(title, x: x0 + 14, y: y0 + 26, size: 15, weight: "bold", cls: "title")
        for t in ya.ticks() {
            let y = ya.position(t.value)
            svg.line(left, y, right, y, stroke: "#dddddd", cls: "grid")
            svg.text(t.label, x: left - 6, y: y + 4, size: 11, anchor: "end", cls: "ytick")
        }
        svg.line(left, bottom, right, bottom, stroke: "#444444")
        svg.line(left, top, left, bottom, stroke: "#444444")
        svg.text(yLabel, x: x0 + 16, y: (top + bottom) / 2, size: 13, anchor: "middle", rotate: -90, cls: "ylabel")
        let slot = (right - left) / Double(max(1, bars.count))
        let barWidth = min(70, slot * 0.6)
        for (i, bar) in bars.enumerated() {
            let cx = left + slot * (Double(i) + 0.5)
            var base = 0.0
            svg.open("g", [("class", "bar"), ("id", "\(id)-bar-\(i)"), ("data-label", bar.category)])
            for seg in bar.segments where seg.value > 0 {
                let yTop = ya.position(base + seg.value), yBase = ya.position(base)
                svg.rect(x: cx - barWidth / 2, y: yTop, width: barWidth, height: yBase - yTop, fill: seg.color,
                         cls: "segment", extra: [("data-label", seg.label), ("data-value", String(format: "%.3f", seg.value))])
                base += seg.value
            }
            svg.close("g")
            svg.text(bar.totalLabel, x: cx, y: ya.position(base) - 5, size: 11, anchor: "middle", cls: "bar-total")
            svg.text(bar.category, x: cx, y: bottom + 18, size: 12, anchor: "middle", cls: "xtick")
        }
        for (i, entry) in legend.enumerated() {
            let yy = top + 6 + Double(i) * 20
            svg.rect(x: right + 14, y: yy - 7, width: 14, height: 14, fill: entry.color)
            svg.text(entry.label, x: right + 34, y: yy + 4, size: 12, cls: "legend")
        }
    }
}
