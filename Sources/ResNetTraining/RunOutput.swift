import Foundation
import ResNetSafeTensors

/// The run directory rank 0 writes: `config.yaml`, `metrics.jsonl`, `summary.json` (and
/// checkpoints). Created before training so that an unwritable path fails at once.
public final class RunOutput {
    public let directory: String
    private var metrics: FileHandle?

    /// Uses `directory` (creating it and its parents when missing) and checks it can be written.
    /// New runs should come from `createUnique`, which never hands out an existing directory.
    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        if let problem = Self.makeDirectories(directory) {
            throw TrainingError.output("cannot create the run directory \(directory): \(problem); choose another with --out")
        }
        let probe = (directory as NSString).appendingPathComponent(".write-test")
        guard fm.createFile(atPath: probe, contents: Data("ok".utf8)) else {
            throw TrainingError.output("the run directory \(directory) is not writable; choose another with --out")
        }
        try? fm.removeItem(atPath: probe)
    }

    /// Removes the run directory when nothing is in it (a run refused before it wrote anything);
    /// a directory with any file in it stays.
    public func removeIfEmpty() {
        _ = rmdir(directory)
    }

    /// Creates a new run directory `<experiment>-<variant>-<time>-<job>` under `base` and returns
    /// its path. `<job>` is Slurm's job id (`j1234`, with the array task when there is one) or else
    /// this process's id (`p5678`), so simultaneous jobs get different names; the directory itself
    /// is made with one `mkdir` that fails when the name exists, and `-2`, `-3`, … are tried then,
    /// so two runs can never share a directory, whatever the timing.
    public static func createUnique(base: String, config: ExperimentConfig, date: Date = Date(),
                                    environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let name = "\(config.experiment)-\(config.variant)-\(timestamp(date))-\(jobTag(environment))"
        if let problem = makeDirectories(base) {
            throw TrainingError.output("cannot create the run directory \(base): \(problem); choose another with --out")
        }
        let path = (base as NSString).appendingPathComponent(name)
        for n in 1...10_000 {
            let candidate = n == 1 ? path : "\(path)-\(n)"
            if mkdir(candidate, 0o755) == 0 { return candidate }
            let code = errno
            if code == EEXIST { continue }
            throw TrainingError.output("cannot create the run directory \(candidate): \(String(cString: strerror(code))); choose another with --out")
        }
        throw TrainingError.output("cannot create the run directory \(path): 10000 runs of that name exist; choose another --out")
    }

    /// `mkdir -p`: nil when `path` is (now) a directory, else why not, in plain words
    /// ("/dev/null is not a directory", "Permission denied").
    static func makeDirectories(_ path: String) -> String? {
        // Each ancestor from the top down, by plain string splitting (Foundation's path methods
        // trap on some relative paths, e.g. the parent of "a/b/c" three levels up).
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix == "/" ? "" : "/") + part
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) {
                if isDirectory.boolValue { continue }
                return "\(prefix) is not a directory"
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { return "\(prefix): " + String(cString: strerror(errno)) }
        }
        return nil
    }

    /// What makes the names of simultaneous jobs differ: Slurm's job (and array task) id, else the pid.
    static func jobTag(_ environment: [String: String]) -> String {
        if let array = environment["SLURM_ARRAY_JOB_ID"], let task = environment["SLURM_ARRAY_TASK_ID"],
           !array.isEmpty, !task.isEmpty {
            return "j\(array)_\(task)"
        }
        if let job = environment["SLURM_JOB_ID"], !job.isEmpty { return "j\(job)" }
        return "p\(getpid())"
    }

    static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: date)
    }

    public func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Writes `config.yaml` and a `metrics.jsonl` holding `history` (the records a resumed run
    /// starts with), each atomically, so a run resumed in its own directory never loses its
    /// records; removes temporary files a killed run left behind.
    func begin(config: ExperimentConfig, history: [EpochRecord] = []) throws {
        try write(Data(try config.yaml().utf8), to: "config.yaml")
        var lines = Data()
        for record in history { lines.append(try Self.line(record)) }
        try write(lines, to: "metrics.jsonl")
        let metricsPath = path("metrics.jsonl")
        guard let handle = FileHandle(forWritingAtPath: metricsPath) else {
            throw TrainingError.output("cannot write \(metricsPath); choose another directory with --out")
        }
        _ = try? handle.seekToEnd()
        metrics = handle
        removeStaleTemporaryFiles()
    }

    static func line(_ record: EpochRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(record)
        line.append(0x0A)
        return line
    }

    /// Keeps the newest `keep` checkpoints (by epoch, then step) and those after the epochs in
    /// `protected` (the level switches); removes the rest. `keep` 0 keeps all.
    public func pruneCheckpoints(keep: Int, protecting protected: Set<Int>) {
        guard keep > 0 else { return }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let newestFirst = names.compactMap { name in TrainingCheckpoint.position(fileName: name).map { (name, $0) } }
            .sorted { ($0.1.epoch, $0.1.step) > ($1.1.epoch, $1.1.step) }
        for (name, position) in newestFirst.dropFirst(keep) where !(position.step == 0 && protected.contains(position.epoch)) {
            try? FileManager.default.removeItem(atPath: path(name))
        }
    }

    /// Removes the hidden temporary files of atomic writes (`.<name>.tmp-<pid>-…`: checkpoints,
    /// summary.json, metrics.jsonl, config.yaml) that another process left here — a run killed
    /// while writing. This process's own are kept.
    public func removeStaleTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let own = ".tmp-\(getpid())-"
        for name in names where Self.isTemporary(name) && !name.contains(own) {
            try? FileManager.default.removeItem(atPath: path(name))
        }
    }

    /// The files a run writes atomically, by the name of their temporary copy.
    static func isTemporary(_ name: String) -> Bool {
        guard name.hasPrefix("."), let cut = name.range(of: ".tmp-") else { return false }
        let target = String(name[name.index(after: name.startIndex)..<cut.lowerBound])
        return TrainingCheckpoint.position(fileName: target) != nil
            || ["summary.json", "metrics.jsonl", "config.yaml"].contains(target)
    }

    func append(_ record: EpochRecord) throws {
        let line = try Self.line(record)
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
        try write(Data(summary.epochsCSV.utf8), to: "metrics.csv")
    }

    /// Writes a file atomically and durably, as checkpoints are written (`AtomicFile`).
    public func write(_ data: Data, to name: String) throws {
        do {
            try AtomicFile.write([UInt8](data), to: path(name))
        } catch {
            throw TrainingError.output("cannot write \(path(name)): \(error.message)")
        }
    }

    static func reason(_ error: Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}
