import CZlib

/// gzip decompression and compression over zlib.
///
/// `decompress` parses the gzip member header itself (magic, method, flags, optional fields), so a
/// damaged header gets a precise message, then inflates the raw deflate data straight into a buffer
/// preallocated from the trailer's ISIZE field, and checks the CRC-32 and length in the trailer.
/// Concatenated members (as `cat a.gz b.gz` makes) are decoded one after another.
public enum Gzip {
    /// True when `bytes` start with the gzip magic 0x1f 0x8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Decompresses a gzip file's bytes. `path` is only used in error messages.
    /// `maxOutputBytes` bounds the output, so a corrupt or hostile file cannot exhaust memory.
    public static func decompress(_ input: [UInt8], path: String,
                                  maxOutputBytes: Int = 1 << 32) throws(DataError) -> [UInt8] {
        // A deflate stream expands at most ~1032:1; an ISIZE beyond that is a lie, so do not trust
        // it for preallocation (the output may still grow if the data really are that long).
        let isize = input.count >= 4 ? Int(readUInt32LE(input, input.count - 4)) : 0
        let plausible = min(isize, input.count.multipliedReportingOverflow(by: 1032).partialValue, maxOutputBytes)
        var output = [UInt8](repeating: 0, count: max(plausible, 0))
        var produced = 0
        var offset = 0
        repeat {
            offset = try decompressMember(input, from: offset, path: path, output: &output,
                                          produced: &produced, maxOutputBytes: maxOutputBytes)
            // Trailing zero padding (written by some tape tools) is tolerated, as gzip(1) does.
            if input[offset...].allSatisfy({ $0 == 0 }) { break }
        } while offset < input.count
        if output.count != produced { output.removeSubrange(produced...) }
        return output
    }

