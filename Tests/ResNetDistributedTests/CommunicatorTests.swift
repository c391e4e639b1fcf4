import XCTest
@testable import ResNetDistributed

final class CommunicatorTests: XCTestCase {
    func testSingleProcessReductionsAreIdentities() throws {
        let comm = SingleProcessCommunicator()
        XCTAssertEqual(comm.rank, 0)
        XCTAssertEqual(comm.size, 1)
        var values: [Float] = [1, -2.5, 3e7]
        try comm.allreduceSum(&values)
        XCTAssertEqual(values, [1, -2.5, 3e7])
        var bytes: [UInt8] = [9, 8, 7]
        try comm.broadcast(&bytes, root: 0)
        XCTAssertEqual(bytes, [9, 8, 7])
        XCTAssertEqual(try comm.gather(record: [1, 2], root: 0), [[1, 2]])
    }

    func testSingleProcessRejectsRootsThatDoNotExist() {
        let comm = SingleProcessCommunicator()
        var bytes: [UInt8] = [1]
        XCTAssertThrowsError(try bytes.withUnsafeMutableBytes { try comm.broadcast($0, root: 1) }) { error in
            XCTAssertTrue("\(error)".contains("root 1 does not exist"), "\(error)")
        }
    }

    func testStableHashIsFNV1a() {
        // FNV-1a 64 of "" and "a" (published test vectors of the algorithm).
        XCTAssertEqual(UInt64(bitPattern: stableHash("".utf8)), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(UInt64(bitPattern: stableHash("a".utf8)), 0xaf63_dc4c_8601_ec8c)
        XCTAssertNotEqual(stableHash("epochs: 50".utf8), stableHash("epochs: 51".utf8))
    }

    func testErrorMessagesNameTheProblemAndTheFix() {
        let mismatch = CommunicatorError.lengthMismatch(operation: "allreduceSum(Float)", local: 10, minimum: 10, maximum: 11)
        XCTAssertTrue(mismatch.description.contains("different lengths"))
        XCTAssertTrue(mismatch.description.contains("same config"))
        let mpi = CommunicatorError.mpi(function: "MPI_Bcast", code: 8, message: "MPI_ERR_ROOT: invalid root")
        XCTAssertEqual(mpi.description, "MPI_Bcast failed with MPI error 8: MPI_ERR_ROOT: invalid root")
    }
}
