#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A communicator for one process: size 1, every reduction and broadcast is the identity.
public final class SingleProcessCommunicator: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var processorName: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(cString: name)
    }

    public func barrier() throws {}
    public func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func allreduceMin(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {}
    public func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {}

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        CompletedReduction()
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard root == 0 else {
            throw CommunicatorError.invalidArgument("broadcast root \(root) does not exist in a job of 1 process")
        }
    }

    public func gather(record: [UInt8], root: Int) throws -> [[UInt8]]? {
        guard root == 0 else {
            throw CommunicatorError.invalidArgument("gather root \(root) does not exist in a job of 1 process")
        }
        return [record]
    }

    public func abort(code: Int32) -> Never { exit(code) }
}

final class CompletedReduction: PendingReduction {
    func wait() throws {}
}
