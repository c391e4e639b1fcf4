import Foundation

/// Parallel efficiency against the number of ranks (1, 2, 4, … on a log₂ axis), one line per
/// series: `resnet-dist bench scaling --scaling-chart` draws its scaling model with it.
public enum EfficiencyChart {
    public static func svg(title: String, ranks: [Int], series: [(label: String, efficiency: [Double])]) -> String {
        var chart = LineChart(id: "efficiency", title: title, xLabel: "ranks (global batch split evenly)",
                              yLabel: "parallel efficiency (%)")
        let x = ranks.map { log2(Double($0)) }
        chart.xDomain = (x.first ?? 0, x.last ?? 1)
        chart.xTicks = zip(x, ranks).map { ($0, String($1)) }
        chart.series = series.enumerated().map { i, s in
            PlotSeries(label: s.label, points: zip(x, s.efficiency).map { ($0, 100 * $1) }, color: Palette.color(i / 2),
                       width: 2, dash: i % 2 == 1 ? "7 3" : nil, marker: i)
        }
        chart.target = (50, "50 %")
        return chart.render().render()
    }
}
