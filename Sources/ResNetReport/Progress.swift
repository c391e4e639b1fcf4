import Foundation
import ResNetTraining
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Training progress for rank 0.
///
/// On a terminal: one live line per run, redrawn in place with `\r` (epoch, level, loss, test
/// metric, samples/s, time left), left on screen as the run's final state when it ends. Not on a
/// terminal (logs, batch jobs): the epoch line of the first epoch, of every `logEvery`-th and of
/// the last, so a long run logs a few dozen lines. `quiet`: nothing.
///
/// ```swift
/// let progress = ProgressReporter(label: "deep s1", totalEpochs: 50, stepsPerEpoch: 59, quiet: false)
/// progress.step(globalStep: 0, loss: 2.31, samples: 1024)   // steps count from 0 over the run
/// progress.epochFinished(record)
/// ```
public final class ProgressReporter {
    public let label: String
    public let totalEpochs: Int
    public let stepsPerEpoch: Int
    public let quiet: Bool
    public let isTerminal: Bool
    /// Not on a terminal: log every this many epochs (and the first and the last).
    public let logEvery: Int
    /// The terminal's width: a longer live line would wrap, and `\r` would redraw only its last row.
    public let columns: Int?
    private let output: (String) -> Void
    private let clock: () -> Double

    private var firstStep: (globalStep: Int, time: Double)?
    private var lossSum = 0.0
    private var lossCount = 0
    private var last: EpochRecord?
    /// The current level's samples and seconds of training steps (its average rate: one epoch of
    /// the regression takes milliseconds, and its own rate jumps with every hiccup).
    private var levelSamples = 0.0
    private var levelSeconds = 0.0
    private var lastDraw = -Double.infinity
    private var lineVisible = false

    /// The live line shown now, if any: log lines clear it before they are written.
    nonisolated(unsafe) public static var current: ProgressReporter?

    /// At most one redraw per this many seconds (the end of the run is always drawn).
    public static let redrawInterval = 0.1

    /// - Parameters:
    ///   - label: what the line names the run by (variant and seed in a comparison).
    ///   - logEvery: epochs between log lines off a terminal; nil: `defaultLogEvery(epochs:)`.
    ///   - isTerminal: whether to draw the live line; by default whether the user sees a terminal.
    ///   - output: where text goes, exactly as written (with `\r` and `\n`); by default stderr.
    ///   - clock: seconds from any fixed origin; injectable for tests.
    public init(label: String = "", totalEpochs: Int, stepsPerEpoch: Int, quiet: Bool, logEvery: Int? = nil,
                isTerminal: Bool = TerminalDetection.stderrReachesTerminal(),
                columns: Int? = TerminalDetection.columns(),
                output: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
                clock: @escaping () -> Double = { Date.timeIntervalSinceReferenceDate }) {
        self.label = label
        self.totalEpochs = totalEpochs
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        self.quiet = quiet
        self.logEvery = max(1, logEvery ?? Self.defaultLogEvery(epochs: totalEpochs))
        self.isTerminal = isTerminal
        self.columns = columns
        self.output = output
        self.clock = clock
    }

    /// Epochs between log lines by default: about 25 lines for any length of run (every epoch up
    /// to 25 epochs, every 40th of 1000).
    public static func defaultLogEvery(epochs: Int) -> Int {
        max(1, (epochs + 24) / 25)
    }

    /// Whether the epoch line of `epoch` (from 1) is logged off a terminal.
    public static func logs(epoch: Int, every: Int, of total: Int) -> Bool {
        epoch == 1 || epoch == total || epoch % max(1, every) == 0
    }

    /// After global step `globalStep` (from 0 over the run) with this step's loss.
    public func step(globalStep: Int, loss: Double, samples: Int) {
        let now = clock()
        if firstStep == nil { firstStep = (globalStep, now) }
        lossSum += loss
        lossCount += 1
        guard !quiet, isTerminal, now - lastDraw >= Self.redrawInterval else { return }
        draw(epoch: globalStep / stepsPerEpoch + 1, stepsDone: globalStep + 1, now: now)
    }

    /// After an epoch: the live line shows its figures (and stays, ended, after the last epoch);
    /// off a terminal its line is logged when `logs(epoch:every:of:)` says so.
    public func epochFinished(_ record: EpochRecord) {
        if record.level != last?.level { levelSamples = 0; levelSeconds = 0 }
        levelSamples += record.samplesPerSecond * record.epochSeconds
        levelSeconds += record.epochSeconds
        last = record
        lossSum = 0
        lossCount = 0
        guard !quiet else { return }
        guard isTerminal else {
            if Self.logs(epoch: record.epoch, every: logEvery, of: totalEpochs) {
                output(ReportTable.epochLine(record, epochs: totalEpochs) + "\n")
            }
            return
        }
        // Short epochs (the regression's take milliseconds) are drawn at the redraw rate only.
        let now = clock()
        let done = record.epoch >= totalEpochs
        if done || now - lastDraw >= Self.redrawInterval {
            draw(epoch: record.epoch, stepsDone: record.epoch * stepsPerEpoch, now: now)
        }
        if done { finish() }
    }

