import CZlib

/// gzip decompression and compression over zlib.
///
/// zlib reads the gzip framing itself: inflating with windowBits 15 + 16 accepts only a gzip
/// member, parses its header, and at its end checks the CRC-32 and the length in the trailer.
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
        // The last member's trailer ends with ISIZE, the data's length mod 2^32: a good first
        // allocation. A deflate stream expands at most ~1032:1, so a larger ISIZE is a lie and is
        // not trusted (the output still grows if the data really are that long).
        let isize = input.count >= 4 ? Int(readUInt32LE(input, input.count - 4)) : 0
        let plausible = min(isize, input.count.multipliedReportingOverflow(by: 1032).partialValue, maxOutputBytes)
        var output = [UInt8](repeating: 0, count: max(plausible, 0))
        var produced = 0
        try withInflateStream(path: path) { stream throws(DataError) in
            var consumed = 0
            while true {
                if produced == output.count {
                    guard output.count < maxOutputBytes else {
                        throw .corruptGzip(path: path, detail: "decompressed data exceed \(maxOutputBytes) bytes")
                    }
                    let grown = min(maxOutputBytes, max(output.count * 2, output.count + (1 << 16)))
                    output.append(contentsOf: repeatElement(0, count: grown - output.count))
                }
                let status = inflateStep(stream, input, consumed: &consumed, output: &output, produced: &produced)
                switch status {
                case Z_STREAM_END:
                    // Trailing zero padding (written by some tape tools) is tolerated, as gzip(1)
                    // does; anything else must be another member.
                    if input[consumed...].allSatisfy({ $0 == 0 }) { return }
                    inflateReset(stream)
                case Z_OK:
                    continue
                case Z_BUF_ERROR where consumed == input.count:
                    throw .corruptGzip(path: path, detail: "stream cut off before its end (file truncated)")
                case Z_BUF_ERROR:
                    continue  // the output was full; grow it and go on
                default:
                    throw .corruptGzip(path: path, detail: failure(stream, status))
                }
            }
        }
        if output.count != produced { output.removeSubrange(produced...) }
        return output
    }

    /// The first `count` bytes of the first member's data (fewer if the data are shorter or
    /// damaged; `decompress` reports what is wrong), without inflating the rest.
    public static func decompressPrefix(_ input: [UInt8], count: Int, path: String) throws(DataError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        var produced = 0
        try withInflateStream(path: path) { stream throws(DataError) in
            var consumed = 0
            while produced < count,
                  inflateStep(stream, input, consumed: &consumed, output: &output, produced: &produced) == Z_OK {}
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

    // MARK: - zlib

    /// Runs `body` with an inflate stream that accepts gzip members only. The stream lives at a
    /// fixed address for its whole life, as zlib requires.
    private static func withInflateStream(path: String,
                                          _ body: (UnsafeMutablePointer<z_stream>) throws(DataError) -> Void) throws(DataError) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corruptGzip(path: path, detail: "zlib could not be initialised")
        }
        defer { inflateEnd(stream) }
        try body(stream)
    }

    /// One call of `inflate` on the unread input into the free output; advances both counters.
    private static func inflateStep(_ stream: UnsafeMutablePointer<z_stream>, _ input: [UInt8], consumed: inout Int,
                                    output: inout [UInt8], produced: inout Int) -> Int32 {
        input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress.map { $0 + consumed })
                stream.pointee.avail_in = uInt(min(inBuf.count - consumed, Int(UInt32.max)))
                stream.pointee.next_out = outBuf.baseAddress.map { $0 + produced }
                stream.pointee.avail_out = uInt(min(outBuf.count - produced, Int(UInt32.max)))
                let availIn = Int(stream.pointee.avail_in), availOut = Int(stream.pointee.avail_out)
                let status = inflate(stream, Z_NO_FLUSH)
                consumed += availIn - Int(stream.pointee.avail_in)
                produced += availOut - Int(stream.pointee.avail_out)
                return status
            }
        }
    }

    /// What went wrong, in words: zlib's message, with its two trailer checks spelled out.
    private static func failure(_ stream: UnsafeMutablePointer<z_stream>, _ status: Int32) -> String {
        switch stream.pointee.msg.map({ String(cString: $0) }) {
        case "incorrect data check": return "CRC-32 mismatch: data damaged"
        case "incorrect length check": return "length in trailer does not match the data"
        case let message?: return message
        case nil: return "zlib error \(status)"
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
