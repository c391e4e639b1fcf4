import Foundation
import ResNetCore
import ResNetData
import ResNetDistributed

/// A model's outputs (inference mode) on the first `count` test samples.
struct ProbeOutputs {
    let count: Int
    let outputs: [Float]
}

/// The test pass: the test metric of a model over the whole test set, split across ranks. One job,
/// given the model; the trainer holds one.
struct Evaluator {
    let comm: Communicator
    let data: TrainingData
    /// `--local-bn`: the ranks' running statistics differ and are averaged before a test pass.
    let localBN: Bool

    /// Test samples the level switch compares the models on (the first ones of the test set).
    static let switchProbeSamples = 256

    /// Test accuracy (classification) or the L2 norm of prediction − truth (regression), and on
    /// rank 0 the outputs on the first `switchProbeSamples` test samples, for a level switch that
    /// may follow (nil on the other ranks).
    func evaluate(_ model: ResNetModel) throws -> (metric: (kind: MetricKind, value: Double), probe: ProbeOutputs?) {
        try synchroniseRunningStatistics(model)
        let mine = GlobalBatchSharder.evaluationRange(count: data.testCount, rank: comm.rank, worldSize: comm.size)
        let probeCount = comm.isRoot && mine.lowerBound == 0 ? min(Self.switchProbeSamples, mine.count) : 0
        var probe: [Float] = []
        var totals = [0.0]
        let chunk = 1000
        var lower = mine.lowerBound
        while lower < mine.upperBound {
            let range = lower..<min(lower + chunk, mine.upperBound)
            let batch = data.testBatch(range)
            let out = try model.forward(batch.input, training: false)
            totals[0] += Self.metricSum(out.data, targets: batch.targets)
            let wanted = probeCount - (range.lowerBound - mine.lowerBound)
            if wanted > 0 {
                let width = out.count / range.count
                probe += out.data.prefix(min(wanted, range.count) * width)
            }
            lower = range.upperBound
        }
        try comm.allreduceSum(&totals)
        return (metric(sum: totals[0], samples: data.testCount), probeCount > 0 ? ProbeOutputs(count: probeCount, outputs: probe) : nil)
    }

    /// The test metric from the sum `metricSum` gives over `samples` test samples, stated for the
    /// whole test set: accuracy as the fraction correct; the error norm scaled by
    /// √(test count / samples) when only some samples were seen (an estimate of the full norm).
    func metric(sum: Double, samples: Int) -> (kind: MetricKind, value: Double) {
        if data.isClassification { return (.accuracy, sum / Double(samples)) }
        let scaled = samples == data.testCount ? sum : sum * Double(data.testCount) / Double(samples)
        return (.errorNorm, scaled.squareRoot())
    }

    /// Correct predictions (classification) or the squared error Σ(prediction − truth)² of one batch.
    static func metricSum(_ out: [Float], targets: BatchTargets) -> Double {
        var total = 0.0
        switch targets {
        case .values(let target):
            for i in 0..<out.count {
                let d = Double(out[i]) - Double(target.data[i])
                total += d * d
            }
        case .classes(let labels):
            let classes = out.count / max(labels.count, 1)
            for (i, label) in labels.enumerated() {
                let row = out[(i * classes)..<((i + 1) * classes)]
                let predicted = row.indices.max { row[$0] < row[$1] }! - i * classes
                if predicted == label { total += 1 }
            }
        }
        return total
    }

    /// With local BatchNorm each rank's running statistics differ; average them so every rank
    /// evaluates (and checkpoints) the same model. With synchronised BatchNorm they already agree.
    func synchroniseRunningStatistics(_ model: ResNetModel) throws {
        guard comm.size > 1, localBN, !model.state.isEmpty else { return }
        try comm.allreduceSum(&model.state)
        let scale = 1 / Float(comm.size)
        for i in model.state.indices { model.state[i] *= scale }
    }
}

extension Trainer {
    /// Test accuracy (classification) or the L2 norm of prediction − truth (regression), over the
    /// whole test set split across ranks.
    public func evaluate() throws -> (kind: MetricKind, value: Double) {
        try evaluator.evaluate(model).metric
    }

    /// Optimizer steps in one epoch (the same on every rank).
    public var stepsPerEpoch: Int {
        GlobalBatchSharder(config, data).stepsPerEpoch
    }

    /// Regression only: the model's function on `gridPoints` points over the data's interval
    /// [0, 2π], the true function there, and the test set — what `fit.svg` shows.
    public func regressionFit(gridPoints: Int = 400) throws -> (x: [Double], truth: [Double], prediction: [Double], testX: [Double], testY: [Double])? {
        guard let test = data.regressionTestSet, let f = data.regressionFunction else { return nil }
        let x = (0..<gridPoints).map { 2 * Double.pi * Double($0) / Double(gridPoints - 1) }
        let out = try model.forward(Tensor(shape: [gridPoints, 1], data: x.map { data.networkInput(Float($0)) }), training: false)
        return (x, x.map { f($0) }, out.data.map(Double.init), test.x.map(Double.init), test.y.map(Double.init))
    }

    /// Regression only: the test inputs, true values and the model's predictions (inference mode).
    public func regressionPredictions() throws -> (x: [Float], truth: [Float], prediction: [Float])? {
        guard let test = data.regressionTestSet else { return nil }
        let out = try model.forward(Tensor(shape: [test.count, 1], data: test.x.map(data.networkInput)), training: false)
        return (test.x, test.y, out.data)
    }

    /// `--precise-bn K`: the running statistics are reset and set to the plain average of the
    /// batch statistics of the epoch's first K global batches under the current weights, so they
    /// describe the final weights rather than a momentum average over the last steps' (which lags
    /// behind while weights move fast). Every rank takes part in each forward (the BatchNorm sums
    /// are reduced unless --local-bn), so all agree.
    ///
    /// A stop request, agreed on before each batch, ends the pass: the statistics go back to what
    /// they were before it and this returns the stop signal (`agreedStopRequest`'s; the caller
    /// checkpoints the end of the epoch's steps, from where a resume runs the pass again). Nil
    /// when the pass ran.
    func recalibrateBatchNorm(plan: EpochPlan) throws -> Int32? {
        guard config.preciseBN > 0 else { return nil }
        let before = model.state
        do {
            try model.reestimateBatchNormStatistics(batches: config.preciseBN) { k in
                if let signal = try agreedStopRequest() { throw PassInterrupted(signal: signal) }
                let shard = plan.shard(step: k % plan.stepsPerEpoch, rank: comm.rank, worldSize: comm.size)
                _ = try model.forward(data.trainBatch(shard.indices, epoch: plan.epoch).input, training: true)
            }
        } catch let stop as PassInterrupted {
            model.state = before
            return stop.signal
        }
        return nil
    }
}

extension Trainer {
    /// The number of test samples `evaluate` scores (fewer than the test set's under `--subset`).
    public var testSampleCount: Int { data.testCount }
}

/// A pass over batches ended early by a stop request, with `agreedStopRequest`'s signal.
struct PassInterrupted: Error {
    let signal: Int32
}
