/// A stride-1 "same" k×k convolution of one image by k GEMMs over shifted copies, without im2col.
///
/// In the zero-bordered image (C×Hp×Wp, row pitch Wp = W + p) every tap (c, ky, kx) reads a contiguous run of Ho·Wp
/// floats starting at c·Hp·Wp + ky·Wp + kx, if the output is computed on the padded width (its
/// last Wp − Wo columns per row are discarded). Stacking k copies shifted by kx = 0…k−1 makes the
/// rows (kx, c) equally spaced (Hp·Wp apart), so for each ky the taps form one GEMM operand with
/// a leading dimension: Y' += W_ky[out × k·C] · T_ky[k·C × Ho·Wp]. The copies write k·C·Hp·Wp
/// floats where im2col writes k²·C·Ho·Wo, and the weight gradient uses the same operands.
struct SameConvolution {
    let channels: Int, outputs: Int, height: Int, width: Int, kernel: Int

    var padding: Int { (kernel - 1) / 2 }
    var paddedHeight: Int { height + 2 * padding }
    /// Row pitch of the zero-bordered planes: W + p, not W + 2p. The p zeros that start each row
    /// are both its left border and the previous row's right border (a tap past the right edge
    /// reads the next row's leading zeros; past the last row, the bottom border), so the GEMMs
    /// compute p discarded columns per row instead of 2p.
    var paddedWidth: Int { width + padding }
    var paddedPlane: Int { paddedHeight * paddedWidth }
    /// Output columns per channel on the padded width.
    var wideCount: Int { height * paddedWidth }
    var tapRows: Int { kernel * channels }
    /// Floats of the shifted stack T.
    var shiftedCount: Int { kernel * channels * paddedPlane }

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
    func unpackGradient(_ packed: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>) {
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

/// Several images in one set of GEMMs: `images` images of height h stacked vertically in every
/// channel plane, separated by p = (k − 1)/2 shared zero rows (the bottom border of one image is
/// the top border of the next). That stack is itself a zero-bordered image of height
/// images·(h + p) − p, so the plain shifted-copy convolution applies; output rows in the gaps are
/// discarded, ≈ 3.6 % more than per image at 28×28. (Measured alone, stacking did not speed up
/// 16-channel layers; it pays with the one-GEMM forms below, which it makes longer.)
extension SameConvolution {
    static func stacked(channels: Int, outputs: Int, imageHeight h: Int, width: Int, kernel: Int,
                        images: Int) -> SameConvolution {
        let p = (kernel - 1) / 2
        return SameConvolution(channels: channels, outputs: outputs, height: images * (h + p) - p, width: width,
                               kernel: kernel)
    }
}

/// The forward as one GEMM: Z[ky][out][i] = (W_ky · T)[out][i] for all ky at once (a
/// (k·out × k·C)·(k·C × Hp·Wp) product, T packed once), then wide[out][j] = Σ_ky Z[ky][out][j + ky·Wp]
/// summed while narrowing.
extension SameConvolution {
    /// Floats of Z.
    var tapOutputCount: Int { kernel * outputs * paddedPlane }
    /// Floats of Xs (`widenShiftedInput`).
    var widenedInputCount: Int { kernel * channels * paddedPlane }

    func forwardAllTaps(shifted t: UnsafePointer<Float>, packedWeights w: UnsafePointer<Float>,
                        tapOutputs z: UnsafeMutablePointer<Float>) {
        Kernels.sgemm(transposeA: false, transposeB: false, m: kernel * outputs, n: paddedPlane, k: tapRows,
                      alpha: 1, a: w, lda: tapRows, b: t, ldb: paddedPlane,
                      beta: 0, c: z, ldc: paddedPlane)
    }
}

/// The stacked operands written straight from the unpadded batch, one read of each input row.
///
/// T[kx] is the zero-bordered stack moved kx floats to the left, so image j's row y of channel c
/// lands in T[kx][c] at (p + j·(h + p) + y)·Wp + p − kx, and the k copies of one row are
/// C·Hp·Wp − 1 floats apart. Every other position of T (borders, gap rows, the wrapped tail) is
/// the same for every block and never written: the buffer must start zeroed. This replaces
/// `padStacked` followed by `shift` (a padded copy, then k copies of all of it, zeros included).
extension SameConvolution {
    func shiftStacked(_ batch: UnsafePointer<Float>, images: Int, imageHeight h: Int,
                      into t: UnsafeMutablePointer<Float>) {
        let p = padding, wp = paddedWidth, w = width, stride = channels * paddedPlane - 1
        for c in 0..<channels {
            for j in 0..<images {
                let image = batch + (j * channels + c) * h * w
                let top = t + c * paddedPlane + (p + j * (h + p)) * wp + p
                for y in 0..<h {
                    ShiftedCopies.fanOut(image + y * w, w, into: top + y * wp, copies: kernel, stride: stride)
                }
            }
        }
    }

    /// dY's shifted stack dT for the transposed convolution (channels: this one's outputs; see
    /// `shiftStacked`), in one pass over dY that also adds Σ dY[out] to `biasGradient[out]`.
    /// The buffer must start zeroed.
    func shiftStackedGradient(_ batch: UnsafePointer<Float>, images: Int, imageHeight h: Int,
                              into dt: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) {
        let p = padding, wp = paddedWidth, w = width, stride = outputs * paddedPlane - 1
        for co in 0..<outputs {
            var total: Float = 0
            for j in 0..<images {
                let image = batch + (j * outputs + co) * h * w
                let top = dt + co * paddedPlane + (p + j * (h + p)) * wp + p
                for y in 0..<h {
                    ShiftedCopies.fanOut(image + y * w, w, into: top + y * wp, copies: kernel, stride: stride)
                }
                if biasGradient != nil { total += Kernels.sum(image, h * w) }
            }
            biasGradient?[co] += total
        }
    }

    /// Xs[ky'] = `images` stacked input images on the padded width (zero in the discarded columns
    /// and gap rows), moved ky'·Wp to the right: image j's row y of channel c at
    /// Xs + (ky'·C + c)·Hp·Wp + (j·(h + p) + y + ky')·Wp. Unwritten positions must be zero.
    func widenShiftedInput(_ batch: UnsafePointer<Float>, images: Int, imageHeight h: Int,
                           into xs: UnsafeMutablePointer<Float>) {
        let p = padding, wp = paddedWidth, w = width, stride = channels * paddedPlane + wp
        for c in 0..<channels {
            for j in 0..<images {
                let image = batch + (j * channels + c) * h * w
                let top = xs + c * paddedPlane + j * (h + p) * wp
                for y in 0..<h {
                    ShiftedCopies.fanOut(image + y * w, w, into: top + y * wp, copies: kernel, stride: stride)
                }
            }
        }
    }

    /// images[j][out, h, W] = Σ_ky Z[ky][out] at image j's rows moved ky·Wp (+ bias), in one
    /// pass per output row (`narrowAllTapsStacked` made k passes).
    func sumTapsStacked(_ z: UnsafePointer<Float>, images: Int, imageHeight h: Int,
                        bias: UnsafePointer<Float>?, into batch: UnsafeMutablePointer<Float>) {
        let p = padding, wp = paddedWidth, w = width, tapStride = outputs * paddedPlane + wp
        for j in 0..<images {
            for co in 0..<outputs {
                let b = bias?[co] ?? 0
                let srcTop = z + co * paddedPlane + j * (h + p) * wp
                let dstTop = batch + (j * outputs + co) * h * w
                for y in 0..<h {
                    ShiftedCopies.sumTaps(srcTop + y * wp, taps: kernel, stride: tapStride, count: w, plus: b,
                                          into: dstTop + y * w)
                }
            }
        }
    }
}

/// Row kernels of the shifted-copy convolution (rows are short: 28 floats at 28×28).
enum ShiftedCopies {
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always)
    static func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }
    @inline(__always)
    static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// dst[i·stride + x] = src[x] for i < copies, x < n. (Row copies through memcpy, which uses
    /// the widest vectors the CPU has: faster here than this module's 4-lane baseline vectors.)
    @inline(__always)
    static func fanOut(_ src: UnsafePointer<Float>, _ n: Int, into dst: UnsafeMutablePointer<Float>,
                       copies: Int, stride: Int) {
        for i in 0..<copies { (dst + i * stride).update(from: src, count: n) }
    }

