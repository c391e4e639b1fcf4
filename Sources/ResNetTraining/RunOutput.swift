import Foundation

/// The run directory rank 0 writes: `config.yaml`, `metrics.jsonl`, `summary.json` (and
/// checkpoints). Created before training so that an unwritable path fails at once.
public final class RunOutput {
    public let directory: String
    private var metrics: FileHandle?

    /// Creates `directory` (and parents) and checks it can be written.
    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.output("cannot create the run directory \(directory): \(Self.reason(error)); choose another with --out")
        }
        let probe = (directory as NSString).appendingPathComponent(".write-test")
        guard fm.createFile(atPath: probe, contents: Data("ok".utf8)) else {
            throw TrainingError.output("the run directory \(directory) is not writable; choose another with --out")
        }
        try? fm.removeItem(atPath: probe)
    }

    /// `runs/<experiment>-<variant>-<timestamp>` under `base`; `-2`, `-3`, … are appended when a
    /// run of the same second already has that name.
    public static func defaultDirectory(base: String, config: ExperimentConfig, date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        let path = (base as NSString).appendingPathComponent("\(config.experiment)-\(config.variant)-\(f.string(from: date))")
        var candidate = path
        var n = 2
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = "\(path)-\(n)"
            n += 1
        }
        return candidate
    }

    public func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    func begin(config: ExperimentConfig) throws {
        try write(Data(try config.yaml().utf8), to: "config.yaml")
        let metricsPath = path("metrics.jsonl")
        guard FileManager.default.createFile(atPath: metricsPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: metricsPath) else {
            throw TrainingError.output("cannot write \(metricsPath); choose another directory with --out")
        }
        metrics = handle
    }

    func append(_ record: EpochRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(record)
        line.append(0x0A)
        do {
            try metrics?.write(contentsOf: line)
        } catch {
            throw TrainingError.output("cannot append to \(path("metrics.jsonl")): \(Self.reason(error))")
        }
    }

    func finish(_ summary: RunSummary) throws {
        try? metrics?.close()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try write(try encoder.encode(summary), to: "summary.json")
    }

    /// Writes a file atomically: a temporary file in the same directory, then a rename.
    func write(_ data: Data, to name: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path(name)), options: .atomic)
        } catch {
            throw TrainingError.output("cannot write \(path(name)): \(Self.reason(error))")
        }
    }

    static func reason(_ error: Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}
