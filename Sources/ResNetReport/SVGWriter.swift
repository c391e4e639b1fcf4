import Foundation

// A small, dependency-free SVG writer for the run report's figures (LineChart, BarPanel, on
// PlotAxis). Output is deterministic: attributes are written in a fixed order and every number
// with a fixed format, so the same runs give the same bytes.

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
