import Foundation
import XCTest
@testable import ResNetCore

/// Benchmarks, not timed tests: they only run when RESNET_BENCH is set, e.g.
///   OPENBLAS_NUM_THREADS=1 RESNET_BENCH=1 swift test -c release -Xswiftc -enable-testing \
///       --filter BenchmarkTests
/// Without it, a tiny smoke run checks that the rows are well-formed.
final class BenchmarkTests: XCTestCase {
    var enabled: Bool { ProcessInfo.processInfo.environment["RESNET_BENCH"] != nil }

    func testKernelBenchmark() throws {
        let rows = enabled ? try KernelBenchmark.run() : try KernelBenchmark.run(batch: 2, gemmSize: 64, repetitions: 1)
        for row in rows { print(row.formatted) }
        XCTAssertEqual(rows.count, 8)
        XCTAssertTrue(rows.allSatisfy { $0.gflops > 0 && $0.ratioToReference > 0 })
    }

    func testModelBenchmark() throws {
        let specs = enabled ? ModelBenchmark.standardSpecs() : [ModelSpec.mlp(blocks: 1)]
        let rows = try ModelBenchmark.run(specs: specs, batch: enabled ? 64 : 2, repetitions: enabled ? 2 : 1)
        for row in rows {
            let s = row.spec
            print("\(s.kind) \(s.widths) blocks \(s.blocks) h \(s.h) \(s.integrator): "
                  + String(format: "%.1f µs/sample fwd+bwd, %.1f GFLOP/s", 1e6 * row.secondsPerSample, row.gflops))
        }
        XCTAssertTrue(rows.allSatisfy { $0.secondsPerSample > 0 })
    }
}
