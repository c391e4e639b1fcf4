import COpenBLAS

/// Thin wrappers over OpenBLAS and the element-wise loops the layers share.
///
/// All matrices are row-major. Loops are written over unsafe pointers with a single induction
/// variable so that the compiler vectorises them under `-Ounchecked`.
public enum Kernels {
    /// C = alpha · op(A) · op(B) + beta · C, row-major, op = transpose when the flag is set.
    /// A is M×K (K×M if transposed), B is K×N (N×K if transposed), C is M×N.
    @inlinable
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        beta: Float, c: UnsafeMutablePointer<Float>
    ) {
        let lda = transposeA ? m : k
        let ldb = transposeB ? k : n
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(n))
    }

    /// y += alpha · x over `count` elements.
    @inlinable
    public static func axpy(_ count: Int, _ alpha: Float,
                            _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }

    /// im2col for one image: `image` is C×H×W, `columns` becomes (C·k·k)×(Ho·Wo).
    /// Row r = (c·k + ky)·k + kx, column = oy·Wo + ox; out-of-image taps are zero.
    public static func im2col(
        image: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
        kernel: Int, stride: Int, padding: Int, outHeight: Int, outWidth: Int,
        columns: UnsafeMutablePointer<Float>
    ) {
        let plane = outHeight * outWidth
        for c in 0..<channels {
            let src = image + c * height * width
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = columns + ((c * kernel + ky) * kernel + kx) * plane
                    for oy in 0..<outHeight {
                        let iy = oy * stride - padding + ky
                        let dst = row + oy * outWidth
                        if iy < 0 || iy >= height {
                            for ox in 0..<outWidth { dst[ox] = 0 }
                            continue
                        }
                        let srcRow = src + iy * width
                        // Range of ox whose input column ix = ox·stride − padding + kx is inside.
                        let (lo, hi) = validRange(outWidth, stride: stride, offset: kx - padding, limit: width)
                        for ox in 0..<lo { dst[ox] = 0 }
                        if stride == 1 {
                            let base = srcRow + (kx - padding)
                            for ox in lo..<hi { dst[ox] = base[ox] }
                        } else {
                            for ox in lo..<hi { dst[ox] = srcRow[ox * stride - padding + kx] }
                        }
                        for ox in hi..<outWidth { dst[ox] = 0 }
                    }
                }
            }
        }
    }

    /// col2im for one image: accumulates (C·k·k)×(Ho·Wo) `columns` into the C×H×W `image`.
    public static func col2im(
        columns: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
        kernel: Int, stride: Int, padding: Int, outHeight: Int, outWidth: Int,
        image: UnsafeMutablePointer<Float>
    ) {
        let plane = outHeight * outWidth
        for c in 0..<channels {
            let dstImage = image + c * height * width
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = columns + ((c * kernel + ky) * kernel + kx) * plane
                    let (lo, hi) = validRange(outWidth, stride: stride, offset: kx - padding, limit: width)
                    if lo >= hi { continue }
                    for oy in 0..<outHeight {
                        let iy = oy * stride - padding + ky
                        if iy < 0 || iy >= height { continue }
                        let dstRow = dstImage + iy * width
                        let src = row + oy * outWidth
                        if stride == 1 {
                            let base = dstRow + (kx - padding)
                            for ox in lo..<hi { base[ox] += src[ox] }
                        } else {
                            for ox in lo..<hi { dstRow[ox * stride - padding + kx] += src[ox] }
                        }
                    }
                }
            }
        }
    }

    /// The ox range [lo, hi) with 0 ≤ ox·stride + offset < limit, clipped to [0, count).
    @inlinable
    static func validRange(_ count: Int, stride: Int, offset: Int, limit: Int) -> (Int, Int) {
        // ox ≥ ceil(−offset / stride)
        var lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        // ox·stride + offset ≤ limit − 1  ⇒  ox ≤ floor((limit − 1 − offset) / stride)
        let top = limit - 1 - offset
        var hi = top < 0 ? 0 : top / stride + 1
        lo = min(lo, count)
        hi = min(max(hi, lo), count)
        return (lo, hi)
    }
}
