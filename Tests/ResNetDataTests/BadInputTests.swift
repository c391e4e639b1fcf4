import Foundation
import XCTest
@testable import ResNetData

/// Each kind of bad input gives a readable DataError naming the file, never a crash or partial set.
final class BadInputTests: XCTestCase {
    func testSmallGeneratedSetLoadsGzipAndPlain() throws {
        for gzip in [true, false] {
            let dir = try writeFashionLike(in: makeTemporaryDirectory(self), gzip: gzip)
            let (train, test) = try loadFashionMNIST(directory: dir)
            XCTAssertEqual(train.count, 12)
            XCTAssertEqual(test.count, 5)
            XCTAssertEqual(train.sampleShape, [1, 4, 3])
            XCTAssertEqual(train.images, smallImageSet(count: 12, seed: 1).images)
            XCTAssertEqual(test.labels, [0, 1, 2, 3, 4])
        }
    }

    func testMissingDirectoryNamesPathAndFix() throws {
        let dir = try makeTemporaryDirectory(self) + "/nowhere"
        assertDataError(try loadFashionMNIST(directory: dir),
                        contains: [dir, "apt-get install dataset-fashion-mnist", "--data-dir"]) {
            if case .missingDirectory = $0 { return true } else { return false }
        }
    }

    func testMissingFileNamesPathAndFix() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self))
        try FileManager.default.removeItem(atPath: dir + "/t10k-labels-idx1-ubyte.gz")
        assertDataError(try loadFashionMNIST(directory: dir),
                        contains: [dir + "/t10k-labels-idx1-ubyte", "apt-get install dataset-fashion-mnist", "--data-dir"]) {
            if case .missingFile = $0 { return true } else { return false }
        }
    }

    func testWrongMagicNumber() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self), gzip: false)
        let path = dir + "/train-images-idx3-ubyte"
        // A label file where an image file belongs.
        try write(idxBytes(magic: 0x801, dims: [3], payload: [1, 2, 3]), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "0x00000801", "0x00000803"]) {
            $0 == .badMagic(path: path, found: 0x801, expected: 0x803)
        }
    }

    func testTruncatedFilePlainAndGzip() throws {
        for gzip in [false, true] {
            let dir = try writeFashionLike(in: makeTemporaryDirectory(self), gzip: gzip)
            let path = dir + "/train-images-idx3-ubyte" + (gzip ? ".gz" : "")
            // The header promises 12 images of 4×3; only 11.5 are there.
            let set = smallImageSet(count: 12)
            let bytes = idxBytes(magic: 0x803, dims: [12, 4, 3], payload: Array(set.images.dropLast(6)))
            try write(gzip ? Gzip.compress(bytes) : bytes, to: path)
            assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "truncated"]) {
                $0 == .truncated(path: path, expectedBytes: 16 + 144, actualBytes: 16 + 138)
            }
        }
    }

    func testTruncatedGzipStream() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self))
        let path = dir + "/train-labels-idx1-ubyte.gz"
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try write(Array(good.prefix(good.count - 12)), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "gzip"]) {
            if case .corruptGzip = $0 { return true } else { return false }
        }
    }

    func testHugeDeclaredDimensionsDoNotAllocate() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self), gzip: false)
        let path = dir + "/train-images-idx3-ubyte"
        try write(idxBytes(magic: 0x803, dims: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], payload: [1, 2, 3]), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path]) {
            if case .badDimensions = $0 { return true } else { return false }
        }
        try write(idxBytes(magic: 0x803, dims: [1_000_000_000, 28, 28], payload: [1, 2, 3]), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "truncated"]) {
            if case .truncated = $0 { return true } else { return false }
        }
        try write(idxBytes(magic: 0x803, dims: [0, 28, 28], payload: []), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "positive"]) {
            if case .badDimensions = $0 { return true } else { return false }
        }
    }

    /// A gzip bomb with a lying header: 0xFFFFFFFF × 255 × 255 images claimed, a megabyte of
    /// zeros inside. Refused from the header, before inflating (before, the claim was the bound,
    /// so a 3 MB file inflated to 3 GB before it was found short).
    func testGzipBombWithLyingHeaderIsRefusedBeforeInflating() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self))
        let path = dir + "/train-images-idx3-ubyte.gz"
        let bomb = Gzip.compress(idxBytes(magic: 0x803, dims: [0xFFFF_FFFF, 255, 255], payload: Array(repeating: 0, count: 1 << 20)))
        XCTAssertLessThan(bomb.count, 10_000)
        try write(bomb, to: path)
        assertDataError(try loadFashionMNIST(directory: dir),
                        contains: [path, "4294967295 × 255 × 255", "more than the 1 GiB"]) {
            if case .badDimensions = $0 { return true } else { return false }
        }
    }

    /// A directory where a data file belongs: a message naming it (before: "NSCocoaErrorDomain
    /// error 256").
    func testDirectoryInPlaceOfADataFileIsNamed() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self))
        let path = dir + "/train-images-idx3-ubyte.gz"
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "is a directory, not a data file"]) {
            if case .unreadableFile = $0 { return true } else { return false }
        }
    }

    func testTrailingBytes() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self), gzip: false)
        let path = dir + "/t10k-labels-idx1-ubyte"
        try write(idxBytes(magic: 0x801, dims: [5], payload: [0, 1, 2, 3, 4, 5]), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path]) {
            $0 == .trailingBytes(path: path, expectedBytes: 13, actualBytes: 14)
        }
    }

    func testImageAndLabelCountsDisagree() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self))
        let path = dir + "/train-labels-idx1-ubyte.gz"
        try write(Gzip.compress(idxBytes(magic: 0x801, dims: [11], payload: Array(repeating: 3, count: 11))), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "12 images", "11 labels"]) {
            $0 == .countMismatch(imagesPath: dir + "/train-images-idx3-ubyte.gz", imageCount: 12,
                                 labelsPath: path, labelCount: 11)
        }
    }

    func testLabelOutOfRange() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self))
        let path = dir + "/t10k-labels-idx1-ubyte.gz"
        try write(Gzip.compress(idxBytes(magic: 0x801, dims: [5], payload: [0, 1, 10, 3, 4])), to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "label 10", "sample 2"]) {
            $0 == .labelOutOfRange(path: path, index: 2, label: 10)
        }
    }

    func testCorruptGzipStream() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self))
        let path = dir + "/train-images-idx3-ubyte.gz"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // Damage the deflate data (after the 10-byte header, before the 8-byte trailer).
        for i in 12 ..< min(20, bytes.count - 8) { bytes[i] ^= 0xA5 }
        try write(bytes, to: path)
        assertDataError(try loadFashionMNIST(directory: dir), contains: [path, "not a valid gzip stream"]) {
            if case .corruptGzip = $0 { return true } else { return false }
        }
        // A damaged CRC in the trailer is caught too.
        var crcBroken = Gzip.compress(idxBytes(magic: 0x801, dims: [1], payload: [1]))
        crcBroken[crcBroken.count - 8] ^= 1
        XCTAssertThrowsError(try Gzip.decompress(crcBroken, path: "x.gz")) { error in
            XCTAssertEqual((error as? DataError)?.description.contains("CRC"), true)
        }
    }

    func testTestSplitWithOtherImageShapeIsRejected() throws {
        let dir = try writeFashionLike(in: makeTemporaryDirectory(self), gzip: false)
        try write(idxBytes(magic: 0x803, dims: [5, 3, 4], payload: smallImageSet(count: 5).images),
                  to: dir + "/t10k-images-idx3-ubyte")
        assertDataError(try loadFashionMNIST(directory: dir), contains: ["[1, 4, 3]", "[1, 3, 4]"]) {
            if case .shapeMismatch = $0 { return true } else { return false }
        }
    }
}

