import Foundation
import ResNetCore

/// The memory a run needs per rank, computed before anything large is allocated, and the
/// memory of the machine it runs on.
public enum MemoryBudget {
    /// Bytes one rank needs to train `spec`: parameters, gradients and optimizer moments,
    /// BatchNorm state, the activations kept for backward of `batchPerRank` samples, and the data.
    public static func bytesNeeded(spec: ModelSpec, optimizer: OptimizerKind, batchPerRank: Int, dataBytes: Double) -> Double {
        let size = spec.sizeEstimate
        let copies = 2.0 + Double(optimizer == .sgd ? 1 : 2)
        return 4 * (size.parameters * copies + size.state + Double(batchPerRank) * size.activationsPerSample) + dataBytes
    }

    /// Physical memory, or the limit of this process's cgroup when that is lower.
    public static func machineBytes() -> Double {
        let physical = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        return min(physical, CgroupMemoryLimit.current() ?? physical)
    }

    /// Throws when the ranks on this machine (Open MPI's local size, else 1) would need more than
    /// it has, saying how much they need.
    public static func check(_ config: ExperimentConfig, deepest spec: ModelSpec, ranks: Int, dataBytes: Double,
                             machine: Double = machineBytes(),
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let batchPerRank = (config.batchSize + ranks - 1) / max(1, ranks)
        let perRank = bytesNeeded(spec: spec, optimizer: config.optimizer, batchPerRank: batchPerRank, dataBytes: dataBytes)
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1
        guard perRank * Double(max(1, local)) > machine else { return }
        let size = spec.sizeEstimate
        throw TrainingError.output(
            "not enough memory: the model (\(spec.blocks) blocks per group at its deepest level, widths \(spec.widths): \(format(count: size.parameters)) parameters) with \(batchPerRank) samples per rank needs about \(format(bytes: perRank)) per rank"
                + (local > 1 ? " (\(format(bytes: perRank * Double(local))) for the \(local) ranks on this machine)" : "")
                + " but this machine has \(format(bytes: machine)); use fewer or narrower blocks, fewer levels or a smaller --batch-size")
    }

    public static func format(bytes: Double) -> String {
        bytes >= 1e12 ? String(format: "%.1f TB", bytes / 1e12)
            : bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : String(format: "%.0f MB", bytes / 1e6)
    }

    static func format(count: Double) -> String { count >= 1e6 ? String(format: "%.3g", count) : String(Int(count)) }
}

extension Trainer {
    /// Refuses a batch larger than the training set and a model that would not fit in memory at
    /// its deepest level, before the model is built.
    static func checkSizes(_ config: ExperimentConfig, data: TrainingData, ranks: Int) throws {
        guard config.batchSize <= data.trainCount else {
            throw ConfigError.invalid(key: "batch-size", problem: "\(config.batchSize) is larger than the training set (\(data.trainCount) samples); use at most \(data.trainCount)")
        }
        let deepest = try LevelControl.spec(config, level: max(0, config.levelCount - 1), data: data)
        let dataBytes = Double(data.trainCount + data.testCount) * Double(data.sampleShape.reduce(1, *))
        try MemoryBudget.check(config, deepest: deepest, ranks: ranks, dataBytes: dataBytes)
    }
}
