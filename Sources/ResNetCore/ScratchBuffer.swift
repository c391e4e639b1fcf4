/// A zero-initialised scratch buffer of floats that frees itself: a layer's working memory for
/// one call, held as a plain pointer so the kernels need no nested `withUnsafe…` closures.
final class ScratchBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A buffer holding a copy of `values`.
    convenience init(copying values: [Float]) {
        self.init(values.count)
        if !values.isEmpty { values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) } }
    }

    deinit { pointer.deallocate() }
}
