// Reading and writing checkpoints in the safetensors format.
//
// Layout of a file (https://github.com/huggingface/safetensors):
//
//     [8 bytes]  N, little-endian UInt64: length of the header
//     [N bytes]  UTF-8 JSON object, optionally padded with trailing spaces:
//                  {"__metadata__": {"key": "value", ...},        (optional, string -> string)
//                   "tensor.name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//     [rest]     the data region: raw little-endian tensor bytes; offsets are relative to its start,
//                tensors are packed without gaps or overlaps and cover it exactly.
//
// The writer here is deterministic: tensors are written in the order of `SafeTensorsFile.tensors`
// (header entries and data in that same order), `__metadata__` comes first with its keys sorted,
// the JSON has no whitespace and is padded with spaces so that N is a multiple of 8 (as the reference
// Rust writer does, so the data region starts 8-byte aligned). The reader accepts any valid file —
// including ones written by Python's `safetensors` — and returns tensors in data-offset order, which
// for files from this writer is the order they were written in.

import Foundation

/// Element types of the safetensors format, named as in the header.
///
/// Sub-byte types of newer safetensors versions (F4, F6_*) are not supported and are reported as
/// unknown dtypes.
public enum SafeTensorDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case u16 = "U16", i16 = "I16", f16 = "F16", bf16 = "BF16"
    case u32 = "U32", i32 = "I32", f32 = "F32"
    case u64 = "U64", i64 = "I64", f64 = "F64"
    case c64 = "C64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .u16, .i16, .f16, .bf16: return 2
        case .u32, .i32, .f32: return 4
        case .u64, .i64, .f64, .c64: return 8
        }
    }

    public var description: String { rawValue }
}

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
    /// The header is not valid JSON; `offset` counts bytes from the start of the header.
    case malformedJSON(offset: Int, reason: String)
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
        case let .malformedJSON(offset, reason): return "malformed JSON header at header byte \(offset): \(reason)"
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

