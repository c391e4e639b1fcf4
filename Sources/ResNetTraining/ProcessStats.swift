import Foundation
import ResNetCore

/// Resource figures of this process, for metrics and benchmarks.
public enum ProcessStats {
    /// Gives the kernel back the pages of the heap's free chunks (glibc's `malloc_trim`), keeping
    /// the address space. The process keeps freed memory for reuse (`ProcessTuning` in the
    /// executable: no trimming, no mmap for tensors), so the holes that loading the data leaves
    /// between the tensors that stay would count toward the resident peak for the whole run
    /// although no training tensor fits them; a page given back costs one fault when reused.
    public static func releaseFreePages() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    /// Peak resident set size in bytes (VmHWM from /proc), 0 where unavailable.
    public static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").compactMap { Int($0) }
            return (digits.first ?? 0) * 1024
        }
        return 0
    }

    /// The machine in a few words, for telling runs of different machines apart: the CPU model
    /// (/proc/cpuinfo), the convolution kernels' instruction set and the core count, e.g.
    /// "AMD EPYC, avx2, 2 cores".
    public static func machine() -> String {
        var model = "unknown CPU"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return "\(model), \(DirectConvolution.bestPath.rawValue), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }

    /// Seconds on a monotonic clock.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

#if os(Linux)
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
