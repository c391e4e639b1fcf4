@_exported import ResNetBase

// Checksums of a safetensors file's content, stored in and checked against its metadata.

extension SafeTensorsFile {
    /// Default metadata key for `storeChecksum(key:)` / `verifyChecksum(key:)`.
    public static let checksumKey = "checksum_fnv1a64"

    /// FNV-1a 64-bit hash of the tensors, as 16 lowercase hex digits.
    ///
    /// Independent of tensor order and of the header's layout: tensors are hashed in order of
    /// their names, each as its name's UTF-8 bytes, a 0 byte, the dtype name, a 0 byte, each
    /// dimension as 8 little-endian bytes, a 0xFF byte, then its data bytes. So renaming a tensor,
    /// changing its dtype or shape, or flipping a data bit all change the checksum; metadata does
    /// not enter it.
    public func checksum() -> String { Self.checksum(of: tensors) }

    /// `checksum()` of a file holding `tensors`.
    public static func checksum<T: SafeTensorContent>(of tensors: [T]) -> String {
        var hash = FNV1a64()
        for t in tensors.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
            hash.update(t.name.utf8)
            hash.update(CollectionOfOne(0))
            hash.update(t.dtype.rawValue.utf8)
            hash.update(CollectionOfOne(0))
            for d in t.shape { withUnsafeBytes(of: UInt64(truncatingIfNeeded: d).littleEndian) { hash.update($0) } }
            hash.update(CollectionOfOne(0xFF))
            t.withBytes { hash.update($0) }
        }
        return hash.hex
    }

    /// FNV-1a 64-bit hash of the tensors (as `checksum()`) followed by every metadata entry but
    /// `excluding`, in order of their keys, each as the key's UTF-8 bytes, a 0 byte, the value's
    /// UTF-8 bytes, a 0xFF byte. Editing any metadata value (an epoch, a level) changes it.
    public func checksumWithMetadata(excluding key: String = SafeTensorsFile.checksumKey) -> String {
        Self.checksum(of: tensors, metadata: metadata, excluding: key)
    }

    /// `checksumWithMetadata(excluding:)` of a file holding `tensors` and `metadata`.
    public static func checksum<T: SafeTensorContent>(of tensors: [T], metadata: [String: String],
                                                      excluding key: String = checksumKey) -> String {
        var hash = FNV1a64()
        hash.update(checksum(of: tensors).utf8)
        for k in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where k != key {
            hash.update(k.utf8)
            hash.update(CollectionOfOne(0))
            hash.update(metadata[k]!.utf8)
            hash.update(CollectionOfOne(0xFF))
        }
        return hash.hex
    }

    /// Stores `checksum()` (or `checksumWithMetadata`) in `metadata[key]`.
    public mutating func storeChecksum(key: String = SafeTensorsFile.checksumKey, includingMetadata: Bool = false) {
        metadata[key] = includingMetadata ? checksumWithMetadata(excluding: key) : checksum()
    }

    /// Throws `.checksumMissing` if `metadata[key]` is absent, `.checksumMismatch` if it differs
    /// from `checksum()` (or `checksumWithMetadata`).
    public func verifyChecksum(key: String = SafeTensorsFile.checksumKey, includingMetadata: Bool = false) throws(SafeTensorsError) {
        guard let stored = metadata[key] else { throw .checksumMissing(key: key) }
        let computed = includingMetadata ? checksumWithMetadata(excluding: key) : checksum()
        guard stored.lowercased() == computed else {
            throw .checksumMismatch(key: key, stored: stored, computed: computed)
        }
    }
}
