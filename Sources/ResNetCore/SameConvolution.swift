/// A stride-1 "same" k×k convolution of one image by k GEMMs over shifted copies, without im2col.
///
/// In the zero-bordered image (C×Hp×Wp) every tap (c, ky, kx) reads a contiguous run of Ho·Wp
/// floats starting at c·Hp·Wp + ky·Wp + kx, if the output is computed on the padded width (its
/// last Wp − Wo columns per row are discarded). Stacking k copies shifted by kx = 0…k−1 makes the
/// rows (kx, c) equally spaced (Hp·Wp apart), so for each ky the taps form one GEMM operand with
/// a leading dimension: Y' += W_ky[out × k·C] · T_ky[k·C × Ho·Wp]. The copies write k·C·Hp·Wp
/// floats where im2col writes k²·C·Ho·Wo, and the weight gradient uses the same operands.
struct SameConvolution {
    let channels: Int, outputs: Int, height: Int, width: Int, kernel: Int

    var padding: Int { (kernel - 1) / 2 }
    var paddedHeight: Int { height + 2 * padding }
    var paddedWidth: Int { width + 2 * padding }
    var paddedPlane: Int { paddedHeight * paddedWidth }
    /// Output columns per channel on the padded width.
    var wideCount: Int { height * paddedWidth }
    var tapRows: Int { kernel * channels }
    /// Floats of the shifted stack T.
    var shiftedCount: Int { kernel * channels * paddedPlane }

    /// T[kx][c][i] = padded[c][i + kx] (zero past the end).
    func shift(_ padded: UnsafePointer<Float>, into t: UnsafeMutablePointer<Float>) {
        let total = channels * paddedPlane
        for kx in 0..<kernel {
            let dst = t + kx * total, src = padded + kx, n = total - kx
            for i in 0..<n { dst[i] = src[i] }
            for i in n..<total { dst[i] = 0 }
        }
    }

    /// W[out, C, k, k] → packed[ky][out][kx·C + c].
    func packWeights(_ w: UnsafePointer<Float>) -> [Float] {
        let k = kernel
        var packed = [Float](repeating: 0, count: k * outputs * tapRows)
        for co in 0..<outputs {
            for c in 0..<channels {
                for ky in 0..<k {
                    for kx in 0..<k {
                        packed[(ky * outputs + co) * tapRows + kx * channels + c] = w[((co * channels + c) * k + ky) * k + kx]
                    }
                }
            }
        }
        return packed
    }

    /// wide[out × Ho·Wp] = Σ_ky W_ky · T_ky.
    func forward(shifted t: UnsafePointer<Float>, packedWeights w: UnsafePointer<Float>,
                 wide: UnsafeMutablePointer<Float>) {
        for ky in 0..<kernel {
            Kernels.sgemm(transposeA: false, transposeB: false, m: outputs, n: wideCount, k: tapRows,
                          alpha: 1, a: w + ky * outputs * tapRows, lda: tapRows,
                          b: t + ky * paddedWidth, ldb: paddedPlane,
                          beta: ky == 0 ? 0 : 1, c: wide, ldc: wideCount)
        }
    }

    /// packedGradient[ky] += wideGradient[out × Ho·Wp] · T_kyᵀ (wideGradient zero in the
    /// discarded columns).
    func weightGradient(shifted t: UnsafePointer<Float>, wideGradient dy: UnsafePointer<Float>,
                        packedGradient dw: UnsafeMutablePointer<Float>) {
        for ky in 0..<kernel {
            Kernels.sgemm(transposeA: false, transposeB: true, m: outputs, n: tapRows, k: wideCount,
                          alpha: 1, a: dy, lda: wideCount, b: t + ky * paddedWidth, ldb: paddedPlane,
                          beta: 1, c: dw + ky * outputs * tapRows, ldc: tapRows)
        }
    }

    /// dW[out, C, k, k] += packed[ky][out][kx·C + c].
    func unpackGradient(_ packed: [Float], into dw: UnsafeMutablePointer<Float>) {
        let k = kernel
        for co in 0..<outputs {
            for c in 0..<channels {
                for ky in 0..<k {
                    for kx in 0..<k {
                        dw[((co * channels + c) * k + ky) * k + kx] += packed[(ky * outputs + co) * tapRows + kx * channels + c]
                    }
                }
            }
        }
    }

    /// image[out, H, W] = wide[out, H, Wp] without the discarded columns (+ bias per channel).
    func narrow(_ wide: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into image: UnsafeMutablePointer<Float>) {
        let wp = paddedWidth
        for co in 0..<outputs {
            let b = bias?[co] ?? 0
            for y in 0..<height {
                let src = wide + (co * height + y) * wp, dst = image + (co * height + y) * width
                for x in 0..<width { dst[x] = src[x] + b }
            }
        }
    }

    /// wide[out, H, Wp] = image[out, H, W] in the kept columns (the others stay as they are: zero).
    func widen(_ image: UnsafePointer<Float>, into wide: UnsafeMutablePointer<Float>) {
        let wp = paddedWidth
        for co in 0..<outputs {
            for y in 0..<height {
                let src = image + (co * height + y) * width, dst = wide + (co * height + y) * wp
                for x in 0..<width { dst[x] = src[x] }
            }
        }
    }
}
