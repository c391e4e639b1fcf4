import XCTest
@testable import ResNetTraining
#if canImport(Glibc)
import Glibc
#endif

final class ProcessStatsTests: XCTestCase {
    /// Resident pages of this process, from /proc/self/statm (bytes).
    private func residentBytes() throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        let fields = text.split(separator: " ").compactMap { Int($0) }
        return fields[1] * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testReleaseFreePagesGivesBackAHoleInTheHeap() throws {
        #if os(Linux)
        // 64 MB in chunks small enough for the heap (under glibc's mmap threshold), written so
        // that they are resident; one chunk after them stays, so that their memory, once free, is
        // a hole below the top of the heap, which free() itself never gives back.
        let chunk = 64 << 10, count = 1024
        var chunks: [UnsafeMutableRawPointer] = (0..<count).map { _ in malloc(chunk)! }
        for p in chunks { memset(p, 1, chunk) }
        let pin = malloc(chunk)!
        memset(pin, 1, chunk)
        defer { free(pin) }
        for p in chunks { free(p) }
        chunks.removeAll()
        let before = try residentBytes()
        ProcessStats.releaseFreePages()
        let after = try residentBytes()
        // The hole is 64 MB; other threads of the test process may allocate meanwhile.
        XCTAssertGreaterThan(before - after, 32 << 20, "resident \(before) → \(after) bytes")
        #else
        throw XCTSkip("glibc only")
        #endif
    }
}
