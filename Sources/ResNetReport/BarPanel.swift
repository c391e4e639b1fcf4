import Foundation

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
        // Category names wider than their slot are written slanted, with room below for them.
        let slant = Self.slantsLabels(bars.map(\.category), slot: (right - left) / Double(max(1, bars.count)))
        let longest = Double(bars.map(\.category.count).max() ?? 0)
        let top = y0 + 44, bottom = y0 + height - (slant ? 24 + 0.64 * longest * Self.characterWidth : 50)
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
            if slant {
                svg.text(bar.category, x: cx + 4, y: bottom + 14, size: 12, anchor: "end", rotate: -40, cls: "xtick")
            } else {
                svg.text(bar.category, x: cx, y: bottom + 18, size: 12, anchor: "middle", cls: "xtick")
            }
        }
        for (i, entry) in legend.enumerated() {
            let yy = top + 6 + Double(i) * 20
            svg.rect(x: right + 14, y: yy - 7, width: 14, height: 14, fill: entry.color)
            svg.text(entry.label, x: right + 34, y: yy + 4, size: 12, cls: "legend")
        }
    }

    /// The width of a character at font size 12, roughly (DejaVu Sans averages about 0.55 em).
    static let characterWidth = 6.8

    /// Whether some name is wider than the slot its bar has (less a little space between names).
    static func slantsLabels(_ names: [String], slot: Double) -> Bool {
        names.contains { Double($0.count) * characterWidth > slot - 6 }
    }
}
