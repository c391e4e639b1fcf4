import CMPIShim
import Foundation

/// SIGTERM, SIGINT and SIGUSR1 as requests to stop cleanly.
///
/// After `install()` (the first thing `main` does, so that no request during start-up is lost or
/// fatal), the first of these signals only sets a flag; the trainer reads it after every step,
/// the ranks agree on it within that step's allreduce, and rank 0 writes a checkpoint before the
/// job exits with `StopSignals.exitCode`. Repeats are the same request (one stop reaches a rank by
/// several routes under mpirun and Slurm); only a second Ctrl-C (SIGINT) at least
/// `repeatSeconds` after the first request ends the process at once (exit 130).
public enum StopSignals {
    /// The exit status of a run stopped by a signal after writing its checkpoint (EX_TEMPFAIL:
    /// try again — resume from the checkpoint).
    public static let exitCode: Int32 = 75

    public static func install() throws {
        guard rd_stop_install() == 0 else {
            throw CommunicatorError.invalidArgument("cannot install the stop-signal handlers: \(String(cString: strerror(errno)))")
        }
    }

    /// Commands that do not stop at a step boundary give the signals their default effect back
    /// (a request that already arrived takes effect now).
    public static func uninstall() {
        _ = rd_stop_uninstall()
    }

    /// How long after the first request a second SIGINT counts as a person's "exit now".
    public static let repeatSeconds = Int(RD_STOP_REPEAT_SECONDS)

    /// The signal number of the first stop request, or nil.
    public static var received: Int32? {
        let s = rd_stop_signal()
        return s == 0 ? nil : s
    }

    public static var isRequested: Bool { rd_stop_signal() != 0 }

    /// Sets the flag as if `signal` had arrived (tests).
    public static func simulate(_ signal: Int32 = SIGTERM) { rd_stop_request(signal) }

    /// Clears the flag (tests).
    public static func reset() { rd_stop_request(0) }

    /// The signal as a person would recognise what they did: under mpirun a Ctrl-C, `kill` or
    /// `scancel` all reach the ranks as SIGTERM, so that one says where it may have come from.
    public static func name(_ signal: Int32, underMPIRun: Bool = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil) -> String {
        switch signal {
        case SIGTERM: return underMPIRun ? "SIGTERM (a Ctrl-C, kill or scancel, as mpirun passes it on)" : "SIGTERM"
        case SIGINT: return "Ctrl-C (SIGINT)"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(signal)"
        }
    }
}
