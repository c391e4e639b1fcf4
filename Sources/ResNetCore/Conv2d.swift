/// 2-d convolution (cross-correlation), kernel k×k, stride, zero padding, optional bias;
/// weight stored [out, in, k, k] (PyTorch layout).
///
/// Lowered per image with im2col: a whole-batch lowering makes skinny GEMMs that stream far
/// more memory than they compute, while one image's column buffer (e.g. 144×784 floats) stays
/// in cache and runs near the sgemm reference. Forward saves only the input; backward
/// recomputes each image's columns instead of storing (C·k²)×(Ho·Wo)×N floats.
public final class Conv2d: Layer {
    public let inputChannels: Int, outputChannels: Int
    public let kernelSize: Int, stride: Int, padding: Int
    public let weightOffset: Int, biasOffset: Int?
    public let computesInputGradient: Bool
    private var savedInput: Tensor?

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                weightOffset: Int, biasOffset: Int?, computesInputGradient: Bool = true) {
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.computesInputGradient = computesInputGradient
    }

    /// Registers `name.weight` (and `name.bias`) in the layout.
    convenience init(_ name: String, inputChannels: Int, outputChannels: Int, kernelSize: Int,
                     stride: Int, padding: Int, bias: Bool, initialization: WeightBound,
                     computesInputGradient: Bool = true, layout: LayoutBuilder) {
        let fanIn = Float(inputChannels * kernelSize * kernelSize)
        let fanOut = Float(outputChannels * kernelSize * kernelSize)
        let bound = initialization.bound(fanIn: fanIn, fanOut: fanOut)
        let w = layout.addParameter("\(name).weight", shape: [outputChannels, inputChannels, kernelSize, kernelSize],
                                    initializer: .uniform(bound: bound))
        let b = bias ? layout.addParameter("\(name).bias", shape: [outputChannels],
                                           initializer: .uniform(bound: 1 / fanIn.squareRoot())) : nil
        self.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                  stride: stride, padding: padding, weightOffset: w, biasOffset: b,
                  computesInputGradient: computesInputGradient)
    }

    public func freshCopy() -> Layer {
        Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
               stride: stride, padding: padding, weightOffset: weightOffset, biasOffset: biasOffset,
               computesInputGradient: computesInputGradient)
    }

    public func outputSize(height: Int, width: Int) -> (Int, Int) {
        ((height + 2 * padding - kernelSize) / stride + 1, (width + 2 * padding - kernelSize) / stride + 1)
    }

    /// Forward FLOPs per sample for an input plane of the given size.
    public func forwardFlopsPerSample(height: Int, width: Int) -> Double {
        let (ho, wo) = outputSize(height: height, width: width)
        return 2 * Double(outputChannels * inputChannels * kernelSize * kernelSize * ho * wo)
    }

    /// A 1×1, stride-1, unpadded convolution needs no lowering: the image is its own column matrix.
    private var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    private struct Geometry {
        let n: Int, h: Int, w: Int, ho: Int, wo: Int, padding: Int
        var plane: Int { ho * wo }
        var hp: Int { h + 2 * padding }
        var wp: Int { w + 2 * padding }
    }

    private func geometry(_ input: Tensor) throws -> Geometry {
        guard input.rank == 4, input.shape[1] == inputChannels else {
            throw ResNetCoreError.shapeMismatch("Conv2d(\(inputChannels)→\(outputChannels)) got \(input.shape)")
        }
        let (ho, wo) = outputSize(height: input.shape[2], width: input.shape[3])
        guard ho > 0, wo > 0 else { throw ResNetCoreError.shapeMismatch("Conv2d output empty for \(input.shape)") }
        return Geometry(n: input.shape[0], h: input.shape[2], w: input.shape[3], ho: ho, wo: wo, padding: padding)
    }

    /// Lowers one image: pad into `scratch` (whose zero border persists across images),
    /// then im2col without bounds tests.
    private func lower(_ image: UnsafePointer<Float>, _ g: Geometry, scratch: UnsafeMutablePointer<Float>,
                       into columns: UnsafeMutablePointer<Float>) {
        Kernels.padImage(image, channels: inputChannels, height: g.h, width: g.w, padding: padding, into: scratch)
        Kernels.im2col(padded: scratch, channels: inputChannels, paddedHeight: g.hp, paddedWidth: g.wp,
                       kernel: kernelSize, stride: stride, outHeight: g.ho, outWidth: g.wo, columns: columns)
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let g = try geometry(input)
        if usesShiftedLowering(g) {
            savedInput = training ? input : nil
            return forwardSame(input, g, buffers: buffers)
        }
        let rows = inputChannels * kernelSize * kernelSize
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        var output = Tensor(uninitializedShape: [g.n, outputChannels, g.ho, g.wo])
        var columns = [Float](unsafeUninitializedCapacity: isPointwise ? 0 : rows * g.plane) { $1 = $0.count }
        var scratch = [Float](repeating: 0, count: isPointwise ? 0 : inputChannels * g.hp * g.wp)
        let weights = buffers.parameters + weightOffset
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                columns.withUnsafeMutableBufferPointer { col in
                  scratch.withUnsafeMutableBufferPointer { pad in
                    for s in 0..<g.n {
                        let image = x.baseAddress! + s * inImage
                        let out = y.baseAddress! + s * outImage
                        var b: UnsafePointer<Float> = image
                        if !isPointwise {
                            lower(image, g, scratch: pad.baseAddress!, into: col.baseAddress!)
                            b = UnsafePointer(col.baseAddress!)
                        }
                        var beta: Float = 0
                        if let biasOffset {
                            let bias = buffers.parameters + biasOffset
                            for oc in 0..<outputChannels {
                                let row = out + oc * g.plane, v = bias[oc]
                                for i in 0..<g.plane { row[i] = v }
                            }
                            beta = 1
                        }
                        Kernels.sgemm(transposeA: false, transposeB: false, m: outputChannels, n: g.plane, k: rows,
                                      alpha: 1, a: weights, b: b, beta: beta, c: out)
                    }
                  }
                }
            }
        }
        savedInput = training ? input : nil
        return output
    }

    /// Stride 1 with "same" padding: lowered by shifted copies instead of im2col (`SameConvolution`).
    /// On narrow planes the discarded columns (Wp − W of every Wp) cost more than im2col saves.
    private func usesShiftedLowering(_ g: Geometry) -> Bool {
        !isPointwise && stride == 1 && 2 * padding == kernelSize - 1 && g.w >= 12
    }

    private func sameConvolution(_ g: Geometry) -> SameConvolution {
        SameConvolution(channels: inputChannels, outputs: outputChannels, height: g.h, width: g.w, kernel: kernelSize)
    }

    /// Images per shifted-copy GEMM block (`SameConvolution.stacked`); the batch is cut into full
    /// blocks and one smaller block for the remainder.
    public static var imagesPerShiftedBlock: Int = 4

    /// (first image, number of blocks, images per block) groups covering the batch.
    static func shiftedBlocks(batch n: Int, blockSize: Int) -> [(first: Int, blocks: Int, count: Int)] {
        let b = max(1, min(n, blockSize))
        var groups: [(first: Int, blocks: Int, count: Int)] = []
        if n / b > 0 { groups.append((0, n / b, b)) }
        if n % b > 0 { groups.append((n - n % b, 1, n % b)) }
        return groups
    }

    private func forwardSame(_ input: Tensor, _ g: Geometry, buffers: LayerBuffers) -> Tensor {
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        var output = Tensor(uninitializedShape: [g.n, outputChannels, g.ho, g.wo])
        let packed = sameConvolution(g).packWeights(buffers.parameters + weightOffset)
        let bias = biasOffset.map { UnsafePointer(buffers.parameters + $0) }
        input.data.withUnsafeBufferPointer { x in
          output.data.withUnsafeMutableBufferPointer { y in
            packed.withUnsafeBufferPointer { w in
              for (first, blocks, count) in Conv2d.shiftedBlocks(batch: g.n, blockSize: Conv2d.imagesPerShiftedBlock) {
                let sc = SameConvolution.stacked(channels: inputChannels, outputs: outputChannels, imageHeight: g.h,
                                                 width: g.w, kernel: kernelSize, images: count)
                let t = ScratchBuffer(sc.shiftedCount)   // positions shiftStacked never writes stay zero
                let z = ScratchBuffer(sc.tapOutputCount)
                for block in 0..<blocks {
                    let s = first + block * count
                    sc.shiftStacked(x.baseAddress! + s * inImage, images: count, imageHeight: g.h, into: t.pointer)
                    sc.forwardAllTaps(shifted: t.pointer, packedWeights: w.baseAddress!, tapOutputs: z.pointer)
                    sc.sumTapsStacked(z.pointer, images: count, imageHeight: g.h, bias: bias,
                                      into: y.baseAddress! + s * outImage)
                }
              }
            }
          }
        }
        return output
    }

    private func backwardSame(_ input: Tensor, _ outputGradient: Tensor, _ g: Geometry,
                              buffers: LayerBuffers) throws -> Tensor {
        // dX is the same-padded convolution of dY with the flipped, transposed weights.
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        let flipped = computesInputGradient
            ? SameConvolution(channels: outputChannels, outputs: inputChannels, height: g.h, width: g.w,
                              kernel: kernelSize)
                .packWeights(Kernels.flippedWeights(buffers.parameters + weightOffset, outputs: outputChannels,
                                                    inputs: inputChannels, kernel: kernelSize)) : []
        var transposedGradient = [Float](repeating: 0, count: sameConvolution(g).transposedGradientCount)
        var inputGradient = Tensor(uninitializedShape: computesInputGradient ? input.shape : [0])
        let dBias = biasOffset.map { buffers.gradients + $0 }
        input.data.withUnsafeBufferPointer { x in
          outputGradient.data.withUnsafeBufferPointer { dy in
            inputGradient.data.withUnsafeMutableBufferPointer { dx in
              flipped.withUnsafeBufferPointer { flipped in
                transposedGradient.withUnsafeMutableBufferPointer { dw in
                  for (first, blocks, count) in Conv2d.shiftedBlocks(batch: g.n,
                                                                     blockSize: Conv2d.imagesPerShiftedBlock) {
                    let sc = SameConvolution.stacked(channels: inputChannels, outputs: outputChannels,
                                                     imageHeight: g.h, width: g.w, kernel: kernelSize, images: count)
                    let gc = SameConvolution.stacked(channels: outputChannels, outputs: inputChannels,
                                                     imageHeight: g.h, width: g.w, kernel: kernelSize, images: count)
                    // Positions the copies never write (borders, gaps, discarded columns) stay zero.
                    let xs = ScratchBuffer(sc.widenedInputCount), dt = ScratchBuffer(gc.shiftedCount)
                    let z = ScratchBuffer(computesInputGradient ? gc.tapOutputCount : 0)
                    for block in 0..<blocks {
                        let s = first + block * count
                        let dOut = dy.baseAddress! + s * outImage
                        sc.widenShiftedInput(x.baseAddress! + s * inImage, images: count, imageHeight: g.h,
                                             into: xs.pointer)
                        sc.shiftStackedGradient(dOut, images: count, imageHeight: g.h, into: dt.pointer,
                                                biasGradient: dBias)
                        sc.weightGradient(widenedInput: xs.pointer, gradientStack: dt.pointer,
                                          transposedGradient: dw.baseAddress!)
                        guard computesInputGradient else { continue }
                        gc.forwardAllTaps(shifted: dt.pointer, packedWeights: flipped.baseAddress!, tapOutputs: z.pointer)
                        gc.sumTapsStacked(z.pointer, images: count, imageHeight: g.h, bias: nil,
                                          into: dx.baseAddress! + s * inImage)
                    }
                  }
                }
              }
            }
          }
        }
        sameConvolution(g).unpackTransposedGradient(transposedGradient, into: buffers.gradients + weightOffset)
        savedInput = nil
        return inputGradient
    }

    /// Images whose columns share one weight-gradient GEMM: dW = dY·colsᵀ per image is a skinny
    /// 16×144×784 product that runs far below the reference; a few images side by side give it a
    /// longer inner dimension while the column block (≈ 2 MB) still stays in cache.
    public static var imagesPerGradientBlock: Int = 4

    private func chunkSize(_ g: Geometry) -> Int {
        guard !isPointwise else { return 1 }
        let rows = inputChannels * kernelSize * kernelSize
        let target = max(1, (512 * 1024) / max(rows * g.plane, 1))   // ≈ 2 MB of columns
        return max(1, min(g.n, Conv2d.imagesPerGradientBlock, target))
    }

    public func backward(_ outputGradient: Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let input = savedInput else { throw ResNetCoreError.backwardWithoutForward("Conv2d") }
        let g = try geometry(input)
        guard outputGradient.shape == [g.n, outputChannels, g.ho, g.wo] else {
            throw ResNetCoreError.shapeMismatch("Conv2d gradient \(outputGradient.shape)")
        }
        let rows = inputChannels * kernelSize * kernelSize
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        if usesShiftedLowering(g) { return try backwardSame(input, outputGradient, g, buffers: buffers) }
        let chunk = chunkSize(g)
        var inputGradient = Tensor(uninitializedShape: computesInputGradient ? input.shape : [0])
        let blockColumns = isPointwise ? 0 : rows * g.plane * chunk
        var columns = [Float](unsafeUninitializedCapacity: blockColumns) { $1 = $0.count }
        var columnGradient = [Float](unsafeUninitializedCapacity: computesInputGradient ? blockColumns : 0) { $1 = $0.count }
        var gathered = [Float](unsafeUninitializedCapacity: isPointwise ? 0 : outImage * chunk) { $1 = $0.count }
        var scratch = [Float](repeating: 0, count: isPointwise ? 0 : inputChannels * g.hp * g.wp)
        var gradientScratch = [Float](repeating: 0, count: isPointwise ? 0 : inputChannels * g.hp * g.wp)
        let weights = buffers.parameters + weightOffset
        let dWeights = buffers.gradients + weightOffset
        input.data.withUnsafeBufferPointer { x in
          outputGradient.data.withUnsafeBufferPointer { dy in
            inputGradient.data.withUnsafeMutableBufferPointer { dx in
              columns.withUnsafeMutableBufferPointer { col in
                columnGradient.withUnsafeMutableBufferPointer { dcol in
                  gathered.withUnsafeMutableBufferPointer { dyBlock in
                    scratch.withUnsafeMutableBufferPointer { pad in
                      gradientScratch.withUnsafeMutableBufferPointer { dpad in
                        let x = x.baseAddress!, dy = dy.baseAddress!
                        if let biasOffset {
                            let db = buffers.gradients + biasOffset
                            for s in 0..<g.n {
                                for oc in 0..<outputChannels {
                                    db[oc] += Kernels.sum(dy + s * outImage + oc * g.plane, g.plane)
                                }
                            }
                        }
                        if isPointwise {
                            for s in 0..<g.n {
                                let image = x + s * inImage, dOut = dy + s * outImage
                                Kernels.sgemm(transposeA: false, transposeB: true, m: outputChannels, n: rows,
                                              k: g.plane, alpha: 1, a: dOut, b: image, beta: 1, c: dWeights)
                                guard computesInputGradient else { continue }
                                Kernels.sgemm(transposeA: true, transposeB: false, m: rows, n: g.plane,
                                              k: outputChannels, alpha: 1, a: weights, b: dOut, beta: 0,
                                              c: dx.baseAddress! + s * inImage)
                            }
                            return
                        }
                        var first = 0
                        while first < g.n {
                            let count = min(chunk, g.n - first), width = count * g.plane
                            // Columns and dY of `count` images side by side: [rows, width], [out, width].
                            for j in 0..<count {
                                let s = first + j
                                Kernels.padImage(x + s * inImage, channels: inputChannels, height: g.h, width: g.w,
                                                 padding: padding, into: pad.baseAddress!)
                                Kernels.im2col(padded: pad.baseAddress!, channels: inputChannels, paddedHeight: g.hp,
                                               paddedWidth: g.wp, kernel: kernelSize, stride: stride,
                                               outHeight: g.ho, outWidth: g.wo, columns: col.baseAddress! + j * g.plane,
                                               rowStride: width)
                                for oc in 0..<outputChannels {
                                    let src = dy + s * outImage + oc * g.plane
                                    let dst = dyBlock.baseAddress! + oc * width + j * g.plane
                                    for i in 0..<g.plane { dst[i] = src[i] }
                                }
                            }
                            // dW[out, rows] += dY[out, width] · colsᵀ
                            Kernels.sgemm(transposeA: false, transposeB: true, m: outputChannels, n: rows, k: width,
                                          alpha: 1, a: dyBlock.baseAddress!, b: col.baseAddress!, beta: 1, c: dWeights)
                            if computesInputGradient {
                                // dcols[rows, width] = Wᵀ · dY, then scatter-add back to each image.
                                Kernels.sgemm(transposeA: true, transposeB: false, m: rows, n: width,
                                              k: outputChannels, alpha: 1, a: weights, b: dyBlock.baseAddress!, beta: 0,
                                              c: dcol.baseAddress!)
                                let dp = dpad.baseAddress!
                                for j in 0..<count {
                                    for i in 0..<dpad.count { dp[i] = 0 }
                                    Kernels.col2im(columns: dcol.baseAddress! + j * g.plane, channels: inputChannels,
                                                   paddedHeight: g.hp, paddedWidth: g.wp, kernel: kernelSize,
                                                   stride: stride, outHeight: g.ho, outWidth: g.wo, padded: dp,
                                                   rowStride: width)
                                    Kernels.unpad(dp, channels: inputChannels, height: g.h, width: g.w,
                                                  padding: padding, into: dx.baseAddress! + (first + j) * inImage)
                                }
                            }
                            first += count
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
        savedInput = nil
        return inputGradient
    }
}