    /// One vector of `sumTaps`: dst[0..<V.scalarCount] = b + Σ_i src[i·stride + …].
    @inline(__always)
    static func sumTaps<V: SIMD>(_: V.Type, _ src: UnsafePointer<Float>, taps: Int, stride: Int, plus b: Float,
                                 into dst: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        var s = src
        var v = V(repeating: b) + UnsafeRawPointer(s).loadUnaligned(as: V.self)
        for _ in 1..<taps { s += stride; v += UnsafeRawPointer(s).loadUnaligned(as: V.self) }
        store(v, dst)
    }

    /// dst[x] = b + Σ_{i < taps} src[i·stride + x] for x < n.
    @inline(__always)
    static func sumTaps(_ src: UnsafePointer<Float>, taps: Int, stride: Int, count n: Int, plus b: Float,
                        into dst: UnsafeMutablePointer<Float>) {
        var x = 0
        while x + 8 <= n {
            sumTaps(SIMD8<Float>.self, src + x, taps: taps, stride: stride, plus: b, into: dst + x)
            x += 8
        }
        if x + 4 <= n {
            sumTaps(SIMD4<Float>.self, src + x, taps: taps, stride: stride, plus: b, into: dst + x)
            x += 4
        }
        while x < n {
            var v = b + src[x]
            var s = src + x
            for _ in 1..<taps { s += stride; v += s.pointee }
            dst[x] = v
            x += 1
        }
    }
}

