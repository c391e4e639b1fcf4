import ResNetCore
import ResNetDistributed

extension Trainer {
    /// One step: forward and loss on this rank's shard (normalised by the global batch, so the
    /// ranks' losses and gradients sum to the global ones), backward with the gradients summed
    /// across ranks (`GradientSync`), then the optimizer. Returns the global loss and the seconds
    /// spent waiting for the reductions. A stop request of any rank, read when backward ends, is agreed
    /// on in the same step and recorded in `stopSignal`.
    package func trainStep(indices: [Int], globalBatch: Int, epoch: Int, learningRate: Double) throws -> (Double, Double) {
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
        let sync = GradientSync(comm: comm, bucketElements: overlapAllreduce ? allreduceBucketElements : .max)
        // Steps of a tenth of a GFLOP and more read a stop request as late as possible (from
        // the model and the global batch, so every rank decides alike).
        let lateStop = model.forwardFlopsPerSample() * Double(globalBatch) >= 1e8
        let agreed = try sync.backward(model, gradient, localLoss: localLoss, lateStop: lateStop,
                                       stopRequested: { self.hooks.stopRequest?() != nil })
        if agreed.stop { stopSignal = hooks.stopRequest?() ?? 0 }  // 0: another rank's signal
        optimizer.step(&model.parameters, model.gradients, learningRate: Float(learningRate))
        return (agreed.loss, agreed.waitSeconds)
    }
}
