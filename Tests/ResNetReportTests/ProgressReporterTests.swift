import Foundation
import XCTest
@testable import ResNetReport
@testable import ResNetTraining

final class ProgressReporterTests: XCTestCase {
    final class Sink {
        var chunks: [String] = []
        var text: String { chunks.joined() }
    }

    func record(epoch: Int) -> EpochRecord {
        comparedRuns()[2].history[epoch - 1]
    }

    func reporter(terminal: Bool, quiet: Bool = false, epochs: Int = 2, logEvery: Int? = nil,
                  time: @escaping () -> Double) -> (ProgressReporter, Sink) {
        let sink = Sink()
        let p = ProgressReporter(label: "deep s1", totalEpochs: epochs, stepsPerEpoch: 4, quiet: quiet, logEvery: logEvery,
                                 isTerminal: terminal, output: { sink.chunks.append($0) }, clock: time)
        return (p, sink)
    }

    /// What a terminal shows of the output: each line as its last `\r`-redraw left it.
    func screen(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            String(line.split(separator: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
        }
    }

    func testTerminalKeepsOneLiveLinePerRun() {
        var now = 0.0
        let (p, sink) = reporter(terminal: true) { now }
        for e in 1...2 {
            for s in 1...4 {
                now += 1
                p.step(globalStep: (e - 1) * 4 + s - 1, loss: Double(s), samples: 100)
            }
            if e == 1 { XCTAssertFalse(sink.text.contains("\n"), "one line, redrawn in place, during the run") }
            p.epochFinished(record(epoch: e))
        }
        // After 2 of 8 steps: 1 s for the step after the first, 6 steps left.
        XCTAssertEqual(sink.chunks[1], "\rdeep s1  epoch 1/2  loss 1.50000  ETA 6.0s\u{1B}[K")
        let r2 = record(epoch: 2)
        XCTAssertEqual(screen(sink.text), [String(format: "deep s1  epoch 2/2  level 1  loss %.5f  acc %.2f%%  %.0f samples/s  done in 7.0s",
                                                  r2.trainLoss, 100 * r2.testMetric, r2.samplesPerSecond)])
    }

    func testTerminalRedrawsAreThrottledButTheEndIsDrawn() {
        let (p, sink) = reporter(terminal: true) { 5.0 }
        for g in 0..<8 { p.step(globalStep: g, loss: 1, samples: 10) }
        p.epochFinished(record(epoch: 1))
        XCTAssertEqual(sink.chunks.count, 1, "one draw per 0.1 s at most")
        p.epochFinished(record(epoch: 2))
        XCTAssertTrue(sink.text.hasSuffix("done in 0.0s\u{1B}[K\n"), sink.text)
    }

    func testNonTerminalLogOfA1000EpochRunIsBounded() {
        let run = syntheticRun(variant: "deep", epochs: 1000, levels: [(3, 1, "euler")], seconds: [4], peakMB: 10)
        let (p, sink) = reporter(terminal: false, epochs: 1000) { 0 }
        for r in run.history { p.epochFinished(r) }
        let lines = screen(sink.text)
        XCTAssertEqual(p.logEvery, 40)
        XCTAssertEqual(lines.count, 26)   // epoch 1, then 40, 80, …, 1000
        XCTAssertEqual(lines.first, ReportTable.epochLine(run.history[0], epochs: 1000))
        XCTAssertEqual(lines[1], ReportTable.epochLine(run.history[39], epochs: 1000))
        XCTAssertEqual(lines.last, ReportTable.epochLine(run.history[999], epochs: 1000))
        XCTAssertFalse(sink.text.contains("\r"))
    }

    func testLogEveryChoosesTheEpochsLogged() {
        let run = syntheticRun(variant: "deep", epochs: 1000, levels: [(3, 1, "euler")], seconds: [4], peakMB: 10)
        let (p, sink) = reporter(terminal: false, epochs: 1000, logEvery: 300) { 0 }
        for r in run.history { p.epochFinished(r) }
        XCTAssertEqual(screen(sink.text).map { $0.split(separator: " ")[1] }, ["1/1000", "300/1000", "600/1000", "900/1000", "1000/1000"])
        XCTAssertEqual(ProgressReporter.defaultLogEvery(epochs: 50), 2)
        XCTAssertEqual(ProgressReporter.defaultLogEvery(epochs: 25), 1)
        XCTAssertEqual(ProgressReporter.defaultLogEvery(epochs: 8000), 320)
    }

    func testEpochLineShowsShortEpochsInMilliseconds() {
        var r = record(epoch: 1)
        r.epochSeconds = 0.0042
        XCTAssertTrue(ReportTable.epochLine(r, epochs: 2).contains("  4.2ms  "), ReportTable.epochLine(r, epochs: 2))
        XCTAssertEqual(ReportTable.seconds(0.42), "0.42s")
        XCTAssertEqual(ReportTable.seconds(12.34), "12.3s")
    }

    func testQuietPrintsNothing() {
        for terminal in [true, false] {
            let (p, sink) = reporter(terminal: terminal, quiet: true) { 0 }
            p.step(globalStep: 0, loss: 1, samples: 1)
            p.epochFinished(record(epoch: 1))
            p.message("level switch")
            p.finish()
            XCTAssertTrue(sink.chunks.isEmpty)
        }
    }

    func testDurations() {
        XCTAssertEqual(ProgressReporter.duration(4.25), "4.2s")
        XCTAssertEqual(ProgressReporter.duration(42.4), "42s")
        XCTAssertEqual(ProgressReporter.duration(185), "3m05s")
        XCTAssertEqual(ProgressReporter.duration(3720), "1h02m")
        XCTAssertEqual(ProgressReporter.duration(.nan), "?")
    }

    func testMessageClearsTheLiveLineAndAnEarlyStopEndsIt() {
        var now = 0.0
        let (p, sink) = reporter(terminal: true) { now }
        now = 1
        p.step(globalStep: 0, loss: 1, samples: 1)
        p.message("switching to level 2")
        XCTAssertEqual(sink.chunks.last, "\r\u{1B}[Kswitching to level 2\n")
        XCTAssertEqual(p.clearLine(), "", "nothing to clear once cleared")
        now = 2
        p.step(globalStep: 1, loss: 1, samples: 1)
        p.finish()
        XCTAssertEqual(sink.chunks.last, "\n")
        XCTAssertEqual(screen(sink.text).count, 2)
    }

    /// On an 80-column terminal a longer live line would wrap, and each redraw leave a row behind.
    func testLiveLineFitsTheTerminalWidth() {
        let line = "multilevel s3  epoch 1000/1000  level 2  loss 0.00039  err 0.6505  72677 samples/s  ETA 30s"
        XCTAssertEqual(ProgressReporter.fit(line, columns: 200), line)
        XCTAssertEqual(ProgressReporter.fit(line, columns: 80),
                       "multilevel s3 epoch 1000/1000 level 2 loss 0.00039 err 0.6505 ETA 30s")
        XCTAssertEqual(ProgressReporter.fit(line, columns: 40).count, 39)
        XCTAssertEqual(ProgressReporter.fit(line, columns: nil), line)
        var now = 0.0
        let sink = Sink()
        let p = ProgressReporter(label: "multilevel s3", totalEpochs: 2, stepsPerEpoch: 4, quiet: false, isTerminal: true,
                                 columns: 30, output: { sink.chunks.append($0) }, clock: { now })
        now = 1
        p.step(globalStep: 0, loss: 1, samples: 1)
        XCTAssertEqual(sink.chunks, ["\rmultilevel s3 epoch 1/2 loss \u{1B}[K"])  // 29 of 30 columns
    }

    func testTerminalPathsAreRecognised() {
        XCTAssertTrue(TerminalDetection.isTerminalPath("/dev/pts/3"))
        XCTAssertTrue(TerminalDetection.isTerminalPath("/dev/tty1"))
        XCTAssertFalse(TerminalDetection.isTerminalPath("pipe:[123456]"))
        XCTAssertFalse(TerminalDetection.isTerminalPath("/tmp/log.txt"))
        XCTAssertFalse(TerminalDetection.isTerminalPath(nil))
    }
}
