import XCTest
@testable import ResNetDistributed

final class StopSignalsTests: XCTestCase {
    override func tearDown() {
        StopSignals.reset()
        StopSignals.uninstall()
    }

    /// One stop reaches a rank by several routes at once (Slurm's TERM, the batch script's USR1,
    /// mpirun's relay, Ctrl-C to the process group): the repeats must not end the process, and
    /// the first signal is the one reported. Before, the second signal called _exit and this test
    /// process died.
    func testRepeatedRequestsWithinTheWindowAreOneRequest() throws {
        try StopSignals.install()
        StopSignals.reset()
        XCTAssertNil(StopSignals.received)
        raise(SIGTERM)
        raise(SIGUSR1)
        raise(SIGTERM)
        raise(SIGINT)   // within RD_STOP_REPEAT_SECONDS of the first: the same request
        XCTAssertEqual(StopSignals.received, SIGTERM)
        XCTAssertEqual(StopSignals.repeatSeconds, 2)
    }

    func testUninstallWithoutARequestRestoresTheDefaults() throws {
        try StopSignals.install()
        StopSignals.reset()
        StopSignals.uninstall()
        var current = sigaction()
        sigaction(SIGUSR1, nil, &current)
        XCTAssertEqual(unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self),
                       unsafeBitCast(SIG_DFL, to: Int.self))
    }
}