final class GzipTests: XCTestCase {
    func testRoundTripAndConcatenatedMembers() throws {
        var rng = SplitMix64(seed: 9)
        let data = (0 ..< 100_000).map { _ in UInt8(rng.next(below: 7)) }
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(data), path: "a.gz"), data)
        let two = Gzip.compress(Array(data[..<500])) + Gzip.compress(Array(data[500...]))
        XCTAssertEqual(try Gzip.decompress(two, path: "b.gz"), data)
        XCTAssertEqual(try Gzip.decompress(Gzip.compress([]), path: "e.gz"), [])
    }

    /// gzip(1) and Python store the file name (FNAME flag); the header parser must skip it.
    func testHeaderWithFileNameAndExtraField() throws {
        let payload: [UInt8] = Array("hello, idx".utf8)
        let plain = Gzip.compress(payload)
        var named = Array(plain[0 ..< 10])
        named[3] = 8 | 4                                     // FNAME | FEXTRA
        named += [3, 0, 0xAA, 0xBB, 0xCC]                    // XLEN = 3 and the extra bytes
        named += Array("train-images-idx3-ubyte".utf8) + [0]
        named += plain[10...]
        XCTAssertEqual(try Gzip.decompress(named, path: "n.gz"), payload)
    }

    /// Every proper prefix of a member is refused as cut off, the trailer included; a wrong
    /// length in the trailer is refused though the CRC matches.
    func testTruncationAndLengthMismatchAreRefused() throws {
        let payload = (0 ..< 3000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let member = Gzip.compress(payload)
        for n in 0 ..< member.count {
            XCTAssertThrowsError(try Gzip.decompress(Array(member[..<n]), path: "t.gz"), "prefix \(n)") {
                XCTAssertTrue("\($0)".contains("truncated"), "prefix \(n): \($0)")
            }
        }
        var wrongLength = member
        wrongLength[member.count - 4] ^= 1
        XCTAssertThrowsError(try Gzip.decompress(wrongLength, path: "l.gz")) {
            XCTAssertTrue("\($0)".contains("length in trailer"), "\($0)")
        }
        var zlibFramed = member
        zlibFramed[0] = 0x78; zlibFramed[1] = 0x9C                 // a zlib header is not gzip
        XCTAssertThrowsError(try Gzip.decompress(zlibFramed, path: "z.gz"))
    }

    func testDecompressionBoundedByLimit() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        XCTAssertThrowsError(try Gzip.decompress(Gzip.compress(zeros), path: "bomb.gz", maxOutputBytes: 1 << 16)) {
            XCTAssertTrue(($0 as? DataError)?.description.contains("exceed") ?? false)
        }
    }
}

