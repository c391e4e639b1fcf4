// Reading a safetensors file from disk and replacing one atomically.
//
// The atomic write is the classic sequence: create a uniquely named temporary file in the target's
// directory, write everything, fsync it, close it, rename it over the target, fsync the directory.
// A crash or error at any point before the rename leaves the old file untouched; on error the
// temporary file is removed.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SafeTensorsFile {
    /// Stages of `write(atomicallyTo:)` at which tests can inject a failure.
    enum WriteStage: Sendable {
        case afterCreate, afterPartialWrite, afterWrite, afterSync, beforeRename
    }

    /// Reads and parses the file at `path`. Errors are `.inFile(path:_:)`.
    public static func read(path: String) throws(SafeTensorsError) -> SafeTensorsFile {
        let bytes: [UInt8]
        do {
            bytes = try readAllBytes(path: path)
        } catch {
            throw .inFile(path: path, error)
        }
        return try parse(bytes, source: path)
    }

    private static func ioError(_ operation: String) -> SafeTensorsError {
        let code = errno
        return .io(operation: operation, errno: code, message: String(cString: strerror(code)))
    }

    private static func readAllBytes(path: String) throws(SafeTensorsError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open for reading") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError("fstat") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .io(operation: "open for reading", errno: EISDIR, message: "not a regular file")
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
                throw ioError("read")
            }
            if n == 0 { break }
            done += n
        }
        if done < size { bytes.removeLast(size - done) }  // file shrank: parse what is there
        var extra: UInt8 = 0
        let more = withUnsafeMutableBytes(of: &extra) { systemRead(fd, $0.baseAddress!, 1) }
        if more > 0 {
            throw .io(operation: "read", errno: 0, message: "the file grew while it was being read")
        }
        return bytes
    }

    /// Writes `serialized()` to `path` atomically: a temporary file in the same directory is
    /// written, fsynced and renamed over `path`, then the directory is fsynced. If anything fails,
    /// the previous file at `path` (if any) is untouched, the temporary file is removed and the
    /// error (`.inFile(path:_:)`) says which step failed.
    public func write(atomicallyTo path: String) throws(SafeTensorsError) {
        try write(atomicallyTo: path, failingAt: nil)
    }

    /// `write(atomicallyTo:)` with an optional injected failure, for tests.
    func write(atomicallyTo path: String, failingAt injected: WriteStage?) throws(SafeTensorsError) {
        do {
            try validate()
            try writeUnlabelled(path: path, injected: injected)
        } catch {
            throw .inFile(path: path, error)
        }
    }

    /// The temporary files `write(atomicallyTo:)` creates for `path` are named
    /// `<dir>/.<name>.tmp-<pid>-<random>`; this is the prefix (used by tests to check cleanup).
    static func temporaryPrefix(for path: String) -> (directory: String, prefix: String) {
        let url = URL(fileURLWithPath: path)
        return (url.deletingLastPathComponent().path, "." + url.lastPathComponent + ".tmp-")
    }

    private func writeUnlabelled(path: String, injected: WriteStage?) throws(SafeTensorsError) {
        let bytes = serialized()
        let (directory, prefix) = Self.temporaryPrefix(for: path)
        let tempPath = directory + "/" + prefix + "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

        func injectedFailure(_ stage: WriteStage) -> SafeTensorsError? {
            injected == stage ? .io(operation: "write (injected failure at \(stage))", errno: EIO, message: "test failure") : nil
        }

        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.ioError("create temporary file \(tempPath)") }
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
                throw Self.ioError("write temporary file \(tempPath)")
            }
            done += n
        }
        if let e = injectedFailure(.afterWrite) { throw e }
        guard fsync(fd) == 0 else { throw Self.ioError("fsync temporary file \(tempPath)") }
        if let e = injectedFailure(.afterSync) { throw e }
        fdOpen = false
        guard close(fd) == 0 else { throw Self.ioError("close temporary file \(tempPath)") }
        if let e = injectedFailure(.beforeRename) { throw e }
        guard rename(tempPath, path) == 0 else { throw Self.ioError("rename \(tempPath) to the target") }
        renamed = true

        // Make the rename durable. A failure here means the new file is in place but might not
        // survive a power loss; report it, since the caller asked for durability.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw Self.ioError("open directory \(directory) for fsync") }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw Self.ioError("fsync directory \(directory)") }
    }
}

/// `write(2)`, named so that it does not collide with `SafeTensorsFile.write`.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
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

// MARK: - Checksum

extension SafeTensorsFile {
    /// Default metadata key for `storeChecksum(key:)` / `verifyChecksum(key:)`.
    public static let checksumKey = "checksum_fnv1a64"

    /// FNV-1a 64-bit hash of the tensors, as 16 lowercase hex digits.
    ///
    /// Independent of tensor order and of the header's layout: tensors are hashed in order of
    /// their names, each as its name's UTF-8 bytes, a 0 byte, the dtype name, a 0 byte, each
    /// dimension as 8 little-endian bytes, a 0xFF byte, then its data bytes. So renaming a tensor,
    /// changing its dtype or shape, or flipping a data bit all change the checksum; metadata does
    /// not enter it.
    public func checksum() -> String {
        var hash = FNV1a64()
        for t in tensors.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
            hash.update(t.name.utf8)
            hash.update(CollectionOfOne(0))
            hash.update(t.dtype.rawValue.utf8)
            hash.update(CollectionOfOne(0))
            for d in t.shape { withUnsafeBytes(of: UInt64(truncatingIfNeeded: d).littleEndian) { hash.update($0) } }
            hash.update(CollectionOfOne(0xFF))
            hash.update(t.bytes)
        }
        let hex = String(hash.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// FNV-1a 64-bit hash of the tensors (as `checksum()`) followed by every metadata entry but
    /// `excluding`, in order of their keys, each as the key's UTF-8 bytes, a 0 byte, the value's
    /// UTF-8 bytes, a 0xFF byte. Editing any metadata value (an epoch, a level) changes it.
    public func checksumWithMetadata(excluding key: String = SafeTensorsFile.checksumKey) -> String {
        var hash = FNV1a64()
        hash.update(checksum().utf8)
        for k in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where k != key {
            hash.update(k.utf8)
            hash.update(CollectionOfOne(0))
            hash.update(metadata[k]!.utf8)
            hash.update(CollectionOfOne(0xFF))
        }
        let hex = String(hash.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Stores `checksum()` (or `checksumWithMetadata`) in `metadata[key]`.
    public mutating func storeChecksum(key: String = SafeTensorsFile.checksumKey, includingMetadata: Bool = false) {
        metadata[key] = includingMetadata ? checksumWithMetadata(excluding: key) : checksum()
    }

    /// Throws `.checksumMissing` if `metadata[key]` is absent, `.checksumMismatch` if it differs
    /// from `checksum()` (or `checksumWithMetadata`).
    public func verifyChecksum(key: String = SafeTensorsFile.checksumKey, includingMetadata: Bool = false) throws(SafeTensorsError) {
        guard let stored = metadata[key] else { throw .checksumMissing(key: key) }
        let computed = includingMetadata ? checksumWithMetadata(excluding: key) : checksum()
        guard stored.lowercased() == computed else {
            throw .checksumMismatch(key: key, stored: stored, computed: computed)
        }
    }
}

/// The 64-bit Fowler–Noll–Vo 1a hash.
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        var h = value
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        value = h
    }
}
