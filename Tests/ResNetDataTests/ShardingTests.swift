import XCTest
@testable import ResNetData

final class ShardingTests: XCTestCase {
    func testPartsCoverEachEpochExactlyOnce() {
        for datasetSize in [0, 1, 7, 100, 1003] {
            for batch in [1, 3, 4, 64, 256, 2000] {
                let sharder = GlobalBatchSharder(datasetSize: datasetSize, globalBatchSize: batch, seed: 5)
                XCTAssertEqual(sharder.stepsPerEpoch, (datasetSize + batch - 1) / batch)
                for epoch in 0 ..< 2 {
                    let plan = sharder.epoch(epoch)
                    XCTAssertEqual(plan.permutation.sorted(), Array(0 ..< datasetSize))
                    for worldSize in 1 ... 5 {
                        var union = [Int]()
                        for step in 0 ..< plan.stepsPerEpoch {
                            let expectedBatch = min(batch, datasetSize - step * batch)
                            var sizes = [Int]()
                            for rank in 0 ..< worldSize {
                                let shard = plan.shard(step: step, rank: rank, worldSize: worldSize)
                                XCTAssertEqual(shard.globalBatchSize, expectedBatch)
                                XCTAssertEqual(shard.stepsPerEpoch, sharder.stepsPerEpoch)
                                XCTAssertEqual(shard.offsetInBatch, union.count - step * batch)
                                sizes.append(shard.indices.count)
                                union += shard.indices
                            }
                            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "sizes \(sizes)")
                            XCTAssertEqual(sizes.reduce(0, +), expectedBatch)
                        }
                        // Concatenating ranks' parts step by step gives back the permutation itself.
                        XCTAssertEqual(union, plan.permutation, "n=\(datasetSize) B=\(batch) np=\(worldSize)")
                    }
                }
            }
        }
    }

    func testBatchSmallerThanWorldGivesEmptyShardsThatStillExist() {
        let sharder = GlobalBatchSharder(datasetSize: 10, globalBatchSize: 4, seed: 1)
        XCTAssertEqual(sharder.stepsPerEpoch, 3)
        XCTAssertEqual(sharder.batchSize(step: 2), 2)  // 4 + 4 + 2
        let shards = (0 ..< 5).map { sharder.shard(epoch: 0, step: 2, rank: $0, worldSize: 5) }
        XCTAssertEqual(shards.map(\.indices.count), [1, 1, 0, 0, 0])
        XCTAssertTrue(shards.allSatisfy { $0.globalBatchSize == 2 && $0.step == 2 })
    }

    func testPermutationDependsOnSeedAndEpochOnly() {
        let a = GlobalBatchSharder(datasetSize: 1000, globalBatchSize: 32, seed: 42)
        let b = GlobalBatchSharder(datasetSize: 1000, globalBatchSize: 100, seed: 42)
        XCTAssertEqual(a.permutation(epoch: 3), b.permutation(epoch: 3))
        XCTAssertEqual(a.permutation(epoch: 3), a.permutation(epoch: 3))
        XCTAssertNotEqual(a.permutation(epoch: 3), a.permutation(epoch: 4))
        XCTAssertNotEqual(a.permutation(epoch: 0), GlobalBatchSharder(datasetSize: 1000, globalBatchSize: 32, seed: 43).permutation(epoch: 0))
        XCTAssertNotEqual(a.permutation(epoch: 0), Array(0 ..< 1000))
        let ordered = GlobalBatchSharder(datasetSize: 9, globalBatchSize: 4, seed: 42, shuffle: false)
        XCTAssertEqual(ordered.permutation(epoch: 7), Array(0 ..< 9))
    }

    func testPartRangesAndEvaluationSplit() {
        XCTAssertEqual((0 ..< 3).map { GlobalBatchSharder.partRange(count: 10, part: $0, parts: 3) }, [0 ..< 4, 4 ..< 7, 7 ..< 10])
        for worldSize in 1 ... 5 {
            let ranges = (0 ..< worldSize).map { GlobalBatchSharder.evaluationRange(count: 10_000, rank: $0, worldSize: worldSize) }
            XCTAssertEqual(ranges.first!.lowerBound, 0)
            XCTAssertEqual(ranges.last!.upperBound, 10_000)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
            XCTAssertLessThanOrEqual(ranges.map(\.count).max()! - ranges.map(\.count).min()!, 1)
        }
    }

    func testShuffleIsUnbiasedEnough() {
        // Position of sample 0 over many epochs: roughly uniform over 0..<8.
        let sharder = GlobalBatchSharder(datasetSize: 8, globalBatchSize: 8, seed: 2)
        var counts = [Int](repeating: 0, count: 8)
        for epoch in 0 ..< 8000 { counts[sharder.permutation(epoch: epoch).firstIndex(of: 0)!] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 1000, accuracy: 150) }
    }
}
