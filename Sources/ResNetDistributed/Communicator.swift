import ResNetBase

/// The collectives the trainer uses, independent of the transport.
///
/// `MPICommunicator` runs them over Open MPI through the C shim; `SingleProcessCommunicator`
/// is the same interface for one process, where every reduction is the identity. Everything
/// above the trainer is written against this protocol, so the library runs without mpirun.
///
/// ```swift
/// let comm: Communicator = try MPICommunicator.shared()
/// var grads: [Float] = ...
/// try comm.allreduceSum(&grads)
/// ```
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Host name as MPI reports it (the machine's name for the single-process case).
    var processorName: String { get }

    func barrier() throws
    /// In-place sum over ranks in one collective, for a buffer whose length every rank is known
    /// to share (checked once with `agreeOnLength`, or fixed by a model the ranks agreed on):
    /// lengths are not checked, and differing ones are undefined behaviour in MPI. Elsewhere use
    /// `allreduceSum(_:)`, which checks.
    func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Float>) throws
    func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Double>) throws
    /// In-place elementwise min and max over ranks.
    func allreduceMin(_ buffer: UnsafeMutableBufferPointer<Int64>) throws
    func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws
    /// Starts an in-place sum without waiting; the buffer must stay alive and untouched until
    /// `wait()` on the returned value. Lengths are not checked (call `agreeOnLength` once first).
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction
    /// Broadcast of raw bytes from `root`; every rank passes a buffer of the same size.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Gathers one fixed-size record from every rank; `root` gets them in rank order, others nil.
    func gather(record: [UInt8], root: Int) throws -> [[UInt8]]?
    /// Ends the whole job with `code`.
    func abort(code: Int32) -> Never
}

/// A non-blocking reduction in flight.
public protocol PendingReduction: AnyObject {
    func wait() throws
}

public enum CommunicatorError: Error, CustomStringConvertible, Equatable {
    /// MPI returned an error code; `message` is MPI's own text for it.
    case mpi(function: String, code: Int32, message: String)
    /// Ranks passed buffers of different lengths to a collective.
    case lengthMismatch(operation: String, local: Int, minimum: Int, maximum: Int)
    /// Ranks disagree about something that must be identical (config, model, data).
    case disagreement(what: String, detail: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .mpi(function, code, message):
            return "\(function) failed with MPI error \(code): \(message)"
        case let .lengthMismatch(operation, local, minimum, maximum):
            return "\(operation): ranks passed buffers of different lengths (this rank \(local), "
                + "smallest \(minimum), largest \(maximum)); every rank must reduce the same number "
                + "of elements — check that all ranks built the same model from the same config"
        case let .disagreement(what, detail):
            return "ranks disagree about \(what): \(detail)"
        case let .invalidArgument(text):
            return text
        }
    }
}

/// An error that every rank raises together (same arguments, an agreement check, a reduced
/// value), so the job can shut MPI down cleanly instead of aborting.
public protocol CollectiveError: Error {}

extension CommunicatorError: CollectiveError {}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// In-place sum over ranks. Every rank must pass the same count; a mismatch throws
    /// `CommunicatorError.lengthMismatch` on every rank instead of reducing (three collectives:
    /// the check's two and the sum).
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try agreeOnLength(buffer.count, operation: "allreduceSum(Float)")
        try allreduceSum(agreedLength: buffer)
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try agreeOnLength(buffer.count, operation: "allreduceSum(Double)")
        try allreduceSum(agreedLength: buffer)
    }

    public func allreduceSum(_ array: inout [Float]) throws {
        try array.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    public func allreduceSum(_ array: inout [Double]) throws {
        try array.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// Throws `lengthMismatch` on every rank unless all ranks pass the same `count`.
    public func agreeOnLength(_ count: Int, operation: String) throws {
        var lo: [Int64] = [Int64(count)]
        var hi: [Int64] = [Int64(count)]
        try lo.withUnsafeMutableBufferPointer { try allreduceMin($0) }
        try hi.withUnsafeMutableBufferPointer { try allreduceMax($0) }
        if lo[0] != hi[0] {
            throw CommunicatorError.lengthMismatch(
                operation: operation, local: count, minimum: Int(lo[0]), maximum: Int(hi[0]))
        }
    }

    /// Checks that every rank holds the same value for each named item (e.g. a config hash,
    /// a parameter count). Throws `disagreement` on every rank, naming the first item that differs.
    public func verifyAgreement(_ items: [(name: String, value: Int64)]) throws {
        try agreeOnLength(items.count, operation: "verifyAgreement")
        var lo = items.map(\.value)
        var hi = lo
        try lo.withUnsafeMutableBufferPointer { try allreduceMin($0) }
        try hi.withUnsafeMutableBufferPointer { try allreduceMax($0) }
        for (i, item) in items.enumerated() where lo[i] != hi[i] {
            throw CommunicatorError.disagreement(
                what: item.name,
                detail: "rank \(rank) has \(item.value), values across ranks range over "
                    + "\(lo[i])...\(hi[i]); start every rank with the same arguments and files")
        }
    }

    /// Broadcasts a byte array of any length from `root`; other ranks' `bytes` are replaced.
    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        var length: [UInt8] = withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Array($0) }
        try length.withUnsafeMutableBytes { try broadcast($0, root: root) }
        let count = Int(length.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        if rank != root { bytes = [UInt8](repeating: 0, count: count) }
        try bytes.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// Broadcasts a Float array in place from `root` (all ranks must hold the same count).
    public func broadcast(_ values: inout [Float], root: Int) throws {
        try agreeOnLength(values.count, operation: "broadcast")
        try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// Broadcasts a Double array in place from `root` (all ranks must hold the same count).
    public func broadcast(_ values: inout [Double], root: Int) throws {
        try agreeOnLength(values.count, operation: "broadcast")
        try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }
}

/// FNV-1a over bytes: a stable hash for agreement checks (not for security).
public func stableHash<S: Sequence>(_ bytes: S) -> Int64 where S.Element == UInt8 {
    var hash = FNV1a64()
    hash.update(bytes)
    return Int64(bitPattern: hash.value)
}
