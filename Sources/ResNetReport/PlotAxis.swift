import Foundation

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
