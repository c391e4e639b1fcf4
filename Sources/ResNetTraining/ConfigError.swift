import ResNetDistributed

/// A config that cannot run, with a message naming the problem and the fix.
public enum ConfigError: CollectiveError, CustomStringConvertible, Equatable {
    case unknownExperiment(String, known: [String])
    case unknownVariant(String, experiment: String, known: [String])
    case invalid(key: String, problem: String)
    case unknownKey(String, file: String, known: [String])
    case wrongType(key: String, file: String, expected: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownExperiment(name, known):
            let guess = Self.nearest(name, in: known).map { "did you mean '\($0)'? " } ?? ""
            return "unknown experiment '\(name)'; \(guess)choose one of \(known.joined(separator: ", ")) (see `resnet-dist experiments`)"
        case let .unknownVariant(name, experiment, known):
            let guess = Self.nearest(name, in: known).map { "did you mean '\($0)'? " } ?? ""
            return "experiment '\(experiment)' has no variant '\(name)'; \(guess)choose one of \(known.joined(separator: ", "))"
        case let .invalid(key, problem):
            return "invalid --\(key): \(problem)"
        case let .unknownKey(key, file, known):
            let hint = Self.nearest(key, in: known).map { "did you mean '\($0)'?" }
                ?? "`resnet-dist train --print-config` writes every key of an experiment"
            return "\(file): unknown key '\(key)'; \(hint)"
        case let .wrongType(key, file, expected):
            return "\(file): key '\(key)' must be \(expected)"
        case let .unreadableFile(path, reason):
            return "cannot read config file \(path): \(reason)"
        }
    }

    /// The known name closest to `name` when it is a plausible misspelling — at most a third of
    /// its letters differ (ignoring case, '-' and '_': `batchSize` is `batch-size`) — or the one
    /// known name it begins (`optimizer-state` for `optimizer-state-on-switch`).
    static func nearest(_ name: String, in known: [String]) -> String? {
        func plain(_ s: String) -> [Character] { Array(s.lowercased().filter { $0 != "-" && $0 != "_" }) }
        let target = plain(name)
        let extended = known.filter { target.count >= 3 && plain($0).starts(with: target) }
        if extended.count == 1 { return extended[0] }
        let scored = known.map { ($0, editDistance(plain($0), target)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(1, target.count / 3) ? best.0 : nil
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var diagonal = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let next = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = row[j]
                row[j] = next
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
