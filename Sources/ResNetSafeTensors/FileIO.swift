// File I/O the checkpoints rely on: replacing a file atomically and durably, and reading a
// regular file whole.
//
// The atomic write is the classic sequence: create a uniquely named temporary file in the target's directory, write
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

/// Replacing a file so that a crash leaves either the old bytes or the new, never a mix.
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
        try write(to: path, failingAt: nil) { sink in try bytes.withUnsafeBytes { try sink.append($0) } }
    }

    /// The same for content handed over in pieces: `contents` passes each piece to the sink in
    /// order (e.g. straight from the buffers that hold it, without gathering it first).
    public static func write(to path: String, contents: (Sink) throws -> Void) throws(FileError) {
        try write(to: path, failingAt: nil, contents: contents)
    }

    /// The temporary files `write(_:to:)` creates for `path` are named
    /// `<dir>/.<name>.tmp-<pid>-<random>`; this is the directory and the prefix.
    static func temporaryPrefix(for path: String) -> (directory: String, prefix: String) {
        let url = URL(fileURLWithPath: path)
        return (url.deletingLastPathComponent().path, "." + url.lastPathComponent + ".tmp-")
    }

    /// Where `contents` writes: the temporary file.
    public final class Sink {
        let fd: Int32, path: String, injected: Stage?
        private var written = 0

        init(fd: Int32, path: String, injected: Stage?) {
            self.fd = fd
            self.path = path
            self.injected = injected
        }

        /// Writes all of `bytes` (retrying short writes and EINTR).
        public func append(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
            var done = 0
            while done < bytes.count {
                if injected == .afterPartialWrite, written > 0 {
                    throw FileError(operation: "write (injected failure at afterPartialWrite)", errno: EIO, message: "test failure")
                }
                let chunk = injected == .afterPartialWrite ? max(1, (bytes.count - done) / 2) : bytes.count - done
                let n = systemWrite(fd, bytes.baseAddress! + done, chunk)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .last("write temporary file \(path)")
                }
                done += n
                written += n
            }
        }
    }

    /// `write(to:contents:)` with an optional injected failure, for tests.
    static func write(to path: String, failingAt injected: Stage?, contents: (Sink) throws -> Void) throws(FileError) {
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
        do {
            try contents(Sink(fd: fd, path: tempPath, injected: injected))
        } catch let error as FileError {
            throw error
        } catch {
            throw FileError(operation: "write temporary file \(tempPath)", errno: EIO, message: "\(error)")
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

/// Reading a file whole.
public enum RegularFile {
    /// The bytes of the regular file at `path`. A file that grows while it is read is an error
    /// rather than read without bound; one that shrinks is read as it is.
    public static func bytes(at path: String) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .last("open for reading") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .last("fstat") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FileError(operation: "open for reading", errno: EISDIR, message: "not a regular file")
        }
        // Read up to the size fstat reported, then confirm end of file.
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .last("read")
            }
            if n == 0 { break }
            done += n
        }
        if done < size { bytes.removeLast(size - done) }  // the file shrank: return what is there
        var extra: UInt8 = 0
        let more = withUnsafeMutableBytes(of: &extra) { read(fd, $0.baseAddress!, 1) }
        if more > 0 {
            throw FileError(operation: "read", errno: 0, message: "the file grew while it was being read")
        }
        return bytes
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
