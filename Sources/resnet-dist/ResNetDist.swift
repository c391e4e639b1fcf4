import ArgumentParser
import Foundation
import ResNetDistributed

/// The `resnet-dist` command: multi-level and Runge–Kutta ResNet training over MPI.
@main
struct ResNetDist: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "resnet-dist",
        abstract: "Train residual networks across MPI processes, multi-level and with Runge–Kutta blocks.",
        discussion: """
            Start it under mpirun, one process per rank, e.g.

              mpirun -np 4 resnet-dist train --experiment fashion --variant multilevel

            With no subcommand it runs `compare --experiment regression`: three variants × three \
            seeds, no data files, about a minute on 2 cores, ending in a table and a verdict. Without \
            mpirun it runs as a single process.
            """,
        version: "resnet-dist \(version)",
        subcommands: [CompareCommand.self, TrainCommand.self, EvalCommand.self, ResultsCommand.self, ExperimentsCommand.self, BenchCommand.self, SelfTestCommand.self, ExportPeerCommand.self, NewestCheckpointCommand.self],
        defaultSubcommand: CompareCommand.self
    )

    /// Installs the stop-signal handlers before anything else (a stop during start-up is then
    /// neither lost nor fatal), tunes the process, starts MPI and checks that every rank runs the
    /// same command line, then parses it and runs the subcommand.
    static func main() {
        do { try StopSignals.install() } catch {
            JobStart.printError("\(error)")
            Foundation.exit(1)
        }
        ProcessTuning.retainFreedMemory()
        let arguments = Array(CommandLine.arguments.dropFirst())
        let comm = JobStart.communicator(arguments: arguments)
        var command = JobStart.parse(arguments, comm: comm)
        // Only training stops at a step boundary; every other command takes the signals' default
        // effect, as it would without the handlers.
        if !(command is TrainCommand || command is CompareCommand) { StopSignals.uninstall() }
        if let comm, !(command is JobCommand) { JobStart.runOnRoot(&command, comm: comm) }
        do {
            try command.run()
        } catch {
            guard let comm else { exit(withError: error) }
            // Errors inside a job are handled by runMPIJob; what reaches here came from a
            // command that runs the same way on every rank, so every rank has it.
            if comm.isRoot { FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8)) }
            JobStart.leave(comm, code: exitCode(for: error).rawValue)
        }
        comm?.finalize()
    }
}
