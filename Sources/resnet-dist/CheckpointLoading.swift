import Foundation
import ResNetDistributed
import ResNetTraining

/// Rank 0 reads the checkpoint (its directory need not be visible to other hosts) and broadcasts
/// the file; every rank parses the same bytes.
func loadCheckpoint(_ path: String, comm: Communicator) throws -> TrainingCheckpoint {
    var bytes = try collectively(comm, "read the checkpoint") { () -> [UInt8] in
        guard comm.isRoot else { return [] }
        let file = try TrainingCheckpoint.locate(path)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TrainingError.output("cannot read the checkpoint \(file)")
        }
        return [UInt8](data)
    }
    try comm.broadcast(&bytes, root: 0)
    return try collectively(comm, "parse the checkpoint") {
        let file = try SafeTensorsFile.parse(bytes, source: path)
        return try TrainingCheckpoint.load(file, source: path)
    }
}
