import Foundation
import ResNetCore
import ResNetDistributed
import ResNetTraining

extension BenchSections {
    /// The figures behind `ScalingModel`, at one rank: the Fashion-MNIST deep model's step at
    /// per-rank batches from the thesis's global batch down to the batch of 256 ranks, and the
    /// collectives a step makes, counted on the model.
    public func scalingModel(report: inout BenchReport, batches: [Int] = ScalingModel.ranks.map { 1024 / $0 }) throws {
        // One rank per core, as a cluster job runs: measured at one rank and one thread.
        guard comm.size == 1, Kernels.threadCount == 1 else { return }
        let base = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        let data = try TrainingBenchmark.data(for: base)
        var points: [ScalingModel.ComputePoint] = []
        for b in batches {
            var c = base
            c.batchSize = b
            // Small batches take milliseconds: a short window still holds many steps.
            let m = try TrainingBenchmark.measure(config: c, communicator: comm, minSteps: 3,
                                                  window: min(window, b >= 256 ? 4 : 1), data: data)
            points.append(.init(perRankBatch: b, seconds: m.stepSeconds))
        }
        let model = ResNetModel(spec: try Trainer.spec(base, level: 0, data: data.0), seed: 1)
        report.scalingModel = ScalingModel(
            network: "Fashion-MNIST deep (\(base.blocks.map(String.init).joined(separator: "+")) blocks, channels \(base.channels.map(String.init).joined(separator: ", ")))",
            globalBatch: base.batchSize, compute: points, gradientFloats: model.parameterCount,
            batchNormSums: try Self.batchNormCollectives(model))
    }

    /// The doubles each of synchronised BatchNorm's collectives sums in one training step of
    /// `model` (forward and backward of two images), in call order.
    static func batchNormCollectives(_ model: ResNetModel) throws -> [Int] {
        final class Counter: BatchNormReducer {
            var counts: [Int] = []
            func sum(_ values: UnsafeMutableBufferPointer<Double>) throws { counts.append(values.count) }
        }
        let counter = Counter()
        let previous = model.batchNormReducer
        defer { model.batchNormReducer = previous }
        model.batchNormReducer = counter
        let shape = [2] + model.spec.inputShape
        let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { Float($0 % 7) / 7 })
        let logits = try model.forward(x, training: true)
        let (_, gradient, _) = try softmaxCrossEntropy(logits: logits, labels: [0, 1])
        try model.backward(gradient)
        return counter.counts
    }
}
