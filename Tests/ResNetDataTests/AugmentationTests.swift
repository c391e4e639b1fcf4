import XCTest
@testable import ResNetData

final class AugmentationTests: XCTestCase {
    func smallRGBSet(count: Int = 10) -> ImageDataset {
        var rng = SplitMix64(seed: 77)
        let images = (0 ..< count * 3 * 6 * 5).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return ImageDataset(images: images, labels: (0 ..< count).map { UInt8($0 % 10) }, channels: 3, height: 6, width: 5)
    }

    /// Naive reference: pad with zeros, crop at (padding + dy, padding + dx), then mirror.
    func reference(_ data: ImageDataset, sample: Int, move: (dy: Int, dx: Int, flip: Bool), padding: Int) -> [Float] {
        let (h, w) = (data.height, data.width)
        let (ph, pw) = (h + 2 * padding, w + 2 * padding)
        var out = [Float]()
        let px = Array(data.pixels(of: sample))
        for c in 0 ..< data.channels {
            var padded = [Float](repeating: 0, count: ph * pw)
            for y in 0 ..< h { for x in 0 ..< w { padded[(y + padding) * pw + x + padding] = Float(px[(c * h + y) * w + x]) / 255 } }
            for y in 0 ..< h {
                for x in 0 ..< w {
                    let cx = move.flip ? w - 1 - x : x
                    out.append(padded[(y + padding + move.dy) * pw + cx + padding + move.dx])
                }
            }
        }
        return out
    }

    func testAugmentedBatchMatchesNaiveReference() {
        let data = smallRGBSet()
        let augmentation = ImageAugmentation(seed: 5, epoch: 2, padding: 2)
        var batch = [Float]()
        let indices = Array(0 ..< data.count)
        XCTAssertEqual(data.writeBatch(indices: indices, into: &batch, augmentation: augmentation), indices.map { $0 % 10 })
        var sawFlip = false, sawShift = false
        for sample in indices {
            let move = augmentation.transform(forSample: sample)
            XCTAssertTrue((-2 ... 2).contains(move.dy) && (-2 ... 2).contains(move.dx))
            sawFlip = sawFlip || move.flip
            sawShift = sawShift || move.dx != 0 || move.dy != 0
            let got = Array(batch[sample * data.sampleSize ..< (sample + 1) * data.sampleSize])
            let maxDifference = zip(got, reference(data, sample: sample, move: move, padding: 2)).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(maxDifference, 1e-6, "sample \(sample) \(move)")
        }
        XCTAssertTrue(sawFlip && sawShift)
    }

    func testNormalisationAppliesPerChannel() {
        let data = smallRGBSet(count: 1)
        let norm = ImageNormalization(mean: [0.1, 0.5, 0.9], std: [0.5, 0.25, 2])
        var batch = [Float]()
        _ = data.writeBatch(indices: [0], into: &batch, normalization: norm)
        for c in 0 ..< 3 {
            let i = c * 30 + 7
            XCTAssertEqual(batch[i], (Float(data.images[i]) / 255 - norm.mean[c]) / norm.std[c], accuracy: 1e-5)
        }
        let stats = data.channelStatistics()
        let red = data.images[0 ..< 30].map { Double($0) / 255 }
        XCTAssertEqual(Double(stats.mean[0]), red.reduce(0, +) / 30, accuracy: 1e-6)
    }

    /// Whatever the number of ranks, the samples of a global batch get the same augmented pixels.
    func testAugmentationIndependentOfRankCount() {
        let data = smallRGBSet(count: 23)
        let sharder = GlobalBatchSharder(datasetSize: data.count, globalBatchSize: 8, seed: 9)
        let plan = sharder.epoch(1)
        let augmentation = ImageAugmentation(seed: 9, epoch: 1)
        for step in 0 ..< plan.stepsPerEpoch {
            var single = [Float]()
            _ = data.writeBatch(indices: plan.globalBatch(step: step), into: &single, augmentation: augmentation)
            for worldSize in 2 ... 5 {
                var joined = [Float]()
                for rank in 0 ..< worldSize {
                    var part = [Float]()
                    let shard = plan.shard(step: step, rank: rank, worldSize: worldSize)
                    _ = data.writeBatch(indices: shard.indices, into: &part, augmentation: augmentation)
                    joined += part.prefix(shard.indices.count * data.sampleSize)
                }
                XCTAssertEqual(joined, single, "step \(step), np \(worldSize)")
            }
        }
        // A different epoch draws different crops.
        let moves1 = (0 ..< 23).map { "\(augmentation.transform(forSample: $0))" }
        let moves2 = (0 ..< 23).map { "\(ImageAugmentation(seed: 9, epoch: 2).transform(forSample: $0))" }
        XCTAssertNotEqual(moves1, moves2)
    }
}
