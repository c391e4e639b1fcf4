/// The 64-bit Fowler–Noll–Vo 1a hash: stable across ranks, runs and platforms, for checksums,
/// agreement checks and seeds derived from names (not for security).
///
/// ```swift
/// var hash = FNV1a64()
/// hash.update("groups.0.blocks.1".utf8)
/// let seed = hash.value
/// ```
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    public init() {}

    /// Folds in each byte.
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* FNV1a64.prime }
        value = h
    }

    /// Folds in each float's bit pattern as one 64-bit word (not byte by byte): a cheap
    /// fingerprint of a buffer that ranks can compare.
    public mutating func update(bitPatternsOf values: UnsafeBufferPointer<Float>) {
        var h = value
        for v in values { h = (h ^ UInt64(v.bitPattern)) &* FNV1a64.prime }
        value = h
    }

    /// The hash of a string's UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a64()
        h.update(text.utf8)
        return h.value
    }

    /// The hash as 16 lowercase hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
