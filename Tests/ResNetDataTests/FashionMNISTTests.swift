import Foundation
import XCTest
@testable import ResNetData

/// Loads the real Fashion-MNIST once for all tests of this class.
final class FashionMNISTTests: XCTestCase {
    nonisolated(unsafe) static var cached: (train: ImageDataset, test: ImageDataset, seconds: Double)?

    func loaded() throws -> (train: ImageDataset, test: ImageDataset, seconds: Double) {
        guard FileManager.default.fileExists(atPath: defaultFashionMNISTDirectory) else {
            throw XCTSkip("Fashion-MNIST not installed at \(defaultFashionMNISTDirectory)")
        }
        if let cached = Self.cached { return cached }
        let start = Date()
        let (train, test) = try loadFashionMNIST()
        let result = (train, test, Date().timeIntervalSince(start))
        Self.cached = result
        return result
    }

    func testSizesAndShape() throws {
        let (train, test, seconds) = try loaded()
        print("Fashion-MNIST loaded in \(String(format: "%.3f", seconds)) s")
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(train.sampleShape, [1, 28, 28])
        XCTAssertEqual(test.sampleShape, [1, 28, 28])
        XCTAssertEqual(train.images.count, 60_000 * 784)
        XCTAssertEqual(test.images.count, 10_000 * 784)
    }

    func testClassBalance() throws {
        let (train, test, _) = try loaded()
        XCTAssertEqual(train.classCounts(), Array(repeating: 6_000, count: 10))
        XCTAssertEqual(test.classCounts(), Array(repeating: 1_000, count: 10))
    }

    /// Constants read independently with Python's gzip module:
    /// `d = gzip.open(".../train-images-idx3-ubyte.gz").read(); d[16 + i]`.
    func testPixelsAndLabelsMatchIndependentReader() throws {
        let (train, test, _) = try loaded()
        let image0 = Array(train.pixels(of: 0))
        let expected: [(Int, UInt8)] = [(0, 0), (96, 1), (99, 13), (100, 73), (103, 1), (104, 4),
                                         (200, 0), (300, 210), (500, 220), (600, 219), (783, 0)]
        for (position, value) in expected {
            XCTAssertEqual(image0[position], value, "train image 0, pixel \(position)")
        }
        XCTAssertEqual(Array(train.labels[0 ..< 10]), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        let test0 = Array(test.pixels(of: 0))
        XCTAssertEqual(test0[350], 115)
        XCTAssertEqual(test0[400], 1)
        XCTAssertEqual(test0[500], 172)
        XCTAssertEqual(Array(test.labels[0 ..< 10]), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
    }

    func testBatchConversionOfRealImages() throws {
        let (train, _, _) = try loaded()
        var batch = [Float]()
        let labels = train.writeBatch(indices: [1, 0], into: &batch, normalization: .fashionMNIST)
        XCTAssertEqual(labels, [0, 9])
        XCTAssertEqual(batch.count, 2 * 784)
        let expected = (Float(73) / 255 - 0.2860) / 0.3530
        XCTAssertEqual(batch[784 + 100], expected, accuracy: 1e-5)
        XCTAssertEqual(batch[784 + 0], -0.2860 / 0.3530, accuracy: 1e-5)
    }

    func testSubsetKeepsFirstSamples() throws {
        let (train, test, _) = try loaded()
        let small = train.subset(first: 600)
        XCTAssertEqual(small.count, 600)
        XCTAssertEqual(Array(small.pixels(of: 599)), Array(train.pixels(of: 599)))
        XCTAssertEqual(test.subset(first: 100).labels, Array(test.labels[0 ..< 100]))
        XCTAssertEqual(train.subset(first: 1_000_000).count, 60_000)
    }
}
