import ResNetDistributed

/// One line of `metrics.jsonl`: what happened in one epoch.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var level: Int
    public var blocks: [Int]
    public var h: Double
    public var integrator: String
    public var learningRate: Double
    public var trainLoss: Double
    /// Test accuracy (images) or the L2 norm of prediction − truth over the test set (regression).
    public var testMetric: Double
    public var testMetricName: MetricKind
    public var epochSeconds: Double
    public var samplesPerSecond: Double
    /// Share of step time spent in the gradient allreduce (0 on one rank).
    public var allreduceShare: Double
    public var peakRSSBytes: Int
    /// Seconds of the epoch's test pass (`Trainer.evaluate`), which `epochSeconds` leaves out.
    /// Absent in runs written before it was recorded.
    public var evalSeconds: Double? = nil
}

extension EpochRecord {
    /// Reads the rows of a `metrics.csv` (`RunSummary.epochsCSV`) back. The test metric comes from
    /// the column `test_metric` or the one named after the metric (`test_error_norm`,
    /// `test_accuracy`); learning rate, throughput and allreduce share are not in the file (0);
    /// the evaluation seconds come from `eval_seconds` when the file has that column.
    public static func records(csv: String, metric: MetricKind, source: String) throws -> [EpochRecord] {
        let lines = csv.split(whereSeparator: \.isNewline)   // "\r\n" is one Character
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first else { return [] }
        let metricColumn = metric.rawValue.replacingOccurrences(of: " ", with: "_")
        func column(_ names: String...) throws -> Int {
            guard let i = header.firstIndex(where: names.contains) else {
                throw TrainingError.output("\(source) has no column \(names.joined(separator: " or ")); expected the header of metrics.csv")
            }
            return i
        }
        let (epoch, level, blocks, h, integrator, loss, value, seconds, rss) = try (
            column("epoch"), column("level"), column("blocks"), column("h"), column("integrator"), column("train_loss"),
            column("test_metric", metricColumn), column("epoch_seconds"), column("peak_rss_mb"))
        let evalColumn = header.firstIndex(of: "eval_seconds")
        return try lines.dropFirst().enumerated().map { row, cells in
            func number(_ i: Int) throws -> Double {
                guard i < cells.count, let v = Double(cells[i]) else {
                    throw TrainingError.output("\(source), row \(row + 2): '\(i < cells.count ? cells[i] : "")' in column \(header[i]) is not a number")
                }
                return v
            }
            return EpochRecord(epoch: Int(try number(epoch)), level: Int(try number(level)),
                               blocks: cells[blocks].split(whereSeparator: { $0 == " " || $0 == "+" }).compactMap { Int($0) }, h: try number(h),
                               integrator: cells[integrator], learningRate: 0, trainLoss: try number(loss),
                               testMetric: try number(value), testMetricName: metric, epochSeconds: try number(seconds),
                               samplesPerSecond: 0, allreduceShare: 0, peakRSSBytes: Int(try number(rss) * 1e6),
                               evalSeconds: try evalColumn.flatMap { $0 < cells.count && !cells[$0].isEmpty ? try number($0) : nil })
        }
    }
}

/// `summary.json`: the outcome of one run.
public struct RunSummary: Codable, Equatable, Sendable {
    public var experiment: String
    public var variant: String
    public var ranks: Int
    public var epochs: Int
    public var finalTrainLoss: Double
    public var testMetric: Double
    public var testMetricName: MetricKind
    /// Wall time of the whole run: training steps, evaluation, level switches, checkpoints.
    public var trainSeconds: Double
    /// Wall time spent at each level, in seconds.
    public var levelSeconds: [Double]
    /// Epoch at which each level after the first began.
    public var switchEpochs: [Int]
    public var finalBlocks: [Int]
    public var parameterCount: Int
    /// The largest peak resident set size over all ranks.
    public var peakRSSBytes: Int
    public var runDirectory: String?
    public var history: [EpochRecord]
    /// What each level switch did to the network's output (the "jump" of thesis Fig. 5.14).
    public var switches: [SwitchRecord] = []
    /// The trivial predictor's metric on the same test set: the mean predictor's error norm
    /// (regression) or the majority class's accuracy (classification). Absent in runs written before it.
    public var trivialMetric: Double? = nil
    /// The run's settings against the thesis's (absent in runs written before it).
    public var scale: RunScale? = nil
    /// The seed of the initial weights and the data order (absent in runs written before it:
    /// `results` reads it from the run's config.yaml).
    public var seed: Int? = nil
    /// The machine rank 0 ran on (`ProcessStats.machine()`; absent in runs written before it):
    /// reports count equal work as equal time only on one machine (`EpochCosts`).
    public var machine: String? = nil

