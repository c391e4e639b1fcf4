import Foundation
import ResNetTraining
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Training progress for rank 0.
///
/// On a terminal: a bar for the current epoch redrawn in place with `\r` (steps, running loss,
/// samples/s, time left for the run), then one summary line per epoch. Not on a terminal (CI,
/// batch jobs): only the per-epoch lines. `quiet`: nothing.
///
/// ```swift
/// let progress = ProgressReporter(totalEpochs: 50, stepsPerEpoch: 59, quiet: options.quiet)
/// progress.step(epoch: 1, step: 1, loss: 2.31, samples: 1024)   // epoch and step count from 1
/// progress.epochFinished(record)
/// ```
public final class ProgressReporter {
    public let totalEpochs: Int
    public let stepsPerEpoch: Int
    public let quiet: Bool
    public let isTerminal: Bool
    private let output: (String) -> Void
    private let clock: () -> Double

    private var epochStart: Double
    private var lossSum = 0.0
    private var lossCount = 0
    private var samples = 0
    private var lastDraw = -Double.infinity
    private var barVisible = false

    /// Redraws are limited to this many per second (the last step of an epoch is always drawn).
    public static let redrawInterval = 0.1
    static let barWidth = 24

    /// - Parameters:
    ///   - isTerminal: whether to draw the bar; by default whether stderr is a terminal.
    ///   - output: where text goes, exactly as written (with `\r` and `\n`); by default stderr.
    ///   - clock: seconds from any fixed origin; injectable for tests.
    public init(totalEpochs: Int, stepsPerEpoch: Int, quiet: Bool,
                isTerminal: Bool = isatty(2) != 0,
                output: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
                clock: @escaping () -> Double = { Date.timeIntervalSinceReferenceDate }) {
        self.totalEpochs = totalEpochs
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        self.quiet = quiet
        self.isTerminal = isTerminal
        self.output = output
        self.clock = clock
        self.epochStart = clock()
    }

    /// Marks the start of an epoch's first step. Optional: without it an epoch is timed from the
    /// previous `epochFinished` (or from `init` for the first).
    public func epochStarted() {
        epochStart = clock()
        lossSum = 0
        lossCount = 0
        samples = 0
    }

    /// After step `step` (1-based) of epoch `epoch` (1-based) with this step's loss and the number
    /// of samples it processed over all ranks.
    public func step(epoch: Int, step: Int, loss: Double, samples stepSamples: Int) {
        let now = clock()
        lossSum += loss
        lossCount += 1
        samples += stepSamples
        guard !quiet, isTerminal else { return }
        guard step >= stepsPerEpoch || now - lastDraw >= Self.redrawInterval else { return }
        lastDraw = now
        let elapsed = now - epochStart
        let left = Self.secondsLeft(elapsedInEpoch: elapsed, stepsDoneInEpoch: step, epoch: epoch,
                                    totalEpochs: totalEpochs, stepsPerEpoch: stepsPerEpoch)
        output("\r" + bar(epoch: epoch, step: step, elapsed: elapsed, left: left) + "\u{1B}[K")
        barVisible = true
    }

    /// The same from a 0-based step count over the whole run (the form `Trainer.stepObserver` gives):
    /// `trainer.stepObserver = { g, loss in progress.step(globalStep: g, loss: loss, samples: batchSize) }`.
    public func step(globalStep: Int, loss: Double, samples: Int) {
        step(epoch: globalStep / stepsPerEpoch + 1, step: globalStep % stepsPerEpoch + 1, loss: loss, samples: samples)
    }

    /// Prints the epoch's summary line (replacing the bar on a terminal) and resets the bar.
    public func epochFinished(_ record: EpochRecord) {
        epochStarted()
        lastDraw = -Double.infinity
        guard !quiet else { return }
        let clear = barVisible ? "\r\u{1B}[K" : ""
        barVisible = false
        output(clear + ReportTable.epochLine(record, epochs: totalEpochs) + "\n")
    }

    /// Any other line (a level switch, a warning) without garbling the bar: the bar is redrawn on
    /// the next step.
    public func message(_ text: String) {
        guard !quiet else { return }
        let clear = barVisible ? "\r\u{1B}[K" : ""
        barVisible = false
        lastDraw = -Double.infinity
        output(clear + text + "\n")
    }

    func bar(epoch: Int, step: Int, elapsed: Double, left: Double) -> String {
        let fraction = min(1, Double(step) / Double(stepsPerEpoch))
        let filled = Int((fraction * Double(Self.barWidth)).rounded(.down))
        let arrow = filled < Self.barWidth ? ">" : ""
        let bar = String(repeating: "=", count: filled) + arrow
            + String(repeating: " ", count: max(0, Self.barWidth - filled - arrow.count))
        let rate = elapsed > 0 ? Double(samples) / elapsed : 0
        let running = lossCount > 0 ? lossSum / Double(lossCount) : .nan
        return String(format: "epoch %d/%d [%@] %d/%d steps  loss %.5f  %.0f samples/s  %@ left",
                      epoch, totalEpochs, bar, step, stepsPerEpoch, running, rate, Self.duration(left))
    }

    /// Time left for the run, at the current epoch's pace: seconds per step so far in this epoch
    /// times the steps still to run (the rest of this epoch and all later epochs). The current pace
    /// reflects the current level's depth; a later, deeper level makes the estimate grow.
    public static func secondsLeft(elapsedInEpoch: Double, stepsDoneInEpoch: Int, epoch: Int,
                                   totalEpochs: Int, stepsPerEpoch: Int) -> Double {
        guard stepsDoneInEpoch > 0 else { return .nan }
        let perStep = elapsedInEpoch / Double(stepsDoneInEpoch)
        let remaining = (totalEpochs - epoch) * stepsPerEpoch + (stepsPerEpoch - stepsDoneInEpoch)
        return perStep * Double(max(0, remaining))
    }

    /// "42s", "3m05s", "1h02m"; "?" before there is anything to estimate from.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
