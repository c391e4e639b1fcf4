/// SplitMix64: a tiny, portable, seeded generator (Steele, Lea & Flood 2014).
///
/// Every rank and platform produces the same stream for the same seed, which is what lets
/// all ranks build a bit-identical initial model without a broadcast.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits: exactly representable, identical everywhere.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [-bound, bound).
    public mutating func nextUniform(bound: Float) -> Float {
        (2 * nextUnitFloat() - 1) * bound
    }
}

/// FNV-1a of a string: used to derive a per-slot seed from its name, so that a slot's initial
/// values do not depend on how many other slots precede it.
@inlinable
func fnv1a(_ string: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in string.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}

/// FNV-1a over the bit patterns of a Float buffer: a cheap fingerprint ranks can compare.
public func bitChecksum(_ values: [Float]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for v in values {
        hash ^= UInt64(v.bitPattern)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
