import Foundation
import XCTest
@testable import ResNetTraining

/// The memory limit comes from the process's own cgroup (and its ancestors), not the root's.
final class CgroupMemoryLimitTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "resnet-dist-cgroup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Writes `text` to `path` under the temporary root, making the directories.
    func put(_ path: String, _ text: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func limit(_ procSelfCgroup: String) -> Double? {
        CgroupMemoryLimit.bytes(procSelfCgroup: procSelfCgroup, root: root)
    }

    func testV2TheProcessCgroupAndItsAncestorsNotOnlyTheRoot() throws {
        try put("memory.max", "max\n")
        try put("user.slice/memory.max", "max\n")
        try put("user.slice/job-42/memory.max", "4294967296\n")
        XCTAssertEqual(limit("0::/user.slice/job-42\n"), 4_294_967_296)
        // A tighter limit further up applies to everything below it.
        try put("user.slice/memory.max", "1073741824\n")
        XCTAssertEqual(limit("0::/user.slice/job-42\n"), 1_073_741_824)
        // Another cgroup's limit is not this process's.
        try put("other/memory.max", "1000\n")
        XCTAssertEqual(limit("0::/user.slice/job-42\n"), 1_073_741_824)
    }

    func testV2NoLimitAnywhere() throws {
        try put("memory.max", "max\n")
        try put("a/memory.max", "max\n")
        XCTAssertNil(limit("0::/a\n"))
        XCTAssertNil(limit(""), "no /proc/self/cgroup text")
        XCTAssertNil(limit("0::/a\n0::garbage\nnot a line\n"))
    }

    /// A container that sees its own cgroup as the mount's root: the path /proc/self/cgroup
    /// names is not there, so the walk reaches the root's file.
    func testV2PathMissingFromTheMountFallsBackToTheRoot() throws {
        try put("memory.max", "2147483648")
        XCTAssertEqual(limit("0::/docker/0123abcd\n"), 2_147_483_648)
        XCTAssertEqual(limit("0::/\n"), 2_147_483_648)
    }

    /// cgroup v1 (hybrid, as on this project's build machine): the memory controller's line.
    func testV1MemoryController() throws {
        try put("memory/memory.limit_in_bytes", "9223372036854771712\n")   // the root: no limit
        try put("memory/process_api/memory.limit_in_bytes", "9223372036854771712\n")
        try put("memory/process_api/a0b8/memory.limit_in_bytes", "3221225472\n")
        try put("memory.max", "1000")
        let text = "9:name=systemd:/\n4:memory:/process_api/a0b8\n3:cpuset:/\n0::/\n"
        // The v2 line names the root, whose memory.max (1000) applies too: both hierarchies count.
        XCTAssertEqual(limit(text), 1000)
        try FileManager.default.removeItem(atPath: root + "/memory.max")
        XCTAssertEqual(limit(text), 3_221_225_472)
        XCTAssertEqual(limit("4:cpu,memory:/process_api/a0b8\n"), 3_221_225_472)
    }

    /// The machine's figure is never above physical memory, with or without a limit.
    func testMachineBytesIsAtMostPhysicalMemory() {
        let physical = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        XCTAssertLessThanOrEqual(MemoryBudget.machineBytes(), physical)
        XCTAssertGreaterThan(MemoryBudget.machineBytes(), 0)
    }
}
