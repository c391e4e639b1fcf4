import XCTest
import ResNetBench

/// The kernel benchmark's rows count the work of each kernel by its closed form; a wrong count
/// would make every rate and ratio in `launch/bench` wrong. (Times are not asserted: this is a
/// shared machine; the benchmark itself reports them.)
final class KernelBenchmarkTests: XCTestCase {
    func testRowsCountEachKernelsFlops() throws {
        let rows = try KernelBenchmark.run(batch: 2, gemmSize: 64, repetitions: 1)
        // 2·n³ for the sgemm; 2·out·in·9·H·W per image for a 3×3 convolution (forward), twice
        // that for backward (dW and dX); 2·32·32 per sample for the linear layer, ×3 with backward.
        let expected: [(String, Double)] = [
            ("sgemm 64x64x64 (reference)", 524_288),
            ("conv 16->16 28x28 b2 fwd", 7_225_344),
            ("conv 16->16 28x28 b2 bwd (dW+dX)", 14_450_688),
            ("conv 16->16 28x28 b2 fwd+bwd", 21_676_032),
            ("conv 32->32 14x14 b2 fwd", 7_225_344),
            ("conv 32->32 14x14 b2 bwd (dW+dX)", 14_450_688),
            ("conv 32->32 14x14 b2 fwd+bwd", 21_676_032),
            ("linear 32->32 b2 fwd+bwd", 12_288),
        ]
        XCTAssertEqual(rows.map(\.name), expected.map(\.0))
        for (row, (_, flops)) in zip(rows, expected) { XCTAssertEqual(row.flops, flops, row.name) }
        // Each ratio is the row's rate over the reference row's, measured in the same run.
        let reference = rows[0].flops / rows[0].seconds
        XCTAssertEqual(rows[0].ratioToReference, 1)
        for row in rows {
            XCTAssertGreaterThan(row.seconds, 0, row.name)
            XCTAssertEqual(row.ratioToReference, row.flops / row.seconds / reference, accuracy: 1e-9 * row.ratioToReference,
                           row.name)
        }
    }
}
