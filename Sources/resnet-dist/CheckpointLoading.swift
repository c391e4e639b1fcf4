import Foundation
import ResNetDistributed
import ResNetSafeTensors
import ResNetTraining

/// Rank 0 reads the checkpoint (its directory need not be visible to other hosts) and broadcasts
/// the file; every rank parses the same bytes. With `history`, the run's epoch records are rebuilt
/// from the `metrics.jsonl` beside the checkpoint (which rank 0 reads and broadcasts too), since
/// checkpoints do not carry them.
func loadCheckpoint(_ path: String, comm: Communicator, history: Bool = false) throws -> TrainingCheckpoint {
    var (bytes, metrics) = try collectively(comm, "read the checkpoint") { () -> ([UInt8], [UInt8]) in
        guard comm.isRoot else { return ([], []) }
        let file = try TrainingCheckpoint.locate(path)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TrainingError.output("cannot read the checkpoint \(file)")
        }
        let metricsPath = metricsFile(besideCheckpoint: file)
        var metrics = history ? FileManager.default.contents(atPath: metricsPath).map { [UInt8]($0) } ?? [] : []
        // The run's config.yaml travels with its history, so that both can be checked against
        // the checkpoint: a checkpoint copied into another run's directory must not take that
        // run's epochs as its own.
        if history, !metrics.isEmpty {
            let configPath = ((metricsPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("config.yaml")
            let runConfig = [UInt8](FileManager.default.contents(atPath: configPath) ?? Data())
            metrics = Array("\(runConfig.count)\n".utf8) + runConfig + metrics
        }
        return ([UInt8](data), metrics)
    }
    try comm.broadcast(&bytes, root: 0)
    try comm.broadcast(&metrics, root: 0)
    return try collectively(comm, "parse the checkpoint") {
        let file = try SafeTensorsFile.parse(bytes, source: path)
        var checkpoint = try TrainingCheckpoint.load(file, source: path)
        if history && checkpoint.history.count < checkpoint.epoch {
            let source = metricsFile(besideCheckpoint: path)
            let runConfig = splitRunConfig(&metrics)
            guard !metrics.isEmpty else {
                throw TrainingError.output("resuming needs the run's metrics.jsonl beside the checkpoint (the epoch records of epochs 1...\(checkpoint.epoch)); \(source) is missing or empty — copy it along with the checkpoint")
            }
            try checkSameRun(checkpoint, runConfig: runConfig, metrics: source)
            checkpoint.history = try TrainingCheckpoint.history(fromMetrics: String(decoding: metrics, as: UTF8.self),
                                                                upTo: checkpoint.epoch, source: source)
        }
        return checkpoint
    }
}

/// The `metrics.jsonl` of the run directory a checkpoint file (or run directory) belongs to.
private func metricsFile(besideCheckpoint path: String) -> String {
    var isDir: ObjCBool = false
    let directory = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
        ? path : (path as NSString).deletingLastPathComponent
    return ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent("metrics.jsonl")
}

/// Takes the run's config.yaml off the front of the broadcast history ("<length>\n<config><metrics>").
private func splitRunConfig(_ bytes: inout [UInt8]) -> String {
    guard let newline = bytes.firstIndex(of: 0x0A), let length = Int(String(decoding: bytes[..<newline], as: UTF8.self)),
          newline + 1 + length <= bytes.count else { return "" }
    let config = String(decoding: bytes[(newline + 1)..<(newline + 1 + length)], as: UTF8.self)
    bytes.removeSubrange(..<(newline + 1 + length))
    return config
}

/// The history beside a checkpoint must be its own run's: the run's config.yaml must name the
/// checkpoint's experiment, variant and seed (keys whose spelling never changes).
private func checkSameRun(_ checkpoint: TrainingCheckpoint, runConfig: String, metrics: String) throws {
    guard !runConfig.isEmpty,
          let keys = try? ExperimentConfig.parseOverrides(yaml: runConfig, source: "config.yaml") else { return }
    let mine: [(ExperimentConfig.CodingKeys, String)] = [
        (.experiment, checkpoint.config.experiment), (.variant, checkpoint.config.variant), (.seed, String(checkpoint.config.seed)),
    ]
    for (key, value) in mine {
        guard let theirs = keys.first(where: { $0.key == key })?.value.scalar?.string, theirs != value else { continue }
        throw TrainingError.output("\(metrics) belongs to another run: the config.yaml beside it has \(key.rawValue) \(theirs), the checkpoint \(value); resume the checkpoint from its own run directory, or copy that run's metrics.jsonl and config.yaml along with it")
    }
}
