import Foundation
import XCTest
@testable import ResNetData

final class CIFAR10Tests: XCTestCase {
    /// Records of 1 label byte + 3072 CHW pixel bytes, pixel values derived from (file, record, i).
    func record(file: Int, index: Int, label: UInt8) -> [UInt8] {
        [label] + (0 ..< 3072).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index &* 31 &+ file &* 101) }
    }

    func writeCIFAR(in dir: String, recordsPerFile: Int = 2) throws {
        for file in 1 ... 6 {
            var bytes = [UInt8]()
            for r in 0 ..< recordsPerFile { bytes += record(file: file, index: r, label: UInt8((file + r) % 10)) }
            let name = file == 6 ? "test_batch.bin" : "data_batch_\(file).bin"
            try write(bytes, to: dir + "/" + name)
        }
    }

    func testRoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeCIFAR(in: dir, recordsPerFile: 3)
        let (train, test) = try loadCIFAR10(directory: dir)
        XCTAssertEqual(train.count, 15)
        XCTAssertEqual(test.count, 3)
        XCTAssertEqual(train.sampleShape, [3, 32, 32])
        // Sample 4 is file 2, record 1; pixel (c=2, y=5, x=7) sits at 2*1024 + 5*32 + 7 in the record.
        XCTAssertEqual(train.labels[4], 3)
        XCTAssertEqual(Array(train.pixels(of: 4)), Array(record(file: 2, index: 1, label: 3).dropFirst()))
        XCTAssertEqual(train.pixels(of: 4)[4 * 3072 + 2 * 1024 + 5 * 32 + 7],
                       UInt8(truncatingIfNeeded: (2 * 1024 + 5 * 32 + 7) * 7 + 31 + 202))
        XCTAssertEqual(test.labels, [6, 7, 8])
        XCTAssertEqual(Array(test.pixels(of: 2)), Array(record(file: 6, index: 2, label: 8).dropFirst()))
        // The batch writer reads the red channel first (CHW), scaled to [0, 1].
        var batch = [Float]()
        XCTAssertEqual(test.writeBatch(indices: [2], into: &batch), [8])
        XCTAssertEqual(batch[1024 + 3], Float(test.pixels(of: 2)[2 * 3072 + 1024 + 3]) / 255, accuracy: 1e-6)
    }

    func testSizeNotMultipleOfRecord() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeCIFAR(in: dir)
        let path = dir + "/data_batch_3.bin"
        try write(record(file: 3, index: 0, label: 1) + [1, 2, 3], to: path)
        assertDataError(try loadCIFAR10(directory: dir), contains: [path, "3076", "3073", "binary"]) {
            $0 == .cifarSizeNotMultiple(path: path, size: 3076)
        }
    }

    func testLabelOutOfRangeAndEmptyFile() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeCIFAR(in: dir)
        let path = dir + "/test_batch.bin"
        try write(record(file: 6, index: 0, label: 2) + record(file: 6, index: 1, label: 200), to: path)
        assertDataError(try loadCIFAR10(directory: dir), contains: [path, "label 200"]) {
            $0 == .labelOutOfRange(path: path, index: 1, label: 200)
        }
        try write([], to: path)
        assertDataError(try loadCIFAR10(directory: dir), contains: [path]) {
            $0 == .truncated(path: path, expectedBytes: 3073, actualBytes: 0)
        }
    }

    func testMissingFileAndDirectory() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeCIFAR(in: dir)
        try FileManager.default.removeItem(atPath: dir + "/data_batch_5.bin")
        assertDataError(try loadCIFAR10(directory: dir), contains: [dir + "/data_batch_5.bin", "--data-dir", "cifar-10-binary"]) {
            if case .missingFile = $0 { return true } else { return false }
        }
        assertDataError(try loadCIFAR10(directory: dir + "/absent"), contains: [dir + "/absent", "--data-dir"]) {
            if case .missingDirectory = $0 { return true } else { return false }
        }
    }
}
