// What writing a file needs of a tensor: its header entry and its bytes, lent where they are.
// `SafeTensor` owns its bytes; `FloatSlice` lends a range of a Float buffer (a model's flat
// parameter buffer), so a checkpoint is written without a copy of its tensors.

/// A tensor to write: name, dtype, shape and its little-endian bytes, lent to `withBytes`.
public protocol SafeTensorContent {
    var name: String { get }
    var dtype: SafeTensorDType { get }
    var shape: [Int] { get }
    var byteCount: Int { get }
    /// Calls `body` with the tensor's bytes (valid only during the call).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension SafeTensorContent {
    /// Checks shape (non-negative, no overflow) against the byte count.
    func validateSize() throws(SafeTensorsError) {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else {
                throw .invalidTensor(name: name, reason: "shape \(shape) has a negative dimension or its element count overflows")
            }
            n = p
        }
        let (size, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, size == byteCount else {
            throw .invalidTensor(name: name, reason: "shape \(shape) of \(dtype) needs \(overflow ? "more than Int.max" : String(size)) bytes, but the tensor has \(byteCount)")
        }
    }
}

extension SafeTensor: SafeTensorContent {
    public var byteCount: Int { bytes.count }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// The same tensor with its own copy of the bytes.
    public init(copying content: some SafeTensorContent) {
        self.init(parsedName: content.name, dtype: content.dtype, shape: content.shape,
                  bytes: content.withBytes { [UInt8]($0) })
    }
}

/// An F32 tensor that is `range` of `values`, e.g. one parameter of a model's flat buffer.
/// Holding the array keeps its storage alive and shared: nothing is copied until it is written.
public struct FloatSlice: SafeTensorContent {
    public var name: String
    public var shape: [Int]
    public let values: [Float]
    public let range: Range<Int>

    public init(name: String, shape: [Int], of values: [Float], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= values.count, "FloatSlice \(name): range outside the buffer")
        self.name = name
        self.shape = shape
        self.values = values
        self.range = range
    }

    public var dtype: SafeTensorDType { .f32 }
    public var byteCount: Int { range.count * 4 }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        #if _endian(little)
        return try values.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[(range.lowerBound * 4)..<(range.upperBound * 4)])) }
        #else
        return try values[range].map { $0.bitPattern.littleEndian }.withUnsafeBytes(body)
        #endif
    }
}
