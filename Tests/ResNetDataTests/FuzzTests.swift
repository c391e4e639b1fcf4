import Foundation
import XCTest
@testable import ResNetData

/// Bounded, seeded fuzzing: every mutated input ends in a readable DataError or a correct load.
final class FuzzTests: XCTestCase {
    enum Outcome { case loaded, rejected }

    /// Applies one random mutation: truncation, bit flips, a rewritten header word, appended bytes,
    /// or a random byte overwritten.
    func mutate(_ input: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        switch rng.next(below: 5) {
        case 0:
            bytes = Array(bytes.prefix(Int(rng.next(below: UInt64(bytes.count + 1)))))
        case 1:
            for _ in 0 ... rng.next(below: 4) where !bytes.isEmpty {
                let i = Int(rng.next(below: UInt64(bytes.count)))
                bytes[i] ^= 1 << UInt8(rng.next(below: 8))
            }
        case 2:
            let word = Int(rng.next(below: 4)) * 4
            let values: [UInt32] = [0, 1, 2, 3, 0x803, 0x801, 0xFFFF_FFFF, 0x8000_0000, UInt32(truncatingIfNeeded: rng.next())]
            let value = values[Int(rng.next(below: UInt64(values.count)))]
            for k in 0 ..< 4 where word + k < bytes.count { bytes[word + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * k)) }
        case 3:
            bytes += (0 ... rng.next(below: 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        default:
            if !bytes.isEmpty { bytes[Int(rng.next(below: UInt64(bytes.count)))] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        return bytes
    }

    /// Decodes like the file loader does, then parses; checks a success against a naive reading.
    func tryImages(_ bytes: [UInt8], path: String) -> Outcome {
        do {
            let decoded = Gzip.isGzip(bytes) ? try Gzip.decompress(bytes, path: path) : bytes
            let parsed = try IDXReader.parseImages(decoded, path: path)
            XCTAssertEqual(Array(decoded[0 ..< 4]), [0, 0, 8, 3])
            XCTAssertEqual(parsed.count, Int(readUInt32BE(decoded, 4)))
            XCTAssertEqual(parsed.height, Int(readUInt32BE(decoded, 8)))
            XCTAssertEqual(parsed.width, Int(readUInt32BE(decoded, 12)))
            XCTAssertEqual(parsed.pixels.count, parsed.count * parsed.height * parsed.width)
            XCTAssertEqual(parsed.pixels, Array(decoded[16...]))
            return .loaded
        } catch {
            XCTAssertTrue(error.description.contains(path), "message must name the file: \(error)")
            return .rejected
        }
    }

    func tryLabels(_ bytes: [UInt8], path: String) -> Outcome {
        do {
            let decoded = Gzip.isGzip(bytes) ? try Gzip.decompress(bytes, path: path) : bytes
            let labels = try IDXReader.parseLabels(decoded, path: path)
            XCTAssertEqual(labels.count, Int(readUInt32BE(decoded, 4)))
            XCTAssertTrue(labels.allSatisfy { $0 < 10 })
            return .loaded
        } catch {
            XCTAssertTrue(error.description.contains(path), "message must name the file: \(error)")
            return .rejected
        }
    }

    func testMutatedIDXInputs() {
        var rng = SplitMix64(seed: 2024)
        let set = smallImageSet(count: 6)
        let images = idxBytes(magic: 0x803, dims: [6, 4, 3], payload: set.images)
        let labels = idxBytes(magic: 0x801, dims: [6], payload: set.labels)
        var outcomes = [Outcome: Int]()
        for round in 0 ..< 3000 {
            let gzip = round % 2 == 1
            if round % 3 == 0 {
                let input = gzip ? Gzip.compress(labels) : labels
                outcomes[tryLabels(mutate(input, rng: &rng), path: "fuzz-labels-\(round)"), default: 0] += 1
            } else {
                let input = gzip ? Gzip.compress(images) : images
                var mutated = mutate(input, rng: &rng)
                if rng.next(below: 4) == 0 { mutated = mutate(mutated, rng: &rng) }
                outcomes[tryImages(mutated, path: "fuzz-images-\(round)"), default: 0] += 1
            }
        }
        print("IDX fuzz: \(outcomes[.loaded, default: 0]) loaded, \(outcomes[.rejected, default: 0]) rejected")
        XCTAssertGreaterThan(outcomes[.loaded, default: 0], 100, "pixel-only mutations should still load")
        XCTAssertGreaterThan(outcomes[.rejected, default: 0], 1000)
    }

    func testMutatedCIFARInputs() {
        var rng = SplitMix64(seed: 7)
        var valid = [UInt8]()
        for r in 0 ..< 2 { valid += [UInt8(r + 3)] + (0 ..< 3072).map { UInt8(truncatingIfNeeded: $0 ^ r) } }
        var loaded = 0, rejected = 0
        for round in 0 ..< 1000 {
            var bytes = mutate(valid, rng: &rng)
            if round % 4 == 0 { bytes[0] = UInt8(truncatingIfNeeded: rng.next()) }   // label field
            let path = "fuzz-cifar-\(round).bin"
            do {
                let batch = try CIFAR10.parseBatch(bytes, path: path)
                XCTAssertEqual(bytes.count % 3073, 0)
                XCTAssertEqual(batch.labels.count, bytes.count / 3073)
                XCTAssertEqual(batch.pixels.count, batch.labels.count * 3072)
                XCTAssertTrue(batch.labels.allSatisfy { $0 < 10 })
                XCTAssertEqual(batch.labels[0], bytes[0])
                XCTAssertEqual(Array(batch.pixels[0 ..< 3072]), Array(bytes[1 ..< 3073]))
                loaded += 1
            } catch {
                XCTAssertTrue(error.description.contains(path))
                rejected += 1
            }
        }
        print("CIFAR fuzz: \(loaded) loaded, \(rejected) rejected")
        XCTAssertGreaterThan(loaded, 50)
        XCTAssertGreaterThan(rejected, 200)
    }

    /// Through real files and the public loader: a few hundred damaged directories.
    func testMutatedFilesThroughLoader() throws {
        var rng = SplitMix64(seed: 99)
        let dir = try makeTemporaryDirectory(self)
        try writeFashionLike(in: dir)
        let names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
        let originals = try names.map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))) }
        var loaded = 0, rejected = 0
        for _ in 0 ..< 200 {
            let victim = Int(rng.next(below: 4))
            try write(mutate(originals[victim], rng: &rng), to: dir + "/" + names[victim])
            do {
                let (train, test) = try loadFashionMNIST(directory: dir)
                XCTAssertEqual(train.images.count, train.count * train.sampleSize)
                XCTAssertEqual(test.images.count, test.count * test.sampleSize)
                loaded += 1
            } catch let error as DataError {
                XCTAssertTrue(error.description.contains(dir), "\(error)")
                rejected += 1
            }
            try write(originals[victim], to: dir + "/" + names[victim])
        }
        print("loader fuzz: \(loaded) loaded, \(rejected) rejected")
        XCTAssertGreaterThan(rejected, 100)
    }
}