    /// The per-epoch history as CSV (`metrics.csv`): wall seconds are cumulative from the start of
    /// training, so a plot of the test metric against them shows the time to reach a quality.
    /// `epoch_seconds` are the training steps; `eval_seconds` the test pass (empty when unknown).
    public var epochsCSV: String {
        var lines = ["epoch,level,blocks,h,integrator,train_loss,test_metric,test_metric_name,epoch_seconds,wall_seconds,peak_rss_mb,eval_seconds"]
        var wall = 0.0
        for r in history {
            wall += r.epochSeconds
            lines.append([String(r.epoch), String(r.level), r.blocks.map(String.init).joined(separator: " "),
                          String(r.h), r.integrator, String(r.trainLoss), String(r.testMetric),
                          r.testMetricName.rawValue, String(format: "%.3f", r.epochSeconds), String(format: "%.3f", wall),
                          String(format: "%.1f", Double(r.peakRSSBytes) / 1e6),
                          r.evalSeconds.map { String(format: "%.3f", $0) } ?? ""].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Seconds of the training steps (the history's `epochSeconds` summed).
    public var stepSeconds: Double { history.map(\.epochSeconds).reduce(0, +) }

    /// Seconds of the test passes, nil when the history does not record them (runs written before).
    public var evalSeconds: Double? {
        let times = history.map(\.evalSeconds)
        guard !times.isEmpty, !times.contains(where: { $0 == nil }) else { return nil }
        return times.compactMap { $0 }.reduce(0, +)
    }

    /// Whether this run is the deep baseline the other variants are compared with.
    public var isDeepBaseline: Bool { variant == Experiment.deepVariant }

    /// Whether the network learned something a trivial predictor cannot: an error norm at most
    /// 15 % of the mean predictor's, or an accuracy at least five times the majority class's (capped at 50 %).
    /// Nil when the trivial metric is unknown.
    public var learned: Bool? {
        guard let trivialMetric else { return nil }
        if testMetricName.isAccuracy { return testMetric >= min(0.5, 5 * trivialMetric) }
        return testMetric <= 0.15 * trivialMetric
    }
}

/// The effect of one prolongation: test metric just before and just after, and how far the
/// deeper network's outputs moved from the shallow one's on the first test samples.
public struct SwitchRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var fromBlocks: [Int]
    public var toBlocks: [Int]
    /// The test metric of the model before and right after the switch (inference mode), both
    /// measured on the first `probeSamples` test samples (accuracy on them; the error norm scaled
    /// to the whole test set's size). Records written before `probeSamples` existed measured
    /// `metricBefore` at the epoch's evaluation and `metricAfter` on the whole test set.
    public var metricBefore: Double
    public var metricAfter: Double
    /// ‖out_deep − out_shallow‖₂ / ‖out_shallow‖₂ over the first test samples (inference mode).
    public var relativeOutputChange: Double
    /// The test samples `metricBefore`/`metricAfter` were measured on; nil in older records.
    public var probeSamples: Int?

    public init(epoch: Int, fromBlocks: [Int], toBlocks: [Int], metricBefore: Double, metricAfter: Double,
                relativeOutputChange: Double, probeSamples: Int? = nil) {
        self.epoch = epoch
        self.fromBlocks = fromBlocks
        self.toBlocks = toBlocks
        self.metricBefore = metricBefore
        self.metricAfter = metricAfter
        self.relativeOutputChange = relativeOutputChange
        self.probeSamples = probeSamples
    }
}


/// Training stopped for a reason every rank agrees on (the loss is reduced before it is checked).
public enum TrainingError: CollectiveError, CustomStringConvertible {
    case nonFiniteLoss(epoch: Int, step: Int, level: Int, loss: Double)
    case idleRanks(batchSize: Int, ranks: Int)
    case output(String)
    /// A stop signal (0: one that reached another rank) ended training after `step` (0-based) of
    /// `epoch` (0-based); rank 0 wrote `checkpoint` in `runDirectory`.
    case stopped(signal: Int32, epoch: Int, step: Int, stepsPerEpoch: Int, checkpoint: String?, runDirectory: String?)
    /// A stop signal arrived while the job was starting (0: at another rank): nothing was trained,
    /// so nothing is saved; `resumedFrom` is the run directory a resumed job continues.
    case stoppedBeforeStart(signal: Int32, resumedFrom: String?)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(epoch, step, level, loss):
            // NaN's sign bit depends on the instructions that made it: say "nan" either way.
            return "the training loss became \(loss.isNaN ? "nan" : "\(loss)") at epoch \(epoch + 1), step \(step + 1), level \(level + 1); "
                + "training stopped (try a smaller --lr); the last checkpoint written is kept"
        case let .idleRanks(batchSize, ranks):
            return "--batch-size \(batchSize) is smaller than the number of ranks (\(ranks)): ranks "
                + "\(batchSize)...\(ranks - 1) would never get a sample; use --batch-size ≥ \(ranks) or fewer ranks"
        case let .output(text):
            return text
        case let .stopped(signal, epoch, step, stepsPerEpoch, checkpoint, directory):
            let by = signal == 0 ? "a stop signal sent to another rank" : StopSignals.name(signal)
            let place = "stopped by \(by) after step \(step + 1) of \(stepsPerEpoch) in epoch \(epoch + 1)"
            guard let checkpoint, let directory else { return place + " (no run directory, so no checkpoint)" }
            return place + "; checkpoint \(checkpoint); continue with: resnet-dist train --resume \(directory)"
        case let .stoppedBeforeStart(signal, resumedFrom):
            let by = signal == 0 ? "a stop signal sent to another rank" : StopSignals.name(signal)
            guard let resumedFrom else { return "stopped by \(by) before the first step; nothing to save (start the run again)" }
            return "stopped by \(by) before the first step; nothing new to save; continue with: resnet-dist train --resume \(resumedFrom)"
        }
    }
}
