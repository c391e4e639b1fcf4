import Foundation
import ResNetCore
import ResNetSafeTensors

/// Everything needed to continue a run exactly: weights, BatchNorm statistics, optimizer state,
/// level and epoch. Stored as safetensors (readable by Python's `safetensors`, numpy and PyTorch)
/// with tensors named by model structure and the rest in the header's metadata; the checksum
/// covers both. The per-epoch history is not stored (it would grow with every epoch): it lives
/// in the run's `metrics.jsonl`, from which a resume rebuilds it (`history(fromMetrics:upTo:)`).
/// Checkpoints of the first format still carry it, and still load.
///
/// ```swift
/// let ckpt = try TrainingCheckpoint.read(path: "runs/regression-multilevel-…/checkpoint-epoch-0050.safetensors")
/// print(ckpt.spec.blocks, ckpt.epoch)
/// ```
public struct TrainingCheckpoint: Equatable {
    public static let format = "resnet-dist-checkpoint-2"
    /// The first format: history in the header, the checksum over the tensors only.
    public static let formatWithHistory = "resnet-dist-checkpoint-1"

    public var config: ExperimentConfig
    public var spec: ModelSpec
    /// Epochs completed.
    public var epoch: Int
    /// Optimizer steps taken so far over the whole run.
    public var globalStep: Int
    public var level: Int
    public var levelStartEpoch: Int
    public var switchEpochs: [Int]
    public var parameters: [Float]
    public var state: [Float]
    /// Adam's m and v, or SGD's velocity, laid out like the parameters.
    public var moments: [[Float]]
    public var optimizerStep: Int
    /// The epoch records so far. Empty when loaded from a checkpoint of the current format until
    /// a resume fills it in from `metrics.jsonl`; not written to the file.
    public var history: [EpochRecord]
    public var levelSeconds: [Double]
    /// The level switches so far, with their jumps.
    public var switches: [SwitchRecord] = []
    /// Steps already taken of epoch `epoch + 1` (non-zero only for a checkpoint written when a
    /// stop signal arrived mid-epoch) and the sum of their losses × batch sizes, so that a resumed
    /// run continues that epoch exactly.
    public var stepInEpoch = 0
    public var epochLossSum = 0.0
    /// With `--local-bn` each rank keeps its own BatchNorm running statistics, averaged at the end
    /// of every epoch. A checkpoint written mid-epoch holds every rank's (rank r's in row r), so
    /// that a resume at the same number of ranks continues each rank's statistics exactly; empty
    /// otherwise (`state` is then every rank's statistics).
    public var rankStates: [[Float]] = []
    static let rankStatesName = "local_batchnorm.rank_state"

    /// File name of the checkpoint after `epoch` epochs (and `step` steps of the next one, for a
    /// checkpoint written when training was stopped mid-epoch).
    public static func fileName(epoch: Int, step: Int = 0) -> String {
        step == 0 ? String(format: "checkpoint-epoch-%04d.safetensors", epoch)
            : String(format: "checkpoint-epoch-%04d-step-%06d.safetensors", epoch, step)
    }

    /// The (epoch, step) a checkpoint file name stands for, or nil for other names.
    public static func position(fileName name: String) -> (epoch: Int, step: Int)? {
        guard name.hasPrefix("checkpoint-epoch-"), name.hasSuffix(".safetensors") else { return nil }
        let core = name.dropFirst("checkpoint-epoch-".count).dropLast(".safetensors".count)
        let parts = core.components(separatedBy: "-step-")
        guard parts.count <= 2, let epoch = Int(parts[0]), epoch >= 0 else { return nil }
        guard parts.count == 2 else { return (epoch, 0) }
        guard let step = Int(parts[1]), step >= 0 else { return nil }
        return (epoch, step)
    }

