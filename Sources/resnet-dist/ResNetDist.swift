import ArgumentParser
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

            With no subcommand it runs `compare --experiment regression`, which needs no data \
            files and finishes in seconds. Without mpirun it runs as a single process.
            """,
        version: "resnet-dist \(version)",
        subcommands: [CompareCommand.self, TrainCommand.self, EvalCommand.self, ResultsCommand.self, ExperimentsCommand.self, BenchCommand.self, SelfTestCommand.self, ExportPeerCommand.self],
        defaultSubcommand: CompareCommand.self
    )

    /// Tunes the process once, then parses the command line and runs the subcommand.
    static func main() {
        ProcessTuning.retainFreedMemory()
        main(nil)
    }
}
