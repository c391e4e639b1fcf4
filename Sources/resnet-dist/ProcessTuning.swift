#if os(Linux)
/// glibc's mallopt (<malloc.h> is not part of the Glibc module); parameters from <malloc.h>.
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let M_TRIM_THRESHOLD: Int32 = -1
private let M_MMAP_THRESHOLD: Int32 = -3
#endif

/// Process-wide tuning, applied once at start-up by `ResNetDist.main()`: the only place that
/// sets how the process itself behaves.
///
/// Allocator: a training step allocates and frees activation tensors of tens of MB. By default
/// glibc maps each of them with mmap and unmaps it on free, so every step page-faults (and the kernel zeroes)
/// gigabytes afresh — about a quarter of the Fashion-MNIST step time at one thread. Serving them
/// from the heap and never trimming it reuses the same pages each step. The peak resident size
/// is then the live tensors at the end of forward plus the heap's holes that no tensor fits;
/// the trainer gives back the holes that loading the data leaves (`ProcessStats.releaseFreePages`).
enum ProcessTuning {
    /// Serves freed memory from the heap again instead of returning it to the kernel.
    static func retainFreedMemory() {
        #if os(Linux)
        _ = mallopt(M_MMAP_THRESHOLD, 512 << 20)   // fixed: also stops glibc's dynamic threshold
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        #endif
    }
}
