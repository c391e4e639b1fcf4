/// Batch normalisation over channels: NCHW (2-d) or [N, features] (1-d, a 1×1 plane).
///
/// Training: batch mean and biased variance per channel (summed across ranks through the
/// `BatchNormReducer` when one is set — synchronised BatchNorm); running mean and unbiased
/// running variance updated with momentum 0.1. Inference: the running statistics.
/// Forward saves the normalised input x̂, 1/σ per channel and the (global) element count.
public final class BatchNorm: Layer {
    public let channels: Int
    public let weightOffset: Int, biasOffset: Int
    public let runningMeanOffset: Int, runningVarianceOffset: Int
    public let momentum: Float = 0.1
    public let epsilon: Float = 1e-5

    private var savedNormalized: Tensor?
    private var savedInverseStd: [Float] = []
    private var savedCount: Double = 0

    public init(channels: Int, weightOffset: Int, biasOffset: Int,
                runningMeanOffset: Int, runningVarianceOffset: Int) {
        self.channels = channels
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.runningMeanOffset = runningMeanOffset
        self.runningVarianceOffset = runningVarianceOffset
    }

    /// Registers `path.weight`, `path.bias` (parameters) and `path.running_mean`,
    /// `path.running_var` (state).
    convenience init(_ path: LayerPath, channels: Int, layout: LayoutBuilder) {
        let w = layout.addParameter(ParameterName(path, .weight), shape: [channels], initializer: .constant(1))
        let b = layout.addParameter(ParameterName(path, .bias), shape: [channels], initializer: .constant(0))
        let m = layout.addState(ParameterName(path, .runningMean), shape: [channels], initializer: .constant(0))
        let v = layout.addState(ParameterName(path, .runningVariance), shape: [channels], initializer: .constant(1))
        self.init(channels: channels, weightOffset: w, biasOffset: b, runningMeanOffset: m, runningVarianceOffset: v)
    }

    /// The same γ and β with running statistics of its own, registered as `path.running_mean`
    /// and `path.running_var` (a Runge–Kutta stage's copy of F).
    func stageCopy(_ path: LayerPath, layout: LayoutBuilder) -> BatchNorm {
        let m = layout.addState(ParameterName(path, .runningMean), shape: [channels], initializer: .constant(0))
        let v = layout.addState(ParameterName(path, .runningVariance), shape: [channels], initializer: .constant(1))
        return BatchNorm(channels: channels, weightOffset: weightOffset, biasOffset: biasOffset,
                         runningMeanOffset: m, runningVarianceOffset: v)
    }

    public func freshCopy() -> Layer {
        BatchNorm(channels: channels, weightOffset: weightOffset, biasOffset: biasOffset,
                  runningMeanOffset: runningMeanOffset, runningVarianceOffset: runningVarianceOffset)
    }

    private func plane(of input: Tensor) throws -> Int {
        guard input.rank >= 2, input.shape[1] == channels else {
            throw ResNetCoreError.shapeMismatch("BatchNorm(\(channels)) got \(input.shape)")
        }
        return input.shape.dropFirst(2).reduce(1, *)
    }

    /// Per-channel mean and 1/σ: batch statistics (summed across ranks through the reducer, and
    /// folded into the running ones) when training, the running statistics otherwise. Also returns
    /// the (global) element count per channel. Shared with the fused `NormActConv`.
    func statistics(_ x: UnsafePointer<Float>, batch n: Int, plane: Int, training: Bool,
                    buffers: LayerBuffers) throws -> (mean: [Float], inverseStd: [Float], count: Double) {
        let c = channels
        var mean = [Float](repeating: 0, count: c)
        var inverseStd = [Float](repeating: 0, count: c)
        let runningMean = buffers.state + runningMeanOffset
        let runningVariance = buffers.state + runningVarianceOffset
        guard training else {
            for ch in 0..<c {
                mean[ch] = runningMean[ch]
                inverseStd[ch] = 1 / (runningVariance[ch] + epsilon).squareRoot()
            }
            return (mean, inverseStd, 0)
        }
        // Per-channel Σx and Σx² (Double), plus the element count, in one reducible buffer.
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        for s in 0..<n {
            FusedElementwise.channelSums(x + s * c * plane, channels: c, plane: plane, into: &sums)
        }
        sums[2 * c] = Double(n * plane)
        if let reducer = buffers.reducer {
            try sums.withUnsafeMutableBufferPointer { try reducer.sum($0) }
        }
        let count = sums[2 * c]
        let momentum = buffers.statisticsMomentum ?? self.momentum
        for ch in 0..<c {
            let m = sums[ch] / count
            let variance = max(sums[c + ch] / count - m * m, 0)
            mean[ch] = Float(m)
            inverseStd[ch] = Float(1 / (variance + Double(epsilon)).squareRoot())
            let unbiased = count > 1 ? variance * count / (count - 1) : variance
            runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * Float(m)
            runningVariance[ch] = (1 - momentum) * runningVariance[ch] + momentum * Float(unbiased)
        }
        return (mean, inverseStd, count)
    }

