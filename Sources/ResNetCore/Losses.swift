import Foundation

/// Losses return the loss value and dL/d(prediction), ready for `ResNetModel.backward`.
///
/// Both take a `normalizer` (in samples) different from the local batch size: a rank holding
/// n of a global batch of B samples passes `normalizer: B`, so that summing the ranks' losses
/// and gradients gives the global mean.

/// Mean squared error, averaged over `normalizer` samples × features per sample
/// (PyTorch `MSELoss` for normalizer = local batch size).
public func mseLoss(prediction: Tensor, target: Tensor, normalizer: Int? = nil) throws -> (loss: Float, gradient: Tensor) {
    guard prediction.shape == target.shape else {
        throw ResNetCoreError.shapeMismatch("MSE prediction \(prediction.shape) vs target \(target.shape)")
    }
    let samples = normalizer ?? prediction.batchSize
    let denominator = Double(max(samples, 1) * prediction.sampleCount)
    var gradient = Tensor(shape: prediction.shape)
    var sum = 0.0
    let scale = Float(2 / denominator)
    for i in 0..<prediction.count {
        let d = prediction.data[i] - target.data[i]
        sum += Double(d * d)
        gradient.data[i] = scale * d
    }
    return (Float(sum / denominator), gradient)
}

/// Softmax cross-entropy of logits [N, classes] against integer labels, with a stable
/// log-sum-exp. Returns the loss (sum over local samples / `normalizer`), its gradient
/// (softmax − one-hot) / normalizer, and how many local argmax predictions were correct.
public func softmaxCrossEntropy(logits: Tensor, labels: [Int], normalizer: Int? = nil) throws
    -> (loss: Float, gradient: Tensor, correct: Int)
{
    guard logits.rank == 2, labels.count == logits.shape[0] else {
        throw ResNetCoreError.shapeMismatch("cross-entropy logits \(logits.shape) vs \(labels.count) labels")
    }
    let n = logits.shape[0], classes = logits.shape[1]
    guard labels.allSatisfy({ $0 >= 0 && $0 < classes }) else {
        throw ResNetCoreError.shapeMismatch("label outside 0..<\(classes)")
    }
    let scale = 1 / Double(max(normalizer ?? n, 1))
    var gradient = Tensor(shape: logits.shape)
    var total = 0.0
    var correct = 0
    for s in 0..<n {
        let row = s * classes
        var maxValue = -Float.infinity, argmax = 0
        for c in 0..<classes where logits.data[row + c] > maxValue {
            maxValue = logits.data[row + c]
            argmax = c
        }
        if argmax == labels[s] { correct += 1 }
        var sumExp = 0.0
        for c in 0..<classes { sumExp += Double(fastExpOrZero(logits.data[row + c] - maxValue)) }
        let logSumExp = Double(maxValue) + log(sumExp)
        total += logSumExp - Double(logits.data[row + labels[s]])
        for c in 0..<classes {
            let p = Double(fastExpOrZero(logits.data[row + c] - maxValue)) / sumExp
            gradient.data[row + c] = Float((p - (c == labels[s] ? 1 : 0)) * scale)
        }
    }
    return (Float(total * scale), gradient, correct)
}

/// exp for the shifted logits (≤ 0): exactly 0 below the Float range instead of a clamped tiny value.
@inline(__always)
private func fastExpOrZero(_ x: Float) -> Float { x < -87 ? 0 : Float(exp(Double(x))) }
