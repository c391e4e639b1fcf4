// Reading a safetensors file from disk and replacing one atomically (see AtomicFile).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SafeTensorsFile {
    /// Stages of `write(atomicallyTo:)` at which tests can inject a failure.
    typealias WriteStage = AtomicFile.Stage

    /// Reads and parses the file at `path`. Errors are `.inFile(path:_:)`.
    public static func read(path: String) throws(SafeTensorsError) -> SafeTensorsFile {
        let bytes: [UInt8]
        do {
            bytes = try readAllBytes(path: path)
        } catch {
            throw .inFile(path: path, SafeTensorsError(error))
        }
        return try parse(bytes, source: path)
    }

    private static func readAllBytes(path: String) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .last("open for reading") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .last("fstat") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FileError(operation: "open for reading", errno: EISDIR, message: "not a regular file")
        }
        // Read up to the size fstat reported, then confirm end of file; a file that grows while we
        // read is treated as an error rather than read without bound.
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + done, size - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .last("read")
            }
            if n == 0 { break }
            done += n
        }
        if done < size { bytes.removeLast(size - done) }  // file shrank: parse what is there
        var extra: UInt8 = 0
        let more = withUnsafeMutableBytes(of: &extra) { systemRead(fd, $0.baseAddress!, 1) }
        if more > 0 {
            throw FileError(operation: "read", errno: 0, message: "the file grew while it was being read")
        }
        return bytes
    }

    /// Writes `serialized()` to `path` atomically (`AtomicFile.write`): if anything fails, the
    /// previous file at `path` (if any) is untouched, no temporary file is left and the error
    /// (`.inFile(path:_:)`) says which step failed.
    public func write(atomicallyTo path: String) throws(SafeTensorsError) {
        try write(atomicallyTo: path, failingAt: nil)
    }

    /// `write(atomicallyTo:)` with an optional injected failure, for tests.
    func write(atomicallyTo path: String, failingAt injected: WriteStage?) throws(SafeTensorsError) {
        do {
            try validate()
        } catch {
            throw .inFile(path: path, error)
        }
        do {
            try AtomicFile.write(serialized(), to: path, failingAt: injected)
        } catch {
            throw .inFile(path: path, SafeTensorsError(error))
        }
    }
}

extension SafeTensorsError {
    /// A failed system call as a safetensors error.
    init(_ error: FileError) {
        self = .io(operation: error.operation, errno: error.errno, message: error.message)
    }
}

/// `read(2)`, named so that it does not collide with `SafeTensorsFile.read`.
@inline(__always)
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
