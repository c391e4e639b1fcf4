import ArgumentParser
import Foundation
import ResNetDistributed
import ResNetTraining

extension ValidationError: CollectiveError {}

/// Runs `body` with the job's communicator and turns any error into a message on this rank and
/// a non-zero exit of the whole job — never a hang.
///
/// A collective error (all ranks fail the same way) finalises MPI and exits 1 on every rank. Any
/// other error may be local to this rank while the others wait in a collective, so it aborts the
/// job through MPI_Abort, which ends every rank promptly.
func runMPIJob(_ body: (Communicator) throws -> Void) throws {
    let comm = try makeCommunicator()
    do {
        try body(comm)
    } catch {
        let prefix = comm.size > 1 ? "rank \(comm.rank): " : ""
        if isStop(error) {
            // Every rank stopped at the same step; rank 0 says where the checkpoint is.
            if comm.isRoot { FileHandle.standardError.write(Data("resnet-dist: \(error)\n".utf8)) }
            try? comm.barrier()
            (comm as? MPICommunicator)?.finalize()
            Foundation.exit(StopSignals.exitCode)
        }
        if error is CollectiveError || comm.size == 1 {
            // Every rank is here. A usage or config error that every rank found alike is said
            // once; other errors by every rank, each before any exits, since mpirun tears the
            // job down at the first non-zero exit.
            let once = comm.size > 1 && sameOnEveryRank(isUsageError(error) ? "\(error)" : "rank \(comm.rank)", comm)
            if !once || comm.isRoot {
                FileHandle.standardError.write(Data("resnet-dist: \(once ? "" : prefix)error: \(error)\n".utf8))
            }
            try? comm.barrier()
            (comm as? MPICommunicator)?.finalize()
            Foundation.exit(1)
        }
        FileHandle.standardError.write(Data("resnet-dist: \(prefix)error: \(error)\n".utf8))
        comm.abort(code: 1)
    }
    (comm as? MPICommunicator)?.finalize()
}

/// A mistake in the command line or config file (the same on every rank that reads it).
func isUsageError(_ error: Error) -> Bool {
    let error = (error as? AgreedFailure)?.error ?? error
    return error is ValidationError || error is ConfigError
}

/// Whether `text` is the same on every rank (false if the ranks cannot tell).
func sameOnEveryRank(_ text: String, _ comm: Communicator) -> Bool {
    var lo = [stableHash(text.utf8)], hi = lo
    do {
        try lo.withUnsafeMutableBufferPointer { try comm.allreduceMin($0) }
        try hi.withUnsafeMutableBufferPointer { try comm.allreduceMax($0) }
    } catch { return false }
    return lo == hi
}

/// Whether training ended on a stop request (every rank agreed; exit 75, no error).
func isStop(_ error: Error) -> Bool {
    switch error {
    case TrainingError.stopped, TrainingError.stoppedBeforeStart, is ContinuedStop: return true
    default: return false
    }
}

/// A stop inside a job that continues as a whole (a comparison) rather than by
/// `train --resume <run>`: the stop's message names `command` as the way to continue.
struct ContinuedStop: Error, CustomStringConvertible {
    let stop: Error
    let command: String

    var description: String {
        let text = "\(stop)"
        guard let cut = text.range(of: "; continue with: ") else { return text }
        return text[..<cut.lowerBound] + "; continue with: " + command
    }
}

/// Makes SIGTERM, SIGINT and SIGUSR1 requests to stop after the current step (see `StopSignals`);
/// training commands call it once MPI is up.
func stopCleanlyOnSignals() throws {
    try StopSignals.install()
}

/// The MPI communicator under mpirun/srun, a single-process one otherwise.
func makeCommunicator() throws -> Communicator {
    MPICommunicator.launchedByMPI ? try MPICommunicator.shared() : SingleProcessCommunicator()
}
