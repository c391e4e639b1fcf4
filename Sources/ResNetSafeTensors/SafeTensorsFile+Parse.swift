// Reading a safetensors file's bytes: the length field, the header (see SafeTensorsHeader), each
// entry against the schema, then the layout of the data region. Everything a hostile or damaged
// file could claim is checked before it is used, and nothing is allocated from a claimed size.

import Foundation

extension SafeTensorsFile {
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

    /// One tensor's entry of the header, checked against the data region's length.
    private struct Entry {
        var name: String
        var dtype: SafeTensorDType
        var shape: [Int]
        var begin: Int
        var end: Int
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
        let header = try SafeTensorsHeader.parse(headerBytes)

        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in header {
            if name == metadataKey {
                metadata = try parseMetadata(value)
            } else {
                entries.append(try parseEntry(name: name, value, dataLength: dataLength))
            }
        }
        let tensors = try packedInOffsetOrder(entries, dataLength: dataLength).map { e in
            SafeTensor(parsedName: e.name, dtype: e.dtype, shape: e.shape,
                       bytes: Array(bytes[(dataStart + e.begin)..<(dataStart + e.end)]))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    private static func parseEntry(name: String, _ value: Any, dataLength: Int) throws(SafeTensorsError) -> Entry {
        guard let fields = value as? [String: Any] else {
            throw .invalidTensor(name: name, reason: "entry must be an object, found \(SafeTensorsHeader.kind(value))")
        }
        func field(_ key: String) throws(SafeTensorsError) -> Any {
            guard let v = fields[key] else { throw .invalidTensor(name: name, reason: "missing field \"\(key)\"") }
            return v
        }
        guard let dtypeName = try field("dtype") as? String else {
            throw .invalidTensor(name: name, reason: "\"dtype\" must be a string")
        }
        guard let dtype = SafeTensorDType(rawValue: dtypeName) else {
            throw .unknownDType(tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = try field("shape") as? [Any] else {
            throw .invalidTensor(name: name, reason: "\"shape\" must be an array of non-negative integers")
        }
        var shape: [Int] = []
        for v in shapeValues {
            shape.append(try nonNegativeInteger(v, tensor: name, what: "shape entry"))
        }
        guard let offsetValues = try field("data_offsets") as? [Any], offsetValues.count == 2 else {
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
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// The entries in data-offset order (header order breaks ties between empty tensors), after
    /// checking that they cover the data region without gap or overlap.
    private static func packedInOffsetOrder(_ entries: [Entry], dataLength: Int) throws(SafeTensorsError) -> [Entry] {
        let order = entries.indices.sorted { (entries[$0].begin, entries[$0].end, $0) < (entries[$1].begin, entries[$1].end, $1) }
        var expected = 0
        for i in order {
            let e = entries[i]
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
        return order.map { entries[$0] }
    }

    private static func parseMetadata(_ value: Any) throws(SafeTensorsError) -> [String: String] {
        if value is NSNull { return [:] }
        guard let members = value as? [String: Any] else {
            throw .invalidHeader("\(metadataKey) must be an object of strings, found \(SafeTensorsHeader.kind(value))")
        }
        var result: [String: String] = [:]
        for (key, v) in members {
            guard let s = v as? String else {
                throw .invalidHeader("\(metadataKey) value of \"\(key)\" must be a string, found \(SafeTensorsHeader.kind(v))")
            }
            result[key] = s
        }
        return result
    }

    /// A number written without sign, fraction or exponent that fits an Int: what the schema
    /// allows for shapes and offsets. (JSONSerialization keeps "2.0" and "1e3" as Doubles, whose
    /// text has a point or an exponent, and too large integers as Decimals or UInt64s.)
    private static func nonNegativeInteger(_ value: Any, tensor: String, what: String) throws(SafeTensorsError) -> Int {
        guard let number = value as? NSNumber, !SafeTensorsHeader.isBoolean(number) else {
            throw .invalidTensor(name: tensor, reason: "\(what) must be a non-negative integer, found \(SafeTensorsHeader.kind(value))")
        }
        let text = number.description
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .invalidTensor(name: tensor, reason: "\(what) must be a non-negative integer, found \(text)")
        }
        guard let n = Int(text) else {
            throw .invalidTensor(name: tensor, reason: "\(what) \(text) is too large")
        }
        return n
    }
}
