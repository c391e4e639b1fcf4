import CMPIShim
#if canImport(Glibc)
import Glibc
#endif

/// Open MPI through resnet-dist's C shim, on MPI_COMM_WORLD.
///
/// MPI can be initialised once per process, so there is one shared instance; it finalises MPI
/// when `finalize()` is called (the CLI does so on exit).
///
/// ```swift
/// let comm = try MPICommunicator.shared()
/// print(comm.rank, comm.size)
/// ```
public final class MPICommunicator: Communicator {
    nonisolated(unsafe) private static var instance: MPICommunicator?

    public let rank: Int
    public let size: Int
    public let processorName: String

    /// Initialises MPI on first use.
    public static func shared() throws -> MPICommunicator {
        if let instance { return instance }
        let made = try MPICommunicator()
        instance = made
        return made
    }

    /// True when this process was started by mpirun/srun (Open MPI's or PMIx's variables are set).
    public static var launchedByMPI: Bool {
        let names = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"]
        return names.contains { getenv($0) != nil }
    }

    private init() throws {
        var flag: Int32 = 0
        try check(rd_mpi_initialized(&flag), "MPI_Initialized")
        if flag == 0 {
            var provided: Int32 = 0
            try check(rd_mpi_init(&provided), "MPI_Init_thread")
        }
        var r: Int32 = 0
        var s: Int32 = 0
        try check(rd_mpi_rank(&r), "MPI_Comm_rank")
        try check(rd_mpi_size(&s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
        var name = [CChar](repeating: 0, count: 512)
        try check(rd_mpi_processor_name(&name, Int32(name.count)), "MPI_Get_processor_name")
        processorName = String(cString: name)
    }

    /// Finalises MPI (idempotent).
    public func finalize() {
        var flag: Int32 = 0
        _ = rd_mpi_finalized(&flag)
        if flag == 0 { _ = rd_mpi_finalize() }
    }

    public func barrier() throws {
        try check(rd_mpi_barrier(), "MPI_Barrier")
    }

    public func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Float>) throws {
        try check(rd_mpi_allreduce_sum_f32(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce")
    }

    public func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Double>) throws {
        try check(rd_mpi_allreduce_sum_f64(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce")
    }

    public func allreduceMin(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {
        try check(rd_mpi_allreduce_min_i64(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce(MIN)")
    }

    public func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {
        try check(rd_mpi_allreduce_max_i64(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce(MAX)")
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        let pending = MPIPendingReduction()
        try check(rd_mpi_iallreduce_sum_f32(buffer.baseAddress, Int64(buffer.count), &pending.request),
                  "MPI_Iallreduce")
        return pending
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        try check(rd_mpi_bcast_bytes(buffer.baseAddress, Int64(buffer.count), Int32(root)), "MPI_Bcast")
    }

    public func gather(record: [UInt8], root: Int) throws -> [[UInt8]]? {
        try agreeOnLength(record.count, operation: "gather")
        var all = [UInt8](repeating: 0, count: rank == root ? record.count * size : 1)
        try record.withUnsafeBytes { send in
            try all.withUnsafeMutableBytes { recv in
                try check(rd_mpi_gather_bytes(send.baseAddress, Int32(record.count), recv.baseAddress, Int32(root)),
                          "MPI_Gather")
            }
        }
        guard rank == root else { return nil }
        return (0..<size).map { Array(all[$0 * record.count ..< ($0 + 1) * record.count]) }
    }

    public func abort(code: Int32) -> Never {
        _ = rd_mpi_abort(code)
        exit(code)
    }
}

final class MPIPendingReduction: PendingReduction {
    var request = rd_mpi_request(handle: nil)

    func wait() throws {
        guard request.handle != nil else { return }
        try check(rd_mpi_wait(&request), "MPI_Wait")
    }

    deinit {
        if request.handle != nil { _ = rd_mpi_wait(&request) }
    }
}

/// Turns an MPI return code into a thrown error carrying MPI's own message.
func check(_ code: Int32, _ function: String) throws {
    guard code != rd_mpi_success() else { return }
    var text = [CChar](repeating: 0, count: 512)
    rd_mpi_error_string(code, &text, Int32(text.count))
    throw CommunicatorError.mpi(function: function, code: code, message: String(cString: text))
}
