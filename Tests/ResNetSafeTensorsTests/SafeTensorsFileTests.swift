import Foundation
import XCTest
@testable import ResNetSafeTensors

/// Checksums, and files on disk: reading, atomic replacement, failures at every step.
final class SafeTensorsFileTests: XCTestCase {
    // MARK: - Checksum

    func testChecksum() throws {
        // FNV-1a 64 reference values.
        var h = FNV1a64(); h.update([UInt8]())
        XCTAssertEqual(h.value, 0xcbf29ce484222325)
        h.update(Array("a".utf8))
        XCTAssertEqual(h.value, 0xaf63dc4c8601ec8c)
        var h2 = FNV1a64(); h2.update(Array("foobar".utf8))
        XCTAssertEqual(h2.value, 0x85944171f73967e8)
        // Contiguous storage is folded as one buffer, any other sequence byte by byte: the same hash.
        var h3 = FNV1a64(); h3.update("foo".utf8.lazy.map { $0 }); h3.update(AnySequence("bar".utf8))
        XCTAssertEqual(h3.value, 0x85944171f73967e8)
        var h4 = FNV1a64(); h4.update(Array("foobar".utf8)[...])
        XCTAssertEqual(h4.value, 0x85944171f73967e8)
        // Floats fold in as whole 32-bit patterns (numpy/struct by hand: 1.0, −2.5, 0.0).
        var h5 = FNV1a64()
        [Float(1), -2.5, 0].withUnsafeBufferPointer { h5.update(bitPatternsOf: $0) }
        XCTAssertEqual(h5.value, 0x1a5b33cc23af2fb7)

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
