/// Element types of the safetensors format, named as in the header.
///
/// Sub-byte types of newer safetensors versions (F4, F6_*) are not supported and are reported as
/// unknown dtypes.
public enum SafeTensorDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case u16 = "U16", i16 = "I16", f16 = "F16", bf16 = "BF16"
    case u32 = "U32", i32 = "I32", f32 = "F32"
    case u64 = "U64", i64 = "I64", f64 = "F64"
    case c64 = "C64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .u16, .i16, .f16, .bf16: return 2
        case .u32, .i32, .f32: return 4
        case .u64, .i64, .f64, .c64: return 8
        }
    }

    public var description: String { rawValue }
}

/// One named tensor: dtype, shape, and its raw little-endian bytes.
///
///     let w = SafeTensor(name: "blocks.0.linear1.weight", shape: [32, 32], floats: weights)
///     let back: [Float] = try w.floats
public struct SafeTensor: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorDType
    /// Dimensions; `[]` is a 0-d scalar (one element), a 0 anywhere makes an empty tensor.
    public var shape: [Int]
    /// Raw data, little-endian, row-major; `count == elementCount * dtype.byteSize`.
    public var bytes: [UInt8]

    /// Creates a tensor from raw bytes, checking that their count matches shape and dtype.
    public init(name: String, dtype: SafeTensorDType, shape: [Int], bytes: [UInt8]) throws {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        try validate()
    }

    /// Creates an F32 tensor. Precondition: `floats.count` equals the product of `shape`.
    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(unchecked: name, .f32, shape, Self.encode(floats) { $0.bitPattern })
    }

    /// Creates an F64 tensor. Precondition: `doubles.count` equals the product of `shape`.
    public init(name: String, shape: [Int], doubles: [Double]) {
        self.init(unchecked: name, .f64, shape, Self.encode(doubles) { $0.bitPattern })
    }

    /// Creates an I64 tensor. Precondition: `int64s.count` equals the product of `shape`.
    public init(name: String, shape: [Int], int64s: [Int64]) {
        self.init(unchecked: name, .i64, shape, Self.encode(int64s) { UInt64(bitPattern: $0) })
    }

    /// Creates an I32 tensor. Precondition: `int32s.count` equals the product of `shape`.
    public init(name: String, shape: [Int], int32s: [Int32]) {
        self.init(unchecked: name, .i32, shape, Self.encode(int32s) { UInt32(bitPattern: $0) })
    }

    /// Creates a U8 tensor. Precondition: `uint8s.count` equals the product of `shape`.
    public init(name: String, shape: [Int], uint8s: [UInt8]) {
        self.init(unchecked: name, .u8, shape, uint8s)
    }

    /// Used by the parser, which has already checked consistency.
    init(parsedName name: String, dtype: SafeTensorDType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    private init(unchecked name: String, _ dtype: SafeTensorDType, _ shape: [Int], _ bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        do { try validate() } catch { preconditionFailure(error.description) }
    }

    /// Number of elements, or nil if a dimension is negative or the product overflows.
    public var elementCount: Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Checks shape (non-negative, no overflow) and that `bytes.count` matches shape × dtype size.
    public func validate() throws(SafeTensorsError) {
        try validateSize()
    }

    /// The values of an F32 tensor; throws `.wrongDType` for other dtypes.
    public var floats: [Float] {
        get throws(SafeTensorsError) { try decode(.f32) { (b: UInt32) in Float(bitPattern: b) } }
    }

    /// The values of an F64 tensor; throws `.wrongDType` for other dtypes.
    public var doubles: [Double] {
        get throws(SafeTensorsError) { try decode(.f64) { (b: UInt64) in Double(bitPattern: b) } }
    }

    /// The values of an I64 tensor; throws `.wrongDType` for other dtypes.
    public var int64s: [Int64] {
        get throws(SafeTensorsError) { try decode(.i64) { (b: UInt64) in Int64(bitPattern: b) } }
    }

    /// The values of an I32 tensor; throws `.wrongDType` for other dtypes.
    public var int32s: [Int32] {
        get throws(SafeTensorsError) { try decode(.i32) { (b: UInt32) in Int32(bitPattern: b) } }
    }

    /// The values of a U8 tensor; throws `.wrongDType` for other dtypes.
    public var uint8s: [UInt8] {
        get throws(SafeTensorsError) {
            guard dtype == .u8 else { throw .wrongDType(tensor: name, expected: .u8, actual: dtype) }
            return bytes
        }
    }

    private static func encode<T, Bits: FixedWidthInteger>(_ values: [T], _ bits: (T) -> Bits) -> [UInt8] {
        let width = MemoryLayout<Bits>.size
        return [UInt8](unsafeUninitializedCapacity: values.count * width) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: bits(v).littleEndian, toByteOffset: i * width, as: Bits.self)
            }
            initialized = values.count * width
        }
    }

    private func decode<T, Bits: FixedWidthInteger>(_ expected: SafeTensorDType, _ make: (Bits) -> T) throws(SafeTensorsError) -> [T] {
        guard dtype == expected else { throw .wrongDType(tensor: name, expected: expected, actual: dtype) }
        let width = MemoryLayout<Bits>.size
        guard bytes.count % width == 0 else {
            throw .invalidTensor(name: name, reason: "\(bytes.count) bytes is not a whole number of \(dtype) elements")
        }
        return bytes.withUnsafeBytes { raw in
            (0..<(raw.count / width)).map { i in
                make(Bits(littleEndian: raw.loadUnaligned(fromByteOffset: i * width, as: Bits.self)))
            }
        }
    }
}
