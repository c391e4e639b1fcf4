import Foundation
import XCTest
@testable import ResNetSafeTensors

/// A fresh empty directory under the system temporary directory, removed by the caller.
func makeTemporaryDirectory(_ label: String) throws -> String {
    let path = NSTemporaryDirectory() + "resnet-dist-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Builds a file from a header string and data bytes (the header length is computed).
func rawSafeTensors(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
    return out + h + data
}

/// A file with every kind of tensor the tests need: dtypes, a 0-d scalar, an empty tensor, metadata.
func sampleFile() throws -> SafeTensorsFile {
    SafeTensorsFile(tensors: [
        SafeTensor(name: "groups.0.blocks.1.conv1.weight", shape: [2, 3, 1, 1], floats: [1, -2, 3.5, .pi, -0.0, 1e-30]),
        SafeTensor(name: "h", shape: [], doubles: [0.25]),                      // 0-d scalar
        SafeTensor(name: "empty", shape: [0, 4], floats: []),                   // empty tensor
        SafeTensor(name: "step", shape: [1], int64s: [-9_000_000_000]),
        SafeTensor(name: "mask", shape: [3], uint8s: [0, 255, 7]),
        SafeTensor(name: "counts", shape: [2], int32s: [Int32.min, 42]),
        try SafeTensor(name: "half", dtype: .f16, shape: [2], bytes: [0x00, 0x3C, 0x00, 0xC0]),
    ], metadata: ["epoch": "12", "config": "lr: 0.005\nname: \"fashion\" ü", "": "empty key"])
}

/// The format: round trips, the exact bytes written, what the reader accepts and refuses.
final class SafeTensorsTests: XCTestCase {
    func testRoundTripSeveralDTypesAndShapes() throws {
        let file = try sampleFile()
        let bytes = file.serialized()
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0, "header padded to a multiple of 8")
        XCTAssertEqual(bytes[8 + headerLength - 1] == UInt8(ascii: " ") || bytes[8 + headerLength - 1] == UInt8(ascii: "}"), true)
        let back = try SafeTensorsFile.parse(bytes)
        XCTAssertEqual(back, file)
        XCTAssertEqual(back.tensors.map(\.name), file.tensors.map(\.name), "order is preserved")
        XCTAssertEqual(try back["groups.0.blocks.1.conv1.weight"]?.floats, [1, -2, 3.5, .pi, -0.0, 1e-30])
        XCTAssertEqual(try back["h"]?.doubles, [0.25])
        XCTAssertEqual(back["h"]?.shape, [])
        XCTAssertEqual(back["empty"]?.shape, [0, 4])
        XCTAssertEqual(try back["empty"]?.floats, [])
        XCTAssertEqual(try back["step"]?.int64s, [-9_000_000_000])
        XCTAssertEqual(try back["mask"]?.uint8s, [0, 255, 7])
        XCTAssertEqual(try back["counts"]?.int32s, [Int32.min, 42])
        XCTAssertEqual(back["half"]?.dtype, .f16)
        XCTAssertNil(back["missing"])
        XCTAssertEqual(back.metadata["config"], "lr: 0.005\nname: \"fashion\" ü")
        XCTAssertEqual(back.serialized(), bytes, "serialization is deterministic")
        // Sign of -0.0 survives.
        XCTAssertEqual(try back["groups.0.blocks.1.conv1.weight"]!.floats[4].sign, .minus)
    }

    func testEmptyFileRoundTrip() throws {
        let bytes = SafeTensorsFile().serialized()
        XCTAssertEqual(bytes, [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        XCTAssertEqual(try SafeTensorsFile.parse(bytes), SafeTensorsFile())
    }

    func testByteExactHeader() throws {
        let file = SafeTensorsFile(tensors: [SafeTensor(name: "a", shape: [2], floats: [1, 2])],
                                   metadata: ["k": "v"])
        let expectedHeader = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} "#
        XCTAssertEqual(expectedHeader.utf8.count, 80)
        let expected: [UInt8] = [80, 0, 0, 0, 0, 0, 0, 0] + Array(expectedHeader.utf8)
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40]   // 1.0f, 2.0f little-endian
        XCTAssertEqual(file.serialized(), expected)

        // Multiple tensors: given order, contiguous offsets; metadata keys sorted; escapes.
        let two = SafeTensorsFile(tensors: [
            SafeTensor(name: "z", shape: [], uint8s: [9]),
            SafeTensor(name: "q\"\\\n", shape: [1, 1], int64s: [1]),
        ], metadata: ["b": "2", "a": "1"])
        let header2 = #"{"__metadata__":{"a":"1","b":"2"},"z":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"q\"\\\n":{"dtype":"I64","shape":[1,1],"data_offsets":[1,9]}}"#
        let padded2 = header2 + String(repeating: " ", count: (8 - header2.utf8.count % 8) % 8)
        let bytes2 = two.serialized()
        XCTAssertEqual(Array(bytes2[8..<(8 + padded2.utf8.count)]), Array(padded2.utf8))
        XCTAssertEqual(try SafeTensorsFile.parse(bytes2), two)
    }

    func testParsesForeignFormatting() throws {
        // Whitespace, key order inside entries, unknown extra fields, null metadata, \u escapes.
        let header = " { \"b\" : { \"shape\" : [ ] , \"data_offsets\" : [4, 8], \"dtype\" : \"I32\", \"extra\": [1, {\"x\": null}] },\n"
            + "\"\\u00e9\\ud83d\\ude00\": {\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}, \"__metadata__\": null }\t"
        let file = try SafeTensorsFile.parse(rawSafeTensors(header: header, data: [1, 2, 3, 4, 5, 0, 0, 0]))
        XCTAssertEqual(file.tensors.map(\.name), ["é😀", "b"], "tensors come back in data order")
        XCTAssertEqual(try file["b"]?.int32s, [5])
        XCTAssertEqual(file.metadata, [:])
    }

    func assertParseError(_ bytes: [UInt8], _ expectedFragment: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        do {
            let parsed = try SafeTensorsFile.parse(bytes, source: "bad.safetensors")
            XCTFail("expected an error containing '\(expectedFragment)', parsed \(parsed.tensors.map(\.name))", file: file, line: line)
        } catch {
            XCTAssertTrue(error.description.hasPrefix("bad.safetensors: "), error.description, file: file, line: line)
            XCTAssertTrue(error.description.contains(expectedFragment),
                          "'\(error.description)' does not contain '\(expectedFragment)'", file: file, line: line)
        }
    }

    func testEveryKindOfBadInputThrowsAReadableError() {
        let good = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let data = [UInt8](repeating: 0, count: 8)
        XCTAssertNoThrow(try SafeTensorsFile.parse(rawSafeTensors(header: good, data: data)))

        assertParseError([], "header length field alone needs 8")
        assertParseError([1, 2, 3], "header length field alone needs 8")
        assertParseError([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B], "exceeds the limit")
        assertParseError([0x01, 0xE1, 0xF5, 0x05, 0, 0, 0, 0] + Array("{}".utf8), "header length 100000001 bytes exceeds the limit")
        assertParseError([100, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8), "larger than the 2 bytes")
        assertParseError(rawSafeTensors(header: "", data: []), "header is empty")
        assertParseError([2, 0, 0, 0, 0, 0, 0, 0, 0xC3, 0x28], "not valid UTF-8")
        assertParseError(rawSafeTensors(header: "{\"w\":", data: []), "malformed JSON")
        assertParseError(rawSafeTensors(header: "{\"w\" 1}", data: []), "malformed JSON header")
        assertParseError(rawSafeTensors(header: "{}}", data: []), "malformed JSON header")
        assertParseError(rawSafeTensors(header: "{\"a\":\"\u{01}\"}", data: []), "control character")
        assertParseError(rawSafeTensors(header: "{\"a\":\"\\ud800\"}", data: []), "surrogate")
        assertParseError(rawSafeTensors(header: "{\"a\":01}", data: []), "leading zero")
        assertParseError(rawSafeTensors(header: String(repeating: "[", count: 1000), data: []), "nested")
        assertParseError(rawSafeTensors(header: "[1,2]", data: []), "must be a JSON object, found an array")
        assertParseError(rawSafeTensors(header: #"{"a":{},"a":{}}"#, data: []), "duplicate key \"a\"")
        assertParseError(rawSafeTensors(header: #"{"w":5}"#, data: []), "tensor \"w\": entry must be an object")
        assertParseError(rawSafeTensors(header: #"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, data: data), "missing field \"dtype\"")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","data_offsets":[0,8]}}"#, data: data), "missing field \"shape\"")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2]}}"#, data: data), "missing field \"data_offsets\"")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}"#, data: data), "\"dtype\" must be a string")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}"#, data: data), "unknown dtype \"F31\"")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}"#, data: data), "\"shape\" must be an array")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: data), "shape entry must be a non-negative integer, found -2")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, data: data), "found 2.0")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}"#, data: data), "found a string")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}"#, data: data), "too large")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: data), "overflows")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F64","shape":[1152921504606846976],"data_offsets":[0,8]}}"#, data: data), "more than Int.max")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: data), "needs 12 bytes")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: data), "two non-negative integers")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: data), "begin is after end")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: data), "run past the end of the 8-byte data region")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data), "gap in the data region")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data), "trailing bytes")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data), "overlaps")
        assertParseError(rawSafeTensors(header: #"{"__metadata__":{"epoch":3}}"#, data: []), "value of \"epoch\" must be a string, found a number")
        assertParseError(rawSafeTensors(header: #"{"__metadata__":["x"]}"#, data: []), "must be an object of strings")
    }

    /// What JSONSerialization alone would let through: repeated keys (it keeps the last), a
    /// header it would read as UTF-16 or after a byte-order mark, numbers that are not plain
    /// integers, booleans where numbers belong.
    func testRefusalsAddedAroundTheJSONReader() {
        let data = [UInt8](repeating: 0, count: 8)
        assertParseError(rawSafeTensors(header: #"{"a":{},"\u0061":{}}"#, data: []), "duplicate key \"a\"")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: data),
                         "duplicate key \"dtype\"")
        assertParseError(rawSafeTensors(header: #"{"__metadata__":{"k":"1","k":"2"}}"#, data: []), "duplicate key \"k\"")
        assertParseError([4, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x00, 0x7D, 0x00], "NUL byte at header byte 1")
        assertParseError([4, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x7B, 0x00, 0x7D], "NUL byte at header byte 0")
        assertParseError(rawSafeTensors(header: "\u{FEFF}{}", data: []), "byte-order mark")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}"#, data: data), "found 2.0")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}}"#, data: data), "found 8.0")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,8]}}"#, data: data), "found a boolean")
        assertParseError(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}"#, data: data), "too large")
        // Keys repeated in different objects are not duplicates.
        XCTAssertNoThrow(try SafeTensorsFile.parse(rawSafeTensors(
            header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [1, 2])))
    }

    /// Empty tensors share an offset with their neighbours; the header's order keeps them in the
    /// order they were written.
    func testEmptyTensorsAtOneOffsetKeepTheHeaderOrder() throws {
        let file = SafeTensorsFile(tensors: [
            SafeTensor(name: "w", shape: [1], floats: [1]),
            SafeTensor(name: "z", shape: [0], floats: []),
            SafeTensor(name: "m", shape: [0, 3], floats: []),
            SafeTensor(name: "a", shape: [0], int64s: []),
            SafeTensor(name: "v", shape: [1], floats: [2]),
        ])
        let back = try SafeTensorsFile.parse(file.serialized())
        XCTAssertEqual(back.tensors.map(\.name), ["w", "z", "m", "a", "v"])
        XCTAssertEqual(back, file)
    }

    func testTypedAccessorOnWrongDTypeThrows() throws {
        let t = SafeTensor(name: "n", shape: [1], int64s: [3])
        XCTAssertThrowsError(try t.floats) { error in
            XCTAssertEqual(error as? SafeTensorsError, .wrongDType(tensor: "n", expected: .f32, actual: .i64))
            XCTAssertEqual("\(error)", "tensor \"n\" has dtype I64, expected F32")
        }
        XCTAssertThrowsError(try SafeTensor(name: "x", dtype: .f32, shape: [2], bytes: [1, 2, 3]))
        XCTAssertThrowsError(try SafeTensor(name: "x", dtype: .f32, shape: [-1], bytes: []))
    }

    func testValidateRejectsDuplicateAndReservedNames() {
        let dup = SafeTensorsFile(tensors: [SafeTensor(name: "a", shape: [], floats: [1]),
                                            SafeTensor(name: "a", shape: [], floats: [2])])
        XCTAssertThrowsError(try dup.validate()) { XCTAssertTrue("\($0)".contains("duplicate tensor name")) }
        let reserved = SafeTensorsFile(tensors: [SafeTensor(name: "__metadata__", shape: [], floats: [1])])
        XCTAssertThrowsError(try reserved.validate())
        var broken = SafeTensorsFile(tensors: [SafeTensor(name: "a", shape: [2], floats: [1, 2])])
        broken.tensors[0].bytes.removeLast()
        XCTAssertThrowsError(try broken.validate()) { XCTAssertTrue("\($0)".contains("needs 8 bytes, but the tensor has 7")) }
    }
}