/// The weight gradient as one GEMM of the operands the backward already has: dY's shifted stack
/// dT (needed for the input gradient) and k row-shifted copies Xs of the input on the padded width.
///
/// With x at wide index i (row pitch Wp), the tap (ky, kx) pairs x[c](i) with dY[out] at padded
/// index i + (2p − ky)·Wp + (2p − kx), which is dT[2p − kx][out](i + (2p − ky)·Wp). Moving the row
/// offset onto x — Xs[ky'][c](m) = x_wide[c](m − ky'·Wp) — gives
///   G[(ky', c)][(kx', out)] = Σ_m Xs[ky'][c](m) · dT[kx'][out](m),  ky' = 2p − ky, kx' = 2p − kx,
/// a (k·C × Hp·Wp)·(Hp·Wp × k·out) product. Xs is zero wherever x has no pixel, so the padding,
/// gap and discarded positions add nothing. This replaces a row-shifted copy of dY (a third
/// k-fold copy per block) by one of x, which the shifted stack T of the forward no longer needs.
extension SameConvolution {
    /// Floats of G.
    var transposedGradientCount: Int { tapRows * kernel * outputs }

    /// G += Xs · dTᵀ (see above).
    func weightGradient(widenedInput xs: UnsafePointer<Float>, gradientStack dt: UnsafePointer<Float>,
                        transposedGradient g: UnsafeMutablePointer<Float>) {
        Kernels.sgemm(transposeA: false, transposeB: true, m: tapRows, n: kernel * outputs, k: paddedPlane,
                      alpha: 1, a: xs, lda: paddedPlane, b: dt, ldb: paddedPlane,
                      beta: 1, c: g, ldc: kernel * outputs)
    }

    /// dW[out, C, k, k] += G[(k − 1 − ky)·C + c][(k − 1 − kx)·out + o].
    func unpackTransposedGradient(_ g: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>) {
        let k = kernel, cols = k * outputs
        for co in 0..<outputs {
            for c in 0..<channels {
                for ky in 0..<k {
                    for kx in 0..<k {
                        dw[((co * channels + c) * k + ky) * k + kx] += g[((k - 1 - ky) * channels + c) * cols
                                                                         + (k - 1 - kx) * outputs + co]
                    }
                }
            }
        }
    }
}