final class IDXGzipBoundTests: XCTestCase {
    func labelsFile(count: UInt32, labels: [UInt8], trailing: Int) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 8, 1]
        bytes += withUnsafeBytes(of: count.bigEndian) { Array($0) }
        return bytes + labels + [UInt8](repeating: 0, count: trailing)
    }

    /// A gzip file that inflates far past the size its IDX header announces is refused once it
    /// passes that size, not after inflating all of it.
    func testInflationStopsAtTheSizeTheHeaderAnnounces() throws {
        let dir = NSTemporaryDirectory() + "idx-bomb-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/good-labels-idx1-ubyte.gz", bomb = dir + "/bomb-labels-idx1-ubyte.gz"
        let labels: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
        try Data(Gzip.compress(labelsFile(count: 10, labels: labels, trailing: 0))).write(to: URL(fileURLWithPath: good))
        try Data(Gzip.compress(labelsFile(count: 10, labels: labels, trailing: 64 << 20))).write(to: URL(fileURLWithPath: bomb))
        XCTAssertEqual(try IDXReader.readLabels(path: good), labels)
        XCTAssertThrowsError(try IDXReader.readLabels(path: bomb)) {
            XCTAssertTrue("\($0)".contains("inflates to more than the 18 bytes its IDX header announces"), "\($0)")
        }
    }
}
