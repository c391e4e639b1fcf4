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

final class SafeTensorsTests: XCTestCase {

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

    // MARK: - Checksum

    func testChecksum() throws {
        // FNV-1a 64 reference values.
        var h = FNV1a64(); h.update([UInt8]())
        XCTAssertEqual(h.value, 0xcbf29ce484222325)
        h.update(Array("a".utf8))
        XCTAssertEqual(h.value, 0xaf63dc4c8601ec8c)
        var h2 = FNV1a64(); h2.update(Array("foobar".utf8))
        XCTAssertEqual(h2.value, 0x85944171f73967e8)

        var file = try sampleFile()
        XCTAssertThrowsError(try file.verifyChecksum()) {
            XCTAssertEqual($0 as? SafeTensorsError, .checksumMissing(key: SafeTensorsFile.checksumKey))
        }
        file.storeChecksum()
        XCTAssertEqual(file.metadata[SafeTensorsFile.checksumKey]?.count, 16)
        try file.verifyChecksum()
        let back = try SafeTensorsFile.parse(file.serialized())
        try back.verifyChecksum()

        // Order-independent, metadata-independent.
        var shuffled = file
        shuffled.tensors.reverse()
        shuffled.metadata["other"] = "x"
        XCTAssertEqual(shuffled.checksum(), file.checksum())

        // One flipped data bit, a renamed tensor or a changed shape are detected.
        var flipped = back
        flipped.tensors[0].bytes[3] ^= 0x10
        XCTAssertThrowsError(try flipped.verifyChecksum()) { error in
            guard case .checksumMismatch = error as? SafeTensorsError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("checksum mismatch"))
        }
        var renamed = back
        renamed.tensors[0].name += "x"
        XCTAssertThrowsError(try renamed.verifyChecksum())
        var reshaped = back
        reshaped.tensors[0].shape = [6]
        XCTAssertThrowsError(try reshaped.verifyChecksum())
        var customKey = back
        customKey.storeChecksum(key: "crc")
        try customKey.verifyChecksum(key: "crc")
    }

    // MARK: - Files

    func testWriteAndReadFile() throws {
        let dir = try makeTemporaryDirectory("st-rw")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ckpt.safetensors"
        let file = try sampleFile()
        try file.write(atomicallyTo: path)
        XCTAssertEqual(try SafeTensorsFile.read(path: path), file)
        // Overwrite in place.
        let second = SafeTensorsFile(tensors: [SafeTensor(name: "x", shape: [1], floats: [7])])
        try second.write(atomicallyTo: path)
        XCTAssertEqual(try SafeTensorsFile.read(path: path), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["ckpt.safetensors"], "no temporary files left")

        // Errors name the file.
        XCTAssertThrowsError(try SafeTensorsFile.read(path: dir + "/missing.safetensors")) { error in
            XCTAssertTrue("\(error)".hasPrefix(dir + "/missing.safetensors: open for reading failed: No such file"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensorsFile.read(path: dir)) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/short.safetensors"))
        XCTAssertThrowsError(try SafeTensorsFile.read(path: dir + "/short.safetensors")) { error in
            XCTAssertEqual("\(error)", dir + "/short.safetensors: truncated safetensors file: 3 bytes, but the header length field alone needs 8")
        }
    }

    /// Every failing write leaves the previous checkpoint byte-identical and no temporary file.
    func testFailedAtomicWriteKeepsPreviousFile() throws {
        let dir = try makeTemporaryDirectory("st-atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ckpt.safetensors"
        let old = SafeTensorsFile(tensors: [SafeTensor(name: "old", shape: [3], floats: [1, 2, 3])], metadata: ["epoch": "1"])
        try old.write(atomicallyTo: path)
        let oldBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let new = try sampleFile()

        func assertIntact(_ label: String) throws {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), oldBytes, label)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["ckpt.safetensors"], "\(label): temp file removed")
        }

        // Injected failures at every stage before the rename.
        for stage in [SafeTensorsFile.WriteStage.afterCreate, .afterPartialWrite, .afterWrite, .afterSync, .beforeRename] {
            XCTAssertThrowsError(try new.write(atomicallyTo: path, failingAt: stage)) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)")
                XCTAssertTrue("\(error)".contains("injected failure"), "\(error)")
            }
            try assertIntact("\(stage)")
        }

        // Real failure: the target is a non-empty directory, so rename fails after the temp file is written.
        let blocker = dir + "/blocker.safetensors"
        try FileManager.default.createDirectory(atPath: blocker + "/inner", withIntermediateDirectories: true)
        XCTAssertThrowsError(try new.write(atomicallyTo: blocker)) { XCTAssertTrue("\($0)".contains("rename"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["blocker.safetensors", "ckpt.safetensors"])
        try FileManager.default.removeItem(atPath: blocker)

        // Real failures: parent is a regular file (root ignores permissions, so no chmod tricks);
        // non-existent directory.
        XCTAssertThrowsError(try new.write(atomicallyTo: path + "/sub.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("create temporary file"), "\(error)")
            XCTAssertTrue("\(error)".contains("Not a directory"), "\(error)")
        }
        XCTAssertThrowsError(try new.write(atomicallyTo: dir + "/nope/ckpt.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("No such file or directory"), "\(error)")
        }
        try assertIntact("real failures")

        // An invalid file is refused before anything touches the disk.
        var invalid = new
        invalid.tensors[0].bytes.removeLast()
        XCTAssertThrowsError(try invalid.write(atomicallyTo: path))
        try assertIntact("invalid file")

        // And a successful write after all that replaces the file.
        try new.write(atomicallyTo: path)
        XCTAssertEqual(try SafeTensorsFile.read(path: path), new)
    }
}

// MARK: - Python interoperability


/// Interoperability with Python's `safetensors` package (pip install safetensors numpy; installed
/// by launch/setup). Skipped, with a message, when python3 or the package is missing.
final class SafeTensorsPythonTests: XCTestCase {

    /// Runs `python3 -c script args...`; returns (exit status, stdout, stderr).
    func runPython(_ script: String, _ args: [String] = []) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    func requirePythonSafetensors() throws {
        let status = (try? runPython("import safetensors, numpy"))?.0 ?? -1
        if status != 0 {
            throw XCTSkip("python3 with the safetensors and numpy packages is unavailable (pip install safetensors numpy; launch/setup does this)")
        }
    }

    func testPythonReadsSwiftFile() throws {
        try requirePythonSafetensors()
        let dir = try makeTemporaryDirectory("st-py1")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/swift.safetensors"
        var file = SafeTensorsFile(tensors: [
            SafeTensor(name: "blocks.0.linear1.weight", shape: [2, 3], floats: [1, 2, 3, -4, 5.5, 6e-8]),
            SafeTensor(name: "h", shape: [], doubles: [0.5]),
            SafeTensor(name: "empty", shape: [0], floats: []),
            SafeTensor(name: "step", shape: [2], int64s: [-1, 1 << 40]),
            SafeTensor(name: "mask", shape: [3], uint8s: [0, 1, 255]),
        ], metadata: ["epoch": "7", "integrator": "rk2"])
        file.storeChecksum()
        try file.write(atomicallyTo: path)

        let script = """
        import sys, json, numpy as np
        from safetensors import safe_open
        from safetensors.numpy import load_file
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="np") as f:
            md = f.metadata()
        out = {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": v.reshape(-1).tolist()} for k, v in t.items()}
        print(json.dumps({"tensors": out, "metadata": md}))
        """
        let (status, stdout, stderr) = try runPython(script, [path])
        XCTAssertEqual(status, 0, stderr)
        let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as! [String: Any]
        let tensors = json["tensors"] as! [String: [String: Any]]
        XCTAssertEqual(Set(tensors.keys), ["blocks.0.linear1.weight", "h", "empty", "step", "mask"])
        XCTAssertEqual(tensors["blocks.0.linear1.weight"]?["dtype"] as? String, "float32")
        XCTAssertEqual(tensors["blocks.0.linear1.weight"]?["shape"] as? [Int], [2, 3])
        XCTAssertEqual((tensors["blocks.0.linear1.weight"]?["values"] as? [Double])?.map(Float.init), [1, 2, 3, -4, 5.5, 6e-8])
        XCTAssertEqual(tensors["h"]?["shape"] as? [Int], [])
        XCTAssertEqual(tensors["h"]?["values"] as? [Double], [0.5])
        XCTAssertEqual(tensors["h"]?["dtype"] as? String, "float64")
        XCTAssertEqual(tensors["empty"]?["shape"] as? [Int], [0])
        XCTAssertEqual(tensors["step"]?["dtype"] as? String, "int64")
        XCTAssertEqual(tensors["step"]?["values"] as? [Int], [-1, 1 << 40])
        XCTAssertEqual(tensors["mask"]?["dtype"] as? String, "uint8")
        XCTAssertEqual(tensors["mask"]?["values"] as? [Int], [0, 1, 255])
        XCTAssertEqual(json["metadata"] as? [String: String], file.metadata)
    }

    func testSwiftReadsPythonFile() throws {
        try requirePythonSafetensors()
        let dir = try makeTemporaryDirectory("st-py2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/python.safetensors"
        let script = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({
            "w": np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
            "i": np.array([1, -2], dtype=np.int64),
            "s": np.array(3.5, dtype=np.float64),
            "e": np.zeros((0, 3), dtype=np.float32),
            "b": np.array([1, 2, 3], dtype=np.uint8),
            "i32": np.array([[7], [-8]], dtype=np.int32),
        }, sys.argv[1], metadata={"epoch": "3", "note": "é"})
        """
        let (status, _, stderr) = try runPython(script, [path])
        XCTAssertEqual(status, 0, stderr)
        let file = try SafeTensorsFile.read(path: path)
        XCTAssertEqual(Set(file.tensors.map(\.name)), ["w", "i", "s", "e", "b", "i32"])
        XCTAssertEqual(file["w"]?.shape, [2, 3])
        XCTAssertEqual(try file["w"]?.floats, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
        XCTAssertEqual(try file["i"]?.int64s, [1, -2])
        XCTAssertEqual(file["s"]?.shape, [])
        XCTAssertEqual(try file["s"]?.doubles, [3.5])
        XCTAssertEqual(file["e"]?.shape, [0, 3])
        XCTAssertEqual(file["e"]?.bytes, [])
        XCTAssertEqual(try file["b"]?.uint8s, [1, 2, 3])
        XCTAssertEqual(file["i32"]?.shape, [2, 1])
        XCTAssertEqual(try file["i32"]?.int32s, [7, -8])
        XCTAssertEqual(file.metadata, ["epoch": "3", "note": "é"])
    }

    /// For a file whose tensors Python would order the same way (one dtype, names sorted) and one
    /// metadata key, Swift's bytes are identical to the reference writer's.
    func testSwiftBytesMatchPythonBytes() throws {
        try requirePythonSafetensors()
        let dir = try makeTemporaryDirectory("st-py3")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/python.safetensors"
        let script = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({"a.bias": np.array([1, 2], dtype=np.float32),
                   "a.weight": np.array([[0.5, -1], [2, 3]], dtype=np.float32),
                   "b": np.array(9, dtype=np.float32)}, sys.argv[1], metadata={"epoch": "12"})
        """
        let (status, _, stderr) = try runPython(script, [path])
        XCTAssertEqual(status, 0, stderr)
        let pythonBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let swift = SafeTensorsFile(tensors: [
            SafeTensor(name: "a.bias", shape: [2], floats: [1, 2]),
            SafeTensor(name: "a.weight", shape: [2, 2], floats: [0.5, -1, 2, 3]),
            SafeTensor(name: "b", shape: [], floats: [9]),
        ], metadata: ["epoch": "12"])
        XCTAssertEqual(swift.serialized(), pythonBytes,
                       "Swift: \(String(decoding: swift.serialized().prefix(200), as: UTF8.self))\nPython: \(String(decoding: pythonBytes.prefix(200), as: UTF8.self))")
    }
}
