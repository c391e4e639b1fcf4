import Foundation

/// The memory limit of the control group this process runs in.
///
/// `/proc/self/cgroup` names the process's cgroup: `0::/path` under cgroup v2, `N:memory:/path`
/// for v1's memory controller. Its limit is `memory.max` (v2) or `memory.limit_in_bytes` (v1)
/// in that directory of the cgroup filesystem — and every ancestor's limit applies too, so the
/// lowest on the way up to the root of the mount counts. A path the mount does not show (a
/// container that sees its own cgroup as the root) is walked up to what exists, down to the
/// root's own file. "max" (v2) means no limit; v1 writes a huge number for none.
enum CgroupMemoryLimit {
    /// Bytes, or nil when no cgroup file sets a limit. `read` returns a file's text (tests pass
    /// their own tree).
    static func bytes(procSelfCgroup: String, root: String = "/sys/fs/cgroup",
                      read: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }) -> Double? {
        var limits: [Double] = []
        for line in procSelfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[2].hasPrefix("/") else { continue }
            let controllers = fields[1].split(separator: ",")
            let (mount, file): (String, String)
            if fields[0] == "0" && controllers.isEmpty {
                (mount, file) = (root, "memory.max")
            } else if controllers.contains("memory") {
                (mount, file) = (root + "/memory", "memory.limit_in_bytes")
            } else {
                continue
            }
            var parts = fields[2].split(separator: "/").map(String.init)
            while true {
                let directory = ([mount] + parts).joined(separator: "/")
                if let text = read(directory + "/" + file),
                   let value = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), value > 0 {
                    limits.append(value)
                }
                if parts.isEmpty { break }
                parts.removeLast()
            }
        }
        return limits.min()
    }

    /// This process's limit, read from the running system.
    static func current() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        return bytes(procSelfCgroup: text)
    }
}