/// One named tensor: dtype, shape, and its raw little-endian bytes.
///
///     let w = SafeTensor(name: "blocks.0.linear1.weight", shape: [32, 32], floats: weights)
///     let back: [Float] = try w.floats
public struct SafeTensor: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorDType
    /// Dimensions; `[]` is a 0-d scalar (one element), a 0 anywhere makes an empty tensor.
    public var shape: [Int]
    /// Raw data, little-endian, row-major; `count == elementCount * dtype.byteSize`.
    public var bytes: [UInt8]

    /// Creates a tensor from raw bytes, checking that their count matches shape and dtype.
    public init(name: String, dtype: SafeTensorDType, shape: [Int], bytes: [UInt8]) throws {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        try validate()
    }

    /// Creates an F32 tensor. Precondition: `floats.count` equals the product of `shape`.
    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(unchecked: name, .f32, shape, Self.encode(floats) { $0.bitPattern })
    }

    /// Creates an F64 tensor. Precondition: `doubles.count` equals the product of `shape`.
    public init(name: String, shape: [Int], doubles: [Double]) {
        self.init(unchecked: name, .f64, shape, Self.encode(doubles) { $0.bitPattern })
    }

    /// Creates an I64 tensor. Precondition: `int64s.count` equals the product of `shape`.
    public init(name: String, shape: [Int], int64s: [Int64]) {
        self.init(unchecked: name, .i64, shape, Self.encode(int64s) { UInt64(bitPattern: $0) })
    }

    /// Creates an I32 tensor. Precondition: `int32s.count` equals the product of `shape`.
    public init(name: String, shape: [Int], int32s: [Int32]) {
        self.init(unchecked: name, .i32, shape, Self.encode(int32s) { UInt32(bitPattern: $0) })
    }

    /// Creates a U8 tensor. Precondition: `uint8s.count` equals the product of `shape`.
    public init(name: String, shape: [Int], uint8s: [UInt8]) {
        self.init(unchecked: name, .u8, shape, uint8s)
    }

    private init(unchecked name: String, _ dtype: SafeTensorDType, _ shape: [Int], _ bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        do { try validate() } catch { preconditionFailure(error.description) }
    }

    /// Number of elements, or nil if a dimension is negative or the product overflows.
    public var elementCount: Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Checks shape (non-negative, no overflow) and that `bytes.count` matches shape × dtype size.
    public func validate() throws(SafeTensorsError) {
        guard let n = elementCount else {
            throw .invalidTensor(name: name, reason: "shape \(shape) has a negative dimension or its element count overflows")
        }
        let (size, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, size == bytes.count else {
            throw .invalidTensor(name: name, reason: "shape \(shape) of \(dtype) needs \(overflow ? "more than Int.max" : String(size)) bytes, but the tensor has \(bytes.count)")
        }
    }

    /// The values of an F32 tensor; throws `.wrongDType` for other dtypes.
    public var floats: [Float] {
        get throws(SafeTensorsError) { try decode(.f32) { (b: UInt32) in Float(bitPattern: b) } }
    }

    /// The values of an F64 tensor; throws `.wrongDType` for other dtypes.
    public var doubles: [Double] {
        get throws(SafeTensorsError) { try decode(.f64) { (b: UInt64) in Double(bitPattern: b) } }
    }

    /// The values of an I64 tensor; throws `.wrongDType` for other dtypes.
    public var int64s: [Int64] {
        get throws(SafeTensorsError) { try decode(.i64) { (b: UInt64) in Int64(bitPattern: b) } }
    }

    /// The values of an I32 tensor; throws `.wrongDType` for other dtypes.
    public var int32s: [Int32] {
        get throws(SafeTensorsError) { try decode(.i32) { (b: UInt32) in Int32(bitPattern: b) } }
    }

    /// The values of a U8 tensor; throws `.wrongDType` for other dtypes.
    public var uint8s: [UInt8] {
        get throws(SafeTensorsError) {
            guard dtype == .u8 else { throw .wrongDType(tensor: name, expected: .u8, actual: dtype) }
            return bytes
        }
    }

    private static func encode<T, Bits: FixedWidthInteger>(_ values: [T], _ bits: (T) -> Bits) -> [UInt8] {
        let width = MemoryLayout<Bits>.size
        return [UInt8](unsafeUninitializedCapacity: values.count * width) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: bits(v).littleEndian, toByteOffset: i * width, as: Bits.self)
            }
            initialized = values.count * width
        }
    }

    private func decode<T, Bits: FixedWidthInteger>(_ expected: SafeTensorDType, _ make: (Bits) -> T) throws(SafeTensorsError) -> [T] {
        guard dtype == expected else { throw .wrongDType(tensor: name, expected: expected, actual: dtype) }
        let width = MemoryLayout<Bits>.size
        guard bytes.count % width == 0 else {
            throw .invalidTensor(name: name, reason: "\(bytes.count) bytes is not a whole number of \(dtype) elements")
        }
        return bytes.withUnsafeBytes { raw in
            (0..<(raw.count / width)).map { i in
                make(Bits(littleEndian: raw.loadUnaligned(fromByteOffset: i * width, as: Bits.self)))
            }
        }
    }
}

/// A safetensors file in memory: ordered tensors plus string metadata.
///
///     var file = SafeTensorsFile(tensors: [SafeTensor(name: "h", shape: [], floats: [0.5])],
///                                metadata: ["epoch": "12"])
///     file.storeChecksum()
///     try file.write(atomicallyTo: "runs/x/checkpoint.safetensors")
///     let back = try SafeTensorsFile.read(path: "runs/x/checkpoint.safetensors")
///     try back.verifyChecksum()
public struct SafeTensorsFile: Sendable, Equatable {
    /// Headers longer than this are rejected before anything is allocated for them (100 MB, as the
    /// reference implementation).
    public static let maxHeaderSize = 100_000_000

    /// The reserved header key of the metadata object.
    public static let metadataKey = "__metadata__"

    public var tensors: [SafeTensor]
    public var metadata: [String: String]

