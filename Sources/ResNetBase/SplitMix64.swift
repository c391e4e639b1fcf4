import Foundation

/// SplitMix64: a small, fast generator whose output depends only on its seed, so every rank and
/// every platform draws the same numbers (Swift's `SystemRandomNumberGenerator` cannot be seeded).
///
/// ```swift
/// var rng = SplitMix64(seed: 42)
/// let u = rng.nextUnitDouble()          // in [0, 1)
/// let k = rng.next(below: 10)           // in 0..<10, unbiased
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one element of a family of streams, e.g. (seed, epoch, sample):
    /// the parts are mixed so that neighbouring keys give unrelated streams.
    public init(seed: UInt64, streams: UInt64...) {
        var s = SplitMix64.mix(seed)
        for part in streams { s = SplitMix64.mix(s ^ SplitMix64.mix(part &+ 0x9E37_79B9_7F4A_7C15)) }
        state = s
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser (a bijection on UInt64 with good avalanche).
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits: exactly representable as a Float, identical everywhere.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [-bound, bound).
    public mutating func nextUniform(bound: Float) -> Float {
        (2 * nextUnitFloat() - 1) * bound
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in 0..<bound without modulo bias (Lemire's multiply-and-reject).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// Standard normal sample by the Box–Muller transform, computed in Double.
    public mutating func nextGaussian() -> Double {
        let u1 = 1.0 - nextUnitDouble()          // in (0, 1], so log is finite
        let u2 = nextUnitDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }
}

/// Fisher–Yates shuffle of 0..<count driven by `rng`: the same generator state gives the same
/// permutation everywhere.
public func deterministicPermutation(count: Int, rng: inout SplitMix64) -> [Int] {
    var permutation = Array(0..<count)
    if count < 2 { return permutation }
    for i in stride(from: count - 1, to: 0, by: -1) {
        let j = Int(rng.next(below: UInt64(i + 1)))
        permutation.swapAt(i, j)
    }
    return permutation
}