    /// Ends the live line (keeping it on screen), so that what follows starts on a line of its
    /// own: after the last epoch, or when a run stops early.
    public func finish() {
        guard lineVisible else { return }
        output("\n")
        lineVisible = false
    }

    /// Any other line (a level switch, a warning): the live line is cleared, the text written,
    /// and the live line redrawn on the next step.
    public func message(_ text: String) {
        guard !quiet else { return }
        output(clearLine() + text + "\n")
        lastDraw = -Double.infinity
    }

    /// `\r` and erase-line when the live line is showing (what precedes any other output).
    public func clearLine() -> String {
        guard lineVisible else { return "" }
        lineVisible = false
        return "\r\u{1B}[K"
    }

    private func draw(epoch: Int, stepsDone: Int, now: Double) {
        lastDraw = now
        output("\r" + Self.fit(line(epoch: epoch, stepsDone: stepsDone, now: now), columns: columns) + "\u{1B}[K")
        lineVisible = true
    }

    /// The live line shortened to fit `columns - 1` characters: first the double spaces between
    /// its parts become single, then the samples/s part goes, then the line is cut.
    static func fit(_ line: String, columns: Int?) -> String {
        guard let columns, columns > 1, line.count >= columns else { return line }
        var text = line.replacingOccurrences(of: "  ", with: " ")
        if text.count >= columns, let r = text.range(of: #" [0-9]+ samples/s"#, options: .regularExpression) {
            text.removeSubrange(r)
        }
        return String(text.prefix(columns - 1))
    }

    /// "deep s1  epoch 412/1000  level 1  loss 0.01234  err 1.5432  91234 samples/s  ETA 8s";
    /// after the last epoch the time taken in place of the ETA.
    func line(epoch: Int, stepsDone: Int, now: Double) -> String {
        var parts = label.isEmpty ? [] : [label]
        parts.append("epoch \(min(epoch, totalEpochs))/\(totalEpochs)")
        if let last { parts.append("level \(last.level)") }
        let running = lossCount > 0 ? lossSum / Double(lossCount) : last?.trainLoss
        if let running { parts.append(String(format: "loss %.5f", running)) }
        if let last { parts.append(ReportTable.metricCell(last)) }
        if levelSeconds > 0 { parts.append(String(format: "%.0f samples/s", levelSamples / levelSeconds)) }
        let elapsed = firstStep.map { now - $0.time } ?? 0
        if stepsDone >= totalEpochs * stepsPerEpoch {
            parts.append("done in " + Self.duration(elapsed))
        } else {
            parts.append("ETA " + Self.duration(secondsLeft(stepsDone: stepsDone, elapsed: elapsed)))
        }
        return parts.joined(separator: "  ")
    }

    /// Time left at the run's pace so far: seconds per step since the first step seen (a resumed
    /// run counts from where it resumed) times the steps still to run. A later, deeper level is
    /// slower, so the estimate grows after a switch.
    func secondsLeft(stepsDone: Int, elapsed: Double) -> Double {
        // The clock starts after the first step seen, so the steps timed are the ones after it.
        let timed = stepsDone - (firstStep?.globalStep ?? 0) - 1
        guard firstStep != nil, timed > 0, elapsed > 0 else { return .nan }
        let perStep = elapsed / Double(timed)
        return perStep * Double(max(0, totalEpochs * stepsPerEpoch - stepsDone))
    }

    /// "42s", "3m05s", "1h02m"; "?" before there is anything to estimate from.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}

/// Whether rank 0's stderr ends up on a person's terminal.
public enum TerminalDetection {
    /// stderr itself is a terminal, or — under mpirun, which hands each rank a pipe and copies it
    /// to its own stderr — mpirun's stderr is. The launcher is the parent process on the node
    /// mpirun runs on; elsewhere (a remote node's daemon, srun) the answer is no, and the bounded
    /// log lines are the safe default.
    public static func stderrReachesTerminal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if isatty(2) != 0 { return true }
        guard environment["OMPI_COMM_WORLD_SIZE"] != nil else { return false }
        return isTerminalPath(linkTarget("/proc/\(getppid())/fd/2"))
    }

    /// The width of the terminal `stderrReachesTerminal` found (nil: none, or unknown).
    public static func columns() -> Int? {
        if isatty(2) != 0 { return width(of: 2) }
        guard ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil,
              let path = linkTarget("/proc/\(getppid())/fd/2"), isTerminalPath(path) else { return nil }
        let fd = open(path, O_WRONLY | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return width(of: fd)
    }

    static func width(of fd: Int32) -> Int? {
        var size = winsize()
        let ok = withUnsafeMutablePointer(to: &size) { ioctl(fd, UInt(TIOCGWINSZ), $0) } == 0
        return ok && size.ws_col > 0 ? Int(size.ws_col) : nil
    }

    /// A device path of a terminal: /dev/pts/N, /dev/ttyN or /dev/tty.
    public static func isTerminalPath(_ path: String?) -> Bool {
        guard let path else { return false }
        return path.hasPrefix("/dev/pts/") || path.hasPrefix("/dev/tty")
    }

    static func linkTarget(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }
}
