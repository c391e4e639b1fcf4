/// A dense Float32 tensor: a shape and contiguous row-major storage (NCHW for images).
///
/// ```swift
/// let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
/// x.count      // 6
/// x[1, 2]      // 6
/// ```
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor shape \(shape) does not match \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor whose storage the caller promises to overwrite completely (skips a zero-fill
    /// pass over large activations).
    init(uninitializedShape shape: [Int]) {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
    /// The leading dimension (the batch size for NCHW or [N, features]).
    public var batchSize: Int { shape.first ?? 1 }
    /// Elements per sample (everything after the leading dimension).
    public var sampleCount: Int { shape.dropFirst().reduce(1, *) }

    /// Element access by a full multi-index (for tests and small code paths, not for kernels).
    public subscript(indices: Int...) -> Float {
        get { data[flatIndex(indices)] }
        set { data[flatIndex(indices)] = newValue }
    }

    private func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "index rank mismatch")
        var index = 0
        for (i, dim) in zip(indices, shape) { index = index * dim + i }
        return index
    }

    /// The same storage with a new shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }
}

/// Errors raised by the numerical core (shape mismatches the caller can recover from).
public enum ResNetCoreError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    case invalidSpec(String)
    case backwardWithoutForward(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let m): return "shape mismatch: \(m)"
        case .invalidSpec(let m): return "invalid model spec: \(m)"
        case .backwardWithoutForward(let m): return "backward called without a training forward: \(m)"
        }
    }
}
