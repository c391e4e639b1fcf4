import ArgumentParser
import Foundation
import ResNetDistributed

/// What `main` does on every rank before any subcommand runs.
///
/// Under mpirun or srun every rank initialises MPI first and the ranks agree that they were given
/// the same command line, so that ranks running different subcommands or flags (an MPMD job
/// `mpirun … train : … eval`, or `--help` on one rank) end at once instead of each waiting in a
/// collective the others never reach. Parsing then happens on every rank, but only one rank
/// prints a usage error, help or the version, and every rank leaves with the same exit code
/// through MPI_Finalize.
/// Subcommands whose work is spread over the job's ranks (through `runMPIJob`); every other
/// subcommand runs on rank 0 alone under mpirun, so that its output appears once.
protocol JobCommand {}
extension TrainCommand: JobCommand {}
extension CompareCommand: JobCommand {}
extension EvalCommand: JobCommand {}
extension SelfTestCommand: JobCommand {}
extension BenchCommand: JobCommand {}

enum JobStart {
    /// Subcommands that never start MPI: run by scripts inside a batch allocation, where Slurm's
    /// variables make any process look MPI-launched.
    static let localOnly: Set<String> = ["newest-checkpoint"]

    /// The exit code of ranks that were started with different command lines (EX_USAGE).
    static let mismatchExitCode: Int32 = 64

    /// The job's MPI communicator when this process was started by mpirun/srun, after checking
    /// that every rank runs the same arguments; nil for a single process.
    static func communicator(arguments: [String]) -> MPICommunicator? {
        guard MPICommunicator.launchedByMPI, !localOnly.contains(arguments.first ?? "") else { return nil }
        let comm: MPICommunicator
        do { comm = try MPICommunicator.shared() } catch {
            printError("cannot start MPI: \(error)")
            exit(1)
        }
        do {
            if let problem = try differingArguments(comm, arguments) {
                if comm.isRoot { printError(problem) }
                leave(comm, code: mismatchExitCode)
            }
        } catch {
            printError("rank \(comm.rank): cannot compare the ranks' command lines: \(error)")
            comm.abort(code: 1)
        }
        return comm
    }

    /// Nil when every rank has the same arguments, else (on rank 0) the message naming the ranks
    /// that differ from rank 0's command line.
    static func differingArguments(_ comm: Communicator, _ arguments: [String]) throws -> String? {
        let hash = stableHash(arguments.joined(separator: "\u{0}").utf8)
        var lo = [hash], hi = [hash]
        try lo.withUnsafeMutableBufferPointer { try comm.allreduceMin($0) }
        try hi.withUnsafeMutableBufferPointer { try comm.allreduceMax($0) }
        guard lo[0] != hi[0] else { return nil }
        let record = withUnsafeBytes(of: hash.littleEndian) { Array($0) }
        guard let all = try comm.gather(record: record, root: 0) else { return "" }
        let others = all.indices.filter { all[$0] != record }
        let which = (others.count == 1 ? "rank " : "ranks ") + others.map(String.init).joined(separator: ", ")
        let shown = arguments.isEmpty ? "(no arguments)" : arguments.joined(separator: " ")
        return "the ranks were started with different subcommands or arguments: \(which) \(others.count == 1 ? "differs" : "differ") from rank 0's `resnet-dist \(shown)`; "
            + "start every rank with the same command line (one program for all ranks, no `mpirun … : …`)"
    }

    /// Parses the command line on every rank; exits every rank with the same code when any
    /// rank's parse ends the process (an error, --help, --version), printed by one rank only.
    static func parse(_ arguments: [String], comm: Communicator?) -> ParsableCommand {
        var outcome: Result<ParsableCommand, Error>
        do { outcome = .success(try ResNetDist.parseAsRoot(arguments)) } catch { outcome = .failure(error) }
        guard let comm else {
            if case .failure(let error) = outcome { ResNetDist.exit(withError: error) }
            return try! outcome.get()
        }
        // 0: parsed, run it; 1 + code: leave with that code.
        var local: Int64 = 0
        if case .failure(let error) = outcome { local = 1 + Int64(ResNetDist.exitCode(for: error).rawValue) }
        // The highest code wins; the lowest rank whose parse ended it prints.
        var code = [local], printer = [local > 0 ? Int64(comm.rank) : Int64.max]
        do {
            try code.withUnsafeMutableBufferPointer { try comm.allreduceMax($0) }
            try printer.withUnsafeMutableBufferPointer { try comm.allreduceMin($0) }
        } catch {
            printError("rank \(comm.rank): cannot agree on the command line: \(error)")
            comm.abort(code: 1)
        }
        if case .success(let command) = outcome, code[0] == 0 { return command }
        if case .failure(let error) = outcome, Int64(comm.rank) == printer[0] {
            let message = ResNetDist.fullMessage(for: error)
            let code = ResNetDist.exitCode(for: error)
            if !message.isEmpty {
                let stream = code == .success ? FileHandle.standardOutput : FileHandle.standardError
                stream.write(Data((message + "\n").utf8))
            }
        }
        leave(comm, code: Int32(code[0] - 1))
    }

    /// Runs a command that is not a `JobCommand` on rank 0 only; every rank leaves with its exit code.
    static func runOnRoot(_ command: inout ParsableCommand, comm: MPICommunicator) -> Never {
        var code: [Double] = [0]
        if comm.isRoot {
            do { try command.run() } catch {
                let message = ResNetDist.fullMessage(for: error)
                if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
                code[0] = Double(ResNetDist.exitCode(for: error).rawValue)
            }
        }
        do { try comm.broadcast(&code, root: 0) } catch { comm.abort(code: 1) }
        leave(comm, code: Int32(code[0]))
    }

    /// Finalises MPI and exits with `code` (every rank calls it with the same code).
    static func leave(_ comm: MPICommunicator, code: Int32) -> Never {
        try? comm.barrier()
        comm.finalize()
        exit(code)
    }

    static func leave(_ comm: Communicator, code: Int32) -> Never {
        try? comm.barrier()
        (comm as? MPICommunicator)?.finalize()
        exit(code)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data("resnet-dist: error: \(text)\n".utf8))
    }
}
