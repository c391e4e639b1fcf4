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

    /// The same with explicit leading dimensions (operands inside larger buffers).
    @inlinable
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// OpenBLAS's thread count (a process setting, from `OPENBLAS_NUM_THREADS` at start-up).
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count for the following calls: for the benchmarks, which compare
    /// one thread and all cores; training leaves it to the environment.
    public static func useThreads(_ count: Int) { openblas_set_num_threads(Int32(max(count, 1))) }

    // Reductions in eight lanes: Swift does not reassociate Float sums, so a plain `s += p[i]`
    // loop stays scalar and serial. Lane order changes the rounding only.

    @usableFromInline @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @usableFromInline @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Σ p[i].
    @inlinable @inline(__always)
    public static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0), i = 0
        while i + 8 <= count { acc += load8(p + i); i += 8 }
        var s = acc.sum()
        while i < count { s += p[i]; i += 1 }
        return s
    }

    /// (Σ a[i], Σ a[i]·b[i]).
    @inlinable @inline(__always)
    public static func sumAndDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> (Float, Float) {
        var a1 = SIMD8<Float>(repeating: 0), a2 = SIMD8<Float>(repeating: 0), i = 0
        while i + 8 <= count { let v = load8(a + i); a1 += v; a2 += v * load8(b + i); i += 8 }
        var s1 = a1.sum(), s2 = a2.sum()
        while i < count { s1 += a[i]; s2 += a[i] * b[i]; i += 1 }
        return (s1, s2)
    }

    /// sums[j] += Σ_r x[r·columns + j] over `rows` rows, each column summed row after row in
    /// order (as `sums[j] += x[…]` row by row), in registers (the row-by-row loop through memory
    /// waits on a store per row): 32 columns at a time (four independent chains), then eight.
    @inlinable
    public static func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        var j = 0
        while j + 32 <= columns {
            var a0 = load8(sums + j), a1 = load8(sums + j + 8), a2 = load8(sums + j + 16), a3 = load8(sums + j + 24)
            for r in 0..<rows {
                let row = x + r * columns + j
                a0 += load8(row); a1 += load8(row + 8); a2 += load8(row + 16); a3 += load8(row + 24)
            }
            store8(a0, sums + j); store8(a1, sums + j + 8); store8(a2, sums + j + 16); store8(a3, sums + j + 24)
            j += 32
        }
        while j + 8 <= columns {
            var acc = load8(sums + j)
            for r in 0..<rows { acc += load8(x + r * columns + j) }
            store8(acc, sums + j)
            j += 8
        }
        while j < columns {
            var s = sums[j]
            for r in 0..<rows { s += x[r * columns + j] }
            sums[j] = s
            j += 1
        }
    }

    /// Copies a C×H×W image into a zero-bordered C×(H+2p)×(W+2p) buffer (border written once
    /// by the caller, interior here), so that the lowering loops below need no bounds tests.
    @inlinable
    public static func padImage(_ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                padding: Int, into padded: UnsafeMutablePointer<Float>) {
        let wp = width + 2 * padding, hp = height + 2 * padding
        for c in 0..<channels {
            for y in 0..<height {
                let src = image + (c * height + y) * width
                let dst = padded + (c * hp + y + padding) * wp + padding
                for x in 0..<width { dst[x] = src[x] }
            }
        }
    }

    /// im2col from a padded image (C×Hp×Wp): `columns` becomes (C·k·k)×(Ho·Wo),
    /// row r = (c·k + ky)·k + kx, column = oy·Wo + ox. Branch-free fixed-length copies.
    public static func im2col(
        padded: UnsafePointer<Float>, channels: Int, paddedHeight hp: Int, paddedWidth wp: Int,
        kernel: Int, stride: Int, outHeight: Int, outWidth: Int,
        columns: UnsafeMutablePointer<Float>
    ) {
        let plane = outHeight * outWidth
        for c in 0..<channels {
            let src = padded + c * hp * wp
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = columns + ((c * kernel + ky) * kernel + kx) * plane
                    for oy in 0..<outHeight {
                        let s = src + (oy * stride + ky) * wp + kx
                        let d = row + oy * outWidth
                        if stride == 1 {
                            for ox in 0..<outWidth { d[ox] = s[ox] }
                        } else {
                            for ox in 0..<outWidth { d[ox] = s[ox * stride] }
                        }
                    }
                }
            }
        }
    }

    /// col2im into a padded image: accumulates (C·k·k)×(Ho·Wo) `columns` into C×Hp×Wp
    /// (the caller zeroes it and copies the interior out with `unpad`).
    public static func col2im(
        columns: UnsafePointer<Float>, channels: Int, paddedHeight hp: Int, paddedWidth wp: Int,
        kernel: Int, stride: Int, outHeight: Int, outWidth: Int,
        padded: UnsafeMutablePointer<Float>
    ) {
        let plane = outHeight * outWidth
        for c in 0..<channels {
            let dst = padded + c * hp * wp
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = columns + ((c * kernel + ky) * kernel + kx) * plane
                    for oy in 0..<outHeight {
                        let d = dst + (oy * stride + ky) * wp + kx
                        let s = row + oy * outWidth
                        if stride == 1 {
                            for ox in 0..<outWidth { d[ox] += s[ox] }
                        } else {
                            for ox in 0..<outWidth { d[ox * stride] += s[ox] }
                        }
                    }
                }
            }
        }
    }

    /// Copies the interior of a padded C×Hp×Wp image into C×H×W.
    @inlinable
    public static func unpad(_ padded: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                             padding: Int, into image: UnsafeMutablePointer<Float>) {
        let wp = width + 2 * padding, hp = height + 2 * padding
        for c in 0..<channels {
            for y in 0..<height {
                let src = padded + (c * hp + y + padding) * wp + padding
                let dst = image + (c * height + y) * width
                for x in 0..<width { dst[x] = src[x] }
            }
        }
    }
}
