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
        let model = ResNetModel(spec: try LevelControl.spec(base, level: 0, data: data.0), seed: 1)
        report.scalingModel = ScalingModel(
            network: "Fashion-MNIST deep (\(base.blocks.map(String.init).joined(separator: "+")) blocks, channels \(base.channels.map(String.init).joined(separator: ", ")))",
            globalBatch: base.batchSize, compute: points, gradientFloats: model.parameterCount,
            batchNormSums: try Self.batchNormCollectives(model))
    }

    /// At several ranks: the time of one allreduce of a BatchNorm-sized buffer (64 doubles) and of
    /// the Fashion-MNIST deep model's gradient, the fastest of many, and the latency and
    /// bandwidth they imply under the α–β model — this transport's figures beside the model's
    /// cluster networks.
    /// `transport` names what carries the messages when it is not this machine's own (e.g. TCP
    /// between network-namespace hosts).
    public func collectives(report: inout BenchReport, transport: String? = nil) throws {
        guard comm.size > 1 else { return }
        let base = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        let gradientFloats = ResNetModel(spec: try LevelControl.spec(base, level: 0, data: try TrainingBenchmark.data(for: base).0),
                                         seed: 1).parameterCount
        func fastest<T: Numeric>(_ count: Int, _ type: T.Type, repeats: Int,
                                 _ reduce: (UnsafeMutableBufferPointer<T>) throws -> Void) throws -> Double {
            var buffer = [T](repeating: 1, count: count)
            var best = Double.infinity
            for _ in 0..<repeats {
                try comm.barrier()
                let t0 = ProcessStats.now()
                try buffer.withUnsafeMutableBufferPointer { try reduce($0) }
                best = min(best, ProcessStats.now() - t0)
            }
            var timing = [best]
            try comm.broadcast(&timing, root: 0)
            return timing[0]
        }
        let small = try fastest(64, Double.self, repeats: 200) { try comm.allreduceSum(agreedLength: $0) }
        let large = try fastest(gradientFloats, Float.self, repeats: 20) { try comm.allreduceSum(agreedLength: $0) }
        let p = Double(comm.size), steps = log2(p).rounded(.up)
        // Latency from the small buffer (recursive doubling), bandwidth from what the large one
        // takes beyond its ring's latency.
        let latency = small / steps
        let bytes = Double(gradientFloats * 4)
        let bandwidth = 2 * (p - 1) / p * bytes / max(large - 2 * (p - 1) * latency, 1e-9)
        report.collectives.append(.init(ranks: comm.size, smallSeconds: small, gradientFloats: gradientFloats,
                                        gradientSeconds: large, latency: latency, bandwidth: bandwidth, transport: transport))
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