    public init(tensors: [SafeTensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The first tensor with this name, if any.
    public subscript(name: String) -> SafeTensor? {
        tensors.first { $0.name == name }
    }

    /// Checks what `serialized()` requires: every tensor consistent, names unique and not
    /// `__metadata__`.
    public func validate() throws(SafeTensorsError) {
        var seen = Set<String>()
        for t in tensors {
            try t.validate()
            guard t.name != Self.metadataKey else {
                throw .invalidTensor(name: t.name, reason: "the name \(Self.metadataKey) is reserved for metadata")
            }
            guard seen.insert(t.name).inserted else {
                throw .invalidTensor(name: t.name, reason: "duplicate tensor name")
            }
        }
    }

    /// The file's bytes. Deterministic: tensors in the order of `tensors` (header and data), the
    /// `__metadata__` entry first (omitted when empty) with sorted keys, compact JSON padded with
    /// spaces to a multiple of 8 bytes.
    /// Precondition: `validate()` succeeds (`write(atomicallyTo:)` checks and throws instead).
    public func serialized() -> [UInt8] {
        do { try validate() } catch { preconditionFailure("SafeTensorsFile.serialized(): \(error)") }
        var header: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func separator() {
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            SafeTensorsJSONWriter.appendString(Self.metadataKey, to: &header)
            header.append(contentsOf: Array(":{".utf8))
            for (i, key) in metadata.keys.sorted().enumerated() {
                if i > 0 { header.append(UInt8(ascii: ",")) }
                SafeTensorsJSONWriter.appendString(key, to: &header)
                header.append(UInt8(ascii: ":"))
                SafeTensorsJSONWriter.appendString(metadata[key]!, to: &header)
            }
            header.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for t in tensors {
            separator()
            SafeTensorsJSONWriter.appendString(t.name, to: &header)
            header.append(contentsOf: Array(":{\"dtype\":".utf8))
            SafeTensorsJSONWriter.appendString(t.dtype.rawValue, to: &header)
            header.append(contentsOf: Array(",\"shape\":[".utf8))
            for (i, d) in t.shape.enumerated() {
                if i > 0 { header.append(UInt8(ascii: ",")) }
                SafeTensorsJSONWriter.appendInteger(d, to: &header)
            }
            header.append(contentsOf: Array("],\"data_offsets\":[".utf8))
            SafeTensorsJSONWriter.appendInteger(offset, to: &header)
            header.append(UInt8(ascii: ","))
            offset += t.bytes.count
            SafeTensorsJSONWriter.appendInteger(offset, to: &header)
            header.append(contentsOf: Array("]}".utf8))
        }
        header.append(UInt8(ascii: "}"))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for t in tensors { out.append(contentsOf: t.bytes) }
        return out
    }

    /// Parses a file's bytes, validating everything; throws `SafeTensorsError` on any problem.
    /// `source` (e.g. a path) prefixes error messages. Tensors are returned in data-offset order.
    public static func parse(_ bytes: [UInt8], source: String? = nil) throws(SafeTensorsError) -> SafeTensorsFile {
        do {
            return try parseUnlabelled(bytes)
        } catch {
            if let source { throw .inFile(path: source, error) }
            throw error
        }
    }

    private static func parseUnlabelled(_ bytes: [UInt8]) throws(SafeTensorsError) -> SafeTensorsFile {
        guard bytes.count >= 8 else {
            throw .truncated("\(bytes.count) bytes, but the header length field alone needs 8")
        }
        var length: UInt64 = 0
        for i in (0..<8).reversed() { length = length << 8 | UInt64(bytes[i]) }
        guard length <= UInt64(maxHeaderSize) else { throw .headerTooLarge(length: length, limit: maxHeaderSize) }
        let headerLength = Int(length)
        guard headerLength <= bytes.count - 8 else { throw .headerPastEnd(length: length, available: bytes.count - 8) }
        let headerBytes = Array(bytes[8..<(8 + headerLength)])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw .invalidUTF8 }
        let json = try SafeTensorsJSONParser.parse(headerBytes)
        guard case .object(let entries) = json else {
            throw .invalidHeader("the header must be a JSON object, found \(json.kindName)")
        }

        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        var metadata: [String: String] = [:]
        struct Entry { var name: String; var dtype: SafeTensorDType; var shape: [Int]; var begin: Int; var end: Int }
        var parsed: [Entry] = []
        for (name, value) in entries {
            if name == metadataKey {
                metadata = try parseMetadata(value)
                continue
            }
            guard case .object(let fields) = value else {
                throw .invalidTensor(name: name, reason: "entry must be an object, found \(value.kindName)")
            }
            func field(_ key: String) throws(SafeTensorsError) -> SafeTensorsJSON {
                guard let v = fields.first(where: { $0.key == key })?.value else {
                    throw .invalidTensor(name: name, reason: "missing field \"\(key)\"")
                }
                return v
            }
            guard case .string(let dtypeName) = try field("dtype") else {
                throw .invalidTensor(name: name, reason: "\"dtype\" must be a string")
            }
            guard let dtype = SafeTensorDType(rawValue: dtypeName) else {
                throw .unknownDType(tensor: name, dtype: dtypeName)
            }
            guard case .array(let shapeValues) = try field("shape") else {
                throw .invalidTensor(name: name, reason: "\"shape\" must be an array of non-negative integers")
            }
            var shape: [Int] = []
            for v in shapeValues {
                shape.append(try nonNegativeInteger(v, tensor: name, what: "shape entry"))
            }
            guard case .array(let offsetValues) = try field("data_offsets"), offsetValues.count == 2 else {
                throw .invalidTensor(name: name, reason: "\"data_offsets\" must be an array of two non-negative integers [begin, end]")
            }
            let begin = try nonNegativeInteger(offsetValues[0], tensor: name, what: "data offset")
            let end = try nonNegativeInteger(offsetValues[1], tensor: name, what: "data offset")
            guard begin <= end else {
                throw .invalidTensor(name: name, reason: "data_offsets [\(begin), \(end)]: begin is after end")
            }
            guard end <= dataLength else {
                throw .invalidTensor(name: name, reason: "data_offsets [\(begin), \(end)] run past the end of the \(dataLength)-byte data region")
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw .invalidTensor(name: name, reason: "the element count of shape \(shape) overflows") }
                count = p
            }
            let (size, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, size == end - begin else {
                throw .invalidTensor(name: name, reason: "shape \(shape) of \(dtype) needs \(overflow ? "more than Int.max" : String(size)) bytes, but data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            parsed.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        // Stable sort by offset (header order breaks ties between empty tensors).
        let order = parsed.indices.sorted { (parsed[$0].begin, parsed[$0].end, $0) < (parsed[$1].begin, parsed[$1].end, $1) }
        var expected = 0
        for i in order {
            let e = parsed[i]
            if e.begin > expected {
                throw .invalidLayout("gap in the data region: bytes \(expected)..<\(e.begin) belong to no tensor (next tensor \"\(e.name)\")")
            }
            if e.begin < expected {
                throw .invalidLayout("tensor \"\(e.name)\" at data_offsets [\(e.begin), \(e.end)] overlaps the previous tensor, which ends at \(expected)")
            }
            expected = e.end
        }
        guard expected == dataLength else {
            throw .invalidLayout("the tensors cover \(expected) bytes, but the data region has \(dataLength) (trailing bytes)")
        }

        let tensors = order.map { i -> SafeTensor in
            let e = parsed[i]
            return SafeTensor(parsedName: e.name, dtype: e.dtype, shape: e.shape,
                              bytes: Array(bytes[(dataStart + e.begin)..<(dataStart + e.end)]))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    private static func parseMetadata(_ value: SafeTensorsJSON) throws(SafeTensorsError) -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var result: [String: String] = [:]
            for (key, v) in members {
                guard case .string(let s) = v else {
                    throw .invalidHeader("\(metadataKey) value of \"\(key)\" must be a string, found \(v.kindName)")
                }
                result[key] = s
            }
            return result
        default:
            throw .invalidHeader("\(metadataKey) must be an object of strings, found \(value.kindName)")
        }
    }

    private static func nonNegativeInteger(_ value: SafeTensorsJSON, tensor: String, what: String) throws(SafeTensorsError) -> Int {
        guard case .number(let text) = value else {
            throw .invalidTensor(name: tensor, reason: "\(what) must be a non-negative integer, found \(value.kindName)")
        }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .invalidTensor(name: tensor, reason: "\(what) must be a non-negative integer, found \(text)")
        }
        guard let n = Int(text) else {
            throw .invalidTensor(name: tensor, reason: "\(what) \(text) is too large")
        }
        return n
    }
}

extension SafeTensor {
    /// Used by the parser, which has already checked consistency.
    fileprivate init(parsedName name: String, dtype: SafeTensorDType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }
}
