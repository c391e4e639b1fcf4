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
        let metrics = history ? FileManager.default.contents(atPath: metricsPath).map { [UInt8]($0) } ?? [] : []
        return ([UInt8](data), metrics)
    }
    try comm.broadcast(&bytes, root: 0)
    try comm.broadcast(&metrics, root: 0)
    return try collectively(comm, "parse the checkpoint") {
        let file = try SafeTensorsFile.parse(bytes, source: path)
        var checkpoint = try TrainingCheckpoint.load(file, source: path)
        if history && checkpoint.history.count < checkpoint.epoch {
            let source = metricsFile(besideCheckpoint: path)
            guard !metrics.isEmpty else {
                throw TrainingError.output("resuming needs the run's metrics.jsonl beside the checkpoint (the epoch records of epochs 1...\(checkpoint.epoch)); \(source) is missing or empty — copy it along with the checkpoint")
            }
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
