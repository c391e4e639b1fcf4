import ArgumentParser
import Foundation
import ResNetTraining

/// The checkpoint a job continues from, chosen by the binary's own rule, for scripts
/// (launch/slurm.sbatch): they must never parse or evaluate checkpoint file names themselves.
struct NewestCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "newest-checkpoint",
        abstract: "Print the newest valid checkpoint of the given run directories (nothing if none).",
        discussion: """
            Newest by epoch, then step, as numbers, as `train --resume DIR` chooses; files whose \
            names are not a checkpoint's position (copies, backups) are ignored, and a checkpoint \
            that does not read back whole (checksum, metadata) is passed over with a note on \
            stderr. Runs without MPI.
            """)

    @Argument(help: "Run directories.")
    var directories: [String] = []

    func run() throws {
        let (path, skipped) = TrainingCheckpoint.newestValid(in: directories)
        for note in skipped {
            FileHandle.standardError.write(Data("resnet-dist: passing over \(note)\n".utf8))
        }
        if let path { print(path) }
    }
}
