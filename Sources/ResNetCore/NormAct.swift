/// BatchNorm → σ as one layer: the stem of every residual group (after its projection
/// convolution). It keeps only the normalised input x̂ — in the precision of
/// `ExecutionOptions.savedActivations`, half by default — and recomputes σ(γ·x̂ + β) in backward,
/// where the unfused pair kept x̂ and σ's output, both in Float (four times the memory).
///
/// Parameters and state are the wrapped `BatchNorm`'s, so the model layout is unchanged.
public final class NormAct: Layer {
    public let norm: BatchNorm
    public let activation: Activation

    private var saved: SavedNormalized?

    public init(norm: BatchNorm, activation: Activation) {
        self.norm = norm
        self.activation = activation
    }

    public func freshCopy() -> Layer { NormAct(norm: norm.freshCopy() as! BatchNorm, activation: activation) }

    private func plane(of shape: [Int]) throws -> Int {
        guard shape.count >= 2, shape[1] == norm.channels else {
            throw ResNetCoreError.shapeMismatch("NormAct(\(norm.channels)) got \(shape)")
        }
        return shape.dropFirst(2).reduce(1, *)
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let plane = try plane(of: input.shape)
        let n = input.shape[0], c = norm.channels, image = c * plane
        let (mean, inverseStd, count) = try input.data.withUnsafeBufferPointer { x in
            try norm.statistics(x.baseAddress!, batch: n, plane: plane, training: training, buffers: buffers)
        }
        let store = training ? SavedNormalized(shape: input.shape, image: image, storage: buffers.execution.savedActivations,
                                               inverseStd: inverseStd, count: count) : nil
        var output = Tensor(uninitializedShape: input.shape)
        let gamma = buffers.parameters + norm.weightOffset, beta = buffers.parameters + norm.biasOffset
        var xhat = [Float](repeating: 0, count: image)
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                xhat.withUnsafeMutableBufferPointer { xh in
                    for s in 0..<n {
                        for ch in 0..<c {
                            let base = s * image + ch * plane
                            let src = x.baseAddress! + base, dst = xh.baseAddress! + ch * plane
                            let out = y.baseAddress! + base
                            let m = mean[ch], inv = inverseStd[ch], g = gamma[ch], b = beta[ch]
                            for i in 0..<plane {
                                let v = (src[i] - m) * inv
                                dst[i] = v
                                out[i] = g * v + b
                            }
                        }
                        store?.set(s, from: xh.baseAddress!)
                        ActivationLayer.apply(activation, y.baseAddress! + s * image, image)
                    }
                }
            }
        }
        saved = store
        return output
    }

    /// a = σ(γ·x̂ + β) for one image (C×plane), as backward recomputes it (also NormActConv's).
    static func activate(_ xhat: UnsafePointer<Float>, norm: BatchNorm, activation: Activation, plane: Int,
                         buffers: LayerBuffers, into activated: UnsafeMutablePointer<Float>) {
        let gamma = buffers.parameters + norm.weightOffset, beta = buffers.parameters + norm.biasOffset
        for ch in 0..<norm.channels {
            let src = xhat + ch * plane, dst = activated + ch * plane
            let scale = gamma[ch], shift = beta[ch]
            for i in 0..<plane { dst[i] = scale * src[i] + shift }
        }
        ActivationLayer.apply(activation, activated, norm.channels * plane)
    }

    public func backward(_ outputGradient: Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let saved else { throw ResNetCoreError.backwardWithoutForward("NormAct") }
        guard outputGradient.shape == saved.shape else {
            throw ResNetCoreError.shapeMismatch("NormAct gradient \(outputGradient.shape), expected \(saved.shape)")
        }
        let plane = try plane(of: saved.shape)
        let n = saved.shape[0], c = norm.channels, image = c * plane
        var inputGradient = Tensor(uninitializedShape: saved.shape)
        let xhat = ScratchBuffer(image), activated = ScratchBuffer(image)
        // Per-channel Σdz and Σdz·x̂, dz = dL/d(γx̂+β).
        var sums = [Double](repeating: 0, count: 2 * c)
        outputGradient.data.withUnsafeBufferPointer { dy in
            inputGradient.data.withUnsafeMutableBufferPointer { dx in
                for s in 0..<n {
                    let xs = saved.image(s, scratch: xhat.pointer)
                    NormAct.activate(xs, norm: norm, activation: activation, plane: plane, buffers: buffers,
                                     into: activated.pointer)
                    let dz = dx.baseAddress! + s * image
                    dz.update(from: dy.baseAddress! + s * image, count: image)
                    ActivationLayer.applyDerivative(activation, output: activated.pointer, gradient: dz, image)
                    norm.accumulateGradientSums(&sums, gradient: dz, normalized: xs, plane: plane)
                }
            }
        }
        try saved.finishInputGradient(&inputGradient, sums: &sums, norm: norm, buffers: buffers)
        self.saved = nil
        return inputGradient
    }
}

