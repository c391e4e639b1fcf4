import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ResNetReport
@testable import ResNetTraining

/// Parses XML and keeps every element with its attributes and text, in document order.
final class XMLCollector: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }
    var elements: [Element] = []
    private var stack: [Int] = []

    static func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> XMLCollector {
        let c = XMLCollector()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = c
        let ok = parser.parse()
        XCTAssertTrue(ok, "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
        return c
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(Element(name: name, attributes: attributes))
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        for i in stack { elements[i].text += string }
    }

    func all(_ name: String, cls: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (cls == nil || $0.attributes["class"] == cls) }
    }
}

extension EpochRecord {
    /// The epoch took `seconds` for the same work, as a record of a stalled or faster epoch reads:
    /// the throughput changes with the time.
    mutating func take(_ seconds: Double) {
        samplesPerSecond *= epochSeconds / seconds
        epochSeconds = seconds
    }
}

/// A run with a plausible history: loss falling geometrically, accuracy rising, levels switching.
func syntheticRun(variant: String, epochs: Int = 10, levels: [(blocks: Int, h: Double, integrator: String)],
                  switches: [Int] = [], metric: String = "test accuracy", seconds: [Double], peakMB: Double) -> RunSummary {
    var history: [EpochRecord] = []
    for e in 1...epochs {
        let level = switches.filter { $0 < e }.count
        let l = levels[level]
        // Each level's seconds spread evenly over its epochs, so the robust time equals them.
        let inLevel = (1...epochs).filter { e2 in switches.filter { $0 < e2 }.count == level }.count
        let acc = 0.6 + 0.3 * Double(e) / Double(epochs)
        history.append(EpochRecord(epoch: e, level: level + 1, blocks: [l.blocks, l.blocks], h: l.h, integrator: l.integrator,
                                   learningRate: 0.005, trainLoss: 2.0 * pow(0.7, Double(e)),
                                   testMetric: metric == "test accuracy" ? acc : 5 * pow(0.8, Double(e)),
                                   testMetricName: MetricKind(rawValue: metric)!, epochSeconds: seconds[level] / Double(inLevel),
                                   samplesPerSecond: 60_000 * Double(inLevel) / seconds[level],
                                   allreduceShare: 0, peakRSSBytes: Int(peakMB * 1e6)))
    }
    let last = history.last!
    return RunSummary(experiment: "fashion", variant: variant, ranks: 2, epochs: epochs, finalTrainLoss: last.trainLoss,
                      testMetric: last.testMetric, testMetricName: MetricKind(rawValue: metric)!, trainSeconds: seconds.reduce(0, +),
                      levelSeconds: seconds, switchEpochs: switches, finalBlocks: last.blocks, parameterCount: 1000,
                      peakRSSBytes: Int(peakMB * 1e6), runDirectory: nil, history: history)
}

func comparedRuns(metric: String = "test accuracy") -> [RunSummary] {
    [
        syntheticRun(variant: "shallow", levels: [(2, 1, "euler")], metric: metric, seconds: [60], peakMB: 80),
        syntheticRun(variant: "deep", levels: [(3, 1, "euler")], metric: metric, seconds: [100], peakMB: 120),
        syntheticRun(variant: "multilevel", levels: [(2, 1, "euler"), (3, 0.5, "euler")], switches: [5],
                     metric: metric, seconds: [30, 50], peakMB: 118),
    ]
}

/// (x, y) pairs of an "M x,y L x,y …" path.
func pathPoints(_ d: String) -> [(Double, Double)] {
    d.split(separator: " ").map { token in
        let xy = token.dropFirst().split(separator: ",").map { Double($0)! }
        return (xy[0], xy[1])
    }
}
