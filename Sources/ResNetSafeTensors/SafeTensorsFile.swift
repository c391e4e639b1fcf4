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
        try Self.validate(tensors)
    }

    static func validate<T: SafeTensorContent>(_ tensors: [T]) throws(SafeTensorsError) {
        var seen = Set<String>()
        for t in tensors {
            try t.validateSize()
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
        var out: [UInt8] = []
        Self.emit(tensors: tensors, metadata: metadata) { out.append(contentsOf: $0) }
        return out
    }

    /// The bytes of a file of `tensors` and `metadata`, piece by piece: the length field, the
    /// header, then each tensor's bytes where they lie.
    static func emit<T: SafeTensorContent>(tensors: [T], metadata: [String: String],
                                           to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let header = SafeTensorsHeader.encode(metadata: metadata, tensors: tensors)
        try withUnsafeBytes(of: UInt64(header.count).littleEndian) { try sink($0) }
        try header.withUnsafeBytes { try sink($0) }
        for t in tensors { try t.withBytes { try sink($0) } }
    }
}
