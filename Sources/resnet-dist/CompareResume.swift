import ArgumentParser
import Foundation
import ResNetDistributed
import ResNetTraining

// `compare --resume DIR`: the comparison directory keeps its variants' configs, and each variant
// is found there as finished, stopped (with a checkpoint) or not started.

extension CompareCommand {
    /// One variant of a resumed comparison: its finished run as it is, its stopped run continued
    /// in place from its newest checkpoint, or a new run.
    func continueVariant(_ config: ExperimentConfig, in directory: String, comm: Communicator) throws -> TrainedVariant {
        let found = try collectively(comm, "find the variant's run") {
            comm.isRoot ? try comparisonRun(of: config, in: directory) : nil
        }
        let state = try broadcast(found, comm)
        switch state {
        case .done(let run):
            var bytes = try collectively(comm, "read the variant's summary") { () -> [UInt8] in
                guard comm.isRoot else { return [] }
                return [UInt8](try Data(contentsOf: URL(fileURLWithPath: run + "/summary.json")))
            }
            try comm.broadcast(&bytes, root: 0)
            let summary = try collectively(comm, "parse the variant's summary") { () -> RunSummary in
                do { return try JSONDecoder().decode(RunSummary.self, from: Data(bytes)) } catch {
                    throw ValidationError("\(run)/summary.json is damaged (\(decodingProblem(error))); move that run out of \(directory) and resume again to train the variant anew")
                }
            }
            var fit: TrainedVariant.Fit? = nil
            if config.model == .mlp {
                // The fit plot needs the final network's function: rebuild it from the run's last checkpoint.
                let final = try loadCheckpoint(run, comm: comm)
                let trainer = try Trainer(config: final.config, communicator: comm, resume: final)
                fit = try collectively(comm, "compute the fitted function") { comm.isRoot ? try trainer.regressionFit() : nil }
            }
            if comm.isRoot, !options.quiet { print("\(config.variant): finished before, kept (\(run))") }
            return TrainedVariant(summary: summary, fit: fit)
        case .stopped(let run):
            let checkpoint = try loadCheckpoint(run, comm: comm, history: true)
            return try trainVariant(checkpoint.config, options: options, comm: comm, resume: checkpoint, inPlace: run)
        case .new:
            return try trainVariant(config, options: options, comm: comm, base: directory)
        }
    }
}

/// The file in a comparison directory that lists its variants' configs.
let comparisonConfigs = "compare-configs.json"

/// Rank 0 reads the configs of a comparison directory and shares them.
func readComparison(_ directory: String, comm: Communicator) throws -> [ExperimentConfig] {
    var bytes = try collectively(comm, "read the comparison") { () -> [UInt8] in
        guard comm.isRoot else { return [] }
        let path = (directory as NSString).appendingPathComponent(comparisonConfigs)
        guard let data = FileManager.default.contents(atPath: path) else {
            let inside = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().reversed()
                .map { (directory as NSString).appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent(comparisonConfigs)) }
            let fix = inside.isEmpty ? "give the directory compare created, e.g. runs/regression-compare-…"
                : "it holds the comparisons \(inside.prefix(3).joined(separator: ", ")); give one of them"
            throw ValidationError("\(directory) is not a comparison directory (it has no \(comparisonConfigs)); \(fix)")
        }
        return [UInt8](data)
    }
    try comm.broadcast(&bytes, root: 0)
    return try collectively(comm, "parse the comparison") {
        let path = (directory as NSString).appendingPathComponent(comparisonConfigs)
        let configs: [ExperimentConfig]
        do { configs = try JSONDecoder().decode([ExperimentConfig].self, from: Data(bytes)) } catch {
            throw ValidationError("\(path) is damaged (\(decodingProblem(error))), so the comparison's variants are unknown and it cannot be resumed; `resnet-dist results \(directory)` still reads its finished runs, and `compare` without --resume starts it again")
        }
        guard !configs.isEmpty else { throw ValidationError("\(directory)/\(comparisonConfigs) names no variants") }
        for c in configs { try c.validate() }
        return configs
    }
}

/// A variant's run in a comparison directory: finished (it has a summary.json), stopped or killed
/// after a checkpoint (the newest such run), or not started.
enum ComparisonRunState: Codable, Equatable {
    case done(String), stopped(String), new
}

/// What is wrong with JSON that did not decode, in a few words and without Swift's type names.
func decodingProblem(_ error: Error) -> String {
    switch error {
    case DecodingError.dataCorrupted: return "not valid JSON"
    case DecodingError.keyNotFound(let key, _): return "the key '\(key.stringValue)' is missing"
    case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
        return "a wrong value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
    default: return "\(error)"
    }
}

func comparisonRun(of config: ExperimentConfig, in directory: String) throws -> ComparisonRunState {
    let prefix = "\(config.experiment)-\(config.variant)-"
    let fm = FileManager.default
    let runs = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { name in
        name.hasPrefix(prefix) && name.dropFirst(prefix.count).first?.isNumber == true
    }.sorted().map { (directory as NSString).appendingPathComponent($0) }
    if let done = runs.last(where: { fm.fileExists(atPath: $0 + "/summary.json") }) { return .done(done) }
    if let partial = runs.last(where: { (try? TrainingCheckpoint.locate($0)) != nil }) { return .stopped(partial) }
    return .new
}
