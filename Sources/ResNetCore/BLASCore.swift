import COpenBLAS
import Foundation

/// Which OpenBLAS kernel family ("core") runs the matrix work. OpenBLAS picks it once, when the
/// library loads, from `OPENBLAS_CORETYPE` if set, else from its own CPU detection; the
/// benchmark records it because the sgemm reference and every ratio depend on it (on the
/// development machine the environment pins "Haswell", the AVX2 kernels, while OpenBLAS's own
/// detection picks the AVX-512 "Cooperlake" ones, about twice the sgemm rate).
public enum BLASCore {
    /// The core OpenBLAS is running, e.g. "Haswell", "Zen" or "SkylakeX".
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// `current`, with "(OPENBLAS_CORETYPE)" when the environment chose it.
    public static var described: String {
        ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil ? "\(current) (OPENBLAS_CORETYPE)" : current
    }
}
