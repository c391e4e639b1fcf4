// Replacing a file atomically and durably.
//
// The classic sequence: create a uniquely named temporary file in the target's directory, write
// everything, fsync it, close it, rename it over the target, fsync the directory. A crash or error
// at any point before the rename leaves the old file untouched; on error the temporary file is
// removed.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A system call that failed while reading or writing a file.
public struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var message: String

    public init(operation: String, errno: Int32, message: String) {
        self.operation = operation
        self.errno = errno
        self.message = message
    }

    /// The error of the system call that has just failed, from `errno`.
    static func last(_ operation: String) -> FileError {
        let code = currentErrno()
        return FileError(operation: operation, errno: code, message: String(cString: strerror(code)))
    }

    public var description: String { "\(operation) failed: \(message) (errno \(errno))" }
}

public enum AtomicFile {
    /// Stages of `write(_:to:)` at which tests can inject a failure.
    enum Stage: Sendable {
        case afterCreate, afterPartialWrite, afterWrite, afterSync, beforeRename
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
    /// fsynced and renamed over `path`, then the directory is fsynced. If anything fails, the
    /// previous file at `path` (if any) is untouched, the temporary file is removed and the error
    /// says which step failed.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        try write(bytes, to: path, failingAt: nil)
    }

    /// The temporary files `write(_:to:)` creates for `path` are named
    /// `<dir>/.<name>.tmp-<pid>-<random>`; this is the directory and the prefix.
    static func temporaryPrefix(for path: String) -> (directory: String, prefix: String) {
        let url = URL(fileURLWithPath: path)
        return (url.deletingLastPathComponent().path, "." + url.lastPathComponent + ".tmp-")
    }

    /// `write(_:to:)` with an optional injected failure, for tests.
    static func write(_ bytes: [UInt8], to path: String, failingAt injected: Stage?) throws(FileError) {
        let (directory, prefix) = temporaryPrefix(for: path)
        let tempPath = directory + "/" + prefix + "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

        func injectedFailure(_ stage: Stage) -> FileError? {
            injected == stage ? FileError(operation: "write (injected failure at \(stage))", errno: EIO, message: "test failure") : nil
        }

        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .last("create temporary file \(tempPath)") }
        var fdOpen = true
        var renamed = false
        defer {
            if fdOpen { close(fd) }
            if !renamed { unlink(tempPath) }
        }
        if let e = injectedFailure(.afterCreate) { throw e }

        var done = 0
        while done < bytes.count {
            if done > 0, let e = injectedFailure(.afterPartialWrite) { throw e }
            let chunk = injected == .afterPartialWrite ? min(bytes.count - done, max(1, bytes.count / 2)) : bytes.count - done
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + done, chunk) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .last("write temporary file \(tempPath)")
            }
            done += n
        }
        if let e = injectedFailure(.afterWrite) { throw e }
        guard fsync(fd) == 0 else { throw .last("fsync temporary file \(tempPath)") }
        if let e = injectedFailure(.afterSync) { throw e }
        fdOpen = false
        guard close(fd) == 0 else { throw .last("close temporary file \(tempPath)") }
        if let e = injectedFailure(.beforeRename) { throw e }
        guard rename(tempPath, path) == 0 else { throw .last("rename \(tempPath) to the target") }
        renamed = true

        // Make the rename durable. A failure here means the new file is in place but might not
        // survive a power loss; report it, since the caller asked for durability.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw .last("open directory \(directory) for fsync") }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw .last("fsync directory \(directory)") }
    }
}

/// The calling thread's `errno` (a name `FileError.errno` does not shadow).
private func currentErrno() -> Int32 { errno }

/// `write(2)`, named so that it does not collide with `AtomicFile.write`.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
