/// Errors from reading, validating, writing and checksumming safetensors files. Every message
/// names the problem, and the tensor or metadata key involved where there is one; errors raised
/// while reading or writing a file are wrapped in `.inFile(path:_:)`, which prefixes the path.
public indirect enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is too short to hold what it claims (or even the 8-byte header length).
    case truncated(String)
    /// The header length field exceeds `SafeTensorsFile.maxHeaderSize`.
    case headerTooLarge(length: UInt64, limit: Int)
    /// The header length field points past the end of the file.
    case headerPastEnd(length: UInt64, available: Int)
    /// The header bytes are not valid UTF-8.
    case invalidUTF8
    /// The header is not valid JSON (the reason is the JSON reader's, or names a repeated key).
    case malformedJSON(String)
    /// The JSON is valid but does not follow the safetensors schema.
    case invalidHeader(String)
    /// The entry of one tensor is wrong (missing or mistyped field, bad shape, size mismatch, ...).
    case invalidTensor(name: String, reason: String)
    /// A tensor's dtype is not one of `SafeTensorDType`.
    case unknownDType(tensor: String, dtype: String)
    /// The tensors' data offsets leave a gap, overlap, or do not cover the data region.
    case invalidLayout(String)
    /// A typed accessor was used on a tensor of another dtype.
    case wrongDType(tensor: String, expected: SafeTensorDType, actual: SafeTensorDType)
    /// `verifyChecksum(key:)`: the metadata has no such key.
    case checksumMissing(key: String)
    /// `verifyChecksum(key:)`: the stored and recomputed checksums differ.
    case checksumMismatch(key: String, stored: String, computed: String)
    /// A system call failed while reading or writing.
    case io(operation: String, errno: Int32, message: String)
    /// Any of the above, raised while handling the file at `path`.
    case inFile(path: String, SafeTensorsError)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated safetensors file: \(what)"
        case let .headerTooLarge(length, limit):
            return "header length \(length) bytes exceeds the limit of \(limit) bytes (not a safetensors file, or corrupted)"
        case let .headerPastEnd(length, available):
            return "header length \(length) bytes is larger than the \(available) bytes after the length field (truncated or corrupted file)"
        case .invalidUTF8: return "the header is not valid UTF-8"
        case .malformedJSON(let reason): return "malformed JSON header: \(reason)"
        case .invalidHeader(let reason): return "invalid safetensors header: \(reason)"
        case let .invalidTensor(name, reason): return "tensor \"\(name)\": \(reason)"
        case let .unknownDType(tensor, dtype):
            return "tensor \"\(tensor)\": unknown dtype \"\(dtype)\" (supported: \(SafeTensorDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidLayout(let reason): return "invalid tensor layout: \(reason)"
        case let .wrongDType(tensor, expected, actual):
            return "tensor \"\(tensor)\" has dtype \(actual), expected \(expected)"
        case .checksumMissing(let key): return "metadata has no checksum under key \"\(key)\""
        case let .checksumMismatch(key, stored, computed):
            return "checksum mismatch: metadata \"\(key)\" says \(stored) but the file hashes to \(computed) (corrupted or modified checkpoint)"
        case let .io(operation, errno, message): return "\(operation) failed: \(message) (errno \(errno))"
        case let .inFile(path, error): return "\(path): \(error.description)"
        }
    }

    /// The error without any `.inFile` wrapping.
    public var underlying: SafeTensorsError {
        if case .inFile(_, let inner) = self { return inner.underlying }
        return self
    }
}
