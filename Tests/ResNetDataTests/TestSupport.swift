import Foundation
import XCTest
@testable import ResNetData

/// Builds IDX file bytes: big-endian magic and sizes, then the payload.
func idxBytes(magic: UInt32, dims: [UInt32], payload: [UInt8]) -> [UInt8] {
    var bytes = [UInt8]()
    for word in [magic] + dims { bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> $0) } }
    return bytes + payload
}

/// A small deterministic image set: `count` images of h×w and labels cycling 0–9.
func smallImageSet(count: Int, height: Int = 4, width: Int = 3, seed: UInt64 = 1) -> (images: [UInt8], labels: [UInt8]) {
    var rng = SplitMix64(seed: seed)
    let images = (0 ..< count * height * width).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let labels = (0 ..< count).map { UInt8($0 % 10) }
    return (images, labels)
}

/// A fresh temporary directory removed at the end of the test.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("resnet-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Writes a complete small Fashion-MNIST-style directory; `gzip` compresses every file.
/// Returns the directory. Individual files can be overwritten afterwards.
@discardableResult
func writeFashionLike(in dir: String, trainCount: Int = 12, testCount: Int = 5, gzip: Bool = true) throws -> String {
    for (prefix, count, seed) in [("train", trainCount, UInt64(1)), ("t10k", testCount, UInt64(2))] {
        let set = smallImageSet(count: count, seed: seed)
        let images = idxBytes(magic: 0x803, dims: [UInt32(count), 4, 3], payload: set.images)
        let labels = idxBytes(magic: 0x801, dims: [UInt32(count)], payload: set.labels)
        let suffix = gzip ? ".gz" : ""
        try write(gzip ? Gzip.compress(images) : images, to: "\(dir)/\(prefix)-images-idx3-ubyte\(suffix)")
        try write(gzip ? Gzip.compress(labels) : labels, to: "\(dir)/\(prefix)-labels-idx1-ubyte\(suffix)")
    }
    return dir
}

/// Asserts `body` throws a `DataError` matching `expected`, whose message contains every `fragments`.
func assertDataError<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
                        file: StaticString = #filePath, line: UInt = #line,
                        _ matches: (DataError) -> Bool) {
    do {
        _ = try body()
        XCTFail("expected a DataError, but loading succeeded", file: file, line: line)
    } catch let error as DataError {
        XCTAssertTrue(matches(error), "unexpected error case: \(error)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.description.contains(fragment),
                          "message lacks '\(fragment)': \(error.description)", file: file, line: line)
        }
    } catch {
        XCTFail("expected a DataError, got \(error)", file: file, line: line)
    }
}
