/// Storing saved activations in IEEE half precision (binary16) to halve the memory they hold
/// between forward and backward.
///
/// Only *normalised* BatchNorm outputs x̂ are stored this way: per channel they have mean 0 and
/// variance 1 over the batch, so |x̂| ≤ √(count − 1) (count = batch × plane), far inside half's
/// range for any batch this trainer runs (1024 × 784 gives ≤ 896; half's largest finite value is
/// 65504, and larger magnitudes saturate to it). The forward pass keeps using the exact Float
/// values; only backward sees x̂ rounded to 11 significant bits (relative error ≤ 2⁻¹¹ ≈ 4.9e-4).
/// Magnitudes below 2⁻¹⁴ ≈ 6.1e-5 (half's subnormal range) are stored as zero.
///
/// The conversion is branch-free integer arithmetic on the bit patterns, which the compiler
/// vectorises for any x86-64 or ARM64 (hardware half conversions would need a CPU-specific build).
public enum HalfPrecision {
    /// Which precision a layer keeps its saved normalised activations in.
    public enum Storage: String, CaseIterable, Codable, Sendable {
        case half, single
    }

    // Float bit patterns: exponent bias 127; half: bias 15, 10 mantissa bits.
    static let smallestNormal: UInt32 = 0x3880_0000   // 2⁻¹⁴ as Float bits
    static let rebias: UInt32 = 0x3800_0000           // (127 − 15) << 23
    static let largestFinite: UInt32 = 0x7BFF         // 65504 as half bits

    /// Float bits → half bits: round to nearest even, subnormals to zero, saturate at ±65504
    /// (NaN and infinity saturate too: a saved x̂ is always finite).
    @inline(__always)
    static func encode(_ bits: UInt32) -> UInt16 {
        let sign = (bits >> 16) & 0x8000
        let magnitude = bits & 0x7FFF_FFFF
        let rebased = magnitude &- rebias
        let rounded = min((rebased &+ 0x0FFF &+ ((rebased >> 13) & 1)) >> 13, largestFinite)
        return UInt16(truncatingIfNeeded: sign | (magnitude < smallestNormal ? 0 : rounded))
    }

    /// Half bits → Float bits (the inverse of `encode` on everything it produces).
    @inline(__always)
    static func decode(_ half: UInt16) -> UInt32 {
        let h = UInt32(half)
        let magnitude = h & 0x7FFF
        return ((h & 0x8000) << 16) | (magnitude == 0 ? 0 : (magnitude << 13) &+ rebias)
    }

    // Plain loops of branch-free integer operations: the compiler vectorises them.

    /// dst[i] = half(src[i]) for i < count.
    public static func pack(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count: Int) {
        let bits = UnsafeRawPointer(src).assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { dst[i] = encode(bits[i]) }
    }

    /// dst[i] = Float(src[i]) for i < count.
    public static func unpack(_ src: UnsafePointer<UInt16>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        let bits = UnsafeMutableRawPointer(dst).assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { bits[i] = decode(src[i]) }
    }
}