    /// The newest checkpoint in a run directory — the highest epoch (then step) as a number, not
    /// the last name in string order — or `path` itself when it is a file.
    public static func locate(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw TrainingError.output("no checkpoint at \(path): give a checkpoint file or a run directory that holds one")
        }
        guard isDir.boolValue else { return path }
        guard let newest = candidates(in: [path]).first else {
            // A directory of runs (runs/, a comparison): name the runs in it that have checkpoints.
            func modified(_ p: String) -> Date {
                ((try? FileManager.default.attributesOfItem(atPath: p))?[.modificationDate] as? Date) ?? .distantPast
            }
            let runs = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                .map { (path as NSString).appendingPathComponent($0) }
                .filter { !candidates(in: [$0]).isEmpty }
                .sorted { modified($0) > modified($1) }   // newest first
            guard !runs.isEmpty else {
                throw TrainingError.output("the directory \(path) holds no checkpoint-epoch-*.safetensors; give a run directory or a checkpoint file")
            }
            let shown = runs.prefix(3).joined(separator: ", ") + (runs.count > 3 ? ", … (\(runs.count) in all)" : "")
            throw TrainingError.output("\(path) is a directory of runs, not a run; give one of them: \(shown)")
        }
        return newest
    }

    /// Whether the checkpoint is the end of its run (every epoch trained).
    public var isFinished: Bool { epoch >= config.epochs && stepInEpoch == 0 }

    /// `--epochs N` with `--resume`: the run continues to N epochs (its level switches stay
    /// where they are). N may not be fewer than the run's own epochs.
    public mutating func extend(to epochs: Int?) throws {
        guard let epochs, epochs != config.epochs else { return }
        guard epochs > config.epochs else {
            throw ConfigError.invalid(key: "epochs", problem: "\(epochs) is fewer than the \(config.epochs) epochs of the run being resumed; a resumed run can only be trained further")
        }
        config.epochs = epochs
        try config.validate()
    }

    /// The checkpoint files of the directories, newest first (by epoch, then step, as numbers);
    /// names that do not parse as a checkpoint's position (copies, backups) are not candidates.
    public static func candidates(in directories: [String]) -> [String] {
        var found: [(path: String, epoch: Int, step: Int)] = []
        for directory in directories {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                guard let p = position(fileName: name) else { continue }
                found.append(((directory as NSString).appendingPathComponent(name), p.epoch, p.step))
            }
        }
        return found.sorted { ($0.epoch, $0.step, $0.path) > ($1.epoch, $1.step, $1.path) }.map(\.path)
    }

    /// The newest checkpoint of the directories that reads back whole (checksum, metadata), and
    /// why each newer one was passed over.
    public static func newestValid(in directories: [String]) -> (path: String?, skipped: [String]) {
        var skipped: [String] = []
        for path in candidates(in: directories) {
            do {
                _ = try read(path: path)
                return (path, skipped)
            } catch {
                skipped.append("\(path): \(error)")
            }
        }
        return (nil, skipped)
    }

    // MARK: - To and from safetensors

    static let momentNames = ["m", "v"]

    /// Writes the checkpoint to `path` atomically, each tensor straight from the parameter,
    /// statistics and optimizer buffers (no copy of them is made).
    public func write(to path: String, slots: [ParameterSlot], stateSlots: [ParameterSlot]) throws {
        let (tensors, metadata) = try contents(slots: slots, stateSlots: stateSlots)
        try SafeTensorsFile.write(tensors: tensors, metadata: metadata, atomicallyTo: path)
    }

    /// The file `write(to:slots:stateSlots:)` writes, in memory.
    public func file(slots: [ParameterSlot], stateSlots: [ParameterSlot]) throws -> SafeTensorsFile {
        let (tensors, metadata) = try contents(slots: slots, stateSlots: stateSlots)
        return SafeTensorsFile(tensors: tensors.map(SafeTensor.init(copying:)), metadata: metadata)
    }

    /// The tensors, as slices of the checkpoint's buffers, and the metadata with the checksum.
    func contents(slots: [ParameterSlot], stateSlots: [ParameterSlot]) throws -> (tensors: [FloatSlice], metadata: [String: String]) {
        var tensors: [FloatSlice] = []
        for s in slots { tensors.append(FloatSlice(name: s.name, shape: s.shape, of: parameters, range: s.range)) }
        for s in stateSlots { tensors.append(FloatSlice(name: s.name, shape: s.shape, of: state, range: s.range)) }
        if !rankStates.isEmpty {
            let all = rankStates.flatMap { $0 }
            tensors.append(FloatSlice(name: Self.rankStatesName, shape: [rankStates.count, state.count], of: all, range: 0..<all.count))
        }
        let names = moments.count == 2 ? Self.momentNames : ["velocity"]
        for (k, buffer) in moments.enumerated() {
            for s in slots {
                tensors.append(FloatSlice(name: "optimizer.\(names[k]).\(s.name)", shape: s.shape, of: buffer, range: s.range))
            }
        }
        let json = JSONEncoder()
        json.outputFormatting = [.sortedKeys]
        func text<T: Encodable>(_ v: T) throws -> String { String(decoding: try json.encode(v), as: UTF8.self) }
        let configJSON = String(decoding: try ExperimentConfig.jsonEncoder().encode(config), as: UTF8.self)
        var metadata = [
            "format": Self.format,
            "experiment": config.experiment,
            "variant": config.variant,
            "config": try config.yaml(),
            "config_json": configJSON,
            "model_spec": try text(spec),
            "level": String(level + 1),
            "blocks_per_group": spec.blocks.map(String.init).joined(separator: ","),
            "h": String(spec.h),
            "integrator": spec.integrator.rawValue,
            "activation": spec.activation.rawValue,
            "epoch": String(epoch),
            "step": String(globalStep),
            "data_order_seed": String(config.seed),
            "optimizer": config.optimizer.rawValue,
            "optimizer_step": String(optimizerStep),
            "level_start_epoch": String(levelStartEpoch),
            "switch_epochs": try text(switchEpochs),
            "level_seconds": try text(levelSeconds),
            "switches": try text(switches),
            "step_in_epoch": String(stepInEpoch),
            "epoch_loss_sum": "\(epochLossSum)",
        ]
        metadata[SafeTensorsFile.checksumKey] = SafeTensorsFile.checksum(of: tensors, metadata: metadata)
        return (tensors, metadata)
    }

    public static func read(path: String) throws -> TrainingCheckpoint {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(path: path) } catch { throw TrainingError.output("cannot read checkpoint: \(error)") }
        return try load(file, source: path)
    }

    public static func load(_ file: SafeTensorsFile, source: String) throws -> TrainingCheckpoint {
        func fail(_ why: String) -> TrainingError { .output("\(source) is not a usable resnet-dist checkpoint: \(why)") }
        let meta = file.metadata
        let withHistory = meta["format"] == formatWithHistory
        do { try file.verifyChecksum(includingMetadata: !withHistory) } catch { throw fail("\(error)") }
        guard meta["format"] == format || withHistory else {
            throw fail("its metadata 'format' is \(meta["format"] ?? "missing"), expected \(format)")
        }
        func field(_ key: String) throws -> String {
            guard let v = meta[key] else { throw fail("metadata '\(key)' is missing") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try field(key)) else { throw fail("metadata '\(key)' is not an integer") }
            return v
        }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: Data(try field(key).utf8)) } catch let e as TrainingError { throw e } catch {
                throw fail("metadata '\(key)' does not decode: \(error)")
            }
        }
        let config: ExperimentConfig
        do { config = try ExperimentConfig.decode(try field("config_json"), source: "config_json") } catch let e as TrainingError { throw e } catch {
            throw fail("metadata 'config_json' does not decode: \(error)")
        }
        let spec = try decode(ModelSpec.self, "model_spec")
        do { try spec.validate() } catch { throw fail("\(error)") }
        // The spec must not describe more values than the file holds, checked before the
        // model's layout is allocated.
        let held = file.tensors.reduce(0.0) { $0 + Double($1.bytes.count) / 4 }
        let size = spec.sizeEstimate
        guard size.parameters + size.state <= held else {
            throw fail("its model spec (blocks \(spec.blocks), widths \(spec.widths)) describes \(MemoryBudget.format(count: size.parameters + size.state)) values but the file holds only \(Int(held))")
        }
        let layout = ResNetModel(spec: spec, seed: 0)
        func gather(_ slots: [ParameterSlot], prefix: String, count: Int) throws -> [Float] {
            var out = [Float](repeating: 0, count: count)
            for s in slots {
                let name = prefix + s.name
                guard let t = file[name] else { throw fail("tensor '\(name)' is missing") }
                guard t.shape == s.shape else { throw fail("tensor '\(name)' has shape \(t.shape), the model needs \(s.shape)") }
                let values: [Float]
                do { values = try t.floats } catch { throw fail("tensor '\(name)': \(error)") }
                out.replaceSubrange(s.range, with: values)
            }
            return out
        }
        let names = config.optimizer == .sgd ? ["velocity"] : momentNames
        let checkpoint = TrainingCheckpoint(
            config: config, spec: spec, epoch: try int("epoch"), globalStep: try int("step"),
            level: try int("level") - 1, levelStartEpoch: try int("level_start_epoch"),
            switchEpochs: try decode([Int].self, "switch_epochs"),
            parameters: try gather(layout.slots, prefix: "", count: layout.parameterCount),
            state: try gather(layout.stateSlots, prefix: "", count: layout.state.count),
            moments: try names.map { try gather(layout.slots, prefix: "optimizer.\($0).", count: layout.parameterCount) },
            optimizerStep: try int("optimizer_step"), history: withHistory ? try decode([EpochRecord].self, "history") : [],
            levelSeconds: try decode([Double].self, "level_seconds"),
            switches: meta["switches"] == nil ? [] : try decode([SwitchRecord].self, "switches"),
            stepInEpoch: meta["step_in_epoch"] == nil ? 0 : try int("step_in_epoch"),
            epochLossSum: try meta["epoch_loss_sum"].map { v in
                guard let x = Double(v), x.isFinite else { throw fail("metadata 'epoch_loss_sum' is not a finite number") }
                return x
            } ?? 0,
            rankStates: try rankStates(file, stateCount: layout.state.count, fail))
        try checkpoint.validate(file, stateSlots: layout.stateSlots, fail)
        return checkpoint
    }

    /// The per-rank BatchNorm statistics of a `--local-bn` checkpoint written mid-epoch, if any.
    static func rankStates(_ file: SafeTensorsFile, stateCount: Int, _ fail: (String) -> TrainingError) throws -> [[Float]] {
        guard let t = file[rankStatesName] else { return [] }
        guard t.shape.count == 2, t.shape[0] >= 1, t.shape[1] == stateCount else {
            throw fail("tensor '\(rankStatesName)' has shape \(t.shape), expected [ranks, \(stateCount)]")
        }
        let values: [Float]
        do { values = try t.floats } catch { throw fail("tensor '\(rankStatesName)': \(error)") }
        return (0..<t.shape[0]).map { Array(values[($0 * stateCount)..<(($0 + 1) * stateCount)]) }
    }

    /// The records of epochs 1...`epoch` from a run's `metrics.jsonl` (one JSON record a line).
    /// A run resumed in place rewrites the file, so each epoch appears once; lines after `epoch`
    /// (from an older checkpoint's resume) are ignored.
    public static func history(fromMetrics text: String, upTo epoch: Int, source: String) throws -> [EpochRecord] {
        var records: [EpochRecord] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard records.count < epoch else { break }
            let record: EpochRecord
            do { record = try JSONDecoder().decode(EpochRecord.self, from: Data(line.utf8)) } catch {
                throw TrainingError.output("\(source): line \(n + 1) is not an epoch record (\(error)); the run's history cannot be rebuilt")
            }
            guard record.epoch == records.count + 1 else {
                throw TrainingError.output("\(source): line \(n + 1) is epoch \(record.epoch), expected \(records.count + 1); the run's history cannot be rebuilt")
            }
            records.append(record)
        }
        guard records.count == epoch else {
            throw TrainingError.output("\(source) holds \(records.count) epoch records but the checkpoint is after epoch \(epoch); resume needs the run's complete metrics.jsonl beside the checkpoint")
        }
        return records
    }
}
