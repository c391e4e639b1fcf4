/// The general convolution: any kernel size, stride and padding, lowered one image at a time with
/// im2col and computed by OpenBLAS GEMMs. `Conv2d` runs it where the direct 3×3 kernels do not
/// apply (other shapes) or are not wanted (`ExecutionOptions.Convolutions.lowered`, the choice on
/// CPUs without AVX2, where the portable C kernels are slower than OpenBLAS).
///
/// Semantics and call shape are `DirectConvolution`'s: NCHW batches, weights [out, in, k, k]
/// (PyTorch cross-correlation), gradients of weights and bias *accumulated* (+=). One image's
/// columns ((in·k²) × (Ho·Wo) floats) are the only large scratch: backward recomputes them instead
/// of keeping them from forward.
struct LoweredConvolution {
    let inputChannels: Int, outputChannels: Int, kernel: Int, stride: Int, padding: Int

    /// The shapes of one call (input plane h × w).
    private struct Plane {
        let h: Int, w: Int, ho: Int, wo: Int, hp: Int, wp: Int
        var outPlane: Int { ho * wo }
    }

    private func plane(height h: Int, width w: Int) -> Plane {
        Plane(h: h, w: w, ho: (h + 2 * padding - kernel) / stride + 1, wo: (w + 2 * padding - kernel) / stride + 1,
              hp: h + 2 * padding, wp: w + 2 * padding)
    }

    /// Rows of an image's column matrix.
    private var rows: Int { inputChannels * kernel * kernel }

    /// One image's columns: padded into `padded` (whose zero border persists across images), then im2col.
    private func lower(_ image: UnsafePointer<Float>, _ p: Plane, padded: UnsafeMutablePointer<Float>,
                       into columns: UnsafeMutablePointer<Float>) {
        Kernels.padImage(image, channels: inputChannels, height: p.h, width: p.w, padding: padding, into: padded)
        Kernels.im2col(padded: padded, channels: inputChannels, paddedHeight: p.hp, paddedWidth: p.wp,
                       kernel: kernel, stride: stride, outHeight: p.ho, outWidth: p.wo, columns: columns)
    }

    /// y[batch, out, Ho, Wo] = W · columns(x) (+ bias[out]) per image.
    func forward(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                 weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let p = plane(height: height, width: width)
        let inImage = inputChannels * height * width, outImage = outputChannels * p.outPlane
        let columns = ScratchBuffer(rows * p.outPlane), padded = ScratchBuffer(inputChannels * p.hp * p.wp)
        for s in 0..<batch {
            let out = y + s * outImage
            lower(x + s * inImage, p, padded: padded.pointer, into: columns.pointer)
            if let bias {
                for oc in 0..<outputChannels { (out + oc * p.outPlane).update(repeating: bias[oc], count: p.outPlane) }
            }
            Kernels.sgemm(transposeA: false, transposeB: false, m: outputChannels, n: p.outPlane, k: rows,
                          alpha: 1, a: weights, b: columns.pointer, beta: bias == nil ? 0 : 1, c: out)
        }
    }

    /// Per image: dW += dY·columnsᵀ, the bias gradient += Σ dY, and (when `dx` is given)
    /// dX = col2im(Wᵀ·dY).
    func backward(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                  batch: Int, height: Int, width: Int, weights: UnsafePointer<Float>,
                  inputGradient dx: UnsafeMutablePointer<Float>?,
                  weightGradient dw: UnsafeMutablePointer<Float>, biasGradient db: UnsafeMutablePointer<Float>?) {
        let p = plane(height: height, width: width)
        let inImage = inputChannels * height * width, outImage = outputChannels * p.outPlane
        let columns = ScratchBuffer(rows * p.outPlane), padded = ScratchBuffer(inputChannels * p.hp * p.wp)
        let columnGradient = ScratchBuffer(dx == nil ? 0 : rows * p.outPlane)
        let paddedGradient = ScratchBuffer(dx == nil ? 0 : inputChannels * p.hp * p.wp)
        for s in 0..<batch {
            let dOut = dy + s * outImage
            if let db {
                for oc in 0..<outputChannels { db[oc] += Kernels.sum(dOut + oc * p.outPlane, p.outPlane) }
            }
            lower(x + s * inImage, p, padded: padded.pointer, into: columns.pointer)
            Kernels.sgemm(transposeA: false, transposeB: true, m: outputChannels, n: rows, k: p.outPlane,
                          alpha: 1, a: dOut, b: columns.pointer, beta: 1, c: dw)
            guard let dx else { continue }
            Kernels.sgemm(transposeA: true, transposeB: false, m: rows, n: p.outPlane, k: outputChannels,
                          alpha: 1, a: weights, b: dOut, beta: 0, c: columnGradient.pointer)
            paddedGradient.pointer.update(repeating: 0, count: paddedGradient.count)
            Kernels.col2im(columns: columnGradient.pointer, channels: inputChannels, paddedHeight: p.hp,
                           paddedWidth: p.wp, kernel: kernel, stride: stride, outHeight: p.ho, outWidth: p.wo,
                           padded: paddedGradient.pointer)
            Kernels.unpad(paddedGradient.pointer, channels: inputChannels, height: height, width: width,
                          padding: padding, into: dx + s * inImage)
        }
    }
}
