/// Fully connected layer y = x·Wᵀ + b, with W stored [out, in] (PyTorch layout).
///
/// Forward saves the input x (needed for dW). Input may be any [N, …] tensor; it is treated
/// as [N, inputFeatures].
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let weightOffset: Int
    public let biasOffset: Int?
    /// False for the first layer of a model: its input gradient is never used.
    public let computesInputGradient: Bool
    private var savedInput: Tensor?

    public init(inputFeatures: Int, outputFeatures: Int, weightOffset: Int, biasOffset: Int?,
                computesInputGradient: Bool = true) {
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.computesInputGradient = computesInputGradient
    }

    /// Registers `path.weight and `name.bias` in the layout.
    package convenience init(_ path: LayerPath, inputFeatures: Int, outputFeatures: Int, bias: Bool = true,
                     initialization: WeightBound, computesInputGradient: Bool = true, layout: LayoutBuilder) {
        let fanIn = Float(inputFeatures), fanOut = Float(outputFeatures)
        let bound = initialization.bound(fanIn: fanIn, fanOut: fanOut)
        let w = layout.addParameter(ParameterName(path, .weight), shape: [outputFeatures, inputFeatures],
                                    initializer: .uniform(bound: bound))
        let b = bias ? layout.addParameter(ParameterName(path, .bias), shape: [outputFeatures],
                                           initializer: .uniform(bound: 1 / fanIn.squareRoot())) : nil
        self.init(inputFeatures: inputFeatures, outputFeatures: outputFeatures,
                  weightOffset: w, biasOffset: b, computesInputGradient: computesInputGradient)
    }

    public func freshCopy() -> Layer {
        Linear(inputFeatures: inputFeatures, outputFeatures: outputFeatures, weightOffset: weightOffset,
               biasOffset: biasOffset, computesInputGradient: computesInputGradient)
    }

    /// Multiply-adds per sample, ×2 for FLOPs.
    public var forwardFlopsPerSample: Double { 2 * Double(inputFeatures * outputFeatures) }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let n = input.batchSize
        guard input.sampleCount == inputFeatures else {
            throw ResNetCoreError.shapeMismatch("Linear expects \(inputFeatures) features, got \(input.shape)")
        }
        // Written in full: the bias rows and then the product added (beta 1), or the product alone.
        var output = Tensor(uninitializedShape: [n, outputFeatures])
        let w = buffers.parameters + weightOffset
        let outF = outputFeatures
        output.data.withUnsafeMutableBufferPointer { y in
            let y = y.baseAddress!
            if let biasOffset {
                let b = buffers.parameters + biasOffset
                for row in 0..<n {
                    let yr = y + row * outF
                    for j in 0..<outF { yr[j] = b[j] }
                }
            }
            input.data.withUnsafeBufferPointer { x in
                Kernels.sgemm(transposeA: false, transposeB: true, m: n, n: outF, k: inputFeatures,
                              alpha: 1, a: x.baseAddress!, b: w, beta: biasOffset == nil ? 0 : 1, c: y)
            }
        }
        savedInput = training ? input : nil
        return output
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let input = savedInput else { throw ResNetCoreError.backwardWithoutForward("Linear") }
        let n = input.batchSize, outF = outputFeatures, inF = inputFeatures
        guard outputGradient.count == n * outF else {
            throw ResNetCoreError.shapeMismatch("Linear gradient \(outputGradient.shape) vs [\(n), \(outF)]")
        }
        // Written in full by the product (beta 0) when computed.
        var inputGradient = Tensor(uninitializedShape: computesInputGradient ? input.shape : [0])
        outputGradient.data.withUnsafeBufferPointer { dy in
            let dy = dy.baseAddress!
            input.data.withUnsafeBufferPointer { x in
                // dW[out, in] += dYᵀ · X
                Kernels.sgemm(transposeA: true, transposeB: false, m: outF, n: inF, k: n,
                              alpha: 1, a: dy, b: x.baseAddress!, beta: 1, c: buffers.gradients + weightOffset)
            }
            if let biasOffset {
                Kernels.addColumnSums(dy, rows: n, columns: outF, into: buffers.gradients + biasOffset)
            }
            if computesInputGradient {
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    // dX[N, in] = dY · W
                    Kernels.sgemm(transposeA: false, transposeB: false, m: n, n: inF, k: outF,
                                  alpha: 1, a: dy, b: buffers.parameters + weightOffset, beta: 0,
                                  c: dx.baseAddress!)
                }
            }
        }
        savedInput = nil
        return inputGradient
    }
}
