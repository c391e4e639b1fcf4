// The JSON header of a safetensors file: read and written with Foundation, in the order the
// format fixes.
//
// Reading: JSONSerialization parses the header. What it does not do is added around it:
// - it resolves a repeated key silently (the last one wins) and forgets the order of keys, so
//   the keys of every object are listed in source order by a scan of the text it accepted; a
//   repeat is refused, and the top level's order breaks ties between empty tensors;
// - it guesses UTF-16 or UTF-32 from NUL bytes and skips a byte-order mark, so a header with
//   either (neither can stand in a JSON text in UTF-8 outside a string) is refused before.
// Values come back as Foundation's: `[String: Any]`, `[Any]`, `String`, `NSNumber`, `NSNull`.
// (JSONDecoder does no better: its keyed containers list keys in hash order and take a
// repeated key without complaint.)
//
// Writing: every string (names, dtypes, metadata) is encoded by JSONEncoder. The objects around
// them are joined here, because the format fixes the order — tensors in data order, each entry's
// fields as dtype, shape, data_offsets (as the reference writer, byte for byte) — and
// JSONEncoder on Linux writes an object's keys in hash order, which differs between processes.

import Foundation

enum SafeTensorsHeader {
    /// The header's top-level entries in file order.
    static func parse(_ bytes: [UInt8]) throws(SafeTensorsError) -> [(key: String, value: Any)] {
        guard bytes.contains(where: { !isWhitespace($0) }) else { throw .malformedJSON("the header is empty") }
        if let nul = bytes.firstIndex(of: 0) { throw .malformedJSON("NUL byte at header byte \(nul)") }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw .malformedJSON("byte-order mark at the start") }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
        } catch {
            let info = (error as NSError).userInfo
            throw .malformedJSON(info[NSDebugDescriptionErrorKey] as? String ?? "\(error)")
        }
        guard let object = root as? [String: Any] else {
            throw .invalidHeader("the header must be a JSON object, found \(kind(root))")
        }
        var entries: [(key: String, value: Any)] = []
        for key in try topLevelKeys(bytes) {
            guard let value = object[key] else { throw .malformedJSON("key \"\(key)\" could not be read back") }
            entries.append((key, value))
        }
        return entries
    }

    /// The keys of the top-level object in source order; throws if any object repeats a key.
    /// `bytes` is a JSON text JSONSerialization accepted, so strings end and brackets match.
    private static func topLevelKeys(_ bytes: [UInt8]) throws(SafeTensorsError) -> [String] {
        var open: [Set<String>?] = []     // one per open bracket: an object's keys so far, or nil
        var expectingKey = false
        var topLevel: [String] = []
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"): open.append([]); expectingKey = true
            case UInt8(ascii: "["): open.append(nil); expectingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"): open.removeLast(); expectingKey = false
            case UInt8(ascii: ","): expectingKey = open.last! != nil
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                guard expectingKey else { break }
                let key = string(bytes[start...i])
                guard open[open.count - 1]!.insert(key).inserted else {
                    throw .malformedJSON("duplicate key \"\(key)\" at header byte \(start)")
                }
                if open.count == 1 { topLevel.append(key) }
                expectingKey = false
            default: break
            }
            i += 1
        }
        return topLevel
    }

    /// The value of a JSON string literal (quotes included); escapes are left to Foundation.
    private static func string(_ literal: ArraySlice<UInt8>) -> String {
        let inner = literal.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        return (try? JSONSerialization.jsonObject(with: Data(literal), options: .fragmentsAllowed)) as? String ?? ""
    }

    private static func isWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// JSONSerialization's booleans are NSNumbers whose type is a C char.
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// A short name of a parsed value's kind, for error messages.
    static func kind(_ value: Any) -> String {
        switch value {
        case is [String: Any]: return "an object"
        case is [Any]: return "an array"
        case is String: return "a string"
        case let n as NSNumber: return isBoolean(n) ? "a boolean" : "a number"
        case is NSNull: return "null"
        default: return "a value of type \(type(of: value))"
        }
    }

    // MARK: - Writing

    /// The header of a file holding `tensors` in this order: the `__metadata__` entry first
    /// (omitted when empty) with sorted keys, compact JSON, padded with spaces to a multiple of 8.
    static func encode<T: SafeTensorContent>(metadata: [String: String], tensors: [T]) -> [UInt8] {
        var entries: [[UInt8]] = []
        if !metadata.isEmpty {
            let members = metadata.keys.sorted().map { string($0) + [UInt8(ascii: ":")] + string(metadata[$0]!) }
            entries.append(string(SafeTensorsFile.metadataKey) + Array(":{".utf8) + joined(members) + [UInt8(ascii: "}")])
        }
        var offset = 0
        for t in tensors {
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append(string(t.name) + Array(":{\"dtype\":".utf8) + string(t.dtype.rawValue)
                + Array(",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.byteCount)]}".utf8))
            offset += t.byteCount
        }
        var header = [UInt8(ascii: "{")] + joined(entries) + [UInt8(ascii: "}")]
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        return header
    }

    private static func joined(_ parts: [[UInt8]]) -> [UInt8] {
        Array(parts.joined(separator: [UInt8(ascii: ",")]))
    }

    /// A JSON string literal, by JSONEncoder (slashes left as they are, as the reference writer).
    private static func string(_ s: String) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        // Encoding a String cannot fail.
        return [UInt8](try! encoder.encode(s))
    }
}
