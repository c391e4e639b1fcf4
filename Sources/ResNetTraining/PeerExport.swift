import Foundation
import ResNetCore
import ResNetData
import ResNetSafeTensors

/// What an independent implementation (e.g. `launch/pytorch_peer.py`) needs to train side by
/// side with resnet-dist and follow the same trajectory, as one safetensors file:
///
/// - the first level's initial parameters and BatchNorm state, named by the model's slots
///   (`stem.weight`, `groups.0.blocks.1.fc1.weight`, `….running_mean`), exactly as a checkpoint
///   names them;
/// - `data.permutation` (I32, [epochs, train samples]): each epoch's sample order; global batch
///   k of an epoch is entries k·B ..< min((k+1)·B, n) (the last batch shorter);
/// - the data as the model sees it: `data.train.x`, `data.train.y`, `data.test.x`, `data.test.y`
///   (F32; regression targets, or image labels as I32);
/// - in the metadata: the resolved config, each level's model spec and first epoch, the steps
///   per epoch and the conventions the peer must follow (`conventions`).
///
/// Only schedule-driven level switches can be exported (a plateau switch depends on the losses),
/// and no data augmentation (it is not part of the export).
///
/// ```swift
/// try PeerExport.write(config: config, to: "/tmp/peer/export.safetensors")
/// ```
public enum PeerExport {
    public static let format = "resnet-dist-peer-1"

    /// Writes the export of `config` (all `config.epochs` epochs) to `path`.
    public static func write(config: ExperimentConfig, to path: String) throws {
        try config.validate()
        guard config.switchMode == .schedule else {
            throw TrainingError.output("a peer export needs scheduled level switches (--switch schedule); plateau switches depend on the losses")
        }
        let data = try TrainingData.load(config)
        if case .images(_, _, let augment) = data.source, augment {
            throw TrainingError.output("a peer export cannot describe data augmentation (\(config.dataset.rawValue) is augmented)")
        }
        let model = ResNetModel(spec: try LevelControl.spec(config, level: 0, data: data), seed: UInt64(config.seed))
        var tensors: [SafeTensor] = []
        for s in model.slots { tensors.append(SafeTensor(name: s.name, shape: s.shape, floats: Array(model.parameters[s.range]))) }
        for s in model.stateSlots { tensors.append(SafeTensor(name: s.name, shape: s.shape, floats: Array(model.state[s.range]))) }

        let plan = GlobalBatchSharder(config, data)
        var order: [Int32] = []
        order.reserveCapacity(config.epochs * data.trainCount)
        for epoch in 0..<config.epochs { order += plan.epoch(epoch).permutation.map { Int32($0) } }
        tensors.append(SafeTensor(name: "data.permutation", shape: [config.epochs, data.trainCount], int32s: order))
        tensors += dataTensors(data, "train", count: data.trainCount) { data.trainBatch($0, epoch: 0) }
        tensors += dataTensors(data, "test", count: data.testCount) { data.testBatch($0.first!..<($0.last! + 1)) }

        let levels = try (0..<config.levelCount).map { level -> PeerLevel in
            PeerLevel(firstEpoch: level == 0 ? 0 : config.switchEpochs[level - 1],
                      spec: try LevelControl.spec(config, level: level, data: data))
        }
        let json = JSONEncoder()
        json.outputFormatting = [.sortedKeys]
        func text<T: Encodable>(_ v: T) throws -> String { String(decoding: try json.encode(v), as: UTF8.self) }
        var file = SafeTensorsFile(tensors: tensors, metadata: [
            "format": format,
            "config": try config.yaml(),
            "config_json": String(decoding: try ExperimentConfig.jsonEncoder().encode(config), as: UTF8.self),
            "levels": try text(levels),
            "epochs": String(config.epochs),
            "steps_per_epoch": String(plan.stepsPerEpoch),
            "batch_size": String(config.batchSize),
            "train_count": String(data.trainCount),
            "test_count": String(data.testCount),
            "task": data.isClassification ? "classification" : "regression",
            "conventions": conventions,
        ])
        file.storeChecksum()
        try file.write(atomicallyTo: path)
    }

    /// One level of the run: the model spec it trains from its first (0-based) epoch on.
    struct PeerLevel: Encodable {
        var firstEpoch: Int
        var spec: ModelSpec
    }

    /// The training conventions a peer must reproduce, in words (kept beside the numbers).
    static let conventions = """
        loss: MSE (mean over the global batch and output features) or softmax cross-entropy (mean \
        over the global batch); one optimizer step per global batch; Adam with bias correction, \
        eps added to sqrt(v)/sqrt(1-beta2^t); at a level switch the step count continues and the \
        optimizer moments are copied like the weights (optimizer-state-on-switch: prolong) or \
        reset with the step count (reset); BatchNorm momentum 0.1, eps 1e-5, batch statistics over \
        the whole global batch, unbiased running variance; each Runge-Kutta stage has its own \
        running statistics (….stageK.running_mean) and shares gamma, beta and the convolutions; \
        test metric after every epoch in inference mode (running statistics)
        """

    /// The inputs and targets of samples 0..<count, in chunks, as the trainer builds them.
    private static func dataTensors(_ data: TrainingData, _ prefix: String, count: Int,
                                    _ batch: ([Int]) -> (input: Tensor, targets: BatchTargets)) -> [SafeTensor] {
        var inputs: [Float] = [], values: [Float] = [], labels: [Int32] = []
        let chunk = 1000
        for start in stride(from: 0, to: count, by: chunk) {
            let b = batch(Array(start..<min(start + chunk, count)))
            inputs += b.input.data
            switch b.targets {
            case .values(let t): values += t.data
            case .classes(let l): labels += l.map { Int32($0) }
            }
        }
        let shape = [count] + data.sampleShape
        var out = [SafeTensor(name: "data.\(prefix).x", shape: shape, floats: inputs)]
        if data.isClassification {
            out.append(SafeTensor(name: "data.\(prefix).y", shape: [count], int32s: labels))
        } else {
            out.append(SafeTensor(name: "data.\(prefix).y", shape: [count, values.count / max(count, 1)], floats: values))
        }
        return out
    }
}