    /// Adds one image's per-channel Σdz and Σdz·x̂ (C×plane each) to `sums` (2·C), the sums
    /// `gradientCoefficients` turns into dγ, dβ and the input-gradient coefficients.
    func accumulateGradientSums(_ sums: inout [Double], gradient dz: UnsafePointer<Float>,
                                normalized xhat: UnsafePointer<Float>, plane: Int) {
        for ch in 0..<channels {
            let (s1, s2) = Kernels.sumAndDot(dz + ch * plane, xhat + ch * plane, plane)
            sums[ch] += Double(s1)
            sums[channels + ch] += Double(s2)
        }
    }

    /// Given per-channel local sums Σdy and Σdy·x̂ (2c values): adds them to dβ and dγ, sums
    /// them across ranks, and returns per channel (γ/σ, mean dy, mean dy·x̂) for
    /// dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)).
    func gradientCoefficients(_ sums: inout [Double], inverseStd: [Float], count: Double,
                              buffers: LayerBuffers) throws -> [(scale: Float, meanDy: Float, meanDyX: Float)] {
        let c = channels
        let dGamma = buffers.gradients + weightOffset, dBeta = buffers.gradients + biasOffset
        for ch in 0..<c {
            dBeta[ch] += Float(sums[ch])
            dGamma[ch] += Float(sums[c + ch])
        }
        if let reducer = buffers.reducer {
            try sums.withUnsafeMutableBufferPointer { try reducer.sum($0) }
        }
        let gamma = buffers.parameters + weightOffset
        return (0..<c).map { ch in
            (gamma[ch] * inverseStd[ch], Float(sums[ch] / count), Float(sums[c + ch] / count))
        }
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let plane = try plane(of: input)
        let n = input.batchSize, c = channels
        let (mean, inverseStd, count) = try input.data.withUnsafeBufferPointer { x in
            try statistics(x.baseAddress!, batch: n, plane: plane, training: training, buffers: buffers)
        }
        if training { savedCount = count }
        let gamma = buffers.parameters + weightOffset, beta = buffers.parameters + biasOffset

        var normalized = Tensor(uninitializedShape: input.shape)
        var output = Tensor(uninitializedShape: input.shape)
        input.data.withUnsafeBufferPointer { x in
            normalized.data.withUnsafeMutableBufferPointer { xh in
                output.data.withUnsafeMutableBufferPointer { y in
                    for s in 0..<n {
                        for ch in 0..<c {
                            let base = (s * c + ch) * plane
                            let px = x.baseAddress! + base, pxh = xh.baseAddress! + base, py = y.baseAddress! + base
                            let m = mean[ch], inv = inverseStd[ch], g = gamma[ch], b = beta[ch]
                            for i in 0..<plane {
                                let v = (px[i] - m) * inv
                                pxh[i] = v
                                py[i] = g * v + b
                            }
                        }
                    }
                }
            }
        }
        if training {
            savedNormalized = normalized
            savedInverseStd = inverseStd
        } else {
            savedNormalized = nil
        }
        return output
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let normalized = savedNormalized else { throw ResNetCoreError.backwardWithoutForward("BatchNorm") }
        guard normalized.shape == outputGradient.shape else {
            throw ResNetCoreError.shapeMismatch("BatchNorm gradient \(outputGradient.shape) vs \(normalized.shape)")
        }
        let plane = try plane(of: normalized)
        let n = normalized.batchSize, c = channels
        // Per-channel Σdy and Σdy·x̂: local ones give dβ and dγ; global ones give dx.
        var sums = [Double](repeating: 0, count: 2 * c)
        normalized.data.withUnsafeBufferPointer { xh in
            outputGradient.data.withUnsafeBufferPointer { dy in
                for s in 0..<n {
                    accumulateGradientSums(&sums, gradient: dy.baseAddress! + s * c * plane,
                                           normalized: xh.baseAddress! + s * c * plane, plane: plane)
                }
            }
        }
        let coefficients = try gradientCoefficients(&sums, inverseStd: savedInverseStd, count: savedCount, buffers: buffers)
        var inputGradient = outputGradient
        normalized.data.withUnsafeBufferPointer { xh in
            inputGradient.data.withUnsafeMutableBufferPointer { dx in
                for s in 0..<n {
                    BatchNorm.applyInputGradient(dx.baseAddress! + s * c * plane, normalized: xh.baseAddress! + s * c * plane,
                                                 coefficients, plane: plane)
                }
            }
        }
        savedNormalized = nil
        return inputGradient
    }

    /// One image's input gradient in place: dy becomes dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))
    /// per channel, the means over the global batch (`gradientCoefficients`).
    static func applyInputGradient(_ dy: UnsafeMutablePointer<Float>, normalized xhat: UnsafePointer<Float>,
                                   _ coefficients: [(scale: Float, meanDy: Float, meanDyX: Float)], plane: Int) {
        for (ch, (scale, meanDy, meanDyX)) in coefficients.enumerated() {
            let px = xhat + ch * plane, pd = dy + ch * plane
            for i in 0..<plane { pd[i] = scale * (pd[i] - meanDy - px[i] * meanDyX) }
        }
    }
}