    /// The first `count` bytes of the first member's data (fewer if the data are shorter or
    /// damaged; `decompress` reports what is wrong), without inflating the rest.
    public static func decompressPrefix(_ input: [UInt8], count: Int, path: String) throws(DataError) -> [UInt8] {
        let dataStart = try parseHeader(input, from: 0, path: path)
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corruptGzip(path: path, detail: "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: count)
        var produced = 0, consumed = 0
        while produced < count {
            let status: Int32 = input.withUnsafeBufferPointer { inBuf in
                output.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + dataStart + consumed)
                    stream.avail_in = uInt(min(inBuf.count - dataStart - consumed, Int(UInt32.max)))
                    stream.next_out = outBuf.baseAddress! + produced
                    stream.avail_out = uInt(count - produced)
                    let availIn = Int(stream.avail_in), availOut = Int(stream.avail_out)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    consumed += availIn - Int(stream.avail_in)
                    produced += availOut - Int(stream.avail_out)
                    return status
                }
            }
            guard status == Z_OK else { break }
        }
        return Array(output[..<produced])
    }

    /// Compresses `bytes` into one gzip member (used to write test fixtures and small files).
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16 asks zlib for a gzip wrapper.
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        var input = input
        let written: Int = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                let result = deflate(&stream, Z_FINISH)
                precondition(result == Z_STREAM_END, "deflate did not finish: \(result)")
                return outBuf.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(written...)
        return output
    }

    // MARK: - One gzip member (RFC 1952)

    private static let flagText: UInt8 = 1, flagHeaderCRC: UInt8 = 2, flagExtra: UInt8 = 4,
                       flagName: UInt8 = 8, flagComment: UInt8 = 16

    /// Decodes the member starting at `start`, appending to `output`; returns the offset after it.
    private static func decompressMember(_ input: [UInt8], from start: Int, path: String,
                                         output: inout [UInt8], produced: inout Int,
                                         maxOutputBytes: Int) throws(DataError) -> Int {
        let dataStart = try parseHeader(input, from: start, path: path)
        let memberStart = produced
        let consumed = try inflateRaw(input, from: dataStart, path: path, output: &output,
                                      produced: &produced, maxOutputBytes: maxOutputBytes)
        let trailer = dataStart + consumed
        guard trailer + 8 <= input.count else {
            throw .corruptGzip(path: path, detail: "stream ends before the 8-byte gzip trailer")
        }
        let expectedCRC = readUInt32LE(input, trailer)
        let expectedSize = readUInt32LE(input, trailer + 4)
        let crc: UInt32 = output.withUnsafeBufferPointer { buf in
            var crc: uLong = 0
            var p = buf.baseAddress! + memberStart
            var remaining = produced - memberStart
            while remaining > 0 {                      // crc32 takes a 32-bit length
                let chunk = min(remaining, 1 << 30)
                crc = crc32(crc, p, uInt(chunk))
                p += chunk; remaining -= chunk
            }
            return UInt32(truncatingIfNeeded: crc)
        }
        guard crc == expectedCRC else {
            throw .corruptGzip(path: path, detail: "CRC-32 mismatch: data damaged")
        }
        guard UInt32(truncatingIfNeeded: produced - memberStart) == expectedSize else {
            throw .corruptGzip(path: path, detail: "length in trailer does not match the data")
        }
        return trailer + 8
    }

    /// Validates a gzip member header and returns the offset of the deflate data.
    private static func parseHeader(_ input: [UInt8], from start: Int, path: String) throws(DataError) -> Int {
        guard input.count - start >= 10 else {
            throw .corruptGzip(path: path, detail: "header cut off (\(input.count - start) bytes)")
        }
        guard input[start] == 0x1f, input[start + 1] == 0x8b else {
            throw .corruptGzip(path: path, detail: "bad magic bytes at offset \(start)")
        }
        guard input[start + 2] == 8 else {
            throw .corruptGzip(path: path, detail: "unknown compression method \(input[start + 2])")
        }
        let flags = input[start + 3]
        guard flags & 0xE0 == 0 else {
            throw .corruptGzip(path: path, detail: "reserved header flags set (0x\(String(flags, radix: 16)))")
        }
        var p = start + 10
        func need(_ n: Int, _ what: String) throws(DataError) {
            guard n <= input.count - p else { throw .corruptGzip(path: path, detail: "header cut off in \(what)") }
        }
        if flags & flagExtra != 0 {
            try need(2, "extra field length")
            let length = Int(input[p]) | Int(input[p + 1]) << 8
            p += 2
            try need(length, "extra field")
            p += length
        }
        for (flag, what) in [(flagName, "file name"), (flagComment, "comment")] where flags & flag != 0 {
            guard let zero = input[p...].firstIndex(of: 0) else {
                throw .corruptGzip(path: path, detail: "header cut off in \(what)")
            }
            p = zero + 1
        }
        if flags & flagHeaderCRC != 0 {
            try need(2, "header CRC")
            p += 2
        }
        return p
    }

    /// Inflates raw deflate data from `start`; returns the number of input bytes consumed.
    private static func inflateRaw(_ input: [UInt8], from start: Int, path: String,
                                   output: inout [UInt8], produced: inout Int,
                                   maxOutputBytes: Int) throws(DataError) -> Int {
        var stream = z_stream()
        // Negative windowBits: raw deflate, the gzip wrapper is handled above.
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corruptGzip(path: path, detail: "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var consumed = 0
        while true {
            if produced == output.count {
                guard output.count < maxOutputBytes else {
                    throw .corruptGzip(path: path, detail: "decompressed data exceed \(maxOutputBytes) bytes")
                }
                let grown = min(maxOutputBytes, max(output.count * 2, output.count + (1 << 16)))
                output.append(contentsOf: repeatElement(0, count: grown - output.count))
            }
            let status: Int32 = input.withUnsafeBufferPointer { inBuf in
                output.withUnsafeMutableBufferPointer { outBuf in
                    let inStart = start + consumed
                    stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + inStart)
                    stream.avail_in = uInt(min(inBuf.count - inStart, Int(UInt32.max)))
                    stream.next_out = outBuf.baseAddress! + produced
                    stream.avail_out = uInt(min(outBuf.count - produced, Int(UInt32.max)))
                    let availIn = Int(stream.avail_in), availOut = Int(stream.avail_out)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    consumed += availIn - Int(stream.avail_in)
                    produced += availOut - Int(stream.avail_out)
                    return status
                }
            }
            switch status {
            case Z_STREAM_END:
                return consumed
            case Z_OK:
                continue
            case Z_BUF_ERROR where start + consumed == input.count:
                throw .corruptGzip(path: path, detail: "deflate data cut off (file truncated)")
            case Z_BUF_ERROR:
                continue  // output was full; grow and go on
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw .corruptGzip(path: path, detail: message)
            }
        }
    }
}

@inline(__always)
func readUInt32LE(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
        | UInt32(bytes[offset + 3]) << 24
}

@inline(__always)
func readUInt32BE(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
        | UInt32(bytes[offset + 3])
}
