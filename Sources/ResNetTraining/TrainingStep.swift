import ResNetCore
import ResNetDistributed

/// One optimizer step of a model on this rank's shard of a global batch: the batch's tensors,
/// forward and loss (normalised by the global batch, so the ranks' losses and gradients sum to
/// the global ones), backward with the gradients summed across ranks (`GradientSync`), then the
/// optimizer's update. One job, given the model; the trainer holds one and gives it a new
/// optimizer at a level switch.
package struct TrainingStep {
    let data: TrainingData
    var optimizer: Optimizer
    /// Sums the gradients, and agrees on the step's loss and stop requests, across ranks.
    package var gradientSync: GradientSync
    /// Read when backward ends: this rank's stop request (a signal number), or nil.
    let stopRequest: (() -> Int32?)?

    /// What one step gives the loop.
    package struct Outcome {
        /// The global loss of the step.
        package var loss: Double
        /// Seconds spent waiting for the reductions after backward.
        package var waitSeconds: Double
        /// When some rank asked to stop (agreed on in this step's reduction): this rank's signal,
        /// or 0 for another rank's. Training ends after this step.
        package var stopSignal: Int32?
    }

    /// Trains `model` on the samples `indices` of the training set (this rank's shard of a
    /// global batch of `globalBatch` samples) at `learningRate`.
    package func run(_ model: ResNetModel, indices: [Int], globalBatch: Int, epoch: Int, learningRate: Double) throws -> Outcome {
        let batch = data.trainBatch(indices, epoch: epoch)
        model.zeroGradients()
        let prediction = try model.forward(batch.input, training: true)
        var localLoss: Float
        let gradient: Tensor
        switch batch.targets {
        case .values(let target):
            (localLoss, gradient) = try mseLoss(prediction: prediction, target: target, normalizer: globalBatch)
        case .classes(let labels):
            let r = try softmaxCrossEntropy(logits: prediction, labels: labels, normalizer: globalBatch)
            (localLoss, gradient) = (r.loss, r.gradient)
        }
        if indices.isEmpty { localLoss = 0 }
        // Steps of a tenth of a GFLOP and more read a stop request as late as possible (from
        // the model and the global batch, so every rank decides alike).
        let lateStop = model.forwardFlopsPerSample() * Double(globalBatch) >= 1e8
        let agreed = try gradientSync.backward(model, gradient, localLoss: localLoss, lateStop: lateStop,
                                               stopRequested: { stopRequest?() != nil })
        let stopSignal = agreed.stop ? (stopRequest?() ?? 0) : nil
        optimizer.step(&model.parameters, model.gradients, learningRate: Float(learningRate))
        return Outcome(loss: agreed.loss, waitSeconds: agreed.waitSeconds, stopSignal: stopSignal)
    }
}
