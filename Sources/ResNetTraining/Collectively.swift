import Foundation
import ResNetDistributed

/// Another rank failed at a step that every rank takes together.
public struct PeerFailure: CollectiveError, CustomStringConvertible {
    public let step: String
    public var description: String { "another rank failed to \(step) (its message says why); stopping this rank too" }
}

/// Runs a step that may fail on some ranks only (reading files, creating a directory) and makes
/// the outcome collective: if any rank failed, every rank throws — the failing ones their own
/// error, the others `PeerFailure` — so no rank is left waiting in a later collective.
public func collectively<T>(_ comm: Communicator, _ step: String, _ body: () throws -> T) throws -> T {
    let result: Result<T, Error>
    do { result = .success(try body()) } catch { result = .failure(error) }
    var failed: [Int64] = [0]
    if case .failure = result { failed[0] = 1 }
    try failed.withUnsafeMutableBufferPointer { try comm.allreduceMax($0) }
    if case .failure(let error) = result { throw AgreedFailure(error: error) }
    if failed[0] != 0 { throw PeerFailure(step: step) }
    return try result.get()
}

/// A local error that every rank knows about (through `collectively`); prints as the error itself.
public struct AgreedFailure: CollectiveError, CustomStringConvertible {
    public let error: Error
    public var description: String { "\(error)" }
}

/// Rank `root`'s value on every rank, sent as JSON: a typed message between ranks (`value` is
/// read on the root only). Numbers keep every bit; non-finite ones travel as strings.
public func broadcast<T: Codable>(_ value: T?, root: Int = 0, _ comm: Communicator) throws -> T {
    let encoder = JSONEncoder()
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    var bytes = comm.rank == root ? [UInt8](try encoder.encode(value)) : []
    try comm.broadcast(&bytes, root: root)
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(T.self, from: Data(bytes))
}