/// The normalised input x̂ a layer keeps from forward to backward, image by image, in Float or
/// in half precision (see `HalfPrecision`), with the batch statistics backward needs.
final class SavedNormalized {
    let shape: [Int]
    let image: Int
    let inverseStd: [Float]
    let count: Double
    let storage: HalfPrecision.Storage
    private let bytes: UnsafeMutableRawPointer

    init(shape: [Int], image: Int, storage: HalfPrecision.Storage, inverseStd: [Float], count: Double) {
        self.shape = shape
        self.image = image
        self.inverseStd = inverseStd
        self.count = count
        self.storage = storage
        let total = max(shape.reduce(1, *), 1)
        bytes = storage == .half
            ? UnsafeMutableRawPointer(UnsafeMutablePointer<UInt16>.allocate(capacity: total))
            : UnsafeMutableRawPointer(UnsafeMutablePointer<Float>.allocate(capacity: total))
    }

    deinit { bytes.deallocate() }

    /// Stores image `s`'s x̂.
    func set(_ s: Int, from xhat: UnsafePointer<Float>) {
        switch storage {
        case .half:
            HalfPrecision.pack(xhat, into: bytes.assumingMemoryBound(to: UInt16.self) + s * image, count: image)
        case .single:
            (bytes.assumingMemoryBound(to: Float.self) + s * image).update(from: xhat, count: image)
        }
    }

    /// The BatchNorm input gradient over the whole batch, in place: dz (dL/d(γx̂+β), N×C×plane)
    /// becomes dx = γ/σ · (dz − mean(dz) − x̂·mean(dz·x̂)) per channel, from the per-channel
    /// sums Σdz, Σdz·x̂ (reduced across ranks by `norm` when it is synchronised).
    func finishInputGradient(_ dz: inout Tensor, sums: inout [Double], norm: BatchNorm,
                             buffers: LayerBuffers) throws {
        let coefficients = try norm.gradientCoefficients(&sums, inverseStd: inverseStd, count: count, buffers: buffers)
        let plane = image / shape[1]
        let scratch = ScratchBuffer(image)   // x̂ of one image when stored in half
        dz.data.withUnsafeMutableBufferPointer { dz in
            for s in 0..<shape[0] {
                BatchNorm.applyInputGradient(dz.baseAddress! + s * image, normalized: self.image(s, scratch: scratch.pointer),
                                             coefficients, plane: plane)
            }
        }
    }

    /// Image `s`'s x̂: decoded into `scratch` (`image` floats) when stored in half, else in place.
    /// Valid while `self` lives (and, for half, until `scratch` is next written).
    func image(_ s: Int, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        switch storage {
        case .half:
            HalfPrecision.unpack(bytes.assumingMemoryBound(to: UInt16.self) + s * image, into: scratch, count: image)
            return UnsafePointer(scratch)
        case .single:
            return UnsafePointer(bytes.assumingMemoryBound(to: Float.self) + s * image)
        }
    }
}
